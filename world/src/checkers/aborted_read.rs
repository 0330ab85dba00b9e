//! `G1a` (aborted read), as Jepsen's Kafka workload defines it (`jepsen.tests.kafka`,
//! `g1a-cases`, after Adya's G1a): a send the client reported as a *definite* failure whose
//! value nonetheless became visible. Jepsen looks in its `Ok` polls; Watermark looks in every
//! poll (all are `Ok`) and in the final logs, since a record that reached the committed log
//! is visible to any later reader.
//!
//! What this tests is the producer's classification of errors (`broker-core`,
//! `ErrorCode::is_definite_for_produce` and `Producer::attempt_is_definite`): a batch fails
//! definitely (`SendFailure::definite`, history `Fail`) only if *no* attempt of it can have
//! been appended — every attempt ended in an error the broker returns before appending
//! (`NotEnoughReplicas`, `OutOfOrderSequence`, `FencedLeaderEpoch`, `UnknownLeaderEpoch`, and
//! `NotLeaderOrFollower` when acks is not all). A timeout, a lost connection,
//! `NotEnoughReplicasAfterAppend` or `RequestTimedOut` on any attempt makes the failure
//! indefinite (`Info`). An error misclassified as definite shows up here as soon as the
//! attempt it ended had in fact been appended and the record survived.
//!
//! With transactions (issue 10): the sends of an aborted transaction complete `Fail` (the
//! history's contract), so a poll of one is an aborted read, whatever the consumer's
//! isolation level — a `read_uncommitted` consumer that reads an aborted value shows G1a as
//! Jepsen defines it. The polls of committed (`Ok`) `Transaction` operations are reads too, as
//! Jepsen's `op-reads` of a `:txn`. The final log, though, is read as a `read_committed`
//! reader reads it: an aborted transaction's record stays in the log by Kafka's design and
//! no such reader sees it (`FinalState::is_committed_visible`).
//!
//! Registry name `G1a`, as Jepsen spells it; scenario files may write `aborted-read`, the
//! name of the anomaly, or `G1a`. Effect `Integrity`: a client told "not written" acted on a
//! falsehood, so no delivery guarantee stands. One violation per (value, partition): the
//! offsets it was seen at, the time it was first seen.

use super::{FinalState, Observations};
use crate::checkers::registry::Checker;
use crate::history::OpType;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::Offset;
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::G1a;

/// Where one definitely failed value was seen.
#[derive(Default)]
struct Sightings {
    offsets: BTreeSet<Offset>,
    first_seen_ms: Option<u64>,
    /// "polled", then "in the final log", each at most once.
    how: Vec<&'static str>,
}

impl Sightings {
    fn add(&mut self, offset: Offset, time_ms: u64, how: &'static str) {
        self.offsets.insert(offset);
        self.first_seen_ms = Some(self.first_seen_ms.map_or(time_ms, |seen| seen.min(time_ms)));
        if !self.how.contains(&how) {
            self.how.push(how);
        }
    }
}

