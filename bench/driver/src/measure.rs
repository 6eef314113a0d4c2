//! Timed client loops. Every client opens its connection first, all start together, run an
//! unmeasured warm-up, then count only operations that start and finish inside the window.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::config::Config;
use crate::systems::{self, Agg, Batch, Conn, Outcome, Sys};

/// What one measurement saw.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Successful operations (appends or reads) inside the window.
    pub ops: u64,
    /// Events those operations wrote or read.
    pub events: u64,
    /// Appends refused by the store's concurrency check inside the window.
    pub conflicts: u64,
    pub secs: f64,
    /// Latency of each successful operation, milliseconds.
    pub lat_ms: Vec<f64>,
    /// CPU time of the server processes serving the clients during the window.
    pub server_cpu_ns: u64,
    /// CPU time of this driver process during the window.
    pub client_cpu_ns: u64,
    /// WAL the whole cluster wrote during the window.
    pub wal_bytes: u64,
    /// CPU cores used during the window by everything else on the machine (other people's
    /// builds, PostgreSQL's background processes): how noisy this measurement was.
    pub other_cores: f64,
}

impl Sample {
    pub fn ops_per_s(&self) -> f64 {
        self.ops as f64 / self.secs
    }
    pub fn events_per_s(&self) -> f64 {
        self.events as f64 / self.secs
    }
    pub fn conflict_rate(&self) -> f64 {
        let tries = self.ops + self.conflicts;
        if tries == 0 {
            0.0
        } else {
            self.conflicts as f64 / tries as f64
        }
    }
    pub fn median_ms(&self) -> f64 {
        percentile(&self.lat_ms, 0.5)
    }
    /// Server CPU microseconds per event written or read.
    pub fn server_us_per_event(&self) -> f64 {
        self.server_cpu_ns as f64 / 1e3 / self.events.max(1) as f64
    }
    pub fn client_us_per_event(&self) -> f64 {
        self.client_cpu_ns as f64 / 1e3 / self.events.max(1) as f64
    }
    pub fn wal_per_event(&self) -> f64 {
        self.wal_bytes as f64 / self.events.max(1) as f64
    }
    fn merge(&mut self, o: Sample) {
        self.ops += o.ops;
        self.events += o.events;
        self.conflicts += o.conflicts;
        self.lat_ms.extend(o.lat_ms);
        self.server_cpu_ns += o.server_cpu_ns;
    }
}

/// The q-quantile (0..1) of unsorted values; NaN when empty.
pub fn percentile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let i = ((s.len() - 1) as f64 * q).round() as usize;
    s[i]
}

/// Where the writers write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Each client its own new aggregate.
    Distinct,
    /// All clients one new aggregate, each tracking its own view of the head and refreshing it
    /// after a conflict.
    Hot,
}

/// The measurement window shared by all clients of one measurement.
#[derive(Clone, Copy)]
pub struct Window {
    pub start: Instant,
    pub measure_from: Instant,
    pub end: Instant,
}

impl Window {
    pub fn new(cfg: &Config) -> Window {
        let start = Instant::now() + Duration::from_millis(50);
        let measure_from = start + cfg.warmup;
        Window {
            start,
            measure_from,
            end: measure_from + cfg.duration,
        }
    }
    fn counts(&self, t0: Instant, t1: Instant) -> bool {
        t0 >= self.measure_from && t1 <= self.end
    }
}

