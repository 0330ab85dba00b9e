//! The follower half of a partition (the per-partition part of Kafka's
//! `AbstractFetcherThread` and `ReplicaFetcherThread`): the truncation handshake
//! (OffsetsForLeaderEpoch, KIP-101 and KIP-279), then one fetch outstanding at a time,
//! appending what the leader returns and following its high watermark.
//!
//! Invariant: the fetcher's stage and its timer change together ([`Partition::set_fetcher_stage`]):
//! a request outstanding has its timeout set, a back-off its end, and no other stage a timer.

use super::{summaries, Context, Partition, PartitionTimer, Role};
use crate::error::ErrorCode;
use crate::event::{Event, TruncationReason};
use crate::ids::{CorrelationId, NodeId};
use crate::mark::Mark;
use crate::protocol::{
    FetchRequest, FetchResponse, Message, OffsetsForLeaderEpochRequest,
    OffsetsForLeaderEpochResponse,
};

/// What a follower does after a back-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AfterBackoff {
    Truncate,
    Fetch,
}

/// Where the follower's fetcher stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FetcherStage {
    /// No leader to fetch from (the partition is offline).
    NoLeader,
    /// An OffsetsForLeaderEpoch request is outstanding.
    Truncating {
        correlation: CorrelationId,
        sent_at_ms: u64,
    },
    /// A fetch is outstanding.
    Fetching {
        correlation: CorrelationId,
        sent_at_ms: u64,
    },
    BackingOff {
        until_ms: u64,
        then: AfterBackoff,
    },
}

impl Partition {
    /// Enters a fetcher stage and sets the one timer it needs.
    pub(super) fn set_fetcher_stage(&mut self, context: &mut Context<'_>, stage: FetcherStage) {
        context.cancel_timer(self.id, PartitionTimer::FetcherRequestTimeout);
        context.cancel_timer(self.id, PartitionTimer::FetcherBackoff);
        match stage {
            FetcherStage::NoLeader => {}
            FetcherStage::Truncating { sent_at_ms, .. }
            | FetcherStage::Fetching { sent_at_ms, .. } => {
                let timeout_ms = context.config.replica_socket_timeout_ms.max(1);
                context.set_timer(
                    self.id,
                    PartitionTimer::FetcherRequestTimeout,
                    sent_at_ms.saturating_add(timeout_ms),
                );
            }
            FetcherStage::BackingOff { until_ms, .. } => {
                context.set_timer(self.id, PartitionTimer::FetcherBackoff, until_ms);
            }
        }
        self.role = Role::Follower(stage);
    }

    /// A fetcher timer fired: ask again after a request timed out, or go on after a
    /// back-off.
    pub(super) fn on_fetcher_timers(
        &mut self,
        context: &mut Context<'_>,
        stage: FetcherStage,
        fired: &[PartitionTimer],
    ) {
        match stage {
            FetcherStage::NoLeader => {}
            FetcherStage::Truncating { .. } => {
                if fired.contains(&PartitionTimer::FetcherRequestTimeout) {
                    self.start_epoch_handshake(context);
                }
            }
            FetcherStage::Fetching { .. } => {
                if fired.contains(&PartitionTimer::FetcherRequestTimeout) {
                    self.send_fetch(context);
                }
            }
            FetcherStage::BackingOff { then, .. } => {
                if fired.contains(&PartitionTimer::FetcherBackoff) {
                    match then {
                        AfterBackoff::Truncate => self.start_epoch_handshake(context),
                        AfterBackoff::Fetch => self.send_fetch(context),
                    }
                }
            }
        }
    }

    /// The pre-KIP-101 rule behind the `truncate-to-high-watermark` switch: cut the log to the
    /// local high watermark, which after a restart is the checkpointed one.
    pub(super) fn truncate_to_high_watermark(&mut self, context: &mut Context<'_>) {
        let high_watermark = self.log.high_watermark();
        if let Some(from) = self.log.truncate_to(context.storage, high_watermark) {
            context.event(Event::LogTruncated {
                partition: self.id,
                from_log_end_offset: from,
                to_offset: high_watermark,
                reason: TruncationReason::HighWatermark,
            });
            context.mark(Mark::TruncatedToHighWatermark);
        }
    }

