"""Never a false page (issue 19, SPEC §3 and §9): every service connwatch talks to — the token
endpoint, Graph, ARM, the Office 365 Management API, SharePoint REST, Zscaler's OneAPI token
endpoint and the ZIA API — answering badly in every way we know of. For each service × fault,
against the real connwatchd and connwatch-sim, with healthy connectors:

- the first check under the fault leaves every verdict as it was (`ok`): one blip pages nobody;
- the second (`failure_threshold = 2`) may turn the affected checks `unknown`, only for the
  kind's transient reason (`REASON`: `unreachable`, `throttled` or `bad_response`), never
  `warning`/`critical`, and it does turn at least one `unknown` (the fault was really met, and
  judged a failure; the simulator counts the requests that met it);
- clearing the fault restores every verdict;
- the daemon stays up and answers its socket throughout.

CI runs a reduced matrix (every fault kind once, every service at least once: a Latin-square
diagonal, 13 rows, under a minute here); `CONNWATCH_FULL_FAULTS=1` runs the whole product (RELIABILITY.md).
The TLS and DNS rows point one endpoint, by a reload, at a second simulator whose CA connwatch
does not trust, or at a host under `.invalid`; a reload back to the good endpoints clears them."""
import json
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness import ACCOUNT, BIN, BLOB_DATA, Daemon, NotifySocket, Simulator, iso, new_secret, permissions

TENANT = "6e2a9c41-7b3d-4f05-a8e1-2c9d4b7f0a13"
SUB = "0b4e8d2f-1a6c-4e97-b3d5-7f9a2c6e1b48"
SP_HOST = "contoso.sharepoint.com"
THRESHOLD = 2
REQUEST_TIMEOUT = 3       # CONNWATCH_REQUEST_TIMEOUT: the hang rows wait this long, not 30 s
TRANSIENT = {"unreachable", "throttled", "bad_response"}

# service: (config table, key, path under the simulator's base URL)
SERVICES = {
    "login": ("cloud", "login_endpoint", "/login"),
    "graph": ("cloud", "graph_endpoint", "/graph"),
    "arm": ("cloud", "management_endpoint", "/arm"),
    "office": ("cloud", "office_management_endpoint", "/office"),
    "sharepoint": ("cloud", "sharepoint_endpoint", "/sharepoint"),
    "zia": ("zscaler", "api_base", "/zia/api/v1"),
    "zslogin": ("zscaler", "token_endpoint", "/zslogin/oauth2/v1/token"),
}

# kind: a simulator fault (merged with {"service": …}), or a string naming an endpoint swap.
KINDS = {
    "http_500": {"status": 500},
    "http_503_retry_after": {"status": 503, "retry_after": 1},
    "http_429_retry_after": {"status": 429, "retry_after": 1},
    "malformed": {"mode": "malformed"},
    "truncated": {"mode": "truncated"},
    "wrong_types": {"mode": "wrong_types"},
    "oversized": {"mode": "oversized", "size_mb": 6},           # the body cap is 4 MiB
    "empty_body": {"mode": "empty_body"},
    "wrong_content_type": {"mode": "wrong_content_type"},
    "hang": {"mode": "timeout", "hold_seconds": REQUEST_TIMEOUT + 8},
    "reset": {"mode": "reset"},
    "tls_unknown_ca": "tls",
    "dns_failure": "dns",
}


# The one reason a fault of each kind is shown with, once past the threshold (SPEC §3).
REASON = {"http_500": "unreachable", "http_503_retry_after": "throttled", "http_429_retry_after": "throttled",
          "truncated": "unreachable", "hang": "unreachable", "reset": "unreachable", "tls_unknown_ca": "unreachable",
          "dns_failure": "unreachable"}


def matrix():
    services, kinds = list(SERVICES), list(KINDS)
    if os.environ.get("CONNWATCH_FULL_FAULTS") == "1":
        return [(s, k) for s in services for k in kinds]
    # Every kind once, on the services in turn: every service at least once.
    return [(services[i % len(services)], k) for i, k in enumerate(kinds)]


def app_id(n):
    return f"e0000000-0000-4000-8000-{n:012d}"


