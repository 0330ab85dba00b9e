//! How an idempotent producer gets its producer id: Kafka's `InitProducerIdHandler` for a
//! producer without a `transactional.id`. The sender asks as soon as it runs (Kafka's
//! `Sender.runOnce` enqueues the request before any batch can drain), and again whenever the
//! id is gone (its epoch ran out). The request goes to the least loaded broker, here the
//! first broker in turn whose connection is ready or may be opened, among the brokers of the
//! newest metadata image (the bootstrap brokers before the first image). An error or a lost
//! answer is retried after `retry_backoff_ms`, on the next broker.
//!
//! Invariants: at most one InitProducerId is outstanding; it has the timer
//! [`ProducerTimer::RequestTimeout`] of its correlation id, like a produce, so its timeout
//! closes the connection as Kafka's `NetworkClient` does; [`ProducerTimer::InitProducerIdBackoff`]
//! is set exactly while a failed request waits to be sent again.

use super::{ConnectionState, Producer, ProducerTimer};
use crate::actor::Effect;
use crate::ids::{BrokerId, CorrelationId, NodeId};
use crate::mark::Mark;
use crate::protocol::{InitProducerIdRequest, InitProducerIdResponse, Message};

/// The InitProducerId waiting for its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PendingInitProducerId {
    pub(super) correlation: CorrelationId,
    pub(super) broker: BrokerId,
}

impl Producer {
    /// Whether this producer still needs an id: idempotent, without one, none asked for and
    /// no backoff running.
    fn wants_producer_id(&self) -> bool {
        // A transactional producer gets its id from its transaction coordinator.
        self.transactions.is_none()
            && self
                .idempotence
                .as_ref()
                .is_some_and(|idempotence| idempotence.producer().is_none())
            && self.pending_init_producer_id.is_none()
            && self
                .timers
                .deadline_ms(ProducerTimer::InitProducerIdBackoff)
                .is_none()
    }

    /// The brokers an InitProducerId may go to, in the order they are tried.
    fn init_producer_id_candidates(&self) -> Vec<BrokerId> {
        let mut brokers = self.metadata.live_brokers();
        if brokers.is_empty() {
            brokers = self.metadata.bootstrap_brokers().to_vec();
        }
        if !brokers.is_empty() {
            let start = self.next_init_producer_id_broker % brokers.len();
            brokers.rotate_left(start);
        }
        brokers
    }

    /// Sends InitProducerId if one is wanted (see [`Producer::wants_producer_id`]) to the
    /// first candidate whose connection is ready, or opens the connection to the first
    /// candidate that may be connected (the request leaves once it is established).
    pub(super) fn maybe_send_init_producer_id(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        let due = self
            .timers
            .is_due(ProducerTimer::InitProducerIdBackoff, now_ms);
        if due {
            self.timers.cancel(ProducerTimer::InitProducerIdBackoff);
        }
        if !self.wants_producer_id() {
            return;
        }
        let candidates = self.init_producer_id_candidates();
        let ready = candidates
            .iter()
            .copied()
            .find(|&broker| self.connections.state(broker) == ConnectionState::Ready);
        let Some(broker) = ready else {
            let idle = candidates
                .iter()
                .copied()
                .find(|&broker| self.connections.state(broker) == ConnectionState::Idle);
            if let Some(broker) = idle {
                effects.push(self.connections.connect(now_ms, broker, &mut self.timers));
            }
            // Otherwise every connection is being set up or backing off; its timer wakes
            // the producer.
            return;
        };
        let correlation = CorrelationId(self.next_correlation);
        self.next_correlation += 1;
        self.pending_init_producer_id = Some(PendingInitProducerId {
            correlation,
            broker,
        });
        self.timers.set(
            ProducerTimer::RequestTimeout(correlation),
            now_ms.saturating_add(self.config.request_timeout_ms.max(1)),
        );
        effects.push(Effect::Send {
            to: NodeId::Broker(broker),
            message: Message::InitProducerId(InitProducerIdRequest {
                correlation,
                transactional_id: None,
                // Kafka's idempotent producer sends `Integer.MAX_VALUE`: no transaction.
                transaction_timeout_ms: u64::from(i32::MAX.unsigned_abs()),
                current: None,
            }),
        });
    }

    pub(super) fn on_init_producer_id_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        response: &InitProducerIdResponse,
        effects: &mut Vec<Effect>,
    ) {
        let Some(pending) = self.pending_init_producer_id else {
            return;
        };
        if pending.correlation != response.correlation || from != NodeId::Broker(pending.broker) {
            return;
        }
        self.end_init_producer_id();
        match response.result {
            Ok(producer) => {
                if let Some(idempotence) = self.idempotence.as_mut() {
                    idempotence.set_producer(producer);
                }
                effects.push(Effect::Mark(Mark::ProducerIdAssigned));
            }
            Err(_) => self.retry_init_producer_id(now_ms, effects),
        }
    }

    /// The outstanding InitProducerId is lost with its connection (closed, or timed out).
    pub(super) fn fail_init_producer_id_on(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        effects: &mut Vec<Effect>,
    ) {
        if self
            .pending_init_producer_id
            .is_some_and(|pending| pending.broker == broker)
        {
            self.end_init_producer_id();
            self.retry_init_producer_id(now_ms, effects);
        }
    }

    /// Every InitProducerId error an idempotent producer can get is retried after the
    /// backoff (COORDINATOR_LOAD_IN_PROGRESS while the broker waits for a block of ids,
    /// NOT_COORDINATOR, a lost connection), on the next broker.
    fn retry_init_producer_id(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        self.next_init_producer_id_broker = self.next_init_producer_id_broker.wrapping_add(1);
        self.timers.set(
            ProducerTimer::InitProducerIdBackoff,
            now_ms.saturating_add(self.config.retry_backoff_ms.max(1)),
        );
        effects.push(Effect::Mark(Mark::ProducerInitProducerIdRetried));
    }

    fn end_init_producer_id(&mut self) {
        if let Some(pending) = self.pending_init_producer_id.take() {
            self.timers
                .cancel(ProducerTimer::RequestTimeout(pending.correlation));
        }
    }
}
