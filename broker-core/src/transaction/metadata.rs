//! One transactional id's transaction metadata (Kafka's `TransactionMetadata`): the producer
//! id and epoch it hands out, its timeout, its state and open partitions, and the pending
//! transition while the record of the next state is being written.
//!
//! A transition is prepared (`prepare_*`, which checks the move is legal and sets the
//! pending state), written to `__transaction_state` with acks=all, and applied
//! (`complete_transition`) only once that write is committed; a failed write drops the
//! pending state. Invariants: at most one transition is pending; a transition is applied
//! only to the state it was prepared from; the epoch never goes down for one producer id.

use super::records::TransactionLogValue;
use super::TransactionState;
use crate::error::ErrorCode;
use crate::ids::{ProducerEpoch, ProducerId, TransactionalId};
use crate::protocol::ProducerIdAndEpoch;
use crate::topic::TopicPartition;
use std::collections::BTreeSet;

/// The highest producer epoch (Kafka's `Short.MaxValue`).
pub const PRODUCER_EPOCH_MAX: u16 = i16::MAX as u16;

/// Kafka's `TransactionMetadata.isEpochExhausted`: the epoch can no longer be bumped twice
/// (once to fence, once to abort), so the id is rotated instead.
pub fn is_epoch_exhausted(epoch: ProducerEpoch) -> bool {
    epoch.0 >= PRODUCER_EPOCH_MAX - 1
}

/// A transactional id's transaction, as its coordinator keeps it in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionMetadata {
    pub transactional_id: TransactionalId,
    pub producer_id: ProducerId,
    pub previous_producer_id: Option<ProducerId>,
    /// `None` (Kafka's -1) only between the id's creation and its first InitProducerId write.
    pub producer_epoch: Option<ProducerEpoch>,
    pub last_producer_epoch: Option<ProducerEpoch>,
    pub transaction_timeout_ms: u64,
    pub state: TransactionState,
    pub partitions: BTreeSet<TopicPartition>,
    pub transaction_start_ms: Option<u64>,
    pub last_update_ms: u64,
    pub transaction_version_2: bool,
    /// The state being written, while its write is in flight.
    pub pending: Option<TransactionState>,
    /// A fencing's bumped epoch failed to be written: the next fencing does not bump again
    /// (Kafka's `hasFailedEpochFence`; the bumped epoch was never handed out).
    pub has_failed_epoch_fence: bool,
}

impl TransactionMetadata {
    /// A transactional id seen for the first time, with the producer id just generated.
    pub fn new(
        transactional_id: TransactionalId,
        producer_id: ProducerId,
        transaction_timeout_ms: u64,
        now_ms: u64,
    ) -> TransactionMetadata {
        TransactionMetadata {
            transactional_id,
            producer_id,
            previous_producer_id: None,
            producer_epoch: None,
            last_producer_epoch: None,
            transaction_timeout_ms,
            state: TransactionState::Empty,
            partitions: BTreeSet::new(),
            transaction_start_ms: None,
            last_update_ms: now_ms,
            transaction_version_2: false,
            pending: None,
            has_failed_epoch_fence: false,
        }
    }

    /// The metadata a replayed record describes.
    pub fn from_log(
        transactional_id: TransactionalId,
        value: &TransactionLogValue,
    ) -> TransactionMetadata {
        TransactionMetadata {
            transactional_id,
            producer_id: value.producer_id,
            previous_producer_id: value.previous_producer_id,
            producer_epoch: Some(value.producer_epoch),
            last_producer_epoch: value.last_producer_epoch,
            transaction_timeout_ms: value.transaction_timeout_ms,
            state: value.state,
            partitions: value.partitions.iter().copied().collect(),
            transaction_start_ms: value.transaction_start_ms,
            last_update_ms: value.last_update_ms,
            transaction_version_2: value.transaction_version_2,
            pending: None,
            has_failed_epoch_fence: false,
        }
    }

    /// The producer id and epoch handed out (the epoch is set once anything was written).
    pub fn producer(&self) -> ProducerIdAndEpoch {
        ProducerIdAndEpoch {
            producer_id: self.producer_id,
            epoch: self.producer_epoch.unwrap_or_default(),
        }
    }

    /// The epoch, -1 read as below every real epoch.
    fn epoch_value(&self) -> i32 {
        self.producer_epoch.map_or(-1, |epoch| i32::from(epoch.0))
    }

