//! `unseen`, after Jepsen's Kafka workload (`jepsen.tests.kafka`, the `:unseen` statistic):
//! acknowledged values that no consumer ever read. Informational (listed in
//! its registry entry): a consumer may simply have stopped before reaching
//! them, so a finding never fails a run on its own.
//!
//! A value is unseen when a send of it completed `Ok`, the final log of its partition holds it,
//! at least one consumer polled that partition (so the partition was being read at all), and
//! no consumer ever polled the value. The offset reported is the value's offset in the final
//! log; the time is the acknowledgement's.

use super::{FinalState, Observations};
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::Offset;
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::Unseen;

pub(crate) fn check(observations: &Observations, final_state: &FinalState) -> Vec<Violation> {
    let polled_partitions: BTreeSet<TopicPartition> = observations
        .polled
        .iter()
        .map(|record| record.partition)
        .collect();
    let polled_values: BTreeSet<u64> = observations
        .polled
        .iter()
        .map(|record| record.value)
        .collect();
    // Only partitions someone read can have unseen values; index just those.
    let mut final_offsets: BTreeMap<u64, (TopicPartition, Offset)> = BTreeMap::new();
    for partition in &polled_partitions {
        for (offset, value) in final_state.logs.get(partition).into_iter().flatten() {
            final_offsets.entry(*value).or_insert((*partition, *offset));
        }
    }

    let mut reported: BTreeSet<u64> = BTreeSet::new();
    let mut violations = Vec::new();
    for send in &observations.acked_sends {
        if polled_values.contains(&send.value) || !reported.insert(send.value) {
            continue;
        }
        let Some((partition, offset)) = final_offsets.get(&send.value).copied() else {
            continue;
        };
        violations.push(Violation {
            checker: NAME,
            partition: Some(partition),
            offsets: vec![offset],
            values: vec![send.value],
            time_ms: send.time_ms,
            description: format!(
                "value {} was acknowledged and is at offset {offset} of {partition}'s final log, \
                 but no consumer ever polled it",
                send.value
            ),
        });
    }
    violations
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;
    use crate::verdict::{observed_guarantee, Guarantee};

    #[test]
    fn acknowledged_value_no_consumer_polled_is_unseen() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 100);
        history.send_ok(1, 0, 11, Some(1), 110);
        history.poll(2, 0, &[(0, 10)], 150);
        let final_state = final_logs(&[(0, &[(0, 10), (1, 11)])]);

        let violations = check_history(&history.build(), &final_state);
        assert_eq!(checkers_reporting(&violations), vec!["unseen"]);
        assert_eq!(violations[0].partition, Some(p(0)));
        assert_eq!(violations[0].offsets, vec![o(1)]);
        assert_eq!(violations[0].values, vec![11]);
        assert!(violations[0].checker.info().informational);
        assert_eq!(observed_guarantee(&violations), Guarantee::ExactlyOnce);
    }

    #[test]
    fn values_of_a_partition_nobody_read_are_not_unseen() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 1, 20, Some(0), 100);
        history.poll(2, 0, &[(0, 10)], 150);
        let final_state = final_logs(&[(0, &[(0, 10)]), (1, &[(0, 20)])]);
        assert!(only(&check_history(&history.build(), &final_state), "unseen").is_empty());
    }

    #[test]
    fn clean_history_has_nothing_unseen() {
        let (history, final_state) = clean_history();
        assert!(only(&check_history(&history, &final_state), "unseen").is_empty());
    }
}
