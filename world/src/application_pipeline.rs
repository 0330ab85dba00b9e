//! The consume-transform-produce application (KIP-98, KIP-447): a group consumer that reads
//! an input topic with `read_committed` and, for every batch it polls, writes one derived
//! value per input record to an output topic and commits the batch's input positions, both
//! inside one transaction of its transactional producer. It is the loop Kafka documents for
//! exactly-once processing:
//!
//! ```text
//! producer.initTransactions()
//! loop:
//!   records = consumer.poll(timeout)
//!   producer.beginTransaction()
//!   for record in records: producer.send(output, transform(record))
//!   producer.sendOffsetsToTransaction(positions, consumer.groupMetadata())
//!   producer.commitTransaction()
//! on an abortable error: producer.abortTransaction(); seek back to the committed offsets
//! on a fatal error (fenced): close the producer, make a new one, seek back, start again
//! ```
//!
//! Like the group consumer's application (`application_consumer.rs`) it is a state machine
//! the world steps: `run` does the next piece of work that is due and hands back the
//! clients' effects and what the history must record; the blocking calls of Kafka's loop
//! (initTransactions, sendOffsetsToTransaction, commitTransaction, abortTransaction) wait
//! for the producer's `TransactionOperationCompleted`, which the world hands to
//! [`PipelineApplication::operation_completed`]. Each record takes `processing_ms` before
//! its output is sent, so faults land between the sends of one transaction too.
//!
//! The history of a transaction (`OpBody::Transaction` and its sends' completions) is built
//! here, where the outcome is known: `Ok` once the commit was acknowledged; `Fail` once an
//! abort was acknowledged, or when no commit was ever asked for (the process died or was
//! fenced first); `Info` when a commit was asked for and its outcome is unknown.

use crate::history::{OpType, TransactionOffsets, TransactionalSend};
use crate::transactional_send_outcome::transactional_send_outcome;
use std::collections::BTreeMap;
use watermark_broker_core::actor::Effect;
use watermark_broker_core::consumer::{ConsumerRecord, PollOutcome};
use watermark_broker_core::error::ErrorCode;
use watermark_broker_core::ids::{GenerationId, GroupId, Offset, TransactionalId};
use watermark_broker_core::producer::TransactionOperation;
use watermark_broker_core::protocol::{ConsumerGroupMetadata, OffsetAndMetadata};
use watermark_broker_core::topic::TopicPartition;

/// How an operation's error leaves the producer (Kafka's `TransactionManager`): an abortable
/// error lets the application abort and go on; a fatal one (fenced) ends the producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperationFailure {
    Abortable(ErrorCode),
    Fatal(ErrorCode),
}

/// What the application calls on its consumer and its transactional producer; a trait so
/// the loop is tested against scripted clients.
pub trait PipelineClients {
    fn poll(&mut self, now_ms: u64) -> PollOutcome;
    fn has_records_for_poll(&self) -> bool;
    /// `consumer.groupMetadata()`: `None` before the consumer joined a generation.
    fn group_metadata(&self) -> Option<ConsumerGroupMetadata>;
    /// Seek every assigned partition back to its committed offset (after an abort).
    fn rewind_to_committed(&mut self);
    fn init_transactions(&mut self, now_ms: u64) -> Vec<Effect>;
    /// Close the fenced producer and make a new instance with the same transactional id.
    fn replace_producer(&mut self, now_ms: u64) -> Vec<Effect>;
    fn begin_transaction(&mut self) -> Result<(), ErrorCode>;
    /// Sends one output value (keyed like its input) in the ongoing transaction.
    fn send(&mut self, now_ms: u64, value: u64, key: Option<u64>) -> Vec<Effect>;
    fn send_offsets_to_transaction(
        &mut self,
        now_ms: u64,
        offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
        group: ConsumerGroupMetadata,
    ) -> Vec<Effect>;
    fn commit_transaction(&mut self, now_ms: u64) -> Vec<Effect>;
    fn abort_transaction(&mut self, now_ms: u64) -> Vec<Effect>;
}

/// A history entry the world records for the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PipelineHistory {
    /// A transaction began (`beginTransaction`).
    Began { number: u64 },
    /// The open transaction sent this output value.
    SendInvoked { value: u64 },
    /// A transaction ended: its completion and its sends' completions.
    Ended(EndedTransaction),
    /// After an abort the application sought every assigned partition back to its
    /// committed offset: what it polls next repeats what it polled before.
    Rewound,
}

/// Everything the history records when a transaction ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndedTransaction {
    pub number: u64,
    pub op_type: OpType,
    pub sends: Vec<TransactionalSend>,
    /// Per send, in send order: its completion type and error.
    pub send_outcomes: Vec<(OpType, Option<ErrorCode>)>,
    pub polls: Vec<(TopicPartition, Vec<(Offset, u64)>)>,
    pub offsets: Option<TransactionOffsets>,
    pub commit: bool,
    pub error: Option<ErrorCode>,
}

