#!/usr/bin/env bash
# The HTTP API's OpenAPI document (/v1/openapi.json) linted by @redocly/cli (no error, no
# warning), then the API fuzzed with schemathesis against it: a real `xuncha-server demo` on a
# free port, a supervisor's bearer token, and every operation sent valid operations from the
# document's schemas and mutated ones. Fails on any 5xx or a request that hangs past 10 s.
# Quick in the test command (XUNCHA_API_FUZZ_SECONDS, default 40); by hand, longer:
#   XUNCHA_API_FUZZ_SECONDS=900 bash tests/api-fuzz.sh
# Not sent: POST /v1/auth/logout (it would end the run's own session).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TOTAL="${XUNCHA_API_FUZZ_SECONDS:-40}"
SCHEMATHESIS_VERSION="4.32.5"

venv="target/schemathesis-venv"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "== installing schemathesis $SCHEMATHESIS_VERSION (once, into $venv)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build --quiet --locked --workspace --bin xuncha-server
data="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
target/debug/xuncha-server demo --addr "127.0.0.1:$port" --data "$data" >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
    curl -sf "$base/healthz" >/dev/null && break
    sleep 0.1
done
token="$(curl -sf -X POST "$base/v1/auth/login" -H 'content-type: application/json' \
    -d '{"user_id":"supervisor1","password":"demo","device_id":"schemathesis"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

if [ ! -x tests/browser/node_modules/.bin/redocly ]; then
    npm ci --prefix tests/browser --no-audit --no-fund --silent
fi
curl -sf "$base/v1/openapi.json" >"$data/openapi.json"
echo "== @redocly/cli lint of the OpenAPI document"
tests/browser/node_modules/.bin/redocly lint --format stylish --max-problems 50 "$data/openapi.json" 2>&1 |
    grep -v "Node.js\|║\|╔\|╚" | tee "$data/lint.txt"
if grep -q "warning\|error" "$data/lint.txt" && ! grep -q "Your API description is valid" "$data/lint.txt"; then
    echo "the OpenAPI document does not lint clean" >&2
    exit 1
fi
if grep -qi "You have [0-9]* warning" "$data/lint.txt"; then
    echo "the OpenAPI document has lint warnings" >&2
    exit 1
fi

echo "== schemathesis against $base/v1/openapi.json for ${SECONDS_TOTAL}s"
set +e
PYTHONPATH=tests SCHEMATHESIS_HOOKS=api_fuzz_hooks "$venv/bin/schemathesis" run "$base/v1/openapi.json" \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error --request-timeout 10 \
    --max-time "$SECONDS_TOTAL" -n 50 \
    --exclude-path /v1/auth/logout \
    --no-color 2>&1 | tail -n 25
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
    echo "schemathesis found a problem (exit $status); server log: " >&2
    tail -n 50 "$data/server.log" >&2
    exit "$status"
fi
if grep -q "panicked" "$data/server.log"; then
    echo "the server logged a panic under API fuzzing:" >&2
    grep -A5 "panicked" "$data/server.log" >&2
    exit 1
fi
echo "== API fuzzing: no 5xx, no hang"
