//! The producer: Kafka's `KafkaProducer` + `RecordAccumulator` + `Sender`, without
//! idempotence, as a sans-IO state machine.
//!
//! A record the application sends goes to a partition (see [`crate::partitioner`]), into that
//! partition's *accumulator* queue of batches, and leaves in a `ProduceRequest` to the
//! partition's leader when its batch is ready (full, lingered `linger_ms`, or followed by
//! another batch; a retried batch once `retry_backoff_ms` has passed).
//!
//! Invariants:
//! - every record sent by the application gets exactly one `SendCompleted` event, at the
//!   latest `delivery_timeout_ms` after its batch was created (Kafka's KIP-91 bound, which
//!   counts from the batch's creation, as here);
//! - at most `max_in_flight_requests_per_connection` requests wait for an answer per broker,
//!   and each has a deadline `request_timeout_ms` after it was sent;
//! - a response is applied only if it answers a request still in flight on that connection
//!   (a timed-out request's late answer is ignored, since Kafka has closed the connection);
//! - a failure is reported *definite* only if no attempt of the batch can have been appended.
//!
//! Ordering without idempotence follows Kafka: a failed batch is put back at the *front* of
//! its partition's queue (`RecordAccumulator.reenqueue` uses `addFirst`), which is behind every
//! batch already sent. With more than one request in flight, a later batch can therefore be
//! appended before an earlier one that is retried: reordering, and duplicates when the failed
//! attempt had in fact been appended.
//!
//! `enable_idempotence` is not implemented yet: the setting is accepted and ignored, every
//! record goes out with `producer_stamp: None`.
//!
//! The queues are bounded by time rather than by count: every batch leaves the accumulator
//! at the latest `delivery_timeout_ms` after its creation, and retries are bounded by
//! `retries` and that same deadline. (Kafka bounds the accumulator by `buffer.memory` and
//! blocks `send`; records here have no size.)

use crate::actor::{Actor, Effect, Input, Timer};
use crate::client_metadata::{ClientMetadata, MetadataApplied};
use crate::config::ProducerConfig;
use crate::error::ErrorCode;
use crate::event::{Event, SendFailure};
use crate::ids::{BrokerId, ClientId, CorrelationId, NodeId, Offset, PartitionId};
use crate::partitioner::Partitioner;
use crate::protocol::{Acks, Message};
use crate::protocol::{MetadataResponse, ProduceRequest, ProduceResponse};
use crate::record::ProducerRecord;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Coverage marks of the producer.
pub mod marks {
    use crate::mark::Mark;
    /// A failed batch was queued to be sent again.
    pub const PRODUCER_RETRIED: Mark = Mark::ProducerRetried;
    /// A request got no answer within `request_timeout_ms`; its connection was closed.
    pub const PRODUCER_REQUEST_TIMED_OUT: Mark = Mark::ProducerRequestTimedOut;
    /// A metadata image replaced an earlier one.
    pub const PRODUCER_METADATA_REFRESHED: Mark = Mark::ProducerMetadataRefreshed;
    /// A batch failed for good (retries exhausted, a non-retriable error, or the delivery
    /// timeout).
    pub const PRODUCER_GAVE_UP: Mark = Mark::ProducerGaveUp;
}

/// Records of one partition that travel together in one `ProduceRequest`
/// (Kafka's `ProducerBatch`).
#[derive(Clone, Debug)]
struct ProducerBatch {
    partition: PartitionId,
    records: Vec<ProducerRecord>,
    /// When the first record was added: linger and delivery timeout count from here.
    created_ms: u64,
    /// How many times the batch has been sent.
    attempts: u32,
    /// A retried batch waits in the accumulator until then.
    retry_not_before_ms: u64,
    /// Whether some attempt may have been appended: it timed out, its connection closed, or
    /// it ended with an error that does not rule out an append.
    possibly_appended: bool,
}

/// A `ProduceRequest` waiting for its answer.
#[derive(Clone, Debug)]
struct InFlightProduce {
    broker: BrokerId,
    /// When the request times out (`request_timeout_ms` after it was sent).
    deadline_ms: u64,
    /// `None` once the delivery timeout has already failed the batch: the request still
    /// occupies its in-flight slot until it is answered or times out, as in Kafka.
    batch: Option<ProducerBatch>,
}

/// The producer actor, node `NodeId::Producer(client)`.
#[derive(Clone, Debug)]
pub struct Producer {
    client: ClientId,
    config: ProducerConfig,
    partitioner: Partitioner,
    metadata: ClientMetadata,
    /// Per partition, the batches not yet sent (or waiting to be sent again), oldest first.
    accumulator: BTreeMap<PartitionId, VecDeque<ProducerBatch>>,
    in_flight: BTreeMap<CorrelationId, InFlightProduce>,
    next_correlation: u64,
    unfinished_sends: usize,
}

impl Producer {
    pub fn new(
        client: ClientId,
        config: ProducerConfig,
        bootstrap_brokers: Vec<BrokerId>,
        partition_count: u32,
    ) -> Producer {
        let metadata = ClientMetadata::new(
            bootstrap_brokers,
            config.request_timeout_ms,
            config.retry_backoff_ms,
            config.metadata_max_age_ms,
        );
        Producer {
            client,
            partitioner: Partitioner::new(config.partitioner, partition_count),
            config,
            metadata,
            accumulator: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            next_correlation: 1,
            unfinished_sends: 0,
        }
    }

    /// This producer's node id.
    pub fn node(&self) -> NodeId {
        NodeId::Producer(self.client)
    }

