# The two commands a newcomer needs:
#   make run    install/start services, migrate, seed a demo city, serve on 127.0.0.1:8080
#   make test   install/start services and run the whole test suite (CI runs this)
SHELL := /bin/bash
GO ?= go
BIN := bin/cardledger
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
export CARDLEDGER_LOG_FORMAT ?= text

.PHONY: run test build services vet fuzz bench clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/cardledger
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/cardbridge ./cmd/cardbridge

services:
	scripts/services.sh packages
	scripts/services.sh postgres

run: services build
	@set -e; \
	export CARDLEDGER_CLICKHOUSE_URL=$$(scripts/services.sh clickhouse); \
	$(BIN) serve --check-listen; \
	$(BIN) migrate; \
	$(BIN) seed --people $${SEED_PEOPLE:-2000} --months $${SEED_MONTHS:-6} --if-empty; \
	echo "demo admin key (use as: Authorization: Bearer KEY):"; \
	$(BIN) clients add --name demo-admin-$$(date +%s) --role admin | tail -1; \
	echo "dashboard: http://$${CARDLEDGER_LISTEN:-127.0.0.1:8080}/dashboard"; \
	CARDLEDGER_DELIVERY_ALLOW_PRIVATE=true exec $(BIN) serve

# Packages whose goroutines share projection runners and answer /readyz and
# /metrics run under the race detector in `make test`, and only so.
RACE_PKGS := projections analytics readapi cmd/cardledger

# The read API's tests (and serve's) read through a streaming replica of the
# test server: scripts/services.sh pg-replica makes it (pg_basebackup -R) or
# reuses the running one. The analytics cluster tests run on a private
# ClickHouse cluster (ZooKeeper, 2 shards x 2 replicas) that
# scripts/services.sh clickhouse-cluster starts or reuses.
test: services
	$(GO) vet ./...
	set -e; CARDLEDGER_TEST_POSTGRES_READ_URL=$$(scripts/services.sh pg-replica); \
	export CARDLEDGER_TEST_POSTGRES_READ_URL; \
	CARDLEDGER_TEST_CLICKHOUSE_CLUSTER_URLS=$$(scripts/services.sh clickhouse-cluster); \
	export CARDLEDGER_TEST_CLICKHOUSE_CLUSTER_URLS CARDLEDGER_REQUIRE_CLICKHOUSE_CLUSTER=1 \
		CARDLEDGER_TEST_CLICKHOUSE_CLUSTER_DIR=$${CARDLEDGER_STATE_DIR:-$$PWD/.state}/clickhouse-cluster; \
	CARDLEDGER_REQUIRE_CLICKHOUSE=1 SSCARD_REQUIRE=1 $(GO) test -count=1 -timeout 20m \
		$$($(GO) list ./... | grep -vxF $(foreach p,$(RACE_PKGS),-e github.com/cardledger/cardledger/$(p))); \
	CARDLEDGER_REQUIRE_CLICKHOUSE=1 SSCARD_REQUIRE=1 $(GO) test -race -count=1 -timeout 20m $(addprefix ./,$(RACE_PKGS))
	docker-compose -f docker-compose.yml config -q && docker-compose -f docker-compose.yml --profile cluster config -q && \
		docker-compose -f docker-compose.yml --profile clickhouse-cluster config -q && \
		test "$$(docker-compose -f docker-compose.yml --profile cluster config --services | grep -c '^esdb-node[123]$$')" = 3 && \
		echo "docker-compose.yml: valid (default stack, cluster and clickhouse-cluster profiles)"
	promtool check rules deploy/prometheus/alerts.yml

# Run every fuzz target for a short while (the corpora run in `make test` anyway).
fuzz:
	scripts/fuzz.sh $${FUZZTIME:-20s}

bench: services build
	scripts/bench.sh

clean:
	rm -rf bin .state
