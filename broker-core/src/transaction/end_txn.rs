//! EndTxn, and the end of a transaction the coordinator itself aborts (a fencing or a
//! timeout): Kafka's `TransactionCoordinator.endTransaction`. An Ongoing transaction moves
//! to PrepareCommit or PrepareAbort, written with acks=all; once that is committed the
//! producer is answered and the markers go out (`markers.rs`), after which the Complete
//! state is written. Under transactions version 2 (KIP-890 part 2) the epoch is bumped with
//! the end and returned, so a late or retried EndTxn of the previous transaction carries an
//! older epoch: a retry of the end just made is answered as a success, anything else is
//! PRODUCER_FENCED; an abort at the current epoch with no transaction ongoing is an empty
//! abort that bumps the epoch (Kafka 4.x, KAFKA-14563). Under version 1
//! (`no-epoch-bump-per-transaction`) the epoch stays, and a late EndTxn of one transaction
//! can end the next (KAFKA-17754).

use super::init_producer_id::answer_init_producer_id;
use super::{
    AfterWrite, EndReply, Reply, TransactionContext, TransactionCoordinator, TransactionState,
};
use crate::error::ErrorCode;
use crate::ids::{NodeId, TransactionalId};
use crate::protocol::{EndTxnRequest, EndTxnResponse, Message, ProducerIdAndEpoch};

impl TransactionCoordinator {
    pub(super) fn handle_end_txn(
        &mut self,
        context: &mut TransactionContext<'_>,
        from: NodeId,
        request: &EndTxnRequest,
    ) {
        self.end_transaction(
            context,
            &request.transactional_id,
            request.producer,
            request.committed,
            true,
            EndReply::Client(Reply {
                to: from,
                correlation: request.correlation,
            }),
        );
    }

