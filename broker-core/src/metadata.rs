//! Cluster metadata as the controller publishes it: who leads each partition, in which epoch,
//! with which ISR. Brokers and clients act on the newest image they have seen, which may be
//! stale; that staleness is where zombie leaders come from.

use crate::ids::{BrokerId, LeaderEpoch, PartitionEpoch};
use crate::topic::TopicPartition;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One partition's registration in the controller (KRaft's `PartitionRegistration`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionState {
    pub partition: TopicPartition,
    /// All assigned replicas, in preference order; the first is the preferred leader.
    pub replicas: Vec<BrokerId>,
    /// `None` while the partition is offline (no eligible leader).
    pub leader: Option<BrokerId>,
    pub leader_epoch: LeaderEpoch,
    /// In-sync replicas, sorted ascending. Empty only with eligible leader replicas on,
    /// when the partition has no leader (KIP-966 lets the ISR empty out).
    pub isr: Vec<BrokerId>,
    pub partition_epoch: PartitionEpoch,
    /// Eligible leader replicas (KIP-966), sorted: replicas that left the ISR while it was
    /// below `min_insync_replicas` and still hold every committed record, so they may lead
    /// once the ISR is empty. Always empty with ELR off.
    #[serde(default)]
    pub elr: Vec<BrokerId>,
    /// The last known leader (`lastKnownElr`, holding one member as Kafka 4.x uses it): set
    /// when the ISR empties, and elected as a last resort when ISR and ELR are both empty.
    #[serde(default)]
    pub last_known_elr: Vec<BrokerId>,
}

/// A full metadata snapshot. `version` increases with every change the controller makes, so a
/// receiver can ignore an older image that arrives late.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MetadataImage {
    pub version: u64,
    /// Brokers registered and not fenced.
    pub live_brokers: Vec<BrokerId>,
    pub partitions: BTreeMap<TopicPartition, PartitionState>,
    /// Every registered broker's rack, for those that have one (KRaft's
    /// `RegisterBrokerRecord.rack`): what the rack-aware replica selector matches (KIP-392).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub broker_racks: BTreeMap<BrokerId, String>,
}

impl MetadataImage {
    /// The partition's state, if the topic has that partition.
    pub fn partition(&self, partition: TopicPartition) -> Option<&PartitionState> {
        self.partitions.get(&partition)
    }
}
