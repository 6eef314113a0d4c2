//! The systems under test and how each one appends, reads, and reports its head.
//!
//! Every system gets the same events: type `Deposited`, the same ~110-byte JSON document as the
//! payload (bytes for the angzarr-shaped tables, jsonb for Message DB, a serde struct for
//! eventcore). Each client owns one connection for the whole measurement.

use anyhow::{anyhow, bail, Result};
use futures::TryStreamExt;
use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;

use crate::client_ours;
use crate::peer_eventcore as ec;

pub const DOMAIN: &str = "bench";
pub const EVENT_TYPE: &str = "Deposited";
pub const PAYLOAD: &str = r#"{"amount":12345,"currency":"EUR","reference":"bench-0000000000","note":"a payload of about one hundred bytes"}"#;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sys {
    /// Plain INSERT into a twin table without trigger or checks; the writer supplies sequence,
    /// feed_tx and global_position. A duplicate sequence fails on the primary key.
    Floor,
    /// Plain INSERT into angzarr.events; the trigger assigns the sequence, nothing is expected.
    OursInsert,
    /// Plain INSERT naming the sequence the writer expects; the trigger checks it (ZA001).
    OursInsertSeq,
    /// `angzarr.append_events(..., expected_sequence => n)`: the documented API.
    OursAppend,
    /// `append_events` through our Rust client (`angzarr_store_client`), for W8.
    OursClient,
    /// The naive PL/pgSQL trigger store (bench/sql/naive_plpgsql_store.sql), plain INSERT.
    Naive,
    /// The naive store with an explicit (checked) sequence, for the hot-aggregate workload.
    NaiveSeq,
    /// eventcore-postgres 2.1.0 through its Rust API; every append states an expected version.
    EventCore,
    /// Message DB 1.3.1 `write_message` with an expected version; all writers in one category.
    MessageDb,
    /// Message DB with a category per writer, so writers do not share its category lock.
    MessageDbOwnCategory,
    /// angzarr's own PostgreSQL backend (bench/sql/angzarr_pg_store.sql): the writer stamps the
    /// sequence, the primary key refuses a stale one (23505); batches are one multi-row INSERT.
    AngzarrPg,
}

impl Sys {
    pub fn label(self) -> &'static str {
        match self {
            Sys::Floor => "floor (plain INSERT/SELECT, no trigger)",
            Sys::OursInsert => "ours: INSERT, sequence assigned",
            Sys::OursInsertSeq => "ours: INSERT with expected sequence",
            Sys::OursAppend => "ours: append_events(expected_sequence)",
            Sys::OursClient => "ours: angzarr_store_client (Rust client)",
            Sys::Naive => "naive PL/pgSQL trigger: INSERT",
            Sys::NaiveSeq => "naive PL/pgSQL trigger: INSERT with sequence",
            Sys::EventCore => "eventcore-postgres 2.1.0",
            Sys::MessageDb => "Message DB 1.3.1 (one category)",
            Sys::MessageDbOwnCategory => "Message DB 1.3.1 (category per writer)",
            Sys::AngzarrPg => "angzarr PostgreSQL backend (caller-stamped sequence)",
        }
    }

    /// The angzarr-shaped table a system writes to, if any.
    pub fn table(self) -> Option<&'static str> {
        match self {
            Sys::Floor => Some("floor.events"),
            Sys::OursInsert | Sys::OursInsertSeq | Sys::OursAppend | Sys::OursClient => {
                Some("angzarr.events")
            }
            Sys::Naive | Sys::NaiveSeq => Some("naive.events"),
            _ => None,
        }
    }

    pub fn is_messagedb(self) -> bool {
        matches!(self, Sys::MessageDb | Sys::MessageDbOwnCategory)
    }
}

/// What one append attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Appended,
    /// Refused by the store's concurrency check; nothing was written.
    Conflict,
}

