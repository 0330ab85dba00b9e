//! The leader-epoch cache (KIP-101, Kafka's `LeaderEpochFileCache`): for each leader epoch
//! this replica has seen, the first offset written in it. It answers OffsetsForLeaderEpoch
//! (KIP-279: the largest epoch ≤ the asked one and where it ends), which is how a follower
//! finds where its log diverges from the leader's.
//!
//! Invariants (checked by [`LeaderEpochCache::check_invariants`]): epochs and start offsets
//! both strictly increase along the cache, and no start offset is beyond the log end offset
//! of the log that owns the cache. Every change is written to
//! `topic-partition/leader-epoch-checkpoint` with `replace` + `sync`, as Kafka flushes its checkpoint
//! file on every change.

use crate::ids::{LeaderEpoch, Offset};
use crate::storage::Storage;
use crate::topic::TopicPartition;
use std::collections::BTreeMap;

/// One partition's leader-epoch cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderEpochCache {
    file_name: String,
    /// Epoch → the first offset of that epoch.
    entries: BTreeMap<LeaderEpoch, Offset>,
}

impl LeaderEpochCache {
    /// The checkpoint file of a partition's cache.
    pub fn file_name(partition: TopicPartition) -> String {
        format!("{}/leader-epoch-checkpoint", partition.directory())
    }

    /// Loads the cache from its checkpoint file. An unreadable file, or entries that break the
    /// monotonic order, are dropped from the first bad entry on: the file is only ever
    /// replaced atomically, so this happens only if something outside the broker wrote it.
    pub fn load(partition: TopicPartition, storage: &dyn Storage) -> LeaderEpochCache {
        let file_name = Self::file_name(partition);
        let bytes = storage.read(&file_name);
        let stored: Vec<(u32, u64)> = if bytes.is_empty() {
            Vec::new()
        } else {
            serde_json::from_slice(&bytes).unwrap_or_default()
        };
        let mut entries = BTreeMap::new();
        let mut previous: Option<(LeaderEpoch, Offset)> = None;
        for (epoch, start_offset) in stored {
            let entry = (LeaderEpoch(epoch), Offset(start_offset));
            if previous.is_some_and(|(last_epoch, last_start)| {
                entry.0 <= last_epoch || entry.1 <= last_start
            }) {
                break;
            }
            entries.insert(entry.0, entry.1);
            previous = Some(entry);
        }
        LeaderEpochCache { file_name, entries }
    }

