//! The version order of each partition, after Jepsen's Kafka workload (`jepsen.tests.kafka`,
//! `version-orders`): every value the run ever saw at an offset, and a dense index over it.
//! Every client-history checker that reasons about positions reads this one structure, built
//! once per run.
//!
//! What goes in, per partition (Jepsen's rule, with Watermark's final read in the role of
//! Jepsen's final polls):
//! - every `Ok` send that reported an offset;
//! - every `Info` send that reported an offset, if an `Ok` poll of the partition read its value
//!   (Jepsen's `must-have-committed?`: had it not committed, that read would be an aborted
//!   read). Today's indefinite sends never carry an offset; the rule stays for when they do;
//! - every record of every poll;
//! - every record of the final logs ([`FinalState::logs`]) that a `read_committed` reader
//!   sees (control records are never in them; records of aborted or open transactions are
//!   left out here, docs/DECISIONS.md).
//!
//! Sends that failed definitely contribute nothing. Because sends and polls are folded in as
//! well as the final logs, a record that a later truncation removed stays in the index at the
//! offset where a client saw it.
//!
//! The *log* maps each offset to the set of values seen there (several values at one offset is
//! `inconsistent-offsets`). The *dense index* (Jepsen's `by-index`) numbers the offsets that
//! hold any value from 0, skipping holes (transaction markers, offsets nobody saw), so a
//! consumer that moves from one record to the next moves by exactly 1 even across a hole.
//! Where an offset holds several values Jepsen picks one arbitrarily for `by-index`; Watermark
//! picks the smallest, so the choice is the same on every run. `by-value` maps each picked
//! value to its index; a value picked at two offsets maps to the later one (as Jepsen's
//! `(into {} …)` does), and a value never picked has no index.
//!
//! [`VersionOrders::position`] is where the checkers place one observation of a value. Jepsen
//! looks every value up in `by-value`, which a duplicate makes lossy: the first copy of a
//! value written twice maps to the second copy's index, so a consumer reading the log in
//! order would "skip" to the second copy and then "go back" (every seed of
//! `retry-after-lost-ack-duplicates` showed both). So an observation that carries an offset
//! (every poll, every acknowledged send) where its value is the one picked sits at that
//! offset's index; any other (no offset, or a value not picked at its offset) is looked up in
//! `by-value` as Jepsen does, so two values at one offset still never share an index
//! (docs/DECISIONS.md).

use super::{FinalState, Observations};
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::Offset;
use watermark_broker_core::topic::TopicPartition;

/// One partition's version order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PartitionOrder {
    /// Jepsen's `log`: offset → value → the earliest simulated time a client (or the final
    /// read) saw that value at that offset. Only offsets holding a value are present.
    pub log: BTreeMap<Offset, BTreeMap<u64, u64>>,
    /// Jepsen's `by-index`: for each dense index, the offset and the value picked there.
    pub by_index: Vec<(Offset, u64)>,
    /// Jepsen's `by-value`: the dense index of each picked value.
    pub by_value: BTreeMap<u64, usize>,
}

impl PartitionOrder {
    fn observe(&mut self, offset: Offset, value: u64, time_ms: u64) {
        let seen_ms = self
            .log
            .entry(offset)
            .or_default()
            .entry(value)
            .or_insert(time_ms);
        *seen_ms = (*seen_ms).min(time_ms);
    }

    /// Builds the dense index once every observation is in.
    fn index(&mut self) {
        self.by_index = self
            .log
            .iter()
            .filter_map(|(offset, values)| values.keys().next().map(|value| (*offset, *value)))
            .collect();
        self.by_value = self
            .by_index
            .iter()
            .enumerate()
            .map(|(index, (_, value))| (*value, index))
            .collect();
    }

    /// The dense index of `value`, if it has one.
    pub fn index_of(&self, value: u64) -> Option<usize> {
        self.by_value.get(&value).copied()
    }

    /// The dense index of `offset`, if some value was seen there.
    pub fn index_of_offset(&self, offset: Offset) -> Option<usize> {
        self.by_index
            .binary_search_by_key(&offset, |(at, _)| *at)
            .ok()
    }

    /// Where an observation of `value` sits: the dense index of `offset` when the observation
    /// carries one and `value` is the value picked there, else `value`'s `by-value` index.
    pub fn position(&self, offset: Option<Offset>, value: u64) -> Option<usize> {
        offset
            .and_then(|offset| self.index_of_offset(offset))
            .filter(|index| self.by_index[*index].1 == value)
            .or_else(|| self.index_of(value))
    }

