//! The producer: Kafka's `KafkaProducer` + `RecordAccumulator` + `Sender`, and the idempotent
//! half of its `TransactionManager`, as a sans-IO state machine.
//!
//! A record the application sends goes to a partition (see [`crate::partitioner`]), into that
//! partition's *accumulator* queue of batches (`accumulator.rs`), and leaves in a
//! `ProduceRequest` to the partition's leader when its batch is ready (`sender.rs`): full,
//! lingered `linger_ms`, or followed by another batch; a retried batch once
//! `retry_backoff_ms` has passed.
//!
//! This file is the actor: its state, its named timers, and the order in which one input is
//! handled. Every input — an answer, the application's `send`, or the timers' time coming —
//! is followed by one pass of Kafka's `Sender.runOnce` ([`Producer::run_once`]), which handles
//! every timer due by then, in a fixed order.
//!
//! Invariants (asserted after every input by [`Producer::check_invariants`]):
//! - every record sent by the application gets exactly one `SendCompleted` event, at the
//!   latest `delivery_timeout_ms` after its batch was created (Kafka's KIP-91 bound, which
//!   counts from the batch's creation, as here);
//! - the timer table holds exactly: a [`ProducerTimer::RequestTimeout`] per request in
//!   flight, a [`ProducerTimer::DeliveryTimeout`] per batch not yet completed, the
//!   metadata tracker's timers (see [`crate::client_metadata`]), and, for each partition
//!   whose leader is known and has a free in-flight slot, the readiness timer of its front
//!   batch ([`ProducerTimer::Linger`] or [`ProducerTimer::RetryBackoff`]). So the next
//!   deadline is the table's earliest, and after every input it lies in the future.
//!
//! Ordering without idempotence follows Kafka: a failed batch is put back at the *front* of
//! its partition's queue (`RecordAccumulator.reenqueue` uses `addFirst`), which is behind every
//! batch already sent. With more than one request in flight, a later batch can therefore be
//! appended before an earlier one that is retried: reordering, and duplicates when the failed
//! attempt had in fact been appended.
//!
//! With idempotence on (`idempotence.rs`, `init_producer_id.rs`) the producer first gets a
//! producer id, numbers each partition's records, and keeps up to
//! `max_in_flight_requests_per_connection` (at most 5) batches in flight in order: a retried
//! batch goes back into its queue in sequence order, and leaves again only as the first
//! batch in flight of its partition, so the leader appends every batch once and in order.
//!
//! The queues are bounded by time rather than by count: every batch leaves the accumulator
//! at the latest `delivery_timeout_ms` after its creation, and retries are bounded by
//! `retries` and that same deadline. (Kafka bounds the accumulator by `buffer.memory` and
//! blocks `send`; records here have no size.)

mod accumulator;
#[cfg(test)]
mod connection_tests;
mod connections;
mod idempotence;
#[cfg(test)]
mod idempotent_tests;
mod init_producer_id;
#[cfg(test)]
mod schedule_tests;
mod sender;
mod sequencing;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod timer_tests;
mod transaction_manager;
mod transactional_requests;
#[cfg(test)]
mod transactional_tests;
mod transactions;
mod unknown_producer;
#[cfg(test)]
mod unknown_producer_tests;

pub use accumulator::BatchId;
pub use transaction_manager::{TransactionOperation, TransactionState};

use crate::actor::{Actor, Effect, Input, Timer};
use crate::bugs::BugSwitches;
use crate::client_metadata::{ClientMetadata, MetadataApplied, MetadataTimer};
use crate::config::ProducerConfig;
use crate::event::{Event, SendFailure};
use crate::ids::{BrokerId, ClientId, CorrelationId, NodeId};
use crate::mark::Mark;
use crate::partitioner::Partitioner;
use crate::protocol::{Message, MetadataResponse};
use crate::record::ProducerRecord;
use crate::timer::TimerTable;
use crate::topic::{TopicName, TopicPartition};
use accumulator::RecordAccumulator;
use connections::{ClusterConnectionStates, ConnectionState};
use idempotence::Idempotence;
use init_producer_id::PendingInitProducerId;
use sender::InFlightProduce;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use transaction_manager::TransactionManager;

