//! `LeaderInIsr`, after the TLA+ specification of Kafka's replication protocol
//! (`hachikuji/kafka-specification`, `KafkaReplication.tla`, the `LeaderInIsr` invariant:
//! "the leader should always be in the ISR, because even if all brokers failed, we still keep
//! the leader in ISR"): a partition's leader is always a member of its ISR.
//!
//! Checked on every statement of who leads with which ISR:
//! - the controller's `LeaderElected` (a leader of `None` is fine: the partition is offline);
//! - the controller's `IsrAltered`, against the leader the controller last elected for that
//!   partition;
//! - a broker's `BecameLeader`, with the broker itself as leader;
//! - a broker's `IsrUpdated`, when that broker leads the partition now (per the cluster view).
//!
//! One violation per distinct (partition, speaker, kind of statement, leader, ISR).

use super::{broker_set, is_leader, ClusterView};
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{BrokerId, NodeId};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::LeaderInIsr;

#[derive(Debug, Default)]
pub(crate) struct LeaderInIsr {
    /// The leader the controller last elected, per partition.
    controller_leaders: BTreeMap<TopicPartition, Option<BrokerId>>,
    reported: BTreeSet<(
        TopicPartition,
        NodeId,
        &'static str,
        BrokerId,
        Vec<BrokerId>,
    )>,
}

impl LeaderInIsr {
    pub fn observe(
        &mut self,
        time_ms: u64,
        node: NodeId,
        event: &Event,
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        let (partition, leader, isr, what) = match (node, event) {
            (
                NodeId::Controller,
                Event::LeaderElected {
                    partition,
                    leader,
                    isr,
                    ..
                },
            ) => {
                self.controller_leaders.insert(*partition, *leader);
                let Some(leader) = leader else { return };
                (*partition, *leader, isr, "the controller elected")
            }
            (NodeId::Controller, Event::IsrAltered { partition, isr, .. }) => {
                let Some(Some(leader)) = self.controller_leaders.get(partition).copied() else {
                    return;
                };
                (
                    *partition,
                    leader,
                    isr,
                    "the controller altered the ISR under",
                )
            }
            (NodeId::Broker(broker), Event::BecameLeader { partition, isr, .. }) => {
                (*partition, broker, isr, "became leader:")
            }
            (NodeId::Broker(broker), Event::IsrUpdated { partition, to, .. }) => {
                if !is_leader(cluster, broker, *partition) {
                    return;
                }
                (*partition, broker, to, "the leader updated the ISR:")
            }
            _ => return,
        };
        if isr.contains(&leader)
            || !self
                .reported
                .insert((partition, node, what, leader, isr.clone()))
        {
            return;
        }
        out.push(Violation {
            checker: NAME,
            partition: Some(partition),
            offsets: Vec::new(),
            values: Vec::new(),
            time_ms,
            description: format!(
                "{what} leader {leader} of {partition} is not in its ISR {} (reported by {node})",
                broker_set(isr)
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::checkers::test_support::*;
    use crate::checkers::Checker;
    use crate::checkers::ReplicaCheckers;
    use watermark_broker_core::event::Event;
    use watermark_broker_core::ids::{NodeId, PartitionEpoch};
    use watermark_broker_core::replica_view::ReplicaRole;

    fn elected(leader: Option<u32>, isr: &[u32]) -> Event {
        Event::LeaderElected {
            partition: p(0),
            leader: leader.map(b),
            leader_epoch: e(1),
            isr: isr.iter().map(|broker| b(*broker)).collect(),
            partition_epoch: PartitionEpoch(1),
            unclean: false,
        }
    }

    #[test]
    fn controller_electing_a_leader_outside_the_isr_is_caught() {
        let cluster = FakeCluster::new(&[1, 2, 3]);
        let mut checkers = ReplicaCheckers::new();
        let violations =
            checkers.observe(50, NodeId::Controller, &elected(Some(3), &[1, 2]), &cluster);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].checker, Checker::LeaderInIsr);
        assert_eq!(violations[0].partition, Some(p(0)));
        assert_eq!(violations[0].time_ms, 50);
        // The same statement again is the same anomaly, reported once.
        assert!(checkers
            .observe(60, NodeId::Controller, &elected(Some(3), &[1, 2]), &cluster)
            .is_empty());
    }

    #[test]
    fn isr_altered_to_exclude_the_elected_leader_is_caught() {
        let cluster = FakeCluster::new(&[1, 2, 3]);
        let mut checkers = ReplicaCheckers::new();
        assert!(checkers
            .observe(
                10,
                NodeId::Controller,
                &elected(Some(1), &[1, 2, 3]),
                &cluster
            )
            .is_empty());
        let altered = Event::IsrAltered {
            partition: p(0),
            isr: vec![b(2), b(3)],
            partition_epoch: PartitionEpoch(2),
        };
        let violations = checkers.observe(20, NodeId::Controller, &altered, &cluster);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].checker, Checker::LeaderInIsr);
    }

    #[test]
    fn broker_leader_outside_its_own_isr_is_caught() {
        let mut cluster = FakeCluster::new(&[1, 2]);
        cluster.set_replica(1, 0, ReplicaRole::Leader, 1, &[2], &[]);
        let mut checkers = ReplicaCheckers::new();
        let became = Event::BecameLeader {
            partition: p(0),
            leader_epoch: e(1),
            isr: vec![b(2)],
            log_end_offset: o(0),
        };
        let violations = checkers.observe(10, NodeId::Broker(b(1)), &became, &cluster);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].checker, Checker::LeaderInIsr);

        let updated = Event::IsrUpdated {
            partition: p(0),
            from: vec![b(1), b(2)],
            to: vec![b(2)],
        };
        let violations = checkers.observe(20, NodeId::Broker(b(1)), &updated, &cluster);
        assert_eq!(violations.len(), 1);
    }

    #[test]
    fn leaders_inside_their_isr_and_offline_partitions_pass() {
        let mut cluster = FakeCluster::new(&[1, 2]);
        cluster.set_replica(1, 0, ReplicaRole::Leader, 1, &[1, 2], &[]);
        cluster.set_replica(2, 0, ReplicaRole::Follower, 1, &[], &[]);
        let mut checkers = ReplicaCheckers::new();
        let events = [
            (NodeId::Controller, elected(Some(1), &[1, 2])),
            (
                NodeId::Broker(b(1)),
                Event::BecameLeader {
                    partition: p(0),
                    leader_epoch: e(1),
                    isr: vec![b(1), b(2)],
                    log_end_offset: o(0),
                },
            ),
            // A follower's view of the ISR is not a leadership claim.
            (
                NodeId::Broker(b(2)),
                Event::IsrUpdated {
                    partition: p(0),
                    from: vec![b(1), b(2)],
                    to: vec![b(1)],
                },
            ),
            (NodeId::Controller, elected(None, &[])),
        ];
        for (node, event) in &events {
            assert!(checkers.observe(10, *node, event, &cluster).is_empty());
        }
        assert!(checkers.finish(100, &cluster).is_empty());
    }
}
