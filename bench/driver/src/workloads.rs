//! W1-W6: appends, the hot aggregate, batches, reads and the feed. Each workload runs its
//! systems interleaved: round 1 measures every system once, then round 2, ...; the order rotates
//! each round so no system always runs right after a checkpoint or right after the same peer.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Result;

use crate::config::Config;
use crate::feed;
use crate::measure::{self, percentile, Target};
use crate::peer_eventcore as ec;
use crate::report::Table;
use crate::systems::{self, Agg, Batch, Conn, Sys, APG_NOW, PAYLOAD};

/// Which peers are there, and why not when they are not.
pub struct Env {
    pub cfg: Config,
    pub eventcore: Option<String>,
    pub messagedb: Option<String>,
}

impl Env {
    /// `None` when `sys` can run, else why not.
    pub fn unavailable(&self, sys: Sys) -> Option<String> {
        match sys {
            Sys::EventCore => self.eventcore.clone(),
            Sys::MessageDb | Sys::MessageDbOwnCategory => self.messagedb.clone(),
            _ => None,
        }
    }
}

/// The systems in the order of round 1, rotated by one each round.
pub fn rotated<T: Copy>(items: &[T], round: usize) -> Vec<T> {
    let mut v = items.to_vec();
    let n = v.len();
    v.rotate_left(round % n);
    v
}

/// VACUUM ANALYZE (autovacuum is off on the bench cluster) and a checkpoint, so a workload
/// starts from the same state for every system and no background work falls into its
/// measurements.
pub async fn checkpoint(url: &str) -> Result<()> {
    let mut c = Conn::open(url, Sys::Floor).await?;
    sqlx::raw_sql("VACUUM ANALYZE").execute(&mut c.pg).await?;
    sqlx::raw_sql("CHECKPOINT").execute(&mut c.pg).await?;
    Ok(())
}

const PREFILL_AGGREGATES: i64 = 1000;
const PREFILL_EACH: i64 = 100;

/// Gives every store the same 100,000 events (1,000 aggregates of 100) through its own write
/// path before anything is measured, so no store is measured on an empty table (where cached
/// plans of PL/pgSQL code would be made for an empty table and never revisited).
///
/// The naive store is the exception: its events go in with its trigger off and the trigger's
/// invariants written explicitly (gap-free sequences, positions from its sequence, feed_tx),
/// like W7's bulk load. Through its trigger, the one session doing the prefill plans the
/// trigger's max() probe on the empty table as a sequential scan and keeps that plan for the
/// whole statement, which makes the prefill quadratic (over 10 minutes for 100,000 rows). The
/// measured sessions are new ones that plan on the filled, analysed table.
pub async fn prefill(env: &Env) -> Result<()> {
    let payload = PAYLOAD.as_bytes();
    let mut c = Conn::open(&env.cfg.url, Sys::Floor).await?;
    let gen = "FROM generate_series(1, $1) a CROSS JOIN LATERAL generate_series(0, $2 - 1) s";
    for sql in [
        format!(
            "INSERT INTO floor.events (sequence, domain, root, event_type, payload, feed_tx, global_position) \
             SELECT s, 'bench', md5('prefill' || a)::uuid, 'Deposited', $3, txid_current(), \
                    nextval('floor.events_global_position_seq') {gen}"
        ),
        format!("INSERT INTO angzarr.events (domain, root, event_type, payload) SELECT 'bench', md5('prefill' || a)::uuid, 'Deposited', $3 {gen}"),
        format!(
            "INSERT INTO angzarr_pg.events (domain, edition, root, sequence, created_at, event_data) \
             SELECT 'bench', 'angzarr', md5('prefill' || a)::uuid::text, s, {APG_NOW}, $3 {gen}"
        ),
    ] {
        sqlx::query(&sql).bind(PREFILL_AGGREGATES).bind(PREFILL_EACH).bind(payload).execute(&mut c.pg).await?;
    }
    let mut tx = sqlx::Connection::begin(&mut c.pg).await?;
    sqlx::raw_sql("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!(
        "INSERT INTO naive.events (sequence, domain, root, event_type, payload, feed_tx, global_position) \
         SELECT s, 'bench', md5('prefill' || a)::uuid, 'Deposited', $3, txid_current(), \
                nextval('naive.events_global_position_seq') {gen}"
    ))
    .bind(PREFILL_AGGREGATES)
    .bind(PREFILL_EACH)
    .bind(payload)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if env.unavailable(Sys::MessageDb).is_none() {
        let mut m = Conn::open(&env.cfg.url, Sys::MessageDb).await?;
        sqlx::query(&format!(
            "SELECT count(message_store.write_message(gen_random_uuid()::text, 'bench-' || md5('prefill' || a)::uuid, \
                    'Deposited', $3::text::jsonb)) {gen}"
        ))
        .bind(PREFILL_AGGREGATES)
        .bind(PREFILL_EACH)
        .bind(PAYLOAD)
        .fetch_one(&mut m.pg)
        .await?;
    }
    if env.unavailable(Sys::EventCore).is_none() {
        let mut e = Conn::open(&env.cfg.url, Sys::EventCore).await?;
        for _ in 0..PREFILL_AGGREGATES {
            let mut a = Agg::new("bench");
            systems::load(Sys::EventCore, &mut e, &mut a, PREFILL_EACH).await?;
        }
    }
    sqlx::raw_sql("VACUUM ANALYZE").execute(&mut c.pg).await?;
    Ok(())
}

