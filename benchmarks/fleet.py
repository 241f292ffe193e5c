"""A fleet of N connectors for the benchmark: the simulator's scenario, connwatchd's
configuration with one credential file per connector, and a manifest the Python baseline
reads (the same connectors, secrets and required permissions).

Connectors come in tenants of six, one of each kind, like an MSP's customers. States are
mixed deterministically by index: most healthy, then secrets expiring, consent missing
(Azure Blob: a role assignment missing), wrong secrets, excess permissions, apps deleted.
Everything is generated at run time into a scratch directory; nothing secret is committed.
"""
import datetime as dt
import json
import os
import secrets
import subprocess
from pathlib import Path

KINDS = ["exchange", "onedrive", "sharepoint", "teams", "azure-blob", "mip"]
BLOB_DATA = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
ACCOUNT = "17d1049b-9a84-46fb-8f53-869881c3d3ab"

# State by (index * 37) % 100: spreads every state over every kind.
STATES = (
    [("healthy", 80), ("secret_expiring", 5), ("consent_missing", 4), ("secret_invalid", 3),
     ("excess_permissions", 3), ("rotation_pending", 3), ("app_not_found", 2)]
)


def state_of(i):
    bucket = (i * 37) % 100
    for name, width in STATES:
        if bucket < width:
            return name
        bucket -= width
    return "healthy"


def tenant_id(t):
    return f"7e000000-0000-4000-8000-{t:012d}"


def app_id(i):
    return f"a0000000-0000-4000-8000-{i:012d}"


def subscription_id(t):
    return f"5b000000-0000-4000-8000-{t:012d}"


def iso(now, days):
    return (now + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def catalog(ctl):
    """Per kind: resources (id, app id, scope) and application permissions, from connwatchctl."""
    out = {}
    for kind in KINDS:
        data = json.loads(subprocess.run([ctl, "permissions", kind, "--json"], check=True,
                                         capture_output=True, text=True).stdout)
        resources = data["resources"]
        app_ids = {r["id"]: r["app_id"] for r in resources}
        application, delegated = {}, {}
        for p in data["permissions"]:
            target = application if p["type"] == "application" else delegated
            target.setdefault(p["resource"], []).append(p["permission"])
        out[kind] = {"resources": resources, "app_ids": app_ids, "application": application, "delegated": delegated}
    return out


def sharepoint_material(work, ctl):
    """One self-signed certificate and key file shared by every SharePoint connector."""
    key, cert, keyfile = work / "sp.key", work / "sp.crt", work / "sp-keyfile.json"
    if not keyfile.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "730", "-subj", "/CN=connwatch benchmark SharePoint"],
                       check=True, capture_output=True)
        subprocess.run([ctl, "keyfile", "create", "--cert", cert, "--key", key, "--output", keyfile], check=True,
                       stdout=subprocess.DEVNULL)
    return cert.read_text(), keyfile, key


def build(work, n, ctl, base, ca, concurrency=64, socket=None, database=None):
    """Writes scenario.json, connwatch.toml, credentials/ and manifest.json under `work`."""
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    creds = work / "credentials"
    creds.mkdir(exist_ok=True)
    cat = catalog(ctl)
    cert_pem, keyfile, keypem = sharepoint_material(work, ctl)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    tenants = {}
    manifest = []
    toml = [f'''[daemon]
check_interval = "1h"
concurrency = {concurrency}
database = "{database or (work / 'connwatch.sqlite')}"
socket = "{socket or (work / 'connwatch.sock')}"
ca_file = "{ca}"

[cloud]
login_endpoint = "{base}/login"
graph_endpoint = "{base}/graph"
management_endpoint = "{base}/arm"
office_management_endpoint = "{base}/office"
sharepoint_endpoint = "{base}/sharepoint"
''']
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        t = i // len(KINDS)
        state = state_of(i)
        tid = tenant_id(t)
        host = f"t{t}.sharepoint.com"
        tenant = tenants.setdefault(t, {
            "id": tid, "domains": [f"t{t}.onmicrosoft.com"], "display_name": f"Customer {t}",
            "sharepoint_host": host, "subscriptions": [{"id": subscription_id(t), "display_name": "prod"}],
            "apps": []})
        name = f"c{i:05d}-{kind}"
        secret = "Bq8~" + secrets.token_urlsafe(24)
        configured = secret if state != "secret_invalid" else "Wz3~" + secrets.token_urlsafe(24)
        p = creds / name
        p.write_text(configured + "\n")
        p.chmod(0o600)
        k = cat[kind]
        roles = {k["app_ids"][r]: list(v) for r, v in k["application"].items()}
        if state == "consent_missing" and kind != "azure-blob":
            first = next(iter(roles))
            roles[first] = roles[first][2:]
        if state == "excess_permissions" and kind in ("exchange", "onedrive", "teams", "sharepoint", "mip"):
            roles.setdefault(k["app_ids"]["graph"], []).append("User.ReadWrite.All")
        end = 400 + (i % 300)
        if state == "secret_expiring":
            end = 5 + (i % 20)
        app = {
            "app_id": app_id(i), "display_name": f"Zscaler {kind} {i}", "self_read": True,
            "secrets": [{"display_name": "zscaler", "value": secret, "start": iso(now, -60), "end": iso(now, end)}],
            "app_roles": roles,
        }
        if state == "rotation_pending":
            app["secrets"][0]["end"] = iso(now, 12)
            app["secrets"].append({"display_name": "zscaler-next", "value": "Nx5~" + secrets.token_urlsafe(24),
                                   "start": iso(now, -1), "end": iso(now, 365)})
        if kind == "sharepoint":
            app["certificates"] = [{"display_name": "CN=connwatch benchmark SharePoint", "pem": cert_pem}]
        if kind == "azure-blob":
            app["delegated_grants"] = [{"resource_app_id": k["app_ids"][r], "scope": " ".join(v)}
                                       for r, v in k["delegated"].items()]
            rbac = [BLOB_DATA] if state == "consent_missing" else [BLOB_DATA, ACCOUNT]
            app["role_assignments"] = [{"role_definition_id": r, "subscription": subscription_id(t)} for r in rbac]
        if state != "app_not_found":
            tenant["apps"].append(app)
        entry = f'''
[[connector]]
name = "{name}"
kind = "{kind}"
tenant_id = "{tid}"
client_id = "{app_id(i)}"
client_secret_credential = "{name}"
'''
        if kind == "sharepoint":
            entry += f'key_file = "{keyfile}"\nsharepoint_host = "{host}"\n'
        if kind == "azure-blob":
            entry += f'subscription_id = "{subscription_id(t)}"\n'
        toml.append(entry)
        manifest.append({
            "name": name, "kind": kind, "state": state, "tenant_id": tid, "client_id": app_id(i),
            "secret_file": str(p), "sharepoint_host": host,
            "resources": [{"id": r["id"], "scope": r["scope"].replace("{sharepoint_host}", host),
                           "certificate_only": r["certificate_only"],
                           "required": k["application"].get(r["id"], [])} for r in k["resources"]],
        })
    scenario = {"tenants": list(tenants.values())}
    (work / "scenario.json").write_text(json.dumps(scenario))
    os.chmod(work / "scenario.json", 0o600)
    (work / "connwatch.toml").write_text("".join(toml))
    (work / "manifest.json").write_text(json.dumps({
        "base": base, "ca": str(ca), "sharepoint_cert": str(work / "sp.crt"), "sharepoint_key": str(keypem),
        "connectors": manifest}))
    return work / "connwatch.toml"
