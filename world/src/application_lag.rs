//! Consumer lag at the end of a run, per group and partition: the leader's log end offset
//! minus the group's committed offset (what `kafka-consumer-groups.sh --describe` shows).

use crate::checkers::{AcceptedCommit, ClusterView};
use crate::world::World;
use serde::Serialize;
use std::collections::BTreeMap;
use watermark_broker_core::ids::{GroupId, Offset};
use watermark_broker_core::topic::TopicPartition;

/// One group's lag on one partition it subscribes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupLag {
    pub group: GroupId,
    pub partition: TopicPartition,
    /// The partition leader's log end offset (`None`: no leader at the end).
    pub log_end_offset: Option<Offset>,
    /// The group's committed offset: the last commit the coordinator accepted, a
    /// transactional one once its COMMIT marker made it the group's (`None`: the group never
    /// committed one).
    pub committed: Option<Offset>,
    /// `log_end_offset - committed`; `None` when either is unknown (Kafka's tool shows `-`).
    pub lag: Option<u64>,
}

impl World {
    /// Every group's lag, in group then partition order, from the commits the coordinators
    /// accepted (the run's `CoordinatorLog`).
    pub fn group_lag(&self, accepted: &[AcceptedCommit]) -> Vec<GroupLag> {
        let committed = committed_offsets(accepted);
        let view = self.cluster_view();
        let mut subscribed: BTreeMap<GroupId, Vec<TopicPartition>> = BTreeMap::new();
        for (index, workload) in self.scenario.consumers.iter().enumerate() {
            if let Some(group) = workload.group() {
                let partitions = subscribed.entry(group).or_default();
                for partition in self.scenario.subscribed_partitions(index) {
                    if !partitions.contains(&partition) {
                        partitions.push(partition);
                    }
                }
            }
        }
        let mut lags = Vec::new();
        for (group, mut partitions) in subscribed {
            partitions.sort();
            for partition in partitions {
                let log_end_offset = self
                    .leader_of(partition)
                    .and_then(|leader| view.replica(leader, partition))
                    .map(|replica| replica.log_end_offset);
                let committed = committed.get(&(group.clone(), partition)).copied();
                let lag = log_end_offset
                    .zip(committed)
                    .map(|(end, committed)| end.0.saturating_sub(committed.0));
                lags.push(GroupLag {
                    group: group.clone(),
                    partition,
                    log_end_offset,
                    committed,
                    lag,
                });
            }
        }
        lags
    }
}

/// Per group and partition, the offset of the last commit the coordinators accepted, in
/// the order they accepted them (what the coordinator holds, whatever the client heard).
fn committed_offsets(accepted: &[AcceptedCommit]) -> BTreeMap<(GroupId, TopicPartition), Offset> {
    let mut committed = BTreeMap::new();
    for commit in accepted {
        for (partition, offset) in &commit.offsets {
            committed.insert((commit.group.clone(), *partition), *offset);
        }
    }
    committed
}

#[cfg(test)]
#[path = "application_lag_tests.rs"]
mod tests;
