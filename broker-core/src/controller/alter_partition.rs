//! AlterPartition (KIP-497): a leader's ISR proposal, validated in
//! `ReplicationControlManager.alterPartition`'s spirit and docs/PROTOCOL.md's order.

use super::{Controller, Reply, Step};
use crate::error::ErrorCode;
use crate::ids::BrokerId;
use crate::mark::Mark;
use crate::protocol::AlterPartitionRequest;
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
                self.apply_partition_change(
                    request.partition,
                    Some(request.broker),
                    isr,
                    false,
                    step,
                );
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

    /// AlterPartition validation, in `ReplicationControlManager.alterPartition`'s spirit and
    /// docs/PROTOCOL.md's order. Returns the new ISR (sorted, deduplicated) when accepted.
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
            ref new_isr,
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
        let isr: Vec<BrokerId> = new_isr
            .iter()
            .copied()
            .collect::<BTreeSet<BrokerId>>()
            .into_iter()
            .collect();
        if !isr.contains(&broker) {
            return Err(ErrorCode::IneligibleReplica);
        }
        // Only additions are checked for liveness: a member already in the ISR may be a
        // broker that never registered (the ISR starts as every replica), and refusing a
        // shrink that keeps it would leave the leader unable to shrink anything.
        let ineligible = isr.iter().any(|member| {
            !state.replicas.contains(member)
                || (!state.isr.contains(member) && !self.state.is_unfenced(*member))
        });
        if ineligible {
            return Err(ErrorCode::IneligibleReplica);
        }
        Ok(isr)
    }
}