const WRITERS: [Sys; 8] = [
    Sys::Floor,
    Sys::OursInsert,
    Sys::OursInsertSeq,
    Sys::OursAppend,
    Sys::AngzarrPg,
    Sys::Naive,
    Sys::EventCore,
    Sys::MessageDb,
];

/// W1, W2, W4: `clients` writers on distinct aggregates, `batch` events per transaction.
pub async fn appends(
    env: &Env,
    id: &str,
    title: &str,
    clients: usize,
    batch: usize,
) -> Result<Table> {
    let unit = if batch == 1 { "appends/s" } else { "events/s" };
    let mut t = Table::new(id, title, unit);
    t.floor = Some(Sys::Floor.label().into());
    let mut systems = WRITERS.to_vec();
    if clients > 1 {
        systems.push(Sys::MessageDbOwnCategory);
    }
    let batch = Arc::new(Batch::new(batch));
    let mut latencies: HashMap<Sys, Vec<f64>> = HashMap::new();
    checkpoint(&env.cfg.url).await?;
    for round in 0..env.cfg.rounds {
        for sys in rotated(&systems, round) {
            if let Some(why) = env.unavailable(sys) {
                t.missing(sys.label(), &why);
                continue;
            }
            let (s, _) =
                measure::appends(&env.cfg, sys, clients, batch.clone(), Target::Distinct).await?;
            let v = if batch.len() == 1 {
                s.ops_per_s()
            } else {
                s.events_per_s()
            };
            eprintln!(
                "  {id} round {} {:<48} {:>10.0} {unit}",
                round + 1,
                sys.label(),
                v
            );
            t.push_sample(sys.label(), v, &s, true);
            latencies.entry(sys).or_default().push(s.median_ms());
        }
    }
    for (sys, l) in latencies {
        t.note(
            sys.label(),
            format!("p50 latency {:.2} ms", percentile(&l, 0.5)),
        );
    }
    Ok(t)
}

/// W3: eight writers on one aggregate, each appending with its expected sequence and retrying
/// after a conflict; then the aggregate must hold exactly 0..n.
pub async fn hot(env: &Env) -> Result<Table> {
    let mut t = Table::new(
        "W3",
        "hot aggregate: 8 writers on one aggregate, expected sequence + retry",
        "successful appends/s",
    );
    t.floor = Some(Sys::Floor.label().into());
    let systems = [
        Sys::Floor,
        Sys::OursInsertSeq,
        Sys::OursAppend,
        Sys::AngzarrPg,
        Sys::NaiveSeq,
        Sys::EventCore,
        Sys::MessageDb,
    ];
    let batch = Arc::new(Batch::new(1));
    let mut rates: HashMap<Sys, Vec<f64>> = HashMap::new();
    let mut gaps: HashMap<Sys, Vec<String>> = HashMap::new();
    checkpoint(&env.cfg.url).await?;
    for round in 0..env.cfg.rounds {
        for sys in rotated(&systems, round) {
            if let Some(why) = env.unavailable(sys) {
                t.missing(sys.label(), &why);
                continue;
            }
            let (s, aggs) = measure::appends(&env.cfg, sys, 8, batch.clone(), Target::Hot).await?;
            let mut c = Conn::open(&env.cfg.url, sys).await?;
            let (n, ok) = systems::gap_free(sys, &mut c, &aggs[0]).await?;
            if !ok {
                gaps.entry(sys)
                    .or_default()
                    .push(format!("round {} NOT gap-free ({n} events)", round + 1));
            }
            eprintln!(
                "  W3 round {} {:<48} {:>8.0} appends/s, conflicts {:.1}%, {} events, gap-free {}",
                round + 1,
                sys.label(),
                s.ops_per_s(),
                100.0 * s.conflict_rate(),
                n,
                ok
            );
            t.push_sample(sys.label(), s.ops_per_s(), &s, true);
            rates.entry(sys).or_default().push(s.conflict_rate());
        }
    }
    for (sys, r) in rates {
        t.note(
            sys.label(),
            format!("conflict rate {:.1}%", 100.0 * percentile(&r, 0.5)),
        );
        match gaps.get(&sys) {
            Some(bad) => t.note(sys.label(), bad.join(", ")),
            None => t.note(sys.label(), "gap-free after every round".into()),
        }
    }
    t.footnotes.push(
        "Conflict rate = refused appends / all attempts. After a refusal the writer reads the head \
         (one query) and retries. The floor's \"conflict\" is a primary-key violation on (domain, edition, root, sequence)."
            .into(),
    );
    Ok(t)
}

