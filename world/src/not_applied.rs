//! What the nemesis did not do: a fault that could not apply (a restart of a node that is
//! up, a cut of a link already cut, a target that named no node), a trigger that never
//! fired in the safety phase, a trigger's fault the safety phase ended before. Each is a
//! typed record with the fault as written, when, where it came from and why, so a run
//! never reports PASS for a demonstration whose fault was silently skipped.
//!
//! A fault counts as applied when it reached at least one of the nodes (or links) it
//! names: "crash all brokers" with one already down crashed the others, which is what it
//! says. It is not applied when it reached none of them.

use crate::fault::Fault;
use serde::Serialize;
use std::fmt;
use watermark_broker_core::error::ErrorCode;
use watermark_broker_core::ids::NodeId;

/// Where a fault came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultSource {
    /// `[[faults.scripted]]`: a fault at a fixed time.
    Scripted,
    /// `[[faults.triggers]]`: a trigger, or a fault in its `then` or `later`.
    Trigger,
    /// Drawn by `[faults.swarm]`: optional by construction (a random schedule often aims at
    /// a node that is already down).
    Swarm,
}

impl fmt::Display for FaultSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            FaultSource::Scripted => "scripted",
            FaultSource::Trigger => "trigger",
            FaultSource::Swarm => "swarm",
        })
    }
}

/// The state of a node that made it refuse a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeState {
    /// Up: a restart has nothing to start.
    Up,
    /// Down (crashed, powered off or shut down): nothing to crash, pause or shut down.
    Down,
    /// Already paused.
    Paused,
    /// Not paused: nothing to resume.
    NotPaused,
    /// Not a broker: only brokers shut down gracefully.
    NotABroker,
    /// Not a consumer: only a consumer's application processes records.
    NotAConsumer,
    /// A consumer without an application (assign mode): it processes nothing.
    NoApplication,
    /// The broker answered a DeleteRecords with this error (not the leader any more, or an
    /// offset past its high watermark). Last: the trace hash encodes a variant's index.
    RefusedDeleteRecords(ErrorCode),
}

impl NodeState {
    fn words(self) -> &'static str {
        match self {
            NodeState::Up => "already up",
            NodeState::Down => "down",
            NodeState::Paused => "already paused",
            NodeState::NotPaused => "not paused",
            NodeState::NotABroker => "not a broker",
            NodeState::NotAConsumer => "not a consumer",
            NodeState::NoApplication => "without an application to slow",
            NodeState::RefusedDeleteRecords(_) => "refusing the DeleteRecords",
        }
    }
}

/// Why a fault or trigger did not apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum NotAppliedReason {
    /// The target named no node then (no leader, no newest ISR member, a `struck` label
    /// whose fault hit nothing).
    NoTarget,
    /// Every node it named refused it, for the state each was in.
    NodesRefused { nodes: Vec<(NodeId, NodeState)> },
    /// Every link it would cut was cut already.
    LinksAlreadyCut,
    /// It names no link (a node cut from itself, or a side that is every node).
    NoLink,
    /// The trigger's condition never happened in the safety phase.
    TriggerNeverFired,
    /// The trigger fired, but the safety phase ended before this fault was due.
    SafetyPhaseEnded { due_ms: u64 },
}

impl NotAppliedReason {
    /// The reason without its details: the same for every run that failed the same way, so
    /// sweeps can group on it.
    pub fn kind(&self) -> String {
        match self {
            NotAppliedReason::NoTarget => "its target named no node".to_string(),
            NotAppliedReason::NodesRefused { nodes } => {
                let state = nodes.first().map_or(NodeState::Up, |(_, state)| *state);
                format!("the node was {}", state.words())
            }
            NotAppliedReason::LinksAlreadyCut => "its links were already cut".to_string(),
            NotAppliedReason::NoLink => "it names no link".to_string(),
            NotAppliedReason::TriggerNeverFired => "the trigger never fired".to_string(),
            NotAppliedReason::SafetyPhaseEnded { .. } => {
                "the safety phase ended before it was due".to_string()
            }
        }
    }
}

impl fmt::Display for NotAppliedReason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotAppliedReason::NoTarget => formatter.write_str("its target named no node then"),
            NotAppliedReason::NodesRefused { nodes } => {
                let parts: Vec<String> = nodes
                    .iter()
                    .map(|(node, state)| format!("{node} was {}", state.words()))
                    .collect();
                formatter.write_str(&parts.join(", "))
            }
            NotAppliedReason::LinksAlreadyCut => {
                formatter.write_str("every link it cuts was already cut")
            }
            NotAppliedReason::NoLink => formatter.write_str("it names no link to cut"),
            NotAppliedReason::TriggerNeverFired => {
                formatter.write_str("its condition never happened in the safety phase")
            }
            NotAppliedReason::SafetyPhaseEnded { due_ms } => write!(
                formatter,
                "the trigger fired, but the safety phase ended before t={due_ms}ms when it was due"
            ),
        }
    }
}

