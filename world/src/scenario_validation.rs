//! Every way a scenario cannot run, or would run without doing what it says: each problem
//! names the key at fault (a path such as `faults.scripted[2].target`) and says what is
//! wrong and what is allowed, so a loader can point at the line and a user can fix it in
//! one edit. Refusing here is what keeps a run from reporting PASS for a fault that could
//! never happen. The fault schedule's checks live in `fault_validation`.

use crate::scenario::{ConsumerWorkload, FlushPolicy, ProducerWorkload, Scenario};
use std::fmt;
use watermark_broker_core::config::{Partitioner, TopicConfig};
use watermark_broker_core::spelling::closest;
use watermark_broker_core::topic::TopicName;

/// The most brokers a scenario may have.
const BROKERS_MAX: u32 = 64;

/// One reason a scenario cannot run: the key at fault and a sentence on what is wrong and
/// what is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file: `topics[0].partitions`, `faults.triggers[1].then[0].target`.
    pub key: String,
    pub message: String,
}

impl Problem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.key, self.message)
    }
}

/// Pushes "must be at least 1" for each `(key, value)` that is zero.
pub(crate) fn refuse_zeros(problems: &mut Vec<Problem>, prefix: &str, values: &[(&str, u64)]) {
    for (name, value) in values {
        if *value == 0 {
            problems.push(Problem::new(
                format!("{prefix}{name}"),
                format!("{name} = 0 must be at least 1; allowed: 1 or more"),
            ));
        }
    }
}

/// "topic `ordres` is not declared; did you mean `orders`? allowed: ..." with the declared
/// names.
pub(crate) fn undeclared_topic(scenario: &Scenario, name: TopicName) -> String {
    format!(
        "topic `{name}` is not declared{}",
        declared_topics(scenario, name)
    )
}

/// "; did you mean `orders`? allowed: `orders`, `clicks`" for an undeclared `name`.
fn declared_topics(scenario: &Scenario, name: TopicName) -> String {
    let declared: Vec<&str> = scenario
        .topics
        .iter()
        .map(|topic| topic.name.as_str())
        .collect();
    let suggestion = closest(name.as_str(), declared.iter().copied())
        .map(|close| format!("; did you mean `{close}`?"))
        .unwrap_or_else(|| ";".to_string());
    let allowed: Vec<String> = declared.iter().map(|name| format!("`{name}`")).collect();
    format!("{suggestion} allowed: {}", allowed.join(", "))
}

/// "partitions are numbered from 0; allowed: 0..=N" for a topic with `partitions`.
pub(crate) fn missing_partition(topic: &TopicConfig, partition: u32) -> String {
    format!(
        "partition {partition} does not exist: topic `{}` has {} partition(s), numbered from 0; \
         allowed: 0..={}",
        topic.name,
        topic.partitions,
        topic.partitions.saturating_sub(1)
    )
}

