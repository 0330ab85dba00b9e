//! Leader election and partition changes (`PartitionChangeBuilder`): the best leader from
//! the ISR (or, with `unclean_leader_election_enable`, from any unfenced replica), the leader
//! and partition epochs, and the events that report each change.

use super::{Controller, ControllerTimer, Step};
use crate::event::Event;
use crate::ids::{BrokerId, LeaderEpoch, PartitionEpoch};
use crate::mark::Mark;
use crate::topic::TopicPartition;

/// A leader choice (`PartitionChangeBuilder.BestLeader`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct LeaderChoice {
    pub(super) leader: BrokerId,
    /// Chosen from outside the ISR.
    pub(super) unclean: bool,
}

impl Controller {
    /// The best leader from `isr` and the unfenced replicas, in replica order: the first
    /// unfenced ISR member (clean), else, when `unclean_leader_election_enable`, the first
    /// unfenced replica (unclean), else none (`PartitionChangeBuilder.BestLeader`).
    pub(super) fn choose_leader(
        &self,
        partition: TopicPartition,
        replicas: &[BrokerId],
        isr: &[BrokerId],
    ) -> Option<LeaderChoice> {
        let clean = replicas
            .iter()
            .find(|replica| isr.contains(replica) && self.state.is_unfenced(**replica));
        if let Some(leader) = clean {
            return Some(LeaderChoice {
                leader: *leader,
                unclean: false,
            });
        }
        let unclean_enabled = self
            .topics
            .get(&partition.topic)
            .is_some_and(|topic| topic.unclean_leader_election_enable);
        if !unclean_enabled {
            return None;
        }
        replicas
            .iter()
            .find(|replica| self.state.is_unfenced(**replica))
            .map(|leader| LeaderChoice {
                leader: *leader,
                unclean: true,
            })
    }

    /// Makes `choice` the leader. An unclean leader's ISR becomes just itself: the others
    /// may hold records it lacks, and it cannot know which (this is where data is lost).
    pub(super) fn elect(
        &mut self,
        partition: TopicPartition,
        choice: LeaderChoice,
        isr: Vec<BrokerId>,
        step: &mut Step,
    ) {
        let isr = if choice.unclean {
            vec![choice.leader]
        } else {
            isr
        };
        self.apply_partition_change(partition, Some(choice.leader), isr, choice.unclean, step);
    }

    /// Elects a leader for every partition that has none and can get one. A partition that
    /// never had a leader waits for its preferred replica until the first-election grace
    /// has passed; after that, and for every partition that lost its leader, the usual rule
    /// applies (clean from the ISR, else unclean if enabled).
    pub(super) fn maybe_elect_offline_partitions(&mut self, step: &mut Step) {
        let partitions: Vec<TopicPartition> = self.state.image.partitions.keys().copied().collect();
        for partition in partitions {
            let current = self.state.image.partitions[&partition].clone();
            if current.leader.is_some() {
                continue;
            }
            let never_elected = current.leader_epoch == LeaderEpoch(0);
            let choice = if never_elected
                && self
                    .timers
                    .deadline_ms(ControllerTimer::FirstElectionGrace)
                    .is_some()
            {
                current
                    .replicas
                    .first()
                    .filter(|preferred| {
                        current.isr.contains(preferred) && self.state.is_unfenced(**preferred)
                    })
                    .map(|preferred| LeaderChoice {
                        leader: *preferred,
                        unclean: false,
                    })
            } else {
                self.choose_leader(partition, &current.replicas, &current.isr)
            };
            if let Some(choice) = choice {
                self.elect(partition, choice, current.isr.clone(), step);
            }
        }
    }

    /// Applies one partition change (`PartitionChangeRecord`): bumps the leader epoch if the
    /// leader changes and the partition epoch if anything changes; reports it with
    /// `LeaderElected` (leader changed) or `IsrAltered` (ISR only). No change, no effect.
    pub(super) fn apply_partition_change(
        &mut self,
        partition: TopicPartition,
        leader: Option<BrokerId>,
        isr: Vec<BrokerId>,
        unclean: bool,
        step: &mut Step,
    ) {
        let Some(state) = self.state.image.partitions.get_mut(&partition) else {
            return;
        };
        let leader_changed = state.leader != leader;
        if !leader_changed && state.isr == isr {
            return;
        }
        if leader_changed {
            state.leader_epoch = state.leader_epoch.next();
        }
        state.leader = leader;
        state.isr = isr;
        state.partition_epoch = PartitionEpoch(state.partition_epoch.0 + 1);
        assert!(
            state
                .leader
                .into_iter()
                .all(|leader| state.isr.contains(&leader)),
            "leader not in ISR after a change: {state:?}"
        );
        assert!(!state.isr.is_empty(), "empty ISR after a change: {state:?}");
        let (leader_epoch, isr, partition_epoch) =
            (state.leader_epoch, state.isr.clone(), state.partition_epoch);
        step.image_changed = true;
        step.state_changed = true;
        if leader_changed {
            step.event(Event::LeaderElected {
                partition,
                leader,
                leader_epoch,
                isr,
                partition_epoch,
                unclean,
            });
            step.mark(match (leader, unclean) {
                (None, _) => Mark::PartitionOffline,
                (Some(_), false) => Mark::CleanElection,
                (Some(_), true) => Mark::UncleanElection,
            });
        } else {
            step.event(Event::IsrAltered {
                partition,
                isr,
                partition_epoch,
            });
        }
    }
}
