#!/usr/bin/env bash
# Installs connwatch: release binaries, the systemd unit, sysusers.d, tmpfiles.d, the
# journal catalog, documentation, and an example /etc/connwatch/connwatch.toml
# (never overwriting an existing one).
#
#   packaging/install.sh [--no-build] [--destdir DIR] [--prefix PREFIX]
#   DESTDIR=/tmp/root PREFIX=/usr packaging/install.sh      (make-style, same effect)
#
# --no-build      use the release binaries already built (scripts/release-build.sh),
#                 e.g. built as a normal user before `sudo …`;
#                 CONNWATCH_RELEASE_BIN_DIR=DIR takes them from DIR instead.
# --destdir DIR   stage into DIR (packaging): nothing outside DIR is touched and no
#                 systemd helper runs. Without it, the script runs systemd-sysusers,
#                 systemd-tmpfiles, journalctl --update-catalog and, when systemd is PID 1,
#                 systemctl daemon-reload. The service is neither enabled nor started.
# --prefix PREFIX /usr (default) or e.g. /usr/local; configuration is always in /etc.
set -euo pipefail
umask 022
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

destdir=${DESTDIR:-}
prefix=${PREFIX:-/usr}
build=1
while (($#)); do
  case $1 in
    --destdir) destdir=$2; shift 2 ;;
    --destdir=*) destdir=${1#*=}; shift ;;
    --prefix) prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --no-build) build=0; shift ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument: $1 (see --help)" >&2; exit 64 ;;
  esac
done
case $prefix in /*) ;; *) echo "install.sh: --prefix must be absolute: $prefix" >&2; exit 64 ;; esac
prefix=${prefix%/}
[ -n "$prefix" ] || { echo "install.sh: --prefix / is not supported; use /usr" >&2; exit 64; }
if [ -n "$destdir" ]; then
  mkdir -p "$destdir"
  destdir=$(cd "$destdir" && pwd)
  [ "$destdir" != / ] || destdir=
fi

# --- binaries -------------------------------------------------------------------------
if [ -n "${CONNWATCH_RELEASE_BIN_DIR:-}" ]; then
  bin_src=$CONNWATCH_RELEASE_BIN_DIR
else
  if ((build)); then
    echo "building release binaries (scripts/release-build.sh)…"
    for product in connwatchd connwatchctl; do
      "$repo/scripts/release-build.sh" --product "$product"
    done
  fi
  bin_src=$("$repo/scripts/release-build.sh" --show-bin-path)
fi
for b in connwatchd connwatchctl; do
  [ -x "$bin_src/$b" ] || { echo "install.sh: $bin_src/$b is missing; build it or drop --no-build" >&2; exit 1; }
done

bindir=$prefix/bin
unitdir=$prefix/lib/systemd/system
docdir=$prefix/share/doc/connwatch
D=$destdir

# install -D creates parents with mode 0755 whatever the umask.
inst() { install -D -m "$1" "$2" "$D$3"; }
instdir() { install -d -m "$1" "$D$2"; }

inst 0755 "$bin_src/connwatchd" "$bindir/connwatchd"
inst 0755 "$bin_src/connwatchctl" "$bindir/connwatchctl"
# Debug information is not shipped (the Swift metadata the runtime needs stays).
strip --strip-unneeded "$D$bindir/connwatchd" "$D$bindir/connwatchctl"

# The unit names /usr paths; other prefixes get theirs substituted.
unit_tmp=$(mktemp)
trap 'rm -f "$unit_tmp"' EXIT
sed -e "s|^ExecStart=/usr/bin/|ExecStart=$bindir/|" \
    -e "s|^ExecReload=/usr/bin/|ExecReload=$bindir/|" \
    -e "s|^Documentation=file:/usr/share/doc/connwatch/|Documentation=file:$docdir/|" \
    "$here/systemd/connwatchd.service" >"$unit_tmp"
inst 0644 "$unit_tmp" "$unitdir/connwatchd.service"
inst 0644 "$here/sysusers.d/connwatch.conf" "$prefix/lib/sysusers.d/connwatch.conf"
inst 0644 "$here/tmpfiles.d/connwatch.conf" "$prefix/lib/tmpfiles.d/connwatch.conf"
inst 0644 "$here/catalog/connwatch.catalog" "$prefix/lib/systemd/catalog/connwatch.catalog"

inst 0644 "$here/debian/lintian-overrides" "$prefix/share/lintian/overrides/connwatch"
inst 0644 "$repo/README.md" "$docdir/README.md"
inst 0644 "$here/debian/copyright" "$docdir/copyright"
gzip -9n <"$here/debian/changelog" >"$unit_tmp"
inst 0644 "$unit_tmp" "$docdir/changelog.gz"
inst 0644 "$repo/config/connwatch.toml" "$docdir/examples/connwatch.toml"
for f in "$repo"/config/connectors.d/*.toml; do
  inst 0644 "$f" "$docdir/examples/connectors.d/$(basename "$f")"
done

# Configuration: an example to edit, never overwriting the operator's. Mode 0640: it names
# the tenants, credentials and webhooks, for root and the connwatch group only. The group is
# set by systemd-tmpfiles (tmpfiles.d `z` line) once systemd-sysusers has created it: below on
# a live system, in the postinst for the .deb (a DESTDIR tree has no connwatch group yet).
instdir 0755 /etc/connwatch
instdir 0755 /etc/connwatch/connectors.d
if [ -e "$D/etc/connwatch/connwatch.toml" ]; then
  echo "keeping the existing $D/etc/connwatch/connwatch.toml (the example is in $docdir/examples/)"
else
  inst 0640 "$repo/config/connwatch.toml" /etc/connwatch/connwatch.toml
fi

if [ -n "$destdir" ]; then
  echo "installed into $destdir (no systemd helper run)"
  exit 0
fi

# --- live system ----------------------------------------------------------------------
systemd-sysusers "$prefix/lib/sysusers.d/connwatch.conf"
# Also sets /etc/connwatch/connwatch.toml to 0640 root:connwatch.
systemd-tmpfiles --create "$prefix/lib/tmpfiles.d/connwatch.conf"
journalctl --update-catalog
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
else
  echo "systemd is not running as PID 1 here: skipped systemctl daemon-reload"
fi
cat <<EOF
connwatch is installed. Next:
  1. edit /etc/connwatch/connwatch.toml (connectors, webhooks; no secrets in it)
  2. put each secret in place, e.g.
       systemd-creds encrypt --name=<id> - /etc/credstore.encrypted/<id>
     and add LoadCredentialEncrypted=<id> lines with: systemctl edit connwatchd
  3. systemctl enable --now connwatchd; then systemctl status connwatchd
EOF
