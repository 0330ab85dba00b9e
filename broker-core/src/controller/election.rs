//! Leader election and partition changes (`PartitionChangeBuilder`): the target ISR, the
//! eligible leader replicas (KIP-966), the best leader (ISR, then ELR once the ISR is empty,
//! then the last known leader, then, with `unclean_leader_election_enable`, any active
//! replica), the leader and partition epochs, and the events that report each change.

use super::{Controller, ControllerTimer, Step};
use crate::event::Event;
use crate::ids::{BrokerId, LeaderEpoch, PartitionEpoch};
use crate::mark::Mark;
use crate::metadata::PartitionState;
use crate::reason::{LeaderRule, PartitionChangeCause};
use crate::topic::TopicPartition;

/// What one partition change asks for (the inputs of Kafka's `PartitionChangeBuilder`).
#[derive(Clone, Debug)]
pub(super) struct PartitionChange {
    /// What started it, reported with the change so a reader learns why.
    pub(super) cause: PartitionChangeCause,
    /// The ISR wanted before the election (Kafka's `targetIsr`).
    pub(super) target_isr: Vec<BrokerId>,
    /// A broker that may not lead in this change (Kafka's `brokerToRemove`: being fenced or
    /// shutting down, while the registrations may not show it yet).
    pub(super) broker_to_remove: Option<BrokerId>,
    /// A broker that restarted after an unclean shutdown: it may not lead and leaves the
    /// ELR as well as the ISR (Kafka's `uncleanShutdownReplicas`, KIP-966).
    pub(super) unclean_shutdown_replica: Option<BrokerId>,
    /// Only the preferred (first) replica may be elected: a first election inside its grace.
    pub(super) preferred_only: bool,
}

impl PartitionChange {
    /// A change towards `target_isr` started by `cause`, with no broker excluded.
    pub(super) fn new(cause: PartitionChangeCause, target_isr: Vec<BrokerId>) -> PartitionChange {
        PartitionChange {
            cause,
            target_isr,
            broker_to_remove: None,
            unclean_shutdown_replica: None,
            preferred_only: false,
        }
    }
}

/// A leader choice (`PartitionChangeBuilder.ElectionResult`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LeaderChoice {
    leader: Option<BrokerId>,
    /// Chosen from outside the ISR and ELR: the ISR becomes just the leader.
    unclean: bool,
    /// Chosen as the last known leader (KIP-966), with ISR and ELR empty.
    last_known: bool,
    /// The rule that chose it.
    rule: LeaderRule,
}

/// Sorted, without duplicates.
fn sorted(mut brokers: Vec<BrokerId>) -> Vec<BrokerId> {
    brokers.sort();
    brokers.dedup();
    brokers
}

impl Controller {
    fn eligible_leader_replicas_enable(&self) -> bool {
        self.config.eligible_leader_replicas_enable
    }

    /// Kafka's `getTopicEffectiveMinIsr`: `min.insync.replicas`, capped by the replication
    /// factor.
    fn effective_min_isr(&self, state: &PartitionState) -> usize {
        let configured = self
            .topics
            .get(&state.partition.topic)
            .map_or(1, |topic| topic.min_insync_replicas);
        usize::try_from(configured)
            .unwrap_or(usize::MAX)
            .min(state.replicas.len())
    }

    fn unclean_enabled(&self, partition: TopicPartition) -> bool {
        self.topics
            .get(&partition.topic)
            .is_some_and(|topic| topic.unclean_leader_election_enable)
    }

    /// Kafka's `maybePopulateTargetElr`: while the target ISR is below the effective
    /// min.insync, every current ISR or ELR member outside it (and not just restarted after
    /// an unclean shutdown) is an eligible leader replica; at or above it, the ELR empties.
    fn target_elr(&self, current: &PartitionState, change: &PartitionChange) -> Vec<BrokerId> {
        if !self.eligible_leader_replicas_enable() {
            return Vec::new();
        }
        if change.target_isr.len() >= self.effective_min_isr(current) {
            return Vec::new();
        }
        let candidates = current.elr.iter().chain(&current.isr).copied();
        sorted(
            candidates
                .filter(|replica| !change.target_isr.contains(replica))
                .filter(|replica| Some(*replica) != change.unclean_shutdown_replica)
                .collect(),
        )
    }

