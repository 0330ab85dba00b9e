//! Which settings of a run differ from their defaults: the broker, per-broker overrides,
//! controller, topics, producers' and consumers' configuration, network, disk and phases,
//! and whatever the swarm drew. A reader of a run report then never needs the source to
//! know that `replica_lag_time_max_ms` was 5,000.
//!
//! Generic over serde: each section and its default are serialised to JSON values and
//! compared key by key, so a new setting is listed without code here.

use crate::scenario::{ConsumerWorkload, ProducerWorkload, Scenario};
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use watermark_broker_core::config::TopicConfig;

/// One setting that differs from its default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SettingChange {
    /// Where the setting lives, as a scenario file writes it: `broker.replica_lag_time_max_ms`,
    /// `topics[0].min_insync_replicas`, `producers[1].config.acks`.
    pub key: String,
    pub value: Value,
    /// `None`: the setting has no default (it is unset unless written).
    pub default: Option<Value>,
    /// The swarm drew this value for the seed (the file's value is another).
    pub drawn: bool,
}

impl fmt::Display for SettingChange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} = {} (default ",
            self.key,
            inline_toml(&self.value)
        )?;
        match &self.default {
            Some(default) => write!(formatter, "{}", inline_toml(default))?,
            None => formatter.write_str("unset")?,
        }
        if self.drawn {
            formatter.write_str(", drawn for this seed")?;
        }
        formatter.write_str(")")
    }
}

/// Every setting of `applied` (the scenario a run used, the swarm's draw applied) that
/// differs from its default, in the order a scenario file lists its sections; a setting
/// whose value differs from `written` (the scenario as its file wrote it) is marked drawn.
pub fn non_default_settings(applied: &Scenario, written: &Scenario) -> Vec<SettingChange> {
    let written_settings = settings(written);
    settings(applied)
        .into_iter()
        .filter_map(|(key, value, default)| {
            if value == default {
                return None;
            }
            let as_written = written_settings
                .iter()
                .find(|(written_key, _, _)| *written_key == key)
                .map(|(_, value, _)| value);
            Some(SettingChange {
                drawn: as_written != Some(&value),
                key,
                value: value?,
                default,
            })
        })
        .collect()
}

/// `(key, value, default)` for every leaf setting of the scenario; `None` where a side
/// leaves it unset.
type Setting = (String, Option<Value>, Option<Value>);

fn settings(scenario: &Scenario) -> Vec<Setting> {
    let defaults = Scenario::default();
    let mut out = Vec::new();
    let section = |out: &mut Vec<Setting>, key: &str, actual: Value, default: Value| {
        leaves(key, Some(&actual), Some(&default), out);
    };
    section(
        &mut out,
        "broker",
        json(&scenario.broker),
        json(&defaults.broker),
    );
    for (index, change) in scenario.broker_overrides.iter().enumerate() {
        // An override has no default: each of its settings is a change from unset.
        if let Value::Object(fields) = json(change) {
            for (name, value) in fields {
                out.push((
                    format!("broker_overrides[{index}].{name}"),
                    unset_if_null(Some(&value)),
                    None,
                ));
            }
        }
    }
    section(
        &mut out,
        "controller",
        json(&scenario.controller),
        json(&defaults.controller),
    );
    section(
        &mut out,
        "eligible_leader_replicas_enable",
        json(&scenario.eligible_leader_replicas_enable),
        json(&defaults.eligible_leader_replicas_enable),
    );
    let topic_default = json(&TopicConfig::default());
    for (index, topic) in scenario.topics.iter().enumerate() {
        section(
            &mut out,
            &format!("topics[{index}]"),
            json(topic),
            topic_default.clone(),
        );
    }
    let producer_default = json(&ProducerWorkload::default().config);
    for (index, producer) in scenario.producers.iter().enumerate() {
        section(
            &mut out,
            &format!("producers[{index}].config"),
            json(&producer.config),
            producer_default.clone(),
        );
    }
    let consumer_default = json(&ConsumerWorkload::default().config);
    for (index, consumer) in scenario.consumers.iter().enumerate() {
        section(
            &mut out,
            &format!("consumers[{index}].config"),
            json(&consumer.config),
            consumer_default.clone(),
        );
    }
    section(
        &mut out,
        "network",
        json(&scenario.network),
        json(&defaults.network),
    );
    section(&mut out, "disk", json(&scenario.disk), json(&defaults.disk));
    section(
        &mut out,
        "phases",
        json(&scenario.phases),
        json(&defaults.phases),
    );
    out
}

