//! The consumer in assign mode: a fixed list of partitions, no group, no commits. Kafka's
//! `KafkaConsumer` with `assign()`, its `Fetcher`/`AbstractFetch`, `OffsetFetcher` and the
//! position state machine of `SubscriptionState`, as a sans-IO state machine.
//!
//! Each assigned partition is in one of three states:
//! - *awaiting reset*: no valid position; `ListOffsets` by `auto_offset_reset` gives one
//!   (event `PositionReset`);
//! - *awaiting validation*: the leader changed after records were consumed; KIP-320's
//!   `OffsetsForLeaderEpoch` for the epoch of the last consumed record says whether the new
//!   leader's log still has the position (else: truncation, reset to the leader's end offset
//!   for that epoch);
//! - *fetching*: `Fetch` from the leader at the position; records go to the application
//!   (event `Polled`) and advance the position.
//!
//! Invariants:
//! - at most one request per partition is in flight, and each has a deadline
//!   (`request_timeout_ms`); a request that times out closes its connection, failing every
//!   other request to that broker (as Kafka's `NetworkClient` does);
//! - a response is used only if it answers the partition's current request (a late one, or
//!   one for a request dropped at a leader change, is ignored);
//! - the position moves forward only by consuming records, and otherwise only through a
//!   `PositionReset` event, so the checkers see every jump;
//! - after a failure a partition waits `retry_backoff_ms` before its next request, and
//!   metadata requests are `retry_backoff_ms` apart, so a consumer never spins.

use crate::actor::{Actor, Effect, Input, Timer};
use crate::client_metadata::{ClientMetadata, MetadataApplied};
use crate::config::{AutoOffsetReset, ConsumerConfig};
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{BrokerId, ClientId, CorrelationId, LeaderEpoch, NodeId, Offset, PartitionId};
use crate::protocol::{EpochEndOffset, FetchData, Message, OffsetSpec};
use crate::protocol::{
    FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse, MetadataResponse,
    OffsetsForLeaderEpochRequest, OffsetsForLeaderEpochResponse,
};
use std::collections::{BTreeMap, BTreeSet};

/// Coverage marks of the consumer.
pub mod marks {
    use crate::mark::Mark;
    /// A fetch answered `OffsetOutOfRange` and the position is reset by `auto_offset_reset`.
    pub const CONSUMER_OFFSET_RESET: Mark = Mark::ConsumerOffsetReset;
    /// KIP-320 validation found the new leader's log shorter than the position.
    pub const CONSUMER_TRUNCATION_DETECTED: Mark = Mark::ConsumerTruncationDetected;
    /// Metadata named a newer leader epoch for an assigned partition.
    pub const CONSUMER_LEADER_CHANGED: Mark = Mark::ConsumerLeaderChanged;
}

/// Where a partition's position stands (Kafka's `SubscriptionState.FetchStates`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PositionState {
    /// No valid position: ask `ListOffsets` (Kafka's `AWAIT_RESET`). With
    /// `AutoOffsetReset::None` and no position at all, the partition waits here for good.
    AwaitingReset,
    /// The position must be checked against the new leader (Kafka's `AWAIT_VALIDATION`).
    AwaitingValidation,
    /// The position is valid: fetch (Kafka's `FETCHING`).
    Fetching,
}

/// The kind of request a partition has in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RequestKind {
    ListOffsets,
    OffsetsForLeaderEpoch,
    Fetch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct InFlightRequest {
    partition: PartitionId,
    broker: BrokerId,
    kind: RequestKind,
    deadline_ms: u64,
}

/// One assigned partition.
#[derive(Clone, Debug)]
struct AssignedPartition {
    state: PositionState,
    /// The offset of the next record to consume.
    position: Option<Offset>,
    /// The leader epoch of the last consumed record: KIP-320's `offsetEpoch`, sent as
    /// `last_fetched_epoch` and validated after a leader change.
    last_consumed_epoch: Option<LeaderEpoch>,
    /// The leader epoch the consumer last saw for the partition in metadata.
    known_leader_epoch: Option<LeaderEpoch>,
    in_flight: Option<CorrelationId>,
    /// No request before then (after a failure).
    backoff_until_ms: u64,
}

/// The consumer actor, node `NodeId::Consumer(client)`.
#[derive(Clone, Debug)]
pub struct Consumer {
    client: ClientId,
    config: ConsumerConfig,
    metadata: ClientMetadata,
    partitions: BTreeMap<PartitionId, AssignedPartition>,
    in_flight: BTreeMap<CorrelationId, InFlightRequest>,
    next_correlation: u64,
}

