//! Old→new id maps and id pools for the import.
//!
//! Tables referenced from outside their own subtree get an [`IdMap`]: the importer scans the archive
//! once for their ids, allocates the same number of fresh ids in one call, and assigns them in the
//! order of the old ids — so fresh ids keep the relative order of the source, and every reference
//! (forward, backward, between sibling records) resolves without a second pass over the database.
//! Other tables draw ids from an [`IdPool`] as their rows stream by.

/// Old ids of one table, sorted, mapped to fresh ids by position.
#[derive(Debug, Default)]
pub(crate) struct IdMap {
    old: Vec<i64>,
    new: Vec<i64>,
    /// Whether the row with this old id has been written (or buffered for writing).
    seen: Vec<bool>,
}

/// The result of looking an old id up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// The archive has no row with this id.
    Missing,
    /// The row exists in the archive but has not been written yet.
    Pending(i64),
    /// The row has been written (or is buffered to be written before anything that references it).
    Ready(i64),
}

impl IdMap {
    /// A map over `old` ids (any order, duplicates allowed).
    pub(crate) fn new(mut old: Vec<i64>) -> IdMap {
        old.sort_unstable();
        old.dedup();
        let n = old.len();
        IdMap {
            old,
            new: Vec::new(),
            seen: vec![false; n],
        }
    }

    /// How many fresh ids the map needs.
    pub(crate) fn len(&self) -> usize {
        self.old.len()
    }

    /// Assign fresh ids (ascending) to the old ids (ascending).
    pub(crate) fn assign(&mut self, fresh: Vec<i64>) {
        debug_assert_eq!(fresh.len(), self.old.len());
        self.new = fresh;
    }

    fn index(&self, old: i64) -> Option<usize> {
        self.old.binary_search(&old).ok()
    }

    pub(crate) fn lookup(&self, old: i64) -> Lookup {
        match self.index(old) {
            None => Lookup::Missing,
            Some(i) if self.seen[i] => Lookup::Ready(self.new[i]),
            Some(i) => Lookup::Pending(self.new[i]),
        }
    }

    /// Mark the row as written.
    pub(crate) fn mark_seen(&mut self, old: i64) {
        if let Some(i) = self.index(old) {
            self.seen[i] = true;
        }
    }

    /// Point an old id at an existing row (an object reused instead of inserted).
    pub(crate) fn reuse(&mut self, old: i64, existing: i64) {
        if let Some(i) = self.index(old) {
            self.new[i] = existing;
            self.seen[i] = true;
        }
    }
}

/// Fresh ids drawn in chunks for tables without an [`IdMap`].
#[derive(Debug, Default)]
pub(crate) struct IdPool {
    ids: std::collections::VecDeque<i64>,
}

impl IdPool {
    pub(crate) fn pop(&mut self) -> Option<i64> {
        self.ids.pop_front()
    }

    pub(crate) fn refill(&mut self, ids: Vec<i64>) {
        self.ids.extend(ids);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Fresh ids keep the order of the old ids, whatever order the archive lists them in.
        #[test]
        fn assignment_preserves_order(old in proptest::collection::vec(-1000i64..1000, 0..200), base in 1i64..1_000_000) {
            let mut map = IdMap::new(old.clone());
            let fresh: Vec<i64> = (0..map.len() as i64).map(|i| base + 3 * i).collect();
            map.assign(fresh);
            let mut sorted = old.clone();
            sorted.sort_unstable();
            sorted.dedup();
            let news: Vec<i64> = sorted.iter().map(|&o| match map.lookup(o) {
                Lookup::Pending(n) => n,
                other => panic!("unexpected {other:?}"),
            }).collect();
            prop_assert!(news.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn lookup_states() {
        let mut map = IdMap::new(vec![30, 10, 20, 10]);
        assert_eq!(map.len(), 3);
        map.assign(vec![100, 101, 102]);
        assert_eq!(map.lookup(20), Lookup::Pending(101));
        map.mark_seen(20);
        assert_eq!(map.lookup(20), Lookup::Ready(101));
        assert_eq!(map.lookup(25), Lookup::Missing);
        map.reuse(30, 7);
        assert_eq!(map.lookup(30), Lookup::Ready(7));
    }
}