    /// The picked values strictly between two dense indexes, in index order.
    pub fn between(&self, from: usize, to: usize) -> &[(Offset, u64)] {
        let start = (from + 1).min(self.by_index.len());
        let end = to.clamp(start, self.by_index.len());
        &self.by_index[start..end]
    }

    /// Jepsen's `log->value->first-index`: every value (picked or not) → the dense index of the
    /// first offset it appears at.
    pub fn value_first_index(&self) -> BTreeMap<u64, usize> {
        let mut first = BTreeMap::new();
        for (index, values) in self.log.values().enumerate() {
            for value in values.keys() {
                first.entry(*value).or_insert(index);
            }
        }
        first
    }

    /// Jepsen's `log->last-index->values`: for each dense index, the values whose *last*
    /// appearance is at that index.
    pub fn last_index_values(&self) -> Vec<BTreeSet<u64>> {
        let mut last: BTreeMap<u64, usize> = BTreeMap::new();
        for (index, values) in self.log.values().enumerate() {
            for value in values.keys() {
                last.insert(*value, index);
            }
        }
        let mut by_index = vec![BTreeSet::new(); self.log.len()];
        for (value, index) in last {
            by_index[index].insert(value);
        }
        by_index
    }
}

/// Every partition's version order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct VersionOrders {
    pub partitions: BTreeMap<TopicPartition, PartitionOrder>,
}

impl VersionOrders {
    pub fn build(observations: &Observations, final_state: &FinalState) -> VersionOrders {
        let mut orders = VersionOrders::default();
        for send in &observations.sends {
            if let (Some(partition), Some(offset)) = (send.partition, send.offset) {
                if observations.must_have_committed(send) {
                    orders.observe(partition, offset, send.value, send.time_ms);
                }
            }
        }
        for record in &observations.polled {
            orders.observe(
                record.partition,
                record.offset,
                record.value,
                record.time_ms,
            );
        }
        // The final logs stand for a read_committed final poll: a record of an aborted or
        // still open transaction is no evidence of the order readers follow (a read_committed
        // consumer steps over it), while any poll that did read one adds it above.
        for partition in final_state.logs.keys() {
            for (offset, value) in final_state.committed_visible(*partition) {
                orders.observe(*partition, *offset, *value, final_state.time_ms);
            }
        }
        for order in orders.partitions.values_mut() {
            order.index();
        }
        orders
    }

    fn observe(&mut self, partition: TopicPartition, offset: Offset, value: u64, time_ms: u64) {
        self.partitions
            .entry(partition)
            .or_default()
            .observe(offset, value, time_ms);
    }

    /// The version order of `partition`, if anything was seen in it.
    pub fn get(&self, partition: TopicPartition) -> Option<&PartitionOrder> {
        self.partitions.get(&partition)
    }

