//! A partition's producer state, Kafka's `ProducerStateManager` with its
//! `ProducerStateEntry`, `ProducerAppendInfo`, `BatchMetadata`, `CompletedTxn` and the
//! aborted-transaction index (`TransactionIndex`, `AbortedTxn`), reduced to pure data.
//!
//! Per producer id the partition keeps the producer epoch, the sequence and offset ranges of
//! its last [`BATCHES_TO_RETAIN`] batches, the coordinator epoch of its last transaction
//! marker and the first offset of its open transaction. With them the leader answers a
//! retried batch with the offsets it was first written at (`findDuplicateBatch`), and refuses
//! a batch from an older producer epoch or one that leaves a gap in the sequence
//! (`checkProducerEpoch`, `checkSequence` of Kafka 4.x). Appends that come through
//! replication are not validated: the leader did that. Transactions are tracked by first
//! offset: a COMMIT or ABORT marker completes one; the first unstable offset is the first
//! offset of the earliest transaction that is open, or complete with its marker not yet
//! below the high watermark; every aborted transaction is indexed with its first and last
//! offsets and the last stable offset at its end, for `read_committed` fetches.
//!
//! Invariants: every ongoing transaction's producer has an entry whose open transaction
//! starts there; an entry holds at most [`BATCHES_TO_RETAIN`] batches, all of its current
//! epoch, in offset order; the aborted index is ordered by last offset.

use crate::error::ErrorCode;
use crate::ids::{Offset, ProducerEpoch, ProducerId, Sequence};
use crate::log::batch_file::{continues_producer_batch, next_sequence};
use crate::log::record_batch::ControlRecordType;
use crate::record::{ProducerRecord, Record};
use std::collections::{BTreeMap, VecDeque};

/// How many of a producer's latest batches a partition remembers (Kafka's
/// `NUM_BATCHES_TO_RETAIN`, matching the producer's `max.in.flight.requests.per.connection`
/// limit of 5 with idempotence).
pub const BATCHES_TO_RETAIN: usize = 5;

/// Where a batch came from, which decides how much is checked (Kafka's `AppendOrigin`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOrigin {
    /// A producer's batch on the leader: epoch and sequence are validated.
    Client,
    /// A batch copied from the leader, or read back from the log: already validated.
    Replication,
}

/// The sequence and offset range of one batch a producer wrote (Kafka's `BatchMetadata`,
/// without the timestamp: producer ids do not expire here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchMetadata {
    pub last_sequence: Sequence,
    pub last_offset: Offset,
    /// `last_offset - first_offset`: the record count less one.
    pub offset_delta: u32,
}

impl BatchMetadata {
    /// The first record's sequence, counting back over the `i32::MAX` → 0 wrap.
    pub fn first_sequence(&self) -> Sequence {
        let modulus = i64::from(i32::MAX) + 1;
        let first =
            (i64::from(self.last_sequence.0) - i64::from(self.offset_delta)).rem_euclid(modulus);
        Sequence(u32::try_from(first).expect("below 2^31"))
    }

    pub fn first_offset(&self) -> Offset {
        Offset(self.last_offset.0 - u64::from(self.offset_delta))
    }
}

/// One producer's state in a partition (Kafka's `ProducerStateEntry`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerStateEntry {
    pub producer_epoch: ProducerEpoch,
    /// The last batches of `producer_epoch`, oldest first.
    batches: VecDeque<BatchMetadata>,
    /// The coordinator epoch of the last transaction marker, if any.
    pub coordinator_epoch: Option<u32>,
    /// The first offset of the producer's open transaction.
    pub current_transaction_first_offset: Option<Offset>,
}

impl ProducerStateEntry {
    fn new(producer_epoch: ProducerEpoch) -> ProducerStateEntry {
        ProducerStateEntry {
            producer_epoch,
            batches: VecDeque::new(),
            coordinator_epoch: None,
            current_transaction_first_offset: None,
        }
    }

    /// An entry as a snapshot stores it.
    pub fn restored(
        producer_epoch: ProducerEpoch,
        batches: Vec<BatchMetadata>,
        coordinator_epoch: Option<u32>,
        current_transaction_first_offset: Option<Offset>,
    ) -> ProducerStateEntry {
        ProducerStateEntry {
            producer_epoch,
            batches: batches.into(),
            coordinator_epoch,
            current_transaction_first_offset,
        }
    }

