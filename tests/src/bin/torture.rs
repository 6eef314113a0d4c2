//! Torture: a seeded, randomized multi-session workload against one database, then a check of
//! every invariant the store promises.
//!
//! Writers mix single appends and multi-aggregate transactions on a few hot and many cold
//! aggregates (main and a named edition), with savepoints rolled back or released, whole
//! transactions rolled back, stale expectations inside savepoints, idempotent retries,
//! snapshots and consumer positions. Feed readers page through `angzarr.read_feed()` the whole
//! time and save their checkpoints. Afterwards:
//!
//! - `check_integrity()` is clean (gap-free, unique, feed order per aggregate);
//! - every acknowledged append is stored exactly once, with its sequences and payloads, and
//!   nothing else is stored (rolled-back work left no trace);
//! - idempotent retries returned the original range;
//! - positions are the highest ever saved (they never moved back); snapshots lie within their
//!   aggregate's history;
//! - every feed reader saw every event exactly once, in strictly increasing feed order, each
//!   aggregate's events in sequence order without skipping one.
//!
//! Each session's choices come from `seed + session`, so a failing seed replays the same
//! operations (the interleaving between sessions is up to the scheduler).
//!   torture --seed 42 --transactions 200 --url postgres://...

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::{Connection, Executor, PgConnection, Row};
use uuid::Uuid;

const WRITERS: usize = 6;
const READERS: usize = 2;
const HOT: usize = 3;
const COLD: usize = 200;
const EDITION: &str = "alt";

struct Options {
    seed: u64,
    transactions: usize,
    url: String,
}

fn options() -> Result<Options> {
    let mut o = Options {
        seed: rand::random::<u32>() as u64,
        transactions: 150,
        url: angzarr_store_tests::database_url(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair
            .get(1)
            .ok_or_else(|| anyhow!("{} needs a value", pair[0]))?;
        match pair[0].as_str() {
            "--seed" => o.seed = value.parse()?,
            "--transactions" => o.transactions = value.parse()?,
            "--url" => o.url = value.clone(),
            other => bail!("unknown option {other}"),
        }
    }
    Ok(o)
}

/// An aggregate of the workload.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Agg {
    domain: &'static str,
    edition: &'static str,
    root: Uuid,
}

fn aggregate(rng: &mut StdRng) -> Agg {
    if rng.gen_bool(0.35) {
        Agg {
            domain: "hot",
            edition: "angzarr",
            root: Uuid::from_u128(rng.gen_range(1..=HOT) as u128),
        }
    } else {
        let edition = if rng.gen_bool(0.15) {
            EDITION
        } else {
            "angzarr"
        };
        Agg {
            domain: "cold",
            edition,
            root: Uuid::from_u128(1000 + rng.gen_range(0..COLD) as u128),
        }
    }
}

/// One append as sent.
#[derive(Debug, Clone)]
struct Append {
    agg: Agg,
    key: String,
    payloads: Vec<Vec<u8>>,
}

/// What the sessions report back.
#[derive(Default)]
struct Model {
    /// Acknowledged (committed) appends: key -> (append, first sequence).
    acked: BTreeMap<String, (Append, i64)>,
    /// Highest position each (handler, aggregate) was saved at.
    positions: HashMap<(String, Agg), i64>,
    /// Counters for the summary.
    stats: BTreeMap<&'static str, u64>,
}

impl Model {
    fn count(&mut self, what: &'static str) {
        *self.stats.entry(what).or_default() += 1;
    }
}

/// A lock wait that PostgreSQL broke to resolve a deadlock: any waiter in the cycle may be
/// chosen, even a single statement; its client retries.
fn deadlock_victim(e: &anyhow::Error) -> bool {
    e.downcast_ref::<sqlx::Error>()
        .is_some_and(|e| code(e) == "40P01")
}

fn code(e: &sqlx::Error) -> String {
    angzarr_store_tests::sqlstate(e).unwrap_or_else(|| format!("client error: {e}"))
}

