//! The controller's durable state and its encoding in the storage file `controller-state`.
//!
//! KRaft keeps the cluster metadata in a replicated, fsynced log; the single simulated
//! controller keeps the equivalent snapshot in one file, replaced and synced on every change
//! (see `controller.rs`). Whatever survives in that file is, by construction, everything the
//! controller ever told anyone: it persists before it replies or pushes an image.
//!
//! Invariants (checked by [`ControllerState::assert_invariants`]):
//! - every partition's ISR is sorted, free of duplicates and a subset of its replicas; it is
//!   empty only when eligible leader replicas are on and the partition has no leader;
//! - the ELR (KIP-966) is sorted, free of duplicates, a subset of the replicas and disjoint
//!   from the ISR; the last known ELR holds at most one broker and is empty while the
//!   partition has a leader; both are empty with eligible leader replicas off;
//! - a partition's leader, when it has one, is an ISR member and a registered, unfenced
//!   broker;
//! - `image.live_brokers` is exactly the registered, unfenced brokers, sorted;
//! - every registered broker's epoch is below `next_broker_epoch`;
//! - `next_producer_id` is a whole number of producer-id blocks (every block handed out is
//!   below it; see `producer_ids.rs`).

use crate::config::TopicConfig;
use crate::ids::{BrokerEpoch, BrokerId, LeaderEpoch, PartitionEpoch, PartitionId, ProducerId};
use crate::metadata::{MetadataImage, PartitionState};
use crate::topic::TopicPartition;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The storage file the controller keeps its state in.
pub const CONTROLLER_STATE_FILE: &str = "controller-state";

/// One broker as the controller has registered it (KRaft's `BrokerRegistration`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistrationState {
    pub broker: BrokerId,
    /// The incarnation of the broker process that registered last. Incarnations increase
    /// with every restart, so an older one is a zombie.
    pub incarnation: u64,
    /// The epoch handed out at that registration. Requests carrying any other epoch are
    /// stale.
    pub broker_epoch: BrokerEpoch,
    /// A fenced broker leads nothing, joins no ISR and receives no metadata pushes. Every
    /// registration starts fenced; a heartbeat from the same epoch that shows the broker has
    /// caught up with the metadata unfences it (`BrokerHeartbeatManager`).
    pub fenced: bool,
    /// The broker asked to shut down and the controller is moving its leaderships away
    /// (KIP-841). It stays unfenced (it still gets metadata) but may not lead or join an ISR.
    #[serde(default)]
    pub in_controlled_shutdown: bool,
    /// The image version when the registration was recorded (Kafka's offset of the
    /// `RegisterBrokerRecord`): the broker is unfenced once it has applied this version.
    #[serde(default)]
    pub registered_at_version: u64,
    /// The broker's rack, from its registration (KIP-392).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack: Option<String>,
}

/// Everything the controller must remember across a restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerState {
    /// Every broker that has ever registered, by id.
    pub brokers: BTreeMap<BrokerId, BrokerRegistrationState>,
    /// The broker epoch the next registration receives. Never reused, so an epoch names one
    /// registration for the whole life of the cluster.
    pub next_broker_epoch: BrokerEpoch,
    /// The metadata image: its version, live brokers and every partition's state.
    pub image: MetadataImage,
    /// The first producer id of the next block (Kafka's `ProducerIdsRecord.nextProducerId`):
    /// every id below it has been handed to some broker, so it only grows.
    pub next_producer_id: ProducerId,
}

/// The on-disk shape. Maps are stored as lists so the encoding does not depend on how
/// serde_json spells non-string map keys.
#[derive(Serialize, Deserialize)]
struct EncodedControllerState {
    brokers: Vec<BrokerRegistrationState>,
    next_broker_epoch: BrokerEpoch,
    metadata_version: u64,
    partitions: Vec<PartitionState>,
    /// Left out while no block was ever handed out, so a cluster without idempotent
    /// producers writes the same bytes as before producer ids existed (a state written then
    /// reads back as 0).
    #[serde(default, skip_serializing_if = "is_first_producer_id")]
    next_producer_id: ProducerId,
}

