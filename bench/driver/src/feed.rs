//! W6: reading the global feed, and how far a tailing reader lags behind eight writers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures::TryStreamExt;
use sqlx::Row;

use crate::config::Config;
use crate::measure::{self, percentile, Sample, Target, Window};
use crate::peer_eventcore as ec;
use crate::systems::{self, Batch, Conn, Sys};

/// How long a caught-up tailer waits before polling again.
pub const POLL_MS: u64 = 2;
const PAGE: i64 = 1000;

pub fn label(sys: Sys) -> &'static str {
    match sys {
        Sys::Floor => "floor: keyset on (feed_tx, global_position)",
        Sys::EventCore => "eventcore-postgres: read_events(all)",
        Sys::MessageDb => "Message DB: get_category_messages",
        _ => "ours: angzarr.read_feed()",
    }
}

pub fn tail_label(sys: Sys) -> &'static str {
    match sys {
        Sys::Floor => "floor: keyset tail (no horizon)",
        Sys::MessageDb => "Message DB: category tail",
        _ => "ours: read_feed() tail",
    }
}

/// Where a reader is in the feed.
#[derive(Clone, Copy, Debug, Default)]
struct Cursor {
    tx: i64,
    pos: i64,
    uuid: Option<uuid::Uuid>,
}

const OURS_PAGE: &str = "SELECT feed_tx, global_position, payload, \
       (extract(epoch FROM clock_timestamp() - created_at) * 1000)::float8 FROM angzarr.read_feed($1, $2, $3)";
const FLOOR_PAGE: &str = "SELECT feed_tx, global_position, payload, \
       (extract(epoch FROM clock_timestamp() - created_at) * 1000)::float8 FROM floor.events \
      WHERE (feed_tx, global_position) > ($1, $2) ORDER BY feed_tx, global_position LIMIT $3";
const MDB_PAGE: &str = "SELECT 0::bigint, global_position, data, \
       (extract(epoch FROM (clock_timestamp() AT TIME ZONE 'UTC') - time) * 1000)::float8 \
       FROM message_store.get_category_messages('bench', $2, $3)";

/// Reads one page after `cur`, moving it; returns the rows' lags in ms (empty for eventcore,
/// which returns no timestamps: its count is returned as NaN lags).
async fn page(sys: Sys, c: &mut Conn, cur: &mut Cursor) -> Result<Vec<f64>> {
    if sys == Sys::EventCore {
        let store =
            c.ec.as_ref()
                .ok_or_else(|| anyhow::anyhow!("no eventcore store"))?;
        let (n, last) = ec::feed_page(store, cur.uuid, PAGE as usize).await?;
        cur.uuid = last;
        return Ok(vec![f64::NAN; n as usize]);
    }
    let sql = match sys {
        Sys::Floor => FLOOR_PAGE,
        Sys::MessageDb => MDB_PAGE,
        _ => OURS_PAGE,
    };
    let (a, b) = if sys == Sys::MessageDb {
        (0, cur.pos + 1)
    } else {
        (cur.tx, cur.pos)
    };
    let mut rows = sqlx::query(sql).bind(a).bind(b).bind(PAGE).fetch(&mut c.pg);
    let mut lags = Vec::new();
    while let Some(row) = rows.try_next().await? {
        cur.tx = row.try_get(0)?;
        cur.pos = row.try_get(1)?;
        lags.push(row.try_get::<f64, _>(3)?);
    }
    Ok(lags)
}

