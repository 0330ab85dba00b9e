//! The wire protocol between nodes: Kafka's request and response types, reduced to the fields
//! the replication and delivery semantics depend on. A message is delivered in order per
//! (sender, receiver) link, or not at all.

use crate::error::ErrorCode;
use crate::ids::{
    BrokerEpoch, BrokerId, CorrelationId, LeaderEpoch, Offset, PartitionEpoch, PartitionId,
};
use crate::metadata::{MetadataImage, PartitionState};
use crate::record::{ProducerRecord, Record};
use serde::{Deserialize, Serialize};

/// How many replicas must have a record before the producer hears back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Acks {
    /// acks=0: the producer does not wait for any response.
    #[serde(rename = "0")]
    None,
    /// acks=1: the leader's own append is enough.
    #[serde(rename = "1")]
    Leader,
    /// acks=all (-1): every ISR member, and at least `min_insync_replicas`.
    #[serde(rename = "all")]
    All,
}

/// Which offset `ListOffsets` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark (what a read_uncommitted consumer may read up to).
    Latest,
}

/// The records and positions a successful fetch returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchData {
    /// Records from the fetch offset on. For a consumer, only records below the high
    /// watermark; for a follower, up to the leader's log end offset.
    pub records: Vec<Record>,
    pub high_watermark: Offset,
    pub log_start_offset: Offset,
    pub log_end_offset: Offset,
}

/// The end of a leader epoch as the leader knows it: the answer to OffsetsForLeaderEpoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochEndOffset {
    /// The largest epoch ≤ the requested one that the leader has (KIP-279: the follower needs
    /// it to keep truncating until the epochs agree).
    pub leader_epoch: LeaderEpoch,
    /// The first offset after that epoch's records in the leader's log.
    pub end_offset: Offset,
}

/// Every message a node can send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    // ---- broker ↔ controller (KRaft's broker lifecycle and AlterPartition) ----
    /// A broker (re)starting asks to join; the controller answers with a new broker epoch.
    BrokerRegistration {
        broker: BrokerId,
        /// Increases on every restart of the broker process, so the controller can tell a
        /// restart from a duplicate registration.
        incarnation: u64,
    },
    BrokerRegistrationResponse {
        broker_epoch: BrokerEpoch,
        metadata: MetadataImage,
    },
    /// Sent every `broker_heartbeat_interval_ms`. A broker silent for
    /// `broker_session_timeout_ms` is fenced.
    BrokerHeartbeat {
        broker: BrokerId,
        broker_epoch: BrokerEpoch,
        /// The newest metadata version the broker has applied.
        metadata_version: u64,
    },
    BrokerHeartbeatResponse {
        /// `Err(StaleBrokerEpoch)` tells the broker to register again.
        result: Result<(), ErrorCode>,
        /// A newer image, when the broker is behind.
        metadata: Option<MetadataImage>,
    },
    /// The leader proposes a new ISR (KIP-497). The controller checks the leader epoch and the
    /// partition epoch, then publishes the change.
    AlterPartition {
        broker: BrokerId,
        broker_epoch: BrokerEpoch,
        partition: PartitionId,
        leader_epoch: LeaderEpoch,
        partition_epoch: PartitionEpoch,
        new_isr: Vec<BrokerId>,
    },
    AlterPartitionResponse {
        partition: PartitionId,
        result: Result<PartitionState, ErrorCode>,
    },
    /// The controller pushes every new metadata image to registered brokers.
    MetadataUpdate {
        metadata: MetadataImage,
    },

    // ---- clients ↔ brokers ----
    MetadataRequest {
        correlation: CorrelationId,
    },
    MetadataResponse {
        correlation: CorrelationId,
        metadata: MetadataImage,
    },
    ProduceRequest {
        correlation: CorrelationId,
        partition: PartitionId,
        acks: Acks,
        /// How long the leader may hold an acks=all request in purgatory.
        timeout_ms: u64,
        records: Vec<ProducerRecord>,
    },
    ProduceResponse {
        correlation: CorrelationId,
        partition: PartitionId,
        /// The base offset of the appended batch.
        result: Result<Offset, ErrorCode>,
    },
    ListOffsetsRequest {
        correlation: CorrelationId,
        partition: PartitionId,
        spec: OffsetSpec,
    },
    ListOffsetsResponse {
        correlation: CorrelationId,
        partition: PartitionId,
        result: Result<Offset, ErrorCode>,
    },

    // ---- fetch: followers and consumers ----
    FetchRequest {
        correlation: CorrelationId,
        partition: PartitionId,
        /// `Some` for a follower's fetch, `None` for a consumer's.
        replica: Option<BrokerId>,
        /// The leader epoch the fetcher believes current (KIP-320); checked by the leader.
        current_leader_epoch: LeaderEpoch,
        fetch_offset: Offset,
        /// The epoch of the fetcher's last record, for divergence checks; `None` if its log
        /// is empty.
        last_fetched_epoch: Option<LeaderEpoch>,
        max_records: u32,
        /// How long the leader may hold the fetch waiting for new data.
        max_wait_ms: u64,
    },
    FetchResponse {
        correlation: CorrelationId,
        partition: PartitionId,
        result: Result<FetchData, ErrorCode>,
    },
    /// Asked by a follower before it fetches from a new leader (KIP-101, KIP-279).
    OffsetsForLeaderEpochRequest {
        correlation: CorrelationId,
        partition: PartitionId,
        /// `Some` for a follower, `None` for a consumer validating its position (KIP-320).
        replica: Option<BrokerId>,
        current_leader_epoch: LeaderEpoch,
        /// The epoch whose end offset the follower wants: its own latest epoch.
        leader_epoch: LeaderEpoch,
    },
    OffsetsForLeaderEpochResponse {
        correlation: CorrelationId,
        partition: PartitionId,
        result: Result<EpochEndOffset, ErrorCode>,
    },
}

impl Message {
    /// A short name for traces and per-link message counts.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::BrokerRegistration { .. } => "BrokerRegistration",
            Message::BrokerRegistrationResponse { .. } => "BrokerRegistrationResponse",
            Message::BrokerHeartbeat { .. } => "BrokerHeartbeat",
            Message::BrokerHeartbeatResponse { .. } => "BrokerHeartbeatResponse",
            Message::AlterPartition { .. } => "AlterPartition",
            Message::AlterPartitionResponse { .. } => "AlterPartitionResponse",
            Message::MetadataUpdate { .. } => "MetadataUpdate",
            Message::MetadataRequest { .. } => "Metadata",
            Message::MetadataResponse { .. } => "MetadataResponse",
            Message::ProduceRequest { .. } => "Produce",
            Message::ProduceResponse { .. } => "ProduceResponse",
            Message::ListOffsetsRequest { .. } => "ListOffsets",
            Message::ListOffsetsResponse { .. } => "ListOffsetsResponse",
            Message::FetchRequest { .. } => "Fetch",
            Message::FetchResponse { .. } => "FetchResponse",
            Message::OffsetsForLeaderEpochRequest { .. } => "OffsetsForLeaderEpoch",
            Message::OffsetsForLeaderEpochResponse { .. } => "OffsetsForLeaderEpochResponse",
        }
    }
}