/// One aggregate (stream) as a writer sees it.
#[derive(Debug, Clone)]
pub struct Agg {
    pub root: Uuid,
    /// The stream name for the peers: `<category>-<uuid>`.
    pub stream: String,
    /// The next sequence this writer believes the aggregate has (= events it holds).
    pub next: i64,
}

impl Agg {
    pub fn new(category: &str) -> Agg {
        let root = Uuid::new_v4();
        Agg {
            root,
            stream: format!("{category}-{root}"),
            next: 0,
        }
    }
}

/// The same events for every system, built once per batch size.
pub struct Batch {
    pub types: Vec<String>,
    pub payloads: Vec<Vec<u8>>,
    pub json: Vec<String>,
    /// The angzarr backend's INSERT for this many events (one VALUES row per event).
    pub apg_sql: String,
}

impl Batch {
    pub fn new(n: usize) -> Batch {
        Batch {
            types: vec![EVENT_TYPE.to_string(); n],
            payloads: vec![PAYLOAD.as_bytes().to_vec(); n],
            json: vec![PAYLOAD.to_string(); n],
            apg_sql: apg_insert(n),
        }
    }
    pub fn len(&self) -> usize {
        self.types.len()
    }
}

/// A client's connection to one system.
pub struct Conn {
    pub pg: PgConnection,
    /// The server process doing this client's work (for its CPU time).
    pub pid: i32,
    pub ec: Option<ec::Store>,
    pub client: Option<client_ours::Handle>,
}

/// Nanoseconds a single-threaded process (a PostgreSQL backend) has spent on a CPU, user +
/// system, from the scheduler's accounting.
pub fn cpu_ns(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Nanoseconds all CPUs of the machine have been busy (not idle, not waiting for I/O).
pub fn machine_busy_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return 0;
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    let busy: u64 = v
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, x)| x)
        .sum();
    busy * 10_000_000 // USER_HZ = 100
}

/// Nanoseconds all threads of this process have spent on a CPU.
pub fn own_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

impl Conn {
    /// CPU time of this client's server process so far.
    pub fn server_cpu_ns(&self) -> u64 {
        cpu_ns(self.pid as u32)
    }

    pub async fn open(url: &str, sys: Sys) -> Result<Conn> {
        let mut pg = PgConnection::connect(url).await?;
        if sys.is_messagedb() {
            // Message DB's functions name their table and helpers unqualified.
            sqlx::raw_sql("SET search_path = message_store, public")
                .execute(&mut pg)
                .await?;
        }
        let ec = if sys == Sys::EventCore {
            Some(ec::connect(url, 1).await?)
        } else {
            None
        };
        let client = if sys == Sys::OursClient {
            Some(client_ours::connect(url).await?)
        } else {
            None
        };
        // The peers' work happens on their own pooled connection, not on `pg`.
        let pid = match (&ec, &client) {
            (Some(store), _) => ec::backend_pid(store).await?,
            (_, Some(h)) => client_ours::backend_pid(h).await?,
            _ => {
                sqlx::query_scalar("SELECT pg_backend_pid()")
                    .fetch_one(&mut pg)
                    .await?
            }
        };
        Ok(Conn {
            pg,
            pid,
            ec,
            client,
        })
    }

    fn ec(&self) -> Result<&ec::Store> {
        self.ec
            .as_ref()
            .ok_or_else(|| anyhow!("no eventcore store on this connection"))
    }
}

const FLOOR_ONE: &str = "INSERT INTO floor.events (sequence, domain, root, event_type, payload, feed_tx, global_position) \
     VALUES ($1, $2, $3, $4, $5, txid_current(), nextval('floor.events_global_position_seq'))";
const FLOOR_MANY: &str = "INSERT INTO floor.events (sequence, domain, root, event_type, payload, feed_tx, global_position) \
     SELECT $1 + u.n - 1, $2, $3, u.t, u.p, txid_current(), nextval('floor.events_global_position_seq') \
       FROM unnest($4::text[], $5::bytea[]) WITH ORDINALITY AS u(t, p, n)";
