//! A run as a story: the step records replayed in order into entries — replica-state
//! changes with their reasons and the replica table after them, client steps, faults and
//! findings — plus the run-wide facts that explain a lost or duplicated value (the highest
//! high watermark per partition, every election's log end offset, which brokers ever held a
//! value). Text, markdown and mermaid renderings live in the CLI; the HTML report can reuse
//! this.

use super::explain_change::{Change, ChangeExplainer, ChangeKind};
use super::explain_client::client_sentences;
use super::replica_state::{PartitionState, ReplicaState};
use crate::step_record::{MessageId, NemesisAction, Record, SendOutcome, StepInput, StepRecord};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{BrokerId, LeaderEpoch, NodeId, Offset};
use watermark_broker_core::topic::TopicPartition;

/// How many of a replica's last records a table keeps.
pub const LAST_RECORDS: usize = 3;

/// What an entry is about (the `--only` kinds of `explain`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    Isr,
    HighWatermark,
    Leader,
    Truncation,
    /// A replica's log grew (its log end offset moved).
    Log,
    Client,
    Fault,
}

impl From<ChangeKind> for EntryKind {
    fn from(kind: ChangeKind) -> EntryKind {
        match kind {
            ChangeKind::Isr => EntryKind::Isr,
            ChangeKind::HighWatermark => EntryKind::HighWatermark,
            ChangeKind::Leader => EntryKind::Leader,
            ChangeKind::Truncation => EntryKind::Truncation,
        }
    }
}

/// One line of an entry: what happened and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Line {
    pub kind: EntryKind,
    pub partition: Option<TopicPartition>,
    pub what: String,
    pub why: Option<String>,
}

/// One step of the story: a node's step (or a fault) at a time, its lines, and the replica
/// table of every partition it changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoryStep {
    pub time_ms: u64,
    /// The node that stepped; `None` for a fault.
    pub node: Option<NodeId>,
    /// Nodes a fault acted on.
    pub fault_nodes: Vec<NodeId>,
    pub lines: Vec<Line>,
    /// The partitions it changed, after the step, with each log cut to its last records.
    pub tables: BTreeMap<TopicPartition, PartitionState>,
}

/// A message as a sequence diagram draws it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Arrow {
    pub id: MessageId,
    pub time_ms: u64,
    pub from: NodeId,
    pub to: NodeId,
    pub kind: &'static str,
    pub dropped: bool,
}

/// An election as a broker reported taking the lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Election {
    pub time_ms: u64,
    pub partition: TopicPartition,
    pub leader: BrokerId,
    pub leader_epoch: LeaderEpoch,
    pub log_end_offset: Offset,
}

/// When a value became committed: a replica holding it reported a high watermark above its
/// offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Committed {
    pub broker: BrokerId,
    pub offset: Offset,
    pub high_watermark: Offset,
    pub time_ms: u64,
}

/// Facts over the whole run, for explaining violations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunFacts {
    /// The first time each value was below a high watermark, per partition.
    pub committed: BTreeMap<(TopicPartition, u64), Committed>,
    pub elections: Vec<Election>,
    /// Which brokers ever appended each value, per partition.
    pub holders: BTreeMap<(TopicPartition, u64), BTreeSet<BrokerId>>,
    /// When each value was first appended, per partition.
    pub first_appended_ms: BTreeMap<(TopicPartition, u64), u64>,
}

/// The story of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Story {
    pub steps: Vec<StoryStep>,
    pub arrows: Vec<Arrow>,
    pub facts: RunFacts,
    /// The replica state at the end of the run.
    pub end: ReplicaState,
}

impl Story {
    /// Replays `records` into a story.
    pub fn from_records(records: &[Record]) -> Story {
        let mut builder = StoryBuilder::default();
        for record in records {
            builder.apply(record);
        }
        builder.story.end = builder.state;
        builder.story
    }

    /// Every replica-state change of the run, for checking each has a reason.
    pub fn changes(&self) -> impl Iterator<Item = (&StoryStep, &Line)> {
        self.steps.iter().flat_map(|step| {
            step.lines
                .iter()
                .filter(|line| {
                    matches!(
                        line.kind,
                        EntryKind::Isr
                            | EntryKind::HighWatermark
                            | EntryKind::Leader
                            | EntryKind::Truncation
                    )
                })
                .map(move |line| (step, line))
        })
    }
}

#[derive(Default)]
struct StoryBuilder {
    state: ReplicaState,
    explainer: ChangeExplainer,
    story: Story,
}

impl StoryBuilder {
    fn apply(&mut self, record: &Record) {
        // The explainer reads the state before the step (what a truncation removed, the
        // controller's previous ISR), so it runs before the replay; the tables and the run's
        // facts read the state after it.
        let changes = match record {
            Record::Step(step) => self.explainer.explain_step(step, &self.state),
            _ => Vec::new(),
        };
        let changed = self.state.apply(record);
        match record {
            Record::Step(step) => self.apply_step(step, changes, changed),
            Record::Nemesis { time_ms, action } => self.apply_fault(*time_ms, action, changed),
            Record::Dropped { id, .. } => {
                // A message dropped in flight: the arrow drawn at its send is marked lost.
                if let Some(arrow) = self
                    .story
                    .arrows
                    .iter_mut()
                    .rev()
                    .find(|arrow| arrow.id == *id)
                {
                    arrow.dropped = true;
                }
            }
            Record::Finding { .. } => {}
        }
    }

