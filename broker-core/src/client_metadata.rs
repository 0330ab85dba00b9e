//! A client's view of cluster metadata, shared by the producer and the consumer: the newest
//! [`MetadataImage`] it has applied, and the one `MetadataRequest` it may have outstanding.
//! Kafka's `Metadata` + `NetworkClient.DefaultMetadataUpdater`, reduced to what the simulated
//! clients need.
//!
//! Invariants (asserted by [`ClientMetadata::check_timers`]):
//! - at most one `MetadataRequest` is outstanding, and it has a deadline: the timer
//!   [`MetadataTimer::RequestTimeout`], set `request_timeout_ms` after the request was sent and
//!   set exactly while the request is outstanding;
//! - the timer [`MetadataTimer::Refresh`] is set exactly while no request is outstanding and
//!   a next request is scheduled, at that time (a refresh asked for while a request is
//!   outstanding is remembered and waits for the request to end);
//! - an image older than the applied one (smaller `version`) is never applied, so a client
//!   never moves back to a leader it already saw replaced (Kafka checks leader epochs for the
//!   same reason, KIP-320);
//! - two requests are at least `retry_backoff_ms` apart unless a timeout forced the second
//!   (Kafka's `metadata.refresh.backoff`), so a partition without a leader never makes the
//!   client spin.
//!
//! The timers live in the client's own table (one [`TimerTable`] per actor, docs/STYLE.md,
//! rule 14); the client's timer enum wraps [`MetadataTimer`], and every method that can move
//! a deadline takes that table.
//!
//! Where to ask: the bootstrap brokers, in order, moving to the next one when a request times
//! out or returns an image older than the one applied (a broker cut off from the controller
//! keeps answering with a stale image; staying on it would trap the client).

use crate::actor::Effect;
use crate::ids::{BrokerId, CorrelationId, LeaderEpoch, NodeId};
use crate::metadata::{MetadataImage, PartitionState};
use crate::protocol::{Message, MetadataRequest, MetadataResponse};
use crate::timer::TimerTable;
use crate::topic::{TopicName, TopicPartition};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The metadata tracker's named deadlines, wrapped by each client's timer enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MetadataTimer {
    /// The outstanding `MetadataRequest` gets no answer by then: its connection is closed.
    RequestTimeout,
    /// The next `MetadataRequest` is due (first request, periodic refresh after
    /// `metadata_max_age_ms`, or a refresh asked for after an error, held back by the
    /// refresh backoff).
    Refresh,
}

impl fmt::Display for MetadataTimer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetadataTimer::RequestTimeout => formatter.write_str("metadata-request-timeout"),
            MetadataTimer::Refresh => formatter.write_str("metadata-refresh"),
        }
    }
}

/// The outstanding metadata request. Its deadline is the timer
/// [`MetadataTimer::RequestTimeout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PendingMetadataRequest {
    correlation: CorrelationId,
    broker: BrokerId,
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
    /// When the next request should be sent. `None` only when there is no bootstrap broker
    /// at all, or right after a request was sent. While a request is outstanding this is
    /// only remembered; otherwise the timer [`MetadataTimer::Refresh`] mirrors it (see
    /// [`ClientMetadata::sync_refresh_timer`]).
    next_request_ms: Option<u64>,
    /// When the last request was sent, for the refresh backoff.
    last_request_ms: Option<u64>,
    request_timeout_ms: u64,
    retry_backoff_ms: u64,
    metadata_max_age_ms: u64,
}

impl ClientMetadata {
    /// A client that knows nothing yet and wants metadata at once: sets
    /// [`MetadataTimer::Refresh`] to 0 in the client's `timers`.
    pub fn new<T: Ord + Copy + From<MetadataTimer>>(
        bootstrap_brokers: Vec<BrokerId>,
        request_timeout_ms: u64,
        retry_backoff_ms: u64,
        metadata_max_age_ms: u64,
        timers: &mut TimerTable<T>,
    ) -> ClientMetadata {
        let next_request_ms = if bootstrap_brokers.is_empty() {
            None
        } else {
            Some(0)
        };
        let metadata = ClientMetadata {
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
        };
        metadata.sync_refresh_timer(timers);
        metadata
    }

