//! A loaded offsets partition's committed offsets (Kafka's `OffsetMetadataManager` state).
//! Reads see only what is committed in the offsets partition, as Kafka's runtime reads at
//! its last committed offset: records replayed from above the high watermark wait in
//! `uncommitted` until the high watermark passes them, and the coordinator's own commits
//! are applied only once their append completes.
//!
//! Invariant: every key of `uncommitted` is at or above the last high watermark folded in.

use crate::ids::{GroupId, Offset};
use crate::protocol::OffsetAndMetadata;
use crate::topic::TopicPartition;
use std::collections::BTreeMap;

/// One change to a committed offset: a new value, or a tombstone (`None`).
type OffsetChange = (GroupId, TopicPartition, Option<OffsetAndMetadata>);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OffsetStore {
    committed: BTreeMap<GroupId, BTreeMap<TopicPartition, OffsetAndMetadata>>,
    /// Replayed changes above the high watermark, by their offset in the offsets partition.
    uncommitted: BTreeMap<Offset, OffsetChange>,
}

impl OffsetStore {
    /// A change replayed from the log at `log_offset`, visible once committed.
    pub fn replay(&mut self, log_offset: Offset, change: OffsetChange) {
        self.uncommitted.insert(log_offset, change);
    }

    /// The offsets partition's high watermark reached `high_watermark`: changes below it
    /// are committed.
    pub fn advance_to(&mut self, high_watermark: Offset) {
        let still_uncommitted = self.uncommitted.split_off(&high_watermark);
        for (group, partition, value) in std::mem::take(&mut self.uncommitted).into_values() {
            self.apply(group, partition, value);
        }
        self.uncommitted = still_uncommitted;
    }

    /// Applies a committed change.
    pub fn apply(
        &mut self,
        group: GroupId,
        partition: TopicPartition,
        value: Option<OffsetAndMetadata>,
    ) {
        match value {
            Some(value) => {
                self.committed
                    .entry(group)
                    .or_default()
                    .insert(partition, value);
            }
            None => {
                if let Some(offsets) = self.committed.get_mut(&group) {
                    offsets.remove(&partition);
                    if offsets.is_empty() {
                        self.committed.remove(&group);
                    }
                }
            }
        }
    }

    /// The group's committed position for `partition`, if any.
    pub fn committed(
        &self,
        group: &GroupId,
        partition: TopicPartition,
    ) -> Option<OffsetAndMetadata> {
        self.committed.get(group)?.get(&partition).copied()
    }

    /// The groups with committed or replayed offsets.
    pub fn groups(&self) -> impl Iterator<Item = &GroupId> {
        self.committed
            .keys()
            .chain(self.uncommitted.values().map(|(group, _, _)| group))
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
        store.replay(Offset(4), (group.clone(), partition, Some(at(10))));
        store.replay(Offset(6), (group.clone(), partition, Some(at(20))));
        assert_eq!(store.committed(&group, partition), None);
        store.advance_to(Offset(5));
        assert_eq!(store.committed(&group, partition), Some(at(10)));
        store.advance_to(Offset(7));
        assert_eq!(store.committed(&group, partition), Some(at(20)));
        store.apply(group.clone(), partition, None);
        assert_eq!(store.committed(&group, partition), None);
    }
}
