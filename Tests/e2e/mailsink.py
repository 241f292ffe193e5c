"""A real SMTP server for the e2e tests: aiosmtpd on loopback with STARTTLS (a CA and a
`localhost` certificate made at test time) and AUTH required over TLS. It can refuse some
recipients (550), answer DATA with 451 for the first attempts of each message, and take its
time before answering; it records every DATA attempt and every message it accepted, parsed
with Python's own `email` package."""
import asyncio
import datetime
import email
import email.policy
import os
import socket
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

USER = "connwatch@example.com"


def make_pki(directory, names=("localhost",)):
    """A CA and a server certificate for `names`, made now. Returns (ca.pem, cert.pem, key.pem)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp e2e CA")])
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
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = [os.path.join(str(directory), n) for n in ("smtp-ca.pem", "smtp-cert.pem", "smtp-key.pem")]
    with open(paths[0], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths[1], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths[2], "wb") as f:
        f.write(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    os.chmod(paths[2], 0o600)
    return paths


class MailSink:
    """`refuse`: addresses answered 550 at RCPT. `fail_first(message_id, rcpts)`: how many DATA
    attempts of that message to these recipients get 451 before one is accepted. `delay`:
    seconds before answering DATA; a client gone meanwhile has not delivered (the message is
    only taken when its 250 can be sent)."""

    def __init__(self, directory, password, refuse=(), fail_first=lambda mid, rcpts: 0, delay=0.0):
        self.ca, cert, key = make_pki(directory)
        self.password = password
        self.refuse = set(refuse)
        self.fail_first = fail_first
        self.delay = delay
        self.lock = threading.Lock()
        self.attempts = []   # every DATA: {"mid", "rcpts", "reply"}
        self.messages = []   # accepted: {"mid", "rcpts", "msg", "raw", "tls"}
        self.auth = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, tls_context=context, require_starttls=True,
            auth_required=True, auth_require_tls=True, authenticator=self.authenticator)
        self.controller.start()
        self.url = f"smtp://localhost:{self.port}"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        mid = str(msg["Message-ID"])
        rcpts = tuple(envelope.rcpt_tos)
        with self.lock:
            earlier = sum(1 for a in self.attempts if a["mid"] == mid and a["rcpts"] == rcpts)
            fail = earlier < self.fail_first(mid, rcpts)
            self.attempts.append({"mid": mid, "rcpts": rcpts, "reply": 451 if fail else 250})
        if fail:
            return "451 4.3.0 try again later"
        if self.delay:
            await asyncio.sleep(self.delay)
            if server.transport is None or server.transport.is_closing():
                return "421 4.4.2 connection lost"
        with self.lock:
            self.messages.append({"mid": mid, "rcpts": rcpts, "msg": msg, "raw": envelope.original_content,
                                  "tls": session.ssl is not None})
        return "250 2.0.0 accepted"

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER \
            and auth_data.password.decode() == self.password
        with self.lock:
            self.auth.append({"mechanism": mechanism, "tls": session.ssl is not None, "ok": ok})
        return AuthResult(success=ok, handled=False)

    def received(self, rcpt=None):
        with self.lock:
            return [m for m in self.messages if rcpt is None or rcpt in m["rcpts"]]

    def stop(self):
        self.controller.stop()


def email_sink_toml(name, url, credential, to, extra=""):
    to_list = ", ".join(f'"{t}"' for t in to)
    return f'''
[[email]]
name = "{name}"
smtp_url = "{url}"
username = "{USER}"
password_credential = "{credential}"
from = "connwatch <{USER}>"
to = [{to_list}]
timeout = "10s"
{extra}'''
