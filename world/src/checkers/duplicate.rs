//! `duplicate`, as Jepsen's Kafka workload defines it (`jepsen.tests.kafka`,
//! `duplicate-cases`): one value at more than one offset of a partition's version order.
//!
//! The version order (`version_order.rs`) merges acknowledged send offsets, polls and the
//! final logs, so a value acknowledged at offset 1 and polled at offset 3 is a duplicate even
//! if no single source saw it twice (Jepsen's "basic" example). Reading the same offset twice
//! is not a duplicate (it is `nonmonotonic-poll`, and `duplicate-consume` when one consumer
//! handed it over twice).
//!
//! One violation per (partition, value): every offset it sits at, and the time the second of
//! those positions was first seen.

use super::version_order::VersionOrders;
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::BTreeMap;
use watermark_broker_core::ids::Offset;

pub const NAME: Checker = Checker::Duplicate;

pub(crate) fn check(orders: &VersionOrders) -> Vec<Violation> {
    let mut violations = Vec::new();
    for (partition, order) in &orders.partitions {
        // value → [(offset, first seen)], in offset order.
        let mut positions: BTreeMap<u64, Vec<(Offset, u64)>> = BTreeMap::new();
        for (offset, values) in &order.log {
            for (value, seen_ms) in values {
                positions
                    .entry(*value)
                    .or_default()
                    .push((*offset, *seen_ms));
            }
        }
        for (value, positions) in positions {
            if positions.len() < 2 {
                continue;
            }
            let mut seen_ms: Vec<u64> = positions.iter().map(|(_, seen_ms)| *seen_ms).collect();
            seen_ms.sort_unstable();
            let offsets: Vec<Offset> = positions.iter().map(|(offset, _)| *offset).collect();
            let listed: Vec<String> = offsets.iter().map(Offset::to_string).collect();
            violations.push(Violation {
                checker: NAME,
                partition: Some(*partition),
                values: vec![value],
                time_ms: seen_ms[1],
                description: format!(
                    "value {value} sits at {} offsets of {partition}: {}",
                    offsets.len(),
                    listed.join(", ")
                ),
                offsets,
            });
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;
    use crate::verdict::{observed_guarantee, Guarantee};

    #[test]
    fn value_stored_twice_in_the_final_log_is_a_duplicate() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 100);
        history.poll(2, 0, &[(0, 10), (1, 10)], 200);
        let final_state = final_logs(&[(0, &[(0, 10), (1, 10)])]);

        let violations = check_history(&history.build(), &final_state);
        let duplicates = only(&violations, "duplicate");
        assert_eq!(duplicates.len(), 1, "{violations:?}");
        assert_eq!(duplicates[0].partition, Some(p(0)));
        assert_eq!(duplicates[0].offsets, vec![o(0), o(1)]);
        assert_eq!(duplicates[0].values, vec![10]);
        assert_eq!(duplicates[0].time_ms, 200);
        assert_eq!(observed_guarantee(&violations), Guarantee::AtLeastOnce);
    }

    /// kafka_test.clj `duplicate-test`, "basic": a is acknowledged at 1; b's send is
    /// indefinite; a poll reads b at 2 and a at 3. a must have been at both 1 and 3.
    #[test]
    fn an_acknowledged_offset_and_a_polled_one_make_a_duplicate() {
        let (a, b) = (1, 2);
        let mut history = HistoryBuilder::new();
        history.send_ok(0, 0, a, Some(1), 1);
        history.send_info(1, 0, b, 3);
        history.poll(2, 0, &[(2, b), (3, a)], 5);
        let duplicates = only(
            &check_history(&history.build(), &FinalState::default()),
            "duplicate",
        );
        assert_eq!(duplicates.len(), 1, "{duplicates:?}");
        assert_eq!(duplicates[0].values, vec![a]);
        assert_eq!(duplicates[0].offsets, vec![o(1), o(3)]);
        assert_eq!(duplicates[0].time_ms, 5);
    }

    /// kafka_test.clj `duplicate-test`, "hash-insensitive": ten values each acknowledged at
    /// offset 0 and polled at offset 1 are all duplicates, whichever value the version order
    /// picks at each offset.
    #[test]
    fn every_value_at_two_offsets_is_a_duplicate_whatever_the_pick() {
        let mut history = HistoryBuilder::new();
        for value in 0..10 {
            history.send_ok(0, 0, value, Some(0), value * 4 + 1);
            history.poll(1, 0, &[(1, value)], value * 4 + 3);
        }
        let violations = check_history(&history.build(), &FinalState::default());
        let duplicated: Vec<u64> = only(&violations, "duplicate")
            .iter()
            .map(|violation| violation.values[0])
            .collect();
        assert_eq!(duplicated, (0..10).collect::<Vec<_>>());
        let inconsistent: Vec<_> = only(&violations, "inconsistent-offsets")
            .iter()
            .map(|violation| (violation.offsets.clone(), violation.values.clone()))
            .collect();
        let all: Vec<u64> = (0..10).collect();
        assert_eq!(
            inconsistent,
            vec![(vec![o(0)], all.clone()), (vec![o(1)], all)]
        );
    }

    /// kafka_test.clj `duplicate-test`, "aborted txns": a definitely failed send's offset is
    /// no evidence, so a failed value polled elsewhere is not a duplicate (it is `G1a`).
    #[test]
    fn a_definitely_failed_offset_does_not_make_a_duplicate() {
        let mut history = HistoryBuilder::new();
        history.send_ok(0, 0, 0, Some(1), 1);
        history.send_fail_at(0, 0, 1, Some(2), 3);
        history.poll(1, 0, &[(11, 0), (12, 1)], 5);
        let violations = check_history(&history.build(), &FinalState::default());
        let duplicated: Vec<_> = only(&violations, "duplicate")
            .iter()
            .map(|violation| (violation.values.clone(), violation.offsets.clone()))
            .collect();
        assert_eq!(duplicated, vec![(vec![0], vec![o(1), o(11)])]);
        assert_eq!(only(&violations, "G1a").len(), 1);
    }

    #[test]
    fn value_polled_twice_at_the_same_offset_is_not_a_stored_duplicate() {
        let mut history = HistoryBuilder::new();
        history.poll(1, 0, &[(3, 10)], 100);
        history.poll(2, 0, &[(3, 10)], 120);
        let final_state = final_logs(&[(0, &[(3, 10)])]);
        assert!(only(&check_history(&history.build(), &final_state), "duplicate").is_empty());
    }

    #[test]
    fn clean_history_has_no_duplicate() {
        let (history, final_state) = clean_history();
        assert!(only(&check_history(&history, &final_state), "duplicate").is_empty());
    }
}
