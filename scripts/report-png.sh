#!/usr/bin/env bash
# Makes docs/report.png, the README's picture of the report: the page the demo writes
# (`DEMO_ONCE=1 ./scripts/demo.sh`: the simulated Microsoft cloud, the example connectors, one
# check cycle, `connwatchctl report --html`), screenshot by Debian's headless Chromium
# (scripts/install-deps.sh installs it).
#   ./scripts/report-png.sh [OUT.png]     default docs/report.png
# The page itself stays in the temporary directory unless REPORT_HTML=path is set.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/report.png}"
chromium="$(command -v chromium || true)"
[ -n "$chromium" ] || { echo "chromium is not installed: run scripts/install-deps.sh" >&2; exit 1; }
work="$(mktemp -d /tmp/connwatch-report.XXXXXX)"
trap 'rm -rf "$work"' EXIT INT TERM
# The demo's first cycle and its report page (scripts/demo.sh writes it to DEMO_OUT).
TZ="${TZ:-UTC}" DEMO_ONCE=1 DEMO_OUT="$work/demo" ./scripts/demo.sh >"$work/demo.log" 2>&1 || {
  cat "$work/demo.log" >&2
  exit 1
}
cp "$work/demo/report.html" "$work/report.html"
[ -n "${REPORT_HTML:-}" ] && cp "$work/report.html" "$REPORT_HTML"

"$chromium" --headless=new --no-sandbox --disable-gpu --user-data-dir="$work/profile" \
  --host-resolver-rules="MAP * ~NOTFOUND" --disable-background-networking --disable-component-update \
  --disable-extensions --hide-scrollbars --window-size="${REPORT_WIDTH:-1200},${REPORT_HEIGHT:-2700}" \
  --screenshot="$work/report.png" "file://$work/report.html" 2>"$work/chromium.log" || {
  cat "$work/chromium.log" >&2
  exit 1
}
mkdir -p "$(dirname "$out")"
cp "$work/report.png" "$out"
echo "wrote $out ($(stat -c %s "$out") bytes) from the demo's report"