    /// The unfenced brokers of the applied image, in id order (empty before the first).
    pub fn live_brokers(&self) -> Vec<BrokerId> {
        self.image
            .as_ref()
            .map(|image| image.live_brokers.clone())
            .unwrap_or_default()
    }

    /// The brokers the client was started with.
    pub fn bootstrap_brokers(&self) -> &[BrokerId] {
        &self.bootstrap_brokers
    }

    /// The applied image's state for `partition`.
    pub fn partition(&self, partition: TopicPartition) -> Option<&PartitionState> {
        self.image
            .as_ref()
            .and_then(|image| image.partition(partition))
    }

    /// The leader of `partition` and its epoch, when the applied image names one.
    pub fn leader(&self, partition: TopicPartition) -> Option<(BrokerId, LeaderEpoch)> {
        let state = self.partition(partition)?;
        state.leader.map(|leader| (leader, state.leader_epoch))
    }

    /// How many partitions `topic` has in the applied image (0 when it names none): what a
    /// group leader's assignor divides. A group consumer asks on every input, and the image
    /// holds the 50 `__consumer_offsets` partitions too, so only the topic's range of the
    /// (topic, partition)-ordered map is counted.
    pub fn partition_count(&self, topic: TopicName) -> u32 {
        self.image.as_ref().map_or(0, |image| {
            let first = TopicPartition::new(topic, crate::ids::PartitionId(0));
            let last = TopicPartition::new(topic, crate::ids::PartitionId(u32::MAX));
            let count = image.partitions.range(first..=last).count();
            u32::try_from(count).unwrap_or(u32::MAX)
        })
    }

    /// Whether an image has been applied yet.
    pub fn has_image(&self) -> bool {
        self.image.is_some()
    }

    /// Asks for a refresh as soon as the refresh backoff allows (after an error, or when a
    /// partition has no known leader). Kafka's `Metadata.requestUpdate`.
    pub fn request_update<T: Ord + Copy + From<MetadataTimer>>(
        &mut self,
        now_ms: u64,
        timers: &mut TimerTable<T>,
    ) {
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
        self.sync_refresh_timer(timers);
    }

    /// Sends a `MetadataRequest` when [`MetadataTimer::Refresh`] is due (so none is
    /// outstanding). `next_correlation` is the client's correlation counter; it is advanced
    /// only when a request is sent. Sets [`MetadataTimer::RequestTimeout`].
    pub fn maybe_send_request<T: Ord + Copy + From<MetadataTimer>>(
        &mut self,
        now_ms: u64,
        next_correlation: &mut u64,
        timers: &mut TimerTable<T>,
    ) -> Option<Effect> {
        if self.pending.is_some() || !timers.is_due(MetadataTimer::Refresh.into(), now_ms) {
            return None;
        }
        let broker = *self.bootstrap_brokers.get(self.next_bootstrap_index)?;
        let correlation = CorrelationId(*next_correlation);
        *next_correlation += 1;
        self.pending = Some(PendingMetadataRequest {
            correlation,
            broker,
        });
        timers.set(
            MetadataTimer::RequestTimeout.into(),
            now_ms.saturating_add(self.request_timeout_ms),
        );
        self.last_request_ms = Some(now_ms);
        self.next_request_ms = None;
        self.sync_refresh_timer(timers);
        Some(Effect::Send {
            to: NodeId::Broker(broker),
            message: Message::Metadata(MetadataRequest { correlation }),
        })
    }

