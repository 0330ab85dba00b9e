//! The consumer: Kafka's `KafkaConsumer` as a sans-IO state machine, in assign mode (a
//! fixed list of partitions, no group, no commits; records go to the application as they
//! arrive) or in subscribe mode (a member of a consumer group, `group/`: the group assigns
//! its partitions, the application polls and commits).
//!
//! This file is the actor: its state, its named timers, its connections, and the order in
//! which one input is handled. What each partition asks for and what each answer does to its
//! position is the fetcher's (`fetcher.rs`). Every input is followed by one pass of
//! [`Consumer::run_once`] (Kafka's `ConsumerNetworkClient.poll` followed by sending what is
//! due), which handles every timer due by then, in a fixed order.
//!
//! Invariants (asserted after every input by [`Consumer::check_invariants`]):
//! - a request that times out closes its connection, failing every other request to that
//!   broker (as Kafka's `NetworkClient` does);
//! - after a failure a partition waits `retry_backoff_ms` before its next request, and
//!   metadata requests are `retry_backoff_ms` apart, so a consumer never spins;
//! - the timer table holds exactly: a [`ConsumerTimer::RequestTimeout`] per request in
//!   flight, the metadata tracker's timers (see [`crate::client_metadata`]), and a
//!   [`ConsumerTimer::RetryBackoff`] for each partition that wants a request and whose
//!   leader is known, at the end of its backoff. So the next deadline is the table's
//!   earliest, and after every input it lies in the future;
//! - in subscribe mode, also the group's timers (see [`group`]): each set exactly while the
//!   member's state calls for it, and a request timeout per group request in flight.

mod application_api;
pub mod assignor;
mod fetcher;
mod group;
mod read_committed;
#[cfg(test)]
mod read_committed_tests;
#[cfg(test)]
mod read_replica_tests;
#[cfg(test)]
mod schedule_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod timer_tests;
#[cfg(test)]
mod truncation_detection_tests;

use crate::actor::{Actor, Effect, Input, Timer};
use crate::bugs::BugSwitches;
use crate::client_metadata::{ClientMetadata, MetadataApplied, MetadataTimer};
use crate::config::ConsumerConfig;
use crate::error::ErrorCode;
use crate::ids::{BrokerId, ClientId, CorrelationId, NodeId, Offset};
use crate::mark::Mark;
use crate::protocol::{Message, MetadataResponse};
use crate::timer::TimerTable;
use crate::topic::{TopicName, TopicPartition};
pub use application_api::{CommitKind, ConsumerRecord, PollOutcome};
use fetcher::{AssignedPartition, InFlightRequest};
use group::GroupMember;
pub use group::GroupTimer;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The consumer's named deadlines (docs/STYLE.md, rule 14), in the order
/// [`Consumer::run_once`] handles their kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ConsumerTimer {
    /// The request with this correlation id gets no answer by then: its connection is
    /// closed. Set when the request is sent; cancelled when it is answered, dropped at a
    /// leader change, or failed with its connection.
    RequestTimeout(CorrelationId),
    /// The metadata tracker's request timeout and refresh.
    Metadata(MetadataTimer),
    /// The partition's retry backoff ends and its next request may go (Kafka's
    /// `nextRetryTimeMs`; 0 for a partition that never failed). Set only while the
    /// partition wants a request and its leader is known.
    RetryBackoff(TopicPartition),
    /// Subscribe mode: the group member's deadlines.
    Group(GroupTimer),
}

impl From<MetadataTimer> for ConsumerTimer {
    fn from(timer: MetadataTimer) -> Self {
        ConsumerTimer::Metadata(timer)
    }
}

impl fmt::Display for ConsumerTimer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsumerTimer::RequestTimeout(correlation) => {
                write!(formatter, "request-timeout-{correlation}")
            }
            ConsumerTimer::Metadata(timer) => write!(formatter, "{timer}"),
            ConsumerTimer::RetryBackoff(partition) => {
                write!(formatter, "retry-backoff-{partition}")
            }
            ConsumerTimer::Group(timer) => write!(formatter, "{timer}"),
        }
    }
}

