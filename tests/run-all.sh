#!/usr/bin/env bash
# Every Xuncha test, from a clean clone: formatting, lints, unit + integration tests (crash,
# network-fault, convergence, access, load and long-offline tests included), the Kotlin host
# tests of the Android app against the real library, the console's browser tests (Chromium) with
# the bulletin printed by LibreOffice, Open311 with stock clients, then quick API fuzzing
# (schemathesis) and cargo fuzz runs. Installs what the tests need by itself (JNA, Chromium, a
# CJK font, LibreOffice and poppler from apt, kotlinc and playwright-core from npm, Python venvs
# under target/, cargo-fuzz, the S3-compatible server s3s-fs from crates.io, PostgreSQL from
# apt when missing) and starts the services the tests need (tests/services/: a private
# PostgreSQL cluster, s3s-fs, three server instances behind nginx); safe to run repeatedly. docs/reliability.md says what each
# reliability test proves and how to run the long versions.
set -euo pipefail
cd "$(dirname "$0")/.."

# A clean clone gains nothing from incremental compilation, and its cache would double the
# target folder. Every cargo command below selects the whole workspace, so the tests, the
# server the browser tests start and the cluster share one build instead of one per package.
export CARGO_INCREMENTAL=0
disk() { echo "   (disk: $(df -h --output=avail . | tail -1 | tr -d ' ') free, target/ $(du -sh target 2>/dev/null | cut -f1))"; }
disk

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

# Real services some tests need (each says what it is and exports where it listens; without
# them those tests say they are skipped).
source tests/services/s3.sh
source tests/services/postgres.sh

echo "== cargo test"
cargo test --workspace --locked

echo "== the server's integration suite again, on PostgreSQL (every test server a database of its own)"
XUNCHA_TEST_BACKEND=postgres cargo test --workspace --test integration --locked

echo "== the simulator, then the convergence property test, through nginx to three instances on one PostgreSQL and one bucket"
source tests/services/cluster.sh
cargo test --workspace --test sim --locked
cargo test --workspace --test convergence --locked
disk

echo "== Kotlin host tests (uniffi bindings + the app's pure-Kotlin layer on the JVM)"
bash android-demo/run-host-tests.sh

echo "== console in a real browser (Debian Chromium + playwright-core; screenshots in target/browser-artifacts)"
bash tests/browser/run.sh

echo "== Open311 GeoReport v2 with stock clients from PyPI (civicbot, georeport)"
bash tests/open311/run.sh

echo "== API fuzzing (schemathesis, quick)"
bash tests/api-fuzz.sh

disk
echo "== cargo fuzz (quick)"
bash tests/fuzz/run.sh
disk
