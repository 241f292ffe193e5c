"""connwatchd's control socket end to end: the real connwatchd against the simulator, driven with
connwatchctl, curl and raw sockets. Every route's live replies are validated against
docs/control-api.yaml; /metrics is parsed by prometheus_client; mutations are refused to a
non-operator user (setpriv); browsers, floods, malformed HTTP and slow clients are turned away
without stalling anyone else."""
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from prometheus_client.parser import text_string_to_metric_families
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from harness import (BIN, REPO, Daemon, NotifySocket, Simulator, iso, journal, new_secret, permissions, query,
                     wait_journal)

TENANT = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"
GRAPH = "00000003-0000-0000-c000-000000000000"
DOC_URI = "urn:connwatch:control-api"
DOC = yaml.safe_load((REPO / "docs" / "control-api.yaml").read_text())
REGISTRY = Registry().with_resource(DOC_URI, Resource.from_contents(DOC, default_specification=DRAFT202012))
METHODS = ("get", "post", "put", "delete", "patch")


def pointer(*parts):
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def response_schema(template, method, status):
    """The JSON pointer of the documented schema of one route's reply, following response $refs."""
    op = DOC["paths"][template][method]
    key = str(status) if str(status) in op["responses"] else "default"
    base = pointer("paths", template, method, "responses", key)
    resp = op["responses"][key]
    if "$ref" in resp:
        base = resp["$ref"][1:]
        resp = REGISTRY.resolver(DOC_URI).lookup("#" + base).contents
    assert "application/json" in resp["content"], (template, method, status)
    return base + pointer("content", "application/json", "schema")


def validate(template, method, status, body):
    schema = {"$ref": f"{DOC_URI}#{response_schema(template, method, status)}"}
    validator = Draft202012Validator(schema, registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method.upper()} {template} {status}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5])


def unix_request(path, method, target, body=None, headers=None, timeout=60):
    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(path)

    conn = Conn("localhost", timeout=timeout)
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    hdrs = dict(headers or {})
    if data is not None:
        hdrs.setdefault("Content-Type", "application/json")
    conn.request(method, target, body=data, headers=hdrs)
    r = conn.getresponse()
    out = (r.status, r.getheader("Content-Type") or "", r.read())
    conn.close()
    return out


class Accounts:
    """Throwaway system accounts: a socket group with a plain member and an operator, who is
    an operator through a supplementary group only (checked with getgrouplist)."""

    def __init__(self):
        tag = secrets.token_hex(3)
        self.group, self.ops, self.user, self.operator = f"cwg-{tag}", f"cwo-{tag}", f"cwu-{tag}", f"cwp-{tag}"
        subprocess.run(["groupadd", "-r", self.group], check=True)
        subprocess.run(["groupadd", "-r", self.ops], check=True)
        nologin = "/usr/sbin/nologin"
        subprocess.run(["useradd", "-M", "-r", "-N", "-g", self.group, "-s", nologin, self.user], check=True)
        subprocess.run(["useradd", "-M", "-r", "-N", "-g", self.group, "-G", self.ops, "-s", nologin, self.operator],
                       check=True)

    def ids(self, user):
        out = subprocess.run(["id", "-u", user], capture_output=True, text=True, check=True).stdout.strip()
        gid = subprocess.run(["getent", "group", self.group], capture_output=True, text=True, check=True).stdout
        return int(out), int(gid.split(":")[2])

    def remove(self):
        for u in (self.user, self.operator):
            subprocess.run(["userdel", u], capture_output=True)
        for g in (self.ops, self.group):
            subprocess.run(["groupdel", g], capture_output=True)


