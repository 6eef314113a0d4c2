#!/usr/bin/env bash
# Tier 3: isolation tests, fixed interleavings of real sessions
# (pg_test/specs/NAME.spec -> pg_test/expected/NAME.out).
#   scripts/test_isolation.sh [NAME ...]
exec bash "$(dirname "$0")/pg_suite.sh" isolation "$@"
