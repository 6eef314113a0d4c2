//! W5b: loading an aggregate from its latest snapshot plus the 50 events after it, in one
//! query: `angzarr.load_aggregate()` for us; for the floor the same rows from a plain snapshot
//! table and the floor's events table in one UNION ALL.
//!
//! When the installed extension has no snapshot API, "ours" is measured as the equivalent SQL
//! (a plain snapshot table plus `angzarr.read_stream()`), and the results say so.

use std::time::Instant;

use anyhow::Result;
use futures::TryStreamExt;
use sqlx::Row;

use crate::config::Config;
use crate::measure::{Sample, Window};
use crate::systems::{self, Agg, Conn, Sys, DOMAIN};

pub const FLOOR_LABEL: &str = "floor: snapshot row + the 50 events after it, one statement";
const EVENTS_BEFORE: i64 = 1000;
const EVENTS_AFTER: i64 = 50;
const STATE_BYTES: usize = 1024;

/// How our side loads an aggregate.
#[derive(Debug, Clone)]
pub enum Ours {
    /// `angzarr.put_snapshot()` and `angzarr.load_aggregate()` are installed.
    Native,
    /// No snapshot API installed: the equivalent SQL, stated in the results.
    Equivalent,
}

/// The floor's snapshot table: a copy of angzarr.snapshots when there is one.
const FLOOR_SNAPSHOTS: &str = "DO $$ BEGIN
    IF to_regclass('angzarr.snapshots') IS NOT NULL THEN
        CREATE TABLE IF NOT EXISTS floor.snapshots (LIKE angzarr.snapshots INCLUDING DEFAULTS INCLUDING INDEXES);
    ELSE
        CREATE TABLE IF NOT EXISTS floor.snapshots (
            domain text COLLATE \"C\" NOT NULL, edition text COLLATE \"C\" NOT NULL DEFAULT 'angzarr',
            root uuid NOT NULL, sequence bigint NOT NULL, state bytea NOT NULL, state_type text,
            created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (domain, edition, root, sequence));
    END IF;
    CREATE TABLE IF NOT EXISTS floor.snapshots_ours_equivalent (LIKE floor.snapshots INCLUDING DEFAULTS INCLUDING INDEXES);
END $$";

/// The same shape as load_aggregate: the newest snapshot once, then the events after it.
const FLOOR_LOAD: &str = "WITH snap AS (SELECT s.sequence, s.state_type, s.state FROM floor.snapshots s \
       WHERE s.domain = $1 AND s.edition = 'angzarr' AND s.root = $2 ORDER BY s.sequence DESC LIMIT 1) \
     SELECT 'snapshot'::text AS kind, sequence, state_type AS type, state AS data FROM snap \
     UNION ALL \
     (SELECT 'event', e.sequence, e.event_type, e.payload FROM floor.events e \
       WHERE e.domain = $1 AND e.edition = 'angzarr' AND e.root = $2 \
         AND e.sequence > coalesce((SELECT sequence FROM snap), -1) \
       ORDER BY e.sequence)";

const OURS_LOAD: &str = "SELECT kind, sequence, type, data FROM angzarr.load_aggregate($1, $2)";

const EQUIVALENT_LOAD: &str = "(SELECT 'snapshot'::text AS kind, s.sequence, s.state_type AS type, s.state AS data \
       FROM floor.snapshots_ours_equivalent s WHERE s.domain = $1 AND s.edition = 'angzarr' AND s.root = $2 \
      ORDER BY s.sequence DESC LIMIT 1) \
     UNION ALL \
     (SELECT 'event', e.sequence, e.event_type, e.payload FROM angzarr.read_stream($1, $2, from_sequence => \
         coalesce((SELECT max(s.sequence) FROM floor.snapshots_ours_equivalent s \
                    WHERE s.domain = $1 AND s.edition = 'angzarr' AND s.root = $2), -1) + 1) e)";

impl Ours {
    pub async fn detect(url: &str) -> Result<Ours> {
        let mut c = Conn::open(url, Sys::Floor).await?;
        let found: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT p.proname) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
              WHERE n.nspname = 'angzarr' AND p.proname IN ('load_aggregate', 'put_snapshot')",
        )
        .fetch_one(&mut c.pg)
        .await?;
        Ok(if found == 2 {
            Ours::Native
        } else {
            Ours::Equivalent
        })
    }

    pub fn label(&self) -> &'static str {
        match self {
            Ours::Native => "ours: angzarr.load_aggregate()",
            Ours::Equivalent => "ours (equivalent SQL): snapshot row + read_stream() after it",
        }
    }

    pub fn describe(&self) -> String {
        let shape = format!(
            "The aggregate holds {} events; its snapshot ({STATE_BYTES} bytes) covers the first {EVENTS_BEFORE}, \
             so a load returns 1 snapshot and {EVENTS_AFTER} events.",
            EVENTS_BEFORE + EVENTS_AFTER
        );
        match self {
            Ours::Native => format!(
                "Ours: snapshot stored with angzarr.put_snapshot(), loaded with angzarr.load_aggregate(). \
                 The floor reads the same rows from floor.snapshots (a copy of angzarr.snapshots' \
                 definition) and floor.events in one statement. {shape}"
            ),
            Ours::Equivalent => format!(
                "The extension had no snapshot API installed at bench time, so ours is the equivalent \
                 SQL: the snapshot row from a plain table, then angzarr.read_stream() after its \
                 sequence, in one statement. {shape}"
            ),
        }
    }
}

