//! Comparing replicas by content, for the replica-state checkers: two replicas hold the same
//! record at an offset when both the leader epoch and the value agree. Offsets below a
//! replica's log start offset were deleted, not lost, and are never judged.

use super::{broker_set, record_at, records_in, ClusterView};
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::BTreeSet;
use watermark_broker_core::ids::{BrokerId, Offset};
use watermark_broker_core::record::Record;
use watermark_broker_core::replica_view::{ReplicaRole, ReplicaView};
use watermark_broker_core::topic::TopicPartition;

/// Whether two records are the same record: same offset's leader epoch and value.
pub(crate) fn same_record(left: &Record, right: &Record) -> bool {
    left.leader_epoch == right.leader_epoch && left.value_id() == right.value_id()
}

/// Where `other` fails to hold what `reference` holds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mismatch<'a> {
    pub offset: Offset,
    pub expected: &'a Record,
    pub held: Option<&'a Record>,
}

impl Mismatch<'_> {
    /// `[expected]` when the other replica holds nothing there, `[expected, held]` otherwise.
    pub fn values(&self) -> Vec<u64> {
        match self.held {
            Some(held) => vec![self.expected.value_id(), held.value_id()],
            None => vec![self.expected.value_id()],
        }
    }

    /// What the other replica holds, in words.
    pub fn held_in_words(&self) -> String {
        match self.held {
            Some(held) => format!(
                "holds value {} (epoch {})",
                held.value_id(),
                held.leader_epoch
            ),
            None => "holds nothing".to_string(),
        }
    }
}

/// The first offset in `[from, to)` where `reference` holds a record that `other` does not
/// hold identically. Costs the length of the range times a binary search.
pub(crate) fn first_mismatch<'a>(
    reference: &ReplicaView<'a>,
    other: &ReplicaView<'a>,
    from: Offset,
    to: Offset,
) -> Option<Mismatch<'a>> {
    let from = from.max(other.log_start_offset);
    records_in(reference.records, from, to)
        .iter()
        .find_map(|expected| {
            let held = record_at(other.records, expected.offset);
            match held {
                Some(held) if same_record(expected, held) => None,
                held => Some(Mismatch {
                    offset: expected.offset,
                    expected,
                    held,
                }),
            }
        })
}

/// The live brokers whose replica of `partition` acts as leader (the TLA+ specification's
/// `ReplicaPresumesLeadership`: a superseded leader that has not heard of its successor
/// counts too).
pub(crate) fn presumed_leaders(
    cluster: &dyn ClusterView,
    partition: TopicPartition,
) -> Vec<BrokerId> {
    cluster
        .live_brokers()
        .into_iter()
        .filter(|broker| {
            cluster
                .replica(*broker, partition)
                .is_some_and(|replica| replica.role == ReplicaRole::Leader)
        })
        .collect()
}

/// `broker`'s replica of `partition`, if the broker takes part in replication as its current
/// process (see [`ClusterView::is_in_service`]).
pub(crate) fn in_service_replica(
    cluster: &dyn ClusterView,
    broker: BrokerId,
    partition: TopicPartition,
) -> Option<ReplicaView<'_>> {
    if cluster.is_in_service(broker) {
        cluster.replica(broker, partition)
    } else {
        None
    }
}

/// The ISR-content check `StrongIsr` and `WeakIsr` share: a presumed leader's records in a
/// range must be on each in-service member. One violation per (partition, member, offset).
#[derive(Debug)]
pub(crate) struct IsrContent {
    checker: Checker,
    /// The ISR's name in descriptions ("the controller's ISR", "its ISR").
    isr_name: &'static str,
    reported: BTreeSet<(TopicPartition, BrokerId, Offset)>,
}

/// One comparison: a presumed leader, the ISR it is judged against, the range, and why now.
pub(crate) struct IsrCheck<'a> {
    pub time_ms: u64,
    pub partition: TopicPartition,
    pub leader: BrokerId,
    pub isr: &'a [BrokerId],
    pub members: &'a [BrokerId],
    pub from: Offset,
    pub to: Offset,
    pub when: &'a str,
}

impl IsrContent {
    pub fn new(checker: Checker, isr_name: &'static str) -> Self {
        IsrContent {
            checker,
            isr_name,
            reported: BTreeSet::new(),
        }
    }

    /// Compares the leader's records in `[from, to)` with each in-service member of
    /// `members` (the leader itself and members out of service are skipped).
    pub fn check(
        &mut self,
        check: &IsrCheck<'_>,
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        if check.to <= check.from {
            return;
        }
        let Some(leader_replica) = cluster.replica(check.leader, check.partition) else {
            return;
        };
        for member in check
            .members
            .iter()
            .filter(|member| **member != check.leader)
        {
            let Some(member_replica) = in_service_replica(cluster, *member, check.partition) else {
                continue;
            };
            let Some(mismatch) =
                first_mismatch(&leader_replica, &member_replica, check.from, check.to)
            else {
                continue;
            };
            if !self
                .reported
                .insert((check.partition, *member, mismatch.offset))
            {
                continue;
            }
            out.push(Violation {
                checker: self.checker,
                partition: Some(check.partition),
                offsets: vec![mismatch.offset],
                values: mismatch.values(),
                time_ms: check.time_ms,
                description: format!(
                    "{}: leader {} (epoch {}) has high watermark {} and {} is {}, but at \
                     offset {} where the leader holds value {} (epoch {}) member {member} {}",
                    check.when,
                    check.leader,
                    leader_replica.leader_epoch,
                    leader_replica.high_watermark,
                    self.isr_name,
                    broker_set(check.isr),
                    mismatch.offset,
                    mismatch.expected.value_id(),
                    mismatch.expected.leader_epoch,
                    mismatch.held_in_words()
                ),
            });
        }
    }
}
