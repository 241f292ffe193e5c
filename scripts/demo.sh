#!/usr/bin/env bash
# The demo command: builds connwatch and shows it on the example configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
swift build
./scripts/example-secrets.sh
echo
echo "== connwatchd --check-config on the shipped example =="
.build/debug/connwatchd --check-config --config config/connwatch.toml --credentials-dir config/credentials
echo
echo "== what a SharePoint connector needs (connwatchctl permissions sharepoint) =="
.build/debug/connwatchctl permissions sharepoint
echo
echo "The live demo (the daemon checking these connectors against the simulated Microsoft"
echo "cloud) is not built yet: it arrives with the daemon (issue #4)."
