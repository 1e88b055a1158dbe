#!/usr/bin/env bash
# A streaming replica of the local PostgreSQL and a PgBouncer in front of it, for the tests that
# need them (crates/server/tests/scale_out) and scripts/bench-scale.sh. Run as root on a machine
# whose PostgreSQL listens on 127.0.0.1:5432; the replica and PgBouncer run as the `postgres` user
# under $PEKEN_REPLICA_DIR. PEKEN_CI_DATABASE_URL is the primary's URL the script asks (any
# database on it: the replica is a copy of the whole cluster, every database in it).
#
#   scripts/replica.sh start              make the replica (pg_basebackup -R) on port 5433 and
#                                         start PgBouncer (transaction pooling from 1.21, session
#                                         pooling before) on port 6432; prints the variables the
#                                         tests read, whose URLs name the `postgres` database
#                                         (another database of the cluster is the same URL with
#                                         its name instead)
#   scripts/replica.sh stop               stop both and remove the replica's files
#   scripts/replica.sh stop-replica       stop the replica only (fast shutdown), keeping its files
#   scripts/replica.sh start-replica      start it again; it catches up by streaming
#   scripts/replica.sh restart-pgbouncer  stop PgBouncer and start it again
#
# The primary gets a `replication` line for 127.0.0.1 in its pg_hba.conf when it has none that
# trusts local replication.
set -euo pipefail

PRIMARY_URL="${PEKEN_CI_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
DIR="${PEKEN_REPLICA_DIR:-/var/tmp/peken-replica}"
REPLICA_PORT="${PEKEN_REPLICA_PORT:-5433}"
PGBOUNCER_PORT="${PEKEN_PGBOUNCER_PORT:-6432}"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
as_postgres() { runuser -u postgres -- "$@"; }
wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

# The primary's password, if its URL has one (CI sets 'postgres' on a fresh install).
password() {
  local rest=${PRIMARY_URL#*://}
  rest=${rest%%@*}
  case "$rest" in *:*) printf '%s' "${rest#*:}" ;; *) printf '' ;; esac
}

bin_dir() {
  local major
  major=$(psql "$PRIMARY_URL" -Atc 'SHOW server_version_num')
  major=$((major / 10000))
  echo "/usr/lib/postgresql/$major/bin"
}

allow_replication() {
  local hba
  hba=$(psql "$PRIMARY_URL" -Atc 'SHOW hba_file')
  if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
    # pg_hba.conf is read top-down and the first match decides: the line goes first.
    { echo 'host replication all 127.0.0.1/32 trust'; cat "$hba"; } >"$hba.new"
    cat "$hba.new" >"$hba" && rm -f "$hba.new"
    psql "$PRIMARY_URL" -qAtc 'SELECT pg_reload_conf()' >/dev/null
  fi
}

start_replica() {
  if port_open "$REPLICA_PORT"; then return 0; fi
  as_postgres "$(bin_dir)/pg_ctl" -D "$DIR/data" -l "$DIR/replica.log" -w -t 60 start >/dev/null
  wait_port "$REPLICA_PORT"
}

stop_replica() {
  if [ -f "$DIR/data/postmaster.pid" ]; then
    as_postgres "$(bin_dir)/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >/dev/null || true
  fi
}

# The replica streams through a physical replication slot, so the primary keeps the WAL it has
# not received yet: stopped for a while (a test does that) while the primary writes (every
# test's CREATE DATABASE writes its template into the WAL), it would otherwise find the segments
# it needs recycled and never catch up.
SLOT=peken_test_replica
drop_slot() {
  local sql="SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
             WHERE slot_name = '$SLOT' AND NOT active"
  for _ in $(seq 1 40); do
    psql "$PRIMARY_URL" -qAtc "$sql" >/dev/null 2>&1 || true
    [ -z "$(psql "$PRIMARY_URL" -Atc "SELECT 1 FROM pg_replication_slots WHERE slot_name = '$SLOT'")" ] \
      && return 0
    sleep 0.25
  done
  echo "the replication slot $SLOT is still in use" >&2
  return 1
}

