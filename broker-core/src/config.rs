//! Configuration, with Kafka's names in snake_case and Kafka's defaults unless a comment says
//! why not. Times are simulated milliseconds.

use crate::ids::PartitionId;
use crate::protocol::{Acks, IsolationLevel};
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
    /// `offsets.topic.num.partitions`: partitions of `__consumer_offsets`. A group lives on
    /// the partition its id hashes to, and its coordinator is that partition's leader.
    pub offsets_topic_num_partitions: u32,
    /// `offsets.topic.replication.factor`.
    pub offsets_topic_replication_factor: u32,
    /// `min.insync.replicas` of `__consumer_offsets`. Kafka creates the topic without one,
    /// so it takes the cluster's default (1); operators raise it with a topic config.
    pub offsets_topic_min_insync_replicas: u32,
    /// `offsets.commit.timeout.ms`: an offset commit waits this long for its record to be
    /// replicated (acks=all) before it fails with REQUEST_TIMED_OUT.
    pub offsets_commit_timeout_ms: u64,
    /// `group.initial.rebalance.delay.ms`: the first rebalance of an empty group waits this
    /// long (and up to the rebalance timeout) for more members to join.
    pub group_initial_rebalance_delay_ms: u64,
    /// `group.min.session.timeout.ms`: a JoinGroup with a shorter session timeout is refused.
    pub group_min_session_timeout_ms: u64,
    /// `group.max.session.timeout.ms`: a JoinGroup with a longer session timeout is refused.
    pub group_max_session_timeout_ms: u64,
    /// `transaction.state.log.num.partitions`: partitions of `__transaction_state`. A
    /// transactional id lives on the partition its id hashes to, and its transaction
    /// coordinator is that partition's leader.
    pub transaction_state_log_num_partitions: u32,
    /// `transaction.state.log.replication.factor`.
    pub transaction_state_log_replication_factor: u32,
    /// `transaction.state.log.min.isr`: the `min.insync.replicas` Kafka gives
    /// `__transaction_state` (2 by default), so a coordinator's acks=all state writes are
    /// refused while fewer replicas are in sync.
    pub transaction_state_log_min_isr: u32,
    /// `transaction.max.timeout.ms`: an InitProducerId asking for a longer
    /// `transaction.timeout.ms` is refused with INVALID_TRANSACTION_TIMEOUT.
    pub transaction_max_timeout_ms: u64,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often the
    /// transaction coordinator aborts the transactions open longer than their timeout.
    pub transaction_abort_timed_out_transaction_cleanup_interval_ms: u64,
    /// `request.timeout.ms`: the transaction coordinator gives up on an unanswered
    /// WriteTxnMarkers after this long and sends its markers again (Kafka's marker channel
    /// uses the broker's request timeout).
    pub request_timeout_ms: u64,
    /// The broker's rack (`broker.rack`), registered with the controller and handed to the
    /// other brokers in the metadata image, where the rack-aware replica selector reads it
    /// (KIP-392). `None`: no rack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_rack: Option<String>,
    /// Which replica a leader sends a consumer's fetches to (`replica.selector.class`,
    /// KIP-392): the leader itself (Kafka's default, `LeaderSelector`), or a replica in the
    /// consumer's rack (`RackAwareReplicaSelector`).
    #[serde(skip_serializing_if = "ReplicaSelectorClass::is_leader")]
    pub replica_selector_class: ReplicaSelectorClass,
}

/// Kafka's `replica.selector.class` (KIP-392), by what the selector picks.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ReplicaSelectorClass {
    /// `LeaderSelector`, Kafka's default: consumers read from the leader only.
    #[default]
    Leader,
    /// `RackAwareReplicaSelector`: a consumer with a `client.rack` is sent to an in-sync
    /// replica in its rack, the leader if it is there, else the most caught-up one.
    RackAware,
}

