//! Books built with the prost types, decoded and encoded by the store's codec. The fixtures'
//! bytes are the ones `pg_test/sql/event_book.sql` appends, so that test replays messages
//! encoded by this Rust code.

use angzarr_store_proto as pb;
use angzarr_store_proto::prost_types;
use pb::page_header::SequenceType;
use prost::Message;

use super::codec::{self, BookOut, EventOut, SnapshotOut, WireError};
use super::json;

const ROOT: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe1];

fn any(type_url: &str, value: &[u8]) -> Option<prost_types::Any> {
    Some(prost_types::Any {
        type_url: type_url.into(),
        value: value.to_vec(),
    })
}

fn cover(
    domain: &str,
    root: Option<&[u8]>,
    correlation: &str,
    edition: Option<&str>,
) -> Option<pb::Cover> {
    Some(pb::Cover {
        root: root.map(|r| pb::Uuid { value: r.to_vec() }),
        domain: domain.into(),
        correlation_id: correlation.into(),
        edition: edition.map(|name| pb::Edition {
            name: name.into(),
            divergences: vec![],
        }),
    })
}

fn page(
    sequence: Option<u32>,
    created: Option<i64>,
    event: Option<prost_types::Any>,
) -> pb::EventPage {
    pb::EventPage {
        header: sequence.map(|s| pb::PageHeader {
            sequence_type: Some(SequenceType::Sequence(s)),
        }),
        created_at: created.map(|seconds| prost_types::Timestamp { seconds, nanos: 0 }),
        event,
    }
}

const REGISTERED: &str = "type.googleapis.com/examples.PlayerRegistered";
const DEPOSITED: &str = "type.googleapis.com/examples.FundsDeposited";
/// 2024-01-02T03:04:05Z
const JAN_2: i64 = 1_704_164_645;

