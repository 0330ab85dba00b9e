//! Delta debugging: Zeller and Hildebrandt's `ddmin` ("Simplifying and Isolating
//! Failure-Inducing Input", IEEE TSE 28(2), 2002). Given a list that makes a test fail, it
//! finds a sub-list that still fails and is 1-minimal: removing any one element of it makes
//! the test pass. It splits the list into `n` chunks, keeps a chunk that fails on its own
//! ("reduce to subset"), else a complement that fails ("reduce to complement"), else doubles
//! `n`, until the chunks are single elements.
//!
//! Two additions to the paper's algorithm: the empty list is tested first (a bug switch may
//! fail a run without any fault, and then one test settles it), and every sub-list is
//! tested at most once (a cache keyed by the elements' positions), since with `n = 2` the
//! complements are the chunks again. The test can say [`Outcome::Stop`] (its budget is
//! spent): the search ends with the smallest failing list found so far.
//!
//! Pure: no runs, no clock. The shrinker (`watermark_sim::shrink`) hands it one simulated
//! run per test; the unit tests below hand it synthetic predicates.

use std::collections::BTreeMap;

/// What one test of a candidate list said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The candidate still fails the way the original did: keep it.
    Fails,
    /// It does not (it passes, fails otherwise, or cannot run).
    Passes,
    /// No more tests may run.
    Stop,
}

/// The result of [`ddmin`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Minimised<T> {
    /// The smallest failing list found, in the original order.
    pub items: Vec<T>,
    /// How many times the test ran (cached answers not counted).
    pub tests: usize,
    /// The test said [`Outcome::Stop`]: `items` fails but may not be 1-minimal.
    pub stopped: bool,
}

/// Minimises `items`, which must make `test` fail, to a 1-minimal failing sub-list (or the
/// smallest found when the test stops the search). Elements keep their relative order.
pub fn ddmin<T: Clone>(items: &[T], mut test: impl FnMut(&[T]) -> Outcome) -> Minimised<T> {
    let mut search = Search {
        items,
        test: &mut test,
        cache: BTreeMap::new(),
        tests: 0,
    };
    let mut current: Vec<usize> = (0..items.len()).collect();
    let stopped = search.minimise(&mut current).is_err();
    Minimised {
        items: current.iter().map(|index| items[*index].clone()).collect(),
        tests: search.tests,
        stopped,
    }
}

/// The test said stop.
struct Stopped;

struct Search<'a, T, F> {
    items: &'a [T],
    test: &'a mut F,
    /// Sub-lists (as positions in `items`) already tested, and whether each failed.
    cache: BTreeMap<Vec<usize>, bool>,
    tests: usize,
}

impl<T: Clone, F: FnMut(&[T]) -> Outcome> Search<'_, T, F> {
    /// Narrows `current` in place; `Err` when the test stopped the search.
    fn minimise(&mut self, current: &mut Vec<usize>) -> Result<(), Stopped> {
        if current.is_empty() {
            return Ok(());
        }
        if self.fails(&[])? {
            current.clear();
            return Ok(());
        }
        let mut granularity = 2;
        while current.len() >= 2 {
            let chunks = split(current, granularity);
            if let Some(chunk) = self.first_failing(chunks.iter().cloned())? {
                *current = chunk;
                granularity = 2;
                continue;
            }
            let complements = (0..chunks.len()).map(|skipped| {
                chunks
                    .iter()
                    .enumerate()
                    .filter(|(position, _)| *position != skipped)
                    .flat_map(|(_, chunk)| chunk.iter().copied())
                    .collect::<Vec<usize>>()
            });
            if let Some(complement) = self.first_failing(complements)? {
                *current = complement;
                granularity = (granularity - 1).max(2);
                continue;
            }
            if granularity >= current.len() {
                break;
            }
            granularity = (granularity * 2).min(current.len());
        }
        Ok(())
    }

    fn first_failing(
        &mut self,
        candidates: impl Iterator<Item = Vec<usize>>,
    ) -> Result<Option<Vec<usize>>, Stopped> {
        for candidate in candidates {
            if self.fails(&candidate)? {
                return Ok(Some(candidate));
            }
        }
        Ok(None)
    }

    fn fails(&mut self, positions: &[usize]) -> Result<bool, Stopped> {
        if let Some(failed) = self.cache.get(positions) {
            return Ok(*failed);
        }
        let candidate: Vec<T> = positions
            .iter()
            .map(|index| self.items[*index].clone())
            .collect();
        let failed = match (self.test)(&candidate) {
            Outcome::Fails => true,
            Outcome::Passes => false,
            Outcome::Stop => return Err(Stopped),
        };
        self.tests += 1;
        self.cache.insert(positions.to_vec(), failed);
        Ok(failed)
    }
}

