//! The sender: Kafka's `Sender` and the part of `NetworkClient` it relies on. It drains
//! ready batches into `ProduceRequest`s, keeps the requests in flight, and ends every attempt:
//! an answer, a request timeout (which closes the connection and fails every other request
//! on it), or the batch's delivery timeout. It then retries the batch or completes it.
//!
//! Invariants:
//! - at most `max_in_flight_requests_per_connection` requests wait for an answer per broker
//!   (acks=0 requests never wait), and each has the timer
//!   [`ProducerTimer::RequestTimeout`], set `request_timeout_ms` after it was sent and
//!   cancelled when it leaves `in_flight`;
//! - a response is applied only if it answers a request still in flight on that connection
//!   (a timed-out request's late answer is ignored, since Kafka has closed the connection);
//! - every batch ends in exactly one completion ([`Producer::complete`]), which reports one
//!   `SendCompleted` per record and cancels the batch's [`ProducerTimer::DeliveryTimeout`];
//! - a failure is reported *definite* only if no attempt of the batch can have been appended.

use super::accumulator::ProducerBatch;
use super::idempotence::FailedBatch;
use super::sequencing::SequenceVerdict;
use super::{ConnectionState, Producer, ProducerTimer};
use crate::actor::Effect;
use crate::error::ErrorCode;
use crate::event::{Event, SendFailure};
use crate::ids::{BrokerId, CorrelationId, NodeId, Offset};
use crate::mark::Mark;
use crate::protocol::{Acks, Message, ProduceRequest, ProduceResponse};
use crate::topic::TopicPartition;
use std::collections::BTreeSet;

/// A `ProduceRequest` waiting for its answer. Its deadline is the timer
/// [`ProducerTimer::RequestTimeout`] of its correlation id.
#[derive(Clone, Debug)]
pub(super) struct InFlightProduce {
    pub(super) broker: BrokerId,
    /// `None` once the delivery timeout has already failed the batch: the request still
    /// occupies its in-flight slot until it is answered or times out, as in Kafka.
    pub(super) batch: Option<ProducerBatch>,
}

impl Producer {
    fn request_timeout_ms(&self) -> u64 {
        // A zero timeout would expire a request at the instant it is sent, forever.
        self.config.request_timeout_ms.max(1)
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

    /// Whether one more request may go to `broker` now.
    pub(super) fn has_capacity(&self, broker: BrokerId) -> bool {
        // acks=0 requests complete when written: they never occupy an in-flight slot.
        self.config.acks == Acks::None
            || self.in_flight_count(broker)
                < usize::try_from(self.config.max_in_flight_requests_per_connection.max(1))
                    .unwrap_or(usize::MAX)
    }

    /// Handles every due [`ProducerTimer::RequestTimeout`]: closes each connection with a
    /// request past its deadline, in broker order.
    pub(super) fn time_out_requests(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        let timed_out: BTreeSet<BrokerId> = self
            .timers
            .due(now_ms)
            .filter_map(|timer| match timer {
                ProducerTimer::RequestTimeout(correlation) => {
                    Some(self.in_flight_broker(correlation))
                }
                _ => None,
            })
            .collect();
        for broker in timed_out {
            effects.push(Effect::Mark(Mark::ProducerRequestTimedOut));
            self.metadata
                .on_connection_closed(now_ms, broker, &mut self.timers);
            self.close_connection(now_ms, broker, effects);
        }
    }

    fn in_flight_broker(&self, correlation: CorrelationId) -> BrokerId {
        match self.in_flight.get(&correlation) {
            Some(request) => request.broker,
            None if self.is_transactional_correlation(correlation) => self
                .transactional_in_flight()
                .map(|(_, broker)| broker)
                .expect("checked just above"),
            None if self
                .pending_init_producer_id
                .is_some_and(|pending| pending.correlation == correlation) =>
            {
                self.pending_init_producer_id
                    .map(|pending| pending.broker)
                    .expect("checked just above")
            }
            None => panic!(
                "producer {}: request timeout of {correlation}, which is not in flight",
                self.client
            ),
        }
    }

    /// Fails every request in flight to `broker` (an InitProducerId among them), as Kafka's
    /// `NetworkClient` does when it closes a connection: the requests whose timeout is due with `ClientTimeout`, the
    /// others with `NetworkException`. Both are indefinite. Failed batches go back to the
    /// front of their queues in their original order.
    pub(super) fn close_connection(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        effects: &mut Vec<Effect>,
    ) {
        let correlations: Vec<CorrelationId> = self
            .in_flight
            .iter()
            .filter(|(_, request)| request.broker == broker)
            .map(|(correlation, _)| *correlation)
            .collect();
        let mut retried = Vec::new();
        for correlation in correlations {
            let timer = ProducerTimer::RequestTimeout(correlation);
            let error = if self.timers.is_due(timer, now_ms) {
                ErrorCode::ClientTimeout
            } else {
                ErrorCode::NetworkException
            };
            let Some(request) = self.end_request(correlation) else {
                continue;
            };
            if let Some(batch) = request.batch {
                if let Some(batch) = self.fail_attempt(now_ms, batch, (error, None), effects) {
                    retried.push(batch);
                }
            }
        }
        for batch in retried.into_iter().rev() {
            self.reenqueue(batch);
        }
        // An InitProducerId on the same connection is lost with it, and so is a
        // transactional request.
        self.fail_init_producer_id_on(now_ms, broker, effects);
        let error = if self
            .transactional_in_flight()
            .is_some_and(|(correlation, _)| {
                self.timers
                    .is_due(ProducerTimer::RequestTimeout(correlation), now_ms)
            }) {
            ErrorCode::ClientTimeout
        } else {
            ErrorCode::NetworkException
        };
        self.fail_transactional_on(now_ms, broker, error, effects);
    }

    /// Handles every due [`ProducerTimer::DeliveryTimeout`]: fails those batches, in the
    /// accumulator and in flight (Kafka's `RecordAccumulator.expiredBatches` and
    /// `Sender.getExpiredInflightBatches`), oldest first.
    pub(super) fn expire_batches(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        // Runs after every input. A batch expires only when its own delivery timer is due,
        // so when no delivery timer is, nothing does: look at the few due timers rather
        // than every batch's (the per-batch lookups were a profile's hottest search).
        let any_delivery_timeout_due = self
            .timers
            .due(now_ms)
            .any(|timer| matches!(timer, ProducerTimer::DeliveryTimeout(_)));
        if !any_delivery_timeout_due {
            return;
        }
        let timers = &self.timers;
        let is_expired =
            |batch: &ProducerBatch| timers.is_due(ProducerTimer::DeliveryTimeout(batch.id), now_ms);
        let mut expired = self.accumulator.take_expired(is_expired);
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
            let how = if batch.attempts > 0 {
                FailedBatch::ExpiredAfterSend
            } else {
                FailedBatch::ExpiredUnsent
            };
            self.on_batch_failed(&batch, how);
            self.give_up(batch, ErrorCode::DeliveryTimeout, effects);
        }
    }