impl Consumer {
    pub fn new(
        client: ClientId,
        config: ConsumerConfig,
        bootstrap_brokers: Vec<BrokerId>,
        partitions: Vec<PartitionId>,
    ) -> Consumer {
        let metadata = ClientMetadata::new(
            bootstrap_brokers,
            config.request_timeout_ms,
            config.retry_backoff_ms,
            config.metadata_max_age_ms,
        );
        let partitions = partitions
            .into_iter()
            .map(|partition| {
                let assigned = AssignedPartition {
                    state: PositionState::AwaitingReset,
                    position: None,
                    last_consumed_epoch: None,
                    known_leader_epoch: None,
                    in_flight: None,
                    backoff_until_ms: 0,
                };
                (partition, assigned)
            })
            .collect();
        Consumer {
            client,
            config,
            metadata,
            partitions,
            in_flight: BTreeMap::new(),
            next_correlation: 1,
        }
    }

    /// This consumer's node id.
    pub fn node(&self) -> NodeId {
        NodeId::Consumer(self.client)
    }

    /// The offset of the next record the consumer will return for `partition`, if it has one.
    pub fn position(&self, partition: PartitionId) -> Option<Offset> {
        self.partitions.get(&partition)?.position
    }

    fn request_timeout_ms(&self) -> u64 {
        self.config.request_timeout_ms.max(1)
    }

    /// Whether the partition has a request to make once backoff and leader allow.
    fn wants_request(&self, assigned: &AssignedPartition) -> bool {
        if assigned.in_flight.is_some() {
            return false;
        }
        match assigned.state {
            PositionState::AwaitingReset => self.config.auto_offset_reset != AutoOffsetReset::None,
            PositionState::AwaitingValidation => true,
            PositionState::Fetching => assigned.position.is_some(),
        }
    }

    fn poll(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        let timed_out: BTreeSet<BrokerId> = self
            .in_flight
            .values()
            .filter(|request| request.deadline_ms <= now_ms)
            .map(|request| request.broker)
            .collect();
        for broker in timed_out {
            self.metadata.on_connection_closed(now_ms, broker);
            self.close_connection(now_ms, broker);
        }
        if let Some(broker) = self.metadata.on_tick(now_ms) {
            self.close_connection(now_ms, broker);
        }
        let leaderless = self.partitions.iter().any(|(partition, assigned)| {
            self.wants_request(assigned) && self.metadata.leader(*partition).is_none()
        });
        if leaderless && self.metadata.has_image() {
            self.metadata.request_update(now_ms);
        }
        if let Some(effect) = self
            .metadata
            .maybe_send_request(now_ms, &mut self.next_correlation)
        {
            effects.push(effect);
        }
        self.send_requests(now_ms, effects);
    }

    /// Fails every request in flight to `broker` (its connection closed): each partition
    /// backs off and metadata is refreshed, as after any fetch error.
    fn close_connection(&mut self, now_ms: u64, broker: BrokerId) {
        let correlations: Vec<CorrelationId> = self
            .in_flight
            .iter()
            .filter(|(_, request)| request.broker == broker)
            .map(|(correlation, _)| *correlation)
            .collect();
        for correlation in correlations {
            if let Some(request) = self.in_flight.remove(&correlation) {
                self.back_off(now_ms, request.partition);
            }
        }
    }

    /// The partition's request failed: wait `retry_backoff_ms` and refresh metadata.
    fn back_off(&mut self, now_ms: u64, partition: PartitionId) {
        if let Some(assigned) = self.partitions.get_mut(&partition) {
            assigned.in_flight = None;
            assigned.backoff_until_ms = now_ms.saturating_add(self.config.retry_backoff_ms);
        }
        self.metadata.request_update(now_ms);
    }