fn is_first_producer_id(producer_id: &ProducerId) -> bool {
    *producer_id == ProducerId(0)
}

impl ControllerState {
    /// A fresh cluster state with `topics` created on `brokers` (sorted): the `k`-th
    /// partition created, counting across topics in order, is placed on brokers
    /// `(k + i) % n` for `i in 0..replication_factor`, each partition one broker further
    /// than the one before (Kafka's striped placement spreads leaders the same way). Every
    /// partition starts offline with every replica in the ISR, because every log is empty.
    /// Version 1, so that a broker, which starts at version 0, applies it.
    pub fn new_topics(topics: &[TopicConfig], brokers: &[BrokerId]) -> Self {
        let mut sorted_brokers = brokers.to_vec();
        sorted_brokers.sort();
        sorted_brokers.dedup();
        let broker_count = sorted_brokers.len();
        let mut partition_states = BTreeMap::new();
        let mut placed = 0usize;
        for topic in topics {
            // A replication factor of 0, or above the broker count (which would place one
            // broker twice), is refused by Kafka (InvalidReplicationFactorException). Here it
            // is clamped into 1..=brokers instead, because a simulation run has no one to
            // report the error to, and an empty replica list would break the ISR invariant.
            let replica_count = usize::try_from(topic.replication_factor)
                .unwrap_or(usize::MAX)
                .clamp(1, broker_count.max(1));
            if broker_count == 0 {
                continue;
            }
            for index in 0..topic.partitions {
                let first = placed % broker_count;
                placed += 1;
                let replicas: Vec<BrokerId> = (0..replica_count)
                    .map(|offset| sorted_brokers[(first + offset) % broker_count])
                    .collect();
                let mut isr = replicas.clone();
                isr.sort();
                let partition = TopicPartition::new(topic.name, PartitionId(index));
                partition_states.insert(
                    partition,
                    PartitionState {
                        partition,
                        replicas,
                        leader: None,
                        leader_epoch: LeaderEpoch(0),
                        isr,
                        partition_epoch: PartitionEpoch(0),
                        elr: Vec::new(),
                        last_known_elr: Vec::new(),
                    },
                );
            }
        }
        ControllerState {
            brokers: BTreeMap::new(),
            next_broker_epoch: BrokerEpoch(1),
            image: MetadataImage {
                broker_racks: Default::default(),
                version: 1,
                live_brokers: Vec::new(),
                partitions: partition_states,
            },
            next_producer_id: ProducerId(0),
        }
    }

    /// Whether `broker` is registered and not fenced: the only brokers that may lead or
    /// join an ISR.
    pub fn is_unfenced(&self, broker: BrokerId) -> bool {
        self.brokers
            .get(&broker)
            .is_some_and(|registration| !registration.fenced)
    }

    /// Kafka's `ClusterControlManager.isActive`: unfenced and not in controlled shutdown.
    /// Only active brokers may become leaders or join an ISR.
    pub fn is_active(&self, broker: BrokerId) -> bool {
        self.brokers.get(&broker).is_some_and(|registration| {
            !registration.fenced && !registration.in_controlled_shutdown
        })
    }

    /// Recomputes `image.live_brokers` from the registrations.
    pub fn refresh_live_brokers(&mut self) {
        self.image.live_brokers = self
            .brokers
            .values()
            .filter(|registration| !registration.fenced)
            .map(|registration| registration.broker)
            .collect();
        // Kafka's metadata image keeps every registered broker's rack, fenced or not.
        self.image.broker_racks = self
            .brokers
            .values()
            .filter_map(|registration| {
                let rack = registration.rack.clone()?;
                Some((registration.broker, rack))
            })
            .collect();
    }