    /// The retained batches, oldest first.
    pub fn batches(&self) -> impl ExactSizeIterator<Item = &BatchMetadata> + '_ {
        self.batches.iter()
    }

    /// The last sequence written in the current epoch; `None` if no batch is retained.
    pub fn last_sequence(&self) -> Option<Sequence> {
        self.batches.back().map(|batch| batch.last_sequence)
    }

    /// A new epoch forgets the previous epoch's batches (`maybeUpdateProducerEpoch`).
    fn maybe_update_producer_epoch(&mut self, producer_epoch: ProducerEpoch) {
        if self.producer_epoch != producer_epoch {
            self.batches.clear();
            self.producer_epoch = producer_epoch;
        }
    }

    fn add_batch(&mut self, producer_epoch: ProducerEpoch, batch: BatchMetadata) {
        self.maybe_update_producer_epoch(producer_epoch);
        if self.batches.len() == BATCHES_TO_RETAIN {
            self.batches.pop_front();
        }
        self.batches.push_back(batch);
    }

    /// Drops the retained batches that end below `offset` (Kafka 2.4's
    /// `removeBatchesOlderThan`, before KIP-360). Returns whether any batch is left.
    fn remove_batches_older_than(&mut self, offset: Offset) -> bool {
        self.batches.retain(|batch| batch.last_offset >= offset);
        !self.batches.is_empty()
    }

    /// The retained batch with exactly this epoch and sequence range (`findDuplicateBatch`).
    pub fn find_duplicate_batch(&self, batch: &ProducerBatch) -> Option<BatchMetadata> {
        if batch.producer_epoch != self.producer_epoch {
            return None;
        }
        self.batches
            .iter()
            .find(|retained| {
                retained.first_sequence() == batch.first_sequence
                    && retained.last_sequence == batch.last_sequence
            })
            .copied()
    }
}

/// A data batch as the producer state sees it: who wrote it, its sequence range and where
/// it is (or would be) in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProducerBatch {
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    pub first_sequence: Sequence,
    pub last_sequence: Sequence,
    pub first_offset: Offset,
    pub last_offset: Offset,
    pub is_transactional: bool,
}

impl ProducerBatch {
    fn metadata(&self) -> BatchMetadata {
        let offset_delta = self.last_offset.0 - self.first_offset.0;
        BatchMetadata {
            last_sequence: self.last_sequence,
            last_offset: self.last_offset,
            offset_delta: u32::try_from(offset_delta).expect("a batch is at most 2^31 records"),
        }
    }
}

/// A transaction marker as written to the partition (Kafka's `EndTransactionMarker` with
/// the control batch's producer id, epoch and offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndTransactionMarker {
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    pub record_type: ControlRecordType,
    pub coordinator_epoch: u32,
    pub offset: Offset,
}

/// A transaction a marker ended (Kafka's `CompletedTxn`): from its first data offset to the
/// marker's offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompletedTransaction {
    pub producer_id: ProducerId,
    pub first_offset: Offset,
    pub last_offset: Offset,
    pub is_aborted: bool,
}

/// An entry of the aborted-transaction index (Kafka's `AbortedTxn`): a `read_committed`
/// consumer drops the producer's records from `first_offset` on until it passes
/// `last_offset`, the ABORT marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AbortedTransaction {
    pub producer_id: ProducerId,
    pub first_offset: Offset,
    pub last_offset: Offset,
    /// The last stable offset once the marker was written.
    pub last_stable_offset: Offset,
}

/// What the leader does with a producer's batch that passed validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientBatchCheck {
    /// Append it.
    Append,
    /// It was already written: answer with the original batch's offsets, append nothing.
    Duplicate(BatchMetadata),
}

/// A completed transaction whose marker is not yet below the high watermark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnreplicatedTransaction {
    pub producer_id: ProducerId,
    pub last_offset: Offset,
}

