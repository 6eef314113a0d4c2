//! Failover drill: writers and a tailing feed consumer work through a host list while the
//! primary is killed with SIGKILL and the standby promoted, again and again
//! (`--failover-command`, normally `ha/failover.sh`, does one failover). The clients find the
//! new primary by themselves (`target_session_attrs=read-write`) and retry appends whose
//! outcome a lost connection left unknown under the same idempotency key
//! (`EventStoreBuilder::with_reconnect`). Then, on the last primary:
//!
//! - every append a writer was told succeeded is stored exactly once, with the sequences it was
//!   told (lost: appends missing, duplicates: appends stored twice);
//! - every aggregate's sequences are gap-free, `angzarr.check_integrity()` is clean, and nothing
//!   is stored that no writer was told about;
//! - the consumer (a projection runner that writes each event's id to a table in the same
//!   transaction as its checkpoint) applied every stored event exactly once.
//!
//! With `--expect-loss-free false` (an asynchronous standby) lost appends are counted and
//! reported rather than failing the drill.
//!
//!   failover_drill --url 'postgres://postgres@127.0.0.1:56160,127.0.0.1:56161/drill?target_session_attrs=read-write' \
//!       --failovers 10 --failover-command 'bash ha/failover.sh'

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use angzarr_store_client::{
    handler_fn, AggregateId, Append, Error, EventStore, Expected, FeedQuery, NewEvent,
    ProjectionError, RetryPolicy,
};
use anyhow::{anyhow, bail, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

const DOMAIN: &str = "drill";
const AGGREGATES_PER_WRITER: usize = 4;
const CONSUMER: &str = "drill-consumer";

#[derive(Debug, Clone)]
struct Options {
    url: String,
    failovers: usize,
    failover_command: String,
    writers: usize,
    seed: u64,
    expect_loss_free: bool,
}

fn options() -> Result<Options> {
    let mut o = Options {
        url: String::new(),
        failovers: 10,
        failover_command: "bash ha/failover.sh".into(),
        writers: 6,
        seed: rand::random::<u32>() as u64,
        expect_loss_free: true,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair
            .get(1)
            .ok_or_else(|| anyhow!("{} needs a value", pair[0]))?;
        match pair[0].as_str() {
            "--url" => o.url = value.clone(),
            "--failovers" => o.failovers = value.parse()?,
            "--failover-command" => o.failover_command = value.clone(),
            "--writers" => o.writers = value.parse()?,
            "--seed" => o.seed = value.parse()?,
            "--expect-loss-free" => o.expect_loss_free = value.parse()?,
            other => bail!("unknown option {other}"),
        }
    }
    if o.url.is_empty() {
        bail!("--url (a host list) is required");
    }
    Ok(o)
}

/// An append a writer was told succeeded.
#[derive(Debug, Clone)]
struct Acked {
    key: String,
    root: Uuid,
    first: i64,
    last: i64,
    at: Instant,
}

#[derive(Default)]
struct Counters {
    /// Appends that took over a second: they waited out a failover (reconnect, retry).
    stalled: AtomicU64,
    /// Appends refused because the aggregate had fewer events than the writer knew of.
    conflicts: AtomicU64,
}

async fn store(url: &str, connections: u32) -> Result<EventStore> {
    Ok(EventStore::builder()
        .with_max_connections(connections)
        .with_acquire_timeout(Duration::from_secs(60))
        .with_feed_poll_interval(Duration::from_millis(200))
        .with_reconnect(
            RetryPolicy::default()
                .with_max_attempts(1000)
                .with_delays(Duration::from_millis(20), Duration::from_millis(500)),
        )
        .connect(url)
        .await?)
}

async fn writer(
    store: EventStore,
    id: usize,
    seed: u64,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<Acked>>>,
    counters: Arc<Counters>,
) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(seed ^ (id as u64).wrapping_mul(0x9e37_79b9));
    let roots: Vec<Uuid> = (0..AGGREGATES_PER_WRITER).map(|_| Uuid::new_v4()).collect();
    let mut next = vec![0i64; roots.len()];
    while !stop.load(Ordering::Relaxed) {
        let a = rng.gen_range(0..roots.len());
        let n = rng.gen_range(1..=3);
        let key = Uuid::new_v4().to_string();
        let aggregate = AggregateId::new(DOMAIN, roots[a]);
        let append = Append::new(aggregate.clone(), Expected::Next(next[a]))
            .idempotency_key(&key)
            .events(
                (0..n).map(|i| NewEvent::new(format!("w{id}"), format!("{key}/{i}").into_bytes())),
            );
        let started = Instant::now();
        match store.append(store.pool(), &append).await {
            Ok(done) => {
                if done.first_sequence != next[a] || done.last_sequence != next[a] + n as i64 - 1 {
                    bail!(
                        "writer {id}: asked for {}..{} and was told {done:?}",
                        next[a],
                        next[a] + n as i64 - 1
                    );
                }
                if started.elapsed() > Duration::from_secs(1) {
                    counters.stalled.fetch_add(1, Ordering::Relaxed);
                }
                acked.lock().unwrap().push(Acked {
                    key,
                    root: roots[a],
                    first: done.first_sequence,
                    last: done.last_sequence,
                    at: Instant::now(),
                });
                next[a] = done.last_sequence + 1;
            }
            // The aggregate lost events this writer was told were stored (an asynchronous
            // standby took over): count it, and go on from what the store has.
            Err(Error::SequenceConflict { .. }) => {
                counters.conflicts.fetch_add(1, Ordering::Relaxed);
                next[a] = store.next_sequence(store.pool(), &aggregate).await?;
            }
            Err(e) => return Err(anyhow!("writer {id}: {e}")),
        }
    }
    Ok(())
}

