//! Produce: a producer sends a batch of records to a partition's leader, which answers
//! according to `acks`.

use crate::error::ErrorCode;
use crate::ids::{CorrelationId, Offset};
use crate::record::ProducerRecord;
use crate::topic::TopicPartition;
use serde::{Deserialize, Serialize};

/// How many replicas must have a record before the producer hears back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Acks {
    /// acks=0: the producer does not wait for any response.
    #[serde(rename = "0")]
    None,
    /// acks=1: the leader's own append is enough.
    #[serde(rename = "1")]
    Leader,
    /// acks=all (-1): every ISR member, and at least `min_insync_replicas`.
    #[serde(rename = "all")]
    All,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProduceRequest {
    pub correlation: CorrelationId,
    pub partition: TopicPartition,
    pub acks: Acks,
    /// How long the leader may hold an acks=all request in purgatory.
    pub timeout_ms: u64,
    pub records: Vec<ProducerRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProduceResponse {
    pub correlation: CorrelationId,
    pub partition: TopicPartition,
    /// The base offset of the appended batch.
    pub result: Result<Offset, ErrorCode>,
}
