//! Failing calls must not leak. PostgreSQL reports an error by long-jumping; a Rust frame that
//! still owns heap memory when that happens never frees it, so a backend that keeps hitting the
//! same error (a writer retrying sequence conflicts, a client sending a bad EventBook in a loop)
//! grows until it is killed. Each case repeats one kind of failing call thousands of times in
//! one backend (a server-side loop, one subtransaction per call), after a warm-up run of the
//! same length, and checks that the backend's anonymous memory (RssAnon in
//! /proc/<pid>/status; the tests run on the server's machine, as root) stayed flat.

use angzarr_store_tests::{database_url, ensure_extension, pool, sqlstate};
use sqlx::{Connection, Executor, PgConnection, Row};

/// A backend may grow by this much over a measured run without it counting as a leak: page
/// granularity and allocator slack (a flat backend moves by 0-40 kB). Over [`CALLS`] calls it
/// catches a leak of 13 bytes per call; the leaks this test was written for were 48-290 bytes.
const BOUND_KB: i64 = 256;

/// Calls per run for the cheap cases.
const CALLS: u32 = 20_000;

struct Case {
    /// What fails, and through which path.
    kind: &'static str,
    /// The SQLSTATE every iteration must fail with.
    sqlstate: &'static str,
    /// PL/pgSQL declarations the call uses (e.g. a large value built once).
    declare: &'static str,
    /// One PL/pgSQL statement that fails.
    call: &'static str,
    /// Calls per run; the warm-up run makes as many.
    iterations: u32,
    /// Growth in kB over a measured run that still counts as flat.
    bound_kb: i64,
}

const ROOT: &str = "00000000-0000-0000-0000-00000000000a";

