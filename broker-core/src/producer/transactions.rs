//! The transactional producer's API (Kafka's `KafkaProducer.initTransactions`,
//! `beginTransaction`, `sendOffsetsToTransaction`, `commitTransaction`,
//! `abortTransaction`). Sans-IO: a blocking call of Kafka's starts here and completes later
//! with one `Event::TransactionOperationCompleted`; a call the state does not allow
//! completes at once with the error Kafka would throw (INVALID_TXN_STATE, or the error that
//! put the producer in AbortableError or FatalError). The requests themselves are in
//! `transactional_requests.rs`.

use super::transaction_manager::{PendingOffsets, TransactionOperation, TransactionState};
use super::Producer;
use crate::actor::Effect;
use crate::error::ErrorCode;
use crate::event::Event;
use crate::protocol::{ConsumerGroupMetadata, OffsetAndMetadata};
use crate::topic::TopicPartition;

impl Producer {
    /// Kafka's `initTransactions`: finds the transaction coordinator and gets the
    /// transactional id's producer id and epoch (fencing any previous instance).
    pub fn init_transactions(&mut self, now_ms: u64) -> Vec<Effect> {
        self.start_operation(
            now_ms,
            TransactionOperation::InitTransactions,
            |state| state == TransactionState::Uninitialized,
            |_| TransactionState::Initializing,
        )
    }

    /// Kafka's `beginTransaction`: local, allowed only in Ready.
    pub fn begin_transaction(&mut self) -> Result<(), ErrorCode> {
        let Some(manager) = self.transactions.as_mut() else {
            return Err(ErrorCode::InvalidTxnState);
        };
        if manager.state != TransactionState::Ready || manager.operation.is_some() {
            return Err(manager.refuse());
        }
        manager.state = TransactionState::InTransaction;
        Ok(())
    }

    /// Kafka's `sendOffsetsToTransaction`: the consumer offsets `offsets` (positions: the
    /// next record to read) are committed with the transaction, for `group`'s member.
    pub fn send_offsets_to_transaction(
        &mut self,
        now_ms: u64,
        offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
        group: ConsumerGroupMetadata,
    ) -> Vec<Effect> {
        let pending = PendingOffsets {
            group_metadata: group,
            offsets,
            added_to_transaction: false,
        };
        let mut pending = Some(pending);
        self.start_operation(
            now_ms,
            TransactionOperation::SendOffsetsToTransaction,
            |state| state == TransactionState::InTransaction,
            |manager| {
                // A new group may have a different coordinator.
                let same_group = manager
                    .pending_offsets
                    .as_ref()
                    .map(|offsets| offsets.group_metadata.group.clone())
                    == pending
                        .as_ref()
                        .map(|offsets| offsets.group_metadata.group.clone());
                if !same_group {
                    manager.group_coordinator = None;
                }
                manager.pending_offsets = pending.take();
                TransactionState::InTransaction
            },
        )
    }

    /// Kafka's `commitTransaction`: once every batch of the transaction has completed,
    /// EndTxn(commit). Fails if a send of the transaction failed (the application aborts).
    pub fn commit_transaction(&mut self, now_ms: u64) -> Vec<Effect> {
        self.start_operation(
            now_ms,
            TransactionOperation::CommitTransaction,
            |state| state == TransactionState::InTransaction,
            |_| TransactionState::CommittingTransaction,
        )
    }

    /// Kafka's `abortTransaction`: batches not sent yet fail, those in flight are waited
    /// for, then EndTxn(abort).
    pub fn abort_transaction(&mut self, now_ms: u64) -> Vec<Effect> {
        self.start_operation(
            now_ms,
            TransactionOperation::AbortTransaction,
            |state| {
                matches!(
                    state,
                    TransactionState::InTransaction | TransactionState::AbortableError
                )
            },
            |_| TransactionState::AbortingTransaction,
        )
    }

    /// The transactional state (Uninitialized for a producer without a transactional id).
    pub fn transaction_state(&self) -> TransactionState {
        self.transactions
            .as_ref()
            .map_or(TransactionState::Uninitialized, |manager| manager.state)
    }

    /// Starts `operation` if no other is in progress and `allowed` accepts the state, moving
    /// to the state `enter` returns; otherwise completes it at once with Kafka's error.
    fn start_operation(
        &mut self,
        now_ms: u64,
        operation: TransactionOperation,
        allowed: impl Fn(TransactionState) -> bool,
        enter: impl FnOnce(&mut super::transaction_manager::TransactionManager) -> TransactionState,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let refused = match self.transactions.as_mut() {
            None => Some(ErrorCode::InvalidTxnState),
            Some(manager) if manager.operation.is_some() || !allowed(manager.state) => {
                Some(manager.refuse())
            }
            Some(manager) => {
                manager.state = enter(manager);
                manager.operation = Some(operation);
                None
            }
        };
        if let Some(error) = refused {
            effects.push(Effect::Event(Event::TransactionOperationCompleted {
                operation,
                result: Err(error),
            }));
        }
        self.run_once(now_ms, &mut effects);
        self.check_invariants();
        effects
    }
}
