//! A follower told OFFSET_OUT_OF_RANGE (Kafka's `AbstractFetcherThread.handleOutOfRangeError`
//! and `fetchOffsetAndTruncate`): its fetch offset, its log end offset, is outside the
//! leader's log. It asks the leader where its log ends (ListOffsets LATEST for a replica):
//! a longer log is cut there. Otherwise it asks where the leader's log starts (EARLIEST): a
//! log ending below it holds only records the leader deleted, so it is truncated fully and
//! started again, empty, at the leader's log start offset (`truncateFullyAndStartAt`); one
//! ending at or above it is kept. Then it fetches from its (new) log end offset. Kafka sends
//! the two requests one after the other from the fetcher thread; here each is one stage.

use super::follower::{AfterBackoff, FetcherStage};
use super::{Context, Partition};
use crate::event::{Event, TruncationReason};
use crate::ids::{NodeId, Offset};
use crate::mark::Mark;
use crate::protocol::{
    IsolationLevel, ListOffsetsRequest, ListOffsetsResponse, Message, OffsetSpec,
};

impl Partition {
    /// The fetch was out of range: ask the leader for its log end offset.
    pub(super) fn start_offset_reset(&mut self, context: &mut Context<'_>) {
        self.ask_leader_offset(context, None);
    }

    /// Asks the leader for its log end offset (`leader_log_end_offset` not known yet) or,
    /// once it is, for its log start offset.
    fn ask_leader_offset(
        &mut self,
        context: &mut Context<'_>,
        leader_log_end_offset: Option<Offset>,
    ) {
        let Some(leader) = self.leader else {
            self.set_fetcher_stage(context, FetcherStage::NoLeader);
            return;
        };
        let correlation = context.correlation();
        let spec = match leader_log_end_offset {
            None => OffsetSpec::Latest,
            Some(_) => OffsetSpec::Earliest,
        };
        context.send(
            NodeId::Broker(leader),
            Message::ListOffsets(ListOffsetsRequest {
                correlation,
                partition: self.id,
                spec,
                isolation_level: IsolationLevel::ReadUncommitted,
                replica: Some(context.local),
            }),
        );
        let sent_at_ms = context.now_ms;
        self.set_fetcher_stage(
            context,
            FetcherStage::ResettingOffset {
                correlation,
                sent_at_ms,
                leader_log_end_offset,
            },
        );
    }

    /// The leader's answer to the follower's ListOffsets. An error (the leader moved, its
    /// epoch is not this one's) is retried after the back-off through the next fetch, as
    /// Kafka's fetcher delays a partition whose offset it could not reset.
    pub fn handle_list_offsets_response(
        &mut self,
        context: &mut Context<'_>,
        from: NodeId,
        response: &ListOffsetsResponse,
    ) {
        let from_leader = self
            .leader
            .is_some_and(|leader| from == NodeId::Broker(leader));
        let super::Role::Follower(FetcherStage::ResettingOffset {
            correlation,
            leader_log_end_offset,
            ..
        }) = self.role
        else {
            return;
        };
        if !from_leader || correlation != response.correlation {
            return;
        }
        let offset = match response.result {
            Ok(offset) => offset,
            Err(_) => {
                self.back_off(context, AfterBackoff::Fetch);
                return;
            }
        };
        match leader_log_end_offset {
            None => self.on_leader_log_end_offset(context, offset),
            Some(_) => self.on_leader_log_start_offset(context, offset),
        }
    }

    /// A leader log shorter than this one: cut to it and fetch; otherwise ask where it
    /// starts.
    fn on_leader_log_end_offset(
        &mut self,
        context: &mut Context<'_>,
        leader_log_end_offset: Offset,
    ) {
        if leader_log_end_offset < self.log.log_end_offset() {
            self.truncate_and_report(
                context,
                leader_log_end_offset,
                (TruncationReason::LeaderLogEnd, None),
                Mark::TruncatedToLeaderLogEnd,
            );
            self.send_fetch(context);
        } else {
            self.ask_leader_offset(context, Some(leader_log_end_offset));
        }
    }

    /// A leader log starting past this one's end: start again, empty, where it starts. Then
    /// fetch from the log end offset.
    fn on_leader_log_start_offset(
        &mut self,
        context: &mut Context<'_>,
        leader_log_start_offset: Offset,
    ) {
        let log_end_offset = self.log.log_end_offset();
        if leader_log_start_offset > log_end_offset {
            let stable_before = self.stable_offsets();
            self.log
                .truncate_fully_and_start_at(context.storage, leader_log_start_offset);
            context.event(Event::LogTruncatedFully {
                partition: self.id,
                from_log_end_offset: log_end_offset,
                start_offset: leader_log_start_offset,
            });
            context.mark(Mark::FollowerTruncatedFully);
            self.maybe_report_last_stable_offset(context, stable_before);
        }
        self.send_fetch(context);
    }
}
