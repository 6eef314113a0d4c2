# angzarr_store: build, run and test the extension against a local PostgreSQL 15 cluster.
# Quick start: `make demo`, `make test`. Settings below can be overridden: `make demo PORT=5440`.

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
PORT      ?= 55432
PROFILE   ?= release
export PG_CONFIG PORT

CARGO_PGRX_FLAGS := --pg-config $(PG_CONFIG) $(if $(filter release,$(PROFILE)),--release,)
INSTALL_STAMP    := target/.installed-$(PROFILE)
EXT_SOURCES      := $(shell find src sql proto/src proto/proto -type f 2>/dev/null) Cargo.toml Cargo.lock angzarr_store.control
PG_TEST_DATA     := /var/lib/angzarr_store/pg_test
# mdBook, pinned, installed from crates.io once per machine into a cache outside the clone.
MDBOOK_VERSION   := 0.4.52
TOOLS_DIR        ?= $(HOME)/.cache/angzarr_store
MDBOOK           := $(TOOLS_DIR)/mdbook-$(MDBOOK_VERSION)/bin/mdbook

.PHONY: setup install cluster demo psql url stop test lint test-pg test-regress \
        test-isolation test-client test-dump test-feed-migration test-upgrade test-crash test-torture bench fuzz release-freeze \
        test-ha test-ha-async docs test-docs shard-demo test-shard

## setup: install PostgreSQL 15, headers, libclang and cargo-pgrx when missing
setup:
	@bash scripts/setup.sh

## install: build the extension and install it into $(PG_CONFIG)'s PostgreSQL
install: setup $(INSTALL_STAMP)

$(INSTALL_STAMP): $(EXT_SOURCES)
	cargo pgrx install $(CARGO_PGRX_FLAGS)
	@mkdir -p target && touch $@

## cluster: start the local dev cluster (port $(PORT))
cluster: setup
	@bash scripts/cluster.sh start

## demo: set everything up, then show appends, reads and a refused stale write
demo: install cluster
	@bash scripts/cluster.sh createdb angzarr >/dev/null 2>&1
	@bash scripts/demo.sh

## psql: open psql on the dev cluster's demo database
psql: cluster
	@psql -X -h 127.0.0.1 -p $(PORT) -U postgres angzarr

## url: print the dev cluster's connection URL
url:
	@bash scripts/cluster.sh url angzarr

## stop: stop the dev cluster
stop:
	@bash scripts/cluster.sh stop

## test: every tier: lint, docs, unit + pg_test, pg_regress, isolation, client, dump/restore, feed migration, upgrade, crash, torture, replicas and failover, shard
test: setup lint docs test-pg install cluster test-regress test-docs test-isolation test-client test-dump test-feed-migration test-upgrade test-crash test-torture test-ha test-shard
	@echo "make test: all tiers passed"

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	bash scripts/release.sh check

# Unit tests and #[pg_test]s of the extension crate. pg_test installs its own test build; the later tiers reinstall the normal build.
test-pg: setup
	@mkdir -p $(PG_TEST_DATA) && chown postgres: $(PG_TEST_DATA)
	cargo pgrx test pg15 --runas postgres --pgdata $(PG_TEST_DATA)/data
	cargo pgrx install $(CARGO_PGRX_FLAGS)
	@touch $(INSTALL_STAMP)

test-regress: install cluster
	@bash scripts/test_regress.sh

test-isolation: install cluster
	@bash scripts/test_isolation.sh

test-client: install cluster
	@bash scripts/test_client.sh

test-dump: install cluster
	@bash scripts/test_dump_restore.sh

# Two throw-away clusters of its own (ports PORT+10, PORT+11), not the dev cluster.
test-feed-migration: install
	@bash scripts/test_feed_migration.sh

test-upgrade: install cluster
	@bash scripts/test_upgrade.sh

test-crash: install
	@bash scripts/test_crash.sh

test-torture: install cluster
	@bash scripts/test_torture.sh

## docs: build the book (docs/) with the client's rustdoc into target/book, offline; broken links, missing includes,
## pasted psql output and SQLSTATEs the code does not raise are errors
docs: $(MDBOOK)
	@MDBOOK=$(MDBOOK) bash scripts/docs.sh

$(MDBOOK):
	cargo install mdbook --version $(MDBOOK_VERSION) --locked --no-default-features --features search \
		--root $(TOOLS_DIR)/mdbook-$(MDBOOK_VERSION)

# Every function, argument, signature and setting the book names exists in the installed extension.
test-docs: install cluster
	@bash scripts/test_docs.sh

# Four shards and a PL/Proxy router in a cluster of their own (port 56200, SHARD_PORT), stopped at the end.
test-shard: install
	@bash scripts/test_shard.sh

## shard-demo: four shards and a PL/Proxy router (port 56200), then a psql session through the router
shard-demo: install
	@bash scripts/shard_demo.sh

## fuzz: fuzz the EventBook decoder in-process and through SQL (FUZZ_SECONDS, default 60)
fuzz: install cluster
	@bash scripts/fuzz.sh

## release-freeze: freeze the installed version's install script into sql/releases/
release-freeze: install
	@bash scripts/release.sh freeze

## bench: run the benchmark suite on a dedicated cluster (see bench/README.md)
bench: setup
	@bash bench/run.sh

## test-ha: a hot standby's feed and the client against it, then 10 failovers with a synchronous standby that must lose nothing
# Clusters of its own on ports 56150-56151 and 56160-56161 (56162-56163 for test-ha-async).
test-ha: install
	@bash scripts/test_replica.sh
	@bash scripts/test_failover.sh

## test-ha-async: the failover drill with an asynchronous standby, counting what it loses
test-ha-async: install
	@FAILOVER_SYNC=off bash scripts/test_failover.sh
