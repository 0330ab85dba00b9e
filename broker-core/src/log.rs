//! A partition's replica log (Kafka's `UnifiedLog`, reduced): records with consecutive
//! offsets, the high watermark, the leader-epoch cache, and the flush policy.
//!
//! Invariants, asserted by [`Log::check_invariants`] after every broker step:
//! `log_start_offset ≤ high_watermark ≤ log_end_offset`; record `i` has offset
//! `log_start_offset + i`; record epochs never decrease; every record's epoch is known to the
//! epoch cache at or before its offset. Retention is not modelled, so `log_start_offset` is 0.

use crate::ids::{LeaderEpoch, Offset, PartitionId};
use crate::leader_epoch::LeaderEpochCache;
use crate::log_codec::{decode_log, encode_record};
use crate::record::{ProducerRecord, Record};
use crate::storage::Storage;

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
    partition: PartitionId,
    file_name: String,
    records: Vec<Record>,
    /// The byte position of each record's frame in the file, parallel to `records`.
    frame_starts_bytes: Vec<u64>,
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
    pub fn file_name(partition: PartitionId) -> String {
        format!("log-p{}", partition.0)
    }

    /// Opens a partition's log from storage, as Kafka's log recovery does: keep the longest
    /// valid prefix of the file (complete frames, good checksums, consecutive offsets,
    /// non-decreasing epochs), cut the file back to it, drop epoch-cache entries beyond the
    /// end, re-assign the epochs the records carry, and cap the checkpointed high watermark at
    /// the log end offset. An absent file is an empty log.
    pub fn recover(
        partition: PartitionId,
        storage: &mut dyn Storage,
        checkpointed_high_watermark: Option<Offset>,
        flush_interval_messages: Option<u64>,
    ) -> (Log, Option<RecoveryTruncation>) {
        let file_name = Self::file_name(partition);
        let bytes = storage.read(&file_name);
        let mut decoded = decode_log(&bytes);
        let log_start_offset = Offset(0);
        // Frames that pass their checksum but break the log's order are also a corrupt tail.
        let mut keep = 0usize;
        let mut previous_epoch: Option<LeaderEpoch> = None;
        for (index, record) in decoded.records.iter().enumerate() {
            let in_order = record.offset == Offset(log_start_offset.0 + index as u64)
                && previous_epoch.is_none_or(|previous| record.leader_epoch >= previous);
            if !in_order {
                break;
            }
            previous_epoch = Some(record.leader_epoch);
            keep = index + 1;
        }
        let mut valid_length_bytes = decoded.valid_length_bytes;
        let mut dropped_frames = decoded.dropped_frames;
        if keep < decoded.records.len() {
            dropped_frames += (decoded.records.len() - keep) as u64;
            valid_length_bytes = decoded.frame_starts_bytes[keep];
            decoded.records.truncate(keep);
            decoded.frame_starts_bytes.truncate(keep);
        }
        let log_end_offset = Offset(log_start_offset.0 + decoded.records.len() as u64);
        let truncation = if valid_length_bytes < bytes.len() as u64 {
            storage.truncate(&file_name, valid_length_bytes);
            Some(RecoveryTruncation {
                from_log_end_offset: Offset(log_end_offset.0 + dropped_frames),
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
            frame_starts_bytes: decoded.frame_starts_bytes,
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

    pub fn partition(&self) -> PartitionId {
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
            .map(|(index, record)| Record {
                offset: Offset(base_offset.0 + index as u64),
                leader_epoch,
                value: record.value,
                key: record.key,
                producer_stamp: record.producer_stamp,
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
        records: &[Record],
    ) -> Result<(), AppendError> {
        let mut expected = self.log_end_offset();
        let mut previous_epoch = self.last_record_epoch();
        for record in records {
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
        for record in records {
            self.epoch_cache
                .assign(storage, record.leader_epoch, record.offset);
        }
        self.write_records(storage, records.to_vec());
        Ok(())
    }

    fn write_records(&mut self, storage: &mut dyn Storage, records: Vec<Record>) {
        let mut bytes = Vec::new();
        for record in &records {
            self.frame_starts_bytes
                .push(self.size_bytes + bytes.len() as u64);
            bytes.extend(encode_record(record));
        }
        if bytes.is_empty() {
            return;
        }
        storage.append(&self.file_name, &bytes);
        self.size_bytes += bytes.len() as u64;
        self.unflushed_messages += records.len() as u64;
        self.records.extend(records);
        if let Some(interval) = self.flush_interval_messages {
            if self.unflushed_messages >= interval.max(1) {
                storage.sync(&self.file_name);
                self.unflushed_messages = 0;
            }
        }
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
        let keep = (offset.0 - self.log_start_offset.0) as usize;
        let cut_bytes = self.frame_starts_bytes[keep];
        self.records.truncate(keep);
        self.frame_starts_bytes.truncate(keep);
        self.size_bytes = cut_bytes;
        self.unflushed_messages = self.unflushed_messages.min(keep as u64);
        storage.truncate(&self.file_name, cut_bytes);
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
        assert_eq!(self.records.len(), self.frame_starts_bytes.len());
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
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;
    use proptest::prelude::*;

    const P0: PartitionId = PartitionId(0);

    #[derive(Clone, Debug)]
    enum Operation {
        NewEpoch(u32),
        Append(u64),
        TruncateBack(u64),
        RaiseHighWatermark(u64),
    }

    fn operation() -> impl Strategy<Value = Operation> {
        prop_oneof![
            (1u32..3).prop_map(Operation::NewEpoch),
            (0u64..4).prop_map(Operation::Append),
            (0u64..4).prop_map(Operation::TruncateBack),
            (0u64..20).prop_map(Operation::RaiseHighWatermark),
        ]
    }

    fn producer_records(count: u64, first_value: u64) -> Vec<ProducerRecord> {
        (0..count)
            .map(|index| ProducerRecord {
                value: first_value + index,
                key: None,
                producer_stamp: None,
            })
            .collect()
    }

    #[test]
    fn truncate_to_cuts_records_epochs_and_the_high_watermark() {
        let mut storage = MemoryStorage::default();
        let (mut log, _) = Log::recover(P0, &mut storage, None, None);
        log.append_as_leader(&mut storage, LeaderEpoch(1), &producer_records(3, 0));
        log.append_as_leader(&mut storage, LeaderEpoch(2), &producer_records(2, 10));
        log.maybe_increment_high_watermark(Offset(5));
        assert_eq!(log.truncate_to(&mut storage, Offset(2)), Some(Offset(5)));
        assert_eq!(log.log_end_offset(), Offset(2));
        assert_eq!(log.high_watermark(), Offset(2));
        assert_eq!(log.latest_epoch(), Some(LeaderEpoch(1)));
        let (recovered, truncation) = Log::recover(P0, &mut storage, Some(Offset(2)), None);
        assert_eq!(truncation, None);
        assert_eq!(recovered.records(), log.records());
    }

    #[test]
    fn follower_append_rejects_a_gap_and_an_epoch_going_backwards() {
        let mut storage = MemoryStorage::default();
        let (mut log, _) = Log::recover(P0, &mut storage, None, None);
        log.append_as_leader(&mut storage, LeaderEpoch(2), &producer_records(1, 0));
        let record = |offset, epoch| Record {
            offset: Offset(offset),
            leader_epoch: LeaderEpoch(epoch),
            value: 0,
            key: None,
            producer_stamp: None,
        };
        assert!(log
            .append_as_follower(&mut storage, &[record(2, 2)])
            .is_err());
        assert!(log
            .append_as_follower(&mut storage, &[record(1, 1)])
            .is_err());
        assert_eq!(log.log_end_offset(), Offset(1));
    }

    proptest! {
        /// Random appends, epochs, truncations and high-watermark moves keep the log's
        /// invariants; reopening the file gives back the same log, and reopening any byte
        /// prefix of it gives back a prefix of the records with the invariants intact.
        #[test]
        fn log_and_epoch_cache_survive_random_operations_and_any_torn_tail(
            operations in proptest::collection::vec(operation(), 0..40),
            cut_fraction in 0.0f64..1.0,
        ) {
            let mut storage = MemoryStorage::default();
            let (mut log, _) = Log::recover(P0, &mut storage, None, None);
            let mut epoch = LeaderEpoch(0);
            let mut next_value = 0;
            for operation in operations {
                match operation {
                    Operation::NewEpoch(step) => {
                        epoch = LeaderEpoch(epoch.0 + step);
                        log.assign_epoch_at_log_end(&mut storage, epoch);
                    }
                    Operation::Append(count) => {
                        log.append_as_leader(&mut storage, epoch, &producer_records(count, next_value));
                        next_value += count;
                    }
                    Operation::TruncateBack(back) => {
                        let target = Offset(log.log_end_offset().0.saturating_sub(back));
                        log.truncate_to(&mut storage, target);
                    }
                    Operation::RaiseHighWatermark(to) => {
                        log.maybe_increment_high_watermark(Offset(to));
                    }
                }
                log.check_invariants_full();
            }

            let (recovered, truncation) =
                Log::recover(P0, &mut storage.clone(), Some(log.high_watermark()), None);
            prop_assert_eq!(truncation, None);
            prop_assert_eq!(recovered.records(), log.records());
            prop_assert_eq!(recovered.high_watermark(), log.high_watermark());
            let log_end_offset = log.log_end_offset();
            let expected_entries: Vec<_> = log
                .epoch_cache()
                .entries()
                .into_iter()
                .filter(|&(_, start)| start < log_end_offset)
                .collect();
            prop_assert_eq!(recovered.epoch_cache().entries(), expected_entries);

            let file = Log::file_name(P0);
            let length = storage.read(&file).len();
            let cut = (length as f64 * cut_fraction) as u64;
            let mut torn = storage.clone();
            torn.truncate(&file, cut);
            let (recovered, truncation) =
                Log::recover(P0, &mut torn, Some(log.high_watermark()), None);
            recovered.check_invariants_full();
            let kept = recovered.records().len();
            prop_assert_eq!(recovered.records(), &log.records()[..kept]);
            if let Some(truncation) = truncation {
                prop_assert_eq!(truncation.to_offset, recovered.log_end_offset());
                prop_assert!(truncation.from_log_end_offset > truncation.to_offset);
            }
            prop_assert!(recovered.high_watermark() <= recovered.log_end_offset());
            // The file was cut back to exactly the valid prefix, so a second recovery is clean.
            let (again, second_truncation) = Log::recover(P0, &mut torn, None, None);
            prop_assert_eq!(second_truncation, None);
            prop_assert_eq!(again.records(), recovered.records());
        }
    }
}