fn cases() -> Vec<Case> {
    let c = |kind, sqlstate, call, iterations| Case {
        kind,
        sqlstate,
        declare: "",
        call,
        iterations,
        bound_kb: BOUND_KB,
    };
    vec![
        c(
            "sequence conflict through INSERT",
            "ZA001",
            "INSERT INTO angzarr.events (domain, root, event_type, payload, sequence) \
             VALUES ('mem', '00000000-0000-0000-0000-00000000000a', 'E', '\\x', 0)",
            CALLS,
        ),
        c(
            "sequence conflict through append_events",
            "ZA001",
            "PERFORM angzarr.append_events('mem', '00000000-0000-0000-0000-00000000000a', \
             ARRAY['E'], ARRAY['\\x'::bytea], expected_sequence => 0)",
            CALLS,
        ),
        c(
            "stale angzarr.expected_sequences through INSERT",
            "ZA001",
            "PERFORM set_config('angzarr.expected_sequences', \
             '{\"mem/00000000-0000-0000-0000-00000000000a\": 0}', true); \
             INSERT INTO angzarr.events (domain, root, event_type, payload) \
             VALUES ('mem', '00000000-0000-0000-0000-00000000000a', 'E', '\\x')",
            CALLS,
        ),
        c(
            "malformed angzarr.expected_sequences",
            "22023",
            "PERFORM set_config('angzarr.expected_sequences', '{nope', true); \
             INSERT INTO angzarr.events (domain, root, event_type, payload) \
             VALUES ('mem', '00000000-0000-0000-0000-00000000000a', 'E', '\\x')",
            CALLS,
        ),
        c(
            "empty domain through the trigger",
            "22023",
            "INSERT INTO angzarr.events (domain, root, event_type, payload) \
             VALUES ('', '00000000-0000-0000-0000-00000000000a', 'E', '\\x')",
            CALLS,
        ),
        c(
            "over-long domain through the trigger",
            "22001",
            "INSERT INTO angzarr.events (domain, root, event_type, payload) \
             VALUES (repeat('d', 65), '00000000-0000-0000-0000-00000000000a', 'E', '\\x')",
            CALLS,
        ),
        c(
            "NULL domain through the trigger",
            "23502",
            "INSERT INTO angzarr.events (domain, root, event_type, payload) \
             VALUES (NULL, '00000000-0000-0000-0000-00000000000a', 'E', '\\x')",
            CALLS,
        ),
        c(
            "over-long event type through the trigger",
            "22001",
            "INSERT INTO angzarr.events (domain, root, event_type, payload) \
             VALUES ('mem', '00000000-0000-0000-0000-00000000000a', repeat('t', 513), '\\x')",
            CALLS,
        ),
        c(
            "bad edition through the trigger",
            "22023",
            "INSERT INTO angzarr.events (domain, edition, root, event_type, payload) \
             VALUES ('mem', 'a/b', '00000000-0000-0000-0000-00000000000a', 'E', '\\x')",
            CALLS,
        ),
        c(
            "_check_domain empty",
            "22023",
            "PERFORM angzarr._check_domain('')",
            CALLS,
        ),
        c(
            "_check_domain over-long",
            "22001",
            "PERFORM angzarr._check_domain(repeat('d', 65))",
            CALLS,
        ),
        c(
            "_check_domain NULL",
            "23502",
            "PERFORM angzarr._check_domain(NULL)",
            CALLS,
        ),
        c(
            "_check_edition with a slash",
            "22023",
            "PERFORM angzarr._check_edition('a/b')",
            CALLS,
        ),
        c(
            "_expect_next_sequence negative",
            "22003",
            "PERFORM angzarr._expect_next_sequence('mem', 'angzarr', \
             '00000000-0000-0000-0000-00000000000a', -1)",
            CALLS,
        ),
        c(
            "_lock_aggregate bad domain",
            "22023",
            "PERFORM angzarr._lock_aggregate('a/b', 'angzarr', '00000000-0000-0000-0000-00000000000a')",
            CALLS,
        ),
        c(
            "_lock_edition with a slash",
            "22023",
            "PERFORM angzarr._lock_edition('a/b')",
            CALLS,
        ),
        c(
            "aggregate_lock_key bad domain",
            "22023",
            "PERFORM angzarr.aggregate_lock_key('a/b', '00000000-0000-0000-0000-00000000000a')",
            CALLS,
        ),
        c(
            "_check_range negative",
            "22023",
            "PERFORM angzarr._check_range(-1, NULL, NULL)",
            CALLS,
        ),
        c(
            "append_event_book with bytes that are not an EventBook",
            "22P03",
            "PERFORM angzarr.append_event_book('\\xdeadbeefdeadbeef')",
            CALLS,
        ),
        c(
            "_decode_event_book with bytes that are not an EventBook",
            "22P03",
            "PERFORM count(*) FROM angzarr._decode_event_book('\\xdeadbeefdeadbeef')",
            CALLS,
        ),
        c(
            "event_book_to_json with bytes that are not an EventBook",
            "22P03",
            "PERFORM angzarr.event_book_to_json('\\xdeadbeefdeadbeef')",
            CALLS,
        ),
        c(
            "_encode_event_book with arrays of different lengths",
            "22023",
            "PERFORM angzarr._encode_event_book('mem', NULL, \
             '00000000-0000-0000-0000-00000000000a', 0, ARRAY[0, 1]::bigint[], ARRAY['E'], \
             ARRAY['\\x'::bytea], ARRAY[now()])",
            CALLS,
        ),
        c(
            "_encode_event_book bad domain",
            "22023",
            "PERFORM angzarr._encode_event_book('a/b', NULL, \
             '00000000-0000-0000-0000-00000000000a', 0, ARRAY[0]::bigint[], ARRAY['E'], \
             ARRAY['\\x'::bytea], ARRAY[now()])",
            CALLS,
        ),
        Case {
            kind: "_encode_event_book bad domain with a 4 MB snapshot_state",
            sqlstate: "22023",
            declare: "big bytea := convert_to(repeat('s', 4194304), 'UTF8');",
            call: "PERFORM angzarr._encode_event_book('a/b', NULL, \
                   '00000000-0000-0000-0000-00000000000a', 0, snapshot_sequence => 0, \
                   snapshot_state => big)",
            iterations: 50,
            // glibc keeps freed multi-MB blocks on the heap, so a flat backend moves by up to
            // two values' worth (measured: 0-8 MB, never growing over 8 runs). A copy leaked
            // per call is 50 x 4 MB = 200 MB.
            bound_kb: 16_384,
        },
    ]
}

/// The backend's anonymous resident memory in kB.
fn rss_anon_kb(pid: i32) -> anyhow::Result<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("RssAnon:"))
        .ok_or_else(|| anyhow::anyhow!("no RssAnon in /proc/{pid}/status"))?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("bad line {line:?}"))?
        .parse()?)
}

/// A DO block that makes `call` fail `iterations` times, each time in its own subtransaction,
/// and raises if any iteration ends otherwise than with `sqlstate`.
fn loop_block(declare: &str, call: &str, sqlstate: &str, iterations: u32) -> String {
    format!(
        "DO $do$
DECLARE
    st text;
    {declare}
BEGIN
    FOR i IN 1..{iterations} LOOP
        BEGIN
            {call};
            st := 'no error';
        EXCEPTION WHEN OTHERS THEN
            st := SQLSTATE;
        END;
        IF st <> '{sqlstate}' THEN
            RAISE EXCEPTION 'iteration %: expected SQLSTATE {sqlstate}, got %', i, st;
        END IF;
    END LOOP;
END
$do$"
    )
}

