//! End-to-end exactly-once of a consume-transform-produce pipeline, Watermark's own check of
//! what KIP-98 and KIP-447 promise together: every input record has exactly one output value
//! visible to `read_committed` readers, and the transaction that wrote it committed the
//! input position past the input record, so no later owner of the input partition writes it
//! again. Three registry entries share this file so that each kind of finding carries its
//! own effect on the verdict:
//!
//! - `pipeline-missing-output` (`Loss`): an input record with no visible output.
//! - `pipeline-duplicate-output` (`Duplication`): an input record with two or more visible
//!   outputs.
//! - `pipeline-output-without-offsets` (`Duplication`): a visible output whose transaction
//!   did not commit the input partition's position past its input record (it committed no
//!   offsets for that partition, or one at or below the record). The output stands alone
//!   today, but the input will be read and transformed again: exactly-once's atomic
//!   consume-and-produce is broken.
//!
//! What is read: the pipeline's transactions are those with a send naming its `source`
//! (the input value it was derived from). The input partitions are those their polls read
//! or their offsets name; the output partitions those their derived sends went to. The input
//! values are the records of the input partitions' final logs a `read_committed` reader sees,
//! and the values their producers' sends acknowledged (an acknowledged value missing from the
//! log is reported here too, as `final-log-loss` reports it). An output is a record of an
//! output partition's final log, visible to `read_committed`, whose value a transaction sent
//! with a `source`. Nothing is judged in a run without such transactions.

use super::transaction_history::CompletedTransaction;
use super::{FinalState, Observations};
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::Offset;
use watermark_broker_core::topic::TopicPartition;

pub const MISSING: Checker = Checker::PipelineMissingOutput;
pub const DUPLICATE: Checker = Checker::PipelineDuplicateOutput;
pub const WITHOUT_OFFSETS: Checker = Checker::PipelineOutputWithoutOffsets;

/// One visible output record and the transaction that wrote it.
struct Output<'a> {
    partition: TopicPartition,
    offset: Offset,
    value: u64,
    writer: &'a CompletedTransaction,
}

/// Every finding of the three checkers, each violation naming its own.
pub(crate) fn check(observations: &Observations, final_state: &FinalState) -> Vec<Violation> {
    let pipeline: Vec<&CompletedTransaction> = observations
        .transactions
        .iter()
        .filter(|transaction| transaction.sends.iter().any(|send| send.source.is_some()))
        .collect();
    if pipeline.is_empty() {
        return Vec::new();
    }
    let inputs = input_records(&pipeline, observations, final_state);
    let outputs = visible_outputs(&pipeline, &inputs, final_state);
    let mut found = Vec::new();
    for (&(partition, offset), &value) in &inputs {
        let of_record = outputs
            .get(&(partition, offset))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let input = (partition, Some(offset), value);
        match of_record.len() {
            0 => found.push(missing(input, final_state.time_ms)),
            1 => {}
            _ => found.push(duplicated(input, of_record, final_state.time_ms)),
        }
        found.extend(
            of_record
                .iter()
                .filter(|output| {
                    output
                        .writer
                        .committed_offset(partition)
                        .is_none_or(|committed| committed <= offset)
                })
                .map(|output| without_offsets((partition, offset, value), output)),
        );
    }
    found
}

/// The input records by (partition, offset), with their values: the final log's records a
/// read_committed reader sees, and acknowledged sends the log lost. A value written twice
/// upstream (a producer's duplicate) is two input records, each owed one output.
fn input_records(
    pipeline: &[&CompletedTransaction],
    observations: &Observations,
    final_state: &FinalState,
) -> BTreeMap<(TopicPartition, Offset), u64> {
    let mut partitions: BTreeSet<TopicPartition> = BTreeSet::new();
    for transaction in pipeline {
        partitions.extend(transaction.polls.iter().map(|(partition, _)| *partition));
        if let Some(offsets) = &transaction.offsets {
            partitions.extend(offsets.offsets.iter().map(|(partition, _)| *partition));
        }
    }
    let mut inputs = BTreeMap::new();
    for partition in &partitions {
        for (offset, value) in final_state.committed_visible(*partition) {
            inputs.insert((*partition, *offset), *value);
        }
    }
    for send in observations.acked_sends() {
        if let (Some(partition), Some(offset)) = (send.partition, send.offset) {
            if partitions.contains(&partition) {
                inputs.entry((partition, offset)).or_insert(send.value);
            }
        }
    }
    inputs
}