    /// Where an observation of `value` at `offset` (if known) sits in `partition`'s dense
    /// index; see [`PartitionOrder::position`].
    pub fn position(
        &self,
        partition: TopicPartition,
        offset: Option<Offset>,
        value: u64,
    ) -> Option<usize> {
        self.get(partition)
            .and_then(|order| order.position(offset, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;

    fn log_of(values: &[(u64, &[u64])]) -> PartitionOrder {
        let mut order = PartitionOrder::default();
        for (offset, at) in values {
            for value in *at {
                order.observe(o(*offset), *value, 0);
            }
        }
        order.index();
        order
    }

    /// kafka_test.clj `log->last-index->values-test` and `log->value->first-index-test`, with
    /// a, b, c, d as 1, 2, 3, 4 and the holes (nil) as absent offsets.
    #[test]
    fn first_and_last_indexes_follow_jepsens_examples() {
        let order = log_of(&[
            (1, &[1]),
            (2, &[1, 2, 3]),
            (4, &[3]),
            (5, &[3, 4]),
            (6, &[4]),
        ]);
        let first: Vec<(u64, usize)> = order.value_first_index().into_iter().collect();
        assert_eq!(first, vec![(1, 0), (2, 1), (3, 1), (4, 3)]);
        let last: Vec<Vec<u64>> = order
            .last_index_values()
            .into_iter()
            .map(|values| values.into_iter().collect())
            .collect();
        assert_eq!(last, vec![vec![], vec![1, 2], vec![], vec![3], vec![4]]);
        assert!(log_of(&[]).value_first_index().is_empty());
        assert!(log_of(&[]).last_index_values().is_empty());
    }

    /// kafka_test.clj `version-orders-test`: a poll reads a at 0 and b at 1; an indefinite
    /// send wrote c at 1, b at 3 and d at 4, and it must have committed because b was read.
    /// Watermark's sends carry one value each, so the indefinite send is three sends here.
    #[test]
    fn an_indefinite_send_whose_value_was_read_enters_the_version_order() {
        let (a, b, c, d) = (1, 2, 3, 4);
        let mut history = HistoryBuilder::new();
        history.poll(9, 0, &[(0, a), (1, b)], 10);
        history.send_info_at(1, 0, c, Some(1), 20);
        history.send_info_at(1, 0, b, Some(3), 21);
        history.send_info_at(1, 0, d, Some(4), 22);
        let observations = Observations::from_history(&history.build());
        let orders = VersionOrders::build(&observations, &FinalState::default());
        let order = orders.get(p(0)).unwrap();
        let log: Vec<(u64, Vec<u64>)> = order
            .log
            .iter()
            .map(|(offset, values)| (offset.0, values.keys().copied().collect()))
            .collect();
        // c and d were never read, so their indefinite sends may not have happened.
        assert_eq!(log, vec![(0, vec![a]), (1, vec![b]), (3, vec![b])]);
        // b is picked at offsets 1 and 3; by value its index is the later one, while an
        // observation of b at offset 1 sits at index 1.
        assert_eq!(order.by_index, vec![(o(0), a), (o(1), b), (o(3), b)]);
        assert_eq!(order.index_of(b), Some(2));
        assert_eq!(order.position(Some(o(1)), b), Some(1));
        assert_eq!(
            order.position(Some(o(2)), b),
            Some(2),
            "no offset 2: by value"
        );
    }

    #[test]
    fn acknowledged_offsets_polls_and_final_logs_all_enter_and_holes_are_skipped() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 5);
        history.send_fail_at(1, 0, 11, Some(1), 6);
        history.poll(2, 0, &[(0, 10), (2, 12)], 10);
        let final_state = final_logs(&[(0, &[(0, 10), (2, 12), (5, 15)])]);
        let observations = Observations::from_history(&history.build());
        let orders = VersionOrders::build(&observations, &final_state);
        let order = orders.get(p(0)).unwrap();
        // The definite failure's offset is not evidence of anything.
        assert_eq!(order.by_index, vec![(o(0), 10), (o(2), 12), (o(5), 15)]);
        assert_eq!(orders.position(p(0), None, 15), Some(2));
        assert_eq!(orders.position(p(0), Some(o(5)), 15), Some(2));
        assert_eq!(orders.position(p(0), None, 11), None);
        assert_eq!(order.between(0, 2), &[(o(2), 12)]);
        assert_eq!(
            order.log[&o(0)][&10],
            5,
            "first seen at the acknowledgement"
        );
        assert_eq!(
            order.log[&o(5)][&15],
            10_000,
            "first seen by the final read"
        );
    }

    /// kafka_test.clj `version-orders-test`, "a real-world example": two sends acknowledged at
    /// the same offset; the smallest value is the one picked.
    #[test]
    fn two_values_at_one_offset_pick_the_smallest() {
        let mut history = HistoryBuilder::new();
        history.send_ok(379, 11, 641, Some(537), 1);
        history.send_ok(363, 11, 645, Some(537), 2);
        let observations = Observations::from_history(&history.build());
        let orders = VersionOrders::build(&observations, &FinalState::default());
        let order = orders.get(p(11)).unwrap();
        assert_eq!(order.by_index, vec![(o(537), 641)]);
        assert_eq!(order.log[&o(537)].len(), 2);
        assert_eq!(order.index_of(645), None);
        // The value not picked has no position even where it was seen: two values at one
        // offset never share an index.
        assert_eq!(order.position(Some(o(537)), 641), Some(0));
        assert_eq!(order.position(Some(o(537)), 645), None);
    }

    /// A read_committed consumer steps over an aborted record (and over the markers, which
    /// are never in the final logs): the final log's aborted record is not in the order, so
    /// the step is one record, not a skip.
    #[test]
    fn the_final_logs_aborted_and_open_records_stay_out_of_the_order() {
        let mut history = HistoryBuilder::new();
        history.poll(2, 0, &[(0, 10), (3, 13)], 10);
        let mut final_state = final_logs(&[(0, &[(0, 10), (1, 11), (3, 13), (5, 15)])]);
        crate::checkers::txn_test_support::aborted(&mut final_state, 0, &[1]);
        crate::checkers::txn_test_support::open(&mut final_state, 0, &[5]);
        let observations = Observations::from_history(&history.build());
        let orders = VersionOrders::build(&observations, &final_state);
        assert_eq!(
            orders.get(p(0)).unwrap().by_index,
            vec![(o(0), 10), (o(3), 13)]
        );
        let violations = crate::checkers::check_history(&history.build(), &final_state);
        assert!(violations.is_empty(), "{violations:?}");
    }
}