/// The consumer: a projection runner that records each event it applies, with its checkpoint,
/// in one transaction.
fn consumer(
    store: EventStore,
    stop: Arc<tokio::sync::Notify>,
) -> tokio::task::JoinHandle<Result<(), ProjectionError>> {
    let runner = store
        .projection(CONSUMER, FeedQuery::new().domains([DOMAIN]))
        .with_batch_size(50)
        .with_standby_poll(Duration::from_millis(200))
        .with_lease_check(Duration::from_millis(500));
    let handler = handler_fn(move |item, tx| {
        Box::pin(async move {
            sqlx::query(include_str!("sql/drill_seen_insert.sql"))
                .bind(item.event.id)
                .bind(item.checkpoint.feed_tx)
                .bind(item.checkpoint.global_position)
                .execute(&mut *tx)
                .await?;
            Ok(())
        })
    });
    tokio::spawn(runner.run_until(handler, async move { stop.notified().await }))
}

async fn failover(command: &str) -> Result<String> {
    let out = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(command)
        .output()
        .await?;
    if !out.status.success() {
        bail!(
            "{command} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[tokio::main]
async fn main() -> Result<()> {
    let o = options()?;
    let mut rng = StdRng::seed_from_u64(o.seed);
    println!(
        "failover drill: {} failovers, {} writers, seed {}",
        o.failovers, o.writers, o.seed
    );
    let writers_store = store(&o.url, o.writers as u32 + 2).await?;
    let consumer_store = store(&o.url, 4).await?;
    sqlx::query(include_str!("sql/drill_seen_table.sql"))
        .execute(writers_store.pool())
        .await?;

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let counters = Arc::new(Counters::default());
    let writers: Vec<_> = (0..o.writers)
        .map(|id| {
            tokio::spawn(writer(
                writers_store.clone(),
                id,
                o.seed,
                stop.clone(),
                acked.clone(),
                counters.clone(),
            ))
        })
        .collect();
    let stop_consumer = Arc::new(tokio::sync::Notify::new());
    let consuming = consumer(consumer_store.clone(), stop_consumer.clone());

    for i in 1..=o.failovers {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(1000..2500))).await;
        let before = acked.lock().unwrap().len();
        let started = Instant::now();
        let line = failover(&o.failover_command).await?;
        let ended = Instant::now();
        // Writes stop at the kill and resume once the clients have found the new primary (and,
        // with a synchronous standby, once the old primary streams to it again): the longest
        // pause between acknowledgements around the failover is the outage writers saw.
        let deadline = ended + Duration::from_secs(60);
        let pause = loop {
            {
                let acked = acked.lock().unwrap();
                let mut times: Vec<Instant> = acked[before..].iter().map(|a| a.at).collect();
                if times.iter().any(|t| *t > ended) {
                    times.sort();
                    let mut last = started;
                    let mut pause = Duration::ZERO;
                    for t in times
                        .into_iter()
                        .take_while(|t| *t <= ended + Duration::from_secs(1))
                    {
                        pause = pause.max(t.saturating_duration_since(last));
                        last = t;
                    }
                    break pause;
                }
            }
            if Instant::now() > deadline {
                bail!("no append succeeded within 60 s of failover {i}");
            }
            if writers.iter().any(|w| w.is_finished()) {
                bail!("a writer stopped during failover {i}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        println!(
            "failover {i}/{}: {line}; writers paused {} ms, now on {}",
            o.failovers,
            pause.as_millis(),
            writers_store.current_host().unwrap_or_default()
        );
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await??;
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());

    // The consumer catches up with everything stored, then stops.
    let pool = writers_store.pool();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (events, seen): (i64, i64) = sqlx::query_as(include_str!("sql/drill_progress.sql"))
            .fetch_one(pool)
            .await?;
        if seen >= events {
            break;
        }
        if consuming.is_finished() {
            bail!("the consumer stopped: {:?}", consuming.await?);
        }
        if Instant::now() > deadline {
            bail!("the consumer applied {seen} of {events} events within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop_consumer.notify_one();
    consuming.await?.map_err(|e| anyhow!("consumer: {e}"))?;

    check(pool, &o, &acked, &counters).await
}

async fn check(
    pool: &sqlx::PgPool,
    o: &Options,
    acked: &[Acked],
    counters: &Counters,
) -> Result<()> {
    let rows: Vec<(Uuid, i64, Option<String>, Uuid)> =
        sqlx::query_as(include_str!("sql/drill_events.sql"))
            .fetch_all(pool)
            .await?;
    let mut by_key: HashMap<&str, Vec<(Uuid, i64)>> = HashMap::new();
    let mut by_root: BTreeMap<Uuid, Vec<i64>> = BTreeMap::new();
    for (root, sequence, key, _) in &rows {
        by_root.entry(*root).or_default().push(*sequence);
        by_key
            .entry(key.as_deref().unwrap_or(""))
            .or_default()
            .push((*root, *sequence));
    }
    let (mut lost, mut duplicates) = (0usize, 0usize);
    let mut acked_keys = HashSet::new();
    for a in acked {
        acked_keys.insert(a.key.as_str());
        let want: Vec<(Uuid, i64)> = (a.first..=a.last).map(|s| (a.root, s)).collect();
        match by_key.get(a.key.as_str()) {
            None => lost += 1,
            Some(got) if got.len() > want.len() => duplicates += 1,
            Some(got) if *got != want => lost += 1,
            Some(_) => {}
        }
    }
    let unacknowledged = by_key.keys().filter(|k| !acked_keys.contains(*k)).count();
    let gaps = by_root
        .values()
        .filter(|seqs| seqs.iter().enumerate().any(|(i, s)| *s != i as i64))
        .count();
    let problems: i64 = sqlx::query_scalar(include_str!("sql/drill_integrity.sql"))
        .fetch_one(pool)
        .await?;
    let seen: Vec<(Uuid, i64)> = sqlx::query_as(include_str!("sql/drill_seen.sql"))
        .fetch_all(pool)
        .await?;
    let stored: HashSet<Uuid> = rows.iter().map(|r| r.3).collect();
    let seen_twice = seen.iter().filter(|(_, n)| *n > 1).count();
    let seen_ids: HashSet<Uuid> = seen.iter().map(|(id, _)| *id).collect();
    let missed = stored.difference(&seen_ids).count();
    let phantom = seen_ids.difference(&stored).count();
    let exactly_once = seen_twice == 0 && missed == 0 && phantom == 0;
    let events: usize = acked.iter().map(|a| (a.last - a.first + 1) as usize).sum();
    println!(
        "summary: failovers {}, acknowledged appends {} ({} events), appends that waited out a failover {}, \
         lost: {lost}, duplicates: {duplicates}, gaps: {gaps}, integrity problems: {problems}, \
         stored but never acknowledged: {unacknowledged}, sequence conflicts: {}, \
         consumer saw exactly once: {} ({} events stored, {} applied, {seen_twice} twice, {missed} missed)",
        o.failovers,
        acked.len(),
        events,
        counters.stalled.load(Ordering::Relaxed),
        counters.conflicts.load(Ordering::Relaxed),
        if exactly_once { "yes" } else { "NO" },
        stored.len(),
        seen.len(),
    );
    if duplicates > 0 || gaps > 0 || problems > 0 || !exactly_once {
        bail!("the store or the consumer is inconsistent after failover");
    }
    if o.expect_loss_free
        && (lost > 0 || unacknowledged > 0 || counters.conflicts.load(Ordering::Relaxed) > 0)
    {
        bail!("acknowledged appends were lost (or unacknowledged ones stored) with a synchronous standby");
    }
    Ok(())
}
