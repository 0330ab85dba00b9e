//! `int-poll-skip`, as Jepsen's Kafka workload defines it (`jepsen.tests.kafka`,
//! `int-poll-skip+nonmonotonic-cases`, its `:skip` cases): inside one poll operation, two
//! consecutive values more than one step apart in the version order's dense index — the poll
//! itself jumped over records that exist.
//!
//! The steps are `poll_steps::within_polls`. Jepsen skips a key the operation's rebalance log
//! names; Watermark's consumers never rebalance. A value with no dense index gives no finding.
//! Effect `Ordering`. One violation per step, as `poll-skip` reports them.

use super::poll_skip::skip_violation;
use super::poll_steps::within_polls;
use super::version_order::VersionOrders;
use super::Observations;
use crate::checkers::registry::Checker;
use crate::violation::Violation;

pub const NAME: Checker = Checker::IntPollSkip;

pub(crate) fn check(observations: &Observations, orders: &VersionOrders) -> Vec<Violation> {
    within_polls(observations, orders)
        .into_iter()
        .filter(|step| step.delta() > 1)
        .map(|step| skip_violation(NAME, &step, orders, "the same poll of"))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;

    /// kafka_test.clj `int-poll-skip-test`: one poll reads a at 1 and d at 4 while another
    /// read b at 2: the first poll skipped b. (Jepsen's second case splits the skip over two
    /// `poll()` calls of one transaction; Watermark's poll operation is one call.)
    #[test]
    fn a_poll_that_jumps_over_a_record_inside_itself_skips_it() {
        let (a, b, d) = (1, 2, 4);
        let mut history = HistoryBuilder::new();
        for value in [a, b, d] {
            history.send_info(1, 0, value, 1);
        }
        history.poll(0, 0, &[(1, a), (4, d)], 3);
        history.poll(0, 0, &[(2, b)], 7);
        let violations = check_history(&history.build(), &FinalState::default());
        let skips = only(&violations, "int-poll-skip");
        assert_eq!(skips.len(), 1, "{violations:?}");
        assert_eq!(skips[0].values, vec![a, d]);
        assert_eq!(skips[0].offsets, vec![o(1), o(4)]);
        assert_eq!(skips[0].time_ms, 3);
        assert!(skips[0].description.contains("2:2"), "{}", skips[0]);
    }

    #[test]
    fn a_poll_reading_consecutive_records_does_not_skip() {
        let mut history = HistoryBuilder::new();
        history.poll(0, 0, &[(0, 10), (1, 11), (5, 15)], 3);
        let final_state = final_logs(&[(0, &[(0, 10), (1, 11), (5, 15)])]);
        assert!(check_history(&history.build(), &final_state).is_empty());
    }
}