/// The input record an output was derived from: the record its transaction polled with the
/// output's source value (the n-th such send takes the n-th such record), else the input
/// record holding that value.
fn source_record(
    transaction: &CompletedTransaction,
    source: u64,
    nth: usize,
    inputs: &BTreeMap<(TopicPartition, Offset), u64>,
) -> Option<(TopicPartition, Offset)> {
    let polled = transaction.polls.iter().flat_map(|(partition, records)| {
        records
            .iter()
            .filter(move |(_, value)| *value == source)
            .map(move |(offset, _)| (*partition, *offset))
    });
    polled
        .clone()
        .nth(nth)
        .or_else(|| polled.last())
        .or_else(|| {
            inputs
                .iter()
                .find(|(_, value)| **value == source)
                .map(|(record, _)| *record)
        })
}

/// Per input record, the output records visible to read_committed in the final logs.
fn visible_outputs<'a>(
    pipeline: &[&'a CompletedTransaction],
    inputs: &BTreeMap<(TopicPartition, Offset), u64>,
    final_state: &FinalState,
) -> BTreeMap<(TopicPartition, Offset), Vec<Output<'a>>> {
    let mut derived: BTreeMap<u64, ((TopicPartition, Offset), &CompletedTransaction)> =
        BTreeMap::new();
    let mut partitions: BTreeSet<TopicPartition> = BTreeSet::new();
    for transaction in pipeline {
        let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
        for send in &transaction.sends {
            let Some(source) = send.source else {
                continue;
            };
            let nth = seen.entry(source).or_default();
            if let Some(record) = source_record(transaction, source, *nth, inputs) {
                derived.insert(send.value, (record, transaction));
            }
            *nth += 1;
            partitions.extend(send.partition);
        }
    }
    let mut outputs: BTreeMap<(TopicPartition, Offset), Vec<Output<'a>>> = BTreeMap::new();
    for partition in partitions {
        for (offset, value) in final_state.committed_visible(partition) {
            if let Some((record, writer)) = derived.get(value) {
                outputs.entry(*record).or_default().push(Output {
                    partition,
                    offset: *offset,
                    value: *value,
                    writer,
                });
            }
        }
    }
    outputs
}

fn at(offset: Option<Offset>) -> String {
    offset.map_or("an unknown offset".to_string(), |offset| {
        format!("offset {offset}")
    })
}

fn missing(
    (partition, offset, value): (TopicPartition, Option<Offset>, u64),
    time_ms: u64,
) -> Violation {
    Violation {
        checker: MISSING,
        partition: Some(partition),
        offsets: offset.into_iter().collect(),
        values: vec![value],
        time_ms,
        description: format!(
            "input value {value} at {} of {partition} has no output visible to read_committed \
             in the final logs",
            at(offset)
        ),
    }
}

fn duplicated(
    (partition, offset, value): (TopicPartition, Option<Offset>, u64),
    outputs: &[Output],
    time_ms: u64,
) -> Violation {
    let listed: Vec<String> = outputs
        .iter()
        .map(|output| {
            format!(
                "{} at offset {} of {} by {}",
                output.value,
                output.offset,
                output.partition,
                output.writer.name()
            )
        })
        .collect();
    let mut values = vec![value];
    values.extend(outputs.iter().map(|output| output.value));
    Violation {
        checker: DUPLICATE,
        partition: Some(outputs[0].partition),
        offsets: outputs.iter().map(|output| output.offset).collect(),
        values,
        time_ms,
        description: format!(
            "input value {value} at {} of {partition} has {} outputs visible to read_committed: \
             {}",
            at(offset),
            outputs.len(),
            listed.join("; ")
        ),
    }
}

