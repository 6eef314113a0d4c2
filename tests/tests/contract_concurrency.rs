//! The storage contract under real concurrent sessions: idempotent appends racing with the same
//! key write once, racing position saves end at the highest, and snapshot puts racing with
//! appends and with each other never store a snapshot past the head or leave a redundant one.

use std::sync::Arc;

use angzarr_store_tests::{ensure_extension, pool, sqlstate};
use sqlx::{Connection, PgConnection, PgPool, Row};
use tokio::sync::Barrier;
use uuid::Uuid;

const REPEATS: usize = 5;

/// One idempotent append of two events on its own connection, optionally inside a transaction
/// of the given isolation level; returns the range or the SQLSTATE it failed with.
async fn pay(
    url: String,
    root: Uuid,
    key: String,
    isolation: Option<&'static str>,
    start: Arc<Barrier>,
) -> anyhow::Result<Result<(i64, i64), String>> {
    let mut conn = PgConnection::connect(&url).await?;
    if let Some(level) = isolation {
        sqlx::query(&format!("BEGIN ISOLATION LEVEL {level}"))
            .execute(&mut conn)
            .await?;
    }
    start.wait().await;
    let result = sqlx::query(
        "SELECT first_sequence, last_sequence FROM angzarr.append_events('wallet', $1, \
         ARRAY['Paid', 'Receipted'], ARRAY['\\x01'::bytea, '\\x02'::bytea], idempotency_key => $2)",
    )
    .bind(root)
    .bind(&key)
    .fetch_one(&mut conn)
    .await;
    let outcome = match result {
        Ok(row) => Ok((row.try_get(0)?, row.try_get(1)?)),
        Err(e) => Err(sqlstate(&e).unwrap_or_else(|| e.to_string())),
    };
    if isolation.is_some() {
        let end = if outcome.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        if let Err(e) = sqlx::query(end).execute(&mut conn).await {
            return Ok(Err(sqlstate(&e).unwrap_or_else(|| e.to_string())));
        }
    }
    Ok(outcome)
}

async fn race_repeats(
    isolation: Option<&'static str>,
) -> anyhow::Result<(Vec<Result<(i64, i64), String>>, i64)> {
    let pool = pool(2).await?;
    ensure_extension(&pool).await?;
    let root = Uuid::new_v4();
    sqlx::query("SELECT angzarr.append_events('wallet', $1, '[{\"type\": \"Opened\"}]')")
        .bind(root)
        .execute(&pool)
        .await?;
    let start = Arc::new(Barrier::new(REPEATS));
    let tasks: Vec<_> = (0..REPEATS)
        .map(|_| {
            tokio::spawn(pay(
                angzarr_store_tests::database_url(),
                root,
                "invoice-7".into(),
                isolation,
                start.clone(),
            ))
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await??);
    }
    let written: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM angzarr.events WHERE domain = 'wallet' AND root = $1 AND idempotency_key = 'invoice-7'",
    )
    .bind(root)
    .fetch_one(&pool)
    .await?;
    Ok((outcomes, written))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_concurrent_idempotent_repeats_write_once() -> anyhow::Result<()> {
    let (outcomes, written) = race_repeats(None).await?;
    for outcome in &outcomes {
        assert_eq!(
            outcome,
            &Ok((1, 2)),
            "every repeat returns the original range: {outcomes:?}"
        );
    }
    assert_eq!(written, 2, "the two events of the append are written once");
    Ok(())
}

/// Under REPEATABLE READ a repeat that waited for the first append cannot see it through its
/// snapshot; it must still not write again (returning the range or failing with 40001 is fine).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotent_repeats_write_once_under_repeatable_read() -> anyhow::Result<()> {
    let (outcomes, written) = race_repeats(Some("REPEATABLE READ")).await?;
    for outcome in &outcomes {
        assert!(
            matches!(outcome, Ok((1, 2)))
                || outcome.as_ref().err().map(String::as_str) == Some("40001"),
            "a repeat returns the original range or a serialization failure: {outcomes:?}"
        );
    }
    assert_eq!(
        written, 2,
        "the two events of the append are written once: {outcomes:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_position_saves_only_move_forward_and_end_at_the_highest() -> anyhow::Result<()> {
    const SESSIONS: usize = 8;
    const SAVES: i64 = 60;
    let pool = pool(SESSIONS as u32).await?;
    ensure_extension(&pool).await?;
    let root = Uuid::new_v4();
    let handler = format!("projector-{}", Uuid::new_v4());
    let tasks: Vec<_> = (0..SESSIONS)
        .map(|session| {
            let (pool, handler) = (pool.clone(), handler.clone());
            tokio::spawn(async move {
                let mut returned = Vec::new();
                for n in 0..SAVES {
                    // Interleaved, partly decreasing sequences: 0..SESSIONS*SAVES overall.
                    let seq = if n % 3 == 0 {
                        n * SESSIONS as i64
                    } else {
                        (SAVES - n) * session as i64
                    };
                    let stored: i64 =
                        sqlx::query_scalar("SELECT angzarr.save_position('player', $2, $1, $3)")
                            .bind(&handler)
                            .bind(root)
                            .bind(seq)
                            .fetch_one(&pool)
                            .await?;
                    assert!(
                        stored >= seq,
                        "the stored position {stored} is below the saved {seq}"
                    );
                    returned.push(stored);
                }
                anyhow::Ok(returned)
            })
        })
        .collect();
    let mut highest = 0;
    for t in tasks {
        let returned = t.await??;
        assert!(
            returned.windows(2).all(|w| w[0] <= w[1]),
            "a session saw its position move back: {returned:?}"
        );
        highest = highest.max(*returned.last().unwrap_or(&0));
    }
    let stored: Option<i64> = sqlx::query_scalar("SELECT angzarr.get_position('player', $2, $1)")
        .bind(&handler)
        .bind(root)
        .fetch_one(&pool)
        .await?;
    assert_eq!(stored, Some(highest));
    assert_eq!(
        highest,
        (SAVES - 1) / 3 * 3 * SESSIONS as i64,
        "the highest save wins"
    );
    sqlx::query("SELECT angzarr.reset_positions($1)")
        .bind(&handler)
        .execute(&pool)
        .await?;
    Ok(())
}

