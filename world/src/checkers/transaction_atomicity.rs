//! `transaction-atomicity`, Watermark's own check of KIP-98's promise: a transaction's
//! writes become visible to `read_committed` readers all together, and an aborted one's
//! never. Jepsen has no such checker (its G1a and G1c cover parts of it through the
//! transaction graph); this one judges each transaction directly, in two places:
//!
//! - **The final logs**, read as a `read_committed` reader reads them
//!   (`FinalState::is_committed_visible`): of a committed or indefinite transaction's values,
//!   either all or none are visible (a value missing from the log counts as not visible); of
//!   an aborted (`Fail`) transaction's, none. A value whose own send failed definitely is
//!   left out: it was never written, whatever its transaction did.
//! - **The polls of `read_committed` consumers** (`FinalState::read_committed_consumers`):
//!   none returns a value of an aborted transaction; and a consumer that returned one of a
//!   transaction's values on a partition and, in the same stretch of reading (no rebalance
//!   took the partition away between, the rule `poll_steps.rs` follows), read from at or
//!   before the offset of another of its values there to past it, returned that value too.
//!   Polls recorded inside `Transaction` operations are judged through the consumer's own
//!   `Poll` operations, which carry the consumer's id.
//!
//! A value sits where its send's callback put it, else where the final log holds it.
//! Effect `Integrity`: a reader that saw half a transaction acted on a state that never
//! existed. One violation per (transaction, reader or final log, partition): the values not
//! seen (or seen though aborted), their offsets.

use super::transaction_history::CompletedTransaction;
use super::{FinalState, Observations};
use crate::checkers::registry::Checker;
use crate::history::OpType;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::{ClientId, Offset};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::TransactionAtomicity;

/// Where each written value of one transaction sits.
type Placed = BTreeMap<TopicPartition, BTreeMap<Offset, u64>>;

pub(crate) fn check(observations: &Observations, final_state: &FinalState) -> Vec<Violation> {
    if observations.transactions.is_empty() {
        return Vec::new();
    }
    let in_final_log: BTreeMap<u64, (TopicPartition, Offset)> = final_state
        .logs
        .iter()
        .flat_map(|(partition, log)| {
            log.iter()
                .map(move |(offset, value)| (*value, (*partition, *offset)))
        })
        .collect();
    let stretches = reading_stretches(observations, final_state);
    let mut found = Vec::new();
    for transaction in &observations.transactions {
        let placed = place(observations, transaction, &in_final_log);
        found.extend(check_final_logs(transaction, &placed, final_state));
        for ((reader, partition), stretches) in &stretches {
            let Some(written) = placed.get(partition) else {
                continue;
            };
            for stretch in stretches {
                found.extend(check_stretch(
                    transaction,
                    *reader,
                    *partition,
                    written,
                    stretch,
                ));
            }
        }
    }
    found
}

/// The transaction's written values by partition and offset: where its send's callback put
/// each, else where the final log holds it. Values whose own send failed definitely, and
/// values placed nowhere, are left out.
fn place(
    observations: &Observations,
    transaction: &CompletedTransaction,
    in_final_log: &BTreeMap<u64, (TopicPartition, Offset)>,
) -> Placed {
    let mut placed = Placed::new();
    for send in &transaction.sends {
        let failed = observations
            .writer_of(send.value)
            .is_some_and(|writer| writer.op_type == OpType::Fail);
        if failed && transaction.op_type != OpType::Fail {
            continue;
        }
        let at = match (send.partition, send.offset) {
            (Some(partition), Some(offset)) => Some((partition, offset)),
            _ => in_final_log.get(&send.value).copied(),
        };
        if let Some((partition, offset)) = at {
            placed
                .entry(partition)
                .or_default()
                .insert(offset, send.value);
        }
    }
    placed
}

