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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteRecordsRequest {
    pub partition: TopicPartition,
    pub offset: DeleteRecordsOffset,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteRecordsResponse {
    pub partition: TopicPartition,
    /// The leader's log start offset after the request (Kafka's `low_watermark`, which
    /// Kafka reports once every replica has reached it; here at once, from the leader), or
    /// why nothing was deleted: NOT_LEADER_OR_FOLLOWER, or OFFSET_OUT_OF_RANGE for an
    /// offset past the high watermark.
    pub result: Result<Offset, ErrorCode>,
}
