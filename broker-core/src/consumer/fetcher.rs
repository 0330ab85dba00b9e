//! The fetcher: per assigned partition, the position and the request that moves it. Kafka's
//! `Fetcher`/`AbstractFetch`, `OffsetFetcher` and the position state machine of
//! `SubscriptionState`.
//!
//! Each assigned partition is in one of three states:
//! - *awaiting reset*: no valid position; `ListOffsets` by `auto_offset_reset` gives one
//!   (event `PositionReset`);
//! - *awaiting validation*: the leader changed after records were consumed; KIP-320's
//!   `OffsetsForLeaderEpoch` for the epoch of the last consumed record says whether the new
//!   leader's log still has the position (else: truncation, reset to the leader's end offset
//!   for that epoch). With the `no-consumer-truncation-detection` switch (consumers before
//!   Kafka 2.3) a leader change skips this state and the partition goes on fetching;
//! - *fetching*: `Fetch` from the leader at the position; records go to the application
//!   (event `Polled`) and advance the position.
//!
//! Invariants:
//! - at most one request per partition is in flight, and it has the timer
//!   [`ConsumerTimer::RequestTimeout`], set when it is sent and cancelled when it leaves
//!   `in_flight` (answered, dropped at a leader change, or failed with its connection);
//! - a response is used only if it answers the partition's current request (a late one, or
//!   one for a request dropped at a leader change, is ignored);
//! - the position moves forward only by consuming records, and otherwise only through a
//!   `PositionReset` event, so the checkers see every jump.

use super::read_committed::{RecordFilter, Verdict};
use super::{Consumer, ConsumerRecord, ConsumerTimer};
use crate::actor::Effect;
use crate::config::AutoOffsetReset;
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{BrokerId, CorrelationId, LeaderEpoch, NodeId, Offset, ProducerId};
use crate::mark::Mark;
use crate::protocol::OffsetAndMetadata;
use crate::protocol::{
    FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse, Message, OffsetSpec,
    OffsetsForLeaderEpochRequest, OffsetsForLeaderEpochResponse,
};
use crate::topic::TopicPartition;
use std::collections::{BTreeMap, VecDeque};

/// Where a partition's position stands (Kafka's `SubscriptionState.FetchStates`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PositionState {
    /// No valid position: ask `ListOffsets` (Kafka's `AWAIT_RESET`). With
    /// `AutoOffsetReset::None` and no position at all, the partition waits here for good.
    AwaitingReset,
    /// The position must be checked against the new leader (Kafka's `AWAIT_VALIDATION`).
    AwaitingValidation,
    /// The position is valid: fetch (Kafka's `FETCHING`).
    Fetching,
    /// Newly assigned to a group member: the group's committed offset is being fetched
    /// (Kafka's `INITIALIZING`); no request of the fetcher's until it is known.
    AwaitingCommitted,
}

/// The kind of request a partition has in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RequestKind {
    ListOffsets,
    OffsetsForLeaderEpoch,
    Fetch,
}

/// A request waiting for its answer. Its deadline is the timer
/// [`ConsumerTimer::RequestTimeout`] of its correlation id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct InFlightRequest {
    pub(super) partition: TopicPartition,
    pub(super) broker: BrokerId,
    kind: RequestKind,
}

/// One assigned partition.
#[derive(Clone, Debug)]
pub(super) struct AssignedPartition {
    state: PositionState,
    /// The offset of the next record to consume.
    pub(super) position: Option<Offset>,
    /// The leader epoch of the last consumed record: KIP-320's `offsetEpoch`, sent as
    /// `last_fetched_epoch` and validated after a leader change.
    last_consumed_epoch: Option<LeaderEpoch>,
    /// The leader epoch the consumer last saw for the partition in metadata.
    known_leader_epoch: Option<LeaderEpoch>,
    in_flight: Option<CorrelationId>,
    /// No request before then (after a failure; 0 before any). While the partition wants a
    /// request from a known leader, the timer [`ConsumerTimer::RetryBackoff`] mirrors it.
    pub(super) backoff_until_ms: u64,
    /// Subscribe mode: records fetched and not yet returned by a poll. The partition is not
    /// fetched again until they are (Kafka fetches only partitions without buffered data).
    buffered: VecDeque<ConsumerRecord>,
    /// Subscribe mode, while records are buffered: the position after the last record a
    /// poll returned (`position` is already past the buffer).
    consumed_before_buffer: Option<OffsetAndMetadata>,
    /// The follower the leader sent this partition's fetches to (KIP-392), until an error
    /// clears it or its lease ends.
    preferred_read_replica: Option<PreferredReadReplica>,
}