class Env:
    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.run = secrets.token_hex(3)
        self.names = {k: f"{k}-{self.run}" for k in ("ex", "od", "tm")}
        self.secrets = {k: new_secret() for k in self.names}
        self.hook_token = secrets.token_urlsafe(18)
        self.creds = self.tmp / "credentials"
        self.creds.mkdir()
        for k, v in self.secrets.items():
            self.write_secret(self.names[k], v)
        self.write_secret("hook-url", f"http://127.0.0.1:9/hook?token={self.hook_token}")
        teams = permissions("teams")
        teams[GRAPH] = [r for r in teams[GRAPH] if r != "Chat.UpdatePolicyViolation.All"]
        self.apps = {
            "ex": self.app(1, "ex", permissions("exchange"), end=iso(10)),
            "od": self.app(2, "od", permissions("onedrive")),
            "tm": self.app(3, "tm", teams),
        }
        # The socket lives where the throwaway users can reach it.
        self.sockdir = Path(tempfile.mkdtemp(prefix="cwctl-", dir="/tmp"))
        self.sockdir.chmod(0o755)
        self.socket = str(self.sockdir / "connwatch.sock")
        self.db = self.tmp / "connwatch.sqlite"
        self.config = self.tmp / "connwatch.toml"
        self.accounts = Accounts()
        self.replies = []  # every reply body, for the secret scan

    def write_secret(self, name, value):
        p = self.creds / name
        p.write_text(value + "\n")
        p.chmod(0o600)

    def app(self, n, key, roles, end=None):
        return {"app_id": app_id(n), "display_name": f"Zscaler {key}",
                "secrets": [{"display_name": "zscaler", "value": self.secrets[key], "start": iso(-30),
                             "end": end or iso(300)}],
                "app_roles": roles}

    def scenario(self):
        return {"tenants": [{"id": TENANT, "domains": ["contoso.onmicrosoft.com"], "display_name": "Contoso",
                             "subscriptions": [], "missing_resources": [], "apps": list(self.apps.values())}]}

    def write_config(self, base, ca, extra=""):
        kinds = {"ex": "exchange", "od": "onedrive", "tm": "teams"}
        body = f'''
[daemon]
check_interval = "1h"
concurrency = 4
database = "{self.db}"
socket = "{self.socket}"
socket_group = "{self.accounts.group}"
operators = ["@{self.accounts.ops}"]
ca_file = "{ca}"
{extra}
[cloud]
login_endpoint = "{base}/login"
graph_endpoint = "{base}/graph"
management_endpoint = "{base}/arm"
office_management_endpoint = "{base}/office"

[[webhook]]
name = "soc"
url_credential = "hook-url"

# For the digest-on-request route: nothing listens on port 1 (a transient verdict),
# and no connector carries the label, so no alert mail is queued for it.
[[email]]
name = "digest-only"
smtp_url = "smtp://localhost:1"
from = "connwatch <connwatch@example.com>"
to = ["ops@example.com"]
labels = {{ never = "matched" }}
digest = "weekly"
digest_at = "Mon 08:00"
timeout = "5s"
'''
        for i, k in enumerate(("ex", "od", "tm"), 1):
            body += f'''
[[connector]]
name = "{self.names[k]}"
kind = "{kinds[k]}"
tenant_id = "{TENANT}"
client_id = "{app_id(i)}"
client_secret_credential = "{self.names[k]}"
'''
        self.config.write_text(body)

    def ctl(self, *args, user=None, gid=None, env=None, timeout=120):
        cmd = [str(BIN / "connwatchctl"), "--socket", self.socket, *args]
        if user is not None:
            uid, default_gid = self.accounts.ids(user)
            cmd = ["setpriv", f"--reuid={uid}", f"--regid={gid or default_gid}", "--clear-groups"] + cmd
        e = dict(os.environ)
        e.update(env or {})
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e)
        self.replies.append(r.stdout + r.stderr)
        return r

    def http(self, method, target, template=None, body=None, headers=None, expect=None):
        status, ctype, raw = unix_request(self.socket, method, target, body, headers)
        self.replies.append(raw.decode(errors="replace"))
        if expect is not None:
            assert status == expect, (method, target, status, raw[:500])
        if template is None:
            return status, raw
        if template == "/metrics" and status == 200:
            assert ctype.startswith("text/plain; version=0.0.4"), ctype
            self.covered.add((template, method.lower()))
            return status, raw.decode()
        if template == "/v1/report" and status == 200:
            # The report: HTML (default) or text, as documented; never JSON.
            want = "text/plain; charset=utf-8" if "format=text" in target else "text/html; charset=utf-8"
            assert ctype == want, (target, ctype)
            documented = DOC["paths"][template][method.lower()]["responses"]["200"]["content"]
            assert ctype.split(";")[0] in documented, (ctype, list(documented))
            self.covered.add((template, method.lower()))
            return status, raw.decode()
        assert ctype == "application/json", (target, ctype)
        data = json.loads(raw)
        validate(template, method.lower(), status, data)
        if 200 <= status < 300:
            self.covered.add((template, method.lower()))
        return status, data


