//! A read model kept by the projection runner: account balances, with a consumer group of two
//! members (each aggregate's events go to exactly one member), each member run twice (one
//! leads, one stands by), a readiness signal, and a clean shutdown.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:55432/angzarr cargo run -p angzarr_store_client --example projector
//! ```

use std::time::Duration;

use angzarr_store_client::{
    handler_fn, AggregateId, Append, DomainEvent, EventStore, Expected, FeedQuery, JsonEvent,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
enum AccountEvent {
    Opened { owner: String },
    Deposited { amount: i64 },
    Withdrawn { amount: i64 },
}
impl JsonEvent for AccountEvent {}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55432/angzarr".to_string());
    let store = EventStore::connect(&url).await?;
    store.install().await?;
    let domain = format!("projector_demo_{}", Uuid::new_v4().simple());
    let table = format!("balances_{}", Uuid::new_v4().simple());
    sqlx::query(&format!(
        "CREATE TABLE {table} (account uuid PRIMARY KEY, owner text, balance bigint NOT NULL)"
    ))
    .execute(store.pool())
    .await?;

    // Some history: three accounts.
    let accounts: Vec<AggregateId> = (0..3)
        .map(|_| AggregateId::new(&domain, Uuid::new_v4()))
        .collect();
    for (i, account) in accounts.iter().enumerate() {
        let events = [
            AccountEvent::Opened {
                owner: format!("owner-{i}"),
            },
            AccountEvent::Deposited { amount: 100 },
            AccountEvent::Withdrawn {
                amount: 10 * i as i64,
            },
        ];
        let batch = events
            .iter()
            .map(|e| e.to_new_event())
            .collect::<Result<Vec<_>, _>>()?;
        let _ = store
            .append(
                store.pool(),
                &Append::new(account.clone(), Expected::New).events(batch),
            )
            .await?;
    }

    // Two members, each run twice: four runners, two of them leading.
    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut runners = Vec::new();
    let mut ready = Vec::new();
    for member in 0..2 {
        for _copy in 0..2 {
            let runner = store
                .projection(
                    "balances",
                    FeedQuery::new().domains([domain.clone()]).member(member, 2),
                )
                .with_standby_poll(Duration::from_millis(200));
            ready.push(runner.caught_up());
            let insert = format!(
                "INSERT INTO {table} (account, owner, balance) VALUES ($1, $2, $3)
                 ON CONFLICT (account) DO UPDATE
                 SET owner = coalesce(EXCLUDED.owner, {table}.owner),
                     balance = {table}.balance + EXCLUDED.balance"
            );
            let handler = handler_fn(move |item, tx| {
                let insert = insert.clone();
                Box::pin(async move {
                    let (owner, delta) = match item.event.decode::<AccountEvent>()? {
                        AccountEvent::Opened { owner } => (Some(owner), 0),
                        AccountEvent::Deposited { amount } => (None, amount),
                        AccountEvent::Withdrawn { amount } => (None, -amount),
                    };
                    sqlx::query(&insert)
                        .bind(item.event.root)
                        .bind(owner)
                        .bind(delta)
                        .execute(&mut *tx)
                        .await?;
                    Ok(())
                })
            });
            let mut stopped = stop.subscribe();
            runners.push(tokio::spawn(runner.run_until(handler, async move {
                stopped.recv().await.ok();
            })));
        }
    }

    // Ready when every member's leader has caught up (standbys never say so).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let caught_up = ready.iter().filter(|r| *r.borrow()).count();
        if caught_up >= 2 {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err("the projection did not catch up within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows: Vec<(Uuid, String, i64)> = sqlx::query_as(&format!(
        "SELECT account, owner, balance FROM {table} ORDER BY owner"
    ))
    .fetch_all(store.pool())
    .await?;
    for (account, owner, balance) in &rows {
        println!("{owner} ({account}): {balance}");
    }
    assert_eq!(
        rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        [100, 90, 80],
        "each event applied exactly once"
    );

    stop.send(()).ok();
    for r in runners {
        r.await??;
    }
    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(store.pool())
        .await?;
    println!("projector: 2 members x 2 copies, each event applied once");
    Ok(())
}
