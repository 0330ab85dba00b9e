//! `nonmonotonic-poll`, as Jepsen's Kafka workload defines it (`jepsen.tests.kafka`,
//! `poll-skip+nonmonotonic-cases`): per consumer and partition, a poll operation whose first
//! value lies at or before the last value of the consumer's previous poll of that partition
//! in the version order's dense index — the consumer went back, or read a record again.
//!
//! The steps are `poll_steps::between_polls`: only a group consumer's rebalance (an
//! `OpBody::Assign` that moved the partition) resets its last read, as Jepsen's subscribe
//! rules say; otherwise nothing resets a consumer's position, and a rewind after a detected truncation (`PositionReset`)
//! is reported: the application did see those records again. A value with no dense index
//! gives no finding (Jepsen's rule). Effect `Ordering`.
//!
//! One violation per step: offsets and values `[last of the earlier poll, first of the
//! later]`, the time of the later poll and the index delta in the description.

use super::poll_steps::{between_polls, PollStep};
use super::version_order::VersionOrders;
use super::Observations;
use crate::checkers::registry::Checker;
use crate::violation::Violation;

pub const NAME: Checker = Checker::NonmonotonicPoll;

pub(crate) fn check(observations: &Observations, orders: &VersionOrders) -> Vec<Violation> {
    between_polls(observations, orders)
        .into_iter()
        .filter(|step| step.delta() < 1)
        .map(|step| backwards_violation(NAME, &step, "its next poll of"))
        .collect()
}

/// The violation for a step that went back or stood still, shared with
/// `int-nonmonotonic-poll`.
pub(crate) fn backwards_violation(
    checker: Checker,
    step: &PollStep,
    where_next: &str,
) -> Violation {
    let ((earlier_offset, earlier_value), (later_offset, later_value)) = (step.earlier, step.later);
    Violation {
        checker,
        partition: Some(step.partition),
        offsets: vec![earlier_offset, later_offset],
        values: vec![earlier_value, later_value],
        time_ms: step.time_ms,
        description: format!(
            "{} read value {earlier_value} (offset {earlier_offset}), then in {where_next} {} \
             value {later_value} (offset {later_offset}): {} step(s) in the version order",
            step.client,
            step.partition,
            step.delta()
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;

    #[test]
    fn consumer_going_back_an_offset_is_nonmonotonic() {
        let mut history = HistoryBuilder::new();
        history.poll(1, 0, &[(0, 10), (1, 11), (2, 12)], 100);
        history.poll(1, 0, &[(1, 11)], 120);
        let final_state = final_logs(&[(0, &[(0, 10), (1, 11), (2, 12)])]);

        let violations = only(
            &check_history(&history.build(), &final_state),
            "nonmonotonic-poll",
        );
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].partition, Some(p(0)));
        assert_eq!(violations[0].offsets, vec![o(2), o(1)]);
        assert_eq!(violations[0].values, vec![12, 11]);
        assert_eq!(violations[0].time_ms, 120);
        assert!(
            violations[0].description.contains("-1 step"),
            "{}",
            violations[0]
        );
    }

    /// kafka_test.clj `nonmonotonic-poll-test`: consumer 0 reads a b c at 1 2 3, then b c d:
    /// its second poll starts one step back (values c then b, delta -1).
    #[test]
    fn a_poll_that_starts_before_the_last_one_ended_follows_jepsens_example() {
        let (a, b, c, d) = (1, 2, 3, 4);
        let mut history = HistoryBuilder::new();
        for value in [a, b, c, d] {
            history.send_ok(0, 0, value, None, 1);
        }
        history.poll(0, 0, &[(1, a), (2, b), (3, c)], 3);
        history.poll(0, 0, &[(2, b), (3, c), (4, d)], 7);
        let backwards = only(
            &check_history(&history.build(), &FinalState::default()),
            "nonmonotonic-poll",
        );
        assert_eq!(backwards.len(), 1, "{backwards:?}");
        assert_eq!(backwards[0].values, vec![c, b]);
    }

    /// Jepsen's subscribe rules: a rebalance that moved the partition (eager: revoked and
    /// handed back) frees the next poll from the last one; a partition a cooperative
    /// rebalance left in place is still judged, and so is a group consumer with no rebalance
    /// between its polls.
    #[test]
    fn a_group_consumer_may_go_back_only_across_a_rebalance_that_moved_the_partition() {
        let log: &[(u64, u64)] = &[(0, 10), (1, 11), (2, 12)];
        let backwards_after = |assign: &dyn Fn(&mut HistoryBuilder)| {
            let mut history = HistoryBuilder::new();
            history.assign(1, 1, &[0, 1], &[], 50);
            history.poll(1, 0, log, 100);
            assign(&mut history);
            history.poll(1, 0, &[(1, 11)], 120);
            only(
                &check_history(&history.build(), &final_logs(&[(0, log)])),
                "nonmonotonic-poll",
            )
            .len()
        };
        assert_eq!(backwards_after(&|_| {}), 1);
        assert_eq!(
            backwards_after(&|history| history.assign(1, 2, &[0], &[0, 1], 110)),
            0,
            "eager: revoked and reassigned"
        );
        assert_eq!(
            backwards_after(&|history| history.assign(1, 2, &[0], &[1], 110)),
            1,
            "cooperative: partition 0 stayed"
        );
        assert_eq!(
            backwards_after(&|history| {
                history.assign(1, 2, &[1], &[0], 105);
                history.assign(1, 3, &[0, 1], &[], 110);
            }),
            0,
            "moved away and back"
        );
    }

    #[test]
    fn two_consumers_reading_the_same_offsets_are_each_monotonic() {
        let mut history = HistoryBuilder::new();
        history.poll(1, 0, &[(0, 10), (1, 11)], 100);
        history.poll(2, 0, &[(0, 10), (1, 11)], 110);
        let final_state = final_logs(&[(0, &[(0, 10), (1, 11)])]);
        assert!(check_history(&history.build(), &final_state).is_empty());
    }

    #[test]
    fn clean_history_has_no_nonmonotonic_poll() {
        let (history, final_state) = clean_history();
        assert!(only(&check_history(&history, &final_state), "nonmonotonic-poll").is_empty());
    }
}
