# Source this: starts a private PostgreSQL cluster for the tests and exports where it is.
#
# Debian's PostgreSQL (installed with apt if missing), a throw-away cluster under /tmp on a free
# loopback port (trust authentication, fsync off: test data only), stopped and deleted when the
# sourcing script exits. Exports XUNCHA_TEST_POSTGRES_URL (the `postgres` database of the
# cluster; each test server makes a database of its own in it).
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
    echo "== installing PostgreSQL (Debian)"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get install -y -q postgresql >/dev/null 2>&1 ||
        { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q postgresql >/dev/null; }
    pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
fi
pg_dir="$(mktemp -d /tmp/xuncha-pg.XXXXXX)"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    # PostgreSQL refuses to run as root: the cluster belongs to the `postgres` user.
    chown postgres "$pg_dir"
    as_pg=(runuser -u postgres --)
fi
pg_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 --locale=C >"$pg_dir/initdb.log" 2>&1
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
    start >/dev/null
XUNCHA_CLEANUP="${XUNCHA_CLEANUP:-:}; ${as_pg[*]} $pg_bin/pg_ctl -D $pg_dir/data -m immediate stop >/dev/null 2>&1; rm -rf $pg_dir"
trap 'eval "$XUNCHA_CLEANUP"' EXIT
export XUNCHA_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
echo "== PostgreSQL: $("$pg_bin/postgres" --version) at 127.0.0.1:$pg_port (private cluster in $pg_dir)"
