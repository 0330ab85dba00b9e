//! Loading and unloading transaction log partitions (Kafka's
//! `TransactionStateManager.loadTransactionsForTxnTopicPartition` and
//! `removeTransactionsForTxnTopicPartition`), and the end of the coordinator's writes. On
//! becoming leader the coordinator replays every record of the partition's local log (the
//! latest record of an id wins) under the partition's leader epoch as its coordinator
//! epoch; a transaction found in PrepareCommit or PrepareAbort has its markers written and
//! is completed. On losing leadership its transactions are dropped, their markers no longer
//! sent, and pending writes answered NOT_COORDINATOR.

use super::add_partitions::{all_ok, answer_add_offsets, answer_add_partitions};
use super::end_txn::answer_end;
use super::init_producer_id::answer_init_producer_id;
use super::records::TransactionLogRecord;
use super::{
    state_changed, AfterWrite, LoadedTransactions, TransactionContext, TransactionCoordinator,
    TransactionMetadata, TransactionTimer,
};
use crate::coordinator::normalize_append_error;
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{LeaderEpoch, TransactionalId};
use crate::mark::Mark;
use crate::partition::LocalCompletion;
use crate::record::Record;
use crate::topic::TopicPartition;
use std::collections::BTreeMap;

impl TransactionCoordinator {
    /// This broker became leader of `partition` at `coordinator_epoch`: replays `records`
    /// (its whole local log), serves its transactional ids and completes what was prepared.
    pub fn load(
        &mut self,
        context: &mut TransactionContext<'_>,
        partition: TopicPartition,
        coordinator_epoch: LeaderEpoch,
        records: &[Record],
    ) {
        let mut transactions: BTreeMap<TransactionalId, TransactionMetadata> = BTreeMap::new();
        for record in records {
            let Some(decoded) = TransactionLogRecord::decode(record) else {
                continue;
            };
            match decoded.value {
                Some(value) => {
                    let metadata =
                        TransactionMetadata::from_log(decoded.transactional_id.clone(), &value);
                    transactions.insert(decoded.transactional_id, metadata);
                }
                None => {
                    transactions.remove(&decoded.transactional_id);
                }
            }
        }
        if !transactions.is_empty() {
            context.mark(Mark::TransactionsLoadedFromLog);
        }
        context.event(Event::TransactionsLoaded {
            partition,
            coordinator_epoch,
            transactions: transactions
                .values()
                .map(|metadata| (metadata.transactional_id.clone(), metadata.state))
                .collect(),
        });
        let prepared: Vec<TransactionalId> = transactions
            .values()
            .filter(|metadata| metadata.state.is_prepared())
            .map(|metadata| metadata.transactional_id.clone())
            .collect();
        if self.partitions.is_empty() {
            context.set_timer(
                TransactionTimer::AbortTimedOutTransactions,
                context.now_ms
                    + context
                        .config
                        .transaction_abort_timed_out_transaction_cleanup_interval_ms
                        .max(1),
            );
        }
        self.partitions.insert(
            partition,
            LoadedTransactions {
                coordinator_epoch,
                transactions,
            },
        );
        for transactional_id in prepared {
            context.mark(Mark::TransactionCompletedAfterLoad);
            self.start_markers(context, partition, &transactional_id);
        }
        self.send_markers(context);
    }

    /// This broker stopped leading `partition`: its transactions are dropped, their markers
    /// no longer sent, and pending writes answered NOT_COORDINATOR.
    pub fn unload(&mut self, context: &mut TransactionContext<'_>, partition: TopicPartition) {
        let Some(loaded) = self.partitions.remove(&partition) else {
            return;
        };
        let tokens: Vec<u64> = self
            .pending_writes
            .iter()
            .filter(|(_, write)| write.partition == partition)
            .map(|(token, _)| *token)
            .collect();
        for token in tokens {
            let write = self.pending_writes.remove(&token).expect("listed");
            fail_write(context, write.then, ErrorCode::NotCoordinator);
        }
        self.markers
            .forget_partition(partition, loaded.transactions.keys());
        if self.partitions.is_empty() {
            context.cancel_timer(TransactionTimer::AbortTimedOutTransactions);
        }
        context.event(Event::TransactionsUnloaded {
            partition,
            transactions: loaded.transactions.keys().cloned().collect(),
        });
    }

    /// A local append of the transaction coordinator ended.
    pub fn on_append_completed(
        &mut self,
        context: &mut TransactionContext<'_>,
        completion: LocalCompletion,
    ) {
        let Some(write) = self.pending_writes.remove(&completion.waiter.token) else {
            return;
        };
        let result = completion.result.map_err(normalize_append_error);
        let served = self
            .partitions
            .get_mut(&write.partition)
            .filter(|loaded| loaded.coordinator_epoch == write.coordinator_epoch)
            .and_then(|loaded| loaded.transactions.get_mut(&write.transactional_id));
        let Some(metadata) = served else {
            return fail_write(context, write.then, ErrorCode::NotCoordinator);
        };
        if let Err(error) = result {
            metadata.pending = None;
            match write.then {
                AfterWrite::EndTransaction {
                    epoch_fence: true, ..
                } => metadata.has_failed_epoch_fence = true,
                AfterWrite::Complete if error == ErrorCode::CoordinatorNotAvailable => {
                    // The markers are written; only the completion is missing (too few
                    // replicas in sync, or a timeout): write it again while this broker
                    // leads the partition, as Kafka's marker channel retries its log append.
                    metadata.pending = Some(write.value.state);
                    self.markers.retry_completion(
                        context,
                        write.transactional_id.clone(),
                        write.value.clone(),
                    );
                    return;
                }
                _ => {}
            }
            return fail_write(context, write.then, error);
        }
        let from = metadata.state;
        metadata.complete_transition(&write.value);
        let producer = metadata.producer();
        context.event(state_changed(&write.transactional_id, from, &write.value));
        match write.then {
            AfterWrite::InitProducerId(reply) => {
                answer_init_producer_id(context, reply, Ok(producer))
            }
            AfterWrite::AddPartitions { reply, partitions } => {
                answer_add_partitions(context, reply, Ok(all_ok(&partitions)))
            }
            AfterWrite::AddOffsets(reply) => answer_add_offsets(context, reply, Ok(())),
            AfterWrite::EndTransaction { reply, .. } => {
                // Kafka answers as soon as the end is written; the markers follow.
                answer_end(context, reply, Ok(producer));
                self.start_markers(context, write.partition, &write.transactional_id);
                self.send_markers(context);
            }
            AfterWrite::Complete => {}
        }
    }
}

/// Answers a write that failed, or whose partition is no longer served here.
fn fail_write(context: &mut TransactionContext<'_>, then: AfterWrite, error: ErrorCode) {
    match then {
        AfterWrite::InitProducerId(reply) => answer_init_producer_id(context, reply, Err(error)),
        AfterWrite::AddPartitions { reply, .. } => {
            answer_add_partitions(context, reply, Err(error))
        }
        AfterWrite::AddOffsets(reply) => answer_add_offsets(context, reply, Err(error)),
        AfterWrite::EndTransaction { reply, .. } => answer_end(context, reply, Err(error)),
        // The next coordinator finds the prepared state and completes it.
        AfterWrite::Complete => {}
    }
}
