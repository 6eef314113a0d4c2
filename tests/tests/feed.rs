//! The global feed under real concurrency. Eight writers append to a few shared aggregates,
//! several per transaction, wait a random while before committing (a few of them long), and
//! roll back some transactions; meanwhile readers tail `angzarr.read_feed()` from their
//! checkpoints. At the end every reader must have seen exactly the committed events, each once,
//! in the order a re-read from the start gives, with every aggregate in sequence order.
//!
//! The run lasts `ANGZARR_FEED_TEST_SECONDS` (default 3) and is driven by a seeded RNG:
//! `ANGZARR_FEED_TEST_SEED` replays a printed seed's choices (timing still varies).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use angzarr_store_tests::{ensure_extension, pool};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::{PgPool, Row};
use uuid::Uuid;

const WRITERS: usize = 8;
const SHARED_AGGREGATES: usize = 8;
const ROLLBACK_PROBABILITY: f64 = 0.15;
const LONG_TRANSACTION_PROBABILITY: f64 = 0.05;
const PAGE: i64 = 50;
/// How long readers may take to catch up after the writers stop.
const CATCH_UP: Duration = Duration::from_secs(60);

struct Config {
    seed: u64,
    duration: Duration,
}

fn config(test: &str) -> Config {
    let seed = std::env::var("ANGZARR_FEED_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
    let seconds = std::env::var("ANGZARR_FEED_TEST_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(3.0);
    println!("{test}: ANGZARR_FEED_TEST_SEED={seed} ANGZARR_FEED_TEST_SECONDS={seconds}");
    Config {
        seed,
        duration: Duration::from_secs_f64(seconds),
    }
}

/// One row of `angzarr.read_feed()`; `tag` is the payload, unique per attempted event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FeedRow {
    feed_tx: i64,
    position: i64,
    domain: String,
    root: Uuid,
    sequence: i64,
    tag: String,
    id: Uuid,
}

impl FeedRow {
    fn checkpoint(&self) -> (i64, i64) {
        (self.feed_tx, self.position)
    }
}

/// Reads one page after `checkpoint`, optionally filtered by domains and group membership.
async fn read_page(
    pool: &PgPool,
    checkpoint: (i64, i64),
    max_count: i64,
    domains: Option<&[String]>,
    (member, members): (i32, i32),
) -> anyhow::Result<Vec<FeedRow>> {
    let rows = sqlx::query(
        "SELECT feed_tx, global_position, domain, root, sequence, payload, id
           FROM angzarr.read_feed($1, $2, $3, domains => $4, member => $5, members => $6)",
    )
    .bind(checkpoint.0)
    .bind(checkpoint.1)
    .bind(max_count)
    .bind(domains)
    .bind(member)
    .bind(members)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(FeedRow {
                feed_tx: r.try_get(0)?,
                position: r.try_get(1)?,
                domain: r.try_get(2)?,
                root: r.try_get(3)?,
                sequence: r.try_get(4)?,
                // Other tests share the database; their payloads need not be UTF-8.
                tag: String::from_utf8_lossy(&r.try_get::<Vec<u8>, _>(5)?).into_owned(),
                id: r.try_get(6)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

async fn feed_horizon(pool: &PgPool) -> anyhow::Result<(i64, i64)> {
    let row = sqlx::query("SELECT feed_tx, global_position FROM angzarr.feed_horizon()")
        .fetch_one(pool)
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// What the writers did: every event tag they committed or rolled back, and the highest
/// transaction id any of them used (every feed_tx of theirs is at most that).
#[derive(Default)]
struct WriteLog {
    committed: HashSet<String>,
    rolled_back: HashSet<String>,
    /// The writer transaction id of each committed tag.
    xid_of: HashMap<String, i64>,
    transactions: usize,
    rollbacks: usize,
}

/// The aggregates a workload writes: a few shared ones over two domains, plus one private
/// aggregate per writer (used to take a transaction id before touching a shared one).
struct Aggregates {
    domains: Vec<String>,
    shared: Vec<(String, Uuid)>,
    private: Vec<(String, Uuid)>,
}

impl Aggregates {
    fn new(seed: u64, label: &str) -> Self {
        let domains: Vec<String> = ["a", "b"]
            .iter()
            .map(|d| format!("feed_{label}_{seed}_{d}"))
            .collect();
        let shared = (0..SHARED_AGGREGATES)
            .map(|i| (domains[i % 2].clone(), Uuid::new_v4()))
            .collect();
        let private = (0..WRITERS)
            .map(|_| (domains[0].clone(), Uuid::new_v4()))
            .collect();
        Aggregates {
            domains,
            shared,
            private,
        }
    }
}

async fn append(
    tx: &mut sqlx::PgConnection,
    (domain, root): &(String, Uuid),
    tags: &[String],
) -> anyhow::Result<()> {
    let types: Vec<&str> = tags.iter().map(|_| "Happened").collect();
    let payloads: Vec<Vec<u8>> = tags.iter().map(|t| t.clone().into_bytes()).collect();
    sqlx::query("SELECT 1 FROM angzarr.append_events($1, $2, $3, $4)")
        .bind(domain)
        .bind(root)
        .bind(&types)
        .bind(&payloads)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// One writer: transactions of one to three shared aggregates (in a fixed global order, so
/// writers wait for each other but never deadlock), sometimes after taking a transaction id
/// early, a random pause before the end, and a rollback now and then.
async fn writer(
    pool: PgPool,
    w: usize,
    seed: u64,
    aggs: Arc<Aggregates>,
    deadline: Instant,
    max_xid: Arc<AtomicI64>,
) -> anyhow::Result<WriteLog> {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(w as u64 + 1));
    let mut log = WriteLog::default();
    let mut t = 0usize;
    while Instant::now() < deadline {
        t += 1;
        let mut tx = pool.begin().await?;
        let mut tags = Vec::new();
        if rng.gen_bool(0.5) {
            // Take the transaction id now: this writer becomes "older" than writers that
            // will commit to the same aggregates before it.
            sqlx::query("SELECT pg_current_xact_id()")
                .execute(&mut *tx)
                .await?;
        }
        if rng.gen_bool(0.3) {
            let tag = format!("{w}.{t}.p");
            append(&mut tx, &aggs.private[w], std::slice::from_ref(&tag)).await?;
            tags.push(tag);
        }
        let k = rng.gen_range(1..=3);
        let mut chosen = rand::seq::index::sample(&mut rng, aggs.shared.len(), k).into_vec();
        chosen.sort_unstable();
        for (i, a) in chosen.into_iter().enumerate() {
            if rng.gen_bool(0.3) {
                tokio::time::sleep(Duration::from_millis(rng.gen_range(0..5))).await;
            }
            let n = rng.gen_range(1..=2);
            let batch: Vec<String> = (0..n).map(|j| format!("{w}.{t}.{i}.{j}")).collect();
            append(&mut tx, &aggs.shared[a], &batch).await?;
            tags.extend(batch);
        }
        let xid: i64 = sqlx::query_scalar("SELECT pg_current_xact_id()::text::bigint")
            .fetch_one(&mut *tx)
            .await?;
        max_xid.fetch_max(xid, Ordering::SeqCst);
        let pause = if rng.gen_bool(LONG_TRANSACTION_PROBABILITY) {
            rng.gen_range(50..250)
        } else {
            rng.gen_range(0..20)
        };
        tokio::time::sleep(Duration::from_millis(pause)).await;
        log.transactions += 1;
        if rng.gen_bool(ROLLBACK_PROBABILITY) {
            tx.rollback().await?;
            log.rollbacks += 1;
            log.rolled_back.extend(tags);
        } else {
            tx.commit().await?;
            for tag in &tags {
                log.xid_of.insert(tag.clone(), xid);
            }
            log.committed.extend(tags);
        }
    }
    Ok(log)
}

/// How a reader reads: everything (keeping only this workload's domains) or one member of a
/// consumer group filtered to this workload's domains.
#[derive(Clone)]
struct ReaderSpec {
    consumer: String,
    domains: Option<Vec<String>>,
    group: (i32, i32),
}

/// Tails the feed until the writers are done and everything they wrote is below the horizon.
/// Protocol: take the horizon, read a page after the checkpoint, process it; on a short page
/// move the checkpoint up to the horizon (filtered readers would rescan forever otherwise);
/// save the checkpoint. Returns this workload's rows in the order they were received.
async fn tail(
    pool: PgPool,
    spec: ReaderSpec,
    mine: Arc<HashSet<String>>,
    writers_done: Arc<AtomicBool>,
    max_xid: Arc<AtomicI64>,
) -> anyhow::Result<Vec<FeedRow>> {
    let mut checkpoint = (0i64, 0i64);
    let mut seen = Vec::new();
    let mut give_up: Option<Instant> = None;
    loop {
        let done = writers_done.load(Ordering::SeqCst);
        let horizon = feed_horizon(&pool).await?;
        let page = read_page(&pool, checkpoint, PAGE, spec.domains.as_deref(), spec.group).await?;
        for row in &page {
            anyhow::ensure!(
                row.checkpoint() > checkpoint,
                "{}: feed went backwards: {:?} after {:?}",
                spec.consumer,
                row.checkpoint(),
                checkpoint
            );
            checkpoint = row.checkpoint();
            if mine.contains(&row.domain) {
                seen.push(row.clone());
            }
        }
        let short = (page.len() as i64) < PAGE;
        if short {
            checkpoint = checkpoint.max(horizon);
        }
        sqlx::query("SELECT angzarr.save_feed_position($1, $2, $3)")
            .bind(&spec.consumer)
            .bind(checkpoint.0)
            .bind(checkpoint.1)
            .execute(&pool)
            .await?;
        // Done when the writers have stopped, the horizon taken before this read was above
        // every transaction id they used, and the read came back short.
        if done && short && horizon.0 > max_xid.load(Ordering::SeqCst) {
            break;
        }
        if done {
            let limit = *give_up.get_or_insert_with(|| Instant::now() + CATCH_UP);
            anyhow::ensure!(
                Instant::now() < limit,
                "{}: the feed did not catch up within {CATCH_UP:?}; see angzarr.feed_lag()",
                spec.consumer
            );
        }
        if short {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let saved = sqlx::query("SELECT feed_tx, global_position FROM angzarr.get_feed_position($1)")
        .bind(&spec.consumer)
        .fetch_one(&pool)
        .await?;
    let saved: (i64, i64) = (saved.try_get(0)?, saved.try_get(1)?);
    anyhow::ensure!(
        saved == checkpoint,
        "{}: saved checkpoint {saved:?} is not the reader's {checkpoint:?}",
        spec.consumer
    );
    Ok(seen)
}

/// Runs the writers and the readers together; returns the writers' log and each reader's rows.
async fn run_workload(
    cfg: &Config,
    label: &str,
    aggs: Arc<Aggregates>,
    readers: Vec<ReaderSpec>,
) -> anyhow::Result<(WriteLog, Vec<Vec<FeedRow>>)> {
    let pool = pool((WRITERS + readers.len() + 2) as u32).await?;
    ensure_extension(&pool).await?;
    let mine: Arc<HashSet<String>> = Arc::new(aggs.domains.iter().cloned().collect());
    let writers_done = Arc::new(AtomicBool::new(false));
    let max_xid = Arc::new(AtomicI64::new(0));
    let mut reader_tasks = Vec::new();
    for spec in readers {
        reader_tasks.push(tokio::spawn(tail(
            pool.clone(),
            spec,
            mine.clone(),
            writers_done.clone(),
            max_xid.clone(),
        )));
    }
    let deadline = Instant::now() + cfg.duration;
    let mut writer_tasks = Vec::new();
    for w in 0..WRITERS {
        writer_tasks.push(tokio::spawn(writer(
            pool.clone(),
            w,
            cfg.seed,
            aggs.clone(),
            deadline,
            max_xid.clone(),
        )));
    }
    let mut log = WriteLog::default();
    let mut failure = None;
    for t in writer_tasks {
        match t.await? {
            Ok(l) => {
                log.committed.extend(l.committed);
                log.rolled_back.extend(l.rolled_back);
                log.xid_of.extend(l.xid_of);
                log.transactions += l.transactions;
                log.rollbacks += l.rollbacks;
            }
            Err(e) => failure = Some(e),
        }
    }
    writers_done.store(true, Ordering::SeqCst);
    let mut seen = Vec::new();
    for t in reader_tasks {
        seen.push(t.await??);
    }
    if let Some(e) = failure {
        return Err(e.context(format!("{label}: a writer failed (seed {})", cfg.seed)));
    }
    println!(
        "{label}: {} transactions ({} rolled back), {} events committed, {} rolled back",
        log.transactions,
        log.rollbacks,
        log.committed.len(),
        log.rolled_back.len()
    );
    Ok((log, seen))
}

/// The whole feed of `domains` re-read from the start in pages.
async fn reread(domains: &[String]) -> anyhow::Result<Vec<FeedRow>> {
    let pool = pool(1).await?;
    let domains = domains.to_vec();
    let mut rows: Vec<FeedRow> = Vec::new();
    loop {
        let checkpoint = rows.last().map(FeedRow::checkpoint).unwrap_or((0, 0));
        let page = read_page(&pool, checkpoint, 500, Some(&domains), (0, 1)).await?;
        let done = page.len() < 500;
        rows.extend(page);
        if done {
            return Ok(rows);
        }
    }
}

/// Every aggregate's events appear in sequence order 0, 1, 2, ... without gaps.
fn assert_sequence_order(rows: &[FeedRow], who: &str) {
    let mut next: HashMap<(String, Uuid), i64> = HashMap::new();
    for row in rows {
        let expected = next.entry((row.domain.clone(), row.root)).or_insert(0);
        assert_eq!(
            row.sequence, *expected,
            "{who}: {}/{} sequence {} came when {} was due (feed order broke aggregate order)",
            row.domain, row.root, row.sequence, expected
        );
        *expected += 1;
    }
}

/// The reader saw each committed event exactly once and nothing else.
fn assert_exactly_committed(rows: &[FeedRow], log: &WriteLog, who: &str) {
    let mut tags = HashSet::new();
    for row in rows {
        assert!(
            !log.rolled_back.contains(&row.tag),
            "{who}: saw rolled-back event {}",
            row.tag
        );
        assert!(
            log.committed.contains(&row.tag),
            "{who}: saw event {} nobody committed",
            row.tag
        );
        assert!(
            tags.insert(row.tag.clone()),
            "{who}: saw event {} twice",
            row.tag
        );
    }
    let missing: Vec<_> = log.committed.difference(&tags).take(5).collect();
    assert!(
        missing.is_empty(),
        "{who}: never saw committed events {missing:?} ..."
    );
}

fn ids(rows: &[FeedRow]) -> Vec<Uuid> {
    rows.iter().map(|r| r.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tailing_reader_sees_every_committed_event_once_in_a_stable_order() -> anyhow::Result<()> {
    let cfg = config("tail");
    let aggs = Arc::new(Aggregates::new(cfg.seed, "tail"));
    let reader = ReaderSpec {
        consumer: format!("feed-test-tail-{}", cfg.seed),
        domains: None,
        group: (0, 1),
    };
    let (log, seen) = run_workload(&cfg, "tail", aggs.clone(), vec![reader]).await?;
    let seen = &seen[0];
    assert!(!log.committed.is_empty(), "the writers committed nothing");
    assert!(
        !log.rolled_back.is_empty(),
        "no transaction rolled back; the run is too short"
    );
    assert_exactly_committed(seen, &log, "tail");
    assert_sequence_order(seen, "tail");
    let again = reread(&aggs.domains).await?;
    assert_eq!(
        ids(&again),
        ids(seen),
        "a re-read from 0 gives another order (seed {})",
        cfg.seed
    );
    // Writers that took their transaction id before another writer committed to the same
    // aggregate: their event carries the other's (higher) feed_tx, which kept aggregate order.
    let raised = seen
        .iter()
        .filter(|r| r.feed_tx > log.xid_of[&r.tag])
        .count();
    println!("tail: {raised} events sorted after an older writer's id (feed_tx raised)");
    assert!(
        raised > 0,
        "no writer waited for a younger one; the run did not test aggregate order"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consumer_group_members_split_the_feed_by_aggregate() -> anyhow::Result<()> {
    let cfg = config("group");
    let aggs = Arc::new(Aggregates::new(cfg.seed, "group"));
    let members = 3;
    let readers = (0..members)
        .map(|m| ReaderSpec {
            consumer: format!("feed-test-group-{}/{m}-of-{members}", cfg.seed),
            domains: Some(aggs.domains.clone()),
            group: (m, members),
        })
        .collect();
    let (log, seen) = run_workload(&cfg, "group", aggs.clone(), readers).await?;
    let all = reread(&aggs.domains).await?;
    assert_exactly_committed(&all, &log, "re-read");
    let pool = pool(1).await?;
    let mut owner: BTreeMap<(String, Uuid), i32> = BTreeMap::new();
    let mut union = HashSet::new();
    for (m, rows) in seen.iter().enumerate() {
        let who = format!("member {m} of {members}");
        assert_sequence_order(rows, &who);
        // A member's rows are the feed restricted to its aggregates, in the feed's order.
        let expected: Vec<Uuid> = all
            .iter()
            .filter(|r| {
                rows.iter()
                    .any(|x| x.root == r.root && x.domain == r.domain)
            })
            .map(|r| r.id)
            .collect();
        assert_eq!(
            ids(rows),
            expected,
            "{who}: not the feed's order or not all of its aggregates' events"
        );
        for row in rows {
            assert!(
                union.insert(row.id),
                "{who}: event {} also went to another member",
                row.tag
            );
            let key = (row.domain.clone(), row.root);
            let previous = owner.insert(key.clone(), m as i32);
            assert!(
                previous.is_none() || previous == Some(m as i32),
                "{who}: aggregate {key:?} also went to member {previous:?}"
            );
        }
    }
    assert_eq!(
        union.len(),
        all.len(),
        "the members together did not see the whole feed"
    );
    for ((domain, root), m) in &owner {
        let hashed: i32 = sqlx::query_scalar("SELECT angzarr.feed_member($1, $2, $3)")
            .bind(domain)
            .bind(root)
            .bind(members)
            .fetch_one(&pool)
            .await?;
        assert_eq!(
            hashed, *m,
            "{domain}/{root} went to member {m}, feed_member says {hashed}"
        );
    }
    println!("group: {} aggregates over {members} members", owner.len());
    Ok(())
}
