//! AlterPartition (KIP-497): a leader's ISR proposal, validated as
//! `ReplicationControlManager.alterPartition` does, including KIP-903's broker epochs.

use super::election::PartitionChange;
use super::{Controller, Reply, Step};
use crate::error::ErrorCode;
use crate::ids::BrokerId;
use crate::mark::Mark;
use crate::protocol::{AlterPartitionRequest, BrokerState};
use crate::reason::PartitionChangeCause;
use std::collections::BTreeSet;

impl Controller {
    /// Applies an accepted proposal as a partition change and answers either way.
    pub(super) fn handle_alter_partition(
        &mut self,
        request: &AlterPartitionRequest,
        step: &mut Step,
    ) -> Reply {
        let result = match self.validate_alter_partition(request) {
            Ok(isr) => {
                let cause = PartitionChangeCause::AlterPartition {
                    leader: request.broker,
                };
                let change = PartitionChange::new(cause, isr);
                self.change_partition(request.partition, change, step);
                step.mark(Mark::AlterPartitionAccepted);
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
    ) -> Result<Vec<BrokerId>, ErrorCode> {
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
        if request
            .new_isr_with_epochs
            .iter()
            .any(|member| !self.is_eligible_isr_member(*member))
        {
            return Err(ErrorCode::IneligibleReplica);
        }
        Ok(isr)
    }

    /// Kafka's `ineligibleReplicasForIsr`: every proposed member must be registered, not in
    /// controlled shutdown, not fenced, and (KIP-903) named with the broker epoch of its
    /// current registration, so a member that restarted and may have lost records cannot be
    /// kept in (or added to) the ISR on the strength of its previous incarnation's fetches.
    fn is_eligible_isr_member(&self, member: BrokerState) -> bool {
        self.state
            .brokers
            .get(&member.broker_id)
            .is_some_and(|registration| {
                !registration.in_controlled_shutdown
                    && !registration.fenced
                    && member
                        .broker_epoch
                        .is_none_or(|epoch| epoch == registration.broker_epoch)
            })
    }
}
