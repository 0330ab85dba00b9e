//! `NoCommittedRecordLost`, after the durability property of Kafka's replication design
//! (`hachikuji/kafka-specification`, `KafkaReplication.tla`: "any data which has been exposed
//! to consumers will be present on any broker that becomes leader"; KIP-101 and KIP-279 fixed
//! the truncation bugs that broke it) and `RaftEventSimulationTest`'s
//! `ConsistentCommittedData`: a record below a leader's high watermark — one a consumer could
//! have read — is never missing from a later leader.
//!
//! On every `HighWatermarkUpdated` from a broker that leads the partition now (per the cluster
//! view), the leader's records at `[from, to)` are recorded as committed. Every distinct
//! record committed at an offset is a reference, in every epoch: a record committed in epoch
//! 1 and a different one committed at the same offset in epoch 3 are both kept, and a leader
//! committing a different value where one was already committed is itself a violation. Then,
//! on every `BecameLeader`, and in `finish` for every live leader, the leader's log must hold
//! each record committed under an *earlier* leader epoch than its own, at or above its log
//! start offset, with the same value. A leader of an older epoch than the committing one is
//! a superseded (zombie) leader — e.g. a paused broker resuming and applying metadata queued
//! while it slept — which cannot commit anything more and is not a "later leader" in the
//! TLA+ property's sense. One violation per (partition, offset, committed value); values are
//! `[committed]` when the offset is missing, `[committed, found]` when it holds another
//! value.

use super::{is_leader, record_at, records_in, ClusterView};
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{BrokerId, LeaderEpoch, NodeId, Offset};
use watermark_broker_core::replica_view::ReplicaRole;
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::NoCommittedRecordLost;

/// A record some leader exposed below its high watermark.
#[derive(Clone, Copy, Debug)]
struct CommittedRecord {
    value: u64,
    leader_epoch: LeaderEpoch,
    /// The epoch of the leader whose high watermark passed the record.
    committed_in_epoch: LeaderEpoch,
    committed_by: BrokerId,
    time_ms: u64,
}

#[derive(Debug, Default)]
pub(crate) struct NoCommittedRecordLost {
    /// Per partition and offset, every distinct value committed there, oldest first.
    committed: BTreeMap<TopicPartition, BTreeMap<Offset, Vec<CommittedRecord>>>,
    reported: BTreeSet<(TopicPartition, Offset, u64)>,
}

impl NoCommittedRecordLost {
    pub fn observe(
        &mut self,
        time_ms: u64,
        node: NodeId,
        event: &Event,
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        let NodeId::Broker(broker) = node else { return };
        match event {
            Event::HighWatermarkUpdated {
                partition,
                from,
                to,
            } if to > from && is_leader(cluster, broker, *partition) => {
                self.record_committed(time_ms, broker, *partition, *from, *to, cluster, out);
            }
            Event::BecameLeader { partition, .. } => {
                self.check_leader(time_ms, broker, *partition, cluster, out);
            }
            _ => {}
        }
    }

