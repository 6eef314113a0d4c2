//! What the append path remembers for the rest of the current transaction.
//!
//! The first row a transaction writes to an aggregate takes the aggregate's lock and reads its
//! head from the index; every later row of the transaction continues from this cache. Locks are
//! held until the transaction ends, so nobody else can move a cached head. A rolled-back
//! savepoint releases the locks it took and forgets the rows it wrote, so every change made
//! inside a subtransaction is recorded in an undo log that `ROLLBACK TO SAVEPOINT` replays.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};

use pgrx::pg_sys;

use crate::expectations::AggregateKey;
use crate::locks::{BucketHold, BUCKETS};

/// Where an aggregate stands inside the current transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamHead {
    /// The sequence the next row gets.
    pub next_sequence: i64,
    /// The feed order key of the aggregate's last event (0 when it has none).
    pub feed_tx: i64,
    /// The writer-chosen id of the row stamped last, until the next row confirms that it was
    /// really inserted (`ON CONFLICT DO NOTHING` may have skipped it).
    pub unconfirmed: Option<[u8; 16]>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    head: StreamHead,
    /// The subtransaction that last saved an undo record for this entry.
    saved_in: pg_sys::SubTransactionId,
}

enum Undo {
    Head(AggregateKey, Option<Entry>),
    Explicit(AggregateKey, Option<i64>),
    Consumed(AggregateKey),
    Setting(bool, HashMap<AggregateKey, i64>, HashSet<AggregateKey>),
    Rearmed(bool),
    IdempotencyKey(AggregateKey, String),
    Bucket(usize, BucketHold),
    Escalating,
}

/// The per-transaction state of this backend.
#[derive(Default)]
pub struct TxState {
    heads: HashMap<AggregateKey, Entry>,
    /// Expectations registered by `angzarr._expect_next_sequence()`, consumed by the next row.
    explicit: HashMap<AggregateKey, i64>,
    /// The relation the heads were read from: a store dropped and created again in the same
    /// transaction starts from its own (empty) heads.
    heads_rel: Option<pg_sys::Oid>,
    /// Whether `setting` holds what the latest SET of `angzarr.expected_sequences` armed.
    setting_armed: bool,
    setting: HashMap<AggregateKey, i64>,
    /// Aggregates whose setting entry a row has already been checked against.
    consumed: HashSet<AggregateKey>,
    /// Domains written, when `angzarr.notify` is on (read once per transaction).
    pub notify_domains: Option<BTreeSet<String>>,
    pub notify_checked: bool,
    /// Idempotency keys this transaction stored, per aggregate, with the command that did.
    idempotency_keys: HashMap<(AggregateKey, String), pg_sys::CommandId>,
    /// What this transaction holds on each aggregate bucket (empty until the first lock).
    buckets: Vec<BucketHold>,
    /// Aggregate locks this transaction has taken (a count for escalation, never undone).
    aggregate_locks: u32,
    /// Whether this transaction holds the escalation lock (see `locks.rs`).
    escalating: bool,
    undo: Vec<(pg_sys::SubTransactionId, Undo)>,
}

thread_local! {
    static STATE: RefCell<TxState> = RefCell::new(TxState::default());
}

/// Runs `f` with the backend's transaction state. `f` must not raise a PostgreSQL error through
/// [`crate::errors::raise`]; return the error and raise it after `with` has returned.
pub fn with<R>(f: impl FnOnce(&mut TxState) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

/// Like [`with`], but does nothing when the state is in use (for hooks PostgreSQL may call at
/// any time, which must not fail).
pub fn try_with(f: impl FnOnce(&mut TxState)) {
    STATE.with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            f(&mut s)
        }
    })
}

fn current_subxact() -> pg_sys::SubTransactionId {
    // SAFETY: a plain read of xact.c state.
    unsafe { pg_sys::GetCurrentSubTransactionId() }
}

const TOP_SUBXACT: pg_sys::SubTransactionId = 1;

impl TxState {
    fn log(&mut self, undo: impl FnOnce() -> Undo) {
        let sub = current_subxact();
        if sub > TOP_SUBXACT {
            self.undo.push((sub, undo()));
        }
    }

