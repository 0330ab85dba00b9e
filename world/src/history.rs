//! The client history, Jepsen style: every client operation as an invocation followed by its
//! completion — `Ok`, `Fail` (definitely did not happen) or `Info` (may or may not have
//! happened) — with values, offsets and simulated times. Checkers read nothing else from the
//! clients.

use serde::Serialize;
use watermark_broker_core::error::ErrorCode;
use watermark_broker_core::ids::{ClientId, GenerationId, GroupId, Offset};
use watermark_broker_core::topic::TopicPartition;

/// Jepsen's operation types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
}

/// One entry of the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
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