/// The consumer actor, node `NodeId::Consumer(client)`.
#[derive(Clone, Debug)]
pub struct Consumer {
    client: ClientId,
    config: ConsumerConfig,
    metadata: ClientMetadata,
    partitions: BTreeMap<TopicPartition, AssignedPartition>,
    in_flight: BTreeMap<CorrelationId, InFlightRequest>,
    next_correlation: u64,
    /// Every deadline of the consumer, by name.
    timers: TimerTable<ConsumerTimer>,
    /// Subscribe mode: the group membership. `None` in assign mode.
    group: Option<GroupMember>,
    /// KIP-320 (Kafka 2.3, KAFKA-7747): after a leader change, a partition that has consumed
    /// records checks its position against the new leader before fetching again. Off only
    /// with the `no-consumer-truncation-detection` switch (consumers before 2.3).
    validate_position_after_leader_change: bool,
}

impl Consumer {
    pub fn new(
        client: ClientId,
        config: ConsumerConfig,
        bootstrap_brokers: Vec<BrokerId>,
        partitions: Vec<TopicPartition>,
    ) -> Consumer {
        let mut timers = TimerTable::default();
        let metadata = ClientMetadata::new(
            bootstrap_brokers,
            config.request_timeout_ms,
            config.retry_backoff_ms,
            config.metadata_max_age_ms,
            &mut timers,
        );
        let partitions = partitions
            .into_iter()
            .map(|partition| (partition, AssignedPartition::new()))
            .collect();
        Consumer {
            client,
            config,
            metadata,
            partitions,
            in_flight: BTreeMap::new(),
            next_correlation: 1,
            timers,
            group: None,
            validate_position_after_leader_change: true,
        }
    }

    /// Applies the client-side half of bug switches: `no-consumer-truncation-detection`
    /// makes the consumer keep fetching from its position after a leader change, as consumers
    /// before Kafka 2.3 did (no KIP-320 validation; see `fetcher.rs`).
    pub fn with_bug_switches(mut self, bugs: BugSwitches) -> Consumer {
        self.validate_position_after_leader_change = !bugs.no_consumer_truncation_detection;
        self
    }

    /// A group consumer subscribed to `topics` (subscribe mode, `config.group_id` set): it
    /// finds its coordinator at once and joins at its first `poll`.
    pub fn subscribed(
        client: ClientId,
        config: ConsumerConfig,
        bootstrap_brokers: Vec<BrokerId>,
        topics: Vec<TopicName>,
    ) -> Consumer {
        let group = GroupMember::new(&config, bootstrap_brokers.clone(), topics);
        let mut consumer = Consumer::new(client, config, bootstrap_brokers, Vec::new());
        consumer.group = Some(group);
        consumer.sync_group_timers();
        consumer
    }

    /// The application's poll (Kafka's `KafkaConsumer.poll`): does what the group needs
    /// first (rejoin, auto-commit of earlier positions, revocation), then returns up to
    /// `max_poll_records` fetched records and moves the positions past them. In assign mode
    /// records go to the application as they arrive (`Event::Polled`), so this returns none.
    ///
    /// The order is Kafka's `ConsumerCoordinator.poll`: the poll timer restarts, a needed
    /// rejoin starts (onJoinPrepare), auto-commit, then the buffered records.
    pub fn poll(&mut self, now_ms: u64) -> PollOutcome {
        let mut effects = Vec::new();
        let max_poll_interval_ms = self.config.max_poll_interval_ms;
        let Some(group) = self.group.as_mut() else {
            return PollOutcome::default();
        };
        if group.failed.is_some() {
            return PollOutcome::default();
        }
        group.poll_deadline_ms = now_ms.saturating_add(max_poll_interval_ms);
        self.ensure_active_group(now_ms, &mut effects);
        self.maybe_auto_commit(now_ms, &mut effects);
        let records = self.take_records(&mut effects);
        self.run_once(now_ms, &mut effects);
        self.check_invariants();
        PollOutcome { records, effects }
    }

    /// Whether a `poll` now would return records (the shell wakes a waiting application
    /// when this becomes true).
    pub fn has_records_for_poll(&self) -> bool {
        self.group
            .as_ref()
            .is_some_and(|group| group.failed.is_none())
            && self
                .partitions
                .values()
                .any(|assigned| assigned.has_buffered())
    }

