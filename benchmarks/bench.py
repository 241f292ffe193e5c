#!/usr/bin/env python3
"""connwatch's benchmark (issue 8), driven by benchmarks/run.sh. One run measures, on this
machine, against connwatch-sim with an injected latency on every route:

  * `connwatchd --once` (concurrency 64) over N connectors: wall, user+sys CPU, peak RSS
    (/usr/bin/time -v), requests made (the simulator's counters), database size;
  * the Python baseline (msal + requests, benchmarks/baseline.py) with a pool of 64 threads
    over the same N, and sequentially over a subset (extrapolated per connector);
  * `connwatchctl status --json` against a running daemon holding the largest fleet;
  * 30 simulated days of hourly cycles over 1,000 connectors with churn
    (connwatch-history-bench): database bytes per connector per day;
  * the simulator's own CPU in each phase.

It prints one table and writes every figure to results.json in the work directory.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import threading
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fleet  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def log(*args):
    print("bench:", *args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu(pid):
    """user + sys CPU seconds of a running process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class RssSampler(threading.Thread):
    """Samples the anonymous and file-backed parts of a process's RSS (/proc/PID/status)
    every 0.1 s: /usr/bin/time reports only the total, and for a static binary a good part
    of it is clean code pages mapped from the executable."""

    def __init__(self, parent_pid):
        super().__init__(daemon=True)
        self.parent_pid = parent_pid
        self.stop = threading.Event()
        self.peak = None  # (rss, anon, file) at the highest sampled RSS, KiB

    def target_pid(self):
        try:
            children = Path(f"/proc/{self.parent_pid}/task/{self.parent_pid}/children").read_text().split()
        except OSError:
            return None
        return children[0] if children else None

    def run(self):
        pid = None
        while not self.stop.is_set():
            pid = pid or self.target_pid()
            if pid:
                try:
                    text = Path(f"/proc/{pid}/status").read_text()
                    f = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in text.splitlines())
                         if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem")}
                    if "VmRSS" in f and (self.peak is None or f["VmRSS"] > self.peak[0]):
                        self.peak = (f["VmRSS"], f.get("RssAnon", 0), f.get("RssFile", 0) + f.get("RssShmem", 0))
                except (OSError, ValueError):
                    pass
            self.stop.wait(0.1)


def timed(cmd, stdout_path, env=None, timeout=None):
    """Runs cmd under /usr/bin/time -v; returns exit code and wall/user/sys/peak RSS (and
    the sampled anonymous / file-backed split at the peak)."""
    time_log = str(stdout_path) + ".time"
    with open(stdout_path, "w") as out, open(str(stdout_path) + ".stderr", "w") as err:
        started = time.monotonic()
        proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", time_log] + [str(c) for c in cmd],
                                stdout=out, stderr=err, env=env)
        sampler = RssSampler(proc.pid)
        sampler.start()
        try:
            rc = proc.wait(timeout)
        finally:
            sampler.stop.set()
            sampler.join()
            if proc.poll() is None:
                proc.kill()
        wall = time.monotonic() - started
    text = Path(time_log).read_text()

    def field(label):
        m = re.search(re.escape(label) + r":\s*([0-9.:]+)", text)
        return m.group(1) if m else None

    peak = sampler.peak or (0, 0, 0)
    return {
        "rc": rc, "wall_s": wall,
        "user_s": float(field("User time (seconds)")), "sys_s": float(field("System time (seconds)")),
        "cpu_s": float(field("User time (seconds)")) + float(field("System time (seconds)")),
        "peak_rss_mib": int(field("Maximum resident set size (kbytes)")) / 1024,
        "sampled_peak_anon_mib": peak[1] / 1024, "sampled_peak_file_mib": peak[2] / 1024,
    }


