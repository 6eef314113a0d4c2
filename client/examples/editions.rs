//! Editions: a what-if timeline that shares main's history up to a divergence point, is
//! written and read like main, and is thrown away afterwards; main never sees it.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:55432/angzarr cargo run -p angzarr_store_client --example editions
//! ```

use std::collections::BTreeMap;

use angzarr_store_client::{
    AggregateId, Append, EventStore, Expected, NewEdition, NewEvent, ReadStream,
};
use futures_util::TryStreamExt;
use uuid::Uuid;

async fn types(
    store: &EventStore,
    aggregate: &AggregateId,
) -> angzarr_store_client::Result<Vec<String>> {
    let events: Vec<_> = store
        .read_stream(store.pool(), ReadStream::new(aggregate.clone()))
        .try_collect()
        .await?;
    Ok(events.into_iter().map(|e| e.event_type).collect())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55432/angzarr".to_string());
    let store = EventStore::connect(&url).await?;
    store.install().await?;
    let domain = format!("editions_demo_{}", Uuid::new_v4().simple());
    let game = AggregateId::new(&domain, Uuid::new_v4());

    // Main: four moves.
    let moves = ["e4", "e5", "Nf3", "Nc6"].map(|m| NewEvent::new(m, Vec::new()));
    let _ = store
        .append(
            store.pool(),
            &Append::new(game.clone(), Expected::New).events(moves),
        )
        .await?;

    // A what-if edition that shares main's first two moves (sequences 0 and 1) of every game
    // in this domain, then goes its own way.
    let edition = format!("what-if-{}", Uuid::new_v4().simple());
    let divergences: BTreeMap<String, i64> = [(domain.clone(), 2)].into_iter().collect();
    store
        .create_edition(
            store.pool(),
            &NewEdition {
                divergences,
                ..NewEdition::named(&edition)
            },
        )
        .await?;
    let what_if = game.clone().in_edition(&edition);
    let _ = store
        .append(
            store.pool(),
            &Append::new(what_if.clone(), Expected::Next(2))
                .event(NewEvent::new("Bc4", Vec::new())),
        )
        .await?;

    let main_moves = types(&store, &game).await?;
    let branch_moves = types(&store, &what_if).await?;
    println!("main:    {main_moves:?}");
    println!("{edition}: {branch_moves:?}");
    assert_eq!(main_moves, ["e4", "e5", "Nf3", "Nc6"]);
    assert_eq!(branch_moves, ["e4", "e5", "Bc4"]);

    // Done exploring: discard the edition; main is untouched.
    let removed = store.discard_edition(store.pool(), &edition).await?;
    println!("discarded {edition}: {removed} event(s) of its own");
    assert_eq!(removed, 1);
    assert_eq!(types(&store, &game).await?, main_moves);
    Ok(())
}
