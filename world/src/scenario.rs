//! A scenario as data: cluster shape, topic and client configuration, workload, fault
//! schedule and expectation. The `scenarios` crate builds these with a Rust builder or loads
//! them from TOML; the runner turns one scenario and one seed into one run.

use crate::checkers::Checker;
use crate::fault::{ScriptedFault, Swarm, Trigger};
use crate::verdict::Guarantee;
use serde::{Deserialize, Serialize};
use watermark_broker_core::bugs::BugSwitches;
use watermark_broker_core::config::{
    BrokerConfig, ConsumerConfig, ControllerConfig, ProducerConfig, TopicConfig,
};
use watermark_broker_core::ids::PartitionId;
use watermark_broker_core::mark::Mark;

/// One producer application: sends `records` unique values, one every `interval_ms` from
/// `start_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProducerWorkload {
    pub config: ProducerConfig,
    pub records: u64,
    pub start_ms: u64,
    pub interval_ms: u64,
    /// Give each record a key (its value modulo this), for the key-hash partitioner.
    pub key_space: Option<u64>,
}

impl Default for ProducerWorkload {
    fn default() -> Self {
        ProducerWorkload {
            config: ProducerConfig::default(),
            records: 200,
            start_ms: 1_000,
            interval_ms: 50,
            key_space: None,
        }
    }
}

/// One consumer application in assign mode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsumerWorkload {
    pub config: ConsumerConfig,
    /// Assigned partitions; empty means all.
    pub partitions: Vec<PartitionId>,
    pub start_ms: u64,
}

impl Default for ConsumerWorkload {
    fn default() -> Self {
        ConsumerWorkload {
            config: ConsumerConfig::default(),
            partitions: Vec::new(),
            start_ms: 1_000,
        }
    }
}

/// Link behaviour outside faults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// The fault schedule of the safety phase.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultSchedule {
    pub scripted: Vec<ScriptedFault>,
    pub triggers: Vec<Trigger>,
    pub swarm: Option<Swarm>,
}

/// How long each phase may take.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Phases {
    /// Faults happen during this many milliseconds from the start.
    pub safety_ms: u64,
    /// Then everything is healed and restarted; the cluster must converge (replicas agree,
    /// producers done, consumers caught up) within this bound, else a liveness violation.
    pub liveness_ms_max: u64,
}

impl Default for Phases {
    fn default() -> Self {
        Phases {
            safety_ms: 30_000,
            liveness_ms_max: 120_000,
        }
    }
}

/// What the run must show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl Default for Expectation {
    fn default() -> Self {
        Expectation {
            guarantee: Guarantee::AtLeastOnce,
            anomalies: Vec::new(),
            allowed_invariant_violations: Vec::new(),
            marks: Vec::new(),
        }
    }
}

/// A whole scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    pub name: String,
    /// One line: what happens.
    pub summary: String,
    /// A few sentences: why the guarantee holds or breaks. The catalogue is a textbook.
    pub explanation: String,
    pub brokers: u32,
    pub topic: TopicConfig,
    pub broker: BrokerConfig,
    pub controller: ControllerConfig,
    pub producers: Vec<ProducerWorkload>,
    pub consumers: Vec<ConsumerWorkload>,
    pub network: NetworkConfig,
    pub disk: DiskConfig,
    pub faults: FaultSchedule,
    pub phases: Phases,
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
            topic: TopicConfig::default(),
            broker: BrokerConfig::default(),
            controller: ControllerConfig::default(),
            producers: vec![ProducerWorkload::default()],
            consumers: vec![ConsumerWorkload::default()],
            network: NetworkConfig::default(),
            disk: DiskConfig::default(),
            faults: FaultSchedule::default(),
            phases: Phases::default(),
            bugs: BugSwitches::default(),
            expect: Expectation::default(),
        }
    }
}

impl Scenario {
    /// Every way this scenario cannot run, one sentence each. Empty means runnable.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.name.is_empty() {
            problems.push("the scenario has no name".to_string());
        }
        if self.brokers == 0 {
            problems.push("brokers must be at least 1".to_string());
        }
        if self.brokers > 64 {
            problems.push(format!(
                "brokers = {} is more than the 64 supported",
                self.brokers
            ));
        }
        if self.topic.partitions == 0 {
            problems.push("topic.partitions must be at least 1".to_string());
        }
        if self.topic.replication_factor == 0 {
            problems.push("topic.replication_factor must be at least 1".to_string());
        }
        if self.topic.replication_factor > self.brokers {
            problems.push(format!(
                "topic.replication_factor = {} is more than brokers = {}",
                self.topic.replication_factor, self.brokers
            ));
        }
        if self.topic.min_insync_replicas == 0 {
            problems.push("topic.min_insync_replicas must be at least 1".to_string());
        }
        if self.topic.min_insync_replicas > self.topic.replication_factor {
            problems.push(format!(
                "topic.min_insync_replicas = {} is more than topic.replication_factor = {}",
                self.topic.min_insync_replicas, self.topic.replication_factor
            ));
        }
        if self.topic.flush_interval_messages == Some(0) {
            problems.push(
                "topic.flush_interval_messages must be at least 1 (omit it for never)".to_string(),
            );
        }
        if self.network.latency_ms_min > self.network.latency_ms_max {
            problems.push("network.latency_ms_min is more than network.latency_ms_max".to_string());
        }
        for (index, producer) in self.producers.iter().enumerate() {
            if producer.config.max_in_flight_requests_per_connection == 0 {
                problems.push(format!(
                    "producers[{index}].config.max_in_flight_requests_per_connection must be at least 1"
                ));
            }
            if producer.config.batch_size_records == 0 {
                problems.push(format!(
                    "producers[{index}].config.batch_size_records must be at least 1"
                ));
            }
            if producer.key_space == Some(0) {
                problems.push(format!("producers[{index}].key_space must be at least 1"));
            }
            if let watermark_broker_core::config::Partitioner::Explicit(partition) =
                producer.config.partitioner
            {
                if partition.0 >= self.topic.partitions {
                    problems.push(format!(
                        "producers[{index}] writes to partition {} but the topic has {}",
                        partition.0, self.topic.partitions
                    ));
                }
            }
        }
        for (index, consumer) in self.consumers.iter().enumerate() {
            for partition in &consumer.partitions {
                if partition.0 >= self.topic.partitions {
                    problems.push(format!(
                        "consumers[{index}] is assigned partition {} but the topic has {}",
                        partition.0, self.topic.partitions
                    ));
                }
            }
        }
        if let Some(swarm) = &self.faults.swarm {
            if swarm.kinds.is_empty() {
                problems.push("faults.swarm.kinds is empty".to_string());
            }
            if swarm.interval_ms_min == 0 || swarm.interval_ms_min > swarm.interval_ms_max {
                problems
                    .push("faults.swarm needs 0 < interval_ms_min <= interval_ms_max".to_string());
            }
            if swarm.duration_ms_min > swarm.duration_ms_max {
                problems.push("faults.swarm needs duration_ms_min <= duration_ms_max".to_string());
            }
        }
        problems
    }
}
