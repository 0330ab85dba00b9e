//! The steps a consumer takes through a partition, as Jepsen's poll checkers
//! (`jepsen.tests.kafka`, `poll-skip+nonmonotonic-cases` and
//! `int-poll-skip+nonmonotonic-cases`) compare them: two values handed over one after the
//! other, and how far apart they are in the version order's dense index (`version_order.rs`).
//!
//! - *Between* polls: per consumer and partition, each `Ok` poll operation's first value
//!   against the previous `Ok` poll operation's last value. Jepsen forgets a consumer's last
//!   read of a partition when it is assigned or subscribed to a set without it, and treats a
//!   partition a rebalance moved as free of any assumption of monotonic offsets (its
//!   `:rebalance-log` rule; under subscribe it allows `poll-skip` and `nonmonotonic-poll`
//!   because a consumer "might be rebalanced between transactions"). Watermark sees each
//!   rebalance (`OpBody::Assign`), so it applies both rules exactly there: on a group
//!   consumer's assignment change it forgets its last read of every partition it did not
//!   keep (not in the new assignment, or revoked and handed back, as an eager rebalance
//!   does). A partition kept through a cooperative rebalance, and every step with no
//!   rebalance between, is judged as before. Assign-mode consumers never change assignment,
//!   so nothing resets for them.
//! - *Within* a poll: each pair of consecutive values of one poll operation.
//!
//! Each value is placed by `PartitionOrder::position`: at the dense index of the offset it was
//! read at when it is the value picked there (where Jepsen's `by-value` lookup would misplace
//! the first copy of a duplicate), else by `by-value`. A value with no position is left out:
//! Jepsen assumes such a step moved by exactly 1.

use super::version_order::{PartitionOrder, VersionOrders};
use super::Observations;
use std::collections::BTreeMap;
use watermark_broker_core::ids::{ClientId, Offset};
use watermark_broker_core::topic::TopicPartition;

/// Two values a consumer handed to the application one after the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PollStep {
    pub client: ClientId,
    pub partition: TopicPartition,
    /// (offset, value) handed over first.
    pub earlier: (Offset, u64),
    /// (offset, value) handed over next.
    pub later: (Offset, u64),
    pub earlier_index: usize,
    pub later_index: usize,
    /// When the later value was handed over.
    pub time_ms: u64,
}

impl PollStep {
    /// How far the consumer moved in the dense index: 1 is the next record.
    pub fn delta(&self) -> i64 {
        self.later_index as i64 - self.earlier_index as i64
    }

    fn between(
        client: ClientId,
        partition: TopicPartition,
        earlier: (Offset, u64),
        later: (Offset, u64),
        time_ms: u64,
        order: &PartitionOrder,
    ) -> Option<PollStep> {
        Some(PollStep {
            client,
            partition,
            earlier,
            later,
            earlier_index: order.position(Some(earlier.0), earlier.1)?,
            later_index: order.position(Some(later.0), later.1)?,
            time_ms,
        })
    }

    /// The values the version order holds strictly between the two, as "offset:value".
    pub fn skipped(&self, orders: &VersionOrders) -> Vec<String> {
        orders
            .get(self.partition)
            .map(|order| order.between(self.earlier_index, self.later_index))
            .unwrap_or_default()
            .iter()
            .map(|(offset, value)| format!("{offset}:{value}"))
            .collect()
    }
}

/// Between consecutive `Ok` poll operations of one consumer and partition: the earlier one's
/// last value, the later one's first.
pub(crate) fn between_polls(observations: &Observations, orders: &VersionOrders) -> Vec<PollStep> {
    let mut last_read: BTreeMap<(ClientId, TopicPartition), (Offset, u64)> = BTreeMap::new();
    let mut changes = observations.assignment_changes.iter().peekable();
    let mut steps = Vec::new();
    for (index, poll) in observations.polls.iter().enumerate() {
        while let Some(change) = changes.next_if(|change| change.polls_before <= index) {
            last_read.retain(|(client, partition), _| {
                *client != change.client || change.kept.contains(partition)
            });
        }
        let (Some(first), Some(last)) = (poll.records.first(), poll.records.last()) else {
            continue;
        };
        let key = (poll.client, poll.partition);
        if let (Some(previous), Some(order)) =
            (last_read.insert(key, *last), orders.get(poll.partition))
        {
            steps.extend(PollStep::between(
                poll.client,
                poll.partition,
                previous,
                *first,
                poll.time_ms,
                order,
            ));
        }
    }
    steps
}

/// Within each `Ok` poll operation: every pair of consecutive values.
pub(crate) fn within_polls(observations: &Observations, orders: &VersionOrders) -> Vec<PollStep> {
    let mut steps = Vec::new();
    for poll in &observations.polls {
        let Some(order) = orders.get(poll.partition) else {
            continue;
        };
        for pair in poll.records.windows(2) {
            steps.extend(PollStep::between(
                poll.client,
                poll.partition,
                pair[0],
                pair[1],
                poll.time_ms,
                order,
            ));
        }
    }
    steps
}
