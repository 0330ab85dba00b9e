//! What the application calls on a group consumer (Kafka's `KafkaConsumer.poll`,
//! `commitSync`, `commitAsync`, `assignment`), and what it gets back. The consumer is a
//! state machine like every actor: a call returns the records or ids at once, and the
//! effects (requests, events) for the shell to execute; what the call would block on in
//! Kafka arrives later as an event (`Event::OffsetCommitCompleted`).

use crate::actor::Effect;
use crate::ids::{LeaderEpoch, Offset};
use crate::topic::TopicPartition;

/// A record handed to the application (Kafka's `ConsumerRecord`, reduced to what the
/// workload's records carry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub partition: TopicPartition,
    pub offset: Offset,
    pub leader_epoch: LeaderEpoch,
    pub key: Option<u64>,
    pub value: u64,
}

/// What one `poll` returns: up to `max_poll_records` records, in fetch order, and the
/// effects of the work poll does before returning (rejoining the group, auto-commit,
/// revocation, sending fetches), which include an `Event::Polled` per partition returned.
#[derive(Debug, Default)]
pub struct PollOutcome {
    pub records: Vec<ConsumerRecord>,
    pub effects: Vec<Effect>,
}

/// How the application commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitKind {
    /// `commitSync`: retried on retriable errors until `default_api_timeout_ms`; the
    /// application waits for `Event::OffsetCommitCompleted`.
    Sync,
    /// `commitAsync`: sent once; the outcome comes as `Event::OffsetCommitCompleted`.
    Async,
}
