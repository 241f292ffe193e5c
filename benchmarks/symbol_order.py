#!/usr/bin/env python3
"""Regenerates link/connwatchd.order: the functions connwatchd runs, hottest first, for the
linker to lay out together (lld --symbol-ordering-file, see Package.swift).

Why: the kernel maps an executable's code in 64 KiB blocks as it runs, so a function used
once pulls its neighbours into memory too; scattered over a 34 MB text, the code connwatchd
runs made ~22 MiB of it resident. Laid out together it is ~14 MiB, ~8 MiB when every module
has one section per function (scripts/release-build.sh) and the unnamed functions, which no
list can name, are grouped by link/connwatchd.ld (BENCHMARKS.md).

How: under valgrind's callgrind, against the simulator with a 120-connector benchmark fleet
(every kind and state), (1) `connwatchd --once`, then (2) connwatchd as a daemon through a
cycle, the control socket's commands, a check, a silence and a reload. Every function of the
binary that ran is listed, ordered by its own cost, the cycle's functions first, then the
CPU-specific BoringSSL code valgrind does not run. A function missing from the list (new
code) is only placed elsewhere: the order never changes behaviour.

    benchmarks/symbol_order.py            # builds release (scripts/release-build.sh),
                                          # writes link/connwatchd.order
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import bench  # noqa: E402
import fleet  # noqa: E402


def callgrind_functions(path, binary_name):
    """Functions of `binary_name` with a non-zero own cost, hottest first."""
    names, objs, cost = {}, {}, collections.Counter()
    cur, obj, skip = None, None, False
    for line in open(path, errors="replace"):
        if line.startswith(("ob=", "cob=")):
            m = re.match(r"c?ob=\((\d+)\)(?: (.*))?", line.strip())
            if m and m.group(2):
                objs[m.group(1)] = m.group(2)
            if line.startswith("ob=") and m:
                obj = objs.get(m.group(1))
        elif line.startswith(("fn=", "cfn=")):
            m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line.strip())
            if m and m.group(2):
                names[m.group(1)] = m.group(2)
            if line.startswith("fn=") and m:
                cur = (names[m.group(1)], obj)
        elif line.startswith("calls="):
            skip = True  # the next cost line is the call's inclusive cost
        elif line[:1] in "0123456789+-*" and cur:
            if skip:
                skip = False
                continue
            parts = line.split()
            if len(parts) >= 2:
                cost[cur] += int(parts[1])
    mine = [(n, c) for (n, o), c in cost.items() if o and Path(o).name == binary_name and c > 0]
    mine.sort(key=lambda x: -x[1])
    return [n for n, _ in mine]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connectors", type=int, default=120)
    parser.add_argument("--out", default=str(ROOT / "link" / "connwatchd.order"))
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not shutil.which("valgrind"):
        raise SystemExit("symbol_order: valgrind is needed (apt-get install valgrind)")
    build = [str(ROOT / "scripts" / "release-build.sh")]
    if not args.no_build:
        subprocess.run(build, cwd=ROOT, check=True)
    bindir = Path(subprocess.run(build + ["--show-bin-path"],
                                 cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip())
    work = Path(tempfile.mkdtemp(prefix="connwatch-order-"))
    # valgrind cannot read the toolchain's DWARF: profile a copy without debug info (same code).
    daemon = work / "connwatchd"
    subprocess.run(["objcopy", "--strip-debug", bindir / "connwatchd", daemon], check=True)
    sim = bench.Sim(bindir / "connwatch-sim", work, latency_ms=5)
    sock = work / "connwatch.sock"
    config = fleet.build(work, args.connectors, bindir / "connwatchctl", sim.base, sim.ca, concurrency=16,
                         socket=sock, database=work / "connwatch.sqlite")
    sim.start()
    env = dict(os.environ, CONNWATCH_LOG_LEVEL="error")
    env.pop("CREDENTIALS_DIRECTORY", None)
    grind = ["valgrind", "--tool=callgrind", "--demangle=no", "--dump-instr=no", "--collect-jumps=no"]
    common = ["--config", config, "--credentials-dir", work / "credentials"]
    ctl = [bindir / "connwatchctl", "--socket", sock]
    try:
        print("symbol_order: connwatchd --once under callgrind", file=sys.stderr)
        subprocess.run(grind + [f"--callgrind-out-file={work}/once.cg", daemon, "--once"] + common,
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)
        print("symbol_order: connwatchd as a daemon under callgrind", file=sys.stderr)
        proc = subprocess.Popen(grind + [f"--callgrind-out-file={work}/daemon.cg", daemon] + common,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(30)  # the start-up cycle
        names = fleet_names(config)
        for cmd in (["status"], ["status", "--json"], ["status", names[0]], ["history", names[0]], ["alerts"],
                    ["deliveries"], ["nagios"], ["check", names[1]],
                    ["silence", names[2], "--reason", "symbol order", "--for", "1h"], ["reload"], ["status"]):
            subprocess.run(ctl + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        subprocess.run(["curl", "-s", "--unix-socket", sock, "http://localhost/metrics"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        proc.terminate()
        proc.wait(300)
    finally:
        sim.stop()
    ordered, seen = [], set()
    for name in callgrind_functions(work / "once.cg", "connwatchd") + callgrind_functions(
            work / "daemon.cg", "connwatchd"):
        if name not in seen:
            seen.add(name)
            ordered.append(name)
    if len(ordered) < 1000:
        raise SystemExit(f"symbol_order: only {len(ordered)} functions recorded; see {work}")
    # BoringSSL picks its AES-GCM, GHASH, ChaCha20, bignum and curve code by CPU feature;
    # under valgrind's CPU model the generic code runs, natively these (~0.2 MB in all).
    for name in cpu_specific_functions(bindir / "connwatchd"):
        if name not in seen:
            seen.add(name)
            ordered.append(name)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(ordered) + "\n")
    print(f"symbol_order: {len(ordered)} functions -> {args.out}", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)


def cpu_specific_functions(binary):
    """The binary's C and assembly functions specific to a CPU feature (AVX, AES-NI, ...)."""
    out = subprocess.run(["nm", "--defined-only", binary], check=True, capture_output=True, text=True).stdout
    pattern = re.compile(r"(avx|vaes|vpclmul|_adx|mulx|shaext|aesni|_hw_|x4x|clmul)", re.I)
    names = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW" and not parts[2].startswith("$s") and pattern.search(parts[2]):
            names.append(parts[2])
    return sorted(set(names))


def fleet_names(config):
    return re.findall(r'^name = "([^"]+)"', Path(config).read_text(), re.M)


if __name__ == "__main__":
    main()
