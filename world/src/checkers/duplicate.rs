//! `duplicate`, after Jepsen's Kafka workload (`jepsen.tests.kafka`, the `:duplicate`
//! anomaly): one value stored at more than one position of the log.
//!
//! A value is duplicated when the final logs hold it at more than one (partition, offset), or
//! when polls (by any consumers) returned it at more than one (partition, offset). The two
//! sources are judged separately: a value polled at offset 5 that the final log holds only at
//! offset 7 is an `inconsistent-offsets`/`NoCommittedRecordLost` matter, not a duplicate. One
//! violation per value, listing every offset it was found at; the partition is the first one.

use super::{final_positions, FinalState, Observations};
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::Offset;
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::Duplicate;

/// Where one duplicated value was found.
#[derive(Default)]
struct Duplicated {
    positions: BTreeSet<(TopicPartition, Offset)>,
    /// The earliest time the duplication was visible.
    time_ms: Option<u64>,
    /// How it was found: stored in the final log, polled, or both.
    sources: Vec<&'static str>,
}

impl Duplicated {
    fn add(
        &mut self,
        positions: BTreeSet<(TopicPartition, Offset)>,
        time_ms: u64,
        source: &'static str,
    ) {
        self.positions.extend(positions);
        self.time_ms = Some(self.time_ms.map_or(time_ms, |earlier| earlier.min(time_ms)));
        self.sources.push(source);
    }
}

pub(crate) fn check(observations: &Observations, final_state: &FinalState) -> Vec<Violation> {
    let stored = final_positions(final_state);
    let mut polled: BTreeMap<u64, (BTreeSet<(TopicPartition, Offset)>, u64)> = BTreeMap::new();
    for record in &observations.polled {
        let (positions, time_ms) = polled.entry(record.value).or_default();
        if positions.insert((record.partition, record.offset)) && positions.len() == 2 {
            // The moment the second position turned up is when the duplicate became visible.
            *time_ms = record.time_ms;
        }
    }

    let mut duplicated: BTreeMap<u64, Duplicated> = BTreeMap::new();
    for (value, positions) in stored {
        if positions.len() > 1 {
            duplicated.entry(value).or_default().add(
                positions,
                final_state.time_ms,
                "stored in the final log",
            );
        }
    }
    for (value, (positions, time_ms)) in polled {
        if positions.len() > 1 {
            duplicated
                .entry(value)
                .or_default()
                .add(positions, time_ms, "polled");
        }
    }

    duplicated
        .into_iter()
        .map(|(value, duplicated)| {
            let Duplicated {
                positions,
                time_ms,
                sources,
            } = duplicated;
            let places: Vec<String> = positions
                .iter()
                .map(|(partition, offset)| format!("{partition}@{offset}"))
                .collect();
            Violation {
                checker: NAME,
                partition: positions.first().map(|(partition, _)| *partition),
                offsets: positions.iter().map(|(_, offset)| *offset).collect(),
                values: vec![value],
                time_ms: time_ms.unwrap_or_default(),
                description: format!(
                    "value {value} was {} at {} positions: {}",
                    sources.join(" and "),
                    positions.len(),
                    places.join(", ")
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;
    use crate::verdict::{observed_guarantee, Guarantee};

    #[test]
    fn value_stored_twice_in_the_final_log_is_a_duplicate() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 100);
        let final_state = final_logs(&[(0, &[(0, 10), (1, 10)])]);

        let violations = check_history(&history.build(), &final_state);
        let duplicates = only(&violations, "duplicate");
        assert_eq!(duplicates.len(), 1, "{violations:?}");
        assert_eq!(duplicates[0].partition, Some(p(0)));
        assert_eq!(duplicates[0].offsets, vec![o(0), o(1)]);
        assert_eq!(duplicates[0].values, vec![10]);
        assert_eq!(observed_guarantee(&violations), Guarantee::AtLeastOnce);
    }

    #[test]
    fn value_polled_at_two_offsets_is_a_duplicate() {
        let mut history = HistoryBuilder::new();
        history.poll(1, 0, &[(3, 10)], 100);
        history.poll(2, 0, &[(5, 10)], 120);
        let final_state = final_logs(&[(0, &[(3, 10)])]);

        let duplicates = only(&check_history(&history.build(), &final_state), "duplicate");
        assert_eq!(duplicates.len(), 1);
        assert_eq!(duplicates[0].offsets, vec![o(3), o(5)]);
        assert_eq!(duplicates[0].values, vec![10]);
        assert_eq!(duplicates[0].time_ms, 120);
    }

    #[test]
    fn value_polled_twice_at_the_same_offset_is_not_a_stored_duplicate() {
        let mut history = HistoryBuilder::new();
        history.poll(1, 0, &[(3, 10)], 100);
        history.poll(2, 0, &[(3, 10)], 120);
        let final_state = final_logs(&[(0, &[(3, 10)])]);
        assert!(only(&check_history(&history.build(), &final_state), "duplicate").is_empty());
    }

    #[test]
    fn clean_history_has_no_duplicate() {
        let (history, final_state) = clean_history();
        assert!(only(&check_history(&history, &final_state), "duplicate").is_empty());
    }
}
