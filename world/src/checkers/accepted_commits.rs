//! The offset commits the group coordinators accepted, collected from their events as the run
//! goes, with what the coordinator knew of the group then: the generation and state it
//! validated the request against, and whether the committing member belonged to the group.
//! The group-commit checkers (`committed_offset_backwards.rs`, `commit_past_processed.rs`,
//! `fenced_commit_accepted.rs`) judge this list at the end of the run.
//!
//! Membership comes from the coordinators' `GroupStateChanged` (the members after each
//! change) and `GroupMemberRemoved` events, per group across coordinators: a failover hands a
//! group to a new coordinator, the group stays the same group.

use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::coordinator::GroupState;
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{GenerationId, GroupId, MemberId, Offset};
use watermark_broker_core::topic::TopicPartition;

/// One commit a coordinator answered with success (after its record was committed in the
/// offsets partition).
#[derive(Clone, Debug, PartialEq, Eq)]
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
}

/// Every accepted commit of the run, in the order the coordinators answered them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoordinatorLog {
    members: BTreeMap<GroupId, BTreeSet<MemberId>>,
    pub accepted: Vec<AcceptedCommit>,
}

impl CoordinatorLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Called for every broker event, in order; reads the group coordinators' events only.
    pub fn observe(&mut self, time_ms: u64, event: &Event) {
        match event {
            Event::GroupStateChanged { group, members, .. } => {
                self.members
                    .insert(group.clone(), members.iter().cloned().collect());
            }
            Event::GroupMemberRemoved { group, member, .. } => {
                if let Some(members) = self.members.get_mut(group) {
                    members.remove(member);
                }
            }
            Event::OffsetCommitAnswered {
                group,
                member,
                request_generation,
                group_generation,
                group_state,
                offsets,
                result: Ok(()),
            } => {
                let member_in_group = self
                    .members
                    .get(group)
                    .is_some_and(|members| members.contains(member));
                self.accepted.push(AcceptedCommit {
                    time_ms,
                    group: group.clone(),
                    member: member.clone(),
                    request_generation: *request_generation,
                    group_generation: *group_generation,
                    group_state: *group_state,
                    member_in_group,
                    offsets: offsets.clone(),
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::p;
    use watermark_broker_core::event::MemberRemovalReason;

    fn group() -> GroupId {
        GroupId("g".to_string())
    }

    fn member(name: &str) -> MemberId {
        MemberId(name.to_string())
    }

    fn answered(
        member_name: &str,
        result: Result<(), watermark_broker_core::error::ErrorCode>,
    ) -> Event {
        Event::OffsetCommitAnswered {
            group: group(),
            member: member(member_name),
            request_generation: GenerationId(1),
            group_generation: GenerationId(1),
            group_state: GroupState::Stable,
            offsets: vec![(p(0), Offset(3))],
            result,
        }
    }

    #[test]
    fn only_accepted_commits_are_kept_with_the_membership_of_their_time() {
        let mut log = CoordinatorLog::new();
        log.observe(
            10,
            &Event::GroupStateChanged {
                group: group(),
                from: GroupState::CompletingRebalance,
                to: GroupState::Stable,
                generation: GenerationId(1),
                members: vec![member("a"), member("b")],
            },
        );
        log.observe(20, &answered("a", Ok(())));
        log.observe(
            25,
            &answered(
                "a",
                Err(watermark_broker_core::error::ErrorCode::IllegalGeneration),
            ),
        );
        log.observe(
            30,
            &Event::GroupMemberRemoved {
                group: group(),
                member: member("a"),
                reason: MemberRemovalReason::SessionTimeout,
            },
        );
        log.observe(40, &answered("a", Ok(())));
        let seen: Vec<(u64, bool)> = log
            .accepted
            .iter()
            .map(|commit| (commit.time_ms, commit.member_in_group))
            .collect();
        assert_eq!(seen, vec![(20, true), (40, false)]);
    }
}
