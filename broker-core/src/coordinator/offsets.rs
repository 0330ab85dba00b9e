//! A loaded offsets partition's committed offsets (Kafka's `OffsetMetadataManager` state).
//! Reads see only what is committed in the offsets partition, as Kafka's runtime reads at
//! its last committed offset: records replayed from above the high watermark wait in
//! `uncommitted` until the high watermark passes them, and the coordinator's own commits
//! are applied only once their append completes.
//!
//! Transactional offsets (TxnOffsetCommit, KIP-98) are *pending* per producer until that
//! producer's marker: COMMIT moves them to the committed offsets unless a later record (by
//! its offset in the offsets partition) already committed that partition, ABORT drops them
//! (`replayEndTransactionMarker`). A marker ends only what its producer wrote before it.
//!
//! Invariant: every key of `uncommitted` is at or above the last high watermark folded in.
use crate::ids::{GroupId, Offset, ProducerId};
use crate::log::record_batch::ControlRecordType;
use crate::protocol::OffsetAndMetadata;
use crate::topic::TopicPartition;
use std::collections::BTreeMap;

/// One change to a committed offset: a new value, or a tombstone (`None`).
type OffsetChange = (GroupId, TopicPartition, Option<OffsetAndMetadata>);

/// An offset with the offset of the record that wrote it in the offsets partition (Kafka's
/// `OffsetAndMetadata.recordOffset`), which decides between a transactional and a plain
/// commit of the same partition.
type Recorded = (OffsetAndMetadata, Offset);

/// A record replayed from the offsets partition, applied once committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replayed {
    /// A plain offset commit or tombstone.
    Offset(OffsetChange),
    /// A transactional offset commit of `producer`.
    TxnOffset(ProducerId, GroupId, TopicPartition, OffsetAndMetadata),
    /// A transaction marker of `producer`.
    Marker(ProducerId, ControlRecordType),
}

/// What a marker did to one pending offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndedOffset {
    pub group: GroupId,
    pub partition: TopicPartition,
    pub offset: Offset,
    /// COMMIT only: whether it became the committed offset (false when a later plain
    /// commit of the partition stays).
    pub materialised: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OffsetStore {
    committed: BTreeMap<GroupId, BTreeMap<TopicPartition, Recorded>>,
    /// Transactional offsets awaiting their producer's marker.
    pending: BTreeMap<ProducerId, BTreeMap<(GroupId, TopicPartition), Recorded>>,
    /// Replayed records above the high watermark, by their offset in the offsets partition.
    uncommitted: BTreeMap<Offset, Replayed>,
}

impl OffsetStore {
    /// A record replayed from the log at `log_offset`, applied once committed.
    pub fn replay(&mut self, log_offset: Offset, record: Replayed) {
        self.uncommitted.insert(log_offset, record);
    }

    /// The offsets partition's high watermark reached `high_watermark`: records below it
    /// are applied, in log order.
    pub fn advance_to(&mut self, high_watermark: Offset) {
        // Called for every loaded partition after every step: most calls commit nothing.
        if self
            .uncommitted
            .first_key_value()
            .is_none_or(|(first, _)| *first >= high_watermark)
        {
            return;
        }
        let still_uncommitted = self.uncommitted.split_off(&high_watermark);
        for (log_offset, record) in std::mem::take(&mut self.uncommitted) {
            match record {
                Replayed::Offset((group, partition, value)) => {
                    self.apply(group, partition, value, log_offset)
                }
                Replayed::TxnOffset(producer, group, partition, value) => {
                    self.add_pending(producer, group, partition, value, log_offset)
                }
                Replayed::Marker(producer, result) => {
                    self.end_transaction(producer, result, log_offset);
                }
            }
        }
        self.uncommitted = still_uncommitted;
    }

    /// Applies a committed plain commit (or tombstone) written at `record_offset`. A
    /// tombstone also drops the partition's pending transactional offsets.
    pub fn apply(
        &mut self,
        group: GroupId,
        partition: TopicPartition,
        value: Option<OffsetAndMetadata>,
        record_offset: Offset,
    ) {
        match value {
            Some(value) => {
                self.committed
                    .entry(group)
                    .or_default()
                    .insert(partition, (value, record_offset));
            }
            None => {
                if let Some(offsets) = self.committed.get_mut(&group) {
                    offsets.remove(&partition);
                    if offsets.is_empty() {
                        self.committed.remove(&group);
                    }
                }
                for offsets in self.pending.values_mut() {
                    offsets.remove(&(group.clone(), partition));
                }
                self.pending.retain(|_, offsets| !offsets.is_empty());
            }
        }
    }

