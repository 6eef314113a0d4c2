//! The child process of the RSS check: reads one aggregate and prints its peak RSS as JSON.
//! It runs alone so the number is the reader's, not the whole benchmark driver's.

use std::time::Instant;

use anyhow::{anyhow, Result};
use futures::TryStreamExt;
use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;

use crate::client_ours;
use crate::systems::DOMAIN;

/// VmHWM (peak resident set) of this process in kB.
fn peak_kb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(f64::NAN)
}

/// `read-big URL ROOT client|sqlx`
pub async fn child(args: &[String]) -> Result<()> {
    let [url, root, mode] = args else {
        return Err(anyhow!("usage: read-big URL ROOT client|sqlx"));
    };
    let root: Uuid = root.parse()?;
    let baseline = peak_kb();
    let t0 = Instant::now();
    let (events, bytes) = if mode == "client" {
        let mut h = client_ours::connect(url).await?;
        client_ours::read_all(&mut h, DOMAIN, root).await?
    } else {
        let mut c = PgConnection::connect(url).await?;
        let mut rows = sqlx::query("SELECT * FROM angzarr.read_stream($1, $2)")
            .bind(DOMAIN)
            .bind(root)
            .fetch(&mut c);
        let (mut n, mut b) = (0u64, 0u64);
        while let Some(r) = rows.try_next().await? {
            let p: &[u8] = r.try_get("payload")?;
            n += 1;
            b += p.len() as u64;
        }
        (n, b)
    };
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"events": events, "bytes": bytes, "secs": secs, "baseline_kb": baseline, "peak_kb": peak_kb()})
    );
    Ok(())
}