class Fleet:
    """Three healthy connectors that between them use every service (OneDrive: token, Graph,
    Office 365; azure-blob: token, ARM; SharePoint: certificate token, SharePoint REST,
    Graph, Office 365), the zscaler check on each (OneAPI token, ZIA), and connwatchd."""

    def __init__(self, tmp):
        self.tmp = Path(tmp)
        run = secrets.token_hex(3)
        self.names = {k: f"{k}-{run}" for k in ("od", "blob", "sp")}
        self.secrets = {k: new_secret() for k in self.names}
        self.api_secret = "zs-api-" + secrets.token_urlsafe(18)
        self.creds = self.tmp / "credentials"
        self.creds.mkdir()
        for name, value in [*((self.names[k], v) for k, v in self.secrets.items()), ("zscaler-api", self.api_secret)]:
            p = self.creds / name
            p.write_text(value + "\n")
            p.chmod(0o600)
        key, cert = self.tmp / "sp.key", self.tmp / "sp.crt"
        self.keyfile = self.tmp / "sp-keyfile.json"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "730", "-subj", "/CN=connwatch fault suite"], check=True, capture_output=True)
        subprocess.run([BIN / "connwatchctl", "keyfile", "create", "--cert", cert, "--key", key, "--output",
                        self.keyfile], check=True, capture_output=True)
        key.unlink()
        self.cert_pem = cert.read_text()
        self.db = self.tmp / "connwatch.sqlite"
        self.socket = self.tmp / "ctl.sock"
        self.config = self.tmp / "connwatch.toml"
        self.zscaler_age = "7d"

    def scenario(self):
        def app(n, key, roles, **extra):
            return {"app_id": app_id(n), "display_name": f"Zscaler {key}", "app_roles": roles,
                    "secrets": [{"display_name": "zscaler", "value": self.secrets[key], "start": iso(-30),
                                 "end": iso(300)}], **extra}
        apps = [
            app(1, "od", permissions("onedrive")),
            app(2, "blob", {}, role_assignments=[{"role_definition_id": r, "subscription": SUB}
                                                 for r in (BLOB_DATA, ACCOUNT)]),
            app(3, "sp", permissions("sharepoint"),
                certificates=[{"display_name": "CN=connwatch fault suite", "pem": self.cert_pem}]),
        ]
        return {
            "tenants": [{"id": TENANT, "domains": ["contoso.onmicrosoft.com"], "display_name": "Contoso",
                         "sharepoint_host": SP_HOST, "subscriptions": [{"id": SUB, "display_name": "prod"}],
                         "missing_resources": [], "apps": apps}],
            "zscaler": {
                "api_clients": [{"client_id": "connwatch-faults", "client_secret": self.api_secret}],
                "tenants": [{"tenant_id": 8000 + n, "tenant_name": f"Contoso {k}", "enterprise_tenant_id": TENANT,
                             "status": ["ACTIVE"], "last_validation_time": iso(-0.1),
                             "authorization": {"client_id": app_id(n)}}
                            for n, k in enumerate(("od", "blob", "sp"), 1)],
            },
        }

    def write_config(self, base, ca, override=None):
        """`override`: {service: endpoint URL} in place of the simulator's."""
        urls = {s: base + path for s, (_, _, path) in SERVICES.items()}
        urls.update(override or {})
        body = f'''
[daemon]
check_interval = "1h"
concurrency = 4
database = "{self.db}"
socket = "{self.socket}"
socket_group = "root"
ca_file = "{ca}"
failure_threshold = {THRESHOLD}

[cloud]
login_endpoint = "{urls['login']}"
graph_endpoint = "{urls['graph']}"
management_endpoint = "{urls['arm']}"
office_management_endpoint = "{urls['office']}"
sharepoint_endpoint = "{urls['sharepoint']}"

[zscaler]
token_endpoint = "{urls['zslogin']}"
api_base = "{urls['zia']}"
client_id = "connwatch-faults"
client_secret_credential = "zscaler-api"
max_validation_age = "{self.zscaler_age}"
'''
        kinds = {"od": "onedrive", "blob": "azure-blob", "sp": "sharepoint"}
        for n, k in enumerate(("od", "blob", "sp"), 1):
            body += f'''
[[connector]]
name = "{self.names[k]}"
kind = "{kinds[k]}"
tenant_id = "{TENANT}"
client_id = "{app_id(n)}"
client_secret_credential = "{self.names[k]}"
zscaler_tenant_id = {8000 + n}
'''
            if k == "blob":
                body += f'subscription_id = "{SUB}"\nsecret_expires = "2027-06-01"\n'
            if k == "sp":
                body += f'key_file = "{self.keyfile}"\nsharepoint_host = "{SP_HOST}"\n'
        self.config.write_text(body)


