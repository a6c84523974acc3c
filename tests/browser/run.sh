#!/usr/bin/env bash
# Browser tests of the supervision console: Debian Chromium driven by npm `playwright-core`
# (and the photo uploads driven by the stock tus client, npm `tus-js-client`, under Node)
# against a real `xuncha-server demo` process (its own SQLite file in a temporary folder) and
# simulated phones (`xuncha-phone`: real client stores syncing over real HTTP).
# Then the weekly bulletin of the demo city printed by LibreOffice headless (PDF, then PNG by
# poppler). Installs what it needs by itself (Debian chromium, a CJK font, libreoffice-calc,
# libreoffice-writer and poppler-utils; playwright-core, axe-core and tus-js-client from npm).
# Screenshots of every page go to target/browser-artifacts/ (look at them).
set -euo pipefail
cd "$(dirname "$0")/../.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
debs="chromium fonts-wqy-microhei libreoffice-calc libreoffice-writer poppler-utils"
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" ||
    ! command -v soffice >/dev/null || ! command -v pdftoppm >/dev/null; then
    echo "== installing Debian $debs"
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q --no-install-recommends $debs >/dev/null 2>&1 ||
        { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q --no-install-recommends $debs >/dev/null; }
fi
if [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/tus-js-client ] ||
    [ ! -d tests/browser/node_modules/axe-core ]; then
    echo "== installing playwright-core, axe-core and tus-js-client (npm, into tests/browser/node_modules)"
    npm ci --prefix tests/browser --no-audit --no-fund --silent
fi

echo "== building the server and the simulated phone"
cargo build --quiet --locked --workspace --bin xuncha-server
cargo build --quiet --locked --workspace --bin xuncha-phone

# Wait up to 60 s for a server to answer /healthz; show its log if it does not.
wait_for() {
    for _ in $(seq 1 600); do
        if curl -fsS "http://127.0.0.1:$1/healthz" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "the server on port $1 did not start; its log:" >&2
    cat "$2" >&2
    return 1
}

work="$(mktemp -d)"
artifacts="target/browser-artifacts"
rm -rf "$artifacts"
mkdir -p "$artifacts"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
target/debug/xuncha-server demo --empty --addr "127.0.0.1:$port" --data "$work/server" >"$artifacts/server.log" 2>&1 &
server=$!
demo_server=""
trap 'kill $server $demo_server 2>/dev/null || true; rm -rf "$work"' EXIT
wait_for "$port" "$artifacts/server.log"

echo "== console in Chromium (server on port $port)"
XUNCHA_URL="http://127.0.0.1:$port" \
    XUNCHA_PHONE="$PWD/target/debug/xuncha-phone" \
    XUNCHA_PHONES="$work/phones" \
    XUNCHA_ARTIFACTS="$PWD/$artifacts" \
    node tests/browser/console.test.mjs

echo "== the console on a phone and on a desktop: axe-core, widths, tap targets, a unit's day"
XUNCHA_URL="http://127.0.0.1:$port" \
    XUNCHA_PHONE="$PWD/target/debug/xuncha-phone" \
    XUNCHA_PHONES="$work/phones" \
    XUNCHA_ARTIFACTS="$PWD/$artifacts" \
    node tests/browser/phone.test.mjs

echo "== photo uploads with a stock tus client (npm tus-js-client under Node)"
XUNCHA_URL="http://127.0.0.1:$port" \
    XUNCHA_PHONE="$PWD/target/debug/xuncha-phone" \
    XUNCHA_PHONES="$work/tus" \
    node tests/browser/tus.test.mjs

echo "== the demo city as a newcomer sees it (xuncha-server demo with its sample cases)"
demo_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
target/debug/xuncha-server demo --addr "127.0.0.1:$demo_port" --data "$work/demo" >"$artifacts/demo-server.log" 2>&1 &
demo_server=$!
wait_for "$demo_port" "$artifacts/demo-server.log"
XUNCHA_URL="http://127.0.0.1:$demo_port" XUNCHA_ARTIFACTS="$PWD/$artifacts" \
    node tests/browser/demo.test.mjs

echo "== the demo city's bulletin printed by LibreOffice headless (PDF and PNG in $artifacts/office)"
XUNCHA_URL="http://127.0.0.1:$demo_port" XUNCHA_ARTIFACTS="$PWD/$artifacts" \
    XUNCHA_PHONE="$PWD/target/debug/xuncha-phone" XUNCHA_PHONES="$work/office" \
    node tests/browser/office.test.mjs

echo "== inspection rounds: the list, planning, publishing a 暗访 round, the report as XLSX printed by LibreOffice"
XUNCHA_URL="http://127.0.0.1:$demo_port" XUNCHA_ARTIFACTS="$PWD/$artifacts" \
    XUNCHA_PHONE="$PWD/target/debug/xuncha-phone" XUNCHA_PHONES="$work/rounds" \
    node tests/browser/rounds.test.mjs
