#!/usr/bin/env bash
# Every Xuncha test, from a clean clone: formatting, lints, unit + integration tests (including
# the SIGKILL crash test). Installs what the tests need by itself; safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