    /// The bytes written to [`CONTROLLER_STATE_FILE`].
    pub fn encode(&self) -> Vec<u8> {
        let encoded = EncodedControllerState {
            brokers: self.brokers.values().cloned().collect(),
            next_broker_epoch: self.next_broker_epoch,
            metadata_version: self.image.version,
            partitions: self.image.partitions.values().cloned().collect(),
            next_producer_id: self.next_producer_id,
        };
        // Serialising plain data with derived impls into memory cannot fail.
        serde_json::to_vec(&encoded).expect("controller state serialises to JSON")
    }

    /// Reads back what [`ControllerState::encode`] wrote. `None` for an empty file (a first
    /// start); an error for anything else that does not decode.
    pub fn decode(bytes: &[u8]) -> Result<Option<Self>, String> {
        if bytes.is_empty() {
            return Ok(None);
        }
        let encoded: EncodedControllerState = serde_json::from_slice(bytes)
            .map_err(|error| format!("controller-state does not decode: {error}"))?;
        let mut state = ControllerState {
            brokers: encoded
                .brokers
                .into_iter()
                .map(|registration| (registration.broker, registration))
                .collect(),
            next_broker_epoch: encoded.next_broker_epoch,
            image: MetadataImage {
                broker_racks: Default::default(),
                version: encoded.metadata_version,
                live_brokers: Vec::new(),
                partitions: encoded
                    .partitions
                    .into_iter()
                    .map(|partition| (partition.partition, partition))
                    .collect(),
            },
            next_producer_id: encoded.next_producer_id,
        };
        state.refresh_live_brokers();
        Ok(Some(state))
    }

    /// Panics, printing the whole state, if an invariant from the module header is broken.
    pub fn assert_invariants(&self, eligible_leader_replicas_enable: bool) {
        for (partition, state) in &self.image.partitions {
            assert_eq!(
                *partition, state.partition,
                "partition keyed under the wrong id: {self:?}"
            );
            assert!(
                !state.isr.is_empty()
                    || (eligible_leader_replicas_enable && state.leader.is_none()),
                "{partition}: empty ISR in {self:?}"
            );
            for (name, members) in [("ISR", &state.isr), ("ELR", &state.elr)] {
                assert!(
                    members.windows(2).all(|pair| pair[0] < pair[1]),
                    "{partition}: {name} not sorted or has duplicates in {self:?}"
                );
                assert!(
                    members.iter().all(|member| state.replicas.contains(member)),
                    "{partition}: {name} member outside the replicas in {self:?}"
                );
            }
            assert!(
                state.elr.iter().all(|member| !state.isr.contains(member)),
                "{partition}: ELR overlaps the ISR in {self:?}"
            );
            assert!(
                state.last_known_elr.len() <= 1
                    && (state.leader.is_none() || state.last_known_elr.is_empty()),
                "{partition}: last known ELR {:?} with leader {:?} in {self:?}",
                state.last_known_elr,
                state.leader
            );
            assert!(
                eligible_leader_replicas_enable
                    || (state.elr.is_empty() && state.last_known_elr.is_empty()),
                "{partition}: ELR kept while eligible leader replicas are off in {self:?}"
            );
            if let Some(leader) = state.leader {
                assert!(
                    state.isr.contains(&leader),
                    "{partition}: leader {leader} not in ISR {:?}; state {self:?}",
                    state.isr
                );
                assert!(
                    self.is_unfenced(leader),
                    "{partition}: leader {leader} is fenced or unregistered; state {self:?}"
                );
            }
        }
        let live: Vec<BrokerId> = self
            .brokers
            .values()
            .filter(|registration| !registration.fenced)
            .map(|registration| registration.broker)
            .collect();
        assert_eq!(
            live, self.image.live_brokers,
            "live brokers out of date in {self:?}"
        );
        for registration in self.brokers.values() {
            assert!(
                registration.broker_epoch < self.next_broker_epoch,
                "{}: broker epoch {} not below next {} in {self:?}",
                registration.broker,
                registration.broker_epoch,
                self.next_broker_epoch
            );
        }
        assert!(
            self.next_producer_id
                .0
                .is_multiple_of(super::PRODUCER_ID_BLOCK_SIZE),
            "next producer id {} is not at a block boundary in {self:?}",
            self.next_producer_id
        );
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
