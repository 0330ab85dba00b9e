//! The follower half of a partition (the per-partition part of Kafka's
//! `AbstractFetcherThread` and `ReplicaFetcherThread`): one fetch outstanding at a time,
//! appending what the leader returns and following its high watermark.
//!
//! Divergence is found as Kafka on KRaft finds it (KIP-595's truncation on fetch, the only
//! path since inter-broker protocol 2.7): every fetch carries the log's latest epoch, and a
//! leader that finds it inconsistent with its own epoch cache answers with a diverging epoch
//! instead of records; the follower truncates and fetches again at once. The older path,
//! behind the `offsets-for-leader-epoch-truncation` switch, runs the OffsetsForLeaderEpoch
//! handshake (KIP-101, KIP-279) before fetching. Both truncate by Kafka's
//! `AbstractFetcherThread.getOffsetTruncationState`. Two older bugs of the handshake era
//! refine that path, and turning either on implies it
//! ([`BugSwitches::offsets_for_leader_epoch_handshake`](crate::bugs::BugSwitches::offsets_for_leader_epoch_handshake)):
//! `epoch-lookup-without-epoch` reads the answer as OffsetsForLeaderEpoch version 0 did,
//! an end offset without its epoch (before KIP-279), and `no-truncation-when-leader-unchanged`
//! keeps a follower fetching across a new epoch of the leader it already follows (before
//! KAFKA-7164).
//!
//! Invariant: the fetcher's stage and its timer change together ([`Partition::set_fetcher_stage`]):
//! a request outstanding has its timeout set, a back-off its end, and no other stage a timer.

use super::{summaries, Context, Partition, PartitionTimer, Role};
use crate::error::ErrorCode;
use crate::event::{Event, TruncationReason};
use crate::ids::{BrokerId, CorrelationId, NodeId, Offset};
use crate::mark::Mark;
use crate::metadata::PartitionState;
use crate::protocol::{
    EpochEndOffset, FetchData, FetchRequest, FetchResponse, Message, OffsetsForLeaderEpochRequest,
    OffsetsForLeaderEpochResponse,
};
use crate::reason::{Divergence, HighWatermarkBasis};

/// Under `follower-high-watermark-before-truncation` (KAFKA-14704), how long after taking a
/// diverging answer's high watermark the fetcher truncates. Kafka's window is the rest of
/// one fetcher pass, microseconds to milliseconds while request handler threads run beside
/// it; the model's clock counts milliseconds and its broker handles one message at a time,
/// so the gap is stretched to a few milliseconds, about one consumer round trip, for a
/// consumer's fetch to be able to land in it (docs/DECISIONS.md).
pub(super) const TRUNCATION_AFTER_HIGH_WATERMARK_MS: u64 = 5;

/// What a follower does after a back-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AfterBackoff {
    /// Find the divergence again ([`Partition::restart_truncation`]).
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
    /// Under `follower-high-watermark-before-truncation` (KAFKA-14704): the fetcher took the
    /// high watermark of an answer that named a diverging epoch and truncates by it at
    /// `until_ms` ([`TRUNCATION_AFTER_HIGH_WATERMARK_MS`]).
    TruncationPending {
        until_ms: u64,
        diverging_epoch: EpochEndOffset,
    },
    /// A fetch was out of range: a ListOffsets is outstanding, for the leader's log end
    /// offset (`leader_log_end_offset` unknown) or then its log start offset
    /// (`out_of_range.rs`).
    ResettingOffset {
        correlation: CorrelationId,
        sent_at_ms: u64,
        leader_log_end_offset: Option<Offset>,
    },
}