    /// Applies a `MetadataResponse` if it answers the outstanding request.
    pub fn on_response<T: Ord + Copy + From<MetadataTimer>>(
        &mut self,
        now_ms: u64,
        from: NodeId,
        response: &MetadataResponse,
        timers: &mut TimerTable<T>,
    ) -> MetadataApplied {
        let Some(pending) = self.pending else {
            return MetadataApplied::Ignored;
        };
        if pending.correlation != response.correlation || from != NodeId::Broker(pending.broker) {
            return MetadataApplied::Ignored;
        }
        self.end_request(timers);
        let current_version = self.image.as_ref().map(|image| image.version);
        if current_version.is_some_and(|version| response.metadata.version < version) {
            self.rotate_bootstrap();
            self.request_update(now_ms, timers);
            return MetadataApplied::Stale;
        }
        let refreshed = self.image.is_some();
        self.image = Some(response.metadata.clone());
        self.next_request_ms = Some(now_ms.saturating_add(self.metadata_max_age_ms));
        self.sync_refresh_timer(timers);
        MetadataApplied::Applied { refreshed }
    }

    /// Handles [`MetadataTimer::RequestTimeout`] if it is due. Returns the broker whose
    /// connection is closed because the request to it timed out (the caller fails its other
    /// requests to that broker, as Kafka's `NetworkClient` does on a disconnect).
    pub fn on_request_timeout<T: Ord + Copy + From<MetadataTimer>>(
        &mut self,
        now_ms: u64,
        timers: &mut TimerTable<T>,
    ) -> Option<BrokerId> {
        let pending = self.pending?;
        if !timers.is_due(MetadataTimer::RequestTimeout.into(), now_ms) {
            return None;
        }
        self.end_request(timers);
        self.rotate_bootstrap();
        self.next_request_ms = Some(now_ms);
        self.sync_refresh_timer(timers);
        Some(pending.broker)
    }

    /// The connection to `broker` was closed because another request on it timed out: an
    /// outstanding metadata request to it is lost too, and goes to the next broker at once.
    /// The next request also avoids that broker when it would have been the next one asked
    /// (Kafka's `leastLoadedNode` skips a node in reconnect backoff).
    pub fn on_connection_closed<T: Ord + Copy + From<MetadataTimer>>(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        timers: &mut TimerTable<T>,
    ) {
        if self.pending.is_some_and(|pending| pending.broker == broker) {
            self.end_request(timers);
            self.rotate_bootstrap();
            self.next_request_ms = Some(now_ms);
            self.sync_refresh_timer(timers);
        } else if self.bootstrap_brokers.get(self.next_bootstrap_index) == Some(&broker) {
            self.rotate_bootstrap();
        }
    }

    /// Asserts that the client's table holds exactly the timers the invariants above call
    /// for.
    pub fn check_timers<T: Ord + Copy + From<MetadataTimer>>(&self, timers: &TimerTable<T>) {
        let request_timeout = timers.deadline_ms(MetadataTimer::RequestTimeout.into());
        assert_eq!(
            request_timeout.is_some(),
            self.pending.is_some(),
            "metadata request timeout {request_timeout:?} disagrees with pending {:?}",
            self.pending
        );
        let refresh = timers.deadline_ms(MetadataTimer::Refresh.into());
        let expected = self.next_request_ms.filter(|_| self.pending.is_none());
        assert_eq!(
            refresh, expected,
            "metadata refresh timer disagrees with the schedule"
        );
    }

    /// The outstanding request ended (answered, timed out, or its connection closed).
    fn end_request<T: Ord + Copy + From<MetadataTimer>>(&mut self, timers: &mut TimerTable<T>) {
        self.pending = None;
        timers.cancel(MetadataTimer::RequestTimeout.into());
    }

    /// The one place that keeps [`MetadataTimer::Refresh`] in step with `next_request_ms`:
    /// it is set only while no request is outstanding (an outstanding request's timeout is
    /// the tracker's only deadline then), so it never wakes the client for nothing.
    fn sync_refresh_timer<T: Ord + Copy + From<MetadataTimer>>(&self, timers: &mut TimerTable<T>) {
        match self.next_request_ms.filter(|_| self.pending.is_none()) {
            Some(at_ms) => timers.set(MetadataTimer::Refresh.into(), at_ms),
            None => {
                timers.cancel(MetadataTimer::Refresh.into());
            }
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
#[path = "client_metadata_tests.rs"]
mod tests;
