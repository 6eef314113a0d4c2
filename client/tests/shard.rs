//! The client against a sharded deployment (scripts/test_shard.sh brings it up and runs these
//! with `--ignored`): eight writers append across the shards while a sharded consumer tails
//! every shard's feed with a checkpoint vector and sees each committed event exactly once, in
//! per-aggregate order; a consumer group's members split the shards with exactly-once effects;
//! transactions stay on one shard; conflicts through the router are still SequenceConflict.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use angzarr_store_client::{
    handler_fn, AggregateId, Append, Checkpoint, Error, EventStore, Expected, FeedQuery, NewEvent,
    ShardCheckpoints, ShardedStore,
};
use futures_util::StreamExt;
use uuid::Uuid;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type TestResult<T> = Result<T, BoxError>;

fn router_url() -> String {
    std::env::var("ANGZARR_TEST_ROUTER_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:56200/angzarr_router".to_string())
}

const WRITERS: usize = 8;
const APPENDS: usize = 40;
const AGGREGATES: usize = 16;

/// Eight writers append to 16 aggregates spread over the shards (every fifth append is rolled
/// back instead); returns the committed (root, sequence) pairs.
async fn write(store: &ShardedStore, domain: &str) -> TestResult<BTreeSet<(Uuid, i64)>> {
    let roots: Vec<Uuid> = (0..AGGREGATES).map(|_| Uuid::new_v4()).collect();
    let shards: BTreeSet<usize> = roots
        .iter()
        .map(|r| store.shard_of(&AggregateId::new(domain, *r)))
        .collect();
    assert!(shards.len() > 1, "the aggregates span several shards");
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, roots, domain) = (store.clone(), roots.clone(), domain.to_string());
            tokio::spawn(async move {
                let mut committed = Vec::new();
                for i in 0..APPENDS {
                    let id = AggregateId::new(&domain, roots[(w * 3 + i) % AGGREGATES]);
                    let append = Append::new(id.clone(), Expected::Any).event(NewEvent::json(
                        "Written",
                        &serde_json::json!({"w": w, "i": i}),
                    )?);
                    if i % 5 == 4 {
                        let (shard, mut tx) = store.begin_for(std::slice::from_ref(&id)).await?;
                        shard.append(&mut *tx, &append).await?;
                        tx.rollback().await?;
                    } else {
                        let appended = store.append(&append).await?;
                        committed.push((id.root(), appended.first_sequence));
                    }
                }
                Ok::<_, BoxError>(committed)
            })
        })
        .collect();
    let mut all = BTreeSet::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok(all)
}

async fn horizons(store: &ShardedStore) -> TestResult<ShardCheckpoints> {
    let mut v = Vec::new();
    for s in store.shards() {
        v.push(s.feed_horizon(s.pool()).await?);
    }
    Ok(ShardCheckpoints(v))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the sharded deployment: scripts/test_shard.sh"]
async fn a_tailing_sharded_consumer_sees_each_committed_event_once_in_aggregate_order(
) -> TestResult<()> {
    let store = ShardedStore::connect_via_router(&router_url()).await?;
    assert!(store.len() >= 4, "at least 4 shards");
    let domain = format!("sfeed{}", Uuid::new_v4().simple());
    let mut vector = horizons(&store).await?;
    let mut tail = store.tail_feed(FeedQuery::new().domains([domain.clone()]), &vector)?;
    // The consumer tails while the writers write.
    let writers = {
        let (store, domain) = (store.clone(), domain.clone());
        tokio::spawn(async move { write(&store, &domain).await })
    };
    let expected = WRITERS * APPENDS * 4 / 5;
    let mut seen = BTreeSet::new();
    let mut next: BTreeMap<Uuid, i64> = BTreeMap::new();
    while seen.len() < expected {
        let item = tokio::time::timeout(Duration::from_secs(60), tail.next())
            .await?
            .expect("the tail does not end")?;
        let e = &item.event.event;
        assert_eq!(
            item.shard,
            store.shard_of(&AggregateId::new(&domain, e.root)),
            "an event comes from its aggregate's shard"
        );
        let want = next.entry(e.root).or_insert(0);
        assert_eq!(
            e.sequence, *want,
            "aggregate {} in order, without gaps",
            e.root
        );
        *want += 1;
        assert!(
            seen.insert((e.root, e.sequence)),
            "seen twice: {}/{}",
            e.root,
            e.sequence
        );
        vector.advance(&item);
    }
    let committed = writers.await??;
    assert_eq!(seen, committed, "exactly the committed events");
    // Nothing more arrives (the rolled-back appends never do).
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), tail.next())
            .await
            .is_err()
    );
    // The vector saves per shard and reads back.
    let consumer = format!("c-{}", Uuid::new_v4());
    store.save_feed_positions(&consumer, &vector).await?;
    assert_eq!(store.get_feed_positions(&consumer).await?, vector);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the sharded deployment: scripts/test_shard.sh"]
