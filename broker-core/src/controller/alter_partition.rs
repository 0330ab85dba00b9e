//! AlterPartition (KIP-497): a leader's ISR proposal, validated as
//! `ReplicationControlManager.alterPartition` does, including the eligibility of every
//! proposed member (`ineligibleReplicasForIsr`): registered, not in controlled shutdown and
//! not fenced (KIP-841, Kafka 3.3) and named with its current broker epoch (KIP-903, Kafka
//! 3.5). The switches `isr-accepts-fenced-replicas` and `isr-accepts-stale-broker-epoch`
//! turn each check off again, as the releases before it had none.

use super::election::PartitionChange;
use super::{Controller, Reply, Step};
use crate::bugs::BugSwitches;
use crate::error::ErrorCode;
use crate::ids::BrokerId;
use crate::mark::Mark;
use crate::protocol::{AlterPartitionRequest, BrokerState};
use crate::reason::PartitionChangeCause;
use std::collections::BTreeSet;

/// Why a proposed ISR member may not join (the reasons of Kafka's `IneligibleReplica`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ineligibility {
    /// The controller has no registration for it (KIP-841).
    NotRegistered,
    /// It is in controlled shutdown (KIP-841).
    ShuttingDown,
    /// It is fenced (KIP-841).
    Fenced,
    /// The proposal names it with a broker epoch other than its registration's: the
    /// fetches it was judged on came from an earlier incarnation (KIP-903).
    StaleBrokerEpoch,
}

impl Ineligibility {
    /// Whether a switch restores a release that did not check this: before KIP-841 the
    /// controller looked only at replica membership, before KIP-903 the request carried no
    /// broker epochs.
    fn excused_by(self, bugs: &BugSwitches) -> bool {
        match self {
            Ineligibility::NotRegistered | Ineligibility::ShuttingDown | Ineligibility::Fenced => {
                bugs.isr_accepts_fenced_replicas
            }
            Ineligibility::StaleBrokerEpoch => bugs.isr_accepts_stale_broker_epoch,
        }
    }

    /// The mark an accepted proposal reports when a switch let this member through.
    fn accepted_mark(self) -> Mark {
        match self {
            Ineligibility::NotRegistered | Ineligibility::ShuttingDown | Ineligibility::Fenced => {
                Mark::IsrAcceptedFencedReplica
            }
            Ineligibility::StaleBrokerEpoch => Mark::IsrAcceptedStaleBrokerEpoch,
        }
    }
}

/// An accepted proposal: the new ISR, and the marks of the members only a switch let in.
struct AcceptedIsr {
    isr: Vec<BrokerId>,
    excused: BTreeSet<Mark>,
}

impl Controller {
    /// Applies an accepted proposal as a partition change and answers either way.
    pub(super) fn handle_alter_partition(
        &mut self,
        request: &AlterPartitionRequest,
        step: &mut Step,
    ) -> Reply {
        let result = match self.validate_alter_partition(request) {
            Ok(AcceptedIsr { isr, excused }) => {
                let cause = PartitionChangeCause::AlterPartition {
                    leader: request.broker,
                };
                let change = PartitionChange::new(cause, isr);
                self.change_partition(request.partition, change, step);
                step.mark(Mark::AlterPartitionAccepted);
                for mark in excused {
                    step.mark(mark);
                }
                Ok(())
            }
            Err(error) => {
                step.mark(Mark::AlterPartitionRejected);
                Err(error)
            }
        };
        Reply::AlterPartition {
            broker: request.broker,
            partition: request.partition,
            result,
        }
    }

    /// AlterPartition validation, in `ReplicationControlManager.validateAlterPartitionData`'s
    /// order. Returns the new ISR (sorted, deduplicated) when accepted.
    fn validate_alter_partition(
        &self,
        request: &AlterPartitionRequest,
    ) -> Result<AcceptedIsr, ErrorCode> {
        let AlterPartitionRequest {
            broker,
            broker_epoch,
            partition,
            leader_epoch,
            partition_epoch,
            ..
        } = *request;
        let current_epoch = self.state.brokers.get(&broker).is_some_and(|registration| {
            !registration.fenced && registration.broker_epoch == broker_epoch
        });
        if !current_epoch {
            return Err(ErrorCode::StaleBrokerEpoch);
        }
        // An unknown partition has no leader, so the sender is not its leader.
        let state = self
            .state
            .image
            .partition(partition)
            .ok_or(ErrorCode::FencedLeaderEpoch)?;
        if state.leader != Some(broker) || state.leader_epoch != leader_epoch {
            return Err(ErrorCode::FencedLeaderEpoch);
        }
        if state.partition_epoch != partition_epoch {
            return Err(ErrorCode::InvalidUpdateVersion);
        }
        let isr: Vec<BrokerId> = request
            .new_isr()
            .into_iter()
            .collect::<BTreeSet<BrokerId>>()
            .into_iter()
            .collect();
        // Kafka answers INVALID_REQUEST for an ISR outside the replicas or without the
        // leader; this model has no such code and keeps INELIGIBLE_REPLICA for both.
        if !isr.contains(&broker) || isr.iter().any(|member| !state.replicas.contains(member)) {
            return Err(ErrorCode::IneligibleReplica);
        }
        let mut excused = BTreeSet::new();
        for member in &request.new_isr_with_epochs {
            for reason in self.ineligibilities(*member) {
                if !reason.excused_by(&self.bugs) {
                    return Err(ErrorCode::IneligibleReplica);
                }
                excused.insert(reason.accepted_mark());
            }
        }
        Ok(AcceptedIsr { isr, excused })
    }

    /// Kafka's `ineligibleReplicasForIsr`, every reason at once: a proposed member must be
    /// registered, not in controlled shutdown, not fenced (KIP-841), and named with the
    /// broker epoch of its current registration or with none (KIP-903), so a member that
    /// restarted and may have lost records cannot be kept in (or added to) the ISR on the
    /// strength of its previous incarnation's fetches. Kafka stops at the first reason; all
    /// are listed here so that a switch excusing one does not hide another.
    fn ineligibilities(&self, member: BrokerState) -> Vec<Ineligibility> {
        let Some(registration) = self.state.brokers.get(&member.broker_id) else {
            return vec![Ineligibility::NotRegistered];
        };
        let mut reasons = Vec::new();
        if registration.in_controlled_shutdown {
            reasons.push(Ineligibility::ShuttingDown);
        }
        if registration.fenced {
            reasons.push(Ineligibility::Fenced);
        }
        if member
            .broker_epoch
            .is_some_and(|epoch| epoch != registration.broker_epoch)
        {
            reasons.push(Ineligibility::StaleBrokerEpoch);
        }
        reasons
    }
}