    /// Commits `offsets` (`None`: the positions of everything polled so far, Kafka's
    /// `commitSync()` without arguments) for the group. Returns the commit's id; its outcome
    /// comes as `Event::OffsetCommitCompleted` with that id, possibly among the returned
    /// effects (a consumer outside an active generation fails at once with
    /// `ErrorCode::CommitFailed`).
    ///
    /// A synchronous commit gives up after `default_api_timeout_ms` (`ClientTimeout`).
    pub fn commit(
        &mut self,
        now_ms: u64,
        offsets: Option<Vec<(TopicPartition, Offset)>>,
        kind: CommitKind,
    ) -> (crate::event::CommitId, Vec<Effect>) {
        let mut effects = Vec::new();
        let deadline_ms = now_ms.saturating_add(self.config.default_api_timeout_ms);
        let id = self.start_commit(now_ms, offsets, kind, false, deadline_ms, &mut effects);
        self.run_once(now_ms, &mut effects);
        self.check_invariants();
        (id, effects)
    }

    /// The partitions the consumer owns now (Kafka's `assignment()`).
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.partitions.keys().copied().collect()
    }

    /// This consumer's node id.
    pub fn node(&self) -> NodeId {
        NodeId::Consumer(self.client)
    }

    /// Numbers this consumer's requests from `first` on. A consume-transform-produce process
    /// shares its node's connections between its consumer and its producer, and tells their
    /// answers apart by correlation id (see world's `pipeline_client.rs`).
    pub fn set_first_correlation(&mut self, first: u64) {
        self.next_correlation = self.next_correlation.max(first);
    }

    /// The offset of the next record the consumer will return for `partition`, if it has one.
    pub fn position(&self, partition: TopicPartition) -> Option<Offset> {
        self.partitions.get(&partition)?.position
    }

    /// Handles every timer due by now, and sends what a new input may have made possible:
    /// request timeouts, the metadata request's timeout, metadata (asked for when a
    /// partition that wants a request has no known leader, sent when
    /// [`MetadataTimer::Refresh`] is due), then every partition's request whose
    /// [`ConsumerTimer::RetryBackoff`] is due. Each step sees the timers the steps before it
    /// set or cancelled.
    fn run_once(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        let group_timed_out: BTreeSet<BrokerId> = self
            .timers
            .due(now_ms)
            .filter_map(|timer| match timer {
                ConsumerTimer::RequestTimeout(correlation) => self
                    .group
                    .as_ref()
                    .and_then(|group| group.requests.get(&correlation))
                    .map(|request| request.broker),
                _ => None,
            })
            .collect();
        for broker in group_timed_out {
            self.on_group_connection_failed(now_ms, broker, ErrorCode::ClientTimeout, effects);
        }
        let timed_out: BTreeSet<BrokerId> = self
            .timers
            .due(now_ms)
            .filter_map(|timer| match timer {
                ConsumerTimer::RequestTimeout(correlation) => {
                    Some(self.in_flight_broker(correlation))
                }
                _ => None,
            })
            .collect();
        for broker in timed_out {
            self.metadata
                .on_connection_closed(now_ms, broker, &mut self.timers);
            self.close_connection(now_ms, broker);
        }
        if let Some(broker) = self.metadata.on_request_timeout(now_ms, &mut self.timers) {
            self.close_connection(now_ms, broker);
        }
        let leaderless = self.partitions.iter().any(|(partition, assigned)| {
            self.wants_request(assigned) && self.metadata.leader(*partition).is_none()
        });
        // A subscribed topic the image does not know (a broker that answered before it
        // caught up): Kafka's UNKNOWN_TOPIC_OR_PARTITION, which asks for an update too.
        let unknown_topic = self.group.as_ref().is_some_and(|group| {
            group
                .topics
                .iter()
                .any(|topic| self.metadata.partition_count(*topic) == 0)
        });
        if (leaderless || unknown_topic) && self.metadata.has_image() {
            self.metadata.request_update(now_ms, &mut self.timers);
        }
        if let Some(effect) =
            self.metadata
                .maybe_send_request(now_ms, &mut self.next_correlation, &mut self.timers)
        {
            effects.push(effect);
        }
        self.run_group(now_ms, effects);
        self.send_requests(now_ms, effects);
    }

    /// The group member's pass, after the request timeouts: commits' deadlines, the
    /// heartbeat thread, the coordinator lookup, the join, the OffsetFetch, and commits
    /// due. Timers are re-derived from the state between steps that change it.
    fn run_group(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        if self
            .group
            .as_ref()
            .is_none_or(|group| group.failed.is_some())
        {
            self.sync_group_timers();
            return;
        }
        self.sync_group_timers();
        self.run_commits(now_ms, effects);
        self.sync_group_timers();
        self.run_heartbeat_thread(now_ms, effects);
        self.sync_group_timers();
        self.maybe_find_coordinator(now_ms, effects);
        self.maybe_prepare_join(now_ms, effects);
        self.sync_group_timers();
        self.maybe_send_join(now_ms, effects);
        self.sync_group_timers();
        self.maybe_fetch_committed(now_ms, effects);
        self.sync_group_timers();
        self.run_commits(now_ms, effects);
        self.sync_group_timers();
    }

    fn in_flight_broker(&self, correlation: CorrelationId) -> BrokerId {
        match self.in_flight.get(&correlation) {
            Some(request) => request.broker,
            None => panic!(
                "consumer {}: request timeout of {correlation}, which is not in flight",
                self.client
            ),
        }
    }

    /// The connection to `broker` closed under the consumer (Kafka's
    /// `NetworkClient.handleDisconnections`): its requests there fail, each partition backs
    /// off, and metadata is refreshed, since a disconnect usually means the leader moved.
    fn on_disconnect(&mut self, now_ms: u64, broker: BrokerId, effects: &mut Vec<Effect>) {
        effects.push(Effect::Mark(Mark::ConsumerDisconnected));
        self.on_group_connection_failed(now_ms, broker, ErrorCode::NetworkException, effects);
        self.metadata
            .on_connection_closed(now_ms, broker, &mut self.timers);
        self.close_connection(now_ms, broker);
        self.metadata.request_update(now_ms, &mut self.timers);
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
            if let Some(request) = self.end_request(correlation) {
                // A failed fetch sends the partition back to its leader (Kafka's
                // `AbstractFetch.handleFetchFailure`).
                if let Some(assigned) = self.partitions.get_mut(&request.partition) {
                    assigned.clear_preferred_read_replica();
                }
                self.back_off(now_ms, request.partition);
            }
        }
    }

    /// Removes a request from `in_flight` and cancels its timeout.
    fn end_request(&mut self, correlation: CorrelationId) -> Option<InFlightRequest> {
        self.timers
            .cancel(ConsumerTimer::RequestTimeout(correlation));
        self.in_flight.remove(&correlation)
    }

    fn on_metadata_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        response: &MetadataResponse,
        effects: &mut Vec<Effect>,
    ) {
        let applied = self
            .metadata
            .on_response(now_ms, from, response, &mut self.timers);
        if matches!(applied, MetadataApplied::Applied { .. }) {
            self.on_metadata_applied(effects);
        }
    }

    /// The end of `partition`'s backoff while it wants a request and its leader is known;
    /// otherwise it has no reason to wake the consumer.
    fn wanted_backoff_timer(&self, partition: TopicPartition) -> Option<u64> {
        let assigned = self.partitions.get(&partition)?;
        (self.wants_request(assigned) && self.metadata.leader(partition).is_some())
            .then_some(assigned.backoff_until_ms)
    }

    /// The one place that sets and cancels [`ConsumerTimer::RetryBackoff`], which depends on
    /// the partition's state and on the metadata, both of which other inputs change. The
    /// pass that sends requests calls it for every partition.
    fn sync_backoff_timer(&mut self, partition: TopicPartition) {
        let timer = ConsumerTimer::RetryBackoff(partition);
        match self.wanted_backoff_timer(partition) {
            Some(at_ms) => self.timers.set(timer, at_ms),
            None => {
                self.timers.cancel(timer);
            }
        }
    }

    /// Asserts the invariants in the module header: the table holds exactly the timers the
    /// state calls for, with the deadlines the state implies. The cross-check walks every
    /// timer and every request after every input, so only test builds (debug assertions)
    /// run it; release sweeps keep the table's own ordering check.
    fn check_invariants(&self) {
        self.timers.check_invariants();
        if !cfg!(debug_assertions) {
            return;
        }
        self.metadata.check_timers(&self.timers);
        self.check_group_timers();
        for (timer, at_ms) in self.timers.iter() {
            let expected = match timer {
                ConsumerTimer::Metadata(_) => true,
                ConsumerTimer::RetryBackoff(partition) => {
                    self.wanted_backoff_timer(partition) == Some(at_ms)
                }
                ConsumerTimer::RequestTimeout(correlation) => {
                    self.in_flight.contains_key(&correlation)
                        || self
                            .group
                            .as_ref()
                            .is_some_and(|group| group.requests.contains_key(&correlation))
                }
                ConsumerTimer::Group(_) => true,
            };
            assert!(
                expected,
                "consumer {}: timer {timer} at {at_ms} matches no state",
                self.client
            );
        }
        for correlation in self.in_flight.keys() {
            assert!(
                self.timers
                    .deadline_ms(ConsumerTimer::RequestTimeout(*correlation))
                    .is_some(),
                "consumer {}: request {correlation} has no timeout",
                self.client
            );
        }
        for partition in self.partitions.keys() {
            let timer = ConsumerTimer::RetryBackoff(*partition);
            assert_eq!(
                self.timers.deadline_ms(timer),
                self.wanted_backoff_timer(*partition),
                "consumer {}: timer {timer}",
                self.client
            );
        }
    }
}