    fn tables(
        &self,
        changed: &BTreeSet<TopicPartition>,
    ) -> BTreeMap<TopicPartition, PartitionState> {
        changed
            .iter()
            .filter_map(|partition| {
                let mut state = self.state.partitions.get(partition)?.clone();
                for replica in state.replicas.values_mut() {
                    let keep = replica.last_records(LAST_RECORDS).to_vec();
                    replica.log = keep;
                }
                Some((*partition, state))
            })
            .collect()
    }

    fn apply_step(
        &mut self,
        step: &StepRecord,
        changes: Vec<Change>,
        changed: BTreeSet<TopicPartition>,
    ) {
        self.record_arrows(step);
        self.record_facts(step);
        let mut lines: Vec<Line> = changes.into_iter().map(line_of_change).collect();
        lines.extend(append_lines(step));
        lines.extend(client_sentences(step).into_iter().map(|what| Line {
            kind: EntryKind::Client,
            partition: None,
            what,
            why: None,
        }));
        if lines.is_empty() {
            return;
        }
        let replica_changed: BTreeSet<TopicPartition> = lines
            .iter()
            .filter(|line| line.kind != EntryKind::Client)
            .filter_map(|line| line.partition)
            .filter(|partition| changed.contains(partition))
            .collect();
        let tables = self.tables(&replica_changed);
        self.story.steps.push(StoryStep {
            time_ms: step.time_ms,
            node: Some(step.node),
            fault_nodes: Vec::new(),
            lines,
            tables,
        });
    }

    fn apply_fault(
        &mut self,
        time_ms: u64,
        action: &NemesisAction,
        changed: BTreeSet<TopicPartition>,
    ) {
        let fault_nodes = action.nodes();
        for node in &fault_nodes {
            if let (
                NodeId::Broker(broker),
                NemesisAction::Crash { .. } | NemesisAction::PowerLoss { .. },
            ) = (node, action)
            {
                self.explainer.down_since_ms.insert(*broker, time_ms);
            }
        }
        let tables = self.tables(&changed);
        self.story.steps.push(StoryStep {
            time_ms,
            node: None,
            fault_nodes,
            lines: vec![Line {
                kind: EntryKind::Fault,
                partition: None,
                what: format!("fault: {action}"),
                why: None,
            }],
            tables,
        });
    }

    fn record_arrows(&mut self, step: &StepRecord) {
        for sent in &step.sent {
            self.story.arrows.push(Arrow {
                id: sent.id,
                time_ms: step.time_ms,
                from: step.node,
                to: sent.to,
                kind: sent.kind,
                dropped: matches!(sent.outcome, SendOutcome::Dropped { .. }),
            });
        }
    }

    fn record_facts(&mut self, step: &StepRecord) {
        let NodeId::Broker(broker) = step.node else {
            return;
        };
        let facts = &mut self.story.facts;
        for event in &step.events {
            match event {
                Event::HighWatermarkUpdated { partition, to, .. } => {
                    // The replica's log after the step holds what the watermark now covers.
                    let Some(replica) = self.state.replica(*partition, broker) else {
                        continue;
                    };
                    for record in replica.log.iter().filter(|record| record.offset < *to) {
                        facts
                            .committed
                            .entry((*partition, record.value))
                            .or_insert(Committed {
                                broker,
                                offset: record.offset,
                                high_watermark: *to,
                                time_ms: step.time_ms,
                            });
                    }
                }
                Event::BecameLeader {
                    partition,
                    leader_epoch,
                    log_end_offset,
                    ..
                } => facts.elections.push(Election {
                    time_ms: step.time_ms,
                    partition: *partition,
                    leader: broker,
                    leader_epoch: *leader_epoch,
                    log_end_offset: *log_end_offset,
                }),
                Event::RecordsAppended {
                    partition, records, ..
                } => {
                    for record in records {
                        let key = (*partition, record.value);
                        facts.holders.entry(key).or_default().insert(broker);
                        facts.first_appended_ms.entry(key).or_insert(step.time_ms);
                    }
                }
                _ => {}
            }
        }
    }
}

fn line_of_change(change: Change) -> Line {
    Line {
        kind: change.kind.into(),
        partition: Some(change.partition),
        what: change.what,
        why: change.why,
    }
}

/// `b1 appends v8 at offset 7 (e1)`, with where the records came from.
fn append_lines(step: &StepRecord) -> Vec<Line> {
    let NodeId::Broker(broker) = step.node else {
        return Vec::new();
    };
    step.events
        .iter()
        .filter_map(|event| match event {
            Event::RecordsAppended {
                partition,
                as_leader,
                records,
            } if !records.is_empty() => {
                let first = records.first()?;
                let last = records.last()?;
                let values = if records.len() == 1 {
                    format!("v{} at offset {}", first.value, first.offset)
                } else {
                    format!(
                        "v{}..v{} at offsets {}..{}",
                        first.value, last.value, first.offset, last.offset
                    )
                };
                let source = match (&step.input, as_leader) {
                    (StepInput::Message { from, kind, .. }, true) => format!("{from}'s {kind}"),
                    (StepInput::Message { from, .. }, false) => format!("its fetch from {from}"),
                    (_, true) => "a local append".to_string(),
                    (_, false) => "its fetch".to_string(),
                };
                Some(Line {
                    kind: EntryKind::Log,
                    partition: Some(*partition),
                    what: format!("{broker} appends {values} ({})", first.leader_epoch),
                    why: Some(format!("from {source}")),
                })
            }
            _ => None,
        })
        .collect()
}
