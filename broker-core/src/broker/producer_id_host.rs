//! How a broker serves producer ids: InitProducerId from clients (Kafka's
//! `TransactionCoordinator.handleInitProducerId`, which every broker runs) answered from its
//! [`ProducerIdManager`], and the manager's AllocateProducerIds answers, timer and lost
//! controller connection handed to it.

use super::producer_id_manager::{ProducerIdContext, ProducerIdManager};
use super::Broker;
use crate::actor::Effect;
use crate::error::ErrorCode;
use crate::ids::{NodeId, ProducerEpoch, ProducerId};
use crate::protocol::{
    AllocateProducerIdsResponse, InitProducerIdRequest, InitProducerIdResponse, Message,
    ProducerIdAndEpoch,
};

impl Broker {
    /// The manager with the parts of the broker it may use.
    fn with_producer_ids<T>(
        &mut self,
        now_ms: u64,
        effects: &mut Vec<Effect>,
        act: impl FnOnce(&mut ProducerIdManager, &mut ProducerIdContext<'_>) -> T,
    ) -> T {
        let mut context = ProducerIdContext {
            now_ms,
            broker: self.id,
            broker_epoch: self.broker_epoch,
            reconnect_backoff_ms: self.config.reconnect_backoff_ms,
            next_correlation: &mut self.next_correlation,
            timers: &mut self.timers,
            effects,
        };
        act(&mut self.producer_ids, &mut context)
    }

    /// The next producer id this broker hands out, or COORDINATOR_LOAD_IN_PROGRESS while it
    /// waits for a block. The one way to get an id: the idempotent producer's InitProducerId
    /// (the transaction coordinator reaches the manager through its own context).
    pub(super) fn generate_producer_id(
        &mut self,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<ProducerId, ErrorCode> {
        self.with_producer_ids(now_ms, effects, |manager, context| {
            manager.generate_producer_id(context)
        })
    }

    pub(super) fn on_init_producer_id(
        &mut self,
        now_ms: u64,
        from: NodeId,
        request: &InitProducerIdRequest,
        effects: &mut Vec<Effect>,
    ) {
        if request.transactional_id.is_some() {
            // A transactional id's InitProducerId is its transaction coordinator's.
            return self.on_transaction_request(
                now_ms,
                from,
                Message::InitProducerId(request.clone()),
                effects,
            );
        }
        let result = self.init_idempotent_producer_id(now_ms, effects);
        effects.push(Effect::Send {
            to: from,
            message: Message::InitProducerIdResponse(InitProducerIdResponse {
                correlation: request.correlation,
                result,
            }),
        });
    }

    /// An idempotent producer (no transactional id): any broker answers with a fresh id and
    /// epoch 0, whatever id and epoch the request names (Kafka "blindly accepts" it; KIP-360's
    /// current id only matters to a transactional id's coordinator).
    fn init_idempotent_producer_id(
        &mut self,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> Result<ProducerIdAndEpoch, ErrorCode> {
        let producer_id = self.generate_producer_id(now_ms, effects)?;
        Ok(ProducerIdAndEpoch {
            producer_id,
            epoch: ProducerEpoch(0),
        })
    }

    pub(super) fn on_allocate_producer_ids_response(
        &mut self,
        now_ms: u64,
        response: &AllocateProducerIdsResponse,
        effects: &mut Vec<Effect>,
    ) {
        self.with_producer_ids(now_ms, effects, |manager, context| {
            manager.on_allocate_producer_ids_response(context, response)
        });
    }

    pub(super) fn on_producer_id_timer(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        self.with_producer_ids(now_ms, effects, |manager, context| {
            manager.on_timer(context)
        });
    }

    pub(super) fn on_producer_id_controller_connection_closed(
        &mut self,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) {
        self.with_producer_ids(now_ms, effects, |manager, context| {
            manager.on_controller_connection_closed(context)
        });
    }
}