    /// The cached head of `key`, if this transaction already holds its lock.
    pub fn head(&self, key: &AggregateKey) -> Option<StreamHead> {
        self.heads.get(key).map(|e| e.head)
    }

    /// Stores a new head for `key`.
    pub fn set_head(&mut self, key: &AggregateKey, head: StreamHead) {
        let sub = current_subxact();
        match self.heads.get_mut(key) {
            Some(entry) if entry.saved_in == sub || sub == TOP_SUBXACT => entry.head = head,
            Some(entry) => {
                let before = *entry;
                entry.head = head;
                entry.saved_in = sub;
                self.undo.push((sub, Undo::Head(key.clone(), Some(before))));
            }
            None => {
                self.heads.insert(
                    key.clone(),
                    Entry {
                        head,
                        saved_in: sub,
                    },
                );
                self.log(|| Undo::Head(key.clone(), None));
            }
        }
    }

    /// Registers an explicit expectation for the next row written to `key`.
    pub fn expect(&mut self, key: AggregateKey, next_sequence: i64) {
        let before = self.explicit.insert(key.clone(), next_sequence);
        self.log(|| Undo::Explicit(key, before));
    }

    /// Makes sure `setting` holds what the latest SET armed; `parse` runs once per SET.
    pub fn arm_setting<E>(
        &mut self,
        text: Option<&str>,
        parse: impl FnOnce(&str) -> Result<HashMap<AggregateKey, i64>, E>,
    ) -> Result<(), E> {
        if self.setting_armed {
            return Ok(());
        }
        let parsed = match text {
            Some(t) => parse(t)?,
            None => HashMap::new(),
        };
        let old_map = std::mem::replace(&mut self.setting, parsed);
        let old_consumed = std::mem::take(&mut self.consumed);
        self.setting_armed = true;
        self.log(|| Undo::Setting(false, old_map, old_consumed));
        Ok(())
    }

    /// A new SET of the setting: its expectations apply to the next row of each aggregate.
    pub fn rearm_setting(&mut self) {
        let before = std::mem::replace(&mut self.setting_armed, false);
        self.log(|| Undo::Rearmed(before));
    }

    /// Forgets cached heads read from another relation than `rel`.
    pub fn use_relation(&mut self, rel: pg_sys::Oid) {
        if self.heads_rel != Some(rel) {
            self.heads.clear();
            self.heads_rel = Some(rel);
        }
    }

    /// What this transaction holds on `bucket`.
    pub fn bucket_hold(&self, bucket: usize) -> BucketHold {
        self.buckets.get(bucket).copied().unwrap_or_default()
    }

    /// Records a bucket lock taken in the current (sub)transaction.
    pub fn set_bucket_hold(&mut self, bucket: usize, hold: BucketHold) {
        if self.buckets.is_empty() {
            self.buckets = vec![BucketHold::None; BUCKETS];
        }
        let before = std::mem::replace(&mut self.buckets[bucket], hold);
        self.log(|| Undo::Bucket(bucket, before));
    }

    /// The command of this transaction that stored idempotency key `idem` on `key`, if any.
    pub fn idempotency_key_command(
        &self,
        key: &AggregateKey,
        idem: &str,
    ) -> Option<pg_sys::CommandId> {
        self.idempotency_keys
            .get(&(key.clone(), idem.to_string()))
            .copied()
    }

    /// Records that `command` stores idempotency key `idem` on `key`.
    pub fn note_idempotency_key(
        &mut self,
        key: &AggregateKey,
        idem: String,
        command: pg_sys::CommandId,
    ) {
        self.idempotency_keys
            .insert((key.clone(), idem.clone()), command);
        self.log(|| Undo::IdempotencyKey(key.clone(), idem));
    }

    /// Whether this transaction holds the store's escalation lock.
    pub fn escalating(&self) -> bool {
        self.escalating
    }

    /// Records that the escalation lock was taken in the current (sub)transaction; a rolled-back
    /// savepoint releases the lock, and forgets this with it.
    pub fn set_escalating(&mut self) {
        self.escalating = true;
        self.log(|| Undo::Escalating);
    }

    /// Counts an aggregate lock taken by this transaction.
    pub fn count_aggregate_lock(&mut self) {
        self.aggregate_locks = self.aggregate_locks.saturating_add(1);
    }

