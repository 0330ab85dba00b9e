//! KRaft's broker lifecycle: a broker registers with the controller on every process start
//! and then heartbeats; a broker silent for `broker_session_timeout_ms` is fenced
//! (Kafka's `BrokerRegistrationRequest` and `BrokerHeartbeatRequest`).

use crate::error::ErrorCode;
use crate::ids::{BrokerEpoch, BrokerId};
use crate::metadata::MetadataImage;
use serde::{Deserialize, Serialize};

/// A broker (re)starting asks to join; the controller answers with a new broker epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistrationRequest {
    pub broker: BrokerId,
    /// Increases on every restart of the broker process, so the controller can tell a
    /// restart from a duplicate registration.
    pub incarnation: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistrationResponse {
    pub broker_epoch: BrokerEpoch,
    pub metadata: MetadataImage,
}

/// Sent every `broker_heartbeat_interval_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerHeartbeatRequest {
    pub broker: BrokerId,
    pub broker_epoch: BrokerEpoch,
    /// The newest metadata version the broker has applied.
    pub metadata_version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerHeartbeatResponse {
    /// `Err(StaleBrokerEpoch)` tells the broker to register again.
    pub result: Result<(), ErrorCode>,
    /// A newer image, when the broker is behind.
    pub metadata: Option<MetadataImage>,
}
