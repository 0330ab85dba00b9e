//! A partition's replica log (Kafka's `UnifiedLog`, reduced): records with consecutive
//! offsets, the high watermark, the leader-epoch cache (`leader_epoch.rs`), and the flush
//! policy, over a file of Kafka-shaped record batches (`record_batch.rs`, `batch_file.rs`).
//!
//! Invariants, asserted by [`Log::check_invariants`] after every broker step:
//! `log_start_offset ≤ high_watermark ≤ log_end_offset`; record `i` of the segment has offset
//! the segment base offset + `i`; record epochs never decrease; every record's epoch is known to
//! the epoch cache at or before its offset.
//!
//! Retention is not modelled, so the log is one segment that never rolls and is never deleted.
//! DeleteRecords (KIP-107) moves the log start offset up to the high watermark
//! ([`Log::maybe_increment_log_start_offset`]): the records below it stay in the segment, as
//! they do in Kafka's active segment, but no reader sees them, and the leader-epoch cache is
//! trimmed to start there. The log start offset survives a restart through the broker's
//! `log-start-offset-checkpoint`. A follower that fell below its leader's log start offset
//! replaces its segment with an empty one starting there ([`Log::truncate_fully_and_start_at`]),
//! so the segment's base offset is 0 until that happens and that offset afterwards.
//!
//! The log owns its partition's producer state (`producer_state.rs`): a leader append from
//! an idempotent producer is validated against it first, every append updates it, a
//! truncation rebuilds it, recovery loads it from the clean-shutdown snapshot
//! (`producer_snapshot.rs`) and the records after it, or from the whole log. Its end offset
//! is always the log end offset.

use crate::error::ErrorCode;
use crate::ids::{LeaderEpoch, Offset, ProducerEpoch, ProducerId};
use crate::record::{ProducerRecord, Record};
use crate::storage::Storage;
use crate::topic::TopicPartition;
use batch_file::BatchSpan;
use leader_epoch::LeaderEpochCache;
use producer_state::{
    AbortedTransaction, ClientBatchCheck, CompletedTransaction, EndTransactionMarker,
    ProducerStateManager,
};
use record_batch::{ControlMarker, ControlRecordType};

pub mod batch_file;
mod coordinator_append;
pub mod leader_epoch;
pub mod producer_snapshot;
pub mod producer_state;
pub mod record_batch;

/// The first offset of a new log's one segment. The log never rolls, so its segment starts at
/// offset 0 until a follower truncates it fully ([`Log::truncate_fully_and_start_at`]).
pub const SEGMENT_BASE_OFFSET: Offset = Offset(0);

/// What a leader append did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaderAppend {
    /// The records were appended at these offsets.
    Appended {
        base_offset: Offset,
        last_offset: Offset,
    },
    /// The batch repeats one of its producer's last batches: nothing was appended, and these
    /// are the offsets the batch was first written at.
    Duplicate {
        base_offset: Offset,
        last_offset: Offset,
    },
}

/// A transaction marker the transaction coordinator asks a partition leader to write
/// (one `TxnMarker` of a WriteTxnMarkers request, for one partition).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransactionMarker {
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    pub record_type: ControlRecordType,
    pub coordinator_epoch: u32,
}

/// What recovery cut from a log file's tail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoveryTruncation {
    /// The log end offset the file seemed to hold, torn frames included (an estimate).
    pub from_log_end_offset: Offset,
    /// The log end offset after the cut.
    pub to_offset: Offset,
    pub dropped_bytes: u64,
}

/// What the broker's checkpoint files say about a partition at start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checkpoints {
    /// From `replication-offset-checkpoint`.
    pub high_watermark: Option<Offset>,
    /// From `log-start-offset-checkpoint`.
    pub log_start_offset: Option<Offset>,
}

/// How [`Log::maybe_increment_log_start_offset`] moved the log start offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogStartOffsetMove {
    pub from: Offset,
    pub to: Offset,
    /// The producers whose state went with the records (before KIP-360 only).
    pub producers_forgotten: Vec<ProducerId>,
}

/// Why a follower's fetched records cannot be appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendError {
    /// The first record is not at the log end offset, or offsets are not consecutive.
    NonConsecutiveOffsets { expected: Offset, found: Offset },
    /// A record's epoch is older than the one before it.
    EpochWentBackwards {
        offset: Offset,
        previous: LeaderEpoch,
        found: LeaderEpoch,
    },
}

