//! A client's view of cluster metadata, shared by the producer and the consumer: the newest
//! [`MetadataImage`] it has applied, and the one `MetadataRequest` it may have outstanding.
//! Kafka's `Metadata` + `NetworkClient.DefaultMetadataUpdater`, reduced to what the simulated
//! clients need.
//!
//! Invariants:
//! - at most one `MetadataRequest` is outstanding, and it has a deadline
//!   (`request_timeout_ms` after it was sent);
//! - an image older than the applied one (smaller `version`) is never applied, so a client
//!   never moves back to a leader it already saw replaced (Kafka checks leader epochs for the
//!   same reason, KIP-320);
//! - two requests are at least `retry_backoff_ms` apart unless a timeout forced the second
//!   (Kafka's `metadata.refresh.backoff`), so a partition without a leader never makes the
//!   client spin.
//!
//! Where to ask: the bootstrap brokers, in order, moving to the next one when a request times
//! out or returns an image older than the one applied (a broker cut off from the controller
//! keeps answering with a stale image; staying on it would trap the client).

use crate::actor::Effect;
use crate::ids::{BrokerId, CorrelationId, LeaderEpoch, NodeId, PartitionId};
use crate::metadata::{MetadataImage, PartitionState};
use crate::protocol::Message;
use crate::protocol::MetadataRequest;

/// The outstanding metadata request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PendingMetadataRequest {
    correlation: CorrelationId,
    broker: BrokerId,
    deadline_ms: u64,
}

/// What applying a `MetadataResponse` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataApplied {
    /// The response did not answer the outstanding request (late, or from another broker).
    Ignored,
    /// The image was older than the applied one; the client will ask another broker.
    Stale,
    /// The image was applied. `refreshed` is false for the first image the client ever saw.
    Applied { refreshed: bool },
}

/// The newest metadata a client has, and its metadata request schedule.
#[derive(Clone, Debug)]
pub struct ClientMetadata {
    bootstrap_brokers: Vec<BrokerId>,
    /// Index into `bootstrap_brokers` of the broker the next request goes to.
    next_bootstrap_index: usize,
    image: Option<MetadataImage>,
    pending: Option<PendingMetadataRequest>,
    /// When the next request should be sent (if none is pending). `None` only when there is
    /// no bootstrap broker at all.
    next_request_ms: Option<u64>,
    /// When the last request was sent, for the refresh backoff.
    last_request_ms: Option<u64>,
    request_timeout_ms: u64,
    retry_backoff_ms: u64,
    metadata_max_age_ms: u64,
}

impl ClientMetadata {
    /// A client that knows nothing yet and wants metadata at once.
    pub fn new(
        bootstrap_brokers: Vec<BrokerId>,
        request_timeout_ms: u64,
        retry_backoff_ms: u64,
        metadata_max_age_ms: u64,
    ) -> ClientMetadata {
        let next_request_ms = if bootstrap_brokers.is_empty() {
            None
        } else {
            Some(0)
        };
        ClientMetadata {
            bootstrap_brokers,
            next_bootstrap_index: 0,
            image: None,
            pending: None,
            next_request_ms,
            last_request_ms: None,
            // A zero timeout or age would make the client re-ask at the same instant forever.
            request_timeout_ms: request_timeout_ms.max(1),
            retry_backoff_ms,
            metadata_max_age_ms: metadata_max_age_ms.max(1),
        }
    }

    /// The applied image's state for `partition`.
    pub fn partition(&self, partition: PartitionId) -> Option<&PartitionState> {
        self.image
            .as_ref()
            .and_then(|image| image.partition(partition))
    }

    /// The leader of `partition` and its epoch, when the applied image names one.
    pub fn leader(&self, partition: PartitionId) -> Option<(BrokerId, LeaderEpoch)> {
        let state = self.partition(partition)?;
        state.leader.map(|leader| (leader, state.leader_epoch))
    }

    /// Whether an image has been applied yet.
    pub fn has_image(&self) -> bool {
        self.image.is_some()
    }

    /// Asks for a refresh as soon as the refresh backoff allows (after an error, or when a
    /// partition has no known leader). Kafka's `Metadata.requestUpdate`.
    pub fn request_update(&mut self, now_ms: u64) {
        if self.bootstrap_brokers.is_empty() {
            return;
        }
        let earliest_ms = match self.last_request_ms {
            Some(last_ms) => now_ms.max(last_ms.saturating_add(self.retry_backoff_ms)),
            None => now_ms,
        };
        self.next_request_ms = Some(match self.next_request_ms {
            Some(scheduled_ms) => scheduled_ms.min(earliest_ms),
            None => earliest_ms,
        });
    }

    /// Sends a `MetadataRequest` when one is due and none is outstanding. `next_correlation`
    /// is the client's correlation counter; it is advanced only when a request is sent.
    pub fn maybe_send_request(
        &mut self,
        now_ms: u64,
        next_correlation: &mut u64,
    ) -> Option<Effect> {
        if self.pending.is_some() {
            return None;
        }
        let due_ms = self.next_request_ms?;
        if due_ms > now_ms {
            return None;
        }
        let broker = *self.bootstrap_brokers.get(self.next_bootstrap_index)?;
        let correlation = CorrelationId(*next_correlation);
        *next_correlation += 1;
        self.pending = Some(PendingMetadataRequest {
            correlation,
            broker,
            deadline_ms: now_ms.saturating_add(self.request_timeout_ms),
        });
        self.last_request_ms = Some(now_ms);
        self.next_request_ms = None;
        Some(Effect::Send {
            to: NodeId::Broker(broker),
            message: Message::Metadata(MetadataRequest { correlation }),
        })
    }