/// The producer's named deadlines (docs/STYLE.md, rule 14), in the order
/// [`Producer::run_once`] handles their kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProducerTimer {
    /// The produce request with this correlation id gets no answer by then: its connection
    /// is closed. Set when the request is sent; cancelled when it is answered or its
    /// connection closes.
    RequestTimeout(CorrelationId),
    /// The metadata tracker's request timeout and refresh.
    Metadata(MetadataTimer),
    /// The batch fails with `DeliveryTimeout` unless it completes first (KIP-91). Set when
    /// the batch is created; cancelled when it completes.
    DeliveryTimeout(BatchId),
    /// The partition's front batch, never sent, may leave: `linger_ms` after its creation,
    /// or at its creation when it is full or another batch queues behind it. Set only while
    /// the partition's leader is known and has a free in-flight slot.
    Linger(TopicPartition),
    /// The partition's front batch, a retry, may leave again: `retry_backoff_ms` after its
    /// last attempt failed. Set only while the leader is known and has a free slot.
    RetryBackoff(TopicPartition),
    /// The connection to the broker: while connecting, the setup deadline
    /// (`socket_connection_setup_timeout_ms`); while backing off after a close, the end of
    /// the reconnect backoff. See `connections.rs`.
    Connection(BrokerId),
    /// An idempotent producer's failed InitProducerId may be sent again
    /// (`retry_backoff_ms` after it failed). See `init_producer_id.rs`.
    InitProducerIdBackoff,
    /// A transactional producer's failed request (FindCoordinator, InitProducerId,
    /// AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn) may be sent again
    /// (`retry_backoff_ms` after it failed). See `transactional_requests.rs`.
    TransactionBackoff,
}

impl From<MetadataTimer> for ProducerTimer {
    fn from(timer: MetadataTimer) -> Self {
        ProducerTimer::Metadata(timer)
    }
}

impl fmt::Display for ProducerTimer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProducerTimer::RequestTimeout(correlation) => {
                write!(formatter, "request-timeout-{correlation}")
            }
            ProducerTimer::Metadata(timer) => write!(formatter, "{timer}"),
            ProducerTimer::DeliveryTimeout(batch) => write!(formatter, "delivery-timeout-{batch}"),
            ProducerTimer::Linger(partition) => write!(formatter, "linger-{partition}"),
            ProducerTimer::RetryBackoff(partition) => {
                write!(formatter, "retry-backoff-{partition}")
            }
            ProducerTimer::Connection(broker) => write!(formatter, "connection-b{}", broker.0),
            ProducerTimer::InitProducerIdBackoff => formatter.write_str("init-producer-id-backoff"),
            ProducerTimer::TransactionBackoff => formatter.write_str("transaction-backoff"),
        }
    }
}

/// The producer actor, node `NodeId::Producer(client)`.
#[derive(Clone, Debug)]
pub struct Producer {
    client: ClientId,
    config: ProducerConfig,
    partitioner: Partitioner,
    metadata: ClientMetadata,
    accumulator: RecordAccumulator,
    in_flight: BTreeMap<CorrelationId, InFlightProduce>,
    connections: ClusterConnectionStates,
    next_correlation: u64,
    unfinished_sends: usize,
    /// The topic the application's records go to.
    topic: TopicName,
    /// Every deadline of the producer, by name.
    timers: TimerTable<ProducerTimer>,
    /// The producer id, epoch and sequences; `Some` exactly when idempotence is on.
    idempotence: Option<Idempotence>,
    pending_init_producer_id: Option<PendingInitProducerId>,
    /// Turns the brokers an InitProducerId is tried on: advanced on every failure.
    next_init_producer_id_broker: usize,
    /// The transaction manager; `Some` exactly when `transactional_id` is set.
    transactions: Option<TransactionManager>,
    /// UNKNOWN_PRODUCER_ID as producers before KIP-360 read it (`unknown_producer.rs`).
    pre_kip_360: unknown_producer::PreKip360,
}