/// What one piece of work produced.
#[derive(Debug, Default)]
pub struct PipelineWork {
    pub effects: Vec<Effect>,
    pub history: Vec<PipelineHistory>,
}

/// A send's callback, as the producer reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SendCallback {
    Pending,
    Written(TopicPartition, Option<Offset>),
    /// `definite`: certainly not written.
    Failed {
        error: ErrorCode,
        definite: bool,
    },
}

/// The transaction the loop is in.
#[derive(Clone, Debug)]
struct OpenTransaction {
    number: u64,
    /// The polled batch, and how many of its records have been sent.
    batch: Vec<ConsumerRecord>,
    sent: usize,
    sends: Vec<(TransactionalSend, SendCallback)>,
    offsets: Option<TransactionOffsets>,
    /// `commitTransaction` was called: from then on the outcome may be a commit.
    commit_requested: bool,
    error: Option<ErrorCode>,
}

/// Where the loop is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LoopState {
    /// Blocked in `initTransactions`.
    Initializing,
    /// Waiting in `poll`: returns at `at_ms`, or as soon as records are ready.
    Polling { at_ms: u64 },
    /// Transforming the batch: the next record's output is sent at `at_ms`.
    Transforming { at_ms: u64 },
    /// Blocked in a transactional call.
    Waiting(TransactionOperation),
    /// A fatal error: the producer is closed and the loop is over.
    Closed,
}

/// One consume-transform-produce application (one process's loop).
pub struct PipelineApplication {
    pub group: GroupId,
    pub transactional_id: TransactionalId,
    processing_ms: u64,
    poll_timeout_ms: u64,
    state: LoopState,
    open: Option<OpenTransaction>,
    /// Transactions begun so far by this client, across process restarts (the world keeps
    /// the count: see [`PipelineApplication::new`]).
    transactions_begun: u64,
    polled_at_ms: Option<u64>,
    /// The generation and assignment the application was last told of (callbacks).
    pub generation: GenerationId,
    pub assignment: Vec<TopicPartition>,
}

impl PipelineApplication {
    /// A fresh loop for a new process, which calls `initTransactions` first.
    /// `transactions_begun` continues the numbering of earlier processes of this client.
    pub fn new(
        group: GroupId,
        transactional_id: TransactionalId,
        processing_ms: u64,
        poll_timeout_ms: u64,
        transactions_begun: u64,
    ) -> PipelineApplication {
        PipelineApplication {
            group,
            transactional_id,
            processing_ms,
            poll_timeout_ms,
            state: LoopState::Initializing,
            open: None,
            transactions_begun,
            polled_at_ms: None,
            generation: GenerationId::NONE,
            assignment: Vec::new(),
        }
    }

    /// How many transactions this client has begun, this process and earlier ones.
    pub fn transactions_begun(&self) -> u64 {
        self.transactions_begun
    }

