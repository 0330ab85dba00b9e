//! `lost-write`, as Jepsen's Kafka workload defines it (`jepsen.tests.kafka`,
//! `lost-write-cases`): a value that some poll *should* have read, because a poll read past it,
//! was never read by any poll.
//!
//! Per partition, over the version order (`version_order.rs`):
//! - the *bound* is the highest first-index (`log->value->first-index`) of any value an `Ok`
//!   poll read; values read at no known offset do not count;
//! - the *must-read* values are those whose last index (`log->last-index->values`) is at or
//!   below the bound: they sat somewhere before what a poll reached, and nowhere after it;
//! - a must-read value that no `Ok` poll read is lost, if its writer must have committed
//!   (Jepsen's `must-have-committed?`: the send completed `Ok`, or `Info` and read). A value
//!   whose send failed definitely is `G1a`'s business; one with no recorded send is skipped.
//!
//! Jepsen cannot expect a poll to read what was written after the last poll, so loss beyond
//! the bound is not this checker's: Watermark's `final-log-loss` judges every acknowledged
//! value against the final logs, and `unseen` reports acknowledged values nobody ever read.
//!
//! A value whose first index is below the offset a DeleteRecords deleted its partition to
//! ([`FinalState::was_deleted`]) is not lost: it was removed on purpose, perhaps before a
//! consumer reached it.
//!
//! One violation per lost value: its partition, the offset of its first index, the value, and
//! the time of the first poll that read the value at the bound.

use super::version_order::{PartitionOrder, VersionOrders};
use super::{FinalState, Observations};
use crate::checkers::registry::Checker;
use crate::history::OpType;
use crate::violation::Violation;
use std::collections::BTreeMap;
use watermark_broker_core::ids::Offset;
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::LostWrite;

pub(crate) fn check(
    observations: &Observations,
    orders: &VersionOrders,
    final_state: &FinalState,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    for (partition, read) in &observations.read {
        if let Some(order) = orders.get(*partition) {
            check_partition(*partition, read, order, observations, &mut violations);
        }
    }
    // A value deleted on purpose was not lost, and a consumer may never have reached it.
    violations.retain(|violation| {
        let deleted = violation
            .partition
            .zip(violation.offsets.first())
            .is_some_and(|(partition, offset)| final_state.was_deleted(partition, *offset));
        !deleted
    });
    violations
}

/// The highest read value's first index, its value and the time it was first read.
struct Bound {
    index: usize,
    value: u64,
    read_ms: u64,
}

