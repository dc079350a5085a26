#!/usr/bin/env bash
# The scale curve behind docs/scale.md: grows an event store to each size
# given (people; about 9.2 events each) and measures, at that size, what the
# store takes on disk, the event-store append and command rates, the
# projection rebuild and the blacklist lookup with every card listed; then
# the analyses at each usage-row count in SCALE_ROWS. Prints a progress line
# per step and the tables at the end.
#
#   scripts/scale.sh 30000 100000 300000
#
# Needs a PostgreSQL you can create databases in (SCALE_PG, default a
# private cluster on 5434: docs/scale.md says how to create one; never
# 5432) and clickhouse-server (the analytics bench starts its own).
# Creates and drops its own databases (scale_<people>, and the go
# benchmarks' test databases on the same cluster).
#   SCALE_PG       postgres://postgres@127.0.0.1:5434
#   SCALE_BENCH_N  commands/appends per bench run (2000)
#   SCALE_CITY     people of the realistic city seeded once for bytes per
#                  event with sealed personal data and usage (1000; 0: skip)
#   SCALE_ROWS     usage-row counts for the analyses ("1000000 3000000 10000000"; "": skip)
#   SCALE_REBUILD  the one projection to rebuild (readmodel, batchrm, audit;
#                  "": all of them in turn), for sizes where all take too long;
#                  bench http then measures nothing (its serve would first
#                  catch the other projections up on the whole store)
set -euo pipefail
cd "$(dirname "$0")/.."
pg=${SCALE_PG:-postgres://postgres@127.0.0.1:5434}
n=${SCALE_BENCH_N:-2000}
city=${SCALE_CITY:-1000}
rows=${SCALE_ROWS-1000000 3000000 10000000}
rebuild=${SCALE_REBUILD:-}
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(30000 100000 300000)
[[ $pg == *:5432* ]] && { echo "scale.sh: not on 5432 (CI's cluster)" >&2; exit 2; }
out=$(mktemp -d)
export CARDLEDGER_LOG_LEVEL=warn CARDLEDGER_LOG_FORMAT=text
export CARDLEDGER_TEST_POSTGRES_URL="$pg/postgres?sslmode=disable"
step() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }
go build -o bin/cardledger ./cmd/cardledger

# store_figures DB: events, bytes of the event table with its indexes and
# TOAST, bytes per event.
store_figures() {
	psql "$pg/$1" -qAtF' ' -c "VACUUM ANALYZE eventstore_events" \
		-c "SELECT count(*), pg_total_relation_size('eventstore_events'), pg_indexes_size('eventstore_events'),
		           round(pg_total_relation_size('eventstore_events')::numeric / greatest(count(*), 1)) FROM eventstore_events"
}
fresh_db() {
	psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
	CARDLEDGER_POSTGRES_URL="$pg/$1?sslmode=disable&pool_max_conns=24" bin/cardledger migrate >/dev/null
}

if [[ $city -gt 0 ]]; then
	db=scale_city; fresh_db $db
	step "city: seeding $city people through the command handlers (sealed personal data, cards, e-cards, 6 months of usage); load $(loadavg)"
	CARDLEDGER_POSTGRES_URL="$pg/$db?sslmode=disable&pool_max_conns=24" bin/cardledger seed --people "$city" 2>/dev/null | tee "$out/city.seed" >&2
	read -r ev bytes idx per < <(store_figures $db)
	kinds=$(psql "$pg/$db" -qAt -c "SELECT string_agg(t || ' ' || c, ', ' ORDER BY c DESC) FROM (SELECT type t, count(*) c FROM eventstore_events GROUP BY 1 ORDER BY 2 DESC LIMIT 6) x" 2>/dev/null || true)
	echo "$city $ev $bytes $idx $per" >"$out/city"
	step "city: $ev events, $bytes bytes ($idx in indexes), $per bytes/event; most frequent: $kinds"
	psql "$pg/postgres" -qc "DROP DATABASE $db WITH (FORCE)"
fi