fn read_label(sys: Sys) -> &'static str {
    match sys {
        Sys::Floor => "floor: SELECT ... ORDER BY sequence",
        Sys::OursAppend => "ours: angzarr.read_stream()",
        Sys::EventCore => "eventcore-postgres: read_stream",
        Sys::MessageDb => "Message DB: get_stream_messages(batch -1)",
        Sys::AngzarrPg => "angzarr PostgreSQL backend: SELECT ... ORDER BY sequence",
        _ => sys.label(),
    }
}

/// W5a: read an aggregate of `read_n` events from the start, again and again.
pub async fn reads(env: &Env) -> Result<Table> {
    let n = env.cfg.read_n;
    let mut t = Table::new(
        "W5a",
        &format!("read one {n}-event aggregate, 1 reader"),
        "events/s",
    );
    t.floor = Some(read_label(Sys::Floor).into());
    let systems = [
        Sys::Floor,
        Sys::OursAppend,
        Sys::AngzarrPg,
        Sys::EventCore,
        Sys::MessageDb,
    ];
    let mut subjects = HashMap::new();
    for sys in systems {
        if env.unavailable(sys).is_some() {
            continue;
        }
        let mut c = Conn::open(&env.cfg.url, sys).await?;
        let mut a = Agg::new("bench");
        systems::load(sys, &mut c, &mut a, n).await?;
        subjects.insert(sys, (c, a));
    }
    checkpoint(&env.cfg.url).await?;
    for sys in systems {
        if let Some((c, _)) = subjects.get_mut(&sys) {
            sqlx::raw_sql("VACUUM ANALYZE")
                .execute(&mut c.pg)
                .await
                .ok();
            break;
        }
    }
    let mut latencies: HashMap<Sys, Vec<f64>> = HashMap::new();
    for round in 0..env.cfg.rounds {
        for sys in rotated(&systems, round) {
            let Some((c, a)) = subjects.get_mut(&sys) else {
                t.missing(read_label(sys), &env.unavailable(sys).unwrap_or_default());
                continue;
            };
            let s = measure::reads(&env.cfg, sys, c, a).await?;
            eprintln!(
                "  W5a round {} {:<48} {:>10.0} events/s",
                round + 1,
                read_label(sys),
                s.events_per_s()
            );
            t.push_sample(read_label(sys), s.events_per_s(), &s, false);
            latencies.entry(sys).or_default().push(s.median_ms());
        }
    }
    for (sys, l) in latencies {
        t.note(
            read_label(sys),
            format!("{:.1} ms per full read", percentile(&l, 0.5)),
        );
    }
    Ok(t)
}

/// W5b: load an aggregate from its latest snapshot plus the 50 events after it.
pub async fn snapshot_loads(env: &Env) -> Result<Table> {
    let mut t = Table::new(
        "W5b",
        "load an aggregate: snapshot + 50 events, 1 reader",
        "loads/s",
    );
    let ours = crate::snapshots::Ours::detect(&env.cfg.url).await?;
    t.floor = Some(crate::snapshots::FLOOR_LABEL.into());
    let mut floor = crate::snapshots::Subject::prepare(&env.cfg.url, None).await?;
    let mut our = crate::snapshots::Subject::prepare(&env.cfg.url, Some(&ours)).await?;
    checkpoint(&env.cfg.url).await?;
    for round in 0..env.cfg.rounds {
        let order: Vec<bool> = if round % 2 == 0 {
            vec![false, true]
        } else {
            vec![true, false]
        };
        for is_ours in order {
            let subject = if is_ours { &mut our } else { &mut floor };
            let s = subject.measure(&env.cfg).await?;
            eprintln!(
                "  W5b round {} {:<48} {:>10.0} loads/s",
                round + 1,
                subject.label,
                s.ops_per_s()
            );
            let label = subject.label.clone();
            t.push_sample(&label, s.ops_per_s(), &s, false);
        }
    }
    t.footnotes.push(ours.describe());
    Ok(t)
}