def app_id(n):
    return f"d0000000-0000-4000-8000-{n:012d}"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("control")
    e = Env(tmp)
    e.covered = set()
    e.sim = Simulator(tmp, e.scenario())
    e.notify = NotifySocket(tmp / "notify.sock")
    e.write_config(e.sim.base, e.sim.ca)
    e.daemon = Daemon(tmp, e.config, e.creds, e.notify)
    try:
        # READY=1 comes once the socket accepts connections.
        e.notify.wait_for(lambda m: "READY=1" in m, timeout=90)
        assert os.path.exists(e.socket)
        deadline = time.time() + 60
        while time.time() < deadline:
            r = e.ctl("status", "--json")
            if r.returncode == 0 and json.loads(r.stdout)["daemon"].get("last_cycle_at"):
                break
            time.sleep(0.3)
        else:
            raise AssertionError("the first cycle did not complete")
        yield e
    finally:
        if e.daemon.alive():
            e.daemon.signal(signal.SIGKILL)
            e.daemon.wait(10)
        e.notify.close()
        e.sim.stop()
        e.accounts.remove()
        shutil.rmtree(e.sockdir, ignore_errors=True)


def test_status_with_connwatchctl_and_curl(env):
    st = os.stat(env.socket)
    assert oct(st.st_mode & 0o777) == "0o660"
    assert st.st_gid == env.accounts.ids(env.accounts.user)[1]

    r = env.ctl("status", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    validate("/v1/status", "get", 200, report)
    by = {c["name"]: c for c in report["connectors"]}
    assert (by[env.names["ex"]]["status"], by[env.names["ex"]]["reason"]) == ("warning", "secret_expiring")
    assert by[env.names["od"]]["status"] == "ok"
    assert (by[env.names["tm"]]["status"], by[env.names["tm"]]["reason"]) == ("critical", "consent_missing")

    curl = subprocess.run(["curl", "-sS", "--fail", "--unix-socket", env.socket, "http://localhost/v1/status"],
                          capture_output=True, text=True, check=True)
    via_curl = json.loads(curl.stdout)
    assert via_curl["schema_version"] == 1
    assert {c["name"]: c["status"] for c in via_curl["connectors"]} == {n: c["status"] for n, c in by.items()}

    table = env.ctl("status")
    assert table.returncode == 0
    assert table.stdout.splitlines()[0].split() == ["NAME", "KIND", "STATUS", "REASON", "EXPIRES", "CHECKED",
                                                    "SUMMARY"]
    assert "\x1b[" not in table.stdout  # not a TTY: no colour
    assert "in 9 days" in table.stdout or "in 10 days" in table.stdout

    detail = env.ctl("status", env.names["tm"])
    assert detail.returncode == 0
    assert "consent_missing" in detail.stdout and "what to do:" in detail.stdout

    # Without --socket and $CONNWATCH_SOCKET, connwatchctl follows [daemon] socket of the
    # configuration (SPEC: it overrides the default); an unreadable one falls back to the
    # default, and the message says which socket it tried.
    e = {k: v for k, v in os.environ.items() if k != "CONNWATCH_SOCKET"}
    via_config = subprocess.run([str(BIN / "connwatchctl"), "status", "--json", "--config", str(env.config)],
                                capture_output=True, text=True, timeout=60, env=e)
    assert via_config.returncode == 0, via_config.stderr
    assert {c["name"] for c in json.loads(via_config.stdout)["connectors"]} == set(by)
    missing = subprocess.run([str(BIN / "connwatchctl"), "status", "--config", str(env.config) + ".absent"],
                             capture_output=True, text=True, timeout=60, env=e)
    assert missing.returncode == 69, missing.stderr
    assert "/run/connwatch/connwatch.sock" in missing.stderr


def test_metrics_in_prometheus_exposition_format(env):
    curl = subprocess.run(["curl", "-sS", "--fail", "-D", "-", "--unix-socket", env.socket,
                           "http://localhost/metrics"], capture_output=True, check=True)
    head, text = curl.stdout.decode().split("\r\n\r\n", 1)
    assert "content-type: text/plain; version=0.0.4" in head.lower()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in ("connwatch_connector_status", "connwatch_credential_days_left", "connwatch_check_duration_seconds",
                 "connwatch_check_results", "connwatch_last_cycle_timestamp_seconds", "connwatch_webhook_deliveries",
                 "connwatch_check_status", "connwatch_alerts_firing"):
        assert name in families, (name, sorted(families))

    def samples(family, **labels):
        return [s for s in families[family].samples if all(s.labels.get(k) == v for k, v in labels.items())]

    ex = env.names["ex"]
    assert samples("connwatch_connector_status", connector=ex, status="warning")[0].value == 1
    assert samples("connwatch_connector_status", connector=ex, status="ok")[0].value == 0
    assert samples("connwatch_connector_status", connector=env.names["tm"], status="critical")[0].value == 1
    assert samples("connwatch_credential_days_left", connector=ex, check="secret_expiry")[0].value in (9, 10)
    count = [s for s in families["connwatch_check_duration_seconds"].samples if s.name.endswith("_count")]
    assert sum(s.value for s in count) >= 3
    assert families["connwatch_last_cycle_timestamp_seconds"].samples[0].value > time.time() - 600
    assert families["connwatch_check_results"].type == "counter"
    assert families["connwatch_alerts_firing"].samples[0].value >= 2


def test_every_route_answers_as_documented(env):
    ex, od, tm = env.names["ex"], env.names["od"], env.names["tm"]
    h = env.http

    h("GET", "/v1/status", "/v1/status", expect=200)
    _, c = h("GET", f"/v1/connectors/{od}", "/v1/connectors/{name}", expect=200)
    assert c["connector"]["name"] == od and len(c["connector"]["checks"]) == 4
    h("GET", "/v1/connectors/nope", "/v1/connectors/{name}", expect=404)
    _, hist = h("GET", f"/v1/connectors/{ex}/history?since=7d", "/v1/connectors/{name}/history", expect=200)
    assert {r["check"] for r in hist["results"]} >= {"credential", "secret_expiry"}
    assert any(t.get("to") == "warning" for t in hist["transitions"])
    h("GET", f"/v1/connectors/{ex}/history?since=yesterday", "/v1/connectors/{name}/history", expect=400)
    h("GET", "/v1/connectors/nope/history", "/v1/connectors/{name}/history", expect=404)
    _, alerts = h("GET", "/v1/alerts", "/v1/alerts", expect=200)
    assert {a["connector"] for a in alerts["alerts"]} >= {ex, tm}
    h("GET", "/v1/alerts?all=true&limit=5", "/v1/alerts", expect=200)
    h("GET", "/v1/alerts?all=maybe", "/v1/alerts", expect=400)
    _, deliveries = h("GET", "/v1/deliveries", "/v1/deliveries", expect=200)
    assert deliveries["deliveries"] and all(d["webhook"] == "soc" for d in deliveries["deliveries"])
    h("GET", "/v1/deliveries?status=pending,dead", "/v1/deliveries", expect=200)
    h("GET", "/v1/deliveries?status=lost", "/v1/deliveries", expect=400)
    h("GET", "/metrics", "/metrics", expect=200)
    _, status = h("GET", "/v1/status", "/v1/status", expect=200)
    [sink] = status["emails"]
    assert sink["name"] == "digest-only" and sink["digest"] == "weekly on Mon at 08:00" and sink["next_digest_at"]
    _, digest = h("POST", "/v1/emails/digest-only/digest", "/v1/emails/{name}/digest", expect=200)
    assert digest["verdict"] == "transient" and digest["failure"], digest
    assert digest["message_id"].startswith("digest.digest-only.manual."), digest
    h("POST", "/v1/emails/nope/digest", "/v1/emails/{name}/digest", expect=404)
    _, page = h("GET", "/v1/report?days=30", "/v1/report", expect=200)
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page.lower()
    _, text = h("GET", "/v1/report?format=text&since=1d", "/v1/report", expect=200)
    assert text.startswith("connwatch report") and "Changed since" in text
    for bad in ("days=0", "days=3651", "days=x", "format=pdf", "since=yesterday"):
        h("GET", f"/v1/report?{bad}", "/v1/report", expect=400)

    _, one = h("POST", f"/v1/connectors/{od}/check", "/v1/connectors/{name}/check", expect=200)
    before = c["connector"]["checked_at"]
    assert one["connector"]["checked_at"] >= before
    h("POST", "/v1/connectors/nope/check", "/v1/connectors/{name}/check", expect=404)
    _, some = h("POST", "/v1/check", "/v1/check", body={"connectors": [ex, tm]}, expect=200)
    assert [x["name"] for x in some["connectors"]] == [ex, tm]
    _, every = h("POST", "/v1/check", "/v1/check", expect=200)
    assert len(every["connectors"]) == 3
    _, missing = h("POST", "/v1/check", "/v1/check", body={"connectors": [ex, "nope"]}, expect=404)
    assert "nope" in missing["error"]
    h("POST", "/v1/check", "/v1/check", body=b"{not json", expect=400)

    _, done = h("POST", "/v1/reload", "/v1/reload", expect=200)
    assert done["connectors"] == 3
    good = env.config.read_text()
    env.config.write_text(good + "\n[bogus]\nx = 1\n")
    try:
        _, refused = h("POST", "/v1/reload", "/v1/reload", expect=422)
        assert refused["errors"] and "bogus" in json.dumps(refused["errors"])
        r = env.ctl("reload")
        assert r.returncode == 78 and "bogus" in r.stderr
    finally:
        env.config.write_text(good)
    h("POST", "/v1/reload", "/v1/reload", expect=200)

    _, s = h("POST", "/v1/silences", "/v1/silences", body={"connector": tm, "duration": "1h", "reason": "e2e"},
             expect=201)
    sid = s["silence"]["id"]
    assert s["silence"]["author"] == "root"
    h("POST", "/v1/silences", "/v1/silences", body={"connector": tm, "duration": "soon", "reason": "x"}, expect=400)
    h("POST", "/v1/silences", "/v1/silences", body={"connector": tm, "duration": "1h", "reason": " "}, expect=400)
    h("POST", "/v1/silences", "/v1/silences", body={"connector": "nope", "duration": "1h", "reason": "x"},
      expect=404)
    _, listed = h("GET", "/v1/alerts", "/v1/alerts", expect=200)
    assert sid in [x["id"] for x in listed["silences"]]
    h("DELETE", f"/v1/silences/{sid}", "/v1/silences/{id}", expect=200)
    h("DELETE", f"/v1/silences/{sid}", "/v1/silences/{id}", expect=404)
    h("DELETE", "/v1/silences/abc", "/v1/silences/{id}", expect=400)

    # A dead delivery (made so directly: the worker would take hours of retries) can be retried.
    # finished_at is now: a finished row older than the retention would be pruned by the next cycle.
    did = deliveries["deliveries"][-1]["id"]
    con = sqlite3.connect(env.db, timeout=10)
    with con:
        con.execute("UPDATE delivery SET status = 'dead', finished_at = ?, lease_until = NULL WHERE id = ?",
                    (int(time.time() * 1000), did))
    con.close()
    _, again = h("POST", f"/v1/deliveries/{did}/retry", "/v1/deliveries/{id}/retry", expect=200)
    assert again["id"] == did
    assert query(env.db, "SELECT status FROM delivery WHERE id = ?", did)[0][0] in ("pending", "delivering",
                                                                                    "delivered", "dead")
    h("POST", f"/v1/deliveries/{did}/retry", "/v1/deliveries/{id}/retry", expect=404)
    h("POST", "/v1/deliveries/999999/retry", "/v1/deliveries/{id}/retry", expect=404)

    # Unknown routes and methods: 404 with a JSON error.
    for method, target in (("GET", "/v1/nope"), ("GET", "/"), ("PUT", "/v1/status"), ("GET", "/v2/status")):
        status, raw = h(method, target)
        assert status == 404, (method, target, status)
        body = json.loads(raw)
        Draft202012Validator({"$ref": f"{DOC_URI}#/components/schemas/Error"}, registry=REGISTRY).validate(body)

    documented = {(p, m) for p, ops in DOC["paths"].items() for m in ops if m in METHODS}
    assert documented == env.covered, f"not exercised: {documented - env.covered}"

    # No secret in any reply: client secrets, and the webhook URL (its token).
    everything = "\n".join(env.replies)
    for s in env.secrets.values():
        assert s not in everything
    assert env.hook_token not in everything and "127.0.0.1:9" not in everything


def test_browsers_are_refused(env):
    for headers in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/page"}):
        status, _, raw = unix_request(env.socket, "GET", "/v1/status", headers=headers)
        assert status == 403 and "Origin or Referer" in json.loads(raw)["error"]
        status, _, raw = unix_request(env.socket, "POST", "/v1/reload", headers=headers)
        assert status == 403


def test_non_operator_may_read_but_not_change(env):
    a, od = env.accounts, env.names["od"]
    r = env.ctl("status", "--json", user=a.user)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["connectors"]) == 3

    for args in (("check", od), ("reload",), ("silence", od, "--for", "1h", "--reason", "x"), ("unsilence", "1"),
                 ("deliveries", "retry", "1"), ("email", "digest", "digest-only")):
        r = env.ctl(*args, user=a.user)
        assert r.returncode == 77, (args, r.returncode, r.stderr)
        assert "permission denied" in r.stderr and a.user in r.stderr and f"@{a.ops}" in r.stderr, r.stderr

    # An operator through a supplementary group (the group database, not the process's groups).
    r = env.ctl("check", od, "--json", user=a.operator)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["connector"]["name"] == od
    r = env.ctl("silence", od, "--for", "1m", "--reason", "operator test", "--json", user=a.operator)
    assert r.returncode == 0, r.stderr
    silence = json.loads(r.stdout)["silence"]
    assert silence["author"] == a.operator
    assert env.ctl("unsilence", str(silence["id"]), user=a.operator).returncode == 0

    # Outside the socket's group the socket does not even open.
    r = env.ctl("status", user=a.user, gid=65534)
    assert r.returncode == 77 and "connwatch group" in r.stderr, (r.returncode, r.stderr)


