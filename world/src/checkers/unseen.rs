//! `unseen`, as Jepsen's Kafka workload defines it (`jepsen.tests.kafka`, `unseen`): an
//! acknowledged value that no poll ever read. Jepsen counts these over the whole history and
//! reports the ones left at its end as an error (`:unseen`, not in its allowed error types);
//! Watermark's history ends after the liveness phase, in which consumers must catch up, so a
//! value still unseen then is one the application never got. The message says "by the end
//! of the history", which is also true of a history `check-history` imports, recorded
//! elsewhere and ending wherever its recorder stopped.
//!
//! A value is unseen when its send completed `Ok` and no `Ok` poll of its partition read it.
//! Only partitions some consumer is assigned are judged ([`FinalState::assigned_partitions`]):
//! a scenario without consumers expects nobody to read anything. An acks=0 send completes `Ok`
//! too: the application was told nothing failed.
//!
//! A value acknowledged below the offset a DeleteRecords deleted its partition to
//! ([`FinalState::was_deleted`]) is not owed to the application: it was removed on purpose,
//! perhaps before any consumer got to it.
//!
//! Effect `Loss`: an acknowledged value the application never received breaks end-to-end
//! at-least-once, whether or not the log still holds it (`final-log-loss` says which). One
//! violation per value: its partition, its acknowledged offset if any, the acknowledgement
//! time.

use super::{FinalState, Observations};
use crate::checkers::registry::Checker;
use crate::violation::Violation;

pub const NAME: Checker = Checker::Unseen;

pub(crate) fn check(observations: &Observations, final_state: &FinalState) -> Vec<Violation> {
    observations
        .acked_sends()
        .filter_map(|send| {
            let partition = send.partition?;
            let deleted = send
                .offset
                .is_some_and(|offset| final_state.was_deleted(partition, offset));
            if !final_state.assigned_partitions.contains(&partition)
                || observations.was_read(partition, send.value)
                || deleted
            {
                return None;
            }
            let at = send
                .offset
                .map_or(String::new(), |offset| format!(" at offset {offset}"));
            Some(Violation {
                checker: NAME,
                partition: Some(partition),
                offsets: send.offset.into_iter().collect(),
                values: vec![send.value],
                time_ms: send.time_ms,
                description: format!(
                    "value {} was acknowledged{at} of {partition} at t={}ms, but no poll read it \
                     by the end of the history",
                    send.value, send.time_ms
                ),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;
    use crate::verdict::{observed_guarantee, Guarantee};

    /// kafka_test.clj `unseen-test`: a and b are acknowledged; a poll reads a, a later one b.
    /// Before the second poll b is unseen; at the end nothing is.
    #[test]
    fn acknowledged_values_are_unseen_until_a_poll_reads_them() {
        let (a, b) = (1, 2);
        let mut history = HistoryBuilder::new();
        history.send_ok(0, 0, a, Some(0), 3);
        history.send_ok(0, 0, b, Some(1), 3);
        history.poll(0, 0, &[(0, a)], 5);
        let final_state = final_logs(&[(0, &[(0, a), (1, b)])]);
        let violations = check_history(&history.build(), &final_state);
        assert_eq!(checkers_reporting(&violations), vec!["unseen"]);
        assert_eq!(violations[0].partition, Some(p(0)));
        assert_eq!(violations[0].offsets, vec![o(1)]);
        assert_eq!(violations[0].values, vec![b]);
        assert!(!violations[0].checker.info().informational);
        assert_eq!(observed_guarantee(&violations), Guarantee::AtMostOnce);

        history.poll(0, 0, &[(1, b)], 7);
        assert!(check_history(&history.build(), &final_state).is_empty());
    }

    #[test]
    fn values_of_a_partition_no_consumer_is_assigned_are_not_unseen() {
        let mut history = HistoryBuilder::new();
        history.send_ok(1, 1, 20, Some(0), 100);
        history.poll(2, 0, &[(0, 10)], 150);
        let mut final_state = final_logs(&[(0, &[(0, 10)]), (1, &[(0, 20)])]);
        assert_eq!(
            only(&check_history(&history.build(), &final_state), "unseen").len(),
            1
        );
        final_state.assigned_partitions.remove(&p(1));
        assert!(only(&check_history(&history.build(), &final_state), "unseen").is_empty());
    }

    #[test]
    fn failed_and_indefinite_sends_are_never_unseen() {
        let mut history = HistoryBuilder::new();
        history.send_fail(1, 0, 10, 100);
        history.send_info(1, 0, 11, 110);
        let final_state = final_logs(&[(0, &[])]);
        assert!(only(&check_history(&history.build(), &final_state), "unseen").is_empty());
    }

    #[test]
    fn clean_history_has_nothing_unseen() {
        let (history, final_state) = clean_history();
        assert!(only(&check_history(&history, &final_state), "unseen").is_empty());
    }
}
