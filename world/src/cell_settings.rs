//! Delivery settings stated on the command line, applied to a scenario as a scenario file
//! would state them: one cell of `watermark matrix`, or `--set AXIS=VALUE` on `run`,
//! `sweep`, `explain` and `report` (which replays a cell). A stated setting wins over the
//! scenario's own value and over anything its swarm draws: the swarm's configuration space
//! is narrowed so no seed draws against it (a broker flush policy, or a retries or in-flight
//! value an idempotent producer cannot have).

use crate::configuration::{Range, Values};
use crate::processing::ProcessingMode;
use crate::scenario::{FlushPolicy, Scenario};
use serde::Serialize;
use std::fmt;
use watermark_broker_core::config::ProducerConfig;
use watermark_broker_core::protocol::{Acks, IsolationLevel};

/// A setting the matrix varies. The Kafka version is an axis of the matrix too, but it is
/// a profile (`--kafka`), not a setting, so it is not here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Axis {
    Acks,
    MinInsync,
    Unclean,
    Flush,
    Idempotence,
    Isolation,
    Commit,
}

impl Axis {
    pub const ALL: [Axis; 7] = [
        Axis::Acks,
        Axis::MinInsync,
        Axis::Unclean,
        Axis::Flush,
        Axis::Idempotence,
        Axis::Isolation,
        Axis::Commit,
    ];

    /// The name on the command line: `--min-insync`, `--set min-insync=2`.
    pub fn name(self) -> &'static str {
        match self {
            Axis::Acks => "acks",
            Axis::MinInsync => "min-insync",
            Axis::Unclean => "unclean",
            Axis::Flush => "flush",
            Axis::Idempotence => "idempotence",
            Axis::Isolation => "isolation",
            Axis::Commit => "commit",
        }
    }

    /// What the axis accepts, for error messages.
    pub fn allowed(self) -> &'static str {
        match self {
            Axis::Acks => "0, 1, all",
            Axis::MinInsync => "a number from 1 to the replication factor",
            Axis::Unclean | Axis::Idempotence => "off, on",
            Axis::Flush => "never, every-message, or a number of messages",
            Axis::Isolation => "read_uncommitted, read_committed",
            Axis::Commit => "commit-then-process, process-then-commit",
        }
    }

    /// Parses one value of this axis.
    pub fn parse(self, text: &str) -> Result<Setting, String> {
        let text = text.trim();
        let refuse = || {
            Err(format!(
                "unknown value `{text}` for {}; allowed: {}",
                self.name(),
                self.allowed()
            ))
        };
        let on_off = |text: &str| match text {
            "on" | "true" => Some(true),
            "off" | "false" => Some(false),
            _ => None,
        };
        let setting = match self {
            Axis::Acks => match text {
                "0" => Setting::Acks(Acks::None),
                "1" => Setting::Acks(Acks::Leader),
                "all" | "-1" => Setting::Acks(Acks::All),
                _ => return refuse(),
            },
            Axis::MinInsync => match text.parse::<u32>() {
                Ok(replicas) if replicas >= 1 => Setting::MinInsync(replicas),
                _ => return refuse(),
            },
            Axis::Unclean => match on_off(text) {
                Some(on) => Setting::Unclean(on),
                None => return refuse(),
            },
            Axis::Idempotence => match on_off(text) {
                Some(on) => Setting::Idempotence(on),
                None => return refuse(),
            },
            Axis::Flush => match text {
                "never" => Setting::Flush(FlushPolicy::Never),
                "every-message" => Setting::Flush(FlushPolicy::Every(1)),
                _ => match text.parse::<u64>() {
                    Ok(messages) if messages >= 1 => Setting::Flush(FlushPolicy::Every(messages)),
                    _ => return refuse(),
                },
            },
            Axis::Isolation => match text {
                "read_uncommitted" | "read-uncommitted" => {
                    Setting::Isolation(IsolationLevel::ReadUncommitted)
                }
                "read_committed" | "read-committed" => {
                    Setting::Isolation(IsolationLevel::ReadCommitted)
                }
                _ => return refuse(),
            },
            Axis::Commit => match text {
                "commit-then-process" => Setting::Commit(ProcessingMode::CommitThenProcess),
                "process-then-commit" => Setting::Commit(ProcessingMode::ProcessThenCommit),
                _ => return refuse(),
            },
        };
        Ok(setting)
    }

    /// Parses a comma list of values (`--acks 0,1,all`): at least one, no repeats.
    pub fn parse_list(self, text: &str) -> Result<Vec<Setting>, String> {
        if text.trim().is_empty() {
            return Err(format!(
                "--{}: an empty list; allowed: one or more of {}, separated by commas",
                self.name(),
                self.allowed()
            ));
        }
        let mut settings: Vec<Setting> = Vec::new();
        for value in text.split(',') {
            if value.trim().is_empty() {
                return Err(format!(
                    "--{}: an empty value in `{text}`; allowed: {}, separated by commas",
                    self.name(),
                    self.allowed()
                ));
            }
            let setting = self
                .parse(value)
                .map_err(|error| format!("--{}: {error}", self.name()))?;
            if settings.contains(&setting) {
                return Err(format!(
                    "--{}: `{}` is given twice in `{text}`",
                    self.name(),
                    value.trim()
                ));
            }
            settings.push(setting);
        }
        Ok(settings)
    }
}

