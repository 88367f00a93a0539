//! A small in-process cache whose entries are only served while the database
//! still says they are current. Each entry carries the change token it was
//! computed under; a lookup passes the token just read from the database and
//! hits only when the two are equal, so a write through any process (which
//! changes the token) is visible through every process at once.
//!
//! The cache is bounded in entries and in bytes; when an insert would pass
//! either bound, the least recently used entries go first. Eviction scans the
//! entries (a few hundred at most), which costs far less than the miss that
//! caused the insert. No actix, no diesel here.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Limits of a [`ValidatedCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Most entries held at once.
    pub max_entries: usize,
    /// Most bytes held at once (the sum of the values' weights).
    pub max_bytes: usize,
    /// Values heavier than this are never held (so one export-sized answer
    /// cannot push out everything else).
    pub max_entry_bytes: usize,
}

struct Slot<T, V> {
    token: T,
    value: V,
    bytes: usize,
    last_used: u64,
}

struct Inner<K, T, V> {
    slots: HashMap<K, Slot<T, V>>,
    bytes: usize,
    clock: u64,
}

/// A map from `K` to a value computed under change token `T`, bounded by
/// [`CacheLimits`]. Values are cloned out on a hit, so `V` should be cheap
/// to clone (reference-counted bytes, say).
pub struct ValidatedCache<K, T, V> {
    limits: CacheLimits,
    inner: Mutex<Inner<K, T, V>>,
}

impl<K: Eq + Hash + Clone, T: PartialEq, V: Clone> ValidatedCache<K, T, V> {
    pub fn new(limits: CacheLimits) -> Self {
        Self {
            limits,
            inner: Mutex::new(Inner {
                slots: HashMap::new(),
                bytes: 0,
                clock: 0,
            }),
        }
    }

    /// The value for `key` if it was computed under `token`. An entry computed
    /// under another token is dropped: tokens only move forward, so it can
    /// never be served again.
    pub fn get(&self, key: &K, token: &T) -> Option<V> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        match inner.slots.get_mut(key) {
            Some(slot) if slot.token == *token => {
                slot.last_used = now;
                Some(slot.value.clone())
            }
            Some(_) => {
                if let Some(old) = inner.slots.remove(key) {
                    inner.bytes -= old.bytes;
                }
                None
            }
            None => None,
        }
    }

    /// Holds `value`, computed under `token`, for `key`, replacing what was
    /// there, then evicts least recently used entries until both bounds hold.
    /// A value heavier than `max_entry_bytes` is not held.
    pub fn insert(&self, key: K, token: T, value: V, bytes: usize) {
        if bytes > self.limits.max_entry_bytes || bytes > self.limits.max_bytes || self.limits.max_entries == 0 {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let last_used = inner.clock;
        if let Some(old) = inner.slots.insert(
            key.clone(),
            Slot {
                token,
                value,
                bytes,
                last_used,
            },
        ) {
            inner.bytes -= old.bytes;
        }
        inner.bytes += bytes;
        while inner.slots.len() > self.limits.max_entries || inner.bytes > self.limits.max_bytes {
            let victim = inner
                .slots
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, s)| s.last_used)
                .map(|(k, _)| k.clone());
            let Some(victim) = victim else { break };
            if let Some(old) = inner.slots.remove(&victim) {
                inner.bytes -= old.bytes;
            }
        }
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, T, V>> {
        // A panic while holding the lock leaves consistent data (every update
        // is a few field writes), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(max_entries: usize, max_bytes: usize, max_entry_bytes: usize) -> ValidatedCache<&'static str, u32, u32> {
        ValidatedCache::new(CacheLimits {
            max_entries,
            max_bytes,
            max_entry_bytes,
        })
    }

    #[test]
    fn a_value_is_served_only_under_the_token_it_was_computed_with() {
        let c = cache(4, 100, 100);
        c.insert("a", 1, 10, 5);
        assert_eq!(c.get(&"a", &1), Some(10));
        assert_eq!(c.get(&"b", &1), None);
        // The database moved on: the stale entry is dropped, not served.
        assert_eq!(c.get(&"a", &2), None);
        assert_eq!((c.len(), c.bytes()), (0, 0));
        assert_eq!(c.get(&"a", &1), None);
    }

    #[test]
    fn reinserting_a_key_replaces_its_value_and_weight() {
        let c = cache(4, 100, 100);
        c.insert("a", 1, 10, 30);
        c.insert("a", 2, 20, 7);
        assert_eq!((c.len(), c.bytes()), (1, 7));
        assert_eq!(c.get(&"a", &2), Some(20));
    }

    #[test]
    fn the_entry_bound_evicts_the_least_recently_used() {
        let c = cache(2, 100, 100);
        c.insert("a", 1, 1, 1);
        c.insert("b", 1, 2, 1);
        assert_eq!(c.get(&"a", &1), Some(1)); // "b" is now the least recently used
        c.insert("c", 1, 3, 1);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(&"b", &1), None);
        assert_eq!(c.get(&"a", &1), Some(1));
        assert_eq!(c.get(&"c", &1), Some(3));
    }

    #[test]
    fn the_byte_bound_evicts_until_the_new_entry_fits() {
        let c = cache(10, 100, 100);
        c.insert("a", 1, 1, 40);
        c.insert("b", 1, 2, 40);
        c.insert("c", 1, 3, 10);
        assert_eq!(c.bytes(), 90);
        c.insert("d", 1, 4, 60); // needs 50 more: "a" and then "b" go
        assert_eq!(c.get(&"a", &1), None);
        assert_eq!(c.get(&"b", &1), None);
        assert_eq!(c.get(&"c", &1), Some(3));
        assert_eq!(c.get(&"d", &1), Some(4));
        assert_eq!(c.bytes(), 70);
    }

    #[test]
    fn a_value_heavier_than_the_entry_bound_is_not_held() {
        let c = cache(10, 100, 20);
        c.insert("a", 1, 1, 10);
        c.insert("big", 1, 2, 21);
        assert_eq!(c.get(&"big", &1), None);
        assert_eq!((c.len(), c.bytes()), (1, 10));
        // Nor one heavier than the whole cache, whatever the entry bound says.
        let c = cache(10, 100, 1000);
        c.insert("huge", 1, 1, 101);
        assert!(c.is_empty());
    }

    #[test]
    fn bounds_hold_under_many_inserts() {
        let c: ValidatedCache<u32, u32, u32> = ValidatedCache::new(CacheLimits {
            max_entries: 16,
            max_bytes: 1000,
            max_entry_bytes: 200,
        });
        for i in 0..1000u32 {
            c.insert(i % 50, i, i, (i as usize * 37) % 250);
            assert!(c.len() <= 16);
            assert!(c.bytes() <= 1000);
        }
    }
}