/// `positions` cut into `parts` chunks of nearly equal length (the first ones longer), in
/// order.
fn split(positions: &[usize], parts: usize) -> Vec<Vec<usize>> {
    let parts = parts.clamp(1, positions.len().max(1));
    let base = positions.len() / parts;
    let longer = positions.len() % parts;
    let mut chunks = Vec::with_capacity(parts);
    let mut start = 0;
    for part in 0..parts {
        let length = base + usize::from(part < longer);
        chunks.push(positions[start..start + length].to_vec());
        start += length;
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A predicate that fails when every culprit is present.
    fn needs_all(culprits: &[u32]) -> impl FnMut(&[u32]) -> Outcome + '_ {
        move |candidate: &[u32]| {
            if culprits.iter().all(|culprit| candidate.contains(culprit)) {
                Outcome::Fails
            } else {
                Outcome::Passes
            }
        }
    }

    #[test]
    fn one_culprit_among_many_is_found_alone() {
        let items: Vec<u32> = (0..40).collect();
        let result = ddmin(&items, needs_all(&[17]));
        assert_eq!(result.items, vec![17]);
        assert!(!result.stopped);
        assert!(result.tests <= 20, "{} tests", result.tests);
    }

    #[test]
    fn two_culprits_far_apart_are_both_kept_in_order() {
        let items: Vec<u32> = (0..23).collect();
        let result = ddmin(&items, needs_all(&[21, 3]));
        assert_eq!(result.items, vec![3, 21]);
    }

    #[test]
    fn a_list_that_fails_without_any_element_shrinks_to_nothing_in_one_test() {
        let items: Vec<u32> = (0..10).collect();
        let result = ddmin(&items, |_: &[u32]| Outcome::Fails);
        assert_eq!(result.items, Vec::<u32>::new());
        assert_eq!(result.tests, 1);
    }

    #[test]
    fn an_empty_list_needs_no_test() {
        let result = ddmin(&Vec::<u32>::new(), |_: &[u32]| panic!("no test expected"));
        assert_eq!(result.items, Vec::<u32>::new());
        assert_eq!(result.tests, 0);
    }

    #[test]
    fn a_failure_needing_at_least_three_of_five_keeps_three() {
        // Not monotone in the culprits: any three of {0, 2, 4, 6, 8}. ddmin still ends
        // 1-minimal: dropping any kept element passes.
        let items: Vec<u32> = (0..10).collect();
        let test = |candidate: &[u32]| {
            let count = candidate.iter().filter(|item| *item % 2 == 0).count();
            if count >= 3 {
                Outcome::Fails
            } else {
                Outcome::Passes
            }
        };
        let result = ddmin(&items, test);
        assert_eq!(result.items.len(), 3);
        assert!(result.items.iter().all(|item| item % 2 == 0));
    }

    #[test]
    fn a_spent_budget_stops_with_the_smallest_failing_list_so_far() {
        let items: Vec<u32> = (0..64).collect();
        // The empty list, two halves and four quarters pass; the second complement (all but
        // the second quarter) fails; the budget ends at the next test.
        let mut budget = 9;
        let mut culprit_test = needs_all(&[5, 60]);
        let result = ddmin(&items, |candidate: &[u32]| {
            if budget == 0 {
                return Outcome::Stop;
            }
            budget -= 1;
            culprit_test(candidate)
        });
        assert!(result.stopped);
        assert_eq!(result.tests, 9);
        let expected: Vec<u32> = (0..16).chain(32..64).collect();
        assert_eq!(result.items, expected);
    }

    #[test]
    fn no_sub_list_is_tested_twice() {
        let items: Vec<u32> = (0..16).collect();
        let mut seen = std::collections::BTreeSet::new();
        let mut culprit_test = needs_all(&[1, 9, 14]);
        let result = ddmin(&items, |candidate: &[u32]| {
            assert!(
                seen.insert(candidate.to_vec()),
                "tested twice: {candidate:?}"
            );
            culprit_test(candidate)
        });
        assert_eq!(result.items, vec![1, 9, 14]);
        assert_eq!(result.tests, seen.len());
    }

    #[test]
    fn chunks_cover_the_list_in_order_and_differ_in_length_by_at_most_one() {
        let positions: Vec<usize> = (0..11).collect();
        let chunks = split(&positions, 4);
        assert_eq!(chunks.concat(), positions);
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![3, 3, 3, 2]
        );
        assert_eq!(split(&positions, 50).len(), 11);
    }

    proptest! {
        /// Whatever the culprits, the result is exactly them (the predicate is monotone:
        /// fails iff all are present), and 1-minimal.
        #[test]
        fn monotone_failures_shrink_to_exactly_their_culprits(
            length in 1usize..60,
            picks in proptest::collection::btree_set(0usize..60, 0..5),
        ) {
            let items: Vec<u32> = (0..length as u32).collect();
            let culprits: Vec<u32> = picks
                .into_iter()
                .filter(|pick| *pick < length)
                .map(|pick| pick as u32)
                .collect();
            let result = ddmin(&items, needs_all(&culprits));
            prop_assert_eq!(&result.items, &culprits);
            prop_assert!(!result.stopped);
            // Far below the n² worst case: a few tests per culprit per halving, plus the
            // last round's complements.
            let halvings = (usize::BITS - length.leading_zeros()) as usize;
            let bound = 1 + 4 * (culprits.len() + 1) * halvings + length;
            prop_assert!(result.tests <= bound, "{} tests, bound {}", result.tests, bound);
        }
    }
}