/// Kafka's `TopicPartitionState.preferredReadReplica` and its expiry: the lease is
/// `metadata.max.age.ms` from when the leader named the replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PreferredReadReplica {
    pub(super) broker: BrokerId,
    expires_at_ms: u64,
}

impl AssignedPartition {
    /// A partition without a position, before any metadata.
    pub(super) fn new() -> AssignedPartition {
        AssignedPartition {
            state: PositionState::AwaitingReset,
            position: None,
            last_consumed_epoch: None,
            known_leader_epoch: None,
            in_flight: None,
            backoff_until_ms: 0,
            buffered: VecDeque::new(),
            consumed_before_buffer: None,
            preferred_read_replica: None,
        }
    }

    /// A partition newly assigned to a group member, waiting for its committed offset.
    pub(super) fn awaiting_committed() -> AssignedPartition {
        AssignedPartition {
            state: PositionState::AwaitingCommitted,
            ..AssignedPartition::new()
        }
    }

    /// The group's committed offset arrived: fetch from it, or (none committed) reset by
    /// `auto_offset_reset`.
    pub(super) fn position_from_committed(&mut self, committed: Option<OffsetAndMetadata>) {
        if self.state != PositionState::AwaitingCommitted {
            return;
        }
        match committed {
            Some(committed) => {
                self.position = Some(committed.offset);
                self.last_consumed_epoch = committed.leader_epoch;
                self.state = PositionState::Fetching;
            }
            None => self.state = PositionState::AwaitingReset,
        }
    }

    /// The application's position: after the last record a poll returned (Kafka's
    /// `SubscriptionState.position`, which `allConsumed` commits).
    pub(super) fn consumed(&self) -> Option<OffsetAndMetadata> {
        if self.buffered.is_empty() {
            return self.position.map(|offset| OffsetAndMetadata {
                offset,
                leader_epoch: self.last_consumed_epoch,
            });
        }
        self.consumed_before_buffer
    }

    /// Takes up to `limit` buffered records and moves the consumed position past them.
    pub(super) fn take_buffered(&mut self, limit: usize) -> Vec<ConsumerRecord> {
        let count = limit.min(self.buffered.len());
        let taken: Vec<ConsumerRecord> = self.buffered.drain(..count).collect();
        self.consumed_before_buffer = match (self.buffered.is_empty(), taken.last()) {
            (false, Some(last)) => Some(OffsetAndMetadata {
                offset: last.offset.next(),
                leader_epoch: Some(last.leader_epoch),
            }),
            (false, None) => self.consumed_before_buffer,
            (true, _) => None,
        };
        taken
    }

    pub(super) fn has_buffered(&self) -> bool {
        !self.buffered.is_empty()
    }

    pub(super) fn in_flight_request(&self) -> Option<CorrelationId> {
        self.in_flight
    }

    /// The preferred read replica while its lease lasts (Kafka's
    /// `TopicPartitionState.preferredReadReplica(timeMs)`, which forgets an expired one).
    pub(super) fn preferred_read_replica(&mut self, now_ms: u64) -> Option<BrokerId> {
        let preferred = self.preferred_read_replica?;
        if now_ms > preferred.expires_at_ms {
            self.preferred_read_replica = None;
            return None;
        }
        Some(preferred.broker)
    }

    /// Forgets the preferred read replica; whether there was one (Kafka's
    /// `clearPreferredReadReplica`).
    pub(super) fn clear_preferred_read_replica(&mut self) -> bool {
        self.preferred_read_replica.take().is_some()
    }
}

