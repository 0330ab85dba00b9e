//! Producer-id blocks (KIP-730, Kafka's `ProducerIdControlManager`): the controller hands
//! each broker that asks a block of [`PRODUCER_ID_BLOCK_SIZE`] consecutive producer ids,
//! starting where the previous block ended.
//!
//! Invariant: no producer id is ever in two blocks, across broker and controller restarts.
//! The start of the next block is part of the persisted [`super::state::ControllerState`]
//! (Kafka's `ProducerIdsRecord` in the metadata log), and the answer is only sent once the
//! advanced start is synced (`Controller::commit` persists before it replies), so a block
//! any broker ever received is below what a restarted controller hands out next.

use super::{Controller, Reply, Step};
use crate::error::ErrorCode;
use crate::ids::ProducerId;
use crate::protocol::{AllocateProducerIdsRequest, ProducerIdBlock};

/// Ids per block (`ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE`).
pub const PRODUCER_ID_BLOCK_SIZE: u64 = 1_000;

/// Kafka's producer ids are `int64` and refuse a block whose end passes `Long.MAX_VALUE`.
const PRODUCER_ID_MAX: u64 = i64::MAX as u64;

impl Controller {
    /// `QuorumController.allocateProducerIds`: the sender must be registered with the broker
    /// epoch it names (`ClusterControlManager.checkBrokerEpoch`, which answers
    /// STALE_BROKER_EPOCH for an unknown broker too); then the next block is its, and the
    /// start of the one after is persisted before the answer leaves.
    pub(super) fn handle_allocate_producer_ids(
        &mut self,
        request: &AllocateProducerIdsRequest,
        step: &mut Step,
    ) -> Reply {
        let AllocateProducerIdsRequest {
            correlation,
            broker,
            broker_epoch,
        } = *request;
        let current_epoch = self
            .state
            .brokers
            .get(&broker)
            .is_some_and(|registration| registration.broker_epoch == broker_epoch);
        let result = if current_epoch {
            Ok(self.allocate_producer_id_block(step))
        } else {
            Err(ErrorCode::StaleBrokerEpoch)
        };
        Reply::AllocateProducerIds {
            broker,
            correlation,
            result,
        }
    }

    /// Takes the next block and moves the persisted start past it.
    fn allocate_producer_id_block(&mut self, step: &mut Step) -> ProducerIdBlock {
        let first = self.state.next_producer_id;
        // Kafka fails the request with UNKNOWN_SERVER_ERROR here; at one block per
        // simulated request the int64 range cannot run out within a run, so reaching it
        // means the persisted state is corrupt.
        assert!(
            first.0 <= PRODUCER_ID_MAX - PRODUCER_ID_BLOCK_SIZE,
            "producer ids exhausted: next block would start at {first}"
        );
        self.state.next_producer_id = ProducerId(first.0 + PRODUCER_ID_BLOCK_SIZE);
        step.state_changed = true;
        ProducerIdBlock {
            first,
            length: PRODUCER_ID_BLOCK_SIZE,
        }
    }
}
