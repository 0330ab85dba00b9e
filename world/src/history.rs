//! The client history, Jepsen style: every client operation as an invocation followed by its
//! completion — `Ok`, `Fail` (definitely did not happen) or `Info` (may or may not have
//! happened) — with values, offsets and simulated times. Checkers read nothing else from the
//! clients.

use serde::{Deserialize, Serialize};
use watermark_broker_core::error::ErrorCode;
use watermark_broker_core::ids::{ClientId, GenerationId, GroupId, Offset, TransactionalId};
use watermark_broker_core::topic::TopicPartition;

/// Jepsen's operation types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    Invoke,
    Ok,
    /// The operation certainly did not take effect.
    Fail,
    /// Indefinite: the operation may or may not have taken effect.
    Info,
}

/// What an operation did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpBody {
    /// A producer's send of one unique value. On `Ok`, `partition` and `offset` say where the
    /// broker put it (`offset` is `None` for acks=0, where the producer never learns it).
    Send {
        value: u64,
        partition: Option<TopicPartition>,
        offset: Option<Offset>,
        error: Option<ErrorCode>,
    },
    /// A consumer's poll of one partition: the records handed to the application, in order.
    /// Polls are recorded as `Ok` only (an empty poll is not recorded).
    Poll {
        partition: TopicPartition,
        records: Vec<(Offset, u64)>,
    },
    /// A group consumer's application finished processing a record and its result reached
    /// the external sink (`Ok` only). A record whose processing was cut short (the consumer
    /// crashed first) or that the processing step chose not to write leaves no entry.
    Process {
        group: GroupId,
        partition: TopicPartition,
        offset: Offset,
        value: u64,
    },
    /// A group consumer's offset commit: `Invoke` when sent, then `Ok` (the coordinator
    /// accepted it), `Fail` (refused, or never sent: it certainly did not take effect) or
    /// `Info` (no answer: it may have). `offsets` are the positions committed, the offset of
    /// the next record to read.
    Commit {
        group: GroupId,
        offsets: Vec<(TopicPartition, Offset)>,
        /// Sent by auto-commit rather than by the application.
        automatic: bool,
        error: Option<ErrorCode>,
    },
    /// A group consumer's assignment changed (`Ok` only): it owns `assignment` in
    /// `generation`; `revoked` it gave up since its previous assignment (`lost`: without
    /// the chance to commit, as `onPartitionsLost`).
    Assign {
        group: GroupId,
        generation: GenerationId,
        assignment: Vec<TopicPartition>,
        revoked: Vec<TopicPartition>,
        lost: bool,
    },
    /// A transactional producer's transaction (KIP-98), Jepsen's `:txn` operation:
    /// `Invoke` when the application calls `beginTransaction` (lists empty), then one
    /// completion: `Ok` once its commit was acknowledged; `Fail` once it certainly did not
    /// commit (its abort was acknowledged, or no commit could have been written: EndTxn
    /// with `commit` was never sent); `Info` when it may or may not have committed (the
    /// commit's answer was lost, the producer was fenced or crashed after sending it).
    ///
    /// Each send of a transaction is also recorded as a `Send`: `Invoke` when sent, and its
    /// completion when the transaction completes, with the transaction's type (a send whose
    /// own batch failed definitely is `Fail` whatever the transaction did), so the send
    /// checkers judge a value of an aborted transaction as a failed write, as Jepsen does.
    Transaction {
        transactional_id: TransactionalId,
        /// Counts the application's transactions, from 1, across producer restarts.
        number: u64,
        /// The values sent in it, in send order, with where they were written.
        sends: Vec<TransactionalSend>,
        /// The records the application polled inside it (consume-transform-produce), in the
        /// order it received them.
        polls: Vec<(TopicPartition, Vec<(Offset, u64)>)>,
        /// The consumer offsets committed with it (`sendOffsetsToTransaction`), if any: the
        /// positions, the offset of the next record to read.
        offsets: Option<TransactionOffsets>,
        /// What the application asked for at its end: commit (`true`) or abort.
        commit: bool,
        error: Option<ErrorCode>,
    },
}

/// One send of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionalSend {
    pub value: u64,
    /// Consume-transform-produce: the input value this one was derived from.
    pub source: Option<u64>,
    /// Where the broker put it, when the send's callback said (`None` otherwise).
    pub partition: Option<TopicPartition>,
    pub offset: Option<Offset>,
}

/// The consumer offsets a transaction commits (KIP-447's `sendOffsetsToTransaction`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionOffsets {
    pub group: GroupId,
    pub generation: GenerationId,
    pub offsets: Vec<(TopicPartition, Offset)>,
}

/// One entry of the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Position in the history, from 0.
    pub index: usize,
    pub time_ms: u64,
    /// The producer or consumer that performed it.
    pub client: ClientId,
    pub op_type: OpType,
    pub body: OpBody,
}

/// The whole history of a run, in the order things happened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub operations: Vec<Operation>,
}

impl History {
    /// Appends an operation, numbering it.
    pub fn push(&mut self, time_ms: u64, client: ClientId, op_type: OpType, body: OpBody) {
        let index = self.operations.len();
        self.operations.push(Operation {
            index,
            time_ms,
            client,
            op_type,
            body,
        });
    }
}
