//! Streaming a large aggregate keeps memory bounded. This is the only test in its binary, so
//! the process's peak RSS (VmHWM) is this test's alone.
//!
//! 200,000 events of 256 bytes by default (about 100 MB if they were all held at once);
//! `ANGZARR_TEST_LARGE_EVENTS=1000000` for the full million.

mod common;

use angzarr_store_client::{AggregateId, Append, Expected, NewEvent, ReadStream};
use futures_util::TryStreamExt;
use uuid::Uuid;

const PAYLOAD_BYTES: usize = 256;
const BATCH: usize = 5_000;
const PEAK_RSS_LIMIT_KB: u64 = 64 * 1024;

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} missing from /proc/self/status"))
}

fn payload(sequence: usize) -> Vec<u8> {
    let mut p = vec![(sequence % 251) as u8; PAYLOAD_BYTES];
    p[..8].copy_from_slice(&(sequence as u64).to_le_bytes());
    p
}

#[tokio::test]
async fn streaming_a_large_aggregate_keeps_memory_bounded() {
    let total: usize = std::env::var("ANGZARR_TEST_LARGE_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let store = common::store().await;
    let domain = common::domain("large");
    let root = Uuid::new_v4();

    let started = std::time::Instant::now();
    for start in (0..total).step_by(BATCH) {
        let end = (start + BATCH).min(total);
        let events = (start..end).map(|s| NewEvent::new("Tick", payload(s)));
        let append = Append::new(
            AggregateId::new(&domain, root),
            Expected::Next(start as i64),
        )
        .events(events);
        store.append(store.pool(), &append).await.unwrap();
    }
    eprintln!("appended {total} events in {:.1?}", started.elapsed());
    let rss_before = status_kb("VmRSS:");

    let started = std::time::Instant::now();
    let mut events = store.read_stream(
        store.pool(),
        ReadStream::new(AggregateId::new(&domain, root)),
    );
    let mut count = 0usize;
    let mut bytes = 0usize;
    while let Some(e) = events.try_next().await.unwrap() {
        assert_eq!(e.sequence, count as i64, "gap or reordering at {count}");
        assert_eq!(e.payload, payload(count));
        bytes += e.payload.len();
        count += 1;
    }
    let peak = status_kb("VmHWM:");
    eprintln!(
        "streamed {count} events ({} MB of payload) in {:.1?}; RSS before streaming {} kB, peak RSS (VmHWM) {} kB",
        bytes / (1024 * 1024),
        started.elapsed(),
        rss_before,
        peak
    );
    assert_eq!(count, total);
    assert!(
        peak < PEAK_RSS_LIMIT_KB,
        "peak RSS {peak} kB exceeds {PEAK_RSS_LIMIT_KB} kB"
    );
}
