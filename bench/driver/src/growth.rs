//! W7: does an append get slower as the store grows? W1 (one event per transaction, one
//! client) on an empty store, then again after bulk-loading `growth_n` events.
//!
//! The bulk load writes 100 events per aggregate with md5-derived roots, so the new aggregates
//! W1 then creates land at random places in the primary key, as in a store that grew
//! naturally. Into angzarr.events it goes through the trigger (see `via_trigger`); into the
//! floor with the trigger's invariants written explicitly: gap-free sequences from 0, global
//! positions from a sequence, feed_tx = the loading transaction.
//!
//! One aggregate in a hundred (aggregate number a with a % 100 = 0) is in domain `bench_rare`,
//! the rest in `bench`, interleaved in feed order the same way in every table: W9 reads that 1%
//! domain from the same big store.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;

use crate::config::Config;
use crate::measure::{self, Target};
use crate::report::Table;
use crate::systems::{Batch, Conn, Sys, APG_NOW, PAYLOAD};
use crate::workloads::{checkpoint, rotated};

const PER_AGGREGATE: i64 = 100;
/// Aggregates per loading transaction (each holds one aggregate lock through the trigger).
/// Below the store's default `angzarr.lock_escalation_threshold` (1,000), so the two loaders
/// never escalate to bucket locks.
const AGGREGATES_PER_TX: i64 = 500;

/// Whether angzarr.events is loaded through the trigger (the default) rather than with its
/// feed positions preset under `session_replication_role = replica`. Preset positions are rows
/// "brought in" (a restore): each loading transaction then advances the feed clock at COMMIT,
/// and the two loaders deadlock there on 0.3.0 at 330d49b. The sequence trigger is ENABLE
/// ALWAYS since 0.2.0, so the preset path never skipped it anyway.
fn via_trigger() -> bool {
    std::env::var("BENCH_GROWTH_VIA_TRIGGER").map_or(true, |v| v != "0")
}

fn with_floor() -> bool {
    std::env::var("BENCH_GROWTH_FLOOR").map_or(true, |v| v != "0")
}

fn with_angzarr_pg() -> bool {
    std::env::var("BENCH_GROWTH_ANGZARR_PG").map_or(true, |v| v != "0")
}

/// The domain of bulk-loaded aggregate `a`: 1% of the aggregates are in the rare domain.
pub const RARE_DOMAIN: &str = "bench_rare";
const DOMAIN_OF_A: &str = "CASE WHEN a % 100 = 0 THEN 'bench_rare' ELSE 'bench' END";

