//! Kafka's `log-start-offset-checkpoint`: the log start offset of every partition whose log
//! starts past its first segment's base (DeleteRecords moved it), read back on start so
//! that deleted records stay deleted. Kafka writes it every
//! `log.flush.start.offset.checkpoint.interval.ms` (60 s) and at shutdown; the model writes
//! it with the high-watermark checkpoint (`high_watermark_checkpoint.rs`), so a crash can
//! lose a DeleteRecords made since, as in Kafka. A broker none of whose logs was ever
//! trimmed writes no file, as Kafka writes no entry for such a log.

use super::high_watermark_checkpoint::{format_checkpoint, parse_checkpoint};
use super::Broker;
use crate::ids::Offset;
use crate::log::SEGMENT_BASE_OFFSET;
use crate::topic::TopicPartition;
use std::collections::BTreeMap;

/// The file holding the log start offsets.
pub const LOG_START_OFFSET_CHECKPOINT_FILE: &str = "log-start-offset-checkpoint";

impl Broker {
    /// Every partition's checkpointed log start offset; a file that does not parse is no
    /// checkpoint.
    pub(super) fn read_log_start_offset_checkpoint(&self) -> BTreeMap<TopicPartition, Offset> {
        let bytes = self.storage.read(LOG_START_OFFSET_CHECKPOINT_FILE);
        parse_checkpoint(&String::from_utf8_lossy(&bytes)).unwrap_or_default()
    }

    /// Replaces and syncs the file, unless no log was ever trimmed and there is no file.
    pub(super) fn write_log_start_offset_checkpoint(&mut self) {
        let entries: BTreeMap<TopicPartition, Offset> = self
            .partitions
            .iter()
            .map(|(partition, replica)| (*partition, replica.log().log_start_offset()))
            .filter(|(_, offset)| *offset > SEGMENT_BASE_OFFSET)
            .collect();
        let file_exists = !self
            .storage
            .read(LOG_START_OFFSET_CHECKPOINT_FILE)
            .is_empty();
        if entries.is_empty() && !file_exists {
            return;
        }
        let text = format_checkpoint(&entries);
        self.storage
            .replace(LOG_START_OFFSET_CHECKPOINT_FILE, text.as_bytes());
        self.storage.sync(LOG_START_OFFSET_CHECKPOINT_FILE);
    }
}