    /// The application sends one record (value unique per run). Returns effects to execute now.
    pub fn send(&mut self, now_ms: u64, value: u64, key: Option<u64>) -> Vec<Effect> {
        let partition = self.partitioner.partition(key);
        let record = ProducerRecord {
            value,
            key,
            producer_stamp: None,
        };
        let batch_size_records = self.batch_size_records();
        let queue = self.accumulator.entry(partition).or_default();
        match queue.back_mut() {
            // Only a batch never sent takes more records (Kafka closes a batch for appends
            // once it is drained).
            Some(batch) if batch.attempts == 0 && batch.records.len() < batch_size_records => {
                batch.records.push(record);
            }
            _ => queue.push_back(ProducerBatch {
                partition,
                records: vec![record],
                created_ms: now_ms,
                attempts: 0,
                retry_not_before_ms: now_ms,
                possibly_appended: false,
            }),
        }
        self.unfinished_sends += 1;
        let mut effects = Vec::new();
        self.poll(now_ms, &mut effects);
        effects
    }

    /// Records sent by the application whose outcome (SendCompleted) has not been reported yet.
    pub fn unfinished_sends(&self) -> usize {
        self.unfinished_sends
    }

    fn batch_size_records(&self) -> usize {
        usize::try_from(self.config.batch_size_records.max(1)).unwrap_or(usize::MAX)
    }

    fn request_timeout_ms(&self) -> u64 {
        // A zero timeout would expire a request at the instant it is sent, forever.
        self.config.request_timeout_ms.max(1)
    }

    fn delivery_deadline_ms(&self, batch: &ProducerBatch) -> u64 {
        batch
            .created_ms
            .saturating_add(self.config.delivery_timeout_ms)
    }

    /// Whether an attempt that ended with `error` certainly appended nothing.
    ///
    /// [`ErrorCode::is_definite_for_produce`] answers for any produce. The producer knows one
    /// thing more, its `acks`: a broker answers `NotLeaderOrFollower` either when the request
    /// arrives (before appending) or, for acks=all only, from the purgatory when it loses
    /// leadership *after* appending. So with acks=1 that error is definite for the attempt,
    /// with acks=all it is not.
    fn attempt_is_definite(&self, error: ErrorCode) -> bool {
        error.is_definite_for_produce()
            || (error == ErrorCode::NotLeaderOrFollower && self.config.acks != Acks::All)
    }

    fn in_flight_count(&self, broker: BrokerId) -> usize {
        self.in_flight
            .values()
            .filter(|request| request.broker == broker)
            .count()
    }

    fn has_capacity(&self, broker: BrokerId) -> bool {
        // acks=0 requests complete when written: they never occupy an in-flight slot.
        self.config.acks == Acks::None
            || self.in_flight_count(broker)
                < usize::try_from(self.config.max_in_flight_requests_per_connection.max(1))
                    .unwrap_or(usize::MAX)
    }

    /// When the front batch of a partition's queue may leave (Kafka's
    /// `RecordAccumulator.ready`): a retried batch after its backoff; a full batch, or one
    /// with another batch behind it, at once; otherwise after `linger_ms`.
    fn ready_at_ms(&self, queue: &VecDeque<ProducerBatch>) -> Option<u64> {
        let batch = queue.front()?;
        Some(if batch.attempts > 0 {
            batch.retry_not_before_ms
        } else if batch.records.len() >= self.batch_size_records() || queue.len() > 1 {
            batch.created_ms
        } else {
            batch.created_ms.saturating_add(self.config.linger_ms)
        })
    }