async fn a_consumer_group_splits_the_shards_with_exactly_once_effects() -> TestResult<()> {
    let store = ShardedStore::connect_via_router(&router_url()).await?;
    let domain = format!("sproj{}", Uuid::new_v4().simple());
    let table = format!("seen_{}", Uuid::new_v4().simple());
    for s in store.shards() {
        sqlx::query(&format!(
            "CREATE TABLE {table} (root uuid, sequence bigint, PRIMARY KEY (root, sequence))"
        ))
        .execute(s.pool())
        .await?;
    }
    let consumer = format!("proj-{}", Uuid::new_v4());
    let query = FeedQuery::new().domains([domain.clone()]);
    let members: Vec<_> = (0..2)
        .map(|m| store.projection(&consumer, query.clone(), m, 2))
        .collect::<Result<_, _>>()?;
    let even: Vec<usize> = (0..store.len()).step_by(2).collect();
    let odd: Vec<usize> = (1..store.len()).step_by(2).collect();
    assert_eq!(members[0].shards(), even);
    assert_eq!(members[1].shards(), odd);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let runs: Vec<_> = members
        .into_iter()
        .map(|member| {
            let (table, mut stopped) = (table.clone(), stopped.clone());
            tokio::spawn(member.run_until(
                move |_shard| {
                    let table = table.clone();
                    handler_fn(move |event, tx| {
                        let sql = format!(
                            "INSERT INTO {table} SELECT $1, $2 WHERE coalesce((SELECT max(sequence) FROM {table} WHERE root = $1), -1) = $2 - 1"
                        );
                        Box::pin(async move {
                            let done = sqlx::query(&sql)
                                .bind(event.event.root)
                                .bind(event.event.sequence)
                                .execute(tx)
                                .await?;
                            if done.rows_affected() != 1 {
                                return Err(format!("{}/{} out of order", event.event.root, event.event.sequence).into());
                            }
                            Ok(())
                        })
                    })
                },
                async move {
                    let _ = stopped.wait_for(|s| *s).await;
                },
            ))
        })
        .collect();
    let committed = write(&store, &domain).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let applied = loop {
        let mut applied = BTreeSet::new();
        for s in store.shards() {
            let rows: Vec<(Uuid, i64)> =
                sqlx::query_as(&format!("SELECT root, sequence FROM {table}"))
                    .fetch_all(s.pool())
                    .await?;
            applied.extend(rows);
        }
        if applied.len() >= committed.len() || tokio::time::Instant::now() > deadline {
            break applied;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    stop.send(true)?;
    for r in runs {
        r.await??;
    }
    assert_eq!(
        applied, committed,
        "every committed event applied once, in order, on its shard"
    );
    for s in store.shards() {
        sqlx::query(&format!("DROP TABLE {table}"))
            .execute(s.pool())
            .await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the sharded deployment: scripts/test_shard.sh"]
async fn transactions_stay_on_one_shard() -> TestResult<()> {
    let store = ShardedStore::connect_via_router(&router_url()).await?;
    // Two aggregates on one shard, and one on another.
    let ids: Vec<AggregateId> = (0..64)
        .map(|_| AggregateId::new("order", Uuid::new_v4()))
        .collect();
    let a = &ids[0];
    let same = ids[1..]
        .iter()
        .find(|i| store.shard_of(i) == store.shard_of(a))
        .expect("64 roots share a shard");
    let other = ids[1..]
        .iter()
        .find(|i| store.shard_of(i) != store.shard_of(a))
        .expect("and not all of them");
    let err = store
        .begin_for(&[a.clone(), other.clone()])
        .await
        .expect_err("across shards");
    assert!(matches!(err, Error::CrossShard { .. }), "{err}");
    // On one shard the transaction is atomic: a conflict on the second append undoes the first.
    let (shard, mut tx) = store.begin_for(&[a.clone(), same.clone()]).await?;
    shard
        .append(
            &mut *tx,
            &Append::new(a.clone(), Expected::New).event(NewEvent::new("Placed", vec![])),
        )
        .await?;
    shard
        .append(
            &mut *tx,
            &Append::new(same.clone(), Expected::New).event(NewEvent::new("Reserved", vec![])),
        )
        .await?;
    tx.commit().await?;
    let (shard, mut tx) = store.begin_for(&[a.clone(), same.clone()]).await?;
    shard
        .append(
            &mut *tx,
            &Append::new(a.clone(), Expected::Next(1)).event(NewEvent::new("Paid", vec![])),
        )
        .await?;
    let err = shard
        .append(
            &mut *tx,
            &Append::new(same.clone(), Expected::New).event(NewEvent::new("Again", vec![])),
        )
        .await
        .expect_err("stale");
    assert!(matches!(err, Error::SequenceConflict { .. }), "{err}");
    tx.rollback().await?;
    let s = store.store_for(a);
    assert_eq!(
        s.load_aggregate(s.pool(), a, Default::default())
            .await?
            .next_sequence(),
        1
    );
    Ok(())
}

/// Through the router the ordinary EventStore works; a ZA001 still becomes SequenceConflict
/// (PL/Proxy prefixes the shard's DETAIL) and a second write in a transaction is CrossShard.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the sharded deployment: scripts/test_shard.sh"]
async fn the_event_store_through_the_router() -> TestResult<()> {
    let store = EventStore::connect(&router_url()).await?;
    let id = AggregateId::new("account", Uuid::new_v4());
    let open = Append::new(id.clone(), Expected::New).event(NewEvent::new("Opened", vec![]));
    store.append(store.pool(), &open).await?;
    match store.append(store.pool(), &open).await {
        Err(Error::SequenceConflict {
            root,
            expected,
            actual,
            ..
        }) => assert_eq!((root, expected, actual), (id.root(), 0, 1)),
        other => panic!("expected a SequenceConflict, got {other:?}"),
    }
    let mut tx = store.pool().begin().await?;
    let more = Append::new(id.clone(), Expected::Any).event(NewEvent::new("Deposited", vec![]));
    store.append(&mut *tx, &more).await?;
    let err = store
        .append(&mut *tx, &more)
        .await
        .expect_err("second write");
    assert!(matches!(err, Error::CrossShard { .. }), "{err}");
    tx.rollback().await?;
    let loaded = store
        .load_aggregate(store.pool(), &id, Default::default())
        .await?;
    assert_eq!(
        loaded.next_sequence(),
        2,
        "the first write in the rolled-back transaction stays"
    );
    let _ = Checkpoint::default();
    Ok(())
}
