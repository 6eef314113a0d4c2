#!/usr/bin/env bash
# Released versions are frozen: their install script is kept in sql/releases/ and every
# released file's sha256 is listed in sql/releases/SHA256SUMS (paths relative to the repo).
#   scripts/release.sh freeze   after `make install`: freezes the current version's generated
#                               install script and every upgrade script leading to it
#   scripts/release.sh check    fails when a frozen file was edited or removed, when a file in
#                               sql/releases/ is not listed, or when an upgrade script is missing
#                               between consecutive versions (released ones and the current one)
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
EXT=angzarr_store
SUMS=sql/releases/SHA256SUMS
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)

# Released versions, oldest first.
releases() { [ -d sql/releases ] || return 0; ls sql/releases | sed -n "s/^$EXT--\([^-]*\(-[^-]\+\)*\)\.sql$/\1/p" | sort -V; }

check() {
    local failed=0 prev='' v f
    if [ -f "$SUMS" ]; then
        if ! sha256sum --quiet --strict -c "$SUMS"; then
            echo "release check: a released file was edited or removed (above). Released scripts are frozen:" >&2
            echo "  put changes in a new sql/$EXT--OLD--NEW.sql with a new version instead." >&2
            failed=1
        fi
    fi
    for f in sql/releases/$EXT--*.sql; do
        [ -e "$f" ] || continue
        grep -q "  $f\$" "$SUMS" 2>/dev/null || { echo "release check: $f is not listed in $SUMS" >&2; failed=1; }
    done
    for v in $(releases) "$version"; do
        if [ -n "$prev" ] && [ "$prev" != "$v" ] && [ ! -f "sql/$EXT--$prev--$v.sql" ]; then
            echo "release check: no upgrade script sql/$EXT--$prev--$v.sql" >&2
            failed=1
        fi
        prev=$v
    done
    local newest
    newest=$(releases | tail -1)
    if [ -n "$newest" ] && [ "$(printf '%s\n%s\n' "$newest" "$version" | sort -V | tail -1)" != "$version" ]; then
        echo "release check: Cargo.toml version $version is older than the released $newest" >&2
        failed=1
    fi
    [ "$failed" -eq 0 ] && echo "release check: $(releases | wc -l) frozen release(s), current version $version: ok"
    return "$failed"
}

freeze() {
    local installed frozen="sql/releases/$EXT--$version.sql" prev
    installed="$($PG_CONFIG --sharedir)/extension/$EXT--$version.sql"
    [ ! -e "$frozen" ] || { echo "release: $version is already frozen ($frozen)" >&2; exit 1; }
    [ -f "$installed" ] || { echo "release: $installed is missing; run make install first" >&2; exit 1; }
    if [ -n "$(find src sql Cargo.toml -newer "$installed" -type f ! -path 'sql/releases/*' | head -1)" ]; then
        echo "release: sources changed after the last make install; run make install first" >&2
        exit 1
    fi
    prev=$(releases | tail -1)
    mkdir -p sql/releases
    cp "$installed" "$frozen"
    touch "$SUMS"
    sha256sum "$frozen" >>"$SUMS"
    if [ -n "$prev" ]; then
        [ -f "sql/$EXT--$prev--$version.sql" ] || { echo "release: write sql/$EXT--$prev--$version.sql first" >&2; rm "$frozen"; exit 1; }
        sha256sum "sql/$EXT--$prev--$version.sql" >>"$SUMS"
    fi
    echo "release: froze $version; commit $frozen and $SUMS"
}

case "${1:-}" in
    check) check ;;
    freeze) freeze ;;
    releases) releases ;;
    *) echo "usage: $0 check|freeze|releases" >&2; exit 2 ;;
esac
