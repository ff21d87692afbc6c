//! Old→new id maps and id pools for the import.
//!
//! Tables referenced from outside their own subtree get an [`IdMap`]: the importer scans the archive
//! once for their ids, allocates the same number of fresh ids in one call, and assigns them in the
//! order of the old ids — so fresh ids keep the relative order of the source, and every reference
//! (forward, backward, between sibling records) resolves without a second pass over the database.
//! Other tables draw ids from an [`IdPool`] filled before the records stream, with as many ids as
//! the scan counted records of the table.
//!
//! Both stay small however large the tenant. The scan collects the old ids into a compressed bitmap
//! ([`IdSet`], roaring); [`IdMap::new`] then lays them out for rank queries (an old id's position
//! among them is its rank − 1), window by window of 2^16 possible ids: a window with at most
//! [`DENSE`] old ids keeps their low 16 bits as a sorted array (binary search), a fuller one becomes
//! a bitmap with the count of earlier bits per word (one popcount) — the layout of roaring's own
//! containers, which rank by summing every container before and every word before (hundreds of
//! nanoseconds per lookup at a million ids; this takes tens). A directory of the non-empty windows
//! holds the ids before each. The fresh ids are runs of consecutive ids ([`IdRanges`]), and
//! "written" is one bit per id: about 2 bytes per old id in all, against 17 for plain vectors. Only
//! reused rows (existing objects, duplicate memberships — few) take a hash-map entry.

use std::collections::HashMap;

use crate::backend::IdRanges;
use crate::idset::{IdSet, key};

/// A window is 2^16 consecutive keys (those of one roaring container).
const WINDOW_BITS: u32 = 16;
const WINDOW_WORDS: usize = (1 << WINDOW_BITS) / 64;
/// Windows with more old ids than this become bitmaps (roaring's own array/bitmap threshold: from
/// here on a bitmap is the smaller).
const DENSE: u64 = 4096;

/// Old ids of one table, mapped to fresh ids by position (the `i`-th smallest old id gets the
/// `i`-th smallest fresh id).
#[derive(Debug, Default)]
pub(crate) struct IdMap {
    /// Every window holding old ids, ascending.
    windows: Vec<Window>,
    /// The low 16 bits of the old ids of sparse windows, window after window, each ascending.
    lows: Vec<u16>,
    /// Dense windows: 1024 words of bits each, window after window.
    bits: Vec<u64>,
    /// Per word of `bits`: the bits set in earlier words of its window.
    word_ranks: Vec<u16>,
    /// How many old ids.
    len: u64,
    /// Fresh ids, by position.
    fresh: IdRanges,
    /// Per position: whether the row has been written (or buffered for writing). One bit each.
    seen: Vec<u64>,
    /// Positions pointed at an existing row instead of their fresh id.
    reused: HashMap<u64, i64>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    /// `key >> WINDOW_BITS` of its ids.
    window: u64,
    /// Old ids in earlier windows.
    before: u64,
    slot: Slot,
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    /// `lows[at..at + n]`.
    Sparse { at: usize, n: u16 },
    /// `bits[at..at + WINDOW_WORDS]`.
    Dense { at: usize },
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
    /// A map over the old ids of `set` (collected during the scan).
    pub(crate) fn new(set: IdSet) -> IdMap {
        let keys = set.into_keys();
        let mut map = IdMap::default();
        for (hi, bitmap) in keys.bitmaps() {
            // Hop from one non-empty window to the next.
            let mut next = bitmap.min();
            while let Some(lo) = next {
                let (start, end) = (lo & !0xFFFF, lo | 0xFFFF);
                let n = bitmap.range_cardinality(start..=end);
                let slot = if n > DENSE {
                    let at = map.bits.len();
                    map.bits.resize(at + WINDOW_WORDS, 0);
                    for v in bitmap.range(start..=end) {
                        let low = (v & 0xFFFF) as usize;
                        map.bits[at + low / 64] |= 1 << (low % 64);
                    }
                    // At most 2^16 − 64 bits before the last word: the counts fit.
                    let mut counted = 0u16;
                    for w in &map.bits[at..] {
                        map.word_ranks.push(counted);
                        counted = counted.wrapping_add(w.count_ones() as u16);
                    }
                    Slot::Dense { at }
                } else {
                    let at = map.lows.len();
                    map.lows
                        .extend(bitmap.range(start..=end).map(|v| (v & 0xFFFF) as u16));
                    Slot::Sparse { at, n: n as u16 }
                };
                map.windows.push(Window {
                    window: ((u64::from(hi) << 32) | u64::from(start)) >> WINDOW_BITS,
                    before: map.len,
                    slot,
                });
                map.len += n;
                next = end.checked_add(1).and_then(|e| bitmap.range(e..).next());
            }
        }
        drop(keys);
        map.lows.shrink_to_fit();
        map.bits.shrink_to_fit();
        map.word_ranks.shrink_to_fit();
        map.windows.shrink_to_fit();
        map.seen = vec![0; usize::try_from(map.len.div_ceil(64)).unwrap_or(usize::MAX)];
        map
    }

