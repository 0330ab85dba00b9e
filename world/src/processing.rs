//! The processing step of a group consumer's application: how it orders processing and
//! commits (`ProcessingMode`), and what processing one record does (`RecordProcessor`, a
//! public trait a user implements to test their own logic under faults).

use crate::sink::Sink;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use watermark_broker_core::consumer::ConsumerRecord;
use watermark_broker_core::ids::ClientId;

/// How a group consumer's application orders processing and committing.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ProcessingMode {
    /// Poll, commit the batch synchronously, then process it: at most once (a crash after
    /// the commit loses what was not processed yet). Needs `enable_auto_commit = false`.
    CommitThenProcess,
    /// Poll, process the batch, then commit it synchronously: at least once (a crash before
    /// the commit processes the batch again). Needs `enable_auto_commit = false`.
    ProcessThenCommit,
    /// Process each batch inside the poll loop and let auto-commit commit what earlier polls
    /// returned: at least once. Needs `enable_auto_commit = true` (Kafka's default).
    AutoCommit,
    /// Hand each batch to a worker that processes it while the loop polls on: auto-commit
    /// commits records the worker has not processed yet, so a crash loses them. Needs
    /// `enable_auto_commit = true`.
    AutoCommitWorker,
    /// Kafka's exactly-once loop (KIP-98, KIP-447): each polled batch is transformed into
    /// one value per record on `output_topic` and its positions are committed, both in one
    /// transaction of the consumer's transactional producer (`producer`). Needs
    /// `enable_auto_commit = false`; see `application_pipeline.rs`.
    ConsumeTransformProduce,
}

impl ProcessingMode {
    /// The name a scenario file uses.
    pub fn name(self) -> &'static str {
        match self {
            ProcessingMode::CommitThenProcess => "commit-then-process",
            ProcessingMode::ProcessThenCommit => "process-then-commit",
            ProcessingMode::AutoCommit => "auto-commit",
            ProcessingMode::AutoCommitWorker => "auto-commit-worker",
            ProcessingMode::ConsumeTransformProduce => "consume-transform-produce",
        }
    }

    /// Whether the mode relies on auto-commit rather than committing by hand.
    pub fn uses_auto_commit(self) -> bool {
        matches!(
            self,
            ProcessingMode::AutoCommit | ProcessingMode::AutoCommitWorker
        )
    }
}

/// What processing one record amounts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Processed {
    /// How long processing takes, simulated milliseconds. A crash before it ends writes
    /// nothing.
    pub duration_ms: u64,
    /// Whether the result reaches the sink when processing completes.
    pub writes: bool,
}

/// The processing step a group consumer's application runs for each record it processes.
/// Implement it to test your own processing logic (an idempotent sink, a deduplication
/// table) under crashes and rebalances; plug it in with the scenarios builder's
/// `processor`.
pub trait RecordProcessor: Send {
    /// Processes `record` for `group`. `sink` is the external sink as it is now (read only:
    /// the result is written when processing completes, if `writes`); `processing_ms` is
    /// the scenario's per-record processing time (slowed by the slow-processing fault).
    fn process(
        &mut self,
        group: &str,
        record: &ConsumerRecord,
        sink: &Sink,
        processing_ms: u64,
    ) -> Processed;
}

/// The built-in processing step: every record takes `processing_ms` and is written.
#[derive(Clone, Copy, Debug, Default)]
pub struct WriteEveryRecord;

impl RecordProcessor for WriteEveryRecord {
    fn process(
        &mut self,
        _group: &str,
        _record: &ConsumerRecord,
        _sink: &Sink,
        processing_ms: u64,
    ) -> Processed {
        Processed {
            duration_ms: processing_ms,
            writes: true,
        }
    }
}

/// Makes a fresh processor for each process start of a consumer (its state dies with the
/// process, as an application's memory does).
pub type ProcessorFactory = Arc<dyn Fn(ClientId) -> Box<dyn RecordProcessor> + Send + Sync>;

/// The factory of the built-in processor.
pub fn write_every_record() -> ProcessorFactory {
    Arc::new(|_client| Box::new(WriteEveryRecord))
}
