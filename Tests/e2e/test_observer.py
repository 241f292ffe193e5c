"""Observer mode end to end (SPEC §3b): the real connwatchd and connwatchctl against the
simulator, a `[[tenant]]` monitoring app signing in with a certificate made at test time,
and connectors whose secrets connwatch never holds.

- Observed connectors get full verdicts with no connector credential anywhere: a healthy
  one, one whose secret expired (the service's sign-ins fail with AADSTS7000222), one
  nobody signed in with for ten days, one disabled, an Azure Blob one read with Reader.
- A connector with its own secret and an observer gains `app` and `signin`; when its own
  secret works and the service's sign-ins fail, `signin_failing_elsewhere`.
- The observer is watched: a refused token makes every observed check `unknown`
  `observer_failed` and raises `observer.credential.invalid` in the journal; a missing
  AuditLog.Read.All leaves `signin` out with a note and raises `observer.permission.missing`.
- The cost: 100 observed connectors in one tenant take at most 50 Graph HTTP requests a cycle.
"""
import json
import os
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from harness import (ACCOUNT, BIN, BLOB_DATA, GRAPH, Daemon, NotifySocket, Simulator, iso, new_secret, permissions,
                     wait_journal)

TENANT = "3e9a1c5b-7d2f-4b68-9a0e-5c1f8d3b7e42"
SUB = "6a2d8f4c-1e9b-4c75-a3d0-7b5e9f1c2a86"
OBSERVER = "0b5e0000-0000-4000-8000-00000000e2e1"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
OBSERVER_ROLES = ["Application.Read.All", "Directory.Read.All", "AuditLog.Read.All"]


def app_id(n):
    return f"a0be0000-0000-4000-8000-{n:012d}"


def observer_certificate(tmp):
    """A key and a self-signed certificate in one PEM (mode 0600), made now."""
    key, cert, pem = tmp / "obs.key", tmp / "obs.crt", tmp / "observer.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "30", "-subj", "/CN=connwatch monitor (e2e)"], check=True, capture_output=True)
    pem.write_text(key.read_text() + cert.read_text())
    pem.chmod(0o600)
    key.unlink()
    return cert.read_text(), pem


class ObservedWorld:
    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.run = secrets.token_hex(3)
        self.cert, self.pem = observer_certificate(self.tmp)
        self.creds = self.tmp / "credentials"  # stays empty unless a connector holds its own secret
        self.creds.mkdir()
        self.db = self.tmp / "connwatch.sqlite"
        self.config = self.tmp / "connwatch.toml"
        self.observer_roles = list(OBSERVER_ROLES)
        self.observer_cert_registered = True
        blob_delegated = permissions_delegated("azure-blob")
        self.connectors = {}  # key -> (kind, app, own secret or None)
        self.add("od", "onedrive", 1, permissions("onedrive"))
        self.add("ex", "exchange", 2, permissions("exchange"), end=iso(-3), start=iso(-200))
        self.add("tm", "teams", 3, permissions("teams"), sign_ins="stale")
        self.add("mip", "mip", 4, permissions("mip"), disabled=True)
        self.add("blob", "azure-blob", 5, {}, delegated=blob_delegated, rbac=[BLOB_DATA, ACCOUNT])

    def add(self, key, kind, n, roles, end=None, start=None, sign_ins=None, disabled=False, delegated=None,
            rbac=(), own_secret=False):
        value = new_secret()
        app = {"app_id": app_id(n), "display_name": f"Zscaler {kind} {self.run}", "app_roles": roles,
               "secrets": [{"display_name": "zscaler", "value": value, "start": start or iso(-30),
                            "end": end or iso(300)}]}
        if sign_ins:
            app["sign_ins"] = sign_ins
        if disabled:
            app["disabled"] = True
        if delegated:
            app["delegated_grants"] = delegated
        if rbac:
            app["role_assignments"] = [{"role_definition_id": r, "subscription": SUB} for r in rbac]
        self.connectors[key] = (kind, app, value if own_secret else None)

    def name(self, key):
        return f"{key}-{self.run}"

    def scenario(self):
        observer = {"app_id": OBSERVER, "display_name": "connwatch monitor", "sign_ins": "none",
                    "certificates": ([{"display_name": "connwatch monitor", "pem": self.cert,
                                       "start": iso(-1), "end": iso(29)}] if self.observer_cert_registered else []),
                    "app_roles": {GRAPH: self.observer_roles},
                    "role_assignments": [{"role_definition_id": READER, "subscription": SUB}]}
        return {"tenants": [{
            "id": TENANT, "domains": ["fabrikam-e2e.onmicrosoft.com"], "display_name": "Fabrikam", "premium": True,
            "subscriptions": [{"id": SUB, "display_name": "storage"}],
            "apps": [observer] + [app for _, app, _ in self.connectors.values()]}]}

    def write_config(self, base, ca, extra=""):
        body = f'''
[daemon]
check_interval = "1h"
concurrency = 4
database = "{self.db}"
ca_file = "{ca}"
{extra}

[cloud]
login_endpoint = "{base}/login"
graph_endpoint = "{base}/graph"
management_endpoint = "{base}/arm"
office_management_endpoint = "{base}/office"
sharepoint_endpoint = "{base}/sharepoint"

[[tenant]]
tenant_id = "{TENANT}"
client_id = "{OBSERVER}"
certificate_file = "{self.pem}"
subscriptions = ["{SUB}"]
'''
        for key, (kind, app, own) in self.connectors.items():
            body += f'''
[[connector]]
name = "{self.name(key)}"
kind = "{kind}"
tenant_id = "{TENANT}"
client_id = "{app["app_id"]}"
'''
            if own:
                p = self.creds / self.name(key)
                p.write_text(own + "\n")
                p.chmod(0o600)
                body += f'client_secret_credential = "{self.name(key)}"\n'
            if kind == "azure-blob":
                body += f'subscription_id = "{SUB}"\n'
        self.config.write_text(body)