/// Every producer's state in one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerStateManager {
    producers: BTreeMap<ProducerId, ProducerStateEntry>,
    /// Open transactions by first offset.
    ongoing_transactions: BTreeMap<Offset, ProducerId>,
    /// Completed transactions whose marker is at or above the high watermark, by first
    /// offset: they keep the last stable offset below them until the marker is committed.
    unreplicated_transactions: BTreeMap<Offset, UnreplicatedTransaction>,
    /// Every aborted transaction, in marker order.
    aborted_transactions: Vec<AbortedTransaction>,
    /// The offset after the last batch applied (Kafka's `mapEndOffset`).
    map_end_offset: Offset,
    /// Behave as brokers before KIP-360 (Kafka < 2.5) did: answer UNKNOWN_PRODUCER_ID to a
    /// producer the partition has no entry for whose batch does not start at sequence 0,
    /// and forget a producer once all its batches are below the log start offset. Off by
    /// default: Kafka 4.x accepts any sequence from an unknown producer and keeps a
    /// producer's state when its records are deleted.
    unknown_producer_id_for_unknown_sequence: bool,
}

impl ProducerStateManager {
    /// Turns the pre-KIP-360 behaviour on or off: with it, a batch from a producer the
    /// partition has no state for is refused with UNKNOWN_PRODUCER_ID unless its first
    /// sequence is 0, and a producer whose batches are all below the log start offset is
    /// forgotten ([`ProducerStateManager::on_log_start_offset_incremented`]). The setting
    /// survives truncation and reloading.
    pub fn set_unknown_producer_id_for_unknown_sequence(&mut self, enabled: bool) {
        self.unknown_producer_id_for_unknown_sequence = enabled;
    }

    pub fn unknown_producer_id_for_unknown_sequence(&self) -> bool {
        self.unknown_producer_id_for_unknown_sequence
    }

