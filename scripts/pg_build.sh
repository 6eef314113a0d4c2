#!/usr/bin/env bash
# Builds PostgreSQL MAJOR (17 or 18) from Debian's source package into its own prefix
# (/opt/angzarr-pg/MAJOR), for testing the extension on majors that Debian 12 does not ship.
#   scripts/pg_build.sh MAJOR        e.g. scripts/pg_build.sh 17
# Bookworm has only PostgreSQL 15, so the source comes from trixie (17) or sid (18) through a
# private apt configuration under /var/cache/angzarr-pg: the machine's own apt sources are never
# touched and no package from those suites is installed. The build dependencies are bookworm's.
# A build happens once per machine: the prefix holds a stamp with the Debian source version, and
# a rerun with that stamp present returns at once without asking the network.
# PG_BUILD_REFRESH=1 asks the archive for a newer source version and rebuilds if there is one.
# The last line printed is the pg_config of the build.
set -euo pipefail

major="${1:?usage: pg_build.sh 17|18}"
case "$major" in
    17) suite=trixie ;;
    18) suite=sid ;;
    *) echo "pg_build.sh: no source suite known for PostgreSQL $major (17 and 18 are)" >&2; exit 2 ;;
esac
prefix="${ANGZARR_PG_PREFIX:-/opt/angzarr-pg}/$major"
cache="${ANGZARR_PG_CACHE:-/var/cache/angzarr-pg}"
stamp="$prefix/.angzarr-pg-build"

if [ -f "$stamp" ] && [ -z "${PG_BUILD_REFRESH:-}" ] && "$prefix/bin/pg_config" --version >/dev/null 2>&1; then
    echo "pg_build: PostgreSQL $major already built from postgresql-$major $(cat "$stamp")"
    echo "$prefix/bin/pg_config"
    exit 0
fi

# Build dependencies from bookworm. The tarballs of 17 and later no longer ship generated
# parsers, hence bison, flex and perl; OpenSSL because the dev cluster turns ssl on; ICU and
# readline because configure wants them by default; dpkg-dev unpacks the source package.
need_apt=()
for pkg in build-essential dpkg-dev bison flex perl pkg-config libreadline-dev zlib1g-dev libssl-dev libicu-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
    echo "pg_build: installing ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

# A private apt: its own source list (deb-src only), index lists and cache. Signed by the Debian
# archive keys that bookworm's debian-archive-keyring already holds.
apt_dir="$cache/apt-$suite"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
    >"$apt_dir/sources.list"
apt_private=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Sandbox::User=root")
apt-get -q "${apt_private[@]}" update
version=$(apt-cache "${apt_private[@]}" showsrc "postgresql-$major" | awk '/^Version:/ {print $2; exit}')
[ -n "$version" ] || { echo "pg_build: $suite has no source package postgresql-$major" >&2; exit 1; }
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ] && "$prefix/bin/pg_config" --version >/dev/null 2>&1; then
    echo "pg_build: PostgreSQL $major already built from postgresql-$major $version"
    echo "$prefix/bin/pg_config"
    exit 0
fi

src_root="$cache/src-$major"
rm -rf "$src_root"
mkdir -p "$src_root"
(cd "$src_root" && apt-get -q "${apt_private[@]}" source "postgresql-$major=$version" >fetch.log 2>&1) || {
    cat "$src_root/fetch.log" >&2
    echo "pg_build: $suite lists postgresql-$major $version, but fetching its source failed (above)" >&2
    exit 1
}
src=$(find "$src_root" -mindepth 1 -maxdepth 1 -type d -name "postgresql-$major-*" | head -1)
[ -n "$src" ] || { echo "pg_build: apt-get source left no source tree in $src_root" >&2; exit 1; }
# Debian's 50-per-version-dirs patch hard-codes pkglibdir to /usr/lib/postgresql/MAJOR/lib, which
# would scatter files outside the prefix; reverse it so everything stays under $prefix.
patch -s -R -p1 -d "$src" <"$src/debian/patches/50-per-version-dirs.patch"

echo "pg_build: building PostgreSQL $major from postgresql-$major $version into $prefix (log $src_root/build.log)"
start=$(date +%s)
rm -rf "$prefix"
(
    cd "$src"
    ./configure --prefix="$prefix" --with-openssl --with-icu --with-readline --without-llvm
    make -j"${PG_BUILD_JOBS:-2}"
    make -j"${PG_BUILD_JOBS:-2}" -C src/test/isolation
    make install
    # pg_regress comes with the install; the isolation tester is only installed into pgxs on request.
    make -C src/test/isolation install
) >"$src_root/build.log" 2>&1 || {
    tail -50 "$src_root/build.log" >&2
    echo "pg_build: build failed, full log in $src_root/build.log" >&2
    exit 1
}
echo "$version" >"$stamp"
echo "pg_build: PostgreSQL $major built in $(($(date +%s) - start)) s"
echo "$prefix/bin/pg_config"