/// The books `pg_test/sql/event_book.sql` uses, by the name its comments give them.
fn fixtures() -> Vec<(&'static str, pb::EventBook)> {
    let book = |cover, pages| pb::EventBook {
        cover,
        snapshot: None,
        pages,
        next_sequence: 0,
    };
    let player = || cover("player", Some(&ROOT), "corr-book", None);
    vec![
        (
            "append",
            book(
                player(),
                vec![
                    page(None, Some(JAN_2), any(REGISTERED, br#"{"name": "ann"}"#)),
                    page(None, None, any(DEPOSITED, &[0x08, 0x0a])),
                ],
            ),
        ),
        (
            "explicit",
            book(
                player(),
                vec![page(Some(2), None, any(DEPOSITED, &[0x08, 0x05]))],
            ),
        ),
        (
            "stale",
            book(
                player(),
                vec![page(Some(1), None, any(DEPOSITED, &[0x08, 0x01]))],
            ),
        ),
        (
            "edition",
            book(
                cover("player", Some(&ROOT), "", Some("what-if")),
                vec![page(None, None, any(DEPOSITED, &[0x08, 0x63]))],
            ),
        ),
        (
            "no_cover",
            book(None, vec![page(None, None, any(DEPOSITED, &[]))]),
        ),
        (
            "no_root",
            book(
                cover("player", None, "", None),
                vec![page(None, None, any(DEPOSITED, &[]))],
            ),
        ),
        (
            "no_domain",
            book(
                cover("", Some(&ROOT), "", None),
                vec![page(None, None, any(DEPOSITED, &[]))],
            ),
        ),
        (
            "short_root",
            book(
                cover("player", Some(&ROOT[..15]), "", None),
                vec![page(None, None, any(DEPOSITED, &[]))],
            ),
        ),
        ("no_pages", book(player(), vec![])),
        (
            "no_event",
            book(
                player(),
                vec![
                    page(None, None, any(DEPOSITED, &[])),
                    page(None, None, None),
                ],
            ),
        ),
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn fixtures_match_the_regression_test() {
    let sql = include_str!("../../pg_test/sql/event_book.sql");
    let missing: Vec<String> = fixtures()
        .into_iter()
        .map(|(name, book)| format!("\\set {name} '\\\\x{}'", hex(&book.encode_to_vec())))
        .filter(|line| !sql.contains(line.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "pg_test/sql/event_book.sql should contain:\n{}",
        missing.join("\n")
    );
}

#[test]
fn a_book_decodes_to_one_row_per_page() {
    let (_, book) = fixtures().remove(0);
    let decoded = codec::decode(&book.encode_to_vec()).unwrap();
    assert_eq!(decoded.domain, "player");
    assert_eq!(
        decoded.edition, "angzarr",
        "an absent edition is the main timeline"
    );
    assert_eq!(decoded.root, ROOT);
    assert_eq!(decoded.correlation_id.as_deref(), Some("corr-book"));
    assert_eq!(decoded.pages.len(), 2);
    assert_eq!(decoded.pages[0].sequence, None);
    assert_eq!(decoded.pages[0].event_type, REGISTERED);
    assert_eq!(decoded.pages[0].payload, br#"{"name": "ann"}"#);
    assert_eq!(
        decoded.pages[0].created_at,
        Some((JAN_2 * 1_000_000) - codec::PG_EPOCH_OFFSET_MICROS)
    );
    assert_eq!(decoded.pages[1].created_at, None);
    assert_eq!(decoded.pages[1].payload, [0x08, 0x0a]);
}

#[test]
fn header_sequences_and_editions_come_through() {
    let books = fixtures();
    let explicit = codec::decode(&books[1].1.encode_to_vec()).unwrap();
    assert_eq!(explicit.pages[0].sequence, Some(2));
    assert_eq!(explicit.correlation_id.as_deref(), Some("corr-book"));
    let edition = codec::decode(&books[3].1.encode_to_vec()).unwrap();
    assert_eq!(edition.edition, "what-if");
    assert_eq!(
        edition.correlation_id, None,
        "an empty correlation id is none"
    );
}

#[test]
fn incomplete_books_are_refused_with_their_reason() {
    let sqlstate = |name: &str| {
        let (_, book) = fixtures().into_iter().find(|(n, _)| *n == name).unwrap();
        let err = codec::decode(&book.encode_to_vec()).unwrap_err();
        (err.parts().sqlstate, err)
    };
    assert_eq!(
        sqlstate("no_cover"),
        ("22023", WireError::Missing { field: "cover" })
    );
    assert_eq!(
        sqlstate("no_root"),
        (
            "22023",
            WireError::Missing {
                field: "cover.root"
            }
        )
    );
    assert_eq!(
        sqlstate("no_domain"),
        (
            "22023",
            WireError::Missing {
                field: "cover.domain"
            }
        )
    );
    assert_eq!(
        sqlstate("short_root"),
        ("22P03", WireError::BadRoot { len: 15 })
    );
    assert_eq!(sqlstate("no_pages"), ("22023", WireError::NoPages));
    assert_eq!(
        sqlstate("no_event"),
        (
            "22023",
            WireError::BadPage {
                page: 1,
                pages: 2,
                problem: "has no event"
            }
        )
    );
}

#[test]
fn garbage_and_truncated_bytes_are_malformed() {
    for bytes in [&[0xde, 0xad, 0xbe, 0xef][..], b"hello"] {
        let err = codec::decode(bytes).unwrap_err();
        assert!(
            matches!(err, WireError::Malformed { .. }),
            "{bytes:?}: {err:?}"
        );
        assert_eq!(err.parts().sqlstate, "22P03");
    }
    // Protobuf has no length frame: a cut between two pages is a shorter, valid book. Every
    // other cut fails, and a cut right after the cover leaves no pages to append.
    let (_, book) = fixtures().remove(0);
    let full = book.encode_to_vec();
    let one_page = pb::EventBook {
        pages: book.pages[..1].to_vec(),
        ..book.clone()
    }
    .encode_to_vec();
    for len in 0..full.len() {
        match codec::decode(&full[..len]) {
            Ok(b) => assert_eq!((len, b.pages.len()), (one_page.len(), 1)),
            Err(e) => assert!(len != one_page.len(), "{e:?}"),
        }
    }
    assert_eq!(
        codec::decode(&[]).unwrap_err(),
        WireError::Missing { field: "cover" }
    );
}

#[test]
fn timestamps_outside_postgres_range_are_refused() {
    let ts = |seconds, nanos| prost_types::Timestamp { seconds, nanos };
    assert_eq!(codec::timestamp_to_pg(&ts(946_684_800, 0)), Some(0));
    assert_eq!(codec::timestamp_to_pg(&ts(946_684_800, 1_500)), Some(1));
    assert_eq!(codec::timestamp_to_pg(&ts(0, -1)), None);
    assert_eq!(codec::timestamp_to_pg(&ts(0, 1_000_000_000)), None);
    assert_eq!(codec::timestamp_to_pg(&ts(i64::MAX, 0)), None);
    assert_eq!(codec::timestamp_to_pg(&ts(-300_000_000_000, 0)), None);
    for pg in [0, -1, 1, 123_456_789_012, -987_654_321_000] {
        let t = codec::pg_to_timestamp(pg).unwrap();
        assert_eq!(codec::timestamp_to_pg(&t), Some(pg));
    }
    assert_eq!(
        codec::pg_to_timestamp(i64::MAX),
        None,
        "infinity has no protobuf timestamp"
    );
}

fn history() -> BookOut {
    BookOut {
        domain: "player".into(),
        edition: "what-if".into(),
        root: ROOT,
        correlation_id: None,
        divergences: vec![("player".into(), 3)],
        snapshot: Some(SnapshotOut {
            sequence: 1,
            state_type: "examples.PlayerState".into(),
            state: vec![7; 100 * 1024],
            retention: "persist".into(),
        }),
        events: vec![
            EventOut {
                sequence: Some(2),
                event_type: DEPOSITED.into(),
                payload: vec![8, 5],
                created_at: Some(0),
            },
            EventOut {
                sequence: Some(3),
                event_type: DEPOSITED.into(),
                payload: vec![],
                created_at: None,
            },
        ],
        next_sequence: 4,
    }
}

#[test]
fn an_encoded_history_reads_back_with_prost() {
    let bytes = codec::encode(&history()).unwrap();
    let book = pb::EventBook::decode(bytes.as_slice()).unwrap();
    let cover = book.cover.unwrap();
    assert_eq!(cover.domain, "player");
    assert_eq!(cover.root.unwrap().value, ROOT);
    let edition = cover.edition.unwrap();
    assert_eq!(edition.name, "what-if");
    assert_eq!(
        edition.divergences,
        vec![pb::DomainDivergence {
            domain: "player".into(),
            sequence: 3
        }]
    );
    let snapshot = book.snapshot.unwrap();
    assert_eq!(snapshot.sequence, 1);
    assert_eq!(
        snapshot.retention,
        pb::SnapshotRetention::RetentionPersist as i32
    );
    assert_eq!(snapshot.state.unwrap().value.len(), 100 * 1024);
    assert_eq!(book.next_sequence, 4);
    let seqs: Vec<_> = book
        .pages
        .iter()
        .map(|p| p.header.unwrap().sequence_type)
        .collect();
    assert_eq!(
        seqs,
        vec![
            Some(SequenceType::Sequence(2)),
            Some(SequenceType::Sequence(3))
        ]
    );
    assert_eq!(
        book.pages[0].created_at,
        Some(prost_types::Timestamp {
            seconds: 946_684_800,
            nanos: 0
        })
    );
    assert_eq!(book.pages[1].created_at, None);
    // And the store's own decoder reads it as an append of those two pages.
    let again = codec::decode(&bytes).unwrap();
    assert_eq!(
        again.pages.iter().map(|p| p.sequence).collect::<Vec<_>>(),
        vec![Some(2), Some(3)]
    );
}

#[test]
fn values_beyond_uint32_are_refused() {
    let mut b = history();
    b.next_sequence = i64::from(u32::MAX) + 1;
    assert_eq!(
        codec::encode(&b).unwrap_err(),
        WireError::OutOfRange {
            field: "next_sequence",
            value: 4_294_967_296
        }
    );
    let mut b = history();
    b.snapshot.as_mut().unwrap().retention = "forever".into();
    assert_eq!(codec::encode(&b).unwrap_err().parts().sqlstate, "22023");
}

#[test]
fn json_shows_payloads_types_and_times() {
    let mut b = history();
    b.events[1].payload = br#"{"amount": 5}"#.to_vec();
    let value = json::book_to_json(&codec::encode(&b).unwrap()).unwrap();
    assert_eq!(
        value["cover"]["root"],
        "00000000-0000-0000-0000-0000000000e1"
    );
    assert_eq!(value["cover"]["edition"]["divergences"]["player"], 3);
    assert_eq!(value["snapshot"]["retention"], "persist");
    assert_eq!(value["snapshot"]["state_bytes"], 100 * 1024);
    assert_eq!(value["pages"][0]["payload_bytes"], 2);
    assert_eq!(value["pages"][0]["created_at"], "2000-01-01T00:00:00Z");
    assert_eq!(value["pages"][1]["payload"]["amount"], 5);
    assert_eq!(value["next_sequence"], 4);
}

#[test]
fn rfc3339_matches_known_dates() {
    assert_eq!(json::rfc3339(0, 0), "1970-01-01T00:00:00Z");
    assert_eq!(json::rfc3339(JAN_2, 0), "2024-01-02T03:04:05Z");
    assert_eq!(
        json::rfc3339(951_782_400, 120_000_000),
        "2000-02-29T00:00:00.12Z"
    );
    assert_eq!(json::rfc3339(-1, 0), "1969-12-31T23:59:59Z");
}

#[test]
fn pages_without_a_sequence_encode_without_one_and_decode_as_deferred() {
    // A batch to append built in SQL: one page pinned at 4, then pages that take whatever
    // sequence comes next. Encoding a missing sequence as 0 would make every page after the
    // first a stale expectation.
    let mut book = history();
    book.snapshot = None;
    book.events[0].sequence = Some(4);
    book.events[1].sequence = None;
    book.events.push(EventOut {
        sequence: None,
        event_type: DEPOSITED.into(),
        payload: vec![1],
        created_at: None,
    });
    let bytes = codec::encode(&book).unwrap();
    let raw = pb::EventBook::decode(bytes.as_slice()).unwrap();
    assert_eq!(
        raw.pages[0].header.unwrap().sequence_type,
        Some(SequenceType::Sequence(4))
    );
    assert!(raw.pages[1].header.is_none() && raw.pages[2].header.is_none());
    let decoded = codec::decode(&bytes).unwrap();
    let seqs: Vec<_> = decoded.pages.iter().map(|p| p.sequence).collect();
    assert_eq!(seqs, vec![Some(4), None, None]);
    let shown = json::book_to_json(&bytes).unwrap();
    assert_eq!(shown["pages"][1]["sequence"], serde_json::Value::Null);
}