    /// How many fresh ids the map needs.
    pub(crate) fn len(&self) -> usize {
        usize::try_from(self.len).unwrap_or(usize::MAX)
    }

    /// Assign fresh ids (ascending) to the old ids (ascending). Refused (`Err` with the number
    /// needed) unless there is exactly one fresh id per old id.
    pub(crate) fn assign(&mut self, fresh: IdRanges) -> Result<(), usize> {
        if fresh.len() != self.len() {
            return Err(self.len());
        }
        self.fresh = fresh;
        Ok(())
    }

    /// The position of `old` among the old ids: its rank − 1.
    fn index(&self, old: i64) -> Option<u64> {
        let k = key(old);
        let w = self
            .windows
            .binary_search_by_key(&(k >> WINDOW_BITS), |w| w.window)
            .ok()?;
        let Window { before, slot, .. } = self.windows[w];
        let low = (k & 0xFFFF) as usize;
        let within = match slot {
            Slot::Sparse { at, n } => self.lows[at..at + usize::from(n)]
                .binary_search(&(low as u16))
                .ok()? as u64,
            Slot::Dense { at } => {
                let (word, bit) = (at + low / 64, low % 64);
                let bits = self.bits[word];
                if bits & (1 << bit) == 0 {
                    return None;
                }
                let below = (bits & ((1u64 << bit) - 1)).count_ones();
                u64::from(self.word_ranks[word]) + u64::from(below)
            }
        };
        Some(before + within)
    }

    fn fresh_id(&self, i: u64) -> Option<i64> {
        match self.reused.get(&i) {
            Some(&id) => Some(id),
            None => self.fresh.get(usize::try_from(i).ok()?),
        }
    }

    fn is_seen(&self, i: u64) -> bool {
        self.seen
            .get((i / 64) as usize)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn set_seen(&mut self, i: u64) {
        if let Some(w) = self.seen.get_mut((i / 64) as usize) {
            *w |= 1 << (i % 64);
        }
    }

    pub(crate) fn lookup(&self, old: i64) -> Lookup {
        // No fresh id (only before `assign`, which the importer never looks past) reads as missing.
        match self.index(old).and_then(|i| Some((i, self.fresh_id(i)?))) {
            None => Lookup::Missing,
            Some((i, id)) if self.is_seen(i) => Lookup::Ready(id),
            Some((_, id)) => Lookup::Pending(id),
        }
    }

    /// Mark the row as written.
    pub(crate) fn mark_seen(&mut self, old: i64) {
        if let Some(i) = self.index(old) {
            self.set_seen(i);
        }
    }

    /// Point an old id at an existing row (an object reused instead of inserted).
    pub(crate) fn reuse(&mut self, old: i64, existing: i64) {
        if let Some(i) = self.index(old) {
            self.reused.insert(i, existing);
            self.set_seen(i);
        }
    }
}

/// Fresh ids reserved up front for a table without an [`IdMap`], handed out in order.
#[derive(Debug, Default)]
pub(crate) struct IdPool {
    ids: IdRanges,
    next: usize,
}

impl IdPool {
    pub(crate) fn new(ids: IdRanges) -> IdPool {
        IdPool { ids, next: 0 }
    }

