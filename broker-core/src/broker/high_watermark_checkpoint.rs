//! Kafka's `replication-offset-checkpoint`: every partition's high watermark, replaced and
//! synced every `high_watermark_checkpoint_interval_ms`, read back on start.

use super::Broker;
use crate::ids::{Offset, PartitionId};
use crate::topic::{TopicName, TopicPartition};
use std::collections::BTreeMap;

/// The file holding every partition's high watermark.
pub const HIGH_WATERMARK_CHECKPOINT_FILE: &str = "replication-offset-checkpoint";

/// The version line Kafka's `OffsetCheckpointFile` starts with.
const CHECKPOINT_VERSION: &str = "0";

impl Broker {
    /// Every partition's checkpointed high watermark. The file is Kafka's text format: a
    /// version line, a count line, then `topic partition offset` per line. A file that does
    /// not parse is no checkpoint (`replace` is atomic, so only a bug could write one).
    pub(super) fn read_high_watermark_checkpoint(&self) -> BTreeMap<TopicPartition, Offset> {
        let bytes = self.storage.read(HIGH_WATERMARK_CHECKPOINT_FILE);
        parse_checkpoint(&String::from_utf8_lossy(&bytes)).unwrap_or_default()
    }

    pub(super) fn write_high_watermark_checkpoint(&mut self) {
        let entries: BTreeMap<TopicPartition, Offset> = self
            .partitions
            .iter()
            .map(|(partition, replica)| (*partition, replica.log().high_watermark()))
            .collect();
        let text = format_checkpoint(&entries);
        self.storage
            .replace(HIGH_WATERMARK_CHECKPOINT_FILE, text.as_bytes());
        self.storage.sync(HIGH_WATERMARK_CHECKPOINT_FILE);
    }
}

/// Kafka's `OffsetCheckpointFile` text: a version line, a count line, then
/// `topic partition offset` per entry.
pub(super) fn format_checkpoint(entries: &BTreeMap<TopicPartition, Offset>) -> String {
    let mut text = format!("{CHECKPOINT_VERSION}\n{}\n", entries.len());
    for (partition, offset) in entries {
        text.push_str(&format!(
            "{} {} {}\n",
            partition.topic, partition.partition.0, offset.0
        ));
    }
    text
}

/// The entries of a checkpoint file; an empty file has none; `None` if it does not parse.
pub(super) fn parse_checkpoint(text: &str) -> Option<BTreeMap<TopicPartition, Offset>> {
    let mut lines = text.lines();
    let Some(version) = lines.next() else {
        return Some(BTreeMap::new());
    };
    if version != CHECKPOINT_VERSION {
        return None;
    }
    let count: usize = lines.next()?.parse().ok()?;
    let mut entries = BTreeMap::new();
    for line in lines {
        let mut fields = line.split(' ');
        let topic = TopicName::new(fields.next()?);
        let partition = PartitionId(fields.next()?.parse().ok()?);
        let offset = Offset(fields.next()?.parse().ok()?);
        if fields.next().is_some() {
            return None;
        }
        entries.insert(TopicPartition::new(topic, partition), offset);
    }
    (entries.len() == count).then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_reads_back_and_a_damaged_one_is_no_checkpoint() {
        let text = "0\n2\norders 0 12\nevents 3 4\n";
        let entries = parse_checkpoint(text).unwrap();
        assert_eq!(
            entries.get(&TopicPartition::new(
                TopicName::new("orders"),
                PartitionId(0)
            )),
            Some(&Offset(12))
        );
        assert_eq!(entries.len(), 2);
        assert_eq!(parse_checkpoint(""), Some(BTreeMap::new()));
        assert_eq!(
            parse_checkpoint("0\n3\norders 0 12\n"),
            None,
            "count mismatch"
        );
        assert_eq!(parse_checkpoint("1\n0\n"), None, "unknown version");
        assert_eq!(parse_checkpoint("0\n1\norders zero 12\n"), None);
    }
}
