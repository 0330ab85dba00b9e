//! `poll-skip`, after Jepsen's Kafka workload (`jepsen.tests.kafka`, the `:poll-skip`
//! anomaly): a consumer's position jumped over records that exist.
//!
//! Per consumer and partition, take every polled offset in the order the application received
//! them (across polls); for each consecutive pair `a` then `b` with `a < b`, any offset of the
//! final log strictly between them was skipped. One violation per such pair: offsets `[a, b]`,
//! values `[value at a, value at b]`; the description names the skipped offsets. Jepsen
//! forgets a consumer's position on `assign`/`subscribe`; Watermark's consumers keep one
//! assignment for the whole run, so nothing resets it (a `PositionReset` after a truncation
//! that jumps forward is reported here, as it is a skip the application saw).

use super::{FinalState, Observations};
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::{ClientId, Offset};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::PollSkip;

/// At most this many skipped offsets are spelled out in one description.
const SKIPPED_LISTED_MAX: usize = 5;

pub(crate) fn check(observations: &Observations, final_state: &FinalState) -> Vec<Violation> {
    let final_offsets: BTreeMap<TopicPartition, BTreeSet<Offset>> = final_state
        .logs
        .iter()
        .map(|(partition, log)| (*partition, log.iter().map(|(offset, _)| *offset).collect()))
        .collect();
    let empty = BTreeSet::new();

    let mut previous: BTreeMap<(ClientId, TopicPartition), (Offset, u64)> = BTreeMap::new();
    let mut violations = Vec::new();
    for record in &observations.polled {
        let key = (record.client, record.partition);
        if let Some((previous_offset, previous_value)) =
            previous.insert(key, (record.offset, record.value))
        {
            if previous_offset.next() >= record.offset {
                continue;
            }
            let offsets = final_offsets.get(&record.partition).unwrap_or(&empty);
            let skipped: Vec<Offset> = offsets
                .range(previous_offset.next()..record.offset)
                .copied()
                .take(SKIPPED_LISTED_MAX + 1)
                .collect();
            if skipped.is_empty() {
                continue;
            }
            let mut listed: Vec<String> = skipped
                .iter()
                .take(SKIPPED_LISTED_MAX)
                .map(Offset::to_string)
                .collect();
            if skipped.len() > SKIPPED_LISTED_MAX {
                listed.push("…".to_string());
            }
            violations.push(Violation {
                checker: NAME,
                partition: Some(record.partition),
                offsets: vec![previous_offset, record.offset],
                values: vec![previous_value, record.value],
                time_ms: record.time_ms,
                description: format!(
                    "{} polled offset {previous_offset} then {} of {}, skipping offsets {} of \
                     the final log",
                    record.client,
                    record.offset,
                    record.partition,
                    listed.join(", ")
                ),
            });
        }
    }
    violations
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
    }

    #[test]
    fn gaps_the_final_log_does_not_fill_are_not_skips() {
        let mut history = HistoryBuilder::new();
        // Offset 1 is absent from the final log (a transaction marker, say): no skip.
        history.poll(1, 0, &[(0, 10), (2, 12)], 100);
        let final_state = final_logs(&[(0, &[(0, 10), (2, 12)])]);
        assert!(check_history(&history.build(), &final_state).is_empty());
    }

    #[test]
    fn clean_history_has_no_poll_skip() {
        let (history, final_state) = clean_history();
        assert!(only(&check_history(&history, &final_state), "poll-skip").is_empty());
    }
}
