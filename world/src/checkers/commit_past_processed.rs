//! `commit-past-processed`: for a group whose processing mode promises at-least-once
//! (process-then-commit, auto-commit with the processing in the poll loop), every record
//! below an offset the coordinator accepted was processed by the group by the time it was
//! accepted. A commit past an unprocessed record is what lets a crash lose that record: the
//! next owner of the partition starts after it. Transactional commits (KIP-447) are left to
//! the pipeline checkers: the offsets and the outputs of their processing commit together.
//!
//! The records of a partition are its final log (every record below the final high
//! watermark) as a read_committed reader sees it; a record that is not in it has no position
//! to judge. One violation per
//! (group, partition, first unprocessed record): offsets [that record's, the committed], its
//! value, the time of the first commit that passed it.

use super::accepted_commits::AcceptedCommit;
use super::group_history::{GroupHistory, Processed};
use super::FinalState;
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::{GroupId, Offset};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::CommitPastProcessed;

pub(crate) fn check(
    accepted: &[AcceptedCommit],
    groups: &GroupHistory,
    final_state: &FinalState,
) -> Vec<Violation> {
    let mut found = Vec::new();
    for (group, reads) in &final_state.groups {
        if reads.at_least_once {
            // A transactional commit and the processing it covers become visible together,
            // at one marker: there is no "before" to judge, and the pipeline checkers judge
            // what this one would (every input below a committed offset has its output
            // committed with it).
            let commits = accepted
                .iter()
                .filter(|commit| &commit.group == group && !commit.transactional);
            found.extend(check_group(group, commits, groups.of(group), final_state));
        }
    }
    found
}

