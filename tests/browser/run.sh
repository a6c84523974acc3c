#!/usr/bin/env bash
# Browser tests of the supervision console: Debian Chromium driven by npm `playwright-core`
# against a real `xuncha-server demo` process (its own SQLite file in a temporary folder) and
# simulated phones (`xuncha-phone`: real client stores syncing over real HTTP).
# Installs what it needs by itself (Debian chromium + a CJK font, playwright-core from npm).
# Screenshots of every page go to target/browser-artifacts/ (look at them).
set -euo pipefail
cd "$(dirname "$0")/../.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy"; then
    echo "== installing Debian chromium and fonts-wqy-microhei (Chinese text in screenshots)"
    $SUDO apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1 ||
        { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium fonts-wqy-microhei >/dev/null; }
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
    echo "== installing playwright-core (npm, into tests/browser/node_modules)"
    npm ci --prefix tests/browser --no-audit --no-fund --silent
fi

echo "== building the server and the simulated phone"
cargo build --quiet --locked -p xuncha-server --bin xuncha-server
cargo build --quiet --locked -p xuncha-tests --bin xuncha-phone

work="$(mktemp -d)"
artifacts="target/browser-artifacts"
rm -rf "$artifacts"
mkdir -p "$artifacts"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
target/debug/xuncha-server demo --addr "127.0.0.1:$port" --data "$work/server" >"$artifacts/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
    sleep 0.1
done

echo "== console in Chromium (server on port $port)"
XUNCHA_URL="http://127.0.0.1:$port" \
    XUNCHA_PHONE="$PWD/target/debug/xuncha-phone" \
    XUNCHA_PHONES="$work/phones" \
    XUNCHA_ARTIFACTS="$PWD/$artifacts" \
    node tests/browser/console.test.mjs
