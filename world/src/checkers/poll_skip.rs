//! `poll-skip`, as Jepsen's Kafka workload defines it (`jepsen.tests.kafka`,
//! `poll-skip+nonmonotonic-cases`): per consumer and partition, a poll operation whose first
//! value lies more than one step past the last value of the consumer's previous poll of that
//! partition in the version order's dense index — it skipped records that exist.
//!
//! The steps are `poll_steps::between_polls`: only a group consumer's rebalance (an
//! `OpBody::Assign` that moved the partition) resets its last read, as Jepsen's subscribe
//! rules say; otherwise nothing resets a consumer's position (a `PositionReset` that jumps forward after a truncation is a
//! skip the application saw). A value with no dense index gives no finding (Jepsen's rule).
//! Holes in the offsets (transaction markers, offsets nobody saw) are not skips: the dense
//! index leaves them out. Nor is a jump over records a DeleteRecords deleted (the later
//! record at or below the offset they were deleted to): the consumer was told
//! OFFSET_OUT_OF_RANGE and started again where the log now starts. Effect `Ordering`.
//!
//! One violation per step: offsets and values `[last of the earlier poll, first of the
//! later]`, the time of the later poll; the description lists the skipped records.

use super::poll_steps::{between_polls, PollStep};
use super::version_order::VersionOrders;
use super::{FinalState, Observations};
use crate::checkers::registry::Checker;
use crate::violation::Violation;

pub const NAME: Checker = Checker::PollSkip;

/// At most this many skipped records are spelled out in one description.
const SKIPPED_LISTED_MAX: usize = 5;

pub(crate) fn check(
    observations: &Observations,
    orders: &VersionOrders,
    final_state: &FinalState,
) -> Vec<Violation> {
    between_polls(observations, orders)
        .into_iter()
        .filter(|step| step.delta() > 1)
        .filter(|step| !skips_only_deleted_records(step, final_state))
        .map(|step| skip_violation(NAME, &step, orders, "its next poll of"))
        .collect()
}

/// Whether every record the step skipped was deleted on purpose: the later record is at or
/// below the offset a DeleteRecords deleted to, so everything between was below it (a
/// consumer told OFFSET_OUT_OF_RANGE starts again at the log start offset).
fn skips_only_deleted_records(step: &PollStep, final_state: &FinalState) -> bool {
    final_state
        .log_start_offsets
        .get(&step.partition)
        .is_some_and(|deleted_before| step.later.0 <= *deleted_before)
}

/// The violation for a step that skipped records, shared with `int-poll-skip`.
pub(crate) fn skip_violation(
    checker: Checker,
    step: &PollStep,
    orders: &VersionOrders,
    where_next: &str,
) -> Violation {
    let mut skipped = step.skipped(orders);
    if skipped.len() > SKIPPED_LISTED_MAX {
        skipped.truncate(SKIPPED_LISTED_MAX);
        skipped.push("…".to_string());
    }
    let ((earlier_offset, earlier_value), (later_offset, later_value)) = (step.earlier, step.later);
    Violation {
        checker,
        partition: Some(step.partition),
        offsets: vec![earlier_offset, later_offset],
        values: vec![earlier_value, later_value],
        time_ms: step.time_ms,
        description: format!(
            "{} read value {earlier_value} (offset {earlier_offset}), then in {where_next} {} \
             value {later_value} (offset {later_offset}), skipping {} record(s) \
             (offset:value): {}",
            step.client,
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

    #[test]
    fn consumer_jumping_over_a_committed_record_skips_it() {
        let mut history = HistoryBuilder::new();
        history.poll(1, 0, &[(0, 10), (1, 11)], 100);
        history.poll(1, 0, &[(3, 13)], 120);
        history.poll(2, 0, &[(0, 10), (1, 11), (2, 12), (3, 13)], 130);
        let final_state = final_logs(&[(0, &[(0, 10), (1, 11), (2, 12), (3, 13)])]);

        let violations = check_history(&history.build(), &final_state);
        assert_eq!(checkers_reporting(&violations), vec!["poll-skip"]);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].partition, Some(p(0)));
        assert_eq!(violations[0].offsets, vec![o(1), o(3)]);
        assert_eq!(violations[0].values, vec![11, 13]);
        assert_eq!(violations[0].time_ms, 120);
        assert!(
            violations[0].description.contains("2:12"),
            "{}",
            violations[0]
        );
    }

    /// kafka_test.clj `poll-skip-test`: consumer 0 reads a b at 1 2, then d at 4, then g at 7;
    /// another consumer read c at 3, and f was acknowledged at 6 (5 may be a hole). Two skips:
    /// b→d skips c, d→g skips f. Values a..g are 1..7.
    #[test]
    fn skips_follow_jepsens_example_across_holes() {
        let (a, b, c, d, f, g) = (1, 2, 3, 4, 6, 7);
        let mut history = HistoryBuilder::new();
        history.poll(0, 0, &[(1, a), (2, b)], 1);
        history.poll(1, 0, &[(3, c)], 3);
        history.poll(0, 0, &[(4, d)], 7);
        history.send_ok(2, 0, f, Some(6), 11);
        history.poll(0, 0, &[(7, g)], 13);
        for value in [a, b, c, d, g] {
            history.send_info(3, 0, value, 15);
        }
        let skips: Vec<_> = only(
            &check_history(&history.build(), &FinalState::default()),
            "poll-skip",
        )
        .iter()
        .map(|violation| violation.values.clone())
        .collect();
        assert_eq!(skips, vec![vec![b, d], vec![d, g]]);
    }

    #[test]
    fn gaps_no_client_saw_filled_are_not_skips() {
        let mut history = HistoryBuilder::new();
        // Offset 1 is absent from every source (a transaction marker, say): no skip.
        history.poll(1, 0, &[(0, 10)], 100);
        history.poll(1, 0, &[(2, 12)], 110);
        let final_state = final_logs(&[(0, &[(0, 10), (2, 12)])]);
        assert!(check_history(&history.build(), &final_state).is_empty());
    }

    #[test]
    fn a_record_only_a_send_acknowledged_counts_as_skipped() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 11, Some(1), 90);
        history.poll(2, 0, &[(0, 10)], 100);
        history.poll(2, 0, &[(2, 12)], 110);
        let skips = only(
            &check_history(&history.build(), &FinalState::default()),
            "poll-skip",
        );
        assert_eq!(skips.len(), 1, "{skips:?}");
        assert_eq!(skips[0].values, vec![10, 12]);
    }

    /// Jepsen's `by-value` would place the first copy of 11 at its second copy (offset 3), so
    /// this consumer, reading the log in order, would skip from 10 to 11 and go back from 11
    /// to 12. Placed by the offsets it read them at, it moved one record at a time.
    #[test]
    fn reading_a_duplicated_value_in_log_order_is_neither_a_skip_nor_a_step_back() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 1);
        history.send_ok(1, 0, 11, Some(1), 2);
        history.send_ok(1, 0, 12, Some(2), 3);
        history.poll(2, 0, &[(0, 10)], 4);
        history.poll(2, 0, &[(1, 11), (2, 12), (3, 11)], 5);
        let final_state = final_logs(&[(0, &[(0, 10), (1, 11), (2, 12), (3, 11)])]);
        let violations = check_history(&history.build(), &final_state);
        assert_eq!(
            checkers_reporting(&violations),
            vec!["duplicate", "duplicate-consume"]
        );
    }

    #[test]
    fn clean_history_has_no_poll_skip() {
        let (history, final_state) = clean_history();
        assert!(only(&check_history(&history, &final_state), "poll-skip").is_empty());
    }
}
