//! `committed-offset-backwards`: per group and partition, the offsets the coordinators
//! accepted never decrease. The model has no explicit reset (no `kafka-consumer-groups
//! --reset-offsets`), so a lower commit after a higher one rewinds the group: a consumer that
//! takes the partition next re-processes what lies between. A commit of a fenced (stale)
//! generation is the classic way there (`no-generation-fencing`).
//!
//! One violation per backwards commit: offsets [previous accepted, this one], the time the
//! coordinator accepted it.

use super::accepted_commits::AcceptedCommit;
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::BTreeMap;
use watermark_broker_core::ids::{GroupId, Offset};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::CommittedOffsetBackwards;

pub(crate) fn check(accepted: &[AcceptedCommit]) -> Vec<Violation> {
    let mut highest: BTreeMap<(GroupId, TopicPartition), Offset> = BTreeMap::new();
    let mut found = Vec::new();
    for commit in accepted {
        for (partition, offset) in &commit.offsets {
            let key = (commit.group.clone(), *partition);
            match highest.get(&key) {
                Some(previous) if offset < previous => found.push(Violation {
                    checker: NAME,
                    partition: Some(*partition),
                    offsets: vec![*previous, *offset],
                    values: Vec::new(),
                    time_ms: commit.time_ms,
                    description: format!(
                        "group {}'s committed offset of {partition} went back from {previous} \
                         to {offset} (commit of {} in generation {})",
                        commit.group, commit.member, commit.request_generation
                    ),
                }),
                _ => {
                    highest.insert(key, *offset);
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;
    use crate::history::History;

    #[test]
    fn a_lower_commit_after_a_higher_one_goes_backwards_per_partition() {
        let mut final_state = final_logs(&[]);
        final_state.accepted_commits = vec![
            accepted(10, 1, 1, 1, true, &[(0, 5), (1, 2)]),
            accepted(20, 1, 1, 1, true, &[(0, 5), (1, 3)]),
            accepted(30, 2, 1, 1, true, &[(0, 4)]),
            accepted(40, 2, 1, 1, true, &[(0, 6), (1, 3)]),
        ];
        let violations = check_history(&History::default(), &final_state);
        let backwards = only(&violations, "committed-offset-backwards");
        assert_eq!(backwards.len(), 1, "{violations:?}");
        assert_eq!(backwards[0].partition, Some(p(0)));
        assert_eq!(backwards[0].offsets, vec![o(5), o(4)]);
        assert_eq!(backwards[0].time_ms, 30);
    }
}
