//! W9: filtered feed reads on W7's big store (10,000,000 events in a full run), where one
//! aggregate in a hundred is in domain `bench_rare` (growth.rs). A reader of that 1% domain, or
//! member 0 of a consumer group of 4, reads pages of 1,000 from a checkpoint; the floor reads the
//! same rows from its twin table with the equivalent keyset query. Besides rows/s, every line
//! shows how many rows the read examined per row it returned, from the transaction's own
//! statistics counters: a read that scans the feed order and filters examines 100 rows per row
//! of a 1% domain, one served by an index about one.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use sqlx::{Connection, Row};

use crate::config::Config;
use crate::growth::{self, RARE_DOMAIN};
use crate::measure::Sample;
use crate::report::Table;
use crate::systems::{self, Conn, Sys};
use crate::workloads::{checkpoint, rotated};

const PAGE: usize = 1000;
/// The consumer group W9c reads as: member 0 of `GROUP`.
const GROUP: i32 = 4;

/// Rows the current transaction has examined in `$1` (a table): heap rows fetched through each
/// of its indexes (counted on the index), through bitmap scans (counted on the table), and read
/// by sequential scans. The counters are the backend's own, before they are flushed at commit.
const EXAMINED: &str =
    "SELECT (pg_stat_get_xact_tuples_fetched(x.r) + pg_stat_get_xact_tuples_returned(x.r) \
         + coalesce((SELECT sum(pg_stat_get_xact_tuples_fetched(i.indexrelid)) \
                       FROM pg_index i WHERE i.indrelid = x.r), 0))::bigint \
       FROM (SELECT $1::regclass::oid AS r) x";

const OURS_DOMAIN: &str = "SELECT feed_tx, global_position, payload \
       FROM angzarr.read_feed($1, $2, 1000, domains => ARRAY['bench_rare'])";
const FLOOR_DOMAIN: &str = "SELECT feed_tx, global_position, payload FROM floor.events \
      WHERE domain = 'bench_rare' AND (feed_tx, global_position) > ($1, $2) \
      ORDER BY feed_tx, global_position LIMIT 1000";
const OURS_GROUP: &str = "SELECT feed_tx, global_position, payload \
       FROM angzarr.read_feed($1, $2, 1000, member => 0, members => 4)";
const FLOOR_GROUP: &str = "SELECT feed_tx, global_position, payload FROM floor.events \
      WHERE angzarr._feed_member(domain, edition, root, 4) = 0 \
        AND (feed_tx, global_position) > ($1, $2) \
      ORDER BY feed_tx, global_position LIMIT 1000";
/// The floor's copy of the group index angzarr.feed_group_index_sql(4) creates on ours.
const FLOOR_GROUP_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS events_feed_group_4_idx ON floor.events \
       (angzarr._feed_member(domain, edition, root, 4), feed_tx, global_position)";
/// Run inside the measured transaction (then rolled back) for the "without the index" line, so
/// both lines are measured in the same rounds on the same store.
const DROP_GROUP_INDEX: &str = "DROP INDEX angzarr.events_feed_group_4_idx";

/// One reader of W9: what it reads, where it starts, and which table's counters it moves.
struct Reader {
    label: String,
    table: &'static str,
    sql: &'static str,
    start: (i64, i64),
    /// SQL run first in the pass's transaction (rolled back afterwards).
    before: Option<&'static str>,
}

/// What one pass (pages from the reader's start until `limit` rows or a short page) did.
struct Pass {
    rows: u64,
    examined: i64,
    elapsed: Duration,
}

async fn pass(c: &mut Conn, r: &Reader, limit: u64) -> Result<Pass> {
    let mut tx = c.pg.begin().await?;
    if let Some(sql) = r.before {
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
    }
    let e0: i64 = sqlx::query_scalar(EXAMINED)
        .bind(r.table)
        .fetch_one(&mut *tx)
        .await?;
    let t0 = Instant::now();
    let (mut tx_pos, mut pos) = r.start;
    let mut rows = 0u64;
    loop {
        // Unprepared, as angzarr_store_client reads the feed: each page is planned for its own
        // arguments. A statement prepared once would get a generic plan after five pages, which
        // knows neither how rare the domain is nor the group size its index was built for.
        let page = sqlx::query(r.sql)
            .persistent(false)
            .bind(tx_pos)
            .bind(pos)
            .fetch_all(&mut *tx)
            .await?;
        for row in &page {
            let payload: &[u8] = row.try_get(2)?;
            if payload.is_empty() {
                bail!("{}: an event without payload", r.label);
            }
            (tx_pos, pos) = (row.try_get(0)?, row.try_get(1)?);
        }
        rows += page.len() as u64;
        if page.len() < PAGE || rows >= limit {
            break;
        }
    }
    let elapsed = t0.elapsed();
    let e1: i64 = sqlx::query_scalar(EXAMINED)
        .bind(r.table)
        .fetch_one(&mut *tx)
        .await?;
    tx.rollback().await?;
    Ok(Pass {
        rows,
        examined: e1 - e0,
        elapsed,
    })
}