/// Puts the snapshot of what a session believes is the head; racing appends may have moved on
/// (fine) and the guess may be ahead of a rolled-back append (refused with ZA004).
async fn snapshot_head(pool: &PgPool, root: Uuid, ahead: i64) -> anyhow::Result<Option<i64>> {
    let next: i64 = sqlx::query_scalar("SELECT angzarr.next_sequence('ledger', $1)")
        .bind(root)
        .fetch_one(pool)
        .await?;
    let seq = next - 1 + ahead;
    if seq < 0 {
        return Ok(None);
    }
    let result = sqlx::query(
        "SELECT stored FROM angzarr.put_snapshot('ledger', $1, $2, $3, retention => 'transient')",
    )
    .bind(root)
    .bind(seq)
    .bind(seq.to_be_bytes().to_vec())
    .fetch_one(pool)
    .await;
    match result {
        Ok(row) => Ok(row.try_get::<bool, _>(0)?.then_some(seq)),
        Err(e) if sqlstate(&e).as_deref() == Some("ZA004") => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn snapshot_puts_racing_appends_and_each_other_stay_consistent() -> anyhow::Result<()> {
    const WRITERS: usize = 3;
    const SNAPSHOTTERS: usize = 3;
    const ROUNDS: usize = 60;
    let pool = pool((WRITERS + SNAPSHOTTERS) as u32).await?;
    ensure_extension(&pool).await?;
    let root = Uuid::new_v4();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..ROUNDS {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT angzarr.append_events('ledger', $1, ARRAY['Posted'], ARRAY['\\x'::bytea])")
                    .bind(root)
                    .execute(&mut *tx)
                    .await?;
                // Every fifth append rolls back, so a snapshotter's guess can run ahead.
                if (n + w) % 5 == 0 {
                    tx.rollback().await?;
                } else {
                    tx.commit().await?;
                }
            }
            anyhow::Ok(0)
        }));
    }
    for s in 0..SNAPSHOTTERS {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut stored = 0;
            for n in 0..ROUNDS {
                let ahead = if (n + s) % 4 == 0 { 1 } else { 0 };
                if snapshot_head(&pool, root, ahead).await?.is_some() {
                    stored += 1;
                }
            }
            anyhow::Ok(stored)
        }));
    }
    let mut stored = 0;
    for t in tasks {
        stored += t.await??;
    }
    assert!(stored > 0, "some snapshots were stored");
    let head: i64 = sqlx::query_scalar("SELECT angzarr.next_sequence('ledger', $1)")
        .bind(root)
        .fetch_one(&pool)
        .await?;
    let snapshots: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT sequence, state FROM angzarr.snapshots WHERE domain = 'ledger' AND root = $1",
    )
    .bind(root)
    .fetch_all(&pool)
    .await?;
    assert_eq!(
        snapshots.len(),
        1,
        "transient snapshots never pile up: {snapshots:?}"
    );
    let (seq, state) = &snapshots[0];
    assert!(*seq < head, "snapshot {seq} is past the head {head}");
    assert_eq!(
        state,
        &seq.to_be_bytes().to_vec(),
        "the stored state is the one put for that sequence"
    );
    // Loading gives the snapshot and exactly the events after it, up to the head.
    let loaded: Vec<(String, i64)> = sqlx::query_as(
        "SELECT kind, sequence FROM angzarr.load_aggregate('ledger', $1) ORDER BY sequence",
    )
    .bind(root)
    .fetch_all(&pool)
    .await?;
    let expected: Vec<(String, i64)> = std::iter::once(("snapshot".to_string(), *seq))
        .chain((seq + 1..head).map(|s| ("event".to_string(), s)))
        .collect();
    assert_eq!(loaded, expected);
    Ok(())
}
