//! W8: what the client side costs. The same `append_events` call (W1 and W4-100 shapes, one
//! client, expected sequence) through pgbench (C/libpq, prepared statements), through sqlx
//! directly, and through our Rust client; then the peak RSS of reading a big aggregate through
//! the client in a process of its own.

use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};

use crate::client_ours;
use crate::measure::{self, Target};
use crate::report::Table;
use crate::systems::{Agg, Conn, Sys, DOMAIN, EVENT_TYPE, PAYLOAD};
use crate::workloads::{checkpoint, payload_hex, rotated, Env};

const PGBENCH: &str = "pgbench (libpq, -M prepared)";

/// One pgbench run of `batch` events per append_events call; returns transactions/s.
async fn pgbench(env: &Env, batch: usize) -> Result<f64> {
    let dir = std::path::Path::new(&env.cfg.out_dir);
    std::fs::create_dir_all(dir)?;
    let script = dir.join(format!("pgbench_append_{batch}.sql"));
    std::fs::write(
        &script,
        format!(
            "\\set seq :seq + {batch}\n\
             SELECT first_sequence FROM angzarr.append_events('{DOMAIN}', :root::uuid, \
             array_fill('{EVENT_TYPE}'::text, ARRAY[{batch}]), array_fill('{}'::bytea, ARRAY[{batch}]), \
             expected_sequence => :seq);\n",
            payload_hex()
        ),
    )?;
    let secs = env.cfg.duration.as_secs_f64().ceil().max(1.0) as u64;
    let out = tokio::process::Command::new(&env.cfg.pgbench)
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            "1",
            "-j",
            "1",
            "-T",
            &secs.to_string(),
            "-f",
        ])
        .arg(&script)
        .args([
            "-D",
            &format!("root={}", uuid::Uuid::new_v4()),
            "-D",
            &format!("seq=-{batch}"),
        ])
        .arg(&env.cfg.url)
        .output()
        .await
        .with_context(|| format!("running {}", env.cfg.pgbench))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pgbench failed: {}{}",
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let tps = stdout
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l["tps = ".len()..].split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| anyhow!("no tps in pgbench output: {stdout}"))?;
    Ok(tps)
}

/// W8-1 and W8-100.
pub async fn client_overhead(env: &Env, batch: usize) -> Result<Table> {
    let unit = if batch == 1 { "appends/s" } else { "events/s" };
    let mut t = Table::new(
        &format!("W8-{batch}"),
        &format!(
            "client overhead: append_events with {batch} event(s), expected sequence, 1 client"
        ),
        unit,
    );
    t.floor = Some(PGBENCH.into());
    #[derive(Clone, Copy, PartialEq)]
    enum Via {
        Pgbench,
        Sqlx,
        Client,
    }
    let label = |v: Via| match v {
        Via::Pgbench => PGBENCH,
        Via::Sqlx => "sqlx 0.8 directly (same SQL)",
        Via::Client => Sys::OursClient.label(),
    };
    let vias = [Via::Pgbench, Via::Sqlx, Via::Client];
    let b = Arc::new(crate::systems::Batch::new(batch));
    checkpoint(&env.cfg.url).await?;
    for round in 0..env.cfg.rounds {
        for via in rotated(&vias, round) {
            if via == Via::Client {
                if let Some(why) = client_ours::unavailable() {
                    t.missing(label(via), why);
                    continue;
                }
            }
            let per_s = match via {
                Via::Pgbench => {
                    let v = pgbench(env, batch).await? * batch as f64;
                    t.push(label(via), v);
                    v
                }
                Via::Sqlx | Via::Client => {
                    let sys = if via == Via::Sqlx {
                        Sys::OursAppend
                    } else {
                        Sys::OursClient
                    };
                    let (s, _) =
                        measure::appends(&env.cfg, sys, 1, b.clone(), Target::Distinct).await?;
                    t.push_sample(label(via), s.events_per_s(), &s, false);
                    s.events_per_s()
                }
            };
            eprintln!(
                "  W8-{batch} round {} {:<48} {:>10.0} {unit}",
                round + 1,
                label(via),
                per_s
            );
        }
    }
    t.footnotes.push(format!(
        "All three run `angzarr.append_events(..., expected_sequence => n)` on one connection. \
         pgbench builds the arrays server-side with array_fill() from constants in its script; \
         sqlx and the client send {batch} type(s) and payload(s) per call. pgbench runs whole \
         seconds (-T {}) without warm-up.",
        env.cfg.duration.as_secs_f64().ceil().max(1.0)
    ));
    Ok(t)
}

/// Peak RSS of reading a `big_n`-event aggregate through the client, in a child process.
pub async fn rss(env: &Env) -> Result<Table> {
    let n = env.cfg.big_n;
    let mut t = Table::new(
        "W8-rss",
        &format!("read one {n}-event aggregate in a fresh process"),
        "MB peak RSS",
    );
    t.higher_is_better = false;
    let mut c = Conn::open(&env.cfg.url, Sys::OursInsert).await?;
    let mut a = Agg::new("bench");
    eprintln!("  W8-rss loading {n} events into one aggregate ...");
    crate::systems::load(Sys::OursInsert, &mut c, &mut a, n).await?;
    let modes: Vec<(&str, &str)> = if client_ours::unavailable().is_none() {
        vec![
            ("client", "ours: angzarr_store_client read_stream (pages)"),
            ("sqlx", "sqlx streaming SELECT * FROM angzarr.read_stream()"),
        ]
    } else {
        t.missing(
            "ours: angzarr_store_client read_stream (pages)",
            client_ours::unavailable().unwrap_or_default(),
        );
        vec![("sqlx", "sqlx streaming SELECT * FROM angzarr.read_stream()")]
    };
    for (mode, label) in modes {
        let exe = std::env::current_exe()?;
        let out = tokio::process::Command::new(exe)
            .args(["read-big", &env.cfg.url, &a.root.to_string(), mode])
            .output()
            .await?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!(
                "read-big {mode} failed: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let v: serde_json::Value = serde_json::from_str(stdout.trim())?;
        let peak_mb = v["peak_kb"].as_f64().unwrap_or(f64::NAN) / 1024.0;
        let events = v["events"].as_u64().unwrap_or(0);
        eprintln!(
            "  W8-rss {label:<56} peak {peak_mb:.1} MB, {events} events in {:.1} s",
            v["secs"].as_f64().unwrap_or(0.0)
        );
        t.push(label, peak_mb);
        t.note(
            label,
            format!(
                "{events} events ({:.0} MB of payload) in {:.1} s; RSS before reading {:.1} MB",
                v["bytes"].as_f64().unwrap_or(0.0) / 1048576.0,
                v["secs"].as_f64().unwrap_or(0.0),
                v["baseline_kb"].as_f64().unwrap_or(f64::NAN) / 1024.0
            ),
        );
        if events != n as u64 {
            t.note(label, format!("READ {events} EVENTS, EXPECTED {n}"));
        }
    }
    t.footnotes.push(format!(
        "Peak RSS is the child process's VmHWM after the read; the payload is {} bytes per event.",
        PAYLOAD.len()
    ));
    Ok(t)
}
