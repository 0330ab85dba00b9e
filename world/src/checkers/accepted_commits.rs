//! The offset commits the group coordinators accepted, collected from their events as the run
//! goes, with what the coordinator knew of the group then: the generation and state it
//! validated the request against, and whether the committing member belonged to the group.
//! The group-commit checkers (`committed_offset_backwards.rs`, `commit_past_processed.rs`,
//! `fenced_commit_accepted.rs`) judge this list at the end of the run.
//!
//! Membership is the coordinator's own view when it validated the request
//! (`member_in_group`): a member may leave (or its session expire, or a failover reload the
//! group) while its accepted commit replicates, and the commit then rightly stands.
//!
//! A transactional commit (TxnOffsetCommit, KIP-447) is validated when it is written but
//! becomes the group's offset only when its producer's COMMIT marker reaches the offsets
//! partition: it enters the list then, at the marker's time, with what the coordinator knew
//! when it validated it, and only for the partitions where it became the committed offset
//! (a later plain commit of a partition stays). An aborted one never enters.

use std::collections::BTreeMap;
use watermark_broker_core::coordinator::GroupState;
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{GenerationId, GroupId, MemberId, Offset, ProducerId};
use watermark_broker_core::topic::TopicPartition;

/// One commit a coordinator answered with success (after its record was committed in the
/// offsets partition).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AcceptedCommit {
    pub time_ms: u64,
    pub group: GroupId,
    pub member: MemberId,
    /// The generation the request carried.
    pub request_generation: GenerationId,
    /// The group's generation and state when the coordinator validated the request.
    pub group_generation: GenerationId,
    pub group_state: GroupState,
    /// Whether `member` was a member of the group then.
    pub member_in_group: bool,
    pub offsets: Vec<(TopicPartition, Offset)>,
    /// A TxnOffsetCommit, made the group's offset by its producer's COMMIT marker.
    pub transactional: bool,
}

/// Every accepted commit of the run, in the order the coordinators answered them (a
/// transactional one in the order its marker committed it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoordinatorLog {
    pub accepted: Vec<AcceptedCommit>,
    /// Transactional commits accepted and waiting for their producer's marker, by producer
    /// and group: the latest one's validation.
    pending: BTreeMap<(ProducerId, GroupId), AcceptedCommit>,
}

