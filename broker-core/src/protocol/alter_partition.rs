//! AlterPartition (KIP-497): the leader proposes a new ISR; the controller checks the
//! leader epoch and the partition epoch, then publishes the change.

use crate::error::ErrorCode;
use crate::ids::{BrokerEpoch, BrokerId, LeaderEpoch, PartitionEpoch, PartitionId};
use crate::metadata::PartitionState;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlterPartitionRequest {
    pub broker: BrokerId,
    pub broker_epoch: BrokerEpoch,
    pub partition: PartitionId,
    pub leader_epoch: LeaderEpoch,
    pub partition_epoch: PartitionEpoch,
    pub new_isr: Vec<BrokerId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlterPartitionResponse {
    pub partition: PartitionId,
    pub result: Result<PartitionState, ErrorCode>,
}
