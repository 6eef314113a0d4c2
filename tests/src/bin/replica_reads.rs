//! The Rust client against a hot standby (`scripts/test_replica.sh` sets up the two clusters):
//!
//! - every read the store offers (streams, aggregates with snapshots, correlation, discovery,
//!   the feed and its horizon, checkpoints) answers on the standby exactly as on the primary;
//! - a feed tail on a store connected to the standby alone polls (a standby cannot LISTEN) and
//!   still delivers each new event;
//! - a projection runner whose store reads the feed from the standby (`with_read_url`) and
//!   writes its read model and checkpoint to the primary applies every event exactly once;
//! - a read that must see the caller's own write goes to the primary (`store.pool()`).
//!
//!   replica_reads --primary postgres://...:56150/replica --standby postgres://...:56151/replica

use std::time::{Duration, Instant};

use angzarr_store_client::{
    handler_fn, AggregateId, Append, EventStore, Expected, FeedQuery, NewEvent, PutSnapshot,
    ReadStream, Snapshots,
};
use anyhow::{anyhow, bail, ensure, Result};
use futures::TryStreamExt;
use uuid::Uuid;

fn arg(name: &str) -> Result<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .ok_or_else(|| anyhow!("{name} URL is required"))
}

/// Waits until the standby has replayed everything the primary has written so far.
async fn caught_up(primary: &EventStore, standby: &EventStore) -> Result<()> {
    let lsn: String = sqlx::query_scalar("SELECT pg_current_wal_insert_lsn()::text")
        .fetch_one(primary.pool())
        .await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done: bool = sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn")
            .bind(&lsn)
            .fetch_one(standby.pool())
            .await?;
        if done {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "the standby did not replay {lsn} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn append(store: &EventStore, aggregate: &AggregateId, n: usize, tag: &str) -> Result<()> {
    let events = (0..n).map(|i| NewEvent::new(format!("{tag}{i}"), vec![i as u8]));
    store
        .append(
            store.pool(),
            &Append::new(aggregate.clone(), Expected::Any)
                .correlation_id(format!("corr-{tag}"))
                .events(events),
        )
        .await?;
    Ok(())
}

/// Every read, on one store's pool, as comparable text.
async fn reads(store: &EventStore, aggregate: &AggregateId, tag: &str) -> Result<Vec<String>> {
    let db = store.pool();
    let stream: Vec<_> = store
        .read_stream(db, ReadStream::new(aggregate.clone()))
        .try_collect()
        .await?;
    let loaded = store.load_aggregate(db, aggregate, Snapshots::Use).await?;
    let snapshot = store.get_snapshot(db, aggregate, None).await?;
    let correlated = store.read_correlation(db, &format!("corr-{tag}")).await?;
    let domains = store.list_domains(db).await?;
    let next = store.next_sequence(db, aggregate).await?;
    let as_of = store.read_as_of_sequence(db, aggregate, 2).await?;
    let feed = store.read_feed(db, &FeedQuery::new(), 10_000).await?;
    let position = store.get_feed_position(db, "replica-test").await?;
    Ok(vec![
        format!(
            "stream {:?}",
            stream
                .iter()
                .map(|e| (e.sequence, &e.event_type))
                .collect::<Vec<_>>()
        ),
        format!(
            "load snapshot {:?} events {:?}",
            loaded.snapshot.as_ref().map(|s| s.sequence),
            loaded.events.iter().map(|e| e.sequence).collect::<Vec<_>>()
        ),
        format!("snapshot {:?}", snapshot.map(|s| (s.sequence, s.state))),
        format!(
            "correlation {:?}",
            correlated
                .iter()
                .map(|e| (e.sequence, &e.event_type))
                .collect::<Vec<_>>()
        ),
        format!(
            "domains contain {}: {}",
            aggregate.domain(),
            domains.iter().any(|d| d == aggregate.domain())
        ),
        format!("next sequence {next}"),
        format!("as of 2: {}", as_of.len()),
        format!(
            "feed {:?}",
            feed.iter().map(|e| e.checkpoint).collect::<Vec<_>>()
        ),
        format!("checkpoint {:?}", position.checkpoint),
    ])
}

#[tokio::main]
async fn main() -> Result<()> {
    let primary_url = arg("--primary")?;
    let standby_url = arg("--standby")?;
    let primary = EventStore::connect(&primary_url).await?;
    let standby = EventStore::builder()
        .with_feed_poll_interval(Duration::from_millis(100))
        .connect(&standby_url)
        .await?;
    ensure!(
        standby.is_standby(standby.pool()).await?,
        "{standby_url} is not a hot standby"
    );
    ensure!(
        !primary.is_standby(primary.pool()).await?,
        "{primary_url} is a standby"
    );

    // 1. Every read answers on the standby as on the primary.
    let tag = Uuid::new_v4().simple().to_string();
    let aggregate = AggregateId::new(format!("replica_{tag}"), Uuid::new_v4());
    append(&primary, &aggregate, 5, &tag).await?;
    primary
        .put_snapshot(
            primary.pool(),
            &PutSnapshot::new(aggregate.clone(), 2, b"state".to_vec()),
        )
        .await?;
    let _ = primary
        .save_feed_position(
            primary.pool(),
            "replica-test",
            angzarr_store_client::Checkpoint {
                feed_tx: 1,
                global_position: 1,
            },
        )
        .await?;
    caught_up(&primary, &standby).await?;
    let on_primary = reads(&primary, &aggregate, &tag).await?;
    let on_standby = reads(&standby, &aggregate, &tag).await?;
    for (p, s) in on_primary.iter().zip(&on_standby) {
        ensure!(
            p == s,
            "the standby answers differently:\n  primary: {p}\n  standby: {s}"
        );
    }
    println!(
        "reads: {} kinds answer on the standby as on the primary",
        on_standby.len()
    );

    // 2. A feed tail on the standby alone: no LISTEN there, it polls and still delivers.
    let feed_domain = format!("replica_tail_{tag}");
    let start = standby.feed_horizon(standby.pool()).await?;
    let mut tail = standby.tail_feed(FeedQuery::new().after(start).domains([feed_domain.clone()]));
    let (sender, mut delivered) = tokio::sync::mpsc::unbounded_channel();
    let tailing = tokio::spawn(async move {
        while let Some(item) = tail.try_next().await? {
            if sender.send(item.event.event_type).is_err() {
                break;
            }
        }
        anyhow::Ok(())
    });
    // Let the tail find the feed empty and settle into waiting, then write.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let tail_aggregate = AggregateId::new(&feed_domain, Uuid::new_v4());
    let started = Instant::now();
    append(&primary, &tail_aggregate, 3, "tail").await?;
    let mut got = Vec::new();
    while got.len() < 3 {
        let item = tokio::time::timeout(Duration::from_secs(10), delivered.recv())
            .await
            .map_err(|_| {
                anyhow!(
                    "the standby's feed tail delivered {} of 3 events in 10 s",
                    got.len()
                )
            })?
            .ok_or_else(|| anyhow!("the feed tail ended"))?;
        got.push(item);
    }
    tailing.abort();
    ensure!(
        got == ["tail0", "tail1", "tail2"],
        "tail on the standby gave {got:?}"
    );
    println!(
        "tail on the standby (polling every 100 ms): 3 events {:?} after the append",
        started.elapsed()
    );

    // 3. A projection that reads the feed from the standby and writes to the primary.
    let split = EventStore::builder()
        .with_feed_poll_interval(Duration::from_millis(100))
        .with_read_url(&standby_url)
        .connect(&primary_url)
        .await?;
    ensure!(
        split.is_standby(split.read_pool()).await?,
        "the read pool is not on the standby"
    );
    let table = format!("replica_seen_{tag}");
    sqlx::query(&format!(
        "CREATE TABLE {table} (global_position bigint NOT NULL, event_type text NOT NULL)"
    ))
    .execute(split.pool())
    .await?;
    let projected_domain = format!("replica_proj_{tag}");
    let runner = split.projection(
        format!("replica-{tag}"),
        FeedQuery::new().domains([projected_domain.clone()]),
    );
    let insert = format!("INSERT INTO {table} VALUES ($1, $2)");
    let handler = handler_fn(move |item, tx| {
        let insert = insert.clone();
        Box::pin(async move {
            sqlx::query(&insert)
                .bind(item.checkpoint.global_position)
                .bind(&item.event.event_type)
                .execute(&mut *tx)
                .await?;
            Ok(())
        })
    });
    let running = tokio::spawn(runner.run_until(handler, std::future::pending()));
    let mut expected = 0i64;
    for round in 0..10 {
        let aggregate = AggregateId::new(&projected_domain, Uuid::new_v4());
        append(&split, &aggregate, 1 + round % 3, "p").await?;
        expected += 1 + (round % 3) as i64;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (rows, distinct): (i64, i64) = sqlx::query_as(&format!(
            "SELECT count(*), count(DISTINCT global_position) FROM {table}"
        ))
        .fetch_one(split.pool())
        .await?;
        ensure!(
            rows == distinct,
            "the projection applied an event twice ({rows} rows, {distinct} events)"
        );
        if rows == expected {
            break;
        }
        if running.is_finished() {
            bail!("the projection runner stopped: {:?}", running.await?);
        }
        ensure!(
            Instant::now() < deadline,
            "the projection applied {rows} of {expected} events in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.abort();
    println!("projection reading the standby, writing the primary: {expected} events, each once");

    // 4. Read-your-writes: the primary's pool sees an append at once.
    let mine = AggregateId::new(format!("replica_ryw_{tag}"), Uuid::new_v4());
    append(&split, &mine, 1, "mine").await?;
    let next = split.next_sequence(split.pool(), &mine).await?;
    ensure!(
        next == 1,
        "the primary did not see its own write (next sequence {next})"
    );
    println!("read-your-writes through store.pool(): ok");
    Ok(())
}