/// One stated value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Setting {
    Acks(Acks),
    MinInsync(u32),
    Unclean(bool),
    Flush(FlushPolicy),
    Idempotence(bool),
    Isolation(IsolationLevel),
    Commit(ProcessingMode),
}

impl Setting {
    pub fn axis(self) -> Axis {
        match self {
            Setting::Acks(_) => Axis::Acks,
            Setting::MinInsync(_) => Axis::MinInsync,
            Setting::Unclean(_) => Axis::Unclean,
            Setting::Flush(_) => Axis::Flush,
            Setting::Idempotence(_) => Axis::Idempotence,
            Setting::Isolation(_) => Axis::Isolation,
            Setting::Commit(_) => Axis::Commit,
        }
    }

    /// The value as the command line writes it.
    pub fn value(self) -> String {
        let on_off = |on: bool| if on { "on" } else { "off" }.to_string();
        match self {
            Setting::Acks(Acks::None) => "0".to_string(),
            Setting::Acks(Acks::Leader) => "1".to_string(),
            Setting::Acks(Acks::All) => "all".to_string(),
            Setting::MinInsync(replicas) => replicas.to_string(),
            Setting::Unclean(on) | Setting::Idempotence(on) => on_off(on),
            Setting::Flush(FlushPolicy::Never) => "never".to_string(),
            Setting::Flush(FlushPolicy::Every(1)) => "every-message".to_string(),
            Setting::Flush(FlushPolicy::Every(messages)) => messages.to_string(),
            Setting::Isolation(IsolationLevel::ReadUncommitted) => "read_uncommitted".to_string(),
            Setting::Isolation(IsolationLevel::ReadCommitted) => "read_committed".to_string(),
            Setting::Commit(mode) => mode.name().to_string(),
        }
    }

    /// `--set` parses `AXIS=VALUE`.
    pub fn parse_assignment(text: &str) -> Result<Setting, String> {
        let names: Vec<&str> = Axis::ALL.iter().map(|axis| axis.name()).collect();
        let Some((name, value)) = text.split_once('=') else {
            return Err(format!(
                "--set `{text}`: expected AXIS=VALUE; axes: {}",
                names.join(", ")
            ));
        };
        let axis = Axis::ALL
            .into_iter()
            .find(|axis| axis.name() == name.trim())
            .ok_or_else(|| {
                format!(
                    "--set `{text}`: unknown axis `{}`; axes: {}",
                    name.trim(),
                    names.join(", ")
                )
            })?;
        axis.parse(value)
            .map_err(|error| format!("--set {}: {error}", text.trim()))
    }
}

impl fmt::Display for Setting {
    /// `acks=all`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}={}", self.axis().name(), self.value())
    }
}

/// Applies `settings` to `scenario`. The error says why the scenario cannot take a
/// setting (nothing for it to apply to, or a combination Kafka refuses).
pub fn apply_settings(scenario: &mut Scenario, settings: &[Setting]) -> Result<(), String> {
    for setting in settings {
        apply_setting(scenario, *setting)?;
    }
    Ok(())
}

