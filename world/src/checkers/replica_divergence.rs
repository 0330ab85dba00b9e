//! `ReplicaDivergence`, Watermark's own: after the liveness phase, replicas converge by
//! content. Every live replica of a partition holds the same record (offset, leader epoch,
//! value) as the partition's leader at every offset both hold, from the higher of their log
//! start offsets on. Equal log end offsets are not enough: KIP-101's second scenario leaves
//! two replicas with equal offsets and different records, which no fetch ever repairs.
//!
//! A replica that merely lacks the leader's tail has not converged, which is the liveness
//! phase's verdict, not a divergence. The leader is the live replica that leads in the
//! highest leader epoch. Checked once, in `finish`, walking both logs side by side. One
//! violation per (partition, replica, first differing offset); values are
//! `[leader's, replica's]`.

use super::replica_compare::same_record;
use super::ClusterView;
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::BTreeSet;
use watermark_broker_core::ids::{BrokerId, Offset};
use watermark_broker_core::record::Record;
use watermark_broker_core::replica_view::{ReplicaRole, ReplicaView};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::ReplicaDivergence;

#[derive(Debug, Default)]
pub(crate) struct ReplicaDivergence {
    reported: BTreeSet<(TopicPartition, BrokerId, Offset)>,
}

impl ReplicaDivergence {
    pub fn finish(
        &mut self,
        time_ms: u64,
        partitions: &BTreeSet<TopicPartition>,
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        let brokers = cluster.live_brokers();
        for partition in partitions {
            let Some((leader, leader_replica)) = current_leader(cluster, &brokers, *partition)
            else {
                continue;
            };
            for broker in brokers.iter().filter(|broker| **broker != leader) {
                let Some(replica) = cluster.replica(*broker, *partition) else {
                    continue;
                };
                let Some((expected, held)) = first_difference(&leader_replica, &replica) else {
                    continue;
                };
                if !self.reported.insert((*partition, *broker, expected.offset)) {
                    continue;
                }
                out.push(Violation {
                    checker: NAME,
                    partition: Some(*partition),
                    offsets: vec![expected.offset],
                    values: vec![expected.value_id(), held.value_id()],
                    time_ms,
                    description: format!(
                        "after the liveness phase {broker} holds value {} (epoch {}) at offset \
                         {} of {partition}, where leader {leader} (epoch {}) holds value {} \
                         (epoch {}): the replicas diverged",
                        held.value_id(),
                        held.leader_epoch,
                        expected.offset,
                        leader_replica.leader_epoch,
                        expected.value_id(),
                        expected.leader_epoch
                    ),
                });
            }
        }
    }
}

/// The live replica leading `partition` in the highest leader epoch (the lowest broker id on
/// a tie, which only a broken election could produce).
fn current_leader<'a>(
    cluster: &'a dyn ClusterView,
    brokers: &[BrokerId],
    partition: TopicPartition,
) -> Option<(BrokerId, ReplicaView<'a>)> {
    brokers
        .iter()
        .filter_map(|broker| Some((*broker, cluster.replica(*broker, partition)?)))
        .filter(|(_, replica)| replica.role == ReplicaRole::Leader)
        .min_by_key(|(broker, replica)| (std::cmp::Reverse(replica.leader_epoch), *broker))
}

