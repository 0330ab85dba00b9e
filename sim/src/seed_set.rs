//! The seeds of a sweep, numbered from 0 in the order they run: a list, or a range thinned to
//! one shard. A range is computed, not stored, so a sweep's memory does not grow with its
//! number of seeds (issue 13: flat memory from 1,000 to 100,000 seeds and beyond).

use crate::sweep::Shard;
use std::ops::Range;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeedSet {
    /// Seeds as written, in this order.
    List(Arc<[u64]>),
    /// Every seed of `range` whose number modulo the shard's count is its index − 1.
    Range { range: Range<u64>, shard: Shard },
}

impl SeedSet {
    /// The first seed of a shard of a range, or `None` when the shard holds none.
    fn first_of_range(range: &Range<u64>, shard: Shard) -> Option<u64> {
        let wanted = shard.index - 1;
        let offset = (wanted + shard.count - range.start % shard.count) % shard.count;
        range
            .start
            .checked_add(offset)
            .filter(|first| *first < range.end)
    }

    pub fn len(&self) -> usize {
        match self {
            SeedSet::List(seeds) => seeds.len(),
            SeedSet::Range { range, shard } => match SeedSet::first_of_range(range, *shard) {
                Some(first) => {
                    usize::try_from((range.end - 1 - first) / shard.count + 1).unwrap_or(usize::MAX)
                }
                None => 0,
            },
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The seed that runs `index`-th.
    pub fn get(&self, index: usize) -> Option<u64> {
        match self {
            SeedSet::List(seeds) => seeds.get(index).copied(),
            SeedSet::Range { range, shard } => {
                let first = SeedSet::first_of_range(range, *shard)?;
                let step = u64::try_from(index).ok()?.checked_mul(shard.count)?;
                first.checked_add(step).filter(|seed| *seed < range.end)
            }
        }
    }

    pub fn first(&self) -> Option<u64> {
        self.get(0)
    }

    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.len()).map_while(|index| self.get(index))
    }
}

/// A whole range (no shard), computed as it runs.
impl From<Range<u64>> for SeedSet {
    fn from(range: Range<u64>) -> SeedSet {
        Shard::ALL.seeds(range)
    }
}

impl<T: AsRef<[u64]> + ?Sized> From<&T> for SeedSet {
    fn from(seeds: &T) -> SeedSet {
        SeedSet::List(Arc::from(seeds.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A shard of a range holds exactly the seeds a filter over the range would keep, in
        /// order, without listing them.
        #[test]
        fn a_shard_of_a_range_is_the_filtered_range(
            start in 0u64..1_000,
            length in 0u64..500,
            count in 1u64..9,
            index_choice in 0u64..8,
        ) {
            let shard = Shard { index: index_choice % count + 1, count };
            let range = start..start + length;
            let expected: Vec<u64> = range
                .clone()
                .filter(|seed| seed % count == shard.index - 1)
                .collect();
            let set = SeedSet::Range { range, shard };
            prop_assert_eq!(set.len(), expected.len());
            prop_assert_eq!(set.iter().collect::<Vec<_>>(), expected.clone());
            prop_assert_eq!(set.get(expected.len()), None);
            prop_assert_eq!(set.first(), expected.first().copied());
        }
    }

    #[test]
    fn a_range_reaching_the_largest_seed_does_not_overflow() {
        let set = SeedSet::Range {
            range: u64::MAX - 10..u64::MAX,
            shard: Shard { index: 3, count: 4 },
        };
        let expected: Vec<u64> = (u64::MAX - 10..u64::MAX)
            .filter(|seed| seed % 4 == 2)
            .collect();
        assert_eq!(set.iter().collect::<Vec<_>>(), expected);
        assert_eq!(set.get(usize::MAX), None);
    }

    #[test]
    fn a_whole_range_is_every_seed_of_it() {
        let set = SeedSet::from(7..12);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![7, 8, 9, 10, 11]);
        assert!(SeedSet::from(5..5).is_empty());
    }

    #[test]
    fn a_list_keeps_its_order() {
        let set = SeedSet::from(&[5, 3, 9]);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![5, 3, 9]);
        assert_eq!(set.len(), 3);
    }
}