impl Producer {
    /// A producer that writes to `topic`, which has `partition_count` partitions.
    pub fn new(
        client: ClientId,
        config: ProducerConfig,
        bootstrap_brokers: Vec<BrokerId>,
        topic: TopicName,
        partition_count: u32,
    ) -> Producer {
        let mut timers = TimerTable::default();
        let idempotent = config.idempotence_enabled();
        let transactional_id = config.transactional_id.clone().filter(|_| idempotent);
        let metadata = ClientMetadata::new(
            bootstrap_brokers,
            config.request_timeout_ms,
            config.retry_backoff_ms,
            config.metadata_max_age_ms,
            &mut timers,
        );
        Producer {
            client,
            topic,
            partitioner: Partitioner::new(config.partitioner, partition_count),
            accumulator: RecordAccumulator::new(config.batch_size_records, config.linger_ms),
            connections: ClusterConnectionStates::new(&config),
            config,
            metadata,
            in_flight: BTreeMap::new(),
            next_correlation: 1,
            unfinished_sends: 0,
            timers,
            idempotence: idempotent.then(Idempotence::default),
            pending_init_producer_id: None,
            next_init_producer_id_broker: 0,
            transactions: transactional_id.map(|id| TransactionManager::new(id, true)),
            pre_kip_360: unknown_producer::PreKip360::default(),
        }
    }

    /// Applies the client-side halves of bug switches: `no-epoch-bump-per-transaction`
    /// makes a transactional producer speak transactions version 1 (AddPartitionsToTxn and
    /// AddOffsetsToTxn before writing, the same epoch after EndTxn);
    /// `reset-sequence-on-unknown-producer` makes an idempotent producer answer
    /// UNKNOWN_PRODUCER_ID as before KIP-360 (`unknown_producer.rs`).
    pub fn with_bug_switches(mut self, bugs: BugSwitches) -> Producer {
        if let Some(manager) = self.transactions.as_mut() {
            manager.transaction_version_2 = !bugs.no_epoch_bump_per_transaction;
        }
        self.pre_kip_360 =
            unknown_producer::PreKip360::new(bugs.reset_sequence_on_unknown_producer);
        self
    }

    /// Numbers this instance's requests from `first` on: a process that replaces a fenced
    /// producer with a new instance keeps the old one's late answers apart from its own.
    pub fn set_first_correlation(&mut self, first: u64) {
        self.next_correlation = self.next_correlation.max(first);
    }

    /// This producer's node id.
    pub fn node(&self) -> NodeId {
        NodeId::Producer(self.client)
    }

    /// The application sends one record (value unique per run). Returns effects to execute now.
    pub fn send(&mut self, now_ms: u64, value: u64, key: Option<u64>) -> Vec<Effect> {
        let partition = TopicPartition::new(self.topic, self.partitioner.partition(key));
        let mut effects = Vec::new();
        if let Some(manager) = self.transactions.as_mut() {
            if manager.state != TransactionState::InTransaction {
                // Kafka throws (IllegalStateException, or the error that broke the
                // transaction): the record never reaches the accumulator.
                let error = manager.refuse();
                effects.push(Effect::Event(Event::SendCompleted {
                    value,
                    partition,
                    result: Err(SendFailure {
                        error,
                        definite: true,
                    }),
                }));
                self.run_once(now_ms, &mut effects);
                self.check_invariants();
                return effects;
            }
            manager.add_partition(partition);
        }
        let record = ProducerRecord::application(value, key);
        if let Some(batch) = self.accumulator.append(now_ms, partition, record) {
            self.timers.set(
                ProducerTimer::DeliveryTimeout(batch),
                now_ms.saturating_add(self.config.delivery_timeout_ms),
            );
        }
        self.unfinished_sends += 1;
        self.run_once(now_ms, &mut effects);
        self.check_invariants();
        effects
    }

    /// Records sent by the application whose outcome (SendCompleted) has not been reported yet.
    pub fn unfinished_sends(&self) -> usize {
        self.unfinished_sends
    }