/// W6a: read the global feed from its start in pages of 1,000.
pub async fn feed_reads(env: &Env) -> Result<Table> {
    let mut t = Table::new(
        "W6a",
        &format!(
            "global feed read: first {} events in pages of 1,000, 1 reader",
            env.cfg.feed_n
        ),
        "events/s",
    );
    let systems = [Sys::Floor, Sys::OursAppend, Sys::EventCore, Sys::MessageDb];
    t.floor = Some(feed::label(Sys::Floor).into());
    checkpoint(&env.cfg.url).await?;
    for round in 0..env.cfg.rounds {
        for sys in rotated(&systems, round) {
            if let Some(why) = env.unavailable(sys) {
                t.missing(feed::label(sys), &why);
                continue;
            }
            let (s, per_pass) = feed::read_throughput(&env.cfg, sys).await?;
            eprintln!(
                "  W6a round {} {:<48} {:>10.0} events/s",
                round + 1,
                feed::label(sys),
                s.events_per_s()
            );
            t.push_sample(feed::label(sys), s.events_per_s(), &s, false);
            t.note(feed::label(sys), format!("{per_pass} events per pass"));
        }
    }
    Ok(t)
}

/// W6b: tail lag while eight writers append (W2's load).
pub async fn feed_tail(env: &Env) -> Result<Table> {
    let mut t = Table::new(
        "W6b",
        "feed tail lag while 8 writers append (W2 load)",
        "ms lag p50",
    );
    t.higher_is_better = false;
    let systems = [Sys::Floor, Sys::OursAppend, Sys::MessageDb];
    t.floor = Some(feed::tail_label(Sys::Floor).into());
    // Per system and round: p99 lag, max lag, writers' appends/s.
    type Extra = (Vec<f64>, Vec<f64>, Vec<f64>);
    let mut extra: HashMap<Sys, Extra> = HashMap::new();
    checkpoint(&env.cfg.url).await?;
    for round in 0..env.cfg.rounds {
        for sys in rotated(&systems, round) {
            if let Some(why) = env.unavailable(sys) {
                t.missing(feed::tail_label(sys), &why);
                continue;
            }
            let r = feed::tail_lag(&env.cfg, sys).await?;
            eprintln!(
                "  W6b round {} {:<48} lag p50 {:.2} ms p99 {:.2} ms, writers {:.0} appends/s, seen {}",
                round + 1,
                feed::tail_label(sys),
                r.p50,
                r.p99,
                r.appends_per_s,
                r.seen
            );
            t.push(feed::tail_label(sys), r.p50);
            let e = extra.entry(sys).or_default();
            e.0.push(r.p99);
            e.1.push(r.max);
            e.2.push(r.appends_per_s);
        }
    }
    for (sys, (p99, max, aps)) in extra {
        t.note(
            feed::tail_label(sys),
            format!(
                "p99 {:.1} ms, max {:.1} ms, writers {:.0} appends/s",
                percentile(&p99, 0.5),
                percentile(&max, 0.5),
                percentile(&aps, 0.5)
            ),
        );
    }
    t.footnotes.push(format!(
        "Lag = the reader's clock_timestamp() when the row is returned minus the row's created_at \
         (the writer's transaction start), computed by the server. The tailer polls again at once \
         after a non-empty page and after {} ms after an empty one. The floor tails by \
         (feed_tx, global_position) with no visibility horizon, so it can skip late commits; it is \
         a speed reference, not a correct feed.",
        feed::POLL_MS
    ));
    Ok(t)
}

/// The payload as a bytea hex literal, for pgbench scripts.
pub fn payload_hex() -> String {
    let mut s = String::from("\\x");
    for b in PAYLOAD.as_bytes() {
        s += &format!("{b:02x}");
    }
    s
}

pub fn eventcore_missing() -> Option<String> {
    ec::unavailable().map(|s| s.to_string())
}
