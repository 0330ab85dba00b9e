//! `HighWatermarkCommitted`, Kafka's documented meaning of the high watermark (documentation,
//! "Replication": a message is committed when every in-sync replica has applied it to its
//! log, and consumers only see committed messages) with strict min ISR (KAFKA-15583: the
//! leader advances only while its ISR has at least min(`min.insync.replicas`, replication
//! factor) members): no replica's high watermark is ever above what the partition has
//! committed.
//!
//! Precisely, at every `HighWatermarkUpdated`:
//! - a presumed leader advancing from `a` to `b` commits `[a, b)` only if its ISR (its own
//!   view, the set it counts) has at least the effective `min.insync.replicas` members and
//!   every member in service (see `ClusterView::is_in_service`) has a log end offset of at
//!   least `b`; otherwise the advance is a violation. Either way `b` becomes the partition's
//!   committed offset if it is higher, so one bad advance is reported once, not again by
//!   every follower that copies it;
//! - any other update (a follower's) must not go above the partition's committed offset, the
//!   highest high watermark any leader has reached.
//!
//! Whether the members hold the *same* records is `WeakIsr`'s and `StrongIsr`'s question;
//! this one counts. Costs one look per ISR member. One violation per (partition, replica,
//! new high watermark); values are empty, offsets `[new high watermark]`.

use super::{broker_set, is_leader, ClusterView};
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{BrokerId, NodeId, Offset};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::HighWatermarkCommitted;

#[derive(Debug, Default)]
pub(crate) struct HighWatermarkCommitted {
    /// Per partition, the highest high watermark a leader has reached.
    committed: BTreeMap<TopicPartition, Offset>,
    reported: BTreeSet<(TopicPartition, BrokerId, Offset)>,
}

impl HighWatermarkCommitted {
    pub fn observe(
        &mut self,
        time_ms: u64,
        node: NodeId,
        event: &Event,
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        let (
            NodeId::Broker(broker),
            Event::HighWatermarkUpdated {
                partition,
                from,
                to,
            },
        ) = (node, event)
        else {
            return;
        };
        let committed = self.committed.get(partition).copied().unwrap_or_default();
        let problem = if to > from && is_leader(cluster, broker, *partition) {
            self.committed.insert(*partition, committed.max(*to));
            leader_advance_problem(cluster, broker, *partition, *to)
        } else if *to > committed {
            Some(format!(
                "the partition's committed offset is {committed} (the highest high watermark \
                 any leader reached)"
            ))
        } else {
            None
        };
        let Some(problem) = problem else { return };
        if !self.reported.insert((*partition, broker, *to)) {
            return;
        }
        out.push(Violation {
            checker: NAME,
            partition: Some(*partition),
            offsets: vec![*to],
            values: Vec::new(),
            time_ms,
            description: format!(
                "{broker} raised the high watermark of {partition} from {from} to {to}, but \
                 {problem}"
            ),
        });
    }
}

/// Why a leader may not advance its high watermark to `to` now, if it may not.
fn leader_advance_problem(
    cluster: &dyn ClusterView,
    leader: BrokerId,
    partition: TopicPartition,
    to: Offset,
) -> Option<String> {
    let replica = cluster.replica(leader, partition)?;
    let required = cluster.min_insync_replicas(partition).unwrap_or(1);
    if replica.isr.len() < required {
        return Some(format!(
            "its ISR {} has fewer than min.insync.replicas = {required} members",
            broker_set(replica.isr)
        ));
    }
    replica
        .isr
        .iter()
        .filter(|member| **member != leader && cluster.is_in_service(**member))
        .find_map(|member| {
            let log_end_offset = cluster.replica(*member, partition)?.log_end_offset;
            (log_end_offset < to).then(|| {
                format!(
                    "ISR member {member} has applied records only up to {log_end_offset} (ISR \
                     {})",
                    broker_set(replica.isr)
                )
            })
        })
}

#[cfg(test)]
mod tests {
    use crate::checkers::test_support::*;
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

    /// Broker 1 leads over offsets 0..3 with ISR {1,2}; broker 2 has offsets 0..2 and
    /// follows; min.insync.replicas 2.
    fn setup() -> (FakeCluster, ReplicaCheckers) {
        let mut cluster = FakeCluster::new(&[1, 2]);
        cluster.min_insync_replicas = 2;
        cluster.set_replica(
            1,
            0,
            ReplicaRole::Leader,
            1,
            &[1, 2],
            &[(0, 1, 10), (1, 1, 11), (2, 1, 12)],
        );
        cluster.set_replica(
            2,
            0,
            ReplicaRole::Follower,
            1,
            &[],
            &[(0, 1, 10), (1, 1, 11)],
        );
        (cluster, ReplicaCheckers::new())
    }

    fn findings(
        checkers: &mut ReplicaCheckers,
        cluster: &FakeCluster,
        broker: u32,
        event: &Event,
    ) -> Vec<crate::violation::Violation> {
        only(
            &checkers.observe(10, NodeId::Broker(b(broker)), event, cluster),
            "HighWatermarkCommitted",
        )
    }

    #[test]
    fn a_leader_advancing_past_what_an_isr_member_applied_is_caught() {
        let (cluster, mut checkers) = setup();
        assert!(findings(&mut checkers, &cluster, 1, &hw(0, 2)).is_empty());
        let found = findings(&mut checkers, &cluster, 1, &hw(2, 3));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].offsets, vec![o(3)]);
        assert!(found[0].description.contains("member b2"), "{}", found[0]);
    }

    #[test]
    fn a_leader_advancing_with_an_isr_below_min_insync_is_caught() {
        let (mut cluster, mut checkers) = setup();
        cluster.replica_mut(1, 0).isr = vec![b(1)];
        let found = findings(&mut checkers, &cluster, 1, &hw(0, 1));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .description
                .contains("fewer than min.insync.replicas = 2"),
            "{}",
            found[0]
        );
        // With min.insync.replicas 1 a lone leader commits on its own.
        cluster.min_insync_replicas = 1;
        assert!(findings(&mut checkers, &cluster, 1, &hw(1, 2)).is_empty());
    }

    #[test]
    fn a_follower_above_every_leaders_high_watermark_is_caught() {
        let (cluster, mut checkers) = setup();
        assert!(findings(&mut checkers, &cluster, 1, &hw(0, 2)).is_empty());
        assert!(findings(&mut checkers, &cluster, 2, &hw(0, 2)).is_empty());
        let found = findings(&mut checkers, &cluster, 2, &hw(2, 3));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].description.contains("committed offset is 2"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn members_out_of_service_do_not_hold_the_leader_back() {
        let (mut cluster, mut checkers) = setup();
        cluster.restart_unregistered(2);
        assert!(findings(&mut checkers, &cluster, 1, &hw(0, 3)).is_empty());
    }
}
