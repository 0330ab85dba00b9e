//! AddPartitionsToTxn and AddOffsetsToTxn (Kafka's `handleAddPartitionsToTransaction` and
//! `handleVerifyPartitionsInTransaction`). A producer adds the partitions it is about to
//! write (an Empty or completed transaction becomes Ongoing); with transactions version 2 a
//! partition leader adds them for it (KIP-890 part 2, also `verify_only: false`). A leader's
//! `verify_only` request (KIP-890 part 1) writes nothing: it asks whether the transaction is
//! ongoing with those partitions, each answered OK or TRANSACTION_ABORTABLE.

use super::{AfterWrite, Reply, TransactionContext, TransactionCoordinator, TransactionState};
use crate::error::ErrorCode;
use crate::ids::{NodeId, TransactionalId};
use crate::offsets_topic::group_partition;
use crate::protocol::{
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse, Message, PartitionResult, ProducerIdAndEpoch,
};
use crate::topic::TopicPartition;

/// What answers an add once it is written (or refused).
enum AddReply {
    Partitions(Reply),
    Offsets(Reply),
}

impl TransactionCoordinator {
    pub(super) fn handle_add_partitions_to_txn(
        &mut self,
        context: &mut TransactionContext<'_>,
        from: NodeId,
        request: &AddPartitionsToTxnRequest,
    ) {
        let reply = Reply {
            to: from,
            correlation: request.correlation,
        };
        if request.verify_only {
            let result = self.verify_partitions(
                context,
                &request.transactional_id,
                request.producer,
                &request.partitions,
            );
            answer_add_partitions(context, reply, result);
            return;
        }
        self.add_partitions(
            context,
            &request.transactional_id,
            request.producer,
            &request.partitions,
            AddReply::Partitions(reply),
        );
    }

    pub(super) fn handle_add_offsets_to_txn(
        &mut self,
        context: &mut TransactionContext<'_>,
        from: NodeId,
        request: &AddOffsetsToTxnRequest,
    ) {
        // The group's offsets partition joins the transaction, so its commit or abort
        // marker makes the transaction's offsets visible or drops them.
        let offsets_partition =
            group_partition(&request.group, context.config.offsets_topic_num_partitions);
        self.add_partitions(
            context,
            &request.transactional_id,
            request.producer,
            &[offsets_partition],
            AddReply::Offsets(Reply {
                to: from,
                correlation: request.correlation,
            }),
        );
    }

    fn add_partitions(
        &mut self,
        context: &mut TransactionContext<'_>,
        transactional_id: &TransactionalId,
        producer: ProducerIdAndEpoch,
        partitions: &[TopicPartition],
        reply: AddReply,
    ) {
        let prepared = (|| {
            let (partition, metadata) = self.served_transaction(context, transactional_id)?;
            if metadata.producer_id != producer.producer_id {
                return Err(ErrorCode::InvalidProducerIdMapping);
            }
            if metadata.producer_epoch != Some(producer.epoch) {
                return Err(ErrorCode::ProducerFenced);
            }
            if metadata.pending.is_some() || metadata.state.is_prepared() {
                return Err(ErrorCode::ConcurrentTransactions);
            }
            if metadata.state == TransactionState::Ongoing
                && partitions
                    .iter()
                    .all(|added| metadata.partitions.contains(added))
            {
                // Already in the transaction: nothing to write.
                return Ok(None);
            }
            Ok(Some((
                partition,
                metadata.prepare_add_partitions(partitions, context.now_ms),
            )))
        })();
        match (prepared, reply) {
            (Ok(Some((partition, value))), AddReply::Partitions(reply)) => self.write(
                partition,
                transactional_id,
                value,
                AfterWrite::AddPartitions {
                    reply,
                    partitions: partitions.to_vec(),
                },
            ),
            (Ok(Some((partition, value))), AddReply::Offsets(reply)) => self.write(
                partition,
                transactional_id,
                value,
                AfterWrite::AddOffsets(reply),
            ),
            (Ok(None), AddReply::Partitions(reply)) => {
                answer_add_partitions(context, reply, Ok(all_ok(partitions)))
            }
            (Ok(None), AddReply::Offsets(reply)) => answer_add_offsets(context, reply, Ok(())),
            (Err(error), AddReply::Partitions(reply)) => {
                answer_add_partitions(context, reply, Err(error))
            }
            (Err(error), AddReply::Offsets(reply)) => {
                answer_add_offsets(context, reply, Err(error))
            }
        }
    }

    /// A partition leader's question (KIP-890 part 1): is this producer's transaction
    /// ongoing with these partitions? Nothing is written.
    fn verify_partitions(
        &mut self,
        context: &TransactionContext<'_>,
        transactional_id: &TransactionalId,
        producer: ProducerIdAndEpoch,
        partitions: &[TopicPartition],
    ) -> Result<Vec<PartitionResult>, ErrorCode> {
        let (_, metadata) = self.served_transaction(context, transactional_id)?;
        if metadata.producer_id != producer.producer_id {
            return Err(ErrorCode::InvalidProducerIdMapping);
        }
        if metadata.producer_epoch != Some(producer.epoch) {
            return Err(ErrorCode::ProducerFenced);
        }
        if metadata.state.is_prepared() {
            return Err(ErrorCode::ConcurrentTransactions);
        }
        // The partitions of a transaction that is not ongoing are empty, so every one is
        // answered TRANSACTION_ABORTABLE then.
        Ok(partitions
            .iter()
            .map(|partition| {
                let result = if metadata.partitions.contains(partition) {
                    Ok(())
                } else {
                    Err(ErrorCode::TransactionAbortable)
                };
                (*partition, result)
            })
            .collect())
    }
}

pub(super) fn all_ok(partitions: &[TopicPartition]) -> Vec<PartitionResult> {
    partitions
        .iter()
        .map(|partition| (*partition, Ok(())))
        .collect()
}

pub(super) fn answer_add_partitions(
    context: &mut TransactionContext<'_>,
    reply: Reply,
    result: Result<Vec<PartitionResult>, ErrorCode>,
) {
    let (error, partitions) = match result {
        Ok(partitions) => (None, partitions),
        Err(error) => (Some(error), Vec::new()),
    };
    context.send(
        reply.to,
        Message::AddPartitionsToTxnResponse(AddPartitionsToTxnResponse {
            correlation: reply.correlation,
            error,
            partitions,
        }),
    );
}

pub(super) fn answer_add_offsets(
    context: &mut TransactionContext<'_>,
    reply: Reply,
    result: Result<(), ErrorCode>,
) {
    context.send(
        reply.to,
        Message::AddOffsetsToTxnResponse(AddOffsetsToTxnResponse {
            correlation: reply.correlation,
            result,
        }),
    );
}
