//! DeleteRecords (KIP-107): an administrator asks a partition's leader to move its log start
//! offset, so that every record below it is gone for readers.

use crate::error::ErrorCode;
use crate::ids::Offset;
use crate::topic::TopicPartition;
use serde::{Deserialize, Serialize};

/// How far to delete: before an offset, or before the high watermark (Kafka's
/// `DeleteRecordsPartition.offset` of -1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeleteRecordsOffset {
    /// Every record below this offset.
    Before(Offset),
    /// Every record below the leader's high watermark.
    HighWatermark,
}

/// How long a leader may hold a DeleteRecords for its replicas (Kafka's admin client sends
/// its `default.api.timeout.ms`, 60 s by default, as the request's `timeout_ms`).
pub const DELETE_RECORDS_DEFAULT_TIMEOUT_MS: u64 = 60_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteRecordsRequest {
    pub partition: TopicPartition,
    pub offset: DeleteRecordsOffset,
    /// How long the leader waits for its replicas' log start offsets before answering
    /// REQUEST_TIMED_OUT (Kafka's `DeleteRecordsRequest.timeoutMs`).
    pub timeout_ms: u64,
}

/// What the broker did with a DeleteRecords at once. The administrator's answer, the low
/// watermark once every live replica reached the offset (or REQUEST_TIMED_OUT), comes later
/// as `Event::DeleteRecordsAnswered` (Kafka's `DelayedDeleteRecords`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteRecordsResponse {
    pub partition: TopicPartition,
    /// The leader's own log start offset after the request (it accepted it), or why nothing
    /// was deleted: NOT_LEADER_OR_FOLLOWER, or OFFSET_OUT_OF_RANGE for an offset past the
    /// high watermark.
    pub result: Result<Offset, ErrorCode>,
}