const OURS_ONE: &str =
    "INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES ($1, $2, $3, $4)";
const OURS_MANY: &str = "INSERT INTO angzarr.events (domain, root, event_type, payload) \
     SELECT $1, $2, u.t, u.p FROM unnest($3::text[], $4::bytea[]) AS u(t, p)";
const OURS_SEQ_ONE: &str = "INSERT INTO angzarr.events (sequence, domain, root, event_type, payload) VALUES ($1, $2, $3, $4, $5)";
const OURS_SEQ_MANY: &str = "INSERT INTO angzarr.events (sequence, domain, root, event_type, payload) \
     SELECT $1 + u.n - 1, $2, $3, u.t, u.p FROM unnest($4::text[], $5::bytea[]) WITH ORDINALITY AS u(t, p, n)";
const OURS_APPEND: &str = "SELECT first_sequence, last_sequence \
     FROM angzarr.append_events($1, $2, $3::text[], $4::bytea[], expected_sequence => $5)";
const MDB_ONE: &str = "SELECT message_store.write_message($1, $2, $3, $4::text::jsonb, NULL, $5)";
const MDB_MANY: &str = "SELECT count(message_store.write_message(u.id, $1, u.t, u.d::jsonb, NULL, \
       CASE WHEN u.n = 1 THEN $2::bigint END)) \
       FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS u(id, t, d, n)";

/// created_at of angzarr's backend: text, RFC 3339 in UTC, as its writer stamps it.
pub const APG_NOW: &str = r#"to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#;

/// The angzarr backend's append of `n` events as one multi-row INSERT: $1 domain, $2 root (text),
/// then (sequence, event_data) per event. The caller stamps every sequence.
fn apg_insert(n: usize) -> String {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "($1, 'angzarr', $2, ${}, {APG_NOW}, ${})",
                3 + 2 * i,
                4 + 2 * i
            )
        })
        .collect();
    format!(
        "INSERT INTO angzarr_pg.events (domain, edition, root, sequence, created_at, event_data) VALUES {}",
        rows.join(", ")
    )
}

/// The angzarr backend's head of an aggregate (its writers' refresh after a 23505).
const APG_HEAD: &str = "SELECT coalesce(max(sequence) + 1, 0)::bigint FROM angzarr_pg.events \
     WHERE domain = $1 AND edition = 'angzarr' AND root = $2";

fn naive(sql: &str) -> String {
    sql.replace("angzarr.events", "naive.events")
}

/// Maps a store's refusal to `Outcome::Conflict`; anything else is a real error.
fn classify(sys: Sys, r: Result<(), sqlx::Error>) -> Result<Outcome> {
    match r {
        Ok(()) => Ok(Outcome::Appended),
        Err(sqlx::Error::Database(db)) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            let conflict = match sys {
                Sys::Floor | Sys::AngzarrPg => code == "23505",
                Sys::MessageDb | Sys::MessageDbOwnCategory => {
                    code == "P0001" && db.message().starts_with("Wrong expected version")
                }
                _ => code == "ZA001",
            };
            if conflict {
                Ok(Outcome::Conflict)
            } else {
                Err(anyhow!("{}: {} ({code})", sys.label(), db.message()))
            }
        }
        Err(e) => Err(anyhow!("{}: {e}", sys.label())),
    }
}

