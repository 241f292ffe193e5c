"""Independent fidelity check of connwatch-sim with Microsoft's own library (MSAL Python).

Starts the real `connwatch-sim` binary ($CONNWATCH_BIN_DIR, default .build/debug) with a
scenario generated here (random secret, a fresh RSA certificate), then lets
msal.ConfidentialClientApplication obtain tokens with the secret and with the certificate
and reads Graph with them. If MSAL cannot talk to the simulator, the simulator is wrong.

Run: python3 -m pytest -q Tests/python   (after `swift build`)
"""

import base64
import datetime
import hashlib
import json
import os
import secrets
import tempfile

import msal
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from simharness import running_simulator, self_signed_certificate

TENANT = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"
DOMAIN = "contoso.onmicrosoft.com"
APP = "b71c4e9a-3f2d-4a86-9e15-7c0d2b8f4a63"
BARE = "e4a8c2f1-6b3d-4e97-8a0c-5d1f9b7e2c36"
SP_HOST = "contoso.sharepoint.com"
GRAPH = "00000003-0000-0000-c000-000000000000"
SHAREPOINT = "00000003-0000-0ff1-ce00-000000000000"
GRAPH_ROLES = ["Application.Read.All", "Sites.Read.All", "User.Read.All"]
GRAPH_SCOPE = ["https://graph.microsoft.com/.default"]


def _claims(token):
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


@pytest.fixture(scope="module")
def sim():
    secret = "Xq8~" + secrets.token_urlsafe(30)
    key_pem, cert = self_signed_certificate("connwatch msal test")
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    end = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scenario = {
        "tenants": [
            {
                "id": TENANT,
                "domains": [DOMAIN],
                "display_name": "Contoso",
                "sharepoint_host": SP_HOST,
                "apps": [
                    {
                        "app_id": APP,
                        "display_name": "Zscaler SharePoint",
                        "secrets": [{"display_name": "zscaler", "value": secret, "end": end}],
                        "certificates": [{"display_name": "CN=connwatch msal test", "pem": cert_pem}],
                        "app_roles": {GRAPH: GRAPH_ROLES, SHAREPOINT: ["Sites.Read.All"]},
                    },
                    {"app_id": BARE, "secrets": [{"value": secret, "end": end}]},
                ],
            }
        ]
    }
    with tempfile.TemporaryDirectory() as tmp:
        scenario_path = os.path.join(tmp, "scenario.json")
        with open(scenario_path, "w") as f:
            json.dump(scenario, f)
        with running_simulator(scenario_path) as (base, ca_path, session):
            yield {
                "base": base,
                "ca": ca_path,
                "session": session,
                "secret": secret,
                "key_pem": key_pem,
                "cert": cert,
                "cert_pem": cert_pem,
            }


def _app(sim, client_id=APP, credential=None, tenant=TENANT):
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential if credential is not None else sim["secret"],
        authority=f"{sim['base']}/login/{tenant}",
        validate_authority=False,
        instance_discovery=False,
        http_client=sim["session"],
    )


def test_secret_token_then_graph_reads_the_application(sim):
    result = _app(sim).acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    claims = _claims(result["access_token"])
    assert sorted(claims["roles"]) == sorted(GRAPH_ROLES)
    assert claims["appid"] == APP and claims["appidacr"] == "1" and claims["tid"] == TENANT
    assert claims["aud"] == "https://graph.microsoft.com"

    reply = requests.get(
        f"{sim['base']}/graph/v1.0/applications(appId='{APP}')",
        headers={"Authorization": f"Bearer {result['access_token']}"},
        verify=sim["ca"],
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    app = reply.json()
    assert app["appId"] == APP
    assert [p["hint"] for p in app["passwordCredentials"]] == [sim["secret"][:3]]
    der = sim["cert"].public_bytes(serialization.Encoding.DER)
    assert app["keyCredentials"][0]["customKeyIdentifier"] == base64.b64encode(hashlib.sha1(der).digest()).decode()


def test_domain_authority_resolves_to_the_tenant(sim):
    result = _app(sim, tenant=DOMAIN).acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert "access_token" in result, result
    assert _claims(result["access_token"])["tid"] == TENANT


def test_certificate_with_sha1_thumbprint(sim):
    thumbprint = sim["cert"].fingerprint(hashes.SHA1()).hex()
    credential = {"private_key": sim["key_pem"], "thumbprint": thumbprint}
    result = _app(sim, credential=credential).acquire_token_for_client(scopes=[f"https://{SP_HOST}/.default"])
    assert "access_token" in result, result
    claims = _claims(result["access_token"])
    assert claims["appidacr"] == "2"
    assert claims["roles"] == ["Sites.Read.All"]
    reply = requests.get(
        f"{sim['base']}/sharepoint/{SP_HOST}/_api/web?$select=Title",
        headers={"Authorization": f"Bearer {result['access_token']}", "Accept": "application/json;odata=nometadata"},
        verify=sim["ca"],
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"Title": "Contoso"}


def test_certificate_with_public_certificate_uses_ps256(sim):
    credential = {"private_key": sim["key_pem"], "public_certificate": sim["cert_pem"]}
    result = _app(sim, credential=credential).acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert "access_token" in result, result
    claims = _claims(result["access_token"])
    assert claims["appidacr"] == "2"
    assert sorted(claims["roles"]) == sorted(GRAPH_ROLES)


def test_unconsented_app_gets_a_token_without_roles(sim):
    result = _app(sim, client_id=BARE).acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert "access_token" in result, result
    assert "roles" not in _claims(result["access_token"])


def test_wrong_secret_is_aadsts7000215(sim):
    result = _app(sim, credential="not-the-secret").acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert "access_token" not in result
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215: ")
    assert "client secret value, not the client secret ID" in result["error_description"]
    assert "\r\nTrace ID: " in result["error_description"]
