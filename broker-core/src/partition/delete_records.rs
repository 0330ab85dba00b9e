//! DeleteRecords on a partition (KIP-107, Kafka's `ReplicaManager.deleteRecords` and
//! `Partition.deleteRecordsOnLeader`): the leader moves its log start offset, never past its
//! high watermark; followers take it from the leader's fetch responses
//! (`ReplicaFetcherThread.processPartitionData`) and send theirs with every fetch. The
//! answer waits (Kafka's `DelayedDeleteRecords`) until the low watermark, the smallest log
//! start offset of the leader and of every follower whose broker is alive
//! (`Partition.lowWatermarkIfLeader`), has reached the requested offset, or the request's
//! timeout ran out (REQUEST_TIMED_OUT). It is checked when a follower's fetch arrives; a
//! leader that resigned keeps its waiting requests until they expire, as Kafka does.

use super::{Context, DelayedOperationId, Partition, PartitionTimer};
use crate::error::ErrorCode;
use crate::event::{Event, LogStartOffsetReason};
use crate::ids::Offset;
use crate::log::LogStartOffsetMove;
use crate::mark::Mark;
use crate::protocol::{DeleteRecordsOffset, DeleteRecordsRequest};
use crate::topic::TopicPartition;

/// A DeleteRecords accepted by the leader, waiting for the low watermark to reach its offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct DelayedDeleteRecords {
    id: DelayedOperationId,
    requested_offset: Offset,
}

impl Partition {
    /// A DeleteRecords request: on the leader, the log start offset moves to the requested
    /// offset (the high watermark for [`DeleteRecordsOffset::HighWatermark`]); the result is
    /// the leader's log start offset after it, and the answer
    /// ([`Event::DeleteRecordsAnswered`]) comes when the low watermark reaches the offset,
    /// at once if it already has. Not the leader: NOT_LEADER_OR_FOLLOWER; an offset past the
    /// high watermark: OFFSET_OUT_OF_RANGE; both answered at once.
    pub fn handle_delete_records(
        &mut self,
        context: &mut Context<'_>,
        request: &DeleteRecordsRequest,
    ) -> Result<Offset, ErrorCode> {
        let requested_offset = match request.offset {
            DeleteRecordsOffset::Before(offset) => offset,
            DeleteRecordsOffset::HighWatermark => self.log.high_watermark(),
        };
        let result = self.delete_records_on_leader(context, requested_offset);
        match result {
            Err(error) => {
                context.mark(Mark::DeleteRecordsRefused);
                answer(context, self.id, requested_offset, Err(error));
            }
            Ok(_) => match self.low_watermark(context) {
                Some(low_watermark) if low_watermark >= requested_offset => {
                    answer(context, self.id, requested_offset, Ok(low_watermark));
                }
                _ => self.delay_delete_records(context, requested_offset, request.timeout_ms),
            },
        }
        result
    }

    fn delete_records_on_leader(
        &mut self,
        context: &mut Context<'_>,
        offset: Offset,
    ) -> Result<Offset, ErrorCode> {
        if !self.is_leader() {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        if let Some(moved) = self
            .log
            .maybe_increment_log_start_offset(context.storage, offset)?
        {
            self.report_log_start_offset(
                context,
                moved,
                LogStartOffsetReason::ClientRecordDeletion,
            );
            context.mark(Mark::RecordsDeleted);
        }
        Ok(self.log.log_start_offset())
    }

    /// Kafka's `Partition.lowWatermarkIfLeader`: the smallest log start offset of this
    /// leader and of every other replica whose broker is alive (unfenced); `None` while such
    /// a follower's is unknown (Kafka's -1, below any offset), and when not the leader.
    fn low_watermark(&self, context: &Context<'_>) -> Option<Offset> {
        if !self.is_leader() {
            return None;
        }
        let mut low_watermark = self.log.log_start_offset();
        for &replica in &self.replicas {
            if replica == context.local || !context.live_brokers.contains(&replica) {
                continue;
            }
            low_watermark = low_watermark.min(self.follower_log_start_offset(replica)?);
        }
        Some(low_watermark)
    }

    fn delay_delete_records(
        &mut self,
        context: &mut Context<'_>,
        requested_offset: Offset,
        timeout_ms: u64,
    ) {
        let id = context.delayed_operation();
        let deadline_ms = context.now_ms.saturating_add(timeout_ms);
        context.set_timer(
            self.id,
            PartitionTimer::DelayedDeleteRecords(id),
            deadline_ms,
        );
        context.mark(Mark::DeleteRecordsDelayed);
        self.delayed_delete_records.push(DelayedDeleteRecords {
            id,
            requested_offset,
        });
    }

    /// Answers, in arrival order, the waiting DeleteRecords the low watermark has reached
    /// (Kafka's `DelayedDeleteRecords.tryComplete`, on a follower's fetch).
    pub(super) fn complete_delayed_delete_records(&mut self, context: &mut Context<'_>) {
        if self.delayed_delete_records.is_empty() {
            return;
        }
        let Some(low_watermark) = self.low_watermark(context) else {
            return;
        };
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delayed_delete_records)
            .into_iter()
            .partition(|delayed| low_watermark >= delayed.requested_offset);
        self.delayed_delete_records = waiting;
        for delayed in done {
            context.cancel_timer(self.id, PartitionTimer::DelayedDeleteRecords(delayed.id));
            context.mark(Mark::DeleteRecordsLowWatermarkReached);
            answer(
                context,
                self.id,
                delayed.requested_offset,
                Ok(low_watermark),
            );
        }
    }

    /// Answers REQUEST_TIMED_OUT to the waiting DeleteRecords whose timeout fired, whatever
    /// this replica's role is now (the records stay deleted where they were).
    pub(super) fn expire_delayed_delete_records(
        &mut self,
        context: &mut Context<'_>,
        fired: &[PartitionTimer],
    ) {
        if self.delayed_delete_records.is_empty() {
            return;
        }
        let (expired, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delayed_delete_records)
            .into_iter()
            .partition(|delayed| fired.contains(&PartitionTimer::DelayedDeleteRecords(delayed.id)));
        self.delayed_delete_records = waiting;
        for delayed in expired {
            context.mark(Mark::DeleteRecordsTimedOut);
            answer(
                context,
                self.id,
                delayed.requested_offset,
                Err(ErrorCode::RequestTimedOut),
            );
        }
    }

    /// A follower's copy of its leader's log start offset, after the fetch's records and
    /// high watermark were taken. Kafka refuses a log start offset past the local high
    /// watermark (`maybeIncrementLogStartOffset` throws); the model keeps the old one then,
    /// and a later fetch, once the high watermark has caught up, brings it.
    pub(super) fn follow_log_start_offset(&mut self, context: &mut Context<'_>, leader: Offset) {
        if let Ok(Some(moved)) = self
            .log
            .maybe_increment_log_start_offset(context.storage, leader)
        {
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

/// The administrator's answer, recorded as an event: the nemesis has no inbox.
fn answer(
    context: &mut Context<'_>,
    partition: TopicPartition,
    requested_offset: Offset,
    result: Result<Offset, ErrorCode>,
) {
    context.event(Event::DeleteRecordsAnswered {
        partition,
        requested_offset,
        result,
    });
}
