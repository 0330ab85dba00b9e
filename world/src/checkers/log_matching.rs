//! `LogMatching`, after Raft's Log Matching property (Ongaro, §5.3: two logs with an entry of
//! the same index and term hold the same entry) as Kafka's KIP-101 leader epochs carry it over,
//! and after `RaftEventSimulationTest`'s `ConsistentCommittedData`: two replicas never hold
//! different values at the same (partition, offset) with the same leader epoch.
//!
//! Tracked incrementally from every broker's `RecordsAppended` (the first value seen at a
//! (partition, offset, leader epoch) is the reference, whichever broker wrote it), and checked
//! pairwise across the live replicas' logs in `finish`. One violation per (partition, offset,
//! leader epoch); values are `[reference, conflicting]`.

use super::ClusterView;
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{BrokerId, LeaderEpoch, NodeId, Offset};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::LogMatching;

#[derive(Debug, Default)]
pub(crate) struct LogMatching {
    /// The first value appended at each (partition, offset, leader epoch), and by whom.
    appended: BTreeMap<(TopicPartition, Offset, LeaderEpoch), (u64, BrokerId)>,
    reported: BTreeSet<(TopicPartition, Offset, LeaderEpoch)>,
}

impl LogMatching {
    pub fn observe(&mut self, time_ms: u64, node: NodeId, event: &Event, out: &mut Vec<Violation>) {
        let (
            NodeId::Broker(broker),
            Event::RecordsAppended {
                partition, records, ..
            },
        ) = (node, event)
        else {
            return;
        };
        for record in records {
            let key = (*partition, record.offset, record.leader_epoch);
            let (value, holder) = *self.appended.entry(key).or_insert((record.value, broker));
            if value != record.value {
                self.report(time_ms, key, (value, holder), (record.value, broker), out);
            }
        }
    }

    /// Compares every pair of live replicas of every partition.
    pub fn finish(
        &mut self,
        time_ms: u64,
        partitions: &BTreeSet<TopicPartition>,
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        let brokers = cluster.live_brokers();
        for partition in partitions {
            let mut held: BTreeMap<(Offset, LeaderEpoch), (u64, BrokerId)> = BTreeMap::new();
            for broker in &brokers {
                let Some(replica) = cluster.replica(*broker, *partition) else {
                    continue;
                };
                for record in replica.records {
                    let (value, holder) = *held
                        .entry((record.offset, record.leader_epoch))
                        .or_insert((record.value_id(), *broker));
                    if value != record.value_id() {
                        let key = (*partition, record.offset, record.leader_epoch);
                        self.report(
                            time_ms,
                            key,
                            (value, holder),
                            (record.value_id(), *broker),
                            out,
                        );
                    }
                }
            }
        }
    }

    fn report(
        &mut self,
        time_ms: u64,
        key: (TopicPartition, Offset, LeaderEpoch),
        reference: (u64, BrokerId),
        conflicting: (u64, BrokerId),
        out: &mut Vec<Violation>,
    ) {
        if !self.reported.insert(key) {
            return;
        }
        let (partition, offset, leader_epoch) = key;
        out.push(Violation {
            checker: NAME,
            partition: Some(partition),
            offsets: vec![offset],
            values: vec![reference.0, conflicting.0],
            time_ms,
            description: format!(
                "{} holds value {} and {} holds value {} at offset {offset} of {partition}, both \
                 in leader epoch {leader_epoch}",
                reference.1, reference.0, conflicting.1, conflicting.0
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::checkers::test_support::*;
    use crate::checkers::Checker;
    use crate::checkers::ReplicaCheckers;
    use watermark_broker_core::event::{Event, RecordSummary};
    use watermark_broker_core::ids::NodeId;
    use watermark_broker_core::replica_view::ReplicaRole;

    fn appended(as_leader: bool, records: &[(u64, u32, u64)]) -> Event {
        Event::RecordsAppended {
            partition: p(0),
            as_leader,
            records: records
                .iter()
                .map(|(offset, epoch, value)| RecordSummary {
                    offset: o(*offset),
                    leader_epoch: e(*epoch),
                    value: *value,
                })
                .collect(),
        }
    }

    #[test]
    fn different_values_at_one_offset_and_epoch_are_caught_on_append() {
        let cluster = FakeCluster::new(&[1, 2]);
        let mut checkers = ReplicaCheckers::new();
        let leader = appended(true, &[(0, 1, 10), (1, 1, 11)]);
        assert!(checkers
            .observe(10, NodeId::Broker(b(1)), &leader, &cluster)
            .is_empty());
        let follower = appended(false, &[(0, 1, 10), (1, 1, 99)]);
        let violations = checkers.observe(20, NodeId::Broker(b(2)), &follower, &cluster);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].checker, Checker::LogMatching);
        assert_eq!(violations[0].partition, Some(p(0)));
        assert_eq!(violations[0].offsets, vec![o(1)]);
        assert_eq!(violations[0].values, vec![11, 99]);
    }

    #[test]
    fn diverged_live_replicas_are_caught_at_finish() {
        let mut cluster = FakeCluster::new(&[1, 2, 3]);
        cluster.set_replica(
            1,
            0,
            ReplicaRole::Leader,
            2,
            &[1, 2],
            &[(0, 1, 10), (1, 2, 11)],
        );
        cluster.set_replica(
            2,
            0,
            ReplicaRole::Follower,
            2,
            &[],
            &[(0, 1, 10), (1, 2, 12)],
        );
        cluster.set_replica(3, 0, ReplicaRole::Follower, 2, &[], &[(0, 1, 10)]);
        let mut checkers = ReplicaCheckers::new();
        // Any event naming the partition tells the checkers it exists.
        let follow = Event::BecameFollower {
            partition: p(0),
            leader_epoch: e(2),
            leader: Some(b(1)),
        };
        assert!(checkers
            .observe(5, NodeId::Broker(b(3)), &follow, &cluster)
            .is_empty());
        let violations = checkers.finish(100, &cluster);
        let matching = only(&violations, "LogMatching");
        assert_eq!(matching.len(), 1, "{violations:?}");
        assert_eq!(matching[0].offsets, vec![o(1)]);
        assert_eq!(matching[0].values, vec![11, 12]);
        assert_eq!(matching[0].time_ms, 100);
    }

    #[test]
    fn same_offset_in_different_epochs_may_differ() {
        let mut cluster = FakeCluster::new(&[1, 2]);
        cluster.set_replica(
            1,
            0,
            ReplicaRole::Leader,
            2,
            &[1, 2],
            &[(0, 1, 10), (1, 2, 11)],
        );
        cluster.set_replica(
            2,
            0,
            ReplicaRole::Follower,
            2,
            &[],
            &[(0, 1, 10), (1, 1, 12)],
        );
        let mut checkers = ReplicaCheckers::new();
        assert!(checkers
            .observe(
                10,
                NodeId::Broker(b(2)),
                &appended(false, &[(1, 1, 12)]),
                &cluster
            )
            .is_empty());
        assert!(checkers
            .observe(
                20,
                NodeId::Broker(b(1)),
                &appended(true, &[(1, 2, 11)]),
                &cluster
            )
            .is_empty());
        assert!(checkers.finish(100, &cluster).is_empty());
    }
}
