#!/usr/bin/env bash
# cargo fuzz targets of Xuncha, each for a bounded time from the committed seed corpus:
#   push_ops      a device's push body: decoding, reference checks, the transition table
#   upload_bytes  uploaded photo bytes: type sniffing, hashing, thumbnail decoding
# Quick in the test command (XUNCHA_FUZZ_SECONDS, default 20 per target); by hand, longer:
#   XUNCHA_FUZZ_SECONDS=1800 bash tests/fuzz/run.sh
# Builds on the stable toolchain without a sanitizer (`-s none`): the code is safe Rust, so the
# fuzzers look for panics, aborts, hangs and runaway memory. A crash leaves its input under
# tests/fuzz/artifacts/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET="${XUNCHA_FUZZ_SECONDS:-20}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz (once)"
    cargo install --locked cargo-fuzz
fi

echo "== building fuzz targets"
cargo fuzz build -s none -O

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in push_ops upload_bytes; do
    mkdir -p "$work/$target"
    echo "== fuzzing $target for ${SECONDS_PER_TARGET}s"
    # The seed corpus is read, never written: new inputs go to the scratch folder.
    cargo fuzz run -s none -O "$target" "$work/$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
        -max_len=262144 -print_final_stats=1 2>&1 |
        grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|panicked|SUMMARY|Test unit written" || true
    if [ -n "$(ls -A artifacts/"$target" 2>/dev/null)" ]; then
        echo "fuzz target $target found a crash: tests/fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
echo "== fuzzing: no crash"