/// One partition's replica log.
#[derive(Clone, Debug)]
pub struct Log {
    partition: TopicPartition,
    file_name: String,
    /// The offset of the segment's first record (`records[i]` has offset base + i).
    segment_base_offset: Offset,
    records: Vec<Record>,
    /// The file's batches, in offset order: where each starts.
    batches: Vec<BatchSpan>,
    size_bytes: u64,
    log_start_offset: Offset,
    high_watermark: Offset,
    epoch_cache: LeaderEpochCache,
    /// `flush.messages`: sync the file once this many records are unflushed.
    flush_interval_messages: Option<u64>,
    unflushed_messages: u64,
    producer_state: ProducerStateManager,
    /// The end offset of the producer-state snapshot on disk, if there is one.
    producer_snapshot_offset: Option<Offset>,
    /// A `&mut self` method ran since [`Log::check_invariants_if_changed`] last looked. Every
    /// such method sets it first: the invariants read nothing but the log, so a log no method
    /// changed still holds them.
    changed_since_check: bool,
}

impl Log {
    /// The file a partition's records live in.
    pub fn file_name(partition: TopicPartition) -> String {
        // One segment per partition: retention is not modelled, so the log never rolls.
        format!("{}/00000000000000000000.log", partition.directory())
    }

    /// The file the partition's producer-state snapshot lives in (one per partition; the
    /// offset it is for is inside).
    pub fn producer_snapshot_file_name(partition: TopicPartition) -> String {
        format!("{}/producer-state.snapshot", partition.directory())
    }

    /// Opens a partition's log from storage, as Kafka's log recovery does: keep the longest
    /// valid prefix of the file (complete frames, good checksums, consecutive offsets,
    /// non-decreasing epochs), cut the file back to it, drop epoch-cache entries beyond the
    /// end, re-assign the epochs the records carry, and cap the checkpointed high watermark at
    /// the log end offset. An absent file is an empty log.
    pub fn recover(
        partition: TopicPartition,
        storage: &mut dyn Storage,
        checkpointed_high_watermark: Option<Offset>,
        flush_interval_messages: Option<u64>,
    ) -> (Log, Option<RecoveryTruncation>) {
        let checkpoints = Checkpoints {
            high_watermark: checkpointed_high_watermark,
            log_start_offset: None,
        };
        Self::recover_from_checkpoints(partition, storage, checkpoints, flush_interval_messages)
    }

    /// [`Log::recover`] with the checkpointed log start offset too (Kafka's `LogLoader`:
    /// the log start offset is the checkpoint's, never below the segment's base), capped at
    /// the recovered high watermark so that `log_start_offset ≤ high_watermark` holds after
    /// a tail was lost.
    pub fn recover_from_checkpoints(
        partition: TopicPartition,
        storage: &mut dyn Storage,
        checkpoints: Checkpoints,
        flush_interval_messages: Option<u64>,
    ) -> (Log, Option<RecoveryTruncation>) {
        let file_name = Self::file_name(partition);
        let bytes = storage.read(&file_name);
        // Kafka names a segment's file after its base offset; the model keeps one file per
        // partition and has no directory listing, so the base is the first batch's base offset
        // (batches carry absolute offsets) or, for an empty file, the checkpointed log start
        // offset (a fully truncated follower's empty segment). Without either, 0: a follower
        // that lost both fetches from 0, is told OFFSET_OUT_OF_RANGE and truncates fully again.
        let empty_base_offset = checkpoints.log_start_offset.unwrap_or(SEGMENT_BASE_OFFSET);
        let (segment_base_offset, decoded) = batch_file::decode_segment(&bytes, empty_base_offset);
        let valid_length_bytes = decoded.valid_length_bytes;
        let log_end_offset = Offset(segment_base_offset.0 + decoded.records.len() as u64);
        let truncation = if valid_length_bytes < bytes.len() as u64 {
            storage.truncate(&file_name, valid_length_bytes);
            Some(RecoveryTruncation {
                from_log_end_offset: Offset(log_end_offset.0 + decoded.dropped_batches),
                to_offset: log_end_offset,
                dropped_bytes: bytes.len() as u64 - valid_length_bytes,
            })
        } else {
            None
        };

        // Kafka's `LogLoader` cuts the cache at the recovered end (entries starting at or
        // after it go, including an epoch a leader assigned but never wrote in), then segment
        // recovery re-assigns the epochs the records carry, rebuilding any the checkpoint lacks.
        let mut epoch_cache = LeaderEpochCache::load(partition, storage);
        epoch_cache.truncate_from_end(storage, log_end_offset);
        for record in &decoded.records {
            if epoch_cache.latest_epoch() < Some(record.leader_epoch) {
                epoch_cache.assign(storage, record.leader_epoch, record.offset);
            }
        }

        let high_watermark = checkpoints
            .high_watermark
            .unwrap_or(segment_base_offset)
            .clamp(segment_base_offset, log_end_offset);
        let log_start_offset = checkpoints
            .log_start_offset
            .unwrap_or(segment_base_offset)
            .clamp(segment_base_offset, high_watermark);
        // Kafka's `LogLoader` trims the cache to the checkpointed log start offset again: its
        // trim after a DeleteRecords is flushed in the background and may not have reached
        // the disk.
        epoch_cache.truncate_from_start(storage, log_start_offset);
        let (mut producer_state, producer_snapshot_offset) = Self::load_producer_state(
            partition,
            storage,
            &decoded.records,
            segment_base_offset,
            high_watermark,
        );
        producer_state.on_log_start_offset_incremented(log_start_offset);
        let log = Log {
            partition,
            file_name,
            segment_base_offset,
            records: decoded.records,
            batches: decoded.batches,
            size_bytes: valid_length_bytes,
            log_start_offset,
            high_watermark,
            epoch_cache,
            flush_interval_messages,
            unflushed_messages: 0,
            producer_state,
            producer_snapshot_offset,
            changed_since_check: false,
        };
        log.check_invariants_full();
        (log, truncation)
    }

