"""Webhook delivery end to end: the real connwatchd against the simulator, sending to a real
loopback HTTP(S) receiver that verifies every signature with the independent `standardwebhooks`
library and validates every standard body against docs/webhook-payload.schema.json.

The backoff schedule is shortened with CONNWATCH_WEBHOOK_BACKOFF_SCALE (the production
schedule stays the default); Retry-After is honoured literally, not scaled."""
import base64
import datetime as dt
import http.server
import ipaddress
import json
import os
import secrets
import signal
import socket
import ssl
import threading
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jsonschema import Draft202012Validator
from standardwebhooks.webhooks import Webhook

from harness import (BIN, GRAPH, REPO, Daemon, NotifySocket, Simulator, iso, journal, new_secret, permissions,
                     query, wait_journal)

TENANT = "7c2e9d41-3b6a-4f0e-8d15-2a9f6c3e1b70"
DELIVERY_DEAD = "23bb705388d140ababfba709718ed42e"
SCHEMA = json.loads((REPO / "docs" / "webhook-payload.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def whsec():
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def app_id(n):
    return f"e0000000-0000-4000-8000-{n:012d}"


class Receiver:
    """A loopback webhook consumer. `script[path]` is a list of (status, headers, delay) answers
    used in turn (then 200); every request is recorded with its arrival time."""

    def __init__(self, port=0, tls=None):
        self.requests = []
        self.script = {}
        self.lock = threading.Lock()
        self.hang = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with outer.lock:
                    outer.requests.append({"path": self.path.split("?")[0], "query": self.path.partition("?")[2],
                                           "headers": {k.lower(): v for k, v in self.headers.items()},
                                           "body": body, "at": time.time()})
                    answers = outer.script.get(self.path.split("?")[0], [])
                    status, headers, delay = answers.pop(0) if answers else (200, {}, 0)
                if outer.hang.is_set():
                    time.sleep(30)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def at(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def make_tls(tmp):
    """A throwaway CA and a server certificate for 127.0.0.1, generated now (never committed)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "connwatch webhook test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (tmp / "hook-ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp / "hook-cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile = tmp / "hook-key.pem"
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    keyfile.chmod(0o600)
    return tmp / "hook-cert.pem", keyfile, tmp / "hook-ca.pem"


class World:
    """Connectors in the simulator, their credentials, and a config with the given webhooks."""

    def __init__(self, tmp, kinds):
        self.tmp = Path(tmp)
        self.run = secrets.token_hex(3)
        self.creds = self.tmp / "credentials"
        self.creds.mkdir()
        self.connectors = {}
        self.apps = {}
        self.secret_values = []
        for i, (key, kind, end, drop) in enumerate(kinds, 1):
            name = f"{key}-{self.run}"
            value = new_secret()
            self.secret_values.append(value)
            self.write_secret(name, value)
            roles = permissions(kind)
            if drop:
                roles[GRAPH] = [r for r in roles[GRAPH] if r != drop]
            self.connectors[key] = (name, kind, app_id(i))
            self.apps[key] = {"app_id": app_id(i), "display_name": f"Zscaler {key}",
                              "secrets": [{"display_name": "zscaler", "value": value, "start": iso(-30),
                                           "end": end or iso(300)}],
                              "app_roles": roles}
        self.db = self.tmp / "connwatch.sqlite"
        self.config = self.tmp / "connwatch.toml"

    def write_secret(self, name, value):
        p = self.creds / name
        p.write_text(value + "\n")
        p.chmod(0o600)

    def scenario(self):
        return {"tenants": [{"id": TENANT, "domains": ["fabrikam.onmicrosoft.com"], "display_name": "Fabrikam",
                             "subscriptions": [], "missing_resources": [], "apps": list(self.apps.values())}]}

    def write_config(self, sim, ca_file, hooks):
        body = f'''
[daemon]
check_interval = "1h"
concurrency = 4
database = "{self.db}"
socket = "{self.tmp / 'connwatch.sock'}"
ca_file = "{ca_file}"

[cloud]
login_endpoint = "{sim.base}/login"
graph_endpoint = "{sim.base}/graph"
management_endpoint = "{sim.base}/arm"
office_management_endpoint = "{sim.base}/office"
'''
        for h in hooks:
            body += "\n[[webhook]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in h.items())
        for name, kind, client in self.connectors.values():
            body += f'''
[[connector]]
name = "{name}"
kind = "{kind}"
tenant_id = "{TENANT}"
client_id = "{client}"
client_secret_credential = "{name}"
'''
        self.config.write_text(body)

    def ctl(self, *args):
        import subprocess
        return subprocess.run([str(BIN / "connwatchctl"), "--socket", str(self.tmp / "connwatch.sock"), *args],
                              capture_output=True, text=True, timeout=120)


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def deliveries(db, webhook=None):
    sql = "SELECT d.id, d.webhook, d.status, d.attempts, d.notification_id, d.connector, d.last_error FROM delivery d"
    rows = query(db, sql + (" WHERE d.webhook = ?" if webhook else "") + " ORDER BY d.id",
                 *([webhook] if webhook else []))
    return [dict(zip(("id", "webhook", "status", "attempts", "nid", "connector", "error"), r)) for r in rows]


def ca_bundle(tmp, *files):
    bundle = tmp / "ca-bundle.pem"
    bundle.write_text("".join(Path(f).read_text() for f in files))
    return bundle


def test_webhook_behaviours(tmp_path):
    """Success with rotation signatures, 500 then success, 429 + Retry-After, 410, timeout,
    connection refused until dead (journaled), 3xx not followed, TLS with a test CA, slack and
    teams formats, and no secret anywhere it should not be."""
    w = World(tmp_path, [("ex", "exchange", iso(10), None)])
    sim = Simulator(tmp_path, w.scenario())
    cert, key, hook_ca = make_tls(tmp_path)
    rx = Receiver()
    rxs = Receiver(tls=(cert, key))
    notify = NotifySocket(tmp_path / "notify.sock")
    k1, k2, url_token = whsec(), whsec(), secrets.token_urlsafe(16)
    w.write_secret("k1", k1)
    w.write_secret("k2", k2)
    w.write_secret("slack-url", f"http://127.0.0.1:{rx.port}/slack?token={url_token}")
    refused = free_port()
    base = f"http://127.0.0.1:{rx.port}"
    w.write_secret("teams-url", base + "/teams")
    rx.script["/flaky"] = [(500, {}, 0)]
    rx.script["/throttle"] = [(429, {"Retry-After": "3"}, 0)]
    rx.script["/gone"] = [(410, {}, 0)]
    rx.script["/slow"] = [(200, {}, 4)]
    rx.script["/redirect"] = [(302, {"Location": base + "/redirect-target"}, 0)] * 20
    run = w.run
    hooks = [  # the slow one first: were deliveries sent one after another, it would hold up the rest
        {"name": f"slow-{run}", "url": base + "/slow", "timeout": "2s"},
        {"name": f"ok-{run}", "url": base + "/ok", "secret_credential": ["k1", "k2"]},
        {"name": f"flaky-{run}", "url": base + "/flaky", "secret_credential": "k1"},
        {"name": f"throttle-{run}", "url": base + "/throttle"},
        {"name": f"gone-{run}", "url": base + "/gone"},
        {"name": f"refused-{run}", "url": f"http://127.0.0.1:{refused}/x"},
        {"name": f"redirect-{run}", "url": base + "/redirect"},
        {"name": f"tls-{run}", "url": f"https://127.0.0.1:{rxs.port}/tls", "secret_credential": "k2"},
        {"name": f"slack-{run}", "url_credential": "slack-url", "format": "slack"},
        {"name": f"teams-{run}", "url_credential": "teams-url", "format": "teams"},
    ]
    w.write_config(sim, ca_bundle(tmp_path, sim.ca, hook_ca), hooks)
    daemon = Daemon(tmp_path, w.config, w.creds, notify,
                    extra_env={"CONNWATCH_WEBHOOK_BACKOFF_SCALE": "0.00005"})
    ex = w.connectors["ex"][0]
    try:
        notify.wait_for(lambda m: "READY=1" in m, timeout=90)
        # The expiring secret fires once; each webhook gets one delivery of it.
        wait_for(lambda: rx.at("/ok"), 60, "the firing alert at /ok")
        firing = [r for r in rx.at("/ok")]
        nid = firing[0]["headers"]["webhook-id"]
        for r in firing:
            # Both rotation keys sign; the independent verifier accepts each on its own.
            assert len(r["headers"]["webhook-signature"].split(" ")) == 2
            for k in (k1, k2):
                Webhook(k).verify(r["body"], r["headers"])
            body = json.loads(r["body"])
            VALIDATOR.validate(body)
            assert r["headers"]["content-type"] == "application/json"
        assert body["type"] == "connector.secret.expiring" and body["data"]["connector"]["name"] == ex
        assert body["data"]["state"] == "firing" and body["data"]["days_left"] in (9, 10)

        # 500, then success: the same webhook-id, a fresh timestamp, both signed.
        flaky = wait_for(lambda: len(rx.at("/flaky")) >= 2 and rx.at("/flaky"), 30, "the retry after 500")
        assert {r["headers"]["webhook-id"] for r in flaky} == {nid}
        assert int(flaky[1]["headers"]["webhook-timestamp"]) >= int(flaky[0]["headers"]["webhook-timestamp"])
        for r in flaky:
            Webhook(k1).verify(r["body"], r["headers"])

        # 429 with Retry-After: 3 → the next attempt waits 3 s although the scaled schedule says ~1 ms.
        throttle = wait_for(lambda: len(rx.at("/throttle")) >= 2 and rx.at("/throttle"), 30, "the retry after 429")
        gap = throttle[1]["at"] - throttle[0]["at"]
        assert gap >= 2.9, f"Retry-After ignored: retried after {gap:.2f}s"

        # A slow endpoint times out (2 s) and is retried; it does not hold up the others.
        slow = wait_for(lambda: len(rx.at("/slow")) >= 2 and rx.at("/slow"), 40, "the retry after a timeout")
        assert {r["headers"]["webhook-id"] for r in slow} == {nid}
        assert firing[0]["at"] < slow[0]["at"] + 1.5, "a slow webhook held up another one"
        print("\none signed delivery as the receiver saw it:\n" + "\n".join(
            f"{k}: {v}" for k, v in firing[0]["headers"].items()) + "\n\n" + firing[0]["body"].decode())

        # TLS with the test CA from ca_file; slack and teams payloads.
        tls = wait_for(lambda: rxs.at("/tls"), 30, "the TLS delivery")
        Webhook(k2).verify(tls[0]["body"], tls[0]["headers"])
        slack = wait_for(lambda: rx.at("/slack"), 30, "the slack delivery")[0]
        assert slack["query"] == f"token={url_token}"
        sbody = json.loads(slack["body"])
        assert isinstance(sbody["text"], str) and ex in sbody["text"] and isinstance(sbody["blocks"], list)
        teams = json.loads(wait_for(lambda: rx.at("/teams"), 30, "the teams delivery")[0]["body"])
        assert teams["type"] == "message"
        assert teams["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert teams["attachments"][0]["content"]["type"] == "AdaptiveCard"

        # Connection refused: eight attempts, then dead, and the journal says so with its own MESSAGE_ID.
        # (A refused connect costs up to 3 s: the HTTP client retries it until its connect timeout.)
        dead = wait_for(lambda: [d for d in deliveries(w.db, f"refused-{run}") if d["status"] == "dead"], 90,
                        "the refused delivery to die")
        assert dead[0]["attempts"] == 8 and "connection refused" in dead[0]["error"], dead
        attempts = query(w.db, "SELECT error, http_status, outcome FROM delivery_attempt WHERE delivery_id = ?",
                         dead[0]["id"])
        assert len(attempts) == 8 and all(a[1] is None for a in attempts)
        if os.path.exists("/run/systemd/journal/socket"):
            entry = wait_journal(20, MESSAGE_ID=DELIVERY_DEAD, CONNWATCH_WEBHOOK=f"refused-{run}")[0]
            assert entry["CONNWATCH_DELIVERY_ID"] == str(dead[0]["id"]) and entry["CONNWATCH_CONNECTOR"] == ex

        # 3xx is a failure: never followed.
        wait_for(lambda: [d for d in deliveries(w.db, f"redirect-{run}") if d["status"] == "dead"], 60,
                 "the redirected delivery to die")
        assert not rx.at("/redirect-target")
        assert "HTTP 302" in deliveries(w.db, f"redirect-{run}")[0]["error"]

        # 410: the delivery stops after one attempt and the webhook is marked gone.
        gone = wait_for(lambda: [d for d in deliveries(w.db, f"gone-{run}") if d["status"] == "gone"], 30, "410")
        assert gone[0]["attempts"] == 1 and len(rx.at("/gone")) == 1
        assert query(w.db, "SELECT count(*) FROM webhook_gone WHERE name = ?", f"gone-{run}")[0][0] == 1

        # The secret is renewed: the resolution follows its firing everywhere, in order, same alert.
        w.apps["ex"]["secrets"][0]["end"] = iso(300)
        sim.put_scenario(w.scenario())
        r = w.ctl("check", ex, "--json")
        assert r.returncode == 0, r.stderr
        ok = wait_for(lambda: len({x["headers"]["webhook-id"] for x in rx.at("/ok")}) >= 2 and rx.at("/ok"), 30,
                      "the resolution at /ok")
        bodies = [json.loads(x["body"]) for x in ok]
        assert [b["data"]["state"] for b in bodies][:1] == ["firing"] and bodies[-1]["data"]["state"] == "resolved"
        assert bodies[0]["data"]["alert_id"] == bodies[-1]["data"]["alert_id"]
        for b in bodies:
            VALIDATOR.validate(b)
        # The gone webhook gets nothing more: its new delivery is created gone.
        time.sleep(1)
        assert len(rx.at("/gone")) == 1
        assert all(d["status"] == "gone" for d in deliveries(w.db, f"gone-{run}"))

        # An operator resends the gone delivery once the endpoint works again: same webhook-id.
        r = w.ctl("deliveries", "retry", str(gone[0]["id"]))
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: [d for d in deliveries(w.db, f"gone-{run}") if d["id"] == gone[0]["id"]
                          and d["status"] == "delivered"], 30, "the retried delivery")
        assert [x["headers"]["webhook-id"] for x in rx.at("/gone")] == [nid, nid]
        assert query(w.db, "SELECT count(*) FROM webhook_gone WHERE name = ?", f"gone-{run}")[0][0] == 0

        # /metrics counts the attempts by webhook and outcome.
        import subprocess
        metrics = subprocess.run(["curl", "-sS", "--unix-socket", str(tmp_path / "connwatch.sock"),
                                  "http://localhost/metrics"], capture_output=True, text=True, timeout=30).stdout
        assert f'connwatch_webhook_attempts_total{{webhook="refused-{run}",sink_kind="webhook",outcome="dead"}} 1' in metrics, metrics
        assert f'connwatch_webhook_attempts_total{{webhook="gone-{run}",sink_kind="webhook",outcome="gone"}} 1' in metrics
        assert f'connwatch_webhook_attempts_total{{webhook="gone-{run}",sink_kind="webhook",outcome="delivered"}} 1' in metrics
        assert f'connwatch_webhook_attempts_total{{webhook="flaky-{run}",sink_kind="webhook",outcome="retry"}} 1' in metrics

        # The listing shows webhook names and errors, never a URL or its token.
        listing = w.ctl("deliveries", "--json")
        assert listing.returncode == 0, listing.stderr
        secrets_ = [url_token, k1, k2, k1[6:], k2[6:]] + w.secret_values
        sinks = {"deliveries": listing.stdout + w.ctl("deliveries").stdout,
                 "database": b"".join(p.read_bytes() for p in tmp_path.glob("connwatch.sqlite*")).decode("latin-1"),
                 "daemon log": (tmp_path / "connwatchd.log").read_text(errors="replace"),
                 "journal": json.dumps(journal(_PID=str(daemon.proc.pid)))}
        for where, text in sinks.items():
            for s in secrets_:
                assert s not in text, f"a secret leaked into the {where}"
    finally:
        daemon.signal(signal.SIGTERM)
        try:
            daemon.wait(30)
        except Exception:
            daemon.signal(signal.SIGKILL)
        notify.close()
        sim.stop()
        rx.stop()
        rxs.stop()


def test_durable_delivery_across_kill_and_receiver_outage(tmp_path):
    """Receiver down while alerts fire, the daemon kill -9ed mid-send and restarted, the
    receiver back: every alert arrives, each webhook-id exactly once after dedup, in order per
    connector."""
    w = World(tmp_path, [("ex1", "exchange", iso(10), None), ("ex2", "exchange", iso(5), None),
                         ("tm", "teams", None, "Chat.UpdatePolicyViolation.All"), ("od", "onedrive", None, None)])
    sim = Simulator(tmp_path, w.scenario())
    notify = NotifySocket(tmp_path / "notify.sock")
    key = whsec()
    w.write_secret("k", key)
    port = free_port()
    hook = f"durable-{w.run}"
    w.write_config(sim, sim.ca, [{"name": hook, "url": f"http://127.0.0.1:{port}/d", "secret_credential": "k"}])
    env = {"CONNWATCH_WEBHOOK_BACKOFF_SCALE": "0.001"}  # 5 ms, 0.3 s, 1.8 s, 7.2 s, 18 s, …
    daemon = Daemon(tmp_path, w.config, w.creds, notify, extra_env=env)
    rx = None
    od = w.connectors["od"][0]
    try:
        notify.wait_for(lambda m: "READY=1" in m, timeout=90)
        # Three alerts fire while nothing listens: attempts fail with "connection refused".
        wait_for(lambda: len(deliveries(w.db)) >= 3 and all(d["attempts"] >= 1 for d in deliveries(w.db)), 60,
                 "three failed first attempts")
        assert all(d["status"] in ("pending", "delivering") for d in deliveries(w.db)), deliveries(w.db)
        # OneDrive loses consent and gets it back: a firing and its resolution, queued in order.
        roles = w.apps["od"]["app_roles"][GRAPH]
        w.apps["od"]["app_roles"][GRAPH] = [r for r in roles if r != "Sites.ReadWrite.All"]
        sim.put_scenario(w.scenario())
        r = w.ctl("check", od, "--json")
        assert json.loads(r.stdout)["connector"]["reason"] == "consent_missing", r.stdout + r.stderr
        w.apps["od"]["app_roles"][GRAPH] = roles
        sim.put_scenario(w.scenario())
        r = w.ctl("check", od, "--json")
        assert json.loads(r.stdout)["connector"]["status"] == "ok", r.stdout + r.stderr
        wait_for(lambda: len(deliveries(w.db)) >= 5, 30, "five deliveries")

        # The receiver comes up but hangs: deliveries are in flight when the daemon is killed.
        rx = Receiver(port=port)
        rx.hang.set()
        wait_for(lambda: rx.at("/d") and any(d["status"] == "delivering" for d in deliveries(w.db)), 60,
                 "a delivery in flight, its request already at the receiver")
        hung = {r["headers"]["webhook-id"] for r in rx.at("/d")}
        daemon.signal(signal.SIGKILL)
        daemon.wait(10)
        in_flight = [d for d in deliveries(w.db) if d["status"] == "delivering"]
        assert in_flight, "kill -9 should leave a delivery mid-send"
        rx.hang.clear()

        notify2 = NotifySocket(tmp_path / "notify2.sock")
        daemon = Daemon(tmp_path, w.config, w.creds, notify2, extra_env=env, name="connwatchd-2")
        notify2.wait_for(lambda m: "READY=1" in m, timeout=90)
        final = wait_for(lambda: (lambda ds: ds if all(d["status"] == "delivered" for d in ds) else None)(
            deliveries(w.db)), 90, "every delivery delivered")

        expected = [d["nid"] for d in final]
        received = [r["headers"]["webhook-id"] for r in rx.at("/d")]
        for r in rx.at("/d"):
            Webhook(key).verify(r["body"], r["headers"])
            VALIDATOR.validate(json.loads(r["body"]))
        unique = list(dict.fromkeys(received))
        assert sorted(unique) == sorted(expected), "every alert arrives, none invented"
        # Per connector, first arrivals follow the order the notifications were made in.
        by_connector = {}
        for d in final:
            by_connector.setdefault(d["connector"], []).append(d["nid"])
        for connector, nids in by_connector.items():
            assert [n for n in unique if n in nids] == nids, f"order broken for {connector}"
        # The request that hung when the daemon died arrived again after the restart, same id.
        assert hung <= set(unique) and len(received) > len(unique)
        od_states = [json.loads(r["body"])["data"]["state"] for r in rx.at("/d")
                     if json.loads(r["body"])["data"]["connector"]["name"] == od]
        assert od_states[0] == "firing" and od_states[-1] == "resolved"
        print(f"\ndurability: {len(expected)} deliveries, {len(received)} requests received, "
              f"{len(unique)} unique webhook-ids, {len(received) - len(unique)} duplicates dropped by the consumer")
    finally:
        if daemon.alive():
            daemon.signal(signal.SIGKILL)
            daemon.wait(10)
        notify.close()
        sim.stop()
        if rx:
            rx.stop()


def test_once_sends_what_is_due_before_exiting(tmp_path):
    """connwatchd --once (cron) delivers the alerts of its cycle before it exits; a second run
    with nothing new sends nothing again."""
    import subprocess
    w = World(tmp_path, [("ex", "exchange", iso(10), None)])
    sim = Simulator(tmp_path, w.scenario())
    rx = Receiver()
    key = whsec()
    w.write_secret("k", key)
    w.write_config(sim, sim.ca, [{"name": "cron", "url": f"http://127.0.0.1:{rx.port}/cron",
                                  "secret_credential": "k"}])
    try:
        cmd = [BIN / "connwatchd", "--once", "--config", w.config, "--credentials-dir", w.creds]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert r.returncode == 1, r.stdout + r.stderr  # warning: the secret expires in 10 days
        got = rx.at("/cron")
        assert len(got) == 1, "the alert is delivered before --once exits"
        Webhook(key).verify(got[0]["body"], got[0]["headers"])
        assert [d["status"] for d in deliveries(w.db)] == ["delivered"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert r.returncode == 1 and len(rx.at("/cron")) == 1
    finally:
        sim.stop()
        rx.stop()
