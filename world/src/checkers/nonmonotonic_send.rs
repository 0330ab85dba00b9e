//! `nonmonotonic-send`, as Jepsen's Kafka workload defines it (`jepsen.tests.kafka`,
//! `nonmonotonic-send-cases`): per producer and partition, a send that landed at or before
//! the producer's previous send to that partition in the version order's dense index.
//!
//! Only sends that completed `Ok` or `Info` take part (a definite failure wrote nothing);
//! each is compared with the previous such send of the same producer to the same partition.
//! A send sits where `VersionOrders::position` places it: at the dense index of the offset it
//! was acknowledged at if its value is the one picked there, else (indefinite and acks=0
//! sends, a value overwritten at its offset) at its value's `by-value` index. A send with
//! neither gives no finding, and is still the "previous send" of the next one (Jepsen's rule).
//!
//! "Previous" is by invocation. Jepsen's clients are single-threaded, so its completion
//! order is its issue order; Watermark's producers pipeline up to
//! `max.in.flight.requests.per.connection` batches, and what the application was promised is
//! the order it called `send` in (docs/DECISIONS.md). Effect `Ordering`.
//!
//! One violation per offending pair: offsets and values `[previous send, this send]`, the
//! completion time of the later-invoked send.

use super::version_order::VersionOrders;
use super::{CompletedSend, Observations};
use crate::checkers::registry::Checker;
use crate::history::OpType;
use crate::violation::Violation;
use std::collections::BTreeMap;
use watermark_broker_core::ids::{ClientId, Offset};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::NonmonotonicSend;

pub(crate) fn check(observations: &Observations, orders: &VersionOrders) -> Vec<Violation> {
    let mut sends: BTreeMap<(ClientId, TopicPartition), Vec<&CompletedSend>> = BTreeMap::new();
    for send in &observations.sends {
        if let (Some(partition), OpType::Ok | OpType::Info) = (send.partition, send.op_type) {
            sends
                .entry((send.client, partition))
                .or_default()
                .push(send);
        }
    }
    let mut violations = Vec::new();
    for ((client, partition), mut sends) in sends {
        sends.sort_by_key(|send| send.invoke_index);
        for pair in sends.windows(2) {
            let (earlier, later) = (pair[0], pair[1]);
            let (Some(earlier_index), Some(later_index)) = (
                orders.position(partition, earlier.offset, earlier.value),
                orders.position(partition, later.offset, later.value),
            ) else {
                continue;
            };
            let delta = later_index as i64 - earlier_index as i64;
            if delta >= 1 {
                continue;
            }
            let offset_of = |index: usize| {
                orders
                    .get(partition)
                    .map_or(Offset(0), |order| order.by_index[index].0)
            };
            let (earlier_offset, later_offset) = (offset_of(earlier_index), offset_of(later_index));
            violations.push(Violation {
                checker: NAME,
                partition: Some(partition),
                offsets: vec![earlier_offset, later_offset],
                values: vec![earlier.value, later.value],
                time_ms: later.time_ms,
                description: format!(
                    "{client} sent {} before {} to {partition}, but they sit at offsets \
                     {earlier_offset} and {later_offset}: {delta} step(s) in the version order",
                    earlier.value, later.value
                ),
            });
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;
    use crate::verdict::{observed_guarantee, Guarantee};

    #[test]
    fn send_invoked_later_at_a_lower_offset_is_nonmonotonic() {
        let mut history = HistoryBuilder::new();
        history.send_invoke(1, 0, 10, 100);
        history.send_invoke(1, 0, 11, 101);
        // The second send is acknowledged first, at the lower offset: the batches were
        // reordered (a retry overtook its successor).
        history.send_complete_ok(1, 0, 11, Some(0), 110);
        history.send_complete_ok(1, 0, 10, Some(1), 120);
        history.poll(2, 0, &[(0, 11), (1, 10)], 130);
        let final_state = final_logs(&[(0, &[(0, 11), (1, 10)])]);

        let violations = check_history(&history.build(), &final_state);
        assert_eq!(checkers_reporting(&violations), vec!["nonmonotonic-send"]);
        assert_eq!(violations[0].partition, Some(p(0)));
        assert_eq!(violations[0].offsets, vec![o(1), o(0)]);
        assert_eq!(violations[0].values, vec![10, 11]);
        assert_eq!(violations[0].time_ms, 110);
        // Ordering findings leave the delivery guarantee alone.
        assert_eq!(observed_guarantee(&violations), Guarantee::ExactlyOnce);
    }

    /// kafka_test.clj `nonmonotonic-send-test`: producer 0 sends c to 3 and d to 4, then a to
    /// 1 and b to 2: d then a goes back three steps.
    #[test]
    fn a_later_send_landing_earlier_follows_jepsens_example() {
        let (a, b, c, d) = (1, 2, 3, 4);
        let mut history = HistoryBuilder::new();
        history.send_ok(0, 0, c, Some(3), 1);
        history.send_ok(0, 0, d, Some(4), 1);
        history.send_ok(0, 0, a, Some(1), 11);
        history.send_ok(0, 0, b, Some(2), 11);
        let violations = only(
            &check_history(&history.build(), &FinalState::default()),
            "nonmonotonic-send",
        );
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].values, vec![d, a]);
        assert!(
            violations[0].description.contains("-3 step"),
            "{}",
            violations[0]
        );
    }

    #[test]
    fn an_indefinite_send_a_poll_placed_counts_and_a_failure_does_not() {
        let mut history = HistoryBuilder::new();
        history.send_ok(0, 0, 10, Some(5), 1);
        history.send_fail_at(0, 0, 11, Some(0), 2);
        history.send_info(0, 0, 12, 3);
        history.poll(1, 0, &[(3, 12), (5, 10)], 4);
        let violations = only(
            &check_history(&history.build(), &FinalState::default()),
            "nonmonotonic-send",
        );
        let pairs: Vec<_> = violations
            .iter()
            .map(|violation| violation.values.clone())
            .collect();
        assert_eq!(pairs, vec![vec![10, 12]]);
    }

    #[test]
    fn different_producers_may_interleave() {
        let mut history = HistoryBuilder::new();
        history.send_invoke(1, 0, 10, 100);
        history.send_invoke(2, 0, 20, 101);
        history.send_complete_ok(2, 0, 20, Some(0), 110);
        history.send_complete_ok(1, 0, 10, Some(1), 120);
        history.poll(3, 0, &[(0, 20), (1, 10)], 130);
        let final_state = final_logs(&[(0, &[(0, 20), (1, 10)])]);
        assert!(check_history(&history.build(), &final_state).is_empty());
    }

    #[test]
    fn clean_history_has_no_nonmonotonic_send() {
        let (history, final_state) = clean_history();
        assert!(only(&check_history(&history, &final_state), "nonmonotonic-send").is_empty());
    }
}