class Env:
    def __init__(self, tmp):
        self.fleet = Fleet(tmp)
        self.sim = Simulator(tmp, self.fleet.scenario())
        # The TLS rows' endpoint: the same simulated cloud behind a CA connwatch does not trust
        # (were it trusted, the checks would pass and the row would fail).
        (Path(tmp) / "stranger").mkdir()
        self.stranger = Simulator(Path(tmp) / "stranger", self.fleet.scenario())
        self.notify = NotifySocket(Path(tmp) / "notify.sock")
        self.fleet.write_config(self.sim.base, self.sim.ca)
        self.daemon = Daemon(tmp, self.fleet.config, self.fleet.creds, self.notify,
                             extra_env={"CONNWATCH_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT)})
        self.notify.wait_for(lambda m: "READY=1" in m, timeout=90)

    def ctl(self, *args, timeout=120):
        r = subprocess.run([str(BIN / "connwatchctl"), "--socket", str(self.fleet.socket), *args],
                           capture_output=True, text=True, timeout=timeout)
        assert r.returncode in (0, 1, 2, 3), (args, r.returncode, r.stderr[-2000:])
        return r

    def check_all(self):
        """`connwatchctl check --all`: every connector checked now; the report it prints."""
        r = self.ctl("check", "--all", "--json")
        return json.loads(r.stdout)

    def status(self):
        t0 = time.monotonic()
        report = json.loads(self.ctl("status", "--json", timeout=10).stdout)
        assert time.monotonic() - t0 < 5, "the socket answered slowly"
        return report

    def reload(self):
        mark = self.notify.count()
        self.daemon.signal(signal.SIGHUP)
        i, _ = self.notify.wait_for(lambda m: "RELOADING=1" in m, start=mark)
        self.notify.wait_for(lambda m: "READY=1" in m, start=i + 1)

    def fresh_zscaler_client(self):
        """A reload that changes [zscaler] makes a new ZIA client: no cached token or tenant
        list (a success is reused for most of an interval, a failure for up to 5 minutes, to
        stay within ZIA's rate limits), so the next check asks ZIA again."""
        self.fleet.zscaler_age = "8d" if self.fleet.zscaler_age == "7d" else "7d"
        self.fleet.write_config(self.sim.base, self.sim.ca)
        self.reload()

    def stop(self):
        if self.daemon.alive():
            self.daemon.signal(signal.SIGTERM)
            try:
                self.daemon.wait(30)
            except subprocess.TimeoutExpired:
                self.daemon.signal(signal.SIGKILL)
                self.daemon.wait(10)
        self.notify.close()
        self.stranger.stop()
        self.sim.stop()


def verdicts(report):
    return {c["name"]: (c["status"], c["reason"], {k["check"]: (k["status"], k["reason"]) for k in c["checks"]})
            for c in report["connectors"]}


def all_ok(report):
    return all(status == "ok" and all(s == "ok" for s, _ in checks.values())
               for status, _, checks in verdicts(report).values())


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = Env(tmp_path_factory.mktemp("faults"))
    try:
        report = e.check_all()
        assert all_ok(report), verdicts(report)
        yield e
    finally:
        e.stop()


@pytest.mark.parametrize("service,kind", matrix(), ids=[f"{s}-{k}" for s, k in matrix()])
def test_a_fault_is_never_a_verdict(env, service, kind):
    fault = KINDS[kind]
    table, key, path = SERVICES[service]
    zscaler = table == "zscaler"
    started = time.monotonic()
    if not all_ok(env.status()):      # an earlier row left something behind: start clean
        env.fresh_zscaler_client()
        assert all_ok(env.check_all()), verdicts(env.status())
    if zscaler and isinstance(fault, dict):
        env.fresh_zscaler_client()
    before = env.sim.stats()["services"].get(service, 0)

    # Inject.
    if isinstance(fault, dict):
        env.sim.put_faults([{"service": service, **fault}])
    else:
        host = f"{service}.connwatch-faults.invalid"
        url = env.stranger.base + path if fault == "tls" else f"https://{host}{path}"
        env.fleet.write_config(env.sim.base, env.sim.ca, override={service: url})
        env.reload()

    seen = []
    try:
        for run in (1, 2):
            report = env.check_all()
            v = verdicts(report)
            seen.append(v)
            for name, (status, reason, checks) in v.items():
                assert status not in ("warning", "critical"), (service, kind, run, name, reason, checks)
                for check, (s, r) in checks.items():
                    assert s not in ("warning", "critical"), (service, kind, run, name, check, s, r)
                    if s == "unknown":
                        assert r in TRANSIENT, (service, kind, run, name, check, r)
                        assert r == REASON.get(kind, "bad_response"), (service, kind, run, name, check, r)
            if run < THRESHOLD:
                # Below failure_threshold the last verdict stays.
                assert all_ok(report), (service, kind, run, v)
            assert env.daemon.alive()
            env.status()                  # the socket answers under the fault
        # At the threshold the fault shows: it was met, and judged a transient failure.
        assert any(s == "unknown" for s, _, _ in seen[-1].values()), (service, kind, seen[-1])
        if isinstance(fault, dict):
            assert env.sim.stats()["services"].get(service, 0) > before, (service, kind, "fault never met")
    finally:
        # Clear.
        if isinstance(fault, dict):
            env.sim.put_faults([])
        else:
            env.fleet.write_config(env.sim.base, env.sim.ca)
            env.reload()
        if zscaler:
            env.fresh_zscaler_client()

    report = env.check_all()
    assert all_ok(report), (service, kind, "not restored", verdicts(report))
    assert env.daemon.alive()
    print(f"{service} × {kind}: second check {sorted({r for _, r, _ in seen[-1].values()})}, "
          f"restored; {time.monotonic() - started:.1f} s")