fn apply_setting(scenario: &mut Scenario, setting: Setting) -> Result<(), String> {
    match setting {
        Setting::Acks(acks) => {
            for producer in &mut scenario.producers {
                producer.config.acks = acks;
            }
            if acks != Acks::All {
                if let Some(reason) = needs_idempotence(scenario) {
                    return Err(format!("{setting}: {reason}, which needs acks=all"));
                }
            }
        }
        Setting::MinInsync(replicas) => {
            for topic in &mut scenario.topics {
                if replicas > topic.replication_factor {
                    return Err(format!(
                        "{setting}: topic `{}` has only {} replicas",
                        topic.name, topic.replication_factor
                    ));
                }
                topic.min_insync_replicas = replicas;
            }
        }
        Setting::Unclean(on) => {
            for topic in &mut scenario.topics {
                topic.unclean_leader_election_enable = on;
            }
        }
        Setting::Flush(policy) => {
            // One policy for every broker and topic: the broker's default, no topic's own,
            // no per-broker override, and nothing for the swarm to draw.
            scenario.broker.log_flush_interval_messages = policy.interval_messages();
            for topic in &mut scenario.topics {
                topic.flush_interval_messages = None;
            }
            for broker in &mut scenario.broker_overrides {
                broker.flush = None;
            }
            if let Some(space) = swarm_space(scenario) {
                space.flush = None;
            }
        }
        Setting::Idempotence(on) => {
            if !on {
                if let Some(reason) = needs_idempotence(scenario) {
                    return Err(format!("{setting}: {reason}"));
                }
            }
            for producer in &mut scenario.producers {
                if on && producer.config.acks != Acks::All {
                    return Err(format!(
                        "{setting}: an idempotent producer needs acks=all (Kafka refuses \
                         enable.idempotence=true with acks={})",
                        acks_name(producer.config.acks)
                    ));
                }
                producer.config.enable_idempotence = Some(on);
                if on {
                    producer.config.retries = producer.config.retries.max(1);
                    producer.config.max_in_flight_requests_per_connection = producer
                        .config
                        .max_in_flight_requests_per_connection
                        .min(ProducerConfig::MAX_IN_FLIGHT_WITH_IDEMPOTENCE);
                }
            }
            if on {
                if let Some(space) = swarm_space(scenario) {
                    space.retries = space.retries.take().map(at_least_one);
                    space.max_in_flight_requests_per_connection = space
                        .max_in_flight_requests_per_connection
                        .take()
                        .map(|values| {
                            at_most(
                                values,
                                u64::from(ProducerConfig::MAX_IN_FLIGHT_WITH_IDEMPOTENCE),
                            )
                        });
                }
            }
        }
        Setting::Isolation(level) => {
            if scenario.consumers.is_empty() {
                return Err(format!("{setting}: the scenario has no consumer"));
            }
            for consumer in &mut scenario.consumers {
                consumer.config.isolation_level = level;
            }
        }
        Setting::Commit(mode) => {
            let mut applied = false;
            for consumer in &mut scenario.consumers {
                let commits_itself = matches!(
                    consumer.processing,
                    Some(
                        ProcessingMode::CommitThenProcess
                            | ProcessingMode::ProcessThenCommit
                            | ProcessingMode::AutoCommit
                            | ProcessingMode::AutoCommitWorker
                    )
                );
                if commits_itself {
                    consumer.processing = Some(mode);
                    consumer.config.enable_auto_commit = false;
                    applied = true;
                }
            }
            if !applied {
                return Err(format!(
                    "{setting}: the scenario has no group consumer that processes records and \
                     commits (safe-consumer-group-swarm has)"
                ));
            }
        }
    }
    Ok(())
}

fn acks_name(acks: Acks) -> &'static str {
    match acks {
        Acks::None => "0",
        Acks::Leader => "1",
        Acks::All => "all",
    }
}

/// Why the scenario needs idempotent producers: a transactional producer or a
/// consume-transform-produce pipeline.
fn needs_idempotence(scenario: &Scenario) -> Option<&'static str> {
    if scenario
        .producers
        .iter()
        .any(|producer| producer.config.transactional_id.is_some())
    {
        Some("the scenario's producer is transactional")
    } else {
        None
    }
}

fn swarm_space(scenario: &mut Scenario) -> Option<&mut crate::configuration::ConfigurationSpace> {
    scenario
        .faults
        .swarm
        .as_mut()
        .and_then(|swarm| swarm.configuration.as_mut())
}

/// The values without 0 (an idempotent producer must retry); `[1]` if nothing is left.
fn at_least_one(values: Values) -> Values {
    match values {
        Values::Range(range) => Values::Range(Range {
            min: range.min.max(1),
            max: range.max.max(1),
        }),
        Values::Choices(choices) => {
            let kept: Vec<u64> = choices.into_iter().filter(|value| *value >= 1).collect();
            Values::Choices(if kept.is_empty() { vec![1] } else { kept })
        }
    }
}

/// The values no higher than `highest`; `[highest]` if nothing is left.
fn at_most(values: Values, highest: u64) -> Values {
    match values {
        Values::Range(range) => Values::Range(Range {
            min: range.min.min(highest),
            max: range.max.min(highest),
        }),
        Values::Choices(choices) => {
            let kept: Vec<u64> = choices
                .into_iter()
                .filter(|value| *value <= highest)
                .collect();
            Values::Choices(if kept.is_empty() { vec![highest] } else { kept })
        }
    }
}

#[cfg(test)]
#[path = "cell_settings_tests.rs"]
mod tests;
