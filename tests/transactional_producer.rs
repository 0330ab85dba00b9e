//! The transactional producer end to end, against the real transaction coordinator and
//! partition leaders: it commits some transactions and aborts others (every third), and a
//! read_committed consumer in assign mode reads exactly the values of the committed ones,
//! each once, while a read_uncommitted one also sees aborted ones that were written (an
//! abort fails the batches not sent yet, as Kafka's `abortUndrainedBatches` does).
//!
//! Transactions version 1 (`no-epoch-bump-per-transaction`) runs here too: there the client
//! adds each partition with AddPartitionsToTxn, so the coordinator knows every partition to
//! write its markers to. Version 2, Kafka 4.x's default, needs the partition leader to add
//! the partition when it verifies the first transactional produce (KIP-890 part 2, another
//! engineer's part); its run is below with the same expectations.

use std::collections::BTreeSet;
use watermark::broker_core::event::Event;
use watermark::broker_core::ids::{ClientId, NodeId};
use watermark::broker_core::producer::TransactionOperation;
use watermark::scenarios::parse_toml;
use watermark::sim::runner::{run, RunOptions, RunReport};
use watermark::sim::step_record::{Record, StepInput};
use watermark::sim::trace::TraceMode;

fn scenario(bugs: &str) -> watermark::sim::scenario::Scenario {
    let text = format!(
        r#"
name = "transactional-producer-end-to-end"
summary = "a transactional producer commits and aborts; read_committed sees the committed values"
explanation = "test"
brokers = 3

[[topics]]
name = "events"
partitions = 2
replication_factor = 3
min_insync_replicas = 2

[[producers]]
topic = "events"
records = 60
interval_ms = 100
transaction_records = 4
abort_every = 3

[producers.config]
transactional_id = "tx-1"
partitioner = "round-robin"

[[consumers]]
topics = ["events"]

[consumers.config]
isolation_level = "read_committed"

[[consumers]]
topics = ["events"]

{bugs}
"#
    );
    parse_toml(&text, "transactional-producer").expect("the scenario loads")
}

/// What one run showed: the values of committed and aborted transactions (from the
/// producer's steps: its sends, then its operations' completions) and what each consumer
/// polled.
struct Outcome {
    committed: Vec<u64>,
    aborted: Vec<u64>,
    read_committed: Vec<u64>,
    read_uncommitted: Vec<u64>,
}

fn outcome(report: &RunReport) -> Outcome {
    let mut outcome = Outcome {
        committed: Vec::new(),
        aborted: Vec::new(),
        read_committed: Vec::new(),
        read_uncommitted: Vec::new(),
    };
    let mut open = Vec::new();
    for record in &report.records {
        let Record::Step(step) = record else { continue };
        if step.node == NodeId::Producer(ClientId(0)) {
            if let StepInput::ApplicationSend { value } = step.input {
                open.push(value);
            }
        }
        for event in &step.events {
            match (step.node, event) {
                (
                    NodeId::Producer(_),
                    Event::TransactionOperationCompleted {
                        operation,
                        result: Ok(()),
                    },
                ) => match operation {
                    TransactionOperation::CommitTransaction => outcome.committed.append(&mut open),
                    TransactionOperation::AbortTransaction => outcome.aborted.append(&mut open),
                    _ => {}
                },
                (NodeId::Consumer(ClientId(0)), Event::Polled { records, .. }) => outcome
                    .read_committed
                    .extend(records.iter().map(|(_, value)| *value)),
                (NodeId::Consumer(ClientId(1)), Event::Polled { records, .. }) => outcome
                    .read_uncommitted
                    .extend(records.iter().map(|(_, value)| *value)),
                _ => {}
            }
        }
    }
    outcome
}

fn run_seed(bugs: &str, seed: u64) -> RunReport {
    run(
        &scenario(bugs),
        seed,
        RunOptions {
            trace_mode: TraceMode::HashOnly,
            keep_records: true,
        },
    )
}

fn sorted(values: &[u64]) -> Vec<u64> {
    let mut values = values.to_vec();
    values.sort_unstable();
    values
}

fn assert_exactly_the_committed_values_are_read(report: &RunReport) {
    let outcome = outcome(report);
    // 60 values in transactions of 4: 15 transactions, every third aborted.
    assert_eq!(outcome.committed.len(), 40, "seed {}", report.seed);
    assert_eq!(outcome.aborted.len(), 20, "seed {}", report.seed);
    assert_eq!(
        sorted(&outcome.read_committed),
        sorted(&outcome.committed),
        "seed {}: read_committed reads each committed value once and nothing else",
        report.seed
    );
    // Aborted values were written (an abort drops only the batches not sent yet), so
    // read_committed had something to hide.
    let uncommitted: BTreeSet<u64> = outcome.read_uncommitted.iter().copied().collect();
    assert!(
        outcome
            .aborted
            .iter()
            .any(|value| uncommitted.contains(value)),
        "seed {}: read_uncommitted sees aborted values: {:?} of {:?}",
        report.seed,
        sorted(&outcome.read_uncommitted),
        outcome.aborted
    );
}

#[test]
fn transactions_version_1_commit_and_abort_and_read_committed_sees_only_the_committed() {
    for seed in 0..3 {
        let report = run_seed("[bugs]\nno-epoch-bump-per-transaction = true", seed);
        assert_exactly_the_committed_values_are_read(&report);
    }
}

/// Kafka 4.x's default, transactions version 2: the client sends no AddPartitionsToTxn; the
/// partition leader adds each partition to the transaction when it verifies the first
/// transactional produce there (KIP-890 part 2), so the coordinator's markers reach it.
#[test]
fn transactions_version_2_commit_and_abort_and_read_committed_sees_only_the_committed() {
    for seed in 0..3 {
        let report = run_seed("", seed);
        assert_exactly_the_committed_values_are_read(&report);
    }
}
