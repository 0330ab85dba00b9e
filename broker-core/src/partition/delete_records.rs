//! DeleteRecords on a partition (KIP-107, Kafka's `ReplicaManager.deleteRecords` and
//! `Partition.deleteRecordsOnLeader`): the leader moves its log start offset, never past its
//! high watermark; followers take it from the leader's fetch responses
//! (`ReplicaFetcherThread.processPartitionData`).

use super::{Context, Partition};
use crate::error::ErrorCode;
use crate::event::{Event, LogStartOffsetReason};
use crate::ids::Offset;
use crate::log::LogStartOffsetMove;
use crate::mark::Mark;
use crate::protocol::{DeleteRecordsOffset, DeleteRecordsRequest};

impl Partition {
    /// A DeleteRecords request: on the leader, the log start offset moves to the requested
    /// offset (the high watermark for [`DeleteRecordsOffset::HighWatermark`]); the answer is
    /// the log start offset after it. Not the leader: NOT_LEADER_OR_FOLLOWER; an offset past
    /// the high watermark: OFFSET_OUT_OF_RANGE. Deleting below the log start offset changes
    /// nothing and answers the log start offset.
    pub fn handle_delete_records(
        &mut self,
        context: &mut Context<'_>,
        request: &DeleteRecordsRequest,
    ) -> Result<Offset, ErrorCode> {
        let result = self.delete_records_on_leader(context, request);
        if result.is_err() {
            context.mark(Mark::DeleteRecordsRefused);
        }
        result
    }

    fn delete_records_on_leader(
        &mut self,
        context: &mut Context<'_>,
        request: &DeleteRecordsRequest,
    ) -> Result<Offset, ErrorCode> {
        if !self.is_leader() {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        let offset = match request.offset {
            DeleteRecordsOffset::Before(offset) => offset,
            DeleteRecordsOffset::HighWatermark => self.log.high_watermark(),
        };
        if let Some(moved) = self.log.maybe_increment_log_start_offset(offset)? {
            self.report_log_start_offset(
                context,
                moved,
                LogStartOffsetReason::ClientRecordDeletion,
            );
            context.mark(Mark::RecordsDeleted);
        }
        Ok(self.log.log_start_offset())
    }

    /// A follower's copy of its leader's log start offset, after the fetch's records and
    /// high watermark were taken. Kafka refuses a log start offset past the local high
    /// watermark (`maybeIncrementLogStartOffset` throws); the model keeps the old one then,
    /// and a later fetch, once the high watermark has caught up, brings it.
    pub(super) fn follow_log_start_offset(&mut self, context: &mut Context<'_>, leader: Offset) {
        if let Ok(Some(moved)) = self.log.maybe_increment_log_start_offset(leader) {
            self.report_log_start_offset(
                context,
                moved,
                LogStartOffsetReason::LeaderOffsetIncremented,
            );
            context.mark(Mark::FollowerLogStartOffsetIncremented);
        }
    }

    fn report_log_start_offset(
        &self,
        context: &mut Context<'_>,
        moved: LogStartOffsetMove,
        reason: LogStartOffsetReason,
    ) {
        if !moved.producers_forgotten.is_empty() {
            context.mark(Mark::ProducerStateForgotten);
        }
        context.event(Event::LogStartOffsetIncremented {
            partition: self.id,
            from: moved.from,
            to: moved.to,
            reason,
            producers_forgotten: moved.producers_forgotten,
        });
    }
}