async fn append(
    conn: &mut PgConnection,
    a: &Append,
    expected: Option<i64>,
) -> sqlx::Result<(i64, i64)> {
    let types: Vec<String> = (0..a.payloads.len()).map(|i| format!("T{i}")).collect();
    let row = sqlx::query(
        "SELECT first_sequence, last_sequence FROM angzarr.append_events($1, $2, $3, $4, expected_sequence => $5, \
         edition => $6, correlation_id => $7, idempotency_key => $8)",
    )
    .bind(a.agg.domain)
    .bind(a.agg.root)
    .bind(&types)
    .bind(&a.payloads)
    .bind(expected)
    .bind(a.agg.edition)
    .bind(format!("corr-{}", &a.key[..a.key.find('-').unwrap_or(0)]))
    .bind(&a.key)
    .fetch_one(conn)
    .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

async fn next_sequence(conn: &mut PgConnection, agg: &Agg) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT angzarr.next_sequence($1, $2, $3)")
        .bind(agg.domain)
        .bind(agg.root)
        .bind(agg.edition)
        .fetch_one(conn)
        .await
}

/// One writer session: `transactions` random transactions.
async fn writer(
    url: String,
    session: usize,
    seed: u64,
    transactions: usize,
    model: Arc<Mutex<Model>>,
) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(session as u64));
    let mut conn = PgConnection::connect(&url).await?;
    // What this session believes each aggregate's next sequence is (may be stale: hot
    // aggregates are shared, so expectations fail now and then, as in real life).
    let mut heads: HashMap<Agg, i64> = HashMap::new();
    let mut mine: Vec<(Append, i64, i64)> = Vec::new();
    let handler = format!("handler-{session}");
    let mut n = 0;
    for t in 0..transactions {
        let mut new_append = |rng: &mut StdRng| {
            n += 1;
            let agg = aggregate(rng);
            let key = format!("s{session}-t{t}-a{n}");
            let len = rng.gen_range(1..=4);
            let payloads = (0..len)
                .map(|i| format!("{key}:{i}").into_bytes())
                .collect();
            Append { agg, key, payloads }
        };
        let kind = rng.gen_range(0..100);
        if kind < 30 {
            // A single append in its own transaction, with the believed head as expectation.
            let a = new_append(&mut rng);
            let expected = match heads.get(&a.agg) {
                Some(h) => Some(*h),
                None => Some(next_sequence(&mut conn, &a.agg).await?),
            };
            match append(&mut conn, &a, expected).await {
                Ok((first, last)) => {
                    heads.insert(a.agg.clone(), last + 1);
                    mine.push((a.clone(), first, last));
                    let mut m = model.lock().unwrap();
                    m.acked.insert(a.key.clone(), (a, first));
                    m.count("single appends");
                }
                Err(e) if code(&e) == "ZA001" => {
                    heads.insert(a.agg.clone(), next_sequence(&mut conn, &a.agg).await?);
                    model.lock().unwrap().count("conflicts (refused, reloaded)");
                }
                Err(e) if code(&e) == "40P01" => model
                    .lock()
                    .unwrap()
                    .count("deadlock victims (single statements)"),
                Err(e) => bail!("session {session}: append {}: {e}", a.key),
            }
        } else if kind < 75 {
            // A multi-aggregate transaction with savepoints; committed or rolled back.
            conn.execute("BEGIN").await?;
            let mut pending: Vec<(Append, i64, i64)> = Vec::new();
            let mut local_heads = heads.clone();
            let mut aborted = false;
            for step in 0..rng.gen_range(2..=5) {
                let a = new_append(&mut rng);
                let in_savepoint = rng.gen_bool(0.4);
                let expected = match local_heads.get(&a.agg) {
                    // Now and then deliberately stale, inside a savepoint, to exercise the undo.
                    Some(h) if in_savepoint && rng.gen_bool(0.2) => Some(h + 7),
                    Some(h) => Some(*h),
                    None => None,
                };
                if in_savepoint {
                    conn.execute(format!("SAVEPOINT sp{step}").as_str()).await?;
                }
                match append(&mut conn, &a, expected).await {
                    Ok((first, last)) => {
                        if in_savepoint && rng.gen_bool(0.4) {
                            conn.execute(format!("ROLLBACK TO SAVEPOINT sp{step}").as_str())
                                .await?;
                            model
                                .lock()
                                .unwrap()
                                .count("appends rolled back to a savepoint");
                            // Its rows are gone; the head is what it was.
                        } else {
                            if in_savepoint {
                                conn.execute(format!("RELEASE SAVEPOINT sp{step}").as_str())
                                    .await?;
                            }
                            local_heads.insert(a.agg.clone(), last + 1);
                            pending.push((a, first, last));
                        }
                    }
                    Err(e) if code(&e) == "ZA001" && in_savepoint => {
                        conn.execute(format!("ROLLBACK TO SAVEPOINT sp{step}").as_str())
                            .await?;
                        model
                            .lock()
                            .unwrap()
                            .count("conflicts inside a savepoint (recovered)");
                    }
                    Err(e) if code(&e) == "ZA001" => {
                        aborted = true;
                        local_heads.remove(&a.agg);
                        heads.remove(&a.agg);
                        break;
                    }
                    // Two transactions locking aggregates in opposite orders: PostgreSQL picks
                    // one to fail; its client rolls back (and would retry).
                    Err(e) if code(&e) == "40P01" => {
                        aborted = true;
                        model
                            .lock()
                            .unwrap()
                            .count("deadlocks (one side rolled back)");
                        break;
                    }
                    Err(e) => bail!("session {session}: append {} in a transaction: {e}", a.key),
                }
            }
            if aborted || rng.gen_bool(0.15) {
                conn.execute("ROLLBACK").await?;
                // Heads that this transaction moved are unknown again.
                for (a, _, _) in &pending {
                    heads.remove(&a.agg);
                }
                model.lock().unwrap().count(if aborted {
                    "transactions aborted by a conflict"
                } else {
                    "transactions rolled back"
                });
            } else {
                conn.execute("COMMIT")
                    .await
                    .with_context(|| format!("session {session}: COMMIT"))?;
                heads = local_heads;
                let mut m = model.lock().unwrap();
                for (a, first, last) in pending {
                    mine.push((a.clone(), first, last));
                    m.acked.insert(a.key.clone(), (a, first));
                }
                m.count("multi-aggregate transactions committed");
            }
        } else if kind < 85 && !mine.is_empty() {
            // An idempotent retry of an acknowledged append: same key, same events, any head.
            let (a, first, last) = mine[rng.gen_range(0..mine.len())].clone();
            // It waits for the aggregate's lock like any append, so it can be the victim a
            // deadlock between other sessions' transactions is broken on (it waits behind them
            // in the lock's queue), as the other single statements below can.
            let got = match append(&mut conn, &a, None).await {
                Ok(got) => got,
                Err(e) if code(&e) == "40P01" => {
                    model
                        .lock()
                        .unwrap()
                        .count("deadlock victims (single statements)");
                    continue;
                }
                Err(e) => return Err(anyhow::Error::from(e).context(format!("retrying {}", a.key))),
            };
            if got != (first, last) {
                bail!(
                    "session {session}: retry of {} returned {got:?}, the original was {:?}",
                    a.key,
                    (first, last)
                );
            }
            model.lock().unwrap().count("idempotent retries");
        } else if kind < 93 && !mine.is_empty() {
            // A snapshot at or below a sequence this session saw committed.
            let (a, _, last) = mine[rng.gen_range(0..mine.len())].clone();
            let at = rng.gen_range(0..=last);
            let put = sqlx::query("SELECT angzarr.put_snapshot($1, $2, $3, $4, edition => $5)")
                .bind(a.agg.domain)
                .bind(a.agg.root)
                .bind(at)
                .bind(at.to_be_bytes().to_vec())
                .bind(a.agg.edition)
                .execute(&mut conn)
                .await
                .with_context(|| format!("session {session}: snapshot of {:?} at {at}", a.agg));
            match put {
                Ok(_) => model.lock().unwrap().count("snapshots"),
                Err(e) if deadlock_victim(&e) => model
                    .lock()
                    .unwrap()
                    .count("deadlock victims (single statements)"),
                Err(e) => return Err(e),
            }
        } else if !mine.is_empty() {
            // A consumer position, sometimes lower than before (must not move back).
            let (a, _, last) = mine[rng.gen_range(0..mine.len())].clone();
            let at = rng.gen_range(0..=last);
            let saved = sqlx::query("SELECT angzarr.save_position($2, $3, $1, $4, $5)")
                .bind(&handler)
                .bind(a.agg.domain)
                .bind(a.agg.root)
                .bind(at)
                .bind(a.agg.edition)
                .execute(&mut conn)
                .await
                .with_context(|| format!("session {session}: position"));
            match saved {
                Ok(_) => {}
                Err(e) if deadlock_victim(&e) => {
                    model
                        .lock()
                        .unwrap()
                        .count("deadlock victims (single statements)");
                    continue;
                }
                Err(e) => return Err(e),
            }
            let mut m = model.lock().unwrap();
            let p = m
                .positions
                .entry((handler.clone(), a.agg.clone()))
                .or_insert(at);
            *p = (*p).max(at);
            m.count("positions saved");
        }
    }
    Ok(())
}

