//! AlterPartition (KIP-497): the leader proposes a new ISR; the controller checks the
//! leader epoch and the partition epoch, then publishes the change.

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
    pub new_isr: Vec<BrokerId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlterPartitionResponse {
    pub partition: TopicPartition,
    pub result: Result<PartitionState, ErrorCode>,
}
