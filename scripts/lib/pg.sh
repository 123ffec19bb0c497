# shellcheck shell=bash
# Throwaway PostgreSQL for tests, the demo and local runs. Never touches a system cluster:
# initdb runs as the postgres user in a fresh temporary directory, on a free loopback port,
# with its socket in that directory. Source this file, then call pg_start / pg_stop.

PG_BIN_DIR="${PG_BIN_DIR:-}"

pg_find_bin() {
  if [ -n "$PG_BIN_DIR" ] && [ -x "$PG_BIN_DIR/initdb" ]; then return 0; fi
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then PG_BIN_DIR="$d"; fi
  done
  [ -n "$PG_BIN_DIR" ]
}

pg_ensure_installed() {
  if pg_find_bin; then return 0; fi
  echo "[pg] PostgreSQL server binaries not found; installing the Debian package 'postgresql'" >&2
  if [ "$(id -u)" != "0" ]; then echo "[pg] need root to apt-get install postgresql" >&2; return 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  pg_find_bin || { echo "[pg] install did not provide initdb" >&2; return 1; }
}

pg_free_port() {
  local port
  for _ in $(seq 1 200); do
    # Below the kernel's ephemeral range (from 32768): while PostgreSQL is down (a restart, the simulator's outage) no
    # outgoing connection can take its port as a source port, so it always comes back on the same one.
    port=$(( 20000 + RANDOM % 12000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  echo "[pg] no free port found" >&2; return 1
}

# pg_run CMD ARGS...: run a PostgreSQL binary as the postgres user (initdb refuses root).
pg_run() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_start: starts a cluster; sets PG_DATA_DIR, PG_PORT, PG_URL (postgresql://postgres@127.0.0.1:PORT/postgres).
pg_start() {
  pg_ensure_installed || return 1
  PG_BASE_DIR=$(mktemp -d /tmp/fairway-pg.XXXXXX)
  if [ "$(id -u)" = "0" ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    chown postgres "$PG_BASE_DIR"
  fi
  chmod 755 "$PG_BASE_DIR"
  PG_DATA_DIR="$PG_BASE_DIR/data"
  PG_PORT=$(pg_free_port) || return 1
  pg_run "$PG_BIN_DIR/initdb" -D "$PG_DATA_DIR" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$PG_BASE_DIR/initdb.log" 2>&1 \
    || { cat "$PG_BASE_DIR/initdb.log" >&2; return 1; }
  # Bounded resources: this is a throwaway cluster for at most a few hundred connections.
  cat >>"$PG_DATA_DIR/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_BASE_DIR'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  # PG_EXTRA_CONF: lines added for one run, e.g. shared_preload_libraries = 'pg_stat_statements' to profile statements.
  [ -z "${PG_EXTRA_CONF:-}" ] || printf '%s\n' "$PG_EXTRA_CONF" >>"$PG_DATA_DIR/postgresql.conf"
  pg_run "$PG_BIN_DIR/pg_ctl" -D "$PG_DATA_DIR" -l "$PG_BASE_DIR/server.log" -w -t 60 start >/dev/null \
    || { cat "$PG_BASE_DIR/server.log" >&2; return 1; }
  PG_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
  export PG_BIN_DIR PG_BASE_DIR PG_DATA_DIR PG_PORT PG_URL
  echo "[pg] started PostgreSQL ($PG_BIN_DIR) on 127.0.0.1:$PG_PORT, data in $PG_DATA_DIR" >&2
}

pg_stop() {
  [ -n "${PG_DATA_DIR:-}" ] || return 0
  pg_run "$PG_BIN_DIR/pg_ctl" -D "$PG_DATA_DIR" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  rm -rf "$PG_BASE_DIR"
  echo "[pg] stopped and removed $PG_BASE_DIR" >&2
  PG_DATA_DIR=""
}

# pg_create_db NAME: creates a database in the running cluster and prints its URL.
pg_create_db() {
  "$PG_BIN_DIR/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$1\"" >/dev/null
  echo "postgresql://postgres@127.0.0.1:$PG_PORT/$1"
}