    /// Whether everything polled went into a transaction that ended, and no call is awaited.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, LoopState::Polling { .. } | LoopState::Closed) && self.open.is_none()
    }

    /// Whether a fatal error closed the producer.
    pub fn is_closed(&self) -> bool {
        self.state == LoopState::Closed
    }

    /// When the loop next has work of its own. A blocked call waits for its completion;
    /// records arriving for a waiting poll are the world's to notice.
    pub fn next_wake_ms(&self) -> Option<u64> {
        match self.state {
            LoopState::Polling { at_ms } | LoopState::Transforming { at_ms } => Some(at_ms),
            LoopState::Initializing | LoopState::Waiting(_) | LoopState::Closed => None,
        }
    }

    /// Starts the loop: `initTransactions`.
    pub fn start(&mut self, now_ms: u64, clients: &mut dyn PipelineClients) -> PipelineWork {
        self.state = LoopState::Initializing;
        PipelineWork {
            effects: clients.init_transactions(now_ms),
            history: Vec::new(),
        }
    }

    /// Does the next piece of work due at `now_ms`; `None` when nothing is due.
    pub fn run(
        &mut self,
        now_ms: u64,
        clients: &mut dyn PipelineClients,
        next_value: &mut u64,
    ) -> Option<PipelineWork> {
        match self.state {
            LoopState::Polling { at_ms }
                if at_ms <= now_ms
                    || (self.polled_at_ms != Some(now_ms) && clients.has_records_for_poll()) =>
            {
                Some(self.poll(now_ms, clients))
            }
            LoopState::Transforming { at_ms } if at_ms <= now_ms => {
                Some(self.transform_next(now_ms, clients, next_value))
            }
            _ => None,
        }
    }

    fn poll(&mut self, now_ms: u64, clients: &mut dyn PipelineClients) -> PipelineWork {
        self.polled_at_ms = Some(now_ms);
        let PollOutcome { records, effects } = clients.poll(now_ms);
        let mut work = PipelineWork {
            effects,
            history: Vec::new(),
        };
        if records.is_empty() {
            self.state = LoopState::Polling {
                at_ms: now_ms + self.poll_timeout_ms,
            };
            return work;
        }
        if clients.begin_transaction().is_err() {
            // The producer cannot begin (it failed fatally): the loop is over; the records
            // polled were never processed, and the group hands them to another member.
            self.state = LoopState::Closed;
            return work;
        }
        self.transactions_begun += 1;
        let number = self.transactions_begun;
        work.history.push(PipelineHistory::Began { number });
        self.open = Some(OpenTransaction {
            number,
            batch: records,
            sent: 0,
            sends: Vec::new(),
            offsets: None,
            commit_requested: false,
            error: None,
        });
        self.state = LoopState::Transforming {
            at_ms: now_ms + self.processing_ms,
        };
        work
    }

    /// Sends the next record's output, or, the batch done, sends the offsets.
    fn transform_next(
        &mut self,
        now_ms: u64,
        clients: &mut dyn PipelineClients,
        next_value: &mut u64,
    ) -> PipelineWork {
        let mut work = PipelineWork::default();
        let Some(open) = self.open.as_mut() else {
            self.state = LoopState::Polling { at_ms: now_ms };
            return work;
        };
        if let Some(record) = open.batch.get(open.sent).copied() {
            let value = *next_value;
            *next_value += 1;
            open.sent += 1;
            open.sends.push((
                TransactionalSend {
                    value,
                    source: Some(record.value),
                    partition: None,
                    offset: None,
                },
                SendCallback::Pending,
            ));
            work.history.push(PipelineHistory::SendInvoked { value });
            work.effects = clients.send(now_ms, value, record.key);
            self.state = LoopState::Transforming {
                at_ms: now_ms + self.processing_ms,
            };
            return work;
        }
        let Some(group_metadata) = clients.group_metadata() else {
            // Polled records but no generation: the member was kicked out in between;
            // what it polled is not its own to commit.
            return self.abort(now_ms, clients, Some(ErrorCode::UnknownMemberId));
        };
        let offsets = positions_after(&open.batch);
        open.offsets = Some(TransactionOffsets {
            group: group_metadata.group.clone(),
            generation: group_metadata.generation,
            offsets: offsets
                .iter()
                .map(|(partition, position)| (*partition, position.offset))
                .collect(),
        });
        work.effects = clients.send_offsets_to_transaction(now_ms, offsets, group_metadata);
        self.state = LoopState::Waiting(TransactionOperation::SendOffsetsToTransaction);
        work
    }

    fn abort(
        &mut self,
        now_ms: u64,
        clients: &mut dyn PipelineClients,
        error: Option<ErrorCode>,
    ) -> PipelineWork {
        if let Some(open) = self.open.as_mut() {
            open.error = open.error.or(error);
        }
        self.state = LoopState::Waiting(TransactionOperation::AbortTransaction);
        PipelineWork {
            effects: clients.abort_transaction(now_ms),
            history: Vec::new(),
        }
    }

    /// The producer reported a send's callback. Values are unique within a run.
    pub fn send_completed(
        &mut self,
        value: u64,
        partition: TopicPartition,
        result: Result<Option<Offset>, (ErrorCode, bool)>,
    ) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        let Some((send, callback)) = open.sends.iter_mut().find(|(send, _)| send.value == value)
        else {
            return;
        };
        *callback = match result {
            Ok(offset) => {
                send.partition = Some(partition);
                send.offset = offset;
                SendCallback::Written(partition, offset)
            }
            Err((error, definite)) => SendCallback::Failed { error, definite },
        };
    }

    /// A blocking call of the loop completed.
    pub fn operation_completed(
        &mut self,
        now_ms: u64,
        operation: TransactionOperation,
        result: Result<(), OperationFailure>,
        clients: &mut dyn PipelineClients,
    ) -> PipelineWork {
        let awaited = match self.state {
            LoopState::Initializing => TransactionOperation::InitTransactions,
            LoopState::Waiting(awaited) => awaited,
            _ => return PipelineWork::default(),
        };
        if awaited != operation {
            return PipelineWork::default();
        }
        match (operation, result) {
            (TransactionOperation::InitTransactions, Ok(())) => {
                self.state = LoopState::Polling { at_ms: now_ms };
                PipelineWork::default()
            }
            (TransactionOperation::SendOffsetsToTransaction, Ok(())) => {
                if let Some(open) = self.open.as_mut() {
                    open.commit_requested = true;
                }
                self.state = LoopState::Waiting(TransactionOperation::CommitTransaction);
                PipelineWork {
                    effects: clients.commit_transaction(now_ms),
                    history: Vec::new(),
                }
            }
            (TransactionOperation::CommitTransaction, Ok(())) => self.end(now_ms, OpType::Ok),
            (TransactionOperation::AbortTransaction, Ok(())) => {
                clients.rewind_to_committed();
                let mut work = self.end(now_ms, OpType::Fail);
                work.history.push(PipelineHistory::Rewound);
                work
            }
            // Kafka's loop calls initTransactions again after an error that leaves the
            // producer usable (a timeout): it resumes. Any other such error (abortTransaction
            // timing out included) is answered by aborting (again).
            (TransactionOperation::InitTransactions, Err(OperationFailure::Abortable(_))) => {
                PipelineWork {
                    effects: clients.init_transactions(now_ms),
                    history: Vec::new(),
                }
            }
            (_, Err(OperationFailure::Abortable(error))) => {
                self.abort(now_ms, clients, Some(error))
            }
            // Fenced: most often by the coordinator, which aborted a transaction that
            // outlived `transaction.timeout.ms` while the process was paused or cut off.
            // Kafka says to close the producer; the process makes a new one (as Kafka
            // Streams does), whose initTransactions fences any older instance, seeks back
            // to the committed offsets and carries on.
            (_, Err(OperationFailure::Fatal(error))) => {
                if let Some(open) = self.open.as_mut() {
                    open.error = open.error.or(Some(error));
                }
                let mut work = self.end_unknown(now_ms);
                clients.rewind_to_committed();
                work.history.push(PipelineHistory::Rewound);
                work.effects.extend(clients.replace_producer(now_ms));
                work.effects.extend(clients.init_transactions(now_ms));
                self.state = LoopState::Initializing;
                work
            }
        }
    }

    /// The transaction ended: `Ok` (committed) or `Fail` (aborted). The loop polls on.
    fn end(&mut self, now_ms: u64, op_type: OpType) -> PipelineWork {
        self.state = LoopState::Polling { at_ms: now_ms };
        let history = self
            .open
            .take()
            .map(|open| vec![PipelineHistory::Ended(ended(open, op_type))])
            .unwrap_or_default();
        PipelineWork {
            effects: Vec::new(),
            history,
        }
    }

    /// The transaction's outcome cannot be learnt any more (a fatal error, or the process
    /// stopped): it certainly did not commit unless a commit was asked for.
    pub fn end_unknown(&mut self, _now_ms: u64) -> PipelineWork {
        let history = self
            .open
            .take()
            .map(|open| {
                let op_type = if open.commit_requested {
                    OpType::Info
                } else {
                    OpType::Fail
                };
                vec![PipelineHistory::Ended(ended(open, op_type))]
            })
            .unwrap_or_default();
        PipelineWork {
            effects: Vec::new(),
            history,
        }
    }
}

