//! Consumer lag at the end of a run, per group and partition: the leader's log end offset
//! minus the group's committed offset (what `kafka-consumer-groups.sh --describe` shows).

use crate::checkers::ClusterView;
use crate::history::{History, OpBody, OpType};
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
    /// The group's committed offset: the last commit the coordinator accepted (`None`:
    /// the group never committed one).
    pub committed: Option<Offset>,
    /// `log_end_offset - committed`; `None` when either is unknown (Kafka's tool shows `-`).
    pub lag: Option<u64>,
}

impl World {
    /// Every group's lag, in group then partition order.
    pub fn group_lag(&self) -> Vec<GroupLag> {
        let committed = committed_offsets(&self.history);
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

/// Per group and partition, the offset of the last commit the history shows accepted.
fn committed_offsets(history: &History) -> BTreeMap<(GroupId, TopicPartition), Offset> {
    let mut committed = BTreeMap::new();
    for operation in &history.operations {
        if let (OpType::Ok, OpBody::Commit { group, offsets, .. }) =
            (operation.op_type, &operation.body)
        {
            for (partition, offset) in offsets {
                committed.insert((group.clone(), *partition), *offset);
            }
        }
    }
    committed
}

#[cfg(test)]
mod tests {
    use super::*;
    use watermark_broker_core::ids::{ClientId, PartitionId};
    use watermark_broker_core::topic::TopicName;

    fn commit(group: &str, offset: u64) -> OpBody {
        OpBody::Commit {
            group: GroupId(group.into()),
            offsets: vec![(
                TopicPartition::new(TopicName::from_static("events"), PartitionId(0)),
                Offset(offset),
            )],
            automatic: false,
            error: None,
        }
    }

    #[test]
    fn the_last_accepted_commit_counts_even_when_it_went_backwards() {
        let mut history = History::default();
        history.push(1, ClientId(0), OpType::Ok, commit("a", 7));
        history.push(2, ClientId(0), OpType::Fail, commit("a", 9));
        history.push(3, ClientId(1), OpType::Ok, commit("b", 2));
        history.push(4, ClientId(0), OpType::Ok, commit("a", 5));
        history.push(5, ClientId(0), OpType::Info, commit("a", 8));
        let partition = TopicPartition::new(TopicName::from_static("events"), PartitionId(0));
        let committed = committed_offsets(&history);
        assert_eq!(committed[&(GroupId("a".into()), partition)], Offset(5));
        assert_eq!(committed[&(GroupId("b".into()), partition)], Offset(2));
    }
}
