"""Configuration errors never echo a pasted secret — in any sink: stderr of
`connwatchd --check-config` and `connwatchctl config check`, the `/v1/reload` reply and
`connwatchctl reload`, the journal ("reload refused …"), the database's daemon events and the
daemon's own log. And a reload whose new ca_file cannot be used is refused with the reason,
the running configuration kept (real binaries, real journald, real SQLite)."""
import json
import os
import signal
import sqlite3
import subprocess
import time

from harness import BIN, Daemon, NotifySocket, Simulator, journal, new_secret, wait_journal
from test_control import unix_request
from test_proxy_and_once import TENANT, config, scenario


def pasted_config(tmp, base, ca, p):
    """Every secret-bearing key with a secret pasted into it (all reported at once)."""
    return f'''
[daemon]
database = "{tmp}/db.sqlite"
ca_file = "{ca}"
proxy = "http://alice:{p['proxy_password']}@127.0.0.1:3128"

[cloud]
login_endpoint = "{base}/login"
graph_endpoint = "{base}/graph"

[[connector]]
name = "ex"
kind = "exchange"
tenant_id = "{TENANT}"
client_id = "e0000000-0000-4000-8000-000000000001"
client_secret_credential = "{p['client_secret']}"

[[connector]]
name = "od"
kind = "onedrive"
tenant_id = "{TENANT}"
client_id = "e0000000-0000-4000-8000-000000000002"
client_secret_file = "{p['client_secret_2']}"

[[webhook]]
name = "soc"
url_credential = "{p['slack_url']}"
secret_credential = "{p['whsec']}"

[[webhook]]
name = "chat"
url = "{p['teams_url']}"
format = "teams"
secret_file = "{p['whsec_2']}"
'''


def unquoted_config(tmp, p):
    """A secret pasted without quotes: a TOML syntax error that must not quote it either."""
    return f'''
[daemon]
database = "{tmp}/db.sqlite"

[[connector]]
name = "ex"
kind = "exchange"
tenant_id = "{TENANT}"
client_id = "e0000000-0000-4000-8000-000000000001"
client_secret_credential = {p['unquoted']}
'''


