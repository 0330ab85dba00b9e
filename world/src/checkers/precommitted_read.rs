//! `precommitted-read`, as Jepsen's Kafka workload defines it (`jepsen.tests.kafka`,
//! `precommitted-read-cases`): a transaction observed its own writes. Most databases allow
//! that; in Kafka's model a sent value is invisible to *every* poller, its own transaction's
//! included, until the transaction commits (a consume-transform-produce application that
//! reads its own output topic must never get back what it has just sent).
//!
//! Over every completed `Transaction` operation (`Ok`, `Fail` or `Info`; Jepsen looks at
//! every operation): a value the transaction sent that one of its own polls returned.
//! Values are unique within a run, so the value alone identifies the send (a send whose
//! partition the callback never reported still counts). Effect `Integrity`, as `G1a`: a
//! reader handed an uncommitted value may act on a write that is later aborted.
//!
//! One violation per (transaction, partition polled): the values it read back and the
//! offsets it read them at, the transaction's completion time.

use super::Observations;
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::Offset;
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::PrecommittedRead;

pub(crate) fn check(observations: &Observations) -> Vec<Violation> {
    let mut found = Vec::new();
    for transaction in &observations.transactions {
        let sent: BTreeSet<u64> = transaction.sends.iter().map(|send| send.value).collect();
        let mut read_back: BTreeMap<TopicPartition, BTreeSet<(u64, Offset)>> = BTreeMap::new();
        for (partition, records) in &transaction.polls {
            for (offset, value) in records {
                if sent.contains(value) {
                    read_back
                        .entry(*partition)
                        .or_default()
                        .insert((*value, *offset));
                }
            }
        }
        for (partition, records) in read_back {
            let values: Vec<u64> = records.iter().map(|(value, _)| *value).collect();
            let offsets: Vec<Offset> = records.iter().map(|(_, offset)| *offset).collect();
            let listed: Vec<String> = records
                .iter()
                .map(|(value, offset)| format!("{offset}:{value}"))
                .collect();
            found.push(Violation {
                checker: NAME,
                partition: Some(partition),
                offsets,
                values,
                time_ms: transaction.time_ms,
                description: format!(
                    "{} polled {} of {partition}, which it had sent itself",
                    transaction.name(),
                    listed.join(", ")
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
    use crate::checkers::txn_test_support::*;
    use crate::history::OpType;
    use crate::verdict::{observed_guarantee, Guarantee};

    /// kafka_test.clj's example, in Watermark's words: a transaction sends 10 to partition 0
    /// and polls partition 0, reading 10 back.
    #[test]
    fn a_transaction_that_polls_its_own_send_reads_precommitted() {
        let mut history = HistoryBuilder::new();
        let own = txn(1).send(0, 10, Some(0)).poll(0, &[(0, 10)]);
        history.transaction(1, &own, OpType::Ok, 20);
        let final_state = final_logs(&[(0, &[(0, 10)])]);
        let violations = check_history(&history.build(), &final_state);
        let found = only(&violations, "precommitted-read");
        assert_eq!(found.len(), 1, "{violations:?}");
        assert_eq!(found[0].values, vec![10]);
        assert_eq!(found[0].offsets, vec![o(0)]);
        assert_eq!(found[0].time_ms, 20);
        assert!(
            found[0].description.contains("t1 transaction 1"),
            "{}",
            found[0]
        );
        assert_eq!(observed_guarantee(&violations), Guarantee::AtMostOnce);
    }

    #[test]
    fn a_transaction_reading_others_writes_reads_nothing_precommitted() {
        let mut history = HistoryBuilder::new();
        history.send_ok(2, 0, 5, Some(0), 1);
        let reader = txn(1).poll(0, &[(0, 5)]).send(1, 10, Some(0));
        history.transaction(1, &reader, OpType::Ok, 20);
        let final_state = final_logs(&[(0, &[(0, 5)]), (1, &[(0, 10)])]);
        let violations = check_history(&history.build(), &final_state);
        assert!(
            only(&violations, "precommitted-read").is_empty(),
            "{violations:?}"
        );
    }
}
