#!/usr/bin/env bash
# connwatch's soak run (issue 19): a running connwatchd over 1,000 connectors at a 10 s
# check_interval for 30 minutes and at least 60 full cycles, with random faults on 5% of the
# tenants; samples RSS, open file descriptors and database size. See BENCHMARKS.md, "Soak".
# Not part of CI (it runs for half an hour).
#
#   benchmarks/soak.sh                         # release build (scripts/release-build.sh), defaults
#   benchmarks/soak.sh --minutes 5 --cycles 10 # a quick look
#   SOAK_BIN=.build/debug benchmarks/soak.sh   # binaries already built elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c 'import requests' 2>/dev/null; then
    python3 -m pip install -q -r Tests/requirements.txt 2>/dev/null \
        || python3 -m pip install -q --break-system-packages -r Tests/requirements.txt
fi
command -v openssl >/dev/null || { echo "soak: openssl is needed (apt-get install openssl)" >&2; exit 1; }
if [ -z "${SOAK_BIN:-}" ]; then
    echo "soak: building (scripts/release-build.sh)" >&2
    scripts/release-build.sh >&2
    SOAK_BIN=$(scripts/release-build.sh --show-bin-path)
fi
exec python3 benchmarks/soak.py --bin "$SOAK_BIN" "$@"
