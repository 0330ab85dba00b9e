//! `int-send-skip`, as Jepsen's Kafka workload defines it (`jepsen.tests.kafka`,
//! `int-send-skip+nonmonotonic-cases`, its `:skip` cases): inside one transaction, two
//! consecutive sends to the same partition more than one step apart in the version order's
//! dense index — other records landed between them.
//!
//! Jepsen lists it among its allowed error types: "int-send-skip is normal behavior:
//! transaction writes interleave constantly in the Kafka transaction model". So it is
//! informational here (effect `None`): reported, never failing a run unless a scenario
//! requires it. The steps are `send_steps::within_transactions`. One violation per step.

use super::send_steps::{within_transactions, SendStep};
use super::version_order::VersionOrders;
use super::Observations;
use crate::checkers::registry::Checker;
use crate::violation::Violation;

pub const NAME: Checker = Checker::IntSendSkip;

/// How many skipped records a description lists before it elides the rest.
const SKIPPED_LISTED_MAX: usize = 8;

pub(crate) fn check(observations: &Observations, orders: &VersionOrders) -> Vec<Violation> {
    within_transactions(observations, orders)
        .into_iter()
        .filter(|step| step.delta() > 1)
        .map(|step| skip_violation(&step, orders))
        .collect()
}

fn skip_violation(step: &SendStep, orders: &VersionOrders) -> Violation {
    let mut skipped = step.skipped(orders);
    if skipped.len() > SKIPPED_LISTED_MAX {
        skipped.truncate(SKIPPED_LISTED_MAX);
        skipped.push("…".to_string());
    }
    let ((earlier_offset, earlier_value), (later_offset, later_value)) = (step.earlier, step.later);
    Violation {
        checker: NAME,
        partition: Some(step.partition),
        offsets: vec![earlier_offset, later_offset],
        values: vec![earlier_value, later_value],
        time_ms: step.time_ms,
        description: format!(
            "{} sent {earlier_value} (offset {earlier_offset}) then {later_value} (offset \
             {later_offset}) to {}, {} record(s) landing between (offset:value): {}",
            step.transaction,
            step.partition,
            step.delta() - 1,
            skipped.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;
    use crate::checkers::txn_test_support::*;
    use crate::history::OpType;
    use crate::verdict::{observed_guarantee, observed_ordering, Guarantee, OrderingVerdict};

    /// kafka_test.clj `int-send-skip-test`: a transaction sends a and then c, and another
    /// producer's b landed between them.
    #[test]
    fn another_write_between_two_sends_of_a_transaction_is_a_send_skip() {
        let (a, b, c) = (1, 2, 3);
        let mut history = HistoryBuilder::new();
        history.transaction(
            1,
            &txn(1).send(0, a, Some(0)).send(0, c, Some(2)),
            OpType::Ok,
            9,
        );
        history.send_ok(2, 0, b, Some(1), 5);
        let final_state = final_logs(&[(0, &[(0, a), (1, b), (2, c)])]);
        let violations = check_history(&history.build(), &final_state);
        let skips = only(&violations, "int-send-skip");
        assert_eq!(skips.len(), 1, "{violations:?}");
        assert_eq!(skips[0].values, vec![a, c]);
        assert_eq!(skips[0].offsets, vec![o(0), o(2)]);
        assert!(skips[0].description.contains("1:2"), "{}", skips[0]);
        // Normal in Kafka's model: informational, nothing judged.
        assert!(skips[0].checker.info().informational);
        assert_eq!(observed_guarantee(&skips), Guarantee::ExactlyOnce);
        assert_eq!(observed_ordering(&skips), OrderingVerdict::Preserved);
    }

    #[test]
    fn consecutive_sends_landing_next_to_each_other_skip_nothing() {
        let mut history = HistoryBuilder::new();
        history.transaction(
            1,
            &txn(1).send(0, 1, Some(0)).send(0, 2, Some(1)),
            OpType::Ok,
            9,
        );
        let final_state = final_logs(&[(0, &[(0, 1), (1, 2)])]);
        let violations = check_history(&history.build(), &final_state);
        assert!(
            only(&violations, "int-send-skip").is_empty(),
            "{violations:?}"
        );
    }
}
