//! One partition's replica on one broker (Kafka's `Partition.scala` plus the per-partition
//! half of `ReplicaFetcherThread`): the leader/follower state machine around a [`Log`].
//!
//! As leader it tracks every follower's log end offset and last caught-up time, grows and
//! shrinks the ISR through one AlterPartition at a time (KIP-497: while one is pending the
//! high watermark is computed over the *maximal* ISR, current ∪ proposed), moves the high
//! watermark to the minimum log end offset over that ISR, holds acks=all produces in a
//! purgatory until the high watermark passes them, and parks fetches that have nothing to
//! return. As follower it runs the truncation handshake (OffsetsForLeaderEpoch, KIP-101 and
//! KIP-279) and then pulls records with one fetch outstanding at a time.
//!
//! Invariants: a leader's high watermark never decreases; every deadline this partition
//! reports is handled (and moved past `now`) by [`Partition::on_timers`].

use crate::actor::Effect;
use crate::bugs::BugSwitches;
use crate::config::{BrokerConfig, TopicConfig};
use crate::error::ErrorCode;
use crate::event::{Event, RecordSummary, TruncationReason};
use crate::ids::{
    BrokerEpoch, BrokerId, CorrelationId, LeaderEpoch, NodeId, Offset, PartitionEpoch, PartitionId,
};
use crate::log::Log;
use crate::metadata::PartitionState;
use crate::protocol::{Acks, EpochEndOffset, FetchData, Message, OffsetSpec};
use crate::protocol::{
    AlterPartitionRequest, FetchRequest, FetchResponse, OffsetsForLeaderEpochRequest,
    ProduceResponse,
};
use crate::record::{ProducerRecord, Record};
use crate::replica_view::{ReplicaRole, ReplicaView};
use crate::storage::Storage;
use std::collections::{BTreeMap, BTreeSet};

/// Everything a partition needs from its broker for one step: the time, the broker's
/// identity and settings, the disk, and where effects go.
pub struct Context<'a> {
    pub now_ms: u64,
    pub local: BrokerId,
    /// `None` until the controller has accepted this broker's registration.
    pub broker_epoch: Option<BrokerEpoch>,
    pub config: &'a BrokerConfig,
    pub topic: &'a TopicConfig,
    pub bugs: BugSwitches,
    /// Unfenced brokers in the newest metadata image (empty before the first image).
    pub live_brokers: &'a [BrokerId],
    pub storage: &'a mut dyn Storage,
    pub next_correlation: &'a mut u64,
    pub effects: &'a mut Vec<Effect>,
}

impl Context<'_> {
    fn correlation(&mut self) -> CorrelationId {
        *self.next_correlation += 1;
        CorrelationId(*self.next_correlation)
    }

    fn send(&mut self, to: NodeId, message: Message) {
        self.effects.push(Effect::Send { to, message });
    }

    fn event(&mut self, event: Event) {
        self.effects.push(Effect::Event(event));
    }

    fn mark(&mut self, mark: &'static str) {
        self.effects.push(Effect::Mark(mark));
    }

    /// How long an unanswered AlterPartition waits before it is sent again. Kafka's
    /// `AlterPartitionManager` retries through the broker-to-controller channel; here the
    /// heartbeat interval, the broker's other controller cadence, sets the pace.
    fn alter_partition_retry_ms(&self) -> u64 {
        self.config.broker_heartbeat_interval_ms.max(1)
    }
}

/// Answers a produce request (no response for acks=0) and reports it with `ProduceAnswered`.
pub(crate) fn answer_produce(
    context: &mut Context<'_>,
    partition: PartitionId,
    to: NodeId,
    correlation: CorrelationId,
    acks: Acks,
    offsets: Option<(Offset, Offset)>,
    result: Result<Offset, ErrorCode>,
) {
    if acks != Acks::None {
        context.send(
            to,
            Message::ProduceResponse(ProduceResponse {
                correlation,
                partition,
                result,
            }),
        );
    }
    context.event(Event::ProduceAnswered {
        partition,
        acks,
        base_offset: offsets.map(|(base, _)| base),
        last_offset: offsets.map(|(_, last)| last),
        result: result.map(|_| ()),
    });
}

/// The leader's view of one follower (Kafka's `Replica` state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowerReplica {
    /// The follower's log end offset: the offset of its last fetch. Unknown until it fetches
    /// from this leader in this epoch.
    pub log_end_offset: Option<Offset>,
    /// The last time the follower was known to be caught up to the leader's log end offset.
    pub last_caught_up_time_ms: u64,
    /// The leader's log end offset when the follower's previous fetch arrived.
    pub last_fetch_leader_log_end_offset: Option<Offset>,
    pub last_fetch_time_ms: u64,
}

