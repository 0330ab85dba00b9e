//! The external sink group consumers' applications write their results to: a database
//! outside the consumers, so it survives their crashes. The history records each write as
//! `OpBody::Process`; a user's `RecordProcessor` reads it (e.g. to skip values it holds).

use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::{GroupId, Offset};
use watermark_broker_core::topic::TopicPartition;

/// One result written to the sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkEntry {
    pub time_ms: u64,
    pub group: GroupId,
    pub partition: TopicPartition,
    pub offset: Offset,
    pub value: u64,
}

/// Every result written, in write order, and per group the values it holds.
#[derive(Clone, Debug, Default)]
pub struct Sink {
    entries: Vec<SinkEntry>,
    values: BTreeMap<GroupId, BTreeSet<u64>>,
}

impl Sink {
    pub fn write(&mut self, entry: SinkEntry) {
        self.values
            .entry(entry.group.clone())
            .or_default()
            .insert(entry.value);
        self.entries.push(entry);
    }

    /// Whether `group` already wrote `value`.
    pub fn holds(&self, group: &str, value: u64) -> bool {
        self.values
            .iter()
            .find(|(id, _)| id.0 == group)
            .is_some_and(|(_, values)| values.contains(&value))
    }

    /// Every write so far, in order.
    pub fn entries(&self) -> &[SinkEntry] {
        &self.entries
    }

    /// How many times `group` wrote `value`.
    pub fn count(&self, group: &str, value: u64) -> usize {
        self.entries
            .iter()
            .filter(|entry| entry.group.0 == group && entry.value == value)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watermark_broker_core::ids::PartitionId;
    use watermark_broker_core::topic::TopicName;

    fn entry(group: &str, value: u64) -> SinkEntry {
        SinkEntry {
            time_ms: 1,
            group: GroupId(group.into()),
            partition: TopicPartition::new(TopicName::from_static("events"), PartitionId(0)),
            offset: Offset(0),
            value,
        }
    }

    #[test]
    fn holds_and_counts_per_group() {
        let mut sink = Sink::default();
        sink.write(entry("a", 7));
        sink.write(entry("a", 7));
        sink.write(entry("b", 8));
        assert!(sink.holds("a", 7));
        assert!(!sink.holds("a", 8));
        assert!(!sink.holds("b", 7));
        assert_eq!(sink.count("a", 7), 2);
        assert_eq!(sink.entries().len(), 3);
    }
}
