\echo Use "ALTER EXTENSION angzarr_store UPDATE TO '0.3.0'" to load this file. \quit
-- angzarr_store 0.2.0 -> 0.3.0. Each change below says what changed and why; the result must be
-- exactly a fresh 0.3.0 install (scripts/test_upgrade.sh compares the two schemas).
