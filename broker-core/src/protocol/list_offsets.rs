//! ListOffsets: where a consumer without a position starts (`auto_offset_reset`).

use crate::error::ErrorCode;
use crate::ids::{CorrelationId, Offset};
use crate::protocol::IsolationLevel;
use crate::topic::TopicPartition;
use serde::{Deserialize, Serialize};

/// Which offset `ListOffsets` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The end of what the consumer may read: the high watermark with read_uncommitted,
    /// the last stable offset with read_committed.
    Latest,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOffsetsRequest {
    pub correlation: CorrelationId,
    pub partition: TopicPartition,
    pub spec: OffsetSpec,
    /// Decides what `Latest` is (Kafka's `ListOffsetsRequest.isolationLevel`).
    pub isolation_level: IsolationLevel,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOffsetsResponse {
    pub correlation: CorrelationId,
    pub partition: TopicPartition,
    pub result: Result<Offset, ErrorCode>,
}
