#!/usr/bin/env python3
"""Observer mode's cost (SPEC §3b): observed connectors in tenants of 100, one monitoring
app (certificate) per tenant, `connwatchd --once` against the simulator. Prints the Graph
and ARM HTTP requests per observed connector per cycle (budget: at most 0.5 Graph requests
at 100 connectors in one tenant), token requests, CPU, peak RSS and the verdicts.

    benchmarks/observer.py --bin .build/release [--tenants 10 --per-tenant 100]

No connector secret exists anywhere in the run: the configuration has none, the scenario's
connector secrets are random values nobody is configured with.
"""
import argparse
import datetime as dt
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fleet  # noqa: E402
from bench import Sim, timed  # noqa: E402

GRAPH = "00000003-0000-0000-c000-000000000000"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
OBSERVER_ROLES = ["Application.Read.All", "Directory.Read.All", "AuditLog.Read.All"]

# State by (index * 37) % 100, as fleet.py spreads states over kinds.
STATES = [("healthy", 85), ("secret_expiring", 5), ("secret_expired", 4), ("stale", 3), ("disabled", 3)]


def state_of(i):
    bucket = (i * 37) % 100
    for name, width in STATES:
        if bucket < width:
            return name
        bucket -= width
    return "healthy"


def observer_pem(work):
    key, cert, pem = work / "obs.key", work / "obs.crt", work / "observer.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "365", "-subj", "/CN=connwatch monitor (benchmark)"], check=True, capture_output=True)
    pem.write_text(key.read_text() + cert.read_text())
    pem.chmod(0o600)
    key.unlink()
    return cert.read_text(), pem


