//! The changes a step made to replica state, each with the sentence that says why, built
//! from the reason events the deciding actor reported (broker-core's `reason` module) and
//! from what the records show (a crash, the replica state before the change). No broker
//! rule is re-derived here: a change whose reason event is missing gets no reason, and the
//! catalogue test fails on it.

use super::explain_hold::held_sentence;
use super::explain_words::{brokers, caught_up_phrase, duration, offsets_list, seconds, thousands};
use super::replica_state::ReplicaState;
use crate::step_record::StepRecord;
use crate::trace::value_name;
use serde::Serialize;
use std::collections::BTreeMap;
use watermark_broker_core::event::{Event, TruncationReason};
use watermark_broker_core::ids::{BrokerId, NodeId};
use watermark_broker_core::reason::{
    Divergence, FenceReason, FollowerProgress, HighWatermarkBasis, LeaderRule, PartitionChangeCause,
};
use watermark_broker_core::topic::TopicPartition;

/// What kind of replica state a change touched (the `--only` kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    Isr,
    HighWatermark,
    Leader,
    Truncation,
}

/// One change and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    pub partition: TopicPartition,
    /// Who changed: a broker, or the controller.
    pub node: NodeId,
    /// What changed, e.g. `b1's ISR {1,2,3} → {1,2}`.
    pub what: String,
    /// Why, with the numbers; `None` when no reason event explained it.
    pub why: Option<String>,
}

/// An ISR proposal a leader sent, remembered until the controller answers it.
#[derive(Clone, Debug)]
struct Proposal {
    time_ms: u64,
    proposed: Vec<BrokerId>,
    why: String,
}

/// What the explainer remembers between steps.
#[derive(Debug, Default)]
pub struct ChangeExplainer {
    /// Each leader's latest ISR proposal per partition.
    proposals: BTreeMap<(TopicPartition, BrokerId), Proposal>,
    /// The last controller change per partition, in words.
    last_controller_change: BTreeMap<TopicPartition, String>,
    /// Why the controller last fenced each broker, in words.
    fenced_because: BTreeMap<BrokerId, String>,
    /// When each broker last crashed or lost power.
    pub(super) down_since_ms: BTreeMap<BrokerId, u64>,
}

/// The reason events of one step that explain the change event after them.
#[derive(Default)]
struct Pending {
    high_watermark: Option<HighWatermarkBasis>,
    partition_change: Option<(
        PartitionChangeCause,
        LeaderRule,
        Vec<BrokerId>,
        Vec<BrokerId>,
    )>,
    divergence: Option<(Divergence, watermark_broker_core::ids::Offset)>,
}

impl ChangeExplainer {
    pub fn new() -> ChangeExplainer {
        ChangeExplainer::default()
    }

