#!/usr/bin/env bash
# Installs what building and running angzarr_store needs on Debian 12, skipping what is present:
# PostgreSQL 15 with its server headers, libclang, sudo, and cargo-pgrx at the version
# Cargo.lock pins for pgrx. Safe to run again; a current machine returns in about a second.
#   scripts/setup.sh              PostgreSQL 15, Debian's binary packages
#   PG=17 scripts/setup.sh        also PostgreSQL 17 (or 18), built once from Debian's source
#                                 package by scripts/pg_build.sh, registered with cargo-pgrx
set -euo pipefail
cd "$(dirname "$0")/.."

PG="${PG:-15}"
# PG_CONFIG names the 15 installation; another major gets the prefix pg_build.sh builds into.
PG_CONFIG_15=/usr/lib/postgresql/15/bin/pg_config
if [ "$PG" = 15 ]; then PG_CONFIG_15="${PG_CONFIG:-$PG_CONFIG_15}"; fi
need_apt=()
for pkg in postgresql-15 postgresql-server-dev-15 postgresql-contrib postgresql-15-plproxy libclang-dev pkg-config libssl-dev openssl sudo; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
    echo "setup: installing ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

# The pgrx version the lockfile pins; cargo-pgrx must match it exactly.
pgrx_version=$(awk '/^name = "pgrx"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
[ -n "$pgrx_version" ] || { echo "setup: no pgrx in Cargo.lock" >&2; exit 1; }
if [ "$(cargo pgrx --version 2>/dev/null | awk '{print $2}')" != "$pgrx_version" ]; then
    echo "setup: installing cargo-pgrx $pgrx_version (takes about 7 minutes)"
    cargo install --locked cargo-pgrx --version "$pgrx_version"
fi
pgrx_config="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
if ! grep -q "^pg15 = " "$pgrx_config" 2>/dev/null; then
    # Never a bare `cargo pgrx init`: it would try to download PostgreSQL.
    cargo pgrx init --pg15 "$PG_CONFIG_15"
fi
if [ "$PG" != 15 ]; then
    pg_config=$(bash scripts/pg_build.sh "$PG" | tee /dev/stderr | tail -1)
    if ! grep -qx "pg$PG = \"$pg_config\"" "$pgrx_config"; then
        # `cargo pgrx init` rewrites the whole file: pass every version registered so far again.
        args=()
        while read -r key path; do
            [ "$key" = "pg$PG" ] || args+=("--$key" "$path")
        done < <(sed -n 's/^\(pg[0-9]*\) = "\(.*\)"$/\1 \2/p' "$pgrx_config")
        cargo pgrx init "${args[@]}" "--pg$PG" "$pg_config"
    fi
fi
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy
