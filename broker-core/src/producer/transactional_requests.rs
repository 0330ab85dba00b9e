//! The transactional producer's requests (Kafka's `Sender.maybeSendAndPollTransactionalRequest`
//! and the `TxnRequestHandler`s: FindCoordinator, InitProducerId, AddPartitionsToTxn,
//! AddOffsetsToTxn, TxnOffsetCommit, EndTxn). Once per pass the producer works out the
//! next request its state calls for ([`Producer::next_transactional_request`]), and sends
//! it when none is in flight and no backoff runs: to the coordinator it needs, which is
//! looked up first when unknown.
//!
//! Retries follow Kafka: COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
//! COORDINATOR_LOAD_IN_PROGRESS, CONCURRENT_TRANSACTIONS, a lost connection and a timeout
//! send the request again after `retry_backoff_ms`; the coordinator-related ones and lost
//! answers look the coordinator up again first. A lost EndTxn is sent again unchanged: the
//! coordinator answers a retry of the end it already made with success.
//!
//! Invariants: at most one transactional request is in flight, with the timer
//! [`ProducerTimer::RequestTimeout`] of its correlation id; [`ProducerTimer::TransactionBackoff`]
//! runs only while none is in flight.

use super::transaction_manager::{
    is_retriable_transactional, needs_rediscovery, InFlightTransactionalRequest,
    TransactionOperation, TransactionState, TransactionalRequest,
};
use super::{ConnectionState, Producer, ProducerTimer};
use crate::actor::Effect;
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{BrokerId, CorrelationId, NodeId};
use crate::mark::Mark;
use crate::protocol::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, CoordinatorKey,
    EndTxnRequest, FindCoordinatorRequest, InitProducerIdRequest, Message, ProducerIdAndEpoch,
    TxnOffsetCommitRequest, TxnOffsetCommitResponse,
};

/// What an answer to a transactional request said, reduced to what the producer does next.
enum Answer {
    Done,
    Retry(ErrorCode),
    Fail(ErrorCode),
}

impl Producer {
    /// Once per pass, before the drain: fails the batches an abort or an error stops, then
    /// sends the next transactional request, if any and if one may go.
    pub(super) fn run_transactional(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        let Some(manager) = self.transactions.as_ref() else {
            return;
        };
        if matches!(
            manager.state,
            TransactionState::AbortingTransaction
                | TransactionState::AbortableError
                | TransactionState::FatalError
        ) {
            let error = manager.last_error.unwrap_or(ErrorCode::TransactionAborted);
            self.abort_undrained_batches(error, effects);
        }
        if self
            .timers
            .is_due(ProducerTimer::TransactionBackoff, now_ms)
        {
            self.timers.cancel(ProducerTimer::TransactionBackoff);
        }
        let waiting = self.transactions.as_ref().is_some_and(|manager| {
            manager.in_flight.is_some()
                || self
                    .timers
                    .deadline_ms(ProducerTimer::TransactionBackoff)
                    .is_some()
        });
        if waiting {
            return;
        }
        if let Some(request) = self.next_transactional_request(effects) {
            self.send_transactional(now_ms, request, effects);
        }
    }

    /// Fails every batch still in the accumulator (Kafka's `abortUndrainedBatches`).
    fn abort_undrained_batches(&mut self, error: ErrorCode, effects: &mut Vec<Effect>) {
        let mut dropped = self.accumulator.take_expired(|_| true);
        dropped.sort_by_key(|batch| (batch.created_ms, batch.partition));
        for batch in dropped {
            let how = if batch.attempts > 0 {
                super::idempotence::FailedBatch::ExpiredAfterSend
            } else {
                super::idempotence::FailedBatch::ExpiredUnsent
            };
            self.on_batch_failed(&batch, how);
            self.give_up(batch, error, effects);
        }
    }