/// Growth in kB of one backend over `iterations` failing calls, after a warm-up of as many.
/// A run that grows past the bound is measured once more: a leak grows every run, while a
/// one-time step (glibc raising its mmap threshold after the first multi-MB free, so the next
/// such value stays on the heap) does not repeat.
async fn growth_kb(conn: &mut PgConnection, case: &Case) -> anyhow::Result<i64> {
    let pid: i32 = conn
        .fetch_one("SELECT pg_backend_pid()")
        .await?
        .try_get(0)?;
    let block = loop_block(case.declare, case.call, case.sqlstate, case.iterations);
    conn.execute(block.as_str()).await?;
    let mut grown = i64::MAX;
    for _ in 0..2 {
        let before = rss_anon_kb(pid)?;
        conn.execute(block.as_str()).await?;
        grown = grown.min(rss_anon_kb(pid)? - before);
        if grown < case.bound_kb {
            break;
        }
    }
    Ok(grown)
}

#[tokio::test]
async fn failing_calls_do_not_grow_the_backend() -> anyhow::Result<()> {
    let pool = pool(1).await?;
    ensure_extension(&pool).await?;
    // The aggregate the conflict cases collide with: it has sequence 0.
    sqlx::query(
        "INSERT INTO angzarr.events (domain, root, event_type, payload) \
         SELECT 'mem', $1::uuid, 'E', '\\x' \
         WHERE NOT EXISTS (SELECT FROM angzarr.events WHERE domain = 'mem' AND root = $1::uuid)",
    )
    .bind(ROOT)
    .execute(&pool)
    .await?;
    pool.close().await;

    let mut report = Vec::new();
    let mut leaks = Vec::new();
    for case in cases() {
        let mut conn = PgConnection::connect(&database_url()).await?;
        let grown = growth_kb(&mut conn, &case).await?;
        conn.close().await?;
        report.push(format!(
            "{:>8} kB after {:>6} x {} ({})",
            grown, case.iterations, case.kind, case.sqlstate
        ));
        if grown >= case.bound_kb {
            leaks.push(case.kind);
        }
    }
    eprintln!(
        "backend growth per kind of failing call:\n{}",
        report.join("\n")
    );
    assert!(
        leaks.is_empty(),
        "these failing calls grow the backend past their bound ({BOUND_KB} kB unless noted): {leaks:?}\n{}",
        report.join("\n")
    );
    Ok(())
}

/// Waiting for an aggregate lock that another session holds, until lock_timeout ends the wait.
#[tokio::test]
async fn lock_timeouts_do_not_grow_the_backend() -> anyhow::Result<()> {
    let pool = pool(1).await?;
    ensure_extension(&pool).await?;
    pool.close().await;
    let root = "00000000-0000-0000-0000-00000000000b";
    let mut holder = PgConnection::connect(&database_url()).await?;
    holder.execute("BEGIN").await?;
    sqlx::query("SELECT angzarr._lock_aggregate('memlock', 'angzarr', $1::uuid)")
        .bind(root)
        .execute(&mut holder)
        .await?;

    let mut waiter = PgConnection::connect(&database_url()).await?;
    waiter.execute("SET lock_timeout = '1ms'").await?;
    let case = Case {
        kind: "lock_timeout while waiting for an aggregate lock",
        sqlstate: "55P03",
        declare: "",
        call: "PERFORM angzarr.append_events('memlock', '00000000-0000-0000-0000-00000000000b', \
               ARRAY['E'], ARRAY['\\x'::bytea])",
        iterations: 2_000,
        bound_kb: BOUND_KB,
    };
    let grown = growth_kb(&mut waiter, &case).await;
    holder.execute("ROLLBACK").await?;
    let grown = match grown {
        Ok(g) => g,
        Err(e) => anyhow::bail!("{e} (SQLSTATE {:?})", e.downcast_ref().and_then(sqlstate)),
    };
    eprintln!(
        "{grown} kB after {} x {} ({})",
        case.iterations, case.kind, case.sqlstate
    );
    assert!(
        grown < case.bound_kb,
        "{} grows the backend by {grown} kB over {} calls",
        case.kind,
        case.iterations
    );
    Ok(())
}
