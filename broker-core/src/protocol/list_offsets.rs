//! ListOffsets: where a consumer without a position starts (`auto_offset_reset`), and where
//! a follower whose fetch was out of range starts again.

use crate::error::ErrorCode;
use crate::ids::{BrokerId, CorrelationId, Offset};
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
    /// The follower asking (Kafka's `replicaId`): a follower whose fetch was out of range
    /// asks its leader where its log starts and ends; `Latest` is then the log end offset.
    /// `None` for a consumer.
    #[serde(default)]
    pub replica: Option<BrokerId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOffsetsResponse {
    pub correlation: CorrelationId,
    pub partition: TopicPartition,
    pub result: Result<Offset, ErrorCode>,
}