/// Appends `b` to `a` in one transaction, expecting `a.next` where the system checks.
pub async fn append(sys: Sys, c: &mut Conn, a: &Agg, b: &Batch) -> Result<Outcome> {
    let one = b.len() == 1;
    let pg = &mut c.pg;
    let r = match sys {
        Sys::Floor if one => sqlx::query(FLOOR_ONE)
            .bind(a.next)
            .bind(DOMAIN)
            .bind(a.root)
            .bind(&b.types[0])
            .bind(&b.payloads[0])
            .execute(&mut *pg)
            .await
            .map(drop),
        Sys::Floor => sqlx::query(FLOOR_MANY)
            .bind(a.next)
            .bind(DOMAIN)
            .bind(a.root)
            .bind(&b.types)
            .bind(&b.payloads)
            .execute(&mut *pg)
            .await
            .map(drop),
        Sys::OursInsert | Sys::Naive => {
            let sql = if one { OURS_ONE } else { OURS_MANY };
            let sql = if sys == Sys::Naive {
                naive(sql)
            } else {
                sql.to_string()
            };
            let q = sqlx::query(&sql).bind(DOMAIN).bind(a.root);
            let q = if one {
                q.bind(&b.types[0]).bind(&b.payloads[0])
            } else {
                q.bind(&b.types).bind(&b.payloads)
            };
            q.execute(&mut *pg).await.map(drop)
        }
        Sys::OursInsertSeq | Sys::NaiveSeq => {
            let sql = if one { OURS_SEQ_ONE } else { OURS_SEQ_MANY };
            let sql = if sys == Sys::NaiveSeq {
                naive(sql)
            } else {
                sql.to_string()
            };
            let q = sqlx::query(&sql).bind(a.next).bind(DOMAIN).bind(a.root);
            let q = if one {
                q.bind(&b.types[0]).bind(&b.payloads[0])
            } else {
                q.bind(&b.types).bind(&b.payloads)
            };
            q.execute(&mut *pg).await.map(drop)
        }
        Sys::OursAppend => sqlx::query(OURS_APPEND)
            .bind(DOMAIN)
            .bind(a.root)
            .bind(&b.types)
            .bind(&b.payloads)
            .bind(a.next)
            .fetch_one(&mut *pg)
            .await
            .map(drop),
        Sys::MessageDb | Sys::MessageDbOwnCategory if one => sqlx::query(MDB_ONE)
            .bind(Uuid::new_v4().to_string())
            .bind(&a.stream)
            .bind(&b.types[0])
            .bind(&b.json[0])
            .bind(a.next - 1)
            .fetch_one(&mut *pg)
            .await
            .map(drop),
        Sys::MessageDb | Sys::MessageDbOwnCategory => {
            let ids: Vec<String> = (0..b.len()).map(|_| Uuid::new_v4().to_string()).collect();
            sqlx::query(MDB_MANY)
                .bind(&a.stream)
                .bind(a.next - 1)
                .bind(ids)
                .bind(&b.types)
                .bind(&b.json)
                .fetch_one(&mut *pg)
                .await
                .map(drop)
        }
        Sys::AngzarrPg => {
            let mut q = sqlx::query(&b.apg_sql)
                .bind(DOMAIN)
                .bind(a.root.to_string());
            for (i, p) in b.payloads.iter().enumerate() {
                q = q.bind((a.next + i as i64) as i32).bind(p);
            }
            q.execute(&mut *pg).await.map(drop)
        }
        Sys::EventCore => return ec::append(c.ec()?, &a.stream, a.next, b.len()).await,
        Sys::OursClient => {
            let h = c
                .client
                .as_mut()
                .ok_or_else(|| anyhow!("no client on this connection"))?;
            return client_ours::append(h, DOMAIN, a.root, a.next, b).await;
        }
    };
    classify(sys, r)
}

/// The aggregate's next sequence as the store has it now (a writer's refresh after a conflict).
pub async fn head(sys: Sys, c: &mut Conn, a: &Agg) -> Result<i64> {
    let next: i64 = if sys == Sys::AngzarrPg {
        sqlx::query_scalar(APG_HEAD)
            .bind(DOMAIN)
            .bind(a.root.to_string())
            .fetch_one(&mut c.pg)
            .await?
    } else if let Some(table) = sys.table() {
        let sql = format!(
            "SELECT coalesce(max(sequence) + 1, 0) FROM {table} WHERE domain = $1 AND edition = 'angzarr' AND root = $2"
        );
        sqlx::query_scalar(&sql)
            .bind(DOMAIN)
            .bind(a.root)
            .fetch_one(&mut c.pg)
            .await?
    } else if sys.is_messagedb() {
        sqlx::query_scalar("SELECT coalesce(message_store.stream_version($1), -1) + 1")
            .bind(&a.stream)
            .fetch_one(&mut c.pg)
            .await?
    } else {
        sqlx::query_scalar(
            "SELECT coalesce(max(stream_version), 0) FROM eventcore_events WHERE stream_id = $1",
        )
        .bind(&a.stream)
        .fetch_one(&mut c.pg)
        .await?
    };
    Ok(next)
}

