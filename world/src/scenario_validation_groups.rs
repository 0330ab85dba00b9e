//! The checks of group consumers and their applications: processing keys only with a group,
//! a processing mode that agrees with `enable_auto_commit`, group settings Kafka's client or
//! coordinator would refuse, and an offsets topic the cluster can host.

use crate::processing::ProcessingMode;
use crate::scenario::{ConsumerWorkload, Scenario};
use crate::scenario_validation::{refuse_zeros, Problem};

impl Scenario {
    /// A consumer's group settings and application keys.
    pub(crate) fn validate_consumer_group(
        &self,
        index: usize,
        consumer: &ConsumerWorkload,
        problems: &mut Vec<Problem>,
    ) {
        let key = |name: &str| format!("consumers[{index}].{name}");
        let config = &consumer.config;
        let Some(group) = config.group_id.as_deref() else {
            self.refuse_application_keys(index, consumer, problems);
            return;
        };
        if group.is_empty() {
            problems.push(Problem::new(
                key("config.group_id"),
                "group_id is empty; allowed: a group name, or no group_id (assign mode)",
            ));
        }
        if !consumer.partitions.is_empty() {
            problems.push(Problem::new(
                key("partitions"),
                "a group consumer's partitions are assigned by its group; allowed: no \
                 partitions with config.group_id (or no group_id for assign mode)",
            ));
        }
        refuse_zeros(
            problems,
            &key("config."),
            &[
                ("session_timeout_ms", config.session_timeout_ms),
                ("heartbeat_interval_ms", config.heartbeat_interval_ms),
                ("max_poll_interval_ms", config.max_poll_interval_ms),
                ("auto_commit_interval_ms", config.auto_commit_interval_ms),
                ("default_api_timeout_ms", config.default_api_timeout_ms),
            ],
        );
        refuse_zeros(
            problems,
            &key(""),
            &[("poll_timeout_ms", consumer.poll_timeout_ms())],
        );
        self.validate_group_timeouts(index, consumer, problems);
        validate_mode(index, consumer, problems);
        self.validate_pipeline(index, consumer, problems);
        if config.partition_assignment_strategy.is_empty() {
            problems.push(Problem::new(
                key("config.partition_assignment_strategy"),
                "partition_assignment_strategy is empty; allowed: one or more of \"range\", \
                 \"roundrobin\", \"cooperative-sticky\"",
            ));
        }
        self.refuse_shared_instance_id(index, consumer, problems);
    }

    /// `processing`, `processing_ms` and `poll_timeout_ms` belong to a group's application.
    fn refuse_application_keys(
        &self,
        index: usize,
        consumer: &ConsumerWorkload,
        problems: &mut Vec<Problem>,
    ) {
        let set = [
            ("processing", consumer.processing.is_some()),
            ("processing_ms", consumer.processing_ms.is_some()),
            ("poll_timeout_ms", consumer.poll_timeout_ms.is_some()),
            ("output_topic", consumer.output_topic.is_some()),
            ("producer", consumer.producer.is_some()),
            (
                "config.group_instance_id",
                consumer.config.group_instance_id.is_some(),
            ),
        ];
        for (name, _) in set.iter().filter(|(_, set)| *set) {
            problems.push(Problem::new(
                format!("consumers[{index}].{name}"),
                format!(
                    "{name} applies to group consumers only and consumers[{index}] has no \
                     config.group_id; allowed: set config.group_id, or remove {name}"
                ),
            ));
        }
    }

    /// Kafka's client refuses a heartbeat interval not below the session timeout; the
    /// coordinator refuses a session timeout outside the brokers' bounds (the member would
    /// never join).
    fn validate_group_timeouts(
        &self,
        index: usize,
        consumer: &ConsumerWorkload,
        problems: &mut Vec<Problem>,
    ) {
        let config = &consumer.config;
        if config.heartbeat_interval_ms >= config.session_timeout_ms {
            problems.push(Problem::new(
                format!("consumers[{index}].config.heartbeat_interval_ms"),
                format!(
                    "heartbeat_interval_ms = {} is not below session_timeout_ms = {}; allowed: \
                     1..={}",
                    config.heartbeat_interval_ms,
                    config.session_timeout_ms,
                    config.session_timeout_ms.saturating_sub(1).max(1)
                ),
            ));
        }
        let (min_ms, max_ms) = (
            self.broker.group_min_session_timeout_ms,
            self.broker.group_max_session_timeout_ms,
        );
        if !(min_ms..=max_ms).contains(&config.session_timeout_ms) {
            problems.push(Problem::new(
                format!("consumers[{index}].config.session_timeout_ms"),
                format!(
                    "session_timeout_ms = {} is outside the brokers' \
                     group_min_session_timeout_ms..=group_max_session_timeout_ms, so the \
                     coordinator would refuse every join; allowed: {min_ms}..={max_ms}",
                    config.session_timeout_ms
                ),
            ));
        }
    }

