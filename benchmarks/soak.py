#!/usr/bin/env python3
"""connwatch's soak run (issue 19, point 4): a running connwatchd over N connectors (default
1,000) at a short check_interval for a long stretch, with random faults on 5% of the tenants
at any time, sampling the daemon's RSS, open file descriptors and database size; then says
whether they are flat after warm-up. Driven by benchmarks/soak.sh; not part of CI (too long).

Simulated time is "many checks", not a sped-up clock: each connector is checked every
check_interval (10 s) instead of every hour, so K checks per connector stand for K hours of
a production daemon's work at the default interval (libfaketime could only speed up the clock
the daemon reads, not the work it does; BENCHMARKS.md explains).

Faults (the simulator's fault control, `PUT /_sim/faults`): every `--fault-period` seconds,
a fresh random 5% of the tenants (each of six connectors) gets one of: 500, 503 with
Retry-After, 429 with Retry-After, a malformed 200 body, wrong JSON types, or a reply held
past the client's timeout — on every service of that tenant. The rest answer normally with
the benchmark's latency.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fleet  # noqa: E402
from bench import Sim, db_bytes, proc_cpu  # noqa: E402

FAULTS = [
    {"status": 500}, {"status": 503, "retry_after": 2}, {"status": 429, "retry_after": 2},
    {"mode": "malformed"}, {"mode": "wrong_types"}, {"mode": "timeout", "hold_seconds": 40},
]


def log(*args):
    print("soak:", *args, file=sys.stderr, flush=True)


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"):
                out[k] = int(v.split()[0])
    return out


def metric(body, name):
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default=str(HERE.parent / ".build" / "release"))
    p.add_argument("--work", default=None)
    p.add_argument("--connectors", type=int, default=1000)
    p.add_argument("--interval", default="10s", help="check_interval (10s is the shortest allowed)")
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--cycles", type=int, default=60, help="run at least this many full cycles")
    p.add_argument("--fault-rate", type=float, default=0.05)
    p.add_argument("--fault-period", type=float, default=20)
    p.add_argument("--latency-ms", type=int, default=20)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--sample-every", type=float, default=10)
    p.add_argument("--warmup", type=float, default=0.25, help="fraction of the run counted as warm-up")
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args()
    seed = args.seed if args.seed is not None else time.time_ns() % 1_000_000
    rnd = random.Random(seed)
    work = Path(args.work or tempfile.mkdtemp(prefix="connwatch-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    b = Path(args.bin)
    daemon_bin, ctl, sim_bin = b / "connwatchd", b / "connwatchctl", b / "connwatch-sim"
    sim = Sim(sim_bin, work, args.latency_ms)
    log(f"generating {args.connectors} connectors in {work} (seed {seed})")
    config = fleet.build(work, args.connectors, ctl, sim.base, sim.ca, concurrency=args.concurrency,
                         socket=work / "connwatch.sock", database=work / "connwatch.sqlite")
    config.write_text(config.read_text().replace('check_interval = "1h"', f'check_interval = "{args.interval}"'))
    tenants = sorted({c["tenant_id"] for c in json.loads((work / "manifest.json").read_text())["connectors"]})
    sim.start()
    env = dict(os.environ)
    env.pop("CREDENTIALS_DIRECTORY", None)
    env.pop("NOTIFY_SOCKET", None)
    env["CONNWATCH_LOG_LEVEL"] = "error"
    daemon = subprocess.Popen([daemon_bin, "--config", config, "--credentials-dir", work / "credentials"],
                              env=env, stdout=open(work / "connwatchd.log", "w"), stderr=subprocess.STDOUT)
    stop = threading.Event()
    faulted = {"applied": 0}

    def faults():
        base = [{"service": "*", "latency_ms": args.latency_ms}]
        while not stop.is_set():
            chosen = rnd.sample(tenants, max(1, round(len(tenants) * args.fault_rate)))
            spec = base + [{"service": "*", "tenant": t, **rnd.choice(FAULTS)} for t in chosen]
            try:
                sim.session.put(sim.base + "/_sim/faults", data=json.dumps(spec), timeout=30).raise_for_status()
                faulted["applied"] += 1
            except Exception as e:  # the simulator busy: the next period tries again
                log(f"fault update failed: {e}")
            stop.wait(args.fault_period)

    def metrics():
        r = subprocess.run(["curl", "-sS", "--max-time", "60", "--unix-socket", str(work / "connwatch.sock"),
                            "http://localhost/metrics"], capture_output=True, text=True)
        return r.stdout

    samples = []
    started = time.time()
    cycles_seen = []
    threading.Thread(target=faults, daemon=True).start()
    try:
        while True:
            time.sleep(args.sample_every)
            if daemon.poll() is not None:
                raise SystemExit(f"soak: connwatchd exited with {daemon.returncode}; see {work}/connwatchd.log")
            st = proc_status(daemon.pid)
            m = metrics()
            last_cycle = metric(m, "connwatch_last_cycle_timestamp_seconds")
            if last_cycle and (not cycles_seen or cycles_seen[-1] != last_cycle):
                cycles_seen.append(last_cycle)
            s = {"t": round(time.time() - started, 1), "rss_kib": st["VmRSS"], "hwm_kib": st["VmHWM"],
                 "anon_kib": st.get("RssAnon"), "threads": st.get("Threads"),
                 "fds": len(os.listdir(f"/proc/{daemon.pid}/fd")),
                 "db_bytes": db_bytes(work / "connwatch.sqlite"), "cpu_s": proc_cpu(daemon.pid),
                 "cycles": len(cycles_seen),
                 "checks": sum(float(l.rsplit(" ", 1)[1]) for l in m.splitlines()
                               if l.startswith("connwatch_check_duration_seconds_count{"))}
            samples.append(s)
            log(f"t={s['t']:.0f}s cycles={s['cycles']} rss={s['rss_kib'] / 1024:.1f}MiB "
                f"hwm={s['hwm_kib'] / 1024:.1f}MiB fds={s['fds']} db={s['db_bytes'] / 1e6:.2f}MB")
            if time.time() - started >= args.minutes * 60 and len(cycles_seen) >= args.cycles:
                break
    finally:
        stop.set()
        daemon.terminate()
        try:
            daemon.wait(60)
        except subprocess.TimeoutExpired:
            daemon.kill()
        sim.stop()
    (work / "samples.json").write_text(json.dumps(samples, indent=1))
    summary = summarise(samples, args, seed, faulted["applied"])
    (work / "soak.json").write_text(json.dumps(summary, indent=2))
    print(report(summary))
    print(f"\nsamples: {work}/samples.json, summary: {work}/soak.json")


def slope_per_hour(xs, ys):
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 0.0 if den == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 3600


def summarise(samples, args, seed, fault_updates):
    cut = samples[-1]["t"] * args.warmup
    warm = [s for s in samples if s["t"] >= cut]
    t = [s["t"] for s in warm]

    def stats(key, scale):
        v = [s[key] / scale for s in warm]
        return {"min": min(v), "max": max(v), "first": v[0], "last": v[-1],
                "slope_per_hour": slope_per_hour(t, v)}

    cycles = samples[-1]["cycles"]
    checks = samples[-1].get("checks", 0)
    return {
        # Each connector is checked every check_interval; a full "cycle" (every connector
        # recorded) ends only when the slowest, fault-held one is done. Connector checks per
        # connector = hours of a production daemon's work at the default 1 h interval.
        "connector_checks": checks, "production_hours_equivalent": checks / args.connectors,
        "connectors": args.connectors, "interval": args.interval, "seed": seed,
        "fault_rate": args.fault_rate, "fault_period_s": args.fault_period, "fault_updates": fault_updates,
        "wall_s": samples[-1]["t"], "cycles": cycles, "warmup_until_s": cut,
        "cycles_after_warmup": cycles - next(s["cycles"] for s in warm),
        "peak_rss_mib": samples[-1]["hwm_kib"] / 1024, "final_rss_mib": samples[-1]["rss_kib"] / 1024,
        "rss_mib": stats("rss_kib", 1024), "fds": stats("fds", 1), "db_mb": stats("db_bytes", 1e6),
        "threads": stats("threads", 1), "cpu_s": samples[-1]["cpu_s"],
    }


def report(s):
    def row(name, d, unit, fmt="{:.1f}"):
        f = lambda x: fmt.format(x)
        return (f"| {name} | {f(d['first'])} | {f(d['min'])} | {f(d['max'])} | {f(d['last'])} | "
                f"{d['slope_per_hour']:+.2f} {unit}/h |")
    lines = [
        f"{s['connectors']} connectors, check_interval {s['interval']}, {s['wall_s'] / 60:.1f} min, "
        f"{s['cycles']} full cycles ({s['cycles_after_warmup']} after warm-up at {s['warmup_until_s'] / 60:.1f} min), "
        f"faults on {s['fault_rate']:.0%} of tenants re-drawn every {s['fault_period_s']:.0f}s "
        f"({s['fault_updates']} draws), seed {s['seed']}; daemon CPU {s['cpu_s']:.0f}s; "
        f"{s['connector_checks']:.0f} connector checks = {s['production_hours_equivalent']:.0f} h of a "
        f"production daemon's checking at the default 1 h interval",
        f"peak RSS (VmHWM) {s['peak_rss_mib']:.1f} MiB, final RSS {s['final_rss_mib']:.1f} MiB",
        "",
        "| after warm-up | first | min | max | last | trend |",
        "|---|---|---|---|---|---|",
        row("RSS (MiB)", s["rss_mib"], "MiB"),
        row("open fds", s["fds"], "fds", "{:.0f}"),
        row("threads", s["threads"], "threads", "{:.0f}"),
        row("database + WAL (MB)", s["db_mb"], "MB", "{:.2f}"),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
