//! The space-time diagram's data: a lane per node, a step per record, an arrow per message
//! from its send to its delivery or its drop (paired by [`MessageId`]), and the nemesis's
//! faults as spans on the lanes they hit. Everything comes from the step records.

use super::report_data::{FaultView, MarkerView, MessageOutcome, MessageView, StepKind, StepView};
use crate::step_record::{
    node_set, DropReason, MessageId, NemesisAction, Record, SendOutcome, StepInput, StepRecord,
};
use crate::trace::describe_event;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::NodeId;

/// The diagram's parts, before they join the rest of the report.
#[derive(Clone, Debug, Default)]
pub struct SpaceTime {
    pub lanes: Vec<String>,
    pub steps: Vec<StepView>,
    pub messages: Vec<MessageView>,
    pub faults: Vec<FaultView>,
    pub markers: Vec<MarkerView>,
}

impl SpaceTime {
    /// Builds the diagram of a run that ended at `end_ms`.
    pub fn build(records: &[Record], end_ms: u64) -> SpaceTime {
        let lane_of = lanes(records);
        let mut builder = Builder {
            lane_of: &lane_of,
            space_time: SpaceTime {
                lanes: lane_of.keys().map(ToString::to_string).collect(),
                ..SpaceTime::default()
            },
            message_index: BTreeMap::new(),
            open_faults: BTreeMap::new(),
        };
        for (index, record) in records.iter().enumerate() {
            builder.record(index, record);
        }
        builder.close_faults(|_| true, end_ms);
        builder
            .space_time
            .faults
            .sort_by_key(|fault| (fault.start_step, fault.lane));
        builder.space_time
    }

    /// The last step at or before `time_ms` (the first step when none is).
    pub fn step_at(&self, time_ms: u64) -> usize {
        self.steps
            .partition_point(|step| step.time_ms <= time_ms)
            .saturating_sub(1)
    }
}

/// Every node that takes a step, sends, receives or is hit by a fault, numbered in
/// [`NodeId`]'s order (controller, brokers, producers, consumers).
fn lanes(records: &[Record]) -> BTreeMap<NodeId, usize> {
    let mut nodes = BTreeSet::new();
    for record in records {
        match record {
            Record::Step(step) => {
                nodes.insert(step.node);
                nodes.extend(step.sent.iter().map(|message| message.to));
            }
            Record::Dropped { from, to, .. } => {
                nodes.insert(*from);
                nodes.insert(*to);
            }
            Record::Nemesis { action, .. } => nodes.extend(action.nodes()),
            Record::Finding { .. } => {}
        }
    }
    nodes
        .into_iter()
        .enumerate()
        .map(|(lane, node)| (node, lane))
        .collect()
}

/// What ends a fault's shading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ends {
    /// The node restarts (a crash, a power loss, a completed shutdown).
    Restart,
    Resume,
    /// Every cut, slow link, held request and slow disk ends at a heal.
    Heal,
    /// A span with its own end.
    At(u64),
}

struct Builder<'a> {
    lane_of: &'a BTreeMap<NodeId, usize>,
    space_time: SpaceTime,
    /// A message's position in `space_time.messages`, by id.
    message_index: BTreeMap<MessageId, usize>,
    /// Shading not yet ended: (lane, what ends it, the fault's index) → its index in
    /// `space_time.faults`.
    open_faults: BTreeMap<(usize, Ends, usize), usize>,
}

