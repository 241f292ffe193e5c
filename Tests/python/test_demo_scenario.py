"""The demo assets agree: scripts/demo-scenario.py fills config/demo/scenario.template.json
from the files scripts/example-secrets.sh writes, and the simulator then shows each example
connector of config/ in its intended state."""

import base64
import datetime
import json
import os
import secrets
import subprocess
import sys
import tempfile

import msal
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from simharness import running_simulator, self_signed_certificate

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TENANT = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"
SUBSCRIPTION = "3c7a9e2b-5d1f-4a68-9b04-e6f2c8d1a5b7"
GRAPH = ["https://graph.microsoft.com/.default"]
# client IDs of config/connwatch.toml and config/connectors.d/*.toml
ONEDRIVE = "8c3e2a47-1b5d-4c8f-a9e6-2f4d7b1c0e93"
EXCHANGE = "2d9f6b13-7e4a-4c25-b8d1-6a0f3e5c9b72"
SHAREPOINT = "b71c4e9a-3f2d-4a86-9e15-7c0d2b8f4a63"
TEAMS = "e4a8c2f1-6b3d-4e97-8a0c-5d1f9b7e2c36"
BLOB = "9b2e7d4c-0a6f-4b18-b3e5-8f1c6a2d7e94"
MIP = "4f6d1a8e-2c9b-4e73-a5d0-1b8e7f3c6a29"


def _claims(token):
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


@pytest.fixture(scope="module")
def demo():
    with tempfile.TemporaryDirectory() as config:
        # What scripts/example-secrets.sh writes, made here so the test leaves config/ alone.
        creds = {}
        for sub in ("credentials", "secrets", "keys"):
            os.makedirs(os.path.join(config, sub))
        for name in ("contoso-onedrive", "contoso-exchange", "contoso-sharepoint", "contoso-teams", "contoso-blob"):
            creds[name] = "Xq8~" + secrets.token_urlsafe(30)
            with open(os.path.join(config, "credentials", name), "w") as f:
                f.write(creds[name] + "\n")
        creds["zscaler-api"] = "zs-" + secrets.token_urlsafe(30)
        with open(os.path.join(config, "credentials", "zscaler-api"), "w") as f:
            f.write(creds["zscaler-api"] + "\n")
        creds["contoso-mip"] = "Mq3~" + secrets.token_urlsafe(30)
        with open(os.path.join(config, "secrets", "contoso-mip"), "w") as f:
            f.write(creds["contoso-mip"] + "\n")
        key_pem, cert = self_signed_certificate("Zscaler SharePoint Connector (example)")
        cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        with open(os.path.join(config, "keys", "contoso-sharepoint.json"), "w") as f:
            json.dump({"private_key": key_pem, "public_cert": cert_pem}, f)
        monitor_key, monitor_cert = self_signed_certificate("connwatch monitor (example)")
        with open(os.path.join(config, "keys", "monitor-fabrikam.pem"), "w") as f:
            f.write(monitor_key + monitor_cert.public_bytes(serialization.Encoding.PEM).decode())
        creds["monitor-fabrikam"] = (monitor_key, monitor_cert)

        out = os.path.join(config, "scenario.json")
        subprocess.run(
            [sys.executable, os.path.join(ROOT, "scripts", "demo-scenario.py"), "--config", config, "--out", out],
            check=True,
            capture_output=True,
        )
        assert oct(os.stat(out).st_mode & 0o777) == "0o600"
        with running_simulator(out) as (base, ca, session):
            yield {"base": base, "ca": ca, "session": session, "creds": creds, "key_pem": key_pem, "cert": cert}


def _token(demo, client_id, credential, scopes=GRAPH, tenant=TENANT):
    app = msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=f"{demo['base']}/login/{tenant}",
        validate_authority=False,
        instance_discovery=False,
        http_client=demo["session"],
    )
    return app.acquire_token_for_client(scopes=scopes)


def _get(demo, path, token):
    return requests.get(
        demo["base"] + path, headers={"Authorization": f"Bearer {token}"}, verify=demo["ca"], timeout=10
    )


def test_onedrive_is_healthy(demo):
    graph = _token(demo, ONEDRIVE, demo["creds"]["contoso-onedrive"])
    assert len(_claims(graph["access_token"])["roles"]) == 11
    office = _token(demo, ONEDRIVE, demo["creds"]["contoso-onedrive"], ["https://manage.office.com/.default"])
    assert _claims(office["access_token"])["roles"] == ["ActivityFeed.Read"]


def test_exchange_secret_expires_in_ten_days(demo):
    result = _token(demo, EXCHANGE, demo["creds"]["contoso-exchange"], tenant="contoso.onmicrosoft.com")
    assert "Directory.Read.All" in _claims(result["access_token"])["roles"]
    app = _get(demo, f"/graph/v1.0/applications(appId='{EXCHANGE}')", result["access_token"]).json()
    end = datetime.datetime.fromisoformat(app["passwordCredentials"][0]["endDateTime"].replace("Z", "+00:00"))
    days = (end - datetime.datetime.now(datetime.timezone.utc)).total_seconds() / 86400
    assert 9 < days <= 10