for people in "${sizes[@]}"; do
	db=scale_$people; fresh_db $db
	# No acquire bound (pgpool's 3 s): at load 40 a seed of a million
	# people failed with context deadline exceeded after 8 M events.
	url="$pg/$db?sslmode=disable&pool_max_conns=24&pool_acquire_timeout=0"
	l0=$(loadavg)
	step "$people: seeding card lifecycles straight into the store; load $l0"
	t0=$(date +%s.%N)
	CARDLEDGER_POSTGRES_URL=$url bin/cardledger seed --lifecycles --people "$people" >/dev/null
	seed_s=$(echo "$(date +%s.%N) - $t0" | bc)
	read -r ev bytes idx per < <(store_figures $db)
	step "$people: $ev events, $bytes bytes ($idx in indexes), $per bytes/event; seeded in ${seed_s%.*} s"

	step "$people: rebuilding ${rebuild:-every projection} from position zero; load $(loadavg)"
	t0=$(date +%s.%N)
	CARDLEDGER_POSTGRES_URL=$url bin/cardledger projections rebuild $rebuild 2>"$out/rebuild.$people.err" | tee "$out/rebuild.$people" >&2
	rebuild_s=$(echo "$(date +%s.%N) - $t0" | bc)
	rebuilt=${rebuild:-all}
	rm_bytes=$(psql "$pg/$db" -qAt -c "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname IN ('readmodel', 'batchrm', 'audit')")
	step "$people: rebuilt in $(printf %.1f "$rebuild_s") s; read models (readmodel, batchrm, audit schemas, incl. indexes) $rm_bytes bytes"

	step "$people: bench store -n $n (appends into the grown store); load $(loadavg)"
	CARDLEDGER_POSTGRES_URL=$url bin/cardledger bench store -n "$n" -concurrency 16 2>/dev/null | tee "$out/store.$people" >&2
	step "$people: bench http -n $n (the whole service on the grown store); load $(loadavg)"
	CARDLEDGER_POSTGRES_URL=$url bin/cardledger bench http -n "$n" -concurrency 16 2>/dev/null | tee "$out/http.$people" >&2
	l1=$(loadavg)
	psql "$pg/postgres" -qc "DROP DATABASE $db WITH (FORCE)"

	step "$people: blacklist lookup with all $people cards listed; load $(loadavg)"
	CARDLEDGER_BENCH_LISTED=$people go test ./readapi -run '^$' -bench 'BlacklistLookupAndFeed$' -benchtime 1x -timeout 1h 2>&1 |
		tee "$out/bl.$people" | grep -E 'listed:|ok|FAIL' >&2

	# loadgen lines: NAME  N ops in T  R ops/s  p50 X  p99 Y  errors E (the raw INSERT line first)
	raw=$(grep -m1 'ops/s' "$out/store.$people" | grep -oE '[0-9]+ ops/s' || true)
	appends=$(grep 'ops/s' "$out/store.$people" | sed -n 2p | grep -oE '[0-9]+ ops/s|p99 +[0-9.]+[mµ]?s' | tr -s ' ' | paste -sd, || true)
	cmds=$(grep -m1 'commands over HTTP' "$out/http.$people" | grep -oE '[0-9]+ commands/s|p99 [0-9.]+ ms' | paste -sd, || true)
	bl=$(grep -oE 'lookup [^;]*' "$out/bl.$people" | head -1 || true)
	echo "| $people | $ev | $bytes | $per | ${seed_s%.*} s | $(printf %.1f "$rebuild_s") s, $rebuilt ($(echo "$ev / $rebuild_s" | bc) events/s) | $rm_bytes | $appends (raw INSERT $raw) | $cmds | $bl | $l0–$l1 |" >>"$out/table"
done

for r in $rows; do
	step "analyses over $r usage rows (ClickHouse, single node); load $(loadavg)"
	CARDLEDGER_BENCH_ROWS=$r CARDLEDGER_REQUIRE_CLICKHOUSE=1 go test ./analytics -run '^$' -bench 'Queries$' -benchtime 1x -timeout 2h 2>&1 |
		tee "$out/ch.$r" | grep -E 'loaded|stored|median|ok|FAIL' >&2
done

echo
[[ -f $out/city ]] && read -r c ev bytes idx per <"$out/city" &&
	echo "realistic city (cardledger seed, $c people): $ev events, $bytes bytes incl. $idx of indexes, $per bytes/event"
echo
echo "| people | events | event table bytes (incl. indexes, TOAST) | bytes/event | seed | rebuild (wall, which) | read-model bytes | bench store: appends/s, p99 | bench http: commands/s, p99 | blacklist lookup, all listed | load avg |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
cat "$out/table" 2>/dev/null || true
for r in $rows; do
	echo
	echo "analyses, $r rows:"
	grep -E 'loaded|stored|median' "$out/ch.$r" | sed 's/^[[:space:]]*[a-z_]*_test.go:[0-9]*: //' || true
done
echo
echo "raw outputs: $out"
