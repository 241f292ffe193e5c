#!/usr/bin/env bash
# Builds dist/connwatch_<version>_<arch>.deb with dpkg-deb from exactly the tree that
# packaging/install.sh lays out (run with --destdir into a staging root).
#
#   packaging/build-deb.sh [--no-build] [--out DIR]
#
# --no-build   reuse the release binaries already built (see install.sh)
# --out DIR    where the .deb goes (default: dist/ at the top of the source tree)
# Prints the path of the package on its last line.
set -euo pipefail
umask 022
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
out=$repo/dist
install_args=()
while (($#)); do
  case $1 in
    --no-build) install_args+=(--no-build); shift ;;
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "build-deb.sh: unknown argument: $1" >&2; exit 64 ;;
  esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
"$here/install.sh" "${install_args[@]}" --destdir "$root" --prefix /usr >/dev/null

version=$("$root/usr/bin/connwatchd" --version)
changelog_version=$(sed -n '1s/^connwatch (\([^)]*\)).*/\1/p' "$here/debian/changelog")
if [ "$version" != "$changelog_version" ]; then
  echo "build-deb.sh: connwatchd --version says $version but packaging/debian/changelog says $changelog_version" >&2
  exit 1
fi
arch=$(dpkg --print-architecture)

# Library dependencies of the binaries, with the versions their symbols need.
mkdir -p "$work/shlibs/debian"
printf 'Source: connwatch\n\nPackage: connwatch\nArchitecture: any\n' >"$work/shlibs/debian/control"
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O -e"$root/usr/bin/connwatchd" -e"$root/usr/bin/connwatchctl" 2>"$work/shlibdeps.err") || {
  cat "$work/shlibdeps.err" >&2
  exit 1
}
depends=${shlibs#shlibs:Depends=}
[ -n "$depends" ] && [ "$depends" != "$shlibs" ] || { echo "build-deb.sh: dpkg-shlibdeps gave: $shlibs" >&2; exit 1; }
# The binaries are linked with packed relative relocations (DT_RELR, see Package.swift),
# which glibc loads from 2.36 on; that is a version need, not a symbol, so dpkg-shlibdeps
# does not see it. Raise the libc6 bound when it is lower.
# (readelf's output is captured first: with pipefail, `grep -q` closing the pipe early
# would fail the whole pipeline.)
versions=$(readelf -VW "$root/usr/bin/connwatchd" "$root/usr/bin/connwatchctl")
if [[ "$versions" == *GLIBC_ABI_DT_RELR* ]]; then
  libc_min=$(printf '%s' "$depends" | sed -nE 's/.*libc6 \(>= ([^)]+)\).*/\1/p')
  if [ -z "$libc_min" ]; then
    depends="libc6 (>= 2.36), $depends"
  elif dpkg --compare-versions "$libc_min" lt 2.36; then
    depends=$(printf '%s' "$depends" | sed -E "s/libc6 \(>= [^)]+\)/libc6 (>= 2.36)/")
  fi
fi

installed_size=$(du -sk --apparent-size "$root" | cut -f1)
install -d -m 0755 "$root/DEBIAN"
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@INSTALLED_SIZE@|$installed_size|" \
    -e "s|@SHLIBS_DEPENDS@|$depends|" "$here/debian/control.in" >"$root/DEBIAN/control"
install -m 0644 "$here/debian/conffiles" "$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do
  install -m 0755 "$here/debian/$s" "$root/DEBIAN/$s"
done
while read -r f; do
  [ -e "$root$f" ] || { echo "build-deb.sh: conffile $f is not in the package" >&2; exit 1; }
done <"$here/debian/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"

mkdir -p "$out"
deb=$out/connwatch_${version}_${arch}.deb
# gzip: xz takes minutes on these ~80 MB static binaries (2 cores) for a 35% smaller file.
dpkg-deb --root-owner-group -Zgzip -z6 --build "$root" "$deb" >/dev/null
echo "$deb"
