#!/usr/bin/env bash
# Installs (from Debian's packages) and starts what cardledger needs on a
# machine without a Docker engine. Idempotent: run it as often as you like.
#
#   scripts/services.sh packages     install missing Debian packages
#   scripts/services.sh postgres     start PostgreSQL if it is not running; create database cardledger
#   scripts/services.sh clickhouse   start a private ClickHouse under .state/clickhouse; print its URL
#   scripts/services.sh pg-replica   make (pg_basebackup -R) and start a streaming replica of the
#                                    PostgreSQL on CARDLEDGER_PG_PRIMARY_PORT (5432); print its URL
#   scripts/services.sh clickhouse-cluster
#                                    start a private ClickHouse cluster (ZooKeeper, 2 shards x 2
#                                    replicas, cluster "cardledger") under .state/clickhouse-cluster;
#                                    print its node URLs, comma-separated (s1r1,s1r2,s2r1,s2r2)
#   scripts/services.sh stop         stop the private ClickHouse (single and cluster) and the replica
#   scripts/services.sh all          packages + postgres + clickhouse
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${CARDLEDGER_STATE_DIR:-$ROOT/.state}"
log() { echo "[services] $*" >&2; }

PACKAGES=(postgresql clickhouse-server clickhouse-client zookeeper
  pcscd libpcsclite-dev vsmartcard-vpcd vsmartcard-vpicc python3-virtualsmartcard python3-pycryptodome pcsc-tools
  chromium fonts-wqy-zenhei docker-compose pkg-config gcc curl python3 prometheus
  zbar-tools)