/// A fault or trigger the nemesis did not apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotApplied {
    /// When it was due (or, for a trigger that never fired, when the safety phase ended).
    pub time_ms: u64,
    pub source: FaultSource,
    /// The fault as written; `None` for a trigger that never fired.
    pub fault: Option<Fault>,
    /// The trigger's condition, for a trigger or one of its faults.
    pub trigger: Option<String>,
    pub reason: NotAppliedReason,
    /// Marked `optional = true` (or drawn by the swarm): listed, but the run does not fail.
    pub optional: bool,
}

impl NotApplied {
    /// What did not apply, as a short phrase: `crash target = { broker = 2 }`, or
    /// `trigger leader-changed orders-0`.
    pub fn what(&self) -> String {
        match (&self.fault, &self.trigger) {
            (Some(fault), Some(trigger)) => {
                format!("{} (of trigger {trigger})", describe_fault(fault))
            }
            (Some(fault), None) => describe_fault(fault),
            (None, Some(trigger)) => format!("trigger {trigger}"),
            (None, None) => "nothing".to_string(),
        }
    }

    /// The group a sweep counts it under: the fault's kind and the reason's kind.
    pub fn kind(&self) -> String {
        match &self.fault {
            Some(fault) => format!("{}: {}", fault_name(fault), self.reason.kind()),
            None => self.reason.kind(),
        }
    }
}

impl fmt::Display for NotApplied {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} at t={}ms ({}{}): {}",
            self.what(),
            self.time_ms,
            self.source,
            if self.optional { ", optional" } else { "" },
            self.reason
        )
    }
}

/// As JSON: the typed fields, and the reason in words (`reason_text`) beside its typed form.
impl Serialize for NotApplied {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut fields = serializer.serialize_struct("NotApplied", 7)?;
        fields.serialize_field("time_ms", &self.time_ms)?;
        fields.serialize_field("source", &self.source)?;
        fields.serialize_field("fault", &self.fault)?;
        fields.serialize_field("trigger", &self.trigger)?;
        fields.serialize_field("reason", &self.reason)?;
        fields.serialize_field("reason_text", &self.reason.to_string())?;
        fields.serialize_field("optional", &self.optional)?;
        fields.end()
    }
}

/// The fault's kind as a scenario file spells it (`crash`, `cut-one-way`), read from its
/// serde form so the file's vocabulary and this text cannot drift apart.
pub fn fault_name(fault: &Fault) -> String {
    match serde_json::to_value(fault) {
        Ok(serde_json::Value::Object(fields)) => match fields.get("fault") {
            Some(serde_json::Value::String(name)) => name.clone(),
            _ => format!("{fault:?}"),
        },
        _ => format!("{fault:?}"),
    }
}

/// A fault as a scenario file writes it, without the `fault =` key:
/// `crash target = { broker = 2 }`.
pub fn describe_fault(fault: &Fault) -> String {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(fault) else {
        return format!("{fault:?}");
    };
    let settings: Vec<String> = fields
        .iter()
        .filter(|(key, _)| key.as_str() != "fault")
        .map(|(key, value)| format!("{key} = {}", crate::settings_diff::inline_toml(value)))
        .collect();
    let name = fault_name(fault);
    if settings.is_empty() {
        name
    } else {
        format!("{name} {}", settings.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::Target;
    use watermark_broker_core::ids::BrokerId;

    #[test]
    fn a_fault_reads_as_the_file_writes_it() {
        let crash = Fault::Crash {
            target: Target::Broker(BrokerId(2)),
        };
        assert_eq!(describe_fault(&crash), "crash target = { broker = 2 }");
        assert_eq!(describe_fault(&Fault::HealAll), "heal-all");
        assert_eq!(
            describe_fault(&Fault::Resume {
                target: Target::Controller
            }),
            "resume target = \"controller\""
        );
    }

    #[test]
    fn a_record_reads_as_a_sentence_and_groups_by_fault_and_reason_kind() {
        let record = NotApplied {
            time_ms: 5_000,
            source: FaultSource::Scripted,
            fault: Some(Fault::Restart {
                target: Target::Broker(BrokerId(2)),
            }),
            trigger: None,
            reason: NotAppliedReason::NodesRefused {
                nodes: vec![(NodeId::Broker(BrokerId(2)), NodeState::Up)],
            },
            optional: false,
        };
        assert_eq!(
            record.to_string(),
            "restart target = { broker = 2 } at t=5000ms (scripted): b2 was already up"
        );
        assert_eq!(record.kind(), "restart: the node was already up");
        let never = NotApplied {
            fault: None,
            trigger: Some("leader-changed 0".to_string()),
            reason: NotAppliedReason::TriggerNeverFired,
            optional: true,
            ..record
        };
        assert_eq!(never.kind(), "the trigger never fired");
        assert!(
            never.to_string().contains("(scripted, optional)"),
            "{never}"
        );
    }
}