impl Actor for Consumer {
    fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Effect> {
        let mut effects = Vec::new();
        match input {
            // The timers named in `Input::Timers` were read from this table just before; the
            // pass below handles them, with every other timer due by now. The table is the
            // authority on deadlines: a name it no longer holds as due is stale and changes
            // nothing.
            Input::Start | Input::Timers(_) => {}
            Input::Message { from, message } => match &message {
                Message::MetadataResponse(response) => {
                    self.on_metadata_response(now_ms, from, response, &mut effects);
                }
                Message::ListOffsetsResponse(response) => {
                    self.on_list_offsets_response(now_ms, from, response, &mut effects);
                }
                Message::FetchResponse(response) => {
                    self.on_fetch_response(now_ms, from, response, &mut effects);
                }
                Message::OffsetsForLeaderEpochResponse(response) => {
                    self.on_offsets_for_leader_epoch_response(now_ms, from, response, &mut effects);
                }
                Message::FindCoordinatorResponse(response) => {
                    self.on_find_coordinator_response(now_ms, from, response, &mut effects);
                }
                Message::JoinGroupResponse(response) => {
                    self.on_join_response(now_ms, from, response, &mut effects);
                }
                Message::SyncGroupResponse(response) => {
                    self.on_sync_response(now_ms, from, response, &mut effects);
                }
                Message::HeartbeatResponse(response) => {
                    self.on_heartbeat_response(now_ms, from, response, &mut effects);
                }
                Message::LeaveGroupResponse(response) => {
                    self.on_leave_response(from, response.correlation);
                }
                Message::OffsetCommitResponse(response) => {
                    self.on_offset_commit_response(now_ms, from, response, &mut effects);
                }
                Message::OffsetFetchResponse(response) => {
                    self.on_offset_fetch_response(now_ms, from, response, &mut effects);
                }
                // Anything not addressed to a consumer: ignore rather than panic. Late
                // answers and answers to dropped requests are ignored by their handlers.
                _ => {}
            },
            Input::ConnectionClosed {
                peer: NodeId::Broker(broker),
            } => self.on_disconnect(now_ms, broker, &mut effects),
            Input::ConnectionClosed { .. } | Input::ConnectionEstablished { .. } => {}
        }
        self.run_once(now_ms, &mut effects);
        self.check_invariants();
        effects
    }

    /// The earliest timer in the table (see the module header for what it holds). After
    /// every `handle` everything due has been done, so this is always in the future.
    fn next_deadline_ms(&self) -> Option<u64> {
        self.timers.next_deadline_ms()
    }

    fn due_timers(&self, now_ms: u64) -> Vec<Timer> {
        self.timers.due(now_ms).map(Timer::Consumer).collect()
    }
}
