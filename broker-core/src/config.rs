//! Configuration, with Kafka's names in snake_case and Kafka's defaults unless a comment says
//! why not. Times are simulated milliseconds.

use crate::ids::PartitionId;
use crate::protocol::Acks;
use crate::topic::TopicName;
use serde::{Deserialize, Serialize};

/// A topic's settings, shared by the controller (placement, election) and the brokers (ISR
/// rules, flush policy).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TopicConfig {
    /// What producers, consumers and partition references call it (`events` by default).
    pub name: TopicName,
    /// How many partitions the topic has, numbered from 0.
    pub partitions: u32,
    /// How many brokers hold a replica of each partition; at most `brokers`.
    pub replication_factor: u32,
    /// `min.insync.replicas`: acks=all writes are refused while the ISR is smaller.
    pub min_insync_replicas: u32,
    /// `unclean.leader.election.enable`: may an out-of-sync replica lead?
    pub unclean_leader_election_enable: bool,
    /// `flush.messages`: fsync after this many appended messages. `None` leaves it to each
    /// broker's `log.flush.interval.messages` (`BrokerConfig::log_flush_interval_messages`),
    /// whose default (Long.MAX_VALUE) is never fsync: durability comes from replication.
    pub flush_interval_messages: Option<u64>,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            name: TopicName::default(),
            partitions: 1,
            replication_factor: 3,
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
            flush_interval_messages: None,
        }
    }
}

/// Broker settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerConfig {
    /// A follower that has not caught up to the leader's log end offset for this long leaves
    /// the ISR (`replica.lag.time.max.ms`, default 30 s).
    pub replica_lag_time_max_ms: u64,
    /// How long a leader may hold a follower's fetch waiting for data
    /// (`replica.fetch.wait.max.ms`).
    pub replica_fetch_wait_max_ms: u64,
    /// Pause after a failed fetch (`replica.fetch.backoff.ms`).
    pub replica_fetch_backoff_ms: u64,
    /// A follower gives up on an unanswered fetch after this long (`replica.socket.timeout.ms`).
    pub replica_socket_timeout_ms: u64,
    /// The most records one fetch response carries. Kafka bounds bytes
    /// (`replica.fetch.max.bytes`); records here have no size, so the bound counts records.
    pub replica_fetch_max_records: u32,
    /// `broker.heartbeat.interval.ms`.
    pub broker_heartbeat_interval_ms: u64,
    /// How often the high watermark is written to the checkpoint file
    /// (`replica.high.watermark.checkpoint.interval.ms`).
    pub high_watermark_checkpoint_interval_ms: u64,
    /// After its connection to the controller closes, the broker contacts the controller
    /// again this much later (`reconnect.backoff.ms` of the broker-to-controller channel).
    pub reconnect_backoff_ms: u64,
    /// How long a controlled shutdown waits for the controller's go-ahead before the broker
    /// stops anyway (the deadline `BrokerServer.shutdown` waits on, 5 minutes by default).
    pub controlled_shutdown_timeout_ms: u64,
    /// `log.flush.interval.messages`: the broker's default for the topic-level
    /// `flush.messages` (Kafka's server synonym of it), used for every topic that does not set
    /// its own. `None` is Kafka's default (Long.MAX_VALUE): never fsync. Unlike a topic's
    /// setting it can differ from broker to broker.
    pub log_flush_interval_messages: Option<u64>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_backoff_ms: 1_000,
            replica_socket_timeout_ms: 30_000,
            replica_fetch_max_records: 500,
            broker_heartbeat_interval_ms: 2_000,
            high_watermark_checkpoint_interval_ms: 5_000,
            reconnect_backoff_ms: 50,
            controlled_shutdown_timeout_ms: 300_000,
            log_flush_interval_messages: None,
        }
    }
}