class Sim:
    def __init__(self, binary, work, latency_ms):
        self.work = work
        self.ca = work / "sim-ca.pem"
        self.port = free_port()
        self.base = f"https://127.0.0.1:{self.port}"
        self.binary = binary
        self.latency_ms = latency_ms
        # RSA-1024 token signing: the simulator's own cost, not connwatch's (see BENCHMARKS.md).
        self.token_key_bits = 1024

    def start(self):
        scenario = json.loads((self.work / "scenario.json").read_text())
        scenario["faults"] = [{"service": "*", "latency_ms": self.latency_ms}]
        (self.work / "scenario.json").write_text(json.dumps(scenario))
        self.proc = subprocess.Popen(
            [self.binary, "--scenario", self.work / "scenario.json", "--port", str(self.port),
             "--ca-out", self.ca, "--log-level", "error", "--token-key-bits", str(self.token_key_bits)],
            stdout=subprocess.PIPE, stderr=open(self.work / "sim.log", "w"), text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("connwatch-sim listening on "):
            raise SystemExit(f"bench: the simulator did not start: {line!r}; see {self.work}/sim.log")
        self.session = requests.Session()
        self.session.verify = str(self.ca)
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would override `verify`

    def reset(self):
        self.session.post(self.base + "/_sim/reset-stats", timeout=30).raise_for_status()
        return proc_cpu(self.proc.pid)

    def stats(self, cpu_before):
        s = self.session.get(self.base + "/_sim/stats", timeout=30).json()
        return {"requests": s["total"], "by_service": s["services"], "sim_cpu_s": proc_cpu(self.proc.pid) - cpu_before}

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def db_bytes(path):
    return sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))


def needed_requests(manifest):
    """The fewest requests the checks need per cycle for the fleet's healthy connectors:
    one token per resource (plus a Graph token where the kind has none), one Graph
    application read, and the kind's role/probe reads."""
    extra = {"exchange": 1, "onedrive": 2, "teams": 2, "sharepoint": 2, "azure-blob": 2, "mip": 0}
    total = 0
    for c in manifest["connectors"]:
        resources = [r["id"] for r in c["resources"]]
        total += len(resources) + (0 if "graph" in resources else 1) + 1 + extra[c["kind"]]
    return total


def run_size(n, args, binaries, results):
    work = Path(args.work) / f"n{n}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    sim = Sim(binaries["sim"], work, args.latency_ms)
    log(f"N={n}: generating the fleet")
    config = fleet.build(work, n, binaries["ctl"], sim.base, sim.ca, concurrency=args.concurrency,
                         socket=work / "connwatch.sock", database=work / "connwatch.sqlite")
    sim.start()
    manifest = json.loads((work / "manifest.json").read_text())
    r = {"connectors": n, "needed_requests": needed_requests(manifest),
         # One token per resource the kind needs, plus a Graph token (for the application
         # read) where the kind needs none: Azure Blob.
         "token_resources": sum(len(c["resources"]) + (0 if any(r["id"] == "graph" for r in c["resources"]) else 1)
                                for c in manifest["connectors"])}
    env = dict(os.environ)
    env.pop("CREDENTIALS_DIRECTORY", None)
    env["CONNWATCH_LOG_LEVEL"] = "error"
    try:
        # connwatchd --once
        log(f"N={n}: connwatchd --once")
        before = sim.reset()
        m = timed([binaries["daemon"], "--once", "--config", config, "--credentials-dir",
                   work / "credentials"], work / "once.txt", env=env)
        m.update(sim.stats(before))
        m["db_bytes"] = db_bytes(work / "connwatch.sqlite")
        m["statuses"] = {}
        for line in (work / "once.txt").read_text().splitlines()[1:]:
            status = line.split()[2]
            m["statuses"][status] = m["statuses"].get(status, 0) + 1
        if sum(m["statuses"].values()) != n:
            raise SystemExit(f"bench: connwatchd --once reported {sum(m['statuses'].values())} of {n} connectors")
        r["connwatch"] = m
        log(f"N={n}: connwatch {m['wall_s']:.1f}s wall, {m['cpu_s']:.1f}s CPU, {m['peak_rss_mib']:.0f} MiB, "
            f"{m['requests']} requests, exit {m['rc']}")

        # Python baseline, thread pool
        log(f"N={n}: baseline, {args.concurrency} threads")
        before = sim.reset()
        b = timed([sys.executable, HERE / "baseline.py", work / "manifest.json", "--workers", str(args.concurrency)],
                  work / "baseline-pool.json")
        b.update(sim.stats(before))
        b["statuses"] = json.loads((work / "baseline-pool.json").read_text())["statuses"]
        r["baseline_pool"] = b
        log(f"N={n}: baseline pool {b['wall_s']:.1f}s wall, {b['cpu_s']:.1f}s CPU, {b['requests']} requests")

        # Python baseline, sequential, on a subset
        subset = min(n, args.sequential_subset)
        log(f"N={n}: baseline, sequential over the first {subset}")
        before = sim.reset()
        s = timed([sys.executable, HERE / "baseline.py", work / "manifest.json", "--workers", "1",
                   "--limit", str(subset)], work / "baseline-seq.json")
        s.update(sim.stats(before))
        s["subset"] = subset
        s["extrapolated_wall_s"] = s["wall_s"] / subset * n
        s["extrapolated_cpu_s"] = s["cpu_s"] / subset * n
        r["baseline_sequential"] = s
        log(f"N={n}: baseline sequential {s['wall_s']:.1f}s wall for {subset}")

        if n == max(args.sizes):
            r["status_query"] = status_queries(work, config, binaries, env, args.status_queries)
    finally:
        sim.stop()
    results["sizes"][str(n)] = r