/// All or none of a committed or indefinite transaction's values visible in the final logs;
/// none of an aborted one's. One violation per partition holding the values at fault.
fn check_final_logs(
    transaction: &CompletedTransaction,
    placed: &Placed,
    final_state: &FinalState,
) -> Vec<Violation> {
    let is_visible = |partition: TopicPartition, offset: Offset, value: u64| {
        final_state.logs.get(&partition).is_some_and(|log| {
            log.binary_search(&(offset, value)).is_ok()
                && final_state.is_committed_visible(partition, offset)
        })
    };
    let values = placed.iter().flat_map(|(partition, written)| {
        written
            .iter()
            .map(move |(offset, value)| (*partition, *offset, *value))
    });
    let (visible, hidden): (Vec<_>, Vec<_>) =
        values.partition(|(partition, offset, value)| is_visible(*partition, *offset, *value));
    let (at_fault, why) = if transaction.op_type == OpType::Fail {
        (
            visible,
            "visible to read_committed in the final log, though it aborted",
        )
    } else if !visible.is_empty() && !hidden.is_empty() {
        (
            hidden,
            "missing for read_committed from the final log, while others of it are visible",
        )
    } else {
        return Vec::new();
    };
    let mut by_partition: BTreeMap<TopicPartition, Vec<(Offset, u64)>> = BTreeMap::new();
    for (partition, offset, value) in at_fault {
        by_partition
            .entry(partition)
            .or_default()
            .push((offset, value));
    }
    by_partition
        .into_iter()
        .map(|(partition, records)| {
            finding(
                transaction,
                partition,
                &records,
                final_state.time_ms,
                &format!("of {partition} {why}"),
            )
        })
        .collect()
}

/// What one read_committed consumer read of one partition without a rebalance between.
#[derive(Default)]
struct Stretch {
    /// Offset → value.
    records: BTreeMap<Offset, u64>,
    values: BTreeSet<u64>,
}

/// Per read_committed consumer and partition, its stretches of reading: a new one starts
/// when an assignment change did not keep the partition (`poll_steps::between_polls`'s rule).
fn reading_stretches(
    observations: &Observations,
    final_state: &FinalState,
) -> BTreeMap<(ClientId, TopicPartition), Vec<Stretch>> {
    let mut stretches: BTreeMap<(ClientId, TopicPartition), Vec<Stretch>> = BTreeMap::new();
    let mut open: BTreeSet<(ClientId, TopicPartition)> = BTreeSet::new();
    let mut changes = observations.assignment_changes.iter().peekable();
    for (index, poll) in observations.polls.iter().enumerate() {
        while let Some(change) = changes.next_if(|change| change.polls_before <= index) {
            open.retain(|(client, partition)| {
                *client != change.client || change.kept.contains(partition)
            });
        }
        if !final_state.reads_committed(poll.client) {
            continue;
        }
        let key = (poll.client, poll.partition);
        let of_reader = stretches.entry(key).or_default();
        if open.insert(key) {
            of_reader.push(Stretch::default());
        }
        if let Some(stretch) = of_reader.last_mut() {
            stretch.records.extend(poll.records.iter().copied());
            stretch
                .values
                .extend(poll.records.iter().map(|(_, value)| *value));
        }
    }
    stretches
}

/// One stretch of one reader against one transaction's values on the partition: an aborted
/// transaction's values must not be there; a committed or indefinite one's, once one was
/// read, must all be read where the stretch spans their offsets.
fn check_stretch(
    transaction: &CompletedTransaction,
    reader: ClientId,
    partition: TopicPartition,
    written: &BTreeMap<Offset, u64>,
    stretch: &Stretch,
) -> Option<Violation> {
    let read = |value: u64| stretch.values.contains(&value);
    let (Some(first), Some(last)) = (
        stretch.records.keys().next(),
        stretch.records.keys().next_back(),
    ) else {
        return None;
    };
    let (at_fault, why): (Vec<(Offset, u64)>, String) = if transaction.op_type == OpType::Fail {
        let seen: Vec<_> = written
            .iter()
            .filter(|(_, value)| read(**value))
            .map(|(offset, value)| (*offset, *value))
            .collect();
        (
            seen,
            format!("polled by read_committed {reader}, though it aborted"),
        )
    } else {
        if !written.values().any(|value| read(*value)) {
            return None;
        }
        let missed: Vec<_> = written
            .iter()
            .filter(|(offset, value)| first <= *offset && *offset < last && !read(**value))
            .map(|(offset, value)| (*offset, *value))
            .collect();
        let why = format!(
            "skipped by read_committed {reader}, which read others of it and read {partition} \
             from offset {first} to {last}"
        );
        (missed, why)
    };
    if at_fault.is_empty() {
        return None;
    }
    Some(finding(
        transaction,
        partition,
        &at_fault,
        transaction.time_ms,
        &format!("of {partition} {why}"),
    ))
}