    /// Ends `transactional_id`'s transaction for `producer` (commit or abort). A client's
    /// request checks the epoch strictly; the coordinator's own (fencing, timeout) carries
    /// the bumped epoch it prepared.
    pub(super) fn end_transaction(
        &mut self,
        context: &mut TransactionContext<'_>,
        transactional_id: &TransactionalId,
        producer: ProducerIdAndEpoch,
        commit: bool,
        from_client: bool,
        reply: EndReply,
    ) {
        // A client states its transactions version with its request; the coordinator's own
        // aborts use the server's.
        let transaction_version_2 = context.transaction_version_2();
        let prepared = (|| {
            let (partition, metadata) = self.served_transaction(context, transactional_id)?;
            let fencing = metadata.pending == Some(TransactionState::PrepareEpochFence);
            let current_epoch = metadata.producer_epoch.unwrap_or_default();
            // Under version 2 a retry of the end just made carries the epoch before its bump.
            let retry_of_bumped_end = !fencing
                && metadata.transaction_version_2
                && metadata.producer_epoch.is_some()
                && current_epoch.0 == producer.epoch.0.wrapping_add(1);
            let valid_epoch = if !fencing && metadata.transaction_version_2 {
                match metadata.state {
                    TransactionState::PrepareCommit | TransactionState::PrepareAbort => {
                        retry_of_bumped_end
                    }
                    TransactionState::CompleteCommit | TransactionState::CompleteAbort => {
                        retry_of_bumped_end || metadata.producer_epoch == Some(producer.epoch)
                    }
                    _ => metadata.producer_epoch == Some(producer.epoch),
                }
            } else {
                (!from_client || metadata.producer_epoch == Some(producer.epoch))
                    && producer.epoch >= current_epoch
            };
            if metadata.producer_id != producer.producer_id {
                return Err(ErrorCode::InvalidProducerIdMapping);
            }
            // Version 2 asks a producer to wait while a transition is pending before it
            // judges the epoch (KAFKA-18464, Kafka 4.0): an abort sent while the previous
            // end's markers are still going out would otherwise be fenced, though it is
            // the next end of the same producer.
            let busy = metadata.pending.is_some() && !fencing;
            if busy && metadata.transaction_version_2 {
                return Err(ErrorCode::ConcurrentTransactions);
            }
            if !valid_epoch {
                return Err(ErrorCode::ProducerFenced);
            }
            if busy {
                return Err(ErrorCode::ConcurrentTransactions);
            }
            let matches = |state: TransactionState| {
                (state == TransactionState::CompleteCommit
                    || state == TransactionState::PrepareCommit)
                    == commit
            };
            // Version 2 (Kafka 4.x, KAFKA-14563): with no transaction ongoing, an abort at
            // the current epoch is an empty abort that bumps the epoch (the producer sent
            // something that never reached the coordinator, or its transaction was already
            // ended for it); a retry of the end just made is answered as it was.
            let version_2_client = from_client && transaction_version_2 && !fencing;
            if version_2_client
                && (metadata.state.is_complete() || metadata.state == TransactionState::Empty)
            {
                let answered_retry =
                    retry_of_bumped_end && metadata.state.is_complete() && matches(metadata.state);
                return if answered_retry {
                    Ok(None)
                } else if !commit && !retry_of_bumped_end {
                    let value = metadata.prepare_abort_or_commit(
                        TransactionState::PrepareAbort,
                        true,
                        context.now_ms,
                    );
                    Ok(Some((partition, value, false)))
                } else {
                    Err(ErrorCode::InvalidTxnState)
                };
            }
            match metadata.state {
                TransactionState::Ongoing => {
                    let next = if commit {
                        TransactionState::PrepareCommit
                    } else {
                        TransactionState::PrepareAbort
                    };
                    let epoch_fence = fencing && !commit;
                    if epoch_fence {
                        // The fencing's bumped epoch takes effect at once: the old
                        // instance is refused from now on, before the abort is written.
                        metadata.pending = None;
                        metadata.producer_epoch = Some(producer.epoch);
                        metadata.last_producer_epoch = None;
                    }
                    let value = metadata.prepare_abort_or_commit(
                        next,
                        transaction_version_2,
                        context.now_ms,
                    );
                    Ok(Some((partition, value, epoch_fence)))
                }
                // A retry of the end that completed: answered with the current id and epoch.
                state if state.is_complete() && matches(state) => Ok(None),
                state if state.is_prepared() && matches(state) => {
                    Err(ErrorCode::ConcurrentTransactions)
                }
                TransactionState::PrepareEpochFence | TransactionState::Dead => panic!(
                    "{transactional_id}: state {} is never entered here",
                    metadata.state
                ),
                _ => Err(ErrorCode::InvalidTxnState),
            }
        })();
        match prepared {
            Ok(Some((partition, value, epoch_fence))) => self.write(
                partition,
                transactional_id,
                value,
                AfterWrite::EndTransaction { reply, epoch_fence },
            ),
            Ok(None) => {
                let current = self
                    .transaction(transactional_id)
                    .expect("answered from it")
                    .producer();
                answer_end(context, reply, Ok(current));
            }
            Err(error) => answer_end(context, reply, Err(error)),
        }
    }
}

/// Answers whoever waits on a transaction's end: the client's EndTxn with the producer id
/// and epoch to use next, a fencing InitProducerId with CONCURRENT_TRANSACTIONS (it retries
/// and then gets the bumped epoch), a timeout nobody.
pub(super) fn answer_end(
    context: &mut TransactionContext<'_>,
    reply: EndReply,
    result: Result<ProducerIdAndEpoch, ErrorCode>,
) {
    match reply {
        EndReply::Client(reply) => context.send(
            reply.to,
            Message::EndTxnResponse(EndTxnResponse {
                correlation: reply.correlation,
                result,
            }),
        ),
        EndReply::Fencing(reply) => answer_init_producer_id(
            context,
            reply,
            Err(result.err().unwrap_or(ErrorCode::ConcurrentTransactions)),
        ),
        EndReply::Timeout => {}
    }
}
