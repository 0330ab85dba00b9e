//! `final-log-loss`, Watermark's own check (Jepsen has no final read): a value the system said
//! it had written is missing from the final log.
//!
//! With transactions: an acknowledged value counts as present only where a `read_committed`
//! reader of the final log sees it (not in an aborted or open transaction); a value that was
//! only polled counts as present wherever its record still is.
//!
//! A value `v` counts as written when a send of `v` completed `Ok` — at any acks level; an
//! acks=0 send completes `Ok` with no offset — or when any consumer polled `v`. It is lost when
//! it is not in `final_state.logs[p]` for its partition `p` (a partition absent from the final
//! state counts as an empty log; a send whose partition the history never names is looked for
//! in every final log). Jepsen's `lost-write` can only judge against what some poll reached
//! (see `lost_write.rs`); Watermark also has the final committed log after a liveness phase,
//! so it judges every acknowledged value against that, read or not.
//!
//! A value whose evidence (its acknowledged offset, or the offset it was polled at) is below
//! the offset a DeleteRecords deleted its partition to ([`FinalState::was_deleted`]) is not
//! lost: it was removed on purpose. (An acks=0 value, with no offset, is still judged.)
//!
//! One violation per lost value: its partition, its acknowledged offset (or, for a value that
//! was only ever polled, the offset it was polled at), the value, and the time of the
//! acknowledgement (or of the first poll).

use super::{FinalState, Observations};
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::Offset;
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::FinalLogLoss;

/// Why the checker believes a value was written.
struct Evidence {
    /// `None` only for a send whose completion and invocation both left the partition out.
    partition: Option<TopicPartition>,
    offset: Option<Offset>,
    time_ms: u64,
    acknowledged: bool,
}

pub(crate) fn check(observations: &Observations, final_state: &FinalState) -> Vec<Violation> {
    // The first evidence per value wins; an acknowledgement is preferred to a poll because it
    // is what the producer was promised.
    let mut written: BTreeMap<u64, Evidence> = BTreeMap::new();
    for send in observations.acked_sends() {
        written.entry(send.value).or_insert(Evidence {
            partition: send.partition,
            offset: send.offset,
            time_ms: send.time_ms,
            acknowledged: true,
        });
    }
    for polled in &observations.polled {
        written.entry(polled.value).or_insert(Evidence {
            partition: Some(polled.partition),
            offset: Some(polled.offset),
            time_ms: polled.time_ms,
            acknowledged: false,
        });
    }

    // An acknowledged value must be visible to a read_committed reader of the final log (a
    // committed transaction's value in an aborted one is lost to every such reader); a value
    // only ever polled must still be in the log, aborted or not (a read_uncommitted poll of
    // an aborted value is `G1a`'s to judge, and the record is not lost).
    let in_log = values_by_partition(final_state, |_, _| true);
    let visible = values_by_partition(final_state, |partition, offset| {
        final_state.is_committed_visible(partition, offset)
    });

    let mut violations = Vec::new();
    for (value, evidence) in written {
        let final_values = if evidence.acknowledged {
            &visible
        } else {
            &in_log
        };
        let present = match evidence.partition {
            Some(partition) => final_values
                .get(&partition)
                .is_some_and(|values| values.contains(&value)),
            None => final_values.values().any(|values| values.contains(&value)),
        };
        let deleted = evidence
            .partition
            .zip(evidence.offset)
            .is_some_and(|(partition, offset)| final_state.was_deleted(partition, offset));
        if present || deleted {
            continue;
        }
        let how = match (evidence.acknowledged, evidence.offset) {
            (true, Some(offset)) => format!("acknowledged at offset {offset}"),
            (true, None) => "acknowledged (acks=0, offset unknown)".to_string(),
            (false, Some(offset)) => format!("polled at offset {offset}"),
            (false, None) => "polled".to_string(),
        };
        violations.push(Violation {
            checker: NAME,
            partition: evidence.partition,
            offsets: evidence.offset.into_iter().collect(),
            values: vec![value],
            time_ms: evidence.time_ms,
            description: format!(
                "value {value} was {how} at t={}ms but is not in the final log of {}",
                evidence.time_ms,
                evidence
                    .partition
                    .map_or("any partition".to_string(), |partition| partition
                        .to_string())
            ),
        });
    }
    violations
}