    /// Handles every timer due by now, and does what a new input may have made possible,
    /// in Kafka's `Sender.runOnce` order: request timeouts, the metadata request's timeout,
    /// delivery timeouts, metadata (asked for when a partition with batches has no known
    /// leader, sent when [`MetadataTimer::Refresh`] is due), then draining the batches whose
    /// readiness timer is due. Each step sees the timers the steps before it set or
    /// cancelled, so a timer that comes due on the way (a refresh asked for by a failure) is
    /// handled in the same pass, as Kafka's loop does.
    fn run_once(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        self.time_out_requests(now_ms, effects);
        if let Some(broker) = self.metadata.on_request_timeout(now_ms, &mut self.timers) {
            effects.push(Effect::Mark(Mark::ProducerRequestTimedOut));
            self.close_connection(now_ms, broker, effects);
        }
        self.handle_connection_timers(now_ms, effects);
        self.expire_batches(now_ms, effects);
        self.update_idempotence(now_ms, effects);
        self.run_transactional(now_ms, effects);
        let leaderless = self
            .accumulator
            .any_waiting(|partition| self.metadata.leader(partition).is_none());
        if leaderless && self.metadata.has_image() {
            self.metadata.request_update(now_ms, &mut self.timers);
        }
        if let Some(effect) =
            self.metadata
                .maybe_send_request(now_ms, &mut self.next_correlation, &mut self.timers)
        {
            effects.push(effect);
        }
        self.drain(now_ms, effects);
    }

    /// The connection to `broker` closed under the producer: its process stopped, it closed
    /// the connection (an acks=0 produce it could not take), it refused a new one, or the
    /// setup timed out. As Kafka's `NetworkClient.handleDisconnections` and
    /// `Sender.handleProduceResponse` do: every request in flight to it fails with
    /// `NetworkException` (indefinite: it may have been appended; retriable), metadata is
    /// refreshed (`NetworkException` is an `InvalidMetadataException`), and the broker is not
    /// ready until a new connection is established after the reconnect backoff.
    fn on_disconnect(&mut self, now_ms: u64, broker: BrokerId, effects: &mut Vec<Effect>) {
        effects.push(Effect::Mark(Mark::ProducerDisconnected));
        self.connections.on_closed(now_ms, broker, &mut self.timers);
        self.metadata
            .on_connection_closed(now_ms, broker, &mut self.timers);
        self.close_connection(now_ms, broker, effects);
        self.metadata.request_update(now_ms, &mut self.timers);
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
        if applied == (MetadataApplied::Applied { refreshed: true }) {
            effects.push(Effect::Mark(Mark::ProducerMetadataRefreshed));
        }
    }

    /// The readiness timer `partition` should have: its front batch's (see
    /// [`RecordAccumulator::ready_timer`]) while its leader is known, has a free in-flight
    /// slot and a connection that is ready or may be opened, otherwise none (the batch could
    /// not leave, so its readiness must not wake the producer).
    fn wanted_readiness_timer(&self, partition: TopicPartition) -> Option<(ProducerTimer, u64)> {
        let (leader, _) = self.metadata.leader(partition)?;
        if !self.has_capacity(leader)
            || !self.connections.may_send_or_connect(leader)
            || !self.idempotence_allows_drain(partition)
        {
            return None;
        }
        self.accumulator.ready_timer(partition)
    }

    /// The one place that sets and cancels the readiness timers, which depend on the leader,
    /// its free slots and the front batch, all of which other inputs change. The drain calls
    /// it for every partition it looks at.
    fn sync_readiness_timer(&mut self, partition: TopicPartition) {
        let wanted = self.wanted_readiness_timer(partition);
        for timer in [
            ProducerTimer::Linger(partition),
            ProducerTimer::RetryBackoff(partition),
        ] {
            if wanted.map(|(wanted_timer, _)| wanted_timer) != Some(timer) {
                self.timers.cancel(timer);
            }
        }
        if let Some((timer, at_ms)) = wanted {
            self.timers.set(timer, at_ms);
        }
    }

