#!/usr/bin/env bash
# Reproduces the README's performance figures on this machine. Each figure
# is printed beside its comparison run from the same run. Takes a while
# (the million-event and million-card set-ups dominate); set SCALE=small for
# a quick pass with smaller data.
#   make bench            # or: scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
small=0; [[ "${SCALE:-}" == small ]] && small=1
pg=postgres://postgres@127.0.0.1:5432
db=cardledger_bench
psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
export CARDLEDGER_POSTGRES_URL="$pg/$db?sslmode=disable&pool_max_conns=32" CARDLEDGER_LOG_FORMAT=text CARDLEDGER_LOG_LEVEL=warn
section() { printf '\n== %s\n' "$*"; }

section "write side: commands over HTTP (full service) vs raw single-row INSERT, 16 clients; cost per command"
bin/cardledger bench http -n 4000 -concurrency 16
bin/cardledger bench http -n 4000 -concurrency 16 --hot-share 0.1
bin/cardledger bench http -n 400 -concurrency 16 --raw=false --count 400
bin/cardledger bench http -n 400 -concurrency 16 --raw=false --count 400 --projections=false

section "write side: event-store appends and in-process loss/unlock commands vs raw single-row INSERT (16 workers)"
bin/cardledger bench store -n 20000 -concurrency 16
bin/cardledger bench commands -n 20000 -concurrency 16

section "projection rebuild vs raw COPY"
CARDLEDGER_BENCH_PERSONS=$(( small ? 10000 : 100000 )) \
  go test ./projections -run '^$' -bench RebuildVsRawCopy -benchtime 1x -timeout 3h

section "blacklist: lookup and feed page latency, loss-to-feed latency"
CARDLEDGER_BENCH_LISTED=$(( small ? 100000 : 1000000 )) \
  go test ./readapi -run '^$' -bench 'BlacklistLookupAndFeed|LossToFeed' -benchtime 1x -timeout 1h

section "analytics: ingest, ClickHouse insert vs clickhouse-client TSV, queries"
CARDLEDGER_BENCH_ROWS=$(( small ? 1000000 : 10000000 )) CARDLEDGER_REQUIRE_CLICKHOUSE=1 go test ./analytics -run '^$' -bench . -benchtime 1x -timeout 2h

section "batch: 100,000-row application import"
go test ./batch -run '^$' -bench ImportApplications100k -benchtime 1x -timeout 1h

section "service counter: card read and insertion-to-decision"
SSCARD_REQUIRE=1 go test ./hwbridge -run '^$' -bench 'ReadCard|PINState'
SSCARD_REQUIRE=1 go test ./cmd/cardbridge -run '^$' -bench InsertionToDecision -benchtime 50x

psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"