def permissions_delegated(kind):
    out = subprocess.run([BIN / "connwatchctl", "permissions", kind, "--json"], check=True, capture_output=True,
                         text=True).stdout
    data = json.loads(out)
    ids = {r["id"]: r["app_id"] for r in data["resources"]}
    grants = {}
    for p in data["permissions"]:
        if p["type"] == "delegated":
            grants.setdefault(ids[p["resource"]], []).append(p["permission"])
    return [{"resource_app_id": r, "scope": " ".join(s), "consent_type": "AllPrincipals"} for r, s in grants.items()]


def once(w):
    r = subprocess.run([BIN / "connwatchd", "--once", "--json", "--config", w.config, "--credentials-dir", w.creds],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode in (0, 1, 2, 3), r.stdout[-2000:] + r.stderr[-3000:]
    report = json.loads(r.stdout)
    return report, {c["name"]: c for c in report["connectors"]}, r


def checks(c):
    return {k["check"]: k for k in c["checks"]}


def test_observed_connectors_get_full_verdicts_without_any_secret(tmp_path):
    w = ObservedWorld(tmp_path)
    sim = Simulator(tmp_path, w.scenario())
    try:
        w.write_config(sim.base, sim.ca)
        assert not any(w.creds.iterdir()), "no connector credential exists"
        report, by_name, run = once(w)

        od = by_name[w.name("od")]
        assert od["status"] == "ok", od
        assert set(checks(od)) >= {"app", "secret_expiry", "consent", "signin"}, checks(od).keys()
        assert "credential" not in checks(od) and "probe" not in checks(od)
        notes = " ".join(od.get("notes") or [])
        assert "credential" in notes and "probe" in notes, od.get("notes")

        ex = checks(by_name[w.name("ex")])
        assert ex["secret_expiry"]["status"] == "critical" and ex["secret_expiry"]["reason"] == "secret_expired", ex
        assert ex["signin"]["status"] == "critical" and ex["signin"]["reason"] == "secret_expired", ex["signin"]
        assert "7000222" in json.dumps(ex["signin"]["details"]), ex["signin"]

        tm = checks(by_name[w.name("tm")])
        assert tm["signin"]["status"] == "warning" and tm["signin"]["reason"] == "signin_stale", tm["signin"]

        mip = by_name[w.name("mip")]
        assert mip["status"] == "critical" and checks(mip)["app"]["reason"] == "app_disabled", mip

        blob = checks(by_name[w.name("blob")])
        assert blob["consent"]["status"] == "ok", blob["consent"]
        assert blob["roles"]["status"] == "ok", blob["roles"]

        observers = report.get("observers")
        assert observers and len(observers) == 1, report.keys()
        o = observers[0]
        assert (o["tenant_id"], o["client_id"], o["status"], o["reason"]) == (TENANT, OBSERVER, "ok", "ok"), o
        assert o["expires_at"], o
        assert {"tenant_id", "client_id", "status", "reason", "summary", "checked_at", "expires_at"} <= set(o)
        assert w.name("od") not in run.stderr  # nothing alarming logged about a healthy connector
    finally:
        sim.stop()


def test_own_secret_plus_observer_sees_the_service_failing_elsewhere(tmp_path):
    w = ObservedWorld(tmp_path)
    w.connectors.clear()
    w.add("od", "onedrive", 11, permissions("onedrive"), sign_ins="old_secret", own_secret=True)
    w.add("ok", "onedrive", 12, permissions("onedrive"), own_secret=True)
    sim = Simulator(tmp_path, w.scenario())
    try:
        w.write_config(sim.base, sim.ca)
        _, by_name, _ = once(w)
        od = checks(by_name[w.name("od")])
        assert od["credential"]["status"] == "ok", od["credential"]
        assert {"app", "signin", "credential", "secret_expiry", "consent", "probe"} <= set(od), od.keys()
        assert od["signin"]["status"] == "critical" and od["signin"]["reason"] == "signin_failing_elsewhere", od["signin"]
        assert "re-authorize" in od["signin"]["remediation"].lower(), od["signin"]
        ok = by_name[w.name("ok")]
        assert ok["status"] == "ok" and checks(ok)["signin"]["status"] == "ok", ok
    finally:
        sim.stop()


def test_the_observer_is_watched(tmp_path):
    w = ObservedWorld(tmp_path)
    sim = Simulator(tmp_path, w.scenario())
    notify = NotifySocket(tmp_path / "notify.sock")
    sock = tmp_path / "connwatch.sock"
    w.write_config(sim.base, sim.ca, extra=f'socket = "{sock}"')
    daemon = Daemon(tmp_path, w.config, w.creds, notify)
    env = dict(os.environ, CONNWATCH_SOCKET=str(sock))

    def ctl(*args):
        return subprocess.run([BIN / "connwatchctl", *args], capture_output=True, text=True, timeout=120, env=env)

    def status():
        r = ctl("status", "--json")
        assert r.returncode in (0, 1, 2, 3), r.stderr
        return json.loads(r.stdout)

    try:
        notify.wait_for(lambda m: "READY=1" in m, timeout=60)
        deadline = time.time() + 120
        while time.time() < deadline:
            s = status()
            if s.get("observers") and s["observers"][0]["reason"] != "pending" and all(
                    c["reason"] != "pending" for c in s["connectors"]):
                break
            time.sleep(0.5)
        table = ctl("status")
        assert table.stdout.index(OBSERVER[:8]) < table.stdout.index(w.name("od")), table.stdout
        detail = ctl("status", w.name("od"))
        assert "credential" in detail.stdout and "probe" in detail.stdout, detail.stdout

        # The monitoring app's certificate is removed from its registration: its token is refused.
        w.observer_cert_registered = False
        sim.put_scenario(w.scenario())
        r = ctl("check", "--all")
        assert r.returncode in (0, 1, 2, 3), r.stderr
        s = status()
        o = s["observers"][0]
        assert (o["status"], o["reason"]) == ("critical", "observer_failed"), o
        for c in s["connectors"]:
            for k in c["checks"]:
                if k["check"] != "zscaler":
                    assert (k["status"], k["reason"]) == ("unknown", "observer_failed"), (c["name"], k)
        wait_journal(timeout=30, SYSLOG_IDENTIFIER="connwatchd", CONNWATCH_EVENT="observer.credential.invalid")

        # Back, but without AuditLog.Read.All: signin is left out with a note, and the observer says why.
        w.observer_cert_registered = True
        w.observer_roles = ["Application.Read.All", "Directory.Read.All"]
        sim.put_scenario(w.scenario())
        r = ctl("check", "--all")
        s = status()
        o = s["observers"][0]
        assert (o["status"], o["reason"]) == ("warning", "permission_missing"), o
        assert "AuditLog.Read.All" in o["summary"], o
        od = next(c for c in s["connectors"] if c["name"] == w.name("od"))
        assert "signin" not in checks(od), checks(od).keys()
        assert any("AuditLog.Read.All" in n or "sign-in" in n for n in od.get("notes") or []), od.get("notes")
        wait_journal(timeout=30, SYSLOG_IDENTIFIER="connwatchd", CONNWATCH_EVENT="observer.permission.missing")
        assert daemon.alive()
    finally:
        daemon.signal(15)
        daemon.wait(30)
        notify.close()
        sim.stop()


def test_observer_budget_at_100_connectors_in_one_tenant(tmp_path):
    w = ObservedWorld(tmp_path)
    w.connectors.clear()
    kinds = ["exchange", "onedrive", "teams", "mip"]
    roles = {k: permissions(k) for k in kinds}
    for n in range(100):
        kind = kinds[n % len(kinds)]
        w.add(f"c{n:03d}", kind, 100 + n, roles[kind])
    sim = Simulator(tmp_path, w.scenario())
    try:
        w.write_config(sim.base, sim.ca)
        requests_before = sim.stats()["services"]
        report, by_name, _ = once(w)
        after = sim.stats()["services"]
        graph = after.get("graph", 0) - requests_before.get("graph", 0)
        assert len(by_name) == 100
        assert all(c["status"] == "ok" for c in by_name.values()), [
            (c["name"], c["reason"], c["summary"]) for c in by_name.values() if c["status"] != "ok"][:5]
        print(f"observer budget: {graph} Graph HTTP requests for 100 observed connectors ({graph / 100:.2f} each)")
        assert graph <= 50, graph
    finally:
        sim.stop()