    /// Whether nothing is known: no producer and no transaction (Kafka's `isEmpty`, with the
    /// index as well, which Kafka keeps in separate files).
    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
            && self.unreplicated_transactions.is_empty()
            && self.aborted_transactions.is_empty()
    }

    /// Forgets everything but the settings, as at the start of a log.
    pub fn clear(&mut self) {
        *self = ProducerStateManager {
            unknown_producer_id_for_unknown_sequence: self.unknown_producer_id_for_unknown_sequence,
            ..ProducerStateManager::default()
        };
    }

    pub fn entry(&self, producer_id: ProducerId) -> Option<&ProducerStateEntry> {
        self.producers.get(&producer_id)
    }

    /// Every producer's entry, by producer id.
    pub fn producers(&self) -> &BTreeMap<ProducerId, ProducerStateEntry> {
        &self.producers
    }

    /// The offset the state is up to date with (the log end offset, kept so by the log).
    pub fn map_end_offset(&self) -> Offset {
        self.map_end_offset
    }

    /// The log grew or was cut to `offset` (Kafka's `updateMapEndOffset`).
    pub fn update_map_end_offset(&mut self, offset: Offset) {
        self.map_end_offset = offset;
    }

    /// The log start offset moved up to `log_start_offset` (DeleteRecords). Kafka 4.x
    /// (`onLogStartOffsetIncremented`) only drops the completed transactions that end below
    /// it: a producer's state stays until its id expires (KIP-360), so a retry of a deleted
    /// batch is still recognised. Before KIP-360 (`truncateHead` of Kafka 2.4 and older, the
    /// setting [`ProducerStateManager::set_unknown_producer_id_for_unknown_sequence`]) the
    /// batches below it were dropped too, and with them every producer left with none,
    /// open transaction or not.
    /// Returns the producers forgotten.
    pub fn on_log_start_offset_incremented(&mut self, log_start_offset: Offset) -> Vec<ProducerId> {
        self.unreplicated_transactions
            .retain(|_, transaction| transaction.last_offset >= log_start_offset);
        if !self.unknown_producer_id_for_unknown_sequence {
            return Vec::new();
        }
        let evicted: Vec<ProducerId> = self
            .producers
            .iter_mut()
            .filter_map(|(&producer_id, entry)| {
                (!entry.remove_batches_older_than(log_start_offset)).then_some(producer_id)
            })
            .collect();
        for producer_id in &evicted {
            self.producers.remove(producer_id);
            self.ongoing_transactions
                .retain(|_, ongoing| ongoing != producer_id);
        }
        evicted
    }

    /// Validates a producer's batch on the leader, as `UnifiedLog.analyzeAndValidateProducerState`
    /// and `ProducerAppendInfo` do for a client append: first a duplicate of a retained batch
    /// (answered, not appended), then the epoch (an older one is INVALID_PRODUCER_EPOCH), the
    /// sequence (a new epoch starts at 0; in the same epoch the batch follows the last one,
    /// else OUT_OF_ORDER_SEQUENCE_NUMBER; an unknown producer may start anywhere), and a
    /// non-transactional batch inside an open transaction (INVALID_TXN_STATE).
    pub fn check_client_batch(&self, batch: &ProducerBatch) -> Result<ClientBatchCheck, ErrorCode> {
        let Some(entry) = self.producers.get(&batch.producer_id) else {
            if self.unknown_producer_id_for_unknown_sequence && batch.first_sequence != Sequence(0)
            {
                return Err(ErrorCode::UnknownProducerId);
            }
            return Ok(ClientBatchCheck::Append);
        };
        if let Some(duplicate) = entry.find_duplicate_batch(batch) {
            return Ok(ClientBatchCheck::Duplicate(duplicate));
        }
        if batch.producer_epoch < entry.producer_epoch {
            return Err(ErrorCode::InvalidProducerEpoch);
        }
        let in_sequence = if batch.producer_epoch != entry.producer_epoch {
            batch.first_sequence == Sequence(0)
        } else {
            // An entry with no batch of its epoch (only a marker written) expects 0 next,
            // as Kafka's NO_SEQUENCE (-1) + 1 does.
            let expected = entry
                .last_sequence()
                .map_or(0, |last| next_sequence(last.0));
            batch.first_sequence == Sequence(expected)
        };
        if !in_sequence {
            return Err(ErrorCode::OutOfOrderSequence);
        }
        if entry.current_transaction_first_offset.is_some() && !batch.is_transactional {
            return Err(ErrorCode::InvalidTxnState);
        }
        Ok(ClientBatchCheck::Append)
    }

    /// Validates a transaction marker from the coordinator: an older producer epoch is
    /// INVALID_PRODUCER_EPOCH, an older coordinator epoch TRANSACTION_COORDINATOR_FENCED
    /// (`ProducerAppendInfo.appendEndTxnMarker` for a non-replication origin).
    pub fn check_end_marker(&self, marker: &EndTransactionMarker) -> Result<(), ErrorCode> {
        let Some(entry) = self.producers.get(&marker.producer_id) else {
            return Ok(());
        };
        if marker.producer_epoch < entry.producer_epoch {
            return Err(ErrorCode::InvalidProducerEpoch);
        }
        if entry
            .coordinator_epoch
            .is_some_and(|known| known > marker.coordinator_epoch)
        {
            return Err(ErrorCode::TransactionCoordinatorFenced);
        }
        Ok(())
    }

    /// Records an appended data batch (validated already, or replicated).
    pub fn append_data_batch(&mut self, batch: &ProducerBatch) {
        let entry = self
            .producers
            .entry(batch.producer_id)
            .or_insert_with(|| ProducerStateEntry::new(batch.producer_epoch));
        entry.add_batch(batch.producer_epoch, batch.metadata());
        if batch.is_transactional && entry.current_transaction_first_offset.is_none() {
            entry.current_transaction_first_offset = Some(batch.first_offset);
            self.ongoing_transactions
                .insert(batch.first_offset, batch.producer_id);
        }
        self.map_end_offset = batch.last_offset.next();
    }

    /// Records an appended transaction marker: the producer's open transaction, if any, is
    /// complete; an aborted one enters the index with the last stable offset after it.
    pub fn append_end_marker(
        &mut self,
        marker: &EndTransactionMarker,
    ) -> Option<CompletedTransaction> {
        let entry = self
            .producers
            .entry(marker.producer_id)
            .or_insert_with(|| ProducerStateEntry::new(marker.producer_epoch));
        let completed =
            entry
                .current_transaction_first_offset
                .map(|first_offset| CompletedTransaction {
                    producer_id: marker.producer_id,
                    first_offset,
                    last_offset: marker.offset,
                    is_aborted: marker.record_type == ControlRecordType::Abort,
                });
        entry.maybe_update_producer_epoch(marker.producer_epoch);
        entry.coordinator_epoch = Some(marker.coordinator_epoch);
        entry.current_transaction_first_offset = None;
        self.map_end_offset = marker.offset.next();
        if let Some(completed) = completed {
            self.complete_transaction(completed);
        }
        completed
    }

    /// Kafka's `lastStableOffset(completedTxn)` then `completeTxn`: the transaction leaves
    /// the open ones, waits among the unreplicated ones, and if aborted is indexed.
    fn complete_transaction(&mut self, completed: CompletedTransaction) {
        if completed.is_aborted {
            let last_stable_offset = self
                .ongoing_transactions
                .iter()
                .find(|(_, &producer_id)| producer_id != completed.producer_id)
                .map_or(completed.last_offset.next(), |(&first_offset, _)| {
                    first_offset
                });
            self.aborted_transactions.push(AbortedTransaction {
                producer_id: completed.producer_id,
                first_offset: completed.first_offset,
                last_offset: completed.last_offset,
                last_stable_offset,
            });
        }
        let started = self.ongoing_transactions.remove(&completed.first_offset);
        assert_eq!(
            started,
            Some(completed.producer_id),
            "completed {completed:?} was not an open transaction"
        );
        self.unreplicated_transactions.insert(
            completed.first_offset,
            UnreplicatedTransaction {
                producer_id: completed.producer_id,
                last_offset: completed.last_offset,
            },
        );
    }

    /// The high watermark moved: completed transactions whose marker is now below it no
    /// longer hold the last stable offset back (`onHighWatermarkUpdated`).
    pub fn on_high_watermark_updated(&mut self, high_watermark: Offset) {
        if self.unreplicated_transactions.is_empty() {
            return;
        }
        self.unreplicated_transactions
            .retain(|_, transaction| transaction.last_offset >= high_watermark);
    }

    /// The first offset of the earliest transaction that is open or whose marker is not yet
    /// committed (`firstUnstableOffset`).
    pub fn first_unstable_offset(&self) -> Option<Offset> {
        let ongoing = self.ongoing_transactions.keys().next().copied();
        let unreplicated = self.unreplicated_transactions.keys().next().copied();
        match (ongoing, unreplicated) {
            (Some(ongoing), Some(unreplicated)) => Some(ongoing.min(unreplicated)),
            (ongoing, unreplicated) => ongoing.or(unreplicated),
        }
    }

    /// Open transactions by first offset.
    pub fn ongoing_transactions(&self) -> &BTreeMap<Offset, ProducerId> {
        &self.ongoing_transactions
    }

    /// Completed transactions whose marker is not yet committed, by first offset.
    pub fn unreplicated_transactions(&self) -> &BTreeMap<Offset, UnreplicatedTransaction> {
        &self.unreplicated_transactions
    }

    /// Every aborted transaction, in marker order.
    pub fn all_aborted_transactions(&self) -> &[AbortedTransaction] {
        &self.aborted_transactions
    }

    /// The aborted transactions a fetch of `[from, upper_bound)` must report: those that end
    /// at or after `from` and start before `upper_bound` (`TransactionIndex.collectAbortedTxns`).
    pub fn aborted_transactions(
        &self,
        from: Offset,
        upper_bound: Offset,
    ) -> Vec<AbortedTransaction> {
        // The index is in marker order, so everything ending before `from` is a prefix.
        let start = self
            .aborted_transactions
            .partition_point(|transaction| transaction.last_offset < from);
        self.aborted_transactions[start..]
            .iter()
            .filter(|transaction| transaction.first_offset < upper_bound)
            .copied()
            .collect()
    }

    /// Applies records copied from a leader or read back from the log, batch by batch,
    /// without validation (`AppendOrigin::Replication`): data batches, and transaction
    /// markers, which end their producer's transaction as on the leader (so a follower, a
    /// recovered log and a truncated one rebuild the same transactions, last stable offset
    /// and aborted index). Records without a producer stamp carry no producer state and are
    /// skipped.
    pub fn append_replicated(&mut self, records: &[Record]) {
        let mut start = 0;
        while start < records.len() {
            let length = producer_batch_length(&records[start..]);
            let run = &records[start..start + length];
            if let Some(marker) = end_marker_of_record(&run[0]) {
                self.append_end_marker(&marker);
            } else if let Some(batch) = producer_batch_of_run(run) {
                self.append_data_batch(&batch);
            }
            start += length;
        }
    }

    /// Restores a snapshot's content (the settings stay).
    pub fn restore(
        &mut self,
        map_end_offset: Offset,
        producers: BTreeMap<ProducerId, ProducerStateEntry>,
        unreplicated_transactions: BTreeMap<Offset, UnreplicatedTransaction>,
        aborted_transactions: Vec<AbortedTransaction>,
    ) {
        self.clear();
        self.ongoing_transactions = producers
            .iter()
            .filter_map(|(&producer_id, entry)| {
                entry
                    .current_transaction_first_offset
                    .map(|first_offset| (first_offset, producer_id))
            })
            .collect();
        self.producers = producers;
        self.unreplicated_transactions = unreplicated_transactions;
        self.aborted_transactions = aborted_transactions;
        self.map_end_offset = map_end_offset;
    }
}

