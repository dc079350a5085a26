#!/usr/bin/env bash
# Installs (from Debian's packages) and starts what cardledger needs on a
# machine without a Docker engine. Idempotent: run it as often as you like.
#
#   scripts/services.sh packages     install missing Debian packages
#   scripts/services.sh postgres     start PostgreSQL if it is not running; create database cardledger
#   scripts/services.sh clickhouse   start a private ClickHouse under .state/clickhouse; print its URL
#   scripts/services.sh stop         stop the private ClickHouse
#   scripts/services.sh all          packages + postgres + clickhouse
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${CARDLEDGER_STATE_DIR:-$ROOT/.state}"
log() { echo "[services] $*" >&2; }

PACKAGES=(postgresql clickhouse-server clickhouse-client
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

stop() {
  local dir="$STATE/clickhouse"
  [[ -f "$dir/server.pid" ]] && "$ROOT/scripts/clickhouse/ch-private.sh" stop "$dir" || true
  rm -f "$dir/server.pid" "$dir/url"
}

case "${1:-all}" in
  packages) packages ;;
  postgres) postgres ;;
  clickhouse) clickhouse ;;
  stop) stop ;;
  all) packages; postgres; clickhouse >/dev/null ;;
  *) echo "usage: $0 packages|postgres|clickhouse|stop|all" >&2; exit 2 ;;
esac
