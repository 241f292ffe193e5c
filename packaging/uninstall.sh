#!/usr/bin/env bash
# Undoes packaging/install.sh: stops and disables the service, removes the binaries, the
# unit, sysusers.d, tmpfiles.d, the catalog and the documentation.
# The configuration (/etc/connwatch) and the history (/var/lib/connwatch) stay unless
# --purge is given; the connwatch system user always stays (its UID may own files).
#
#   packaging/uninstall.sh [--purge] [--destdir DIR] [--prefix PREFIX]
#   (DESTDIR= and PREFIX= in the environment work too; use the install's values.)
set -euo pipefail
destdir=${DESTDIR:-}
prefix=${PREFIX:-/usr}
purge=0
while (($#)); do
  case $1 in
    --purge) purge=1; shift ;;
    --destdir) destdir=$2; shift 2 ;;
    --destdir=*) destdir=${1#*=}; shift ;;
    --prefix) prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "uninstall.sh: unknown argument: $1 (see --help)" >&2; exit 64 ;;
  esac
done
prefix=${prefix%/}
D=${destdir%/}

if [ -z "$D" ] && [ -d /run/systemd/system ] && [ -e "$prefix/lib/systemd/system/connwatchd.service" ]; then
  systemctl disable --now connwatchd.service
fi

rm -f "$D$prefix/bin/connwatchd" "$D$prefix/bin/connwatchctl" \
  "$D$prefix/lib/systemd/system/connwatchd.service" \
  "$D$prefix/lib/sysusers.d/connwatch.conf" \
  "$D$prefix/lib/tmpfiles.d/connwatch.conf" \
  "$D$prefix/lib/systemd/catalog/connwatch.catalog" \
  "$D$prefix/share/lintian/overrides/connwatch"
rm -rf "$D$prefix/share/doc/connwatch"

if ((purge)); then
  rm -rf "$D/etc/connwatch" "$D/var/lib/connwatch"
  echo "removed the configuration /etc/connwatch and the history /var/lib/connwatch"
else
  echo "kept the configuration (/etc/connwatch) and the history (/var/lib/connwatch); --purge removes them"
fi

if [ -z "$D" ]; then
  journalctl --update-catalog
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
  fi
fi