/// One measurement: a warm-up pass, then passes until `cfg.duration` has gone by (at least
/// one). Returns the sample (events = rows returned) and rows examined per row returned.
async fn measure(cfg: &Config, c: &mut Conn, r: &Reader) -> Result<(Sample, f64)> {
    let limit = cfg.feed_n.max(1) as u64;
    pass(c, r, limit).await?;
    let (server0, own0, busy0, t) = (
        c.server_cpu_ns(),
        systems::own_cpu_ns(),
        systems::machine_busy_ns(),
        Instant::now(),
    );
    let mut s = Sample::default();
    let (mut examined, mut busy) = (0i64, Duration::ZERO);
    while s.ops == 0 || t.elapsed() < cfg.duration {
        let p = pass(c, r, limit).await?;
        s.ops += 1;
        s.events += p.rows;
        s.lat_ms.push(p.elapsed.as_secs_f64() * 1e3);
        examined += p.examined;
        busy += p.elapsed;
    }
    if s.events == 0 {
        bail!("{}: read no rows (is the big store loaded?)", r.label);
    }
    s.secs = busy.as_secs_f64();
    s.server_cpu_ns = c.server_cpu_ns().saturating_sub(server0);
    s.client_cpu_ns = systems::own_cpu_ns().saturating_sub(own0);
    let machine = systems::machine_busy_ns().saturating_sub(busy0);
    s.other_cores = machine.saturating_sub(s.server_cpu_ns + s.client_cpu_ns) as f64
        / 1e9
        / t.elapsed().as_secs_f64();
    let per_row = examined as f64 / s.events as f64;
    Ok((s, per_row))
}

/// W7's big store, loaded now when W7 did not run in this run.
async fn ensure_big_store(cfg: &Config) -> Result<Option<String>> {
    if growth::big_store_loaded(cfg).await? {
        return Ok(None);
    }
    Ok(Some(growth::load_big_store(cfg).await?))
}

