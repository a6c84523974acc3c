#!/usr/bin/env bash
# The console's latency with many inspection rounds: start `BIN demo`, plan N rounds of 城关街道's
# bus stops through the console's form (every tenth a sealed 暗访), then time 30 requests of PATH.
# Compare two builds by running it for each, e.g. the commit before a change and after:
#   bash tests/bench/console_with_rounds.sh target/debug/xuncha-server after 500 /console
# Prints the median and p90 in ms. Not part of the test command (it measures, it asserts nothing).
set -euo pipefail
bin=$1; label=$2; n=${3:-300}; path=${4:-/console}
data=$(mktemp -d); port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" demo --addr 127.0.0.1:$port --data "$data/server" > "$data/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 600); do curl -fsS http://127.0.0.1:$port/healthz >/dev/null 2>&1 && break; sleep 0.1; done
jar=$data/jar
page=$(curl -fsS -c $jar -b $jar http://127.0.0.1:$port/console/login)
csrf=$(echo "$page" | grep -o 'name="csrf" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')
curl -fsS -c $jar -b $jar -o /dev/null --data-urlencode "user=supervisor1" --data-urlencode "password=demo" ${csrf:+--data-urlencode "csrf=$csrf"} http://127.0.0.1:$port/console/login
page=$(curl -fsS -c $jar -b $jar http://127.0.0.1:$port/console/rounds)
csrf=$(echo "$page" | grep -o 'name="csrf" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"//')
today=$(date -u +%F)
for i in $(seq 1 $n); do
  kind=open; if [ $((i % 10)) -eq 0 ]; then kind=covert; fi
  curl -fsS -c $jar -b $jar -o /dev/null --data-urlencode "csrf=$csrf" --data-urlencode "name=压测轮次$i" \
    --data-urlencode "kind=$kind" --data-urlencode "area=d1-s1" --data-urlencode "from=$today" --data-urlencode "to=$today" \
    --data-urlencode "due=$today" --data-urlencode "site_type=公交站台" --data-urlencode "member=inspector1" \
    --data-urlencode "team_size=1" http://127.0.0.1:$port/console/rounds || true
done
listed=$(curl -fsS -c $jar -b $jar http://127.0.0.1:$port/console/rounds | grep -o '压测轮次' | wc -l)
echo "$label: rounds listed on the page (newest 100): $listed"
for _ in 1 2 3; do curl -fsS -c $jar -b $jar -o /dev/null "http://127.0.0.1:$port$path"; done
times=()
for _ in $(seq 1 30); do
  times+=($(curl -fsS -c $jar -b $jar -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port$path"))
done
printf '%s\n' "${times[@]}" | sort -n | awk -v l="$label" -v n=$n -v p="$path" '{a[NR]=$1} END {printf "%s: GET %s with %d+3 rounds: median %.1f ms, p90 %.1f ms (30 runs)\n", l, p, n, a[15]*1000, a[27]*1000}'