    /// The newest epoch, if any.
    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.entries.keys().next_back().copied()
    }

    /// The newest (epoch, start offset) entry, if any.
    pub fn latest_entry(&self) -> Option<(LeaderEpoch, Offset)> {
        self.entries
            .iter()
            .next_back()
            .map(|(&epoch, &start)| (epoch, start))
    }

    /// Every (epoch, start offset), oldest first.
    pub fn entries(&self) -> Vec<(LeaderEpoch, Offset)> {
        self.entries
            .iter()
            .map(|(&epoch, &start)| (epoch, start))
            .collect()
    }

    /// Whether the cache holds this exact epoch.
    pub fn contains(&self, epoch: LeaderEpoch) -> bool {
        self.entries.contains_key(&epoch)
    }

    /// Records that `epoch` starts at `start_offset`. As in Kafka's `assign`, nothing happens
    /// when `epoch` is already the latest and starts no later; otherwise entries from the end
    /// whose epoch is ≥ `epoch` or whose start is ≥ `start_offset` are removed first, so the
    /// cache stays strictly monotonic in both. Returns whether the cache changed (and was
    /// persisted).
    pub fn assign(
        &mut self,
        storage: &mut dyn Storage,
        epoch: LeaderEpoch,
        start_offset: Offset,
    ) -> bool {
        let update_needed = match self.latest_entry() {
            Some((latest_epoch, latest_start)) => {
                epoch != latest_epoch || start_offset < latest_start
            }
            None => true,
        };
        if !update_needed {
            return false;
        }
        while let Some((last_epoch, last_start)) = self.latest_entry() {
            if last_epoch >= epoch || last_start >= start_offset {
                self.entries.remove(&last_epoch);
            } else {
                break;
            }
        }
        self.entries.insert(epoch, start_offset);
        self.persist(storage);
        true
    }

    /// KIP-279's OffsetsForLeaderEpoch answer, as Kafka's `endOffsetFor`: the largest epoch ≤
    /// `requested` in the cache, and its end offset — the start of the next epoch in the
    /// cache, or `log_end_offset` for the latest epoch. When `requested` is older than every
    /// epoch in the cache, Kafka answers `requested` itself with the first start offset (the
    /// asker's records of that epoch all lie before it). `None` (Kafka's
    /// `UNDEFINED_EPOCH_OFFSET`) when the cache is empty or `requested` is newer than every
    /// epoch in it.
    pub fn end_offset_for(
        &self,
        requested: LeaderEpoch,
        log_end_offset: Offset,
    ) -> Option<(LeaderEpoch, Offset)> {
        let (latest_epoch, _) = self.latest_entry()?;
        if latest_epoch == requested {
            return Some((requested, log_end_offset));
        }
        let (_, &higher_start) = self.entries.range(requested.next()..).next()?;
        match self.entries.range(..=requested).next_back() {
            Some((&floor_epoch, _)) => Some((floor_epoch, higher_start)),
            None => Some((requested, higher_start)),
        }
    }

    /// Removes every entry that starts at or after `end_offset`: the log is being cut there
    /// (Kafka's `truncateFromEnd`). Returns whether the cache changed.
    pub fn truncate_from_end(&mut self, storage: &mut dyn Storage, end_offset: Offset) -> bool {
        let before = self.entries.len();
        self.entries.retain(|_, start| *start < end_offset);
        let changed = self.entries.len() != before;
        if changed {
            self.persist(storage);
        }
        changed
    }

    /// The log start offset moved to `start_offset` (Kafka's `truncateFromStart`, which
    /// `maybeIncrementLogStartOffset` and log loading call): every entry starting at or
    /// below it goes, and the newest of them comes back starting at `start_offset`, so the
    /// epoch of the first record still readable stays known. Entries starting after it are
    /// kept. Returns whether the cache changed (and was persisted, as every change is here;
    /// Kafka flushes this one in the background and loading applies it again, which the
    /// model does too).
    pub fn truncate_from_start(&mut self, storage: &mut dyn Storage, start_offset: Offset) -> bool {
        let below: Vec<LeaderEpoch> = self
            .entries
            .iter()
            .filter(|(_, &start)| start <= start_offset)
            .map(|(&epoch, _)| epoch)
            .collect();
        let Some(&spanning) = below.last() else {
            return false;
        };
        if below.len() == 1 && self.entries[&spanning] == start_offset {
            return false;
        }
        for epoch in &below {
            self.entries.remove(epoch);
        }
        self.entries.insert(spanning, start_offset);
        self.persist(storage);
        true
    }

    /// Empties the cache (Kafka's `clearAndFlush`): the log was truncated fully and starts
    /// again at a new offset. Returns whether the cache changed.
    pub fn clear(&mut self, storage: &mut dyn Storage) -> bool {
        if self.entries.is_empty() {
            return false;
        }
        self.entries.clear();
        self.persist(storage);
        true
    }

    /// Asserts the cache's invariants against its log's end offset.
    pub fn check_invariants(&self, log_end_offset: Offset) {
        let mut previous: Option<(LeaderEpoch, Offset)> = None;
        for (&epoch, &start) in &self.entries {
            if let Some((last_epoch, last_start)) = previous {
                assert!(
                    epoch > last_epoch && start > last_start,
                    "{}: entries not strictly monotonic: {last_epoch}@{last_start} then {epoch}@{start}",
                    self.file_name
                );
            }
            assert!(
                start <= log_end_offset,
                "{}: epoch {epoch} starts at {start}, beyond the log end offset {log_end_offset}",
                self.file_name
            );
            previous = Some((epoch, start));
        }
    }

    fn persist(&self, storage: &mut dyn Storage) {
        let stored: Vec<(u32, u64)> = self
            .entries
            .iter()
            .map(|(epoch, start)| (epoch.0, start.0))
            .collect();
        let bytes = serde_json::to_vec(&stored).expect("pairs of integers serialise");
        storage.replace(&self.file_name, &bytes);
        storage.sync(&self.file_name);
    }
}

#[cfg(test)]
#[path = "leader_epoch_tests.rs"]
mod tests;
