//! The store's own heavyweight locks: one per aggregate being written, with escalation to
//! bucket locks for very large transactions, and one per named edition.
//!
//! All of them are advisory lock tags whose fourth field (`objsubid` in `pg_locks`) is one of
//! the values below. PostgreSQL's SQL-callable advisory lock functions only ever use 1 and 2
//! there, so no SQL statement can take, wait for or collide with these locks: a role without
//! the right to append cannot stall writers, and an application's own advisory locks never
//! meet ours.
//!
//! Escalation. Every lock a transaction holds takes an entry in the shared lock table, which
//! holds about `max_locks_per_transaction * max_connections` of them for the whole server. A
//! transaction that writes 100,000 aggregates cannot hold one lock each. So every writer first
//! takes its aggregate's *bucket* (one of [`BUCKETS`]) in share mode, then the aggregate in
//! exclusive mode. Once a transaction holds `angzarr.lock_escalation_threshold` aggregate
//! locks, it tries to take each further aggregate's bucket in exclusive mode instead, which
//! covers every aggregate of the bucket until it ends: without waiting, so it never waits for
//! a writer that waits for it; when the bucket is busy it falls back to the aggregate lock.
//! Such a transaction holds at most threshold + [`BUCKETS`] locks plus the aggregate locks of
//! buckets that were busy, and blocks other writers of the buckets it holds until it ends.
//!
//! Only one transaction per database escalates at a time: before its first exclusive bucket
//! lock a transaction takes the store's escalation lock, waiting for it. Two escalators could
//! otherwise each hold a bucket the other falls back to waiting for (a deadlock, which is what
//! two bulk loads running side by side hit). While one escalates, another that reaches the
//! threshold waits for it to end; it holds only share bucket locks and aggregate locks, which an
//! escalator never waits for unless both write the same aggregate.

use pgrx::pg_sys;

use crate::expectations::AggregateKey;
use crate::tx_state;

/// `objsubid` of an aggregate's lock (`objid`/`classid` hold the key's two halves).
pub const AGGREGATE_LOCK: u16 = 3;
/// `objsubid` of a bucket lock (`objid` is the bucket number).
pub const BUCKET_LOCK: u16 = 4;
/// `objsubid` of an edition's lock (`objid`/`classid` hold a hash of its name).
pub const EDITION_LOCK: u16 = 5;
/// `objsubid` of the store's escalation lock (`objid`/`classid` are 0): held by the one
/// transaction that may take exclusive bucket locks.
pub const ESCALATION_LOCK: u16 = 6;
/// How many buckets the aggregates are spread over.
pub const BUCKETS: usize = 1024;

const SHARE: pg_sys::LOCKMODE = pg_sys::ShareLock as pg_sys::LOCKMODE;
const EXCLUSIVE: pg_sys::LOCKMODE = pg_sys::ExclusiveLock as pg_sys::LOCKMODE;

/// What this transaction holds on a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BucketHold {
    #[default]
    None,
    Shared,
    Exclusive,
}

/// A 64-bit FNV-1a hash of the aggregate key: the aggregate lock's key, also computable from
/// SQL with `angzarr.aggregate_lock_key()` to find a writer in `pg_locks`.
pub fn lock_key(key: &AggregateKey) -> i64 {
    let mut h = Fnv::new();
    h.eat(key.domain.as_bytes());
    h.eat(&[0]);
    h.eat(key.edition.as_bytes());
    h.eat(&[0]);
    h.eat(&key.root);
    h.0 as i64
}

/// The bucket of an aggregate lock key.
pub fn bucket_of(lock_key: i64) -> usize {
    (lock_key as u64 % BUCKETS as u64) as usize
}

struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn eat(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= *b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

fn tag(kind: u16, key: u64) -> pg_sys::LOCKTAG {
    // SAFETY: MyDatabaseId is set for the whole life of a backend connected to a database.
    let database = unsafe { pg_sys::MyDatabaseId };
    pg_sys::LOCKTAG {
        locktag_field1: database.to_u32(),
        locktag_field2: (key >> 32) as u32,
        locktag_field3: key as u32,
        locktag_field4: kind,
        locktag_type: pg_sys::LockTagType::LOCKTAG_ADVISORY as u8,
        locktag_lockmethodid: pg_sys::USER_LOCKMETHOD as u8,
    }
}

/// Takes a transaction-scoped lock. With `wait`, waits for it (lock_timeout, deadlocks and
/// cancels raise PostgreSQL's own errors); without, returns false when it is taken.
fn acquire(tag: &pg_sys::LOCKTAG, mode: pg_sys::LOCKMODE, wait: bool) -> Acquired {
    // SAFETY: LockAcquire with a fully initialised tag, inside a transaction.
    let result = unsafe { pg_sys::LockAcquire(tag, mode, false, !wait) };
    match result {
        pg_sys::LockAcquireResult::LOCKACQUIRE_NOT_AVAIL => Acquired::NotAvailable,
        pg_sys::LockAcquireResult::LOCKACQUIRE_OK => Acquired::New,
        _ => Acquired::AlreadyHeld,
    }
}

#[derive(PartialEq, Eq)]
enum Acquired {
    New,
    AlreadyHeld,
    NotAvailable,
}

/// Locks `key` for writing until the transaction ends, escalating as described above.
/// No `tx_state` borrow is held while waiting.
pub fn lock_aggregate(key: &AggregateKey) {
    lock_aggregate_if(key, true);
}

/// Like [`lock_aggregate`], but without waiting for the aggregate's lock: returns false when
/// another transaction holds it (the bucket, in share mode, may still be waited for).
pub fn try_lock_aggregate(key: &AggregateKey) -> bool {
    lock_aggregate_if(key, false)
}

fn lock_aggregate_if(key: &AggregateKey, wait: bool) -> bool {
    let lock_key = lock_key(key);
    let bucket = bucket_of(lock_key);
    let (hold, escalate) = tx_state::with(|s| (s.bucket_hold(bucket), s.should_escalate()));
    if hold == BucketHold::Exclusive {
        return true;
    }
    let bucket_tag = tag(BUCKET_LOCK, bucket as u64);
    if escalate && !tx_state::with(|s| s.escalating()) {
        acquire(&tag(ESCALATION_LOCK, 0), EXCLUSIVE, true);
        tx_state::with(|s| s.set_escalating());
    }
    if escalate && acquire(&bucket_tag, EXCLUSIVE, false) != Acquired::NotAvailable {
        tx_state::with(|s| s.set_bucket_hold(bucket, BucketHold::Exclusive));
        return true;
    }
    if hold == BucketHold::None {
        acquire(&bucket_tag, SHARE, true);
        tx_state::with(|s| s.set_bucket_hold(bucket, BucketHold::Shared));
    }
    match acquire(&tag(AGGREGATE_LOCK, lock_key as u64), EXCLUSIVE, wait) {
        Acquired::New => {
            tx_state::with(|s| s.count_aggregate_lock());
            true
        }
        Acquired::AlreadyHeld => true,
        Acquired::NotAvailable => false,
    }
}

/// Waits until the transaction that holds `key`'s lock ends, without taking the lock: every
/// writer waiting like this wakes at once (taking the lock hands it on one waiter at a time).
pub fn wait_for_writer(key: &AggregateKey) {
    let t = tag(AGGREGATE_LOCK, lock_key(key) as u64);
    acquire(&t, SHARE, true);
    // SAFETY: releases the share lock just taken, in this transaction.
    unsafe { pg_sys::LockRelease(&t, SHARE, false) };
}

/// The lock key of an edition name.
fn edition_key(edition: &str) -> u64 {
    let mut h = Fnv::new();
    h.eat(edition.as_bytes());
    h.0
}

/// Takes `edition`'s lock in share mode: held by every transaction that starts an aggregate's
/// own history in a named edition, so that defining the edition's divergence points waits.
pub fn share_edition(edition: &str) {
    acquire(&tag(EDITION_LOCK, edition_key(edition)), SHARE, true);
}

/// Takes `edition`'s lock in exclusive mode; returns whether it had to wait for a writer.
pub fn lock_edition_exclusive(edition: &str) -> bool {
    let t = tag(EDITION_LOCK, edition_key(edition));
    if acquire(&t, EXCLUSIVE, false) != Acquired::NotAvailable {
        return false;
    }
    acquire(&t, EXCLUSIVE, true);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_separate_every_part_of_the_key() {
        let k = |d: &str, e: &str, r: u8| AggregateKey {
            domain: d.into(),
            edition: e.into(),
            root: [r; 16],
        };
        let base = lock_key(&k("player", "angzarr", 1));
        assert_eq!(base, lock_key(&k("player", "angzarr", 1)));
        assert_ne!(base, lock_key(&k("player", "angzarr", 2)));
        assert_ne!(base, lock_key(&k("player", "what-if", 1)));
        assert_ne!(lock_key(&k("ab", "c", 1)), lock_key(&k("a", "bc", 1)));
    }

    #[test]
    fn buckets_cover_the_range_evenly() {
        let mut counts = vec![0u32; BUCKETS];
        for i in 0..(BUCKETS as u32 * 64) {
            let mut root = [0u8; 16];
            root[..4].copy_from_slice(&i.to_le_bytes());
            let key = AggregateKey {
                domain: "d".into(),
                edition: "angzarr".into(),
                root,
            };
            counts[bucket_of(lock_key(&key))] += 1;
        }
        let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(*min > 20 && *max < 120, "uneven buckets: {min}..{max}");
    }
}