/// The checkpoint halfway through the rare domain's rows of `table`.
async fn middle(c: &mut Conn, table: &str) -> Result<(i64, i64)> {
    let sql = format!(
        "SELECT feed_tx, global_position FROM {table} WHERE domain = $1 \
          ORDER BY feed_tx, global_position \
         OFFSET (SELECT count(*) / 2 FROM {table} WHERE domain = $1) LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(RARE_DOMAIN)
        .fetch_one(&mut c.pg)
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Measures `readers` in interleaved rounds into a table whose floor is `readers[0]`.
async fn run_table(cfg: &Config, mut t: Table, readers: &[Reader]) -> Result<Table> {
    let mut c = Conn::open(&cfg.growth_url, Sys::Floor).await?;
    t.floor = Some(readers[0].label.clone());
    let order: Vec<usize> = (0..readers.len()).collect();
    for round in 0..cfg.rounds {
        for i in rotated(&order, round) {
            let r = &readers[i];
            let (s, per_row) = measure(cfg, &mut c, r).await?;
            eprintln!(
                "  {} round {} {:<56} {:>10.0} rows/s, {:.2} rows examined per row, {} rows per pass",
                t.id,
                round + 1,
                r.label,
                s.events_per_s(),
                per_row,
                s.events / s.ops.max(1)
            );
            t.push_sample(&r.label, s.events_per_s(), &s, false);
            let line = t.line(&r.label);
            line.examined.push(per_row);
            t.note(
                &r.label,
                format!("{} rows per pass", s.events / s.ops.max(1)),
            );
        }
    }
    Ok(t)
}

fn domain_title(cfg: &Config, from_middle: bool) -> String {
    format!(
        "filtered feed read: the 1% domain of a {}-event store from its {}, pages of 1,000 (at most {} rows per pass), 1 reader",
        cfg.growth_n,
        if from_middle { "middle" } else { "start" },
        cfg.feed_n
    )
}

const DOMAIN_FOOTNOTE: &str = "Rows examined per row returned: over each pass's transaction, the \
     sum over the table and each of its indexes of pg_stat_get_xact_tuples_fetched() (heap rows \
     fetched through an index are counted on the index) plus pg_stat_get_xact_tuples_returned() \
     of the table (sequential scans), divided by the rows returned; the median of the rounds. \
     The floor reads floor.events, which has angzarr.events' indexes (LIKE ... INCLUDING INDEXES), \
     with the same filter and keyset, without the visibility horizon.";

/// W9a and W9b: `read_feed(domains => ARRAY['bench_rare'])` vs the floor's keyset query on
/// the domain, from the feed's start or from the middle of the domain's rows.
pub async fn domain_reads(cfg: &Config, from_middle: bool) -> Result<Table> {
    let id = if from_middle { "W9b" } else { "W9a" };
    let mut t = Table::new(id, &domain_title(cfg, from_middle), "rows/s");
    if let Some(note) = ensure_big_store(cfg).await? {
        t.footnotes.push(note);
    }
    checkpoint(&cfg.growth_url).await?;
    let mut c = Conn::open(&cfg.growth_url, Sys::Floor).await?;
    let (floor_start, ours_start) = if from_middle {
        (
            middle(&mut c, "floor.events").await?,
            middle(&mut c, "angzarr.events").await?,
        )
    } else {
        ((0, 0), (0, 0))
    };
    let readers = [
        Reader {
            label: "floor: WHERE domain = ... keyset on (feed_tx, global_position)".into(),
            table: "floor.events",
            sql: FLOOR_DOMAIN,
            start: floor_start,
            before: None,
        },
        Reader {
            label: "ours: read_feed(domains => ARRAY['bench_rare'])".into(),
            table: "angzarr.events",
            sql: OURS_DOMAIN,
            start: ours_start,
            before: None,
        },
    ];
    let mut t = run_table(cfg, t, &readers).await?;
    t.footnotes.push(DOMAIN_FOOTNOTE.into());
    Ok(t)
}

/// W9c: member 0 of a consumer group of 4 reading the unfiltered feed from its start, with the
/// group's index (angzarr.feed_group_index_sql(4)) and without it.
pub async fn group_reads(cfg: &Config) -> Result<Table> {
    let mut t = Table::new(
        "W9c",
        &format!(
            "consumer group: member 0 of {GROUP} reading a {}-event store from the start, pages of 1,000 (at most {} rows per pass), 1 reader",
            cfg.growth_n, cfg.feed_n
        ),
        "rows/s",
    );
    if let Some(note) = ensure_big_store(cfg).await? {
        t.footnotes.push(note);
    }
    let mut c = Conn::open(&cfg.growth_url, Sys::Floor).await?;
    let t0 = Instant::now();
    // The index statement and the ANALYZE that follows it, as a psql user runs them (\gexec).
    let statements: Vec<String> =
        sqlx::query_scalar("SELECT * FROM angzarr.feed_group_index_sql($1)")
            .bind(GROUP)
            .fetch_all(&mut c.pg)
            .await?;
    for statement in &statements {
        sqlx::raw_sql(statement).execute(&mut c.pg).await?;
    }
    let ours_build = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    sqlx::raw_sql(FLOOR_GROUP_INDEX).execute(&mut c.pg).await?;
    sqlx::raw_sql("ANALYZE floor.events")
        .execute(&mut c.pg)
        .await?;
    let floor_build = t0.elapsed().as_secs_f64();
    checkpoint(&cfg.growth_url).await?;
    let readers = [
        Reader {
            label: format!(
                "floor: WHERE _feed_member(..., {GROUP}) = 0 keyset, with the same index"
            ),
            table: "floor.events",
            sql: FLOOR_GROUP,
            start: (0, 0),
            before: None,
        },
        Reader {
            label: format!("ours: read_feed(member => 0, members => {GROUP}), group index"),
            table: "angzarr.events",
            sql: OURS_GROUP,
            start: (0, 0),
            before: None,
        },
        Reader {
            label: format!("ours: read_feed(member => 0, members => {GROUP}), no group index"),
            table: "angzarr.events",
            sql: OURS_GROUP,
            start: (0, 0),
            before: Some(DROP_GROUP_INDEX),
        },
    ];
    let mut t = run_table(cfg, t, &readers).await?;
    let create = statements.join("; ");
    t.footnotes.push(format!(
        "The group index is `{create}` (built in {ours_build:.1} s with its ANALYZE; the floor's copy in {floor_build:.1} s). \
         The line without it drops the index inside the measured transaction and rolls back, so \
         both lines run in the same rounds on the same store. Rows examined: as in W9a."
    ));
    Ok(t)
}
