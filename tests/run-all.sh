#!/usr/bin/env bash
# Every Xuncha test, from a clean clone: formatting, lints, unit + integration tests (crash,
# network-fault, convergence, access, load and long-offline tests included), then quick API
# fuzzing (schemathesis) and cargo fuzz runs. Installs what the tests need by itself (a Python
# venv under target/, cargo-fuzz); safe to run repeatedly. docs/reliability.md says what each
# reliability test proves and how to run the long versions.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked

echo "== API fuzzing (schemathesis, quick)"
bash tests/api-fuzz.sh

echo "== cargo fuzz (quick)"
bash tests/fuzz/run.sh