    /// The changes `step` made, explained. `before` is the replica state before the step.
    pub fn explain_step(&mut self, step: &StepRecord, before: &ReplicaState) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut pending = Pending::default();
        for event in &step.events {
            self.remember_reason(step, event, &mut pending);
            changes.extend(self.explain_event(step, event, &mut pending, before));
        }
        changes
    }

    /// Records a reason event for the change that follows it (or, for a proposal, for the
    /// controller's answer later).
    fn remember_reason(&mut self, step: &StepRecord, event: &Event, pending: &mut Pending) {
        match event {
            Event::IsrShrinkProposed {
                partition,
                proposed,
                leader_log_end_offset,
                replica_lag_time_max_ms,
                out_of_sync,
                ..
            } => {
                let NodeId::Broker(leader) = step.node else {
                    return;
                };
                let lagging: Vec<String> = out_of_sync
                    .iter()
                    .map(|follower| {
                        out_of_sync_sentence(
                            follower,
                            step.time_ms,
                            *leader_log_end_offset,
                            *replica_lag_time_max_ms,
                        )
                    })
                    .collect();
                let why = format!(
                    "{} (checked by {leader} at {})",
                    lagging.join("; "),
                    seconds(step.time_ms)
                );
                self.proposals.insert(
                    (*partition, leader),
                    Proposal {
                        time_ms: step.time_ms,
                        proposed: proposed.clone(),
                        why,
                    },
                );
            }
            Event::IsrExpandProposed {
                partition,
                proposed,
                follower,
                high_watermark,
                leader_epoch_start_offset,
                ..
            } => {
                let NodeId::Broker(leader) = step.node else {
                    return;
                };
                let log_end_offset = follower
                    .log_end_offset
                    .map_or("unknown".to_string(), |offset| offset.to_string());
                let why = format!(
                    "{} rejoins the ISR: its log end offset {log_end_offset} reached the high \
                     watermark {high_watermark} and the start of {leader}'s leader epoch at \
                     offset {leader_epoch_start_offset} (seen by {leader} at {})",
                    follower.broker,
                    seconds(step.time_ms)
                );
                self.proposals.insert(
                    (*partition, leader),
                    Proposal {
                        time_ms: step.time_ms,
                        proposed: proposed.clone(),
                        why,
                    },
                );
            }
            Event::HighWatermarkComputed { basis, .. } => {
                pending.high_watermark = Some(basis.clone());
            }
            Event::PartitionChangeStarted {
                cause,
                rule,
                replicas,
                isr,
                ..
            } => {
                pending.partition_change = Some((*cause, *rule, replicas.clone(), isr.clone()));
            }
            Event::BrokerFenceReasoned { broker, reason } => {
                let why = fence_sentence(*broker, *reason, step.time_ms, &self.down_since_ms);
                self.fenced_because.insert(*broker, why);
            }
            Event::DivergenceFound {
                divergence,
                truncate_to,
                ..
            } => pending.divergence = Some((*divergence, *truncate_to)),
            _ => {}
        }
    }

    fn explain_event(
        &mut self,
        step: &StepRecord,
        event: &Event,
        pending: &mut Pending,
        before: &ReplicaState,
    ) -> Vec<Change> {
        let change = match (step.node, event) {
            (
                NodeId::Broker(broker),
                Event::HighWatermarkUpdated {
                    partition,
                    from,
                    to,
                },
            ) => {
                let why = pending
                    .high_watermark
                    .take()
                    .map(|basis| high_watermark_sentence(broker, &basis, *to));
                Some(Change {
                    kind: ChangeKind::HighWatermark,
                    partition: *partition,
                    node: step.node,
                    what: format!("{broker}'s high watermark {from} → {to}"),
                    why,
                })
            }
            (
                NodeId::Broker(broker),
                Event::HighWatermarkHeld {
                    partition,
                    high_watermark,
                    leader_log_end_offset,
                    hold,
                },
            ) => Some(Change {
                kind: ChangeKind::HighWatermark,
                partition: *partition,
                node: step.node,
                what: format!(
                    "{broker}'s high watermark stays at {high_watermark} (its log end offset is \
                     {leader_log_end_offset})"
                ),
                why: Some(held_sentence(broker, *high_watermark, hold, step.time_ms)),
            }),
            (
                NodeId::Broker(broker),
                Event::IsrUpdated {
                    partition,
                    from,
                    to,
                },
            ) => {
                let why = self.leader_isr_sentence(*partition, broker, to);
                Some(Change {
                    kind: ChangeKind::Isr,
                    partition: *partition,
                    node: step.node,
                    what: format!("{broker}'s ISR {} → {}", brokers(from), brokers(to)),
                    why,
                })
            }
            (NodeId::Broker(broker), Event::LogTruncated { .. }) => {
                Some(self.truncation_change(step, broker, event, pending, before))
            }
            (
                NodeId::Broker(broker),
                Event::LogTruncatedFully {
                    partition,
                    from_log_end_offset,
                    start_offset,
                },
            ) => Some(Change {
                kind: ChangeKind::Truncation,
                partition: *partition,
                node: step.node,
                what: format!(
                    "{broker} empties its log (log end offset {from_log_end_offset}) and                      starts it at {start_offset}"
                ),
                why: Some(format!(
                    "its leader's log starts at {start_offset} (records below it were                      deleted), past {broker}'s log end offset {from_log_end_offset}: nothing                      it holds can be continued (Kafka's `truncateFullyAndStartAt`)"
                )),
            }),
            (
                NodeId::Broker(broker),
                Event::BecameLeader {
                    partition,
                    leader_epoch,
                    isr,
                    log_end_offset,
                },
            ) => Some(Change {
                kind: ChangeKind::Leader,
                partition: *partition,
                node: step.node,
                what: format!(
                    "{broker} leads at {leader_epoch} with log end offset {log_end_offset} \
                     and ISR {}",
                    brokers(isr)
                ),
                why: self.last_controller_change.get(partition).cloned(),
            }),
            (
                NodeId::Broker(broker),
                Event::BecameFollower {
                    partition,
                    leader_epoch,
                    leader,
                },
            ) => Some(Change {
                kind: ChangeKind::Leader,
                partition: *partition,
                node: step.node,
                what: format!(
                    "{broker} follows {} at {leader_epoch}",
                    leader.map_or("no leader".to_string(), |leader| leader.to_string())
                ),
                why: Some(match self.last_controller_change.get(partition) {
                    Some(change) => format!("the controller's metadata says so: {change}"),
                    None => "the controller's metadata has no leader yet".to_string(),
                }),
            }),
            (NodeId::Controller, Event::LeaderElected { partition, .. })
            | (NodeId::Controller, Event::IsrAltered { partition, .. }) => {
                let changes = self.controller_changes(event, pending, before);
                if let Some(why) = changes.first().and_then(|change| change.why.clone()) {
                    self.last_controller_change.insert(*partition, why);
                }
                return changes;
            }
            _ => None,
        };
        change.into_iter().collect()
    }

    /// Why a leader's ISR became `to`: its own accepted proposal, or the controller's change.
    fn leader_isr_sentence(
        &self,
        partition: TopicPartition,
        leader: BrokerId,
        to: &[BrokerId],
    ) -> Option<String> {
        if let Some(proposal) = self.proposals.get(&(partition, leader)) {
            if proposal.proposed == to {
                return Some(format!(
                    "the controller accepted {leader}'s AlterPartition of {}: {}",
                    seconds(proposal.time_ms),
                    proposal.why
                ));
            }
        }
        self.last_controller_change
            .get(&partition)
            .map(|change| format!("the controller changed it: {change}"))
    }

    fn truncation_change(
        &self,
        step: &StepRecord,
        broker: BrokerId,
        event: &Event,
        pending: &mut Pending,
        before: &ReplicaState,
    ) -> Change {
        let Event::LogTruncated {
            partition,
            from_log_end_offset,
            to_offset,
            reason,
        } = event
        else {
            unreachable!("truncation_change is called with a LogTruncated");
        };
        let removed: Vec<String> = before
            .replica(*partition, broker)
            .map(|replica| {
                replica
                    .log
                    .iter()
                    // Only what the cut removed: past `from_log_end_offset` are records
                    // a power loss already took (a recovery's cut comes before the
                    // recovered log is known).
                    .filter(|record| {
                        record.offset >= *to_offset && record.offset < *from_log_end_offset
                    })
                    .map(|record| {
                        format!(
                            "{} (offset {}, {})",
                            value_name(record.value),
                            record.offset,
                            record.leader_epoch
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let removed = if removed.is_empty() {
            String::new()
        } else {
            format!(", removing {}", removed.join(", "))
        };
        let what =
            format!("{broker} truncates its log {from_log_end_offset} → {to_offset}{removed}");
        let from = match step.input {
            crate::step_record::StepInput::Message { from, .. } => from.to_string(),
            _ => "its leader".to_string(),
        };
        let why = match reason {
            TruncationReason::DivergingEpoch | TruncationReason::LeaderEpochDivergence => {
                pending.divergence.take().map(|(divergence, truncate_to)| {
                    divergence_sentence(*reason, &from, broker, divergence, truncate_to)
                })
            }
            TruncationReason::EpochEndOffsetWithoutEpoch => {
                pending.divergence.take().map(|(divergence, truncate_to)| {
                    without_epoch_sentence(&from, broker, divergence, truncate_to)
                })
            }
            TruncationReason::HighWatermark => Some(format!(
                "{broker} cuts to its high watermark {to_offset}: the pre-KIP-101 rule \
                 (bug switch `truncate-to-high-watermark`)"
            )),
            TruncationReason::LeaderLogEnd => Some(format!(
                "{from}'s log ends at {to_offset}, below {broker}'s: told its fetch offset was \
                 out of range, {broker} asked the leader's log end offset and cut to it \
                 (Kafka's `fetchOffsetAndTruncate`)"
            )),
            TruncationReason::Recovery => Some(format!(
                "log recovery after the restart found a torn or corrupt tail at offset \
                 {to_offset}"
            )),
        };
        Change {
            kind: ChangeKind::Truncation,
            partition: *partition,
            node: step.node,
            what,
            why,
        }
    }

    /// A controller's `LeaderElected` or `IsrAltered`, with its cause and leader rule: the
    /// leader change, and the ISR change when the ISR moved too.
    fn controller_changes(
        &self,
        event: &Event,
        pending: &mut Pending,
        before: &ReplicaState,
    ) -> Vec<Change> {
        let old_isr = |partition: &TopicPartition| {
            before
                .partitions
                .get(partition)
                .map(|state| state.controller.isr.clone())
                .unwrap_or_default()
        };
        let (partition, what, kind, leader, new_isr) = match event {
            Event::LeaderElected {
                partition,
                leader,
                leader_epoch,
                isr,
                unclean,
                ..
            } => {
                let how = if *unclean {
                    "an unclean election"
                } else {
                    "a clean election"
                };
                let what = match leader {
                    Some(leader) => format!(
                        "the controller elects {leader} at {leader_epoch} ({how}), ISR {}",
                        brokers(isr)
                    ),
                    None => format!(
                        "the controller leaves {partition} without a leader at {leader_epoch}, \
                         ISR {}",
                        brokers(isr)
                    ),
                };
                (*partition, what, ChangeKind::Leader, *leader, isr)
            }
            Event::IsrAltered { partition, isr, .. } => {
                let what = format!(
                    "the controller's ISR {} → {}",
                    brokers(&old_isr(partition)),
                    brokers(isr)
                );
                (*partition, what, ChangeKind::Isr, None, isr)
            }
            _ => unreachable!("controller_changes is called with an election or ISR change"),
        };
        let reason = pending.partition_change.take();
        let cause_words = reason
            .as_ref()
            .map(|(cause, ..)| self.cause_sentence(partition, *cause, before));
        let why = reason.as_ref().zip(cause_words.as_ref()).map(
            |((_, rule, replicas, isr), cause_words)| match kind {
                ChangeKind::Leader => format!(
                    "{cause_words}; {}",
                    rule_sentence(*rule, leader, replicas, isr)
                ),
                _ => cause_words.clone(),
            },
        );
        let mut changes = vec![Change {
            kind,
            partition,
            node: NodeId::Controller,
            what,
            why,
        }];
        let old = old_isr(&partition);
        if kind == ChangeKind::Leader && old != *new_isr {
            changes.push(Change {
                kind: ChangeKind::Isr,
                partition,
                node: NodeId::Controller,
                what: format!(
                    "the controller's ISR {} → {}",
                    brokers(&old),
                    brokers(new_isr)
                ),
                why: cause_words,
            });
        }
        changes
    }

    fn cause_sentence(
        &self,
        partition: TopicPartition,
        cause: PartitionChangeCause,
        before: &ReplicaState,
    ) -> String {
        let old_leader = before
            .partitions
            .get(&partition)
            .and_then(|state| state.controller.leader);
        let role = |broker: BrokerId| {
            if Some(broker) == old_leader {
                format!("{broker}, the leader,")
            } else {
                broker.to_string()
            }
        };
        match cause {
            PartitionChangeCause::AlterPartition { leader } => {
                match self.proposals.get(&(partition, leader)) {
                    Some(proposal) => {
                        format!("it accepted {leader}'s AlterPartition: {}", proposal.why)
                    }
                    None => format!("it accepted {leader}'s AlterPartition"),
                }
            }
            PartitionChangeCause::BrokerFenced { broker } => match self.fenced_because.get(&broker)
            {
                Some(why) => format!("{} was fenced: {why}", role(broker)),
                None => format!("{} was fenced", role(broker)),
            },
            PartitionChangeCause::ControlledShutdown { broker } => {
                format!("{} began a controlled shutdown", role(broker))
            }
            PartitionChangeCause::UncleanShutdown { broker } => format!(
                "{} registered again after an unclean shutdown and may have lost unflushed \
                 records, so it leaves the ISR and ELR (KIP-966)",
                role(broker)
            ),
            PartitionChangeCause::OfflinePartition => match old_leader {
                None if before
                    .partitions
                    .get(&partition)
                    .and_then(|state| state.controller.leader_epoch)
                    .is_none() =>
                {
                    format!("{partition} had never had a leader")
                }
                _ => format!("{partition} had no leader"),
            },
        }
    }
}

/// `b3 left the ISR: it last caught up at 2.961 s, 5.0 s ago, and replica_lag_time_max_ms is 5,000`.
fn out_of_sync_sentence(
    follower: &FollowerProgress,
    now_ms: u64,
    leader_log_end_offset: watermark_broker_core::ids::Offset,
    replica_lag_time_max_ms: u64,
) -> String {
    let position = match follower.log_end_offset {
        Some(offset) => {
            format!("its log end offset {offset} is behind the leader's {leader_log_end_offset}")
        }
        None => "it has not fetched from this leader".to_string(),
    };
    let caught_up = caught_up_phrase(follower.last_caught_up_time_ms, now_ms);
    format!(
        "{} left the ISR: {caught_up}, and `replica_lag_time_max_ms` is {} ({position})",
        follower.broker,
        thousands(replica_lag_time_max_ms)
    )
}

fn fence_sentence(
    broker: BrokerId,
    reason: FenceReason,
    now_ms: u64,
    down_since_ms: &BTreeMap<BrokerId, u64>,
) -> String {
    let crashed = down_since_ms
        .get(&broker)
        .map(|time_ms| format!(" ({broker} went down at {})", seconds(*time_ms)))
        .unwrap_or_default();
    match reason {
        FenceReason::SessionExpired {
            last_heartbeat_ms,
            broker_session_timeout_ms,
        } => format!(
            "its last heartbeat reached the controller at {}, {} ago, and \
             `broker_session_timeout_ms` is {}{crashed}",
            seconds(last_heartbeat_ms),
            duration(now_ms.saturating_sub(last_heartbeat_ms)),
            thousands(broker_session_timeout_ms)
        ),
        FenceReason::AskedToBeFenced => format!("its heartbeat asked to be fenced{crashed}"),
        FenceReason::ShutdownNow => {
            "it asked to shut down and leads nothing, so it may stop now".to_string()
        }
    }
}

fn rule_sentence(
    rule: LeaderRule,
    leader: Option<BrokerId>,
    replicas: &[BrokerId],
    isr: &[BrokerId],
) -> String {
    let assignment = brokers(replicas);
    let leader = leader.map_or("no replica".to_string(), |leader| leader.to_string());
    match rule {
        LeaderRule::Kept => format!("{leader} stays leader: it is still in the ISR and alive"),
        LeaderRule::FirstInIsr => format!(
            "{leader} is the first replica of the assignment {assignment} in the ISR {} and alive",
            brokers(isr)
        ),
        LeaderRule::FirstInElr => format!(
            "the ISR is empty; {leader} is the first eligible leader replica (KIP-966) of the \
             assignment {assignment} that is alive"
        ),
        LeaderRule::Preferred => format!(
            "in the first election only the preferred replica may lead, and {leader} is the \
             first of the assignment {assignment}"
        ),
        LeaderRule::LastKnownLeader => {
            format!("ISR and ELR are empty; {leader}, the last known leader, is back (KIP-966)")
        }
        LeaderRule::Unclean => format!(
            "no ISR member is alive and `unclean_leader_election_enable` is on: {leader}, the \
             first live replica of the assignment {assignment}, leads and may lack committed \
             records"
        ),
        LeaderRule::NoneEligible => format!(
            "no replica of the assignment {assignment} may lead: none is in the ISR and alive"
        ),
    }
}

fn high_watermark_sentence(
    broker: BrokerId,
    basis: &HighWatermarkBasis,
    to: watermark_broker_core::ids::Offset,
) -> String {
    match basis {
        HighWatermarkBasis::Leader {
            log_end_offsets,
            joining,
        } => {
            let lowest: Vec<BrokerId> = log_end_offsets
                .iter()
                .filter(|(_, offset)| *offset == to)
                .map(|(member, _)| *member)
                .collect();
            let lowest = match lowest.as_slice() {
                [only] => format!("{only}'s log end offset is {to}"),
                [] => format!("the lowest log end offset counted is {to}"),
                many => format!("the log end offsets of {} are {to}", offsets_list(many)),
            };
            let members: Vec<BrokerId> = log_end_offsets
                .iter()
                .map(|(member, _)| *member)
                .filter(|member| !joining.contains(member))
                .collect();
            let counted: Vec<String> = log_end_offsets
                .iter()
                .map(|(member, offset)| format!("{member} {offset}"))
                .collect();
            let joining = if joining.is_empty() {
                String::new()
            } else {
                format!(
                    ", counting {} as caught up and about to rejoin the ISR",
                    offsets_list(joining)
                )
            };
            format!(
                "{lowest}, the lowest among the leader {broker} and its ISR {} ({}){joining}",
                brokers(&members),
                counted.join(", ")
            )
        }
        HighWatermarkBasis::Follower {
            leader_high_watermark,
            log_end_offset,
        } => {
            if leader_high_watermark > log_end_offset {
                format!(
                    "the leader's fetch response carried high watermark \
                     {leader_high_watermark}, capped by {broker}'s log end offset \
                     {log_end_offset}"
                )
            } else {
                format!(
                    "the leader's fetch response carried high watermark \
                     {leader_high_watermark} ({broker}'s log end offset is {log_end_offset})"
                )
            }
        }
    }
}

fn divergence_sentence(
    reason: TruncationReason,
    leader: &str,
    broker: BrokerId,
    divergence: Divergence,
    truncate_to: watermark_broker_core::ids::Offset,
) -> String {
    let how = match reason {
        TruncationReason::DivergingEpoch => {
            format!("{leader} answered its fetch with a diverging epoch (KIP-595)")
        }
        _ => format!("{leader} answered its OffsetsForLeaderEpoch (KIP-101, KIP-279)"),
    };
    let local = match divergence.local_epoch_end {
        Some((epoch, end)) if epoch == divergence.leader_epoch => {
            format!("{broker}'s log holds {epoch} up to offset {end}")
        }
        Some((epoch, end)) => format!(
            "{broker}'s log lacks {} and its largest epoch below is {epoch}, ending at {end}",
            divergence.leader_epoch
        ),
        None => format!(
            "{broker}'s log has no epoch at or below {}",
            divergence.leader_epoch
        ),
    };
    format!(
        "{how}: the leader's {} ends at offset {}, {local}, so it keeps offsets below \
         {truncate_to}",
        divergence.leader_epoch, divergence.leader_end_offset
    )
}

/// Why a follower cut its log by the pre-KIP-279 rule: the end offset taken without its
/// epoch, and what comparing the epochs would have shown.
fn without_epoch_sentence(
    leader: &str,
    broker: BrokerId,
    divergence: Divergence,
    truncate_to: watermark_broker_core::ids::Offset,
) -> String {
    let compared = match divergence.local_epoch_end {
        Some((epoch, end)) if epoch == divergence.leader_epoch => format!(
            "the leader's end is for {epoch}, which {broker}'s log holds up to offset {end}"
        ),
        Some((epoch, end)) => format!(
            "the leader's end is for {}, which {broker}'s log lacks (its largest epoch below \
             is {epoch}, ending at {end})",
            divergence.leader_epoch
        ),
        None => format!(
            "the leader's end is for {}, and {broker}'s log has no epoch at or below it",
            divergence.leader_epoch
        ),
    };
    format!(
        "{leader} answered its OffsetsForLeaderEpoch with offset {}, and {broker} keeps \
         offsets below {truncate_to} without comparing epochs, as before KIP-279 (bug switch \
         `epoch-lookup-without-epoch`): {compared}",
        divergence.leader_end_offset
    )
}

#[cfg(test)]
#[path = "explain_change_tests.rs"]
mod tests;
