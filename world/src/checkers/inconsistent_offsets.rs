//! `inconsistent-offsets`, after Jepsen's Kafka workload (`jepsen.tests.kafka`, the
//! `:inconsistent-offsets` anomaly): clients disagree about which value sits at an offset.
//!
//! Every (partition, offset) the run bound to a value — by an `Ok` send that reported an
//! offset, by a poll, or by the final log — must be bound to a single value. One violation per
//! (partition, offset) with more than one value, listing the values ascending.

use super::{FinalState, Observations};
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::Offset;
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::InconsistentOffsets;

pub(crate) fn check(observations: &Observations, final_state: &FinalState) -> Vec<Violation> {
    // (partition, offset) → (values, time the second value turned up).
    let mut bound: BTreeMap<(TopicPartition, Offset), (BTreeSet<u64>, u64)> = BTreeMap::new();
    let mut bind = |partition: TopicPartition, offset: Offset, value: u64, time_ms: u64| {
        let (values, first_conflict_ms) = bound.entry((partition, offset)).or_default();
        if values.insert(value) && values.len() == 2 {
            *first_conflict_ms = time_ms;
        }
    };
    for send in &observations.acked_sends {
        if let (Some(partition), Some(offset)) = (send.partition, send.offset) {
            bind(partition, offset, send.value, send.time_ms);
        }
    }
    for record in &observations.polled {
        bind(
            record.partition,
            record.offset,
            record.value,
            record.time_ms,
        );
    }
    for (partition, log) in &final_state.logs {
        for (offset, value) in log {
            bind(*partition, *offset, *value, final_state.time_ms);
        }
    }

    bound
        .into_iter()
        .filter(|(_, (values, _))| values.len() > 1)
        .map(|((partition, offset), (values, time_ms))| {
            let listed: Vec<String> = values.iter().map(u64::to_string).collect();
            Violation {
                checker: NAME,
                partition: Some(partition),
                offsets: vec![offset],
                values: values.into_iter().collect(),
                time_ms,
                description: format!(
                    "offset {offset} of {partition} was seen holding different values: {}",
                    listed.join(", ")
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;

    #[test]
    fn acked_offset_that_a_poll_saw_with_another_value_is_inconsistent() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(4), 100);
        history.poll(2, 0, &[(4, 11)], 150);
        let final_state = final_logs(&[(0, &[(4, 11), (5, 10)])]);

        let violations = only(
            &check_history(&history.build(), &final_state),
            "inconsistent-offsets",
        );
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].partition, Some(p(0)));
        assert_eq!(violations[0].offsets, vec![o(4)]);
        assert_eq!(violations[0].values, vec![10, 11]);
        assert_eq!(violations[0].time_ms, 150);
    }

    #[test]
    fn the_same_offset_in_different_partitions_is_not_inconsistent() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 100);
        history.send_ok(1, 1, 11, Some(0), 100);
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
