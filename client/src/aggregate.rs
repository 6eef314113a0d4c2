//! [`AggregateId`]: which aggregate a call is about, as one value instead of loose
//! `domain, root, edition` arguments a caller could swap or forget.

use std::fmt;

use uuid::Uuid;

use crate::event::MAIN_EDITION;

/// An aggregate: its domain, its root, and the edition (timeline) it is read from or written to.
///
/// ```
/// use angzarr_store_client::AggregateId;
/// let root = uuid::Uuid::nil();
/// let account = AggregateId::new("account", root);
/// assert_eq!(account.edition(), "angzarr"); // the main timeline
/// let what_if = account.clone().in_edition("what-if");
/// assert_eq!(what_if.to_string(), "account/00000000-0000-0000-0000-000000000000@what-if");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AggregateId {
    domain: String,
    edition: String,
    root: Uuid,
}

impl AggregateId {
    /// `domain`/`root` on the main edition.
    pub fn new(domain: impl Into<String>, root: Uuid) -> Self {
        AggregateId {
            domain: domain.into(),
            edition: MAIN_EDITION.to_string(),
            root,
        }
    }

    /// The same aggregate on edition `edition` (`""` is main).
    #[must_use]
    pub fn in_edition(mut self, edition: impl Into<String>) -> Self {
        let edition = edition.into();
        self.edition = if edition.is_empty() {
            MAIN_EDITION.to_string()
        } else {
            edition
        };
        self
    }

    /// The domain (bounded context), e.g. `account`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The edition; `angzarr` ([`MAIN_EDITION`]) is the main timeline.
    pub fn edition(&self) -> &str {
        &self.edition
    }

    /// The root.
    pub fn root(&self) -> Uuid {
        self.root
    }

    /// True on the main edition.
    pub fn is_main(&self) -> bool {
        self.edition == MAIN_EDITION
    }
}

impl fmt::Display for AggregateId {
    /// `domain/root`, plus `@edition` off the main edition.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.root)?;
        if !self.is_main() {
            write!(f, "@{}", self.edition)?;
        }
        Ok(())
    }
}
