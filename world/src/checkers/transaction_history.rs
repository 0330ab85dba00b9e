//! What the transaction checkers read from the client history: every completed transaction
//! (`OpBody::Transaction`, Jepsen's `:txn` operation) with its sends, its polls and the
//! consumer offsets it committed, and where each transactional value was written.

use crate::history::{OpType, TransactionOffsets, TransactionalSend};
use std::collections::BTreeMap;
use watermark_broker_core::ids::{ClientId, Offset, TransactionalId};
use watermark_broker_core::topic::TopicPartition;

/// One transaction's completion: `Ok` (committed), `Fail` (certainly not committed) or
/// `Info` (may have committed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CompletedTransaction {
    /// The producer.
    pub client: ClientId,
    pub op_type: OpType,
    pub transactional_id: TransactionalId,
    pub number: u64,
    /// The values sent in it, in send order.
    pub sends: Vec<TransactionalSend>,
    /// The records polled inside it, per poll, in the order received.
    pub polls: Vec<(TopicPartition, Vec<(Offset, u64)>)>,
    /// The consumer positions committed with it.
    pub offsets: Option<TransactionOffsets>,
    pub time_ms: u64,
}

impl CompletedTransaction {
    /// How the reports name it: `t1 transaction 3 (ok)`.
    pub fn name(&self) -> String {
        let outcome = match self.op_type {
            OpType::Ok => "committed",
            OpType::Fail => "aborted",
            OpType::Info | OpType::Invoke => "indefinite",
        };
        format!(
            "{} transaction {} ({outcome})",
            self.transactional_id.0, self.number
        )
    }

    /// The consumer position it committed for `partition`, if it committed one.
    pub fn committed_offset(&self, partition: TopicPartition) -> Option<Offset> {
        self.offsets.as_ref().and_then(|offsets| {
            offsets
                .offsets
                .iter()
                .find(|(committed, _)| *committed == partition)
                .map(|(_, offset)| *offset)
        })
    }

    /// Its sends to a known partition, grouped by partition, each in send order.
    pub fn sends_by_partition(&self) -> BTreeMap<TopicPartition, Vec<&TransactionalSend>> {
        let mut by_partition: BTreeMap<TopicPartition, Vec<&TransactionalSend>> = BTreeMap::new();
        for send in &self.sends {
            if let Some(partition) = send.partition {
                by_partition.entry(partition).or_default().push(send);
            }
        }
        by_partition
    }
}