    /// The producer state of recovered `records` (Kafka's `LogLoader` and
    /// `rebuildProducerState`): from the snapshot and the records after it when the snapshot
    /// is sound and not beyond the log end offset (a tail the snapshot saw may have been
    /// lost), else from every record, deleting a snapshot that cannot be used. Returns the
    /// state and the offset of the snapshot kept on disk.
    fn load_producer_state(
        partition: TopicPartition,
        storage: &mut dyn Storage,
        records: &[Record],
        segment_base_offset: Offset,
        high_watermark: Offset,
    ) -> (ProducerStateManager, Option<Offset>) {
        let log_end_offset = Offset(segment_base_offset.0 + records.len() as u64);
        let file = Self::producer_snapshot_file_name(partition);
        let bytes = storage.read(&file);
        let snapshot = producer_snapshot::decode(&bytes)
            .filter(|snapshot| snapshot.end_offset >= segment_base_offset)
            .filter(|snapshot| snapshot.end_offset <= log_end_offset);
        let mut state = ProducerStateManager::default();
        let snapshot_offset = match snapshot {
            Some(snapshot) => {
                let replay_from = (snapshot.end_offset.0 - segment_base_offset.0) as usize;
                state.restore(
                    snapshot.end_offset,
                    snapshot.producers,
                    snapshot.unreplicated_transactions,
                    snapshot.aborted_transactions,
                );
                state.append_replicated(&records[replay_from..]);
                Some(snapshot.end_offset)
            }
            None => {
                if !bytes.is_empty() {
                    Self::delete_producer_snapshot(storage, partition);
                }
                state.append_replicated(records);
                None
            }
        };
        state.on_high_watermark_updated(high_watermark);
        state.update_map_end_offset(log_end_offset);
        (state, snapshot_offset)
    }

    /// Deletes the snapshot file, durably: a snapshot that came back after a power loss could
    /// describe records a truncation removed.
    fn delete_producer_snapshot(storage: &mut dyn Storage, partition: TopicPartition) {
        let file = Self::producer_snapshot_file_name(partition);
        storage.replace(&file, &[]);
        storage.sync(&file);
    }

    /// Writes the producer-state snapshot at the log end offset, synced (Kafka's
    /// `takeSnapshot`, which `LogManager.shutdown` has every log do). Nothing is written for
    /// a partition that never had a producer id, or whose snapshot is already at the log
    /// end offset. Returns whether a snapshot was written.
    pub fn write_producer_snapshot(&mut self, storage: &mut dyn Storage) -> bool {
        self.changed_since_check = true;
        let log_end_offset = self.log_end_offset();
        let nothing_to_keep =
            self.producer_state.is_empty() && self.producer_snapshot_offset.is_none();
        if nothing_to_keep || self.producer_snapshot_offset == Some(log_end_offset) {
            return false;
        }
        let file = Self::producer_snapshot_file_name(self.partition);
        let bytes = producer_snapshot::encode(&self.producer_state, log_end_offset);
        storage.replace(&file, &bytes);
        storage.sync(&file);
        self.producer_snapshot_offset = Some(log_end_offset);
        true
    }