# A physical replica is a copy of the whole cluster, every database in it: refuse to start one
# that would leave less than 2 GB of disk.
check_space() {
  local need free
  need=$(psql "$PRIMARY_URL" -Atc 'SELECT (sum(pg_database_size(oid)) / 1024)::bigint FROM pg_database')
  free=$(df -Pk "$DIR" | awk 'NR == 2 { print $4 }')
  if [ "$free" -lt $((need + 2000000)) ]; then
    echo "the replica would copy $((need / 1024)) MB of databases into $((free / 1024)) MB free;" \
      "drop databases the primary no longer needs (psql -l lists them)" >&2
    return 1
  fi
}

make_replica() {
  stop_replica
  drop_slot
  rm -rf "$DIR/data"
  check_space
  as_postgres pg_basebackup -d "host=127.0.0.1 port=5432 user=postgres" -D "$DIR/data" -R \
    -C -S "$SLOT" -X stream -c fast
  # Debian keeps a cluster's configuration outside its data directory: the replica gets its own.
  cat >"$DIR/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $REPLICA_PORT
unix_socket_directories = '$DIR'
max_connections = 200
shared_buffers = 64MB
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = 1s
EOF
  cat >"$DIR/data/pg_hba.conf" <<EOF
local all all trust
host all all 127.0.0.1/32 trust
EOF
  chown postgres:postgres "$DIR/data/postgresql.conf" "$DIR/data/pg_hba.conf"
  start_replica
}

write_pgbouncer_ini() {
  # Any database name passes through to the primary, so each test's fresh database is reachable
  # without listing it. The pool mode is the one the installed PgBouncer can carry peken's
  # connections in: transaction pooling needs max_prepared_statements (PgBouncer 1.21 and
  # later), because sqlx names every statement it prepares; Debian bookworm's 1.18 pools by
  # session (deploy/README.md, "PgBouncer").
  cat >"$DIR/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $DIR/userlist.txt
pool_mode = $(pool_mode)
max_client_conn = 1000
default_pool_size = 40
ignore_startup_parameters = extra_float_digits,options
logfile = $DIR/pgbouncer.log
pidfile = $DIR/pgbouncer.pid
EOF
  printf '"postgres" "%s"\n' "$(password)" >"$DIR/userlist.txt"
  chown postgres:postgres "$DIR/pgbouncer.ini" "$DIR/userlist.txt"
  chmod 600 "$DIR/userlist.txt"
}

# transaction on PgBouncer 1.21 and later (with max_prepared_statements), session before.
pool_mode() {
  local version
  version=$(pgbouncer --version | head -n1 | awk '{print $2}')
  if [ "$(printf '%s\n1.21.0\n' "$version" | sort -V | head -n1)" = 1.21.0 ]; then
    echo 'transaction
max_prepared_statements = 200'
  else
    echo session
  fi
}

start_pgbouncer() {
  if port_open "$PGBOUNCER_PORT"; then return 0; fi
  as_postgres pgbouncer -d -q "$DIR/pgbouncer.ini"
  wait_port "$PGBOUNCER_PORT"
}

stop_pgbouncer() {
  if [ -f "$DIR/pgbouncer.pid" ]; then
    local pid
    pid=$(cat "$DIR/pgbouncer.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    rm -f "$DIR/pgbouncer.pid"
  fi
}

print_env() {
  local pw userinfo
  pw=$(password)
  userinfo="postgres${pw:+:$pw}"
  echo "PEKEN_TEST_REPLICA_URL=postgres://$userinfo@127.0.0.1:$REPLICA_PORT/postgres"
  echo "PEKEN_TEST_PGBOUNCER_URL=postgres://$userinfo@127.0.0.1:$PGBOUNCER_PORT/postgres"
}

case "${1:-}" in
  start)
    command -v pgbouncer >/dev/null || {
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
    }
    mkdir -p "$DIR"
    chown postgres:postgres "$DIR"
    chmod 700 "$DIR"
    allow_replication
    make_replica
    stop_pgbouncer
    write_pgbouncer_ini
    start_pgbouncer
    print_env
    ;;
  stop)
    stop_pgbouncer
    stop_replica
    drop_slot || true
    rm -rf "$DIR"
    ;;
  stop-replica) stop_replica ;;
  start-replica) start_replica ;;
  restart-pgbouncer)
    stop_pgbouncer
    start_pgbouncer
    ;;
  *)
    echo "usage: $0 start|stop|stop-replica|start-replica|restart-pgbouncer" >&2
    exit 2
    ;;
esac
