//! The fault schedule's problems: targets that cannot exist (broker 7 of 3, producer 3 of 1,
//! partition 5 of a one-partition topic, an undeclared topic), faults and triggers that fall
//! after the safety phase, trigger conditions no run can meet, sizes of zero and
//! `event-source` where no event fired. Each problem names its key
//! (`faults.triggers[1].then[0].target`).

use crate::fault::{Condition, Fault, FaultKind, PartitionRef, ScriptedFault, Swarm, Target};
use crate::scenario::Scenario;
use crate::scenario_validation::{missing_partition, refuse_zeros, undeclared_topic, Problem};
use crate::world::default_transactional_id;
use std::collections::BTreeSet;
use watermark_broker_core::config::TopicConfig;
use watermark_broker_core::ids::Offset;

/// Every problem of `scenario.faults`.
pub(crate) fn validate_faults(scenario: &Scenario, problems: &mut Vec<Problem>) {
    let check = Check { scenario };
    let safety_ms = scenario.phases.safety_ms;
    for (index, scripted) in scenario.faults.scripted.iter().enumerate() {
        let key = format!("faults.scripted[{index}]");
        if scripted.at_ms >= safety_ms {
            problems.push(Problem::new(
                format!("{key}.at_ms"),
                format!(
                    "at_ms = {} is at or after the end of the safety phase (phases.safety_ms = \
                     {safety_ms}), when every fault is healed; allowed: 0..={}",
                    scripted.at_ms,
                    safety_ms.saturating_sub(1)
                ),
            ));
        }
        check.fault(&key, &scripted.fault, false, problems);
    }
    for (index, trigger) in scenario.faults.triggers.iter().enumerate() {
        let key = format!("faults.triggers[{index}]");
        if trigger.after_ms >= safety_ms {
            problems.push(Problem::new(
                format!("{key}.after_ms"),
                format!(
                    "after_ms = {} arms the trigger at or after the end of the safety phase \
                     (phases.safety_ms = {safety_ms}); allowed: 0..={}",
                    trigger.after_ms,
                    safety_ms.saturating_sub(1)
                ),
            ));
        }
        if trigger.then.is_empty() && trigger.later.is_empty() {
            problems.push(Problem::new(
                format!("{key}.then"),
                "the trigger applies no fault; allowed: at least one fault in `then` or `later`",
            ));
        }
        check.condition(&key, &trigger.condition, problems);
        for (position, fault) in trigger.then.iter().enumerate() {
            check.fault(&format!("{key}.then[{position}]"), fault, true, problems);
        }
        for (position, later) in trigger.later.iter().enumerate() {
            let ScriptedFault { fault, .. } = later;
            check.fault(&format!("{key}.later[{position}]"), fault, true, problems);
        }
    }
    if let Some(swarm) = &scenario.faults.swarm {
        if swarm.kinds.is_empty() {
            problems.push(Problem::new(
                "faults.swarm.kinds",
                "faults.swarm.kinds is empty; allowed: a non-empty list of fault kinds",
            ));
        }
        refuse_group_kinds_without_groups(scenario, swarm, problems);
        refuse_zeros(
            problems,
            "faults.swarm.",
            &[
                ("interval_ms_min", swarm.interval_ms_min),
                ("duration_ms_min", swarm.duration_ms_min),
            ],
        );
        for (low, high, name) in [
            (swarm.interval_ms_min, swarm.interval_ms_max, "interval_ms"),
            (swarm.duration_ms_min, swarm.duration_ms_max, "duration_ms"),
        ] {
            if low > high {
                problems.push(Problem::new(
                    format!("faults.swarm.{name}_min"),
                    format!(
                        "faults.swarm needs {name}_min <= {name}_max, but {low} > {high}; \
                         allowed: 1..={high}"
                    ),
                ));
            }
        }
        if let Some(space) = &swarm.configuration {
            crate::configuration::validate(space, scenario, problems);
        }
    }
    validate_labels(scenario, problems);
}

/// A swarm listing `slow-processing` in a scenario with no consumer group would never draw
/// it. The default list (every kind) is exempt: it means "whatever applies".
fn refuse_group_kinds_without_groups(
    scenario: &Scenario,
    swarm: &Swarm,
    problems: &mut Vec<Problem>,
) {
    if scenario.has_groups() || swarm.kinds == FaultKind::ALL {
        return;
    }
    for kind in swarm.kinds.iter().filter(|kind| kind.needs_groups()) {
        let allowed: Vec<&str> = FaultKind::ALL
            .iter()
            .filter(|kind| !kind.needs_groups())
            .map(|kind| kind.name())
            .collect();
        problems.push(Problem::new(
            "faults.swarm.kinds",
            format!(
                "faults.swarm.kinds has {}, which hits group members, but no consumer has a \
                 group_id; allowed without groups: {}",
                kind.name(),
                allowed.join(", ")
            ),
        ));
    }
}

