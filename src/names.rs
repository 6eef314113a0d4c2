//! Domain and edition names: one spelling per name, checked before anything is stored.
//!
//! Names become keys of the expected-sequence setting (`domain/edition/root`), so they may not
//! contain `/`; they show up in logs and psql, so control characters are refused.

use crate::errors::AppendError;

/// The protected main timeline.
pub const MAIN_EDITION: &str = "angzarr";

/// Longest domain or edition name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;

/// Checks a domain name; `None` (SQL NULL) and `""` are refused.
pub fn check_domain(domain: Option<&str>) -> Result<&str, AppendError> {
    match domain {
        None => Err(AppendError::invalid_with(
            "23502",
            "domain must not be NULL",
            "Pass the bounded context's name, e.g. 'player'.",
        )),
        Some(name) => check_name("domain", name),
    }
}

/// Longest event type, in bytes.
pub const MAX_EVENT_TYPE_BYTES: usize = 512;

/// Checks an event type: present, not empty, at most [`MAX_EVENT_TYPE_BYTES`].
pub fn check_event_type(event_type: Option<&str>) -> Result<&str, AppendError> {
    match event_type {
        None => Err(AppendError::invalid_with(
            "23502",
            "event_type must not be NULL",
            "Name the event, e.g. 'FundsDeposited'.",
        )),
        Some("") => Err(AppendError::invalid_with(
            "22023",
            "event_type must not be empty",
            "Name the event, e.g. 'FundsDeposited'.",
        )),
        Some(t) if t.len() > MAX_EVENT_TYPE_BYTES => Err(AppendError::invalid_with(
            "22001",
            format!(
                "event_type is {} bytes long; the limit is {MAX_EVENT_TYPE_BYTES}",
                t.len()
            ),
            "Use the event's name, not its content.",
        )),
        Some(t) => Ok(t),
    }
}

/// Normalises an edition: NULL and `""` mean the main timeline.
pub fn normalize_edition(edition: Option<&str>) -> Result<&str, AppendError> {
    match edition {
        None | Some("") => Ok(MAIN_EDITION),
        Some(name) => check_name("edition", name),
    }
}

fn check_name<'a>(what: &str, name: &'a str) -> Result<&'a str, AppendError> {
    if name.is_empty() {
        return Err(AppendError::invalid(format!("{what} must not be empty")));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(AppendError::invalid_with(
            "22001",
            format!(
                "{what} is {} bytes long; the limit is {MAX_NAME_BYTES}",
                name.len()
            ),
            "Use a shorter name.",
        ));
    }
    if let Some(bad) = name.chars().find(|c| c.is_control() || *c == '/') {
        return Err(AppendError::invalid_with(
            "22023",
            format!("{what} {:?} contains the character {:?}", name, bad),
            "Names may not contain '/' or control characters.",
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edition_spellings_of_main_collapse() {
        assert_eq!(normalize_edition(None).unwrap(), MAIN_EDITION);
        assert_eq!(normalize_edition(Some("")).unwrap(), MAIN_EDITION);
        assert_eq!(normalize_edition(Some("what-if")).unwrap(), "what-if");
    }

    #[test]
    fn bad_names_are_refused_with_fitting_codes() {
        let code = |r: Result<&str, AppendError>| match r.unwrap_err() {
            AppendError::InvalidValue { code, .. } => code,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(code(check_domain(None)), "23502");
        assert_eq!(code(check_domain(Some(""))), "22023");
        assert_eq!(code(check_domain(Some(&"x".repeat(65)))), "22001");
        assert_eq!(code(check_domain(Some("a/b"))), "22023");
        assert_eq!(code(check_domain(Some("a\nb"))), "22023");
        assert!(check_domain(Some(&"x".repeat(64))).is_ok());
        assert!(check_domain(Some("order-fulfilment.v2")).is_ok());
        assert_eq!(code(check_event_type(None)), "23502");
        assert_eq!(code(check_event_type(Some(""))), "22023");
        assert_eq!(code(check_event_type(Some(&"t".repeat(513)))), "22001");
        assert!(check_event_type(Some("FundsDeposited")).is_ok());
    }
}