fn without_offsets(
    (partition, offset, value): (TopicPartition, Offset, u64),
    output: &Output,
) -> Violation {
    let committed = output.writer.committed_offset(partition);
    let what = committed.map_or(format!("no position of {partition}"), |committed| {
        format!("position {committed} of {partition}")
    });
    Violation {
        checker: WITHOUT_OFFSETS,
        partition: Some(partition),
        offsets: std::iter::once(offset).chain(committed).collect(),
        values: vec![value, output.value],
        time_ms: output.writer.time_ms,
        description: format!(
            "{} wrote output {} (offset {} of {}) of input value {value} at offset {offset} of \
             {partition}, but committed {what}, not past the input",
            output.writer.name(),
            output.value,
            output.offset,
            output.partition
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

    /// Input p0 holds 1, 2, 3 at offsets 0..3; the pipeline's transactions write 101, 102,
    /// 103 to p1, each committing its input position.
    fn pipeline() -> (HistoryBuilder, FinalState) {
        let mut history = HistoryBuilder::new();
        for (offset, value) in [(0, 1), (1, 2), (2, 3)] {
            history.send_ok(9, 0, value, Some(offset), 1);
        }
        let first = txn(1)
            .poll(0, &[(0, 1), (1, 2)])
            .derive(1, 101, 0, 1)
            .derive(1, 102, 1, 2)
            .offsets(&[(0, 2)]);
        history.transaction(1, &first, OpType::Ok, 10);
        let second = txn(2)
            .poll(0, &[(2, 3)])
            .derive(1, 103, 3, 3)
            .offsets(&[(0, 3)]);
        history.transaction(1, &second, OpType::Ok, 20);
        let final_state = final_logs(&[
            (0, &[(0, 1), (1, 2), (2, 3)]),
            (1, &[(0, 101), (1, 102), (3, 103)]),
        ]);
        (history, final_state)
    }

    fn pipeline_findings(history: &HistoryBuilder, final_state: &FinalState) -> Vec<String> {
        check_history(&history.build(), final_state)
            .iter()
            .filter(|violation| violation.checker.name().starts_with("pipeline-"))
            .map(|violation| format!("{} {:?}", violation.checker, violation.values))
            .collect()
    }

    /// A value written twice upstream (a producer's duplicate) is two input records: one
    /// output for each is exactly-once; a third output is a duplicate.
    #[test]
    fn each_copy_of_a_value_written_twice_upstream_is_owed_one_output() {
        let mut history = HistoryBuilder::new();
        history.send_ok(9, 0, 1, Some(0), 1);
        let both = txn(1)
            .poll(0, &[(0, 1), (1, 1)])
            .derive(1, 101, 0, 1)
            .derive(1, 102, 1, 1)
            .offsets(&[(0, 2)]);
        history.transaction(1, &both, OpType::Ok, 10);
        let final_state = final_logs(&[(0, &[(0, 1), (1, 1)]), (1, &[(0, 101), (1, 102)])]);
        assert!(pipeline_findings(&history, &final_state).is_empty());

        let again = txn(2)
            .poll(0, &[(1, 1)])
            .derive(1, 103, 2, 1)
            .offsets(&[(0, 2)]);
        history.transaction(1, &again, OpType::Ok, 20);
        let final_state =
            final_logs(&[(0, &[(0, 1), (1, 1)]), (1, &[(0, 101), (1, 102), (2, 103)])]);
        let findings = pipeline_findings(&history, &final_state);
        assert!(
            findings
                .iter()
                .any(|finding| finding.starts_with("pipeline-duplicate-output [1, 102, 103]")),
            "{findings:?}"
        );
    }

    #[test]
    fn a_clean_pipeline_is_exactly_once() {
        let (history, final_state) = pipeline();
        assert!(pipeline_findings(&history, &final_state).is_empty());
    }

    #[test]
    fn an_aborted_output_is_missing_and_a_retried_one_twice_visible_is_duplicated() {
        let (mut history, mut final_state) = pipeline();
        // 103 sits in an aborted transaction; a zombie's transaction wrote 1 again as 201.
        aborted(&mut final_state, 1, &[3]);
        let zombie = txn(1)
            .poll(0, &[(0, 1)])
            .derive(1, 201, 4, 1)
            .offsets(&[(0, 1)]);
        history.transaction(2, &zombie, OpType::Ok, 30);
        final_state.logs.get_mut(&p(1)).unwrap().push((o(4), 201));
        let found = pipeline_findings(&history, &final_state);
        assert_eq!(
            found,
            vec![
                "pipeline-missing-output [3]".to_string(),
                "pipeline-duplicate-output [1, 101, 201]".to_string(),
            ]
        );
        let violations = check_history(&history.build(), &final_state);
        assert_eq!(observed_guarantee(&violations), Guarantee::None);
    }

    #[test]
    fn an_output_whose_transaction_did_not_commit_past_its_input_is_reported() {
        let (mut history, final_state) = pipeline();
        let mut operations = history.build().operations;
        // The second transaction committed no offsets at all.
        for operation in &mut operations {
            if let crate::history::OpBody::Transaction {
                number: 2, offsets, ..
            } = &mut operation.body
            {
                *offsets = None;
            }
        }
        history = HistoryBuilder::new();
        history.history.operations = operations;
        let violations = check_history(&history.build(), &final_state);
        let found = only(&violations, "pipeline-output-without-offsets");
        assert_eq!(found.len(), 1, "{violations:?}");
        assert_eq!(found[0].values, vec![3, 103]);
        assert_eq!(found[0].offsets, vec![o(2)]);
        assert!(
            found[0].description.contains("no position of events-0"),
            "{}",
            found[0]
        );
        assert_eq!(observed_guarantee(&found), Guarantee::AtLeastOnce);
    }
}