    pub(crate) fn pop(&mut self) -> Option<i64> {
        let id = self.ids.get(self.next)?;
        self.next += 1;
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn map(old: &[i64]) -> IdMap {
        IdMap::new(old.iter().copied().collect())
    }

    /// Fresh ids as runs from `starts` (gaps between them), `n` ids in all.
    fn fresh(n: usize, base: i64, gaps: &[(u64, i64)]) -> IdRanges {
        let mut ranges = IdRanges::new();
        let mut start = base;
        let mut left = n as u64;
        for &(len, gap) in gaps {
            let len = len.min(left);
            ranges.push(start, len).expect("ascending");
            start += len as i64 + 1 + gap;
            left -= len;
        }
        ranges.push(start, left).expect("ascending");
        ranges
    }

    proptest! {
        /// Fresh ids keep the order of the old ids, whatever order the archive lists them in.
        #[test]
        fn assignment_preserves_order(old in proptest::collection::vec(-1000i64..1000, 0..200), base in 1i64..1_000_000) {
            let mut map = map(&old);
            let fresh: Vec<(u64, i64)> = vec![(7, 3), (1, 0), (40, 1_000)];
            map.assign(super::tests::fresh(map.len(), base, &fresh)).expect("one fresh id per old id");
            let mut sorted = old.clone();
            sorted.sort_unstable();
            sorted.dedup();
            let news: Vec<i64> = sorted.iter().map(|&o| match map.lookup(o) {
                Lookup::Pending(n) => n,
                other => panic!("unexpected {other:?}"),
            }).collect();
            prop_assert!(news.windows(2).all(|w| w[0] < w[1]));
        }

        /// Against a naive model (sorted old ids, a HashMap old → (new, seen)) over random operation
        /// sequences: ids dense and sparse, negative, at the edges of i64, across many windows.
        #[test]
        fn behaves_like_the_naive_model(
            bases in proptest::collection::vec(prop_oneof![
                Just(0i64), Just(i64::MIN), Just(i64::MAX - 300_000), -5_000_000i64..5_000_000, any::<i64>().prop_map(|v| v / 2),
            ], 1..4),
            offsets in proptest::collection::vec((0usize..4, prop_oneof![0i64..70, 0i64..300_000]), 0..300),
            // Runs with a stride: dense windows (> 4096 ids of 2^16) next to sparse ones.
            blocks in proptest::collection::vec((0usize..4, 0i64..200_000, 0i64..9_000, 1i64..4), 0..3),
            gaps in proptest::collection::vec((0u64..50, 0i64..5), 0..5),
            start in -1_000i64..1_000_000,
            ops in proptest::collection::vec((0u8..3, 0usize..400, any::<bool>(), -1_000i64..1_000), 0..300),
        ) {
            let mut old: Vec<i64> = offsets
                .iter()
                .map(|&(b, off)| bases[b % bases.len()].saturating_add(off))
                .collect();
            for &(b, off, n, stride) in &blocks {
                let from = bases[b % bases.len()].saturating_add(off);
                old.extend((0..n).map(|j| from.saturating_add(j * stride)));
            }
            let mut map = map(&old);
            let mut sorted = old.clone();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(map.len(), sorted.len());
            let ids = fresh(sorted.len(), start, &gaps);
            prop_assert!(map.assign(fresh(sorted.len() + 1, start, &gaps)).is_err());
            map.assign(ids.clone()).expect("one fresh id per old id");
            let mut model: HashMap<i64, (i64, bool)> = sorted
                .iter()
                .zip(ids.iter())
                .map(|(&o, n)| (o, (n, false)))
                .collect();
            let expect = |model: &HashMap<i64, (i64, bool)>, o: i64| match model.get(&o) {
                None => Lookup::Missing,
                Some(&(n, true)) => Lookup::Ready(n),
                Some(&(n, false)) => Lookup::Pending(n),
            };
            for (op, pick, known, other) in ops {
                // Half the time an id of the archive, else one near it (mostly missing).
                let o = match (known, old.is_empty()) {
                    (true, false) => old[pick % old.len()],
                    _ => old.get(pick % old.len().max(1)).copied().unwrap_or(0).wrapping_add(other),
                };
                match op {
                    0 => {}
                    1 => {
                        map.mark_seen(o);
                        if let Some(e) = model.get_mut(&o) {
                            e.1 = true;
                        }
                    }
                    _ => {
                        map.reuse(o, other);
                        if let Some(e) = model.get_mut(&o) {
                            *e = (other, true);
                        }
                    }
                }
                prop_assert_eq!(map.lookup(o), expect(&model, o), "old id {}", o);
            }
            for &o in &sorted {
                prop_assert_eq!(map.lookup(o), expect(&model, o), "old id {}", o);
            }
        }

        /// The pool hands out every reserved id once, in order, then nothing.
        #[test]
        fn pool_drains_in_order(n in 0usize..300, start in -100i64..100, gaps in proptest::collection::vec((0u64..50, 0i64..5), 0..5)) {
            let ids = fresh(n, start, &gaps);
            let mut pool = IdPool::new(ids.clone());
            let drained: Vec<i64> = std::iter::from_fn(|| pool.pop()).collect();
            prop_assert_eq!(drained, ids.to_vec());
            prop_assert_eq!(pool.pop(), None);
        }
    }

    #[test]
    fn lookup_states() {
        let mut map = map(&[30, 10, 20, 10]);
        assert_eq!(map.len(), 3);
        assert_eq!(map.lookup(20), Lookup::Missing, "no fresh ids yet");
        map.assign(IdRanges::run(100, 3).expect("run"))
            .expect("three ids");
        assert_eq!(map.lookup(20), Lookup::Pending(101));
        map.mark_seen(20);
        assert_eq!(map.lookup(20), Lookup::Ready(101));
        assert_eq!(map.lookup(25), Lookup::Missing);
        map.mark_seen(25);
        map.reuse(25, 9);
        assert_eq!(map.lookup(25), Lookup::Missing);
        map.reuse(30, 7);
        assert_eq!(map.lookup(30), Lookup::Ready(7));
        assert_eq!(map.lookup(10), Lookup::Pending(100));
    }

    #[test]
    fn empty_map() {
        let mut map = map(&[]);
        assert_eq!(map.len(), 0);
        map.assign(IdRanges::new()).expect("none needed");
        assert_eq!(map.lookup(0), Lookup::Missing);
        map.mark_seen(0);
        map.reuse(0, 1);
        assert_eq!(map.lookup(0), Lookup::Missing);
    }

    /// A million dense ids cost far less than the 17 bytes per id of plain vectors, and their
    /// positions are right across window boundaries.
    #[test]
    fn dense_ids_are_compact() {
        let old: IdSet = (0..1_000_000i64)
            .map(|i| 5_000_000 + 2 * i + (i % 3 == 0) as i64)
            .collect();
        let mut map = IdMap::new(old);
        map.assign(IdRanges::run(1, 1_000_000).expect("run"))
            .expect("ids");
        for i in [0i64, 1, 32_767, 32_768, 65_535, 65_536, 999_999] {
            let o = 5_000_000 + 2 * i + (i % 3 == 0) as i64;
            assert_eq!(map.lookup(o), Lookup::Pending(i + 1), "old id {o}");
        }
        let bytes = map.lows.len() * 2
            + map.bits.len() * 8
            + map.word_ranks.len() * 2
            + map.windows.len() * size_of::<Window>()
            + map.seen.len() * 8;
        assert!(bytes < 2_500_000, "{bytes} bytes for a million ids");
    }
}
