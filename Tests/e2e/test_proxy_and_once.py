"""connwatchd --once through an HTTP CONNECT proxy (configured, and from HTTPS_PROXY), with
the JSON report and the exit code by the worst status."""
import base64
import json
import select
import socket
import subprocess
import threading

from harness import BIN, Simulator, iso, new_secret, permissions, query

TENANT = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"


class ConnectProxy:
    """A minimal HTTP CONNECT proxy that counts the tunnels it opens."""

    def __init__(self, require=None):
        # require: the Proxy-Authorization value a tunnel needs (else 407), as a Basic proxy would.
        self.require = require
        self.authorizations = []
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.tunnels = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode()
        method, target, _ = line.split(" ", 2)
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            client.close()
            return
        host, port = target.rsplit(":", 1)
        auth = next((l.split(b":", 1)[1].strip().decode() for l in head.split(b"\r\n")[1:]
                     if l.lower().startswith(b"proxy-authorization:")), None)
        self.authorizations.append(auth)
        if self.require is not None and auth != self.require:
            client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            client.close()
            return
        self.tunnels.append(target)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        socks = [client, upstream]
        try:
            while True:
                readable, _, _ = select.select(socks, [], [], 30)
                if not readable:
                    break
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is client else client).sendall(data)
        finally:
            client.close()
            upstream.close()

    def close(self):
        self.server.close()


def scenario(secret):
    return {"tenants": [{
        "id": TENANT, "domains": ["contoso.onmicrosoft.com"], "display_name": "Contoso", "subscriptions": [],
        "apps": [{"app_id": "e0000000-0000-4000-8000-000000000001", "display_name": "ex",
                  "secrets": [{"value": secret, "start": iso(-1), "end": iso(100)}],
                  "app_roles": permissions("exchange")}],
    }]}


def config(tmp, base, ca, proxy_line):
    p = tmp / "connwatch.toml"
    p.write_text(f'''
[daemon]
database = "{tmp}/db.sqlite"
ca_file = "{ca}"
{proxy_line}

[cloud]
login_endpoint = "{base}/login"
graph_endpoint = "{base}/graph"
management_endpoint = "{base}/arm"
office_management_endpoint = "{base}/office"

[[connector]]
name = "ex"
kind = "exchange"
tenant_id = "{TENANT}"
client_id = "e0000000-0000-4000-8000-000000000001"
client_secret_credential = "ex"
''')
    return p


