//! `nonmonotonic-send`, after Jepsen's Kafka workload (`jepsen.tests.kafka`, the
//! `:nonmonotonic-send` anomaly, Jepsen's "internal write contiguity" for sends): a producer's
//! writes to one partition land in the log out of the order it issued them.
//!
//! Per producer and partition, take the `Ok` sends that reported an offset, in the order they
//! were invoked; two of them where the one invoked later got a strictly lower offset is a
//! violation. Checking each send against the one invoked just before it finds every producer
//! whose sends are out of order (a sequence with an inversion anywhere has one between
//! neighbours) and reports each descent once. Offsets and values are listed earlier send first.

use super::Observations;
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::BTreeMap;
use watermark_broker_core::ids::{ClientId, Offset};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::NonmonotonicSend;

/// An acknowledged send as this checker orders it: (invocation index, offset, value, ack time).
type OrderedSend = (usize, Offset, u64, u64);

pub(crate) fn check(observations: &Observations) -> Vec<Violation> {
    // (producer, partition) → [(invocation index, offset, value, ack time)].
    let mut sends: BTreeMap<(ClientId, TopicPartition), Vec<OrderedSend>> = BTreeMap::new();
    for send in &observations.acked_sends {
        if let (Some(partition), Some(offset)) = (send.partition, send.offset) {
            sends.entry((send.client, partition)).or_default().push((
                send.invoke_index,
                offset,
                send.value,
                send.time_ms,
            ));
        }
    }

    let mut violations = Vec::new();
    for ((client, partition), mut sends) in sends {
        sends.sort_unstable();
        for pair in sends.windows(2) {
            let (_, earlier_offset, earlier_value, _) = pair[0];
            let (_, later_offset, later_value, later_time_ms) = pair[1];
            if later_offset < earlier_offset {
                violations.push(Violation {
                    checker: NAME,
                    partition: Some(partition),
                    offsets: vec![earlier_offset, later_offset],
                    values: vec![earlier_value, later_value],
                    time_ms: later_time_ms,
                    description: format!(
                        "{client} sent {earlier_value} before {later_value} to {partition}, but \
                         they were written at offsets {earlier_offset} and {later_offset}"
                    ),
                });
            }
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use crate::checkers::check_history;
    use crate::checkers::test_support::*;

    #[test]
    fn send_invoked_later_at_a_lower_offset_is_nonmonotonic() {
        let mut history = HistoryBuilder::new();
        history.send_invoke(1, 0, 10, 100);
        history.send_invoke(1, 0, 11, 101);
        // The second send is acknowledged first, at the lower offset: the batches were
        // reordered (a retry overtook its successor).
        history.send_complete_ok(1, 0, 11, Some(0), 110);
        history.send_complete_ok(1, 0, 10, Some(1), 120);
        let final_state = final_logs(&[(0, &[(0, 11), (1, 10)])]);

        let violations = check_history(&history.build(), &final_state);
        assert_eq!(checkers_reporting(&violations), vec!["nonmonotonic-send"]);
        assert_eq!(violations[0].partition, Some(p(0)));
        assert_eq!(violations[0].offsets, vec![o(1), o(0)]);
        assert_eq!(violations[0].values, vec![10, 11]);
    }

    #[test]
    fn different_producers_may_interleave() {
        let mut history = HistoryBuilder::new();
        history.send_invoke(1, 0, 10, 100);
        history.send_invoke(2, 0, 20, 101);
        history.send_complete_ok(2, 0, 20, Some(0), 110);
        history.send_complete_ok(1, 0, 10, Some(1), 120);
        let final_state = final_logs(&[(0, &[(0, 20), (1, 10)])]);
        assert!(check_history(&history.build(), &final_state).is_empty());
    }

    #[test]
    fn clean_history_has_no_nonmonotonic_send() {
        let (history, final_state) = clean_history();
        assert!(only(&check_history(&history, &final_state), "nonmonotonic-send").is_empty());
    }
}