/// One side of W5b with its aggregate and snapshot in place.
pub struct Subject {
    pub label: String,
    conn: Conn,
    agg: Agg,
    sql: &'static str,
}

impl Subject {
    pub async fn prepare(url: &str, ours: Option<&Ours>) -> Result<Subject> {
        let sys = if ours.is_some() {
            Sys::OursInsert
        } else {
            Sys::Floor
        };
        let mut conn = Conn::open(url, sys).await?;
        sqlx::raw_sql(FLOOR_SNAPSHOTS).execute(&mut conn.pg).await?;
        let mut agg = Agg::new("bench");
        systems::load(sys, &mut conn, &mut agg, EVENTS_BEFORE).await?;
        let state = vec![7u8; STATE_BYTES];
        let (sql, put) = match ours {
            Some(Ours::Native) => (OURS_LOAD, "SELECT angzarr.put_snapshot($1, $2, $3, $4)"),
            Some(Ours::Equivalent) => (
                EQUIVALENT_LOAD,
                "INSERT INTO floor.snapshots_ours_equivalent (domain, root, sequence, state) VALUES ($1, $2, $3, $4)",
            ),
            None => (FLOOR_LOAD, "INSERT INTO floor.snapshots (domain, root, sequence, state) VALUES ($1, $2, $3, $4)"),
        };
        sqlx::query(put)
            .bind(DOMAIN)
            .bind(agg.root)
            .bind(EVENTS_BEFORE - 1)
            .bind(state)
            .execute(&mut conn.pg)
            .await?;
        systems::load(sys, &mut conn, &mut agg, EVENTS_AFTER).await?;
        let label = match ours {
            Some(o) => o.label().to_string(),
            None => FLOOR_LABEL.to_string(),
        };
        Ok(Subject {
            label,
            conn,
            agg,
            sql,
        })
    }

    /// One load; returns the events after the snapshot, checking the snapshot came first.
    async fn load_once(&mut self) -> Result<u64> {
        let mut rows = sqlx::query(self.sql)
            .bind(DOMAIN)
            .bind(self.agg.root)
            .fetch(&mut self.conn.pg);
        let mut events = 0u64;
        let mut first = true;
        while let Some(r) = rows.try_next().await? {
            let kind: &str = r.try_get(0)?;
            let data: &[u8] = r.try_get(3)?;
            if first && (kind != "snapshot" || data.len() != STATE_BYTES) {
                anyhow::bail!(
                    "{}: first row is {kind} of {} bytes, expected the snapshot",
                    self.label,
                    data.len()
                );
            }
            events += (!first && kind == "event") as u64;
            first = false;
        }
        Ok(events)
    }

    pub async fn measure(&mut self, cfg: &Config) -> Result<Sample> {
        let window = Window::new(cfg);
        tokio::time::sleep_until(window.start.into()).await;
        let mut s = Sample {
            secs: cfg.duration.as_secs_f64(),
            ..Sample::default()
        };
        let mut start: Option<(u64, u64, u64, Instant)> = None;
        while Instant::now() < window.end {
            if start.is_none() && Instant::now() >= window.measure_from {
                start = Some((
                    self.conn.server_cpu_ns(),
                    systems::own_cpu_ns(),
                    systems::machine_busy_ns(),
                    Instant::now(),
                ));
            }
            let t0 = Instant::now();
            let n = self.load_once().await?;
            let t1 = Instant::now();
            if n != EVENTS_AFTER as u64 {
                anyhow::bail!(
                    "{}: loaded {n} events after the snapshot, expected {EVENTS_AFTER}",
                    self.label
                );
            }
            if t0 >= window.measure_from && t1 <= window.end {
                s.ops += 1;
                s.events += n;
                s.lat_ms.push((t1 - t0).as_secs_f64() * 1e3);
            }
        }
        if let Some((server0, own0, busy0, t)) = start {
            s.server_cpu_ns = self.conn.server_cpu_ns().saturating_sub(server0);
            s.client_cpu_ns = systems::own_cpu_ns().saturating_sub(own0);
            let busy = systems::machine_busy_ns().saturating_sub(busy0);
            s.other_cores = busy.saturating_sub(s.server_cpu_ns + s.client_cpu_ns) as f64
                / 1e9
                / t.elapsed().as_secs_f64();
        }
        Ok(s)
    }
}