    /// The request the state calls for now, completing the operation in progress when it
    /// needs none (Kafka's `TransactionManager.nextRequest` over its queue of handlers).
    fn next_transactional_request(
        &mut self,
        effects: &mut Vec<Effect>,
    ) -> Option<TransactionalRequest> {
        let unfinished_sends = self.unfinished_sends;
        let has_producer_id = self
            .idempotence
            .as_ref()
            .is_some_and(|idempotence| idempotence.producer().is_some());
        let manager = self.transactions.as_mut()?;
        let operation = manager.operation;
        let finished = |manager: &mut super::transaction_manager::TransactionManager,
                        effects: &mut Vec<Effect>,
                        result: Result<(), ErrorCode>| {
            if let Some(operation) = manager.operation.take() {
                effects.push(Effect::Event(Event::TransactionOperationCompleted {
                    operation,
                    result,
                }));
            }
        };
        match (manager.state, operation) {
            (TransactionState::FatalError, Some(_)) => {
                let error = manager.refuse();
                finished(manager, effects, Err(error));
                None
            }
            (TransactionState::FatalError, None) => None,
            (TransactionState::Initializing, _) => Some(TransactionalRequest::InitProducerId),
            (TransactionState::AbortableError, Some(operation))
                if operation != TransactionOperation::AbortTransaction =>
            {
                let error = manager.refuse();
                finished(manager, effects, Err(error));
                None
            }
            (TransactionState::AbortingTransaction, _) if unfinished_sends == 0 => {
                if manager.transaction_started {
                    return Some(TransactionalRequest::EndTxn { commit: false });
                }
                manager.complete_transaction();
                if manager.epoch_bump_required && has_producer_id {
                    manager.state = TransactionState::Initializing;
                    return Some(TransactionalRequest::InitProducerId);
                }
                finished(manager, effects, Ok(()));
                None
            }
            (TransactionState::CommittingTransaction, _) if unfinished_sends == 0 => {
                if !manager.pending_partitions.is_empty() {
                    return Some(TransactionalRequest::AddPartitionsToTxn(
                        manager.pending_partitions.iter().copied().collect(),
                    ));
                }
                if manager.transaction_started {
                    return Some(TransactionalRequest::EndTxn { commit: true });
                }
                manager.complete_transaction();
                finished(manager, effects, Ok(()));
                None
            }
            (TransactionState::InTransaction | TransactionState::CommittingTransaction, _)
                if !manager.pending_partitions.is_empty() =>
            {
                Some(TransactionalRequest::AddPartitionsToTxn(
                    manager.pending_partitions.iter().copied().collect(),
                ))
            }
            (
                TransactionState::InTransaction,
                Some(TransactionOperation::SendOffsetsToTransaction),
            ) => {
                let offsets = manager.pending_offsets.as_ref()?;
                if !manager.transaction_version_2 && !offsets.added_to_transaction {
                    Some(TransactionalRequest::AddOffsetsToTxn)
                } else {
                    Some(TransactionalRequest::TxnOffsetCommit)
                }
            }
            _ => None,
        }
    }

    /// Sends `request` to its coordinator, after looking the coordinator up if unknown, or
    /// opens the connection it needs (the request leaves once it is established).
    fn send_transactional(
        &mut self,
        now_ms: u64,
        request: TransactionalRequest,
        effects: &mut Vec<Effect>,
    ) {
        let manager = self.transactions.as_ref().expect("transactional");
        let key =
            request.coordinator_key(&manager.transactional_id, manager.pending_offsets.as_ref());
        let (request, broker) = match key {
            Some(key) => match self.coordinator_of(&key) {
                Some(broker) => (request, Some(broker)),
                None => (TransactionalRequest::FindCoordinator(key), None),
            },
            None => (request, None),
        };
        let broker = match broker {
            Some(broker) => broker,
            None => match self.lookup_broker(now_ms, effects) {
                Some(broker) => broker,
                None => return,
            },
        };
        match self.connections.state(broker) {
            ConnectionState::Ready => {}
            ConnectionState::Idle => {
                effects.push(self.connections.connect(now_ms, broker, &mut self.timers));
                return;
            }
            // Being set up or backing off: its timer wakes the producer.
            _ => return,
        }
        let Some(message) = self.transactional_message(&request) else {
            return;
        };
        let correlation = CorrelationId(self.next_correlation);
        self.next_correlation += 1;
        let message = message(correlation);
        self.timers.set(
            ProducerTimer::RequestTimeout(correlation),
            now_ms.saturating_add(self.config.request_timeout_ms.max(1)),
        );
        let manager = self.transactions.as_mut().expect("transactional");
        manager.in_flight = Some(InFlightTransactionalRequest {
            correlation,
            broker,
            request,
        });
        effects.push(Effect::Send {
            to: NodeId::Broker(broker),
            message,
        });
    }

