#!/usr/bin/env bash
# connwatch's benchmark (issue 8): one command, one table. See BENCHMARKS.md.
#
#   benchmarks/run.sh                      # N = 1,000 and 10,000, 30 simulated days
#   benchmarks/run.sh --sizes 1000         # a quicker run (no 10k figures)
#   BENCH_WORK=/tmp/cw-bench benchmarks/run.sh   # keep the work files there
#
# Installs what it needs and is missing (GNU time, openssl; the pinned Python tools of
# Tests/requirements.txt), builds the release binaries the way packaging does, then runs
# benchmarks/bench.py, which prints the table and writes results.json.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
[ -x /usr/bin/time ] || missing+=(time)
command -v openssl >/dev/null || missing+=(openssl)
dpkg -s libsqlite3-dev >/dev/null 2>&1 || missing+=(libsqlite3-dev)
dpkg -s libsystemd-dev >/dev/null 2>&1 || missing+=(libsystemd-dev)
if [ ${#missing[@]} -gt 0 ]; then
    echo "benchmark: installing ${missing[*]}" >&2
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! python3 -c 'import msal, requests, cryptography' 2>/dev/null; then
    echo "benchmark: installing the pinned Python tools (Tests/requirements.txt)" >&2
    python3 -m pip install -q -r Tests/requirements.txt 2>/dev/null \
        || python3 -m pip install -q --break-system-packages -r Tests/requirements.txt
fi

echo "benchmark: building (scripts/release-build.sh)" >&2
scripts/release-build.sh >&2
bin=$(scripts/release-build.sh --show-bin-path)

work="${BENCH_WORK:-$(mktemp -d /tmp/connwatch-bench-XXXXXX)}"
exec python3 benchmarks/bench.py --bin "$bin" --work "$work" "$@"