impl Builder<'_> {
    fn lane(&self, node: NodeId) -> usize {
        self.lane_of[&node]
    }

    fn record(&mut self, index: usize, record: &Record) {
        let view = match record {
            Record::Step(step) => self.step(index, step),
            Record::Dropped {
                time_ms,
                id,
                from,
                to,
                reason,
            } => {
                self.end_message(*id, *time_ms, index, MessageOutcome::Dropped);
                StepView {
                    time_ms: *time_ms,
                    lane: Some(self.lane(*from)),
                    kind: StepKind::Dropped,
                    text: format!("{id} {from}→{to} dropped: {}", drop_reason(*reason)),
                    details: Vec::new(),
                }
            }
            Record::Nemesis { time_ms, action } => self.nemesis(index, *time_ms, action),
            Record::Finding { time_ms, violation } => StepView {
                time_ms: *time_ms,
                lane: None,
                kind: StepKind::Finding,
                text: format!("finding: {violation}"),
                details: Vec::new(),
            },
        };
        self.space_time.steps.push(view);
    }

    fn step(&mut self, index: usize, step: &StepRecord) -> StepView {
        if let StepInput::Message { id, .. } = step.input {
            self.end_message(id, step.time_ms, index, MessageOutcome::Delivered);
        }
        let from_lane = self.lane(step.node);
        let mut details = Vec::new();
        for message in &step.sent {
            let (end_ms, end_step, outcome, note) = match message.outcome {
                SendOutcome::InFlight { delivery_ms } => (
                    None,
                    None,
                    MessageOutcome::InFlight,
                    format!("due at {delivery_ms} ms"),
                ),
                SendOutcome::Dropped { reason } => (
                    Some(step.time_ms),
                    Some(index),
                    MessageOutcome::Dropped,
                    format!("dropped at once: {}", drop_reason(reason)),
                ),
            };
            details.push(format!(
                "send {} {} → {} ({note})",
                message.id, message.kind, message.to
            ));
            self.message_index
                .insert(message.id, self.space_time.messages.len());
            self.space_time.messages.push(MessageView {
                id: message.id.0,
                kind: message.kind.to_string(),
                from_lane,
                to_lane: self.lane(message.to),
                send_ms: step.time_ms,
                send_step: index,
                end_ms,
                end_step,
                outcome,
            });
        }
        for event in &step.events {
            let mut line = String::new();
            describe_event(&mut line, event);
            details.push(line);
        }
        details.extend(step.marks.iter().map(|mark| format!("mark {mark}")));
        StepView {
            time_ms: step.time_ms,
            lane: Some(from_lane),
            kind: StepKind::Step,
            text: format!("{} {}", step.node, describe_input(&step.input)),
            details,
        }
    }

    /// A delivery or a later drop ends the message's arrow.
    fn end_message(&mut self, id: MessageId, time_ms: u64, step: usize, outcome: MessageOutcome) {
        if let Some(&position) = self.message_index.get(&id) {
            let message = &mut self.space_time.messages[position];
            message.end_ms = Some(time_ms);
            message.end_step = Some(step);
            message.outcome = outcome;
        }
    }

    fn nemesis(&mut self, index: usize, time_ms: u64, action: &NemesisAction) -> StepView {
        let label = action.to_string();
        let nodes = action.nodes();
        let lanes: Vec<usize> = nodes.iter().map(|node| self.lane(*node)).collect();
        match action {
            NemesisAction::Restart { .. } => self.close_faults(
                |(lane, ends, _)| lanes.contains(lane) && *ends == Ends::Restart,
                time_ms,
            ),
            NemesisAction::Resume { .. } => self.close_faults(
                |(lane, ends, _)| lanes.contains(lane) && *ends == Ends::Resume,
                time_ms,
            ),
            NemesisAction::HealAll => {
                self.close_faults(|(_, ends, _)| *ends == Ends::Heal, time_ms)
            }
            _ => {}
        }
        let ends = match action {
            NemesisAction::Crash { .. }
            | NemesisAction::PowerLoss { .. }
            | NemesisAction::Shutdown { .. } => Some(Ends::Restart),
            NemesisAction::Pause { .. } => Some(Ends::Resume),
            NemesisAction::Isolate { .. }
            | NemesisAction::Partition { .. }
            | NemesisAction::CutOneWay { .. }
            | NemesisAction::SlowLinks { .. }
            | NemesisAction::SlowDisk { .. }
            | NemesisAction::HoldRequests { .. } => Some(Ends::Heal),
            NemesisAction::SlowProcessing { until_ms, .. } => Some(Ends::At(*until_ms)),
            _ => None,
        };
        match ends {
            Some(ends) => {
                for lane in &lanes {
                    self.open_fault(*lane, ends, index, time_ms, &label);
                }
            }
            None => self.space_time.markers.push(MarkerView {
                time_ms,
                step: index,
                lane: lanes.first().copied(),
                label: label.clone(),
            }),
        }
        StepView {
            time_ms,
            lane: lanes.first().copied(),
            kind: StepKind::Nemesis,
            text: format!("nemesis: {label}"),
            details: if nodes.len() > 1 {
                vec![format!("hits {}", node_set(&nodes))]
            } else {
                Vec::new()
            },
        }
    }

    fn open_fault(&mut self, lane: usize, ends: Ends, step: usize, time_ms: u64, label: &str) {
        let end_ms = match ends {
            Ends::At(until_ms) => until_ms,
            _ => time_ms,
        };
        let position = self.space_time.faults.len();
        self.space_time.faults.push(FaultView {
            lane,
            start_ms: time_ms,
            end_ms,
            start_step: step,
            label: label.to_string(),
        });
        if !matches!(ends, Ends::At(_)) {
            self.open_faults.insert((lane, ends, position), position);
        }
    }

    /// Ends the open faults `which` selects at `time_ms`.
    fn close_faults(&mut self, which: impl Fn(&(usize, Ends, usize)) -> bool, time_ms: u64) {
        let closing: Vec<(usize, Ends, usize)> = self
            .open_faults
            .keys()
            .filter(|key| which(key))
            .copied()
            .collect();
        for key in closing {
            if let Some(position) = self.open_faults.remove(&key) {
                self.space_time.faults[position].end_ms = time_ms;
            }
        }
    }
}

/// A drop's reason as the records spell it.
pub fn drop_reason(reason: DropReason) -> &'static str {
    match reason {
        DropReason::LinkCut => "link-cut",
        DropReason::ReceiverDown => "receiver-down",
        DropReason::SenderDown => "sender-down",
        DropReason::ConnectionClosed => "connection-closed",
    }
}

/// What a node was fed, as one phrase.
fn describe_input(input: &StepInput) -> String {
    match input {
        StepInput::Start { incarnation } => format!("starts (incarnation {incarnation})"),
        StepInput::Message { id, from, kind } => format!("receives {id} {kind} from {from}"),
        StepInput::Timers { fired } => {
            let names: Vec<String> = fired.iter().map(ToString::to_string).collect();
            format!("timers fired: {}", names.join(", "))
        }
        StepInput::ApplicationSend { value } => format!("application sends v{value}"),
        StepInput::ApplicationStep => "application step".to_string(),
        StepInput::ConnectionClosed { peer, .. } => format!("connection with {peer} closed"),
        StepInput::ConnectionEstablished { peer, .. } => {
            format!("connection with {peer} established")
        }
        StepInput::ControlledShutdown => "asked to shut down".to_string(),
        StepInput::DeleteRecords => "handed a DeleteRecords".to_string(),
    }
}

#[cfg(test)]
#[path = "space_time_tests.rs"]
mod tests;
