//! The multi-session contract through the PL/Proxy router of a sharded store
//! (scripts/test_shard.sh brings it up and runs these with `--ignored`): racing writers on one
//! aggregate end gap-free, idempotent repeats write once, position saves only move forward,
//! fan-out functions merge every shard's rows, and what the router cannot keep (a transaction
//! spanning calls, the global feed) is refused with its own SQLSTATE.

use std::sync::Arc;

use angzarr_store_tests::sqlstate;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Row};
use tokio::sync::Barrier;
use uuid::Uuid;

fn router_url() -> String {
    std::env::var("ANGZARR_TEST_ROUTER_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:56200/angzarr_router".to_string())
}

async fn router(size: u32) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(size)
        .connect(&router_url())
        .await?)
}

/// Pools on the shards themselves, in shard order, from the router's shard map.
async fn shards(router: &PgPool) -> anyhow::Result<Vec<PgPool>> {
    let connstrs: Vec<String> =
        sqlx::query_scalar("SELECT connstr FROM angzarr_router.shards ORDER BY shard")
            .fetch_all(router)
            .await?;
    let mut pools = Vec::new();
    for c in connstrs {
        let field = |key: &str| {
            c.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
                .map(str::to_string)
        };
        let url = format!(
            "postgres://postgres@{}:{}/{}",
            field("host").unwrap_or_default(),
            field("port").unwrap_or_default(),
            field("dbname").unwrap_or_default()
        );
        pools.push(
            PgPoolOptions::new()
                .max_connections(2)
                .connect(&url)
                .await?,
        );
    }
    Ok(pools)
}

async fn shard_of(router: &PgPool, domain: &str, root: Uuid) -> anyhow::Result<usize> {
    let k: i32 = sqlx::query_scalar("SELECT angzarr_router.shard_of($1, $2)")
        .bind(domain)
        .bind(root)
        .fetch_one(router)
        .await?;
    Ok(k as usize)
}

/// Appends with the loaded next sequence as the expectation, retrying on ZA001.
async fn append_with_retry(pool: &PgPool, root: Uuid, payload: &str) -> anyhow::Result<(i64, u32)> {
    let mut conflicts = 0;
    loop {
        let next: i64 = sqlx::query_scalar("SELECT angzarr.next_sequence('hot', $1)")
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
#[ignore = "needs the sharded deployment: scripts/test_shard.sh"]
async fn eight_racing_writers_through_the_router_end_gap_free() -> anyhow::Result<()> {
    const SESSIONS: usize = 8;
    const APPENDS: usize = 60;
    let pool = router(SESSIONS as u32 + 1).await?;
    let root = Uuid::new_v4();
    let tasks: Vec<_> = (0..SESSIONS)
        .map(|session| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut acks = Vec::new();
                let mut conflicts = 0;
                for n in 0..APPENDS {
                    let payload = format!("{session}:{n}");
                    let (sequence, c) = append_with_retry(&pool, root, &payload).await?;
                    conflicts += c;
                    acks.push((sequence, payload));
                }
                anyhow::Ok((acks, conflicts))
            })
        })
        .collect();
    let (mut acknowledged, mut conflicts) = (Vec::new(), 0);
    for t in tasks {
        let (acks, c) = t.await??;
        acknowledged.extend(acks);
        conflicts += c;
    }
    let rows = sqlx::query(
        "SELECT sequence, convert_from(payload, 'UTF8') FROM angzarr.read_stream('hot', $1)",
    )
    .bind(root)
    .fetch_all(&pool)
    .await?;
    let stored: Vec<(i64, String)> = rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let total = SESSIONS * APPENDS;
    assert_eq!(
        stored.len(),
        total,
        "every acknowledged append is stored, nothing else"
    );
    assert!(
        stored.iter().enumerate().all(|(i, (s, _))| *s == i as i64),
        "sequences 0..{total} without gaps"
    );
    acknowledged.sort();
    assert_eq!(
        acknowledged, stored,
        "each sequence holds the payload of the session told it won"
    );
    assert!(conflicts > 0, "8 writers on one aggregate must have raced");
    // The aggregate is on its shard and nowhere else.
    let home = shard_of(&pool, "hot", root).await?;
    for (k, shard) in shards(&pool).await?.iter().enumerate() {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM angzarr.events WHERE domain = 'hot' AND root = $1",
        )
        .bind(root)
        .fetch_one(shard)
        .await?;
        assert_eq!(
            n,
            if k == home { total as i64 } else { 0 },
            "shard {k} (home {home})"
        );
    }
    println!("{total} appends through the router, {conflicts} conflicts retried");
    Ok(())
}

