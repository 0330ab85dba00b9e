//! `fenced-commit-accepted`: a coordinator accepted an offset commit it must refuse (Kafka's
//! `ClassicGroup.validateOffsetCommit`): one carrying a generation other than the group's
//! (ILLEGAL_GENERATION), or from a member not in the group (UNKNOWN_MEMBER_ID) — a zombie
//! that was removed, or a member of an earlier generation. The only commit without a
//! generation Kafka accepts is one with no generation and no member id while the group is
//! `Empty` (an admin or assign-mode commit), and a transactional one (TxnOffsetCommit) with
//! neither, whatever the state. A transactional commit is judged as the coordinator
//! validated it, once its marker made it the group's offset (`accepted_commits.rs`).
//!
//! One violation per accepted fenced commit: its offsets, the time it was accepted.

use super::accepted_commits::AcceptedCommit;
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use watermark_broker_core::coordinator::GroupState;

pub const NAME: Checker = Checker::FencedCommitAccepted;

pub(crate) fn check(accepted: &[AcceptedCommit]) -> Vec<Violation> {
    accepted
        .iter()
        .filter_map(|commit| {
            let reason = fencing_reason(commit)?;
            Some(Violation {
                checker: NAME,
                partition: commit.offsets.first().map(|(partition, _)| *partition),
                offsets: commit.offsets.iter().map(|(_, offset)| *offset).collect(),
                values: Vec::new(),
                time_ms: commit.time_ms,
                description: format!(
                    "group {}'s coordinator accepted a commit of {} in generation {} {reason}",
                    commit.group, commit.member, commit.request_generation
                ),
            })
        })
        .collect()
}

/// Why the coordinator should have refused the commit, if it should have.
fn fencing_reason(commit: &AcceptedCommit) -> Option<String> {
    let generationless = commit.request_generation.0 < 0 && commit.member.is_unknown();
    // A TxnOffsetCommit without generation and member (a producer that sends no group
    // metadata, before KIP-447) is accepted whatever the group's state.
    if generationless && (commit.transactional || commit.group_state == GroupState::Empty) {
        return None;
    }
    if commit.request_generation != commit.group_generation {
        return Some(format!(
            "while the group was in generation {} (ILLEGAL_GENERATION)",
            commit.group_generation
        ));
    }
    if !commit.member_in_group {
        return Some("from a member not in the group (UNKNOWN_MEMBER_ID)".to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;
    use crate::history::History;
    use watermark_broker_core::coordinator::GroupState;
    use watermark_broker_core::ids::{GenerationId, MemberId};

    fn fenced(commits: Vec<crate::checkers::AcceptedCommit>) -> Vec<u64> {
        let mut final_state = final_logs(&[]);
        final_state.accepted_commits = commits;
        only(
            &check_history(&History::default(), &final_state),
            "fenced-commit-accepted",
        )
        .iter()
        .map(|violation| violation.time_ms)
        .collect()
    }

    #[test]
    fn a_stale_generation_or_a_removed_member_is_fenced() {
        assert_eq!(
            fenced(vec![
                accepted(10, 1, 2, 2, true, &[(0, 5)]),
                accepted(20, 1, 1, 2, true, &[(0, 6)]),
                accepted(30, 3, 2, 2, false, &[(0, 7)]),
            ]),
            vec![20, 30]
        );
    }

    #[test]
    fn a_generationless_commit_is_accepted_only_while_the_group_is_empty() {
        let mut simple = accepted(10, 1, -1, 3, false, &[(0, 5)]);
        simple.member = MemberId::unknown();
        simple.request_generation = GenerationId::NONE;
        simple.group_state = GroupState::Empty;
        let mut while_stable = simple.clone();
        while_stable.time_ms = 20;
        while_stable.group_state = GroupState::Stable;
        assert_eq!(fenced(vec![simple, while_stable]), vec![20]);
    }

    #[test]
    fn a_transactional_commit_is_fenced_by_generation_and_member_but_not_without_them() {
        let mut stale = accepted(10, 1, 1, 2, true, &[(0, 5)]);
        stale.transactional = true;
        let mut removed = accepted(20, 1, 2, 2, false, &[(0, 6)]);
        removed.transactional = true;
        let mut without_metadata = accepted(30, 1, -1, 2, false, &[(0, 7)]);
        without_metadata.transactional = true;
        without_metadata.member = MemberId::unknown();
        without_metadata.request_generation = GenerationId::NONE;
        assert_eq!(fenced(vec![stale, removed, without_metadata]), vec![10, 20]);
    }
}
