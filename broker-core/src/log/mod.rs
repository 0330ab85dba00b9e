//! A partition's replica log (Kafka's `UnifiedLog`, reduced): records with consecutive
//! offsets, the high watermark, the leader-epoch cache (`leader_epoch.rs`), and the flush
//! policy, over a file of Kafka-shaped record batches (`record_batch.rs`, `batch_file.rs`).
//!
//! Invariants, asserted by [`Log::check_invariants`] after every broker step:
//! `log_start_offset ≤ high_watermark ≤ log_end_offset`; record `i` has offset
//! `log_start_offset + i`; record epochs never decrease; every record's epoch is known to the
//! epoch cache at or before its offset. Retention is not modelled, so `log_start_offset` is 0.

use crate::ids::{LeaderEpoch, Offset};
use crate::record::{ProducerRecord, Record};
use crate::storage::Storage;
use crate::topic::TopicPartition;
use batch_file::BatchSpan;
use leader_epoch::LeaderEpochCache;

pub mod batch_file;
pub mod leader_epoch;
pub mod record_batch;

/// What recovery cut from a log file's tail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoveryTruncation {
    /// The log end offset the file seemed to hold, torn frames included (an estimate).
    pub from_log_end_offset: Offset,
    /// The log end offset after the cut.
    pub to_offset: Offset,
    pub dropped_bytes: u64,
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
}

impl Log {
    /// The file a partition's records live in.
    pub fn file_name(partition: TopicPartition) -> String {
        // One segment per partition: retention is not modelled, so the log never rolls.
        format!("{}/00000000000000000000.log", partition.directory())
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
        let file_name = Self::file_name(partition);
        let bytes = storage.read(&file_name);
        let log_start_offset = Offset(0);
        let decoded = batch_file::decode(&bytes, log_start_offset);
        let valid_length_bytes = decoded.valid_length_bytes;
        let log_end_offset = Offset(log_start_offset.0 + decoded.records.len() as u64);
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

        let high_watermark = checkpointed_high_watermark
            .unwrap_or(log_start_offset)
            .clamp(log_start_offset, log_end_offset);
        let log = Log {
            partition,
            file_name,
            records: decoded.records,
            batches: decoded.batches,
            size_bytes: valid_length_bytes,
            log_start_offset,
            high_watermark,
            epoch_cache,
            flush_interval_messages,
            unflushed_messages: 0,
        };
        log.check_invariants_full();
        (log, truncation)
    }

    pub fn partition(&self) -> TopicPartition {
        self.partition
    }

    pub fn log_start_offset(&self) -> Offset {
        self.log_start_offset
    }

