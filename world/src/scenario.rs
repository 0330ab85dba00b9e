//! A scenario as data: cluster shape, topic and client configuration, workload, fault
//! schedule and expectation. The `scenarios` crate builds these with a Rust builder or loads
//! them from TOML; the runner turns one scenario and one seed into one run.

use crate::checkers::Checker;
use crate::fault::{ScriptedFault, Swarm, Trigger};
use crate::processing::ProcessingMode;
use crate::verdict::{Guarantee, OrderingVerdict};
use serde::{Deserialize, Serialize};
use watermark_broker_core::bugs::BugSwitches;
use watermark_broker_core::config::{
    BrokerConfig, ConsumerConfig, ControllerConfig, ProducerConfig, TopicConfig,
};
use watermark_broker_core::ids::{BrokerId, GroupId, PartitionId};
use watermark_broker_core::kafka_version::KafkaVersion;
use watermark_broker_core::mark::Mark;
use watermark_broker_core::offsets_topic::{is_internal_topic, offsets_topic_config};
use watermark_broker_core::topic::{TopicName, TopicPartition};
use watermark_broker_core::transaction_state_topic::transaction_state_topic_config;

/// One producer application: sends `records` unique values to `topic`, one every
/// `interval_ms` from `start_ms`. With `config.transactional_id` it sends them in
/// transactions of `transaction_records` values, aborting every `abort_every`-th.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProducerWorkload {
    /// The topic it writes to; `None`: the scenario's first topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<TopicName>,
    pub config: ProducerConfig,
    pub records: u64,
    pub start_ms: u64,
    pub interval_ms: u64,
    /// Give each record a key (its value modulo this), for the key-hash partitioner.
    pub key_space: Option<u64>,
    /// Transactional producers: values per transaction. Absent: 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_records: Option<u64>,
    /// Transactional producers: the application aborts every transaction whose number is a
    /// multiple of this (numbered from 1); 0 never. Absent: 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort_every: Option<u64>,
}

/// Values per transaction of a transactional producer that does not say.
pub const TRANSACTION_RECORDS_DEFAULT: u64 = 5;

impl ProducerWorkload {
    /// Whether the producer sends in transactions (`config.transactional_id` is set).
    pub fn is_transactional(&self) -> bool {
        self.config.transactional_id.is_some()
    }
}

impl Default for ProducerWorkload {
    fn default() -> Self {
        ProducerWorkload {
            topic: None,
            config: ProducerConfig::default(),
            records: 200,
            start_ms: 1_000,
            interval_ms: 50,
            key_space: None,
            transaction_records: None,
            abort_every: None,
        }
    }
}

/// One consumer application: in assign mode without `config.group_id`, a member of that
/// group (subscribe mode) with an application that processes what it polls with one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ConsumerWorkload {
    pub config: ConsumerConfig,
    /// The topics it reads (assign mode) or subscribes to (group); empty means every topic
    /// (but `__consumer_offsets`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<TopicName>,
    /// Assigned partition indexes, in each of its topics; empty means all. Assign mode
    /// only: a group assigns its members' partitions.
    pub partitions: Vec<PartitionId>,
    pub start_ms: u64,
    /// Group consumers: how the application orders processing and commits. Absent:
    /// `auto-commit`, processing in the poll loop with Kafka's default
    /// `enable_auto_commit = true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing: Option<ProcessingMode>,
    /// Group consumers: simulated time to process one record. Absent: 10 ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_ms: Option<u64>,
    /// Group consumers: how long a poll that finds no records waits before returning empty
    /// (`poll(Duration)`). Absent: 100 ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll_timeout_ms: Option<u64>,
    /// `processing = "consume-transform-produce"`: the topic its transactions write to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_topic: Option<TopicName>,
    /// `processing = "consume-transform-produce"`: its transactional producer's settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producer: Option<ProducerConfig>,
}

/// Per-record processing time of a group consumer that does not say.
pub const PROCESSING_MS_DEFAULT: u64 = 10;
/// How long an empty poll waits when the scenario does not say.
pub const POLL_TIMEOUT_MS_DEFAULT: u64 = 100;

impl ConsumerWorkload {
    /// The group it is a member of (`None`: assign mode).
    pub fn group(&self) -> Option<GroupId> {
        self.config.group_id.clone().map(GroupId)
    }

    /// Its application's processing mode (group consumers).
    pub fn processing_mode(&self) -> ProcessingMode {
        self.processing.unwrap_or(ProcessingMode::AutoCommit)
    }

