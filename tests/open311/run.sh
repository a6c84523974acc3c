#!/usr/bin/env bash
# Open311 GeoReport v2 with independently written clients from PyPI (civicbot, georeport; see
# clients_test.py) against a real `xuncha-server demo`: a key issued by
# `xuncha-server open311-key`, a photo served from a local host the server is told to allow.
# Installs the clients once into a venv under target/.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv="target/open311-venv"
if ! "$venv/bin/python" -c "import civicbot, georeport" 2>/dev/null; then
    echo "== installing civicbot 0.4.0 and georeport 0.3.1 (once, into $venv)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "civicbot==0.4.0" "georeport==0.3.1"
fi

cargo build --quiet --locked --workspace --bin xuncha-server
cargo build --quiet --locked --workspace --bin xuncha-phone
work="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"
media_port="$(free_port)"
mkdir -p "$work/media"
target/debug/xuncha-phone --server "http://127.0.0.1:$port" --dir "$work/phone" --user citizen \
    photo --out "$work/media/photo.jpg" --seed 7
python3 -m http.server "$media_port" --bind 127.0.0.1 --directory "$work/media" >"$work/media.log" 2>&1 &
media=$!
target/debug/xuncha-server demo --empty --addr "127.0.0.1:$port" --data "$work/server" \
    --open311-media-host "127.0.0.1:$media_port" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server $media 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
done
key="$(target/debug/xuncha-server open311-key --data "$work/server" --name civicbot 2>/dev/null)"

if ! XUNCHA_OPEN311="http://127.0.0.1:$port/open311/v2" XUNCHA_OPEN311_KEY="$key" \
    XUNCHA_PHOTO_URL="http://127.0.0.1:$media_port/photo.jpg" \
    "$venv/bin/python" tests/open311/clients_test.py; then
    echo "the server's log:" >&2
    tail -n 40 "$work/server.log" >&2
    exit 1
fi
