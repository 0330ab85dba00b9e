//! Kafka's `replication-offset-checkpoint`: every partition's high watermark, replaced and
//! synced every `high_watermark_checkpoint_interval_ms`, read back on start.

use super::Broker;
use crate::ids::{Offset, PartitionId};
use std::collections::BTreeMap;

/// The file holding every partition's high watermark.
pub const HIGH_WATERMARK_CHECKPOINT_FILE: &str = "replication-offset-checkpoint";

impl Broker {
    pub(super) fn read_high_watermark_checkpoint(&self) -> BTreeMap<PartitionId, Offset> {
        let bytes = self.storage.read(HIGH_WATERMARK_CHECKPOINT_FILE);
        let stored: BTreeMap<u32, u64> = if bytes.is_empty() {
            BTreeMap::new()
        } else {
            serde_json::from_slice(&bytes).unwrap_or_default()
        };
        stored
            .into_iter()
            .map(|(partition, offset)| (PartitionId(partition), Offset(offset)))
            .collect()
    }

    pub(super) fn write_high_watermark_checkpoint(&mut self) {
        let stored: BTreeMap<u32, u64> = self
            .partitions
            .iter()
            .map(|(partition, replica)| (partition.0, replica.log().high_watermark().0))
            .collect();
        let bytes = serde_json::to_vec(&stored).expect("a map of integers serialises");
        self.storage.replace(HIGH_WATERMARK_CHECKPOINT_FILE, &bytes);
        self.storage.sync(HIGH_WATERMARK_CHECKPOINT_FILE);
    }
}
