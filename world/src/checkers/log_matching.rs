//! `LogMatching`, after Raft's Log Matching property (Ongaro, §5.3: if two logs hold an entry
//! with the same index and term, they hold the same entry there and are identical in every
//! entry before it) as Kafka's KIP-101 leader epochs carry it over, and after
//! `RaftEventSimulationTest`'s `ConsistentCommittedData`. Two parts:
//! - same record: two replicas never hold different values at the same (partition, offset)
//!   with the same leader epoch. Tracked from every broker's `RecordsAppended` (the first
//!   value seen at a (partition, offset, leader epoch) is the reference, whichever broker
//!   wrote it). One violation per (partition, offset, leader epoch); values are
//!   `[reference, conflicting]`.
//! - prefix: two live replicas whose logs agree on an offset's leader epoch agree on every
//!   record before it (same leader epoch and value). Offsets below either log start offset
//!   are not judged. Checked between the new leader and every live replica on
//!   `BecameLeader`, between every pair of live replicas in `finish`, and cheaply on a
//!   follower's append: only the first new record's predecessor is compared with each live
//!   replica that holds the same first record (the whole logs are walked only when that
//!   finds a difference, to name the first one). One violation per (partition, pair of
//!   replicas, first differing offset); values are `[lower broker's, higher broker's]`.

use super::replica_compare::same_record;
use super::{record_at, ClusterView};
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::event::{Event, RecordSummary};
use watermark_broker_core::ids::{BrokerId, LeaderEpoch, NodeId, Offset};
use watermark_broker_core::record::Record;
use watermark_broker_core::replica_view::ReplicaView;
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::LogMatching;

#[derive(Debug, Default)]
pub(crate) struct LogMatching {
    /// The first value appended at each (partition, offset, leader epoch), and by whom.
    appended: BTreeMap<(TopicPartition, Offset, LeaderEpoch), (u64, BrokerId)>,
    reported: BTreeSet<(TopicPartition, Offset, LeaderEpoch)>,
    /// Prefix violations reported: (partition, lower broker, higher broker, offset).
    prefix_reported: BTreeSet<(TopicPartition, BrokerId, BrokerId, Offset)>,
}

/// Where two logs break the prefix property.
struct PrefixBreak<'a> {
    /// The highest offset where both hold a record of the same leader epoch.
    agreed: &'a Record,
    /// The first offset below it where they differ: (first log's record, second log's).
    differ: (&'a Record, &'a Record),
}