/// An ISR change sent to the controller and not answered yet.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PendingAlterPartition {
    new_isr: Vec<BrokerId>,
    sent_at_ms: u64,
}

/// An acks=all produce waiting for the high watermark to pass its last offset.
#[derive(Clone, Debug, PartialEq, Eq)]
struct DelayedProduce {
    from: NodeId,
    correlation: CorrelationId,
    base_offset: Offset,
    last_offset: Offset,
    deadline_ms: u64,
}

/// A fetch with nothing to return yet, held until data arrives or its wait runs out.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ParkedFetch {
    from: NodeId,
    correlation: CorrelationId,
    replica: Option<BrokerId>,
    fetch_offset: Offset,
    max_records: u32,
    deadline_ms: u64,
}

#[derive(Clone, Debug)]
struct LeaderState {
    /// Where this leader's epoch starts: a follower must have reached it to join the ISR.
    leader_epoch_start_offset: Offset,
    followers: BTreeMap<BrokerId, FollowerReplica>,
    pending_alter_partition: Option<PendingAlterPartition>,
    purgatory: Vec<DelayedProduce>,
    parked_fetches: Vec<ParkedFetch>,
}

/// Why parked fetches are re-examined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WakeReason {
    NewData,
    HighWatermark,
    Expiry,
}

/// What a follower does after a back-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterBackoff {
    Truncate,
    Fetch,
}

/// Where the follower's fetcher stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FetcherStage {
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

#[derive(Clone, Debug)]
enum Role {
    Unassigned,
    Leader(LeaderState),
    Follower(FetcherStage),
}

/// One partition's replica on this broker.
#[derive(Clone, Debug)]
pub struct Partition {
    id: PartitionId,
    log: Log,
    replicas: Vec<BrokerId>,
    isr: Vec<BrokerId>,
    leader: Option<BrokerId>,
    /// The leader epoch this replica acts in; `None` until the first metadata for it.
    leader_epoch: Option<LeaderEpoch>,
    partition_epoch: Option<PartitionEpoch>,
    role: Role,
}

impl Partition {
    /// A replica over a recovered log, waiting for metadata to say what to do.
    pub fn new(log: Log) -> Partition {
        Partition {
            id: log.partition(),
            log,
            replicas: Vec::new(),
            isr: Vec::new(),
            leader: None,
            leader_epoch: None,
            partition_epoch: None,
            role: Role::Unassigned,
        }
    }

    pub fn id(&self) -> PartitionId {
        self.id
    }

    pub fn log(&self) -> &Log {
        &self.log
    }

    pub fn isr(&self) -> &[BrokerId] {
        &self.isr
    }

    pub fn leader_epoch(&self) -> Option<LeaderEpoch> {
        self.leader_epoch
    }

    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    /// The leader's view of a follower, when this replica leads.
    pub fn follower_replica(&self, follower: BrokerId) -> Option<FollowerReplica> {
        match &self.role {
            Role::Leader(state) => state.followers.get(&follower).copied(),
            _ => None,
        }
    }

    /// The ISR proposed to the controller and not yet answered, when this replica leads.
    pub fn pending_isr(&self) -> Option<&[BrokerId]> {
        match &self.role {
            Role::Leader(state) => state
                .pending_alter_partition
                .as_ref()
                .map(|pending| pending.new_isr.as_slice()),
            _ => None,
        }
    }

    /// How many acks=all produces wait in the purgatory.
    pub fn purgatory_len(&self) -> usize {
        match &self.role {
            Role::Leader(state) => state.purgatory.len(),
            _ => 0,
        }
    }