struct Check<'a> {
    scenario: &'a Scenario,
}

impl Check<'_> {
    /// A fault's sizes, then its targets; `in_trigger`: an event is there to name its source.
    fn fault(&self, key: &str, fault: &Fault, in_trigger: bool, problems: &mut Vec<Problem>) {
        match fault {
            Fault::PartitionAway { side } if side.is_empty() => {
                problems.push(Problem::new(
                    format!("{key}.side"),
                    "partition-away with an empty side cuts nothing; allowed: a list of \
                     one or more targets",
                ));
            }
            Fault::SlowLinks { latency_ms, .. } => {
                refuse_zeros(problems, &format!("{key}."), &[("latency_ms", *latency_ms)]);
            }
            Fault::HoldRequests { delay_ms, .. } => {
                refuse_zeros(problems, &format!("{key}."), &[("delay_ms", *delay_ms)]);
            }
            Fault::SlowDisk {
                fsync_latency_ms, ..
            } => {
                refuse_zeros(
                    problems,
                    &format!("{key}."),
                    &[("fsync_latency_ms", *fsync_latency_ms)],
                );
            }
            Fault::SlowProcessing {
                target,
                processing_ms,
                duration_ms,
            } => {
                refuse_zeros(
                    problems,
                    &format!("{key}."),
                    &[
                        ("processing_ms", *processing_ms),
                        ("duration_ms", *duration_ms),
                    ],
                );
                if !matches!(
                    target,
                    Target::Consumer(_) | Target::EventSource | Target::Struck(_)
                ) {
                    problems.push(Problem::new(
                        format!("{key}.target"),
                        "slow-processing slows a consumer's application; allowed: \
                         { consumer = 0 }, \"event-source\" or { struck = \"label\" }",
                    ));
                }
            }
            Fault::DeleteRecords {
                partition,
                before_offset,
            } => {
                if let Err(message) = self.partition_problem(*partition) {
                    problems.push(Problem::new(format!("{key}.partition"), message));
                }
                if *before_offset == Some(Offset(0)) {
                    problems.push(Problem::new(
                        format!("{key}.before_offset"),
                        "delete-records before offset 0 deletes nothing; allowed: an offset of \
                         1 or more, or leave it out to delete up to the high watermark",
                    ));
                }
            }
            _ => {}
        }
        for (name, target) in fault.named_targets() {
            self.target(&format!("{key}.{name}"), target, in_trigger, problems);
        }
    }

    fn target(&self, key: &str, target: &Target, in_trigger: bool, problems: &mut Vec<Problem>) {
        let brokers = self.scenario.brokers;
        let message = match target {
            Target::Broker(broker) if broker.0 == 0 || broker.0 > brokers => Some(format!(
                "broker {} does not exist: brokers are numbered from 1; allowed: 1..={brokers}",
                broker.0
            )),
            Target::Leader(partition)
            | Target::Followers(partition)
            | Target::NewestIsrMember(partition)
            | Target::LaggingFollower(partition) => self.partition_problem(*partition).err(),
            Target::EventSource if !in_trigger => Some(
                "`event-source` names the node whose event fired a trigger, and no event fires a \
                 scripted fault; allowed: event-source only in a trigger's `then` or `later`"
                    .to_string(),
            ),
            Target::Producer(index) => {
                client_problem("producer", *index, self.scenario.producers.len())
            }
            Target::Consumer(index) => {
                client_problem("consumer", *index, self.scenario.consumers.len())
            }
            Target::Coordinator(group) => self.group_problem(group),
            Target::TransactionCoordinator(id) => self.transactional_id_problem(id),
            _ => None,
        };
        if let Some(message) = message {
            problems.push(Problem::new(key, message));
        }
    }

    /// The topic a partition reference names, or why it names nothing.
    fn partition_problem(&self, partition: PartitionRef) -> Result<&TopicConfig, String> {
        let (topic_name, index) = match partition {
            PartitionRef::Index(index) => (self.scenario.default_topic(), index),
            PartitionRef::Named { topic, partition } => (topic, partition),
        };
        let topic = self
            .scenario
            .topic_config(topic_name)
            .ok_or_else(|| undeclared_topic(self.scenario, topic_name))?;
        if index.0 >= topic.partitions {
            return Err(missing_partition(topic, index.0));
        }
        Ok(topic)
    }

    /// Why `group` names no consumer group of the scenario, if it does not.
    fn group_problem(&self, group: &str) -> Option<String> {
        let groups: BTreeSet<&str> = self
            .scenario
            .consumers
            .iter()
            .filter_map(|consumer| consumer.config.group_id.as_deref())
            .collect();
        if groups.contains(group) {
            return None;
        }
        Some(if groups.is_empty() {
            format!("group \"{group}\" does not exist: no consumer of the scenario has a group_id")
        } else {
            let listed: Vec<String> = groups.iter().map(|name| format!("\"{name}\"")).collect();
            format!(
                "group \"{group}\" does not exist: no consumer has group_id = \"{group}\"; \
                 allowed: {}",
                listed.join(", ")
            )
        })
    }

    /// Why `id` is the transactional id of no client of the scenario, if it is not: a
    /// producer's `config.transactional_id`, or a consume-transform-produce consumer's
    /// (its producer's, or the default one per consumer).
    fn transactional_id_problem(&self, id: &str) -> Option<String> {
        let scenario = self.scenario;
        let producers = scenario
            .producers
            .iter()
            .filter_map(|producer| producer.config.transactional_id.clone());
        let pipelines = scenario
            .consumers
            .iter()
            .enumerate()
            .filter(|(_, consumer)| consumer.is_pipeline())
            .map(|(index, consumer)| {
                consumer
                    .producer
                    .as_ref()
                    .and_then(|producer| producer.transactional_id.clone())
                    .unwrap_or_else(|| {
                        let group = consumer.group().unwrap_or_default();
                        default_transactional_id(&group.0, index)
                    })
            });
        let known: BTreeSet<String> = producers.chain(pipelines).collect();
        if known.contains(id) {
            return None;
        }
        let listed: Vec<String> = known.iter().map(|id| format!("\"{id}\"")).collect();
        Some(if listed.is_empty() {
            format!(
                "transactional id \"{id}\" does not exist: no producer of the scenario is \
                 transactional; allowed: a producer's config.transactional_id or a \
                 consume-transform-produce consumer's"
            )
        } else {
            format!(
                "transactional id \"{id}\" does not exist; allowed: {}",
                listed.join(", ")
            )
        })
    }

    /// The group conditions: a consumer in a group, a group of the scenario.
    fn group_condition(&self, key: &str, condition: &Condition, problems: &mut Vec<Problem>) {
        let problem = match condition {
            Condition::MemberCommitted { consumer } => {
                let count = self.scenario.consumers.len();
                client_problem("consumer", *consumer, count)
                    .or_else(|| {
                        let config = &self.scenario.consumers[*consumer as usize].config;
                        config.group_id.is_none().then(|| {
                            format!(
                                "consumer {consumer} never commits: it has no group_id; \
                                 allowed: a consumer with a group_id"
                            )
                        })
                    })
                    .map(|message| ("consumer", message))
            }
            Condition::RebalanceStarted { group } => {
                self.group_problem(group).map(|message| ("group", message))
            }
            _ => None,
        };
        if let Some((name, message)) = problem {
            problems.push(Problem::new(format!("{key}.{name}"), message));
        }
    }

    fn condition(&self, key: &str, condition: &Condition, problems: &mut Vec<Problem>) {
        let partition = match condition {
            Condition::LeaderAcked { partition, .. }
            | Condition::IsrShrunkTo { partition, .. }
            | Condition::HighWatermarkReached { partition, .. }
            | Condition::LeaderChanged { partition }
            | Condition::IsrExpanded { partition }
            | Condition::FetchTruncated { partition } => *partition,
            Condition::MemberCommitted { .. } | Condition::RebalanceStarted { .. } => {
                return self.group_condition(key, condition, problems);
            }
            Condition::TransactionState {
                transactional_id, ..
            } => {
                if let Some(message) = self.transactional_id_problem(transactional_id) {
                    problems.push(Problem::new(format!("{key}.transactional_id"), message));
                }
                return;
            }
        };
        let topic = match self.partition_problem(partition) {
            Ok(topic) => topic,
            Err(message) => {
                problems.push(Problem::new(format!("{key}.partition"), message));
                return;
            }
        };
        let sent = self.records_sent_to(topic);
        let problem = match condition {
            Condition::LeaderAcked {
                offset_at_least, ..
            } if offset_at_least.0 >= sent => Some((
                "offset_at_least",
                format!(
                    "offset_at_least = {} is never acked: the producers send {sent} record(s) to \
                     topic `{}`, at offsets from 0; allowed: 0..={}",
                    offset_at_least.0,
                    topic.name,
                    sent.saturating_sub(1)
                ),
            )),
            Condition::HighWatermarkReached { offset, .. } if offset.0 > sent => Some((
                "offset",
                format!(
                    "offset = {} is never reached: the producers send {sent} record(s) to topic \
                     `{}`, so the high watermark stops at {sent} at most; allowed: 0..={sent}",
                    offset.0, topic.name
                ),
            )),
            Condition::IsrShrunkTo { size, .. }
                if *size == 0 || *size >= topic.replication_factor as usize =>
            {
                Some(("size", isr_size_problem(*size, topic)))
            }
            _ => None,
        };
        if let Some((name, message)) = problem {
            problems.push(Problem::new(format!("{key}.{name}"), message));
        }
    }

    /// How many records the producers send to `topic`, an upper bound on every partition's
    /// offsets (retried duplicates aside, which a demonstration cannot count on).
    fn records_sent_to(&self, topic: &TopicConfig) -> u64 {
        (0..self.scenario.producers.len())
            .filter(|index| self.scenario.producer_topic(*index) == topic.name)
            .map(|index| self.scenario.producers[index].records)
            .sum()
    }
}

