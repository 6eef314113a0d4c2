#!/usr/bin/env bash
# Tier 2: pg_regress golden tests (pg_test/sql/NAME.sql -> pg_test/expected/NAME.out).
#   scripts/test_regress.sh [NAME ...]
exec bash "$(dirname "$0")/pg_suite.sh" regress "$@"
