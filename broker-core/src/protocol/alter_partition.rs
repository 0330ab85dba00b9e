//! AlterPartition (KIP-497): the leader proposes a new ISR; the controller checks the
//! leader epoch and the partition epoch, and every proposed member's eligibility (KIP-903:
//! registered, unfenced, not shutting down, and named with its current broker epoch), then
//! publishes the change.

use crate::error::ErrorCode;
use crate::ids::{BrokerEpoch, BrokerId, LeaderEpoch, PartitionEpoch};
use crate::metadata::PartitionState;
use crate::topic::TopicPartition;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlterPartitionRequest {
    pub broker: BrokerId,
    pub broker_epoch: BrokerEpoch,
    pub partition: TopicPartition,
    pub leader_epoch: LeaderEpoch,
    pub partition_epoch: PartitionEpoch,
    /// The proposed ISR with each member's broker epoch as the leader last saw it in that
    /// member's fetches (Kafka's `newIsrWithEpochs`); `None` when unknown (Kafka's -1), which
    /// skips the epoch check for that member.
    pub new_isr_with_epochs: Vec<BrokerState>,
}

/// One proposed ISR member (Kafka's `AlterPartitionRequestData.BrokerState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerState {
    pub broker_id: BrokerId,
    pub broker_epoch: Option<BrokerEpoch>,
}

impl AlterPartitionRequest {
    /// The proposed ISR's broker ids, in the order given.
    pub fn new_isr(&self) -> Vec<BrokerId> {
        self.new_isr_with_epochs
            .iter()
            .map(|member| member.broker_id)
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlterPartitionResponse {
    pub partition: TopicPartition,
    pub result: Result<PartitionState, ErrorCode>,
}
