#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
# Tests that read the journal need journald; start it when this machine has none running.
if [ ! -S /run/systemd/journal/socket ] && [ -x /lib/systemd/systemd-journald ]; then
  mkdir -p /run/systemd/journal
  /lib/systemd/systemd-journald >/dev/null 2>&1 &
  for _ in $(seq 50); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
fi
swift build --build-tests
# The real binaries: the simulator against Microsoft's own MSAL library (Tests/python),
# connwatchd end to end with journald, SQLite and a NOTIFY_SOCKET (Tests/e2e).
CONNWATCH_BIN_DIR="$(swift build --show-bin-path)" python3 -m pytest -q -p no:cacheprovider Tests/python Tests/e2e
# Packaging: install layout, the .deb, and the package under a real systemd 252 in a container.
packaging/test/run-all.sh
swift test