    fn coordinator_of(&self, key: &CoordinatorKey) -> Option<BrokerId> {
        let manager = self.transactions.as_ref()?;
        match key {
            CoordinatorKey::Transaction(_) => manager.transaction_coordinator,
            CoordinatorKey::Group(_) => manager.group_coordinator,
        }
    }

    /// The broker a FindCoordinator goes to: the first in turn whose connection is ready,
    /// else a connection is opened to the first idle one (Kafka's least loaded node).
    fn lookup_broker(&mut self, now_ms: u64, effects: &mut Vec<Effect>) -> Option<BrokerId> {
        let mut candidates = self.metadata.live_brokers();
        if candidates.is_empty() {
            candidates = self.metadata.bootstrap_brokers().to_vec();
        }
        if candidates.is_empty() {
            return None;
        }
        let start = self
            .transactions
            .as_ref()
            .map_or(0, |manager| manager.next_lookup_broker)
            % candidates.len();
        candidates.rotate_left(start);
        let ready = candidates
            .iter()
            .copied()
            .find(|&broker| self.connections.state(broker) == ConnectionState::Ready);
        if ready.is_some() {
            return ready;
        }
        let idle = candidates
            .iter()
            .copied()
            .find(|&broker| self.connections.state(broker) == ConnectionState::Idle);
        if let Some(broker) = idle {
            effects.push(self.connections.connect(now_ms, broker, &mut self.timers));
        }
        None
    }

    /// The message of `request`, given its correlation id.
    #[allow(clippy::type_complexity)]
    fn transactional_message(
        &self,
        request: &TransactionalRequest,
    ) -> Option<Box<dyn FnOnce(CorrelationId) -> Message>> {
        let manager = self.transactions.as_ref()?;
        let transactional_id = manager.transactional_id.clone();
        let producer = self
            .idempotence
            .as_ref()
            .and_then(|idempotence| idempotence.producer());
        let timeout_ms = self.config.transaction_timeout_ms;
        Some(match request.clone() {
            TransactionalRequest::FindCoordinator(key) => Box::new(move |correlation| {
                Message::FindCoordinator(FindCoordinatorRequest { correlation, key })
            }),
            TransactionalRequest::InitProducerId => Box::new(move |correlation| {
                Message::InitProducerId(InitProducerIdRequest {
                    correlation,
                    transactional_id: Some(transactional_id.0),
                    transaction_timeout_ms: timeout_ms,
                    // KIP-360: re-initialising, the producer names the id and epoch it holds.
                    current: producer,
                })
            }),
            TransactionalRequest::AddPartitionsToTxn(partitions) => {
                let producer = producer?;
                Box::new(move |correlation| {
                    Message::AddPartitionsToTxn(AddPartitionsToTxnRequest {
                        correlation,
                        transactional_id,
                        producer,
                        partitions,
                        verify_only: false,
                    })
                })
            }
            TransactionalRequest::AddOffsetsToTxn => {
                let producer = producer?;
                let group = manager
                    .pending_offsets
                    .as_ref()?
                    .group_metadata
                    .group
                    .clone();
                Box::new(move |correlation| {
                    Message::AddOffsetsToTxn(AddOffsetsToTxnRequest {
                        correlation,
                        transactional_id,
                        producer,
                        group,
                    })
                })
            }
            TransactionalRequest::TxnOffsetCommit => {
                let producer = producer?;
                let pending = manager.pending_offsets.clone()?;
                let transaction_version = if manager.transaction_version_2 {
                    crate::protocol::TransactionVersion::V2
                } else {
                    crate::protocol::TransactionVersion::V1
                };
                Box::new(move |correlation| {
                    Message::TxnOffsetCommit(TxnOffsetCommitRequest {
                        correlation,
                        transactional_id,
                        group: pending.group_metadata.group,
                        producer,
                        generation: pending.group_metadata.generation,
                        member: pending.group_metadata.member,
                        group_instance_id: pending.group_metadata.group_instance_id,
                        offsets: pending.offsets,
                        transaction_version,
                    })
                })
            }
            TransactionalRequest::EndTxn { commit } => {
                let producer = producer?;
                Box::new(move |correlation| {
                    Message::EndTxn(EndTxnRequest {
                        correlation,
                        transactional_id,
                        producer,
                        committed: commit,
                    })
                })
            }
        })
    }

