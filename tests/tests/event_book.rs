//! angzarr's EventBook through the store: books encoded by prost from the shared
//! `angzarr_store_proto` types are appended with `angzarr.append_event_book()`, read back with
//! `angzarr.read_event_book()` and decoded again, from a real client session.

use angzarr_store_proto::prost::Message;
use angzarr_store_proto::{
    page_header::SequenceType, prost_types, Cover, Edition, EventBook, EventPage, PageHeader,
    SnapshotRetention, Uuid as PbUuid,
};
use angzarr_store_tests::{ensure_extension, pool, sqlstate};
use sqlx::Row;
use uuid::Uuid;

fn page(sequence: Option<u32>, type_url: &str, value: &[u8], seconds: Option<i64>) -> EventPage {
    EventPage {
        header: sequence.map(|s| PageHeader {
            sequence_type: Some(SequenceType::Sequence(s)),
        }),
        created_at: seconds.map(|seconds| prost_types::Timestamp {
            seconds,
            nanos: 123_456_000,
        }),
        event: Some(prost_types::Any {
            type_url: type_url.into(),
            value: value.to_vec(),
        }),
    }
}

fn book(root: Uuid, edition: &str, pages: Vec<EventPage>) -> EventBook {
    EventBook {
        cover: Some(Cover {
            root: Some(PbUuid {
                value: root.as_bytes().to_vec(),
            }),
            domain: "player".into(),
            correlation_id: "signup-42".into(),
            edition: Some(Edition {
                name: edition.into(),
                divergences: vec![],
            }),
        }),
        snapshot: None,
        pages,
        next_sequence: 0,
    }
}

const REGISTERED: &str = "type.googleapis.com/examples.PlayerRegistered";
const DEPOSITED: &str = "type.googleapis.com/examples.FundsDeposited";

#[tokio::test]
async fn a_prost_encoded_book_round_trips_through_the_store() -> anyhow::Result<()> {
    let pool = pool(2).await?;
    ensure_extension(&pool).await?;
    let root = Uuid::new_v4();
    let written = book(
        root,
        "",
        vec![
            page(None, REGISTERED, br#"{"name": "ann"}"#, Some(1_704_164_645)),
            page(None, DEPOSITED, &[0x08, 0x0a], None),
            page(Some(2), DEPOSITED, &[0x08, 0x05], Some(1_704_164_700)),
        ],
    );
    let range =
        sqlx::query("SELECT first_sequence, last_sequence FROM angzarr.append_event_book($1)")
            .bind(written.encode_to_vec())
            .fetch_one(&pool)
            .await?;
    assert_eq!(
        (range.try_get::<i64, _>(0)?, range.try_get::<i64, _>(1)?),
        (0, 2)
    );

    // A snapshot after event 0 (100 KB of state), then the book read back.
    let state: Vec<u8> = (0..100 * 1024).map(|i| (i % 251) as u8).collect();
    sqlx::query("SELECT * FROM angzarr.put_snapshot('player', $1, 0, $2, retention => 'persist', state_type => 'examples.PlayerState')")
        .bind(root)
        .bind(&state)
        .execute(&pool)
        .await?;
    let bytes: Vec<u8> = sqlx::query_scalar("SELECT angzarr.read_event_book('player', $1)")
        .bind(root)
        .fetch_one(&pool)
        .await?;
    let read = EventBook::decode(bytes.as_slice())?;

    let cover = read.cover.expect("cover");
    assert_eq!(cover.domain, "player");
    assert_eq!(cover.root.expect("root").value, root.as_bytes());
    assert_eq!(cover.edition.expect("edition").name, "angzarr");
    let snapshot = read.snapshot.expect("snapshot");
    assert_eq!(snapshot.sequence, 0);
    assert_eq!(
        snapshot.retention,
        SnapshotRetention::RetentionPersist as i32
    );
    let snapshot_state = snapshot.state.expect("state");
    assert_eq!(snapshot_state.type_url, "examples.PlayerState");
    assert_eq!(
        snapshot_state.value, state,
        "the snapshot state comes back byte for byte"
    );
    assert_eq!(read.next_sequence, 3);
    // The pages after the snapshot: the written events, now with their sequences.
    assert_eq!(read.pages.len(), 2);
    for (got, (want, seq)) in read.pages.iter().zip(written.pages[1..].iter().zip(1u32..)) {
        assert_eq!(
            got.header,
            Some(PageHeader {
                sequence_type: Some(SequenceType::Sequence(seq))
            })
        );
        assert_eq!(got.event, want.event);
    }
    // A page's own time is kept (to the microsecond PostgreSQL stores).
    assert_eq!(
        read.pages[1].created_at,
        Some(prost_types::Timestamp {
            seconds: 1_704_164_700,
            nanos: 123_456_000
        })
    );
    assert!(
        read.pages[0].created_at.is_some(),
        "a page without a time gets the append's time"
    );

    // Without the snapshot, all three pages.
    let bytes: Vec<u8> =
        sqlx::query_scalar("SELECT angzarr.read_event_book('player', $1, use_snapshot => false)")
            .bind(root)
            .fetch_one(&pool)
            .await?;
    let all = EventBook::decode(bytes.as_slice())?;
    assert_eq!(
        all.pages
            .iter()
            .map(|p| p.event.clone())
            .collect::<Vec<_>>(),
        written
            .pages
            .iter()
            .map(|p| p.event.clone())
            .collect::<Vec<_>>()
    );
    Ok(())
}

#[tokio::test]
async fn stale_and_broken_books_are_refused_and_write_nothing() -> anyhow::Result<()> {
    let pool = pool(2).await?;
    ensure_extension(&pool).await?;
    let root = Uuid::new_v4();
    let first = book(root, "", vec![page(None, REGISTERED, b"{}", None)]);
    sqlx::query("SELECT * FROM angzarr.append_event_book($1)")
        .bind(first.encode_to_vec())
        .execute(&pool)
        .await?;

    let stale = book(root, "", vec![page(Some(0), DEPOSITED, b"", None)]).encode_to_vec();
    let mut short_root = book(root, "", vec![page(None, DEPOSITED, b"", None)]);
    short_root.cover.as_mut().unwrap().root = Some(PbUuid { value: vec![1; 15] });
    let encoded = first.encode_to_vec();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("stale header sequence", stale, "ZA001"),
        ("garbage", vec![0xde, 0xad, 0xbe, 0xef], "22P03"),
        ("truncated", encoded[..encoded.len() - 3].to_vec(), "22P03"),
        ("15-byte root", short_root.encode_to_vec(), "22P03"),
        ("no cover", EventBook::default().encode_to_vec(), "22023"),
    ];
    for (what, bytes, code) in cases {
        let err = sqlx::query("SELECT * FROM angzarr.append_event_book($1)")
            .bind(bytes)
            .execute(&pool)
            .await
            .expect_err(what);
        assert_eq!(sqlstate(&err).as_deref(), Some(code), "{what}: {err}");
    }
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM angzarr.events WHERE domain = 'player' AND root = $1",
    )
    .bind(root)
    .fetch_one(&pool)
    .await?;
    assert_eq!(count, 1, "only the first book was written");
    Ok(())
}

