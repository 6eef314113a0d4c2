//! Crash safety: 8 writers append batches while the whole server is killed with SIGKILL
//! (postmaster and every backend at once, like a power cut of the database process); then the
//! server is restarted, runs crash recovery, and the store is checked:
//!
//! - every acknowledged append is present, with its exact sequences and payloads;
//! - an append in flight at the kill is present completely or not at all, and retrying it with
//!   its idempotency key returns the original range when it had committed;
//! - each aggregate's sequences are gap-free and `angzarr.check_integrity()` is clean;
//! - nothing else is stored (every event belongs to exactly one known append), and the global
//!   feed lists every event exactly once;
//! - appends continue at the right sequence in the next cycle.
//!
//! Runs on a dedicated cluster (never the dev cluster): `scripts/test_crash.sh` sets it up.
//!   crash --cycles 20 --seed 1 --data /var/lib/angzarr_store/crash/data --url postgres://...

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;

const WRITERS: usize = 8;
const OWN_AGGREGATES: usize = 4;
const HOT_AGGREGATES: usize = 2;
const DOMAIN: &str = "crash";

#[derive(Debug, Clone)]
struct Options {
    cycles: usize,
    seed: u64,
    data: String,
    url: String,
    cluster_script: String,
}

fn options() -> Result<Options> {
    let mut o = Options {
        cycles: 20,
        seed: rand::random::<u32>() as u64,
        data: "/var/lib/angzarr_store/crash/data".into(),
        url: "postgres://postgres@127.0.0.1:55450/crash".into(),
        cluster_script: "scripts/cluster.sh".into(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair
            .get(1)
            .ok_or_else(|| anyhow!("{} needs a value", pair[0]))?;
        match pair[0].as_str() {
            "--cycles" => o.cycles = value.parse()?,
            "--seed" => o.seed = value.parse()?,
            "--data" => o.data = value.clone(),
            "--url" => o.url = value.clone(),
            "--cluster-script" => o.cluster_script = value.clone(),
            other => bail!("unknown option {other}"),
        }
    }
    Ok(o)
}

/// One append: which aggregate, and the events it carries (payloads name the batch).
#[derive(Debug, Clone)]
struct Batch {
    key: String,
    root: Uuid,
    payloads: Vec<Vec<u8>>,
}

/// What the driver knows, shared with the writers.
#[derive(Default)]
struct Ledger {
    /// Acknowledged appends: key -> (batch, first sequence).
    acked: BTreeMap<String, (Batch, i64)>,
    /// Sent, not acknowledged: the connection died first. Committed or not: unknown.
    in_flight: BTreeMap<String, Batch>,
    /// Errors that are not the crash (each one fails the test).
    unexpected: Vec<String>,
}

/// A SQLSTATE class that means "the server went away", not "your append was refused".
fn is_crash_error(err: &sqlx::Error) -> bool {
    match angzarr_store_tests::sqlstate(err) {
        Some(code) => ["57", "08", "53"].iter().any(|c| code.starts_with(c)),
        None => true,
    }
}

async fn append(
    conn: &mut PgConnection,
    b: &Batch,
    expected: Option<i64>,
) -> sqlx::Result<(i64, i64)> {
    let types: Vec<String> = (0..b.payloads.len()).map(|i| format!("E{i}")).collect();
    let row = sqlx::query(
        "SELECT first_sequence, last_sequence FROM angzarr.append_events($1, $2, $3, $4, \
         expected_sequence => $5, correlation_id => $6, idempotency_key => $6)",
    )
    .bind(DOMAIN)
    .bind(b.root)
    .bind(&types)
    .bind(&b.payloads)
    .bind(expected)
    .bind(&b.key)
    .fetch_one(conn)
    .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// A fixed UUID per aggregate name, the same in every run.
fn root_of(name: &str) -> Uuid {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (salt, name).hash(&mut h);
        h.finish() as u128
    };
    Uuid::from_u128(half(1) << 64 | half(2))
}

/// One writer: appends until its connection dies. Own aggregates carry an expected sequence
/// (nobody else writes them); hot aggregates are shared and append at whatever comes next.
async fn writer(
    url: String,
    id: usize,
    cycle: usize,
    seed: u64,
    mut heads: HashMap<Uuid, i64>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let mut rng = StdRng::seed_from_u64(seed ^ ((cycle as u64) << 32) ^ id as u64);
    let Ok(mut conn) = PgConnection::connect(&url).await else {
        return;
    };
    for n in 0.. {
        let hot = rng.gen_bool(0.3);
        let name = if hot {
            format!("hot-{}", rng.gen_range(0..HOT_AGGREGATES))
        } else {
            format!("w{id}-{}", rng.gen_range(0..OWN_AGGREGATES))
        };
        let key = format!("c{cycle}-w{id}-b{n}");
        let len = rng.gen_range(1..=8);
        let payloads = (0..len)
            .map(|i| format!("{key}:{i}").into_bytes())
            .collect();
        let batch = Batch {
            key: key.clone(),
            root: root_of(&name),
            payloads,
        };
        let expected = if hot {
            None
        } else {
            heads.get(&batch.root).copied().or(Some(0))
        };
        ledger
            .lock()
            .unwrap()
            .in_flight
            .insert(key.clone(), batch.clone());
        match append(&mut conn, &batch, expected).await {
            Ok((first, last)) => {
                let mut l = ledger.lock().unwrap();
                l.in_flight.remove(&key);
                if last - first + 1 != len as i64 || expected.is_some_and(|e| e != first) {
                    l.unexpected.push(format!(
                        "{key}: got {first}..{last} for {len} events, expected {expected:?}"
                    ));
                }
                if !hot {
                    heads.insert(batch.root, last + 1);
                }
                l.acked.insert(key, (batch, first));
            }
            Err(e) if is_crash_error(&e) => return,
            Err(e) => {
                let mut l = ledger.lock().unwrap();
                l.in_flight.remove(&key);
                l.unexpected.push(format!("{key}: {e}"));
                return;
            }
        }
    }
}

/// Every PID of the cluster: the postmaster from postmaster.pid and its children from /proc.
fn cluster_pids(data: &str) -> Result<Vec<i32>> {
    let pidfile = std::fs::read_to_string(format!("{data}/postmaster.pid"))
        .context("reading postmaster.pid")?;
    let postmaster: i32 = pidfile.lines().next().unwrap_or("").trim().parse()?;
    let mut pids = vec![postmaster];
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command name (which may contain spaces) start at the last ')'.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let ppid: i32 = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        if ppid == postmaster {
            pids.push(pid);
        }
    }
    Ok(pids)
}