impl Consumer {
    fn request_timeout_ms(&self) -> u64 {
        self.config.request_timeout_ms.max(1)
    }

    /// Whether the partition has a request to make once backoff and leader allow.
    pub(super) fn wants_request(&self, assigned: &AssignedPartition) -> bool {
        if assigned.in_flight.is_some() || assigned.has_buffered() {
            return false;
        }
        match assigned.state {
            PositionState::AwaitingReset => self.config.auto_offset_reset != AutoOffsetReset::None,
            PositionState::AwaitingValidation => true,
            PositionState::Fetching => assigned.position.is_some(),
            PositionState::AwaitingCommitted => false,
        }
    }

    /// The partition's request failed: wait `retry_backoff_ms` and refresh metadata.
    pub(super) fn back_off(&mut self, now_ms: u64, partition: TopicPartition) {
        if let Some(assigned) = self.partitions.get_mut(&partition) {
            assigned.in_flight = None;
            assigned.backoff_until_ms = now_ms.saturating_add(self.config.retry_backoff_ms);
        }
        self.metadata.request_update(now_ms, &mut self.timers);
    }

    /// Sends the request each partition needs once its [`ConsumerTimer::RetryBackoff`] is
    /// due (set only while it wants a request and its leader is known).
    pub(super) fn send_requests(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        let partitions: Vec<TopicPartition> = self.partitions.keys().copied().collect();
        for partition in partitions {
            self.sync_backoff_timer(partition);
            if !self
                .timers
                .is_due(ConsumerTimer::RetryBackoff(partition), now_ms)
            {
                continue;
            }
            let Some((leader, leader_epoch)) = self.metadata.leader(partition) else {
                continue;
            };
            let Some(assigned) = self.partitions.get(&partition) else {
                continue;
            };
            let correlation = CorrelationId(self.next_correlation);
            let (kind, message) =
                self.request_message(partition, correlation, leader_epoch, assigned);
            let target = match kind {
                RequestKind::Fetch => self.select_read_replica(now_ms, partition, leader),
                RequestKind::ListOffsets | RequestKind::OffsetsForLeaderEpoch => leader,
            };
            self.next_correlation += 1;
            self.timers.set(
                ConsumerTimer::RequestTimeout(correlation),
                now_ms.saturating_add(self.request_timeout_ms()),
            );
            self.in_flight.insert(
                correlation,
                InFlightRequest {
                    partition,
                    broker: target,
                    kind,
                },
            );
            if let Some(assigned) = self.partitions.get_mut(&partition) {
                assigned.in_flight = Some(correlation);
                if kind == RequestKind::Fetch {
                    assigned.state = PositionState::Fetching;
                }
            }
            self.sync_backoff_timer(partition);
            effects.push(Effect::Send {
                to: NodeId::Broker(target),
                message,
            });
        }
    }

    /// Where a fetch goes (Kafka's `AbstractFetch.selectReadReplica`): the preferred read
    /// replica while its lease lasts and the metadata lists it as live, else the leader. A
    /// preferred replica missing from the metadata is forgotten and the metadata refreshed.
    fn select_read_replica(
        &mut self,
        now_ms: u64,
        partition: TopicPartition,
        leader: BrokerId,
    ) -> BrokerId {
        let Some(assigned) = self.partitions.get_mut(&partition) else {
            return leader;
        };
        let Some(preferred) = assigned.preferred_read_replica(now_ms) else {
            return leader;
        };
        if self.metadata.live_brokers().contains(&preferred) {
            return preferred;
        }
        assigned.clear_preferred_read_replica();
        self.metadata.request_update(now_ms, &mut self.timers);
        leader
    }