impl ReplicaSelectorClass {
    pub fn is_leader(&self) -> bool {
        *self == ReplicaSelectorClass::Leader
    }
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
            offsets_topic_num_partitions: 50,
            offsets_topic_replication_factor: 3,
            offsets_topic_min_insync_replicas: 1,
            offsets_commit_timeout_ms: 5_000,
            group_initial_rebalance_delay_ms: 3_000,
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            transaction_state_log_num_partitions: 50,
            transaction_state_log_replication_factor: 3,
            transaction_state_log_min_isr: 2,
            transaction_max_timeout_ms: 900_000,
            transaction_abort_timed_out_transaction_cleanup_interval_ms: 10_000,
            request_timeout_ms: 30_000,
            broker_rack: None,
            replica_selector_class: ReplicaSelectorClass::Leader,
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
    /// `enable.idempotence`. Unset is Kafka's default (≥ 3.0): on, unless `acks` is not
    /// all, `retries` is 0 or `max_in_flight_requests_per_connection` is above 5, in which
    /// case Kafka turns it off quietly. Set to `true` with one of those, Kafka refuses the
    /// configuration, and so does a scenario ([`ProducerConfig::idempotence_conflict`]).
    pub enable_idempotence: Option<bool>,
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
    /// `transactional.id`: set, the producer is transactional (KIP-98). It needs
    /// idempotence ([`ProducerConfig::transactional_conflict`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms`: how long the transaction coordinator lets one of this
    /// producer's transactions stay open before it aborts it.
    pub transaction_timeout_ms: u64,
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
            enable_idempotence: None,
            reconnect_backoff_ms: 50,
            reconnect_backoff_max_ms: 1_000,
            socket_connection_setup_timeout_ms: 10_000,
            transactional_id: None,
            transaction_timeout_ms: 60_000,
        }
    }
}

impl ProducerConfig {
    /// With a `transactional_id`, why the configuration cannot be used, in Kafka's words
    /// (`ProducerConfig.postProcessAndValidateIdempotenceConfigs` throws a
    /// `ConfigException`): a transactional producer needs idempotence, whether it was turned
    /// off explicitly or quietly by a conflicting setting.
    pub fn transactional_conflict(&self) -> Option<String> {
        self.transactional_id.as_ref()?;
        if self.idempotence_enabled() {
            return None;
        }
        Some(match self.idempotence_conflict_reason() {
            Some(reason) if self.enable_idempotence.is_none() => {
                format!("a transactional_id needs idempotence, which is off because {reason}")
            }
            _ => "a transactional_id needs idempotence: enable_idempotence must not be false"
                .to_string(),
        })
    }

    /// The most requests in flight per connection an idempotent producer may have: the
    /// broker keeps the metadata of the last 5 batches per producer to recognise retries.
    pub const MAX_IN_FLIGHT_WITH_IDEMPOTENCE: u32 = 5;

    /// Whether this producer is idempotent, as Kafka's
    /// `ProducerConfig.postProcessAndValidateIdempotenceConfigs` resolves it.
    pub fn idempotence_enabled(&self) -> bool {
        match self.enable_idempotence {
            Some(explicit) => explicit,
            None => self.idempotence_conflict_reason().is_none(),
        }
    }

    /// With idempotence set to `true`, the setting that forbids it, in Kafka's words (a
    /// `ConfigException` there); `None` when there is no conflict or it was not set.
    pub fn idempotence_conflict(&self) -> Option<&'static str> {
        if self.enable_idempotence == Some(true) {
            self.idempotence_conflict_reason()
        } else {
            None
        }
    }

    fn idempotence_conflict_reason(&self) -> Option<&'static str> {
        if self.max_in_flight_requests_per_connection > Self::MAX_IN_FLIGHT_WITH_IDEMPOTENCE {
            Some("max_in_flight_requests_per_connection must be at most 5")
        } else if self.retries == 0 {
            Some("retries must not be 0")
        } else if self.acks != Acks::All {
            Some("acks must be \"all\"")
        } else {
            None
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

/// A partition assignor a consumer supports (`partition.assignment.strategy`), by Kafka's
/// protocol name.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum Assignor {
    /// `RangeAssignor` (eager): per topic, consecutive ranges of partitions to members in
    /// member-id order.
    #[serde(rename = "range")]
    Range,
    /// `RoundRobinAssignor` (eager): every subscribed partition dealt to members in turn.
    #[serde(rename = "roundrobin")]
    RoundRobin,
    /// `CooperativeStickyAssignor` (KIP-429): keeps owned partitions where it can and
    /// revokes only the partitions that move.
    #[serde(rename = "cooperative-sticky")]
    CooperativeSticky,
}

