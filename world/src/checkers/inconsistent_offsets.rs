//! `inconsistent-offsets`, as Jepsen's Kafka workload defines it (`jepsen.tests.kafka`, the
//! `:errors` of `version-orders`): one offset of a partition's version order bound to two or
//! more values.
//!
//! The version order (`version_order.rs`) binds values to offsets from `Ok` sends that report
//! an offset, `Info` sends with an offset whose value an `Ok` poll read, every poll and the
//! final logs — so a record acknowledged or read at an offset and later truncated and
//! replaced there is caught, even though no single source saw both. An `Info` send nobody
//! read may not have happened, so it binds nothing (Jepsen's "info conflicts" example).
//!
//! Effect `Integrity`: clients were told different things about what the log holds, so no
//! delivery guarantee stands. One violation per (partition, offset): the values ascending,
//! the dense index in the description, and the time the second value was first seen there.

use super::version_order::VersionOrders;
use crate::checkers::registry::Checker;
use crate::violation::Violation;

pub const NAME: Checker = Checker::InconsistentOffsets;

pub(crate) fn check(orders: &VersionOrders) -> Vec<Violation> {
    let mut violations = Vec::new();
    for (partition, order) in &orders.partitions {
        for (index, (offset, values)) in order.log.iter().enumerate() {
            if values.len() < 2 {
                continue;
            }
            let mut seen_ms: Vec<u64> = values.values().copied().collect();
            seen_ms.sort_unstable();
            let listed: Vec<String> = values.keys().map(u64::to_string).collect();
            violations.push(Violation {
                checker: NAME,
                partition: Some(*partition),
                offsets: vec![*offset],
                values: values.keys().copied().collect(),
                time_ms: seen_ms[1],
                description: format!(
                    "offset {offset} (index {index}) of {partition} was seen holding different \
                     values: {}",
                    listed.join(", ")
                ),
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
    fn acked_offset_that_a_poll_saw_with_another_value_is_inconsistent() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(4), 100);
        history.poll(2, 0, &[(4, 11)], 150);
        let final_state = final_logs(&[(0, &[(4, 11), (5, 10)])]);

        let violations = check_history(&history.build(), &final_state);
        let inconsistent = only(&violations, "inconsistent-offsets");
        assert_eq!(inconsistent.len(), 1, "{violations:?}");
        assert_eq!(inconsistent[0].partition, Some(p(0)));
        assert_eq!(inconsistent[0].offsets, vec![o(4)]);
        assert_eq!(inconsistent[0].values, vec![10, 11]);
        assert_eq!(inconsistent[0].time_ms, 150);
        // Integrity: neither at-least-once nor exactly-once survives it.
        assert!(!matches!(
            observed_guarantee(&violations),
            Guarantee::ExactlyOnce | Guarantee::AtLeastOnce
        ));
    }

    /// kafka_test.clj `inconsistent-offsets-test`, "info conflicts": an indefinite send of 1
    /// at offset 0 and an acknowledged send of 2 at offset 0 do not conflict while nobody read
    /// 1 (it may never have been written); once a poll reads 1, its send must have committed,
    /// and offset 0 holds both. (Jepsen's proof is a read of another value of the same
    /// transaction; Watermark's sends carry one value, so the proof reads 1 itself.)
    #[test]
    fn an_indefinite_send_conflicts_only_once_a_poll_proves_it_visible() {
        let mut history = HistoryBuilder::new();
        history.send_info_at(0, 0, 1, Some(0), 1);
        history.send_ok(1, 0, 2, Some(0), 3);
        assert!(only(
            &check_history(&history.build(), &FinalState::default()),
            "inconsistent-offsets"
        )
        .is_empty());
        history.poll(2, 0, &[(5, 1)], 5);
        let inconsistent = only(
            &check_history(&history.build(), &FinalState::default()),
            "inconsistent-offsets",
        );
        assert_eq!(inconsistent.len(), 1, "{inconsistent:?}");
        assert_eq!(inconsistent[0].offsets, vec![o(0)]);
        assert_eq!(inconsistent[0].values, vec![1, 2]);
    }

    #[test]
    fn the_same_offset_in_different_partitions_is_not_inconsistent() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 100);
        history.send_ok(1, 1, 11, Some(0), 100);
        history.poll(2, 0, &[(0, 10)], 110);
        history.poll(2, 1, &[(0, 11)], 110);
        let final_state = final_logs(&[(0, &[(0, 10)]), (1, &[(0, 11)])]);
        assert!(check_history(&history.build(), &final_state).is_empty());
    }

    #[test]
    fn clean_history_has_no_inconsistent_offsets() {
        let (history, final_state) = clean_history();
        assert!(only(
            &check_history(&history, &final_state),
            "inconsistent-offsets"
        )
        .is_empty());
    }
}