/// The producer batch a produce request's records form, to be appended at `first_offset`,
/// transactional or not: `None` if no record carries a producer stamp (a producer without
/// idempotence), and INVALID_RECORD if the records are not one batch (Kafka's record batch
/// has one producer id, epoch and base sequence by construction): stamped and unstamped
/// records mixed, stamps from different producers or epochs, or sequences that do not count
/// up from the base; or if a transactional batch has no producer id (Kafka's
/// `LogValidator` requires one for the transactional attribute).
pub fn producer_batch_of_request(
    records: &[ProducerRecord],
    first_offset: Offset,
    is_transactional: bool,
) -> Result<Option<ProducerBatch>, ErrorCode> {
    let Some(first) = records.first() else {
        return Ok(None);
    };
    let Some(first_stamp) = first.producer_stamp else {
        let unstamped = records.iter().all(|record| record.producer_stamp.is_none());
        return match unstamped && !is_transactional {
            true => Ok(None),
            false => Err(ErrorCode::InvalidRecord),
        };
    };
    if first_stamp.sequence != first_stamp.base_sequence
        || first_stamp.base_sequence > i32::MAX as u32
    {
        return Err(ErrorCode::InvalidRecord);
    }
    let mut expected = first_stamp.sequence;
    for record in &records[1..] {
        expected = next_sequence(expected);
        let fits = record.producer_stamp.is_some_and(|stamp| {
            stamp.producer_id == first_stamp.producer_id
                && stamp.producer_epoch == first_stamp.producer_epoch
                && stamp.base_sequence == first_stamp.base_sequence
                && stamp.sequence == expected
        });
        if !fits {
            return Err(ErrorCode::InvalidRecord);
        }
    }
    let last_offset = Offset(first_offset.0 + records.len() as u64 - 1);
    Ok(Some(ProducerBatch {
        producer_id: first_stamp.producer_id,
        producer_epoch: ProducerEpoch(first_stamp.producer_epoch),
        first_sequence: Sequence(first_stamp.sequence),
        last_sequence: Sequence(expected),
        first_offset,
        last_offset,
        is_transactional,
    }))
}