    /// Asserts the invariants in the module header: the table holds exactly the timers the
    /// state calls for, with the deadlines the state implies. The cross-check walks every
    /// timer and every request after every input, so only test builds (debug assertions)
    /// run it; release sweeps keep the table's own ordering check.
    fn check_invariants(&self) {
        self.timers.check_invariants();
        if let Some(idempotence) = &self.idempotence {
            idempotence.check_invariants();
        }
        if !cfg!(debug_assertions) {
            return;
        }
        self.metadata.check_timers(&self.timers);
        // Every batch not yet completed: queued or in flight. Scanned, not collected: this
        // check runs after every input.
        let batches = || {
            self.accumulator.batches().map(|batch| batch.id).chain(
                self.in_flight
                    .values()
                    .filter_map(|request| request.batch.as_ref().map(|batch| batch.id)),
            )
        };
        for (timer, at_ms) in self.timers.iter() {
            let expected = match timer {
                ProducerTimer::RequestTimeout(correlation) => {
                    self.in_flight.contains_key(&correlation)
                        || self.is_transactional_correlation(correlation)
                        || self
                            .pending_init_producer_id
                            .is_some_and(|pending| pending.correlation == correlation)
                }
                ProducerTimer::InitProducerIdBackoff => {
                    self.idempotence.is_some() && self.pending_init_producer_id.is_none()
                }
                ProducerTimer::TransactionBackoff => {
                    self.transactions.is_some() && self.transactional_in_flight().is_none()
                }
                ProducerTimer::Metadata(_) => true,
                ProducerTimer::DeliveryTimeout(batch) => batches().any(|id| id == batch),
                ProducerTimer::Linger(partition) | ProducerTimer::RetryBackoff(partition) => {
                    self.wanted_readiness_timer(partition) == Some((timer, at_ms))
                }
                ProducerTimer::Connection(broker) => {
                    self.connections.wanted_timer_ms(broker) == Some(at_ms)
                }
            };
            assert!(
                expected,
                "producer {}: timer {timer} at {at_ms} matches no state",
                self.client
            );
        }
        if let Some((correlation, _)) = self.transactional_in_flight() {
            assert!(
                self.timers
                    .deadline_ms(ProducerTimer::RequestTimeout(correlation))
                    .is_some(),
                "producer {}: transactional request {correlation} has no timeout",
                self.client
            );
        }
        for correlation in self.in_flight.keys() {
            assert!(
                self.timers
                    .deadline_ms(ProducerTimer::RequestTimeout(*correlation))
                    .is_some(),
                "producer {}: request {correlation} has no timeout",
                self.client
            );
        }
        for batch in batches() {
            assert!(
                self.timers
                    .deadline_ms(ProducerTimer::DeliveryTimeout(batch))
                    .is_some(),
                "producer {}: {batch} has no delivery timeout",
                self.client
            );
        }
        for broker in self.connections.brokers() {
            assert_eq!(
                self.timers.deadline_ms(ProducerTimer::Connection(broker)),
                self.connections.wanted_timer_ms(broker),
                "producer {}: connection timer of broker {broker}",
                self.client
            );
        }
        for partition in self.accumulator.partitions() {
            if let Some((timer, at_ms)) = self.wanted_readiness_timer(partition) {
                assert_eq!(
                    self.timers.deadline_ms(timer),
                    Some(at_ms),
                    "producer {}: readiness timer {timer}",
                    self.client
                );
            }
        }
    }
}

impl Actor for Producer {
    fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Effect> {
        let mut effects = Vec::new();
        match input {
            // The timers named in `Input::Timers` were read from this table just before; the
            // pass below handles them, with every other timer due by now. The table is the
            // authority on deadlines: a name it no longer holds as due is stale and changes
            // nothing.
            Input::Start | Input::Timers(_) => {}
            Input::Message { from, message }
                if self.transactions.is_some()
                    && self.on_transactional_response(now_ms, from, &message, &mut effects) => {}
            Input::Message { from, message } => match &message {
                Message::MetadataResponse(response) => {
                    self.on_metadata_response(now_ms, from, response, &mut effects);
                }
                Message::ProduceResponse(response) => {
                    self.on_produce_response(now_ms, from, response, &mut effects);
                }
                Message::InitProducerIdResponse(response) => {
                    self.on_init_producer_id_response(now_ms, from, response, &mut effects);
                }
                // Nothing else is addressed to a producer; ignore rather than panic.
                _ => {}
            },
            Input::ConnectionClosed {
                peer: NodeId::Broker(broker),
            } => self.on_disconnect(now_ms, broker, &mut effects),
            Input::ConnectionEstablished {
                peer: NodeId::Broker(broker),
            } => self.connections.on_established(broker, &mut self.timers),
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
        self.timers.due(now_ms).map(Timer::Producer).collect()
    }
}