    /// Takes the transactional request `correlation` answers, if it is the one in flight
    /// and came from the broker it went to.
    fn take_transactional_request(
        &mut self,
        from: NodeId,
        correlation: CorrelationId,
    ) -> Option<TransactionalRequest> {
        let manager = self.transactions.as_mut()?;
        let in_flight = manager.in_flight.as_ref()?;
        if in_flight.correlation != correlation || NodeId::Broker(in_flight.broker) != from {
            return None;
        }
        let in_flight = manager.in_flight.take()?;
        self.timers
            .cancel(ProducerTimer::RequestTimeout(in_flight.correlation));
        Some(in_flight.request)
    }

    /// Whether `correlation` is the transactional request in flight.
    pub(super) fn is_transactional_correlation(&self, correlation: CorrelationId) -> bool {
        self.transactional_in_flight()
            .is_some_and(|(in_flight, _)| in_flight == correlation)
    }

    /// The transactional request in flight: its correlation id and broker.
    pub(super) fn transactional_in_flight(&self) -> Option<(CorrelationId, BrokerId)> {
        let in_flight = self.transactions.as_ref()?.in_flight.as_ref()?;
        Some((in_flight.correlation, in_flight.broker))
    }

    /// An answer to a transactional request; returns false if `message` is none.
    pub(super) fn on_transactional_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        message: &Message,
        effects: &mut Vec<Effect>,
    ) -> bool {
        let correlation = match message {
            Message::FindCoordinatorResponse(response) => response.correlation,
            Message::InitProducerIdResponse(response) => response.correlation,
            Message::AddPartitionsToTxnResponse(response) => response.correlation,
            Message::AddOffsetsToTxnResponse(response) => response.correlation,
            Message::TxnOffsetCommitResponse(response) => response.correlation,
            Message::EndTxnResponse(response) => response.correlation,
            _ => return false,
        };
        let Some(request) = self.take_transactional_request(from, correlation) else {
            // Late (its connection was closed) or not ours: Kafka would never see it.
            return true;
        };
        let answer = match message {
            Message::FindCoordinatorResponse(response) => match response.result {
                Ok(broker) => self.on_coordinator_found(response.key.clone(), broker, effects),
                Err(error) => Answer::Retry(error),
            },
            Message::InitProducerIdResponse(response) => match response.result {
                Ok(producer) => self.on_transactional_producer_id(producer, effects),
                Err(error) => classify(error),
            },
            Message::AddPartitionsToTxnResponse(response) => self.on_partitions_added(response),
            Message::AddOffsetsToTxnResponse(response) => match response.result {
                Ok(()) => {
                    let manager = self.transactions.as_mut().expect("transactional");
                    if let Some(offsets) = manager.pending_offsets.as_mut() {
                        offsets.added_to_transaction = true;
                    }
                    manager.transaction_started = true;
                    Answer::Done
                }
                Err(error) => classify(error),
            },
            Message::TxnOffsetCommitResponse(response) => {
                self.on_offsets_committed(response, effects)
            }
            Message::EndTxnResponse(response) => match response.result {
                Ok(producer) => self.on_transaction_ended(producer, effects),
                Err(error) => classify(error),
            },
            _ => unreachable!("matched above"),
        };
        self.apply_answer(now_ms, &request, answer, effects);
        true
    }

    fn on_coordinator_found(
        &mut self,
        key: CoordinatorKey,
        broker: BrokerId,
        effects: &mut Vec<Effect>,
    ) -> Answer {
        let manager = self.transactions.as_mut().expect("transactional");
        match &key {
            CoordinatorKey::Transaction(_) => manager.transaction_coordinator = Some(broker),
            CoordinatorKey::Group(_) => manager.group_coordinator = Some(broker),
        }
        effects.push(Effect::Event(Event::TransactionCoordinatorFound {
            transactional_id: manager.transactional_id.clone(),
            key,
            broker,
        }));
        Answer::Done
    }

    /// InitProducerId answered: the producer id and epoch to use, which ends the
    /// initialisation (or the epoch bump after an abort).
    fn on_transactional_producer_id(
        &mut self,
        producer: ProducerIdAndEpoch,
        effects: &mut Vec<Effect>,
    ) -> Answer {
        self.adopt_producer(producer, effects);
        effects.push(Effect::Mark(Mark::ProducerIdAssigned));
        let manager = self.transactions.as_mut().expect("transactional");
        manager.epoch_bump_required = false;
        manager.state = TransactionState::Ready;
        self.finish_operation(Ok(()), effects);
        Answer::Done
    }

    fn adopt_producer(&mut self, producer: ProducerIdAndEpoch, effects: &mut Vec<Effect>) {
        let changed = self
            .idempotence
            .as_ref()
            .is_some_and(|idempotence| idempotence.producer() != Some(producer));
        if let Some(idempotence) = self.idempotence.as_mut() {
            idempotence.set_producer(producer);
        }
        if changed {
            let manager = self.transactions.as_ref().expect("transactional");
            effects.push(Effect::Event(Event::TransactionalProducerEpoch {
                transactional_id: manager.transactional_id.clone(),
                producer_id: producer.producer_id,
                producer_epoch: producer.epoch,
            }));
        }
    }

    fn on_partitions_added(&mut self, response: &AddPartitionsToTxnResponse) -> Answer {
        if let Some(error) = response.error {
            return classify(error);
        }
        let manager = self.transactions.as_mut().expect("transactional");
        let mut answer = Answer::Done;
        for (partition, result) in &response.partitions {
            match result {
                Ok(()) => {
                    manager.pending_partitions.remove(partition);
                    manager.partitions_in_transaction.insert(*partition);
                    manager.transaction_started = true;
                }
                Err(error) => answer = worse(answer, classify(*error)),
            }
        }
        answer
    }

    fn on_offsets_committed(
        &mut self,
        response: &TxnOffsetCommitResponse,
        effects: &mut Vec<Effect>,
    ) -> Answer {
        let manager = self.transactions.as_mut().expect("transactional");
        let Some(pending) = manager.pending_offsets.as_mut() else {
            return Answer::Done;
        };
        let mut answer = Answer::Done;
        for (partition, result) in &response.partitions {
            match result {
                Ok(()) => pending
                    .offsets
                    .retain(|(committed, _)| committed != partition),
                Err(error) => answer = worse(answer, classify(*error)),
            }
        }
        if matches!(answer, Answer::Done) {
            // Version 2: the group coordinator added the offsets partition itself.
            manager.transaction_started = true;
            manager.pending_offsets = None;
            self.finish_operation(Ok(()), effects);
        }
        answer
    }

    /// EndTxn answered: the transaction is over; version 2 adopts the bumped epoch.
    fn on_transaction_ended(
        &mut self,
        producer: ProducerIdAndEpoch,
        effects: &mut Vec<Effect>,
    ) -> Answer {
        let version_2 = self
            .transactions
            .as_ref()
            .is_some_and(|manager| manager.transaction_version_2);
        if version_2 {
            self.adopt_producer(producer, effects);
        }
        let manager = self.transactions.as_mut().expect("transactional");
        let aborting = manager.state == TransactionState::AbortingTransaction;
        manager.complete_transaction();
        if version_2 {
            manager.epoch_bump_required = false;
        }
        if aborting && manager.epoch_bump_required {
            // Version 1 after a sequence error: InitProducerId with the current id and
            // epoch bumps the epoch (KIP-360); the abort completes with it.
            manager.state = TransactionState::Initializing;
            return Answer::Done;
        }
        self.finish_operation(Ok(()), effects);
        Answer::Done
    }

    /// Ends the operation in progress with `result`.
    pub(super) fn finish_operation(
        &mut self,
        result: Result<(), ErrorCode>,
        effects: &mut Vec<Effect>,
    ) {
        let Some(manager) = self.transactions.as_mut() else {
            return;
        };
        if let Some(operation) = manager.operation.take() {
            effects.push(Effect::Event(Event::TransactionOperationCompleted {
                operation,
                result,
            }));
        }
    }

    /// After an answer: retries wait the backoff (and forget the coordinator when it has
    /// moved); failures make the producer's state abortable or fatal and end the operation.
    fn apply_answer(
        &mut self,
        now_ms: u64,
        request: &TransactionalRequest,
        answer: Answer,
        effects: &mut Vec<Effect>,
    ) {
        match answer {
            Answer::Done => {}
            Answer::Retry(error) => self.retry_transactional(now_ms, request, error, effects),
            Answer::Fail(error) => {
                let manager = self.transactions.as_mut().expect("transactional");
                let before = manager.state;
                manager.fail_with(error);
                // Kafka's InitProducerIdHandler and an abort's EndTxnHandler treat every
                // error they do not retry as fatal.
                if matches!(
                    before,
                    TransactionState::Initializing | TransactionState::AbortingTransaction
                ) {
                    manager.state = TransactionState::FatalError;
                    manager.last_error = Some(error);
                }
                effects.push(Effect::Mark(Mark::ProducerTransactionFailed));
                self.finish_operation(Err(error), effects);
            }
        }
    }

    fn retry_transactional(
        &mut self,
        now_ms: u64,
        request: &TransactionalRequest,
        error: ErrorCode,
        effects: &mut Vec<Effect>,
    ) {
        let manager = self.transactions.as_mut().expect("transactional");
        if needs_rediscovery(error) {
            match request {
                TransactionalRequest::FindCoordinator(_) => {
                    manager.next_lookup_broker = manager.next_lookup_broker.wrapping_add(1);
                }
                TransactionalRequest::TxnOffsetCommit => manager.group_coordinator = None,
                _ => manager.transaction_coordinator = None,
            }
        }
        self.timers.set(
            ProducerTimer::TransactionBackoff,
            now_ms.saturating_add(self.config.retry_backoff_ms.max(1)),
        );
        effects.push(Effect::Mark(Mark::ProducerTransactionalRequestRetried));
    }

    /// The connection to `broker` closed: a transactional request on it is lost (retried
    /// after the backoff, the coordinator looked up again), and a coordinator on it is
    /// forgotten.
    pub(super) fn fail_transactional_on(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        error: ErrorCode,
        effects: &mut Vec<Effect>,
    ) {
        let Some(manager) = self.transactions.as_mut() else {
            return;
        };
        if manager.transaction_coordinator == Some(broker) {
            manager.transaction_coordinator = None;
        }
        if manager.group_coordinator == Some(broker) {
            manager.group_coordinator = None;
        }
        let lost = manager
            .in_flight
            .as_ref()
            .is_some_and(|in_flight| in_flight.broker == broker);
        if !lost {
            return;
        }
        let in_flight = manager.in_flight.take().expect("checked just above");
        self.timers
            .cancel(ProducerTimer::RequestTimeout(in_flight.correlation));
        self.retry_transactional(now_ms, &in_flight.request, error, effects);
    }

    /// A batch of the transaction failed for good: the transaction can only be aborted
    /// now, or, fenced, nothing more can be done.
    pub(super) fn on_transactional_batch_failed(&mut self, error: ErrorCode) {
        if let Some(manager) = self.transactions.as_mut() {
            manager.fail_batch_with(error);
        }
    }
}

/// What an error answer means for a transactional request.
fn classify(error: ErrorCode) -> Answer {
    let error = match error {
        // Kafka's handlers report an older epoch from the coordinator as fenced.
        ErrorCode::InvalidProducerEpoch => ErrorCode::ProducerFenced,
        error => error,
    };
    if is_retriable_transactional(error) {
        Answer::Retry(error)
    } else {
        Answer::Fail(error)
    }
}

/// The stronger of two answers about one request's parts: a failure over a retry over done.
fn worse(left: Answer, right: Answer) -> Answer {
    match (left, right) {
        (Answer::Fail(error), _) | (_, Answer::Fail(error)) => Answer::Fail(error),
        (Answer::Retry(error), _) | (_, Answer::Retry(error)) => Answer::Retry(error),
        _ => Answer::Done,
    }
}