/// One idempotent append of two events on its own router connection, optionally inside a
/// router transaction of the given isolation level.
async fn pay(
    root: Uuid,
    isolation: Option<&'static str>,
    start: Arc<Barrier>,
) -> anyhow::Result<Result<(i64, i64), String>> {
    let mut conn = PgConnection::connect(&router_url()).await?;
    if let Some(level) = isolation {
        sqlx::query(&format!("BEGIN ISOLATION LEVEL {level}"))
            .execute(&mut conn)
            .await?;
    }
    start.wait().await;
    let result = sqlx::query(
        "SELECT first_sequence, last_sequence FROM angzarr.append_events('wallet', $1, \
         ARRAY['Paid', 'Receipted'], ARRAY['\\x01'::bytea, '\\x02'::bytea], idempotency_key => 'invoice-7')",
    )
    .bind(root)
    .fetch_one(&mut conn)
    .await;
    let outcome = match result {
        Ok(row) => Ok((row.try_get(0)?, row.try_get(1)?)),
        Err(e) => Err(sqlstate(&e).unwrap_or_else(|| e.to_string())),
    };
    if isolation.is_some() {
        sqlx::query(if outcome.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        })
        .execute(&mut conn)
        .await?;
    }
    Ok(outcome)
}

async fn race_repeats(isolation: Option<&'static str>) -> anyhow::Result<()> {
    let pool = router(2).await?;
    let root = Uuid::new_v4();
    sqlx::query("SELECT angzarr.append_events('wallet', $1, '[{\"type\": \"Opened\"}]')")
        .bind(root)
        .execute(&pool)
        .await?;
    let start = Arc::new(Barrier::new(5));
    let tasks: Vec<_> = (0..5)
        .map(|_| tokio::spawn(pay(root, isolation, start.clone())))
        .collect();
    for t in tasks {
        let outcome = t.await??;
        assert_eq!(
            outcome,
            Ok((1, 2)),
            "every repeat returns the original range"
        );
    }
    let types: Vec<String> =
        sqlx::query_scalar("SELECT event_type FROM angzarr.read_stream('wallet', $1)")
            .bind(root)
            .fetch_all(&pool)
            .await?;
    assert_eq!(
        types,
        ["Opened", "Paid", "Receipted"],
        "the append is written once"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the sharded deployment: scripts/test_shard.sh"]
async fn five_concurrent_idempotent_repeats_through_the_router_write_once() -> anyhow::Result<()> {
    race_repeats(None).await
}

/// The router's isolation level does not reach the shard (each call runs there in its own
/// READ COMMITTED transaction), so under REPEATABLE READ every repeat returns the range too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the sharded deployment: scripts/test_shard.sh"]
async fn idempotent_repeats_in_repeatable_read_router_transactions_write_once() -> anyhow::Result<()>
{
    race_repeats(Some("REPEATABLE READ")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the sharded deployment: scripts/test_shard.sh"]
async fn racing_position_saves_through_the_router_end_at_the_highest() -> anyhow::Result<()> {
    const SESSIONS: i64 = 8;
    const SAVES: i64 = 30;
    let pool = router(SESSIONS as u32).await?;
    let root = Uuid::new_v4();
    let handler = format!("projector-{}", Uuid::new_v4());
    let tasks: Vec<_> = (0..SESSIONS)
        .map(|session| {
            let (pool, handler) = (pool.clone(), handler.clone());
            tokio::spawn(async move {
                let mut returned = Vec::new();
                for n in 0..SAVES {
                    let seq = if n % 3 == 0 {
                        n * SESSIONS
                    } else {
                        (SAVES - n) * session
                    };
                    let stored: i64 =
                        sqlx::query_scalar("SELECT angzarr.save_position('player', $2, $1, $3)")
                            .bind(&handler)
                            .bind(root)
                            .bind(seq)
                            .fetch_one(&pool)
                            .await?;
                    assert!(stored >= seq);
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
            "a position moved back: {returned:?}"
        );
        highest = highest.max(*returned.last().unwrap_or(&0));
    }
    let stored: Option<i64> = sqlx::query_scalar("SELECT angzarr.get_position('player', $2, $1)")
        .bind(&handler)
        .bind(root)
        .fetch_one(&pool)
        .await?;
    assert_eq!(stored, Some(highest));
    assert_eq!(highest, (SAVES - 1) / 3 * 3 * SESSIONS);
    // reset_positions runs on every shard and adds up what each removed.
    let removed: i64 = sqlx::query_scalar("SELECT angzarr.reset_positions($1)")
        .bind(&handler)
        .fetch_one(&pool)
        .await?;
    assert_eq!(removed, 1);
    Ok(())
}

/// A router transaction may write once: PL/Proxy commits each call on its shard when it
/// returns, so a second write could never be atomic with the first and is refused (ZA101),
/// on the same shard or another. A ROLLBACK (or ROLLBACK TO SAVEPOINT) does not undo a write
/// that went through.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the sharded deployment: scripts/test_shard.sh"]
async fn a_router_transaction_writes_once_and_cannot_roll_it_back() -> anyhow::Result<()> {
    let pool = router(2).await?;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let append = "SELECT angzarr.append_events('order', $1, '[{\"type\": \"Placed\"}]')";
    for second in [a, b] {
        let mut tx = pool.begin().await?;
        sqlx::query(append).bind(a).execute(&mut *tx).await?;
        let err = sqlx::query(append)
            .bind(second)
            .execute(&mut *tx)
            .await
            .expect_err("second write");
        assert_eq!(sqlstate(&err).as_deref(), Some("ZA101"), "{err}");
        tx.rollback().await?;
    }
    let count = |root: Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM angzarr.read_stream('order', $1)")
                .bind(root)
                .fetch_one(&pool)
                .await
        }
    };
    assert_eq!(
        count(a).await?,
        2,
        "both first writes stayed committed despite ROLLBACK"
    );
    assert_eq!(count(b).await?, 0, "the refused write wrote nothing");

    // Savepoints do not reach the shard either.
    let mut tx = pool.begin().await?;
    sqlx::query("SAVEPOINT s").execute(&mut *tx).await?;
    sqlx::query(append).bind(b).execute(&mut *tx).await?;
    sqlx::query("ROLLBACK TO SAVEPOINT s")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    assert_eq!(
        count(b).await?,
        1,
        "ROLLBACK TO SAVEPOINT does not undo a routed write"
    );

    // Reads in a transaction are fine, and a later transaction may write again.
    let mut tx = pool.begin().await?;
    sqlx::query(append).bind(b).execute(&mut *tx).await?;
    sqlx::query("SELECT * FROM angzarr.read_stream('order', $1)")
        .bind(a)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    assert_eq!(count(b).await?, 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the sharded deployment: scripts/test_shard.sh"]
async fn fan_out_functions_merge_every_shard() -> anyhow::Result<()> {
    let pool = router(2).await?;
    let domain = format!("fan{}", Uuid::new_v4().simple());
    let correlation = Uuid::new_v4().to_string();
    let mut roots: Vec<Uuid> = (0..24).map(|_| Uuid::new_v4()).collect();
    for root in &roots {
        sqlx::query("SELECT angzarr.append_events($1, $2, ARRAY['E'], ARRAY['\\x'::bytea], correlation_id => $3)")
            .bind(&domain)
            .bind(root)
            .bind(&correlation)
            .execute(&pool)
            .await?;
    }
    roots.sort();
    let shard_pools = shards(&pool).await?;
    let mut used = std::collections::BTreeSet::new();
    for root in &roots {
        used.insert(shard_of(&pool, &domain, *root).await?);
    }
    assert!(
        used.len() > 1,
        "24 aggregates spread over more than one shard"
    );
    let listed: Vec<Uuid> = sqlx::query_scalar("SELECT root FROM angzarr.list_roots($1)")
        .bind(&domain)
        .fetch_all(&pool)
        .await?;
    assert_eq!(
        listed, roots,
        "list_roots: every shard's roots, once, in UUID order"
    );
    let domains: Vec<String> = sqlx::query_scalar("SELECT domain FROM angzarr.list_domains()")
        .fetch_all(&pool)
        .await?;
    assert_eq!(
        domains.iter().filter(|d| **d == domain).count(),
        1,
        "a domain on several shards is listed once"
    );
    assert!(domains.windows(2).all(|w| w[0] < w[1]), "in name order");
    let correlated: Vec<Uuid> = sqlx::query_scalar("SELECT root FROM angzarr.read_correlation($1)")
        .bind(&correlation)
        .fetch_all(&pool)
        .await?;
    assert_eq!(
        correlated, roots,
        "read_correlation: every shard's events, in key order"
    );
    let books: i64 = sqlx::query_scalar("SELECT count(*) FROM angzarr.read_correlation_books($1)")
        .bind(&correlation)
        .fetch_one(&pool)
        .await?;
    assert_eq!(books, 24);
    // Each shard holds exactly the roots the hash gives it.
    for (k, shard) in shard_pools.iter().enumerate() {
        let here: Vec<Uuid> = sqlx::query_scalar("SELECT root FROM angzarr.list_roots($1)")
            .bind(&domain)
            .fetch_all(shard)
            .await?;
        for root in &here {
            assert_eq!(shard_of(&pool, &domain, *root).await?, k);
        }
    }
    Ok(())
}

/// An edition is defined on every shard and its aggregates stay on main's shard, so its
/// composite reads see main's shared events.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the sharded deployment: scripts/test_shard.sh"]
async fn editions_live_with_their_main_timeline() -> anyhow::Result<()> {
    let pool = router(2).await?;
    let edition = format!("whatif-{}", Uuid::new_v4().simple());
    let root = Uuid::new_v4();
    sqlx::query("SELECT angzarr.append_events('player', $1, '[{\"type\": \"A\"}, {\"type\": \"B\"}, {\"type\": \"C\"}]')")
        .bind(root)
        .execute(&pool)
        .await?;
    sqlx::query("SELECT angzarr.create_edition($1, '{\"player\": 2}')")
        .bind(&edition)
        .execute(&pool)
        .await?;
    for shard in shards(&pool).await? {
        let created: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM angzarr.list_editions() WHERE name = $1 AND created)",
        )
        .bind(&edition)
        .fetch_one(&shard)
        .await?;
        assert!(created, "the edition is defined on every shard");
    }
    sqlx::query("SELECT angzarr.append_events('player', $1, '[{\"type\": \"X\"}]', edition => $2, expected_sequence => 2)")
        .bind(root)
        .bind(&edition)
        .execute(&pool)
        .await?;
    let types: Vec<String> =
        sqlx::query_scalar("SELECT event_type FROM angzarr.read_stream('player', $1, $2)")
            .bind(root)
            .bind(&edition)
            .fetch_all(&pool)
            .await?;
    assert_eq!(
        types,
        ["A", "B", "X"],
        "main's first two events, then the edition's own"
    );
    let listed: (i64, bool) =
        sqlx::query_as("SELECT event_count, created FROM angzarr.list_editions() WHERE name = $1")
            .bind(&edition)
            .fetch_one(&pool)
            .await?;
    assert_eq!(
        listed,
        (1, true),
        "list_editions merges one row per edition"
    );
    let removed: i64 = sqlx::query_scalar("SELECT angzarr.discard_edition($1)")
        .bind(&edition)
        .fetch_one(&pool)
        .await?;
    assert_eq!(removed, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the sharded deployment: scripts/test_shard.sh"]
async fn the_feed_is_per_shard() -> anyhow::Result<()> {
    let pool = router(1).await?;
    let err = sqlx::query("SELECT * FROM angzarr.read_feed()")
        .fetch_all(&pool)
        .await
        .expect_err("no global feed through the router");
    assert_eq!(sqlstate(&err).as_deref(), Some("ZA102"));
    let root = Uuid::new_v4();
    sqlx::query("SELECT angzarr.append_events('feedcheck', $1, '[{\"type\": \"E\"}]')")
        .bind(root)
        .execute(&pool)
        .await?;
    let home = shard_of(&pool, "feedcheck", root).await? as i32;
    let shards: i64 = sqlx::query_scalar("SELECT count(*) FROM angzarr_router.shards")
        .fetch_one(&pool)
        .await?;
    for k in 0..shards as i32 {
        let seen: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM angzarr_shard.read_feed($1, 0, 0, 100000, ARRAY['feedcheck']) WHERE root = $2",
        )
        .bind(k)
        .bind(root)
        .fetch_one(&pool)
        .await?;
        assert_eq!(seen, (k == home) as i64, "shard {k}'s feed (home {home})");
    }
    let err = sqlx::query("SELECT * FROM angzarr_shard.feed_horizon($1)")
        .bind(shards as i32)
        .fetch_all(&pool)
        .await
        .expect_err("no such shard");
    assert_eq!(sqlstate(&err).as_deref(), Some("22023"));
    Ok(())
}

/// PL/Proxy connects to the shards as the calling role, so ordinary roles can use the router
/// and each shard's grants decide: a writer appends, a reader reads but cannot append (42501).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the sharded deployment: scripts/test_shard.sh"]
async fn the_shards_roles_apply_through_the_router() -> anyhow::Result<()> {
    let admin = router(1).await?;
    // Roles are per cluster; here all shards share one, in production create them on each.
    sqlx::query(
        "DO $$ BEGIN
             IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shard_test_writer') THEN
                 CREATE ROLE shard_test_writer LOGIN IN ROLE angzarr_writer;
             END IF;
             IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shard_test_reader') THEN
                 CREATE ROLE shard_test_reader LOGIN IN ROLE angzarr_reader;
             END IF;
         END $$",
    )
    .execute(&admin)
    .await?;
    let as_role = |role: &str| router_url().replacen("postgres@", &format!("{role}@"), 1);
    let root = Uuid::new_v4();
    let mut writer = PgConnection::connect(&as_role("shard_test_writer")).await?;
    sqlx::query("SELECT angzarr.append_events('order', $1, '[{\"type\": \"Placed\"}]')")
        .bind(root)
        .execute(&mut writer)
        .await?;
    let roots: i64 =
        sqlx::query_scalar("SELECT count(*) FROM angzarr.list_roots('order') WHERE root = $1")
            .bind(root)
            .fetch_one(&mut writer)
            .await?;
    assert_eq!(roots, 1);
    let mut reader = PgConnection::connect(&as_role("shard_test_reader")).await?;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM angzarr.read_stream('order', $1)")
        .bind(root)
        .fetch_one(&mut reader)
        .await?;
    assert_eq!(n, 1);
    let err = sqlx::query("SELECT angzarr.append_events('order', $1, '[{\"type\": \"Placed\"}]')")
        .bind(root)
        .execute(&mut reader)
        .await
        .expect_err("a reader cannot append");
    assert_eq!(sqlstate(&err).as_deref(), Some("42501"), "{err}");
    Ok(())
}