def test_once_through_a_proxy(tmp_path):
    secret = new_secret()
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "ex").write_text(secret)
    (creds / "ex").chmod(0o600)
    sim = Simulator(tmp_path, scenario(secret))
    proxy = ConnectProxy()
    try:
        # Configured proxy.
        cfg = config(tmp_path, sim.base, sim.ca, f'proxy = "http://127.0.0.1:{proxy.port}"')
        r = subprocess.run([BIN / "connwatchd", "--once", "--json", "--config", cfg, "--credentials-dir", creds],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        report = json.loads(r.stdout)
        assert report["schema_version"] == 1
        assert [c["status"] for c in report["connectors"]] == ["ok"]
        assert {c["check"] for c in report["connectors"][0]["checks"]} == {"credential", "secret_expiry", "consent", "probe"}
        assert proxy.tunnels and all(t.startswith("127.0.0.1:") for t in proxy.tunnels)
        assert secret not in r.stdout + r.stderr

        # HTTPS_PROXY from the environment when the config names none.
        before = len(proxy.tunnels)
        cfg = config(tmp_path, sim.base, sim.ca, "")
        env = {"HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}", "PATH": "/usr/bin:/bin"}
        r = subprocess.run([BIN / "connwatchd", "--once", "--config", cfg, "--credentials-dir", creds],
                           capture_output=True, text=True, timeout=120, env=env)
        assert r.returncode == 0, r.stderr
        assert "ex" in r.stdout and "ok" in r.stdout
        assert len(proxy.tunnels) > before

        # A wrong secret: critical, exit 2.
        (creds / "ex").write_text(new_secret())
        r = subprocess.run([BIN / "connwatchd", "--once", "--json", "--config", cfg, "--credentials-dir", creds],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 2, r.stderr
        assert json.loads(r.stdout)["connectors"][0]["reason"] == "secret_invalid"
    finally:
        proxy.close()
        sim.stop()


def test_once_shuts_down_before_a_reader_closes_the_pipe(tmp_path):
    """`connwatchd --once | head -1` over enough connectors that the table outgrows the pipe:
    the reader goes away after one line; the run still ends as it should — every result
    recorded, its stop recorded, the exit code its worst status (SIGPIPE ignored)."""
    secret = new_secret()
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "ex").write_text(secret)
    (creds / "ex").chmod(0o600)
    n = 900  # ~100 bytes a row: well over a 64 KiB pipe and stdio's buffer
    apps = [{"app_id": f"e0000000-0000-4000-8000-{i:012d}", "display_name": f"ex{i}",
             "secrets": [{"value": secret, "start": iso(-1), "end": iso(100)}],
             "app_roles": permissions("exchange")} for i in range(n)]
    sim = Simulator(tmp_path, {"tenants": [{
        "id": TENANT, "domains": ["contoso.onmicrosoft.com"], "display_name": "Contoso", "subscriptions": [],
        "apps": apps}]})
    try:
        cfg = config(tmp_path, sim.base, sim.ca, "concurrency = 32")
        text = cfg.read_text()
        head, one = text.split("[[connector]]")
        cfg.write_text(head + "".join(
            "[[connector]]" + one.replace('name = "ex"', f'name = "ex{i:04d}-with-a-longer-name"')
            .replace("e0000000-0000-4000-8000-000000000001", f"e0000000-0000-4000-8000-{i:012d}")
            for i in range(n)))
        p = subprocess.Popen([BIN / "connwatchd", "--once", "--config", cfg, "--credentials-dir", creds],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = p.stdout.readline()
        p.stdout.close()  # what `head -1` does
        err = p.stderr.read()
        p.wait(timeout=300)
        assert first.split()[:3] == [b"NAME", b"KIND", b"STATUS"]
        assert p.returncode == 0, err  # the worst status (all ok), not killed by SIGPIPE
        assert query(tmp_path / "db.sqlite", "SELECT count(*) FROM latest_result")[0][0] >= n
        assert query(tmp_path / "db.sqlite", "SELECT kind FROM daemon_event ORDER BY id DESC LIMIT 1")[0][0] == "stop"
        assert secret.encode() not in err
    finally:
        sim.stop()


def test_proxy_credentials_come_from_a_credential(tmp_path):
    """A proxy that wants Basic authentication: user:password from proxy_credential reaches it
    on every CONNECT, and appears nowhere else (output, database). Credentials in the proxy
    URL itself are refused at load, without quoting them."""
    secret = new_secret()
    password = "pw-" + new_secret()[:16].replace("~", "x")
    creds = tmp_path / "credentials"
    creds.mkdir()
    for name, value in (("ex", secret), ("proxy-login", f"alice:{password}")):
        (creds / name).write_text(value)
        (creds / name).chmod(0o600)
    sim = Simulator(tmp_path, scenario(secret))
    expected = "Basic " + base64.b64encode(f"alice:{password}".encode()).decode()
    proxy = ConnectProxy(require=expected)
    try:
        # Without the credential the proxy refuses the tunnel: no verdict, unknown, transient.
        cfg = config(tmp_path, sim.base, sim.ca, f'proxy = "http://127.0.0.1:{proxy.port}"')
        r = subprocess.run([BIN / "connwatchd", "--once", "--json", "--config", cfg, "--credentials-dir", creds],
                           capture_output=True, text=True, timeout=120)
        assert not proxy.tunnels and proxy.authorizations and proxy.authorizations[0] is None
        assert json.loads(r.stdout)["connectors"][0]["status"] != "ok"

        cfg = config(tmp_path, sim.base, sim.ca,
                     f'proxy = "http://127.0.0.1:{proxy.port}"\nproxy_credential = "proxy-login"')
        r = subprocess.run([BIN / "connwatchd", "--once", "--json", "--config", cfg, "--credentials-dir", creds],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["connectors"][0]["status"] == "ok"
        assert proxy.tunnels and proxy.authorizations[-1] == expected
        dump = "\n".join(__import__("sqlite3").connect(tmp_path / "db.sqlite").iterdump())
        for text in (r.stdout, r.stderr, dump):
            assert password not in text

        cfg = config(tmp_path, sim.base, sim.ca, f'proxy = "http://alice:{password}@127.0.0.1:{proxy.port}"')
        r = subprocess.run([BIN / "connwatchd", "--check-config", "--config", cfg, "--credentials-dir", creds],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 78 and "credentials in the proxy URL are refused" in r.stderr
        assert password not in r.stdout + r.stderr
    finally:
        proxy.close()
        sim.stop()