packages() {
  local need=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
  done
  ((${#need[@]})) || return 0
  local sudo=""; [[ $EUID -ne 0 ]] && sudo="sudo"
  log "installing: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

postgres() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    local ver; ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
    [[ -n "$ver" ]] || { log "no PostgreSQL cluster found (install the postgresql package)"; exit 1; }
    log "starting PostgreSQL $ver"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start
    for _ in $(seq 1 100); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.1; done
  fi
  # The machine's cluster trusts local connections for user postgres; a stock
  # Debian cluster asks for a password on TCP, so allow trust on loopback.
  if ! psql "postgres://postgres@127.0.0.1:5432/postgres" -Atqc 'select 1' >/dev/null 2>&1; then
    local hba; hba=$(su postgres -c "psql -Atqc 'show hba_file'")
    log "allowing trust auth on 127.0.0.1 in $hba"
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    su postgres -c "psql -Atqc 'select pg_reload_conf()'" >/dev/null
  fi
  if [[ -z "$(psql "postgres://postgres@127.0.0.1:5432/postgres" -Atqc "select 1 from pg_database where datname='cardledger'")" ]]; then
    psql "postgres://postgres@127.0.0.1:5432/postgres" -qc 'create database cardledger'
    log "created database cardledger"
  fi
}

clickhouse() {
  local dir="$STATE/clickhouse"
  if [[ -f "$dir/server.pid" ]] && kill -0 "$(cat "$dir/server.pid")" 2>/dev/null && [[ -f "$dir/url" ]]; then
    cat "$dir/url"; return 0
  fi
  rm -f "$dir/server.pid"
  local out; out=$("$ROOT/scripts/clickhouse/ch-private.sh" start "$dir" || "$ROOT/scripts/clickhouse/ch-private.sh" start "$dir")
  local tcp; tcp=$(echo "$out" | awk '{print $2}')
  echo "clickhouse://127.0.0.1:$tcp/default" > "$dir/url"
  log "ClickHouse $(clickhouse-client --port "$tcp" -q 'select version()') on 127.0.0.1:$tcp"
  cat "$dir/url"
}

# The cluster is left running for reuse like the single server; a start
# finds what still runs and starts only the rest (ch-cluster.sh start).
clickhouse_cluster() {
  "$ROOT/scripts/clickhouse/ch-cluster.sh" start "$STATE/clickhouse-cluster"
}

# The test replica: a second cluster of the primary's version on its own
# port, made by pg_basebackup -R (standby.signal + primary_conninfo) and
# streaming from the primary through a physical slot (a busy primary
# recycles WAL within seconds, before a slotless replica starts streaming).
# `stop` drops the slot, so a replica left stopped does not make the
# primary keep WAL forever; one that cannot catch up is remade.
# PostgreSQL refuses to run as root and needs every directory above its
# data to be reachable by the postgres user: the data lives under /var/tmp,
# not .state (a clone under /root is not). It is left running for reuse,
# like ClickHouse; `services.sh stop` stops it.
PG_PRIMARY_PORT="${CARDLEDGER_PG_PRIMARY_PORT:-5432}"
PG_REPLICA_PORT="${CARDLEDGER_PG_REPLICA_PORT:-$((PG_PRIMARY_PORT + 10))}"
PG_REPLICA_DIR="${CARDLEDGER_PG_REPLICA_DIR:-/var/tmp/cardledger-pg-replica-$PG_PRIMARY_PORT-$PG_REPLICA_PORT}"

as_postgres() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"
  elif [[ "$(id -un)" == postgres ]]; then "$@"
  else sudo -u postgres "$@"; fi
}

pg_replica() {
  local primary="postgres://postgres@127.0.0.1:$PG_PRIMARY_PORT/postgres?sslmode=disable"
  local url="postgres://postgres@127.0.0.1:$PG_REPLICA_PORT/postgres?sslmode=disable"
  local dir="$PG_REPLICA_DIR" data="$PG_REPLICA_DIR/data" slot="cardledger_replica_$PG_REPLICA_PORT"
  local num; num=$(psql "$primary" -Atqc 'show server_version_num') || { log "no PostgreSQL on port $PG_PRIMARY_PORT"; exit 1; }
  local bin="/usr/lib/postgresql/$((num / 10000))/bin"
  local sysid; sysid=$(psql "$primary" -Atqc 'select system_identifier from pg_control_system()')
  if pg_isready -q -h 127.0.0.1 -p "$PG_REPLICA_PORT"; then
    if [[ "$(psql "$url" -Atqc 'select pg_is_in_recovery()::text || system_identifier from pg_control_system()' 2>/dev/null)" == "true$sysid" ]]; then
      pg_replica_caught_up "$primary" "$url" 10 && { echo "$url"; return 0; }
      log "replica on $PG_REPLICA_PORT does not catch up: remaking it"
      as_postgres "$bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
    else
      log "port $PG_REPLICA_PORT is taken by something that is not a replica of port $PG_PRIMARY_PORT"; exit 1
    fi
  elif [[ -f "$data/standby.signal" && "$(cat "$dir/sysid" 2>/dev/null)" == "$sysid" ]] &&
    grep -q "primary_slot_name = '$slot'" "$data/postgresql.auto.conf"; then
    # `stop` dropped the slot; one made now holds the WAL from here on.
    psql "$primary" -Atqc "select pg_create_physical_replication_slot('$slot', true)
      where not exists (select 1 from pg_replication_slots where slot_name = '$slot')" >/dev/null
    if pg_replica_start "$bin" "$data" && pg_replica_caught_up "$primary" "$url" 15; then
      log "replica restarted on 127.0.0.1:$PG_REPLICA_PORT"; echo "$url"; return 0
    fi
    log "the replica in $data cannot catch up (WAL recycled on the primary?): remaking it"
    as_postgres "$bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
  fi
  # The primary must accept replication connections from loopback: a stock
  # Debian cluster asks a password for them on TCP ("all" does not match
  # the replication pseudo-database).
  if ! psql "postgres://postgres@127.0.0.1:$PG_PRIMARY_PORT/postgres?replication=true&sslmode=disable" -Atqc 'IDENTIFY_SYSTEM' >/dev/null 2>&1; then
    local hba; hba=$(psql "$primary" -Atqc 'show hba_file')
    log "allowing trust replication on 127.0.0.1 in $hba"
    sed -i '1i host replication all 127.0.0.1/32 trust' "$hba"
    psql "$primary" -Atqc 'select pg_reload_conf()' >/dev/null
  fi
  psql "$primary" -Atqc "select pg_drop_replication_slot(slot_name) from pg_replication_slots
    where slot_name = '$slot' and not active" >/dev/null
  rm -rf "$dir"
  mkdir -p "$dir"
  chown postgres: "$dir" 2>/dev/null || true
  local t0=$SECONDS
  as_postgres "$bin/pg_basebackup" -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres -D "$data" -R -X stream -c fast -C -S "$slot"
  # The primary's settings that a hot standby must match or exceed, and a
  # configuration of its own (Debian keeps the primary's in /etc).
  local s; s=$(psql "$primary" -AtqF= -c "select name, setting from pg_settings where name in
    ('max_connections','max_worker_processes','max_wal_senders','max_prepared_transactions','max_locks_per_transaction')")
  as_postgres tee "$data/postgresql.conf" >/dev/null <<CONF
port = $PG_REPLICA_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
hot_standby = on
hot_standby_feedback = on
shared_buffers = 64MB
fsync = off
full_page_writes = off
logging_collector = off
$s
CONF
  printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' | as_postgres tee "$data/pg_hba.conf" >/dev/null
  echo "$sysid" > "$dir/sysid"
  pg_replica_start "$bin" "$data" || { cat "$dir/log" >&2; exit 1; }
  pg_replica_caught_up "$primary" "$url" 30 || { log "the new replica did not catch up"; cat "$dir/log" >&2; exit 1; }
  log "replica of 127.0.0.1:$PG_PRIMARY_PORT made in $((SECONDS - t0))s, streaming on 127.0.0.1:$PG_REPLICA_PORT ($data)"
  echo "$url"
}

pg_replica_start() {
  local bin=$1 data=$2
  [[ -f "$PG_REPLICA_DIR/log" ]] && : > "$PG_REPLICA_DIR/log" # this start's lines only (pg_replica_caught_up reads them)
  as_postgres "$bin/pg_ctl" -D "$data" -l "$PG_REPLICA_DIR/log" -w -t 60 start >/dev/null
}

# pg_replica_caught_up waits up to $3 seconds until the replica has replayed
# the primary's WAL as of now.
pg_replica_caught_up() {
  local primary=$1 url=$2 secs=$3
  local lsn; lsn=$(psql "$primary" -Atqc 'select pg_current_wal_lsn()')
  local until=$((SECONDS + secs))
  while ((SECONDS < until)); do
    [[ "$(psql "$url" -Atqc "select pg_last_wal_replay_lsn() >= '$lsn'" 2>/dev/null)" == t ]] && return 0
    # WAL the replica needs is gone from the primary: waiting is futile.
    grep -q "has already been removed" "$PG_REPLICA_DIR/log" 2>/dev/null && return 1
    sleep 0.1
  done
  return 1
}

pg_replica_stop() {
  local data="$PG_REPLICA_DIR/data"
  if [[ -f "$data/postmaster.pid" ]]; then
    as_postgres "/usr/lib/postgresql/$(cat "$data/PG_VERSION")/bin/pg_ctl" -D "$data" -m fast stop >/dev/null || true
  fi
  psql "postgres://postgres@127.0.0.1:$PG_PRIMARY_PORT/postgres?sslmode=disable" -Atqc "select pg_drop_replication_slot(slot_name)
    from pg_replication_slots where slot_name = 'cardledger_replica_$PG_REPLICA_PORT' and not active" >/dev/null 2>&1 || true
}

stop() {
  local dir="$STATE/clickhouse"
  [[ -f "$dir/server.pid" ]] && "$ROOT/scripts/clickhouse/ch-private.sh" stop "$dir" || true
  rm -f "$dir/server.pid" "$dir/url"
  [[ -d "$STATE/clickhouse-cluster" ]] && "$ROOT/scripts/clickhouse/ch-cluster.sh" stop "$STATE/clickhouse-cluster"
  pg_replica_stop
}

case "${1:-all}" in
  packages) packages ;;
  postgres) postgres ;;
  clickhouse) clickhouse ;;
  clickhouse-cluster) clickhouse_cluster ;;
  pg-replica) pg_replica ;;
  stop) stop ;;
  all) packages; postgres; clickhouse >/dev/null ;;
  *) echo "usage: $0 packages|postgres|clickhouse|clickhouse-cluster|pg-replica|stop|all" >&2; exit 2 ;;
esac