/// `clients` writers appending batches of `batch.len()` events as fast as they can. Returns the
/// sample and the aggregates written (so the caller can check them).
pub async fn appends(
    cfg: &Config,
    sys: Sys,
    clients: usize,
    batch: Arc<Batch>,
    target: Target,
) -> Result<(Sample, Vec<Agg>)> {
    let hot = Agg::new("bench");
    let mut tasks = Vec::new();
    let mut conns = Vec::new();
    for i in 0..clients {
        conns.push((i, Conn::open(&cfg.url, sys).await?));
    }
    let window = Window::new(cfg);
    for (i, mut conn) in conns {
        let mut agg = match target {
            Target::Hot => hot.clone(),
            Target::Distinct if sys == Sys::MessageDbOwnCategory => Agg::new(&format!("bench{i}")),
            Target::Distinct => Agg::new("bench"),
        };
        let batch = batch.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(window.start.into()).await;
            let mut s = Sample::default();
            let n = batch.len() as u64;
            let mut cpu0 = None;
            while Instant::now() < window.end {
                if cpu0.is_none() && Instant::now() >= window.measure_from {
                    cpu0 = Some(conn.server_cpu_ns());
                }
                let t0 = Instant::now();
                let outcome = systems::append(sys, &mut conn, &agg, &batch).await?;
                let t1 = Instant::now();
                let counted = window.counts(t0, t1);
                match outcome {
                    Outcome::Appended => {
                        agg.next += n as i64;
                        if counted {
                            s.ops += 1;
                            s.events += n;
                            s.lat_ms.push((t1 - t0).as_secs_f64() * 1e3);
                        }
                    }
                    Outcome::Conflict => {
                        s.conflicts += counted as u64;
                        agg.next = systems::head(sys, &mut conn, &agg).await?;
                    }
                }
            }
            s.server_cpu_ns = conn
                .server_cpu_ns()
                .saturating_sub(cpu0.unwrap_or(u64::MAX));
            anyhow::Ok((s, agg))
        }));
    }
    let meter = Meter::start(&cfg.url, window).await?;
    let mut total = Sample {
        secs: cfg.duration.as_secs_f64(),
        ..Sample::default()
    };
    let mut aggs = Vec::new();
    for t in tasks {
        let (s, agg) = t.await??;
        total.merge(s);
        aggs.push(agg);
    }
    meter.finish(&mut total).await?;
    Ok((total, aggs))
}

/// Cluster-wide WAL and this process's CPU over a window, read from a connection of its own.
pub struct Meter {
    conn: Conn,
    wal0: i64,
    cpu0: u64,
    busy0: u64,
    t0: Instant,
}

impl Meter {
    /// Waits for the window's measured part to begin, then takes the first readings.
    pub async fn start(url: &str, window: Window) -> Result<Meter> {
        let mut conn = Conn::open(url, Sys::Floor).await?;
        tokio::time::sleep_until(window.measure_from.into()).await;
        let wal0 = wal_lsn(&mut conn).await?;
        Ok(Meter {
            conn,
            wal0,
            cpu0: systems::own_cpu_ns(),
            busy0: systems::machine_busy_ns(),
            t0: Instant::now(),
        })
    }

    /// Call after the window has ended and `s.server_cpu_ns` is known.
    pub async fn finish(mut self, s: &mut Sample) -> Result<()> {
        let secs = self.t0.elapsed().as_secs_f64();
        let busy = systems::machine_busy_ns().saturating_sub(self.busy0);
        s.client_cpu_ns = systems::own_cpu_ns().saturating_sub(self.cpu0);
        s.wal_bytes = (wal_lsn(&mut self.conn).await? - self.wal0).max(0) as u64;
        let ours = s.server_cpu_ns + s.client_cpu_ns;
        s.other_cores = (busy.saturating_sub(ours)) as f64 / 1e9 / secs;
        Ok(())
    }
}

async fn wal_lsn(c: &mut Conn) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT (pg_current_wal_lsn() - '0/0')::bigint")
            .fetch_one(&mut c.pg)
            .await?,
    )
}

/// One reader reading the whole aggregate again and again.
pub async fn reads(cfg: &Config, sys: Sys, conn: &mut Conn, agg: &Agg) -> Result<Sample> {
    let window = Window::new(cfg);
    tokio::time::sleep_until(window.start.into()).await;
    let mut s = Sample {
        secs: cfg.duration.as_secs_f64(),
        ..Sample::default()
    };
    // (server CPU, own CPU, machine busy, when) at the start of the measured part.
    let mut start: Option<(u64, u64, u64, Instant)> = None;
    while Instant::now() < window.end {
        if start.is_none() && Instant::now() >= window.measure_from {
            start = Some((
                conn.server_cpu_ns(),
                systems::own_cpu_ns(),
                systems::machine_busy_ns(),
                Instant::now(),
            ));
        }
        let t0 = Instant::now();
        let n = systems::read_all(sys, conn, agg).await?;
        let t1 = Instant::now();
        if window.counts(t0, t1) {
            s.ops += 1;
            s.events += n;
            s.lat_ms.push((t1 - t0).as_secs_f64() * 1e3);
        }
    }
    if let Some((server0, own0, busy0, t)) = start {
        s.server_cpu_ns = conn.server_cpu_ns().saturating_sub(server0);
        s.client_cpu_ns = systems::own_cpu_ns().saturating_sub(own0);
        let busy = systems::machine_busy_ns().saturating_sub(busy0);
        s.other_cores = busy.saturating_sub(s.server_cpu_ns + s.client_cpu_ns) as f64
            / 1e9
            / t.elapsed().as_secs_f64();
    }
    Ok(s)
}