fn isr_size_problem(size: usize, topic: &TopicConfig) -> String {
    if topic.replication_factor <= 1 {
        return format!(
            "size = {size} is never reached: topic `{}` has replication_factor = {}, so its \
             ISR never shrinks; allowed: a topic with replication_factor of 2 or more",
            topic.name, topic.replication_factor
        );
    }
    format!(
        "size = {size} is never reached: an ISR of topic `{}` (replication_factor = {}) shrinks \
         to between 1 and {} replicas; allowed: 1..={}",
        topic.name,
        topic.replication_factor,
        topic.replication_factor - 1,
        topic.replication_factor - 1
    )
}

/// "producer 3 does not exist: producers are numbered from 0; allowed: 0..=0".
fn client_problem(kind: &str, index: u32, count: usize) -> Option<String> {
    if (index as usize) < count {
        return None;
    }
    Some(if count == 0 {
        format!("{kind} {index} does not exist: the scenario has no {kind}s")
    } else {
        format!(
            "{kind} {index} does not exist: {kind}s are numbered from 0; allowed: 0..={}",
            count - 1
        )
    })
}

/// Refuses a `struck` target naming a label no scripted fault or trigger defines.
fn validate_labels(scenario: &Scenario, problems: &mut Vec<Problem>) {
    let faults = &scenario.faults;
    let defined: BTreeSet<&str> = faults
        .scripted
        .iter()
        .filter_map(|fault| fault.label.as_deref())
        .chain(
            faults
                .triggers
                .iter()
                .filter_map(|trigger| trigger.label.as_deref()),
        )
        .collect();
    let scripted = faults
        .scripted
        .iter()
        .enumerate()
        .map(|(index, scripted)| (format!("faults.scripted[{index}]"), &scripted.fault));
    let triggered = faults
        .triggers
        .iter()
        .enumerate()
        .flat_map(|(index, trigger)| {
            let then = trigger
                .then
                .iter()
                .enumerate()
                .map(move |(position, fault)| {
                    (format!("faults.triggers[{index}].then[{position}]"), fault)
                });
            let later = trigger
                .later
                .iter()
                .enumerate()
                .map(move |(position, later)| {
                    (
                        format!("faults.triggers[{index}].later[{position}]"),
                        &later.fault,
                    )
                });
            then.chain(later)
        });
    for (key, fault) in scripted.chain(triggered) {
        for target in fault.targets() {
            let Target::Struck(label) = target else {
                continue;
            };
            if !defined.contains(label.as_str()) {
                let suggestion =
                    watermark_broker_core::spelling::closest(label, defined.iter().copied())
                        .map(|close| format!("; did you mean `{close}`?"))
                        .unwrap_or_default();
                problems.push(Problem::new(
                    key.clone(),
                    format!(
                        "a fault targets struck = \"{label}\", but no scripted fault or trigger has \
                         label = \"{label}\"{suggestion}"
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
#[path = "fault_validation_tests.rs"]
mod tests;