pub(crate) fn check(observations: &Observations, final_state: &FinalState) -> Vec<Violation> {
    let failed: BTreeSet<u64> = observations
        .sends
        .iter()
        .filter(|send| send.op_type == OpType::Fail)
        .map(|send| send.value)
        .collect();
    if failed.is_empty() {
        return Vec::new();
    }
    let mut seen: BTreeMap<(u64, TopicPartition), Sightings> = BTreeMap::new();
    for record in &observations.polled {
        if failed.contains(&record.value) {
            seen.entry((record.value, record.partition))
                .or_default()
                .add(record.offset, record.time_ms, "polled");
        }
    }
    // Jepsen's reads include those of `:ok` transactions (`op-reads` of a `:txn`).
    let committed = observations
        .transactions
        .iter()
        .filter(|transaction| transaction.op_type == OpType::Ok);
    for transaction in committed {
        for (partition, records) in &transaction.polls {
            for (offset, value) in records {
                if failed.contains(value) {
                    seen.entry((*value, *partition)).or_default().add(
                        *offset,
                        transaction.time_ms,
                        "polled",
                    );
                }
            }
        }
    }
    // The final log is read as a read_committed reader reads it: a record of an aborted
    // transaction stays in the log by design and is invisible there (docs/DECISIONS.md).
    for partition in final_state.logs.keys() {
        for (offset, value) in final_state.committed_visible(*partition) {
            if failed.contains(value) {
                seen.entry((*value, *partition)).or_default().add(
                    *offset,
                    final_state.time_ms,
                    "in the final log",
                );
            }
        }
    }
    seen.into_iter()
        .map(|((value, partition), sightings)| {
            let failed_at = observations
                .writer_of(value)
                .map_or(String::new(), |send| format!(" at t={}ms", send.time_ms));
            let offsets: Vec<Offset> = sightings.offsets.into_iter().collect();
            let listed: Vec<String> = offsets.iter().map(Offset::to_string).collect();
            Violation {
                checker: NAME,
                partition: Some(partition),
                values: vec![value],
                time_ms: sightings.first_seen_ms.unwrap_or_default(),
                description: format!(
                    "the send of value {value} failed definitely{failed_at}, yet it was {} at \
                     offset(s) {} of {partition}",
                    sightings.how.join(" and "),
                    listed.join(", ")
                ),
                offsets,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;
    use crate::checkers::txn_test_support::*;
    use crate::history::OpType;
    use crate::verdict::{observed_guarantee, Guarantee};

    /// kafka_test.clj `g1a-test`: a send fails definitely, yet a poll reads its value.
    #[test]
    fn a_definitely_failed_value_that_a_poll_reads_is_an_aborted_read() {
        let mut history = HistoryBuilder::new();
        history.send_fail(0, 0, 2, 1);
        history.poll(1, 0, &[(0, 2)], 3);
        let final_state = final_logs(&[(0, &[(0, 2)])]);
        let violations = check_history(&history.build(), &final_state);
        assert_eq!(checkers_reporting(&violations), vec!["G1a"]);
        assert_eq!(violations[0].partition, Some(p(0)));
        assert_eq!(violations[0].offsets, vec![o(0)]);
        assert_eq!(violations[0].values, vec![2]);
        assert_eq!(violations[0].time_ms, 3);
        assert!(
            violations[0]
                .description
                .contains("polled and in the final log"),
            "{}",
            violations[0]
        );
        assert!(!matches!(
            observed_guarantee(&violations),
            Guarantee::ExactlyOnce | Guarantee::AtLeastOnce
        ));
    }

    #[test]
    fn a_definitely_failed_value_in_the_final_log_alone_is_an_aborted_read() {
        let mut history = HistoryBuilder::new();
        history.send_fail(0, 0, 7, 1);
        let final_state = final_logs(&[(0, &[(4, 7)])]);
        let violations = only(&check_history(&history.build(), &final_state), "G1a");
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].time_ms, 10_000);
    }

    #[test]
    fn an_indefinite_send_may_become_visible() {
        let mut history = HistoryBuilder::new();
        history.send_info(0, 0, 7, 1);
        history.poll(1, 0, &[(0, 7)], 3);
        let final_state = final_logs(&[(0, &[(0, 7)])]);
        assert!(check_history(&history.build(), &final_state).is_empty());
    }

    /// `read-uncommitted-sees-aborted`: a transaction's send is aborted (its send completes
    /// `Fail`); its record stays in the log; a read_uncommitted consumer reads it.
    #[test]
    fn a_read_uncommitted_poll_of_an_aborted_value_is_an_aborted_read() {
        let mut history = HistoryBuilder::new();
        history.transaction(1, &txn(1).send(0, 10, Some(0)).abort(), OpType::Fail, 5);
        history.poll(3, 0, &[(0, 10)], 8);
        let mut final_state = final_logs(&[(0, &[(0, 10)])]);
        aborted(&mut final_state, 0, &[0]);
        let violations = only(&check_history(&history.build(), &final_state), "G1a");
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].values, vec![10]);
        assert_eq!(violations[0].time_ms, 8);
        assert!(
            violations[0]
                .description
                .ends_with("was polled at offset(s) 0 of events-0"),
            "{}",
            violations[0]
        );
    }

    /// `read-committed-hides-aborted`: the same aborted record, and a read_committed
    /// consumer that steps over it; a committed transaction that polls it is an aborted read.
    #[test]
    fn an_aborted_value_no_reader_gets_is_no_aborted_read_and_a_transactions_poll_is() {
        let mut history = HistoryBuilder::new();
        history.transaction(1, &txn(1).send(0, 10, Some(0)).abort(), OpType::Fail, 5);
        history.send_ok(2, 0, 11, Some(2), 6);
        history.poll(3, 0, &[(2, 11)], 8);
        let mut final_state = final_logs(&[(0, &[(0, 10), (2, 11)])]);
        aborted(&mut final_state, 0, &[0]);
        read_committed(&mut final_state, 3);
        assert!(only(&check_history(&history.build(), &final_state), "G1a").is_empty());

        let reader = txn(1).poll(0, &[(0, 10)]).send(1, 20, Some(0));
        history.transaction(4, &reader, OpType::Ok, 9);
        let violations = only(&check_history(&history.build(), &final_state), "G1a");
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].time_ms, 9);
    }

    #[test]
    fn g1a_reads_back_under_both_names() {
        assert_eq!("aborted-read".parse(), Ok(super::NAME));
        assert_eq!("G1a".parse(), Ok(super::NAME));
    }

    #[test]
    fn clean_history_has_no_aborted_read() {
        let (history, final_state) = clean_history();
        assert!(only(&check_history(&history, &final_state), "G1a").is_empty());
    }

    /// An aborted transaction's record stays in the log; a read_committed reader of the
    /// final log never sees it, so its failed send is no aborted read there.
    #[test]
    fn an_aborted_record_in_the_final_log_is_no_aborted_read() {
        let mut history = HistoryBuilder::new();
        history.send_fail(0, 0, 7, 1);
        let mut final_state = final_logs(&[(0, &[(3, 6), (4, 7)])]);
        aborted(&mut final_state, 0, &[4]);
        let violations = check_history(&history.build(), &final_state);
        assert!(only(&violations, "G1a").is_empty(), "{violations:?}");
    }
}