/// Loads aggregates [from, to) of `PER_AGGREGATE` events into `table`.
async fn load_range(url: &str, table: &str, from: i64, to: i64) -> Result<()> {
    let mut c = Conn::open(url, Sys::Floor).await?;
    let payload = PAYLOAD.as_bytes();
    let mut a = from;
    while a < to {
        let b = (a + AGGREGATES_PER_TX).min(to);
        let sql = if table == "angzarr_pg.events" {
            format!(
                "INSERT INTO angzarr_pg.events (domain, edition, root, sequence, created_at, event_data) \
                 SELECT {DOMAIN_OF_A}, 'angzarr', md5('growth' || a)::uuid::text, s::int, {APG_NOW}, $3 \
                   FROM generate_series($1, $2 - 1) a CROSS JOIN LATERAL generate_series(0, $4 - 1) s"
            )
        } else if table == "angzarr.events" && via_trigger() {
            format!(
                "INSERT INTO angzarr.events (domain, root, event_type, payload) \
                 SELECT {DOMAIN_OF_A}, md5('growth' || a)::uuid, 'Deposited', $3 \
                   FROM generate_series($1, $2 - 1) a CROSS JOIN LATERAL generate_series(0, $4 - 1) s"
            )
        } else {
            let seq = if table == "angzarr.events" {
                "angzarr.events_global_position_seq"
            } else {
                "floor.events_global_position_seq"
            };
            format!(
                "INSERT INTO {table} (sequence, domain, root, event_type, payload, feed_tx, global_position) \
                 SELECT s, {DOMAIN_OF_A}, md5('growth' || a)::uuid, 'Deposited', $3, txid_current(), nextval('{seq}') \
                   FROM generate_series($1, $2 - 1) a CROSS JOIN LATERAL generate_series(0, $4 - 1) s"
            )
        };
        let mut tx = sqlx::Connection::begin(&mut c.pg).await?;
        if table == "angzarr.events" && !via_trigger() {
            sqlx::raw_sql("SET LOCAL session_replication_role = replica")
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(&sql)
            .bind(a)
            .bind(b)
            .bind(payload)
            .bind(PER_AGGREGATE)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        a = b;
    }
    Ok(())
}

/// Loads `n` events into `table` with two loaders in parallel; returns events/s.
async fn bulk_load(url: &str, table: &str, n: i64) -> Result<f64> {
    let aggregates = (n + PER_AGGREGATE - 1) / PER_AGGREGATE;
    let half = aggregates / 2;
    let t0 = Instant::now();
    // Both loaders run in this task: the server does the work, the client only waits.
    let (a, b) = tokio::join!(
        load_range(url, table, 0, half),
        load_range(url, table, half, aggregates)
    );
    a?;
    b?;
    Ok((aggregates * PER_AGGREGATE) as f64 / t0.elapsed().as_secs_f64())
}

/// After the load: VACUUM (ANALYZE) and flush the OS's dirty pages, but no CHECKPOINT. The last
/// checkpoint came before the load, which has since touched (and full-page-logged) every page it
/// wrote, so measuring now shows the steady state of a big store rather than the burst of
/// full-page images any store writes right after a checkpoint.
async fn maintenance(url: &str) -> Result<()> {
    let mut c = Conn::open(url, Sys::Floor).await?;
    sqlx::raw_sql("VACUUM (ANALYZE) angzarr.events")
        .execute(&mut c.pg)
        .await?;
    sqlx::raw_sql("VACUUM (ANALYZE) floor.events")
        .execute(&mut c.pg)
        .await?;
    sqlx::raw_sql("VACUUM (ANALYZE) angzarr_pg.events")
        .execute(&mut c.pg)
        .await?;
    tokio::process::Command::new("sync").status().await?;
    Ok(())
}

/// Whether the big store of W7 is loaded already (W9 reads it; run alone, it loads it).
pub async fn big_store_loaded(cfg: &Config) -> Result<bool> {
    let mut c = Conn::open(&cfg.growth_url, Sys::Floor).await?;
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM angzarr.events WHERE domain = $1)")
            .bind(RARE_DOMAIN)
            .fetch_one(&mut c.pg)
            .await?,
    )
}

/// Loads `growth_n` events into every big-store table (angzarr.events, floor.events unless
/// BENCH_GROWTH_FLOOR=0, angzarr_pg.events unless BENCH_GROWTH_ANGZARR_PG=0), then runs the
/// maintenance; returns a footnote with the load rates.
pub async fn load_big_store(cfg: &Config) -> Result<String> {
    let n = cfg.growth_n;
    // One checkpoint while both stores are empty; the load then full-page-logs every page it
    // writes, so the big store is measured in its steady state (see `maintenance`).
    checkpoint(&cfg.growth_empty_url).await?;
    eprintln!("  W7 loading {n} events into angzarr.events ...");
    let ours_rate = bulk_load(&cfg.growth_url, "angzarr.events", n).await?;
    let mut note = format!(
        "Bulk load of {n} events into angzarr.events {}: {:.0} events/s with 2 loaders",
        if via_trigger() {
            "through the trigger"
        } else {
            "through the floor path (triggers off, the trigger's invariants written explicitly)"
        },
        ours_rate
    );
    if with_floor() {
        eprintln!("  W7 loading {n} events into floor.events ...");
        let floor_rate = bulk_load(&cfg.growth_url, "floor.events", n).await?;
        note += &format!("; the same rows into floor.events: {floor_rate:.0} events/s");
    }
    if with_angzarr_pg() {
        eprintln!("  W7 loading {n} events into angzarr_pg.events ...");
        let rate = bulk_load(&cfg.growth_url, "angzarr_pg.events", n).await?;
        note += &format!("; into angzarr_pg.events (angzarr's backend): {rate:.0} events/s");
    }
    maintenance(&cfg.growth_url).await?;
    Ok(note + ". One aggregate in 100 is in domain bench_rare (W9).")
}