    /// The request `partition` needs in its state.
    fn request_message(
        &self,
        partition: TopicPartition,
        correlation: CorrelationId,
        current_leader_epoch: LeaderEpoch,
        assigned: &AssignedPartition,
    ) -> (RequestKind, Message) {
        match assigned.state {
            PositionState::AwaitingReset => {
                let spec = match self.config.auto_offset_reset {
                    AutoOffsetReset::Latest => OffsetSpec::Latest,
                    AutoOffsetReset::Earliest | AutoOffsetReset::None => OffsetSpec::Earliest,
                };
                let message = Message::ListOffsets(ListOffsetsRequest {
                    correlation,
                    partition,
                    spec,
                    isolation_level: self.config.isolation_level,
                    replica: None,
                });
                (RequestKind::ListOffsets, message)
            }
            PositionState::AwaitingValidation => match assigned.last_consumed_epoch {
                Some(last_consumed_epoch) => {
                    let message = Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
                        correlation,
                        partition,
                        replica: None,
                        current_leader_epoch,
                        leader_epoch: last_consumed_epoch,
                    });
                    (RequestKind::OffsetsForLeaderEpoch, message)
                }
                // Nothing consumed, nothing to validate (Kafka skips validation when the
                // position has no epoch).
                None => self.fetch_message(partition, correlation, current_leader_epoch, assigned),
            },
            // Never asked while awaiting the committed offset (`wants_request` is false).
            PositionState::Fetching | PositionState::AwaitingCommitted => {
                self.fetch_message(partition, correlation, current_leader_epoch, assigned)
            }
        }
    }

    fn fetch_message(
        &self,
        partition: TopicPartition,
        correlation: CorrelationId,
        current_leader_epoch: LeaderEpoch,
        assigned: &AssignedPartition,
    ) -> (RequestKind, Message) {
        let message = Message::Fetch(FetchRequest {
            correlation,
            partition,
            replica: None,
            replica_epoch: None,
            current_leader_epoch,
            fetch_offset: assigned.position.unwrap_or_default(),
            last_fetched_epoch: assigned.last_consumed_epoch,
            max_records: self.config.max_poll_records,
            max_wait_ms: self.config.fetch_max_wait_ms,
            isolation_level: self.config.isolation_level,
            log_start_offset: None,
            rack_id: self.config.client_rack.clone(),
        });
        (RequestKind::Fetch, message)
    }

    /// Applies a new metadata image: a newer leader epoch for a partition drops its request
    /// to the old leader, and, if records were consumed, makes it validate its position
    /// (Kafka's `SubscriptionState.maybeValidatePositionForCurrentLeader`) — unless the
    /// `no-consumer-truncation-detection` switch restores the consumer before KIP-320's
    /// validation (Kafka before 2.3), which fetches on from its position.
    pub(super) fn on_metadata_applied(&mut self, effects: &mut Vec<Effect>) {
        let partitions: Vec<TopicPartition> = self.partitions.keys().copied().collect();
        for partition in partitions {
            let Some(image_epoch) = self
                .metadata
                .partition(partition)
                .map(|state| state.leader_epoch)
            else {
                continue;
            };
            let Some(assigned) = self.partitions.get_mut(&partition) else {
                continue;
            };
            match assigned.known_leader_epoch {
                None => assigned.known_leader_epoch = Some(image_epoch),
                Some(known_epoch) if image_epoch > known_epoch => {
                    assigned.known_leader_epoch = Some(image_epoch);
                    effects.push(Effect::Mark(Mark::ConsumerLeaderChanged));
                    if let Some(correlation) = assigned.in_flight.take() {
                        self.in_flight.remove(&correlation);
                        self.timers
                            .cancel(ConsumerTimer::RequestTimeout(correlation));
                    }
                    if assigned.state == PositionState::Fetching
                        && assigned.last_consumed_epoch.is_some()
                    {
                        if self.validate_position_after_leader_change {
                            assigned.state = PositionState::AwaitingValidation;
                        } else {
                            // Consumers before Kafka 2.3 (KAFKA-7747) kept their position
                            // across a leader change and fetched from it at once: a position
                            // past the new leader's log end is OFFSET_OUT_OF_RANGE (reset by
                            // auto_offset_reset), and one the new leader's log has grown past
                            // again is fetched as if nothing had happened, so the records the
                            // new leader wrote below it are never read (KIP-320, Motivation).
                            effects.push(Effect::Mark(Mark::ConsumerTruncationDetectionSkipped));
                        }
                    }
                }
                Some(_) => {}
            }
        }
    }

    /// Whether the answer `correlation` from `from` is `partition`'s current request of
    /// `kind`; if it is a request in flight to `from` at all, it leaves `in_flight`.
    fn take_request(
        &mut self,
        from: NodeId,
        correlation: CorrelationId,
        partition: TopicPartition,
        kind: RequestKind,
    ) -> bool {
        let matches = self.in_flight.get(&correlation).is_some_and(|request| {
            NodeId::Broker(request.broker) == from
                && request.partition == partition
                && request.kind == kind
        });
        if !matches {
            return false;
        }
        self.end_request(correlation);
        match self.partitions.get_mut(&partition) {
            Some(assigned) if assigned.in_flight == Some(correlation) => {
                assigned.in_flight = None;
                true
            }
            _ => false,
        }
    }

    pub(super) fn on_list_offsets_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        response: &ListOffsetsResponse,
        effects: &mut Vec<Effect>,
    ) {
        let partition = response.partition;
        if !self.take_request(
            from,
            response.correlation,
            partition,
            RequestKind::ListOffsets,
        ) {
            return;
        }
        let offset = match response.result {
            Ok(offset) => offset,
            Err(_) => return self.back_off(now_ms, partition),
        };
        let Some(assigned) = self.partitions.get_mut(&partition) else {
            return;
        };
        if assigned.state != PositionState::AwaitingReset {
            return;
        }
        let from = assigned.position;
        assigned.position = Some(offset);
        assigned.last_consumed_epoch = None;
        assigned.state = PositionState::Fetching;
        effects.push(Effect::Event(Event::PositionReset {
            partition,
            from,
            to: offset,
        }));
    }

    pub(super) fn on_fetch_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        response: &FetchResponse,
        effects: &mut Vec<Effect>,
    ) {
        let partition = response.partition;
        if !self.take_request(from, response.correlation, partition, RequestKind::Fetch) {
            return;
        }
        let data = match &response.result {
            Ok(data) => data,
            Err(error) => {
                // A fetch error sends the next fetch to the leader (Kafka's
                // `FetchCollector.handleInitializeErrors`: OFFSET_OUT_OF_RANGE clears the
                // preferred read replica, the others through `requestMetadataUpdate`), except
                // UNKNOWN_LEADER_EPOCH: the replica has not yet heard of the epoch this
                // consumer's metadata names, and Kafka only fetches again.
                let cleared = *error != ErrorCode::UnknownLeaderEpoch
                    && self
                        .partitions
                        .get_mut(&partition)
                        .is_some_and(AssignedPartition::clear_preferred_read_replica);
                if cleared {
                    effects.push(Effect::Mark(Mark::PreferredReadReplicaCleared));
                }
                return match error {
                    // Out of range on a follower is not out of range on the leader: ask the
                    // leader before resetting anything.
                    ErrorCode::OffsetOutOfRange if cleared => {}
                    ErrorCode::OffsetOutOfRange => {
                        self.on_offset_out_of_range(now_ms, partition, effects)
                    }
                    // Epoch errors, NotLeaderOrFollower and anything else: our metadata is
                    // stale or the leader is in transition.
                    _ => self.back_off(now_ms, partition),
                };
            }
        };
        let Some(assigned) = self.partitions.get_mut(&partition) else {
            return;
        };
        if let Some(broker) = data.preferred_read_replica {
            // Kafka's `SubscriptionState.updatePreferredReadReplica`: a new replica starts a
            // new lease; the same one keeps its lease.
            if assigned
                .preferred_read_replica
                .map(|preferred| preferred.broker)
                != Some(broker)
            {
                assigned.preferred_read_replica = Some(PreferredReadReplica {
                    broker,
                    expires_at_ms: now_ms.saturating_add(self.config.metadata_max_age_ms),
                });
            }
        }
        let Some(mut position) = assigned.position else {
            return;
        };
        let subscribed = self.group.is_some();
        if subscribed && assigned.buffered.is_empty() {
            assigned.consumed_before_buffer = Some(OffsetAndMetadata {
                offset: position,
                leader_epoch: assigned.last_consumed_epoch,
            });
        }
        let mut polled = Vec::new();
        // Records below the position were already consumed (Kafka drops them too); checking
        // against the moving position also keeps the position strictly increasing.
        // The filter sees every record in order, those below the position too, so an ABORT
        // marker there still ends its producer's aborted transaction.
        let mut filter = RecordFilter::new(self.config.isolation_level, &data.aborted_transactions);
        let mut skipped: BTreeMap<ProducerId, (Offset, u64)> = BTreeMap::new();
        for record in &data.records {
            let verdict = filter.verdict(record);
            if record.offset < position {
                continue;
            }
            position = record.offset.next();
            assigned.last_consumed_epoch = Some(record.leader_epoch);
            // A control record (a transaction marker) and, with read_committed, a record of
            // an aborted transaction move the position but are never handed to the
            // application, as in Kafka's consumer.
            match verdict {
                Verdict::Hand => {}
                Verdict::Control => continue,
                Verdict::Aborted(producer) => {
                    skipped.entry(producer).or_insert((record.offset, 0)).1 += 1;
                    continue;
                }
            }
            if subscribed {
                assigned.buffered.push_back(ConsumerRecord {
                    partition,
                    offset: record.offset,
                    leader_epoch: record.leader_epoch,
                    key: record.application_key(),
                    value: record.value_id(),
                });
            } else {
                polled.push((record.offset, record.value_id()));
            }
        }
        assigned.position = Some(position);
        for (producer, (first_offset, count)) in skipped {
            effects.push(Effect::Event(Event::AbortedRecordsSkipped {
                partition,
                producer,
                first_offset,
                count,
            }));
            effects.push(Effect::Mark(Mark::AbortedRecordsSkipped));
        }
        // Subscribe mode hands records out at poll (`Event::Polled` then); assign mode as
        // they arrive.
        if !polled.is_empty() {
            effects.push(Effect::Event(Event::Polled {
                partition,
                records: polled,
            }));
        }
    }

    /// `OffsetOutOfRange`: the position is outside the leader's log. Reset by
    /// `auto_offset_reset`; Kafka's `none` throws to the application, which here means the
    /// position stays and the fetch is retried after the backoff.
    fn on_offset_out_of_range(
        &mut self,
        now_ms: u64,
        partition: TopicPartition,
        effects: &mut Vec<Effect>,
    ) {
        if self.config.auto_offset_reset == AutoOffsetReset::None {
            return self.back_off(now_ms, partition);
        }
        if let Some(assigned) = self.partitions.get_mut(&partition) {
            assigned.state = PositionState::AwaitingReset;
            effects.push(Effect::Mark(Mark::ConsumerOffsetReset));
        }
    }

    /// KIP-320 validation (Kafka's `SubscriptionState.maybeCompleteValidation`): when the
    /// leader's end offset for the epoch of the last consumed record is below the position,
    /// the records from there on were truncated away; continue from that end offset.
    pub(super) fn on_offsets_for_leader_epoch_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        response: &OffsetsForLeaderEpochResponse,
        effects: &mut Vec<Effect>,
    ) {
        let partition = response.partition;
        let kind = RequestKind::OffsetsForLeaderEpoch;
        if !self.take_request(from, response.correlation, partition, kind) {
            return;
        }
        let epoch_end_offset = match response.result {
            Ok(epoch_end_offset) => epoch_end_offset,
            Err(_) => return self.back_off(now_ms, partition),
        };
        let Some(assigned) = self.partitions.get_mut(&partition) else {
            return;
        };
        if assigned.state != PositionState::AwaitingValidation {
            return;
        }
        assigned.state = PositionState::Fetching;
        let Some(position) = assigned.position else {
            return;
        };
        if epoch_end_offset.end_offset < position {
            assigned.position = Some(epoch_end_offset.end_offset);
            assigned.last_consumed_epoch = Some(epoch_end_offset.leader_epoch);
            effects.push(Effect::Mark(Mark::ConsumerTruncationDetected));
            effects.push(Effect::Event(Event::PositionReset {
                partition,
                from: Some(position),
                to: epoch_end_offset.end_offset,
            }));
        }
    }
}