def test_config_errors_never_echo_pasted_secrets(tmp_path):
    secret = new_secret()
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "ex").write_text(secret)
    (creds / "ex").chmod(0o600)
    pasted = {
        "client_secret": "Zq8~" + new_secret()[:30],
        "client_secret_2": "Yq8~" + new_secret()[:30],
        "slack_url": "https://hooks.slack.com/services/T0AAA/B0BBB/" + new_secret()[:24].replace("~", "x"),
        "teams_url": "https://contoso.webhook.office.com/webhookb2/" + new_secret()[:24].replace("~", "x"),
        "whsec": "whsec_" + new_secret()[:32].replace("~", "A"),
        "whsec_2": "whsec_" + new_secret()[:32].replace("~", "B"),
        "proxy_password": "pw" + new_secret()[:20].replace("~", "C"),
        "unquoted": "Xq8~" + new_secret()[:30],
    }
    # Distinctive parts of each value: a message that quoted any part of it would show one.
    needles = [v[-16:] for v in pasted.values()] + [secret]

    sim = Simulator(tmp_path, scenario(secret))
    cfg = config(tmp_path, sim.base, sim.ca, "")
    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = Daemon(tmp_path, cfg, creds, notify)
    sock = str(tmp_path / "connwatch.sock")
    seen = []  # every text an operator could see
    try:
        notify.wait_for(lambda m: "READY=1" in m, timeout=90)
        pid = daemon.proc.pid
        for bad in (pasted_config(tmp_path, sim.base, sim.ca, pasted), unquoted_config(tmp_path, pasted)):
            cfg.write_text(bad)
            # stderr of both config checkers: exit 78, every error listed.
            r = subprocess.run([BIN / "connwatchd", "--check-config", "--config", cfg, "--credentials-dir", creds],
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 78, r.stdout + r.stderr
            seen.append(r.stdout + r.stderr)
            r = subprocess.run([BIN / "connwatchctl", "config", "check", "--config", cfg,
                                "--credentials-dir", creds], capture_output=True, text=True, timeout=60)
            assert r.returncode == 78, r.stdout + r.stderr
            seen.append(r.stdout + r.stderr)
            # The reload reply over the socket, raw and through connwatchctl.
            status, _, raw = unix_request(sock, "POST", "/v1/reload")
            assert status == 422, raw
            seen.append(raw.decode())
            errors = json.loads(raw)["errors"]
            assert errors
            r = subprocess.run([BIN / "connwatchctl", "--socket", sock, "reload"], capture_output=True, text=True,
                               timeout=60)
            assert r.returncode == 78, r.stdout + r.stderr
            seen.append(r.stdout + r.stderr)
        # What the errors said: every pasted key was reported, by its shape.
        everything = "\n".join(seen)
        for key in ("client_secret_credential", "client_secret_file", "url_credential", "secret_credential",
                    "secret_file", "daemon.proxy", 'webhook "chat".url'):
            assert key in everything, key
        assert "looks like a secret value, not a credential ID" in everything
        assert "looks like a URL, not a credential ID" in everything
        assert "is not valid TOML (it is not shown" in everything

        # The journal: the daemon's "reload refused" entries (and everything else it wrote).
        entries = wait_journal(30, lambda e: "reload refused" in e.get("MESSAGE", ""), _PID=str(pid))
        assert len(entries) >= 1
        seen.extend(json.dumps(e) for e in journal(_PID=str(pid)))
        # The database: daemon events (and every other table, dumped whole).
        con = sqlite3.connect(f"file:{tmp_path}/db.sqlite?mode=ro", uri=True, timeout=10)
        try:
            kinds = [k for (k,) in con.execute("SELECT kind FROM daemon_event")]
            assert kinds.count("reload_failed") >= 4, kinds
            seen.append("\n".join(con.iterdump()))
        finally:
            con.close()
        # The daemon is still up with its first configuration.
        status, _, raw = unix_request(sock, "GET", "/v1/status")
        assert status == 200 and [c["name"] for c in json.loads(raw)["connectors"]] == ["ex"]
    finally:
        daemon.signal(signal.SIGTERM)
        daemon.wait(30)
        notify.close()
        sim.stop()
    seen.append((tmp_path / "connwatchd.log").read_text())
    everything = "\n".join(seen)
    for needle in needles:
        assert needle not in everything, f"a pasted secret was echoed: …{needle[-6:]}"


def test_reload_with_an_unusable_ca_file_is_refused(tmp_path):
    secret = new_secret()
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "ex").write_text(secret)
    (creds / "ex").chmod(0o600)
    sim = Simulator(tmp_path, scenario(secret))
    ca = tmp_path / "ca.pem"
    ca.write_bytes(open(sim.ca, "rb").read())
    cfg = config(tmp_path, sim.base, ca, "")
    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = Daemon(tmp_path, cfg, creds, notify)
    sock = str(tmp_path / "connwatch.sock")
    try:
        notify.wait_for(lambda m: "READY=1" in m, timeout=90)
        status, _, raw = unix_request(sock, "POST", "/v1/check")
        assert status == 200 and json.loads(raw)["connectors"][0]["status"] == "ok", raw
        # Edited in place into something that looks like PEM but is no certificate: the
        # configuration is unchanged, so only building the clients can tell.
        ca.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
        status, _, raw = unix_request(sock, "POST", "/v1/reload")
        assert status == 422, raw
        problem = json.loads(raw)["errors"][0]
        assert problem["key"] == "daemon.ca_file", problem
        assert "cannot be set up" in problem["message"]
        # The running clients are kept: the next check still succeeds over TLS.
        status, _, raw = unix_request(sock, "POST", "/v1/check")
        assert status == 200 and json.loads(raw)["connectors"][0]["status"] == "ok", raw
        # The file fixed: the reload goes through.
        ca.write_bytes(open(sim.ca, "rb").read())
        status, _, raw = unix_request(sock, "POST", "/v1/reload")
        assert status == 200, raw
    finally:
        daemon.signal(signal.SIGTERM)
        daemon.wait(30)
        notify.close()
        sim.stop()


def test_reload_that_would_remove_every_connector_is_refused(tmp_path):
    """An empty or truncated file on reload is not an all-clear: the reload is refused, the
    connectors stay checked, no alert is resolved; a real configuration reloads again."""
    secret = new_secret()
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "ex").write_text(secret)
    (creds / "ex").chmod(0o600)
    sim = Simulator(tmp_path, scenario(secret))
    cfg = config(tmp_path, sim.base, sim.ca, "")
    good = open(cfg).read()
    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = Daemon(tmp_path, cfg, creds, notify)
    sock = str(tmp_path / "connwatch.sock")
    try:
        notify.wait_for(lambda m: "READY=1" in m, timeout=90)
        status, _, raw = unix_request(sock, "POST", "/v1/check")
        assert status == 200 and len(json.loads(raw)["connectors"]) == 1, raw
        # Truncated to its [daemon] table: it parses, and has no connector.
        with open(cfg, "w") as f:
            f.write(good.split("[[connector]]")[0])
        status, _, raw = unix_request(sock, "POST", "/v1/reload")
        assert status == 422, raw
        problem = json.loads(raw)["errors"][0]
        assert problem["key"] == "connector" and "resolve every alert" in problem["message"], problem
        status, _, raw = unix_request(sock, "GET", "/v1/status")
        assert status == 200 and [c["name"] for c in json.loads(raw)["connectors"]] != [], raw
        with open(cfg, "w") as f:
            f.write(good)
        status, _, raw = unix_request(sock, "POST", "/v1/reload")
        assert status == 200, raw
    finally:
        daemon.signal(signal.SIGTERM)
        daemon.wait(30)
        notify.close()
        sim.stop()
