//! One record of what happened (docs/STYLE.md, rule 17): every simulator step yields a
//! [`StepRecord`] — simulated time, node, the input it was fed (with the message's id or the
//! timers that fired), the messages it sent (each with an id that pairs it with its delivery
//! or its drop), its events and its coverage marks. Messages dropped after they were sent,
//! nemesis actions and checker findings are typed records too. The trace, the history, the
//! checkers and the triggers observe the same records as they are made, so they can never
//! disagree; teaching views and `tracing` subscribers read them as well.

use crate::not_applied::NotApplied;
use crate::violation::Violation;
use serde::Serialize;
use std::fmt;
use watermark_broker_core::actor::Timer;
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{NodeId, Offset};
use watermark_broker_core::mark::Mark;
use watermark_broker_core::topic::TopicPartition;

/// Names one message of a run, from its send to its delivery or drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
pub struct MessageId(pub u64);

impl fmt::Display for MessageId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "m{}", self.0)
    }
}

/// Why a message never arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// The link from sender to receiver is cut (a partition or one-way cut).
    LinkCut,
    /// The receiving process is down: its connections are reset.
    ReceiverDown,
    /// The sending process went down while the message was in flight.
    SenderDown,
    /// One side closed the connection while the message was in flight
    /// ([`watermark_broker_core::actor::Effect::CloseConnection`]).
    ConnectionClosed,
}

/// What a node was fed in one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepInput {
    /// The process started (first boot or restart).
    Start { incarnation: u64 },
    /// A message arrived; `id` pairs it with its send.
    Message {
        id: MessageId,
        from: NodeId,
        kind: &'static str,
    },
    /// Deadlines came: these timers fired.
    Timers { fired: Vec<Timer> },
    /// The producer application handed the producer a value to send.
    ApplicationSend { value: u64 },
    /// A group consumer's application did its next piece of work (a poll, a commit, a
    /// record started or finished).
    ApplicationStep,
    /// The connection with `peer` closed (its process stopped, it closed the connection, or
    /// it refused this node's connection attempt); `id` names the news.
    ConnectionClosed { id: MessageId, peer: NodeId },
    /// The connection this node asked `peer` for is established.
    ConnectionEstablished { id: MessageId, peer: NodeId },
    /// The nemesis asked the broker to shut down gracefully.
    ControlledShutdown,
    /// The nemesis handed the broker a DeleteRecords (`delete-records`).
    DeleteRecords,
}

/// Where a sent message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SendOutcome {
    /// On its way; due at the receiver then (unless dropped later).
    InFlight { delivery_ms: u64 },
    /// Dropped at once.
    Dropped { reason: DropReason },
}

/// One message a step sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SentMessage {
    pub id: MessageId,
    pub to: NodeId,
    pub kind: &'static str,
    pub outcome: SendOutcome,
}

/// Everything one step of one node did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepRecord {
    pub time_ms: u64,
    pub node: NodeId,
    pub input: StepInput,
    pub sent: Vec<SentMessage>,
    /// The peers whose connection the step closed.
    pub closed: Vec<NodeId>,
    /// The peers the step asked for a connection to.
    pub connects: Vec<NodeId>,
    pub events: Vec<Event>,
    pub marks: Vec<Mark>,
}

/// A fault the nemesis applied (with its targets resolved), a trigger that fired, or the
/// start of the liveness phase. Its text form is the trace line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum NemesisAction {
    Crash {
        node: NodeId,
    },
    PowerLoss {
        node: NodeId,
    },
    Restart {
        node: NodeId,
    },
    Pause {
        node: NodeId,
    },
    Resume {
        node: NodeId,
    },
    /// Every link to and from these nodes cut.
    Isolate {
        nodes: Vec<NodeId>,
    },
    /// Every link between `side` and the rest cut, both ways.
    Partition {
        side: Vec<NodeId>,
    },
    /// Links from `from` to `to` cut, one way.
    CutOneWay {
        from: Vec<NodeId>,
        to: Vec<NodeId>,
    },
    SlowLinks {
        nodes: Vec<NodeId>,
        latency_ms: u64,
    },
    SlowDisk {
        nodes: Vec<NodeId>,
        fsync_latency_ms: u64,
    },
    HealAll,
    /// A trigger's condition was met by an event of `source`.
    TriggerFired {
        condition: String,
        source: NodeId,
    },
    /// The safety phase ended: everything is healed, resumed and restarted.
    LivenessPhase,
    /// A graceful stop began: the broker asks the controller for a controlled shutdown.
    Shutdown {
        node: NodeId,
    },
    /// A controlled shutdown still waiting for the controller was cut short: the broker
    /// stops now, its logs closed cleanly (the liveness phase, or a restart, needs it down).
    ShutdownCutShort {
        node: NodeId,
    },
    /// A fault or trigger that did not apply, and why. Last of the variants: the trace hash
    /// encodes a variant's index, so the earlier ones keep theirs and runs without one keep
    /// their hash.
    FaultNotApplied {
        not_applied: NotApplied,
    },
    /// A consumer's application processes each record in `processing_ms` until `until_ms`.
    /// After `FaultNotApplied`, for the same reason.
    SlowProcessing {
        node: NodeId,
        processing_ms: u64,
        until_ms: u64,
    },
    /// `to` handles the `api` requests of `from` `delay_ms` late. Last, for the same reason.
    HoldRequests {
        from: Vec<NodeId>,
        to: Vec<NodeId>,
        api: crate::held_requests::HeldApi,
        delay_ms: u64,
    },
    /// A DeleteRecords was handed to the partition's leader `node`, which moved its log start
    /// offset to `log_start_offset`. Last, for the same reason.
    DeleteRecords {
        node: NodeId,
        partition: TopicPartition,
        log_start_offset: Offset,
    },
}

