# Source this: starts a real S3-compatible server for the tests and exports where it is.
#
# The server is s3s-fs (crates.io `s3s-fs`, built once into target/tools/s3s): a real
# implementation of the S3 API over plain files — SigV4 signatures checked, multipart, ranges,
# ListObjectsV2, conditional PUT — small (~14 MB RSS) and installable from crates.io, which is the
# registry these machines reach (no MinIO download here). It listens on loopback, on a free port,
# with a bucket `xuncha-test`, until the sourcing script exits.
#
# Exports XUNCHA_TEST_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION.
S3S_VERSION="0.14.1"
s3s_root="$(pwd)/target/tools/s3s"
if [ ! -x "$s3s_root/bin/s3s-fs" ] || ! "$s3s_root/bin/s3s-fs" --version | grep -q "$S3S_VERSION"; then
    echo "== installing s3s-fs $S3S_VERSION (S3-compatible server for the tests; once, ~3 min)"
    cargo install s3s-fs --version "$S3S_VERSION" --features binary --locked --root "$s3s_root" --quiet
fi
s3s_data="$(mktemp -d)"
mkdir -p "$s3s_data/xuncha-test"
s3s_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export AWS_ACCESS_KEY_ID="xuncha-test-key"
export AWS_SECRET_ACCESS_KEY="xuncha-test-secret-$(date +%s)"
export AWS_REGION="us-east-1"
"$s3s_root/bin/s3s-fs" --host 127.0.0.1 --port "$s3s_port" \
    --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" "$s3s_data" \
    >"$s3s_data.log" 2>&1 &
s3s_pid=$!
XUNCHA_CLEANUP="${XUNCHA_CLEANUP:-:}; kill $s3s_pid 2>/dev/null; rm -rf $s3s_data $s3s_data.log"
trap 'eval "$XUNCHA_CLEANUP"' EXIT
for _ in $(seq 1 100); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $s3s_port), 0.2)" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
export XUNCHA_TEST_S3_ENDPOINT="http://127.0.0.1:$s3s_port"
echo "== S3: s3s-fs $S3S_VERSION at $XUNCHA_TEST_S3_ENDPOINT (bucket xuncha-test)"
