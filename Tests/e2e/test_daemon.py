"""connwatchd end to end: the real binary against the simulator, with a real config file,
credentials directory, SQLite file, journald and a test NOTIFY_SOCKET."""
import copy
import json
import os
import secrets
import signal
import time
from pathlib import Path

import pytest

from harness import (ACCOUNT, BLOB_DATA, BIN, Daemon, NotifySocket, Simulator, iso, journal, new_secret,
                     permissions, query, wait_journal)

TENANT = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"
SUB = "3c7a9e2b-5d1f-4a68-9b04-e6f2c8d1a5b7"
MID = {
    "secret.expiring": "81fdc26e26fd4bbe9d084cbaacfa4a19",
    "consent.missing": "e4638d146566476c8f1ac1d8e9d53b3f",
    "roles.missing": "eaf448e5aae14a35bd8ec8747ba12026",
    "credential.invalid": "f26c9d616fba40cca7218db9198f5ece",
    "resolved": "2058de031da74bd2b75c6ec3a2877cf4",
    "reload_failed": "5c6ff3cb8a6649d38f6e390d24ec1852",
}


def app_id(n):
    return f"d0000000-0000-4000-8000-{n:012d}"


class World:
    """A tenant with four connectors, the simulator serving it, and connwatchd's config."""

    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.run = secrets.token_hex(3)
        self.names = {k: f"{k}-{self.run}" for k in ("ex", "od", "tm", "blob", "mip")}
        self.secrets = {k: new_secret() for k in self.names}
        self.creds = self.tmp / "credentials"
        self.creds.mkdir()
        for k, v in self.secrets.items():
            p = self.creds / self.names[k]
            p.write_text(v + "\n")
            p.chmod(0o600)
        teams = permissions("teams")
        teams_graph = [r for r in teams["00000003-0000-0000-c000-000000000000"] if r != "Chat.UpdatePolicyViolation.All"]
        self.apps = {
            "ex": self.app(1, "ex", permissions("exchange"), end=iso(10)),
            "od": self.app(2, "od", permissions("onedrive")),
            "tm": self.app(3, "tm", {**teams, "00000003-0000-0000-c000-000000000000": teams_graph}),
            "blob": self.app(4, "blob", {}, rbac=[BLOB_DATA, ACCOUNT]),
            "mip": self.app(5, "mip", permissions("mip")),
        }
        self.apps["mip"]["secrets"][0]["value"] = new_secret()  # connwatch holds a wrong one
        self.db = self.tmp / "connwatch.sqlite"
        self.config = self.tmp / "connwatch.toml"

    def app(self, n, key, app_roles, end=None, rbac=()):
        a = {
            "app_id": app_id(n), "display_name": f"Zscaler {key}",
            "secrets": [{"display_name": "zscaler", "value": self.secrets[key], "start": iso(-30), "end": end or iso(300)}],
            "app_roles": app_roles,
        }
        if rbac:
            a["role_assignments"] = [{"role_definition_id": r, "subscription": SUB} for r in rbac]
        return a

    def scenario(self):
        return {"tenants": [{
            "id": TENANT, "domains": ["contoso.onmicrosoft.com"], "display_name": "Contoso",
            "subscriptions": [{"id": SUB, "display_name": "prod"}], "missing_resources": [],
            "apps": list(self.apps.values()),
        }]}

    def write_config(self, base, ca, include=("ex", "od", "tm", "blob"), extra=""):
        kinds = {"ex": "exchange", "od": "onedrive", "tm": "teams", "blob": "azure-blob", "mip": "mip"}
        body = f'''
[daemon]
check_interval = "10s"
concurrency = 4
database = "{self.db}"
ca_file = "{ca}"

[cloud]
login_endpoint = "{base}/login"
graph_endpoint = "{base}/graph"
management_endpoint = "{base}/arm"
office_management_endpoint = "{base}/office"
sharepoint_endpoint = "{base}/sharepoint"
{extra}
'''
        for k in include:
            n = list(self.names).index(k) + 1
            body += f'''
[[connector]]
name = "{self.names[k]}"
kind = "{kinds[k]}"
tenant_id = "{TENANT}"
client_id = "{app_id(n)}"
client_secret_credential = "{self.names[k]}"
'''
            if k == "blob":
                body += f'subscription_id = "{SUB}"\nsecret_expires = "2027-06-01"\n'
            if k == "mip":
                body += 'secret_expires = "2027-06-01"\n'
        self.config.write_text(body)