impl Scenario {
    /// Every way this scenario cannot run, in the order of the file's sections. Empty means
    /// runnable.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        self.validate_cluster(&mut problems);
        for (index, topic) in self.topics.iter().enumerate() {
            self.validate_topic(index, topic, &mut problems);
        }
        self.validate_broker_settings(&mut problems);
        self.validate_offsets_topic(&mut problems);
        for (index, producer) in self.producers.iter().enumerate() {
            self.validate_producer(index, producer, &mut problems);
        }
        for (index, consumer) in self.consumers.iter().enumerate() {
            self.validate_consumer(index, consumer, &mut problems);
        }
        if self.network.latency_ms_min > self.network.latency_ms_max {
            problems.push(Problem::new(
                "network.latency_ms_min",
                format!(
                    "network.latency_ms_min = {} is more than network.latency_ms_max = {}; \
                     allowed: 0..={}",
                    self.network.latency_ms_min,
                    self.network.latency_ms_max,
                    self.network.latency_ms_max
                ),
            ));
        }
        crate::fault_validation::validate_faults(self, &mut problems);
        self.validate_phases(&mut problems);
        problems
    }

    fn validate_cluster(&self, problems: &mut Vec<Problem>) {
        if self.name.is_empty() {
            problems.push(Problem::new(
                "name",
                "the scenario has no name; allowed: name = \"any-text\"",
            ));
        }
        if self.brokers == 0 {
            problems.push(Problem::new(
                "brokers",
                format!("brokers must be at least 1; allowed: 1..={BROKERS_MAX}"),
            ));
        }
        if self.brokers > BROKERS_MAX {
            problems.push(Problem::new(
                "brokers",
                format!(
                    "brokers = {} is more than the {BROKERS_MAX} supported; allowed: 1..={BROKERS_MAX}",
                    self.brokers
                ),
            ));
        }
        if self.topic.is_some() {
            problems.push(Problem::new(
                "topic",
                "the [topic] table must be moved into [[topics]]",
            ));
        }
        if self.topics.is_empty() {
            problems.push(Problem::new(
                "topics",
                "the scenario has no topic; allowed: at least one [[topics]] table",
            ));
        }
    }

    /// A topic's settings, in the words of the `[topic]` table when the scenario has only
    /// that one, `topic `name`: ...` otherwise.
    fn validate_topic(&self, index: usize, topic: &TopicConfig, problems: &mut Vec<Problem>) {
        let key = |name: &str| format!("topics[{index}].{name}");
        let prefix = if self.topics.len() == 1 {
            "topic.".to_string()
        } else {
            format!("topic `{}`: ", topic.name)
        };
        if topic.name.as_str().is_empty() {
            problems.push(Problem::new(key("name"), "a topic has an empty name"));
        }
        if self.topics[..index]
            .iter()
            .any(|earlier| earlier.name == topic.name)
        {
            problems.push(Problem::new(
                key("name"),
                format!(
                    "two topics are named `{}`; allowed: a name of its own",
                    topic.name
                ),
            ));
        }
        refuse_zeros(
            problems,
            &key(""),
            &[
                ("partitions", u64::from(topic.partitions)),
                ("replication_factor", u64::from(topic.replication_factor)),
                ("min_insync_replicas", u64::from(topic.min_insync_replicas)),
            ],
        );
        if topic.replication_factor > self.brokers {
            problems.push(Problem::new(
                key("replication_factor"),
                format!(
                    "{prefix}replication_factor = {} is more than brokers = {}; allowed: 1..={}",
                    topic.replication_factor,
                    self.brokers,
                    self.brokers.max(1)
                ),
            ));
        }
        if topic.min_insync_replicas > topic.replication_factor {
            problems.push(Problem::new(
                key("min_insync_replicas"),
                format!(
                    "{prefix}min_insync_replicas = {} is more than {prefix}replication_factor = {}; \
                     allowed: 1..={}",
                    topic.min_insync_replicas,
                    topic.replication_factor,
                    topic.replication_factor.max(1)
                ),
            ));
        }
        if topic.flush_interval_messages == Some(0) {
            problems.push(Problem::new(
                key("flush_interval_messages"),
                format!("{prefix}flush_interval_messages must be at least 1 (omit it for never)"),
            ));
        }
    }

    fn validate_broker_settings(&self, problems: &mut Vec<Problem>) {
        let broker = &self.broker;
        if broker.log_flush_interval_messages == Some(0) {
            problems.push(Problem::new(
                "broker.log_flush_interval_messages",
                "broker.log_flush_interval_messages must be at least 1 (omit it for never)",
            ));
        }
        // Intervals and timeouts of zero would fire a timer at the instant it is set,
        // forever; backoffs and waits of zero are Kafka's own meaning ("at once") and stay.
        refuse_zeros(
            problems,
            "broker.",
            &[
                ("replica_lag_time_max_ms", broker.replica_lag_time_max_ms),
                (
                    "replica_socket_timeout_ms",
                    broker.replica_socket_timeout_ms,
                ),
                (
                    "replica_fetch_max_records",
                    u64::from(broker.replica_fetch_max_records),
                ),
                (
                    "broker_heartbeat_interval_ms",
                    broker.broker_heartbeat_interval_ms,
                ),
                (
                    "high_watermark_checkpoint_interval_ms",
                    broker.high_watermark_checkpoint_interval_ms,
                ),
                (
                    "controlled_shutdown_timeout_ms",
                    broker.controlled_shutdown_timeout_ms,
                ),
                (
                    "transaction_state_log_num_partitions",
                    u64::from(broker.transaction_state_log_num_partitions),
                ),
                (
                    "transaction_state_log_replication_factor",
                    u64::from(broker.transaction_state_log_replication_factor),
                ),
                (
                    "transaction_state_log_min_isr",
                    u64::from(broker.transaction_state_log_min_isr),
                ),
                (
                    "transaction_max_timeout_ms",
                    broker.transaction_max_timeout_ms,
                ),
                (
                    "transaction_abort_timed_out_transaction_cleanup_interval_ms",
                    broker.transaction_abort_timed_out_transaction_cleanup_interval_ms,
                ),
                ("request_timeout_ms", broker.request_timeout_ms),
            ],
        );
        refuse_zeros(
            problems,
            "controller.",
            &[(
                "broker_session_timeout_ms",
                self.controller.broker_session_timeout_ms,
            )],
        );
        for (index, change) in self.broker_overrides.iter().enumerate() {
            let key = |name: &str| format!("broker_overrides[{index}].{name}");
            if change.broker.0 == 0 || change.broker.0 > self.brokers {
                problems.push(Problem::new(
                    key("broker"),
                    format!(
                        "broker {} does not exist: brokers are numbered from 1; allowed: 1..={}",
                        change.broker.0, self.brokers
                    ),
                ));
            }
            if change.flush == Some(FlushPolicy::Every(0)) {
                problems.push(Problem::new(
                    key("flush"),
                    "flush = { every = 0 } never flushes; allowed: { every = N } with N >= 1, or \"never\"",
                ));
            }
            if change.replica_fetch_max_records == Some(0) {
                problems.push(Problem::new(
                    key("replica_fetch_max_records"),
                    "replica_fetch_max_records must be at least 1; allowed: 1 or more",
                ));
            }
        }
    }

    /// A transactional producer's settings: Kafka refuses a `transactional.id` without
    /// idempotence; the transaction keys mean nothing without a transactional id.
    fn validate_transactional_producer(
        &self,
        index: usize,
        producer: &ProducerWorkload,
        problems: &mut Vec<Problem>,
    ) {
        let key = |name: &str| format!("producers[{index}].{name}");
        if let Some(reason) = producer.config.transactional_conflict() {
            problems.push(Problem::new(
                key("config.transactional_id"),
                format!("{reason}; allowed: a transactional producer with idempotence on"),
            ));
        }
        if producer.config.transactional_id.as_deref() == Some("") {
            problems.push(Problem::new(
                key("config.transactional_id"),
                "transactional_id must not be empty; allowed: a non-empty string",
            ));
        }
        if producer.is_transactional() {
            refuse_zeros(
                problems,
                &key(""),
                &[(
                    "transaction_records",
                    producer.transaction_records.unwrap_or(1),
                )],
            );
            refuse_zeros(
                problems,
                &key("config."),
                &[(
                    "transaction_timeout_ms",
                    producer.config.transaction_timeout_ms,
                )],
            );
            return;
        }
        for (name, set) in [
            (
                "transaction_records",
                producer.transaction_records.is_some(),
            ),
            ("abort_every", producer.abort_every.is_some()),
        ] {
            if set {
                problems.push(Problem::new(
                    key(name),
                    format!(
                        "{name} needs config.transactional_id; allowed: only on a \
                         transactional producer"
                    ),
                ));
            }
        }
    }

    fn validate_producer(
        &self,
        index: usize,
        producer: &ProducerWorkload,
        problems: &mut Vec<Problem>,
    ) {
        let key = |name: &str| format!("producers[{index}].{name}");
        let config = &producer.config;
        refuse_zeros(problems, &key(""), &[("records", producer.records)]);
        refuse_zeros(
            problems,
            &key("config."),
            &[
                (
                    "max_in_flight_requests_per_connection",
                    u64::from(config.max_in_flight_requests_per_connection),
                ),
                ("batch_size_records", u64::from(config.batch_size_records)),
                ("request_timeout_ms", config.request_timeout_ms),
                ("delivery_timeout_ms", config.delivery_timeout_ms),
                ("metadata_max_age_ms", config.metadata_max_age_ms),
                (
                    "socket_connection_setup_timeout_ms",
                    config.socket_connection_setup_timeout_ms,
                ),
            ],
        );
        // Kafka refuses an explicit `enable.idempotence=true` beside a setting it cannot
        // keep its promise with (a `ConfigException`), rather than turning it off.
        if let Some(reason) = config.idempotence_conflict() {
            problems.push(Problem::new(
                key("config.enable_idempotence"),
                format!(
                    "producers[{index}].config.enable_idempotence = true needs acks = \"all\", \
                     retries above 0 and max_in_flight_requests_per_connection at most 5: {reason}"
                ),
            ));
        }
        self.validate_transactional_producer(index, producer, problems);
        if producer.key_space == Some(0) {
            problems.push(Problem::new(
                key("key_space"),
                format!("producers[{index}].key_space must be at least 1"),
            ));
        }
        let topic_name = producer.topic.unwrap_or_else(|| self.default_topic());
        let Some(topic) = self.topic_config(topic_name) else {
            problems.push(Problem::new(
                key("topic"),
                format!(
                    "producers[{index}] writes to topic `{topic_name}`, which the scenario does not \
                     declare{}",
                    declared_topics(self, topic_name)
                ),
            ));
            return;
        };
        if let Partitioner::Explicit(partition) = config.partitioner {
            if partition.0 >= topic.partitions {
                problems.push(Problem::new(
                    key("config.partitioner"),
                    missing_partition(topic, partition.0),
                ));
            }
        }
    }

    fn validate_consumer(
        &self,
        index: usize,
        consumer: &ConsumerWorkload,
        problems: &mut Vec<Problem>,
    ) {
        let key = |name: &str| format!("consumers[{index}].{name}");
        let config = &consumer.config;
        refuse_zeros(
            problems,
            &key("config."),
            &[
                ("max_poll_records", u64::from(config.max_poll_records)),
                ("request_timeout_ms", config.request_timeout_ms),
                ("metadata_max_age_ms", config.metadata_max_age_ms),
            ],
        );
        self.validate_consumer_group(index, consumer, problems);
        for (position, topic_name) in consumer.topics.iter().enumerate() {
            if self.topic_config(*topic_name).is_none() {
                problems.push(Problem::new(
                    key(&format!("topics[{position}]")),
                    format!(
                        "consumers[{index}] reads topic `{topic_name}`, which the scenario does \
                         not declare{}",
                        declared_topics(self, *topic_name)
                    ),
                ));
            }
        }
        for (position, partition) in consumer.partitions.iter().enumerate() {
            let too_few = self
                .topics
                .iter()
                .filter(|topic| consumer.topics.is_empty() || consumer.topics.contains(&topic.name))
                .find(|topic| partition.0 >= topic.partitions);
            if let Some(topic) = too_few {
                problems.push(Problem::new(
                    key(&format!("partitions[{position}]")),
                    missing_partition(topic, partition.0),
                ));
            }
        }
    }

    fn validate_phases(&self, problems: &mut Vec<Problem>) {
        let phases = &self.phases;
        refuse_zeros(
            problems,
            "phases.",
            &[
                ("safety_ms", phases.safety_ms),
                ("liveness_ms_max", phases.liveness_ms_max),
            ],
        );
        let run_ms = phases.safety_ms.saturating_add(phases.liveness_ms_max);
        if run_ms > phases.run_ms_max {
            problems.push(Problem::new(
                "phases.safety_ms",
                format!(
                    "safety_ms + liveness_ms_max = {run_ms} ms is more than phases.run_ms_max = {} \
                     (default a simulated day), so the run could take hours; allowed: a total up \
                     to {}, or raise phases.run_ms_max",
                    phases.run_ms_max, phases.run_ms_max
                ),
            ));
        }
    }
}

#[cfg(test)]
#[path = "scenario_validation_tests.rs"]
mod tests;
