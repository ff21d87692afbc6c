//! [`IdRanges`]: fresh ids as runs of consecutive values.

/// Fresh ids from [`ImportTx::allocate_ids`](super::ImportTx::allocate_ids): ascending runs of
/// consecutive ids that neither overlap nor touch (a gap separates two runs). A whole table's ids
/// usually come back as one run, or a handful when concurrent writers drew from the same sequence.
///
/// ```
/// use hoist::backend::IdRanges;
///
/// let mut ids = IdRanges::new();
/// ids.push(10, 3).unwrap();
/// ids.push(20, 2).unwrap();
/// assert_eq!(ids.len(), 5);
/// assert_eq!(ids.get(3), Some(20));
/// assert_eq!(ids.iter().collect::<Vec<_>>(), [10, 11, 12, 20, 21]);
/// assert_eq!(ids.runs(), [(10, 3), (20, 2)]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdRanges {
    /// `(first id, number of ids)`, ascending; every run non-empty.
    runs: Vec<(i64, u64)>,
    /// How many ids come before each run (prefix counts, for [`IdRanges::get`]).
    before: Vec<u64>,
    len: u64,
}

/// Why [`IdRanges::push`] refused a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("run of {len} ids from {start} passes i64::MAX")]
    Overflow { start: i64, len: u64 },
    #[error("run from {start} does not come after the previous run (which ends at {end})")]
    NotAscending { start: i64, end: i64 },
}

impl IdRanges {
    /// No ids.
    pub fn new() -> IdRanges {
        IdRanges::default()
    }

    /// One run of `len` ids from `start`.
    pub fn run(start: i64, len: u64) -> Result<IdRanges, RangeError> {
        let mut ranges = IdRanges::new();
        ranges.push(start, len)?;
        Ok(ranges)
    }

    /// Append `len` ids from `start`, above every id already held. A run that continues the last one
    /// is merged into it; an empty run is ignored.
    pub fn push(&mut self, start: i64, len: u64) -> Result<(), RangeError> {
        if len == 0 {
            return Ok(());
        }
        // The last id of the run must fit: start + len - 1 <= i64::MAX.
        if i64::try_from(len - 1)
            .ok()
            .and_then(|n| start.checked_add(n))
            .is_none()
        {
            return Err(RangeError::Overflow { start, len });
        }
        if let Some(&(prev, prev_len)) = self.runs.last() {
            // prev + prev_len - 1 fits (checked when it was pushed).
            let end = prev + (prev_len - 1) as i64;
            if start <= end {
                return Err(RangeError::NotAscending { start, end });
            }
            if start - 1 == end {
                if let Some(last) = self.runs.last_mut() {
                    last.1 += len;
                }
                self.len += len;
                return Ok(());
            }
        }
        self.runs.push((start, len));
        self.before.push(self.len);
        self.len += len;
        Ok(())
    }

    /// How many ids.
    pub fn len(&self) -> usize {
        usize::try_from(self.len).unwrap_or(usize::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The runs: `(first id, number of ids)`, ascending.
    pub fn runs(&self) -> &[(i64, u64)] {
        &self.runs
    }

    /// The lowest id.
    pub fn first(&self) -> Option<i64> {
        self.runs.first().map(|&(start, _)| start)
    }

    /// The `index`-th id in ascending order (binary search over the runs).
    pub fn get(&self, index: usize) -> Option<i64> {
        let index = u64::try_from(index).ok()?;
        if index >= self.len {
            return None;
        }
        // The last run starting at or before `index`.
        let run = self.before.partition_point(|&b| b <= index) - 1;
        let (start, _) = self.runs[run];
        // Within the run, so it fits (checked by `push`).
        Some(start + (index - self.before[run]) as i64)
    }

    /// Every id, ascending.
    pub fn iter(&self) -> Ids<std::iter::Copied<std::slice::Iter<'_, (i64, u64)>>> {
        Ids::new(self.runs.iter().copied())
    }

    /// Every id in a `Vec` (tests, small allocations).
    pub fn to_vec(&self) -> Vec<i64> {
        self.iter().collect()
    }
}

impl<'a> IntoIterator for &'a IdRanges {
    type Item = i64;
    type IntoIter = Ids<std::iter::Copied<std::slice::Iter<'a, (i64, u64)>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl IntoIterator for IdRanges {
    type Item = i64;
    type IntoIter = Ids<std::vec::IntoIter<(i64, u64)>>;

    fn into_iter(self) -> Self::IntoIter {
        Ids::new(self.runs.into_iter())
    }
}

/// The ids of an [`IdRanges`], ascending.
#[derive(Debug, Clone)]
pub struct Ids<I> {
    runs: I,
    /// The next id of the current run, and how many are left in it.
    next: i64,
    left: u64,
}

impl<I> Ids<I> {
    fn new(runs: I) -> Ids<I> {
        Ids {
            runs,
            next: 0,
            left: 0,
        }
    }
}

impl<I: Iterator<Item = (i64, u64)>> Iterator for Ids<I> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        while self.left == 0 {
            (self.next, self.left) = self.runs.next()?;
        }
        let id = self.next;
        self.left -= 1;
        if self.left > 0 {
            // Still within the run (`push` checked that its last id fits).
            self.next += 1;
        }
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn push_merges_and_refuses() {
        let mut r = IdRanges::new();
        assert!(r.is_empty());
        assert_eq!(r.get(0), None);
        r.push(5, 0).unwrap();
        assert!(r.is_empty());
        r.push(5, 2).unwrap();
        r.push(7, 3).unwrap();
        assert_eq!(r.runs(), [(5, 5)]);
        assert_eq!(
            r.push(9, 1),
            Err(RangeError::NotAscending { start: 9, end: 9 })
        );
        r.push(i64::MAX - 1, 2).unwrap();
        assert_eq!(r.len(), 7);
        assert_eq!(r.get(6), Some(i64::MAX));
        assert_eq!(
            IdRanges::run(i64::MAX, 2),
            Err(RangeError::Overflow {
                start: i64::MAX,
                len: 2
            })
        );
        assert_eq!(IdRanges::run(-3, 4).unwrap().to_vec(), vec![-3, -2, -1, 0]);
        assert_eq!(r.iter().last(), Some(i64::MAX));
        assert_eq!(r.clone().into_iter().collect::<Vec<_>>(), r.to_vec());
        assert_eq!((&r).into_iter().count(), 7);
    }

    proptest! {
        /// `get`, `iter` and `len` agree with the ids listed one by one.
        #[test]
        fn matches_a_list(runs in proptest::collection::vec((0i64..20, 0u64..6), 0..30), base in -1000i64..1000) {
            let mut r = IdRanges::new();
            let mut list = Vec::new();
            let mut next = base;
            for (gap, len) in runs {
                let start = next + gap;
                r.push(start, len).unwrap();
                list.extend((0..len as i64).map(|i| start + i));
                next = start + len as i64 + 1;
            }
            prop_assert_eq!(r.len(), list.len());
            prop_assert_eq!(r.to_vec(), list.clone());
            for (i, id) in list.iter().enumerate() {
                prop_assert_eq!(r.get(i), Some(*id));
            }
            prop_assert_eq!(r.get(list.len()), None);
            prop_assert!(r.runs().windows(2).all(|w| w[0].0 + (w[0].1 as i64) < w[1].0));
        }
    }
}