def firing(name, message_id):
    return [e for e in journal(CONNWATCH_CONNECTOR=name, MESSAGE_ID=message_id) if e.get("CONNWATCH_STATE") == "firing"]


def test_daemon_end_to_end(tmp_path):
    w = World(tmp_path)
    sim = Simulator(tmp_path, w.scenario())
    notify = NotifySocket(tmp_path / "notify.sock")
    w.write_config(sim.base, sim.ca)
    daemon = Daemon(tmp_path, w.config, w.creds, notify)
    try:
        # READY once the database is open and the schedule is set; then STATUS and WATCHDOG.
        notify.wait_for(lambda m: "READY=1" in m, timeout=90)
        notify.wait_for(lambda m: m.startswith("STATUS=") or "\nSTATUS=" in m or "STATUS=" in m)
        notify.wait_for(lambda m: "WATCHDOG=1" in m, timeout=10)

        # First cycle: the expiring secret and the missing consent reach the journal.
        ex = wait_journal(CONNWATCH_CONNECTOR=w.names["ex"], MESSAGE_ID=MID["secret.expiring"])[0]
        assert ex["PRIORITY"] == "4"
        assert ex["CONNWATCH_KIND"] == "exchange"
        assert ex["CONNWATCH_CHECK"] == "secret_expiry"
        assert ex["CONNWATCH_REASON"] == "secret_expiring"
        assert ex["CONNWATCH_TENANT_ID"] == TENANT
        assert ex["CONNWATCH_CLIENT_ID"] == app_id(1)
        assert int(ex["CONNWATCH_DAYS_LEFT"]) in (9, 10)
        assert ex["CONNWATCH_EXPIRES_AT"].endswith("Z")
        assert ex["CONNWATCH_ALERT_ID"]
        assert ex["SYSLOG_IDENTIFIER"] == "connwatchd"
        tm = wait_journal(CONNWATCH_CONNECTOR=w.names["tm"], MESSAGE_ID=MID["consent.missing"])[0]
        assert tm["PRIORITY"] == "2"
        assert "Chat.UpdatePolicyViolation.All" in tm["CONNWATCH_MISSING_PERMISSIONS"]

        # The database holds the results, the alerts and the start event.
        deadline = time.time() + 30
        while time.time() < deadline:
            rows = query(w.db, "SELECT connector, check_kind, status FROM latest_result WHERE connector = ?", w.names["od"])
            if len(rows) == 4:
                break
            time.sleep(0.3)
        assert {r[2] for r in rows} == {"ok"}, rows
        assert query(w.db, "SELECT count(*) FROM notification WHERE connector = ?", w.names["tm"])[0][0] >= 1
        assert query(w.db, "SELECT kind FROM daemon_event ORDER BY id")[0][0] == "start"
        assert not journal(CONNWATCH_CONNECTOR=w.names["od"]), "a healthy connector raises nothing"

        # Change the world: revoke a permission, delete a role.
        w.apps["od"]["app_roles"]["00000003-0000-0000-c000-000000000000"].remove("Sites.ReadWrite.All")
        w.apps["blob"]["role_assignments"] = [{"role_definition_id": BLOB_DATA, "subscription": SUB}]
        sim.put_scenario(w.scenario())
        od = wait_journal(45, CONNWATCH_CONNECTOR=w.names["od"], MESSAGE_ID=MID["consent.missing"])[0]
        assert "Sites.ReadWrite.All" in od["CONNWATCH_MISSING_PERMISSIONS"]
        blob = wait_journal(45, CONNWATCH_CONNECTOR=w.names["blob"], MESSAGE_ID=MID["roles.missing"])[0]
        assert blob["CONNWATCH_REASON"] == "role_missing"
        # Give it back: the alert resolves.
        w.apps["od"]["app_roles"]["00000003-0000-0000-c000-000000000000"].append("Sites.ReadWrite.All")
        sim.put_scenario(w.scenario())
        res = wait_journal(45, CONNWATCH_CONNECTOR=w.names["od"], MESSAGE_ID=MID["resolved"])[0]
        assert res["CONNWATCH_ALERT_ID"] == od["CONNWATCH_ALERT_ID"]

        # Reload with a good configuration: RELOADING=1 and MONOTONIC_USEC in ONE datagram, then READY=1.
        w.write_config(sim.base, sim.ca, include=("ex", "od", "tm", "blob", "mip"))
        mark = notify.count()
        daemon.signal(signal.SIGHUP)
        i, m = notify.wait_for(lambda m: "RELOADING=1" in m, start=mark)
        assert "MONOTONIC_USEC=" in m
        notify.wait_for(lambda m: "READY=1" in m, start=i + 1)
        mip = wait_journal(45, CONNWATCH_CONNECTOR=w.names["mip"], MESSAGE_ID=MID["credential.invalid"])[0]
        assert mip["CONNWATCH_REASON"] == "secret_invalid"
        assert "reload" in [r[0] for r in query(w.db, "SELECT kind FROM daemon_event")]

        # Reload with a broken configuration: the old one keeps running and the journal says why.
        good = w.config.read_text()
        w.config.write_text(good + '\n[daemon2]\nx = 1\n')
        mark = notify.count()
        daemon.signal(signal.SIGHUP)
        i, _ = notify.wait_for(lambda m: "RELOADING=1" in m, start=mark)
        notify.wait_for(lambda m: "READY=1" in m, start=i + 1)
        bad = wait_journal(20, MESSAGE_ID=MID["reload_failed"], predicate=lambda e: str(w.config) in e.get("MESSAGE", ""))
        assert "daemon2" in bad[0]["MESSAGE"]
        assert daemon.alive()
        assert "reload_failed" in [r[0] for r in query(w.db, "SELECT kind FROM daemon_event")]
        w.config.write_text(good)

        # kill -9 mid-cycle, restart: the database is intact and no alert repeats.
        before = {k: len(firing(w.names[k], mid)) for k, mid in
                  (("ex", MID["secret.expiring"]), ("tm", MID["consent.missing"]), ("blob", MID["roles.missing"]))}
        assert all(v == 1 for v in before.values()), before
        sim.put_faults([{"service": "*", "latency_ms": 1500}])
        time.sleep(4)
        daemon.signal(signal.SIGKILL)
        daemon.wait(10)
        sim.put_faults([])
        assert query(w.db, "PRAGMA integrity_check")[0][0] == "ok"
        mark = notify.count()
        daemon = Daemon(tmp_path, w.config, w.creds, notify)
        notify.wait_for(lambda m: "READY=1" in m, start=mark, timeout=60)
        assert query(w.db, "PRAGMA integrity_check")[0][0] == "ok"
        time.sleep(25)  # more than two check intervals after the restart
        after = {k: len(firing(w.names[k], mid)) for k, mid in
                 (("ex", MID["secret.expiring"]), ("tm", MID["consent.missing"]), ("blob", MID["roles.missing"]))}
        assert after == before, (before, after)

        # SIGTERM: STOPPING=1, checks drained, exit 0.
        mark = notify.count()
        daemon.signal(signal.SIGTERM)
        notify.wait_for(lambda m: "STOPPING=1" in m, start=mark, timeout=20)
        assert daemon.wait(30) == 0
        assert query(w.db, "SELECT kind FROM daemon_event ORDER BY id DESC LIMIT 1")[0][0] == "stop"

        # No secret anywhere: database, WAL, journal, logs.
        blobs = b""
        for p in tmp_path.glob("connwatch.sqlite*"):
            blobs += p.read_bytes()
        entries = json.dumps([journal(CONNWATCH_CONNECTOR=n) for n in w.names.values()])
        logs = (tmp_path / "connwatchd.log").read_text()
        for s in w.secrets.values():
            assert s.encode() not in blobs
            assert s not in entries
            assert s not in logs
    finally:
        if daemon.alive():
            daemon.signal(signal.SIGKILL)
        notify.close()
        sim.stop()