/// (events, gap-free?) of one aggregate: positions are exactly 0..n (1..n for eventcore).
pub async fn gap_free(sys: Sys, c: &mut Conn, a: &Agg) -> Result<(i64, bool)> {
    let (sql, key): (String, String) = if sys == Sys::AngzarrPg {
        (
            "SELECT count(*), count(DISTINCT sequence), coalesce(min(sequence), 0)::bigint, \
                    coalesce(max(sequence), -1)::bigint \
               FROM angzarr_pg.events WHERE domain = 'bench' AND edition = 'angzarr' AND root = $1"
                .into(),
            a.root.to_string(),
        )
    } else if let Some(table) = sys.table() {
        (
            format!(
                "SELECT count(*), count(DISTINCT sequence), coalesce(min(sequence), 0), coalesce(max(sequence), -1) \
                 FROM {table} WHERE domain = 'bench' AND edition = 'angzarr' AND root = $1::uuid"
            ),
            a.root.to_string(),
        )
    } else if sys.is_messagedb() {
        (
            "SELECT count(*), count(DISTINCT position), coalesce(min(position), 0), coalesce(max(position), -1) \
             FROM message_store.messages WHERE stream_name = $1"
                .into(),
            a.stream.clone(),
        )
    } else {
        (
            "SELECT count(*), count(DISTINCT stream_version), coalesce(min(stream_version) - 1, 0), \
                    coalesce(max(stream_version) - 1, -1) FROM eventcore_events WHERE stream_id = $1"
                .into(),
            a.stream.clone(),
        )
    };
    let row = sqlx::query(&sql).bind(key).fetch_one(&mut c.pg).await?;
    let (n, distinct, min, max): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    Ok((n, n == distinct && min == 0 && max == n - 1))
}

/// Loads `n` events into one aggregate through the system's own write path (W5's subject).
pub async fn load(sys: Sys, c: &mut Conn, a: &mut Agg, n: i64) -> Result<()> {
    let payload = PAYLOAD.as_bytes();
    match sys {
        Sys::Floor => {
            sqlx::query(
                "INSERT INTO floor.events (sequence, domain, root, event_type, payload, feed_tx, global_position) \
                 SELECT $1 + g, $2, $3, $4, $5, txid_current(), nextval('floor.events_global_position_seq') \
                   FROM generate_series(0, $6 - 1) g",
            )
            .bind(a.next)
            .bind(DOMAIN)
            .bind(a.root)
            .bind(EVENT_TYPE)
            .bind(payload)
            .bind(n)
            .execute(&mut c.pg)
            .await?;
        }
        Sys::OursInsert
        | Sys::OursInsertSeq
        | Sys::OursAppend
        | Sys::OursClient
        | Sys::Naive
        | Sys::NaiveSeq => {
            let table = sys.table().unwrap_or_default();
            let sql = format!(
                "INSERT INTO {table} (domain, root, event_type, payload) \
                 SELECT $1, $2, $3, $4 FROM generate_series(1, $5)"
            );
            sqlx::query(&sql)
                .bind(DOMAIN)
                .bind(a.root)
                .bind(EVENT_TYPE)
                .bind(payload)
                .bind(n)
                .execute(&mut c.pg)
                .await?;
        }
        Sys::AngzarrPg => {
            sqlx::query(&format!(
                "INSERT INTO angzarr_pg.events (domain, edition, root, sequence, created_at, event_data) \
                 SELECT $1, 'angzarr', $2, $3 + g, {APG_NOW}, $4 FROM generate_series(0, $5 - 1) g"
            ))
            .bind(DOMAIN)
            .bind(a.root.to_string())
            .bind(a.next as i32)
            .bind(payload)
            .bind(n as i32)
            .execute(&mut c.pg)
            .await?;
        }
        Sys::MessageDb | Sys::MessageDbOwnCategory => {
            sqlx::query(
                "SELECT count(message_store.write_message(gen_random_uuid()::text, $1, $2, $3::text::jsonb)) \
                   FROM generate_series(1, $4)",
            )
            .bind(&a.stream)
            .bind(EVENT_TYPE)
            .bind(PAYLOAD)
            .bind(n)
            .fetch_one(&mut c.pg)
            .await?;
        }
        Sys::EventCore => {
            let mut left = n;
            while left > 0 {
                let k = left.min(1000);
                if ec::append(c.ec()?, &a.stream, a.next, k as usize).await? != Outcome::Appended {
                    bail!("eventcore: conflict while loading {}", a.stream);
                }
                a.next += k;
                left -= k;
            }
            return Ok(());
        }
    }
    a.next += n;
    Ok(())
}