/// The history of an ended transaction, each send's outcome by
/// [`transactional_send_outcome`].
fn ended(open: OpenTransaction, op_type: OpType) -> EndedTransaction {
    let send_outcomes = open
        .sends
        .iter()
        .map(|(_, callback)| {
            let failure = match callback {
                SendCallback::Failed { error, definite } => Some((*error, *definite)),
                SendCallback::Written(..) | SendCallback::Pending => None,
            };
            transactional_send_outcome(op_type, failure, open.error)
        })
        .collect();
    let mut polls: BTreeMap<TopicPartition, Vec<(Offset, u64)>> = BTreeMap::new();
    let mut order: Vec<TopicPartition> = Vec::new();
    for record in &open.batch {
        if !polls.contains_key(&record.partition) {
            order.push(record.partition);
        }
        polls
            .entry(record.partition)
            .or_default()
            .push((record.offset, record.value));
    }
    EndedTransaction {
        number: open.number,
        op_type,
        sends: open.sends.into_iter().map(|(send, _)| send).collect(),
        send_outcomes,
        polls: order
            .into_iter()
            .map(|partition| (partition, polls.remove(&partition).unwrap_or_default()))
            .collect(),
        offsets: open.offsets,
        commit: open.commit_requested,
        error: open.error,
    }
}

/// Per partition, the position after the batch's last record there, with that record's
/// leader epoch (Kafka's example commits `consumer.position`), in partition order.
fn positions_after(records: &[ConsumerRecord]) -> Vec<(TopicPartition, OffsetAndMetadata)> {
    let mut positions: BTreeMap<TopicPartition, OffsetAndMetadata> = BTreeMap::new();
    for record in records {
        let next = OffsetAndMetadata {
            offset: record.offset.next(),
            leader_epoch: Some(record.leader_epoch),
        };
        let position = positions.entry(record.partition).or_insert(next);
        if next.offset > position.offset {
            *position = next;
        }
    }
    positions.into_iter().collect()
}

#[cfg(test)]
#[path = "application_pipeline_tests.rs"]
mod tests;
