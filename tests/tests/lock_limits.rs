//! The store's locks under very large transactions and lock waits, with real sessions:
//! a bulk import of 1,000,000 events over 100,000 new aggregates in one transaction (through
//! INSERT ... SELECT and through COPY) and discarding an edition of 100,000 aggregates work at
//! the server's lock table size, without making other sessions fail while they run; lock
//! waits that end in an error report PostgreSQL's own message and DETAIL, nothing else.

use std::time::Duration;

use angzarr_store_tests::{database_url, ensure_extension, pool, sqlstate};
use sqlx::postgres::PgConnection;
use sqlx::{Connection, PgPool};
use uuid::Uuid;

const AGGREGATES: i64 = 100_000;

/// The bulk transactions run one at a time: past the escalation threshold they would take turns
/// anyway (one escalator at a time, `pg_test/specs/escalation_race.spec`), and the checks of
/// what other sessions can do while one runs are about one bulk transaction.
static BULK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const EVENTS_PER_AGGREGATE: i64 = 10;

/// What other sessions can still do while a bulk transaction holds its locks: connect, create
/// a table in another database, and append to an aggregate (waiting for the bulk transaction
/// when it covers that aggregate's bucket, which is ordinary waiting).
async fn others_still_work(
    pool: &PgPool,
    domain: &str,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<i64>>> {
    let mut fresh = PgConnection::connect(&database_url()).await?;
    let other_db = database_url()
        .rsplit_once('/')
        .map(|(base, _)| format!("{base}/postgres"))
        .unwrap();
    let mut other = PgConnection::connect(&other_db).await?;
    sqlx::query("CREATE TEMP TABLE lock_limits_probe (x int)")
        .execute(&mut other)
        .await?;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM angzarr.events WHERE domain = $1")
        .bind(domain)
        .fetch_one(&mut fresh)
        .await?;
    anyhow::ensure!(n == 0, "a reader saw {n} uncommitted events");
    let pool = pool.clone();
    let domain = domain.to_string();
    Ok(tokio::spawn(async move {
        let seq: i64 = sqlx::query_scalar(
            "SELECT first_sequence FROM angzarr.append_events($1, $2, ARRAY['Meanwhile'], ARRAY[''::bytea])",
        )
        .bind(format!("{domain}-other"))
        .bind(Uuid::new_v4())
        .fetch_one(&pool)
        .await?;
        Ok(seq)
    }))
}

async fn check_imported(pool: &PgPool, domain: &str) -> anyhow::Result<()> {
    let (events, aggregates, gaps): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT root),
                count(*) FILTER (WHERE sequence <> n - 1)
           FROM (SELECT root, sequence, row_number() OVER (PARTITION BY root ORDER BY sequence) AS n
                   FROM angzarr.events WHERE domain = $1) e",
    )
    .bind(domain)
    .fetch_one(pool)
    .await?;
    anyhow::ensure!(
        events == AGGREGATES * EVENTS_PER_AGGREGATE,
        "{events} events imported"
    );
    anyhow::ensure!(aggregates == AGGREGATES, "{aggregates} aggregates imported");
    anyhow::ensure!(gaps == 0, "{gaps} events out of place");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_insert_select_of_100k_aggregates_in_one_transaction() -> anyhow::Result<()> {
    let _one_at_a_time = BULK.lock().await;
    let pool = pool(4).await?;
    ensure_extension(&pool).await?;
    let domain = format!("bulk{}", Uuid::new_v4().simple());
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO angzarr.events (domain, root, event_type, payload)
         SELECT $1, r.root, 'Imported', int8send(i)
           FROM (SELECT gen_random_uuid() AS root FROM generate_series(1, $2)) r,
                generate_series(1, $3) i
          ORDER BY r.root, i",
    )
    .bind(&domain)
    .bind(AGGREGATES)
    .bind(EVENTS_PER_AGGREGATE)
    .execute(&mut *tx)
    .await?;
    let locks: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()")
            .fetch_one(&mut *tx)
            .await?;
    anyhow::ensure!(locks < 3_000, "the import holds {locks} lock table entries");
    let meanwhile = others_still_work(&pool, &domain).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    tx.commit().await?;
    anyhow::ensure!(
        meanwhile.await?? == 0,
        "the writer that waited got a wrong sequence"
    );
    check_imported(&pool, &domain).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_copy_of_100k_aggregates_in_one_transaction() -> anyhow::Result<()> {
    let _one_at_a_time = BULK.lock().await;
    let pool = pool(4).await?;
    ensure_extension(&pool).await?;
    let domain = format!("copy{}", Uuid::new_v4().simple());
    let mut conn = pool.acquire().await?;
    sqlx::query("BEGIN").execute(&mut *conn).await?;
    let mut copy = conn
        .copy_in_raw("COPY angzarr.events (domain, root, event_type, payload) FROM STDIN")
        .await?;
    let mut chunk = String::with_capacity(1 << 20);
    for _ in 0..AGGREGATES {
        let root = Uuid::new_v4();
        for _ in 0..EVENTS_PER_AGGREGATE {
            chunk.push_str(&format!("{domain}\t{root}\tImported\t\\\\x00\n"));
        }
        if chunk.len() > (1 << 20) - 200 {
            copy.send(chunk.as_bytes()).await?;
            chunk.clear();
        }
    }
    copy.send(chunk.as_bytes()).await?;
    let rows = copy.finish().await?;
    anyhow::ensure!(
        rows == (AGGREGATES * EVENTS_PER_AGGREGATE) as u64,
        "COPY wrote {rows} rows"
    );
    let meanwhile = others_still_work(&pool, &domain).await?;
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    anyhow::ensure!(
        meanwhile.await?? == 0,
        "the writer that waited got a wrong sequence"
    );
    check_imported(&pool, &domain).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discarding_an_edition_of_100k_aggregates() -> anyhow::Result<()> {
    let _one_at_a_time = BULK.lock().await;
    let pool = pool(4).await?;
    ensure_extension(&pool).await?;
    let edition = format!("wide{}", Uuid::new_v4().simple());
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO angzarr.events (domain, edition, root, event_type, payload)
         SELECT 'wide', $1, gen_random_uuid(), 'WhatIf', '\\x' FROM generate_series(1, $2)",
    )
    .bind(&edition)
    .bind(AGGREGATES)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let deleted: i64 = sqlx::query_scalar("SELECT angzarr.discard_edition($1)")
        .bind(&edition)
        .fetch_one(&pool)
        .await?;
    anyhow::ensure!(
        deleted == AGGREGATES,
        "discard_edition deleted {deleted} events"
    );
    Ok(())
}

