//! `__consumer_offsets`: the internal topic the group coordinators write their groups and
//! committed offsets to. It is an ordinary replicated topic (placement, ISR, elections and
//! all), created with the cluster when a scenario has consumer groups; a group lives on the
//! partition its id hashes to, and that partition's leader is the group's coordinator.

use crate::config::{BrokerConfig, TopicConfig};
use crate::ids::{GroupId, PartitionId};
use crate::topic::{TopicName, TopicPartition};

/// Kafka's name for the offsets topic (`Topic.GROUP_METADATA_TOPIC_NAME`).
pub const CONSUMER_OFFSETS_TOPIC: &str = "__consumer_offsets";

/// The offsets topic's name.
pub fn consumer_offsets_topic() -> TopicName {
    TopicName::from_static(CONSUMER_OFFSETS_TOPIC)
}

/// Whether `topic` is an internal topic, which subscriptions to "every topic" leave out.
pub fn is_internal_topic(topic: TopicName) -> bool {
    topic.as_str() == CONSUMER_OFFSETS_TOPIC
        || topic.as_str() == crate::transaction_state_topic::TRANSACTION_STATE_TOPIC
}

/// The offsets topic's settings, from the cluster's broker settings
/// (`offsets.topic.num.partitions`, `offsets.topic.replication.factor` and the topic's
/// `min.insync.replicas`). Kafka creates it compacted and without a flush setting of its
/// own, so the brokers' `log.flush.interval.messages` applies.
pub fn offsets_topic_config(broker: &BrokerConfig) -> TopicConfig {
    TopicConfig {
        name: consumer_offsets_topic(),
        partitions: broker.offsets_topic_num_partitions,
        replication_factor: broker.offsets_topic_replication_factor,
        min_insync_replicas: broker.offsets_topic_min_insync_replicas,
        unclean_leader_election_enable: false,
        flush_interval_messages: None,
    }
}

/// The offsets partition that holds `group` (Kafka's `GroupCoordinatorService.partitionFor`:
/// the absolute value of the group id's Java `String.hashCode`, modulo the partition count).
pub fn group_partition(group: &GroupId, partition_count: u32) -> TopicPartition {
    let hash = java_string_hash_code(&group.0);
    // Kafka's `Utils.abs` masks the sign bit rather than negating, so `i32::MIN` maps to 0.
    let positive = (hash & 0x7fff_ffff) as u32;
    TopicPartition::new(
        consumer_offsets_topic(),
        PartitionId(positive % partition_count.max(1)),
    )
}

/// Java's `String.hashCode`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units, in
/// wrapping 32-bit arithmetic.
pub(crate) fn java_string_hash_code(text: &str) -> i32 {
    text.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_code_matches_java() {
        // Values from `"...".hashCode()` in a JVM.
        assert_eq!(java_string_hash_code(""), 0);
        assert_eq!(java_string_hash_code("a"), 97);
        assert_eq!(java_string_hash_code("hello"), 99_162_322);
        assert_eq!(java_string_hash_code("my-group"), -1_906_497_762);
    }

    #[test]
    fn groups_land_on_kafkas_partition() {
        // abs("my-group".hashCode()) % 50 with Kafka's sign mask.
        let partition = group_partition(&GroupId("my-group".into()), 50);
        assert_eq!(
            partition.partition,
            PartitionId((-1_906_497_762i32 & 0x7fff_ffff) as u32 % 50)
        );
        assert_eq!(partition.topic, consumer_offsets_topic());
        assert_eq!(
            group_partition(&GroupId("a".into()), 50).partition,
            PartitionId(97 % 50)
        );
    }
}