    /// Sends every batch whose readiness timer is due ([`ProducerTimer::Linger`] or
    /// [`ProducerTimer::RetryBackoff`]; set only while the leader is known and has a free
    /// in-flight slot), one batch per partition per round (Kafka's `drain` rotates over
    /// partitions the same way). Each partition's readiness timer is brought up to date just
    /// before it is looked at, since sending a batch changes its queue and its leader's free
    /// slots; the last round, which sends nothing, leaves every one up to date.
    pub(super) fn drain(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        loop {
            let mut sent_any = false;
            for partition in self.accumulator.partitions() {
                self.sync_readiness_timer(partition);
                if !self.is_ready(partition, now_ms) {
                    continue;
                }
                let Some((leader, _)) = self.metadata.leader(partition) else {
                    continue;
                };
                if self.connections.state(leader) != ConnectionState::Ready {
                    // Kafka's `NetworkClient.ready` opens the connection; the batch waits
                    // until it is established.
                    let connect = self.connections.connect(now_ms, leader, &mut self.timers);
                    effects.push(connect);
                    self.sync_readiness_timer(partition);
                    sent_any = true;
                    continue;
                }
                let Some(batch) = self.accumulator.pop_front(partition) else {
                    continue;
                };
                self.send_batch(now_ms, leader, batch, effects);
                sent_any = true;
            }
            if !sent_any {
                break;
            }
        }
        self.accumulator.remove_empty_queues();
    }

    fn is_ready(&self, partition: TopicPartition, now_ms: u64) -> bool {
        self.timers.is_due(ProducerTimer::Linger(partition), now_ms)
            || self
                .timers
                .is_due(ProducerTimer::RetryBackoff(partition), now_ms)
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
        let records = self.stamped_records(&batch);
        effects.push(Effect::Send {
            to: NodeId::Broker(leader),
            message: Message::Produce(ProduceRequest {
                correlation,
                partition: batch.partition,
                acks: self.config.acks,
                timeout_ms: self.config.request_timeout_ms,
                records,
                transactional_id: self
                    .transactions
                    .as_ref()
                    .map(|manager| manager.transactional_id.clone()),
                // Produce version 12 and later (transactions version 2) let the leader add
                // the partition to the transaction; version 1 producers added it themselves.
                transaction_version: match &self.transactions {
                    Some(manager) if !manager.transaction_version_2 => {
                        crate::protocol::TransactionVersion::V1
                    }
                    _ => crate::protocol::TransactionVersion::V2,
                },
            }),
        });
        if self.config.acks == Acks::None {
            // acks=0: the producer never hears back; Kafka completes the batch once written.
            self.complete(&batch, |_| Ok(None), effects);
            return;
        }
        self.timers.set(
            ProducerTimer::RequestTimeout(correlation),
            now_ms.saturating_add(self.request_timeout_ms()),
        );
        self.in_flight.insert(
            correlation,
            InFlightProduce {
                broker: leader,
                batch: Some(batch),
            },
        );
    }

