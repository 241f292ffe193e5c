"""Shared helpers of the Python checks: run the real connwatch-sim binary, make certificates."""

import contextlib
import datetime
import os
import select
import subprocess
import tempfile

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def self_signed_certificate(common_name):
    """A fresh RSA-2048 self-signed certificate: (PKCS#8 private key PEM, certificate)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key_pem, cert


@contextlib.contextmanager
def running_simulator(scenario_path):
    """Starts connwatch-sim on a free port; yields (base URL, CA file, requests session).

    On exit it sends SIGTERM and requires a clean exit (status 0) within 10 seconds.
    """
    bin_dir = os.environ.get("CONNWATCH_BIN_DIR", ".build/debug")
    binary = os.path.join(bin_dir, "connwatch-sim")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} not found: build first (swift build) or set CONNWATCH_BIN_DIR")
    with tempfile.TemporaryDirectory() as tmp:
        ca_path = os.path.join(tmp, "ca.pem")
        proc = subprocess.Popen(
            [binary, "--scenario", scenario_path, "--port", "0", "--ca-out", ca_path, "--log-level", "warning"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 20)
            line = proc.stdout.readline() if ready else ""
            if "listening on" not in line:
                proc.kill()
                pytest.fail(f"connwatch-sim did not start: {line!r} {proc.stderr.read()}")
            session = requests.Session()
            session.verify = ca_path
            # Otherwise REQUESTS_CA_BUNDLE (set on many machines) silently overrides verify,
            # and an HTTPS proxy from the environment would intercept loopback calls.
            session.trust_env = False
            yield line.strip().rsplit(" ", 1)[1], ca_path, session
        finally:
            proc.terminate()
            try:
                code = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            assert code == 0, f"connwatch-sim exited {code} on SIGTERM: {proc.stderr.read()}"
