# angzarr_store: build, run and test the extension against a local PostgreSQL 15 cluster.
# Quick start: `make demo`, `make test`. Settings below can be overridden: `make demo PORT=5440`.

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
PORT      ?= 55432
PROFILE   ?= release

# PG=17 or PG=18 picks a PostgreSQL built from source by scripts/pg_build.sh (`make setup PG=18`),
# its own dev cluster (named pg18, beside the 15 one) and port: 56117 / 56118. PG wins over a
# PG_CONFIG or PORT inherited from the environment; give those on the command line to override.
PG_SOURCE_PREFIX := /opt/angzarr-pg
ifneq ($(filter command line environment,$(origin PG)),)
ifneq ($(PG),15)
ifneq ($(origin PG_CONFIG),command line)
PG_CONFIG := $(PG_SOURCE_PREFIX)/$(PG)/bin/pg_config
endif
ifneq ($(origin PORT),command line)
PORT := 561$(PG)
endif
CLUSTER ?= pg$(PG)
export CLUSTER
endif
else
PG := $(or $(shell $(PG_CONFIG) --version 2>/dev/null | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p'),15)
endif
export PG PG_CONFIG PORT

CARGO_PGRX_FLAGS := --pg-config $(PG_CONFIG) $(if $(filter release,$(PROFILE)),--release,) \
                    $(if $(filter-out 15,$(PG)),--no-default-features --features pg$(PG),)
INSTALL_STAMP    := target/.installed-$(PROFILE)-pg$(PG)
EXT_SOURCES      := $(shell find src sql proto/src proto/proto -type f 2>/dev/null) Cargo.toml Cargo.lock angzarr_store.control
PG_TEST_DATA     := /var/lib/angzarr_store/pg_test
# mdBook, pinned, installed from crates.io once per machine into a cache outside the clone.
MDBOOK_VERSION   := 0.4.52
TOOLS_DIR        ?= $(HOME)/.cache/angzarr_store
MDBOOK           := $(TOOLS_DIR)/mdbook-$(MDBOOK_VERSION)/bin/mdbook

.PHONY: setup install cluster demo psql url stop test lint test-pg test-regress \
        test-isolation test-client test-dump test-feed-migration test-upgrade test-crash test-torture bench fuzz release-freeze \
        test-ha test-ha-async docs test-docs shard-demo test-shard test-matrix test-versions test-pg-upgrade

## setup: install PostgreSQL 15, headers, libclang and cargo-pgrx when missing (PG=17|18: also build that major once)
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

## test: every tier on 15: lint, docs, unit + pg_test, pg_regress, isolation, client, dump/restore, feed migration, upgrade, crash, torture, replicas and failover, shard; then test-versions (18, pg_upgrade 15 -> 18)
test: setup lint docs test-pg install cluster test-regress test-docs test-isolation test-client test-dump test-feed-migration test-upgrade test-crash test-torture test-ha test-shard test-versions
	@echo "make test: all tiers passed"

# The other majors `make test` covers. 17's source package is in trixie; add it with
# `make test MATRIX_VERSIONS="17 18"` where the archive serves it. Their extension builds are debug
# builds (the release build is tested on 15).
MATRIX_VERSIONS ?= 18
MATRIX_PROFILE  ?= debug
PG_UPGRADE_TO   ?= 18

## test-versions: test-matrix for each of MATRIX_VERSIONS, then test-pg-upgrade
test-versions:
	@for v in $(MATRIX_VERSIONS); do \
	    $(MAKE) --no-print-directory test-matrix PG=$$v PROFILE=$(MATRIX_PROFILE) \
	        PG_CONFIG=$(PG_SOURCE_PREFIX)/$$v/bin/pg_config PORT=561$$v || exit 1; \
	done
	@$(MAKE) --no-print-directory test-pg-upgrade PG=15 PG_CONFIG=$(PG_CONFIG) PORT=$(PORT)

## test-matrix: the SQL tiers on PG=17|18 and its own cluster: pg_regress, isolation, multi-session, dump/restore, upgrade
test-matrix: install cluster
	@echo "test-matrix: PostgreSQL $(PG) ($(PG_CONFIG)), port $(PORT)"
	@bash scripts/test_regress.sh
	@bash scripts/test_isolation.sh
	@bash scripts/test_client.sh multi-session
	@bash scripts/test_dump_restore.sh
	@bash scripts/test_upgrade.sh

## test-pg-upgrade: pg_upgrade from this PostgreSQL (15) to PG_UPGRADE_TO (18) with data of every kind (ports 56130-56131)
test-pg-upgrade: install
	@$(MAKE) --no-print-directory install PG=$(PG_UPGRADE_TO) PROFILE=$(MATRIX_PROFILE) \
	    PG_CONFIG=$(PG_SOURCE_PREFIX)/$(PG_UPGRADE_TO)/bin/pg_config
	@OLD_PG_CONFIG=$(PG_CONFIG) NEW_PG_CONFIG=$(PG_SOURCE_PREFIX)/$(PG_UPGRADE_TO)/bin/pg_config \
	    bash scripts/test_pg_upgrade.sh

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