pub async fn growth(cfg: &Config) -> Result<Table> {
    let n = cfg.growth_n;
    let mut t = Table::new(
        "W7",
        &format!(
            "growth: W1 on an empty store vs one holding {n} events, measured in the same rounds"
        ),
        "ms p50 latency",
    );
    t.higher_is_better = false;
    let mut systems = vec![Sys::OursInsert, Sys::OursAppend];
    if with_floor() {
        systems.insert(0, Sys::Floor);
    }
    if with_angzarr_pg() {
        systems.push(Sys::AngzarrPg);
    }
    let batch = Arc::new(Batch::new(1));
    t.footnotes.push(load_big_store(cfg).await?);
    let (mut empty_cfg, mut full_cfg) = (cfg.clone(), cfg.clone());
    empty_cfg.url = cfg.growth_empty_url.clone();
    full_cfg.url = cfg.growth_url.clone();
    for round in 0..cfg.rounds {
        for sys in rotated(&systems, round) {
            let stages = if round % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            for loaded in stages {
                let c = if loaded { &full_cfg } else { &empty_cfg };
                let (s, _) = measure::appends(c, sys, 1, batch.clone(), Target::Distinct).await?;
                eprintln!(
                    "  W7 round {} {:<60} p50 {:.3} ms, {:.0} appends/s, server {:.0} us/event",
                    round + 1,
                    stage_label(sys, loaded, n),
                    s.median_ms(),
                    s.ops_per_s(),
                    s.server_us_per_event()
                );
                t.push_sample(&stage_label(sys, loaded, n), s.median_ms(), &s, true);
            }
        }
    }
    for sys in &systems {
        let full = stage_label(*sys, true, n);
        if let Some(g) = growth_of(&t, *sys) {
            t.note(&full, format!("latency growth {g:.2}x"));
        }
        if let Some(g) = cpu_growth_of(&t, *sys) {
            t.note(&full, format!("server CPU growth {g:.2}x"));
        }
    }
    t.footnotes.push(
        "Both stages are measured in every round, one right after the other, and each growth factor \
         is the median of the per-round ratios (big store / empty store). Latency on a shared \
         2-core machine follows other people's builds (when both cores are busy, each wake-up of \
         the backend waits for a scheduler tick, 4 ms here); server CPU per append moves less, so \
         both factors are given."
            .into(),
    );
    Ok(t)
}

fn stage_label(sys: Sys, loaded: bool, n: i64) -> String {
    format!(
        "{}, {}",
        sys.label(),
        if loaded {
            format!("{n} events")
        } else {
            "empty store".into()
        }
    )
}

fn labels_of(t: &Table, sys: Sys) -> Option<(String, String)> {
    let empty = t
        .lines
        .iter()
        .find(|l| l.label.starts_with(sys.label()) && l.label.ends_with("empty store"))?;
    let full = t
        .lines
        .iter()
        .find(|l| l.label.starts_with(sys.label()) && !l.label.ends_with("empty store"))?;
    Some((empty.label.clone(), full.label.clone()))
}

/// Server CPU per append in the big store / in the empty one, paired by round.
pub fn cpu_growth_of(t: &Table, sys: Sys) -> Option<f64> {
    let (empty, full) = labels_of(t, sys)?;
    t.paired(&full, &empty, |l| &l.server_us, true)
        .map(|p| p.ratio)
}

/// p50 latency in the big store / in the empty one, paired by round.
pub fn growth_of(t: &Table, sys: Sys) -> Option<f64> {
    let (empty, full) = labels_of(t, sys)?;
    t.paired(&full, &empty, |l| &l.values, true)
        .map(|p| p.ratio)
}