    /// Applies a `MetadataResponse` if it answers the outstanding request.
    pub fn on_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation: CorrelationId,
        metadata: MetadataImage,
    ) -> MetadataApplied {
        let Some(pending) = self.pending else {
            return MetadataApplied::Ignored;
        };
        if pending.correlation != correlation || from != NodeId::Broker(pending.broker) {
            return MetadataApplied::Ignored;
        }
        self.pending = None;
        let current_version = self.image.as_ref().map(|image| image.version);
        if current_version.is_some_and(|version| metadata.version < version) {
            self.rotate_bootstrap();
            self.request_update(now_ms);
            return MetadataApplied::Stale;
        }
        let refreshed = self.image.is_some();
        self.image = Some(metadata);
        self.next_request_ms = Some(now_ms.saturating_add(self.metadata_max_age_ms));
        MetadataApplied::Applied { refreshed }
    }

    /// Handles the request deadline. Returns the broker whose connection is closed because
    /// the request to it timed out (the caller fails its other requests to that broker, as
    /// Kafka's `NetworkClient` does on a disconnect).
    pub fn on_tick(&mut self, now_ms: u64) -> Option<BrokerId> {
        let pending = self.pending?;
        if pending.deadline_ms > now_ms {
            return None;
        }
        self.pending = None;
        self.rotate_bootstrap();
        self.next_request_ms = Some(now_ms);
        Some(pending.broker)
    }

    /// The connection to `broker` was closed because another request on it timed out: an
    /// outstanding metadata request to it is lost too, and goes to the next broker at once.
    /// The next request also avoids that broker when it would have been the next one asked
    /// (Kafka's `leastLoadedNode` skips a node in reconnect backoff).
    pub fn on_connection_closed(&mut self, now_ms: u64, broker: BrokerId) {
        if self.pending.is_some_and(|pending| pending.broker == broker) {
            self.pending = None;
            self.rotate_bootstrap();
            self.next_request_ms = Some(now_ms);
        } else if self.bootstrap_brokers.get(self.next_bootstrap_index) == Some(&broker) {
            self.rotate_bootstrap();
        }
    }

    /// The next time this tracker needs a tick: the outstanding request's deadline, else the
    /// scheduled request.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        match self.pending {
            Some(pending) => Some(pending.deadline_ms),
            None => self.next_request_ms,
        }
    }

    fn rotate_bootstrap(&mut self) {
        if !self.bootstrap_brokers.is_empty() {
            self.next_bootstrap_index =
                (self.next_bootstrap_index + 1) % self.bootstrap_brokers.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(version: u64) -> MetadataImage {
        MetadataImage {
            version,
            ..MetadataImage::default()
        }
    }

    #[test]
    fn metadata_request_rotates_to_next_bootstrap_broker_on_timeout() {
        let mut metadata = ClientMetadata::new(vec![BrokerId(1), BrokerId(2)], 100, 10, 1_000);
        let mut correlation = 1;
        assert_eq!(
            metadata.maybe_send_request(0, &mut correlation),
            Some(Effect::Send {
                to: NodeId::Broker(BrokerId(1)),
                message: Message::Metadata(MetadataRequest {
                    correlation: CorrelationId(1)
                }),
            })
        );
        assert_eq!(metadata.next_deadline_ms(), Some(100));
        assert_eq!(metadata.on_tick(99), None);
        assert_eq!(metadata.on_tick(100), Some(BrokerId(1)));
        assert_eq!(
            metadata.maybe_send_request(100, &mut correlation),
            Some(Effect::Send {
                to: NodeId::Broker(BrokerId(2)),
                message: Message::Metadata(MetadataRequest {
                    correlation: CorrelationId(2)
                }),
            })
        );
    }

    #[test]
    fn stale_image_is_not_applied_and_next_broker_is_asked_after_backoff() {
        let mut metadata = ClientMetadata::new(vec![BrokerId(1), BrokerId(2)], 100, 10, 1_000);
        let mut correlation = 1;
        metadata.maybe_send_request(0, &mut correlation);
        let from = NodeId::Broker(BrokerId(1));
        assert_eq!(
            metadata.on_response(5, from, CorrelationId(1), image(7)),
            MetadataApplied::Applied { refreshed: false }
        );
        assert_eq!(metadata.next_deadline_ms(), Some(1_005));
        metadata.request_update(6);
        assert_eq!(metadata.next_deadline_ms(), Some(10));
        assert_eq!(metadata.maybe_send_request(6, &mut correlation), None);
        metadata.maybe_send_request(10, &mut correlation);
        assert_eq!(
            metadata.on_response(12, from, CorrelationId(2), image(6)),
            MetadataApplied::Stale
        );
        assert_eq!(metadata.next_deadline_ms(), Some(20));
        assert_eq!(
            metadata.maybe_send_request(20, &mut correlation),
            Some(Effect::Send {
                to: NodeId::Broker(BrokerId(2)),
                message: Message::Metadata(MetadataRequest {
                    correlation: CorrelationId(3)
                }),
            })
        );
    }
}