    /// The partition's producer state.
    pub fn producer_state(&self) -> &ProducerStateManager {
        &self.producer_state
    }

    /// The producer state, for settings such as
    /// [`ProducerStateManager::set_unknown_producer_id_for_unknown_sequence`].
    pub fn producer_state_mut(&mut self) -> &mut ProducerStateManager {
        self.changed_since_check = true;
        &mut self.producer_state
    }

    /// The end offset of the producer-state snapshot on disk, if there is one.
    pub fn producer_snapshot_offset(&self) -> Option<Offset> {
        self.producer_snapshot_offset
    }

    /// The last stable offset (Kafka's `UnifiedLog.lastStableOffset`): the high watermark,
    /// or the first unstable offset if that is lower. `read_committed` consumers read below it.
    pub fn last_stable_offset(&self) -> Offset {
        match self.producer_state.first_unstable_offset() {
            Some(first_unstable) => first_unstable.min(self.high_watermark),
            None => self.high_watermark,
        }
    }

    /// The aborted transactions a `read_committed` fetch of `[from, upper_bound)` reports
    /// (Kafka's `collectAbortedTransactions`).
    pub fn aborted_transactions(
        &self,
        from: Offset,
        upper_bound: Offset,
    ) -> Vec<AbortedTransaction> {
        self.producer_state.aborted_transactions(from, upper_bound)
    }

    pub fn partition(&self) -> TopicPartition {
        self.partition
    }

    pub fn log_start_offset(&self) -> Offset {
        self.log_start_offset
    }

    /// The offset the next appended record gets.
    pub fn log_end_offset(&self) -> Offset {
        Offset(self.segment_base_offset.0 + self.records.len() as u64)
    }

    /// The offset of the segment's first record.
    pub fn segment_base_offset(&self) -> Offset {
        self.segment_base_offset
    }