/// `{b1,b2}`: a node set as the trace prints it.
pub fn node_set(nodes: &[NodeId]) -> String {
    let names: Vec<String> = nodes.iter().map(ToString::to_string).collect();
    format!("{{{}}}", names.join(","))
}

impl fmt::Display for NemesisAction {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NemesisAction::Crash { node } => write!(formatter, "crash {node}"),
            NemesisAction::PowerLoss { node } => write!(formatter, "power loss {node}"),
            NemesisAction::Restart { node } => write!(formatter, "restart {node}"),
            NemesisAction::Pause { node } => write!(formatter, "pause {node}"),
            NemesisAction::Resume { node } => write!(formatter, "resume {node}"),
            NemesisAction::Isolate { nodes } => write!(formatter, "isolate {}", node_set(nodes)),
            NemesisAction::Partition { side } => {
                write!(formatter, "partition {} | rest", node_set(side))
            }
            NemesisAction::CutOneWay { from, to } => {
                write!(formatter, "cut {} -> {}", node_set(from), node_set(to))
            }
            NemesisAction::SlowLinks { nodes, latency_ms } => {
                write!(formatter, "slow links {} +{latency_ms}ms", node_set(nodes))
            }
            NemesisAction::SlowDisk {
                nodes,
                fsync_latency_ms,
            } => write!(
                formatter,
                "slow disk {} fsync {fsync_latency_ms}ms",
                node_set(nodes)
            ),
            NemesisAction::HealAll => formatter.write_str("heal all"),
            NemesisAction::TriggerFired { condition, source } => {
                write!(formatter, "trigger {condition} fired on {source}")
            }
            NemesisAction::Shutdown { node } => write!(formatter, "shutdown {node}"),
            NemesisAction::ShutdownCutShort { node } => {
                write!(formatter, "shutdown {node} cut short")
            }
            NemesisAction::LivenessPhase => {
                formatter.write_str("liveness phase: heal, resume, restart")
            }
            NemesisAction::FaultNotApplied { not_applied } => {
                write!(formatter, "not applied: {not_applied}")
            }
            NemesisAction::SlowProcessing {
                node,
                processing_ms,
                until_ms,
            } => write!(
                formatter,
                "slow processing {node} {processing_ms}ms per record until {until_ms}ms"
            ),
            NemesisAction::HoldRequests {
                from,
                to,
                api,
                delay_ms,
            } => write!(
                formatter,
                "hold {api} requests {} -> {} +{delay_ms}ms",
                node_set(from),
                node_set(to)
            ),
            NemesisAction::DeleteRecords {
                node,
                partition,
                log_start_offset,
            } => write!(
                formatter,
                "delete records of {partition} on {node}: log start {log_start_offset}"
            ),
        }
    }
}

/// One entry of the run's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "record")]
pub enum Record {
    Step(StepRecord),
    /// A message dropped after it was sent (a link cut or a process died under it).
    Dropped {
        time_ms: u64,
        id: MessageId,
        from: NodeId,
        to: NodeId,
        reason: DropReason,
    },
    Nemesis {
        time_ms: u64,
        action: NemesisAction,
    },
    /// A checker's finding.
    Finding {
        time_ms: u64,
        violation: Violation,
    },
}

impl Record {
    /// When it happened, in simulated milliseconds.
    pub fn time_ms(&self) -> u64 {
        match self {
            Record::Step(step) => step.time_ms,
            Record::Dropped { time_ms, .. }
            | Record::Nemesis { time_ms, .. }
            | Record::Finding { time_ms, .. } => *time_ms,
        }
    }
}

impl NemesisAction {
    /// The nodes the action hits or names: a fault's targets, a trigger's source, a
    /// DeleteRecords' leader; none for a heal, the liveness phase or a fault not applied.
    pub fn nodes(&self) -> Vec<NodeId> {
        match self {
            NemesisAction::Crash { node }
            | NemesisAction::PowerLoss { node }
            | NemesisAction::Restart { node }
            | NemesisAction::Pause { node }
            | NemesisAction::Resume { node }
            | NemesisAction::Shutdown { node }
            | NemesisAction::ShutdownCutShort { node }
            | NemesisAction::SlowProcessing { node, .. }
            | NemesisAction::DeleteRecords { node, .. } => vec![*node],
            NemesisAction::TriggerFired { source, .. } => vec![*source],
            NemesisAction::Isolate { nodes }
            | NemesisAction::SlowLinks { nodes, .. }
            | NemesisAction::SlowDisk { nodes, .. } => nodes.clone(),
            NemesisAction::Partition { side } => side.clone(),
            NemesisAction::CutOneWay { from, to }
            | NemesisAction::HoldRequests { from, to, .. } => {
                from.iter().chain(to).copied().collect()
            }
            NemesisAction::HealAll
            | NemesisAction::LivenessPhase
            | NemesisAction::FaultNotApplied { .. } => Vec::new(),
        }
    }
}