def test_sharepoint_certificate_is_registered(demo):
    credential = {"private_key": demo["key_pem"], "thumbprint": demo["cert"].fingerprint(hashes.SHA1()).hex()}
    result = _token(demo, SHAREPOINT, credential, ["https://contoso.sharepoint.com/.default"])
    assert "access_token" in result, result
    assert _get(demo, "/sharepoint/contoso.sharepoint.com/_api/web?$select=Title", result["access_token"]).ok


def test_teams_misses_graph_permissions(demo):
    result = _token(demo, TEAMS, demo["creds"]["contoso-teams"])
    roles = set(_claims(result["access_token"])["roles"])
    assert len(roles) == 28
    assert not roles & {"ChannelMessage.Read.All", "Chat.Read.All", "TeamsActivity.Read.All"}


def test_blob_lacks_storage_account_contributor(demo):
    result = _token(demo, BLOB, demo["creds"]["contoso-blob"], ["https://management.azure.com/.default"])
    oid = _claims(result["access_token"])["oid"]
    reply = _get(
        demo,
        f"/arm/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleAssignments"
        f"?api-version=2022-04-01&$filter=assignedTo('{oid}')",
        result["access_token"],
    )
    roles = [item["properties"]["roleDefinitionId"].rsplit("/", 1)[1] for item in reply.json()["value"]]
    assert roles == ["ba92f5b4-2d11-453d-a403-e96b0029c9fe"]


def test_mip_secret_is_wrong(demo):
    result = _token(demo, MIP, demo["creds"]["contoso-mip"])
    assert result["error_codes"] == [7000215]


def test_zscaler_side(demo):
    """The OneAPI token (audience required) and the ZIA tenant list of the demo."""
    token_url = demo["base"] + "/zslogin/oauth2/v1/token"
    form = {"grant_type": "client_credentials", "client_id": "connwatch-demo",
            "client_secret": demo["creds"]["zscaler-api"]}
    refused = requests.post(token_url, data=form, verify=demo["ca"], timeout=10)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    form["audience"] = "https://api.zscaler.com"
    token = requests.post(token_url, data=form, verify=demo["ca"], timeout=10).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    tenants = _get(demo, "/zia/api/v1/casbTenant/lite", token["access_token"]).json()
    states = {t["tenantName"]: t["status"] for t in tenants}
    assert states["Contoso Teams"] == ["REAUTH_REQUIRED"]
    assert states["Contoso Blob"] == ["VALIDATION_FAILED"]
    assert {t["enterpriseTenantId"] for t in tenants} == {TENANT, "2d8f4b6a-9c1e-4f37-8a5d-6e0b3c7f1a92"}
    assert states["Fabrikam OneDrive"] == ["ACTIVE"]
    assert all("tenantAuthorizationInfo" not in t for t in tenants)


FABRIKAM = "2d8f4b6a-9c1e-4f37-8a5d-6e0b3c7f1a92"
FABRIKAM_MONITOR = "c3f1a8e2-7d4b-4c69-b2e0-5a9d1f6c8b37"
FABRIKAM_EXCHANGE = "6d2b9f4e-1c8a-4e73-9b5f-3a0e7c1d4f26"
FABRIKAM_TEAMS = "4f8c2e6a-5b1d-4a97-8e3c-7d0f9a2b5c61"


def _observer_token(demo):
    key, cert = demo["creds"]["monitor-fabrikam"]
    credential = {"private_key": key, "thumbprint": cert.fingerprint(hashes.SHA1()).hex()}
    result = _token(demo, FABRIKAM_MONITOR, credential, tenant=FABRIKAM)
    assert "access_token" in result, result
    return result["access_token"]


def test_fabrikam_observer_signs_in_with_its_certificate_and_reads_only(demo):
    roles = set(_claims(_observer_token(demo))["roles"])
    assert roles == {"Application.Read.All", "Directory.Read.All", "AuditLog.Read.All"}


def test_fabrikam_exchange_service_fails_with_its_expired_secret(demo):
    token = _observer_token(demo)
    flt = f"appId eq '{FABRIKAM_EXCHANGE}' and signInEventTypes/any(t: t eq 'servicePrincipal')"
    reply = _get(demo, "/graph/beta/auditLogs/signIns?$filter=" + requests.utils.quote(flt), token)
    assert reply.ok, reply.text
    latest = reply.json()["value"][0]
    assert latest["status"]["errorCode"] == 7000222


def test_fabrikam_teams_is_stale(demo):
    token = _observer_token(demo)
    flt = f"appId eq '{FABRIKAM_TEAMS}' and signInEventTypes/any(t: t eq 'servicePrincipal')"
    events = _get(demo, "/graph/beta/auditLogs/signIns?$filter=" + requests.utils.quote(flt), token).json()["value"]
    newest = datetime.datetime.fromisoformat(events[0]["createdDateTime"].replace("Z", "+00:00"))
    assert (datetime.datetime.now(datetime.timezone.utc) - newest).days >= 9
