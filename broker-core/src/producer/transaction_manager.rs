//! The transactional half of Kafka's `TransactionManager` (KIP-98, KIP-447, KIP-890): the
//! producer's transaction state, the application's operation in progress, the coordinators
//! it talks to, and what it has told them about the ongoing transaction.
//!
//! States are Kafka's (`TransactionManager.State`): Uninitialized → Initializing → Ready →
//! InTransaction → CommittingTransaction / AbortingTransaction → Ready, with AbortableError
//! (the application must abort) and FatalError (every operation fails from then on).
//!
//! Transactions version 2 (KIP-890 part 2, Kafka 4.x's default) sends neither
//! AddPartitionsToTxn (the partition leader adds a partition when it verifies the first
//! transactional produce) nor AddOffsetsToTxn (the group coordinator adds the offsets
//! partition when it takes the TxnOffsetCommit), and adopts the epoch EndTxn returns.
//! Version 1 (`no-epoch-bump-per-transaction`) adds each new partition before its first
//! batch leaves, adds the group's offsets before committing them, and keeps its epoch.
//!
//! Invariants: at most one application operation is in progress and at most one
//! transactional request is in flight; a partition of version 1 drains only once added.

use crate::error::ErrorCode;
use crate::ids::{BrokerId, CorrelationId, TransactionalId};
use crate::protocol::{ConsumerGroupMetadata, CoordinatorKey, OffsetAndMetadata};
use crate::topic::TopicPartition;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;

/// Kafka's `TransactionManager.State`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum TransactionState {
    Uninitialized,
    Initializing,
    Ready,
    InTransaction,
    CommittingTransaction,
    AbortingTransaction,
    AbortableError,
    FatalError,
}

impl fmt::Display for TransactionState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, formatter)
    }
}

/// The blocking calls of Kafka's transactional producer, each completed by one
/// `Event::TransactionOperationCompleted`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum TransactionOperation {
    InitTransactions,
    SendOffsetsToTransaction,
    CommitTransaction,
    AbortTransaction,
}

impl fmt::Display for TransactionOperation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            TransactionOperation::InitTransactions => "init-transactions",
            TransactionOperation::SendOffsetsToTransaction => "send-offsets-to-transaction",
            TransactionOperation::CommitTransaction => "commit-transaction",
            TransactionOperation::AbortTransaction => "abort-transaction",
        })
    }
}

/// One transactional request (Kafka's `TxnRequestHandler` subclasses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TransactionalRequest {
    FindCoordinator(CoordinatorKey),
    InitProducerId,
    AddPartitionsToTxn(Vec<TopicPartition>),
    AddOffsetsToTxn,
    TxnOffsetCommit,
    EndTxn { commit: bool },
}

impl TransactionalRequest {
    /// The coordinator the request goes to; `None` for FindCoordinator (any broker).
    pub(super) fn coordinator_key(
        &self,
        transactional_id: &TransactionalId,
        offsets: Option<&PendingOffsets>,
    ) -> Option<CoordinatorKey> {
        match self {
            TransactionalRequest::FindCoordinator(_) => None,
            TransactionalRequest::TxnOffsetCommit => {
                offsets.map(|offsets| CoordinatorKey::Group(offsets.group_metadata.group.clone()))
            }
            _ => Some(CoordinatorKey::Transaction(transactional_id.clone())),
        }
    }
}

/// The transactional request waiting for its answer; its deadline is the producer's
/// `RequestTimeout` timer of its correlation id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct InFlightTransactionalRequest {
    pub(super) correlation: CorrelationId,
    pub(super) broker: BrokerId,
    pub(super) request: TransactionalRequest,
}

/// `sendOffsetsToTransaction`'s offsets, until the group coordinator has taken them all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PendingOffsets {
    pub(super) group_metadata: ConsumerGroupMetadata,
    pub(super) offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
    /// Version 1: AddOffsetsToTxn was answered.
    pub(super) added_to_transaction: bool,
}

/// The transactional producer's state.
#[derive(Clone, Debug)]
pub(super) struct TransactionManager {
    pub(super) transactional_id: TransactionalId,
    pub(super) transaction_version_2: bool,
    pub(super) state: TransactionState,
    /// The application's call in progress.
    pub(super) operation: Option<TransactionOperation>,
    pub(super) transaction_coordinator: Option<BrokerId>,
    /// The group coordinator of the pending offsets' group.
    pub(super) group_coordinator: Option<BrokerId>,
    pub(super) in_flight: Option<InFlightTransactionalRequest>,
    /// Partitions of the ongoing transaction the coordinator knows of (version 1: added;
    /// version 2: written to, which adds them on the leader's side).
    pub(super) partitions_in_transaction: BTreeSet<TopicPartition>,
    /// Version 1: partitions written to that AddPartitionsToTxn has not added yet.
    pub(super) pending_partitions: BTreeSet<TopicPartition>,
    pub(super) pending_offsets: Option<PendingOffsets>,
    /// Something was added to the transaction, so its end needs an EndTxn (Kafka's
    /// `transactionStarted`).
    pub(super) transaction_started: bool,
    /// The error that put the producer in AbortableError or FatalError.
    pub(super) last_error: Option<ErrorCode>,
    /// Version 1: a sequence error asked for an epoch bump, made with InitProducerId
    /// (KIP-360) once the transaction is aborted.
    pub(super) epoch_bump_required: bool,
    /// Turns the brokers a FindCoordinator is tried on.
    pub(super) next_lookup_broker: usize,
}

