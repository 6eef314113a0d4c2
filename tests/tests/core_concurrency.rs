//! Real concurrent sessions against the sequence trigger: many writers on one aggregate with
//! retry end gap-free with every acknowledged event written by the session told it succeeded;
//! writers on distinct aggregates never conflict and never wait for each other's locks.

use std::time::Duration;

use angzarr_store_tests::{ensure_extension, pool, sqlstate};
use sqlx::{PgPool, Row};
use uuid::Uuid;

const SESSIONS: usize = 8;
const APPENDS_PER_SESSION: usize = 200;

/// Loads the aggregate's next sequence, then appends with it as the expectation, retrying on
/// ZA001. Returns the sequence the store acknowledged and how many conflicts it took.
async fn append_with_retry(pool: &PgPool, root: Uuid, payload: &str) -> anyhow::Result<(i64, u32)> {
    let mut conflicts = 0;
    loop {
        let next: i64 = sqlx::query_scalar(
            "SELECT coalesce(max(sequence) + 1, 0) FROM angzarr.read_stream('hot', $1)",
        )
        .bind(root)
        .fetch_one(pool)
        .await?;
        let result = sqlx::query(
            "SELECT first_sequence FROM angzarr.append_events('hot', $1, ARRAY['Tick'], ARRAY[convert_to($2, 'UTF8')], expected_sequence => $3)",
        )
        .bind(root)
        .bind(payload)
        .bind(next)
        .fetch_one(pool)
        .await;
        match result {
            Ok(row) => return Ok((row.try_get::<i64, _>(0)?, conflicts)),
            Err(e) if sqlstate(&e).as_deref() == Some("ZA001") => conflicts += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hot_aggregate_ends_gap_free_with_every_acknowledged_event() -> anyhow::Result<()> {
    let pool = pool(SESSIONS as u32).await?;
    ensure_extension(&pool).await?;
    let root = Uuid::new_v4();
    let mut tasks = Vec::new();
    for session in 0..SESSIONS {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut conflicts = 0;
            for n in 0..APPENDS_PER_SESSION {
                let payload = format!("{session}:{n}");
                let (sequence, c) = append_with_retry(&pool, root, &payload).await?;
                conflicts += c;
                acknowledged.push((sequence, payload));
            }
            anyhow::Ok((acknowledged, conflicts))
        }));
    }
    let mut acknowledged = Vec::new();
    let mut conflicts = 0;
    for t in tasks {
        let (acks, c) = t.await??;
        acknowledged.extend(acks);
        conflicts += c;
    }
    let rows = sqlx::query(
        "SELECT sequence, convert_from(payload, 'UTF8') FROM angzarr.read_stream('hot', $1) ORDER BY sequence",
    )
    .bind(root)
    .fetch_all(&pool)
    .await?;
    let stored: Vec<(i64, String)> = rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let total = SESSIONS * APPENDS_PER_SESSION;
    assert_eq!(
        stored.len(),
        total,
        "every acknowledged append is stored, nothing else"
    );
    for (i, (sequence, _)) in stored.iter().enumerate() {
        assert_eq!(
            *sequence,
            i as i64,
            "sequences are 0..{} without gaps",
            total - 1
        );
    }
    acknowledged.sort();
    assert_eq!(
        acknowledged, stored,
        "each sequence holds the payload of the session told it won"
    );
    println!("{total} appends by {SESSIONS} sessions, {conflicts} conflicts retried");
    assert!(
        conflicts > 0,
        "8 sessions on one aggregate must have raced at least once"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_on_distinct_aggregates_never_conflict_or_wait() -> anyhow::Result<()> {
    let pool = pool(SESSIONS as u32 + 1).await?;
    ensure_extension(&pool).await?;
    // Every session holds its transaction open after appending to its own aggregate, so if any
    // writer waited for another's lock it would block until the timeout and fail with 55P03.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(SESSIONS));
    let mut tasks = Vec::new();
    for _ in 0..SESSIONS {
        let pool = pool.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let root = Uuid::new_v4();
            let mut tx = pool.begin().await?;
            sqlx::query("SET LOCAL lock_timeout = '5s'").execute(&mut *tx).await?;
            for expected in 0..20i64 {
                sqlx::query(
                    "SELECT 1 FROM angzarr.append_events('cold', $1, ARRAY['Tick'], ARRAY['\\x00'::bytea], expected_sequence => $2)",
                )
                .bind(root)
                .bind(expected)
                .execute(&mut *tx)
                .await?;
            }
            barrier.wait().await;
            tx.commit().await?;
            anyhow::Ok(root)
        }));
    }
    let outcome =
        tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(tasks)).await?;
    for r in outcome {
        let root = r??;
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM angzarr.read_stream('cold', $1)")
            .bind(root)
            .fetch_one(&pool)
            .await?;
        assert_eq!(count, 20);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn multi_aggregate_transaction_is_atomic() -> anyhow::Result<()> {
    let pool = pool(2).await?;
    ensure_extension(&pool).await?;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let setting = format!(r#"{{"order/{a}": 0, "stock/{b}": 0}}"#);
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('angzarr.expected_sequences', $1, true)")
        .bind(&setting)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES ('order', $1, 'Placed', '\\x'), ('stock', $2, 'Reserved', '\\x')")
        .bind(a)
        .bind(b)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // The same expectations again: the first aggregate conflicts, so neither gets a row.
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('angzarr.expected_sequences', $1, true)")
        .bind(&setting)
        .execute(&mut *tx)
        .await?;
    let err = sqlx::query("INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES ('order', $1, 'Placed', '\\x'), ('stock', $2, 'Reserved', '\\x')")
        .bind(a)
        .bind(b)
        .execute(&mut *tx)
        .await
        .expect_err("stale expectations must be refused");
    assert_eq!(sqlstate(&err).as_deref(), Some("ZA001"));
    tx.rollback().await?;
    let counts: Vec<i64> = sqlx::query_scalar(
        "SELECT count(*) FROM angzarr.events WHERE (domain, root) IN (('order', $1), ('stock', $2)) GROUP BY domain ORDER BY domain",
    )
    .bind(a)
    .bind(b)
    .fetch_all(&pool)
    .await?;
    assert_eq!(counts, vec![1, 1]);
    Ok(())
}
