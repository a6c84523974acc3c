#!/usr/bin/env bash
# PouchDB peer benchmark: PouchDB (Node, leveldb) -> pouchdb-server (leveldb) over loopback HTTP,
# so that `xuncha-bench sync` can print the PouchDB figures measured in the same run as its own.
#
# Usage: tests/bench/pouchdb-peer.sh [--docs N] [--doc-bytes B] [--batch K]
#   (defaults: 20000 docs of 900 bytes, batch_size 500; see pouchdb-peer.mjs)
#
# Installs pouchdb-server and pouchdb (exact versions below) once into
#   ${XUNCHA_BENCH_CACHE:-$HOME/.cache/xuncha-bench}/pouchdb
# and reuses them afterwards. Needs node (>= 18) and npm on PATH and the npm registry.
# stdout carries only the figures (see pouchdb-peer.mjs); progress goes to stderr.
set -euo pipefail

POUCHDB_SERVER_VERSION=4.2.0
POUCHDB_VERSION=9.0.0
STAMP="pouchdb-server@${POUCHDB_SERVER_VERSION} pouchdb@${POUCHDB_VERSION}"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="${XUNCHA_BENCH_CACHE:-$HOME/.cache/xuncha-bench}/pouchdb"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "pouchdb-peer: '$tool' not found on PATH" >&2
    exit 127
  fi
done

# The packages load (both leveldown builds ship N-API prebuilds, loaded at run time).
smoke_test() {
  (cd "$cache" && node -e '
    require("pouchdb");
    const { createRequire } = require("module");
    const r = createRequire(require.resolve("pouchdb-server/package.json"));
    require(r.resolve("pouchdb-adapter-leveldb"));
  ') >&2
}

installed() {
  [[ -f "$cache/.installed" && "$(cat "$cache/.installed")" == "$STAMP" &&
    -f "$cache/node_modules/pouchdb-server/package.json" &&
    -f "$cache/node_modules/pouchdb/package.json" ]]
}

mkdir -p "$cache"
if ! installed; then
  # One installer at a time (another bench run may be installing into the same cache).
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$cache/.install.lock"
    flock 9
  fi
  if ! installed; then
    echo "pouchdb-peer: installing $STAMP into $cache ..." >&2
    start=$SECONDS
    rm -f "$cache/.installed"
    cat >"$cache/package.json" <<EOF
{
  "name": "xuncha-bench-pouchdb",
  "private": true,
  "description": "PouchDB peer for xuncha-bench sync (installed by tests/bench/pouchdb-peer.sh)",
  "dependencies": {
    "pouchdb": "${POUCHDB_VERSION}",
    "pouchdb-server": "${POUCHDB_SERVER_VERSION}"
  }
}
EOF
    # --ignore-scripts: the only install scripts are leveldown's (a no-op where its bundled
    # prebuild fits, which node-gyp-build loads at run time anyway) and sqlite3's (a source
    # build taking a minute, for pouchdb-server --sqlite, which this benchmark does not use).
    npm install --prefix "$cache" --no-audit --no-fund --no-progress --loglevel=error \
      --ignore-scripts >&2
    smoke_test
    echo "$STAMP" >"$cache/.installed"
    echo "pouchdb-peer: installed in $((SECONDS - start)) s" >&2
  fi
  if command -v flock >/dev/null 2>&1; then
    exec 9>&-
  fi
fi

export XUNCHA_POUCHDB_DIR="$cache"
exec node "$here/pouchdb-peer.mjs" "$@"