    /// Kafka's `electAnyLeader` (and, inside the first-election grace, a preferred-only
    /// election): keep a still-valid leader, else the first valid replica in replica order
    /// (an ISR member, or an ELR member once the ISR is empty), else the last known leader,
    /// else an unclean choice when the topic allows it.
    fn choose_leader(
        &self,
        current: &PartitionState,
        change: &PartitionChange,
        target_elr: &[BrokerId],
    ) -> LeaderChoice {
        let acceptable = |replica: BrokerId| {
            Some(replica) != change.broker_to_remove
                && Some(replica) != change.unclean_shutdown_replica
                && self.state.is_active(replica)
        };
        let valid = |replica: BrokerId| {
            (change.target_isr.contains(&replica)
                || (change.target_isr.is_empty() && target_elr.contains(&replica)))
                && acceptable(replica)
        };
        let clean = |leader: BrokerId, rule: LeaderRule| LeaderChoice {
            leader: Some(leader),
            unclean: false,
            last_known: false,
            rule,
        };
        if change.preferred_only {
            return match current.replicas.first() {
                Some(&preferred) if valid(preferred) => clean(preferred, LeaderRule::Preferred),
                _ => LeaderChoice {
                    leader: current.leader,
                    unclean: false,
                    last_known: false,
                    rule: LeaderRule::NoneEligible,
                },
            };
        }
        if let Some(leader) = current.leader.filter(|leader| valid(*leader)) {
            return clean(leader, LeaderRule::Kept);
        }
        if let Some(&leader) = current.replicas.iter().find(|replica| valid(**replica)) {
            let rule = if change.target_isr.contains(&leader) {
                LeaderRule::FirstInIsr
            } else {
                LeaderRule::FirstInElr
            };
            return clean(leader, rule);
        }
        // KIP-966's last resort: ISR and ELR both empty, and the last known leader back.
        let last_known = self.eligible_leader_replicas_enable()
            && change.target_isr.is_empty()
            && target_elr.is_empty();
        if let [leader] = current.last_known_elr[..] {
            if last_known && acceptable(leader) {
                return LeaderChoice {
                    leader: Some(leader),
                    unclean: true,
                    last_known: true,
                    rule: LeaderRule::LastKnownLeader,
                };
            }
        }
        if self.unclean_enabled(current.partition) {
            if let Some(&leader) = current
                .replicas
                .iter()
                .find(|replica| acceptable(**replica))
            {
                return LeaderChoice {
                    leader: Some(leader),
                    unclean: true,
                    last_known: false,
                    rule: LeaderRule::Unclean,
                };
            }
        }
        LeaderChoice {
            leader: None,
            unclean: false,
            last_known: false,
            rule: LeaderRule::NoneEligible,
        }
    }

    /// Builds and applies one partition change (`PartitionChangeBuilder.build`): the ELR,
    /// the election, the ISR (an ELR leader's ISR is itself, an unclean leader's too; with
    /// ELR off an empty target leaves the ISR as it was: the last replica standing), the last
    /// known leader, then the epochs. No change, no effect.
    pub(super) fn change_partition(
        &mut self,
        partition: TopicPartition,
        change: PartitionChange,
        step: &mut Step,
    ) {
        let Some(current) = self.state.image.partitions.get(&partition).cloned() else {
            return;
        };
        let change = PartitionChange {
            target_isr: sorted(change.target_isr),
            ..change
        };
        let mut target_elr = self.target_elr(&current, &change);
        let choice = self.choose_leader(&current, &change, &target_elr);
        let leader_changed = choice.leader != current.leader;
        let mut target_isr = change.target_isr.clone();
        let mut from_elr = false;
        if let (true, Some(leader)) = (leader_changed, choice.leader) {
            if target_elr.contains(&leader) {
                target_isr = vec![leader];
                target_elr.retain(|replica| *replica != leader);
                from_elr = true;
            } else if choice.unclean {
                target_isr = vec![leader];
            }
        }
        if choice.unclean || !self.eligible_leader_replicas_enable() {
            target_elr.clear();
        }
        let isr = if target_isr.is_empty() && !self.eligible_leader_replicas_enable() {
            current.isr.clone()
        } else {
            target_isr
        };
        let last_known_elr = self.last_known_elr(&current, &isr, choice.leader);
        let next = PartitionState {
            leader: choice.leader,
            isr,
            elr: target_elr,
            last_known_elr,
            ..current.clone()
        };
        self.apply_partition_change(current, next, choice, from_elr, change.cause, step);
    }

