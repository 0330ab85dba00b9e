//! The offset commits the group coordinators accepted, collected from their events as the run
//! goes, with what the coordinator knew of the group then: the generation and state it
//! validated the request against, and whether the committing member belonged to the group.
//! The group-commit checkers (`committed_offset_backwards.rs`, `commit_past_processed.rs`,
//! `fenced_commit_accepted.rs`) judge this list at the end of the run.
//!
//! Membership is the coordinator's own view when it validated the request
//! (`member_in_group`): a member may leave (or its session expire, or a failover reload the
//! group) while its accepted commit replicates, and the commit then rightly stands.

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
    pub accepted: Vec<AcceptedCommit>,
}

impl CoordinatorLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Called for every broker event, in order; keeps the accepted commits.
    pub fn observe(&mut self, time_ms: u64, event: &Event) {
        if let Event::OffsetCommitAnswered {
            group,
            member,
            request_generation,
            group_generation,
            group_state,
            member_in_group,
            offsets,
            result: Ok(()),
        } = event
        {
            self.accepted.push(AcceptedCommit {
                time_ms,
                group: group.clone(),
                member: member.clone(),
                request_generation: *request_generation,
                group_generation: *group_generation,
                group_state: *group_state,
                member_in_group: *member_in_group,
                offsets: offsets.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::p;
    use watermark_broker_core::error::ErrorCode;

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
