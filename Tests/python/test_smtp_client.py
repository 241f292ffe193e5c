"""The SMTP client against a real SMTP server: Python's aiosmtpd on loopback with STARTTLS (a
CA and a `localhost` certificate made here, trusted through `[daemon] ca_file`) and AUTH
required over TLS, driven by `connwatchctl email test NAME` — the real binary, the real
configuration loader, the real [[email]] sink. The message the server received is parsed
with Python's own `email` package."""

import datetime
import email
import email.policy
import json
import os
import socket
import ssl
import subprocess
import tempfile
import threading

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PASSWORD = "smtp-T3st-pa55word-xyz"
USER = "connwatch@example.com"


def _bin(name):
    path = os.path.join(os.environ.get("CONNWATCH_BIN_DIR", ".build/debug"), name)
    if not os.path.exists(path):
        pytest.fail(f"{path} not found: build first (swift build) or set CONNWATCH_BIN_DIR")
    return path


def _pki(directory, names):
    """A CA and a server certificate for `names` (DNS), both made now. Returns (ca.pem, cert.pem, key.pem)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = [os.path.join(directory, n) for n in ("ca.pem", "cert.pem", "key.pem")]
    with open(paths[0], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths[1], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths[2], "wb") as f:
        f.write(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    os.chmod(paths[2], 0o600)
    return paths


class Recorder:
    """aiosmtpd handler: refuses one recipient with 550, can answer DATA with 451, records everything."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []
        self.auth = []
        self.data_reply = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused@"):
            return "550 5.1.1 <refused@example.com>: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.messages.append({
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "content": envelope.original_content,
                "tls": session.ssl is not None,
            })
        return "250 2.0.0 Message accepted"

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER \
            and auth_data.password.decode() == PASSWORD
        with self.lock:
            self.auth.append({"mechanism": mechanism, "tls": session.ssl is not None, "ok": ok})
        # handled=False: aiosmtpd itself answers a failure (535); its default assumes we did.
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp(tmp_path):
    ca, cert, key = _pki(str(tmp_path), ["localhost"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    recorder = Recorder()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
        auth_required=True, auth_require_tls=True, authenticator=recorder.authenticator)
    controller.start()
    password_file = tmp_path / "smtp-password"
    password_file.write_text(PASSWORD + "\n")
    os.chmod(password_file, 0o600)
    config = tmp_path / "connwatch.toml"
    config.write_text(f"""
[daemon]
ca_file = "{ca}"

[[email]]
name = "secops"
smtp_url = "smtp://localhost:{port}"
username = "{USER}"
password_file = "{password_file}"
from = "connwatch <{USER}>"
to = ["Zoë Ops <ops@example.com>", "refused@example.com", "second@example.com"]
timeout = "10s"
""")
    try:
        yield recorder, str(config)
    finally:
        controller.stop()


def _send(config):
    r = subprocess.run(
        [_bin("connwatchctl"), "email", "test", "secops", "--config", config, "--json"],
        capture_output=True, text=True, timeout=60)
    assert PASSWORD not in r.stdout + r.stderr
    return r


def test_delivers_over_starttls_with_auth_and_drops_only_the_refused_recipient(smtp):
    recorder, config = smtp
    r = _send(config)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["verdict"] == "delivered"
    assert report["accepted"] == ["ops@example.com", "second@example.com"]
    assert [x["address"] for x in report["refused"]] == ["refused@example.com"]
    assert report["refused"][0]["reply"].startswith("550 5.1.1")
    assert report.get("failure") is None

    assert recorder.auth == [{"mechanism": "PLAIN", "tls": True, "ok": True}]
    assert len(recorder.messages) == 1
    got = recorder.messages[0]
    assert got["tls"] is True
    assert got["mail_from"] == USER
    assert got["rcpt_tos"] == ["ops@example.com", "second@example.com"]

    msg = email.message_from_bytes(got["content"], policy=email.policy.default)
    assert msg["Message-ID"] == f"<{report['message_id']}>"
    assert report["message_id"].endswith(".connwatch@example.com")
    assert str(msg["From"]) == f"connwatch <{USER}>"
    assert [a.addr_spec for a in msg["To"].addresses] == [
        "ops@example.com", "refused@example.com", "second@example.com"]
    assert msg["To"].addresses[0].display_name == "Zoë Ops"
    assert str(msg["Subject"]) == "[connwatch] test message from the [[email]] sink secops"
    assert msg["Date"].datetime.tzinfo is not None
    assert msg["MIME-Version"] == "1.0"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert "This is a test message from connwatch." in parts[0].get_content()
    html = parts[1].get_content()
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html.lower()
    assert not msg.defects and all(not p.defects for p in parts)
    for line in got["content"].split(b"\r\n"):
        assert len(line) <= 998
    assert PASSWORD.encode() not in got["content"]


def test_451_to_data_is_transient(smtp):
    recorder, config = smtp
    recorder.data_reply = "451 4.3.0 Try again later"
    r = _send(config)
    assert r.returncode == 75, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["verdict"] == "transient"
    assert "451" in report["failure"]
    assert report["accepted"] == []
    assert recorder.messages == []


def test_550_to_data_is_permanent(smtp):
    recorder, config = smtp
    recorder.data_reply = "554 5.6.0 Message rejected"
    r = _send(config)
    assert r.returncode == 76
    assert json.loads(r.stdout)["verdict"] == "permanent"


def test_wrong_password_is_refused_permanently_and_never_shown(smtp, tmp_path):
    recorder, config = smtp
    (tmp_path / "smtp-password").write_text("not-the-" + PASSWORD + "\n")
    r = _send(config)
    report = json.loads(r.stdout)
    assert r.returncode == 76, report
    assert report["verdict"] == "permanent" and "AUTH" in report["failure"]
    assert recorder.auth and recorder.auth[0]["tls"] is True and recorder.auth[0]["ok"] is False
    assert "not-the-" not in r.stdout + r.stderr
