//! A coordinator's transactional append to a partition this broker leads (the group
//! coordinator's TxnOffsetCommit records on `__consumer_offsets`, KIP-98): like
//! [`Partition::append_local`] an acks=all append whose waiter hears once the high watermark
//! passes it, but written as one transactional batch of the committing producer with origin
//! COORDINATOR ([`crate::log::Log::append_coordinator_batch_as_leader`]), so the producer's
//! marker later ends it.

use super::purgatory::{complete, Completion};
use super::{Context, Partition};
use crate::protocol::Acks;
use crate::record::ProducerRecord;

impl Partition {
    /// Appends `records`, stamped by one producer, as a transactional batch of that producer
    /// and completes `waiter` like an acks=all produce: NOT_LEADER_OR_FOLLOWER off the
    /// leader, NOT_ENOUGH_REPLICAS under `min_insync_replicas`, INVALID_PRODUCER_EPOCH for
    /// an epoch older than the producer state's.
    pub fn append_local_transactional(
        &mut self,
        context: &mut Context<'_>,
        waiter: super::LocalWaiter,
        records: &[ProducerRecord],
        timeout_ms: u64,
    ) {
        let completion = Completion::Local(waiter);
        let Some(leader_epoch) = self.admit_leader_append(context, &completion, Acks::All) else {
            return;
        };
        let appended =
            self.log
                .append_coordinator_batch_as_leader(context.storage, leader_epoch, records);
        let (base_offset, last_offset) = match appended {
            Ok(Some(offsets)) => offsets,
            Ok(None) => {
                let log_end_offset = self.log.log_end_offset();
                complete(context, self.id, &completion, None, Ok(log_end_offset));
                return;
            }
            Err(error) => {
                complete(context, self.id, &completion, None, Err(error));
                return;
            }
        };
        self.report_leader_append(context, base_offset, last_offset);
        let offsets = (base_offset, last_offset);
        self.answer_leader_append(context, completion, Acks::All, offsets, timeout_ms);
    }
}
