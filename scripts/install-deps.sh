#!/usr/bin/env bash
# Installs what a fresh Debian 12 / Ubuntu 24.04 machine lacks to build and test connwatch
# (the Swift toolchain itself is expected on PATH). Idempotent; needs root for apt-get.
set -euo pipefail
need=()
# faketime (libfaketime): Tests/e2e/test_crash_faults.py steps connwatchd's wall clock with it.
# Tests/e2e/test_digest.py runs connwatchd under it too (a digest due a minute after a faked start).
for pkg in libsystemd-dev libsqlite3-dev pkg-config openssl curl faketime; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
# Python 3 with pip runs the MSAL fidelity test of the simulator (Tests/python).
{ command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; } || need+=(python3 python3-pip)
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The packaging tests (packaging/test/run-all.sh): strip/readelf, dpkg-shlibdeps, lintian, and a
# real systemd booted in a container. No recommends: systemd-container's would pull in
# libnss-mymachines, which edits nsswitch.conf.
need=()
for pkg in binutils dpkg-dev lintian systemd-container debootstrap; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The report in a real browser (Tests/e2e/test_report_browser.py, scripts/report-png.sh):
# Debian's headless-capable chromium and one font, without the recommends (no desktop stack).
need=()
for pkg in chromium fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Where there is no such package (Ubuntu ships Chromium as a snap), the browser test skips.
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    echo "warning: could not install ${need[*]}: Tests/e2e/test_report_browser.py will be skipped" >&2
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install the Swift 6.x toolchain first" >&2; exit 1; }
# Microsoft's own MSAL library checks the simulator's wire formats (Tests/python); the control
# socket's replies are checked against docs/control-api.yaml and Prometheus' parser (Tests/e2e).
# Exactly the versions pinned in Tests/requirements.txt (pip touches nothing when they are
# already installed).
req="$(dirname "$0")/../Tests/requirements.txt"
if ! python3 -m pip install -q --disable-pip-version-check -r "$req" 2>/dev/null; then
  python3 -m pip install -q --disable-pip-version-check --break-system-packages -r "$req"
fi