    /// A committed transactional offset of `producer`, written at `record_offset`: pending
    /// until the producer's marker (a later one of the same partition replaces it).
    pub fn add_pending(
        &mut self,
        producer: ProducerId,
        group: GroupId,
        partition: TopicPartition,
        value: OffsetAndMetadata,
        record_offset: Offset,
    ) {
        self.pending
            .entry(producer)
            .or_default()
            .insert((group, partition), (value, record_offset));
    }

    /// `producer`'s committed marker at `marker_offset` ends its pending offsets written
    /// before it: COMMIT materialises each unless the partition's committed offset was
    /// written later, ABORT discards them. Returns what it ended, in key order.
    pub fn end_transaction(
        &mut self,
        producer: ProducerId,
        result: ControlRecordType,
        marker_offset: Offset,
    ) -> Vec<EndedOffset> {
        let Some(offsets) = self.pending.get_mut(&producer) else {
            return Vec::new();
        };
        let (ended, later): (BTreeMap<_, _>, BTreeMap<_, _>) = std::mem::take(offsets)
            .into_iter()
            .partition(|(_, (_, record_offset))| *record_offset < marker_offset);
        *offsets = later;
        if offsets.is_empty() {
            self.pending.remove(&producer);
        }
        ended
            .into_iter()
            .map(|((group, partition), (value, record_offset))| {
                let materialised = result == ControlRecordType::Commit
                    && self
                        .committed_record(&group, partition)
                        .is_none_or(|(_, existing)| record_offset > existing);
                if materialised {
                    self.committed
                        .entry(group.clone())
                        .or_default()
                        .insert(partition, (value, record_offset));
                }
                EndedOffset {
                    group,
                    partition,
                    offset: value.offset,
                    materialised,
                }
            })
            .collect()
    }

    fn committed_record(&self, group: &GroupId, partition: TopicPartition) -> Option<Recorded> {
        self.committed.get(group)?.get(&partition).copied()
    }

    /// The group's committed position for `partition`, if any.
    pub fn committed(
        &self,
        group: &GroupId,
        partition: TopicPartition,
    ) -> Option<OffsetAndMetadata> {
        self.committed_record(group, partition)
            .map(|(value, _)| value)
    }

    /// Whether some producer has a pending transactional offset for the group's
    /// `partition` (Kafka's `hasPendingTransactionalOffsets`).
    pub fn has_pending(&self, group: &GroupId, partition: TopicPartition) -> bool {
        self.pending
            .values()
            .any(|offsets| offsets.contains_key(&(group.clone(), partition)))
    }

    /// The groups with committed, pending or replayed offsets.
    pub fn groups(&self) -> impl Iterator<Item = &GroupId> {
        let pending = self
            .pending
            .values()
            .flat_map(|offsets| offsets.keys().map(|(group, _)| group));
        let replayed = self.uncommitted.values().filter_map(|record| match record {
            Replayed::Offset((group, _, _)) | Replayed::TxnOffset(_, group, _, _) => Some(group),
            Replayed::Marker(..) => None,
        });
        self.committed.keys().chain(pending).chain(replayed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::PartitionId;
    use crate::topic::TopicName;

    #[test]
    fn replayed_offsets_become_visible_when_the_high_watermark_passes_them() {
        let group = GroupId("g".into());
        let partition = TopicPartition::new(TopicName::from_static("t"), PartitionId(0));
        let at = |offset| OffsetAndMetadata {
            offset: Offset(offset),
            leader_epoch: None,
        };
        let mut store = OffsetStore::default();
        store.replay(
            Offset(4),
            Replayed::Offset((group.clone(), partition, Some(at(10)))),
        );
        store.replay(
            Offset(6),
            Replayed::Offset((group.clone(), partition, Some(at(20)))),
        );
        assert_eq!(store.committed(&group, partition), None);
        store.advance_to(Offset(5));
        assert_eq!(store.committed(&group, partition), Some(at(10)));
        store.advance_to(Offset(7));
        assert_eq!(store.committed(&group, partition), Some(at(20)));
        store.apply(group.clone(), partition, None, Offset(8));
        assert_eq!(store.committed(&group, partition), None);
    }
}