/// The first offset both logs hold, at or above both log start offsets, where their records
/// differ: (leader's record, replica's record). Walks both logs once.
fn first_difference<'a>(
    leader: &ReplicaView<'a>,
    replica: &ReplicaView<'a>,
) -> Option<(&'a Record, &'a Record)> {
    let from = leader.log_start_offset.max(replica.log_start_offset);
    let mut leader_records = leader.records.iter().filter(|record| record.offset >= from);
    let mut replica_records = replica
        .records
        .iter()
        .filter(|record| record.offset >= from);
    let (mut expected, mut held) = (leader_records.next()?, replica_records.next()?);
    loop {
        if expected.offset < held.offset {
            expected = leader_records.next()?;
        } else if held.offset < expected.offset {
            held = replica_records.next()?;
        } else if !same_record(expected, held) {
            return Some((expected, held));
        } else {
            expected = leader_records.next()?;
            held = replica_records.next()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::checkers::test_support::*;
    use crate::checkers::ReplicaCheckers;
    use watermark_broker_core::event::Event;
    use watermark_broker_core::ids::NodeId;
    use watermark_broker_core::replica_view::ReplicaRole;

    /// Runs the end-of-run check over a cluster whose partition 0 the checkers know of.
    fn finish(cluster: &FakeCluster) -> Vec<crate::violation::Violation> {
        let mut checkers = ReplicaCheckers::new();
        let follow = Event::BecameFollower {
            partition: p(0),
            leader_epoch: e(4),
            leader: Some(b(2)),
        };
        checkers.observe(5, NodeId::Broker(b(1)), &follow, cluster);
        only(&checkers.finish(100, cluster), "ReplicaDivergence")
    }

    /// KIP-101's second scenario, after the fact: equal log end offsets, different records
    /// from offset 2 on.
    fn diverged_with_equal_offsets() -> FakeCluster {
        let mut cluster = FakeCluster::new(&[1, 2]);
        cluster.set_replica(
            1,
            0,
            ReplicaRole::Follower,
            4,
            &[],
            &[(0, 1, 10), (1, 1, 11), (2, 1, 12), (3, 4, 31)],
        );
        cluster.set_replica(
            2,
            0,
            ReplicaRole::Leader,
            4,
            &[1, 2],
            &[(0, 1, 10), (1, 1, 11), (2, 4, 30), (3, 4, 31)],
        );
        cluster
    }

    #[test]
    fn replicas_with_equal_offsets_and_different_records_are_caught() {
        let violations = finish(&diverged_with_equal_offsets());
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].partition, Some(p(0)));
        assert_eq!(violations[0].offsets, vec![o(2)]);
        assert_eq!(violations[0].values, vec![30, 12]);
        assert_eq!(violations[0].time_ms, 100);
        assert!(
            violations[0].description.contains("b1"),
            "{}",
            violations[0]
        );
    }

    #[test]
    fn the_same_value_in_another_epoch_is_a_different_record() {
        let mut cluster = FakeCluster::new(&[1, 2]);
        cluster.set_replica(1, 0, ReplicaRole::Follower, 2, &[], &[(0, 1, 10)]);
        cluster.set_replica(2, 0, ReplicaRole::Leader, 2, &[1, 2], &[(0, 2, 10)]);
        assert_eq!(finish(&cluster).len(), 1);
    }

    #[test]
    fn identical_replicas_a_replica_behind_and_deleted_prefixes_pass() {
        let mut cluster = FakeCluster::new(&[1, 2, 3]);
        let log = [(0, 1, 10), (1, 1, 11), (2, 4, 30)];
        cluster.set_replica(2, 0, ReplicaRole::Leader, 4, &[1, 2, 3], &log);
        cluster.set_replica(1, 0, ReplicaRole::Follower, 4, &[], &log);
        // Broker 3 deleted offsets below 2 and has the rest; a behind replica is liveness'
        // business.
        cluster.set_replica(
            3,
            0,
            ReplicaRole::Follower,
            4,
            &[],
            &[(0, 9, 99), (2, 4, 30)],
        );
        cluster.replica_mut(3, 0).log_start_offset = o(2);
        cluster.set_replica(4, 0, ReplicaRole::Follower, 4, &[], &log[..1]);
        cluster.live.insert(b(4));
        assert!(finish(&cluster).is_empty());
    }

    #[test]
    fn the_leader_of_the_highest_epoch_is_the_reference() {
        let mut cluster = diverged_with_equal_offsets();
        // A superseded leader of epoch 1 is judged against the epoch-4 leader, not the
        // other way round.
        cluster.replica_mut(1, 0).role = ReplicaRole::Leader;
        cluster.replica_mut(1, 0).leader_epoch = e(1);
        let violations = finish(&cluster);
        assert_eq!(violations.len(), 1);
        assert!(
            violations[0].description.contains("leader b2"),
            "{}",
            violations[0]
        );
    }
}