impl Partition {
    /// Enters a fetcher stage and sets the one timer it needs.
    pub(super) fn set_fetcher_stage(&mut self, context: &mut Context<'_>, stage: FetcherStage) {
        context.cancel_timer(self.id, PartitionTimer::FetcherRequestTimeout);
        context.cancel_timer(self.id, PartitionTimer::FetcherBackoff);
        context.cancel_timer(self.id, PartitionTimer::FetcherTruncation);
        match stage {
            FetcherStage::NoLeader => {}
            FetcherStage::Truncating { sent_at_ms, .. }
            | FetcherStage::Fetching { sent_at_ms, .. }
            | FetcherStage::ResettingOffset { sent_at_ms, .. } => {
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
            FetcherStage::TruncationPending { until_ms, .. } => {
                context.set_timer(self.id, PartitionTimer::FetcherTruncation, until_ms);
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
            FetcherStage::ResettingOffset { .. } => {
                if fired.contains(&PartitionTimer::FetcherRequestTimeout) {
                    self.start_offset_reset(context);
                }
            }
            FetcherStage::BackingOff { then, .. } => {
                if fired.contains(&PartitionTimer::FetcherBackoff) {
                    match then {
                        AfterBackoff::Truncate => self.restart_truncation(context),
                        AfterBackoff::Fetch => self.send_fetch(context),
                    }
                }
            }
            FetcherStage::TruncationPending {
                diverging_epoch, ..
            } => {
                if fired.contains(&PartitionTimer::FetcherTruncation) {
                    self.truncate_on_fetch_response(context, diverging_epoch);
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

    /// Starts fetching from a (new) leader: on Kafka's KRaft path directly from the log end
    /// offset (`ReplicaManager.initialFetchOffset`), divergence being found on the fetch;
    /// with `offsets-for-leader-epoch-truncation`, through the handshake first.
    pub(super) fn start_fetching(&mut self, context: &mut Context<'_>) {
        if context.bugs.offsets_for_leader_epoch_handshake() {
            self.start_epoch_handshake(context);
        } else {
            self.send_fetch(context);
        }
    }

    /// Looks for the divergence again after an error: the handshake on the paths that have
    /// one (with `truncate-to-high-watermark` it stands in for old Kafka's request for the
    /// leader's log end offset), else the next fetch, which carries its own check.
    fn restart_truncation(&mut self, context: &mut Context<'_>) {
        let bugs = context.bugs;
        if bugs.offsets_for_leader_epoch_handshake() || bugs.truncate_to_high_watermark {
            self.start_epoch_handshake(context);
        } else {
            self.send_fetch(context);
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
        // Kafka's fetcher sends its log's latest epoch (`latestEpoch`, then the epoch of the
        // last batch it appended, which the epoch cache then holds); fetch versions before
        // KIP-595 had no such field.
        let bugs = context.bugs;
        let last_fetched_epoch =
            if bugs.offsets_for_leader_epoch_handshake() || bugs.truncate_to_high_watermark {
                None
            } else {
                self.log.latest_epoch()
            };
        let correlation = context.correlation();
        context.send(
            NodeId::Broker(leader),
            Message::Fetch(FetchRequest {
                rack_id: None,
                correlation,
                partition: self.id,
                replica: Some(context.local),
                replica_epoch: context.broker_epoch,
                current_leader_epoch,
                fetch_offset: self.log.log_end_offset(),
                last_fetched_epoch,
                max_records: context.config.replica_fetch_max_records,
                max_wait_ms: context.config.replica_fetch_wait_max_ms,
                isolation_level: crate::protocol::IsolationLevel::ReadUncommitted,
                log_start_offset: Some(self.log.log_start_offset()),
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

    /// The connection to `leader` closed: the outstanding request, if it went there, is
    /// lost. Back off `replica_fetch_backoff_ms`, then send it again (Kafka's fetcher thread
    /// fails the request on the disconnect and delays the partitions by `fetchBackOffMs`).
    pub fn on_leader_connection_closed(&mut self, context: &mut Context<'_>, leader: BrokerId) {
        if self.leader != Some(leader) {
            return;
        }
        let then = match self.role {
            Role::Follower(FetcherStage::Truncating { .. }) => AfterBackoff::Truncate,
            Role::Follower(
                FetcherStage::Fetching { .. } | FetcherStage::ResettingOffset { .. },
            ) => AfterBackoff::Fetch,
            _ => return,
        };
        context.mark(Mark::FollowerLeaderConnectionClosed);
        self.back_off(context, then);
    }

    pub(super) fn back_off(&mut self, context: &mut Context<'_>, then: AfterBackoff) {
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

    /// Where to truncate, given where the leader says an epoch ends (Kafka's
    /// `AbstractFetcherThread.getOffsetTruncationState`, KIP-279), and whether the logs then
    /// agree: if this replica has the leader's epoch, the smaller of the two end offsets
    /// (complete); otherwise the end of its own largest epoch below it (not complete: ask
    /// again); with no epoch at or below it, the leader's end offset (complete). Never past
    /// the log end offset.
    fn offset_truncation_state(&self, answer: EpochEndOffset) -> (Offset, bool) {
        let log_end_offset = self.log.log_end_offset();
        match self.log.end_offset_for_epoch(answer.leader_epoch) {
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
        }
    }

    /// The pre-KIP-279 reading of the handshake's answer (switch `epoch-lookup-without-epoch`):
    /// OffsetsForLeaderEpoch version 0 carried an end offset and no epoch, so the follower cut
    /// its log to that offset, or kept it whole when it was shorter, and started fetching —
    /// one round, with no check that the two logs agree below that offset (Kafka 1.1's
    /// `ReplicaFetcherThread.maybeTruncate`; Kafka 2.0's `getOffsetTruncationState` still
    /// reads an answer without an epoch so, for a leader on an older inter-broker protocol).
    /// The offset is the one the leader gives today: where the largest of its epochs at or
    /// below the asked one ends, which is where its next higher epoch starts, as Kafka 1.1's
    /// `LeaderEpochFileCache.endOffsetFor` answered. Marks the answers on which KIP-279's
    /// comparison would have cut further or asked again.
    fn truncation_without_epoch(
        &self,
        context: &mut Context<'_>,
        answer: EpochEndOffset,
    ) -> (Offset, bool) {
        let without_epoch = (answer.end_offset.min(self.log.log_end_offset()), true);
        if self.offset_truncation_state(answer) != without_epoch {
            context.mark(Mark::TruncatedWithoutEpochCheck);
        }
        without_epoch
    }

    /// Whether a new leader epoch finds this replica already following its leader, the case
    /// Kafka before 2.0.1 skipped (switch `no-truncation-when-leader-unchanged`, KAFKA-7164):
    /// `Partition.makeFollower` compared only the leader's id with the one it knew and
    /// answered false when they matched, whatever epochs had passed in between.
    pub(super) fn skips_become_follower(
        &self,
        context: &Context<'_>,
        state: &PartitionState,
    ) -> bool {
        let following =
            matches!(self.role, Role::Follower(stage) if stage != FetcherStage::NoLeader);
        context.bugs.no_truncation_when_leader_unchanged
            && following
            && self.leader.is_some()
            && self.leader == state.leader.filter(|&leader| leader != context.local)
    }

    /// The pre-KAFKA-7164 answer to a new epoch of the same leader: take the epoch, the
    /// partition epoch and the ISR, as `Partition.makeFollower` did, and nothing else —
    /// `ReplicaManager.makeFollowers` neither removed nor re-added the partition's fetcher,
    /// so no truncation ran and fetching went on from the log end offset. A follower that
    /// missed the epochs in between keeps whatever its leader has since replaced. (The fetch
    /// outstanding carries the old epoch, which a leader fences since KIP-320; the model keeps
    /// that check, and its error would restart the handshake: docs/DECISIONS.md.)
    pub(super) fn keep_following_across_epoch(
        &mut self,
        context: &mut Context<'_>,
        state: &PartitionState,
    ) {
        self.leader_epoch = Some(state.leader_epoch);
        self.partition_epoch = Some(state.partition_epoch);
        self.isr = state.isr.clone();
        context.event(Event::BecameFollower {
            partition: self.id,
            leader_epoch: state.leader_epoch,
            leader: self.leader,
        });
        context.mark(Mark::BecomeFollowerSkippedLeaderUnchanged);
    }

    /// The leader's answer to the handshake: truncate as
    /// [`Partition::offset_truncation_state`] says (before KIP-279, as
    /// [`Partition::truncation_without_epoch`] says), then fetch if the logs agree, or ask
    /// again. Each repetition asks for a strictly smaller epoch, so the handshake ends.
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
        let ((truncate_to, completed), reason) = if context.bugs.epoch_lookup_without_epoch {
            (
                self.truncation_without_epoch(context, answer),
                TruncationReason::EpochEndOffsetWithoutEpoch,
            )
        } else {
            (
                self.offset_truncation_state(answer),
                TruncationReason::LeaderEpochDivergence,
            )
        };
        let epoch_asked = self.log.latest_epoch();
        let divergence = self.divergence(answer);
        self.truncate_and_report(
            context,
            truncate_to,
            (reason, Some(divergence)),
            Mark::TruncatedByLeaderEpoch,
        );
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

    /// The leader's answer to a fetch: a diverging epoch to truncate by, or records to append
    /// and its high watermark to follow; then fetch again.
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
                // At once, as Kafka's fetcher handles it in the same pass.
                self.start_offset_reset(context);
                return;
            }
            Err(_) => {
                // Kafka's fetcher delays the partition and fetches again; the model's older
                // handshake path redoes the handshake, as it always has.
                let then = if context.bugs.offsets_for_leader_epoch_handshake()
                    && !context.bugs.truncate_to_high_watermark
                {
                    AfterBackoff::Truncate
                } else {
                    AfterBackoff::Fetch
                };
                self.back_off(context, then);
                return;
            }
        };
        if let Some(diverging_epoch) = data.diverging_epoch {
            if context.bugs.follower_high_watermark_before_truncation {
                self.take_high_watermark_before_truncation(context, &data, diverging_epoch);
            } else {
                self.truncate_on_fetch_response(context, diverging_epoch);
            }
            return;
        }
        self.process_partition_data(context, data);
    }

    /// Kafka's `AbstractFetcherThread.truncateOnFetchResponse` (KIP-595): cut the log where
    /// the diverging epoch says, and fetch again at once from the new log end offset. The
    /// response's high watermark is not taken: Kafka leaves it to the next fetch, after the
    /// truncation. If this replica lacked the leader's epoch, the next fetch carries an older
    /// latest epoch and the leader answers again, as the handshake would.
    /// Cuts the log to `truncate_to` where it is longer, with the events (where the leader
    /// placed the divergence, when an epoch comparison found it, then the cut) and the mark
    /// that say why.
    pub(super) fn truncate_and_report(
        &mut self,
        context: &mut Context<'_>,
        truncate_to: Offset,
        (reason, divergence): (TruncationReason, Option<Divergence>),
        mark: Mark,
    ) {
        if let Some(from_log_end_offset) = self.log.truncate_to(context.storage, truncate_to) {
            if let Some(divergence) = divergence {
                context.event(Event::DivergenceFound {
                    partition: self.id,
                    divergence,
                    truncate_to,
                });
            }
            context.event(Event::LogTruncated {
                partition: self.id,
                from_log_end_offset,
                to_offset: truncate_to,
                reason,
            });
            context.mark(mark);
        }
    }

    /// Where the leader says `answer.leader_epoch` ends, and what this log has for it.
    fn divergence(&self, answer: EpochEndOffset) -> Divergence {
        Divergence {
            leader_epoch: answer.leader_epoch,
            leader_end_offset: answer.end_offset,
            local_epoch_end: self.log.end_offset_for_epoch(answer.leader_epoch),
        }
    }

    fn truncate_on_fetch_response(
        &mut self,
        context: &mut Context<'_>,
        diverging_epoch: EpochEndOffset,
    ) {
        let (truncate_to, _) = self.offset_truncation_state(diverging_epoch);
        let divergence = self.divergence(diverging_epoch);
        self.truncate_and_report(
            context,
            truncate_to,
            (TruncationReason::DivergingEpoch, Some(divergence)),
            Mark::TruncatedByDivergingEpoch,
        );
        // A leader answers a diverging epoch only when the fetch offset or the latest epoch
        // sent disagrees with its cache, and this cut lowers one of them, so the exchange
        // ends (what a peer sends is not trusted with an assertion).
        self.send_fetch(context);
    }

    /// KAFKA-14704's order (`follower-high-watermark-before-truncation`, Kafka 2.7.0 to
    /// 3.4.0): `AbstractFetcherThread.processFetchRequest` handed the answer to
    /// `processPartitionData` before looking at its diverging epoch, so the follower took
    /// the leader's high watermark, bounded only by its own log end offset, records that
    /// diverge from the leader's included; the truncation came after. In Kafka the gap is
    /// the rest of the fetcher thread's pass, while request handler threads serve consumers
    /// from this replica (KIP-392). The model handles one message at a time, so the gap is
    /// a fetcher step of its own, [`TRUNCATION_AFTER_HIGH_WATERMARK_MS`] later.
    fn take_high_watermark_before_truncation(
        &mut self,
        context: &mut Context<'_>,
        data: &FetchData,
        diverging_epoch: EpochEndOffset,
    ) {
        context.mark(Mark::HighWatermarkTakenBeforeTruncation);
        let stable_before = self.stable_offsets();
        self.follow_leader_high_watermark(context, data.high_watermark);
        self.maybe_report_last_stable_offset(context, stable_before);
        let until_ms = context
            .now_ms
            .saturating_add(TRUNCATION_AFTER_HIGH_WATERMARK_MS);
        self.set_fetcher_stage(
            context,
            FetcherStage::TruncationPending {
                until_ms,
                diverging_epoch,
            },
        );
    }

    /// The offset a truncation this follower's fetcher has yet to make will cut its log to
    /// (KAFKA-14704's gap), if one is pending.
    pub(super) fn pending_truncation_offset(&self) -> Option<Offset> {
        match self.role {
            Role::Follower(FetcherStage::TruncationPending {
                diverging_epoch, ..
            }) => Some(self.offset_truncation_state(diverging_epoch).0),
            _ => None,
        }
    }

    /// Kafka's `ReplicaFetcherThread.processPartitionData`: append the records, then take the
    /// leader's high watermark, bounded by the log end offset, up or down
    /// (`UnifiedLog.maybeUpdateHighWatermark`): a new leader may not yet know the high
    /// watermark its predecessor had told this follower.
    fn process_partition_data(&mut self, context: &mut Context<'_>, data: FetchData) {
        let stable_before = self.stable_offsets();
        let appended = (!data.records.is_empty()).then(|| summaries(&data.records));
        if self
            .log
            .append_as_follower(context.storage, data.records)
            .is_err()
        {
            // The leader's records do not continue this log: find the divergence again.
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
        self.follow_leader_high_watermark(context, data.high_watermark);
        self.follow_log_start_offset(context, data.log_start_offset);
        self.maybe_report_last_stable_offset(context, stable_before);
        self.send_fetch(context);
    }

    /// `UnifiedLog.maybeUpdateHighWatermark` on a follower: the leader's high watermark,
    /// bounded by the log end offset, up or down.
    fn follow_leader_high_watermark(
        &mut self,
        context: &mut Context<'_>,
        leader_high_watermark: Offset,
    ) {
        let basis = HighWatermarkBasis::Follower {
            leader_high_watermark,
            log_end_offset: self.log.log_end_offset(),
        };
        if let Some((from, to)) = self.log.update_high_watermark(leader_high_watermark) {
            context.event(Event::HighWatermarkComputed {
                partition: self.id,
                basis,
            });
            context.event(Event::HighWatermarkUpdated {
                partition: self.id,
                from,
                to,
            });
            if to < from {
                context.mark(Mark::FollowerHighWatermarkLowered);
            }
        }
    }
}

#[cfg(test)]
#[path = "follower_tests.rs"]
mod tests;