    /// Kafka's `prepareTransitionTo`: checks the move, sets the pending state and returns
    /// the record to write.
    fn prepare(&mut self, next: TransactionLogValue) -> TransactionLogValue {
        assert!(
            self.pending.is_none(),
            "{}: preparing {} while {:?} is pending",
            self.transactional_id,
            next.state,
            self.pending
        );
        assert!(
            next.state.valid_previous_states().contains(&self.state),
            "{}: {} cannot follow {}",
            self.transactional_id,
            next.state,
            self.state
        );
        self.pending = Some(next.state);
        next
    }

    /// The record of the current state with the given changes applied by `change`.
    fn next_value(&self, change: impl FnOnce(&mut TransactionLogValue)) -> TransactionLogValue {
        let mut value = TransactionLogValue {
            producer_id: self.producer_id,
            previous_producer_id: self.previous_producer_id,
            producer_epoch: self.producer_epoch.unwrap_or_default(),
            last_producer_epoch: self.last_producer_epoch,
            transaction_timeout_ms: self.transaction_timeout_ms,
            state: self.state,
            partitions: self.partitions.iter().copied().collect(),
            transaction_start_ms: self.transaction_start_ms,
            last_update_ms: self.last_update_ms,
            transaction_version_2: false,
        };
        change(&mut value);
        value
    }

    /// Kafka's `prepareIncrementProducerEpoch` (InitProducerId on an Empty or completed
    /// transaction): bump the epoch, or, for a retry of a bump whose answer was lost
    /// (KIP-360: the expected epoch is the last one), hand out the current epoch again.
    pub fn prepare_increment_producer_epoch(
        &mut self,
        transaction_timeout_ms: u64,
        expected_epoch: Option<ProducerEpoch>,
        now_ms: u64,
    ) -> Result<TransactionLogValue, ErrorCode> {
        let bumped = ProducerEpoch((self.epoch_value() + 1) as u16);
        let (epoch, last_epoch) = match expected_epoch {
            None => (bumped, None),
            Some(expected)
                if self.producer_epoch.is_none() || Some(expected) == self.producer_epoch =>
            {
                (bumped, self.producer_epoch)
            }
            Some(expected) if Some(expected) == self.last_producer_epoch => (
                self.producer_epoch.unwrap_or_default(),
                self.last_producer_epoch,
            ),
            Some(_) => return Err(ErrorCode::ProducerFenced),
        };
        Ok(self.prepare_empty(
            self.producer_id,
            epoch,
            last_epoch,
            transaction_timeout_ms,
            now_ms,
        ))
    }

    /// InitProducerId under the `no-producer-fencing` switch: the id and epoch stay as they
    /// are (the first InitProducerId of a new id still gets epoch 0).
    pub fn prepare_keep_producer_epoch(
        &mut self,
        transaction_timeout_ms: u64,
        now_ms: u64,
    ) -> TransactionLogValue {
        let epoch = self.producer_epoch.unwrap_or_default();
        let last_epoch = self.last_producer_epoch;
        self.prepare_empty(
            self.producer_id,
            epoch,
            last_epoch,
            transaction_timeout_ms,
            now_ms,
        )
    }

    /// Kafka's `prepareProducerIdRotation`: the epoch is exhausted, a new producer id
    /// starts at epoch 0.
    pub fn prepare_producer_id_rotation(
        &mut self,
        new_producer_id: ProducerId,
        transaction_timeout_ms: u64,
        now_ms: u64,
        record_last_epoch: bool,
    ) -> TransactionLogValue {
        let last_epoch = if record_last_epoch {
            self.producer_epoch
        } else {
            None
        };
        self.prepare_empty(
            new_producer_id,
            ProducerEpoch(0),
            last_epoch,
            transaction_timeout_ms,
            now_ms,
        )
    }

    fn prepare_empty(
        &mut self,
        producer_id: ProducerId,
        epoch: ProducerEpoch,
        last_epoch: Option<ProducerEpoch>,
        transaction_timeout_ms: u64,
        now_ms: u64,
    ) -> TransactionLogValue {
        let previous_producer_id = if producer_id == self.producer_id {
            self.previous_producer_id
        } else {
            Some(self.producer_id)
        };
        let next = self.next_value(|value| {
            value.producer_id = producer_id;
            value.previous_producer_id = previous_producer_id;
            value.producer_epoch = epoch;
            value.last_producer_epoch = last_epoch;
            value.transaction_timeout_ms = transaction_timeout_ms;
            value.state = TransactionState::Empty;
            value.partitions = Vec::new();
            value.transaction_start_ms = None;
            value.last_update_ms = now_ms;
        });
        self.prepare(next)
    }

