//! `duplicate-consume`: end-to-end consume counts, the consumer-side half of the delivery
//! guarantee (docs/ARCHITECTURE.md, "Checkers": how many times the application processed each value; the
//! end-to-end exactly-once of KIP-98 is exactly one). It complements Jepsen's `duplicate`,
//! which looks at where values are stored, with what the application was handed.
//!
//! Group consumers are left out: what their application processed is counted by
//! `duplicate-process`, and a record re-polled after a rebalance or restart but processed once
//! duplicates nothing the application did.
//!
//! Per consumer, a value handed to the application more than once — at the same offset after
//! a rewind, or at a different offset — is a violation. One violation per (consumer, value):
//! the partition of the first delivery, every offset it was delivered at (with repeats, in
//! delivery order), the value, and the time of the second delivery.

use super::Observations;
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::BTreeMap;
use watermark_broker_core::ids::{ClientId, Offset};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::DuplicateConsume;

struct Deliveries {
    partition: TopicPartition,
    offsets: Vec<Offset>,
    second_time_ms: u64,
}

pub(crate) fn check(observations: &Observations) -> Vec<Violation> {
    let mut deliveries: BTreeMap<(ClientId, u64), Deliveries> = BTreeMap::new();
    let assign_mode = observations
        .polled
        .iter()
        .filter(|record| !observations.group_clients.contains(&record.client));
    for record in assign_mode {
        let entry = deliveries
            .entry((record.client, record.value))
            .or_insert_with(|| Deliveries {
                partition: record.partition,
                offsets: Vec::new(),
                second_time_ms: 0,
            });
        entry.offsets.push(record.offset);
        if entry.offsets.len() == 2 {
            entry.second_time_ms = record.time_ms;
        }
    }

    deliveries
        .into_iter()
        .filter(|(_, deliveries)| deliveries.offsets.len() > 1)
        .map(|((client, value), deliveries)| Violation {
            checker: NAME,
            partition: Some(deliveries.partition),
            values: vec![value],
            time_ms: deliveries.second_time_ms,
            description: format!(
                "{client} handed value {value} to the application {} times",
                deliveries.offsets.len()
            ),
            offsets: deliveries.offsets,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;
    use crate::verdict::{observed_guarantee, Guarantee};

    #[test]
    fn value_polled_twice_by_one_consumer_is_consumed_twice() {
        let mut history = HistoryBuilder::new();
        history.poll(1, 0, &[(0, 10), (1, 11)], 100);
        history.poll(1, 0, &[(1, 11)], 120);
        let final_state = final_logs(&[(0, &[(0, 10), (1, 11)])]);

        let violations = check_history(&history.build(), &final_state);
        let duplicates = only(&violations, "duplicate-consume");
        assert_eq!(duplicates.len(), 1, "{violations:?}");
        assert_eq!(duplicates[0].partition, Some(p(0)));
        assert_eq!(duplicates[0].offsets, vec![o(1), o(1)]);
        assert_eq!(duplicates[0].values, vec![11]);
        assert_eq!(duplicates[0].time_ms, 120);
        assert_eq!(observed_guarantee(&violations), Guarantee::AtLeastOnce);
    }

    #[test]
    fn two_consumers_each_reading_a_value_once_is_fine() {
        let mut history = HistoryBuilder::new();
        history.poll(1, 0, &[(0, 10)], 100);
        history.poll(2, 0, &[(0, 10)], 110);
        let final_state = final_logs(&[(0, &[(0, 10)])]);
        assert!(check_history(&history.build(), &final_state).is_empty());
    }

    #[test]
    fn clean_history_has_no_duplicate_consume() {
        let (history, final_state) = clean_history();
        assert!(only(&check_history(&history, &final_state), "duplicate-consume").is_empty());
    }
}