    pub fn processing_ms(&self) -> u64 {
        self.processing_ms.unwrap_or(PROCESSING_MS_DEFAULT)
    }

    /// Whether it runs the consume-transform-produce loop.
    pub fn is_pipeline(&self) -> bool {
        self.processing == Some(ProcessingMode::ConsumeTransformProduce)
    }

    pub fn poll_timeout_ms(&self) -> u64 {
        self.poll_timeout_ms.unwrap_or(POLL_TIMEOUT_MS_DEFAULT)
    }
}

impl Default for ConsumerWorkload {
    fn default() -> Self {
        ConsumerWorkload {
            config: ConsumerConfig::default(),
            topics: Vec::new(),
            partitions: Vec::new(),
            start_ms: 1_000,
            processing: None,
            processing_ms: None,
            poll_timeout_ms: None,
            output_topic: None,
            producer: None,
        }
    }
}

/// Link behaviour outside faults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// One-way latency of every message, drawn uniformly from this range.
    pub latency_ms_min: u64,
    pub latency_ms_max: u64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            latency_ms_min: 1,
            latency_ms_max: 5,
        }
    }
}

/// Disk behaviour outside faults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DiskConfig {
    pub fsync_latency_ms: u64,
    /// Whether a power loss may keep a prefix of the unsynced tail (a torn write).
    pub torn_writes: bool,
}

impl Default for DiskConfig {
    fn default() -> Self {
        DiskConfig {
            fsync_latency_ms: 2,
            torn_writes: true,
        }
    }
}

/// A broker's `log.flush.interval.messages`: fsync after every N messages, or never. Read
/// by hand (`fault_shape`), so a mistake lists both forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FlushPolicy {
    Every(u64),
    Never,
}

impl FlushPolicy {
    pub fn interval_messages(self) -> Option<u64> {
        match self {
            FlushPolicy::Every(messages) => Some(messages),
            FlushPolicy::Never => None,
        }
    }

    /// Whether a record is synced before the broker does anything else with it.
    pub fn syncs_every_message(self) -> bool {
        self == FlushPolicy::Every(1)
    }
}

impl std::fmt::Display for FlushPolicy {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlushPolicy::Every(1) => write!(formatter, "every message"),
            FlushPolicy::Every(messages) => write!(formatter, "every {messages} messages"),
            FlushPolicy::Never => write!(formatter, "never"),
        }
    }
}

/// Settings of one broker that differ from `[broker]` (`[[broker_overrides]]`); the swarm's
/// drawn configuration lands here too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrokerOverride {
    pub broker: BrokerId,
    /// `log_flush_interval_messages`: `{ every = N }` or `"never"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush: Option<FlushPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_fetch_max_records: Option<u32>,
    /// `broker.rack` (KIP-392): the rack the rack-aware replica selector matches against a
    /// consumer's `client_rack`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_rack: Option<String>,
}

/// The fault schedule of the safety phase.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FaultSchedule {
    pub scripted: Vec<ScriptedFault>,
    pub triggers: Vec<Trigger>,
    pub swarm: Option<Swarm>,
}

/// How long each phase may take.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Phases {
    /// Faults happen during this many milliseconds from the start.
    pub safety_ms: u64,
    /// Then everything is healed and restarted; the cluster must converge (replicas agree,
    /// producers done, consumers caught up) within this bound, else a liveness violation.
    pub liveness_ms_max: u64,
    /// The longest run a file may ask for, `safety_ms + liveness_ms_max` (a simulated day by
    /// default): a mistyped `safety_ms = 100000000000` is refused instead of running for
    /// hours. A file that means it raises this bound explicitly.
    #[serde(skip_serializing_if = "is_default_run_bound")]
    pub run_ms_max: u64,
}

/// A simulated day: the default bound on `safety_ms + liveness_ms_max`.
pub const RUN_MS_MAX_DEFAULT: u64 = 86_400_000;

// serde's `skip_serializing_if` passes a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_default_run_bound(run_ms_max: &u64) -> bool {
    *run_ms_max == RUN_MS_MAX_DEFAULT
}

impl Default for Phases {
    fn default() -> Self {
        Phases {
            safety_ms: 30_000,
            liveness_ms_max: 120_000,
            run_ms_max: RUN_MS_MAX_DEFAULT,
        }
    }
}

