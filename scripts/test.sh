#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
swift build --build-tests --force-resolved-versions
# Tests that read the journal need a working journald: an entry sent must come back from
# journalctl (a fresh machine may have none, or a stale socket); checked after the long build.
./scripts/ensure-journal.sh
# The real binaries: the simulator against Microsoft's own MSAL library (Tests/python),
# connwatchd end to end with journald, SQLite and a NOTIFY_SOCKET (Tests/e2e).
CONNWATCH_BIN_DIR="$(swift build --show-bin-path)" python3 -m pytest -q -p no:cacheprovider Tests/python Tests/e2e
# Packaging: install layout, the .deb, and the package under a real systemd 252 in a container.
packaging/test/run-all.sh
./scripts/ensure-journal.sh
swift test --force-resolved-versions