/// W6a: passes over the first `feed_n` events of the feed for the measurement window. Returns
/// the sample and the number of events one pass reads.
pub async fn read_throughput(cfg: &Config, sys: Sys) -> Result<(Sample, u64)> {
    let mut c = Conn::open(&cfg.url, sys).await?;
    let window = Window::new(cfg);
    tokio::time::sleep_until(window.start.into()).await;
    let mut s = Sample {
        secs: cfg.duration.as_secs_f64(),
        ..Sample::default()
    };
    let mut cur = Cursor::default();
    let mut in_pass = 0u64;
    let mut per_pass = 0u64;
    let mut start: Option<(u64, u64, u64, Instant)> = None;
    while Instant::now() < window.end {
        if start.is_none() && Instant::now() >= window.measure_from {
            start = Some((
                c.server_cpu_ns(),
                systems::own_cpu_ns(),
                systems::machine_busy_ns(),
                Instant::now(),
            ));
        }
        let t0 = Instant::now();
        let n = page(sys, &mut c, &mut cur).await?.len() as u64;
        let t1 = Instant::now();
        if t0 >= window.measure_from && t1 <= window.end {
            s.ops += 1;
            s.events += n;
        }
        in_pass += n;
        if n == 0 || in_pass >= cfg.feed_n as u64 {
            per_pass = per_pass.max(in_pass);
            cur = Cursor::default();
            in_pass = 0;
        }
    }
    if let Some((server0, own0, busy0, t)) = start {
        s.server_cpu_ns = c.server_cpu_ns().saturating_sub(server0);
        s.client_cpu_ns = systems::own_cpu_ns().saturating_sub(own0);
        let busy = systems::machine_busy_ns().saturating_sub(busy0);
        s.other_cores = busy.saturating_sub(s.server_cpu_ns + s.client_cpu_ns) as f64
            / 1e9
            / t.elapsed().as_secs_f64();
    }
    Ok((s, per_pass.max(in_pass)))
}

pub struct TailResult {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub seen: usize,
    pub appends_per_s: f64,
}

/// The current end of the feed, so the tailer starts there.
async fn end_of_feed(sys: Sys, c: &mut Conn) -> Result<Cursor> {
    let sql = match sys {
        Sys::Floor => "SELECT feed_tx, global_position FROM floor.events ORDER BY feed_tx DESC, global_position DESC LIMIT 1",
        Sys::MessageDb => "SELECT 0::bigint, max(global_position) FROM message_store.messages",
        _ => "SELECT feed_tx, global_position FROM angzarr.events ORDER BY feed_tx DESC, global_position DESC LIMIT 1",
    };
    let row = sqlx::query(sql).fetch_optional(&mut c.pg).await?;
    Ok(match row {
        Some(r) => Cursor {
            tx: r.try_get::<Option<i64>, _>(0)?.unwrap_or(0),
            pos: r.try_get::<Option<i64>, _>(1)?.unwrap_or(0),
            uuid: None,
        },
        None => Cursor::default(),
    })
}

/// W6b: eight writers of `sys` (W2's load) and one tailer; the lag of every event it sees.
pub async fn tail_lag(cfg: &Config, sys: Sys) -> Result<TailResult> {
    let writer_sys = match sys {
        Sys::Floor | Sys::MessageDb => sys,
        _ => Sys::OursAppend,
    };
    let mut c = Conn::open(&cfg.url, sys).await?;
    let mut cur = end_of_feed(sys, &mut c).await?;
    let done = AtomicBool::new(false);
    // Writers and tailer are driven from this one task; the writers' clients are tasks of their own.
    let writers = async {
        let r = measure::appends(
            cfg,
            writer_sys,
            8,
            Arc::new(Batch::new(1)),
            Target::Distinct,
        )
        .await;
        done.store(true, Ordering::SeqCst);
        r
    };
    let tailer = async {
        let mut lags = Vec::new();
        let mut drained_empty = 0;
        loop {
            let got = page(sys, &mut c, &mut cur).await?;
            let empty = got.is_empty();
            lags.extend(got);
            if done.load(Ordering::SeqCst) {
                // Drain: the last writers' rows become readable once they have all committed.
                drained_empty += empty as u32;
                if drained_empty >= 3 {
                    break;
                }
            }
            if empty {
                tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
            }
        }
        anyhow::Ok(lags)
    };
    let (s, lags) = tokio::join!(writers, tailer);
    let (s, _) = s?;
    let lags = lags?;
    Ok(TailResult {
        p50: percentile(&lags, 0.5),
        p99: percentile(&lags, 0.99),
        max: percentile(&lags, 1.0),
        seen: lags.len(),
        appends_per_s: s.ops_per_s(),
    })
}
