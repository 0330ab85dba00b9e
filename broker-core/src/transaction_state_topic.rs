//! `__transaction_state`: the internal topic the transaction coordinators write their
//! transactions to (Kafka's `TransactionLog`). Like `__consumer_offsets` it is an ordinary
//! replicated topic; a transactional id lives on the partition its id hashes to, and that
//! partition's leader is the id's transaction coordinator. Kafka creates it on the first
//! FindCoordinator for a transactional id; here it is created with the cluster when a
//! scenario has a transactional producer.

use crate::config::{BrokerConfig, TopicConfig};
use crate::ids::{PartitionId, TransactionalId};
use crate::offsets_topic::java_string_hash_code;
use crate::topic::{TopicName, TopicPartition};

/// Kafka's name for the transaction log topic (`Topic.TRANSACTION_STATE_TOPIC_NAME`).
pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";

/// The transaction log topic's name.
pub fn transaction_state_topic() -> TopicName {
    TopicName::from_static(TRANSACTION_STATE_TOPIC)
}

/// The transaction log topic's settings, from the cluster's broker settings
/// (`transaction.state.log.num.partitions`, `.replication.factor` and `.min.isr`, Kafka's
/// `TransactionLog` topic configs). Kafka creates it compacted, without a flush setting of
/// its own and without unclean elections.
pub fn transaction_state_topic_config(broker: &BrokerConfig) -> TopicConfig {
    TopicConfig {
        name: transaction_state_topic(),
        partitions: broker.transaction_state_log_num_partitions,
        replication_factor: broker.transaction_state_log_replication_factor,
        min_insync_replicas: broker.transaction_state_log_min_isr,
        unclean_leader_election_enable: false,
        flush_interval_messages: None,
    }
}

/// The transaction log partition that holds `transactional_id` (Kafka's
/// `TransactionStateManager.partitionFor`: `Utils.abs(transactionalId.hashCode)` modulo the
/// partition count, as the group coordinator hashes group ids).
pub fn transaction_partition(
    transactional_id: &TransactionalId,
    partition_count: u32,
) -> TopicPartition {
    let hash = java_string_hash_code(&transactional_id.0);
    // Kafka's `Utils.abs` masks the sign bit, so `i32::MIN` maps to 0.
    let positive = (hash & 0x7fff_ffff) as u32;
    TopicPartition::new(
        transaction_state_topic(),
        PartitionId(positive % partition_count.max(1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offsets_topic::is_internal_topic;

    #[test]
    fn transactional_ids_land_on_kafkas_partition() {
        // "my-group".hashCode() is -1906497762 in a JVM (offsets_topic's tests check the
        // hash); Kafka masks the sign bit and takes the remainder.
        let partition = transaction_partition(&TransactionalId("my-group".into()), 50);
        assert_eq!(
            partition.partition,
            PartitionId((-1_906_497_762i32 & 0x7fff_ffff) as u32 % 50)
        );
        assert_eq!(partition.topic, transaction_state_topic());
        assert_eq!(
            transaction_partition(&TransactionalId("a".into()), 7).partition,
            PartitionId(97 % 7)
        );
    }

    #[test]
    fn the_topic_takes_kafkas_transaction_log_settings() {
        let config = transaction_state_topic_config(&BrokerConfig::default());
        assert_eq!(config.name.as_str(), "__transaction_state");
        assert_eq!(
            (
                config.partitions,
                config.replication_factor,
                config.min_insync_replicas
            ),
            (50, 3, 2)
        );
        assert!(!config.unclean_leader_election_enable);
        assert!(is_internal_topic(config.name));
    }
}