/// Walks one group's accepted commits in order, with what it had processed by each.
fn check_group<'a>(
    group: &GroupId,
    commits: impl Iterator<Item = &'a AcceptedCommit>,
    processed: &[Processed],
    final_state: &FinalState,
) -> Vec<Violation> {
    let mut processed_values: BTreeMap<TopicPartition, BTreeSet<u64>> = BTreeMap::new();
    let mut next_processed = 0;
    // Per partition, the index in the final log of the first record not (yet) processed:
    // processing only accumulates, so it only moves forward.
    let mut first_unprocessed: BTreeMap<TopicPartition, usize> = BTreeMap::new();
    let mut reported: BTreeSet<(TopicPartition, Offset)> = BTreeSet::new();
    // Only what a read_committed reader sees must be processed: a record of an aborted
    // transaction is never handed to such a group, and a read_uncommitted one loses nothing
    // by skipping it.
    let visible: BTreeMap<TopicPartition, Vec<(Offset, u64)>> = final_state
        .logs
        .keys()
        .map(|partition| {
            let log = final_state.committed_visible(*partition).copied().collect();
            (*partition, log)
        })
        .collect();
    let mut found = Vec::new();
    for commit in commits {
        while let Some(record) = processed.get(next_processed) {
            if record.time_ms > commit.time_ms {
                break;
            }
            processed_values
                .entry(record.partition)
                .or_default()
                .insert(record.value);
            next_processed += 1;
        }
        for (partition, committed) in &commit.offsets {
            let Some(log) = visible.get(partition) else {
                continue;
            };
            let done = processed_values.get(partition);
            let cursor = first_unprocessed.entry(*partition).or_insert(0);
            while log
                .get(*cursor)
                .is_some_and(|(_, value)| done.is_some_and(|done| done.contains(value)))
            {
                *cursor += 1;
            }
            let Some((offset, value)) = log.get(*cursor) else {
                continue;
            };
            if offset < committed && reported.insert((*partition, *offset)) {
                found.push(Violation {
                    checker: NAME,
                    partition: Some(*partition),
                    offsets: vec![*offset, *committed],
                    values: vec![*value],
                    time_ms: commit.time_ms,
                    description: format!(
                        "group {group} committed {partition} at {committed} (by {} in \
                         generation {}) before processing value {value} at offset {offset}",
                        commit.member, commit.request_generation
                    ),
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;

    /// Three records on partition 0; the group processes 10 and 11 by t=40, 12 at t=60.
    fn processed_history() -> HistoryBuilder {
        let mut history = HistoryBuilder::new();
        for (offset, value) in [(0, 10), (1, 11), (2, 12)] {
            history.send_ok(1, 0, value, Some(offset), 10);
        }
        history.assign(5, 1, &[0], &[], 20);
        history.poll(5, 0, &[(0, 10), (1, 11), (2, 12)], 30);
        history.process(5, 0, 0, 10, 35);
        history.process(5, 0, 1, 11, 40);
        history.process(5, 0, 2, 12, 60);
        history
    }

    fn past_processed(at_least_once: bool, commits: &[(u64, u64)]) -> Vec<(Vec<u64>, u64)> {
        let mut final_state = final_logs(&[(0, &[(0, 10), (1, 11), (2, 12)])]);
        reads(&mut final_state, &[0], at_least_once);
        final_state.accepted_commits = commits
            .iter()
            .map(|(time_ms, offset)| accepted(*time_ms, 5, 1, 1, true, &[(0, *offset)]))
            .collect();
        only(
            &check_history(&processed_history().build(), &final_state),
            "commit-past-processed",
        )
        .iter()
        .map(|violation| {
            let offsets = violation.offsets.iter().map(|offset| offset.0).collect();
            (offsets, violation.time_ms)
        })
        .collect()
    }

    #[test]
    fn a_commit_beyond_what_was_processed_by_then_is_reported_once() {
        // At t=50 10 and 11 are processed: committing 2 is fine, 3 passes 12.
        assert_eq!(past_processed(true, &[(45, 2)]), Vec::new());
        assert_eq!(
            past_processed(true, &[(45, 2), (50, 3), (55, 3)]),
            vec![(vec![2, 3], 50)]
        );
        // Once 12 is processed, committing 3 is fine.
        assert_eq!(past_processed(true, &[(45, 2), (60, 3)]), Vec::new());
        assert_eq!(past_processed(true, &[(30, 1)]), vec![(vec![0, 1], 30)]);
    }

    #[test]
    fn a_transactional_commit_is_left_to_the_pipeline_checkers() {
        let mut final_state = final_logs(&[(0, &[(0, 10), (1, 11), (2, 12)])]);
        reads(&mut final_state, &[0], true);
        let mut commit = accepted(30, 5, 1, 1, true, &[(0, 3)]);
        commit.transactional = true;
        final_state.accepted_commits = vec![commit];
        let violations = check_history(&processed_history().build(), &final_state);
        assert!(only(&violations, "commit-past-processed").is_empty());
    }

    #[test]
    fn a_group_without_the_at_least_once_promise_may_commit_first() {
        assert_eq!(past_processed(false, &[(30, 3)]), Vec::new());
    }

    /// A record of an aborted transaction is never handed to a read_committed group, so a
    /// commit past it passes nothing unprocessed.
    #[test]
    fn a_commit_past_an_aborted_record_passes_nothing() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 0, 10, Some(0), 10);
        history.send_ok(1, 0, 12, Some(2), 10);
        history.assign(5, 1, &[0], &[], 20);
        history.poll(5, 0, &[(0, 10), (2, 12)], 30);
        history.process(5, 0, 0, 10, 35);
        history.process(5, 0, 2, 12, 36);
        let mut final_state = final_logs(&[(0, &[(0, 10), (1, 11), (2, 12)])]);
        crate::checkers::txn_test_support::aborted(&mut final_state, 0, &[1]);
        reads(&mut final_state, &[0], true);
        final_state.accepted_commits = vec![accepted(40, 5, 1, 1, true, &[(0, 3)])];
        let violations = check_history(&history.build(), &final_state);
        assert!(
            only(&violations, "commit-past-processed").is_empty(),
            "{violations:?}"
        );
    }
}