    /// Kafka's `maybeUpdateLastKnownLeader`: the leader is remembered when the ISR empties,
    /// and forgotten once the partition has a leader again.
    fn last_known_elr(
        &self,
        current: &PartitionState,
        isr: &[BrokerId],
        leader: Option<BrokerId>,
    ) -> Vec<BrokerId> {
        if !self.eligible_leader_replicas_enable() {
            return Vec::new();
        }
        if isr.is_empty() && !current.isr.is_empty() {
            if let Some(previous) = current.leader {
                return vec![previous];
            }
        }
        if leader.is_some() {
            return Vec::new();
        }
        current.last_known_elr.clone()
    }

    /// Elects a leader for every partition that has none and can get one. A partition that
    /// never had a leader waits for its preferred replica until the first-election grace
    /// has passed; after that, and for every partition that lost its leader, the usual rule
    /// applies.
    pub(super) fn maybe_elect_offline_partitions(&mut self, step: &mut Step) {
        let in_grace = self
            .timers
            .deadline_ms(ControllerTimer::FirstElectionGrace)
            .is_some();
        let offline: Vec<PartitionState> = self
            .state
            .image
            .partitions
            .values()
            .filter(|state| state.leader.is_none())
            .cloned()
            .collect();
        for current in offline {
            let never_elected = current.leader_epoch == LeaderEpoch(0);
            let change = PartitionChange {
                preferred_only: never_elected && in_grace,
                ..PartitionChange::new(PartitionChangeCause::OfflinePartition, current.isr.clone())
            };
            self.change_partition(current.partition, change, step);
        }
    }

    /// Commits one partition change (`PartitionChangeRecord`): bumps the leader epoch if the
    /// leader changes and the partition epoch if anything changes; reports it with
    /// `LeaderElected` (leader changed) or `IsrAltered` (ISR or ELR only).
    fn apply_partition_change(
        &mut self,
        current: PartitionState,
        mut next: PartitionState,
        choice: LeaderChoice,
        from_elr: bool,
        cause: PartitionChangeCause,
        step: &mut Step,
    ) {
        let leader_changed = next.leader != current.leader;
        if next == current {
            return;
        }
        step.event(Event::PartitionChangeStarted {
            partition: next.partition,
            cause,
            rule: choice.rule,
            replicas: next.replicas.clone(),
            isr: next.isr.clone(),
            elr: next.elr.clone(),
        });
        if leader_changed {
            next.leader_epoch = current.leader_epoch.next();
        }
        next.partition_epoch = PartitionEpoch(current.partition_epoch.0 + 1);
        assert!(
            next.leader
                .into_iter()
                .all(|leader| next.isr.contains(&leader)),
            "leader not in ISR after a change: {next:?}"
        );
        if next
            .elr
            .iter()
            .any(|replica| !current.elr.contains(replica))
        {
            step.mark(Mark::ReplicaAddedToElr);
        }
        let partition = next.partition;
        let (leader, leader_epoch, isr, partition_epoch) = (
            next.leader,
            next.leader_epoch,
            next.isr.clone(),
            next.partition_epoch,
        );
        self.state.image.partitions.insert(partition, next);
        step.image_changed = true;
        step.state_changed = true;
        if !leader_changed {
            step.event(Event::IsrAltered {
                partition,
                isr,
                partition_epoch,
            });
            return;
        }
        step.event(Event::LeaderElected {
            partition,
            leader,
            leader_epoch,
            isr,
            partition_epoch,
            unclean: choice.unclean,
        });
        step.mark(match (leader, choice.unclean, choice.last_known) {
            (None, _, _) => Mark::PartitionOffline,
            (Some(_), _, true) => Mark::LastKnownLeaderElected,
            (Some(_), true, false) => Mark::UncleanElection,
            (Some(_), false, false) => Mark::CleanElection,
        });
        if from_elr {
            step.mark(Mark::ElectionFromElr);
        }
    }
}
