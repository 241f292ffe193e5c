"""The digest e-mail end to end (SPEC §5, issue 20 point 6): the real connwatchd under
libfaketime with TZ=Europe/Berlin and a daily `digest_at` a minute ahead of its faked clock,
sending through a real SMTP server (aiosmtpd on loopback, STARTTLS with a certificate made
here, AUTH). Exactly one digest arrives for the period — `multipart/alternative`, text + HTML,
a Message-ID stable per (sink, period); a restart inside the same period sends none; and
`connwatchctl email digest NAME` sends one more at once, under its own Message-ID."""
import datetime
import json
import os
import subprocess
import time
from zoneinfo import ZoneInfo

import pytest

from harness import BIN, NotifySocket, Simulator, journal, query, wait_journal
from mailsink import MailSink, email_sink_toml
from test_crash_faults import FAKETIME_PREFIX, faketime_env, libfaketime
from test_webhooks import World, ca_bundle, wait_for

PASSWORD = "Sm7p-digest-" + os.urandom(6).hex()
BERLIN = ZoneInfo("Europe/Berlin")
DIGEST_SENT = "a9bce12aa57f4053aab5567efc398cc0"


class FakedDaemon:
    """connwatchd under libfaketime (offset in `rc`) in Europe/Berlin."""

    def __init__(self, tmp, w, notify, rc, lib):
        env = dict(os.environ)
        env.pop("CREDENTIALS_DIRECTORY", None)
        env.update({"NOTIFY_SOCKET": notify.path, "RUNTIME_DIRECTORY": str(tmp), "TZ": "Europe/Berlin",
                    **faketime_env(lib, rc)})
        env.pop("WATCHDOG_USEC", None)
        self.log = open(os.path.join(tmp, "connwatchd.log"), "a")
        self.proc = subprocess.Popen(
            [*FAKETIME_PREFIX, str(BIN / "connwatchd"), "--config", str(w.config), "--credentials-dir", str(w.creds)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        self.proc.send_signal(15)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)


def test_daily_digest_once_per_period_and_on_request(tmp_path):
    lib = libfaketime()
    if not lib:
        pytest.fail("libfaketime is not installed (scripts/install-deps.sh installs the faketime package)")
    w = World(tmp_path, [("ex", "exchange", None, "Mail.ReadWrite"), ("od", "onedrive", None, None)])
    sim = Simulator(tmp_path, w.scenario())
    smtp = MailSink(tmp_path, PASSWORD)
    w.write_secret("smtp-pass", PASSWORD)
    w.write_config(sim, ca_bundle(tmp_path, sim.ca, smtp.ca), [])
    # The faked clock starts at second 40 of a minute (at most 100 s ahead of the real one, so
    # every certificate made here stays valid); the digest is due at the next minute, Berlin time.
    real = time.time()
    offset = (40 - int(real) % 60) % 60 or 60
    rc = tmp_path / "faketime"
    rc.write_text(f"+{offset}s\n")
    faked = datetime.datetime.fromtimestamp(real + offset, BERLIN)
    due = (faked + datetime.timedelta(seconds=60)).replace(second=0, microsecond=0)
    period = f"daily:{due:%Y-%m-%d}"
    name = f"digest-{w.run}"
    with open(w.config, "a") as f:
        f.write(email_sink_toml(name, smtp.url, "smtp-pass", ["Ops Team <ops@example.com>"],
                                extra=f'digest = "daily"\ndigest_at = "{due:%H:%M}"\n'))
    expected_mid = f"<digest.{name}.{period.replace(':', '.')}.connwatch@example.com>"
    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = FakedDaemon(tmp_path, w, notify, rc, lib)
    try:
        notify.wait_for(lambda m: "READY=1" in m, timeout=60)
        digests = lambda: [m for m in smtp.received("ops@example.com") if m["msg"]["X-Connwatch-Digest"]]
        got = wait_for(digests, 45, f"the digest due at {due:%H:%M} Berlin time")
        arrived = datetime.datetime.fromtimestamp(time.time() + offset, BERLIN)
        assert arrived >= due, (arrived, due)
        assert len(got) == 1, got
        m = got[0]
        msg = m["msg"]
        assert m["mid"] == expected_mid and m["tls"] and m["rcpts"] == ("ops@example.com",), m
        assert msg["X-Connwatch-Digest"] == period and msg["From"] == "connwatch <connwatch@example.com>"
        assert msg["Subject"].startswith("[connwatch] Daily digest: 2 connectors"), msg["Subject"]
        assert msg.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        for connector in (w.connectors["ex"][0], w.connectors["od"][0]):
            assert connector in text and connector in html, (connector, text)
        # The digest is the report: its text part the report's text after a heading, its HTML
        # part the report page (the expiry timeline and status strips as inline SVG).
        assert "The first digest of this sink: the changes cover the last day" in text, text
        assert "connwatch report" in text and "Changed since" in text and "Last 30 days" in text, text
        assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "<script" not in html.lower(), html[:300]
        [(status, attempts, mid, recipients)] = query(
            w.db, "SELECT status, attempts, message_id, recipients FROM digest WHERE sink = ?", name)
        assert (status, attempts, f"<{mid}>", recipients) == ("delivered", 1, expected_mid, '["ops@example.com"]')
        metrics = subprocess.run(["curl", "-sS", "--unix-socket", str(tmp_path / "connwatch.sock"),
                                  "http://localhost/metrics"], capture_output=True, text=True, timeout=30).stdout
        assert f'connwatch_digest_sent_total{{email="{name}",outcome="delivered"}} 1' in metrics, metrics
        # status --json: the sink's schedule, the next digest (tomorrow) and the last one sent.
        st = w.ctl("status", "--json")
        assert st.returncode == 0, st.stderr
        [sink] = [e for e in json.loads(st.stdout)["emails"] if e["name"] == name]
        assert sink["digest"] == f"daily at {due:%H:%M}", sink
        next_due = datetime.datetime.fromisoformat(sink["next_digest_at"].replace("Z", "+00:00")).astimezone(BERLIN)
        assert next_due == due + datetime.timedelta(days=1) and "last_digest_at" in sink, sink
        # The journal: one catalogued entry for the sent digest.
        sent = wait_journal(10, MESSAGE_ID=DIGEST_SENT, CONNWATCH_EMAIL=name)
        assert [e["CONNWATCH_DIGEST_PERIOD"] for e in sent] == [period], sent

        # A restart in the same period: nothing more is sent.
        daemon.stop()
        notify.close()
        notify = NotifySocket(tmp_path / "notify-2.sock")
        daemon = FakedDaemon(tmp_path, w, notify, rc, lib)
        notify.wait_for(lambda m: "READY=1" in m, timeout=60)
        time.sleep(4)
        assert len(digests()) == 1, digests()
        assert query(w.db, "SELECT count(*) FROM digest")[0][0] == 1
        assert len(journal(MESSAGE_ID=DIGEST_SENT, CONNWATCH_EMAIL=name)) == 1

        # On request: one more at once, its own Message-ID; the ledger is unchanged.
        out = w.ctl("email", "digest", name)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "digest delivered to ops@example.com" in out.stdout, out.stdout
        both = wait_for(lambda: len(digests()) == 2 and digests(), 10, "the digest sent on request")
        manual = both[1]
        assert manual["msg"]["X-Connwatch-Digest"] == "manual" and manual["mid"] != expected_mid
        assert manual["mid"] in out.stdout, (manual["mid"], out.stdout)
        assert manual["msg"].get_content_type() == "multipart/alternative"
        assert query(w.db, "SELECT count(*) FROM digest")[0][0] == 1
        unknown = w.ctl("email", "digest", "no-such-sink")
        assert unknown.returncode == 64 and "no [[email]] sink" in unknown.stderr, unknown.stderr
        printed = out.stdout + out.stderr + unknown.stdout + unknown.stderr + metrics
        assert PASSWORD not in printed
    finally:
        daemon.stop()
        notify.close()
        sim.stop()
        smtp.stop()
    for path in tmp_path.iterdir():
        if path.is_file() and path.name != "smtp-pass":
            assert PASSWORD.encode() not in path.read_bytes(), f"the SMTP password is in {path}"