/// Per partition, the values of the final log's records that `keep` keeps.
fn values_by_partition(
    final_state: &FinalState,
    keep: impl Fn(TopicPartition, Offset) -> bool,
) -> BTreeMap<TopicPartition, BTreeSet<u64>> {
    final_state
        .logs
        .iter()
        .map(|(partition, log)| {
            let values = log
                .iter()
                .filter(|(offset, _)| keep(*partition, *offset))
                .map(|(_, value)| *value)
                .collect();
            (*partition, values)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::checkers::test_support::*;
    use crate::checkers::{check_history, CLIENT_CHECKERS};
    use crate::verdict::{observed_guarantee, Guarantee};

    #[test]
    fn acknowledged_value_missing_from_the_final_log_is_lost() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 100);
        history.send_ok(1, 0, 11, Some(1), 110);
        let final_state = final_logs(&[(0, &[(0, 10)])]);

        let violations = only(
            &check_history(&history.build(), &final_state),
            "final-log-loss",
        );
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].partition, Some(p(0)));
        assert_eq!(violations[0].offsets, vec![o(1)]);
        assert_eq!(violations[0].values, vec![11]);
        assert_eq!(violations[0].time_ms, 110);
    }

    #[test]
    fn acks_zero_send_and_polled_value_count_as_written() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, None, 100);
        history.poll(2, 1, &[(4, 20)], 120);
        let final_state = final_logs(&[(0, &[]), (1, &[])]);

        let violations = only(
            &check_history(&history.build(), &final_state),
            "final-log-loss",
        );
        let lost: Vec<_> = violations
            .iter()
            .map(|violation| {
                (
                    violation.partition,
                    violation.offsets.clone(),
                    violation.values.clone(),
                )
            })
            .collect();
        assert_eq!(
            lost,
            vec![
                (Some(p(0)), vec![], vec![10]),
                (Some(p(1)), vec![o(4)], vec![20])
            ]
        );
    }

    #[test]
    fn failed_and_indefinite_sends_are_not_final_log_losses() {
        let mut history = HistoryBuilder::new();
        history.send_fail(1, 0, 10, 100);
        history.send_info(1, 0, 11, 110);
        let final_state = final_logs(&[(0, &[])]);
        assert!(check_history(&history.build(), &final_state).is_empty());
    }

    #[test]
    fn clean_history_has_no_final_log_loss_and_is_exactly_once() {
        let (history, final_state) = clean_history();
        let violations = check_history(&history, &final_state);
        assert!(violations.is_empty(), "{violations:?}");
        assert_eq!(observed_guarantee(&violations), Guarantee::ExactlyOnce);
    }

    #[test]
    fn final_log_loss_means_at_most_once() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 100);
        let final_state = final_logs(&[(0, &[])]);
        let violations = check_history(&history.build(), &final_state);
        assert_eq!(observed_guarantee(&violations), Guarantee::AtMostOnce);
    }

    #[test]
    fn every_final_log_loss_is_reported_without_a_summary() {
        let mut history = HistoryBuilder::new();
        for value in 0..25 {
            history.send_ok(1, 0, value, Some(value), 100 + value);
        }
        let final_state = final_logs(&[(0, &[])]);
        let violations = only(
            &check_history(&history.build(), &final_state),
            "final-log-loss",
        );
        assert_eq!(violations.len(), 25);
        assert_eq!(violations[0].values, vec![0]);
        assert_eq!(violations[24].values, vec![24]);
        assert!(violations
            .iter()
            .all(|violation| violation.partition.is_some()));
        assert!(CLIENT_CHECKERS.contains(&super::NAME));
    }

    /// A committed value whose record a read_committed reader cannot see (it sits in an
    /// aborted transaction) is lost to every such reader; a value only polled (a
    /// read_uncommitted read of an aborted record) is not lost while its record is there.
    #[test]
    fn an_acknowledged_value_must_be_visible_and_a_polled_one_present() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 5);
        history.poll(2, 0, &[(0, 10), (1, 11)], 10);
        let mut final_state = final_logs(&[(0, &[(0, 10), (1, 11)])]);
        crate::checkers::txn_test_support::aborted(&mut final_state, 0, &[0, 1]);
        let lost = only(
            &check_history(&history.build(), &final_state),
            "final-log-loss",
        );
        let values: Vec<_> = lost
            .iter()
            .map(|violation| violation.values.clone())
            .collect();
        assert_eq!(values, vec![vec![10]]);
    }
}
