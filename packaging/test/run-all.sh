#!/usr/bin/env bash
# The packaging tests, run by scripts/test.sh (and so by .ci/run):
#   1. the release binaries, built once and reused by every step below;
#   2. the unit: systemd-analyze verify (with the binaries in place) and security;
#   3. the DESTDIR layout, modes, sysusers/tmpfiles/catalog on the tree, reinstall, uninstall;
#   4. the .deb: built with dpkg-deb from the same tree, same file list, lintian;
#   5. a real systemd 252 booted in a container runs the package (systemd_boot.py).
# Needs root, systemd-container and debootstrap (scripts/install-deps.sh installs them).
# CONNWATCH_NSPAWN_CACHE (default .build-nspawn/ in the source tree) keeps the debootstrapped
# root between runs; CONNWATCH_SKIP_BOOT=1 skips step 5 (for a machine without nspawn).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
packaging=$(dirname "$here")
repo=$(dirname "$packaging")
cd "$repo"
started=$(date +%s)
section() { echo; echo "=== packaging: $* ($(($(date +%s) - started))s)"; }

# 1. Release binaries, once.
section "release build"
for product in connwatchd connwatchctl; do
  scripts/release-build.sh --product "$product"
done
CONNWATCH_RELEASE_BIN_DIR=$(scripts/release-build.sh --show-bin-path)
export CONNWATCH_RELEASE_BIN_DIR
# The code connwatchd runs lies together (the order file, per-function sections, the
# unnamed functions grouped): a build change that loses one fails here, not in memory.
"$here/code_layout.py" "$CONNWATCH_RELEASE_BIN_DIR/connwatchd"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 2. The unit, installed with its binaries into a root: verify and security.
section "systemd-analyze verify and security"
DESTDIR=$work/verify "$packaging/install.sh" --no-build >/dev/null
systemd-analyze verify --man=no --recursive-errors=no --root="$work/verify" connwatchd.service
# The check must be able to fail: without the binary, verify refuses the unit.
mv "$work/verify/usr/bin/connwatchd" "$work/connwatchd.moved"
if systemd-analyze verify --man=no --recursive-errors=no --root="$work/verify" connwatchd.service 2>/dev/null; then
  echo "systemd-analyze verify accepted the unit without its binary: the check is not checking" >&2
  exit 1
fi
mv "$work/connwatchd.moved" "$work/verify/usr/bin/connwatchd"
systemd-analyze security --offline=true --threshold=15 "$packaging/systemd/connwatchd.service" >"$work/security.txt" || {
  cat "$work/security.txt" >&2
  echo "systemd-analyze security: exposure above 1.5" >&2
  exit 1
}
grep 'Overall exposure level' "$work/security.txt"

# 3. The DESTDIR layout.
section "DESTDIR layout"
"$here/layout.sh"

# 4. The Debian package.
section "Debian package"
deb=$("$packaging/build-deb.sh" --no-build --out "$work/dist" | tail -1)
echo "built $deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
# The binaries use packed relative relocations (DT_RELR): the package must ask for a glibc
# that loads them (2.36), which dpkg-shlibdeps alone would not.
versions=$(readelf -VW "$work/verify/usr/bin/connwatchd")
if [[ "$versions" == *GLIBC_ABI_DT_RELR* ]]; then
  min=$(dpkg-deb --field "$deb" Depends | sed -nE 's/.*libc6 \(>= ([^)]+)\).*/\1/p')
  [ -n "$min" ] && dpkg --compare-versions "$min" ge 2.36 || {
    echo "connwatchd needs GLIBC_ABI_DT_RELR but the .deb depends on libc6 (>= ${min:-?})" >&2
    exit 1
  }
  echo "DT_RELR binaries: Depends libc6 (>= $min)"
fi
# Same files, same modes, as the DESTDIR install (dpkg-deb lists ./path, dirs with a slash).
(cd "$work/verify" && find . -mindepth 1 -printf '%M %p\n' | sed 's|^\(d[^ ]*\) \(.*\)$|\1 \2/|' | LC_ALL=C sort -k2) >"$work/tree.list"
dpkg-deb --contents "$deb" | awk '$6 != "./" {print $1, $6}' | LC_ALL=C sort -k2 >"$work/deb.list"
diff -u "$work/tree.list" "$work/deb.list" || { echo "the .deb's contents differ from the DESTDIR install" >&2; exit 1; }
if dpkg-deb --contents "$deb" | awk '{print $2}' | grep -qv '^root/root$'; then
  echo "files in the .deb not owned by root:root" >&2
  exit 1
fi
echo "dpkg-deb --contents: the same $(wc -l <"$work/deb.list") entries and modes as the DESTDIR install, root:root"
if command -v lintian >/dev/null; then
  # Errors fail; warnings are shown. The package's overrides say why they are there.
  lintian --fail-on error "$deb"
  echo "lintian: no errors"
else
  echo "lintian: not installed, skipped"
fi

# 5. Under a real systemd.
if [ "${CONNWATCH_SKIP_BOOT:-}" = 1 ]; then
  section "systemd boot test SKIPPED (CONNWATCH_SKIP_BOOT=1)"
else
  section "systemd boot test"
  CONNWATCH_BIN_DIR=${CONNWATCH_BIN_DIR:-$(swift build --show-bin-path)} \
    python3 "$here/systemd_boot.py" --deb "$deb" --cache "${CONNWATCH_NSPAWN_CACHE:-$repo/.build-nspawn}"
fi
section "all packaging tests passed"