/// Controller settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ControllerConfig {
    /// A broker that has not heartbeated for this long is fenced (`broker.session.timeout.ms`).
    pub broker_session_timeout_ms: u64,
    /// Eligible leader replicas (KIP-966; Kafka's `eligible.leader.replicas.version` feature,
    /// on by default for new clusters since 4.1). Off reproduces older clusters: the last
    /// ISR member is kept in the ISR when fenced ("last replica standing"). A cluster-level
    /// setting: scenarios set it with their top-level `eligible_leader_replicas_enable`, not
    /// in the `[controller]` table.
    #[serde(skip)]
    pub eligible_leader_replicas_enable: bool,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            broker_session_timeout_ms: 9_000,
            // Kafka 4.1 turns ELR on for new clusters. KIP-966 relies on strict min ISR
            // (KAFKA-15583): an ELR member holds everything committed only because the high
            // watermark does not move while the ISR is below min.insync.
            eligible_leader_replicas_enable: true,
        }
    }
}

/// How the producer picks a partition for a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Partitioner {
    /// Every record goes to this partition.
    Explicit(PartitionId),
    /// Hash of the key modulo the partition count; records without a key go round-robin.
    KeyHash,
    RoundRobin,
}

/// Producer settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProducerConfig {
    pub acks: Acks,
    /// How many times a failed batch is sent again. Kafka's default is effectively unbounded
    /// (`Integer.MAX_VALUE`), bounded in practice by `delivery_timeout_ms`.
    pub retries: u32,
    pub retry_backoff_ms: u64,
    pub request_timeout_ms: u64,
    pub delivery_timeout_ms: u64,
    pub max_in_flight_requests_per_connection: u32,
    pub linger_ms: u64,
    /// Records per batch. Kafka's `batch.size` counts bytes; records here have no size.
    pub batch_size_records: u32,
    pub partitioner: Partitioner,
    pub metadata_max_age_ms: u64,
    pub enable_idempotence: bool,
    /// After a connection to a broker closes, no new attempt before this long
    /// (`reconnect.backoff.ms`), doubling with each consecutive failure up to
    /// `reconnect_backoff_max_ms` (Kafka adds 20% jitter; the model does not).
    pub reconnect_backoff_ms: u64,
    /// `reconnect.backoff.max.ms`.
    pub reconnect_backoff_max_ms: u64,
    /// A connection attempt with no answer by then fails
    /// (`socket.connection.setup.timeout.ms`; Kafka also grows it up to
    /// `socket.connection.setup.timeout.max.ms`, the model does not).
    pub socket_connection_setup_timeout_ms: u64,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            retries: u32::MAX,
            retry_backoff_ms: 100,
            request_timeout_ms: 30_000,
            delivery_timeout_ms: 120_000,
            max_in_flight_requests_per_connection: 5,
            linger_ms: 0,
            batch_size_records: 16,
            partitioner: Partitioner::RoundRobin,
            metadata_max_age_ms: 300_000,
            enable_idempotence: false,
            reconnect_backoff_ms: 50,
            reconnect_backoff_max_ms: 1_000,
            socket_connection_setup_timeout_ms: 10_000,
        }
    }
}

/// What a consumer does when it has no valid position (`auto.offset.reset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AutoOffsetReset {
    Earliest,
    Latest,
    /// Kafka's `none`: stop with an error. The simulated consumer then stays where it is.
    None,
}

/// Consumer settings (assign mode: no group, no commits).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ConsumerConfig {
    pub auto_offset_reset: AutoOffsetReset,
    pub fetch_max_wait_ms: u64,
    pub max_poll_records: u32,
    pub request_timeout_ms: u64,
    pub retry_backoff_ms: u64,
    pub metadata_max_age_ms: u64,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            auto_offset_reset: AutoOffsetReset::Earliest,
            fetch_max_wait_ms: 500,
            max_poll_records: 500,
            request_timeout_ms: 30_000,
            retry_backoff_ms: 100,
            metadata_max_age_ms: 300_000,
        }
    }
}