    pub fn view(&self) -> ReplicaView<'_> {
        ReplicaView {
            role: match self.role {
                Role::Unassigned => ReplicaRole::Unassigned,
                Role::Leader(_) => ReplicaRole::Leader,
                Role::Follower(_) => ReplicaRole::Follower,
            },
            leader_epoch: self.leader_epoch.unwrap_or_default(),
            high_watermark: self.log.high_watermark(),
            log_start_offset: self.log.log_start_offset(),
            log_end_offset: self.log.log_end_offset(),
            isr: &self.isr,
            records: self.log.records(),
        }
    }

    // ------------------------------------------------------------------------------------
    // Metadata
    // ------------------------------------------------------------------------------------

    /// Applies this partition's entry of a newer metadata image: a new leader epoch makes
    /// this replica leader or follower; the same epoch with a newer partition epoch only
    /// changes the ISR.
    pub fn apply_partition_state(&mut self, context: &mut Context<'_>, state: &PartitionState) {
        let new_epoch = self
            .leader_epoch
            .is_none_or(|current| state.leader_epoch > current);
        if new_epoch {
            self.replicas = state.replicas.clone();
            if state.leader == Some(context.local) {
                self.make_leader(context, state);
            } else {
                self.make_follower(context, state);
            }
            return;
        }
        let newer_partition_epoch = Some(state.leader_epoch) == self.leader_epoch
            && self
                .partition_epoch
                .is_none_or(|current| state.partition_epoch > current);
        if !newer_partition_epoch {
            return;
        }
        self.replicas = state.replicas.clone();
        if let Role::Leader(leader_state) = &mut self.role {
            let pending = leader_state.pending_alter_partition.take();
            let ours = pending.is_some_and(|pending| pending.new_isr == state.isr);
            self.adopt_isr(context, state.isr.clone(), state.partition_epoch, ours);
            self.maybe_increment_high_watermark(context);
        } else {
            self.isr = state.isr.clone();
            self.partition_epoch = Some(state.partition_epoch);
        }
    }

    /// Kafka's `Partition.makeLeader`: start the new epoch at the log end offset, take the
    /// ISR from the image, forget what followers had fetched. Nothing pending is failed.
    pub fn make_leader(&mut self, context: &mut Context<'_>, state: &PartitionState) {
        self.leader_epoch = Some(state.leader_epoch);
        self.partition_epoch = Some(state.partition_epoch);
        self.leader = Some(context.local);
        self.isr = state.isr.clone();
        self.log
            .assign_epoch_at_log_end(context.storage, state.leader_epoch);
        let log_end_offset = self.log.log_end_offset();
        let followers = self
            .replicas
            .iter()
            .filter(|&&replica| replica != context.local)
            .map(|&replica| {
                let follower = FollowerReplica {
                    log_end_offset: None,
                    last_caught_up_time_ms: context.now_ms,
                    last_fetch_leader_log_end_offset: None,
                    last_fetch_time_ms: context.now_ms,
                };
                (replica, follower)
            })
            .collect();
        let (purgatory, parked_fetches) = match std::mem::replace(&mut self.role, Role::Unassigned)
        {
            Role::Leader(previous) => (previous.purgatory, previous.parked_fetches),
            _ => (Vec::new(), Vec::new()),
        };
        self.role = Role::Leader(LeaderState {
            leader_epoch_start_offset: log_end_offset,
            followers,
            pending_alter_partition: None,
            purgatory,
            parked_fetches,
        });
        context.event(Event::BecameLeader {
            partition: self.id,
            leader_epoch: state.leader_epoch,
            isr: self.isr.clone(),
            log_end_offset,
        });
        context.mark("became_leader");
        self.maybe_increment_high_watermark(context);
    }

    /// Kafka's `Partition.makeFollower` and the fetcher's restart: fail the purgatory with
    /// NotLeaderOrFollower, drop parked fetches, and start the truncation handshake with the
    /// new leader (if any).
    pub fn make_follower(&mut self, context: &mut Context<'_>, state: &PartitionState) {
        if let Role::Leader(previous) = std::mem::replace(&mut self.role, Role::Unassigned) {
            for delayed in previous.purgatory {
                answer_produce(
                    context,
                    self.id,
                    delayed.from,
                    delayed.correlation,
                    Acks::All,
                    Some((delayed.base_offset, delayed.last_offset)),
                    Err(ErrorCode::NotLeaderOrFollower),
                );
            }
        }
        self.leader_epoch = Some(state.leader_epoch);
        self.partition_epoch = Some(state.partition_epoch);
        self.leader = state.leader.filter(|&leader| leader != context.local);
        self.isr = state.isr.clone();
        self.role = Role::Follower(FetcherStage::NoLeader);
        context.event(Event::BecameFollower {
            partition: self.id,
            leader_epoch: state.leader_epoch,
            leader: self.leader,
        });
        context.mark("became_follower");
        if self.leader.is_some() {
            if context.bugs.truncate_to_high_watermark {
                self.truncate_to_high_watermark(context);
                self.send_fetch(context);
            } else {
                self.start_epoch_handshake(context);
            }
        }
    }

    // ------------------------------------------------------------------------------------
    // Follower: truncation handshake and fetching
    // ------------------------------------------------------------------------------------

    /// The pre-KIP-101 rule behind the `truncate-to-high-watermark` switch: cut the log to the
    /// local high watermark, which after a restart is the checkpointed one.
    fn truncate_to_high_watermark(&mut self, context: &mut Context<'_>) {
        let high_watermark = self.log.high_watermark();
        if let Some(from) = self.log.truncate_to(context.storage, high_watermark) {
            context.event(Event::LogTruncated {
                partition: self.id,
                from_log_end_offset: from,
                to_offset: high_watermark,
                reason: TruncationReason::HighWatermark,
            });
            context.mark("truncated_to_high_watermark");
        }
    }

    /// Asks the leader where this replica's latest epoch ends (KIP-101). An empty epoch cache
    /// means an empty log: nothing can diverge, so fetching starts at once.
    fn start_epoch_handshake(&mut self, context: &mut Context<'_>) {
        let (Some(leader), Some(current_leader_epoch)) = (self.leader, self.leader_epoch) else {
            self.role = Role::Follower(FetcherStage::NoLeader);
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
        self.role = Role::Follower(FetcherStage::Truncating {
            correlation,
            sent_at_ms: context.now_ms,
        });
    }

    fn send_fetch(&mut self, context: &mut Context<'_>) {
        let (Some(leader), Some(current_leader_epoch)) = (self.leader, self.leader_epoch) else {
            self.role = Role::Follower(FetcherStage::NoLeader);
            return;
        };
        let correlation = context.correlation();
        context.send(
            NodeId::Broker(leader),
            Message::Fetch(FetchRequest {
                correlation,
                partition: self.id,
                replica: Some(context.local),
                current_leader_epoch,
                fetch_offset: self.log.log_end_offset(),
                last_fetched_epoch: self.log.last_record_epoch(),
                max_records: context.config.replica_fetch_max_records,
                max_wait_ms: context.config.replica_fetch_wait_max_ms,
            }),
        );
        self.role = Role::Follower(FetcherStage::Fetching {
            correlation,
            sent_at_ms: context.now_ms,
        });
    }

    fn back_off(&mut self, context: &mut Context<'_>, then: AfterBackoff) {
        let until_ms = context.now_ms + context.config.replica_fetch_backoff_ms.max(1);
        self.role = Role::Follower(FetcherStage::BackingOff { until_ms, then });
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
        correlation: CorrelationId,
        result: Result<EpochEndOffset, ErrorCode>,
    ) {
        if !self.is_outstanding(from, correlation, false) {
            return;
        }
        let answer = match result {
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
            context.mark("truncated_by_leader_epoch");
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
        correlation: CorrelationId,
        result: Result<FetchData, ErrorCode>,
    ) {
        if !self.is_outstanding(from, correlation, true) {
            return;
        }
        let data = match result {
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
        if self
            .log
            .append_as_follower(context.storage, &data.records)
            .is_err()
        {
            // The leader's records do not continue this log: redo the handshake.
            self.back_off(context, AfterBackoff::Truncate);
            return;
        }
        if !data.records.is_empty() {
            context.event(Event::RecordsAppended {
                partition: self.id,
                as_leader: false,
                records: summaries(&data.records),
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

    // ------------------------------------------------------------------------------------
    // Leader: requests
    // ------------------------------------------------------------------------------------

    /// KIP-320's epoch check, in Kafka's order: an older epoch is fenced, a newer one unknown,
    /// and only then must this replica lead.
    fn check_leader_epoch(
        &self,
        context: &mut Context<'_>,
        requested: LeaderEpoch,
    ) -> Result<(), ErrorCode> {
        let Some(current) = self.leader_epoch else {
            return Err(ErrorCode::NotLeaderOrFollower);
        };
        if requested < current {
            context.mark("fenced_leader_epoch_rejected");
            return Err(ErrorCode::FencedLeaderEpoch);
        }
        if requested > current {
            return Err(ErrorCode::UnknownLeaderEpoch);
        }
        if !self.is_leader() {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        Ok(())
    }

    /// A produce: check leadership and `min_insync_replicas`, append in the current epoch,
    /// answer per `acks`.
    #[allow(clippy::too_many_arguments)]
    pub fn handle_produce(
        &mut self,
        context: &mut Context<'_>,
        from: NodeId,
        correlation: CorrelationId,
        acks: Acks,
        timeout_ms: u64,
        records: &[ProducerRecord],
    ) {
        let (Role::Leader(_), Some(leader_epoch)) = (&self.role, self.leader_epoch) else {
            if acks != Acks::None {
                answer_produce(
                    context,
                    self.id,
                    from,
                    correlation,
                    acks,
                    None,
                    Err(ErrorCode::NotLeaderOrFollower),
                );
            }
            return;
        };
        if acks == Acks::All
            && (self.isr.len() as u64) < u64::from(context.topic.min_insync_replicas)
        {
            context.mark("produce_rejected_not_enough_replicas");
            answer_produce(
                context,
                self.id,
                from,
                correlation,
                acks,
                None,
                Err(ErrorCode::NotEnoughReplicas),
            );
            return;
        }
        let Some((base_offset, last_offset)) =
            self.log
                .append_as_leader(context.storage, leader_epoch, records)
        else {
            // An empty batch appends nothing; Kafka would reject it as invalid, and there is
            // no such error here, so it is answered at the log end offset.
            let log_end_offset = self.log.log_end_offset();
            answer_produce(
                context,
                self.id,
                from,
                correlation,
                acks,
                None,
                Ok(log_end_offset),
            );
            return;
        };
        let appended = self.log.read(base_offset, last_offset.next(), u32::MAX);
        context.event(Event::RecordsAppended {
            partition: self.id,
            as_leader: true,
            records: summaries(&appended),
        });
        let offsets = Some((base_offset, last_offset));
        match acks {
            Acks::None | Acks::Leader => {
                answer_produce(
                    context,
                    self.id,
                    from,
                    correlation,
                    acks,
                    offsets,
                    Ok(base_offset),
                );
            }
            Acks::All if context.bugs.ack_before_isr => {
                context.mark("acks_all_answered_before_isr");
                answer_produce(
                    context,
                    self.id,
                    from,
                    correlation,
                    acks,
                    offsets,
                    Ok(base_offset),
                );
            }
            Acks::All => {
                let deadline_ms = context.now_ms.saturating_add(timeout_ms);
                if let Role::Leader(state) = &mut self.role {
                    state.purgatory.push(DelayedProduce {
                        from,
                        correlation,
                        base_offset,
                        last_offset,
                        deadline_ms,
                    });
                }
            }
        }
        self.maybe_increment_high_watermark(context);
        self.wake_parked_fetches(context, WakeReason::NewData);
    }

    /// A fetch from a follower (`replica: Some`) or a consumer (`replica: None`).
    #[allow(clippy::too_many_arguments)]
    pub fn handle_fetch(
        &mut self,
        context: &mut Context<'_>,
        from: NodeId,
        correlation: CorrelationId,
        replica: Option<BrokerId>,
        current_leader_epoch: LeaderEpoch,
        fetch_offset: Offset,
        max_records: u32,
        max_wait_ms: u64,
    ) {
        let partition = self.id;
        let respond = |context: &mut Context<'_>, result| {
            context.send(
                from,
                Message::FetchResponse(FetchResponse {
                    correlation,
                    partition,
                    result,
                }),
            );
        };
        if let Err(error) = self.check_leader_epoch(context, current_leader_epoch) {
            respond(context, Err(error));
            return;
        }
        if let Some(follower) = replica {
            if follower == context.local || !self.replicas.contains(&follower) {
                respond(context, Err(ErrorCode::NotLeaderOrFollower));
                return;
            }
        }
        if fetch_offset < self.log.log_start_offset() || fetch_offset > self.log.log_end_offset() {
            respond(context, Err(ErrorCode::OffsetOutOfRange));
            return;
        }
        let mut high_watermark_moved = false;
        if let Some(follower) = replica {
            self.update_follower_fetch_state(follower, fetch_offset, context.now_ms);
            self.maybe_expand_isr(context, follower);
            high_watermark_moved = self.maybe_increment_high_watermark(context);
        }
        let data = self.read_for(replica, fetch_offset, max_records);
        // A high watermark this very fetch moved is news for the follower: answer at once
        // rather than hold it, so followers learn the high watermark without a wait.
        if data.records.is_empty() && max_wait_ms > 0 && !high_watermark_moved {
            if let Role::Leader(state) = &mut self.role {
                state.parked_fetches.push(ParkedFetch {
                    from,
                    correlation,
                    replica,
                    fetch_offset,
                    max_records,
                    deadline_ms: context.now_ms.saturating_add(max_wait_ms),
                });
                context.mark("fetch_parked");
                return;
            }
        }
        respond(context, Ok(data));
    }

    /// What a fetch sees: a follower up to the log end offset, a consumer below the high
    /// watermark.
    fn read_for(
        &self,
        replica: Option<BrokerId>,
        fetch_offset: Offset,
        max_records: u32,
    ) -> FetchData {
        let upper_bound = if replica.is_some() {
            self.log.log_end_offset()
        } else {
            self.log.high_watermark()
        };
        FetchData {
            records: self.log.read(fetch_offset, upper_bound, max_records),
            high_watermark: self.log.high_watermark(),
            log_start_offset: self.log.log_start_offset(),
            log_end_offset: self.log.log_end_offset(),
        }
    }

    /// Answers parked fetches: on new data those that can now read records, on a high
    /// watermark change all of them (followers learn the new high watermark, consumers may
    /// read further), on expiry those whose wait ran out.
    fn wake_parked_fetches(&mut self, context: &mut Context<'_>, reason: WakeReason) {
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let parked = std::mem::take(&mut state.parked_fetches);
        let mut still_parked = Vec::new();
        for fetch in parked {
            let data = self.read_for(fetch.replica, fetch.fetch_offset, fetch.max_records);
            let answer = match reason {
                WakeReason::NewData => !data.records.is_empty(),
                WakeReason::HighWatermark => true,
                WakeReason::Expiry => fetch.deadline_ms <= context.now_ms,
            };
            if answer {
                context.send(
                    fetch.from,
                    Message::FetchResponse(FetchResponse {
                        correlation: fetch.correlation,
                        partition: self.id,
                        result: Ok(data),
                    }),
                );
            } else {
                still_parked.push(fetch);
            }
        }
        if let Role::Leader(state) = &mut self.role {
            state.parked_fetches = still_parked;
        }
    }

    /// `ListOffsets`: the log start offset or the high watermark, from the leader only.
    pub fn handle_list_offsets(&self, spec: OffsetSpec) -> Result<Offset, ErrorCode> {
        if !self.is_leader() {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        Ok(match spec {
            OffsetSpec::Earliest => self.log.log_start_offset(),
            OffsetSpec::Latest => self.log.high_watermark(),
        })
    }

    /// `OffsetsForLeaderEpoch` on the leader: the largest epoch ≤ the asked one and its end.
    pub fn handle_offsets_for_leader_epoch(
        &self,
        context: &mut Context<'_>,
        current_leader_epoch: LeaderEpoch,
        leader_epoch: LeaderEpoch,
    ) -> Result<EpochEndOffset, ErrorCode> {
        self.check_leader_epoch(context, current_leader_epoch)?;
        // `None` (an epoch newer than any here) cannot happen once the epoch check passed,
        // since a leader's latest epoch is its current one; answer as Kafka's undefined epoch
        // would make a client retry.
        let (epoch, end_offset) = self
            .log
            .end_offset_for_epoch(leader_epoch)
            .ok_or(ErrorCode::UnknownLeaderEpoch)?;
        Ok(EpochEndOffset {
            leader_epoch: epoch,
            end_offset,
        })
    }

    // ------------------------------------------------------------------------------------
    // Leader: follower state, ISR and high watermark
    // ------------------------------------------------------------------------------------

    /// Kafka's `Replica.updateFetchState`: the follower's log end offset is its fetch offset;
    /// it was caught up *now* if it asked for the leader's log end offset, or at its previous
    /// fetch if it asked for at least what the leader had then.
    fn update_follower_fetch_state(
        &mut self,
        follower: BrokerId,
        fetch_offset: Offset,
        now_ms: u64,
    ) {
        let leader_log_end_offset = self.log.log_end_offset();
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let Some(replica) = state.followers.get_mut(&follower) else {
            return;
        };
        if fetch_offset >= leader_log_end_offset {
            replica.last_caught_up_time_ms = replica.last_caught_up_time_ms.max(now_ms);
        } else if replica
            .last_fetch_leader_log_end_offset
            .is_some_and(|previous| fetch_offset >= previous)
        {
            replica.last_caught_up_time_ms = replica
                .last_caught_up_time_ms
                .max(replica.last_fetch_time_ms);
        }
        replica.log_end_offset = Some(fetch_offset);
        replica.last_fetch_leader_log_end_offset = Some(leader_log_end_offset);
        replica.last_fetch_time_ms = now_ms;
    }

    /// Proposes adding `follower` to the ISR when it has reached the high watermark and the
    /// start of this leader's epoch (Kafka's `isFollowerInSync`) and is not fenced.
    pub fn maybe_expand_isr(&mut self, context: &mut Context<'_>, follower: BrokerId) -> bool {
        let high_watermark = self.log.high_watermark();
        let Role::Leader(state) = &self.role else {
            return false;
        };
        if state.pending_alter_partition.is_some()
            || self.isr.contains(&follower)
            || context.broker_epoch.is_none()
        {
            return false;
        }
        let Some(log_end_offset) = state
            .followers
            .get(&follower)
            .and_then(|replica| replica.log_end_offset)
        else {
            return false;
        };
        let live = context.live_brokers.is_empty() || context.live_brokers.contains(&follower);
        if log_end_offset < high_watermark
            || log_end_offset < state.leader_epoch_start_offset
            || !live
        {
            return false;
        }
        let mut new_isr: BTreeSet<BrokerId> = self.isr.iter().copied().collect();
        new_isr.insert(follower);
        self.send_alter_partition(context, new_isr.into_iter().collect());
        true
    }

    /// Proposes removing ISR followers that have not caught up for `replica_lag_time_max_ms`
    /// (Kafka's `getOutOfSyncReplicas`: not at the leader's log end offset, and last caught
    /// up too long ago).
    pub fn maybe_shrink_isr(&mut self, context: &mut Context<'_>) -> bool {
        let leader_log_end_offset = self.log.log_end_offset();
        let Role::Leader(state) = &self.role else {
            return false;
        };
        if state.pending_alter_partition.is_some() || context.broker_epoch.is_none() {
            return false;
        }
        let lag_max_ms = context.config.replica_lag_time_max_ms;
        let out_of_sync: BTreeSet<BrokerId> = self
            .isr
            .iter()
            .copied()
            .filter(|&member| member != context.local)
            .filter(|member| match state.followers.get(member) {
                Some(replica) => {
                    replica.log_end_offset != Some(leader_log_end_offset)
                        && context
                            .now_ms
                            .saturating_sub(replica.last_caught_up_time_ms)
                            > lag_max_ms
                }
                None => false,
            })
            .collect();
        if out_of_sync.is_empty() {
            return false;
        }
        let new_isr = self
            .isr
            .iter()
            .copied()
            .filter(|member| !out_of_sync.contains(member))
            .collect();
        self.send_alter_partition(context, new_isr);
        true
    }

    fn send_alter_partition(&mut self, context: &mut Context<'_>, new_isr: Vec<BrokerId>) {
        let (Some(broker_epoch), Some(leader_epoch), Some(partition_epoch)) = (
            context.broker_epoch,
            self.leader_epoch,
            self.partition_epoch,
        ) else {
            return;
        };
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        context.send(
            NodeId::Controller,
            Message::AlterPartition(AlterPartitionRequest {
                broker: context.local,
                broker_epoch,
                partition: self.id,
                leader_epoch,
                partition_epoch,
                new_isr: new_isr.clone(),
            }),
        );
        state.pending_alter_partition = Some(PendingAlterPartition {
            new_isr,
            sent_at_ms: context.now_ms,
        });
    }

    /// The controller's answer to the pending AlterPartition. Accepted: adopt the state. Any
    /// error: drop the proposal; the next fetch or shrink check proposes again from the
    /// metadata the controller pushes.
    pub fn handle_alter_partition_response(
        &mut self,
        context: &mut Context<'_>,
        result: Result<PartitionState, ErrorCode>,
    ) {
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let Some(pending) = state.pending_alter_partition.take() else {
            return;
        };
        if let Ok(accepted) = result {
            let current = Some(accepted.leader_epoch) == self.leader_epoch
                && accepted.leader == Some(context.local)
                && self
                    .partition_epoch
                    .is_none_or(|epoch| accepted.partition_epoch > epoch);
            if current {
                let ours = accepted.isr == pending.new_isr;
                self.adopt_isr(context, accepted.isr, accepted.partition_epoch, ours);
            }
        }
        self.maybe_increment_high_watermark(context);
    }

    fn adopt_isr(
        &mut self,
        context: &mut Context<'_>,
        new_isr: Vec<BrokerId>,
        partition_epoch: PartitionEpoch,
        proposed_here: bool,
    ) {
        self.partition_epoch = Some(partition_epoch);
        if new_isr == self.isr {
            return;
        }
        let from = std::mem::replace(&mut self.isr, new_isr);
        if proposed_here {
            if from.iter().any(|member| !self.isr.contains(member)) {
                context.mark("isr_shrunk");
            }
            if self.isr.iter().any(|member| !from.contains(member)) {
                context.mark("isr_expanded");
            }
        }
        context.event(Event::IsrUpdated {
            partition: self.id,
            from,
            to: self.isr.clone(),
        });
    }

    /// Kafka's `maybeIncrementLeaderHW`: the high watermark becomes the smallest log end
    /// offset over the maximal ISR (current ∪ pending proposal, KIP-497), if that is higher.
    /// A member whose log end offset is unknown holds it where it is. On a rise: event, and
    /// the purgatory and parked fetches are re-examined.
    pub fn maybe_increment_high_watermark(&mut self, context: &mut Context<'_>) -> bool {
        let Role::Leader(state) = &self.role else {
            return false;
        };
        let mut maximal_isr: BTreeSet<BrokerId> = self.isr.iter().copied().collect();
        if let Some(pending) = &state.pending_alter_partition {
            maximal_isr.extend(pending.new_isr.iter().copied());
        }
        let mut new_high_watermark = self.log.log_end_offset();
        for member in maximal_isr {
            if member == context.local {
                continue;
            }
            match state
                .followers
                .get(&member)
                .and_then(|replica| replica.log_end_offset)
            {
                Some(log_end_offset) => {
                    new_high_watermark = new_high_watermark.min(log_end_offset);
                }
                None => return false,
            }
        }
        let Some((from, to)) = self.log.maybe_increment_high_watermark(new_high_watermark) else {
            return false;
        };
        context.event(Event::HighWatermarkUpdated {
            partition: self.id,
            from,
            to,
        });
        context.mark("high_watermark_advanced");
        self.complete_purgatory(context);
        self.wake_parked_fetches(context, WakeReason::HighWatermark);
        true
    }

    /// Answers every acks=all produce the high watermark has passed (Kafka's
    /// `checkEnoughReplicasReachOffset`): ok, or NotEnoughReplicasAfterAppend when the ISR
    /// is by now below `min_insync_replicas`.
    fn complete_purgatory(&mut self, context: &mut Context<'_>) {
        let high_watermark = self.log.high_watermark();
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let (done, waiting): (Vec<DelayedProduce>, Vec<DelayedProduce>) = state
            .purgatory
            .drain(..)
            .partition(|delayed| delayed.last_offset < high_watermark);
        state.purgatory = waiting;
        let enough = self.isr.len() as u64 >= u64::from(context.topic.min_insync_replicas);
        for delayed in done {
            let result = if enough {
                Ok(delayed.base_offset)
            } else {
                context.mark("not_enough_replicas_after_append");
                Err(ErrorCode::NotEnoughReplicasAfterAppend)
            };
            answer_produce(
                context,
                self.id,
                delayed.from,
                delayed.correlation,
                Acks::All,
                Some((delayed.base_offset, delayed.last_offset)),
                result,
            );
        }
    }

    // ------------------------------------------------------------------------------------
    // Timers
    // ------------------------------------------------------------------------------------

    /// The earliest time this partition wants a tick.
    pub fn next_deadline_ms(&self, config: &BrokerConfig) -> Option<u64> {
        match &self.role {
            Role::Unassigned | Role::Follower(FetcherStage::NoLeader) => None,
            Role::Follower(FetcherStage::Truncating { sent_at_ms, .. })
            | Role::Follower(FetcherStage::Fetching { sent_at_ms, .. }) => {
                Some(sent_at_ms.saturating_add(config.replica_socket_timeout_ms.max(1)))
            }
            Role::Follower(FetcherStage::BackingOff { until_ms, .. }) => Some(*until_ms),
            Role::Leader(state) => {
                let purgatory = state.purgatory.iter().map(|delayed| delayed.deadline_ms);
                let parked = state.parked_fetches.iter().map(|fetch| fetch.deadline_ms);
                let alter = state.pending_alter_partition.iter().map(|pending| {
                    pending
                        .sent_at_ms
                        .saturating_add(config.broker_heartbeat_interval_ms.max(1))
                });
                purgatory.chain(parked).chain(alter).min()
            }
        }
    }

    /// Handles every deadline at or before now: purgatory and parked-fetch expiry, the
    /// AlterPartition retry, the follower's request timeouts and back-off.
    pub fn on_timers(&mut self, context: &mut Context<'_>) {
        let now_ms = context.now_ms;
        match self.role {
            Role::Unassigned | Role::Follower(FetcherStage::NoLeader) => {}
            Role::Follower(FetcherStage::Truncating { sent_at_ms, .. }) => {
                if now_ms
                    >= sent_at_ms.saturating_add(context.config.replica_socket_timeout_ms.max(1))
                {
                    self.start_epoch_handshake(context);
                }
            }
            Role::Follower(FetcherStage::Fetching { sent_at_ms, .. }) => {
                if now_ms
                    >= sent_at_ms.saturating_add(context.config.replica_socket_timeout_ms.max(1))
                {
                    self.send_fetch(context);
                }
            }
            Role::Follower(FetcherStage::BackingOff { until_ms, then }) => {
                if now_ms >= until_ms {
                    match then {
                        AfterBackoff::Truncate => self.start_epoch_handshake(context),
                        AfterBackoff::Fetch => self.send_fetch(context),
                    }
                }
            }
            Role::Leader(_) => self.on_leader_timers(context),
        }
    }

    fn on_leader_timers(&mut self, context: &mut Context<'_>) {
        let now_ms = context.now_ms;
        let retry_ms = context.alter_partition_retry_ms();
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let (expired, waiting): (Vec<DelayedProduce>, Vec<DelayedProduce>) = state
            .purgatory
            .drain(..)
            .partition(|delayed| delayed.deadline_ms <= now_ms);
        state.purgatory = waiting;
        let retry = state
            .pending_alter_partition
            .as_ref()
            .filter(|pending| now_ms >= pending.sent_at_ms.saturating_add(retry_ms))
            .map(|pending| pending.new_isr.clone());
        for delayed in expired {
            context.mark("produce_purgatory_timed_out");
            answer_produce(
                context,
                self.id,
                delayed.from,
                delayed.correlation,
                Acks::All,
                Some((delayed.base_offset, delayed.last_offset)),
                Err(ErrorCode::RequestTimedOut),
            );
        }
        self.wake_parked_fetches(context, WakeReason::Expiry);
        if let Some(new_isr) = retry {
            if context.broker_epoch.is_some() {
                self.send_alter_partition(context, new_isr);
            } else if let Role::Leader(state) = &mut self.role {
                // Not registered: keep the proposal and try again after another interval.
                if let Some(pending) = &mut state.pending_alter_partition {
                    pending.sent_at_ms = now_ms;
                }
            }
        }
    }
}

fn summaries(records: &[Record]) -> Vec<RecordSummary> {
    records
        .iter()
        .map(|record| RecordSummary {
            offset: record.offset,
            leader_epoch: record.leader_epoch,
            value: record.value,
        })
        .collect()
}
