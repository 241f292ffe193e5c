#!/usr/bin/env python3
"""The usual way, for comparison: a Python script on Microsoft's MSAL library and
`requests` that loops over the app registrations and does the same checks connwatch does
for consent and expiry — a client-credentials token per resource the kind needs (the
certificate for SharePoint), the Graph application read (`passwordCredentials` /
`keyCredentials`), and the comparison of each token's `roles` claim with the required
application permissions.

    baseline.py MANIFEST [--workers 64] [--limit N] [--out result.json]

One ConfidentialClientApplication per connector (as a script looping over app
registrations builds them); one `requests.Session` per worker thread, shared by MSAL, so
connections are reused. Prints nothing per connector; writes a summary JSON.
"""
import argparse
import base64
import concurrent.futures
import datetime as dt
import json
import threading
import time

import msal
import requests

local = threading.local()


def session(ca):
    s = getattr(local, "session", None)
    if s is None:
        s = requests.Session()
        s.verify = ca
        s.trust_env = False  # else REQUESTS_CA_BUNDLE overrides `verify`
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=4)
        s.mount("https://", adapter)
        local.session = s
    return s


def claims(token):
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def check(c, base, ca, cert):
    s = session(ca)
    authority = f"{base}/login/{c['tenant_id']}"
    with open(c["secret_file"]) as f:
        secret = f.read().strip()
    apps = {}

    def app_for(certificate):
        key = "cert" if certificate else "secret"
        if key not in apps:
            credential = cert if certificate else secret
            apps[key] = msal.ConfidentialClientApplication(
                c["client_id"], client_credential=credential, authority=authority,
                validate_authority=False, instance_discovery=False, http_client=s)
        return apps[key]

    result = {"name": c["name"], "status": "ok", "problems": []}
    graph_token = None
    for r in c["resources"]:
        got = app_for(r["certificate_only"]).acquire_token_for_client(scopes=[r["scope"]])
        if "access_token" not in got:
            result["status"] = "critical"
            result["problems"].append(f"credential {r['id']}: {got.get('error')} {got.get('error_codes')}")
            continue
        if r["id"] == "graph":
            graph_token = got["access_token"]
        granted = set(claims(got["access_token"]).get("roles", []))
        missing = [p for p in r["required"] if p not in granted]
        if missing:
            result["status"] = "critical"
            result["problems"].append(f"consent {r['id']}: missing {missing}")
    if graph_token is None and result["status"] == "ok":
        got = app_for(False).acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
        graph_token = got.get("access_token")
    if graph_token:
        url = (f"{base}/graph/v1.0/applications(appId='{c['client_id']}')"
               "?$select=id,appId,passwordCredentials,keyCredentials")
        reply = s.get(url, headers={"Authorization": "Bearer " + graph_token}, timeout=60)
        if reply.status_code != 200:
            result["problems"].append(f"secret_expiry: HTTP {reply.status_code}")
        else:
            now = dt.datetime.now(dt.timezone.utc)
            hint = secret[:3]
            for p in reply.json().get("passwordCredentials", []):
                if p.get("hint") == hint and p.get("endDateTime"):
                    end = dt.datetime.fromisoformat(p["endDateTime"].replace("Z", "+00:00"))
                    days = (end - now).days
                    if days <= 30:
                        result["problems"].append(f"secret expires in {days} days")
                        if result["status"] == "ok":
                            result["status"] = "warning"
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("manifest")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="check only the first N connectors")
    parser.add_argument("--out")
    args = parser.parse_args()
    with open(args.manifest) as f:
        m = json.load(f)
    connectors = m["connectors"][: args.limit or None]
    with open(m["sharepoint_key"]) as f:
        key = f.read()
    with open(m["sharepoint_cert"]) as f:
        pem = f.read()
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    thumb = x509.load_pem_x509_certificate(pem.encode()).fingerprint(hashes.SHA1()).hex()
    cert = {"private_key": key, "thumbprint": thumb}
    started = time.monotonic()
    if args.workers <= 1:
        results = [check(c, m["base"], m["ca"], cert) for c in connectors]
    else:
        with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
            results = list(pool.map(lambda c: check(c, m["base"], m["ca"], cert), connectors))
    wall = time.monotonic() - started
    counts = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    summary = {"connectors": len(results), "workers": args.workers, "wall_s": wall, "statuses": counts}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(summary, f)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