fn json(value: &impl Serialize) -> Value {
    // Plain configuration data always serialises; `Null` would only hide a setting.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Walks two values side by side down to their leaves (anything but a table), pushing one
/// entry per leaf key. A `null` or missing leaf is unset.
fn leaves(key: &str, actual: Option<&Value>, default: Option<&Value>, out: &mut Vec<Setting>) {
    match (actual, default) {
        (Some(Value::Object(actual_fields)), Some(Value::Object(default_fields))) => {
            let mut names: Vec<&String> =
                actual_fields.keys().chain(default_fields.keys()).collect();
            names.sort();
            names.dedup();
            for name in names {
                leaves(
                    &format!("{key}.{name}"),
                    actual_fields.get(name),
                    default_fields.get(name),
                    out,
                );
            }
        }
        _ => out.push((
            key.to_string(),
            unset_if_null(actual),
            unset_if_null(default),
        )),
    }
}

fn unset_if_null(value: Option<&Value>) -> Option<Value> {
    value.filter(|value| !value.is_null()).cloned()
}

/// A JSON value in TOML's inline syntax (`{ every = 1 }`, `"never"`, `[1, 2]`).
pub fn inline_toml(value: &Value) -> String {
    match value {
        Value::Object(fields) => {
            let parts: Vec<String> = fields
                .iter()
                .map(|(key, value)| format!("{key} = {}", inline_toml(value)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(inline_toml).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{BrokerOverride, FlushPolicy};
    use watermark_broker_core::ids::BrokerId;
    use watermark_broker_core::protocol::Acks;

    fn texts(changes: &[SettingChange]) -> Vec<String> {
        changes.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_default_scenario_changes_nothing() {
        let scenario = Scenario::default();
        assert_eq!(non_default_settings(&scenario, &scenario), vec![]);
    }

    #[test]
    fn each_changed_setting_is_listed_with_its_default() {
        let mut scenario = Scenario::default();
        scenario.broker.replica_lag_time_max_ms = 5_000;
        scenario.broker.log_flush_interval_messages = Some(1);
        scenario.producers[0].config.acks = Acks::Leader;
        scenario.network.latency_ms_max = 40;
        scenario.eligible_leader_replicas_enable = false;
        let listed = texts(&non_default_settings(&scenario, &scenario));
        for expected in [
            "broker.replica_lag_time_max_ms = 5000 (default 30000)",
            "broker.log_flush_interval_messages = 1 (default unset)",
            "eligible_leader_replicas_enable = false (default true)",
            "network.latency_ms_max = 40 (default 5)",
        ] {
            assert!(listed.contains(&expected.to_string()), "{listed:#?}");
        }
        assert!(
            listed
                .iter()
                .any(|line| line.starts_with("producers[0].config.acks = ")),
            "{listed:#?}"
        );
        assert_eq!(listed.len(), 5, "{listed:#?}");
    }

    #[test]
    fn a_broker_override_lists_each_of_its_settings_and_a_draw_is_marked() {
        let written = Scenario::default();
        let mut applied = written.clone();
        applied.broker_overrides.push(BrokerOverride {
            broker_rack: None,
            broker: BrokerId(2),
            flush: Some(FlushPolicy::Every(1)),
            replica_fetch_max_records: None,
        });
        let listed = texts(&non_default_settings(&applied, &written));
        assert_eq!(
            listed,
            vec![
                "broker_overrides[0].broker = 2 (default unset, drawn for this seed)",
                "broker_overrides[0].flush = { every = 1 } (default unset, drawn for this seed)",
            ]
        );
    }
}