    /// The offset the next appended record gets.
    pub fn log_end_offset(&self) -> Offset {
        Offset(self.log_start_offset.0 + self.records.len() as u64)
    }

    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }

    /// Every record, from the log start offset on.
    pub fn records(&self) -> &[Record] {
        &self.records
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
        let log_end_offset = self.log_end_offset();
        self.epoch_cache.assign(storage, epoch, log_end_offset);
    }

    /// Up to `max_records` records from `from`, stopping before `upper_bound`.
    pub fn read(&self, from: Offset, upper_bound: Offset, max_records: u32) -> Vec<Record> {
        let upper_bound = upper_bound.min(self.log_end_offset());
        if from >= upper_bound || from < self.log_start_offset {
            return Vec::new();
        }
        let first = (from.0 - self.log_start_offset.0) as usize;
        let end = (upper_bound.0 - self.log_start_offset.0) as usize;
        let end = end.min(first.saturating_add(max_records as usize));
        self.records[first..end].to_vec()
    }

    /// Appends producer records in `leader_epoch`, stamping offsets from the log end offset.
    /// Returns the first and last offsets, or `None` for an empty batch.
    pub fn append_as_leader(
        &mut self,
        storage: &mut dyn Storage,
        leader_epoch: LeaderEpoch,
        records: &[ProducerRecord],
    ) -> Option<(Offset, Offset)> {
        let base_offset = self.log_end_offset();
        let stamped: Vec<Record> = records
            .iter()
            .enumerate()
            .map(|(index, record)| {
                Record::stamped(record, Offset(base_offset.0 + index as u64), leader_epoch)
            })
            .collect();
        let last_offset = stamped.last()?.offset;
        if let Some(last_epoch) = self.last_record_epoch() {
            assert!(
                leader_epoch >= last_epoch,
                "{}: leader append in {leader_epoch} after a record of {last_epoch}",
                self.file_name
            );
        }
        self.epoch_cache.assign(storage, leader_epoch, base_offset);
        self.write_records(storage, stamped);
        Some((base_offset, last_offset))
    }

    /// Appends records fetched from the leader, which already carry offsets and epochs. The
    /// epoch cache learns every new epoch it sees (Kafka's `appendAsFollower`).
    pub fn append_as_follower(
        &mut self,
        storage: &mut dyn Storage,
        records: Vec<Record>,
    ) -> Result<(), AppendError> {
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
        self.write_records(storage, records);
        Ok(())
    }

    /// Appends records to the file as batches (one per run of records sharing an epoch
    /// and a producer) and applies the flush policy.
    fn write_records(&mut self, storage: &mut dyn Storage, records: Vec<Record>) {
        if records.is_empty() {
            return;
        }
        self.unflushed_messages += records.len() as u64;
        self.append_batches(storage, records);
        if let Some(interval) = self.flush_interval_messages {
            if self.unflushed_messages >= interval.max(1) {
                storage.sync(&self.file_name);
                self.unflushed_messages = 0;
            }
        }
    }

    /// Appends records to the file as batches, without the flush policy.
    fn append_batches(&mut self, storage: &mut dyn Storage, records: Vec<Record>) {
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
        let keep = (offset.0 - self.log_start_offset.0) as usize;
        let batch_index = self
            .batches
            .partition_point(|batch| batch.base_offset <= offset)
            .saturating_sub(1);
        let batch = self.batches[batch_index];
        let kept_of_batch =
            self.records[(batch.base_offset.0 - self.log_start_offset.0) as usize..keep].to_vec();
        self.batches.truncate(batch_index);
        self.records.truncate(keep - kept_of_batch.len());
        self.size_bytes = batch.frame_start_bytes;
        storage.truncate(&self.file_name, batch.frame_start_bytes);
        self.unflushed_messages = self.unflushed_messages.min(keep as u64);
        // The rewritten part is new bytes in the file: it goes through the flush policy like
        // any write, or a log that syncs every message would hold records it never synced
        // (in Kafka the file after a cut is a prefix of what was synced).
        self.write_records(storage, kept_of_batch);
        Some(before)
    }

    /// Raises the high watermark to `new` (capped at the log end offset). Returns the old and
    /// new values if it moved up; it never moves down here.
    pub fn maybe_increment_high_watermark(&mut self, new: Offset) -> Option<(Offset, Offset)> {
        let new = new.min(self.log_end_offset());
        if new > self.high_watermark {
            let old = self.high_watermark;
            self.high_watermark = new;
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
        let new = new.min(self.log_end_offset()).max(self.log_start_offset);
        if new == self.high_watermark {
            return None;
        }
        let old = std::mem::replace(&mut self.high_watermark, new);
        Some((old, new))
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
            assert_eq!(first.base_offset, self.log_start_offset);
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
    }

    /// Every invariant, walking every record: contiguous offsets and non-decreasing epochs.
    /// Run at recovery and in tests; linear in the log.
    pub fn check_invariants_full(&self) {
        self.check_invariants();
        let mut previous_epoch: Option<LeaderEpoch> = None;
        for (index, record) in self.records.iter().enumerate() {
            let expected = Offset(self.log_start_offset.0 + index as u64);
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
        if let Some(last) = self.records.last() {
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
