#!/usr/bin/env bash
# The DESTDIR install lays out exactly the expected files with the expected modes; the
# systemd helpers accept that tree; a second install keeps an edited configuration;
# uninstall keeps configuration and state unless --purge; another PREFIX is substituted.
#
#   packaging/test/layout.sh   (release binaries must be built; CONNWATCH_RELEASE_BIN_DIR
#                               overrides where they are taken from)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
packaging=$(dirname "$here")
repo=$(dirname "$packaging")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "layout.sh: FAIL: $*" >&2; exit 1; }

# The expected tree: mode, type, path.
expected() {
  cat <<'EOF'
0755 d etc
0755 d etc/connwatch
0755 d etc/connwatch/connectors.d
0640 f etc/connwatch/connwatch.toml
0755 d usr
0755 d usr/bin
0755 f usr/bin/connwatchctl
0755 f usr/bin/connwatchd
0755 d usr/lib
0755 d usr/lib/systemd
0755 d usr/lib/systemd/catalog
0644 f usr/lib/systemd/catalog/connwatch.catalog
0755 d usr/lib/systemd/system
0644 f usr/lib/systemd/system/connwatchd.service
0755 d usr/lib/sysusers.d
0644 f usr/lib/sysusers.d/connwatch.conf
0755 d usr/lib/tmpfiles.d
0644 f usr/lib/tmpfiles.d/connwatch.conf
0755 d usr/share
0755 d usr/share/doc
0755 d usr/share/doc/connwatch
0644 f usr/share/doc/connwatch/README.md
0644 f usr/share/doc/connwatch/changelog.gz
0644 f usr/share/doc/connwatch/copyright
0755 d usr/share/doc/connwatch/examples
0755 d usr/share/doc/connwatch/examples/connectors.d
0644 f usr/share/doc/connwatch/examples/connwatch.toml
0755 d usr/share/lintian
0755 d usr/share/lintian/overrides
0644 f usr/share/lintian/overrides/connwatch
EOF
  for f in "$repo"/config/connectors.d/*.toml; do
    echo "0644 f usr/share/doc/connwatch/examples/connectors.d/$(basename "$f")"
  done
}
listing() { (cd "$1" && find . -mindepth 1 -printf '%m %y %P\n' | sed 's/^\([0-7]\{3\}\) /0\1 /' | LC_ALL=C sort -k3); }

root=$work/root
# An umask that would spoil modes if the script relied on it.
(umask 077 && DESTDIR=$root "$packaging/install.sh" --no-build >/dev/null)
expected | LC_ALL=C sort -k3 >"$work/expected"
listing "$root" >"$work/actual"
diff -u "$work/expected" "$work/actual" || fail "the DESTDIR tree differs from the expected layout (- expected, + actual)"
echo "layout: $(wc -l <"$work/actual") entries with the expected modes"

# Contents: the unit is the repository's (PREFIX=/usr), the binaries run and are stripped.
cmp "$packaging/systemd/connwatchd.service" "$root/usr/lib/systemd/system/connwatchd.service" \
  || fail "the installed unit differs from packaging/systemd/connwatchd.service"
cmp "$repo/config/connwatch.toml" "$root/etc/connwatch/connwatch.toml" || fail "the example configuration differs"
# It holds every watched tenant's secrets: no core file.
grep -qx 'LimitCORE=0' "$root/usr/lib/systemd/system/connwatchd.service" || fail "the unit does not set LimitCORE=0"
version=$("$root/usr/bin/connwatchd" --version) || fail "the installed connwatchd does not run"
"$root/usr/bin/connwatchctl" --help >/dev/null || fail "the installed connwatchctl does not run"
for b in connwatchd connwatchctl; do
  file_out=$(readelf -S "$root/usr/bin/$b")
  ! grep -q '\.debug_info' <<<"$file_out" || fail "$b still carries debug information"
  ! readelf -d "$root/usr/bin/$b" | grep -q 'libswiftCore' || fail "$b links the Swift runtime dynamically"
done
echo "contents: unit and example configuration as in the repository; connwatchd $version; stripped, static Swift runtime"

# systemd's own tools accept the tree.
cp -a "$root" "$work/sysroot"
systemd-sysusers --root="$work/sysroot" >/dev/null || fail "systemd-sysusers --root"
grep -q '^connwatch:x:[0-9]*:[0-9]*:connwatch daemon:/var/lib/connwatch:/usr/sbin/nologin$' "$work/sysroot/etc/passwd" \
  || fail "no connwatch user in the tree's passwd: $(cat "$work/sysroot/etc/passwd")"
grep -q '^connwatch:x:' "$work/sysroot/etc/group" || fail "no connwatch group"
systemd-tmpfiles --root="$work/sysroot" --create || fail "systemd-tmpfiles --root --create"
uid=$(awk -F: '$1 == "connwatch" {print $3}' "$work/sysroot/etc/passwd")
gid=$(awk -F: '$1 == "connwatch" {print $3}' "$work/sysroot/etc/group")
[ "$(stat -c '%a %u %g' "$work/sysroot/var/lib/connwatch")" = "750 $uid $gid" ] \
  || fail "/var/lib/connwatch: $(stat -c '%a %u %g' "$work/sysroot/var/lib/connwatch"), expected 750 $uid $gid"
journalctl --root="$work/sysroot" --update-catalog || fail "journalctl --update-catalog on the tree"
journalctl --root="$work/sysroot" --list-catalog | grep -q 'Connector @CONNWATCH_CONNECTOR@: client secret expires' \
  || fail "the catalog is not in the tree's catalog database"
# The configuration: root's, readable by the daemon's group only (tmpfiles.d `z`, once the
# group exists), also when an operator's copy came with a looser mode.
[ "$(stat -c '%a %u %g' "$work/sysroot/etc/connwatch/connwatch.toml")" = "640 0 $gid" ] \
  || fail "/etc/connwatch/connwatch.toml: $(stat -c '%a %u %g' "$work/sysroot/etc/connwatch/connwatch.toml"), expected 640 0 $gid"
chmod 0644 "$work/sysroot/etc/connwatch/connwatch.toml"
systemd-tmpfiles --root="$work/sysroot" --create >/dev/null || fail "systemd-tmpfiles --root --create (again)"
[ "$(stat -c '%a %u %g' "$work/sysroot/etc/connwatch/connwatch.toml")" = "640 0 $gid" ] \
  || fail "a 0644 /etc/connwatch/connwatch.toml was not put back to 640 root:connwatch"
echo "systemd-sysusers --root, systemd-tmpfiles --root --create, journalctl --root --update-catalog: ok (uid $uid; connwatch.toml 0640 root:connwatch)"

# A second install keeps the operator's configuration.
echo '# edited by the operator' >>"$root/etc/connwatch/connwatch.toml"
DESTDIR=$root "$packaging/install.sh" --no-build >/dev/null
tail -1 "$root/etc/connwatch/connwatch.toml" | grep -q 'edited by the operator' || fail "install overwrote the configuration"
listing "$root" | diff -u "$work/actual" - || fail "a second install changed the layout"
echo "reinstall: the edited /etc/connwatch/connwatch.toml is kept"

# uninstall: configuration and state stay; --purge removes them.
mkdir -p "$root/var/lib/connwatch" && touch "$root/var/lib/connwatch/connwatch.sqlite"
DESTDIR=$root "$packaging/uninstall.sh" >/dev/null
left=$(cd "$root" && find . -type f -printf '%P\n' | LC_ALL=C sort | tr '\n' ' ')
[ "$left" = "etc/connwatch/connwatch.toml var/lib/connwatch/connwatch.sqlite " ] || fail "uninstall left: $left"
DESTDIR=$root "$packaging/uninstall.sh" --purge >/dev/null
left=$(cd "$root" && find . -type f -printf '%P\n')
[ -z "$left" ] || fail "uninstall --purge left: $left"
echo "uninstall keeps configuration and history; --purge removes them"

# Another prefix: the unit points at it and still verifies.
local_root=$work/local
DESTDIR=$local_root PREFIX=/usr/local "$packaging/install.sh" --no-build >/dev/null
unit=$local_root/usr/local/lib/systemd/system/connwatchd.service
grep -qx 'ExecStart=/usr/local/bin/connwatchd' "$unit" || fail "PREFIX=/usr/local: $(grep ^ExecStart "$unit")"
grep -qx 'ExecReload=/usr/local/bin/connwatchctl reload' "$unit" || fail "PREFIX=/usr/local: $(grep ^ExecReload "$unit")"
[ -x "$local_root/usr/local/bin/connwatchd" ] && [ -f "$local_root/usr/local/lib/systemd/catalog/connwatch.catalog" ] \
  || fail "PREFIX=/usr/local: files missing"
echo "PREFIX=/usr/local: binaries and the paths in the unit substituted"
