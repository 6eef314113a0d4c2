//! The `angzarr.expected_sequences` setting: what a writer expects each aggregate's next
//! sequence to be, for optimistic concurrency across several aggregates in one transaction.
//!
//! Format: a JSON object mapping `"domain/root"` (main edition) or `"domain/edition/root"` to the
//! expected next sequence, e.g. `{"player/0b5f...": 3, "table/what-if/9e1c...": 0}`.
//! An empty string means no expectations.

use std::collections::HashMap;

use crate::errors::AppendError;
use crate::names;

/// The key every per-aggregate map of the extension uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AggregateKey {
    pub domain: String,
    pub edition: String,
    pub root: [u8; 16],
}

impl AggregateKey {
    /// The root formatted as a canonical UUID string.
    pub fn root_text(&self) -> String {
        format_uuid(&self.root)
    }
}

/// Formats 16 bytes as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub fn format_uuid(b: &[u8; 16]) -> String {
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

/// Parses a UUID in its canonical or undashed form.
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || text.len() > 36 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn malformed(setting: &str, why: String) -> AppendError {
    AppendError::invalid_with(
        "22023",
        format!("invalid value for angzarr.expected_sequences: {why}"),
        &format!(
            "Use a JSON object such as '{{\"player/0b5f3e1c-3c5e-4f43-9f7e-2a3d1f0e4b7a\": 3}}'; got {}.",
            truncate(setting, 120)
        ),
    )
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return format!("'{s}'");
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("'{}...'", &s[..end])
}

/// Parses the setting's text into a map from aggregate to expected next sequence.
pub fn parse(setting: &str) -> Result<HashMap<AggregateKey, i64>, AppendError> {
    let mut out = HashMap::new();
    if setting.trim().is_empty() {
        return Ok(out);
    }
    let value: serde_json::Value =
        serde_json::from_str(setting).map_err(|e| malformed(setting, format!("not JSON ({e})")))?;
    let object = value
        .as_object()
        .ok_or_else(|| malformed(setting, "not a JSON object".to_string()))?;
    for (key, expected) in object {
        let expected = expected
            .as_i64()
            .filter(|n| *n >= 0)
            .ok_or_else(|| malformed(setting, format!("{key:?} must map to a sequence >= 0")))?;
        out.insert(parse_key(setting, key)?, expected);
    }
    Ok(out)
}

fn parse_key(setting: &str, key: &str) -> Result<AggregateKey, AppendError> {
    let parts: Vec<&str> = key.split('/').collect();
    let (domain, edition, root) = match parts.as_slice() {
        [d, r] => (*d, names::MAIN_EDITION, *r),
        [d, e, r] => (*d, names::normalize_edition(Some(e))?, *r),
        _ => {
            return Err(malformed(
                setting,
                format!("key {key:?} is not \"domain/root\" or \"domain/edition/root\""),
            ))
        }
    };
    let domain = names::check_domain(Some(domain))?;
    let root = parse_uuid(root)
        .ok_or_else(|| malformed(setting, format!("{root:?} in key {key:?} is not a UUID")))?;
    Ok(AggregateKey {
        domain: domain.to_string(),
        edition: edition.to_string(),
        root,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "0b5f3e1c-3c5e-4f43-9f7e-2a3d1f0e4b7a";

    #[test]
    fn parses_main_and_named_editions() {
        let map = parse(&format!(
            r#"{{"player/{ROOT}": 3, "table/what-if/{ROOT}": 0}}"#
        ))
        .unwrap();
        let root = parse_uuid(ROOT).unwrap();
        let main = AggregateKey {
            domain: "player".into(),
            edition: "angzarr".into(),
            root,
        };
        let named = AggregateKey {
            domain: "table".into(),
            edition: "what-if".into(),
            root,
        };
        assert_eq!(map.get(&main), Some(&3));
        assert_eq!(map.get(&named), Some(&0));
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn malformed_values_are_refused() {
        for bad in [
            "nope",
            "[1,2]",
            &format!(r#"{{"player/{ROOT}": -1}}"#),
            &format!(r#"{{"player/{ROOT}": "3"}}"#),
            r#"{"player/not-a-uuid": 1}"#,
            &format!(r#"{{"a/b/c/{ROOT}": 1}}"#),
            &format!(r#"{{"/{ROOT}": 1}}"#),
        ] {
            assert!(parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn uuid_round_trip() {
        let b = parse_uuid(ROOT).unwrap();
        assert_eq!(format_uuid(&b), ROOT);
        assert!(parse_uuid("0b5f3e1c3c5e4f439f7e2a3d1f0e4b7a").is_some());
        assert!(parse_uuid("zz5f3e1c3c5e4f439f7e2a3d1f0e4b7a").is_none());
    }
}