def test_silence_keeps_history_and_expires(env):
    od = env.names["od"]
    r = env.ctl("silence", od, "--for", "4s", "--reason", "maintenance window")
    assert r.returncode == 0, r.stderr
    env.apps["od"]["app_roles"][GRAPH].remove("Sites.ReadWrite.All")
    env.sim.put_scenario(env.scenario())
    r = env.ctl("check", od, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["connector"]["reason"] == "consent_missing"
    # History keeps the alert; no sink heard of it.
    rows = query(env.db, "SELECT suppressed FROM notification WHERE connector = ?", od)
    assert rows and all(s == 1 for (s,) in rows), rows
    assert query(env.db, "SELECT count(*) FROM delivery WHERE connector = ?", od)[0][0] == 0
    assert not journal(CONNWATCH_CONNECTOR=od)
    alerts = json.loads(env.ctl("alerts", "--json").stdout)
    assert any(x["connector"] == od and x["suppressed"] for x in alerts["alerts"])
    assert any(x["connector"] == od for x in alerts["silences"])
    table = env.ctl("alerts").stdout
    assert "[silenced]" in table and "maintenance window" in table

    time.sleep(4.5)  # the silence expires on its own
    alerts = json.loads(env.ctl("alerts", "--json").stdout)
    assert not any(x["connector"] == od for x in alerts["silences"])
    assert env.ctl("check", od).returncode == 0
    loud = query(env.db, "SELECT cause FROM notification WHERE connector = ? AND suppressed = 0", od)
    assert loud, "the still-firing alert is told once the silence ends"
    if os.path.exists("/run/systemd/journal/socket"):
        wait_journal(20, CONNWATCH_CONNECTOR=od)
    assert query(env.db, "SELECT count(*) FROM delivery WHERE connector = ?", od)[0][0] >= 1
    env.apps["od"]["app_roles"][GRAPH].append("Sites.ReadWrite.All")
    env.sim.put_scenario(env.scenario())


def raw_exchange(path, data, timeout=15):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(data)
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        out += chunk
    s.close()
    return out


def test_bad_clients_are_contained(env):
    assert raw_exchange(env.socket, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
    huge = b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    assert raw_exchange(env.socket, huge).startswith(b"HTTP/1.1 400")
    big = b"x" * 100_000
    reply = raw_exchange(env.socket, b"POST /v1/silences HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(big) + big)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]

    # 200 clients at once, each on its own connection.
    results, barrier = [], threading.Barrier(200)

    def client():
        barrier.wait()
        reply = raw_exchange(env.socket, b"GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 60)
        head, _, body = reply.partition(b"\r\n\r\n")
        results.append(head.startswith(b"HTTP/1.1 200") and json.loads(body)["schema_version"] == 1)

    started = time.time()
    threads = [threading.Thread(target=client) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert results.count(True) == 200, (len(results), results.count(True))
    assert time.time() - started < 30

    # Slowloris: half a request, then nothing; and a client that sends nothing at all.
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.connect(env.socket)
    slow.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    idle.connect(env.socket)
    opened = time.time()
    for _ in range(10):
        t0 = time.time()
        status, _, _ = unix_request(env.socket, "GET", "/v1/status")
        assert status == 200 and time.time() - t0 < 2
    t0 = time.time()
    r = env.ctl("check", env.names["ex"])  # the scheduler is not stalled either
    assert r.returncode == 0 and time.time() - t0 < 20
    # Both are closed by the server after the 10 s idle timeout (a timeout here fails the test).
    left = read_until_closed(slow)
    closed_after = time.time() - opened
    assert left == b"" or left.startswith(b"HTTP/1.1 4"), left[:100]
    assert 7 < closed_after < 20, closed_after
    assert read_until_closed(idle) == b""
    assert time.time() - opened < 20
    slow.close()
    idle.close()


def read_until_closed(s, timeout=30):
    s.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = s.recv(1024)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def vm_kib(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def patient_exchange(path, data, timeout):
    """raw_exchange, retrying the connect while the listen backlog is full for a moment (a
    non-blocking AF_UNIX connect says EAGAIN then; 280 clients connect at once here)."""
    deadline = time.monotonic() + 5
    while True:
        try:
            return raw_exchange(path, data, timeout)
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_abuse_all_at_once_keeps_memory_bounded(env):
    """Issue 19: the socket under every abuse at once — 200 concurrent clients, slow clients,
    malformed and oversized requests, in three rounds — serves every legitimate client, and
    connwatchd's resident memory stays bounded and flat from round to round (VmRSS from
    /proc, printed)."""
    pid = env.daemon.proc.pid
    status_req = b"GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    big = b"x" * 100_000
    oversized = (b"POST /v1/silences HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(big) + big)
    huge_header = b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"

    def round_of_abuse():
        ok, failures, slow = [], [], []
        for _ in range(20):   # slow clients: half a request, then silence (held through the round)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(env.socket)
            s.sendall(b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n{")
            slow.append(s)
        barrier = threading.Barrier(260)

        def legit():
            barrier.wait()
            t0 = time.monotonic()
            try:
                reply = patient_exchange(env.socket, status_req, 60)
                head, _, body = reply.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200") and json.loads(body)["schema_version"] == 1, head[:80]
                ok.append(time.monotonic() - t0)
            except Exception as e:  # noqa: BLE001 - collected, asserted below
                failures.append(repr(e))

        def abusive(data, expect):
            barrier.wait()
            try:
                reply = patient_exchange(env.socket, data, 30)
                if not reply.startswith(expect):
                    failures.append(f"{data[:20]!r} answered {reply[:40]!r}")
            except Exception as e:  # noqa: BLE001
                failures.append(repr(e))

        threads = [threading.Thread(target=legit) for _ in range(200)]
        threads += [threading.Thread(target=abusive, args=(b"GARBAGE \x00\xff\r\n\r\n", b"HTTP/1.1 400"))
                    for _ in range(20)]
        threads += [threading.Thread(target=abusive, args=(oversized, b"HTTP/1.1 413")) for _ in range(20)]
        threads += [threading.Thread(target=abusive, args=(huge_header, b"HTTP/1.1 4")) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        # While the slow clients still hold their connections, root is served at once.
        t0 = time.monotonic()
        status, _, _ = unix_request(env.socket, "GET", "/v1/status")
        assert status == 200 and time.monotonic() - t0 < 2
        for s in slow:
            s.close()
        assert not failures, failures[:5]
        assert len(ok) == 200, len(ok)
        return max(ok)

    rss = {"start": vm_kib(pid, "VmRSS")}
    slowest = [round_of_abuse()]                      # warm-up: lazily grown pools settle
    rss["warm"] = vm_kib(pid, "VmRSS")
    for i in (1, 2, 3):
        slowest.append(round_of_abuse())
        rss[f"round {i}"] = vm_kib(pid, "VmRSS")
    # VmHWM is the kernel's high-water mark (its counters sync lazily: never below what we read).
    rss["peak"] = max(vm_kib(pid, "VmHWM"), *rss.values())
    print("connwatchd VmRSS MiB:", {k: round(v / 1024, 1) for k, v in rss.items()},
          "slowest legitimate reply (s) per round:", [round(s, 2) for s in slowest])
    assert env.daemon.alive()
    assert max(slowest) < 30, slowest
    # Bounded: through 1,120 abusive and concurrent connections the peak stays within 24 MiB of
    # the start (about 6 MiB measured, RELIABILITY.md); flat: the three rounds after the warm-up
    # add less than 8 MiB between them (a leak of 10 KiB per connection would add 8 MiB).
    assert rss["peak"] - rss["start"] < 24 * 1024, rss
    assert rss["round 3"] - rss["warm"] < 8 * 1024, rss


def test_socket_is_claimed_safely(env):
    # A second daemon on the same configuration refuses to start (75) before it touches the
    # database, and the first keeps serving.
    events = query(env.db, "SELECT count(*) FROM daemon_event")[0][0]
    second = Daemon(env.tmp, env.config, env.creds, env.notify, name="second")
    assert second.wait(60) == 75
    log = (env.tmp / "second.log").read_text()
    assert "another connwatchd is serving the control socket" in log, log
    assert query(env.db, "SELECT count(*) FROM daemon_event")[0][0] == events, "the second daemon wrote history"
    assert env.ctl("status").returncode == 0

    # kill -9 leaves a stale socket file: the next daemon replaces it.
    env.daemon.signal(signal.SIGKILL)
    env.daemon.wait(10)
    assert os.path.exists(env.socket)
    r = env.ctl("status")
    assert r.returncode == 69 and "Is connwatchd running" in r.stderr
    mark = env.notify.count()
    env.daemon = Daemon(env.tmp, env.config, env.creds, env.notify)
    env.notify.wait_for(lambda m: "READY=1" in m, start=mark, timeout=60)
    assert env.ctl("status").returncode == 0
    # SIGTERM removes it.
    env.daemon.signal(signal.SIGTERM)
    assert env.daemon.wait(30) == 0
    assert not os.path.exists(env.socket)