impl LogMatching {
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
            Event::RecordsAppended {
                partition,
                as_leader,
                records,
            } => {
                self.same_record_on_append(time_ms, broker, *partition, records, out);
                if let (false, Some(first)) = (*as_leader, records.first()) {
                    self.prefix_on_append(time_ms, broker, *partition, first, cluster, out);
                }
            }
            Event::BecameLeader { partition, .. } => {
                for other in cluster.live_brokers() {
                    if other != broker {
                        self.check_pair(time_ms, *partition, (broker, other), cluster, out);
                    }
                }
            }
            _ => {}
        }
    }

    fn same_record_on_append(
        &mut self,
        time_ms: u64,
        broker: BrokerId,
        partition: TopicPartition,
        records: &[RecordSummary],
        out: &mut Vec<Violation>,
    ) {
        for record in records {
            let key = (partition, record.offset, record.leader_epoch);
            let (value, holder) = *self.appended.entry(key).or_insert((record.value, broker));
            if value != record.value {
                self.report(time_ms, key, (value, holder), (record.value, broker), out);
            }
        }
    }

    /// A follower appended from `first` on: every live replica holding the same record at
    /// `first` must hold the same record as the follower just before it.
    fn prefix_on_append(
        &mut self,
        time_ms: u64,
        follower: BrokerId,
        partition: TopicPartition,
        first: &RecordSummary,
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        let Some(previous) = first.offset.0.checked_sub(1).map(Offset) else {
            return;
        };
        let Some(appended) = cluster.replica(follower, partition) else {
            return;
        };
        let Some(before) = record_at(appended.records, previous) else {
            return;
        };
        for other in cluster.live_brokers() {
            if other == follower {
                continue;
            }
            let Some(replica) = cluster.replica(other, partition) else {
                continue;
            };
            let agrees_on_first = record_at(replica.records, first.offset)
                .is_some_and(|record| record.leader_epoch == first.leader_epoch);
            let differs_before = record_at(replica.records, previous)
                .is_some_and(|record| !same_record(record, before));
            if agrees_on_first && differs_before {
                self.check_pair(time_ms, partition, (follower, other), cluster, out);
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
            self.same_record_at_finish(time_ms, *partition, &brokers, cluster, out);
            for (index, first) in brokers.iter().enumerate() {
                for second in &brokers[index + 1..] {
                    self.check_pair(time_ms, *partition, (*first, *second), cluster, out);
                }
            }
        }
    }

    fn same_record_at_finish(
        &mut self,
        time_ms: u64,
        partition: TopicPartition,
        brokers: &[BrokerId],
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        let mut held: BTreeMap<(Offset, LeaderEpoch), (u64, BrokerId)> = BTreeMap::new();
        for broker in brokers {
            let Some(replica) = cluster.replica(*broker, partition) else {
                continue;
            };
            for record in replica.records {
                let (value, holder) = *held
                    .entry((record.offset, record.leader_epoch))
                    .or_insert((record.value_id(), *broker));
                if value != record.value_id() {
                    let key = (partition, record.offset, record.leader_epoch);
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

    /// The prefix property between two live replicas, walking both logs once.
    fn check_pair(
        &mut self,
        time_ms: u64,
        partition: TopicPartition,
        pair: (BrokerId, BrokerId),
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        let (low, high) = (pair.0.min(pair.1), pair.0.max(pair.1));
        let (Some(low_replica), Some(high_replica)) = (
            cluster.replica(low, partition),
            cluster.replica(high, partition),
        ) else {
            return;
        };
        let Some(found) = prefix_break(&low_replica, &high_replica) else {
            return;
        };
        let (low_record, high_record) = found.differ;
        if !self
            .prefix_reported
            .insert((partition, low, high, low_record.offset))
        {
            return;
        }
        out.push(Violation {
            checker: NAME,
            partition: Some(partition),
            offsets: vec![low_record.offset],
            values: vec![low_record.value_id(), high_record.value_id()],
            time_ms,
            description: format!(
                "{low} and {high} agree on offset {} of {partition} (epoch {}) but not before \
                 it: at offset {} {low} holds value {} (epoch {}) and {high} holds value {} \
                 (epoch {})",
                found.agreed.offset,
                found.agreed.leader_epoch,
                low_record.offset,
                low_record.value_id(),
                low_record.leader_epoch,
                high_record.value_id(),
                high_record.leader_epoch
            ),
        });
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

/// The first offset where two logs differ below the highest offset where their leader
/// epochs agree, at or above both log start offsets; `None` when the prefix property holds.
fn prefix_break<'a>(first: &ReplicaView<'a>, second: &ReplicaView<'a>) -> Option<PrefixBreak<'a>> {
    let from = first.log_start_offset.max(second.log_start_offset);
    let mut first_records = first.records.iter().filter(|record| record.offset >= from);
    let mut second_records = second.records.iter().filter(|record| record.offset >= from);
    let (mut left, mut right) = (first_records.next()?, second_records.next()?);
    let mut differ = None;
    let mut agreed = None;
    loop {
        if left.offset == right.offset {
            if left.leader_epoch == right.leader_epoch {
                agreed = Some(left);
            }
            if differ.is_none() && !same_record(left, right) {
                differ = Some((left, right));
            }
        }
        let advance_left = left.offset <= right.offset;
        let advance_right = right.offset <= left.offset;
        if advance_left {
            let Some(next) = first_records.next() else {
                break;
            };
            left = next;
        }
        if advance_right {
            let Some(next) = second_records.next() else {
                break;
            };
            right = next;
        }
    }
    let (agreed, differ) = (agreed?, differ?);
    (differ.0.offset < agreed.offset).then_some(PrefixBreak { agreed, differ })
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
        assert!(only(&checkers.finish(100, &cluster), "LogMatching").is_empty());
    }

    /// KIP-101's second scenario as it ends with the pre-KIP-101 truncation: broker 1 kept
    /// offsets 1 and 2 of epoch 1 and fetched offset 3 of epoch 4 from broker 2, which had
    /// written offsets 1 and 2 in epoch 4.
    fn kept_below_then_fetched() -> FakeCluster {
        let mut cluster = FakeCluster::new(&[1, 2]);
        cluster.set_replica(
            2,
            0,
            ReplicaRole::Leader,
            4,
            &[1, 2],
            &[(0, 1, 10), (1, 4, 41), (2, 4, 42), (3, 4, 43)],
        );
        cluster.set_replica(
            1,
            0,
            ReplicaRole::Follower,
            4,
            &[],
            &[(0, 1, 10), (1, 1, 11), (2, 1, 12), (3, 4, 43)],
        );
        cluster
    }

    #[test]
    fn logs_agreeing_on_an_offset_and_epoch_but_not_before_it_are_caught_on_append() {
        let cluster = kept_below_then_fetched();
        let mut checkers = ReplicaCheckers::new();
        let violations = checkers.observe(
            10,
            NodeId::Broker(b(1)),
            &appended(false, &[(3, 4, 43)]),
            &cluster,
        );
        let matching = only(&violations, "LogMatching");
        assert_eq!(matching.len(), 1, "{violations:?}");
        // The first offset where they differ, values as (lower broker, higher broker).
        assert_eq!(matching[0].offsets, vec![o(1)]);
        assert_eq!(matching[0].values, vec![11, 41]);
        assert!(
            matching[0].description.contains("agree on offset 3"),
            "{}",
            matching[0]
        );
        // The same break is not reported again at the end.
        assert!(only(&checkers.finish(100, &cluster), "LogMatching").is_empty());
    }

    #[test]
    fn a_prefix_break_is_caught_when_a_leader_is_elected_and_at_finish() {
        let cluster = kept_below_then_fetched();
        let became_leader = Event::BecameLeader {
            partition: p(0),
            leader_epoch: e(4),
            isr: vec![b(2)],
            log_end_offset: o(4),
        };
        let mut checkers = ReplicaCheckers::new();
        let violations = checkers.observe(10, NodeId::Broker(b(2)), &became_leader, &cluster);
        assert_eq!(only(&violations, "LogMatching").len(), 1, "{violations:?}");
        let mut checkers = ReplicaCheckers::new();
        checkers.observe(
            10,
            NodeId::Broker(b(1)),
            &Event::BecameFollower {
                partition: p(0),
                leader_epoch: e(4),
                leader: Some(b(2)),
            },
            &cluster,
        );
        let matching = only(&checkers.finish(100, &cluster), "LogMatching");
        assert_eq!(matching.len(), 1);
        assert_eq!(matching[0].offsets, vec![o(1)]);
    }

    #[test]
    fn logs_that_differ_only_after_their_last_agreement_or_below_a_log_start_pass() {
        let mut cluster = FakeCluster::new(&[1, 2]);
        // They agree up to offset 1 and differ after it (an uncommitted tail).
        cluster.set_replica(
            2,
            0,
            ReplicaRole::Leader,
            4,
            &[1, 2],
            &[(0, 1, 10), (1, 1, 11), (2, 4, 42)],
        );
        cluster.set_replica(
            1,
            0,
            ReplicaRole::Follower,
            4,
            &[],
            &[(0, 9, 99), (1, 1, 11), (2, 1, 12)],
        );
        // Broker 1 deleted offset 0: what sat there is not judged.
        cluster.replica_mut(1, 0).log_start_offset = o(1);
        let mut checkers = ReplicaCheckers::new();
        assert!(only(
            &checkers.observe(
                10,
                NodeId::Broker(b(1)),
                &appended(false, &[(1, 1, 11)]),
                &cluster
            ),
            "LogMatching"
        )
        .is_empty());
        checkers.observe(
            20,
            NodeId::Broker(b(2)),
            &Event::BecameLeader {
                partition: p(0),
                leader_epoch: e(4),
                isr: vec![b(2)],
                log_end_offset: o(3),
            },
            &cluster,
        );
        assert!(only(&checkers.finish(100, &cluster), "LogMatching").is_empty());
    }
}
