//! Topics and topic-partitions (Kafka's `TopicPartition`): every partition is named by its
//! topic and its index. Topic names are interned for the life of the process — a scenario has
//! a handful — so a [`TopicPartition`] is a small `Copy` value, as Kafka's is an immutable
//! one. Names compare by their text, never by where they were interned, so nothing depends on
//! the order in which threads first saw them.

use crate::ids::PartitionId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeSet;
use std::fmt;
use std::sync::Mutex;

/// The topic a scenario file without `[[topics]]` gets (its single `[topic]` table).
pub const DEFAULT_TOPIC: &str = "events";

/// A topic's name. Equal names share one interned string, so comparing two names first
/// compares their addresses: the common case, a partition of the same topic, costs no
/// string comparison.
#[derive(Clone, Copy)]
pub struct TopicName(&'static str);

impl std::hash::Hash for TopicName {
    /// By the text, as equality is.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for TopicName {
    fn eq(&self, other: &TopicName) -> bool {
        std::ptr::eq(self.0, other.0) || self.0 == other.0
    }
}

impl Eq for TopicName {}

impl Ord for TopicName {
    fn cmp(&self, other: &TopicName) -> std::cmp::Ordering {
        if std::ptr::eq(self.0, other.0) {
            std::cmp::Ordering::Equal
        } else {
            self.0.cmp(other.0)
        }
    }
}

impl PartialOrd for TopicName {
    fn partial_cmp(&self, other: &TopicName) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Every topic name seen by this process.
static INTERNED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

impl TopicName {
    pub fn new(name: &str) -> TopicName {
        // The constants' names and an interned copy must be one string, so that equal names
        // have one address (the internal topics' replicas are looked up after every step).
        for constant in [
            DEFAULT_TOPIC,
            crate::offsets_topic::CONSUMER_OFFSETS_TOPIC,
            crate::transaction_state_topic::TRANSACTION_STATE_TOPIC,
        ] {
            if name == constant {
                return TopicName(constant);
            }
        }
        let mut interned = INTERNED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(existing) = interned.get(name) {
            return TopicName(existing);
        }
        let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
        interned.insert(leaked);
        TopicName(leaked)
    }

    /// A name known at compile time (no interning needed: names compare by their text).
    pub const fn from_static(name: &'static str) -> TopicName {
        TopicName(name)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl Default for TopicName {
    fn default() -> Self {
        TopicName::from_static(DEFAULT_TOPIC)
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.0)
    }
}

impl fmt::Debug for TopicName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:?}", self.0)
    }
}

impl Serialize for TopicName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for TopicName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TopicName, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(TopicName::new(&name))
    }
}

/// One partition of one topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub struct TopicPartition {
    pub topic: TopicName,
    pub partition: PartitionId,
}

impl TopicPartition {
    pub const fn new(topic: TopicName, partition: PartitionId) -> TopicPartition {
        TopicPartition { topic, partition }
    }

    /// The partition's directory on a broker's disk, as Kafka names it: `orders-0`.
    pub fn directory(self) -> String {
        format!("{}-{}", self.topic, self.partition.0)
    }

    /// Partition `index` of the default topic.
    pub const fn of_default_topic(index: u32) -> TopicPartition {
        TopicPartition::new(TopicName::from_static(DEFAULT_TOPIC), PartitionId(index))
    }
}

impl fmt::Display for TopicPartition {
    /// Kafka's spelling: `orders-0`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}-{}", self.topic, self.partition.0)
    }
}

impl Serialize for TopicPartition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct("TopicPartition", 2)?;
        state.serialize_field("topic", &self.topic)?;
        state.serialize_field("partition", &self.partition)?;
        state.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_intern_once_and_compare_by_text() {
        let first = TopicName::new("orders");
        let again = TopicName::new(&String::from("orders"));
        assert_eq!(first, again);
        assert!(std::ptr::eq(first.as_str(), again.as_str()));
        assert!(TopicName::new("alpha") < TopicName::new("beta"));
        let sorted: Vec<TopicPartition> = [
            TopicPartition::new(TopicName::new("b"), PartitionId(0)),
            TopicPartition::new(TopicName::new("a"), PartitionId(1)),
            TopicPartition::new(TopicName::new("a"), PartitionId(0)),
        ]
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
        assert_eq!(sorted[0].partition, PartitionId(0));
        assert_eq!(sorted[0].topic.as_str(), "a");
        assert_eq!(sorted[2].topic.as_str(), "b");
    }

    #[test]
    fn a_topic_partition_reads_back_from_json() {
        let topic_partition = TopicPartition::new(TopicName::new("orders"), PartitionId(3));
        let text = serde_json::to_string(&topic_partition).unwrap();
        assert_eq!(text, r#"{"topic":"orders","partition":3}"#);
        assert_eq!(
            serde_json::from_str::<TopicPartition>(&text).unwrap(),
            topic_partition
        );
    }
}
