//! `SingleLeaderPerEpoch`, after Kafka's `RaftEventSimulationTest`
//! (`raft/src/test/java/org/apache/kafka/raft/RaftEventSimulationTest.java`, the `SingleLeader`
//! invariant: at most one leader per epoch), applied to partition leadership: no two brokers
//! lead the same partition in the same leader epoch (KIP-101's leader epoch names one leader).
//!
//! Leadership claims come from the controller's `LeaderElected` (with a leader) and from a
//! broker's `BecameLeader`. The first broker named for a (partition, leader epoch) owns it; a
//! different broker named later is one violation per (partition, leader epoch).

use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{BrokerId, LeaderEpoch, NodeId};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::SingleLeaderPerEpoch;

#[derive(Debug, Default)]
pub(crate) struct SingleLeaderPerEpoch {
    leaders: BTreeMap<(TopicPartition, LeaderEpoch), BrokerId>,
    reported: BTreeSet<(TopicPartition, LeaderEpoch)>,
}

impl SingleLeaderPerEpoch {
    pub fn observe(&mut self, time_ms: u64, node: NodeId, event: &Event, out: &mut Vec<Violation>) {
        let (partition, leader_epoch, leader) = match (node, event) {
            (
                NodeId::Controller,
                Event::LeaderElected {
                    partition,
                    leader: Some(leader),
                    leader_epoch,
                    ..
                },
            ) => (*partition, *leader_epoch, *leader),
            (
                NodeId::Broker(broker),
                Event::BecameLeader {
                    partition,
                    leader_epoch,
                    ..
                },
            ) => (*partition, *leader_epoch, broker),
            _ => return,
        };
        let first = *self
            .leaders
            .entry((partition, leader_epoch))
            .or_insert(leader);
        if first == leader || !self.reported.insert((partition, leader_epoch)) {
            return;
        }
        out.push(Violation {
            checker: NAME,
            partition: Some(partition),
            offsets: Vec::new(),
            values: Vec::new(),
            time_ms,
            description: format!(
                "both {first} and {leader} led {partition} in leader epoch {leader_epoch} \
                 (reported by {node})"
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

    fn became_leader(epoch: u32) -> Event {
        Event::BecameLeader {
            partition: p(0),
            leader_epoch: e(epoch),
            isr: vec![b(1), b(2)],
            log_end_offset: o(0),
        }
    }

    #[test]
    fn two_brokers_leading_in_one_epoch_is_caught() {
        let cluster = FakeCluster::new(&[1, 2]);
        let mut checkers = ReplicaCheckers::new();
        let elected = Event::LeaderElected {
            partition: p(0),
            leader: Some(b(1)),
            leader_epoch: e(3),
            isr: vec![b(1), b(2)],
            partition_epoch: PartitionEpoch(3),
            unclean: false,
        };
        assert!(checkers
            .observe(10, NodeId::Controller, &elected, &cluster)
            .is_empty());
        assert!(checkers
            .observe(11, NodeId::Broker(b(1)), &became_leader(3), &cluster)
            .is_empty());
        let violations = checkers.observe(12, NodeId::Broker(b(2)), &became_leader(3), &cluster);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].checker, Checker::SingleLeaderPerEpoch);
        assert_eq!(violations[0].partition, Some(p(0)));
        assert!(
            violations[0].description.contains("e3"),
            "{}",
            violations[0]
        );
    }

    #[test]
    fn one_leader_per_epoch_and_a_leader_reelected_after_restart_pass() {
        let cluster = FakeCluster::new(&[1, 2]);
        let mut checkers = ReplicaCheckers::new();
        let steps = [
            (NodeId::Broker(b(1)), became_leader(1)),
            (NodeId::Broker(b(2)), became_leader(2)),
            // The same broker taking up the same epoch again (after a restart) is still one
            // leader.
            (NodeId::Broker(b(2)), became_leader(2)),
        ];
        for (node, event) in &steps {
            assert!(checkers.observe(10, *node, event, &cluster).is_empty());
        }
    }
}