    /// Asks the leader where this replica's latest epoch ends (KIP-101). An empty epoch cache
    /// means an empty log: nothing can diverge, so fetching starts at once.
    pub(super) fn start_epoch_handshake(&mut self, context: &mut Context<'_>) {
        let (Some(leader), Some(current_leader_epoch)) = (self.leader, self.leader_epoch) else {
            self.set_fetcher_stage(context, FetcherStage::NoLeader);
            return;
        };
        let Some(latest_epoch) = self.log.latest_epoch() else {
            self.send_fetch(context);
            return;
        };
        let correlation = context.correlation();
        context.send(
            NodeId::Broker(leader),
            Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
                correlation,
                partition: self.id,
                replica: Some(context.local),
                current_leader_epoch,
                leader_epoch: latest_epoch,
            }),
        );
        let sent_at_ms = context.now_ms;
        self.set_fetcher_stage(
            context,
            FetcherStage::Truncating {
                correlation,
                sent_at_ms,
            },
        );
    }

    pub(super) fn send_fetch(&mut self, context: &mut Context<'_>) {
        let (Some(leader), Some(current_leader_epoch)) = (self.leader, self.leader_epoch) else {
            self.set_fetcher_stage(context, FetcherStage::NoLeader);
            return;
        };
        let correlation = context.correlation();
        context.send(
            NodeId::Broker(leader),
            Message::Fetch(FetchRequest {
                correlation,
                partition: self.id,
                replica: Some(context.local),
                replica_epoch: context.broker_epoch,
                current_leader_epoch,
                fetch_offset: self.log.log_end_offset(),
                last_fetched_epoch: self.log.last_record_epoch(),
                max_records: context.config.replica_fetch_max_records,
                max_wait_ms: context.config.replica_fetch_wait_max_ms,
            }),
        );
        let sent_at_ms = context.now_ms;
        self.set_fetcher_stage(
            context,
            FetcherStage::Fetching {
                correlation,
                sent_at_ms,
            },
        );
    }

    fn back_off(&mut self, context: &mut Context<'_>, then: AfterBackoff) {
        let until_ms = context.now_ms + context.config.replica_fetch_backoff_ms.max(1);
        self.set_fetcher_stage(context, FetcherStage::BackingOff { until_ms, then });
    }

    /// Whether a response from `from` with `correlation` answers this follower's outstanding
    /// request of the given kind.
    fn is_outstanding(&self, from: NodeId, correlation: CorrelationId, fetch: bool) -> bool {
        let from_leader = self
            .leader
            .is_some_and(|leader| from == NodeId::Broker(leader));
        let matches = match self.role {
            Role::Follower(FetcherStage::Fetching {
                correlation: outstanding,
                ..
            }) => fetch && outstanding == correlation,
            Role::Follower(FetcherStage::Truncating {
                correlation: outstanding,
                ..
            }) => !fetch && outstanding == correlation,
            _ => false,
        };
        from_leader && matches
    }

    /// The leader's answer to the handshake, handled as Kafka's
    /// `AbstractFetcherThread.getOffsetTruncationState` (KIP-279): if this replica has the
    /// epoch the leader answered, truncate to the smaller end offset and fetch; otherwise cut
    /// to the end of its own largest epoch below it and ask again. Each repetition asks for
    /// a strictly smaller epoch, so the handshake ends.
    pub fn handle_offsets_for_leader_epoch_response(
        &mut self,
        context: &mut Context<'_>,
        from: NodeId,
        response: &OffsetsForLeaderEpochResponse,
    ) {
        if !self.is_outstanding(from, response.correlation, false) {
            return;
        }
        let answer = match response.result {
            Ok(answer) => answer,
            Err(_) => {
                self.back_off(context, AfterBackoff::Truncate);
                return;
            }
        };
        let log_end_offset = self.log.log_end_offset();
        let (truncate_to, completed) = match self.log.end_offset_for_epoch(answer.leader_epoch) {
            Some((follower_epoch, follower_end_offset))
                if follower_epoch != answer.leader_epoch =>
            {
                (follower_end_offset.min(log_end_offset), false)
            }
            Some((_, follower_end_offset)) => (
                follower_end_offset
                    .min(answer.end_offset)
                    .min(log_end_offset),
                true,
            ),
            None => (answer.end_offset.min(log_end_offset), true),
        };
        let epoch_asked = self.log.latest_epoch();
        if let Some(from_log_end_offset) = self.log.truncate_to(context.storage, truncate_to) {
            context.event(Event::LogTruncated {
                partition: self.id,
                from_log_end_offset,
                to_offset: truncate_to,
                reason: TruncationReason::LeaderEpochDivergence,
            });
            context.mark(Mark::TruncatedByLeaderEpoch);
        }
        if completed {
            self.send_fetch(context);
        } else {
            assert!(
                self.log.latest_epoch() < epoch_asked,
                "{}: handshake step did not lower the latest epoch {epoch_asked:?} (answer {answer:?})",
                self.id
            );
            self.start_epoch_handshake(context);
        }
    }

    /// Records from the leader: append them, follow the leader's high watermark, fetch again.
    pub fn handle_fetch_response(
        &mut self,
        context: &mut Context<'_>,
        from: NodeId,
        response: FetchResponse,
    ) {
        if !self.is_outstanding(from, response.correlation, true) {
            return;
        }
        let data = match response.result {
            Ok(data) => data,
            Err(ErrorCode::OffsetOutOfRange) => {
                // With the switch on, Kafka before KIP-101 asked the leader for its log end
                // offset and cut to it; the handshake is the closest request this protocol has.
                self.back_off(context, AfterBackoff::Truncate);
                return;
            }
            Err(_) => {
                let then = if context.bugs.truncate_to_high_watermark {
                    AfterBackoff::Fetch
                } else {
                    AfterBackoff::Truncate
                };
                self.back_off(context, then);
                return;
            }
        };
        let appended = (!data.records.is_empty()).then(|| summaries(&data.records));
        if self
            .log
            .append_as_follower(context.storage, data.records)
            .is_err()
        {
            // The leader's records do not continue this log: redo the handshake.
            self.back_off(context, AfterBackoff::Truncate);
            return;
        }
        if let Some(records) = appended {
            context.event(Event::RecordsAppended {
                partition: self.id,
                as_leader: false,
                records,
            });
        }
        let new_high_watermark = data.high_watermark.min(self.log.log_end_offset());
        if let Some((from, to)) = self.log.maybe_increment_high_watermark(new_high_watermark) {
            context.event(Event::HighWatermarkUpdated {
                partition: self.id,
                from,
                to,
            });
        }
        self.send_fetch(context);
    }
}
