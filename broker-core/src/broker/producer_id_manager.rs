//! The broker's producer-id manager (Kafka's `RPCProducerIdManager`, KIP-730): it hands out
//! producer ids from blocks the controller allocated to this broker, one id per call of
//! [`ProducerIdManager::generate_producer_id`] (an idempotent producer's InitProducerId now;
//! the transaction coordinator's new transactional ids later).
//!
//! Life of the blocks. Nothing is asked before the first call (a broker that no client asks
//! holds no block). The first call finds no id, sends AllocateProducerIds and answers
//! COORDINATOR_LOAD_IN_PROGRESS, which clients retry. Once 90% of the current block is
//! handed out the next block is asked for ahead of time (prefetch), so a busy broker does not
//! stall at the block's end. At most one AllocateProducerIds is outstanding; one refused (a
//! stale broker epoch) is sent again after [`PRODUCER_ID_RETRY_BACKOFF_MS`], one lost (the
//! controller's connection closed, or no answer within [`CONTROLLER_REQUEST_TIMEOUT_MS`]) is
//! sent again too, so a manager that was asked keeps asking until it holds a block.
//!
//! Invariants: ids are handed out in increasing order and never twice by one process (a
//! received block must start at or after the end of the current one); the manager is in
//! memory only, so a restarted broker starts empty and asks for a new block, and the ids
//! left in its old block are never used (the controller moved past them).

use super::BrokerTimer;
use crate::actor::Effect;
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{BrokerEpoch, BrokerId, CorrelationId, NodeId, ProducerId};
use crate::mark::Mark;
use crate::protocol::{
    AllocateProducerIdsRequest, AllocateProducerIdsResponse, Message, ProducerIdBlock,
};
use crate::timer::TimerTable;

/// The share of a block handed out, in percent, at which the next block is asked for
/// (`ProducerIdManager.PidPrefetchThreshold`, 0.90).
pub const PRODUCER_ID_PREFETCH_PERCENT: u64 = 90;

/// Pause before asking again after a refusal (`ProducerIdManager.RetryBackoffMs`, fixed in
/// Kafka, not a setting).
pub const PRODUCER_ID_RETRY_BACKOFF_MS: u64 = 50;

/// An AllocateProducerIds without an answer by then is given up on and sent again (Kafka's
/// broker-to-controller channel times a request out after `controller.socket.timeout.ms`,
/// 30 s by default, and the manager then sends a new one).
pub const CONTROLLER_REQUEST_TIMEOUT_MS: u64 = 30_000;

/// What the manager may use of its broker while it acts.
pub struct ProducerIdContext<'a> {
    pub now_ms: u64,
    pub broker: BrokerId,
    /// The epoch of the broker's accepted registration; `None` while it registers, when no
    /// request can name one.
    pub broker_epoch: Option<BrokerEpoch>,
    /// How long after the controller's connection closed the request is sent again.
    pub reconnect_backoff_ms: u64,
    /// The broker's correlation counter (shared with its replica fetchers).
    pub next_correlation: &'a mut u64,
    pub timers: &'a mut TimerTable<BrokerTimer>,
    pub effects: &'a mut Vec<Effect>,
}

impl ProducerIdContext<'_> {
    fn mark(&mut self, mark: Mark) {
        self.effects.push(Effect::Mark(mark));
    }

    fn retry_at(&mut self, at_ms: u64) {
        self.timers.set(BrokerTimer::ProducerIdBlockRequest, at_ms);
    }
}

/// A block and how far it has been handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CurrentBlock {
    block: ProducerIdBlock,
    /// The next id to hand out; past the block's end once it is used up.
    next_id: u64,
}

impl CurrentBlock {
    fn end(&self) -> u64 {
        self.block.first.0 + self.block.length
    }

    fn is_used_up(&self) -> bool {
        self.next_id >= self.end()
    }

    fn claim(&mut self) -> Option<ProducerId> {
        if self.is_used_up() {
            return None;
        }
        self.next_id += 1;
        Some(ProducerId(self.next_id - 1))
    }

    /// Whether handing out `id` reached the prefetch share of the block.
    fn past_prefetch_threshold(&self, id: ProducerId) -> bool {
        let used = id.0 - self.block.first.0;
        used >= self.block.length * PRODUCER_ID_PREFETCH_PERCENT / 100
    }
}

/// Where the request for the next block stands. The timer
/// [`BrokerTimer::ProducerIdBlockRequest`] is set exactly while it is not `Idle`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum BlockRequest {
    /// Nothing asked: the manager either needs no block yet or holds the next one.
    #[default]
    Idle,
    /// Sent; the timer gives it up and sends it again.
    InFlight { correlation: CorrelationId },
    /// Refused or lost; the timer sends it again.
    BackingOff,
}

/// The producer ids this broker process may hand out.
#[derive(Clone, Debug, Default)]
pub struct ProducerIdManager {
    current: Option<CurrentBlock>,
    /// The block received ahead of time, used once `current` runs out.
    next: Option<ProducerIdBlock>,
    request: BlockRequest,
}

impl ProducerIdManager {
    /// The next producer id, or COORDINATOR_LOAD_IN_PROGRESS while the manager waits for a
    /// block (`RPCProducerIdManager.generateProducerId`; Kafka answers so rather than
    /// REQUEST_TIMED_OUT because every client retries it).
    pub fn generate_producer_id(
        &mut self,
        context: &mut ProducerIdContext<'_>,
    ) -> Result<ProducerId, ErrorCode> {
        if self.current.is_none_or(|current| current.is_used_up()) {
            if let Some(block) = self.next.take() {
                self.current = Some(CurrentBlock {
                    block,
                    next_id: block.first.0,
                });
            }
        }
        let claimed = self.current.as_mut().and_then(|current| {
            let id = current.claim()?;
            Some((id, current.past_prefetch_threshold(id)))
        });
        match claimed {
            Some((id, past_threshold)) => {
                if past_threshold && self.may_ask() {
                    context.mark(Mark::ProducerIdBlockPrefetched);
                    self.send_request(context);
                }
                Ok(id)
            }
            None => {
                if self.may_ask() {
                    self.send_request(context);
                }
                context.mark(Mark::InitProducerIdLoadInProgress);
                Err(ErrorCode::CoordinatorLoadInProgress)
            }
        }
    }

    /// The controller's answer. Only the answer to the outstanding request counts: one to a
    /// request given up on is dropped (its block is never used, as in Kafka, whose channel
    /// no longer waits for it).
    pub fn on_allocate_producer_ids_response(
        &mut self,
        context: &mut ProducerIdContext<'_>,
        response: &AllocateProducerIdsResponse,
    ) {
        let BlockRequest::InFlight { correlation } = self.request else {
            return;
        };
        if response.correlation != correlation {
            return;
        }
        match response.result {
            Ok(block) if self.follows_current(block) => {
                self.next = Some(block);
                self.request = BlockRequest::Idle;
                context.timers.cancel(BrokerTimer::ProducerIdBlockRequest);
                context
                    .effects
                    .push(Effect::Event(Event::ProducerIdBlockReceived {
                        broker: context.broker,
                        first: block.first,
                        length: block.length,
                    }));
            }
            // Refused (STALE_BROKER_EPOCH while the broker registers again) or a block Kafka's
            // sanity checks reject: ask again after the backoff.
            _ => {
                self.request = BlockRequest::BackingOff;
                context.retry_at(context.now_ms + PRODUCER_ID_RETRY_BACKOFF_MS);
            }
        }
    }

    /// [`BrokerTimer::ProducerIdBlockRequest`] fired: the outstanding request is given up on,
    /// or the backoff ended; either way the request goes again.
    pub fn on_timer(&mut self, context: &mut ProducerIdContext<'_>) {
        if self.request != BlockRequest::Idle {
            self.send_request(context);
        }
    }

    /// The controller's connection closed: an outstanding request is lost with it, and is
    /// sent again once the broker may reconnect.
    pub fn on_controller_connection_closed(&mut self, context: &mut ProducerIdContext<'_>) {
        if let BlockRequest::InFlight { .. } = self.request {
            self.request = BlockRequest::BackingOff;
            context.retry_at(context.now_ms + context.reconnect_backoff_ms.max(1));
        }
    }

    /// Whether a new request may go: none is outstanding or waiting, and no block is held
    /// in reserve.
    fn may_ask(&self) -> bool {
        self.request == BlockRequest::Idle && self.next.is_none()
    }

    /// Kafka's checks on a received block: not empty, within the id range, and not below
    /// the block in use.
    fn follows_current(&self, block: ProducerIdBlock) -> bool {
        let in_range = block.length > 0
            && block
                .first
                .0
                .checked_add(block.length)
                .is_some_and(|end| end <= i64::MAX as u64);
        in_range
            && self
                .current
                .is_none_or(|current| block.first.0 >= current.end())
    }

    /// Sends AllocateProducerIds, or, while the broker has no epoch to name, waits a backoff.
    fn send_request(&mut self, context: &mut ProducerIdContext<'_>) {
        let Some(broker_epoch) = context.broker_epoch else {
            self.request = BlockRequest::BackingOff;
            context.retry_at(context.now_ms + PRODUCER_ID_RETRY_BACKOFF_MS);
            return;
        };
        *context.next_correlation += 1;
        let correlation = CorrelationId(*context.next_correlation);
        context.effects.push(Effect::Send {
            to: NodeId::Controller,
            message: Message::AllocateProducerIds(AllocateProducerIdsRequest {
                correlation,
                broker: context.broker,
                broker_epoch,
            }),
        });
        self.request = BlockRequest::InFlight { correlation };
        context.retry_at(context.now_ms + CONTROLLER_REQUEST_TIMEOUT_MS);
    }
}

#[cfg(test)]
#[path = "producer_id_manager_tests.rs"]
mod tests;