/// A writer whose wait for an aggregate ends in an error (lock_timeout, statement_timeout, a
/// deadlock) sees PostgreSQL's own SQLSTATE, message and DETAIL: no Rust backtrace, even when
/// the server runs with RUST_BACKTRACE set (the dev cluster does).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_wait_errors_carry_postgres_own_detail() -> anyhow::Result<()> {
    let pool = pool(4).await?;
    ensure_extension(&pool).await?;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let append = "SELECT first_sequence FROM angzarr.append_events('waits', $1, ARRAY['E'], ARRAY[''::bytea])";
    let mut holder = pool.begin().await?;
    sqlx::query(append).bind(a).execute(&mut *holder).await?;

    for (setting, code) in [("lock_timeout", "55P03"), ("statement_timeout", "57014")] {
        let mut waiter = pool.begin().await?;
        sqlx::query(&format!("SET LOCAL {setting} = '100ms'"))
            .execute(&mut *waiter)
            .await?;
        let err = sqlx::query(append)
            .bind(a)
            .execute(&mut *waiter)
            .await
            .unwrap_err();
        anyhow::ensure!(
            sqlstate(&err).as_deref() == Some(code),
            "{setting}: {err:?}"
        );
        let db = err
            .as_database_error()
            .unwrap()
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .unwrap();
        anyhow::ensure!(db.detail().is_none(), "{setting}: DETAIL {:?}", db.detail());
        waiter.rollback().await?;
    }

    // A deadlock: holder has a and wants b, waiter has b and wants a.
    let mut waiter = pool.begin().await?;
    sqlx::query(append).bind(b).execute(&mut *waiter).await?;
    let crossing = tokio::spawn(async move {
        let r = sqlx::query(append)
            .bind(b)
            .execute(&mut *holder)
            .await
            .map(|_| ());
        (r, holder)
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mine = sqlx::query(append)
        .bind(a)
        .execute(&mut *waiter)
        .await
        .map(|_| ());
    let (theirs, holder) = crossing.await?;
    let err = match (mine, theirs) {
        (Err(e), Ok(())) | (Ok(()), Err(e)) => e,
        other => anyhow::bail!("expected exactly one deadlock victim, got {other:?}"),
    };
    anyhow::ensure!(sqlstate(&err).as_deref() == Some("40P01"), "{err:?}");
    let db = err
        .as_database_error()
        .unwrap()
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .unwrap();
    let detail = db.detail().unwrap_or_default();
    anyhow::ensure!(
        detail.starts_with("Process ") && !detail.contains("backtrace") && !detail.contains(".rs:"),
        "deadlock DETAIL is not PostgreSQL's own: {detail:?}"
    );
    drop(holder);
    drop(waiter);
    Ok(())
}