fn finding(
    transaction: &CompletedTransaction,
    partition: TopicPartition,
    records: &[(Offset, u64)],
    time_ms: u64,
    why: &str,
) -> Violation {
    let listed: Vec<String> = records
        .iter()
        .map(|(offset, value)| format!("{offset}:{value}"))
        .collect();
    Violation {
        checker: NAME,
        partition: Some(partition),
        offsets: records.iter().map(|(offset, _)| *offset).collect(),
        values: records.iter().map(|(_, value)| *value).collect(),
        time_ms,
        description: format!(
            "{}'s write(s) {} {why}",
            transaction.name(),
            listed.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;
    use crate::checkers::txn_test_support::*;
    use crate::history::OpType;
    use crate::verdict::{observed_guarantee, Guarantee};

    /// A committed transaction writes 10 at 0 and 12 at 2 of p0 (another producer's 11 at 1
    /// between). Consumer 3 reads with read_committed.
    fn committed_pair() -> (HistoryBuilder, FinalState) {
        let mut history = HistoryBuilder::new();
        history.transaction(
            1,
            &txn(1).send(0, 10, Some(0)).send(0, 12, Some(2)),
            OpType::Ok,
            5,
        );
        history.send_ok(2, 0, 11, Some(1), 4);
        let mut final_state = final_logs(&[(0, &[(0, 10), (1, 11), (2, 12), (3, 13)])]);
        read_committed(&mut final_state, 3);
        (history, final_state)
    }

    #[test]
    fn a_read_committed_reader_reading_past_half_a_transaction_breaks_atomicity() {
        let (mut history, final_state) = committed_pair();
        history.poll(3, 0, &[(0, 10), (1, 11), (3, 13)], 9);
        let violations = check_history(&history.build(), &final_state);
        let found = only(&violations, "transaction-atomicity");
        assert_eq!(found.len(), 1, "{violations:?}");
        assert_eq!(found[0].values, vec![12]);
        assert_eq!(found[0].offsets, vec![o(2)]);
        assert!(found[0].description.contains("client3"), "{}", found[0]);
        assert_eq!(observed_guarantee(&found), Guarantee::AtMostOnce);
    }

    #[test]
    fn a_reader_that_stops_inside_a_transaction_or_reads_uncommitted_is_not_judged() {
        let (mut history, final_state) = committed_pair();
        // Stops before 12: it has not read past it yet.
        history.poll(3, 0, &[(0, 10), (1, 11)], 9);
        // A read_uncommitted consumer is not bound by the transaction's atomicity.
        history.poll(4, 0, &[(0, 10), (3, 13)], 9);
        let violations = check_history(&history.build(), &final_state);
        assert!(
            only(&violations, "transaction-atomicity").is_empty(),
            "{violations:?}"
        );
    }

    #[test]
    fn the_final_logs_show_all_or_none_of_a_transaction_and_none_of_an_aborted_one() {
        let (mut history, mut final_state) = committed_pair();
        history.transaction(1, &txn(2).send(1, 20, Some(0)).abort(), OpType::Fail, 6);
        final_state.logs.insert(p(1), vec![(o(0), 20)]);
        // 12 ended in an aborted transaction (a torn commit); 20's abort was never marked.
        aborted(&mut final_state, 0, &[2]);
        let violations = check_history(&history.build(), &final_state);
        let found: Vec<_> = only(&violations, "transaction-atomicity")
            .iter()
            .map(|violation| (violation.partition, violation.values.clone()))
            .collect();
        assert_eq!(found, vec![(Some(p(0)), vec![12]), (Some(p(1)), vec![20])]);
    }

    #[test]
    fn a_read_committed_poll_of_an_aborted_transactions_value_breaks_atomicity() {
        let mut history = HistoryBuilder::new();
        history.transaction(1, &txn(1).send(0, 10, Some(0)).abort(), OpType::Fail, 5);
        history.poll(3, 0, &[(0, 10)], 9);
        let mut final_state = final_logs(&[(0, &[(0, 10)])]);
        aborted(&mut final_state, 0, &[0]);
        read_committed(&mut final_state, 3);
        let found = only(
            &check_history(&history.build(), &final_state),
            "transaction-atomicity",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].description.contains("though it aborted"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn a_clean_transactional_history_is_atomic() {
        let (mut history, mut final_state) = committed_pair();
        history.transaction(1, &txn(2).send(0, 14, Some(4)).abort(), OpType::Fail, 6);
        final_state.logs.get_mut(&p(0)).unwrap().push((o(4), 14));
        aborted(&mut final_state, 0, &[4]);
        history.poll(3, 0, &[(0, 10), (1, 11), (2, 12), (3, 13)], 9);
        let violations = check_history(&history.build(), &final_state);
        assert!(
            only(&violations, "transaction-atomicity").is_empty(),
            "{violations:?}"
        );
    }
}
