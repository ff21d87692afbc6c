//! Sets of `i64` ids as compressed bitmaps ([`RoaringTreemap`]): a few bits per id when ids are
//! dense (a tenant's rows of one table), never more than a few bytes when they are not.

use roaring::RoaringTreemap;

/// The treemap key of `id`: flipping the sign bit maps `i64` onto `u64` in order
/// (`i64::MIN` → 0, −1 → 2⁶³ − 1, 0 → 2⁶³, `i64::MAX` → `u64::MAX`).
pub(crate) fn key(id: i64) -> u64 {
    (id as u64) ^ (1 << 63)
}

/// A set of ids.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct IdSet {
    keys: RoaringTreemap,
}

impl IdSet {
    pub(crate) fn new() -> IdSet {
        IdSet::default()
    }

    /// Add `id`; whether it was new.
    pub(crate) fn insert(&mut self, id: i64) -> bool {
        self.keys.insert(key(id))
    }

    pub(crate) fn contains(&self, id: i64) -> bool {
        self.keys.contains(key(id))
    }

    /// How many ids.
    #[cfg(test)]
    pub(crate) fn len(&self) -> u64 {
        self.keys.len()
    }

    /// The ids as keys (see [`key`]).
    pub(crate) fn into_keys(self) -> RoaringTreemap {
        self.keys
    }
}

impl FromIterator<i64> for IdSet {
    fn from_iter<T: IntoIterator<Item = i64>>(iter: T) -> IdSet {
        let mut set = IdSet::new();
        for id in iter {
            set.insert(id);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn key_preserves_order_at_the_edges() {
        let ids = [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX];
        assert!(ids.windows(2).all(|w| key(w[0]) < key(w[1])));
        assert_eq!(key(i64::MIN), 0);
        assert_eq!(key(i64::MAX), u64::MAX);
    }

    proptest! {
        #[test]
        fn behaves_like_a_hash_set(ops in proptest::collection::vec((any::<bool>(), prop_oneof![-50i64..50, any::<i64>()]), 0..200)) {
            let mut set = IdSet::new();
            let mut model = std::collections::HashSet::new();
            for (insert, id) in ops {
                if insert {
                    prop_assert_eq!(set.insert(id), model.insert(id));
                } else {
                    prop_assert_eq!(set.contains(id), model.contains(&id));
                }
                prop_assert_eq!(set.len(), model.len() as u64);
            }
        }
    }
}
