#!/usr/bin/env python3
"""Checks how the release connwatchd's code is laid out (BENCHMARKS.md, memory).

The kernel maps code in 64 KiB blocks as it runs, so connwatchd's resident memory depends on
the functions it runs lying together. That takes three things, any of which a change to the
build can silently lose:
  - link/connwatchd.order applied (lld --symbol-ordering-file, Package.swift);
  - one section per function in every module (scripts/release-build.sh): otherwise each
    source file's code moves as one block and the listed functions spread far apart;
  - link/connwatchd.ld applied: the unnamed functions in one `.text.unnamed` section.

    packaging/test/code_layout.py BINARY [ORDER_FILE]

Fails when 98% of the listed functions do not lie within the first SPAN_LIMIT of the text (a
few the linker cannot move, e.g. names defined twice, may lie anywhere), or `.text.unnamed` is
missing or large. For the record it prints the figures.
"""
import re
import subprocess
import sys
from pathlib import Path

# The listed functions with their sections moved as blocks: ~17 MiB; one section per
# function: ~9.5 MiB (the Swift runtime and Foundation ship prebuilt, whole sections).
SPAN_LIMIT = 12 << 20
UNNAMED_LIMIT = 1 << 20


def sections(binary):
    out = subprocess.run(["readelf", "-SW", binary], check=True, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m:
            found[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16))
    return found


def main():
    binary = sys.argv[1]
    order = Path(sys.argv[2] if len(sys.argv) > 2 else Path(__file__).resolve().parents[2] / "link" / "connwatchd.order")
    secs = sections(binary)
    problems = []
    if ".text" not in secs:
        raise SystemExit(f"code_layout: {binary} has no .text")
    text_start, text_size = secs[".text"]
    unnamed = secs.get(".text.unnamed")
    if unnamed is None:
        problems.append("no .text.unnamed section: link/connwatchd.ld was not applied, or the modules were "
                        "built without one section per function (scripts/release-build.sh)")
    elif unnamed[1] > UNNAMED_LIMIT:
        problems.append(f".text.unnamed is {unnamed[1]} bytes, more than {UNNAMED_LIMIT}")

    addresses = {}
    out = subprocess.run(["nm", "--defined-only", binary], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            addresses.setdefault(parts[2], int(parts[0], 16))
    listed = [n.strip() for n in order.read_text().splitlines() if n.strip()]
    present = [addresses[n] for n in listed if n in addresses and text_start <= addresses[n] < text_start + text_size]
    if len(present) < len(listed) // 2:
        problems.append(f"only {len(present)} of the {len(listed)} listed functions are in the binary's .text")
    offsets = sorted(a - text_start for a in present)
    span = offsets[int(len(offsets) * 0.98)] if offsets else text_size
    print(f"code_layout: 98% of the {len(present)} listed functions in the binary (of {len(listed)}) lie within "
          f"the first {span / 1048576:.1f} MiB of a {text_size / 1048576:.1f} MiB .text (limit {SPAN_LIMIT >> 20} MiB); "
          f".text.unnamed {unnamed[1] if unnamed else 0} bytes")
    if span > SPAN_LIMIT:
        problems.append(f"the listed functions spread over {span / 1048576:.1f} MiB of .text, more than "
                        f"{SPAN_LIMIT >> 20} MiB: was the order file applied and every module built with one "
                        "section per function?")
    for p in problems:
        print(f"code_layout: {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