/// What the run must show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Expectation {
    /// The weakest delivery guarantee allowed (a floor: a run that happens to lose nothing
    /// satisfies at-most-once).
    pub guarantee: Guarantee,
    /// Checkers that must report at least one violation: what the scenario demonstrates.
    pub anomalies: Vec<Checker>,
    /// Replica-invariant checkers allowed to fire (e.g. `NoCommittedRecordLost` after an
    /// unclean election). Any other replica-invariant violation fails the run.
    pub allowed_invariant_violations: Vec<Checker>,
    /// Coverage marks the run must reach.
    pub marks: Vec<Mark>,
    /// The ordering verdict the run must show (`"preserved"` or `"violated"`); absent, the
    /// ordering verdict is reported but not judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordering: Option<OrderingVerdict>,
}

impl Default for Expectation {
    fn default() -> Self {
        Expectation {
            guarantee: Guarantee::AtLeastOnce,
            anomalies: Vec::new(),
            allowed_invariant_violations: Vec::new(),
            marks: Vec::new(),
            ordering: None,
        }
    }
}

/// A whole scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// The scenario's name, as reports, sweeps and replay lines show it.
    pub name: String,
    /// One line: what happens.
    pub summary: String,
    /// A few sentences: why the guarantee holds or breaks. The catalogue is a textbook.
    pub explanation: String,
    /// How many brokers the cluster has, numbered from 1 (the KRaft controller is a node of
    /// its own).
    pub brokers: u32,
    /// The topics (`[[topics]]`), each with its own settings.
    pub topics: Vec<TopicConfig>,
    /// A single `[topic]` table, the form of files written before topics had names: read as
    /// the one topic, named `events` unless it says otherwise. Never written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<TopicConfig>,
    pub broker: BrokerConfig,
    /// Brokers whose settings differ from `broker`, applied in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub broker_overrides: Vec<BrokerOverride>,
    pub controller: ControllerConfig,
    /// Eligible leader replicas (KIP-966), a cluster-level feature. Kafka 4.1+ turns it on
    /// for new clusters; off reproduces "last replica standing".
    pub eligible_leader_replicas_enable: bool,
    pub producers: Vec<ProducerWorkload>,
    pub consumers: Vec<ConsumerWorkload>,
    pub network: NetworkConfig,
    pub disk: DiskConfig,
    pub faults: FaultSchedule,
    pub phases: Phases,
    /// The Kafka release whose switches and defaults the scenario runs with (`"2.8"`): its
    /// historical bug switches on, and its defaults for the settings the file leaves out
    /// (`watermark versions` lists the profiles). Without it, Kafka 4.1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kafka_version: Option<KafkaVersion>,
    pub bugs: BugSwitches,
    pub expect: Expectation,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: String::new(),
            summary: String::new(),
            explanation: String::new(),
            brokers: 3,
            topics: vec![TopicConfig::default()],
            topic: None,
            broker: BrokerConfig::default(),
            broker_overrides: Vec::new(),
            controller: ControllerConfig::default(),
            // See `ControllerConfig::default`.
            eligible_leader_replicas_enable: true,
            producers: vec![ProducerWorkload::default()],
            consumers: vec![ConsumerWorkload::default()],
            network: NetworkConfig::default(),
            disk: DiskConfig::default(),
            faults: FaultSchedule::default(),
            phases: Phases::default(),
            kafka_version: None,
            bugs: BugSwitches::default(),
            expect: Expectation::default(),
        }
    }
}

impl Scenario {
    /// Moves a single `[topic]` table into `topics`; refuses a file with both.
    pub fn take_legacy_topic(&mut self) -> Result<(), String> {
        let Some(topic) = self.topic.take() else {
            return Ok(());
        };
        if self.topics != vec![TopicConfig::default()] {
            return Err(
                "the scenario has both a [topic] table and [[topics]]: use [[topics]] only"
                    .to_string(),
            );
        }
        self.topics = vec![topic];
        Ok(())
    }

    /// The topic producers write and partition references name when they do not say.
    /// The controller's settings with the cluster-level features applied.
    pub fn controller_config(&self) -> ControllerConfig {
        ControllerConfig {
            eligible_leader_replicas_enable: self.eligible_leader_replicas_enable,
            ..self.controller.clone()
        }
    }

    /// Broker `broker`'s settings: `[broker]` with its overrides applied.
    pub fn broker_config(&self, broker: BrokerId) -> BrokerConfig {
        let mut config = self.broker.clone();
        for change in self
            .broker_overrides
            .iter()
            .filter(|change| change.broker == broker)
        {
            if let Some(flush) = change.flush {
                config.log_flush_interval_messages = flush.interval_messages();
            }
            if let Some(records) = change.replica_fetch_max_records {
                config.replica_fetch_max_records = records;
            }
            if let Some(rack) = &change.broker_rack {
                config.broker_rack = Some(rack.clone());
            }
        }
        config
    }