    /// Two members of a group with one `group_instance_id` would fence each other forever.
    fn refuse_shared_instance_id(
        &self,
        index: usize,
        consumer: &ConsumerWorkload,
        problems: &mut Vec<Problem>,
    ) {
        let Some(instance) = consumer.config.group_instance_id.as_deref() else {
            return;
        };
        let earlier = self.consumers[..index].iter().position(|other| {
            other.config.group_id == consumer.config.group_id
                && other.config.group_instance_id.as_deref() == Some(instance)
        });
        if let Some(earlier) = earlier {
            problems.push(Problem::new(
                format!("consumers[{index}].config.group_instance_id"),
                format!(
                    "group_instance_id `{instance}` is already consumers[{earlier}]'s in the same \
                     group; allowed: an instance id unique within the group"
                ),
            ));
        }
    }

    /// `__consumer_offsets` must fit the cluster when a group needs it.
    pub(crate) fn validate_offsets_topic(&self, problems: &mut Vec<Problem>) {
        if !self.has_groups() {
            return;
        }
        let broker = &self.broker;
        refuse_zeros(
            problems,
            "broker.",
            &[
                (
                    "offsets_topic_num_partitions",
                    u64::from(broker.offsets_topic_num_partitions),
                ),
                (
                    "offsets_topic_replication_factor",
                    u64::from(broker.offsets_topic_replication_factor),
                ),
                (
                    "offsets_topic_min_insync_replicas",
                    u64::from(broker.offsets_topic_min_insync_replicas),
                ),
                (
                    "offsets_commit_timeout_ms",
                    broker.offsets_commit_timeout_ms,
                ),
            ],
        );
        if broker.offsets_topic_replication_factor > self.brokers {
            problems.push(Problem::new(
                "broker.offsets_topic_replication_factor",
                format!(
                    "offsets_topic_replication_factor = {} is more than brokers = {}, so \
                     __consumer_offsets cannot be created (Kafka's default is 3); allowed: 1..={}",
                    broker.offsets_topic_replication_factor,
                    self.brokers,
                    self.brokers.max(1)
                ),
            ));
        }
        if broker.offsets_topic_min_insync_replicas > broker.offsets_topic_replication_factor {
            problems.push(Problem::new(
                "broker.offsets_topic_min_insync_replicas",
                format!(
                    "offsets_topic_min_insync_replicas = {} is more than \
                     offsets_topic_replication_factor = {}; allowed: 1..={}",
                    broker.offsets_topic_min_insync_replicas,
                    broker.offsets_topic_replication_factor,
                    broker.offsets_topic_replication_factor.max(1)
                ),
            ));
        }
    }
}

/// A mode that commits by hand needs auto-commit off, and the auto-commit modes need it on.
fn validate_mode(index: usize, consumer: &ConsumerWorkload, problems: &mut Vec<Problem>) {
    let mode = consumer.processing_mode();
    let auto_commit = consumer.config.enable_auto_commit;
    let key = format!("consumers[{index}].config.enable_auto_commit");
    if !mode.uses_auto_commit() && auto_commit {
        problems.push(Problem::new(
            key,
            format!(
                "processing = \"{}\" commits by hand but enable_auto_commit is true (Kafka's \
                 default), which would also commit what was polled before it is processed; \
                 allowed: enable_auto_commit = false",
                mode.name()
            ),
        ));
    } else if mode.uses_auto_commit() && !auto_commit {
        let named = if consumer.processing.is_some() {
            format!("processing = \"{}\"", mode.name())
        } else {
            format!("processing (absent: \"{}\")", mode.name())
        };
        problems.push(Problem::new(
            key,
            format!(
                "{named} relies on auto-commit but enable_auto_commit = false, so nothing would \
                 ever be committed; allowed: enable_auto_commit = true, or processing = \"{}\" \
                 or \"{}\"",
                ProcessingMode::ProcessThenCommit.name(),
                ProcessingMode::CommitThenProcess.name()
            ),
        ));
    }
}

#[cfg(test)]
#[path = "scenario_validation_groups_tests.rs"]
mod tests;