def build(work, tenants, per_tenant, ctl, base, ca, concurrency):
    cat = fleet.catalog(ctl)
    cert, pem = observer_pem(work)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    scenario = {"tenants": []}
    toml = [f'''[daemon]
check_interval = "1h"
concurrency = {concurrency}
database = "{work / 'connwatch.sqlite'}"
socket = "{work / 'connwatch.sock'}"
ca_file = "{ca}"

[cloud]
login_endpoint = "{base}/login"
graph_endpoint = "{base}/graph"
management_endpoint = "{base}/arm"
office_management_endpoint = "{base}/office"
sharepoint_endpoint = "{base}/sharepoint"
''']
    kinds = ["exchange", "onedrive", "sharepoint", "teams", "azure-blob", "mip"]
    for t in range(tenants):
        tid, sub = fleet.tenant_id(t), fleet.subscription_id(t)
        observer_id = f"0b500000-0000-4000-8000-{t:012d}"
        tenant = {"id": tid, "domains": [f"t{t}.onmicrosoft.com"], "display_name": f"Customer {t}",
                  "sharepoint_host": f"t{t}.sharepoint.com", "premium": True,
                  "subscriptions": [{"id": sub, "display_name": "prod"}],
                  "apps": [{"app_id": observer_id, "display_name": "connwatch monitor", "sign_ins": "none",
                            "certificates": [{"display_name": "connwatch monitor", "pem": cert,
                                              "start": fleet.iso(now, -5), "end": fleet.iso(now, 360)}],
                            "app_roles": {GRAPH: OBSERVER_ROLES},
                            "role_assignments": [{"role_definition_id": READER, "subscription": sub}]}]}
        toml.append(f'''
[[tenant]]
tenant_id = "{tid}"
client_id = "{observer_id}"
certificate_file = "{pem}"
subscriptions = ["{sub}"]
''')
        for j in range(per_tenant):
            i = t * per_tenant + j
            kind = kinds[i % len(kinds)]
            state = state_of(i)
            k = cat[kind]
            end = {"secret_expiring": 10 + i % 15, "secret_expired": -3}.get(state, 300 + i % 200)
            app = {"app_id": fleet.app_id(i), "display_name": f"Zscaler {kind} {i}",
                   "secrets": [{"display_name": "zscaler", "value": "Bq8~" + secrets.token_urlsafe(18),
                                "start": fleet.iso(now, -400), "end": fleet.iso(now, end)}],
                   "app_roles": {k["app_ids"][r]: list(v) for r, v in k["application"].items()}}
            if state == "stale":
                app["sign_ins"] = "stale"
            if state == "disabled":
                app["disabled"] = True
            if kind == "sharepoint":
                app["certificates"] = [{"display_name": "CN=connwatch benchmark SharePoint", "pem": cert}]
            if kind == "azure-blob":
                app["delegated_grants"] = [{"resource_app_id": k["app_ids"][r], "scope": " ".join(v)}
                                           for r, v in k["delegated"].items()]
                app["role_assignments"] = [{"role_definition_id": r, "subscription": sub}
                                           for r in (fleet.BLOB_DATA, fleet.ACCOUNT)]
            tenant["apps"].append(app)
            entry = f'''
[[connector]]
name = "o{i:05d}-{kind}"
kind = "{kind}"
tenant_id = "{tid}"
client_id = "{fleet.app_id(i)}"
'''
            if kind == "azure-blob":
                entry += f'subscription_id = "{sub}"\n'
            toml.append(entry)
        scenario["tenants"].append(tenant)
    (work / "scenario.json").write_text(json.dumps(scenario))
    os.chmod(work / "scenario.json", 0o600)
    (work / "connwatch.toml").write_text("".join(toml))
    return work / "connwatch.toml"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=str(HERE.parent / ".build" / "release"))
    parser.add_argument("--work", default=None)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--per-tenant", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--budget", type=float, default=0.5)
    args = parser.parse_args()
    bindir = Path(args.bin)
    work = Path(args.work or tempfile.mkdtemp(prefix="connwatch-observer-bench-"))
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    sim = Sim(bindir / "connwatch-sim", work, args.latency_ms)
    n = args.tenants * args.per_tenant
    config = build(work, args.tenants, args.per_tenant, bindir / "connwatchctl", sim.base, sim.ca, args.concurrency)
    sim.start()
    env = dict(os.environ)
    env.pop("CREDENTIALS_DIRECTORY", None)
    env["CONNWATCH_LOG_LEVEL"] = "error"
    try:
        before = sim.reset()
        m = timed([bindir / "connwatchd", "--once", "--config", config], work / "once.txt", env=env)
        m.update(sim.stats(before))
    finally:
        sim.stop()
    statuses = {}
    lines = (work / "once.txt").read_text().splitlines()
    names = [line.split()[0] for line in lines[1:] if line.split()]
    for line in lines[1:]:
        cols = line.split()
        if len(cols) > 2 and cols[0].startswith("o"):
            statuses[cols[2]] = statuses.get(cols[2], 0) + 1
    services = m["by_service"]
    graph = services.get("graph", 0)
    per_connector = graph / n
    rows = [
        ("observed connectors", f"{n} ({args.tenants} tenants x {args.per_tenant})"),
        ("Graph HTTP requests", f"{graph} ({per_connector:.3f} per connector; budget {args.budget})"),
        ("ARM HTTP requests", str(services.get("arm", 0))),
        ("token requests", str(services.get("login", 0))),
        ("requests to every service", json.dumps(services, sort_keys=True)),
        ("connwatchd wall / CPU", f"{m['wall_s']:.1f} s / {m['cpu_s']:.2f} s ({m['cpu_s'] / n * 1000:.2f} ms per connector)"),
        ("connwatchd peak RSS", f"{m['peak_rss_mib']:.0f} MiB"),
        ("verdicts", json.dumps(statuses, sort_keys=True)),
        ("exit code", str(m["rc"])),
    ]
    width = max(len(r[0]) for r in rows)
    for k, v in rows:
        print(f"{k.ljust(width)}  {v}")
    (work / "observer-results.json").write_text(json.dumps({"n": n, "metrics": m, "statuses": statuses}, indent=2))
    ok = sum(statuses.values()) == n and per_connector <= args.budget
    if not ok:
        print(f"observer benchmark: FAILED (connectors reported {sum(statuses.values())} of {n}, "
              f"{per_connector:.3f} Graph requests per connector)", file=sys.stderr)
        sys.exit(1)
    print(f"observer benchmark: within budget; work files in {work}")


if __name__ == "__main__":
    main()
