//! OffsetsForLeaderEpoch (KIP-101, KIP-279): a follower asks the leader where its latest
//! epoch ends, to find where its log diverges; a consumer asks to validate its position
//! after a leader change (KIP-320).

use crate::error::ErrorCode;
use crate::ids::{BrokerId, CorrelationId, LeaderEpoch, Offset};
use crate::topic::TopicPartition;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetsForLeaderEpochRequest {
    pub correlation: CorrelationId,
    pub partition: TopicPartition,
    /// `Some` for a follower, `None` for a consumer validating its position (KIP-320).
    pub replica: Option<BrokerId>,
    pub current_leader_epoch: LeaderEpoch,
    /// The epoch whose end offset the follower wants: its own latest epoch.
    pub leader_epoch: LeaderEpoch,
}

/// The end of a leader epoch as the leader knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochEndOffset {
    /// The largest epoch ≤ the requested one that the leader has (KIP-279: the follower needs
    /// it to keep truncating until the epochs agree).
    pub leader_epoch: LeaderEpoch,
    /// The first offset after that epoch's records in the leader's log.
    pub end_offset: Offset,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetsForLeaderEpochResponse {
    pub correlation: CorrelationId,
    pub partition: TopicPartition,
    pub result: Result<EpochEndOffset, ErrorCode>,
}