impl CoordinatorLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Called for every broker event, in order; keeps the accepted commits.
    pub fn observe(&mut self, time_ms: u64, event: &Event) {
        match event {
            Event::OffsetCommitAnswered {
                group,
                member,
                request_generation,
                group_generation,
                group_state,
                member_in_group,
                offsets,
                result: Ok(()),
            } => self.accepted.push(AcceptedCommit {
                time_ms,
                group: group.clone(),
                member: member.clone(),
                request_generation: *request_generation,
                group_generation: *group_generation,
                group_state: *group_state,
                member_in_group: *member_in_group,
                offsets: offsets.clone(),
                transactional: false,
            }),
            Event::TxnOffsetCommitAnswered {
                group,
                member,
                producer,
                request_generation,
                group_generation,
                group_state,
                member_in_group,
                result: Ok(()),
                ..
            } => {
                let validated = AcceptedCommit {
                    time_ms,
                    group: group.clone(),
                    member: member.clone(),
                    request_generation: *request_generation,
                    group_generation: *group_generation,
                    group_state: *group_state,
                    member_in_group: *member_in_group,
                    offsets: Vec::new(),
                    transactional: true,
                };
                self.pending.insert((*producer, group.clone()), validated);
            }
            Event::TxnOffsetsCommittedByMarker {
                producer, offsets, ..
            } => self.commit_pending(time_ms, *producer, offsets),
            Event::TxnOffsetsAbortedByMarker {
                producer, offsets, ..
            } => {
                for (group, _, _) in offsets {
                    self.pending.remove(&(*producer, group.clone()));
                }
            }
            _ => {}
        }
    }

    /// A COMMIT marker of `producer` made its pending offsets the groups' offsets.
    fn commit_pending(
        &mut self,
        time_ms: u64,
        producer: ProducerId,
        offsets: &[(GroupId, TopicPartition, Offset, bool)],
    ) {
        let mut by_group: BTreeMap<GroupId, Vec<(TopicPartition, Offset)>> = BTreeMap::new();
        for (group, partition, offset, became_committed) in offsets {
            let entry = by_group.entry(group.clone()).or_default();
            if *became_committed {
                entry.push((*partition, *offset));
            }
        }
        for (group, committed) in by_group {
            let Some(mut commit) = self.pending.remove(&(producer, group)) else {
                continue;
            };
            if committed.is_empty() {
                continue;
            }
            commit.time_ms = time_ms;
            commit.offsets = committed;
            self.accepted.push(commit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::p;
    use watermark_broker_core::error::ErrorCode;
    use watermark_broker_core::ids::ProducerId;

    fn answered(member_in_group: bool, result: Result<(), ErrorCode>) -> Event {
        Event::OffsetCommitAnswered {
            group: GroupId("g".to_string()),
            member: MemberId("a".to_string()),
            request_generation: GenerationId(1),
            group_generation: GenerationId(1),
            group_state: GroupState::Stable,
            member_in_group,
            offsets: vec![(p(0), Offset(3))],
            result,
        }
    }

    fn txn_answered(producer: u64, generation: i32, result: Result<(), ErrorCode>) -> Event {
        Event::TxnOffsetCommitAnswered {
            group: GroupId("g".to_string()),
            member: MemberId("a".to_string()),
            producer: ProducerId(producer),
            producer_epoch: watermark_broker_core::ids::ProducerEpoch(0),
            request_generation: GenerationId(generation),
            group_generation: GenerationId(2),
            group_state: GroupState::Stable,
            member_in_group: false,
            offsets: vec![(p(0), Offset(5)), (p(1), Offset(7))],
            result,
        }
    }

    fn marker(producer: u64, commit: bool) -> Event {
        let group = GroupId("g".to_string());
        if commit {
            Event::TxnOffsetsCommittedByMarker {
                partition: p(9),
                producer: ProducerId(producer),
                // Partition 1's offset stays behind a later plain commit.
                offsets: vec![
                    (group.clone(), p(0), Offset(5), true),
                    (group, p(1), Offset(7), false),
                ],
            }
        } else {
            Event::TxnOffsetsAbortedByMarker {
                partition: p(9),
                producer: ProducerId(producer),
                offsets: vec![(group.clone(), p(0), Offset(5)), (group, p(1), Offset(7))],
            }
        }
    }

    #[test]
    fn a_transactional_commit_is_accepted_when_its_marker_commits_it() {
        let mut log = CoordinatorLog::new();
        log.observe(10, &txn_answered(1, 1, Ok(())));
        log.observe(11, &txn_answered(2, 2, Ok(())));
        log.observe(12, &txn_answered(3, 2, Err(ErrorCode::IllegalGeneration)));
        assert!(log.accepted.is_empty(), "pending until the marker");
        log.observe(20, &marker(2, false));
        log.observe(30, &marker(1, true));
        log.observe(40, &marker(3, true));
        assert_eq!(log.accepted.len(), 1, "{:?}", log.accepted);
        let commit = &log.accepted[0];
        assert_eq!(commit.time_ms, 30);
        assert!(commit.transactional);
        assert_eq!(commit.request_generation, GenerationId(1));
        assert_eq!(commit.group_generation, GenerationId(2));
        assert!(!commit.member_in_group);
        assert_eq!(commit.offsets, vec![(p(0), Offset(5))]);
    }

    #[test]
    fn only_accepted_commits_are_kept_with_the_membership_the_coordinator_validated() {
        let mut log = CoordinatorLog::new();
        log.observe(20, &answered(true, Ok(())));
        log.observe(25, &answered(true, Err(ErrorCode::IllegalGeneration)));
        log.observe(40, &answered(false, Ok(())));
        let seen: Vec<(u64, bool)> = log
            .accepted
            .iter()
            .map(|commit| (commit.time_ms, commit.member_in_group))
            .collect();
        assert_eq!(seen, vec![(20, true), (40, false)]);
    }
}
