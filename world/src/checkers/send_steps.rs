//! The steps a transaction takes through a partition as it sends, as Jepsen's
//! `int-send-skip+nonmonotonic-cases` compares them: two consecutive sends of one
//! transaction to the same partition, and how far apart they landed in the version order's
//! dense index (`version_order.rs`).
//!
//! Every completed transaction (`Ok`, `Fail`, `Info`: Jepsen removes only invocations) takes
//! part. A send sits where `VersionOrders::position` places it (by the offset its callback
//! reported where its value is the one picked there, else by value, as every Watermark
//! checker places an observation); a send with no position gives no step (Jepsen assumes
//! such a step moved by exactly 1), and a send to an unreported partition is left out.

use super::version_order::VersionOrders;
use super::Observations;
use watermark_broker_core::ids::Offset;
use watermark_broker_core::topic::TopicPartition;

/// Two sends of one transaction to one partition, one after the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SendStep {
    /// The transaction, as reports name it.
    pub transaction: String,
    pub partition: TopicPartition,
    /// (offset of its dense index, value) sent first.
    pub earlier: (Offset, u64),
    /// (offset of its dense index, value) sent next.
    pub later: (Offset, u64),
    pub earlier_index: usize,
    pub later_index: usize,
    /// When the transaction completed.
    pub time_ms: u64,
}

impl SendStep {
    /// How far the second send landed from the first in the dense index: 1 is the next
    /// record.
    pub fn delta(&self) -> i64 {
        self.later_index as i64 - self.earlier_index as i64
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

/// Within each completed transaction: every pair of consecutive sends to one partition.
pub(crate) fn within_transactions(
    observations: &Observations,
    orders: &VersionOrders,
) -> Vec<SendStep> {
    let mut steps = Vec::new();
    for transaction in &observations.transactions {
        for (partition, sends) in transaction.sends_by_partition() {
            let Some(order) = orders.get(partition) else {
                continue;
            };
            for pair in sends.windows(2) {
                let (Some(earlier_index), Some(later_index)) = (
                    order.position(pair[0].offset, pair[0].value),
                    order.position(pair[1].offset, pair[1].value),
                ) else {
                    continue;
                };
                steps.push(SendStep {
                    transaction: transaction.name(),
                    partition,
                    earlier: (order.by_index[earlier_index].0, pair[0].value),
                    later: (order.by_index[later_index].0, pair[1].value),
                    earlier_index,
                    later_index,
                    time_ms: transaction.time_ms,
                });
            }
        }
    }
    steps
}