def status_queries(work, config, binaries, env, count):
    """`connwatchctl status --json` against a running daemon holding the fleet."""
    log("status --json: starting the daemon")
    env = dict(env)
    env["RUNTIME_DIRECTORY"] = str(work)
    daemon = subprocess.Popen([binaries["daemon"], "--config", config, "--credentials-dir", work / "credentials"],
                              env=env, stdout=open(work / "daemon.log", "w"), stderr=subprocess.STDOUT)
    sock = work / "connwatch.sock"
    try:
        deadline = time.monotonic() + 300
        while True:
            if daemon.poll() is not None:
                raise SystemExit(f"bench: the daemon exited {daemon.returncode}; see {work}/daemon.log")
            if sock.exists():
                probe = subprocess.run([binaries["ctl"], "--socket", sock, "status", "--json"],
                                       capture_output=True, text=True)
                if probe.returncode == 0:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("bench: the daemon's socket never answered")
            time.sleep(0.5)
        times, size = [], 0
        for _ in range(count):
            started = time.perf_counter()
            # Bytes, not text: the time is connwatchctl's, not Python decoding 16 MB.
            out = subprocess.run([binaries["ctl"], "--socket", sock, "status", "--json"], capture_output=True)
            times.append((time.perf_counter() - started) * 1000)
            if out.returncode != 0:
                raise SystemExit(f"bench: connwatchctl status failed: {out.stderr.decode(errors='replace')}")
            size = len(out.stdout)
        connectors = len(json.loads(out.stdout)["connectors"])
        with open(f"/proc/{daemon.pid}/status") as f:
            status = f.read()
        rss = int(re.search(r"VmRSS:\s*(\d+)", status).group(1)) / 1024
        hwm = int(re.search(r"VmHWM:\s*(\d+)", status).group(1)) / 1024
        log(f"status --json: median {statistics.median(times):.0f} ms, max {max(times):.0f} ms")
        return {"queries": count, "connectors": connectors, "median_ms": statistics.median(times),
                "max_ms": max(times), "bytes": size, "daemon_rss_mib": rss, "daemon_peak_rss_mib": hwm,
                "all_ms": times}
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(60)
        except subprocess.TimeoutExpired:
            daemon.kill()


