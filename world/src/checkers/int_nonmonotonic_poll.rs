//! `int-nonmonotonic-poll`, as Jepsen's Kafka workload defines it (`jepsen.tests.kafka`,
//! `int-poll-skip+nonmonotonic-cases`, its `:nonmonotonic` cases): inside one poll
//! operation, a value at or before the value handed over just before it in the version
//! order's dense index — the poll itself went back or repeated a record.
//!
//! The steps are `poll_steps::within_polls`. A value with no dense index gives no finding.
//! Effect `Ordering`. One violation per step, as `nonmonotonic-poll` reports them.

use super::nonmonotonic_poll::backwards_violation;
use super::poll_steps::within_polls;
use super::version_order::VersionOrders;
use super::Observations;
use crate::checkers::registry::Checker;
use crate::violation::Violation;

pub const NAME: Checker = Checker::IntNonmonotonicPoll;

pub(crate) fn check(observations: &Observations, orders: &VersionOrders) -> Vec<Violation> {
    within_polls(observations, orders)
        .into_iter()
        .filter(|step| step.delta() < 1)
        .map(|step| backwards_violation(NAME, &step, "the same poll of"))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;

    /// kafka_test.clj `int-nonmonotonic-poll-test`: one poll reads c at 3 then a at 1 (a
    /// later poll's read of b at 2 puts one record between them: delta -2); another reads c
    /// twice (delta 0). Jepsen's second case is two `poll()` calls of one transaction;
    /// Watermark's poll operation is one call, so here it is one poll reading b c c.
    #[test]
    fn a_poll_going_back_or_repeating_inside_itself_follows_jepsens_example() {
        let (a, b, c) = (1, 2, 3);
        let mut history = HistoryBuilder::new();
        for value in [a, b, c] {
            history.send_info(0, 0, value, 1);
        }
        history.poll(0, 0, &[(3, c), (1, a)], 3);
        history.poll(0, 0, &[(2, b), (3, c), (3, c)], 5);
        let violations = check_history(&history.build(), &FinalState::default());
        let backwards: Vec<_> = only(&violations, "int-nonmonotonic-poll")
            .iter()
            .map(|violation| (violation.values.clone(), violation.time_ms))
            .collect();
        assert_eq!(backwards, vec![(vec![c, a], 3), (vec![c, c], 5)]);
        let first = &only(&violations, "int-nonmonotonic-poll")[0];
        assert!(first.description.contains("-2 step"), "{first}");
    }

    #[test]
    fn a_poll_in_offset_order_is_monotonic() {
        let mut history = HistoryBuilder::new();
        history.poll(0, 0, &[(0, 10), (1, 11)], 3);
        let final_state = final_logs(&[(0, &[(0, 10), (1, 11)])]);
        assert!(check_history(&history.build(), &final_state).is_empty());
    }
}