/// Reads every event of the aggregate in order with the system's read path; returns the count.
pub async fn read_all(sys: Sys, c: &mut Conn, a: &Agg) -> Result<u64> {
    let sql = match sys {
        Sys::Floor | Sys::Naive | Sys::NaiveSeq => format!(
            "SELECT sequence, event_type, payload, correlation_id, created_at, id, edition, global_position \
               FROM {} WHERE domain = $1 AND edition = 'angzarr' AND root = $2 AND sequence >= 0 \
              ORDER BY sequence",
            sys.table().unwrap_or_default()
        ),
        Sys::OursInsert | Sys::OursInsertSeq | Sys::OursAppend => {
            "SELECT sequence, event_type, payload, correlation_id, created_at, id, edition, global_position \
               FROM angzarr.read_stream($1, $2, from_sequence => 0)"
                .to_string()
        }
        Sys::MessageDb | Sys::MessageDbOwnCategory => {
            let mut n = 0u64;
            let mut rows = sqlx::query("SELECT position, data FROM message_store.get_stream_messages($1, 0, -1)")
                .bind(&a.stream)
                .fetch(&mut c.pg);
            while let Some(row) = rows.try_next().await? {
                let data: &str = row.try_get(1)?;
                n += !data.is_empty() as u64;
            }
            return Ok(n);
        }
        Sys::AngzarrPg => {
            let mut n = 0u64;
            let mut rows = sqlx::query(
                "SELECT sequence, created_at, event_data, correlation_id FROM angzarr_pg.events \
                  WHERE domain = $1 AND edition = 'angzarr' AND root = $2 AND sequence >= 0 ORDER BY sequence",
            )
            .bind(DOMAIN)
            .bind(a.root.to_string())
            .fetch(&mut c.pg);
            while let Some(row) = rows.try_next().await? {
                let payload: &[u8] = row.try_get(2)?;
                n += !payload.is_empty() as u64;
            }
            return Ok(n);
        }
        Sys::EventCore => return ec::read_all(c.ec()?, &a.stream).await,
        Sys::OursClient => {
            let h = c.client.as_mut().ok_or_else(|| anyhow!("no client on this connection"))?;
            return Ok(client_ours::read_all(h, DOMAIN, a.root).await?.0);
        }
    };
    let mut n = 0u64;
    let mut rows = sqlx::query(&sql).bind(DOMAIN).bind(a.root).fetch(&mut c.pg);
    while let Some(row) = rows.try_next().await? {
        let payload: &[u8] = row.try_get(2)?;
        n += !payload.is_empty() as u64;
    }
    Ok(n)
}
