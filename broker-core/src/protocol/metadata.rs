//! Metadata: clients ask a broker for the newest image it has; the controller pushes every
//! new image to registered brokers (KRaft brokers replay the metadata log; a pushed image is
//! the reduced form of that).

use crate::ids::CorrelationId;
use crate::metadata::MetadataImage;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataRequest {
    pub correlation: CorrelationId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataResponse {
    pub correlation: CorrelationId,
    pub metadata: MetadataImage,
}

/// The controller's push of a new metadata image to a broker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataUpdate {
    pub metadata: MetadataImage,
}