    /// Checks every live leader against everything committed.
    pub fn finish(
        &mut self,
        time_ms: u64,
        partitions: &BTreeSet<TopicPartition>,
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        for broker in cluster.live_brokers() {
            for partition in partitions {
                let leads = cluster
                    .replica(broker, *partition)
                    .is_some_and(|replica| replica.role == ReplicaRole::Leader);
                if leads {
                    self.check_leader(time_ms, broker, *partition, cluster, out);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record_committed(
        &mut self,
        time_ms: u64,
        leader: BrokerId,
        partition: TopicPartition,
        from: Offset,
        to: Offset,
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        let Some(replica) = cluster.replica(leader, partition) else {
            return;
        };
        let committed = self.committed.entry(partition).or_default();
        for record in records_in(replica.records, from, to) {
            let references = committed.entry(record.offset).or_default();
            if references
                .iter()
                .any(|reference| reference.value == record.value_id())
            {
                continue;
            }
            // Every earlier reference at this offset is gone from this leader's log.
            for reference in references.iter() {
                if !self
                    .reported
                    .insert((partition, record.offset, reference.value))
                {
                    continue;
                }
                out.push(Violation {
                    checker: NAME,
                    partition: Some(partition),
                    offsets: vec![record.offset],
                    values: vec![reference.value, record.value_id()],
                    time_ms,
                    description: format!(
                        "offset {} of {partition} was committed with value {} (epoch {}) by {} \
                         at t={}ms, but leader {leader} committed value {} there",
                        record.offset,
                        reference.value,
                        reference.leader_epoch,
                        reference.committed_by,
                        reference.time_ms,
                        record.value_id()
                    ),
                });
            }
            references.push(CommittedRecord {
                value: record.value_id(),
                leader_epoch: record.leader_epoch,
                committed_in_epoch: replica.leader_epoch,
                committed_by: leader,
                time_ms,
            });
        }
    }

    /// Whether `leader`'s log holds every committed record of `partition` (scans the whole
    /// committed prefix: called only on leader changes and at the end).
    fn check_leader(
        &mut self,
        time_ms: u64,
        leader: BrokerId,
        partition: TopicPartition,
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        let (Some(committed), Some(replica)) = (
            self.committed.get(&partition),
            cluster.replica(leader, partition),
        ) else {
            return;
        };
        let references =
            committed
                .range(replica.log_start_offset..)
                .flat_map(|(offset, references)| {
                    references.iter().map(move |reference| (*offset, reference))
                });
        for (offset, reference) in references {
            if reference.committed_in_epoch >= replica.leader_epoch {
                continue;
            }
            let held = record_at(replica.records, offset);
            if held.is_some_and(|held| held.value_id() == reference.value) {
                continue;
            }
            if !self.reported.insert((partition, offset, reference.value)) {
                continue;
            }
            let (values, what) = match held {
                Some(held) => (
                    vec![reference.value, held.value_id()],
                    format!(
                        "holds value {} (epoch {}) there",
                        held.value_id(),
                        held.leader_epoch
                    ),
                ),
                None => (vec![reference.value], "does not have it".to_string()),
            };
            out.push(Violation {
                checker: NAME,
                partition: Some(partition),
                offsets: vec![offset],
                values,
                time_ms,
                description: format!(
                    "value {} at offset {offset} of {partition} was committed by {} at t={}ms \
                     (epoch {}), but leader {leader} (epoch {}) {what}",
                    reference.value,
                    reference.committed_by,
                    reference.time_ms,
                    reference.leader_epoch,
                    replica.leader_epoch
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

    fn became_leader(epoch: u32) -> Event {
        Event::BecameLeader {
            partition: p(0),
            leader_epoch: e(epoch),
            isr: vec![b(2)],
            log_end_offset: o(1),
        }
    }

    /// Broker 1 leads and commits offsets 0 and 1; broker 2, which only has offset 0, is
    /// elected (an unclean election, say) and becomes leader.
    fn committed_then_elected_behind() -> (FakeCluster, ReplicaCheckers) {
        let mut cluster = FakeCluster::new(&[1, 2]);
        cluster.set_replica(
            1,
            0,
            ReplicaRole::Leader,
            1,
            &[1],
            &[(0, 1, 10), (1, 1, 11)],
        );
        cluster.set_replica(2, 0, ReplicaRole::Follower, 1, &[], &[(0, 1, 10)]);
        let mut checkers = ReplicaCheckers::new();
        assert!(checkers
            .observe(10, NodeId::Broker(b(1)), &hw(0, 2), &cluster)
            .is_empty());
        cluster.stop(1);
        checkers.broker_stopped(b(1));
        cluster.replica_mut(2, 0).role = ReplicaRole::Leader;
        cluster.replica_mut(2, 0).leader_epoch = e(2);
        (cluster, checkers)
    }

    #[test]
    fn new_leader_missing_a_committed_record_is_caught() {
        let (cluster, mut checkers) = committed_then_elected_behind();
        let violations = checkers.observe(20, NodeId::Broker(b(2)), &became_leader(2), &cluster);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].checker, Checker::NoCommittedRecordLost);
        assert_eq!(violations[0].partition, Some(p(0)));
        assert_eq!(violations[0].offsets, vec![o(1)]);
        assert_eq!(violations[0].values, vec![11]);
        assert_eq!(violations[0].time_ms, 20);
        // Reported once, not again at the end.
        assert!(only(&checkers.finish(100, &cluster), "NoCommittedRecordLost").is_empty());
    }

    #[test]
    fn leader_at_the_end_with_another_value_at_a_committed_offset_is_caught() {
        let (mut cluster, mut checkers) = committed_then_elected_behind();
        // No BecameLeader was observed (the leader changed quietly); the end check finds it.
        cluster.append(2, 0, &[(1, 2, 77)]);
        let violations = only(&checkers.finish(100, &cluster), "NoCommittedRecordLost");
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].offsets, vec![o(1)]);
        assert_eq!(violations[0].values, vec![11, 77]);
    }

    #[test]
    fn new_leader_holding_every_committed_record_passes() {
        let mut cluster = FakeCluster::new(&[1, 2]);
        cluster.set_replica(
            1,
            0,
            ReplicaRole::Leader,
            1,
            &[1, 2],
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
        let mut checkers = ReplicaCheckers::new();
        assert!(checkers
            .observe(10, NodeId::Broker(b(1)), &hw(0, 2), &cluster)
            .is_empty());
        cluster.stop(1);
        cluster.replica_mut(2, 0).role = ReplicaRole::Leader;
        cluster.replica_mut(2, 0).leader_epoch = e(2);
        assert!(checkers
            .observe(20, NodeId::Broker(b(2)), &became_leader(2), &cluster)
            .is_empty());
        assert!(checkers.finish(100, &cluster).is_empty());
    }

    /// Found by the swarm (safe-acks-all-swarm, seed 826): a broker paused while the
    /// controller elected it for epoch 2 resumes after epoch 3 committed more records, and
    /// applies its queued epoch-2 metadata. A superseded leader is not a later leader.
    #[test]
    fn a_superseded_leader_of_an_older_epoch_is_not_held_to_later_commits() {
        let mut cluster = FakeCluster::new(&[2, 3]);
        cluster.set_replica(
            3,
            0,
            ReplicaRole::Leader,
            3,
            &[3],
            &[(0, 1, 10), (1, 1, 11)],
        );
        cluster.set_replica(2, 0, ReplicaRole::Follower, 1, &[], &[(0, 1, 10)]);
        let mut checkers = ReplicaCheckers::new();
        assert!(checkers
            .observe(10, NodeId::Broker(b(3)), &hw(0, 2), &cluster)
            .is_empty());
        cluster.replica_mut(2, 0).role = ReplicaRole::Leader;
        cluster.replica_mut(2, 0).leader_epoch = e(2);
        let violations = checkers.observe(20, NodeId::Broker(b(2)), &became_leader(2), &cluster);
        assert!(
            only(&violations, "NoCommittedRecordLost").is_empty(),
            "{violations:?}"
        );
    }

    /// Offset 1 is committed with value 11 in epoch 1; an unclean leader of epoch 3 commits
    /// value 31 there; a leader of epoch 5 holds value 51. Both committed records are lost
    /// to it, and each is reported.
    #[test]
    fn every_record_committed_at_an_offset_is_a_reference_in_every_epoch() {
        let mut cluster = FakeCluster::new(&[1, 2, 3]);
        cluster.set_replica(
            1,
            0,
            ReplicaRole::Leader,
            1,
            &[1],
            &[(0, 1, 10), (1, 1, 11)],
        );
        let mut checkers = ReplicaCheckers::new();
        assert!(checkers
            .observe(10, NodeId::Broker(b(1)), &hw(0, 2), &cluster)
            .is_empty());
        cluster.stop(1);
        cluster.set_replica(
            2,
            0,
            ReplicaRole::Leader,
            3,
            &[2],
            &[(0, 1, 10), (1, 3, 31)],
        );
        let violations = only(
            &checkers.observe(20, NodeId::Broker(b(2)), &hw(1, 2), &cluster),
            "NoCommittedRecordLost",
        );
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].values, vec![11, 31]);
        cluster.stop(2);
        cluster.set_replica(
            3,
            0,
            ReplicaRole::Leader,
            5,
            &[3],
            &[(0, 1, 10), (1, 5, 51)],
        );
        let violations = only(
            &checkers.observe(30, NodeId::Broker(b(3)), &became_leader(5), &cluster),
            "NoCommittedRecordLost",
        );
        let values: Vec<Vec<u64>> = violations
            .iter()
            .map(|found| found.values.clone())
            .collect();
        // Value 11's loss was reported when 31 replaced it; value 31's, committed in a later
        // epoch at the same offset, is reported too.
        assert_eq!(values, vec![vec![31, 51]], "{violations:?}");
    }
}