    /// Everything time or a new input may have made due, in Kafka's `Sender.runOnce` order:
    /// request timeouts, delivery timeouts, metadata, then draining ready batches.
    fn poll(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        self.maybe_time_out_requests(now_ms, effects);
        if let Some(broker) = self.metadata.on_tick(now_ms) {
            effects.push(Effect::Mark(marks::PRODUCER_REQUEST_TIMED_OUT));
            self.close_connection(now_ms, broker, effects);
        }
        self.maybe_expire_batches(now_ms, effects);
        let leaderless = self.accumulator.iter().any(|(partition, queue)| {
            !queue.is_empty() && self.metadata.leader(*partition).is_none()
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
        self.drain(now_ms, effects);
    }

    /// Closes every connection with a request past its deadline.
    fn maybe_time_out_requests(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        let timed_out: BTreeSet<BrokerId> = self
            .in_flight
            .values()
            .filter(|request| request.deadline_ms <= now_ms)
            .map(|request| request.broker)
            .collect();
        for broker in timed_out {
            effects.push(Effect::Mark(marks::PRODUCER_REQUEST_TIMED_OUT));
            self.metadata.on_connection_closed(now_ms, broker);
            self.close_connection(now_ms, broker, effects);
        }
    }

    /// Fails every request in flight to `broker`, as Kafka's `NetworkClient` does when it
    /// closes a connection: the requests past their deadline with `ClientTimeout`, the others
    /// with `NetworkException`. Both are indefinite. Failed batches go back to the front of
    /// their queues in their original order.
    fn close_connection(&mut self, now_ms: u64, broker: BrokerId, effects: &mut Vec<Effect>) {
        let correlations: Vec<CorrelationId> = self
            .in_flight
            .iter()
            .filter(|(_, request)| request.broker == broker)
            .map(|(correlation, _)| *correlation)
            .collect();
        let mut retried = Vec::new();
        for correlation in correlations {
            let Some(request) = self.in_flight.remove(&correlation) else {
                continue;
            };
            let error = if request.deadline_ms <= now_ms {
                ErrorCode::ClientTimeout
            } else {
                ErrorCode::NetworkException
            };
            if let Some(batch) = request.batch {
                if let Some(batch) = self.fail_attempt(now_ms, batch, error, effects) {
                    retried.push(batch);
                }
            }
        }
        for batch in retried.into_iter().rev() {
            self.accumulator
                .entry(batch.partition)
                .or_default()
                .push_front(batch);
        }
    }

    /// Fails batches whose delivery timeout has passed, in the accumulator and in flight
    /// (Kafka's `RecordAccumulator.expiredBatches` and `Sender.getExpiredInflightBatches`).
    fn maybe_expire_batches(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        let delivery_timeout_ms = self.config.delivery_timeout_ms;
        let is_expired =
            |batch: &ProducerBatch| batch.created_ms.saturating_add(delivery_timeout_ms) <= now_ms;
        let mut expired = Vec::new();
        for queue in self.accumulator.values_mut() {
            let mut kept = VecDeque::with_capacity(queue.len());
            for batch in queue.drain(..) {
                if is_expired(&batch) {
                    expired.push(batch);
                } else {
                    kept.push_back(batch);
                }
            }
            *queue = kept;
        }
        for request in self.in_flight.values_mut() {
            if request.batch.as_ref().is_some_and(is_expired) {
                if let Some(mut batch) = request.batch.take() {
                    // The request is on the wire: it may be appended.
                    batch.possibly_appended = true;
                    expired.push(batch);
                }
            }
        }
        expired.sort_by_key(|batch| (batch.created_ms, batch.partition));
        for batch in expired {
            self.give_up(batch, ErrorCode::DeliveryTimeout, effects);
        }
    }

    /// Sends every ready batch whose leader is known and has a free in-flight slot, one batch
    /// per partition per round (Kafka's `drain` rotates over partitions the same way).
    fn drain(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        loop {
            let mut sent_any = false;
            let partitions: Vec<PartitionId> = self.accumulator.keys().copied().collect();
            for partition in partitions {
                let Some((leader, _)) = self.metadata.leader(partition) else {
                    continue;
                };
                let ready = self
                    .accumulator
                    .get(&partition)
                    .and_then(|queue| self.ready_at_ms(queue))
                    .is_some_and(|ready_at_ms| ready_at_ms <= now_ms);
                if !ready || !self.has_capacity(leader) {
                    continue;
                }
                let Some(batch) = self
                    .accumulator
                    .get_mut(&partition)
                    .and_then(VecDeque::pop_front)
                else {
                    continue;
                };
                self.send_batch(now_ms, leader, batch, effects);
                sent_any = true;
            }
            if !sent_any {
                break;
            }
        }
        self.accumulator.retain(|_, queue| !queue.is_empty());
    }

    fn send_batch(
        &mut self,
        now_ms: u64,
        leader: BrokerId,
        mut batch: ProducerBatch,
        effects: &mut Vec<Effect>,
    ) {
        let correlation = CorrelationId(self.next_correlation);
        self.next_correlation += 1;
        batch.attempts = batch.attempts.saturating_add(1);
        effects.push(Effect::Send {
            to: NodeId::Broker(leader),
            message: Message::Produce(ProduceRequest {
                correlation,
                partition: batch.partition,
                acks: self.config.acks,
                timeout_ms: self.config.request_timeout_ms,
                records: batch.records.clone(),
            }),
        });
        if self.config.acks == Acks::None {
            // acks=0: the producer never hears back; Kafka completes the batch once written.
            self.complete(&batch, |_| Ok(None), effects);
            return;
        }
        let deadline_ms = now_ms.saturating_add(self.request_timeout_ms());
        self.in_flight.insert(
            correlation,
            InFlightProduce {
                broker: leader,
                deadline_ms,
                batch: Some(batch),
            },
        );
    }

    fn on_produce_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation: CorrelationId,
        partition: PartitionId,
        result: Result<Offset, ErrorCode>,
        effects: &mut Vec<Effect>,
    ) {
        let answers_request = self.in_flight.get(&correlation).is_some_and(|request| {
            from == NodeId::Broker(request.broker)
                && match &request.batch {
                    Some(batch) => batch.partition == partition,
                    None => true,
                }
        });
        if !answers_request {
            // Late (its connection was closed) or not ours: Kafka would never see it.
            return;
        }
        let Some(request) = self.in_flight.remove(&correlation) else {
            return;
        };
        let Some(batch) = request.batch else {
            // Already failed by the delivery timeout; the answer only frees the slot.
            return;
        };
        match result {
            Ok(base_offset) => {
                self.complete(
                    &batch,
                    |index| Ok(Some(Offset(base_offset.0.saturating_add(index)))),
                    effects,
                );
            }
            Err(error) => {
                if let Some(batch) = self.fail_attempt(now_ms, batch, error, effects) {
                    self.accumulator
                        .entry(batch.partition)
                        .or_default()
                        .push_front(batch);
                }
            }
        }
    }

    /// One attempt of `batch` failed with `error`. Returns the batch if it is to be retried
    /// (the caller puts it back at the front of its queue); otherwise reports the failure.
    /// Kafka's `Sender.completeBatch` / `canRetry`.
    fn fail_attempt(
        &mut self,
        now_ms: u64,
        mut batch: ProducerBatch,
        error: ErrorCode,
        effects: &mut Vec<Effect>,
    ) -> Option<ProducerBatch> {
        if !self.attempt_is_definite(error) {
            batch.possibly_appended = true;
        }
        // PROTOCOL.md: metadata is refreshed after any error (Kafka only does so for
        // `InvalidMetadataException`s and disconnects; refreshing more often is harmless).
        self.metadata.request_update(now_ms);
        let can_retry = error.is_retriable()
            && batch.attempts <= self.config.retries
            && now_ms < self.delivery_deadline_ms(&batch);
        if can_retry {
            batch.retry_not_before_ms = now_ms.saturating_add(self.config.retry_backoff_ms);
            effects.push(Effect::Mark(marks::PRODUCER_RETRIED));
            Some(batch)
        } else {
            self.give_up(batch, error, effects);
            None
        }
    }

    fn give_up(&mut self, batch: ProducerBatch, error: ErrorCode, effects: &mut Vec<Effect>) {
        let failure = SendFailure {
            error,
            definite: !batch.possibly_appended,
        };
        self.complete(&batch, |_| Err(failure), effects);
        effects.push(Effect::Mark(marks::PRODUCER_GAVE_UP));
    }

    /// Reports the outcome of every record of `batch`; `result_of(i)` for record `i`.
    fn complete(
        &mut self,
        batch: &ProducerBatch,
        result_of: impl Fn(u64) -> Result<Option<Offset>, SendFailure>,
        effects: &mut Vec<Effect>,
    ) {
        for (index, record) in (0u64..).zip(&batch.records) {
            effects.push(Effect::Event(Event::SendCompleted {
                value: record.value,
                partition: batch.partition,
                result: result_of(index),
            }));
        }
        assert!(
            self.unfinished_sends >= batch.records.len(),
            "producer {}: completing {} records with only {} unfinished",
            self.client,
            batch.records.len(),
            self.unfinished_sends
        );
        self.unfinished_sends -= batch.records.len();
    }
}

impl Actor for Producer {
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
                    if applied == (MetadataApplied::Applied { refreshed: true }) {
                        effects.push(Effect::Mark(marks::PRODUCER_METADATA_REFRESHED));
                    }
                }
                Message::ProduceResponse(ProduceResponse {
                    correlation,
                    partition,
                    result,
                }) => {
                    self.on_produce_response(
                        now_ms,
                        from,
                        correlation,
                        partition,
                        result,
                        &mut effects,
                    );
                }
                // Nothing else is addressed to a producer; ignore rather than panic.
                _ => {}
            },
        }
        self.poll(now_ms, &mut effects);
        effects
    }

    /// The earliest of: the metadata request's deadline or next refresh, every in-flight
    /// request's timeout, every batch's delivery timeout, and the time the front batch of a
    /// partition becomes ready when nothing else holds it back (known leader, free slot).
    /// After every `handle` everything due has been done, so this is always in the future.
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
        let metadata = self.metadata.next_deadline_ms();
        let requests = self.in_flight.values().flat_map(|request| {
            let delivery = request
                .batch
                .as_ref()
                .map(|batch| self.delivery_deadline_ms(batch));
            [Some(request.deadline_ms), delivery]
        });
        let deliveries = self
            .accumulator
            .values()
            .flatten()
            .map(|batch| Some(self.delivery_deadline_ms(batch)));
        let readiness = self.accumulator.iter().map(|(partition, queue)| {
            let (leader, _) = self.metadata.leader(*partition)?;
            if !self.has_capacity(leader) {
                return None;
            }
            self.ready_at_ms(queue)
        });
        std::iter::once(metadata)
            .chain(requests)
            .chain(deliveries)
            .chain(readiness)
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::Timer;
    use crate::config::Partitioner as PartitionerConfig;
    use crate::ids::LeaderEpoch;
    use crate::ids::PartitionEpoch;
    use crate::metadata::{MetadataImage, PartitionState};
    use crate::protocol::{MetadataRequest, MetadataUpdate};

    const CLIENT: ClientId = ClientId(1);
    const P0: PartitionId = PartitionId(0);

    fn b(id: u32) -> BrokerId {
        BrokerId(id)
    }

    fn config() -> ProducerConfig {
        ProducerConfig {
            acks: Acks::Leader,
            retries: 3,
            retry_backoff_ms: 100,
            request_timeout_ms: 1_000,
            delivery_timeout_ms: 5_000,
            max_in_flight_requests_per_connection: 5,
            linger_ms: 0,
            batch_size_records: 16,
            partitioner: PartitionerConfig::Explicit(P0),
            metadata_max_age_ms: 60_000,
            enable_idempotence: false,
        }
    }

    /// An image in which broker `leader` leads every one of `partition_count` partitions.
    fn image(version: u64, partition_count: u32, leader: u32, epoch: u32) -> MetadataImage {
        let partitions = (0..partition_count)
            .map(|partition| {
                let state = PartitionState {
                    partition: PartitionId(partition),
                    replicas: vec![b(1), b(2), b(3)],
                    leader: Some(b(leader)),
                    leader_epoch: LeaderEpoch(epoch),
                    isr: vec![b(1), b(2), b(3)],
                    partition_epoch: PartitionEpoch(epoch),
                };
                (PartitionId(partition), state)
            })
            .collect();
        MetadataImage {
            version,
            live_brokers: vec![b(1), b(2), b(3)],
            partitions,
        }
    }

    fn metadata_request(to: u32, correlation: u64) -> Effect {
        Effect::Send {
            to: NodeId::Broker(b(to)),
            message: Message::Metadata(MetadataRequest {
                correlation: CorrelationId(correlation),
            }),
        }
    }

    fn metadata_response(from: u32, correlation: u64, metadata: MetadataImage) -> Input {
        Input::Message {
            from: NodeId::Broker(b(from)),
            message: Message::MetadataResponse(MetadataResponse {
                correlation: CorrelationId(correlation),
                metadata,
            }),
        }
    }

    fn produce(to: u32, correlation: u64, acks: Acks, values: &[u64]) -> Effect {
        Effect::Send {
            to: NodeId::Broker(b(to)),
            message: Message::Produce(ProduceRequest {
                correlation: CorrelationId(correlation),
                partition: P0,
                acks,
                timeout_ms: 1_000,
                records: values
                    .iter()
                    .map(|&value| ProducerRecord {
                        value,
                        key: None,
                        producer_stamp: None,
                    })
                    .collect(),
            }),
        }
    }

    fn produce_response(from: u32, correlation: u64, result: Result<Offset, ErrorCode>) -> Input {
        Input::Message {
            from: NodeId::Broker(b(from)),
            message: Message::ProduceResponse(ProduceResponse {
                correlation: CorrelationId(correlation),
                partition: P0,
                result,
            }),
        }
    }

    fn completed(value: u64, result: Result<Option<Offset>, SendFailure>) -> Effect {
        Effect::Event(Event::SendCompleted {
            value,
            partition: P0,
            result,
        })
    }

    fn acked(value: u64, offset: u64) -> Effect {
        completed(value, Ok(Some(Offset(offset))))
    }

    fn failed(value: u64, error: ErrorCode, definite: bool) -> Effect {
        completed(value, Err(SendFailure { error, definite }))
    }

    fn mark(name: crate::mark::Mark) -> Effect {
        Effect::Mark(name)
    }

    /// A producer that asked b1 for metadata at 0 and learned at 1 that `leader` leads p0.
    fn producer_with_metadata(config: ProducerConfig, bootstrap: &[u32], leader: u32) -> Producer {
        let bootstrap = bootstrap.iter().map(|&id| b(id)).collect();
        let mut producer = Producer::new(CLIENT, config, bootstrap, 1);
        assert_eq!(
            producer.handle(0, Input::Start),
            vec![metadata_request(1, 1)]
        );
        assert_eq!(
            producer.handle(1, metadata_response(1, 1, image(1, 1, leader, 0))),
            vec![]
        );
        producer
    }

    #[test]
    fn producer_sends_batch_to_leader_after_metadata() {
        let mut producer = Producer::new(CLIENT, config(), vec![b(1), b(2)], 1);
        assert_eq!(producer.node(), NodeId::Producer(CLIENT));
        assert_eq!(
            producer.handle(0, Input::Start),
            vec![metadata_request(1, 1)]
        );
        assert_eq!(producer.send(2, 10, None), vec![]);
        assert_eq!(producer.send(3, 11, None), vec![]);
        assert_eq!(producer.unfinished_sends(), 2);
        assert_eq!(producer.next_deadline_ms(), Some(1_000));
        assert_eq!(
            producer.handle(5, metadata_response(1, 1, image(1, 1, 2, 0))),
            vec![produce(2, 2, Acks::Leader, &[10, 11])]
        );
        // Next: the request's timeout, before the delivery timeout and the metadata refresh.
        assert_eq!(producer.next_deadline_ms(), Some(1_005));
        assert_eq!(producer.unfinished_sends(), 2);
    }

    #[test]
    fn acks0_reports_success_without_response() {
        let config = ProducerConfig {
            acks: Acks::None,
            ..config()
        };
        let mut producer = producer_with_metadata(config, &[1], 1);
        assert_eq!(
            producer.send(10, 7, None),
            vec![produce(1, 2, Acks::None, &[7]), completed(7, Ok(None))]
        );
        assert_eq!(producer.unfinished_sends(), 0);
        // Nothing waits for an answer: only the metadata refresh is left.
        assert_eq!(producer.next_deadline_ms(), Some(60_001));
    }

    #[test]
    fn acks1_ok_reports_offsets_per_record() {
        let mut producer = Producer::new(CLIENT, config(), vec![b(1)], 1);
        producer.handle(0, Input::Start);
        producer.send(1, 7, None);
        producer.send(1, 8, None);
        producer.send(1, 9, None);
        assert_eq!(
            producer.handle(2, metadata_response(1, 1, image(1, 1, 1, 0))),
            vec![produce(1, 2, Acks::Leader, &[7, 8, 9])]
        );
        assert_eq!(
            producer.handle(3, produce_response(1, 2, Ok(Offset(40)))),
            vec![acked(7, 40), acked(8, 41), acked(9, 42)]
        );
        assert_eq!(producer.unfinished_sends(), 0);
        assert_eq!(producer.next_deadline_ms(), Some(60_002));
    }

    #[test]
    fn request_timeout_retries_after_backoff_and_refreshes_metadata() {
        let mut producer = producer_with_metadata(config(), &[1, 2], 1);
        assert_eq!(
            producer.send(10, 7, None),
            vec![produce(1, 2, Acks::Leader, &[7])]
        );
        assert_eq!(producer.next_deadline_ms(), Some(1_010));
        assert_eq!(
            producer.handle(1_009, Input::Timers(vec![Timer::Deadline])),
            vec![]
        );
        // The connection to b1 is closed; metadata is asked of the other bootstrap broker.
        assert_eq!(
            producer.handle(1_010, Input::Timers(vec![Timer::Deadline])),
            vec![
                mark(marks::PRODUCER_REQUEST_TIMED_OUT),
                mark(marks::PRODUCER_RETRIED),
                metadata_request(2, 3),
            ]
        );
        assert_eq!(producer.next_deadline_ms(), Some(1_110));
        assert_eq!(
            producer.handle(1_020, metadata_response(2, 3, image(2, 1, 1, 0))),
            vec![mark(marks::PRODUCER_METADATA_REFRESHED)]
        );
        assert_eq!(
            producer.handle(1_110, Input::Timers(vec![Timer::Deadline])),
            vec![produce(1, 4, Acks::Leader, &[7])]
        );
        // The first attempt's answer comes too late: its connection is gone.
        assert_eq!(
            producer.handle(1_120, produce_response(1, 2, Ok(Offset(0)))),
            vec![]
        );
        assert_eq!(
            producer.handle(1_130, produce_response(1, 4, Ok(Offset(1)))),
            vec![acked(7, 1)]
        );
        assert_eq!(producer.unfinished_sends(), 0);
    }

    #[test]
    fn not_leader_error_refreshes_metadata_and_retries_to_new_leader() {
        let mut producer = producer_with_metadata(config(), &[1], 1);
        assert_eq!(
            producer.send(10, 7, None),
            vec![produce(1, 2, Acks::Leader, &[7])]
        );
        assert_eq!(
            producer.handle(
                20,
                produce_response(1, 2, Err(ErrorCode::NotLeaderOrFollower))
            ),
            vec![mark(marks::PRODUCER_RETRIED)]
        );
        // The metadata refresh backoff counts from the last request, at 0.
        assert_eq!(producer.next_deadline_ms(), Some(100));
        assert_eq!(
            producer.handle(100, Input::Timers(vec![Timer::Deadline])),
            vec![metadata_request(1, 3)]
        );
        assert_eq!(
            producer.handle(105, metadata_response(1, 3, image(2, 1, 2, 1))),
            vec![mark(marks::PRODUCER_METADATA_REFRESHED)]
        );
        assert_eq!(producer.next_deadline_ms(), Some(120));
        assert_eq!(
            producer.handle(120, Input::Timers(vec![Timer::Deadline])),
            vec![produce(2, 4, Acks::Leader, &[7])]
        );
        assert_eq!(
            producer.handle(125, produce_response(2, 4, Ok(Offset(3)))),
            vec![acked(7, 3)]
        );
    }

    /// Batch [1] is rejected while batch [2] is in flight and accepted: [2] lands at offset 0,
    /// the retried [1] behind it at offset 1. Without idempotence Kafka reorders the same way.
    #[test]
    fn retried_batch_lands_behind_later_batch_with_max_in_flight_5() {
        let config = ProducerConfig {
            acks: Acks::All,
            ..config()
        };
        let mut producer = producer_with_metadata(config, &[1], 1);
        assert_eq!(
            producer.send(10, 1, None),
            vec![produce(1, 2, Acks::All, &[1])]
        );
        assert_eq!(
            producer.send(11, 2, None),
            vec![produce(1, 3, Acks::All, &[2])]
        );
        assert_eq!(
            producer.handle(
                20,
                produce_response(1, 2, Err(ErrorCode::NotEnoughReplicas))
            ),
            vec![mark(marks::PRODUCER_RETRIED)]
        );
        assert_eq!(
            producer.handle(30, produce_response(1, 3, Ok(Offset(0)))),
            vec![acked(2, 0)]
        );
        assert_eq!(
            producer.handle(100, Input::Timers(vec![Timer::Deadline])),
            vec![metadata_request(1, 4)]
        );
        assert_eq!(
            producer.handle(101, metadata_response(1, 4, image(2, 1, 1, 0))),
            vec![mark(marks::PRODUCER_METADATA_REFRESHED)]
        );
        assert_eq!(
            producer.handle(120, Input::Timers(vec![Timer::Deadline])),
            vec![produce(1, 5, Acks::All, &[1])]
        );
        assert_eq!(
            producer.handle(130, produce_response(1, 5, Ok(Offset(1)))),
            vec![acked(1, 1)]
        );
    }

    #[test]
    fn delivery_timeout_fails_records_indefinitely_after_a_timeout() {
        let config = ProducerConfig {
            retries: u32::MAX,
            delivery_timeout_ms: 1_500,
            ..config()
        };
        let mut producer = producer_with_metadata(config, &[1], 1);
        assert_eq!(
            producer.send(10, 7, None),
            vec![produce(1, 2, Acks::Leader, &[7])]
        );
        assert_eq!(
            producer.handle(1_010, Input::Timers(vec![Timer::Deadline])),
            vec![
                mark(marks::PRODUCER_REQUEST_TIMED_OUT),
                mark(marks::PRODUCER_RETRIED),
                metadata_request(1, 3),
            ]
        );
        assert_eq!(
            producer.handle(1_015, metadata_response(1, 3, image(2, 1, 1, 0))),
            vec![mark(marks::PRODUCER_METADATA_REFRESHED)]
        );
        assert_eq!(
            producer.handle(1_110, Input::Timers(vec![Timer::Deadline])),
            vec![produce(1, 4, Acks::Leader, &[7])]
        );
        // The delivery timeout (10 + 1500) comes before the second request's (2110).
        assert_eq!(producer.next_deadline_ms(), Some(1_510));
        assert_eq!(
            producer.handle(1_510, Input::Timers(vec![Timer::Deadline])),
            vec![
                failed(7, ErrorCode::DeliveryTimeout, false),
                mark(marks::PRODUCER_GAVE_UP),
            ]
        );
        assert_eq!(producer.unfinished_sends(), 0);
        // The request still holds its slot until its own timeout; its late answer is ignored.
        assert_eq!(producer.next_deadline_ms(), Some(2_110));
        assert_eq!(
            producer.handle(1_600, produce_response(1, 4, Ok(Offset(0)))),
            vec![]
        );
        assert_eq!(producer.next_deadline_ms(), Some(61_015));
    }

    #[test]
    fn delivery_timeout_is_definite_when_no_leader_was_ever_known() {
        let config = ProducerConfig {
            delivery_timeout_ms: 1_500,
            ..config()
        };
        let mut producer = Producer::new(CLIENT, config, vec![b(1)], 1);
        assert_eq!(producer.send(0, 7, None), vec![metadata_request(1, 1)]);
        assert_eq!(
            producer.handle(1_000, Input::Timers(vec![Timer::Deadline])),
            vec![
                mark(marks::PRODUCER_REQUEST_TIMED_OUT),
                metadata_request(1, 2),
            ]
        );
        assert_eq!(
            producer.handle(1_500, Input::Timers(vec![Timer::Deadline])),
            vec![
                failed(7, ErrorCode::DeliveryTimeout, true),
                mark(marks::PRODUCER_GAVE_UP),
            ]
        );
    }

    #[test]
    fn not_enough_replicas_failure_is_definite_when_retries_exhausted() {
        let config = ProducerConfig {
            acks: Acks::All,
            retries: 1,
            ..config()
        };
        let mut producer = producer_with_metadata(config, &[1], 1);
        assert_eq!(
            producer.send(10, 7, None),
            vec![produce(1, 2, Acks::All, &[7])]
        );
        assert_eq!(
            producer.handle(
                20,
                produce_response(1, 2, Err(ErrorCode::NotEnoughReplicas))
            ),
            vec![mark(marks::PRODUCER_RETRIED)]
        );
        assert_eq!(
            producer.handle(100, Input::Timers(vec![Timer::Deadline])),
            vec![metadata_request(1, 3)]
        );
        assert_eq!(
            producer.handle(105, metadata_response(1, 3, image(2, 1, 1, 0))),
            vec![mark(marks::PRODUCER_METADATA_REFRESHED)]
        );
        assert_eq!(
            producer.handle(120, Input::Timers(vec![Timer::Deadline])),
            vec![produce(1, 4, Acks::All, &[7])]
        );
        assert_eq!(
            producer.handle(
                130,
                produce_response(1, 4, Err(ErrorCode::NotEnoughReplicas))
            ),
            vec![
                failed(7, ErrorCode::NotEnoughReplicas, true),
                mark(marks::PRODUCER_GAVE_UP),
            ]
        );
        assert_eq!(producer.unfinished_sends(), 0);
    }

    #[test]
    fn not_enough_replicas_after_append_makes_the_failure_indefinite() {
        let config = ProducerConfig {
            acks: Acks::All,
            retries: 0,
            ..config()
        };
        let mut producer = producer_with_metadata(config, &[1], 1);
        producer.send(10, 7, None);
        assert_eq!(
            producer.handle(
                20,
                produce_response(1, 2, Err(ErrorCode::NotEnoughReplicasAfterAppend))
            ),
            vec![
                failed(7, ErrorCode::NotEnoughReplicasAfterAppend, false),
                mark(marks::PRODUCER_GAVE_UP),
            ]
        );
    }

    #[test]
    fn not_leader_is_definite_with_acks1_and_indefinite_with_acks_all() {
        for (acks, definite) in [(Acks::Leader, true), (Acks::All, false)] {
            let config = ProducerConfig {
                acks,
                retries: 0,
                ..config()
            };
            let mut producer = producer_with_metadata(config, &[1], 1);
            producer.send(10, 7, None);
            assert_eq!(
                producer.handle(
                    20,
                    produce_response(1, 2, Err(ErrorCode::NotLeaderOrFollower))
                ),
                vec![
                    failed(7, ErrorCode::NotLeaderOrFollower, definite),
                    mark(marks::PRODUCER_GAVE_UP),
                ]
            );
        }
    }

    #[test]
    fn linger_ms_holds_batch_until_full_or_expired() {
        let config = ProducerConfig {
            linger_ms: 50,
            batch_size_records: 3,
            ..config()
        };
        let mut producer = producer_with_metadata(config, &[1], 1);
        assert_eq!(producer.send(10, 1, None), vec![]);
        assert_eq!(producer.next_deadline_ms(), Some(60));
        assert_eq!(producer.send(20, 2, None), vec![]);
        assert_eq!(
            producer.handle(59, Input::Timers(vec![Timer::Deadline])),
            vec![]
        );
        assert_eq!(
            producer.handle(60, Input::Timers(vec![Timer::Deadline])),
            vec![produce(1, 2, Acks::Leader, &[1, 2])]
        );
        assert_eq!(producer.send(70, 3, None), vec![]);
        assert_eq!(producer.send(71, 4, None), vec![]);
        assert_eq!(
            producer.send(72, 5, None),
            vec![produce(1, 3, Acks::Leader, &[3, 4, 5])]
        );
    }

    #[test]
    fn max_in_flight_holds_batches_until_a_slot_frees() {
        let config = ProducerConfig {
            max_in_flight_requests_per_connection: 1,
            ..config()
        };
        let mut producer = producer_with_metadata(config, &[1], 1);
        assert_eq!(
            producer.send(10, 1, None),
            vec![produce(1, 2, Acks::Leader, &[1])]
        );
        assert_eq!(producer.send(11, 2, None), vec![]);
        assert_eq!(producer.send(12, 3, None), vec![]);
        assert_eq!(producer.next_deadline_ms(), Some(1_010));
        assert_eq!(
            producer.handle(20, produce_response(1, 2, Ok(Offset(0)))),
            vec![acked(1, 0), produce(1, 3, Acks::Leader, &[2, 3])]
        );
    }

    #[test]
    fn key_hash_partitioner_is_stable() {
        let config = ProducerConfig {
            acks: Acks::None,
            partitioner: PartitionerConfig::KeyHash,
            ..config()
        };
        let partitions_of = |mut producer: Producer| -> Vec<u32> {
            producer.handle(0, Input::Start);
            producer.handle(1, metadata_response(1, 1, image(1, 3, 1, 0)));
            (0..8u64)
                .flat_map(|key| producer.send(2, 100 + key, Some(key)))
                .filter_map(|effect| match effect {
                    Effect::Event(Event::SendCompleted { partition, .. }) => Some(partition.0),
                    _ => None,
                })
                .collect()
        };
        let first = partitions_of(Producer::new(CLIENT, config.clone(), vec![b(1)], 3));
        let second = partitions_of(Producer::new(ClientId(2), config, vec![b(1)], 3));
        assert_eq!(first, second);
        // Kafka's murmur2 of the key's eight big-endian bytes, pinned.
        assert_eq!(first, vec![2, 0, 0, 1, 0, 1, 1, 2]);
    }

    #[test]
    fn unexpected_messages_are_ignored() {
        let mut producer = producer_with_metadata(config(), &[1], 1);
        let stray = Input::Message {
            from: NodeId::Broker(b(3)),
            message: Message::MetadataUpdate(MetadataUpdate {
                metadata: MetadataImage::default(),
            }),
        };
        assert_eq!(producer.handle(5, stray), vec![]);
        assert_eq!(
            producer.handle(6, produce_response(2, 99, Ok(Offset(0)))),
            vec![]
        );
    }

    /// Random schedules of sends, answers, losses and time: the deadline is always in the
    /// future, and every sent record gets exactly one `SendCompleted` within its delivery
    /// timeout once the network goes quiet.
    mod schedules {
        use super::*;
        use proptest::prelude::*;

        #[derive(Clone, Debug)]
        enum Step {
            Send { key: Option<u64> },
            Advance { ms: u64 },
            AnswerMetadata { index: usize, leader: u32 },
            AnswerProduce { index: usize, outcome: u8 },
            Lose { index: usize },
        }

        fn step() -> impl Strategy<Value = Step> {
            prop_oneof![
                proptest::option::of(0u64..10).prop_map(|key| Step::Send { key }),
                (0u64..1_500).prop_map(|ms| Step::Advance { ms }),
                (0usize..4, 1u32..4)
                    .prop_map(|(index, leader)| Step::AnswerMetadata { index, leader }),
                (0usize..8, 0u8..6)
                    .prop_map(|(index, outcome)| Step::AnswerProduce { index, outcome }),
                (0usize..8).prop_map(|index| Step::Lose { index }),
            ]
        }

        struct Harness {
            producer: Producer,
            now_ms: u64,
            /// Requests on the wire: (to, message).
            wire: Vec<(u32, Message)>,
            completions: BTreeMap<u64, usize>,
            sent_at_ms: BTreeMap<u64, u64>,
            version: u64,
        }

        impl Harness {
            fn apply(&mut self, effects: Vec<Effect>) {
                for effect in effects {
                    match effect {
                        Effect::Send {
                            to: NodeId::Broker(broker),
                            message,
                        } => {
                            self.wire.push((broker.0, message));
                        }
                        Effect::Event(Event::SendCompleted { value, .. }) => {
                            *self.completions.entry(value).or_default() += 1;
                            let sent_at_ms = self.sent_at_ms[&value];
                            assert!(
                                self.now_ms <= sent_at_ms + 3_000,
                                "value {value} completed late"
                            );
                        }
                        _ => {}
                    }
                }
                if let Some(deadline_ms) = self.producer.next_deadline_ms() {
                    assert!(
                        deadline_ms > self.now_ms,
                        "deadline {deadline_ms} not after {}",
                        self.now_ms
                    );
                }
            }

            fn advance_to(&mut self, target_ms: u64) {
                let mut ticks = 0;
                while let Some(deadline_ms) = self.producer.next_deadline_ms() {
                    if deadline_ms > target_ms {
                        break;
                    }
                    ticks += 1;
                    assert!(ticks < 10_000, "producer spins");
                    self.now_ms = deadline_ms;
                    let effects = self
                        .producer
                        .handle(self.now_ms, Input::Timers(vec![Timer::Deadline]));
                    self.apply(effects);
                }
                self.now_ms = self.now_ms.max(target_ms);
            }
        }

        proptest! {
            #[test]
            fn every_send_completes_once_and_deadlines_are_in_the_future(
                acks in prop_oneof![Just(Acks::None), Just(Acks::Leader), Just(Acks::All)],
                max_in_flight in 1u32..6,
                linger_ms in 0u64..100,
                steps in proptest::collection::vec(step(), 1..80),
            ) {
                let config = ProducerConfig {
                    acks,
                    retries: 5,
                    delivery_timeout_ms: 3_000,
                    max_in_flight_requests_per_connection: max_in_flight,
                    linger_ms,
                    batch_size_records: 3,
                    partitioner: PartitionerConfig::KeyHash,
                    ..config()
                };
                let mut harness = Harness {
                    producer: Producer::new(CLIENT, config, vec![b(1), b(2)], 2),
                    now_ms: 0,
                    wire: Vec::new(),
                    completions: BTreeMap::new(),
                    sent_at_ms: BTreeMap::new(),
                    version: 0,
                };
                let effects = harness.producer.handle(0, Input::Start);
                harness.apply(effects);
                let mut next_value = 0;
                for step in steps {
                    match step {
                        Step::Send { key } => {
                            harness.sent_at_ms.insert(next_value, harness.now_ms);
                            let effects = harness.producer.send(harness.now_ms, next_value, key);
                            harness.apply(effects);
                            next_value += 1;
                        }
                        Step::Advance { ms } => harness.advance_to(harness.now_ms + ms),
                        Step::AnswerMetadata { index, leader } => {
                            let found = harness.wire.iter().enumerate()
                                .filter(|(_, (_, message))| matches!(message, Message::Metadata(MetadataRequest { .. })))
                                .map(|(position, _)| position)
                                .nth(index);
                            if let Some(position) = found {
                                let (to, message) = harness.wire.remove(position);
                                if let Message::Metadata(MetadataRequest { correlation }) = message {
                                    harness.version += 1;
                                    let input = metadata_response(to, correlation.0, image(harness.version, 2, leader, 0));
                                    let effects = harness.producer.handle(harness.now_ms, input);
                                    harness.apply(effects);
                                }
                            }
                        }
                        Step::AnswerProduce { index, outcome } => {
                            let found = harness.wire.iter().enumerate()
                                .filter(|(_, (_, message))| matches!(message, Message::Produce(ProduceRequest { .. })))
                                .map(|(position, _)| position)
                                .nth(index);
                            if let Some(position) = found {
                                let (to, message) = harness.wire.remove(position);
                                if let Message::Produce(ProduceRequest { correlation, partition, .. }) = message {
                                    let result = match outcome {
                                        0 | 1 => Ok(Offset(u64::from(outcome) * 10)),
                                        2 => Err(ErrorCode::NotLeaderOrFollower),
                                        3 => Err(ErrorCode::NotEnoughReplicas),
                                        4 => Err(ErrorCode::NotEnoughReplicasAfterAppend),
                                        _ => Err(ErrorCode::RequestTimedOut),
                                    };
                                    let input = Input::Message {
                                        from: NodeId::Broker(b(to)),
                                        message: Message::ProduceResponse(ProduceResponse { correlation, partition, result }),
                                    };
                                    let effects = harness.producer.handle(harness.now_ms, input);
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
                // Quiet network: nothing more is answered.
                harness.wire.clear();
                let end_ms = harness.now_ms + 3_000;
                harness.advance_to(end_ms);
                prop_assert_eq!(harness.producer.unfinished_sends(), 0);
                for value in 0..next_value {
                    prop_assert_eq!(harness.completions.get(&value).copied(), Some(1), "value {}", value);
                }
            }
        }
    }
}
