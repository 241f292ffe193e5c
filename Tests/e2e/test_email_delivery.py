"""Alert e-mail end to end (SPEC §5 E-mail, issue 20 point 3): the real connwatchd against the
simulator, sending through the webhook outbox to a real SMTP server (aiosmtpd on loopback,
STARTTLS with a certificate made here and trusted through `[daemon] ca_file`, AUTH required).

One connector loses its consent (critical) and gets it back (resolved). Four sinks:
- ops: two recipients, one refused with 550 — the other still gets the mail;
- flaky: the server answers 451 to the first DATA of each message — retried, delivered once;
- dead: its only recipient refused — dead at once; `deliveries retry` sends it again;
and the password appears nowhere: not in the database, the daemon's output, the journal or
what connwatchctl prints."""
import json
import os
import subprocess
import time

from harness import BIN, GRAPH, Daemon, NotifySocket, Simulator, query
from mailsink import MailSink, email_sink_toml
from test_webhooks import World, ca_bundle, deliveries, wait_for

PASSWORD = "Sm7p-e2e-" + os.urandom(6).hex()


def test_alert_mail_through_the_outbox(tmp_path):
    w = World(tmp_path, [("ex", "exchange", None, "Mail.ReadWrite")])
    sim = Simulator(tmp_path, w.scenario())
    smtp = MailSink(tmp_path, PASSWORD, refuse={"refused@example.com", "nobody@example.com"},
                    fail_first=lambda mid, rcpts: 1 if "flaky@example.com" in rcpts else 0)
    w.write_secret("smtp-pass", PASSWORD)
    w.write_config(sim, ca_bundle(tmp_path, sim.ca, smtp.ca), [])
    run = w.run
    ops, flaky, dead = f"ops-{run}", f"flaky-{run}", f"dead-{run}"
    with open(w.config, "a") as f:
        f.write(email_sink_toml(ops, smtp.url, "smtp-pass", ["Ops Team <ops@example.com>", "refused@example.com"]))
        f.write(email_sink_toml(flaky, smtp.url, "smtp-pass", ["flaky@example.com"]))
        f.write(email_sink_toml(dead, smtp.url, "smtp-pass", ["nobody@example.com"]))
    started = time.time()
    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = Daemon(tmp_path, w.config, w.creds, notify, extra_env={"CONNWATCH_WEBHOOK_BACKOFF_SCALE": "0.0002"})
    ex = w.connectors["ex"][0]
    printed = ""
    try:
        notify.wait_for(lambda m: "READY=1" in m, timeout=90)
        # The consent alert fires: one mail to ops@ (refused@ refused), under the notification's id.
        first = wait_for(lambda: smtp.received("ops@example.com"), 60, "the alert mail to ops@")
        assert len(first) == 1, first
        [(nid, alert_id)] = query(w.db, "SELECT id, alert_id FROM notification WHERE connector = ?", ex)
        mid = f"<{nid}.connwatch@example.com>"
        m = first[0]
        assert m["mid"] == mid and m["tls"] and m["rcpts"] == ("ops@example.com",)
        msg = m["msg"]
        assert msg["From"] == f"connwatch <connwatch@example.com>"
        assert "ops@example.com" in msg["To"] and "refused@example.com" in msg["To"]
        assert msg["Subject"].startswith("[connwatch] CRITICAL") and ex in msg["Subject"], msg["Subject"]
        assert msg["In-Reply-To"] is None and msg["X-Connwatch-Event"] == "connector.consent.missing"
        assert msg.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        assert ex in msg.get_body(("plain",)).get_content()

        rows = {d["webhook"]: d for d in wait_for(
            lambda: (lambda ds: len(ds) == 3 and all(d["status"] in ("delivered", "dead") for d in ds) and ds)(
                deliveries(w.db)), 60, "three finished e-mail deliveries")}
        assert set(rows) == {f"email:{ops}", f"email:{flaky}", f"email:{dead}"}, rows
        assert all(d["nid"] == nid for d in rows.values())
        # 550 on one recipient: delivered to the other, both recorded.
        r = rows[f"email:{ops}"]
        assert r["status"] == "delivered" and r["attempts"] == 1, r
        assert "ops@example.com" in r["error"] and "refused: refused@example.com (550" in r["error"], r
        # 451, then success: two DATA attempts under one Message-ID, one message received.
        r = rows[f"email:{flaky}"]
        assert r["status"] == "delivered" and r["attempts"] == 2, r
        tries = [a for a in smtp.attempts if a["rcpts"] == ("flaky@example.com",)]
        assert [a["reply"] for a in tries] == [451, 250] and {a["mid"] for a in tries} == {mid}, tries
        assert [x["mid"] for x in smtp.received("flaky@example.com")] == [mid]
        # Every recipient refused: permanent, dead at once; an operator's retry sends it again.
        r = rows[f"email:{dead}"]
        assert r["status"] == "dead" and r["attempts"] == 1 and "nobody@example.com" in r["error"], r
        out = w.ctl("deliveries", "retry", str(r["id"]))
        assert out.returncode == 0, out.stdout + out.stderr
        printed += out.stdout + out.stderr
        wait_for(lambda: query(w.db, "SELECT attempts, status FROM delivery WHERE id = ?", r["id"]) == [(2, "dead")],
                 30, "the retried dead delivery's second attempt")

        # connwatchctl deliveries: the sink's name and kind, never a webhook column of "email:…".
        listing = w.ctl("deliveries", "--json")
        assert listing.returncode == 0, listing.stderr
        printed += listing.stdout + listing.stderr
        listed = json.loads(listing.stdout)["deliveries"]
        assert {(d["webhook"], d["sink_kind"]) for d in listed} == {(ops, "email"), (flaky, "email"), (dead, "email")}
        table = w.ctl("deliveries")
        printed += table.stdout + table.stderr
        assert "KIND" in table.stdout and f"{flaky}" in table.stdout and "email" in table.stdout, table.stdout
        metrics = subprocess.run(["curl", "-sS", "--unix-socket", str(tmp_path / "connwatch.sock"),
                                  "http://localhost/metrics"], capture_output=True, text=True, timeout=30).stdout
        printed += metrics
        for name, outcome, n in [(flaky, "retry", 1), (flaky, "delivered", 1), (ops, "delivered", 1), (dead, "dead", 2)]:
            line = f'connwatch_webhook_attempts_total{{webhook="{name}",sink_kind="email",outcome="{outcome}"}} {n}'
            assert line in metrics, (line, metrics)

        # Consent granted again: the resolution is a reply in the incident's thread.
        w.apps["ex"]["app_roles"][GRAPH].append("Mail.ReadWrite")
        sim.put_scenario(w.scenario())
        check = w.ctl("check", "--all")
        printed += check.stdout + check.stderr
        both = wait_for(lambda: len(smtp.received("ops@example.com")) == 2 and smtp.received("ops@example.com"),
                        60, "the resolution mail")
        res = both[1]["msg"]
        [(rid,)] = query(w.db, "SELECT id FROM notification WHERE connector = ? AND state = 'resolved'", ex)
        assert both[1]["mid"] == f"<{rid}.connwatch@example.com>" and rid != nid
        assert res["In-Reply-To"] == mid and mid in str(res["References"]), (res["In-Reply-To"], res["References"])
        assert res["Subject"].startswith("[connwatch] RESOLVED"), res["Subject"]
        wait_for(lambda: len(smtp.received("flaky@example.com")) == 2, 60, "the resolution to flaky@")
        assert [x["mid"] for x in smtp.received("flaky@example.com")] == [mid, f"<{rid}.connwatch@example.com>"]
        assert all(a["ok"] and a["tls"] for a in smtp.auth)
    finally:
        daemon.signal(15)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.proc.kill()
        notify.close()
        sim.stop()
        smtp.stop()

    # The password: nowhere but the credential file.
    secret = PASSWORD.encode()
    for path in tmp_path.iterdir():
        if path.is_file() and path.name != "smtp-pass" and path.parent != w.creds:
            assert secret not in path.read_bytes(), f"the SMTP password is in {path}"
    assert PASSWORD not in printed
    j = subprocess.run(["journalctl", "-o", "json", "--no-pager", "--since", f"@{int(started) - 1}"],
                       capture_output=True, text=True).stdout
    assert PASSWORD not in j
