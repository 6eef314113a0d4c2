//! An EventBook round trip, as angzarr's services exchange them: build a book from an append
//! (a protobuf message and a JSON event), append it idempotently under a key, read the
//! aggregate back as a book (snapshot and pages), and show it as JSON for a human.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:55432/angzarr cargo run -p angzarr_store_client --example event_book
//! ```

use angzarr_store_client::proto::EventBook;
use angzarr_store_client::{AggregateId, Append, EventStore, Expected, NewEvent, Snapshots};
use prost::Message;
use uuid::Uuid;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55432/angzarr".to_string());
    let store = EventStore::connect(&url).await?;
    store.install().await?;
    let id = AggregateId::new("order", Uuid::new_v4());

    // A book with two pages: a protobuf message (packed as google.protobuf.Any) and JSON.
    let placed_at = prost_types::Timestamp {
        seconds: 1_700_000_000,
        nanos: 0,
    };
    let book = Append::new(id.clone(), Expected::New)
        .correlation_id("checkout-42")
        .events([
            NewEvent::message(&placed_at)?,
            NewEvent::json(
                "ItemsReserved",
                &serde_json::json!({"skus": ["A-1", "B-2"]}),
            )?,
        ])
        .to_event_book();
    println!(
        "book of {} pages, {} bytes encoded",
        book.pages.len(),
        book.encoded_len()
    );

    // Appending the same book again under the same key returns the first range.
    let first = store
        .append_event_book(store.pool(), &book, Some("checkout-42"))
        .await?;
    let again = store
        .append_event_book(store.pool(), &book, Some("checkout-42"))
        .await?;
    assert_eq!(first, again);
    println!(
        "appended sequences {}..={} (a repeat wrote nothing)",
        first.first_sequence, first.last_sequence
    );

    // Read the aggregate back as a book and decode its pages.
    let read: EventBook = store
        .read_event_book(store.pool(), &id, Snapshots::Use)
        .await?;
    assert_eq!(read.next_sequence, 2);
    for page in &read.pages {
        let event = NewEvent::from_event_page(page).ok_or("a page without an event")?;
        println!("page: {} ({} bytes)", event.event_type, event.payload.len());
    }
    let json = store.event_book_to_json(store.pool(), &read).await?;
    println!("as JSON: {json}");
    Ok(())
}
