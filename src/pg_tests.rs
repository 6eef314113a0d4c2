//! `#[pg_test]`s for the trigger's per-transaction state: each runs inside one transaction that
//! is rolled back, so they cover what happens within a transaction (commit-time behaviour and
//! SQLSTATEs are covered by pg_test/ and tests/).

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    const ROOT: &str = "'00000000-0000-0000-0000-0000000000d1'";

    fn append(event_type: &str) -> i64 {
        Spi::get_one::<i64>(&format!(
            "INSERT INTO angzarr.events (domain, root, event_type, payload) \
             VALUES ('player', {ROOT}, '{event_type}', '\\x') RETURNING sequence"
        ))
        .expect("insert ran")
        .expect("sequence assigned")
    }

    fn count() -> i64 {
        Spi::get_one::<i64>(&format!(
            "SELECT count(*) FROM angzarr.events WHERE root = {ROOT}"
        ))
        .expect("count ran")
        .expect("count is not NULL")
    }

    #[pg_test]
    fn later_statements_of_a_transaction_continue_from_the_cache() {
        assert_eq!(append("A"), 0);
        assert_eq!(append("B"), 1);
        assert_eq!(append("C"), 2);
        assert_eq!(count(), 3);
    }

    #[pg_test]
    fn subtransaction_rollback_leaves_no_gap() {
        assert_eq!(append("A"), 0);
        // An exception block is a subtransaction: its append is rolled back and forgotten.
        Spi::run(&format!(
            "DO $$ BEGIN \
               INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES ('player', {ROOT}, 'B', '\\x'); \
               RAISE EXCEPTION 'roll back'; \
             EXCEPTION WHEN OTHERS THEN NULL; END $$"
        ))
        .expect("DO ran");
        assert_eq!(append("C"), 1);
        assert_eq!(count(), 2);
    }

    #[pg_test]
    fn an_expectation_is_checked_once_per_setting_value() {
        Spi::run(&format!(
            "SELECT set_config('angzarr.expected_sequences', '{{\"player/' || {ROOT} || '\": 0}}', true)"
        ))
        .expect("set_config ran");
        assert_eq!(append("A"), 0);
        // The expectation was consumed by the first row; later rows are not held to it.
        assert_eq!(append("B"), 1);
    }

    #[pg_test]
    fn explicit_expectation_applies_to_the_next_row_only() {
        Spi::run(&format!(
            "SELECT angzarr._expect_next_sequence('player', NULL, {ROOT}, 0)"
        ))
        .expect("expect ran");
        assert_eq!(append("A"), 0);
        assert_eq!(append("B"), 1);
    }

    #[pg_test]
    fn lock_key_is_the_same_from_sql_and_for_every_edition_spelling() {
        let main = Spi::get_one::<i64>(&format!(
            "SELECT angzarr.aggregate_lock_key('player', {ROOT})"
        ));
        let empty = Spi::get_one::<i64>(&format!(
            "SELECT angzarr.aggregate_lock_key('player', {ROOT}, '')"
        ));
        let other = Spi::get_one::<i64>(&format!(
            "SELECT angzarr.aggregate_lock_key('player', {ROOT}, 'x')"
        ));
        assert_eq!(main, empty);
        assert_ne!(main, other);
    }

    #[pg_test]
    fn payload_json_reads_json_and_leaves_binary_alone() {
        let json = Spi::get_one::<String>(
            "SELECT angzarr.payload_json(convert_to('{\"a\": 1}', 'UTF8'))::text",
        );
        assert_eq!(json.expect("ran").as_deref(), Some("{\"a\": 1}"));
        let binary = Spi::get_one::<String>("SELECT angzarr.payload_json('\\xff00'::bytea)::text");
        assert_eq!(binary.expect("ran"), None);
    }
}