    pub fn default_topic(&self) -> TopicName {
        self.topics
            .first()
            .map(|topic| topic.name)
            .unwrap_or_default()
    }

    /// The settings of the topic named `name`.
    pub fn topic_config(&self, name: TopicName) -> Option<&TopicConfig> {
        self.topics.iter().find(|topic| topic.name == name)
    }

    /// The topic producer `index` writes to.
    pub fn producer_topic(&self, index: usize) -> TopicName {
        self.producers[index]
            .topic
            .unwrap_or_else(|| self.default_topic())
    }

    /// The partitions consumer `index` is assigned, in topic then partition order. None for
    /// a group consumer: its group assigns them.
    pub fn consumer_assignment(&self, index: usize) -> Vec<TopicPartition> {
        let workload = &self.consumers[index];
        if workload.config.group_id.is_some() {
            return Vec::new();
        }
        let topics: Vec<&TopicConfig> = if workload.topics.is_empty() {
            self.topics.iter().collect()
        } else {
            workload
                .topics
                .iter()
                .filter_map(|name| self.topic_config(*name))
                .collect()
        };
        topics
            .into_iter()
            .flat_map(|topic| {
                let partitions: Vec<PartitionId> = if workload.partitions.is_empty() {
                    (0..topic.partitions).map(PartitionId).collect()
                } else {
                    workload.partitions.clone()
                };
                partitions
                    .into_iter()
                    .map(move |partition| TopicPartition::new(topic.name, partition))
            })
            .collect()
    }

    /// Whether any consumer is a member of a group.
    pub fn has_groups(&self) -> bool {
        self.consumers
            .iter()
            .any(|consumer| consumer.config.group_id.is_some())
    }

    /// The topics the cluster is created with: the scenario's, `__consumer_offsets` when a
    /// consumer is in a group, and `__transaction_state` when a producer is transactional.
    pub fn cluster_topics(&self) -> Vec<TopicConfig> {
        let mut topics = self.topics.clone();
        if self.has_groups() {
            topics.push(offsets_topic_config(&self.broker));
        }
        if self.has_transactional_producers() {
            topics.push(transaction_state_topic_config(&self.broker));
        }
        topics
    }

    /// Whether any producer has a `transactional_id`, or any consumer runs the
    /// consume-transform-produce loop (whose producer is transactional).
    pub fn has_transactional_producers(&self) -> bool {
        self.producers
            .iter()
            .any(ProducerWorkload::is_transactional)
            || self.consumers.iter().any(ConsumerWorkload::is_pipeline)
    }

    /// The partitions group consumer `index` subscribes to: those of its topics (empty: of
    /// every topic but internal ones), in topic then partition order.
    pub fn subscribed_partitions(&self, index: usize) -> Vec<TopicPartition> {
        let workload = &self.consumers[index];
        self.topics
            .iter()
            .filter(|topic| !is_internal_topic(topic.name))
            .filter(|topic| workload.topics.is_empty() || workload.topics.contains(&topic.name))
            .flat_map(|topic| {
                (0..topic.partitions)
                    .map(|index| TopicPartition::new(topic.name, PartitionId(index)))
            })
            .collect()
    }

    /// The topics group consumer `index` subscribes to (empty: every non-internal topic).
    pub fn subscribed_topics(&self, index: usize) -> Vec<TopicName> {
        let workload = &self.consumers[index];
        if workload.topics.is_empty() {
            self.topics
                .iter()
                .map(|topic| topic.name)
                .filter(|name| !is_internal_topic(*name))
                .collect()
        } else {
            workload.topics.clone()
        }
    }

    /// Every partition of every topic, in topic then partition order.
    pub fn all_partitions(&self) -> Vec<TopicPartition> {
        self.topics
            .iter()
            .flat_map(|topic| {
                (0..topic.partitions)
                    .map(|index| TopicPartition::new(topic.name, PartitionId(index)))
            })
            .collect()
    }

    /// Every way this scenario cannot run, one line each (`key: what is wrong; allowed:
    /// ...`). Empty means runnable. [`Scenario::problems`] has them with their keys apart.
    pub fn validate(&self) -> Vec<String> {
        self.problems().iter().map(ToString::to_string).collect()
    }
}