#[tokio::test]
async fn an_edition_book_continues_the_composite_history() -> anyhow::Result<()> {
    let pool = pool(2).await?;
    ensure_extension(&pool).await?;
    let root = Uuid::new_v4();
    let main = book(
        root,
        "",
        vec![
            page(None, REGISTERED, b"{}", None),
            page(None, DEPOSITED, b"", None),
        ],
    );
    sqlx::query("SELECT * FROM angzarr.append_event_book($1)")
        .bind(main.encode_to_vec())
        .execute(&pool)
        .await?;
    let edition = format!("what-if-{}", Uuid::new_v4().simple());
    let fork = book(
        root,
        &edition,
        vec![page(Some(2), DEPOSITED, &[0x08, 0x63], None)],
    );
    let first: i64 = sqlx::query_scalar("SELECT first_sequence FROM angzarr.append_event_book($1)")
        .bind(fork.encode_to_vec())
        .fetch_one(&pool)
        .await?;
    assert_eq!(first, 2, "the edition continues after main's 0..1");
    let bytes: Vec<u8> = sqlx::query_scalar("SELECT angzarr.read_event_book('player', $1, $2)")
        .bind(root)
        .bind(&edition)
        .fetch_one(&pool)
        .await?;
    let read = EventBook::decode(bytes.as_slice())?;
    let types: Vec<String> = read
        .pages
        .iter()
        .map(|p| p.event.as_ref().unwrap().type_url.clone())
        .collect();
    assert_eq!(types, vec![REGISTERED, DEPOSITED, DEPOSITED]);
    assert_eq!(read.next_sequence, 3);
    let discarded: i64 = sqlx::query_scalar("SELECT angzarr.discard_edition($1)")
        .bind(&edition)
        .fetch_one(&pool)
        .await?;
    assert_eq!(discarded, 1);
    Ok(())
}
