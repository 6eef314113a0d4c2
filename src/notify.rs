//! Feed wake-ups: with `angzarr.notify = on`, a transaction that appended events sends one
//! NOTIFY on channel `angzarr_events` just before it commits, naming the domains it wrote
//! (comma-separated, or `*` when the list would not fit in a notification). Wake-ups are only
//! hints: polling the feed alone is complete.

use std::collections::BTreeSet;

use pgrx::pg_sys;
use pgrx::IntoDatum;

use crate::tx_state;

/// The channel readers LISTEN on.
pub const CHANNEL: &str = "angzarr_events";
/// Longest payload we send; PostgreSQL's limit is 8000 bytes.
const MAX_PAYLOAD: usize = 7900;

/// Reads `angzarr.notify` once per transaction and records `domain` when it is on.
pub fn note_domain(state: &mut tx_state::TxState, domain: &str) {
    if !state.notify_checked {
        state.notify_checked = true;
        if notify_enabled() {
            state.notify_domains = Some(BTreeSet::new());
        }
    }
    if let Some(domains) = state.notify_domains.as_mut() {
        if !domains.contains(domain) {
            domains.insert(domain.to_string());
        }
    }
}

fn notify_enabled() -> bool {
    // SAFETY: GetConfigOption returns NULL for an unset placeholder or a pointer to a
    // NUL-terminated string owned by guc.c, which we copy before returning.
    let value = unsafe {
        let ptr = pg_sys::GetConfigOption(c"angzarr.notify".as_ptr(), true, false);
        if ptr.is_null() {
            return false;
        }
        std::ffi::CStr::from_ptr(ptr)
            .to_string_lossy()
            .to_ascii_lowercase()
    };
    matches!(value.trim(), "on" | "true" | "yes" | "1")
}

/// The payload for a set of domains.
pub fn payload(domains: &BTreeSet<String>) -> String {
    let joined = domains
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(",");
    if joined.len() > MAX_PAYLOAD {
        "*".to_string()
    } else {
        joined
    }
}

/// Sends the transaction's notification, if any; called at pre-commit.
pub fn send_pending() {
    let domains = tx_state::with(|s| s.notify_domains.take());
    let Some(domains) = domains.filter(|d| !d.is_empty()) else {
        return;
    };
    let payload = payload(&domains);
    // SAFETY: pg_notify is a plain V1 function taking two text datums.
    unsafe {
        pgrx::direct_function_call::<()>(
            pg_sys::pg_notify,
            &[CHANNEL.into_datum(), payload.as_str().into_datum()],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_lists_domains_or_falls_back_to_star() {
        let few: BTreeSet<String> = ["table", "player"].iter().map(|s| s.to_string()).collect();
        assert_eq!(payload(&few), "player,table");
        let many: BTreeSet<String> = (0..2000).map(|i| format!("domain{i}")).collect();
        assert_eq!(payload(&many), "*");
    }
}