    /// Sends the request each partition needs, if its leader is known and it is not backing
    /// off.
    fn send_requests(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        let partitions: Vec<PartitionId> = self.partitions.keys().copied().collect();
        for partition in partitions {
            let Some(assigned) = self.partitions.get(&partition) else {
                continue;
            };
            if !self.wants_request(assigned) || assigned.backoff_until_ms > now_ms {
                continue;
            }
            let Some((leader, leader_epoch)) = self.metadata.leader(partition) else {
                continue;
            };
            let correlation = CorrelationId(self.next_correlation);
            let (kind, message) = match assigned.state {
                PositionState::AwaitingReset => {
                    let spec = match self.config.auto_offset_reset {
                        AutoOffsetReset::Latest => OffsetSpec::Latest,
                        AutoOffsetReset::Earliest | AutoOffsetReset::None => OffsetSpec::Earliest,
                    };
                    let message = Message::ListOffsets(ListOffsetsRequest {
                        correlation,
                        partition,
                        spec,
                    });
                    (RequestKind::ListOffsets, message)
                }
                PositionState::AwaitingValidation => match assigned.last_consumed_epoch {
                    Some(last_consumed_epoch) => {
                        let message =
                            Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
                                correlation,
                                partition,
                                replica: None,
                                current_leader_epoch: leader_epoch,
                                leader_epoch: last_consumed_epoch,
                            });
                        (RequestKind::OffsetsForLeaderEpoch, message)
                    }
                    // Nothing consumed, nothing to validate (Kafka skips validation when the
                    // position has no epoch).
                    None => self.fetch_message(partition, correlation, leader_epoch, assigned),
                },
                PositionState::Fetching => {
                    self.fetch_message(partition, correlation, leader_epoch, assigned)
                }
            };
            self.next_correlation += 1;
            let deadline_ms = now_ms.saturating_add(self.request_timeout_ms());
            self.in_flight.insert(
                correlation,
                InFlightRequest {
                    partition,
                    broker: leader,
                    kind,
                    deadline_ms,
                },
            );
            if let Some(assigned) = self.partitions.get_mut(&partition) {
                assigned.in_flight = Some(correlation);
                if kind == RequestKind::Fetch {
                    assigned.state = PositionState::Fetching;
                }
            }
            effects.push(Effect::Send {
                to: NodeId::Broker(leader),
                message,
            });
        }
    }

    fn fetch_message(
        &self,
        partition: PartitionId,
        correlation: CorrelationId,
        current_leader_epoch: LeaderEpoch,
        assigned: &AssignedPartition,
    ) -> (RequestKind, Message) {
        let message = Message::Fetch(FetchRequest {
            correlation,
            partition,
            replica: None,
            current_leader_epoch,
            fetch_offset: assigned.position.unwrap_or_default(),
            last_fetched_epoch: assigned.last_consumed_epoch,
            max_records: self.config.max_poll_records,
            max_wait_ms: self.config.fetch_max_wait_ms,
        });
        (RequestKind::Fetch, message)
    }

    /// Applies a new metadata image: a newer leader epoch for a partition drops its request
    /// to the old leader, and, if records were consumed, makes it validate its position
    /// (Kafka's `SubscriptionState.maybeValidatePositionForCurrentLeader`).
    fn on_metadata_applied(&mut self, effects: &mut Vec<Effect>) {
        let partitions: Vec<PartitionId> = self.partitions.keys().copied().collect();
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
                    effects.push(Effect::Mark(marks::CONSUMER_LEADER_CHANGED));
                    if let Some(correlation) = assigned.in_flight.take() {
                        self.in_flight.remove(&correlation);
                    }
                    if assigned.state == PositionState::Fetching
                        && assigned.last_consumed_epoch.is_some()
                    {
                        assigned.state = PositionState::AwaitingValidation;
                    }
                }
                Some(_) => {}
            }
        }
    }

    /// The in-flight request `correlation` if it is `partition`'s current request of `kind`
    /// and `from` is the broker it went to; removes it.
    fn take_request(
        &mut self,
        from: NodeId,
        correlation: CorrelationId,
        partition: PartitionId,
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
        self.in_flight.remove(&correlation);
        match self.partitions.get_mut(&partition) {
            Some(assigned) if assigned.in_flight == Some(correlation) => {
                assigned.in_flight = None;
                true
            }
            _ => false,
        }
    }

    fn on_list_offsets_response(
        &mut self,
        now_ms: u64,
        partition: PartitionId,
        result: Result<Offset, ErrorCode>,
        effects: &mut Vec<Effect>,
    ) {
        let offset = match result {
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

    fn on_fetch_response(
        &mut self,
        now_ms: u64,
        partition: PartitionId,
        result: Result<FetchData, ErrorCode>,
        effects: &mut Vec<Effect>,
    ) {
        let data = match result {
            Ok(data) => data,
            Err(ErrorCode::OffsetOutOfRange) => {
                return self.on_offset_out_of_range(now_ms, partition, effects);
            }
            // Epoch errors, NotLeaderOrFollower and anything else: our metadata is stale or
            // the leader is in transition (Kafka's `FetchCollector.handleInitializeErrors`).
            Err(_) => return self.back_off(now_ms, partition),
        };
        let Some(assigned) = self.partitions.get_mut(&partition) else {
            return;
        };
        let Some(mut position) = assigned.position else {
            return;
        };
        let mut polled = Vec::new();
        // Records below the position were already consumed (Kafka drops them too); checking
        // against the moving position also keeps the position strictly increasing.
        for record in &data.records {
            if record.offset < position {
                continue;
            }
            polled.push((record.offset, record.value));
            position = record.offset.next();
            assigned.last_consumed_epoch = Some(record.leader_epoch);
        }
        assigned.position = Some(position);
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
        partition: PartitionId,
        effects: &mut Vec<Effect>,
    ) {
        if self.config.auto_offset_reset == AutoOffsetReset::None {
            return self.back_off(now_ms, partition);
        }
        if let Some(assigned) = self.partitions.get_mut(&partition) {
            assigned.state = PositionState::AwaitingReset;
            effects.push(Effect::Mark(marks::CONSUMER_OFFSET_RESET));
        }
    }

    /// KIP-320 validation (Kafka's `SubscriptionState.maybeCompleteValidation`): when the
    /// leader's end offset for the epoch of the last consumed record is below the position,
    /// the records from there on were truncated away; continue from that end offset.
    fn on_offsets_for_leader_epoch_response(
        &mut self,
        now_ms: u64,
        partition: PartitionId,
        result: Result<EpochEndOffset, ErrorCode>,
        effects: &mut Vec<Effect>,
    ) {
        let epoch_end_offset = match result {
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
            effects.push(Effect::Mark(marks::CONSUMER_TRUNCATION_DETECTED));
            effects.push(Effect::Event(Event::PositionReset {
                partition,
                from: Some(position),
                to: epoch_end_offset.end_offset,
            }));
        }
    }
}

impl Actor for Consumer {
    fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Effect> {
        let mut effects = Vec::new();
        match input {
            Input::Start | Input::Timers(_) => {}
            Input::Message { from, message } => match message {
                Message::MetadataResponse(MetadataResponse {
                    correlation,
                    metadata,
                }) => {
                    let applied = self
                        .metadata
                        .on_response(now_ms, from, correlation, metadata);
                    if matches!(applied, MetadataApplied::Applied { .. }) {
                        self.on_metadata_applied(&mut effects);
                    }
                }
                Message::ListOffsetsResponse(ListOffsetsResponse {
                    correlation,
                    partition,
                    result,
                }) if self.take_request(from, correlation, partition, RequestKind::ListOffsets) => {
                    self.on_list_offsets_response(now_ms, partition, result, &mut effects);
                }
                Message::FetchResponse(FetchResponse {
                    correlation,
                    partition,
                    result,
                }) if self.take_request(from, correlation, partition, RequestKind::Fetch) => {
                    self.on_fetch_response(now_ms, partition, result, &mut effects);
                }
                Message::OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse {
                    correlation,
                    partition,
                    result,
                }) if self.take_request(
                    from,
                    correlation,
                    partition,
                    RequestKind::OffsetsForLeaderEpoch,
                ) =>
                {
                    self.on_offsets_for_leader_epoch_response(
                        now_ms,
                        partition,
                        result,
                        &mut effects,
                    );
                }
                // Late answers, answers to dropped requests, and anything not addressed to a
                // consumer: ignore rather than panic.
                _ => {}
            },
        }
        self.poll(now_ms, &mut effects);
        effects
    }

    /// The earliest of: the metadata request's deadline or next refresh, every in-flight
    /// request's timeout, and the end of the backoff of every partition that has a request to
    /// make to a known leader. After every `handle` everything due has been done, so this is
    /// always in the future.
    /// Until this actor's timers have names, its one timer is its computed deadline.
    fn due_timers(&self, now_ms: u64) -> Vec<Timer> {
        if self
            .next_deadline_ms()
            .is_some_and(|deadline_ms| deadline_ms <= now_ms)
        {
            vec![Timer::Deadline]
        } else {
            Vec::new()
        }
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        let requests = self.in_flight.values().map(|request| request.deadline_ms);
        let backoffs = self
            .partitions
            .iter()
            .filter(|(partition, assigned)| {
                self.wants_request(assigned) && self.metadata.leader(**partition).is_some()
            })
            .map(|(_, assigned)| assigned.backoff_until_ms);
        self.metadata
            .next_deadline_ms()
            .into_iter()
            .chain(requests)
            .chain(backoffs)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::Timer;
    use crate::ids::PartitionEpoch;
    use crate::metadata::{MetadataImage, PartitionState};
    use crate::protocol::{MetadataRequest, ProduceResponse};
    use crate::record::Record;

    const CLIENT: ClientId = ClientId(1);
    const P0: PartitionId = PartitionId(0);

    fn b(id: u32) -> BrokerId {
        BrokerId(id)
    }

    fn config() -> ConsumerConfig {
        ConsumerConfig {
            auto_offset_reset: AutoOffsetReset::Earliest,
            fetch_max_wait_ms: 500,
            max_poll_records: 100,
            request_timeout_ms: 1_000,
            retry_backoff_ms: 100,
            metadata_max_age_ms: 60_000,
        }
    }

    fn image(version: u64, leader: u32, epoch: u32) -> MetadataImage {
        let state = PartitionState {
            partition: P0,
            replicas: vec![b(1), b(2), b(3)],
            leader: Some(b(leader)),
            leader_epoch: LeaderEpoch(epoch),
            isr: vec![b(1), b(2), b(3)],
            partition_epoch: PartitionEpoch(epoch),
        };
        MetadataImage {
            version,
            live_brokers: vec![b(1), b(2), b(3)],
            partitions: [(P0, state)].into_iter().collect(),
        }
    }

    fn message_from(from: u32, message: Message) -> Input {
        Input::Message {
            from: NodeId::Broker(b(from)),
            message,
        }
    }

    fn send_to(to: u32, message: Message) -> Effect {
        Effect::Send {
            to: NodeId::Broker(b(to)),
            message,
        }
    }

    fn metadata_request(to: u32, correlation: u64) -> Effect {
        send_to(
            to,
            Message::Metadata(MetadataRequest {
                correlation: CorrelationId(correlation),
            }),
        )
    }

    fn metadata_response(from: u32, correlation: u64, metadata: MetadataImage) -> Input {
        message_from(
            from,
            Message::MetadataResponse(MetadataResponse {
                correlation: CorrelationId(correlation),
                metadata,
            }),
        )
    }

    fn list_offsets(to: u32, correlation: u64, spec: OffsetSpec) -> Effect {
        send_to(
            to,
            Message::ListOffsets(ListOffsetsRequest {
                correlation: CorrelationId(correlation),
                partition: P0,
                spec,
            }),
        )
    }

    fn list_offsets_response(from: u32, correlation: u64, offset: u64) -> Input {
        message_from(
            from,
            Message::ListOffsetsResponse(ListOffsetsResponse {
                correlation: CorrelationId(correlation),
                partition: P0,
                result: Ok(Offset(offset)),
            }),
        )
    }

    fn fetch(
        to: u32,
        correlation: u64,
        leader_epoch: u32,
        offset: u64,
        last_fetched_epoch: Option<u32>,
    ) -> Effect {
        send_to(
            to,
            Message::Fetch(FetchRequest {
                correlation: CorrelationId(correlation),
                partition: P0,
                replica: None,
                current_leader_epoch: LeaderEpoch(leader_epoch),
                fetch_offset: Offset(offset),
                last_fetched_epoch: last_fetched_epoch.map(LeaderEpoch),
                max_records: 100,
                max_wait_ms: 500,
            }),
        )
    }

    /// A fetch response carrying records `(offset, epoch, value)`.
    fn fetch_response(from: u32, correlation: u64, records: &[(u64, u32, u64)]) -> Input {
        let records: Vec<Record> = records
            .iter()
            .map(|&(offset, epoch, value)| Record {
                offset: Offset(offset),
                leader_epoch: LeaderEpoch(epoch),
                value,
                key: None,
                producer_stamp: None,
            })
            .collect();
        let end = records
            .last()
            .map_or(Offset(0), |record| record.offset.next());
        message_from(
            from,
            Message::FetchResponse(FetchResponse {
                correlation: CorrelationId(correlation),
                partition: P0,
                result: Ok(FetchData {
                    records,
                    high_watermark: end,
                    log_start_offset: Offset(0),
                    log_end_offset: end,
                }),
            }),
        )
    }

    fn fetch_error(from: u32, correlation: u64, error: ErrorCode) -> Input {
        message_from(
            from,
            Message::FetchResponse(FetchResponse {
                correlation: CorrelationId(correlation),
                partition: P0,
                result: Err(error),
            }),
        )
    }

    fn validate(to: u32, correlation: u64, current_epoch: u32, last_epoch: u32) -> Effect {
        send_to(
            to,
            Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
                correlation: CorrelationId(correlation),
                partition: P0,
                replica: None,
                current_leader_epoch: LeaderEpoch(current_epoch),
                leader_epoch: LeaderEpoch(last_epoch),
            }),
        )
    }

    fn validation_response(from: u32, correlation: u64, epoch: u32, end_offset: u64) -> Input {
        message_from(
            from,
            Message::OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse {
                correlation: CorrelationId(correlation),
                partition: P0,
                result: Ok(EpochEndOffset {
                    leader_epoch: LeaderEpoch(epoch),
                    end_offset: Offset(end_offset),
                }),
            }),
        )
    }

    fn polled(records: &[(u64, u64)]) -> Effect {
        Effect::Event(Event::Polled {
            partition: P0,
            records: records
                .iter()
                .map(|&(offset, value)| (Offset(offset), value))
                .collect(),
        })
    }

    fn position_reset(from: Option<u64>, to: u64) -> Effect {
        Effect::Event(Event::PositionReset {
            partition: P0,
            from: from.map(Offset),
            to: Offset(to),
        })
    }

    /// A consumer of p0 led by b1 in epoch 0, which has consumed offsets 0..3 (epoch 0) and
    /// has fetch 4 in flight at offset 3.
    fn consumer_at_offset_3() -> Consumer {
        consumer_at_offset_3_with(config())
    }

    fn consumer_at_offset_3_with(config: ConsumerConfig) -> Consumer {
        let mut consumer = Consumer::new(CLIENT, config, vec![b(1), b(2)], vec![P0]);
        assert_eq!(
            consumer.handle(0, Input::Start),
            vec![metadata_request(1, 1)]
        );
        assert_eq!(
            consumer.handle(1, metadata_response(1, 1, image(1, 1, 0))),
            vec![list_offsets(1, 2, OffsetSpec::Earliest)]
        );
        assert_eq!(
            consumer.handle(2, list_offsets_response(1, 2, 0)),
            vec![position_reset(None, 0), fetch(1, 3, 0, 0, None)]
        );
        assert_eq!(
            consumer.handle(
                3,
                fetch_response(1, 3, &[(0, 0, 10), (1, 0, 11), (2, 0, 12)])
            ),
            vec![
                polled(&[(0, 10), (1, 11), (2, 12)]),
                fetch(1, 4, 0, 3, Some(0))
            ]
        );
        consumer
    }

    #[test]
    fn consumer_starts_at_earliest_and_polls_records() {
        let consumer = consumer_at_offset_3();
        assert_eq!(consumer.node(), NodeId::Consumer(CLIENT));
        assert_eq!(consumer.position(P0), Some(Offset(3)));
        assert_eq!(consumer.position(PartitionId(7)), None);
        // Next: the fetch's timeout.
        assert_eq!(consumer.next_deadline_ms(), Some(1_003));
    }

    #[test]
    fn consumer_starts_at_latest_when_configured() {
        let config = ConsumerConfig {
            auto_offset_reset: AutoOffsetReset::Latest,
            ..config()
        };
        let mut consumer = Consumer::new(CLIENT, config, vec![b(1)], vec![P0]);
        consumer.handle(0, Input::Start);
        assert_eq!(
            consumer.handle(1, metadata_response(1, 1, image(1, 1, 0))),
            vec![list_offsets(1, 2, OffsetSpec::Latest)]
        );
    }

    #[test]
    fn consumer_follows_leader_change() {
        let mut consumer = consumer_at_offset_3();
        assert_eq!(
            consumer.handle(200, fetch_error(1, 4, ErrorCode::NotLeaderOrFollower)),
            vec![metadata_request(1, 5)]
        );
        assert_eq!(
            consumer.handle(205, metadata_response(1, 5, image(2, 2, 1))),
            vec![Effect::Mark(marks::CONSUMER_LEADER_CHANGED)]
        );
        // The partition backs off until 300, then validates its position with the new leader.
        assert_eq!(consumer.next_deadline_ms(), Some(300));
        assert_eq!(
            consumer.handle(300, Input::Timers(vec![Timer::Deadline])),
            vec![validate(2, 6, 1, 0)]
        );
        assert_eq!(
            consumer.handle(305, validation_response(2, 6, 0, 3)),
            vec![fetch(2, 7, 1, 3, Some(0))]
        );
        assert_eq!(
            consumer.handle(310, fetch_response(2, 7, &[(3, 1, 13)])),
            vec![polled(&[(3, 13)]), fetch(2, 8, 1, 4, Some(1))]
        );
        assert_eq!(consumer.position(P0), Some(Offset(4)));
    }

    #[test]
    fn consumer_detects_truncation_via_offsets_for_leader_epoch() {
        let config = ConsumerConfig {
            metadata_max_age_ms: 500,
            ..config()
        };
        let mut consumer = consumer_at_offset_3_with(config);
        // The periodic refresh reveals the new leader while a fetch to b1 is parked there;
        // that fetch is dropped.
        assert_eq!(consumer.next_deadline_ms(), Some(501));
        assert_eq!(
            consumer.handle(501, Input::Timers(vec![Timer::Deadline])),
            vec![metadata_request(1, 5)]
        );
        assert_eq!(
            consumer.handle(502, metadata_response(1, 5, image(2, 2, 1))),
            vec![
                Effect::Mark(marks::CONSUMER_LEADER_CHANGED),
                validate(2, 6, 1, 0),
            ]
        );
        // The answer to the dropped fetch is ignored.
        assert_eq!(
            consumer.handle(503, fetch_response(1, 4, &[(3, 0, 13)])),
            vec![]
        );
        // The new leader's epoch 0 ends at 1: offsets 1 and 2 were truncated.
        assert_eq!(
            consumer.handle(504, validation_response(2, 6, 0, 1)),
            vec![
                Effect::Mark(marks::CONSUMER_TRUNCATION_DETECTED),
                position_reset(Some(3), 1),
                fetch(2, 7, 1, 1, Some(0)),
            ]
        );
        assert_eq!(consumer.position(P0), Some(Offset(1)));
    }

    #[test]
    fn consumer_resets_on_offset_out_of_range() {
        let mut consumer = consumer_at_offset_3();
        assert_eq!(
            consumer.handle(10, fetch_error(1, 4, ErrorCode::OffsetOutOfRange)),
            vec![
                Effect::Mark(marks::CONSUMER_OFFSET_RESET),
                list_offsets(1, 5, OffsetSpec::Earliest),
            ]
        );
        assert_eq!(
            consumer.handle(11, list_offsets_response(1, 5, 5)),
            vec![position_reset(Some(3), 5), fetch(1, 6, 0, 5, None)]
        );
        assert_eq!(consumer.position(P0), Some(Offset(5)));
    }

    #[test]
    fn consumer_with_reset_none_stays_put_on_offset_out_of_range() {
        let config = ConsumerConfig {
            auto_offset_reset: AutoOffsetReset::None,
            ..config()
        };
        let mut consumer = Consumer::new(CLIENT, config, vec![b(1)], vec![P0]);
        consumer.handle(0, Input::Start);
        // Without a position and without a reset policy there is nothing to fetch.
        assert_eq!(
            consumer.handle(1, metadata_response(1, 1, image(1, 1, 0))),
            vec![]
        );
        assert_eq!(consumer.position(P0), None);
        assert_eq!(consumer.next_deadline_ms(), Some(60_001));
    }

    #[test]
    fn consumer_fetch_timeout_backs_off_and_refreshes_metadata() {
        let mut consumer = consumer_at_offset_3();
        assert_eq!(
            consumer.handle(1_003, Input::Timers(vec![Timer::Deadline])),
            vec![metadata_request(2, 5)]
        );
        assert_eq!(consumer.next_deadline_ms(), Some(1_103));
        assert_eq!(
            consumer.handle(1_010, metadata_response(2, 5, image(1, 1, 0))),
            vec![]
        );
        assert_eq!(
            consumer.handle(1_103, Input::Timers(vec![Timer::Deadline])),
            vec![fetch(1, 6, 0, 3, Some(0))]
        );
        // The timed-out fetch's late answer is ignored.
        assert_eq!(
            consumer.handle(1_104, fetch_response(1, 4, &[(3, 0, 13)])),
            vec![]
        );
        assert_eq!(consumer.position(P0), Some(Offset(3)));
    }

    #[test]
    fn unexpected_messages_are_ignored() {
        let mut consumer = consumer_at_offset_3();
        let stray = message_from(
            3,
            Message::ProduceResponse(ProduceResponse {
                correlation: CorrelationId(4),
                partition: P0,
                result: Ok(Offset(0)),
            }),
        );
        assert_eq!(consumer.handle(5, stray), vec![]);
        assert_eq!(
            consumer.handle(6, fetch_response(2, 4, &[(3, 0, 13)])),
            vec![]
        );
        assert_eq!(consumer.position(P0), Some(Offset(3)));
    }

    /// Random schedules of answers, errors, leader changes, losses and time: the deadline is
    /// always in the future, and the position moves only by consuming contiguous records or
    /// by a reported `PositionReset`.
    mod schedules {
        use super::*;
        use proptest::prelude::*;

        #[derive(Clone, Debug)]
        enum Step {
            Advance { ms: u64 },
            Answer { index: usize, choice: u8 },
            Lose { index: usize },
        }

        fn step() -> impl Strategy<Value = Step> {
            prop_oneof![
                (0u64..1_500).prop_map(|ms| Step::Advance { ms }),
                (0usize..4, 0u8..8).prop_map(|(index, choice)| Step::Answer { index, choice }),
                (0usize..4).prop_map(|index| Step::Lose { index }),
            ]
        }

        struct Harness {
            consumer: Consumer,
            now_ms: u64,
            wire: Vec<(u32, Message)>,
            position: Option<Offset>,
            version: u64,
            leader_epoch: u32,
        }

        impl Harness {
            fn apply(&mut self, effects: Vec<Effect>) {
                for effect in effects {
                    match effect {
                        Effect::Send {
                            to: NodeId::Broker(broker),
                            message,
                        } => self.wire.push((broker.0, message)),
                        Effect::Event(Event::PositionReset { to, .. }) => self.position = Some(to),
                        Effect::Event(Event::Polled { records, .. }) => {
                            for (offset, _) in records {
                                let position = self.position.expect("polled without a position");
                                assert!(offset >= position, "polled {offset} below {position}");
                                self.position = Some(offset.next());
                            }
                        }
                        _ => {}
                    }
                }
                assert_eq!(self.consumer.position(P0), self.position);
                if let Some(deadline_ms) = self.consumer.next_deadline_ms() {
                    assert!(
                        deadline_ms > self.now_ms,
                        "deadline {deadline_ms} not after {}",
                        self.now_ms
                    );
                }
            }

            fn advance_to(&mut self, target_ms: u64) {
                let mut ticks = 0;
                while let Some(deadline_ms) = self.consumer.next_deadline_ms() {
                    if deadline_ms > target_ms {
                        break;
                    }
                    ticks += 1;
                    assert!(ticks < 10_000, "consumer spins");
                    self.now_ms = deadline_ms;
                    let effects = self
                        .consumer
                        .handle(self.now_ms, Input::Timers(vec![Timer::Deadline]));
                    self.apply(effects);
                }
                self.now_ms = self.now_ms.max(target_ms);
            }

            fn answer(&mut self, message: Message, choice: u8) -> Option<Message> {
                let error = match choice {
                    5 => Some(ErrorCode::NotLeaderOrFollower),
                    6 => Some(ErrorCode::FencedLeaderEpoch),
                    7 => Some(ErrorCode::OffsetOutOfRange),
                    _ => None,
                };
                Some(match message {
                    Message::Metadata(MetadataRequest { correlation }) => {
                        self.version += 1;
                        if choice % 2 == 1 {
                            self.leader_epoch += 1;
                        }
                        let leader = 1 + self.leader_epoch % 3;
                        Message::MetadataResponse(MetadataResponse {
                            correlation,
                            metadata: image(self.version, leader, self.leader_epoch),
                        })
                    }
                    Message::ListOffsets(ListOffsetsRequest {
                        correlation,
                        partition,
                        ..
                    }) => Message::ListOffsetsResponse(ListOffsetsResponse {
                        correlation,
                        partition,
                        result: error.map_or(Ok(Offset(u64::from(choice))), Err),
                    }),
                    Message::Fetch(FetchRequest {
                        correlation,
                        partition,
                        fetch_offset,
                        current_leader_epoch,
                        ..
                    }) => {
                        let records = (0..u64::from(choice % 4))
                            .map(|index| Record {
                                offset: Offset(fetch_offset.0 + index),
                                leader_epoch: current_leader_epoch,
                                value: fetch_offset.0 + index,
                                key: None,
                                producer_stamp: None,
                            })
                            .collect();
                        let data = FetchData {
                            records,
                            high_watermark: fetch_offset,
                            log_start_offset: Offset(0),
                            log_end_offset: fetch_offset,
                        };
                        Message::FetchResponse(FetchResponse {
                            correlation,
                            partition,
                            result: error.map_or(Ok(data), Err),
                        })
                    }
                    Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
                        correlation,
                        partition,
                        leader_epoch,
                        ..
                    }) => Message::OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse {
                        correlation,
                        partition,
                        result: error.map_or(
                            Ok(EpochEndOffset {
                                leader_epoch,
                                end_offset: Offset(u64::from(choice) * 2),
                            }),
                            Err,
                        ),
                    }),
                    _ => return None,
                })
            }
        }

        proptest! {
            #[test]
            fn deadlines_are_in_the_future_and_position_moves_only_visibly(
                steps in proptest::collection::vec(step(), 1..100),
            ) {
                let mut harness = Harness {
                    consumer: Consumer::new(CLIENT, config(), vec![b(1), b(2)], vec![P0]),
                    now_ms: 0,
                    wire: Vec::new(),
                    position: None,
                    version: 0,
                    leader_epoch: 0,
                };
                let effects = harness.consumer.handle(0, Input::Start);
                harness.apply(effects);
                for step in steps {
                    match step {
                        Step::Advance { ms } => harness.advance_to(harness.now_ms + ms),
                        Step::Answer { index, choice } => {
                            if index < harness.wire.len() {
                                let (to, request) = harness.wire.remove(index);
                                if let Some(response) = harness.answer(request, choice) {
                                    let effects = harness.consumer.handle(harness.now_ms, message_from(to, response));
                                    harness.apply(effects);
                                }
                            }
                        }
                        Step::Lose { index } => {
                            if index < harness.wire.len() {
                                harness.wire.remove(index);
                            }
                        }
                    }
                }
            }
        }
    }
}
