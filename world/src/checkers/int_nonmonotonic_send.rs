//! `int-nonmonotonic-send`, as Jepsen's Kafka workload defines it (`jepsen.tests.kafka`,
//! `int-send-skip+nonmonotonic-cases`, its `:nonmonotonic` cases): inside one transaction, a
//! send to a partition that landed at or before the transaction's previous send there in
//! the version order's dense index — its writes went back or repeated.
//!
//! The steps are `send_steps::within_transactions`. Effect `Ordering`, as
//! `nonmonotonic-send`. One violation per step.

use super::send_steps::within_transactions;
use super::version_order::VersionOrders;
use super::Observations;
use crate::checkers::registry::Checker;
use crate::violation::Violation;

pub const NAME: Checker = Checker::IntNonmonotonicSend;

pub(crate) fn check(observations: &Observations, orders: &VersionOrders) -> Vec<Violation> {
    within_transactions(observations, orders)
        .into_iter()
        .filter(|step| step.delta() < 1)
        .map(|step| {
            let ((earlier_offset, earlier_value), (later_offset, later_value)) =
                (step.earlier, step.later);
            Violation {
                checker: NAME,
                partition: Some(step.partition),
                offsets: vec![earlier_offset, later_offset],
                values: vec![earlier_value, later_value],
                time_ms: step.time_ms,
                description: format!(
                    "{} sent {earlier_value} before {later_value} to {}, but they sit at \
                     offsets {earlier_offset} and {later_offset}: {} step(s) in the version \
                     order",
                    step.transaction,
                    step.partition,
                    step.delta()
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;
    use crate::checkers::txn_test_support::*;
    use crate::history::OpType;
    use crate::verdict::{observed_ordering, OrderingVerdict};

    /// kafka_test.clj `int-nonmonotonic-send-test`: a transaction sends b then a, and they
    /// sit at offsets 2 and 1.
    #[test]
    fn a_transactions_later_send_landing_earlier_is_nonmonotonic() {
        let (a, b) = (1, 2);
        let mut history = HistoryBuilder::new();
        history.transaction(
            1,
            &txn(1).send(0, b, Some(2)).send(0, a, Some(1)),
            OpType::Ok,
            9,
        );
        let final_state = final_logs(&[(0, &[(1, a), (2, b)])]);
        let violations = check_history(&history.build(), &final_state);
        let backwards = only(&violations, "int-nonmonotonic-send");
        assert_eq!(backwards.len(), 1, "{violations:?}");
        assert_eq!(backwards[0].values, vec![b, a]);
        assert_eq!(backwards[0].offsets, vec![o(2), o(1)]);
        assert!(
            backwards[0].description.contains("-1 step"),
            "{}",
            backwards[0]
        );
        assert_eq!(observed_ordering(&violations), OrderingVerdict::Violated);
    }

    #[test]
    fn sends_to_different_partitions_are_not_compared() {
        let mut history = HistoryBuilder::new();
        history.transaction(
            1,
            &txn(1).send(0, 2, Some(1)).send(1, 1, Some(0)),
            OpType::Ok,
            9,
        );
        let final_state = final_logs(&[(0, &[(1, 2)]), (1, &[(0, 1)])]);
        let violations = check_history(&history.build(), &final_state);
        assert!(
            only(&violations, "int-nonmonotonic-send").is_empty(),
            "{violations:?}"
        );
    }
}