    /// Where `offset`'s record is in the segment's records.
    fn index_of(&self, offset: Offset) -> usize {
        (offset.0 - self.segment_base_offset.0) as usize
    }

    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }

    /// Every record a reader may see: from the log start offset on.
    pub fn records(&self) -> &[Record] {
        &self.records[self.index_of(self.log_start_offset)..]
    }

    pub fn epoch_cache(&self) -> &LeaderEpochCache {
        &self.epoch_cache
    }

    /// The newest epoch in the epoch cache.
    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.epoch_cache.latest_epoch()
    }

    /// The epoch of the last record, if any.
    pub fn last_record_epoch(&self) -> Option<LeaderEpoch> {
        self.records.last().map(|record| record.leader_epoch)
    }

    /// The cache's OffsetsForLeaderEpoch answer against this log's end offset.
    pub fn end_offset_for_epoch(&self, requested: LeaderEpoch) -> Option<(LeaderEpoch, Offset)> {
        self.epoch_cache
            .end_offset_for(requested, self.log_end_offset())
    }

    /// Records that `epoch` starts at the log end offset (a new leader does this first, as
    /// Kafka's `Partition.makeLeader` does).
    pub fn assign_epoch_at_log_end(&mut self, storage: &mut dyn Storage, epoch: LeaderEpoch) {
        self.changed_since_check = true;
        let log_end_offset = self.log_end_offset();
        self.epoch_cache.assign(storage, epoch, log_end_offset);
    }

    /// Up to `max_records` records from `from`, stopping before `upper_bound`. A producer
    /// batch that `max_records` would cut is read to its end, as far as `upper_bound`
    /// allows: Kafka's fetch returns whole batches, and a follower rebuilds the producer
    /// state from the batches it copies.
    pub fn read(&self, from: Offset, upper_bound: Offset, max_records: u32) -> Vec<Record> {
        let upper_bound = upper_bound.min(self.log_end_offset());
        if from >= upper_bound || from < self.log_start_offset {
            return Vec::new();
        }
        let first = self.index_of(from);
        let upper = self.index_of(upper_bound);
        let mut end = upper.min(first.saturating_add(max_records as usize));
        while end > first
            && end < upper
            && batch_file::continues_producer_batch(&self.records[end - 1], &self.records[end])
        {
            end += 1;
        }
        self.records[first..end].to_vec()
    }

    /// Appends producer records in `leader_epoch`, stamping offsets from the log end offset.
    /// A batch from an idempotent producer is validated against the producer state first
    /// (`ProducerStateManager::check_client_batch`): a duplicate appends nothing and returns
    /// the original offsets, a refused batch appends nothing and returns the error. Returns
    /// `None` for an empty batch.
    pub fn append_as_leader(
        &mut self,
        storage: &mut dyn Storage,
        leader_epoch: LeaderEpoch,
        records: &[ProducerRecord],
    ) -> Result<Option<LeaderAppend>, ErrorCode> {
        self.changed_since_check = true;
        self.append_batch_as_leader(storage, leader_epoch, records, false)
    }

    /// [`Log::append_as_leader`] for a batch that is transactional (`is_transactional`, the
    /// batch attribute a transactional producer sets) or not. A transactional batch opens
    /// its producer's transaction at its first offset if none is open, which holds the last
    /// stable offset there until the transaction's marker is committed.
    pub fn append_batch_as_leader(
        &mut self,
        storage: &mut dyn Storage,
        leader_epoch: LeaderEpoch,
        records: &[ProducerRecord],
        is_transactional: bool,
    ) -> Result<Option<LeaderAppend>, ErrorCode> {
        self.changed_since_check = true;
        let base_offset = self.log_end_offset();
        let producer_batch =
            producer_state::producer_batch_of_request(records, base_offset, is_transactional)?;
        if let Some(batch) = &producer_batch {
            if let ClientBatchCheck::Duplicate(original) =
                self.producer_state.check_client_batch(batch)?
            {
                return Ok(Some(LeaderAppend::Duplicate {
                    base_offset: original.first_offset(),
                    last_offset: original.last_offset,
                }));
            }
        }
        let stamped: Vec<Record> = records
            .iter()
            .enumerate()
            .map(|(index, record)| Record {
                is_transactional,
                ..Record::stamped(record, Offset(base_offset.0 + index as u64), leader_epoch)
            })
            .collect();
        let Some(last_offset) = stamped.last().map(|record| record.offset) else {
            return Ok(None);
        };
        if let Some(last_epoch) = self.last_record_epoch() {
            assert!(
                leader_epoch >= last_epoch,
                "{}: leader append in {leader_epoch} after a record of {last_epoch}",
                self.file_name
            );
        }
        self.epoch_cache.assign(storage, leader_epoch, base_offset);
        if let Some(batch) = &producer_batch {
            self.producer_state.append_data_batch(batch);
        }
        self.write_records(storage, stamped);
        Ok(Some(LeaderAppend::Appended {
            base_offset,
            last_offset,
        }))
    }

    /// Appends a transaction marker from the transaction coordinator in `leader_epoch`, as
    /// a control batch of one record at the log end offset (Kafka's `appendAsLeader` with
    /// origin COORDINATOR). The producer state checks it first: an older producer epoch is
    /// INVALID_PRODUCER_EPOCH, an older coordinator epoch TRANSACTION_COORDINATOR_FENCED,
    /// and nothing is appended. Then it ends the producer's open transaction, if any (an
    /// abort enters the aborted index); the transaction holds the last stable offset until
    /// the marker is below the high watermark. Returns the marker's offset and the
    /// transaction it completed.
    pub fn append_end_marker_as_leader(
        &mut self,
        storage: &mut dyn Storage,
        leader_epoch: LeaderEpoch,
        marker: TransactionMarker,
    ) -> Result<(Offset, Option<CompletedTransaction>), ErrorCode> {
        self.changed_since_check = true;
        let offset = self.log_end_offset();
        let end_marker = EndTransactionMarker {
            producer_id: marker.producer_id,
            producer_epoch: marker.producer_epoch,
            record_type: marker.record_type,
            coordinator_epoch: marker.coordinator_epoch,
            offset,
        };
        self.producer_state.check_end_marker(&end_marker)?;
        if let Some(last_epoch) = self.last_record_epoch() {
            assert!(
                leader_epoch >= last_epoch,
                "{}: marker append in {leader_epoch} after a record of {last_epoch}",
                self.file_name
            );
        }
        let record = Record::control(
            offset,
            leader_epoch,
            marker.producer_id,
            marker.producer_epoch.0,
            ControlMarker {
                record_type: marker.record_type,
                coordinator_epoch: marker.coordinator_epoch,
            },
        );
        self.epoch_cache.assign(storage, leader_epoch, offset);
        let completed = self.producer_state.append_end_marker(&end_marker);
        self.write_records(storage, vec![record]);
        Ok((offset, completed))
    }

    /// Appends records fetched from the leader, which already carry offsets and epochs. The
    /// epoch cache learns every new epoch it sees (Kafka's `appendAsFollower`).
    pub fn append_as_follower(
        &mut self,
        storage: &mut dyn Storage,
        records: Vec<Record>,
    ) -> Result<(), AppendError> {
        self.changed_since_check = true;
        let mut expected = self.log_end_offset();
        let mut previous_epoch = self.last_record_epoch();
        for record in &records {
            if record.offset != expected {
                return Err(AppendError::NonConsecutiveOffsets {
                    expected,
                    found: record.offset,
                });
            }
            if let Some(previous) = previous_epoch {
                if record.leader_epoch < previous {
                    return Err(AppendError::EpochWentBackwards {
                        offset: record.offset,
                        previous,
                        found: record.leader_epoch,
                    });
                }
            }
            previous_epoch = Some(record.leader_epoch);
            expected = expected.next();
        }
        for record in &records {
            self.epoch_cache
                .assign(storage, record.leader_epoch, record.offset);
        }
        self.producer_state.append_replicated(&records);
        self.write_records(storage, records);
        Ok(())
    }

    /// Appends records to the file as batches (one per run of records sharing an epoch
    /// and a producer) and applies the flush policy.
    fn write_records(&mut self, storage: &mut dyn Storage, records: Vec<Record>) {
        self.changed_since_check = true;
        if records.is_empty() {
            return;
        }
        self.unflushed_messages += records.len() as u64;
        self.append_batches(storage, records);
        self.producer_state
            .update_map_end_offset(self.log_end_offset());
        if let Some(interval) = self.flush_interval_messages {
            if self.unflushed_messages >= interval.max(1) {
                storage.sync(&self.file_name);
                self.unflushed_messages = 0;
            }
        }
    }

    /// Appends records to the file as batches, without the flush policy.
    fn append_batches(&mut self, storage: &mut dyn Storage, records: Vec<Record>) {
        self.changed_since_check = true;
        let mut bytes = Vec::new();
        let spans = batch_file::encode_records(&records, self.size_bytes, &mut bytes);
        storage.append(&self.file_name, &bytes);
        self.size_bytes += bytes.len() as u64;
        self.batches.extend(spans);
        self.records.extend(records);
    }

    /// Cuts the log so that `offset` becomes the log end offset (nothing happens if the log is
    /// already that short), drops epoch-cache entries from `offset` on, and caps the high
    /// watermark. Returns the log end offset before the cut if records were removed.
    pub fn truncate_to(&mut self, storage: &mut dyn Storage, offset: Offset) -> Option<Offset> {
        self.changed_since_check = true;
        let offset = offset.max(self.log_start_offset);
        let before = self.log_end_offset();
        self.epoch_cache.truncate_from_end(storage, offset);
        self.high_watermark = self.high_watermark.min(offset.max(self.log_start_offset));
        if offset >= before {
            return None;
        }
        // The batch holding `offset` goes from the file; the part of it before `offset` is
        // written again as a batch of its own (a model that truncates to a record, where
        // Kafka truncates whole batches: docs/PROTOCOL.md).
        let keep = self.index_of(offset);
        let batch_index = self
            .batches
            .partition_point(|batch| batch.base_offset <= offset)
            .saturating_sub(1);
        let batch = self.batches[batch_index];
        let kept_of_batch = self.records[self.index_of(batch.base_offset)..keep].to_vec();
        self.batches.truncate(batch_index);
        self.records.truncate(keep - kept_of_batch.len());
        self.size_bytes = batch.frame_start_bytes;
        storage.truncate(&self.file_name, batch.frame_start_bytes);
        self.unflushed_messages = self.unflushed_messages.min(keep as u64);
        // The rewritten part is new bytes in the file: it goes through the flush policy like
        // any write, or a log that syncs every message would hold records it never synced
        // (in Kafka the file after a cut is a prefix of what was synced).
        self.write_records(storage, kept_of_batch);
        self.reload_producer_state(storage);
        Some(before)
    }

    /// Kafka's `truncateAndReload` after a cut: a snapshot beyond the new end is deleted, and
    /// the state is rebuilt from the remaining records (a partition that never had a
    /// producer id has nothing to rebuild).
    fn reload_producer_state(&mut self, storage: &mut dyn Storage) {
        self.changed_since_check = true;
        let log_end_offset = self.log_end_offset();
        if self
            .producer_snapshot_offset
            .is_some_and(|offset| offset > log_end_offset)
        {
            Self::delete_producer_snapshot(storage, self.partition);
            self.producer_snapshot_offset = None;
        }
        if !self.producer_state.is_empty() {
            self.producer_state.clear();
            self.producer_state.append_replicated(&self.records);
            self.producer_state
                .on_high_watermark_updated(self.high_watermark);
            self.producer_state
                .on_log_start_offset_incremented(self.log_start_offset);
        }
        self.producer_state.update_map_end_offset(log_end_offset);
    }

    /// Raises the high watermark to `new` (capped at the log end offset). Returns the old and
    /// new values if it moved up; it never moves down here.
    pub fn maybe_increment_high_watermark(&mut self, new: Offset) -> Option<(Offset, Offset)> {
        self.changed_since_check = true;
        let new = new.min(self.log_end_offset());
        if new > self.high_watermark {
            let old = self.high_watermark;
            self.high_watermark = new;
            self.producer_state.on_high_watermark_updated(new);
            Some((old, new))
        } else {
            None
        }
    }

    /// Sets the high watermark to `new`, bounded by the log start and end offsets, in either
    /// direction: a follower's copy of the leader's high watermark (Kafka's
    /// `UnifiedLog.updateHighWatermark`, which `maybeUpdateHighWatermark` calls on the
    /// follower path). Returns the old and new values if it changed.
    pub fn update_high_watermark(&mut self, new: Offset) -> Option<(Offset, Offset)> {
        self.changed_since_check = true;
        let new = new.min(self.log_end_offset()).max(self.log_start_offset);
        if new == self.high_watermark {
            return None;
        }
        let old = std::mem::replace(&mut self.high_watermark, new);
        self.producer_state.on_high_watermark_updated(new);
        Some((old, new))
    }

    /// Kafka's `UnifiedLog.truncateFullyAndStartAt`, which a follower runs when its log ends
    /// below its leader's log start offset: every record goes, the segment is replaced by an
    /// empty one starting at `offset`, which becomes the log start offset, the log end offset
    /// and the high watermark; the epoch cache is emptied (`clearAndFlush`) and the producer
    /// state with its snapshot dropped. Returns the log end offset before.
    pub fn truncate_fully_and_start_at(
        &mut self,
        storage: &mut dyn Storage,
        offset: Offset,
    ) -> Offset {
        self.changed_since_check = true;
        let before = self.log_end_offset();
        storage.replace(&self.file_name, &[]);
        storage.sync(&self.file_name);
        self.segment_base_offset = offset;
        self.records.clear();
        self.batches.clear();
        self.size_bytes = 0;
        self.unflushed_messages = 0;
        self.log_start_offset = offset;
        self.high_watermark = offset;
        self.epoch_cache.clear(storage);
        if self.producer_snapshot_offset.take().is_some() {
            Self::delete_producer_snapshot(storage, self.partition);
        }
        self.producer_state.clear();
        self.producer_state.on_high_watermark_updated(offset);
        self.producer_state.on_log_start_offset_incremented(offset);
        self.producer_state.update_map_end_offset(offset);
        before
    }

    /// Moves the log start offset up to `new` (Kafka's `UnifiedLog.maybeIncrementLogStartOffset`,
    /// which DeleteRecords on the leader and a follower's fetch call): the records below it
    /// are gone for every reader, and the producer state hears of it
    /// ([`ProducerStateManager::on_log_start_offset_incremented`]). A log start offset past the
    /// high watermark is OFFSET_OUT_OF_RANGE and changes nothing. Returns the old and new
    /// values if it moved.
    pub fn maybe_increment_log_start_offset(
        &mut self,
        storage: &mut dyn Storage,
        new: Offset,
    ) -> Result<Option<LogStartOffsetMove>, ErrorCode> {
        self.changed_since_check = true;
        if new > self.high_watermark {
            return Err(ErrorCode::OffsetOutOfRange);
        }
        if new <= self.log_start_offset {
            return Ok(None);
        }
        let from = std::mem::replace(&mut self.log_start_offset, new);
        self.epoch_cache.truncate_from_start(storage, new);
        let producers_forgotten = self.producer_state.on_log_start_offset_incremented(new);
        Ok(Some(LogStartOffsetMove {
            from,
            to: new,
            producers_forgotten,
        }))
    }

    /// Turns the producer state's pre-KIP-360 behaviour on or off
    /// ([`ProducerStateManager::set_unknown_producer_id_for_unknown_sequence`]) and applies it
    /// to the current log start offset (a recovered log may start past a producer's batches).
    pub fn set_pre_kip_360_producer_state(&mut self, enabled: bool) {
        self.changed_since_check = true;
        self.producer_state
            .set_unknown_producer_id_for_unknown_sequence(enabled);
        self.producer_state
            .on_log_start_offset_incremented(self.log_start_offset);
    }

    /// [`Log::check_invariants`], if a `&mut self` method ran since the last call. The broker
    /// calls this after every step: checking every replica's log after every step was about
    /// 6% of a consumer-group run (issue 13's profile), most of it on the dozens of internal
    /// topic partitions the step never touched.
    pub fn check_invariants_if_changed(&mut self) {
        if std::mem::take(&mut self.changed_since_check) {
            self.check_invariants();
        }
    }

    /// Asserts the log's invariants, printing the values that broke them.
    /// The invariants that hold after every step, in constant time (the broker checks them
    /// after every input): the position order, the parallel frame index, the last record's
    /// offset, and the epoch cache. [`Log::check_invariants_full`] also walks every record.
    pub fn check_invariants(&self) {
        let log_end_offset = self.log_end_offset();
        assert!(
            self.log_start_offset <= self.high_watermark && self.high_watermark <= log_end_offset,
            "{}: log_start_offset {} ≤ high_watermark {} ≤ log_end_offset {} broken",
            self.file_name,
            self.log_start_offset,
            self.high_watermark,
            log_end_offset
        );
        assert_eq!(
            self.records.is_empty(),
            self.batches.is_empty(),
            "{}: records and batches disagree",
            self.file_name
        );
        if let Some(first) = self.batches.first() {
            assert_eq!(first.base_offset, self.segment_base_offset);
        }
        if let (Some(batch), Some(last)) = (self.batches.last(), self.records.last()) {
            assert!(batch.base_offset <= last.offset && batch.frame_start_bytes < self.size_bytes);
        }
        if let Some(last) = self.records.last() {
            assert_eq!(
                last.offset.next(),
                log_end_offset,
                "{}: the last record's offset does not end the log",
                self.file_name
            );
        }
        self.epoch_cache.check_invariants(log_end_offset);
        assert_eq!(
            self.producer_state.map_end_offset(),
            log_end_offset,
            "{}: the producer state does not end at the log end offset",
            self.file_name
        );
    }

    /// Every invariant, walking every record: contiguous offsets and non-decreasing epochs.
    /// Run at recovery and in tests; linear in the log.
    pub fn check_invariants_full(&self) {
        self.check_invariants();
        let mut previous_epoch: Option<LeaderEpoch> = None;
        for (index, record) in self.records.iter().enumerate() {
            let expected = Offset(self.segment_base_offset.0 + index as u64);
            assert_eq!(
                record.offset, expected,
                "{}: record {index} has offset {}",
                self.file_name, record.offset
            );
            if let Some(previous) = previous_epoch {
                assert!(
                    record.leader_epoch >= previous,
                    "{}: epoch went from {previous} to {} at offset {}",
                    self.file_name,
                    record.leader_epoch,
                    record.offset
                );
            }
            previous_epoch = Some(record.leader_epoch);
        }
        // Only a readable record's epoch must be known: the cache is trimmed from the log
        // start offset, and a cut to the log start offset empties it past the records below.
        if let Some(last) = self.records().last() {
            let latest = self.epoch_cache.latest_epoch();
            assert!(
                latest >= Some(last.leader_epoch),
                "{}: last record at {} has {} but the epoch cache's latest is {latest:?}",
                self.file_name,
                last.offset,
                last.leader_epoch
            );
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "transaction_tests.rs"]
mod transaction_tests;

#[cfg(test)]
#[path = "delete_records_tests.rs"]
mod delete_records_tests;

#[cfg(test)]
#[path = "invariant_check_tests.rs"]
mod invariant_check_tests;
