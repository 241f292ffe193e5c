#!/usr/bin/env bash
# Makes docs/report.png, the README's picture of the report: the demo's connectors (the
# simulated Microsoft cloud of scripts/demo.sh, seeded by scripts/demo-scenario.py from
# config/), one check cycle by a running connwatchd, `connwatchctl report --html`, and a
# screenshot by Debian's headless Chromium (scripts/install-deps.sh installs it).
#   ./scripts/report-png.sh [OUT.png]     default docs/report.png
# The page itself stays in the temporary directory unless REPORT_HTML=path is set.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/report.png}"
chromium="$(command -v chromium || true)"
[ -n "$chromium" ] || { echo "chromium is not installed: run scripts/install-deps.sh" >&2; exit 1; }
swift build --force-resolved-versions
bin="$(swift build --show-bin-path)"
./scripts/example-secrets.sh >/dev/null

work="$(mktemp -d /tmp/connwatch-report.XXXXXX)"
sim_pid=""
daemon_pid=""
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The simulated cloud, seeded with the same secrets and certificates as config/ (as demo.sh).
python3 scripts/demo-scenario.py --out "$work/scenario.json" >/dev/null
"$bin/connwatch-sim" --scenario "$work/scenario.json" --port 0 --ca-out "$work/sim-ca.pem" \
  >"$work/sim.out" 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/sim.out" 2>/dev/null && break; sleep 0.1; done
base="$(sed -n 's/^connwatch-sim listening on //p' "$work/sim.out")"
[ -n "$base" ] || { echo "connwatch-sim did not start:" >&2; cat "$work/sim.log" >&2; exit 1; }

# The example configuration pointed at the simulator (the same as demo.sh's), its own socket.
mkdir -p "$work/connectors.d"
cp config/connectors.d/*.toml "$work/connectors.d/"
ln -s "$PWD/config/keys" "$work/keys"
ln -s "$PWD/config/secrets" "$work/secrets"
{
  cat <<TOML
[daemon]
check_interval = "1h"
concurrency = 8
database = "$work/connwatch.sqlite"
socket = "$work/connwatch.sock"
socket_group = "root"
ca_file = "$work/sim-ca.pem"

[cloud]
login_endpoint = "$base/login"
graph_endpoint = "$base/graph"
management_endpoint = "$base/arm"
office_management_endpoint = "$base/office"
sharepoint_endpoint = "$base/sharepoint"

[zscaler]
token_endpoint = "$base/zslogin/oauth2/v1/token"
api_base = "$base/zia/api/v1"
client_id = "connwatch-demo"
client_secret_credential = "zscaler-api"

TOML
  sed -n '/^\[\[connector\]\]/,$p' config/connwatch.toml
} >"$work/connwatch.toml"

TZ="${TZ:-UTC}" "$bin/connwatchd" --config "$work/connwatch.toml" --credentials-dir config/credentials \
  >"$work/connwatchd.log" 2>&1 &
daemon_pid=$!
ctl=("$bin/connwatchctl" --socket "$work/connwatch.sock")
for _ in $(seq 300); do [ -S "$work/connwatch.sock" ] && break; sleep 0.1; done
[ -S "$work/connwatch.sock" ] || { echo "connwatchd did not start:" >&2; cat "$work/connwatchd.log" >&2; exit 1; }
# One whole cycle, waited for; its exit code is the worst status (0–3).
set +e
"${ctl[@]}" check --all >/dev/null
rc=$?
set -e
[ "$rc" -le 3 ] || { echo "connwatchctl check failed ($rc)" >&2; cat "$work/connwatchd.log" >&2; exit 1; }
"${ctl[@]}" report --html "$work/report.html" --days 120
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
