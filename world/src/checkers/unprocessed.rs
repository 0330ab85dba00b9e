//! `unprocessed`: end-to-end processing counts per group, their loss side. Every value a
//! producer was told is stored (`Ok` send) in a partition of a topic a group reads must reach
//! the sink through that group's application at least once by the end of the liveness phase;
//! a value it processed zero times is lost for that group, whatever its consumers polled
//! (a record polled and committed but never processed, as commit-then-process loses it, is
//! lost). Effect `Loss`: for a consumer-side scenario this is what breaks at-least-once.
//!
//! One violation per (group, value): the partition and offset the send was acknowledged at,
//! the value, the time the final state was read.

use super::group_history::GroupHistory;
use super::{FinalState, Observations};
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::BTreeSet;

pub const NAME: Checker = Checker::Unprocessed;

pub(crate) fn check(
    observations: &Observations,
    groups: &GroupHistory,
    final_state: &FinalState,
) -> Vec<Violation> {
    let mut found = Vec::new();
    for (group, reads) in &final_state.groups {
        let processed: BTreeSet<u64> = groups.of(group).iter().map(|record| record.value).collect();
        for send in observations.acked_sends() {
            let Some(partition) = send.partition else {
                continue;
            };
            if !reads.partitions.contains(&partition) || processed.contains(&send.value) {
                continue;
            }
            let at = send.offset.map_or_else(
                || "an unknown offset".to_string(),
                |offset| format!("offset {offset}"),
            );
            found.push(Violation {
                checker: NAME,
                partition: Some(partition),
                offsets: send.offset.into_iter().collect(),
                values: vec![send.value],
                time_ms: final_state.time_ms,
                description: format!(
                    "group {group} never processed value {} (acknowledged at {at} of {partition})",
                    send.value
                ),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;
    use crate::verdict::{observed_guarantee, Guarantee};

    #[test]
    fn an_acknowledged_value_the_group_never_processed_is_lost_even_if_polled() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 10);
        history.send_ok(1, 0, 11, Some(1), 11);
        history.assign(5, 1, &[0], &[], 20);
        // Commit-then-process: both polled, the consumer crashed before processing 11.
        history.poll(5, 0, &[(0, 10), (1, 11)], 30);
        history.process(5, 0, 0, 10, 40);
        let mut final_state = final_logs(&[(0, &[(0, 10), (1, 11)])]);
        reads(&mut final_state, &[0], false);

        let violations = check_history(&history.build(), &final_state);
        let lost = only(&violations, "unprocessed");
        assert_eq!(lost.len(), 1, "{violations:?}");
        assert_eq!(lost[0].values, vec![11]);
        assert_eq!(lost[0].offsets, vec![o(1)]);
        assert_eq!(lost[0].partition, Some(p(0)));
        assert_eq!(checkers_reporting(&violations), vec!["unprocessed"]);
        assert_eq!(observed_guarantee(&violations), Guarantee::AtMostOnce);
    }

    #[test]
    fn values_of_partitions_the_group_does_not_read_and_unacknowledged_ones_are_not_judged() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 10);
        history.send_ok(1, 1, 20, Some(0), 10);
        history.send_info(1, 0, 11, 12);
        history.assign(5, 1, &[0], &[], 20);
        history.poll(5, 0, &[(0, 10)], 30);
        history.process(5, 0, 0, 10, 40);
        let mut final_state = final_logs(&[(0, &[(0, 10)])]);
        reads(&mut final_state, &[0], false);
        let violations = check_history(&history.build(), &final_state);
        assert!(
            only(&violations, "unprocessed").is_empty(),
            "{violations:?}"
        );
        // Without a group, nothing is judged at all.
        final_state.groups.clear();
        history.send_ok(1, 0, 12, Some(1), 50);
        assert!(only(
            &check_history(&history.build(), &final_state),
            "unprocessed"
        )
        .is_empty());
    }
}
