//! `duplicate-process`: end-to-end processing counts per group, their duplication side. A
//! value a group's application wrote to the sink more than once (by one member after a rewind
//! to the committed offset, or by two members across a rebalance) was processed twice: the
//! group gave at-least-once at best. Effect `Duplication`: for a consumer-side scenario this is
//! what breaks at-most-once. (`duplicate-consume` counts what one consumer was handed; a
//! record polled twice but processed once breaks nothing the application promised.)
//!
//! One violation per (group, value): the partition of the first processing, every offset it
//! was processed at (with repeats, in order), the value, the time of the second processing.

use super::group_history::GroupHistory;
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::BTreeMap;
use watermark_broker_core::ids::{ClientId, Offset};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::DuplicateProcess;

struct Processings {
    partition: TopicPartition,
    offsets: Vec<Offset>,
    clients: Vec<ClientId>,
    second_time_ms: u64,
}

pub(crate) fn check(groups: &GroupHistory) -> Vec<Violation> {
    let mut found = Vec::new();
    for (group, processed) in &groups.processed {
        let mut by_value: BTreeMap<u64, Processings> = BTreeMap::new();
        for record in processed {
            let entry = by_value.entry(record.value).or_insert_with(|| Processings {
                partition: record.partition,
                offsets: Vec::new(),
                clients: Vec::new(),
                second_time_ms: 0,
            });
            entry.offsets.push(record.offset);
            entry.clients.push(record.client);
            if entry.offsets.len() == 2 {
                entry.second_time_ms = record.time_ms;
            }
        }
        found.extend(
            by_value
                .into_iter()
                .filter(|(_, processings)| processings.offsets.len() > 1)
                .map(|(value, processings)| {
                    let by: Vec<String> = processings
                        .clients
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    Violation {
                        checker: NAME,
                        partition: Some(processings.partition),
                        values: vec![value],
                        time_ms: processings.second_time_ms,
                        description: format!(
                            "group {group} processed value {value} {} times (by {})",
                            processings.offsets.len(),
                            by.join(", ")
                        ),
                        offsets: processings.offsets,
                    }
                }),
        );
    }
    found
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;
    use crate::verdict::{observed_guarantee, Guarantee};

    #[test]
    fn a_value_processed_by_two_members_across_a_rebalance_is_processed_twice() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 10);
        history.assign(5, 1, &[0], &[], 20);
        history.poll(5, 0, &[(0, 10)], 30);
        history.process(5, 0, 0, 10, 40);
        // Member 5 was slow and lost the partition before committing; member 6 starts over.
        history.assign(6, 2, &[0], &[], 50);
        history.poll(6, 0, &[(0, 10)], 60);
        history.process(6, 0, 0, 10, 70);
        let mut final_state = final_logs(&[(0, &[(0, 10)])]);
        reads(&mut final_state, &[0], true);

        let violations = check_history(&history.build(), &final_state);
        let twice = only(&violations, "duplicate-process");
        assert_eq!(twice.len(), 1, "{violations:?}");
        assert_eq!(twice[0].values, vec![10]);
        assert_eq!(twice[0].offsets, vec![o(0), o(0)]);
        assert_eq!(twice[0].time_ms, 70);
        // Two consumers each polled it once: no one consumer was handed it twice.
        assert_eq!(checkers_reporting(&violations), vec!["duplicate-process"]);
        assert_eq!(observed_guarantee(&violations), Guarantee::AtLeastOnce);
    }

    #[test]
    fn a_record_re_polled_but_processed_once_duplicates_nothing() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 10);
        history.assign(5, 1, &[0], &[], 20);
        // Polled, not processed (the consumer restarted), polled again and processed.
        history.poll(5, 0, &[(0, 10)], 30);
        history.assign(5, 2, &[0], &[0], 50);
        history.poll(5, 0, &[(0, 10)], 60);
        history.process(5, 0, 0, 10, 70);
        let mut final_state = final_logs(&[(0, &[(0, 10)])]);
        reads(&mut final_state, &[0], true);
        let violations = check_history(&history.build(), &final_state);
        assert!(violations.is_empty(), "{violations:?}");
        assert_eq!(observed_guarantee(&violations), Guarantee::ExactlyOnce);
    }
}
