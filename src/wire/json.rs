//! Any EventBook as JSON, for reading protobuf bytes in psql: payloads that are JSON text show
//! as JSON, others as their size; timestamps as RFC 3339; roots as UUID text.

use angzarr_store_proto as pb;
use pb::page_header::SequenceType;
use prost::Message;
use serde_json::{json, Map, Value};

use super::codec::WireError;

/// Renders a book. Unlike [`super::codec::decode`] it accepts incomplete books (no cover, no
/// pages) and shows what is there.
pub fn book_to_json(bytes: &[u8]) -> Result<Value, WireError> {
    let book = pb::EventBook::decode(bytes).map_err(|e| WireError::Malformed {
        len: bytes.len(),
        reason: e.to_string(),
    })?;
    let mut out = Map::new();
    if let Some(c) = &book.cover {
        let mut cover = Map::new();
        cover.insert("domain".into(), json!(c.domain));
        cover.insert(
            "root".into(),
            c.root.as_ref().map_or(Value::Null, |r| root_json(&r.value)),
        );
        if !c.correlation_id.is_empty() {
            cover.insert("correlation_id".into(), json!(c.correlation_id));
        }
        if let Some(e) = &c.edition {
            let divergences: Map<String, Value> = e
                .divergences
                .iter()
                .map(|d| (d.domain.clone(), json!(d.sequence)))
                .collect();
            let mut edition = Map::new();
            edition.insert("name".into(), json!(e.name));
            if !divergences.is_empty() {
                edition.insert("divergences".into(), Value::Object(divergences));
            }
            cover.insert("edition".into(), Value::Object(edition));
        }
        out.insert("cover".into(), Value::Object(cover));
    }
    if let Some(s) = &book.snapshot {
        let retention = pb::SnapshotRetention::try_from(s.retention)
            .map(|r| json!(retention_name(r)))
            .unwrap_or_else(|_| json!(s.retention));
        let mut snapshot = Map::new();
        snapshot.insert("sequence".into(), json!(s.sequence));
        snapshot.insert("retention".into(), retention);
        if let Some(state) = &s.state {
            snapshot.insert("type".into(), json!(state.type_url));
            insert_payload(&mut snapshot, "state", &state.value);
        }
        out.insert("snapshot".into(), Value::Object(snapshot));
    }
    let pages: Vec<Value> = book.pages.iter().map(page_json).collect();
    out.insert("pages".into(), Value::Array(pages));
    out.insert("next_sequence".into(), json!(book.next_sequence));
    Ok(Value::Object(out))
}

fn page_json(p: &pb::EventPage) -> Value {
    let mut page = Map::new();
    let sequence = p
        .header
        .as_ref()
        .and_then(|h| h.sequence_type)
        .map(|SequenceType::Sequence(s)| s);
    page.insert("sequence".into(), json!(sequence));
    if let Some(t) = &p.created_at {
        page.insert("created_at".into(), json!(rfc3339(t.seconds, t.nanos)));
    }
    match &p.event {
        Some(event) => {
            page.insert("type".into(), json!(event.type_url));
            insert_payload(&mut page, "payload", &event.value);
        }
        None => {
            page.insert("type".into(), Value::Null);
        }
    }
    Value::Object(page)
}

/// `key`: the bytes as JSON when they are JSON text; else `key_bytes`: their size.
fn insert_payload(map: &mut Map<String, Value>, key: &str, bytes: &[u8]) {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => {
            map.insert(key.into(), v);
        }
        Err(_) => {
            map.insert(format!("{key}_bytes"), json!(bytes.len()));
        }
    }
}

fn retention_name(r: pb::SnapshotRetention) -> &'static str {
    match r {
        pb::SnapshotRetention::RetentionDefault => "default",
        pb::SnapshotRetention::RetentionPersist => "persist",
        pb::SnapshotRetention::RetentionTransient => "transient",
    }
}

/// A 16-byte root as UUID text; other lengths as `{"invalid_root_bytes": n}`.
fn root_json(bytes: &[u8]) -> Value {
    match <[u8; 16]>::try_from(bytes) {
        Ok(b) => json!(uuid_text(&b)),
        Err(_) => json!({ "invalid_root_bytes": bytes.len() }),
    }
}

/// The canonical 8-4-4-4-12 text of a UUID.
pub fn uuid_text(b: &[u8; 16]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// RFC 3339 in UTC, with as many fraction digits as needed.
pub fn rfc3339(seconds: i64, nanos: i32) -> String {
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    let s = seconds.rem_euclid(86_400);
    let mut frac = if nanos > 0 {
        format!(".{nanos:09}")
    } else {
        String::new()
    };
    while frac.ends_with('0') {
        frac.pop();
    }
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}