    /// Removes a request from `in_flight` and cancels its timeout.
    fn end_request(&mut self, correlation: CorrelationId) -> Option<InFlightProduce> {
        self.timers
            .cancel(ProducerTimer::RequestTimeout(correlation));
        self.in_flight.remove(&correlation)
    }

    pub(super) fn on_produce_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        response: &ProduceResponse,
        effects: &mut Vec<Effect>,
    ) {
        let answers_request = self
            .in_flight
            .get(&response.correlation)
            .is_some_and(|request| {
                from == NodeId::Broker(request.broker)
                    && match &request.batch {
                        Some(batch) => batch.partition == response.partition,
                        None => true,
                    }
            });
        if !answers_request {
            // Late (its connection was closed) or not ours: Kafka would never see it.
            return;
        }
        let Some(request) = self.end_request(response.correlation) else {
            return;
        };
        let Some(batch) = request.batch else {
            // Already failed by the delivery timeout; the answer only frees the slot.
            return;
        };
        match response.result {
            Ok(base_offset) => {
                self.on_batch_acknowledged(&batch);
                self.note_acknowledged_offset(&batch, base_offset);
                self.complete(
                    &batch,
                    |index| Ok(Some(Offset(base_offset.0.saturating_add(index)))),
                    effects,
                );
            }
            Err(error) => {
                let log_start_offset = response.log_start_offset;
                if let Some(batch) =
                    self.fail_attempt(now_ms, batch, (error, log_start_offset), effects)
                {
                    self.reenqueue(batch);
                }
            }
        }
    }

    /// One attempt of `batch` failed with `error`. Returns the batch if it is to be retried
    /// (the caller puts it back at the front of its queue); otherwise reports the failure.
    /// Kafka's `Sender.completeBatch` / `canRetry`: a batch whose delivery timeout is due is
    /// not retried.
    /// `log_start_offset`: the leader's, when its answer carried one.
    fn fail_attempt(
        &mut self,
        now_ms: u64,
        mut batch: ProducerBatch,
        (error, log_start_offset): (ErrorCode, Option<Offset>),
        effects: &mut Vec<Effect>,
    ) -> Option<ProducerBatch> {
        if !self.attempt_is_definite(error) {
            batch.possibly_appended = true;
        }
        // PROTOCOL.md: metadata is refreshed after any error (Kafka only does so for
        // `InvalidMetadataException`s and disconnects; refreshing more often is harmless).
        self.metadata.request_update(now_ms, &mut self.timers);
        let retriable = match self.sequence_verdict(&batch, error, log_start_offset, effects) {
            SequenceVerdict::Retry => true,
            SequenceVerdict::Fail => false,
            SequenceVerdict::NotASequenceError => error.is_retriable(),
        };
        let can_retry = retriable
            && batch.attempts <= self.config.retries
            && !self
                .timers
                .is_due(ProducerTimer::DeliveryTimeout(batch.id), now_ms);
        if can_retry {
            batch.retry_not_before_ms = now_ms.saturating_add(self.config.retry_backoff_ms);
            effects.push(Effect::Mark(Mark::ProducerRetried));
            Some(batch)
        } else {
            let retries_left = batch.attempts <= self.config.retries;
            self.on_batch_failed(&batch, FailedBatch::Refused { retries_left });
            self.give_up(batch, error, effects);
            None
        }
    }

    pub(super) fn give_up(
        &mut self,
        batch: ProducerBatch,
        error: ErrorCode,
        effects: &mut Vec<Effect>,
    ) {
        let failure = SendFailure {
            error,
            definite: !batch.possibly_appended,
        };
        self.complete(&batch, |_| Err(failure), effects);
        effects.push(Effect::Mark(Mark::ProducerGaveUp));
        self.on_transactional_batch_failed(error);
    }

    /// Reports the outcome of every record of `batch` (`result_of(i)` for record `i`) and
    /// cancels its delivery timeout: the batch is done.
    fn complete(
        &mut self,
        batch: &ProducerBatch,
        result_of: impl Fn(u64) -> Result<Option<Offset>, SendFailure>,
        effects: &mut Vec<Effect>,
    ) {
        for (index, record) in (0u64..).zip(&batch.records) {
            effects.push(Effect::Event(Event::SendCompleted {
                // The producer only sends workload records, whose value is their identity.
                value: record.application_value().unwrap_or(u64::MAX),
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
        self.timers.cancel(ProducerTimer::DeliveryTimeout(batch.id));
    }
}
