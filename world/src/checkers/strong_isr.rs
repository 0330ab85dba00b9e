//! `StrongIsr`, after the TLA+ specification of Kafka's replication protocol
//! (`hachikuji/kafka-specification`, `KafkaReplication.tla`, the `StrongIsr` and `WeakIsr`
//! invariants: everything below a presumed leader's high watermark is replicated, identically,
//! to every ISR member).
//!
//! Checked incrementally, when it can change: when a leader's high watermark advances from `a`
//! to `b` (a `HighWatermarkUpdated` from a broker that leads the partition now, per the
//! cluster view), every live member of the ISR *as that leader sees it* (its
//! `ReplicaView::isr`) must hold the same records as the leader — same offset, leader epoch and
//! value — at every offset in `[a, b)`. Using the leader's ISR makes this the specification's
//! `WeakIsr` applied at each advance; the controller's ISR (the specification's "true ISR",
//! used by its `StrongIsr`) is what `LeaderInIsr` and `NoCommittedRecordLost` lean on. Offsets
//! a member has already deleted (below its log start offset) are not judged. One violation per
//! (partition, member, first offset where it differs) per advance; values are `[leader's]` or
//! `[leader's, member's]`.

use super::{broker_set, is_leader, record_at, records_in, ClusterView};
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::BTreeSet;
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{BrokerId, NodeId, Offset};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::StrongIsr;

#[derive(Debug, Default)]
pub(crate) struct StrongIsr {
    reported: BTreeSet<(TopicPartition, BrokerId, Offset)>,
}

impl StrongIsr {
    pub fn observe(
        &mut self,
        time_ms: u64,
        node: NodeId,
        event: &Event,
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        let (
            NodeId::Broker(leader),
            Event::HighWatermarkUpdated {
                partition,
                from,
                to,
            },
        ) = (node, event)
        else {
            return;
        };
        if to <= from || !is_leader(cluster, leader, *partition) {
            return;
        }
        let Some(leader_replica) = cluster.replica(leader, *partition) else {
            return;
        };
        let committed = records_in(leader_replica.records, *from, *to);
        for member in leader_replica
            .isr
            .iter()
            .filter(|member| **member != leader)
        {
            let Some(member_replica) = cluster.replica(*member, *partition) else {
                // Not live (or not hosting the partition): nothing to compare.
                continue;
            };
            let mismatch = committed.iter().find_map(|record| {
                if record.offset < member_replica.log_start_offset {
                    return None;
                }
                match record_at(member_replica.records, record.offset) {
                    Some(held)
                        if held.value_id() == record.value_id()
                            && held.leader_epoch == record.leader_epoch =>
                    {
                        None
                    }
                    held => Some((record, held)),
                }
            });
            let Some((record, held)) = mismatch else {
                continue;
            };
            if !self.reported.insert((*partition, *member, record.offset)) {
                continue;
            }
            let (values, what) = match held {
                Some(held) => (
                    vec![record.value_id(), held.value_id()],
                    format!(
                        "holds value {} (epoch {})",
                        held.value_id(),
                        held.leader_epoch
                    ),
                ),
                None => (vec![record.value_id()], "holds nothing".to_string()),
            };
            out.push(Violation {
                checker: NAME,
                partition: Some(*partition),
                offsets: vec![record.offset],
                values,
                time_ms,
                description: format!(
                    "leader {leader} advanced the high watermark of {partition} from {from} to \
                     {to} with ISR {}, but at offset {} where the leader holds value {} (epoch \
                     {}) ISR member {member} {what}",
                    broker_set(leader_replica.isr),
                    record.offset,
                    record.value_id(),
                    record.leader_epoch
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::checkers::test_support::*;
    use crate::checkers::Checker;
    use crate::checkers::ReplicaCheckers;
    use watermark_broker_core::event::Event;
    use watermark_broker_core::ids::NodeId;
    use watermark_broker_core::replica_view::ReplicaRole;

    fn hw(from: u64, to: u64) -> Event {
        Event::HighWatermarkUpdated {
            partition: p(0),
            from: o(from),
            to: o(to),
        }
    }

    #[test]
    fn high_watermark_advancing_past_a_record_an_isr_member_lacks_is_caught() {
        let mut cluster = FakeCluster::new(&[1, 2, 3]);
        cluster.set_replica(
            1,
            0,
            ReplicaRole::Leader,
            1,
            &[1, 2, 3],
            &[(0, 1, 10), (1, 1, 11)],
        );
        cluster.set_replica(
            2,
            0,
            ReplicaRole::Follower,
            1,
            &[],
            &[(0, 1, 10), (1, 1, 11)],
        );
        // Broker 3 lost offset 1 (power loss, say) but is still in the leader's ISR.
        cluster.set_replica(3, 0, ReplicaRole::Follower, 1, &[], &[(0, 1, 10)]);
        let mut checkers = ReplicaCheckers::new();
        let violations = checkers.observe(10, NodeId::Broker(b(1)), &hw(0, 2), &cluster);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].checker, Checker::StrongIsr);
        assert_eq!(violations[0].partition, Some(p(0)));
        assert_eq!(violations[0].offsets, vec![o(1)]);
        assert_eq!(violations[0].values, vec![11]);
        assert!(
            violations[0].description.contains("b3"),
            "{}",
            violations[0]
        );
    }

    #[test]
    fn isr_member_with_a_different_record_is_caught() {
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
            &[(0, 1, 10), (1, 1, 99)],
        );
        let mut checkers = ReplicaCheckers::new();
        let violations = checkers.observe(10, NodeId::Broker(b(1)), &hw(1, 2), &cluster);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].values, vec![11, 99]);
    }

    #[test]
    fn replicated_records_dead_members_and_followers_pass() {
        let mut cluster = FakeCluster::new(&[1, 2, 3]);
        cluster.set_replica(
            1,
            0,
            ReplicaRole::Leader,
            1,
            &[1, 2, 3],
            &[(0, 1, 10), (1, 1, 11)],
        );
        cluster.set_replica(
            2,
            0,
            ReplicaRole::Follower,
            1,
            &[1, 2],
            &[(0, 1, 10), (1, 1, 11)],
        );
        cluster.set_replica(3, 0, ReplicaRole::Follower, 1, &[], &[]);
        cluster.stop(3);
        let mut checkers = ReplicaCheckers::new();
        assert!(checkers
            .observe(10, NodeId::Broker(b(1)), &hw(0, 2), &cluster)
            .is_empty());
        // A follower's high watermark is not a commitment.
        assert!(checkers
            .observe(11, NodeId::Broker(b(2)), &hw(0, 2), &cluster)
            .is_empty());
    }
}