    /// Whether the next aggregate should be covered by an exclusive bucket lock.
    pub fn should_escalate(&self) -> bool {
        self.aggregate_locks >= crate::guc::escalation_threshold()
    }

    /// An expectation that applies to the next row of `key`, without consuming it.
    pub fn peek_expectation(&self, key: &AggregateKey) -> Option<i64> {
        if let Some(e) = self.explicit.get(key) {
            return Some(*e);
        }
        if self.setting.is_empty() || self.consumed.contains(key) {
            return None;
        }
        self.setting.get(key).copied()
    }

    /// Takes every expectation that applies to the next row of `key`, at most one of each kind.
    pub fn take_expectations(&mut self, key: &AggregateKey) -> [Option<i64>; 2] {
        if self.explicit.is_empty() && self.setting.is_empty() {
            return [None, None];
        }
        let explicit = self.explicit.remove(key);
        if let Some(e) = explicit {
            self.log(|| Undo::Explicit(key.clone(), Some(e)));
        }
        let from_setting = match self.setting.get(key) {
            Some(e) if !self.consumed.contains(key) => {
                let e = *e;
                self.consumed.insert(key.clone());
                self.log(|| Undo::Consumed(key.clone()));
                Some(e)
            }
            _ => None,
        };
        [explicit, from_setting]
    }

    /// Forgets every head cached under `edition` (a discarded edition's rows are gone).
    pub fn forget_edition(&mut self, edition: &str) {
        self.heads.retain(|k, _| k.edition != edition);
    }

    fn rollback_to(&mut self, sub: pg_sys::SubTransactionId) {
        while matches!(self.undo.last(), Some((s, _)) if *s >= sub) {
            let Some((_, undo)) = self.undo.pop() else {
                break;
            };
            match undo {
                Undo::Head(key, Some(entry)) => {
                    self.heads.insert(key, entry);
                }
                Undo::Head(key, None) => {
                    self.heads.remove(&key);
                }
                Undo::Explicit(key, Some(e)) => {
                    self.explicit.insert(key, e);
                }
                Undo::Explicit(key, None) => {
                    self.explicit.remove(&key);
                }
                Undo::Consumed(key) => {
                    self.consumed.remove(&key);
                }
                Undo::Setting(armed, map, consumed) => {
                    self.setting_armed = armed;
                    self.setting = map;
                    self.consumed = consumed;
                }
                Undo::Rearmed(armed) => self.setting_armed = armed,
                Undo::IdempotencyKey(key, idem) => {
                    self.idempotency_keys.remove(&(key, idem));
                }
                Undo::Bucket(bucket, hold) => self.buckets[bucket] = hold,
                Undo::Escalating => self.escalating = false,
            }
        }
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_xact_event(
    event: pg_sys::XactEvent::Type,
    _arg: *mut std::ffi::c_void,
) {
    use pg_sys::XactEvent::*;
    match event {
        XACT_EVENT_PRE_COMMIT => {
            crate::feed_clock::before_commit();
            crate::notify::send_pending()
        }
        XACT_EVENT_PRE_PREPARE => crate::feed_clock::before_commit(),
        XACT_EVENT_COMMIT
        | XACT_EVENT_ABORT
        | XACT_EVENT_PREPARE
        | XACT_EVENT_PARALLEL_COMMIT
        | XACT_EVENT_PARALLEL_ABORT => {
            STATE.with(|s| {
                if let Ok(mut s) = s.try_borrow_mut() {
                    *s = TxState::default();
                }
            });
        }
        _ => {}
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_subxact_event(
    event: pg_sys::SubXactEvent::Type,
    my_subid: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    if event == pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB {
        STATE.with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                s.rollback_to(my_subid);
            }
        });
    }
}

/// Hooks the state into transaction and subtransaction ends; called once from `_PG_init`.
pub fn register_callbacks() {
    // SAFETY: registering plain function pointers with xact.c; they live as long as the library.
    unsafe {
        pg_sys::RegisterXactCallback(Some(on_xact_event), std::ptr::null_mut());
        pg_sys::RegisterSubXactCallback(Some(on_subxact_event), std::ptr::null_mut());
    }
}
