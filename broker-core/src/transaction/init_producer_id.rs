//! InitProducerId for a transactional id (Kafka's `TransactionCoordinator.handleInitProducerId`
//! and `prepareInitProducerIdTransit`): an unknown id gets a new producer id; a known one has
//! its epoch bumped, which fences the previous instance of the producer. An open transaction
//! is aborted first (PrepareEpochFence → PrepareAbort) and the new instance is told to retry
//! (CONCURRENT_TRANSACTIONS); KIP-360's `current` id and epoch let a producer bump its own
//! epoch, or retry a bump whose answer it lost, without being fenced.

use super::metadata::{is_epoch_exhausted, TransactionMetadata};
use super::TransactionState;
use super::{AfterWrite, EndReply, Reply, TransactionContext, TransactionCoordinator};
use crate::error::ErrorCode;
use crate::ids::{NodeId, TransactionalId};
use crate::mark::Mark;
use crate::protocol::{InitProducerIdRequest, InitProducerIdResponse, Message, ProducerIdAndEpoch};

impl TransactionCoordinator {
    pub(super) fn handle_init_producer_id(
        &mut self,
        context: &mut TransactionContext<'_>,
        from: NodeId,
        request: &InitProducerIdRequest,
    ) {
        let reply = Reply {
            to: from,
            correlation: request.correlation,
        };
        let transactional_id =
            TransactionalId(request.transactional_id.clone().unwrap_or_default());
        if let Err(error) = self.init_producer_id(context, reply, &transactional_id, request) {
            answer_init_producer_id(context, reply, Err(error));
        }
    }

    /// Starts the InitProducerId; an `Err` is answered at once.
    fn init_producer_id(
        &mut self,
        context: &mut TransactionContext<'_>,
        reply: Reply,
        transactional_id: &TransactionalId,
        request: &InitProducerIdRequest,
    ) -> Result<(), ErrorCode> {
        if transactional_id.0.is_empty() {
            return Err(ErrorCode::InvalidRequest);
        }
        let timeout_ms = request.transaction_timeout_ms;
        if timeout_ms == 0 || timeout_ms > context.config.transaction_max_timeout_ms {
            return Err(ErrorCode::InvalidTransactionTimeout);
        }
        let (partition, loaded) = self.serving(context, transactional_id)?;
        if !loaded.transactions.contains_key(transactional_id) {
            let producer_id = context.generate_producer_id()?;
            loaded.transactions.insert(
                transactional_id.clone(),
                TransactionMetadata::new(
                    transactional_id.clone(),
                    producer_id,
                    timeout_ms,
                    context.now_ms,
                ),
            );
        }
        let metadata = loaded
            .transactions
            .get_mut(transactional_id)
            .expect("inserted above");
        if metadata.pending.is_some() {
            return Err(ErrorCode::ConcurrentTransactions);
        }
        if let Some(current) = request.current {
            if !is_valid_producer_id(metadata, current) {
                return Err(ErrorCode::ProducerFenced);
            }
        }
        let expected_epoch = request.current.map(|current| current.epoch);
        let value = match metadata.state {
            TransactionState::PrepareCommit | TransactionState::PrepareAbort => {
                return Err(ErrorCode::ConcurrentTransactions)
            }
            TransactionState::Empty
            | TransactionState::CompleteCommit
            | TransactionState::CompleteAbort => {
                if context.bugs.no_producer_fencing && metadata.producer_epoch.is_some() {
                    metadata.prepare_keep_producer_epoch(timeout_ms, context.now_ms)
                } else if metadata.producer_epoch.is_some_and(is_epoch_exhausted)
                    && expected_epoch.is_none_or(|epoch| Some(epoch) == metadata.producer_epoch)
                {
                    let producer_id = context.generate_producer_id()?;
                    metadata.prepare_producer_id_rotation(
                        producer_id,
                        timeout_ms,
                        context.now_ms,
                        expected_epoch.is_some(),
                    )
                } else {
                    metadata.prepare_increment_producer_epoch(
                        timeout_ms,
                        expected_epoch,
                        context.now_ms,
                    )?
                }
            }
            TransactionState::Ongoing if context.bugs.no_producer_fencing => {
                // The planted bug: the new instance joins the open transaction under the
                // same epoch, and the old one is not fenced.
                answer_init_producer_id(context, reply, Ok(metadata.producer()));
                return Ok(());
            }
            TransactionState::Ongoing => {
                let producer_id = metadata.producer_id;
                let fenced_epoch = metadata.prepare_fence_producer_epoch();
                context.mark(Mark::TransactionProducerFenced);
                self.end_transaction(
                    context,
                    transactional_id,
                    ProducerIdAndEpoch {
                        producer_id,
                        epoch: fenced_epoch,
                    },
                    false,
                    false,
                    EndReply::Fencing(reply),
                );
                return Ok(());
            }
            TransactionState::PrepareEpochFence | TransactionState::Dead => panic!(
                "{transactional_id}: state {} is never entered here",
                metadata.state
            ),
        };
        self.write(
            partition,
            transactional_id,
            value,
            AfterWrite::InitProducerId(reply),
        );
        Ok(())
    }
}

/// KIP-360: the id and epoch a producer says it holds must be the id's current one, or
/// belong to an id just created (epoch -1), or be the previous id with an exhausted epoch
/// (a retry of a rotation whose answer was lost).
fn is_valid_producer_id(metadata: &TransactionMetadata, current: ProducerIdAndEpoch) -> bool {
    metadata.producer_epoch.is_none()
        || current.producer_id == metadata.producer_id
        || (Some(current.producer_id) == metadata.previous_producer_id
            && is_epoch_exhausted(current.epoch))
}

pub(super) fn answer_init_producer_id(
    context: &mut TransactionContext<'_>,
    reply: Reply,
    result: Result<ProducerIdAndEpoch, ErrorCode>,
) {
    context.send(
        reply.to,
        Message::InitProducerIdResponse(InitProducerIdResponse {
            correlation: reply.correlation,
            result,
        }),
    );
}