/// One stored event: domain, edition, root, sequence, payload.
type StoredEvent = (String, String, Uuid, i64, Vec<u8>);

/// One feed event as a reader saw it.
type FeedEvent = (i64, i64, String, String, Uuid, i64, String);

/// A feed reader: pages through read_feed() until told to stop and the feed is drained.
async fn reader(
    url: String,
    id: usize,
    page: i64,
    stop: Arc<AtomicBool>,
) -> Result<Vec<FeedEvent>> {
    let mut conn = PgConnection::connect(&url).await?;
    let consumer = format!("reader-{id}");
    let (mut tx, mut pos) = (0i64, 0i64);
    let mut seen = Vec::new();
    let mut next_in_aggregate: HashMap<(String, String, Uuid), i64> = HashMap::new();
    let mut drain_deadline: Option<Instant> = None;
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        let rows = sqlx::query(
            "SELECT feed_tx, global_position, domain, edition, root, sequence, convert_from(payload, 'UTF8') \
             FROM angzarr.read_feed($1, $2, $3)",
        )
        .bind(tx)
        .bind(pos)
        .bind(page)
        .fetch_all(&mut conn)
        .await?;
        for r in &rows {
            let e: FeedEvent = (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
            );
            if (e.0, e.1) <= (tx, pos) {
                bail!(
                    "reader {id}: feed went backwards: ({}, {}) after ({tx}, {pos})",
                    e.0,
                    e.1
                );
            }
            let key = (e.2.clone(), e.3.clone(), e.4);
            if let Some(want) = next_in_aggregate.get(&key) {
                if e.5 != *want {
                    bail!(
                        "reader {id}: {key:?} sequence {} arrived where {want} was next",
                        e.5
                    );
                }
            }
            next_in_aggregate.insert(key, e.5 + 1);
            (tx, pos) = (e.0, e.1);
            seen.push(e);
        }
        if !rows.is_empty() {
            sqlx::query("SELECT angzarr.save_feed_position($1, $2, $3)")
                .bind(&consumer)
                .bind(tx)
                .bind(pos)
                .execute(&mut conn)
                .await?;
        }
        if (rows.len() as i64) < page {
            if stopping {
                // The writers are done: drain until every stored event was seen. Another
                // session's open transaction anywhere in the cluster holds the feed back, so
                // this may take a moment, but never forever.
                let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM angzarr.events")
                    .fetch_one(&mut conn)
                    .await?;
                if seen.len() as i64 >= stored {
                    return Ok(seen);
                }
                let deadline = *drain_deadline
                    .get_or_insert_with(|| Instant::now() + Duration::from_secs(120));
                if Instant::now() > deadline {
                    bail!(
                        "reader {id}: the feed stayed at {} of {stored} events for two minutes",
                        seen.len()
                    );
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn verify(url: &str, model: &Model, feeds: &[Vec<FeedEvent>]) -> Result<()> {
    let mut conn = PgConnection::connect(url).await?;
    let problems: Vec<String> = sqlx::query_scalar(
        "SELECT problem || ': ' || coalesce(detail, '') FROM angzarr.check_integrity()",
    )
    .fetch_all(&mut conn)
    .await?;
    if !problems.is_empty() {
        bail!("check_integrity(): {problems:?}");
    }
    let rows = sqlx::query(
        "SELECT domain, edition, root, sequence, idempotency_key, payload FROM angzarr.events \
         ORDER BY domain, edition, root, sequence",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut stored: HashMap<String, Vec<StoredEvent>> = HashMap::new();
    for r in &rows {
        let key: Option<String> = r.get(4);
        let key = key.ok_or_else(|| anyhow!("an event without idempotency key is stored"))?;
        stored
            .entry(key)
            .or_default()
            .push((r.get(0), r.get(1), r.get(2), r.get(3), r.get(5)));
    }
    for (key, (a, first)) in &model.acked {
        let got = stored
            .remove(key)
            .ok_or_else(|| anyhow!("acknowledged append {key} is missing"))?;
        if got.len() != a.payloads.len() {
            bail!(
                "acknowledged append {key} has {} events, {} were sent",
                got.len(),
                a.payloads.len()
            );
        }
        for (i, (domain, edition, root, seq, payload)) in got.iter().enumerate() {
            if domain != a.agg.domain || edition != a.agg.edition || *root != a.agg.root {
                bail!("append {key} is stored under another aggregate");
            }
            if *seq != first + i as i64 || *payload != a.payloads[i] {
                bail!(
                    "append {key} event {i}: sequence {seq} (want {}), payload differs: {}",
                    first + i as i64,
                    *payload != a.payloads[i]
                );
            }
        }
    }
    if let Some(key) = stored.keys().next() {
        bail!(
            "{} stored appends were never acknowledged (rolled back?), e.g. {key}",
            stored.len()
        );
    }
    for ((handler, agg), want) in &model.positions {
        let got: Option<i64> = sqlx::query_scalar("SELECT angzarr.get_position($2, $3, $1, $4)")
            .bind(handler)
            .bind(agg.domain)
            .bind(agg.root)
            .bind(agg.edition)
            .fetch_one(&mut conn)
            .await?;
        if got != Some(*want) {
            bail!("position of {handler} in {agg:?} is {got:?}, the highest saved was {want}");
        }
    }
    let bad_snapshots: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM angzarr.snapshots s WHERE s.sequence >= angzarr.next_sequence(s.domain, s.root, s.edition)",
    )
    .fetch_one(&mut conn)
    .await?;
    if bad_snapshots > 0 {
        bail!("{bad_snapshots} snapshots lie beyond their aggregate's last event");
    }
    for (i, feed) in feeds.iter().enumerate() {
        if feed.len() != rows.len() {
            bail!(
                "feed reader {i} saw {} events, {} are stored",
                feed.len(),
                rows.len()
            );
        }
        let mut keys: Vec<&str> = feed.iter().map(|e| e.6.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.len() != rows.len() {
            bail!("feed reader {i} saw some events twice");
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let o = options()?;
    println!(
        "torture: seed {} ({WRITERS} writers x {} transactions, {READERS} feed readers); replay with TORTURE_SEED={}",
        o.seed, o.transactions, o.seed
    );
    let started = Instant::now();
    let mut setup = PgConnection::connect(&o.url).await?;
    sqlx::query("SELECT angzarr.create_edition($1)")
        .bind(EDITION)
        .execute(&mut setup)
        .await?;
    let model = Arc::new(Mutex::new(Model::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|id| tokio::spawn(reader(o.url.clone(), id, [7, 500][id % 2], stop.clone())))
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|s| {
            tokio::spawn(writer(
                o.url.clone(),
                s,
                o.seed,
                o.transactions,
                model.clone(),
            ))
        })
        .collect();
    let mut failure = None;
    for w in writers {
        if let Err(e) = w.await? {
            failure.get_or_insert(e);
        }
    }
    stop.store(true, Ordering::SeqCst);
    let mut feeds = Vec::new();
    for r in readers {
        match r.await? {
            Ok(f) => feeds.push(f),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    let model = Arc::try_unwrap(model)
        .map_err(|_| anyhow!("model still shared"))?
        .into_inner()
        .unwrap();
    let result = match failure {
        Some(e) => Err(e),
        None => verify(&o.url, &model, &feeds).await,
    };
    if let Err(e) = result {
        eprintln!(
            "torture: FAILED with seed {}; replay: TORTURE_SEED={} scripts/test_torture.sh",
            o.seed, o.seed
        );
        return Err(e);
    }
    let events: usize = model.acked.values().map(|(a, _)| a.payloads.len()).sum();
    println!(
        "torture: {} acknowledged appends ({events} events) verified in {:.1?}",
        model.acked.len(),
        started.elapsed()
    );
    for (what, n) in &model.stats {
        println!("torture:   {n:6} {what}");
    }
    println!("torture: 1 passed, 0 failed");
    Ok(())
}