impl Assignor {
    /// The name carried in JoinGroup (Kafka's `ConsumerPartitionAssignor.name()`).
    pub fn protocol_name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// The assignor with this protocol name, if any.
    pub fn from_protocol_name(name: &str) -> Option<Assignor> {
        [
            Assignor::Range,
            Assignor::RoundRobin,
            Assignor::CooperativeSticky,
        ]
        .into_iter()
        .find(|assignor| assignor.protocol_name() == name)
    }

    /// Whether it uses the cooperative rebalance protocol (KIP-429): owned partitions are
    /// kept through a rebalance and only moved ones are revoked.
    pub fn is_cooperative(self) -> bool {
        matches!(self, Assignor::CooperativeSticky)
    }
}

/// Consumer settings. Without `group_id` the consumer is in assign mode (a fixed list of
/// partitions, no group, no commits: Kafka turns auto-commit off without a `group.id`);
/// with one it subscribes to its topics as a member of that group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ConsumerConfig {
    pub auto_offset_reset: AutoOffsetReset,
    pub fetch_max_wait_ms: u64,
    pub max_poll_records: u32,
    pub request_timeout_ms: u64,
    pub retry_backoff_ms: u64,
    pub metadata_max_age_ms: u64,
    /// `group.id`: the group the consumer joins (subscribe mode). `None`: assign mode.
    pub group_id: Option<String>,
    /// `group.instance.id`: a static member (KIP-345), which keeps its assignment through a
    /// restart shorter than the session timeout. Unique within the group.
    pub group_instance_id: Option<String>,
    /// `session.timeout.ms`: the coordinator removes a member it has not heard a heartbeat
    /// from for this long.
    pub session_timeout_ms: u64,
    /// `heartbeat.interval.ms`: how often the heartbeat thread heartbeats.
    pub heartbeat_interval_ms: u64,
    /// `max.poll.interval.ms`: a member whose application does not call poll for this long
    /// leaves the group; it is also the rebalance timeout the member sends in JoinGroup.
    pub max_poll_interval_ms: u64,
    /// `enable.auto.commit`: commit the positions of what earlier polls returned, from
    /// inside poll, every `auto_commit_interval_ms`, and before a rebalance.
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms`.
    pub auto_commit_interval_ms: u64,
    /// `partition.assignment.strategy`, in order of preference; the group uses the first
    /// every member supports.
    pub partition_assignment_strategy: Vec<Assignor>,
    /// `default.api.timeout.ms`: how long a synchronous commit keeps retrying.
    pub default_api_timeout_ms: u64,
    /// `isolation.level`: `read_uncommitted` (Kafka's default) reads up to the high
    /// watermark, aborted transactions included; `read_committed` reads up to the last
    /// stable offset and drops the records of aborted transactions. Sent in every fetch and
    /// ListOffsets. Transaction markers are never handed to the application either way.
    pub isolation_level: IsolationLevel,
    /// `client.rack` (KIP-392): sent in every fetch, so a leader with the rack-aware
    /// replica selector can send the consumer to a replica in its rack. `None`: no rack,
    /// the leader serves every fetch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_rack: Option<String>,
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
            group_id: None,
            group_instance_id: None,
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3_000,
            max_poll_interval_ms: 300_000,
            enable_auto_commit: true,
            auto_commit_interval_ms: 5_000,
            partition_assignment_strategy: vec![Assignor::Range, Assignor::CooperativeSticky],
            default_api_timeout_ms: 60_000,
            isolation_level: IsolationLevel::ReadUncommitted,
            client_rack: None,
        }
    }
}