fn check_partition(
    partition: TopicPartition,
    read: &BTreeMap<u64, u64>,
    order: &PartitionOrder,
    observations: &Observations,
    violations: &mut Vec<Violation>,
) {
    let first_index = order.value_first_index();
    let Some(bound) = read
        .iter()
        .filter_map(|(value, read_ms)| {
            first_index.get(value).map(|index| Bound {
                index: *index,
                value: *value,
                read_ms: *read_ms,
            })
        })
        .max_by_key(|bound| (bound.index, std::cmp::Reverse(bound.value)))
    else {
        return;
    };
    let offsets: Vec<Offset> = order.log.keys().copied().collect();
    let last_index_values = order.last_index_values();
    for value in last_index_values[..=bound.index].iter().flatten() {
        if read.contains_key(value) {
            continue;
        }
        let Some(writer) = observations.writer_of(*value) else {
            continue;
        };
        if !observations.must_have_committed(writer) {
            continue;
        }
        let offset = offsets[first_index[value]];
        let how = match writer.op_type {
            OpType::Ok => "acknowledged",
            _ => "sent indefinitely (and proven visible)",
        };
        violations.push(Violation {
            checker: NAME,
            partition: Some(partition),
            offsets: vec![offset],
            values: vec![*value],
            time_ms: bound.read_ms,
            description: format!(
                "value {value} was {how} at offset {offset} of {partition}, but no poll read \
                 it, though a poll at t={}ms read value {} at offset {}, after it",
                bound.read_ms, bound.value, offsets[bound.index]
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;
    use crate::verdict::{observed_guarantee, Guarantee};

    /// kafka_test.clj `lost-write-test`, "consistent": a at 0, b at 1 and d at 3 are
    /// acknowledged; c's send is indefinite; a poll reads c at 2. It should also have read a
    /// and b (not d, which lies past it). Values a..d are 1..4.
    #[test]
    fn values_below_the_highest_read_offset_that_nobody_read_are_lost() {
        let (a, b, c, d) = (1, 2, 3, 4);
        let mut history = HistoryBuilder::new();
        history.send_ok(0, 0, a, Some(0), 1);
        history.send_ok(0, 0, b, Some(1), 3);
        history.send_ok(0, 0, d, Some(3), 3);
        history.send_info(1, 0, c, 5);
        history.poll(0, 0, &[(2, c)], 7);
        let lost = only(
            &check_history(&history.build(), &FinalState::default()),
            "lost-write",
        );
        let found: Vec<_> = lost
            .iter()
            .map(|violation| (violation.values.clone(), violation.offsets.clone()))
            .collect();
        assert_eq!(found, vec![(vec![a], vec![o(0)]), (vec![b], vec![o(1)])]);
        assert!(lost.iter().all(|violation| violation.time_ms == 7));
        assert_eq!(lost[0].partition, Some(p(0)));
    }

    /// kafka_test.clj `lost-write-test`, "inconsistent": a is acknowledged at 0, then b at 0
    /// and c at 2; a poll reads b at 0 and c at 2. a sat at offset 0 and nowhere later, so the
    /// poll should have read it, whichever value the version order picked at offset 0.
    #[test]
    fn a_value_overwritten_at_its_offset_is_still_lost() {
        let (a, b, c) = (1, 2, 3);
        let mut history = HistoryBuilder::new();
        history.send_ok(0, 0, a, Some(0), 1);
        history.send_ok(0, 0, b, Some(0), 3);
        history.send_ok(0, 0, c, Some(2), 3);
        history.poll(0, 0, &[(0, b), (2, c)], 5);
        let lost = only(
            &check_history(&history.build(), &FinalState::default()),
            "lost-write",
        );
        assert_eq!(lost.len(), 1, "{lost:?}");
        assert_eq!(lost[0].values, vec![a]);
        assert_eq!(lost[0].offsets, vec![o(0)]);
    }

    /// kafka_test.clj `lost-write-test`, "atomic", first half: an indefinite send of b at
    /// offset 0 that nobody read may never have happened, so a poll of c at 1 does not make b
    /// lost. (The second half proves b's send committed by a read of another value of the
    /// same transaction; Watermark's sends carry one value, so a proof would be a read of b.)
    #[test]
    fn an_indefinite_send_nobody_read_is_not_lost() {
        let (b, c) = (2, 3);
        let mut history = HistoryBuilder::new();
        history.send_info_at(0, 0, b, Some(0), 1);
        history.send_info(1, 0, c, 3);
        history.poll(3, 0, &[(1, c)], 7);
        assert!(only(
            &check_history(&history.build(), &FinalState::default()),
            "lost-write"
        )
        .is_empty());
    }

    #[test]
    fn a_value_that_also_sits_past_the_bound_is_not_yet_due() {
        // 10 is at offsets 0 and 3 (a duplicate); the poll reached offset 1 only, so 10's last
        // appearance lies past what any poll reached.
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 1);
        history.send_ok(1, 0, 11, Some(1), 2);
        history.poll(2, 0, &[(1, 11)], 5);
        let final_state = final_logs(&[(0, &[(0, 10), (1, 11), (3, 10)])]);
        assert!(only(&check_history(&history.build(), &final_state), "lost-write").is_empty());
    }

    #[test]
    fn nothing_read_means_nothing_is_due_and_a_definite_failure_is_never_lost() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 1);
        assert!(only(
            &check_history(&history.build(), &FinalState::default()),
            "lost-write"
        )
        .is_empty());
        history.send_fail_at(1, 0, 11, Some(1), 2);
        history.send_ok(1, 0, 12, Some(2), 3);
        history.poll(2, 0, &[(0, 10), (2, 12)], 5);
        assert!(only(
            &check_history(&history.build(), &FinalState::default()),
            "lost-write"
        )
        .is_empty());
    }

    #[test]
    fn lost_write_means_at_most_once() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 1);
        history.send_ok(1, 0, 11, Some(1), 2);
        history.poll(2, 0, &[(1, 11)], 5);
        let final_state = final_logs(&[(0, &[(0, 10), (1, 11)])]);
        let violations = check_history(&history.build(), &final_state);
        // Never read by the end: unseen as well.
        assert_eq!(
            checkers_reporting(&violations),
            vec!["lost-write", "unseen"]
        );
        assert_eq!(observed_guarantee(&violations), Guarantee::AtMostOnce);
    }

    #[test]
    fn clean_history_has_no_lost_write() {
        let (history, final_state) = clean_history();
        assert!(only(&check_history(&history, &final_state), "lost-write").is_empty());
    }
}