/// How many records from the start of `records` belong to the first batch: one record
/// without a producer stamp, or the run of one producer batch.
fn producer_batch_length(records: &[Record]) -> usize {
    1 + records
        .windows(2)
        .take_while(|pair| continues_producer_batch(&pair[0], &pair[1]))
        .count()
}

/// The transaction marker a control record holds, with its producer and offset; `None` for
/// any other record, and for a control record without a producer or a readable marker.
pub fn end_marker_of_record(record: &Record) -> Option<EndTransactionMarker> {
    let marker = record.control_marker()?;
    let stamp = record.producer_stamp?;
    Some(EndTransactionMarker {
        producer_id: stamp.producer_id,
        producer_epoch: ProducerEpoch(stamp.producer_epoch),
        record_type: marker.record_type,
        coordinator_epoch: marker.coordinator_epoch,
        offset: record.offset,
    })
}

/// The producer batch a run of one batch's records forms; `None` for records without a
/// stamp, and for control records (markers, see [`end_marker_of_record`]).
fn producer_batch_of_run(run: &[Record]) -> Option<ProducerBatch> {
    let (first, last) = (run.first()?, run.last()?);
    let (first_stamp, last_stamp) = (first.producer_stamp?, last.producer_stamp?);
    if first.is_control {
        return None;
    }
    Some(ProducerBatch {
        producer_id: first_stamp.producer_id,
        producer_epoch: ProducerEpoch(first_stamp.producer_epoch),
        first_sequence: Sequence(first_stamp.sequence),
        last_sequence: Sequence(last_stamp.sequence),
        first_offset: first.offset,
        last_offset: last.offset,
        is_transactional: first.is_transactional,
    })
}

#[cfg(test)]
#[path = "producer_state_tests.rs"]
mod tests;
