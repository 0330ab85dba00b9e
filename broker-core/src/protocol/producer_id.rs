//! Producer ids: a client's InitProducerId (KIP-98; KIP-360 adds the current id and epoch
//! so a producer can bump its epoch) and the broker's AllocateProducerIds to the KRaft
//! controller (KIP-730), which hands out blocks of ids it has persisted, so no id is ever
//! given twice across broker or controller restarts.

use crate::error::ErrorCode;
use crate::ids::{BrokerEpoch, BrokerId, CorrelationId, ProducerEpoch, ProducerId};
use serde::{Deserialize, Serialize};

/// A producer id and the epoch that goes with it (Kafka's `ProducerIdAndEpoch`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct ProducerIdAndEpoch {
    pub producer_id: ProducerId,
    pub epoch: ProducerEpoch,
}

/// InitProducerId: an idempotent producer asks any broker for an id; a transactional one
/// asks its transaction coordinator, which bumps the epoch of the id it keeps for the
/// `transactional_id` and so fences the previous instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitProducerIdRequest {
    pub correlation: CorrelationId,
    /// `None` for an idempotent producer (Kafka's null `TransactionalId`).
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms`: how long the coordinator lets a transaction stay open.
    pub transaction_timeout_ms: u64,
    /// KIP-360: the id and epoch the producer holds, if any, so the coordinator can bump
    /// the epoch of that id rather than fence it (Kafka sends -1/-1 for none).
    pub current: Option<ProducerIdAndEpoch>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitProducerIdResponse {
    pub correlation: CorrelationId,
    pub result: Result<ProducerIdAndEpoch, ErrorCode>,
}

/// AllocateProducerIds: a broker asks the controller for the next block of producer ids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocateProducerIdsRequest {
    pub correlation: CorrelationId,
    pub broker: BrokerId,
    pub broker_epoch: BrokerEpoch,
}

/// A block of consecutive producer ids: `first .. first + length`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerIdBlock {
    pub first: ProducerId,
    pub length: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocateProducerIdsResponse {
    pub correlation: CorrelationId,
    pub result: Result<ProducerIdBlock, ErrorCode>,
}
