# Source this after postgres.sh and s3.sh: three `xuncha-server` instances on one PostgreSQL
# database and one bucket, behind nginx on a free loopback port, as docs/deploy.md describes.
# The first instance seeds the demo city (users, password `demo`, no sample cases); the others
# start when it answers. Exports XUNCHA_TEST_CLUSTER_URL (nginx) and XUNCHA_TEST_CLUSTER_PIDS.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    echo "== installing nginx (Debian)"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get install -y -q nginx >/dev/null 2>&1 ||
        { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q nginx >/dev/null; }
fi
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
cargo build -q --workspace --bin xuncha-server --locked
cluster_dir="$(mktemp -d /tmp/xuncha-cluster.XXXXXX)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cluster_db="cluster_$(date +%s)_$$"
psql "$XUNCHA_TEST_POSTGRES_URL" -qc "CREATE DATABASE $cluster_db" >/dev/null
export XUNCHA_DATABASE_URL="${XUNCHA_TEST_POSTGRES_URL%/*}/$cluster_db"
export XUNCHA_PHOTOS="s3://xuncha-test/cluster-$cluster_db"
export XUNCHA_S3_ENDPOINT="$XUNCHA_TEST_S3_ENDPOINT"
XUNCHA_TEST_CLUSTER_PIDS=""
cluster_ports=()
wait_healthy() {
    for _ in $(seq 1 200); do
        if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$1/healthz', timeout=1)" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "instance on port $1 did not start: $(tail -5 "$cluster_dir/instance-$1.log")" >&2
    return 1
}
for i in 1 2 3; do
    port="$(free_port)"
    cluster_ports+=("$port")
    if [ "$i" -eq 1 ]; then cmd=(demo --empty); else cmd=(serve); fi
    target/debug/xuncha-server "${cmd[@]}" --addr "127.0.0.1:$port" --data "$cluster_dir/data-$i" \
        --trust-forwarded-for >"$cluster_dir/instance-$port.log" 2>&1 &
    XUNCHA_TEST_CLUSTER_PIDS="$XUNCHA_TEST_CLUSTER_PIDS $!"
    wait_healthy "$port"
done
unset XUNCHA_DATABASE_URL XUNCHA_PHOTOS XUNCHA_S3_ENDPOINT
nginx_port="$(free_port)"
mkdir -p "$cluster_dir/nginx/logs"
cat >"$cluster_dir/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $cluster_dir/nginx/nginx.pid;
error_log $cluster_dir/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $cluster_dir/nginx/body;
    proxy_temp_path $cluster_dir/nginx/proxy;
    fastcgi_temp_path $cluster_dir/nginx/fastcgi;
    uwsgi_temp_path $cluster_dir/nginx/uwsgi;
    scgi_temp_path $cluster_dir/nginx/scgi;
    upstream xuncha {
        server 127.0.0.1:${cluster_ports[0]} max_fails=2 fail_timeout=2s;
        server 127.0.0.1:${cluster_ports[1]} max_fails=2 fail_timeout=2s;
        server 127.0.0.1:${cluster_ports[2]} max_fails=2 fail_timeout=2s;
        keepalive 16;
    }
    server {
        listen 127.0.0.1:$nginx_port;
        client_max_body_size 40m;
        location / {
            proxy_pass http://xuncha;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_request_buffering off;
            proxy_next_upstream error timeout http_503;
            proxy_read_timeout 120s;
        }
    }
}
CONF
"$nginx_bin" -p "$cluster_dir/nginx" -c "$cluster_dir/nginx/nginx.conf" -g "daemon off;" \
    >"$cluster_dir/nginx/logs/stdout.log" 2>&1 &
nginx_pid=$!
XUNCHA_CLEANUP="${XUNCHA_CLEANUP:-:}; kill $nginx_pid $XUNCHA_TEST_CLUSTER_PIDS 2>/dev/null; sleep 0.2; rm -rf $cluster_dir"
trap 'eval "$XUNCHA_CLEANUP"' EXIT
wait_healthy "$nginx_port"
export XUNCHA_TEST_CLUSTER_URL="http://127.0.0.1:$nginx_port"
export XUNCHA_TEST_CLUSTER_PIDS
echo "== cluster: nginx at $XUNCHA_TEST_CLUSTER_URL -> instances on ports ${cluster_ports[*]} (PostgreSQL database $cluster_db, bucket prefix cluster-$cluster_db)"