    /// Kafka's `prepareAddPartitions`: the transaction is (or stays) open with `added`.
    pub fn prepare_add_partitions(
        &mut self,
        added: &[TopicPartition],
        now_ms: u64,
    ) -> TransactionLogValue {
        let starts = matches!(
            self.state,
            TransactionState::Empty
                | TransactionState::CompleteCommit
                | TransactionState::CompleteAbort
        );
        let partitions: BTreeSet<TopicPartition> =
            self.partitions.iter().chain(added).copied().collect();
        let next = self.next_value(|value| {
            value.state = TransactionState::Ongoing;
            value.partitions = partitions.into_iter().collect();
            if starts {
                value.transaction_start_ms = Some(now_ms);
            }
            value.last_update_ms = now_ms;
        });
        self.prepare(next)
    }

    /// Kafka's `prepareFenceProducerEpoch`: the epoch is bumped (not written) so the open
    /// transaction can be aborted under it and the old instance is fenced.
    pub fn prepare_fence_producer_epoch(&mut self) -> ProducerEpoch {
        let epoch = self.producer_epoch.unwrap_or_default();
        assert!(
            epoch.0 < PRODUCER_EPOCH_MAX,
            "{}: cannot fence epoch {epoch}: it would overflow",
            self.transactional_id
        );
        let bumped = if self.has_failed_epoch_fence {
            epoch
        } else {
            ProducerEpoch(epoch.0 + 1)
        };
        assert!(
            TransactionState::PrepareEpochFence
                .valid_previous_states()
                .contains(&self.state),
            "{}: fencing from {}",
            self.transactional_id,
            self.state
        );
        self.pending = Some(TransactionState::PrepareEpochFence);
        bumped
    }

    /// Kafka's `prepareAbortOrCommit`: under transactions version 2 the epoch is bumped
    /// with the end (KIP-890 part 2).
    pub fn prepare_abort_or_commit(
        &mut self,
        state: TransactionState,
        transaction_version_2: bool,
        now_ms: u64,
    ) -> TransactionLogValue {
        let epoch = self.producer_epoch.unwrap_or_default();
        let (next_epoch, last_epoch) = if transaction_version_2 {
            (ProducerEpoch(epoch.0 + 1), Some(epoch))
        } else {
            (epoch, self.last_producer_epoch)
        };
        let next = self.next_value(|value| {
            value.state = state;
            value.producer_epoch = next_epoch;
            value.last_producer_epoch = last_epoch;
            value.last_update_ms = now_ms;
            value.transaction_version_2 = transaction_version_2;
        });
        self.prepare(next)
    }

    /// Kafka's `prepareComplete`: every marker is written; the transaction is complete.
    pub fn prepare_complete(&mut self, now_ms: u64) -> TransactionLogValue {
        self.has_failed_epoch_fence = false;
        let state = if self.state == TransactionState::PrepareCommit {
            TransactionState::CompleteCommit
        } else {
            TransactionState::CompleteAbort
        };
        let epoch = self.producer_epoch;
        let transaction_version_2 = self.transaction_version_2;
        let next = self.next_value(|value| {
            value.state = state;
            value.partitions = Vec::new();
            value.last_producer_epoch = epoch;
            value.last_update_ms = now_ms;
            value.transaction_version_2 = transaction_version_2;
        });
        self.prepare(next)
    }

    /// Kafka's `completeTransitionTo`: the write of `value` is committed; it becomes the
    /// state. In a Prepare state the partitions already acknowledged stay removed.
    pub fn complete_transition(&mut self, value: &TransactionLogValue) {
        assert_eq!(
            self.pending,
            Some(value.state),
            "{}: completing {} while {:?} is pending",
            self.transactional_id,
            value.state,
            self.pending
        );
        self.producer_id = value.producer_id;
        self.previous_producer_id = value.previous_producer_id;
        self.producer_epoch = Some(value.producer_epoch);
        self.last_producer_epoch = value.last_producer_epoch;
        self.transaction_timeout_ms = value.transaction_timeout_ms;
        self.state = value.state;
        self.partitions = value.partitions.iter().copied().collect();
        self.transaction_start_ms = value.transaction_start_ms;
        self.last_update_ms = value.last_update_ms;
        self.transaction_version_2 = value.transaction_version_2;
        self.pending = None;
    }
}