/// SIGKILL to the postmaster and every backend at the same moment.
fn kill_server(data: &str) -> Result<usize> {
    let pids = cluster_pids(data)?;
    let args: Vec<String> = pids.iter().map(|p| p.to_string()).collect();
    let status = std::process::Command::new("kill")
        .arg("-KILL")
        .args(&args)
        .status()?;
    if !status.success() {
        bail!("kill -KILL {args:?} failed");
    }
    // Wait until every process is gone, so the restart finds no shared memory in use.
    let deadline = Instant::now() + Duration::from_secs(30);
    while pids
        .iter()
        .any(|p| std::path::Path::new(&format!("/proc/{p}")).exists())
    {
        if Instant::now() > deadline {
            bail!("the killed server processes did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(pids.len())
}

fn start_server(o: &Options) -> Result<()> {
    let out = std::process::Command::new("bash")
        .arg(&o.cluster_script)
        .arg("start")
        .output()?;
    if !out.status.success() {
        bail!(
            "restarting the server failed (see its log): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Checks the whole store against the ledger; retries in-flight appends (by idempotency key)
/// and moves them to the acknowledged ones. Returns the aggregates' next sequences.
async fn verify(url: &str, ledger: &mut Ledger) -> Result<(HashMap<Uuid, i64>, usize, usize)> {
    let mut conn = PgConnection::connect(url).await?;
    let problems: Vec<String> = sqlx::query(
        "SELECT problem || ': ' || coalesce(detail, '') FROM angzarr.check_integrity()",
    )
    .fetch_all(&mut conn)
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect();
    if !problems.is_empty() {
        bail!("check_integrity() after recovery: {problems:?}");
    }
    let rows = sqlx::query(
        "SELECT root, sequence, idempotency_key, payload FROM angzarr.events WHERE domain = $1 \
         ORDER BY root, sequence",
    )
    .bind(DOMAIN)
    .fetch_all(&mut conn)
    .await?;
    // key -> stored (root, sequence, payload) in sequence order.
    let mut stored: HashMap<String, Vec<(Uuid, i64, Vec<u8>)>> = HashMap::new();
    let mut heads: HashMap<Uuid, i64> = HashMap::new();
    for r in &rows {
        let root: Uuid = r.get(0);
        let seq: i64 = r.get(1);
        let expected_seq = heads.get(&root).copied().unwrap_or(0);
        if seq != expected_seq {
            bail!(
                "aggregate {root}: sequence {seq} follows {}",
                expected_seq - 1
            );
        }
        heads.insert(root, seq + 1);
        let key: Option<String> = r.get(2);
        let key = key.ok_or_else(|| anyhow!("event {root}/{seq} has no idempotency key"))?;
        stored.entry(key).or_default().push((root, seq, r.get(3)));
    }
    let matches = |b: &Batch, got: &[(Uuid, i64, Vec<u8>)]| -> Result<i64> {
        let first = got.first().map(|g| g.1).unwrap_or(-1);
        for (i, (root, seq, payload)) in got.iter().enumerate() {
            if *root != b.root || *seq != first + i as i64 || *payload != b.payloads[i] {
                bail!("append {} is stored differently from what was sent", b.key);
            }
        }
        Ok(first)
    };
    for (key, (batch, first)) in &ledger.acked {
        let got = stored.get(key).map(Vec::as_slice).unwrap_or(&[]);
        if got.len() != batch.payloads.len() {
            bail!(
                "acknowledged append {key} has {} of its {} events",
                got.len(),
                batch.payloads.len()
            );
        }
        if matches(batch, got)? != *first {
            bail!("acknowledged append {key} moved from sequence {first}");
        }
    }
    let (mut committed, mut lost) = (0, 0);
    for (key, batch) in std::mem::take(&mut ledger.in_flight) {
        let got = stored.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        let was = match got.len() {
            0 => {
                lost += 1;
                None
            }
            n if n == batch.payloads.len() => {
                committed += 1;
                Some(matches(&batch, got)?)
            }
            n => bail!(
                "in-flight append {key} is partially present: {n} of {} events",
                batch.payloads.len()
            ),
        };
        // The client's retry after a lost acknowledgement: same key, same events.
        let (first, last) = append(&mut conn, &batch, None).await?;
        if was.is_some_and(|w| w != first) {
            bail!("retrying committed append {key} appended again at {first} instead of returning {was:?}");
        }
        if was.is_none() {
            heads.insert(batch.root, last + 1);
        }
        ledger.acked.insert(key, (batch, first));
    }
    let known: usize = ledger.acked.values().map(|(b, _)| b.payloads.len()).sum();
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM angzarr.events WHERE domain = $1")
        .bind(DOMAIN)
        .fetch_one(&mut conn)
        .await?;
    if total as usize != known {
        bail!("{total} events stored but {known} were appended");
    }
    // The global feed after recovery: every event exactly once (nothing else runs on this
    // cluster, so the feed is not held back).
    let (fed, distinct): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT (f.domain, f.edition, f.root, f.sequence)) FROM angzarr.read_feed(0, 0, NULL) f",
    )
    .fetch_one(&mut conn)
    .await?;
    if fed != total || distinct != total {
        bail!("the feed lists {fed} events ({distinct} distinct) but {total} are stored");
    }
    Ok((heads, committed, lost))
}

#[tokio::main]
async fn main() -> Result<()> {
    let o = options()?;
    println!(
        "crash: seed {} (replay: --seed {}), {} cycles",
        o.seed, o.seed, o.cycles
    );
    let mut rng = StdRng::seed_from_u64(o.seed);
    let mut ledger = Ledger::default();
    let mut heads = HashMap::new();
    let started = Instant::now();
    let (mut total_committed, mut total_lost) = (0, 0);
    for cycle in 0..o.cycles {
        let shared = Arc::new(Mutex::new(std::mem::take(&mut ledger)));
        let tasks: Vec<_> = (0..WRITERS)
            .map(|id| {
                tokio::spawn(writer(
                    o.url.clone(),
                    id,
                    cycle,
                    o.seed,
                    heads.clone(),
                    shared.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..1500))).await;
        let before = shared.lock().unwrap().acked.len();
        let killed = tokio::task::spawn_blocking({
            let data = o.data.clone();
            move || kill_server(&data)
        })
        .await??;
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(60), t)
                .await
                .context("a writer hung after the kill")??;
        }
        ledger = Arc::try_unwrap(shared)
            .map_err(|_| anyhow!("writers still hold the ledger"))?
            .into_inner()
            .unwrap();
        if !ledger.unexpected.is_empty() {
            bail!(
                "cycle {cycle}: appends failed for reasons other than the crash: {:?}",
                ledger.unexpected
            );
        }
        start_server(&o)?;
        let in_flight = ledger.in_flight.len();
        let (h, committed, lost) = verify(&o.url, &mut ledger)
            .await
            .with_context(|| format!("cycle {cycle}, seed {}", o.seed))?;
        heads = h;
        total_committed += committed;
        total_lost += lost;
        println!(
            "crash: cycle {:2}: SIGKILL to {killed} server processes ({before} appends acknowledged so far); \
             {in_flight} in flight ({committed} had committed, {lost} had not); all {} appends verified",
            cycle + 1,
            ledger.acked.len()
        );
    }
    // The writers go on once more without a crash: appends continue at the right sequences.
    let shared = Arc::new(Mutex::new(std::mem::take(&mut ledger)));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|id| {
            tokio::spawn(writer(
                o.url.clone(),
                id,
                o.cycles,
                o.seed,
                heads.clone(),
                shared.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Stop them by closing their sessions from the server side.
    let mut admin = PgConnection::connect(&o.url).await?;
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        .execute(&mut admin)
        .await?;
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .context("a writer hung")??;
    }
    ledger = Arc::try_unwrap(shared)
        .map_err(|_| anyhow!("writers still hold the ledger"))?
        .into_inner()
        .unwrap();
    if !ledger.unexpected.is_empty() {
        bail!(
            "after the last crash: appends failed: {:?}",
            ledger.unexpected
        );
    }
    verify(&o.url, &mut ledger)
        .await
        .with_context(|| format!("final check, seed {}", o.seed))?;
    let events: usize = ledger.acked.values().map(|(b, _)| b.payloads.len()).sum();
    println!(
        "crash: {} cycles in {:.0?}: {} appends ({events} events) verified; {total_committed} in-flight appends had \
         committed, {total_lost} had not; none partial",
        o.cycles,
        started.elapsed(),
        ledger.acked.len()
    );
    println!("crash: 1 passed, 0 failed");
    Ok(())
}
