//! The run as a log ShiViz loads (`watermark report … --shiviz`): one line per node step and
//! per nemesis action, each with its host, a vector clock in ShiViz's JSON form and a text.
//! ShiViz reads a file whose first line is the regular expression that parses each event
//! and whose second line is the delimiter between executions (empty: one execution).
//!
//! The clocks follow the step records' message pairing: a node's own entry counts its
//! steps (1 at its first, up by exactly 1 at each, as ShiViz checks), and a step that
//! receives a message first merges the clock its sender had when sending it, so every
//! receive dominates its send. The nemesis is a host of its own: its actions are events in
//! the run, but no message carries them, so its lane has no arrows.

use super::space_time::drop_reason;
use crate::step_record::{NemesisAction, Record, SendOutcome, StepInput, StepRecord};
use crate::trace::describe_event;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// ShiViz's parser for one line: `b1 {"b1":3,"ctl":2} t=12ms recv m4 … | send m9 …`.
/// Named groups are written `(?<name>…)`, as ShiViz (JavaScript) reads them.
pub const SHIVIZ_REGEX: &str = r"(?<host>\S+) (?<clock>\{[^}]*\}) (?<event>.*)";

/// The nemesis's host name.
pub const NEMESIS_HOST: &str = "nemesis";

/// A vector clock: host → how many of its events happened before, its own included.
pub type VectorClock = BTreeMap<String, u64>;

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShivizEvent {
    pub host: String,
    pub clock: VectorClock,
    pub text: String,
}

/// The events of a run, in record order.
pub fn shiviz_events(records: &[Record]) -> Vec<ShivizEvent> {
    let mut clocks: BTreeMap<String, VectorClock> = BTreeMap::new();
    let mut send_clocks: BTreeMap<u64, VectorClock> = BTreeMap::new();
    let mut drops: BTreeMap<u64, &str> = BTreeMap::new();
    for record in records {
        if let Record::Dropped { id, reason, .. } = record {
            drops.insert(id.0, drop_reason(*reason));
        }
    }
    let mut events = Vec::new();
    for record in records {
        let (host, text, received) = match record {
            Record::Step(step) => (
                step.node.to_string(),
                step_text(step, &drops),
                match step.input {
                    StepInput::Message { id, .. } => send_clocks.remove(&id.0),
                    _ => None,
                },
            ),
            Record::Nemesis { time_ms, action } => (
                NEMESIS_HOST.to_string(),
                nemesis_text(*time_ms, action),
                None,
            ),
            Record::Dropped { .. } | Record::Finding { .. } => continue,
        };
        let clock = clocks.entry(host.clone()).or_default();
        if let Some(sent) = received {
            merge(clock, &sent);
        }
        *clock.entry(host.clone()).or_default() += 1;
        if let Record::Step(step) = record {
            for message in &step.sent {
                send_clocks.insert(message.id.0, clock.clone());
            }
        }
        events.push(ShivizEvent {
            host,
            clock: clock.clone(),
            text,
        });
    }
    events
}

/// Takes the larger count of every host.
fn merge(clock: &mut VectorClock, other: &VectorClock) {
    for (host, count) in other {
        let entry = clock.entry(host.clone()).or_default();
        *entry = (*entry).max(*count);
    }
}

/// What a step did: `recv` with the message id it received, a `send` per message, its
/// events and marks, separated by ` | `.
fn step_text(step: &StepRecord, drops: &BTreeMap<u64, &str>) -> String {
    let mut parts = vec![format!("t={}ms", step.time_ms)];
    parts.push(match &step.input {
        StepInput::Message { id, from, kind } => format!("recv {id} {kind} from {from}"),
        StepInput::Start { incarnation } => format!("start incarnation {incarnation}"),
        StepInput::Timers { fired } => {
            let names: Vec<String> = fired.iter().map(ToString::to_string).collect();
            format!("timers {}", names.join(","))
        }
        StepInput::ApplicationSend { value } => format!("application send v{value}"),
        StepInput::ApplicationStep => "application step".to_string(),
        StepInput::ConnectionClosed { peer, .. } => format!("connection closed by {peer}"),
        StepInput::ConnectionEstablished { peer, .. } => format!("connected to {peer}"),
        StepInput::ControlledShutdown => "controlled shutdown".to_string(),
        StepInput::DeleteRecords => "delete records".to_string(),
    });
    for message in &step.sent {
        let mut part = format!("send {} {} to {}", message.id, message.kind, message.to);
        match message.outcome {
            SendOutcome::Dropped { reason } => {
                let _ = write!(part, " (dropped: {})", drop_reason(reason));
            }
            SendOutcome::InFlight { .. } => {
                if let Some(reason) = drops.get(&message.id.0) {
                    let _ = write!(part, " (dropped later: {reason})");
                }
            }
        }
        parts.push(part);
    }
    for event in &step.events {
        let mut line = String::new();
        describe_event(&mut line, event);
        parts.push(line);
    }
    parts.extend(step.marks.iter().map(|mark| format!("mark {mark}")));
    one_line(&parts.join(" | "))
}

fn nemesis_text(time_ms: u64, action: &NemesisAction) -> String {
    one_line(&format!("t={time_ms}ms {action}"))
}

/// ShiViz's event group ends at a line break, so a text never holds one.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// The whole file: the parser line, the (empty) delimiter line, then one line per event.
pub fn shiviz_log(records: &[Record]) -> String {
    let mut out = String::new();
    out.push_str(SHIVIZ_REGEX);
    out.push_str("\n\n");
    for event in shiviz_events(records) {
        let clock = serde_json::to_string(&event.clock).unwrap_or_else(|error| {
            // A map of strings to numbers always encodes.
            panic!("a vector clock is always encodable as JSON: {error}")
        });
        let _ = writeln!(out, "{} {clock} {}", event.host, event.text);
    }
    out
}

#[cfg(test)]
#[path = "shiviz_tests.rs"]
mod tests;