def history(args, binaries, results):
    work = Path(args.work) / "history"
    work.mkdir(parents=True, exist_ok=True)
    log(f"history: {args.history_days} simulated days of hourly cycles over {args.history_connectors} connectors")
    m = timed([binaries["history"], "--db", work / "history.sqlite", "--connectors", str(args.history_connectors),
               "--days", str(args.history_days)], work / "history.json")
    if m["rc"] != 0:
        raise SystemExit(f"bench: connwatch-history-bench failed; see {work}/history.json.stderr")
    m.update(json.loads((work / "history.json").read_text()))
    results["history"] = m


def mib(x):
    return f"{x:.1f} MiB"


def table(results, args):
    rows = []

    def add(metric, connwatch, baseline="", ratio="", target="", verdict=""):
        rows.append((metric, connwatch, baseline, ratio, target, verdict))

    def ok(flag):
        return "met" if flag else "MISSED"

    for key, r in results["sizes"].items():
        n = r["connectors"]
        c, p, s = r["connwatch"], r["baseline_pool"], r["baseline_sequential"]
        bound = c["requests"] * args.latency_ms / 1000 / args.concurrency
        add(f"N={n:,}", "", "", "", "", "")
        add("  requests / cycle (per connector)", f"{c['requests']:,} ({c['requests'] / n:.2f})",
            f"{p['requests']:,} ({p['requests'] / n:.2f})", f"{c['requests'] / p['requests']:.2f}",
            f"<= needed {r['needed_requests']:,}", ok(c["requests"] <= r["needed_requests"]))
        add("  token requests (tokens needed)", f"{c['by_service'].get('login', 0):,} ({r['token_resources']:,})",
            f"{p['by_service'].get('login', 0):,}", "", "", "")
        add("  concurrency bound = req x 50ms / 64", f"{bound:.1f} s", "", "", "", "")
        target = n >= 10000
        add("  cycle wall", f"{c['wall_s']:.1f} s ({c['wall_s'] / bound:.2f} x bound)",
            f"pool {p['wall_s']:.1f} s; seq {s['extrapolated_wall_s']:.0f} s*",
            f"{c['wall_s'] / p['wall_s']:.2f} / {c['wall_s'] / s['extrapolated_wall_s']:.3f}",
            "<= 1.25 x bound" if target else "", ok(c["wall_s"] <= 1.25 * bound) if target else "")
        cpc = c["cpu_s"] / n * 1000
        ppc = p["cpu_s"] / n * 1000
        spc = s["cpu_s"] / s["subset"] * 1000
        add("  CPU per connector-check (user+sys)", f"{cpc:.2f} ms", f"pool {ppc:.1f} ms; seq {spc:.1f} ms*",
            f"{cpc / ppc:.3f} / {cpc / spc:.3f}", "<= 1/10 baseline", ok(cpc <= ppc / 10 and cpc <= spc / 10))
        add("  peak RSS", mib(c["peak_rss_mib"]), f"pool {mib(p['peak_rss_mib'])}; seq {mib(s['peak_rss_mib'])}*",
            f"{c['peak_rss_mib'] / p['peak_rss_mib']:.2f}", "<= 64 MiB, <= 1/2 baseline",
            ok(c["peak_rss_mib"] <= 64 and c["peak_rss_mib"] <= p["peak_rss_mib"] / 2))
        add("  of it at the peak: anonymous / file-backed", f"{mib(c['sampled_peak_anon_mib'])} / "
            f"{mib(c['sampled_peak_file_mib'])}", f"pool {mib(p['sampled_peak_anon_mib'])} / "
            f"{mib(p['sampled_peak_file_mib'])}", "", "(sampled every 0.1 s)", "")
        add("  database after one cycle", f"{c['db_bytes'] / 1024 / 1024:.1f} MiB", "", "", "", "")
        add("  simulator CPU (its own)", f"{c['sim_cpu_s']:.1f} s", f"pool {p['sim_cpu_s']:.1f} s", "", "", "")
        add("  worst-status exit / statuses", f"{c['rc']} {c['statuses']}", f"{p['statuses']}", "", "", "")
        if "status_query" in r:
            q = r["status_query"]
            add(f"  status --json x{q['queries']} ({q['connectors']:,} conn., {q['bytes'] / 1024 / 1024:.1f} MiB)",
                f"median {q['median_ms']:.0f} ms, max {q['max_ms']:.0f} ms", "", "", "median <= 200 ms",
                ok(q["median_ms"] <= 200))
            add("  daemon RSS holding the fleet", f"{mib(q['daemon_rss_mib'])} (peak {mib(q['daemon_peak_rss_mib'])})",
                "", "", "", "")
    if "history" in results:
        h = results["history"]
        add(f"History: {h['days']} days x 24 cycles, {h['connectors']:,} conn.", "", "", "", "", "")
        add("  DB growth per connector per day", f"{h['bytes_per_connector_per_day']:.0f} B", "", "",
            "<= 1024 B", ok(h["bytes_per_connector_per_day"] <= 1024))
        add("  DB size after day 1 / last day",
            f"{h['size_after_day'][0] / 1048576:.1f} / {h['size_after_day'][-1] / 1048576:.1f} MiB", "", "", "", "")
        add("  rows: history / transitions / notifications",
            f"{h['rows']['result_history']:,} / {h['rows']['transition']:,} / {h['rows']['notification']:,}",
            "", "", "", "")
        add("  churn driver CPU / wall", f"{h['cpu_s']:.1f} s / {h['wall_s']:.1f} s", "", "", "", "")
    head = ("metric", "connwatch", "Python baseline (msal)", "ratio", "target", "verdict")
    widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(len(head))]
    lines = [" | ".join(str(v).ljust(w) for v, w in zip(head, widths)).rstrip(),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
    lines.append("* sequential baseline measured on the first "
                 + ", ".join(f"{r['baseline_sequential']['subset']:,} of {r['connectors']:,}"
                             for r in results["sizes"].values())
                 + " connectors (all six kinds, same state mix) and extrapolated per connector; its RSS is the subset's.")
    lines.append("ratio = connwatch / baseline (pool / sequential where two are given).")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=str(HERE.parent / ".build" / "release"))
    parser.add_argument("--work", default=None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--sequential-subset", type=int, default=180)
    parser.add_argument("--status-queries", type=int, default=20)
    parser.add_argument("--history-connectors", type=int, default=1000)
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--skip-history", action="store_true")
    args = parser.parse_args()
    args.work = args.work or tempfile.mkdtemp(prefix="connwatch-bench-")
    binaries = {"daemon": Path(args.bin) / "connwatchd", "ctl": Path(args.bin) / "connwatchctl",
                "sim": Path(args.bin) / "connwatch-sim", "history": Path(args.bin) / "connwatch-history-bench"}
    results = {"machine": machine(), "args": vars(args), "sizes": {}}
    for n in args.sizes:
        run_size(n, args, binaries, results)
    if not args.skip_history:
        history(args, binaries, results)
    text = table(results, args)
    results["table"] = text
    (Path(args.work) / "results.json").write_text(json.dumps(results, indent=2))
    print(text)
    print(f"\nfigures: {args.work}/results.json")


def machine():
    def sh(cmd):
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    return {"nproc": sh("nproc"), "lscpu": sh("lscpu"), "memory": sh("free -m"), "kernel": sh("uname -sr"),
            "swift": sh("swift --version 2>&1 | head -1"), "python": sys.version.split()[0],
            "msal": sh(f"{sys.executable} -c 'import msal; print(msal.__version__)'"),
            "load_before": sh("cat /proc/loadavg")}


if __name__ == "__main__":
    main()
