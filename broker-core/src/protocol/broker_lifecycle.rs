//! KRaft's broker lifecycle: a broker registers with the controller on every process start
//! and then heartbeats; a broker silent for `broker_session_timeout_ms` is fenced
//! (Kafka's `BrokerRegistrationRequest` and `BrokerHeartbeatRequest`). A registration starts
//! fenced; a heartbeat from a broker that has caught up with the metadata unfences it, and a
//! heartbeat asking to shut down starts a controlled shutdown (KIP-841).

use crate::error::ErrorCode;
use crate::ids::{BrokerEpoch, BrokerId};
use crate::metadata::MetadataImage;
use serde::{Deserialize, Serialize};

/// A broker (re)starting asks to join; the controller answers with a new broker epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistrationRequest {
    pub broker: BrokerId,
    /// Increases on every restart of the broker process, so the controller can tell a
    /// restart from a duplicate registration (Kafka's `incarnationId`).
    pub incarnation: u64,
    /// The broker epoch the previous incarnation wrote into its clean-shutdown marker, or
    /// `None` after an unclean shutdown (Kafka's `PreviousBrokerEpoch`, KIP-966). The
    /// controller treats the restart as clean only when it equals the stored registration's
    /// epoch.
    pub previous_broker_epoch: Option<BrokerEpoch>,
    /// The broker's `broker.rack` (Kafka's `BrokerRegistrationRequest.Rack`), which the
    /// controller puts in the metadata image for the rack-aware replica selector (KIP-392).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistrationResponse {
    /// The broker epoch of the registration, or `Err(DuplicateBrokerRegistration)` while a
    /// previous incarnation's session is still valid.
    pub result: Result<BrokerEpoch, ErrorCode>,
    /// The full image, when the registration was accepted.
    pub metadata: Option<MetadataImage>,
}

/// Sent every `broker_heartbeat_interval_ms` (and at once after a registration).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerHeartbeatRequest {
    pub broker: BrokerId,
    pub broker_epoch: BrokerEpoch,
    /// The newest metadata version the broker has applied (Kafka's `currentMetadataOffset`).
    pub metadata_version: u64,
    /// The broker is not ready to serve (Kafka's `wantFence`: log recovery or metadata
    /// catch-up not finished).
    pub want_fence: bool,
    /// The broker wants to stop: begin, or go on with, its controlled shutdown
    /// (`wantShutDown`, KIP-841).
    pub want_shut_down: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerHeartbeatResponse {
    /// `Err(StaleBrokerEpoch)` tells the broker to register again.
    pub result: Result<(), ErrorCode>,
    /// A newer image, when the broker is behind.
    pub metadata: Option<MetadataImage>,
    /// The broker is fenced after this heartbeat (`isFenced`).
    pub is_fenced: bool,
    /// The controlled shutdown may complete: the broker leads nothing any more
    /// (`shouldShutDown`).
    pub should_shut_down: bool,
}
