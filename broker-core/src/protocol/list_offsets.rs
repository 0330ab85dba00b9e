//! ListOffsets: where a consumer without a position starts (`auto_offset_reset`).

use crate::error::ErrorCode;
use crate::ids::{CorrelationId, Offset};
use crate::topic::TopicPartition;
use serde::{Deserialize, Serialize};

/// Which offset `ListOffsets` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark (what a read_uncommitted consumer may read up to).
    Latest,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOffsetsRequest {
    pub correlation: CorrelationId,
    pub partition: TopicPartition,
    pub spec: OffsetSpec,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOffsetsResponse {
    pub correlation: CorrelationId,
    pub partition: TopicPartition,
    pub result: Result<Offset, ErrorCode>,
}
