//! `nonmonotonic-poll`, after Jepsen's Kafka workload (`jepsen.tests.kafka`, the
//! `:nonmonotonic-poll` anomaly): a consumer went backwards (or stood still) in a partition.
//!
//! Per consumer and partition, in the order the application received them (across polls),
//! each polled offset must be strictly greater than the one polled before it. One violation
//! per offending pair: offsets and values `[previous, current]`. As with `poll-skip`, nothing
//! resets a consumer's position between polls, so a rewind after a detected truncation
//! (`PositionReset`) is reported: the application did see those offsets again.

use super::Observations;
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::BTreeMap;
use watermark_broker_core::ids::{ClientId, Offset};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::NonmonotonicPoll;

pub(crate) fn check(observations: &Observations) -> Vec<Violation> {
    let mut previous: BTreeMap<(ClientId, TopicPartition), (Offset, u64)> = BTreeMap::new();
    let mut violations = Vec::new();
    for record in &observations.polled {
        let key = (record.client, record.partition);
        if let Some((previous_offset, previous_value)) =
            previous.insert(key, (record.offset, record.value))
        {
            if record.offset <= previous_offset {
                violations.push(Violation {
                    checker: NAME,
                    partition: Some(record.partition),
                    offsets: vec![previous_offset, record.offset],
                    values: vec![previous_value, record.value],
                    time_ms: record.time_ms,
                    description: format!(
                        "{} polled offset {previous_offset} then {} of {}",
                        record.client, record.offset, record.partition
                    ),
                });
            }
        }
    }
    violations
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
