"""The zscaler check end to end: the real connwatchd and connwatchctl against the simulator's
OneAPI token endpoint and ZIA routes. A connector whose Entra secret expired shows both
sides (the Entra reason and Zscaler's validation failure, with the combined summary); a MIP
connector says why it has no zscaler check; the values Zscaler keeps in
tenantAuthorizationInfo never reach the journal, the database, the socket or the logs."""
import base64
import datetime as dt
import http.server
import json
import os
import re
import secrets
import signal
import subprocess
import threading
import time
from pathlib import Path

from harness import BIN, Daemon, NotifySocket, Simulator, iso, journal, new_secret, permissions, wait_journal

TENANT = "7a2d4c9e-3b1f-4e8a-9d6c-5f0e1a2b3c4d"
ZSCALER_FAILED = "3689b3fc44ed48f9b96d5af090cc09de"
RESOLVED = "2058de031da74bd2b75c6ec3a2877cf4"


def app_id(n):
    return f"f0000000-0000-4000-8000-{n:012d}"


class Hook:
    """A loopback webhook receiver recording every body."""

    def __init__(self):
        self.bodies = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                outer.bodies.append(self.rfile.read(int(self.headers.get("content-length", "0"))).decode())
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_connector_failing_on_both_sides(tmp_path):
    run = secrets.token_hex(3)
    names = {k: f"{k}-{run}" for k in ("od", "ex", "mip")}
    secrets_ = {k: new_secret() for k in names}
    planted = "PLANTED" + secrets.token_hex(12)
    planted_values = [f"{planted}-secret", f"{planted}-token", f"{planted}-credjson"]
    api_secret = "zs-api-" + secrets.token_urlsafe(18)
    hook_key = "whsec_" + base64.b64encode(os.urandom(32)).decode()

    creds = tmp_path / "credentials"
    creds.mkdir()
    for name, value in [*((names[k], v) for k, v in secrets_.items()), ("zscaler-api", api_secret),
                        ("hook", hook_key)]:
        p = creds / name
        p.write_text(value + "\n")
        p.chmod(0o600)

    expired_on = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)
    apps = {
        # The OneDrive connector's only secret expired three days ago.
        "od": {"app_id": app_id(1), "display_name": "Zscaler od", "app_roles": permissions("onedrive"),
               "secrets": [{"display_name": "zscaler", "value": secrets_["od"], "start": iso(-400),
                            "end": expired_on.strftime("%Y-%m-%dT%H:%M:%SZ")}]},
        "ex": {"app_id": app_id(2), "display_name": "Zscaler ex", "app_roles": permissions("exchange"),
               "secrets": [{"display_name": "zscaler", "value": secrets_["ex"], "start": iso(-30), "end": iso(300)}]},
        "mip": {"app_id": app_id(3), "display_name": "Zscaler mip", "app_roles": permissions("mip"),
                "secrets": [{"display_name": "zscaler", "value": secrets_["mip"], "start": iso(-30), "end": iso(300)}]},
    }

    def authorization(n):
        return {"client_id": app_id(n), "client_secret": f"{planted}-secret", "access_token": f"{planted}-token",
                "cred_json": json.dumps({"private_key": f"{planted}-credjson"})}

    scenario = {
        "tenants": [{"id": TENANT, "domains": ["fabrikam.onmicrosoft.com"], "display_name": "Fabrikam",
                     "subscriptions": [], "missing_resources": [], "apps": list(apps.values())}],
        "zscaler": {
            "api_clients": [{"client_id": "connwatch-e2e", "client_secret": api_secret}],
            # Two SaaS tenants in the same Entra directory: told apart by the authorized client ID.
            "tenants": [
                {"tenant_id": 7001, "tenant_name": "Fabrikam OneDrive", "saas_application": "MSFT_ONE_DRIVE_FOR_BUSINESS",
                 "enterprise_tenant_id": TENANT, "status": ["VALIDATION_FAILED"], "last_validation_time": iso(-1),
                 "error_code": 401, "error_msg": "AADSTS7000222: The provided client secret keys for app are expired.",
                 "authorization": authorization(1)},
                {"tenant_id": 7002, "tenant_name": "Fabrikam Exchange", "saas_application": "MSFT_EXCHANGE",
                 "enterprise_tenant_id": TENANT, "status": ["ACTIVE"], "last_validation_time": iso(-1),
                 "authorization": authorization(2)},
                # Other customers' tenants needing attention: with the 10 s interval below, the
                # 5 requests a cycle may need exceed the hourly budget, and status says so.
                *({"tenant_id": 7100 + i, "tenant_name": f"Other {i}", "enterprise_tenant_id": f"{i:08d}-0000-4000-8000-000000000000",
                   "status": ["INACTIVE"], "authorization": authorization(9)} for i in range(3)),
            ],
        },
    }
    sim = Simulator(tmp_path, scenario)
    hook = Hook()
    notify = NotifySocket(tmp_path / "notify.sock")
    db = tmp_path / "connwatch.sqlite"
    sock = tmp_path / "ctl.sock"
    config = tmp_path / "connwatch.toml"
    body = f'''
[daemon]
check_interval = "10s"
concurrency = 4
database = "{db}"
socket = "{sock}"
socket_group = "root"
ca_file = "{sim.ca}"

[cloud]
login_endpoint = "{sim.base}/login"
graph_endpoint = "{sim.base}/graph"
management_endpoint = "{sim.base}/arm"
office_management_endpoint = "{sim.base}/office"

[zscaler]
token_endpoint = "{sim.base}/zslogin/oauth2/v1/token"
api_base = "{sim.base}/zia/api/v1"
client_id = "connwatch-e2e"
client_secret_credential = "zscaler-api"

[[webhook]]
name = "soc"
url = "{hook.url}"
secret_credential = "hook"
min_severity = "warning"
'''
    kinds = {"od": "onedrive", "ex": "exchange", "mip": "mip"}
    for i, k in enumerate(("od", "ex", "mip"), 1):
        body += f'''
[[connector]]
name = "{names[k]}"
kind = "{kinds[k]}"
tenant_id = "{TENANT}"
client_id = "{app_id(i)}"
client_secret_credential = "{names[k]}"
'''
        if k == "od":
            body += f'secret_expires = "{expired_on.strftime("%Y-%m-%d")}"\n'
        if k == "mip":
            body += 'secret_expires = "2027-06-01"\n'
    config.write_text(body)

    def ctl(*args):
        return subprocess.run([str(BIN / "connwatchctl"), "--socket", str(sock), *args], capture_output=True,
                              text=True, timeout=120)

    daemon = Daemon(tmp_path, config, creds, notify)
    replies = []
    try:
        notify.wait_for(lambda m: "READY=1" in m, timeout=90)
        deadline = time.time() + 90
        status = None
        while time.time() < deadline:
            r = ctl("status", "--json")
            if r.returncode in (0, 1, 2, 3) and r.stdout.strip():
                status = json.loads(r.stdout)
                od = next(c for c in status["connectors"] if c["name"] == names["od"])
                if any(ch["check"] == "zscaler" for ch in od["checks"]) and all(
                        c["reason"] != "pending" for c in status["connectors"]):
                    break
            time.sleep(0.5)
        replies.append(r.stdout)
        by = {c["name"]: c for c in status["connectors"]}

        # Failing on both sides: Entra's expired secret and Zscaler's validation failure.
        od = by[names["od"]]
        checks = {c["check"]: c for c in od["checks"]}
        assert checks["credential"]["reason"] == "secret_expired", checks["credential"]
        assert checks["zscaler"]["status"] == "critical"
        assert checks["zscaler"]["reason"] == "zscaler_validation_failed"
        assert checks["zscaler"]["details"]["error_code"] == 401
        assert checks["zscaler"]["details"]["error_class"] == "authentication"
        assert checks["zscaler"]["details"]["tenant_id"] == 7001
        assert checks["zscaler"]["details"]["match"] == "enterpriseTenantId and authorized client ID"
        assert "last_tenant_validation_time" in checks["zscaler"]["details"]
        assert od["status"] == "critical"
        assert od["reason"] == "zscaler_validation_failed"
        day = f"{expired_on.day} {expired_on.strftime('%b %Y')}"
        # secret_expires is a day (00:00 UTC): three or four days ago depending on the hour.
        assert re.fullmatch(re.escape(f"Zscaler: validation failed (code 401) — Entra: the client secret (per secret_expires) "
                                      f"expired on {day} (") + r"[34] days ago\)", od["summary"]), od["summary"]
        assert checks["zscaler"]["details"]["explained_by"] == "secret_expiry"
        assert "SaaS Application Tenants" in checks["zscaler"]["remediation"]

        # The healthy connector next to it: matched to the other SaaS tenant, Active.
        ex = {c["check"]: c for c in by[names["ex"]]["checks"]}
        assert ex["zscaler"]["status"] == "ok", ex["zscaler"]
        assert ex["zscaler"]["details"]["tenant_id"] == 7002

        # The rate budget stretches the Zscaler refresh interval, and status says so.
        budget = "zscaler: Zscaler data is refreshed every 20s instead of every 10s: 5 ZIA requests per cycle exceed"
        assert any(n.startswith(budget) for n in od["notes"]), od.get("notes")
        assert checks["zscaler"]["details"]["refresh_interval_seconds"] == 20

        # MIP: no zscaler check, and status says why.
        mip = by[names["mip"]]
        assert "zscaler" not in [c["check"] for c in mip["checks"]]
        assert any("no API for MIP accounts" in n for n in mip["notes"]), mip

        # The human views.
        table = ctl("status")
        detail = ctl("status", names["od"])
        replies += [table.stdout, detail.stdout]
        assert "zscaler_validation_failed" in table.stdout
        assert "Zscaler: validation failed (code 401) — Entra: the client secret (per secret_expires) expired on" \
            in table.stdout
        assert "secret_expired" in detail.stdout and "zscaler_validation_failed" in detail.stdout
        assert "notes:" in detail.stdout and "refreshed every 20s instead of every 10s" in detail.stdout
        (tmp_path / "status-both-sides.txt").write_text(table.stdout + "\n" + detail.stdout)
        print("\n" + table.stdout + "\n" + detail.stdout)
        # Where to re-authorize, in the operator's words (reference step 4), from the real binary.
        help_text = subprocess.run([str(BIN / "connwatchctl"), "reauthorize"], capture_output=True, text=True)
        assert help_text.returncode == 0
        assert "Policies > Common Configuration > Out-of-band CASB >" in help_text.stdout
        assert "400-499" in help_text.stdout and "Reauthorize" in help_text.stdout
        mip_detail = ctl("status", names["mip"])
        replies.append(mip_detail.stdout)
        assert "no API for MIP accounts" in mip_detail.stdout

        # The alert: journal entry with the zscaler MESSAGE_ID, and a webhook delivery queued.
        entry = wait_journal(30, CONNWATCH_CONNECTOR=names["od"], MESSAGE_ID=ZSCALER_FAILED)[0]
        assert entry["CONNWATCH_CHECK"] == "zscaler"
        assert entry["CONNWATCH_REASON"] == "zscaler_validation_failed"
        assert "Entra: the client secret (per secret_expires) expired" in entry["MESSAGE"]
        assert subprocess.run(["journalctl", "-x", "--no-pager", f"MESSAGE_ID={ZSCALER_FAILED}",
                               f"CONNWATCH_CONNECTOR={names['od']}"], capture_output=True, text=True).returncode == 0
        for route in ("/v1/status", f"/v1/connectors/{names['od']}", f"/v1/connectors/{names['od']}/history",
                      "/v1/alerts", "/v1/deliveries", "/metrics"):
            out = subprocess.run(["curl", "-sS", "--unix-socket", str(sock), "http://localhost" + route],
                                 capture_output=True, text=True, timeout=30)
            replies.append(out.stdout)
        assert "connector.zscaler.validation_failed" in "".join(replies)

        # The webhook receives the zscaler event (standard format), with both sides in its summary.
        deadline = time.time() + 60
        while time.time() < deadline and not any("connector.zscaler.validation_failed" in b for b in hook.bodies):
            time.sleep(0.3)
        event = next(json.loads(b) for b in hook.bodies if "connector.zscaler.validation_failed" in b)
        assert event["data"]["check"] == "zscaler"
        assert event["data"]["reason"] == "zscaler_validation_failed"
        assert event["data"]["summary"].startswith("Zscaler: validation failed (code 401) — Entra:")
        assert event["data"]["details"]["error_code"] == 401

        # Reload without [zscaler]: the check is gone from every connector and its alert resolves.
        start = body.index("[zscaler]")
        config.write_text(body[:start] + body[body.index("[[webhook]]"):])
        r = ctl("reload")
        assert r.returncode == 0, r.stdout + r.stderr
        after = json.loads(ctl("status", "--json").stdout)
        replies.append(json.dumps(after))
        for c in after["connectors"]:
            assert "zscaler" not in [ch["check"] for ch in c["checks"]], c
            assert not c.get("notes"), c
        wait_journal(30, CONNWATCH_CONNECTOR=names["od"], MESSAGE_ID=RESOLVED,
                     predicate=lambda e: e.get("CONNWATCH_CHECK") == "zscaler")

        daemon.signal(signal.SIGTERM)
        assert daemon.wait(30) == 0

        # No secret anywhere: Zscaler's planted authorization values, the API client's secret,
        # the connectors' secrets — in the database (with WAL and the webhook outbox), the
        # journal, the daemon's log, every socket reply and every webhook body.
        blobs = b"".join(p.read_bytes() for p in tmp_path.glob("connwatch.sqlite*"))
        assert b"connector.zscaler.validation_failed" in blobs, "the outbox holds the webhook body"
        entries = json.dumps([journal(CONNWATCH_CONNECTOR=n) for n in names.values()]) + json.dumps(
            journal(SYSLOG_IDENTIFIER="connwatchd", _PID=str(daemon.proc.pid)))
        logs = (tmp_path / "connwatchd.log").read_text()
        sinks = {"database": blobs.decode("utf-8", "replace"), "journal": entries, "log": logs,
                 "socket": "\n".join(replies), "webhook": "\n".join(hook.bodies)}
        for value in planted_values + [api_secret, hook_key, *secrets_.values()]:
            for sink, text in sinks.items():
                assert value not in text, f"{value[:12]}… leaked into the {sink}"
        # The simulator did serve them: the scan above looked for values that were on the wire.
        assert sim.stats()["services"]["zia"] >= 2
    finally:
        if daemon.alive():
            daemon.signal(signal.SIGKILL)
        notify.close()
        hook.stop()
        sim.stop()