impl TransactionManager {
    pub(super) fn new(transactional_id: String, transaction_version_2: bool) -> Self {
        TransactionManager {
            transactional_id: TransactionalId(transactional_id),
            transaction_version_2,
            state: TransactionState::Uninitialized,
            operation: None,
            transaction_coordinator: None,
            group_coordinator: None,
            in_flight: None,
            partitions_in_transaction: BTreeSet::new(),
            pending_partitions: BTreeSet::new(),
            pending_offsets: None,
            transaction_started: false,
            last_error: None,
            epoch_bump_required: false,
            next_lookup_broker: 0,
        }
    }

    /// The error an operation that cannot start now fails with (Kafka's
    /// `maybeFailWithError` and `transitionTo`'s state check).
    pub(super) fn refuse(&self) -> ErrorCode {
        match self.state {
            TransactionState::FatalError | TransactionState::AbortableError => {
                self.last_error.unwrap_or(ErrorCode::InvalidTxnState)
            }
            _ => ErrorCode::InvalidTxnState,
        }
    }

    /// A write to `partition` in the ongoing transaction (Kafka's `maybeAddPartition`).
    pub(super) fn add_partition(&mut self, partition: TopicPartition) {
        if self.partitions_in_transaction.contains(&partition) {
            return;
        }
        if self.transaction_version_2 {
            self.partitions_in_transaction.insert(partition);
            self.transaction_started = true;
        } else {
            self.pending_partitions.insert(partition);
        }
    }

    /// Whether a batch of `partition` may leave now: in a transaction (or completing it),
    /// and, in version 1, once the partition was added.
    pub(super) fn allows_drain(&self, partition: TopicPartition) -> bool {
        let writable = matches!(
            self.state,
            TransactionState::InTransaction
                | TransactionState::CommittingTransaction
                | TransactionState::AbortableError
        );
        writable && self.partitions_in_transaction.contains(&partition)
    }

    /// An error of a transactional request or a batch: fatal ones end every operation,
    /// the others make the transaction abortable (Kafka's `transitionToFatalError` and
    /// `transitionToAbortableError`; an abort in progress stays an abort).
    pub(super) fn fail_with(&mut self, error: ErrorCode) {
        if is_fatal(error) {
            self.state = TransactionState::FatalError;
            self.last_error = Some(error);
        } else {
            self.make_abortable(error);
        }
    }

    /// A transaction in progress must now be aborted; an abort in progress stays an abort.
    fn make_abortable(&mut self, error: ErrorCode) {
        if matches!(
            self.state,
            TransactionState::InTransaction | TransactionState::CommittingTransaction
        ) {
            self.state = TransactionState::AbortableError;
            self.last_error = Some(error);
        }
    }

    /// A batch of the transaction failed with `error` (Kafka's `maybeTransitionToErrorState`
    /// from `handleFailedBatch`): only fencing is fatal here. INVALID_PRODUCER_EPOCH
    /// (KIP-588) and INVALID_TXN_STATE from a leader make the transaction abortable, and the
    /// abort's EndTxn learns from the coordinator whether the producer was fenced.
    pub(super) fn fail_batch_with(&mut self, error: ErrorCode) {
        if error == ErrorCode::ProducerFenced {
            self.fail_with(error);
        } else {
            self.make_abortable(error);
        }
    }

    /// The transaction ended (committed or aborted): nothing is in it any more.
    pub(super) fn complete_transaction(&mut self) {
        self.partitions_in_transaction.clear();
        self.pending_partitions.clear();
        self.pending_offsets = None;
        self.transaction_started = false;
        self.last_error = None;
        self.state = TransactionState::Ready;
    }
}

/// Errors after which the producer can do nothing but close (Kafka's fatal exceptions:
/// `ProducerFencedException`, `InvalidProducerEpochException` surfaced as fenced,
/// `InvalidTxnStateException`, authorization errors, a refused configuration).
pub(super) fn is_fatal(error: ErrorCode) -> bool {
    matches!(
        error,
        ErrorCode::ProducerFenced
            | ErrorCode::InvalidProducerEpoch
            | ErrorCode::InvalidTxnState
            | ErrorCode::InvalidTransactionTimeout
            | ErrorCode::TransactionCoordinatorFenced
            | ErrorCode::InvalidRequest
    )
}

/// Errors a transactional request is simply sent again after `retry_backoff_ms` for;
/// NOT_COORDINATOR and COORDINATOR_NOT_AVAILABLE also look the coordinator up again.
pub(super) fn is_retriable_transactional(error: ErrorCode) -> bool {
    matches!(
        error,
        ErrorCode::CoordinatorNotAvailable
            | ErrorCode::NotCoordinator
            | ErrorCode::CoordinatorLoadInProgress
            | ErrorCode::ConcurrentTransactions
            | ErrorCode::RequestTimedOut
            | ErrorCode::NetworkException
            | ErrorCode::ClientTimeout
    )
}

/// Errors after which the coordinator must be looked up again.
pub(super) fn needs_rediscovery(error: ErrorCode) -> bool {
    matches!(
        error,
        ErrorCode::CoordinatorNotAvailable
            | ErrorCode::NotCoordinator
            | ErrorCode::NetworkException
            | ErrorCode::ClientTimeout
    )
}
