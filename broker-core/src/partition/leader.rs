//! The leader half of a partition (Kafka's `Partition.scala` as leader): produce and fetch
//! serving, the followers' fetch state, ISR expansion and shrinking through one
//! AlterPartition at a time (KIP-497), and the high watermark over the maximal ISR and the
//! replicas about to join it.
//!
//! A follower's fetch is checked against the leader's epoch cache first (KIP-595): one whose
//! last fetched epoch and offset disagree with it is answered with the diverging epoch, and
//! counts for nothing else (KAFKA-13141: no fetch state, ISR or high watermark change; the
//! `divergent-fetch-counts-as-progress` switch restores Kafka 2.7.0-2.8.0, which counted it).
//! A follower joins the ISR once it has reached both the high watermark and the start of the
//! leader's epoch (KAFKA-7128; `isr-join-below-leader-epoch-start` drops the second
//! condition, as Kafka did before 2.0.1 and 2.1.0).
//!
//! Invariants: the high watermark never decreases; while an AlterPartition is pending its
//! retry timer is set, and it is cancelled when the proposal is answered or dropped.

use super::purgatory::{
    complete, complete_with_log_start, refuse, Completion, DelayedFetch, DelayedProduce, WakeReason,
};
use super::{summaries, Context, Partition, PartitionTimer, Role};
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{BrokerEpoch, BrokerId, LeaderEpoch, NodeId, Offset, PartitionEpoch};
use crate::log::LeaderAppend;
use crate::mark::Mark;
use crate::protocol::{
    AbortedTransaction, Acks, AlterPartitionRequest, AlterPartitionResponse, BrokerState,
    EpochEndOffset, FetchData, FetchRequest, FetchResponse, IsolationLevel, ListOffsetsRequest,
    Message, OffsetSpec, OffsetsForLeaderEpochRequest, ProduceRequest,
};
use crate::reason::{FollowerProgress, HighWatermarkBasis};
use crate::record::ProducerRecord;
use std::collections::{BTreeMap, BTreeSet};

/// The mark for a produce the producer state refused.
fn refusal_mark(error: ErrorCode) -> Mark {
    match error {
        ErrorCode::OutOfOrderSequence => Mark::OutOfOrderSequenceRefused,
        ErrorCode::InvalidProducerEpoch => Mark::InvalidProducerEpochRefused,
        ErrorCode::UnknownProducerId => Mark::UnknownProducerIdRefused,
        ErrorCode::InvalidTxnState => Mark::InvalidTxnStateRefused,
        _ => Mark::InvalidRecordRefused,
    }
}

/// The leader's view of one follower (Kafka's `ReplicaState`). Where Kafka writes 0 for a
/// time it does not know (a wall-clock time long past), this says `None`: simulated time
/// starts at 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FollowerReplica {
    /// The follower's log end offset: the offset of its last fetch. Unknown until it fetches
    /// from this replica as leader.
    pub log_end_offset: Option<Offset>,
    /// The last time the follower was known to be caught up to the leader's log end offset;
    /// `None` if it never was in this leadership.
    pub last_caught_up_time_ms: Option<u64>,
    /// The leader's log end offset when the follower's previous fetch arrived.
    pub last_fetch_leader_log_end_offset: Option<Offset>,
    /// When the follower's previous fetch arrived, if it counts for the caught-up time.
    pub last_fetch_time_ms: Option<u64>,
    /// The broker epoch the follower's last fetch carried (KIP-903); sent with it in
    /// AlterPartition. Unknown until it fetches from this leader.
    pub broker_epoch: Option<BrokerEpoch>,
    /// The follower's log start offset, from its last fetch (Kafka's
    /// `ReplicaState.logStartOffset`): what a DeleteRecords waits on. Unknown until it
    /// fetches from this leader.
    pub log_start_offset: Option<Offset>,
}

impl FollowerReplica {
    /// Kafka's `Replica.resetReplicaState`, as `Partition.makeLeader` calls it on every new
    /// leader epoch: an ISR member counts as caught up now, any other replica as never, so it
    /// neither holds the high watermark back nor rejoins the ISR before it fetches. A replica
    /// that was not leader forgets everything else; one that stays leader keeps the
    /// follower's log end offset and takes its own log end offset and, for an ISR member,
    /// now as the follower's previous fetch.
    fn reset(
        previous: Option<FollowerReplica>,
        in_sync: bool,
        now_ms: u64,
        leader_log_end_offset: Offset,
    ) -> FollowerReplica {
        let last_caught_up_time_ms = in_sync.then_some(now_ms);
        match previous {
            None => FollowerReplica {
                log_end_offset: None,
                last_caught_up_time_ms,
                last_fetch_leader_log_end_offset: None,
                last_fetch_time_ms: None,
                broker_epoch: None,
                log_start_offset: None,
            },
            Some(previous) => FollowerReplica {
                log_end_offset: previous.log_end_offset,
                last_caught_up_time_ms,
                last_fetch_leader_log_end_offset: Some(leader_log_end_offset),
                last_fetch_time_ms: in_sync.then_some(now_ms),
                broker_epoch: previous.broker_epoch,
                log_start_offset: previous.log_start_offset,
            },
        }
    }

    /// Kafka's `ReplicaState.isCaughtUp`: at the leader's log end offset, or caught up within
    /// `replica_lag_time_max_ms`.
    fn is_caught_up(&self, leader_log_end_offset: Offset, now_ms: u64, lag_max_ms: u64) -> bool {
        self.log_end_offset == Some(leader_log_end_offset)
            || self
                .last_caught_up_time_ms
                .is_some_and(|caught_up_ms| now_ms.saturating_sub(caught_up_ms) <= lag_max_ms)
    }
}

/// The replicas a leader's high watermark is computed over, and where it would be.
pub(super) struct HighWatermarkCandidate {
    pub(super) maximal_isr: BTreeSet<BrokerId>,
    /// Caught-up followers outside the maximal ISR, about to rejoin it.
    pub(super) joining: Vec<BrokerId>,
    /// The lowest log end offset among this leader, the maximal ISR and the joining
    /// replicas; `None` while one of theirs is unknown (it holds the high watermark).
    pub(super) lowest: Option<Offset>,
}

/// An ISR change sent to the controller and not answered yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PendingAlterPartition {
    pub(super) new_isr: Vec<BrokerId>,
}

#[derive(Clone, Debug)]
pub(super) struct LeaderState {
    /// Where this leader's epoch starts: a follower must have reached it to join the ISR.
    leader_epoch_start_offset: Offset,
    pub(super) followers: BTreeMap<BrokerId, FollowerReplica>,
    pending_alter_partition: Option<PendingAlterPartition>,
    pub(super) purgatory: Vec<DelayedProduce>,
    pub(super) parked_fetches: Vec<DelayedFetch>,
}

impl LeaderState {
    /// A new leader epoch starting at `log_end_offset`: every follower's state reset as
    /// Kafka's `Partition.makeLeader` does ([`FollowerReplica::reset`]), and what a previous
    /// leadership of the same replica left waiting carried over.
    pub(super) fn new(
        context: &Context<'_>,
        replicas: &[BrokerId],
        isr: &[BrokerId],
        log_end_offset: Offset,
        previous: Option<LeaderState>,
    ) -> LeaderState {
        let followers = replicas
            .iter()
            .filter(|&&replica| replica != context.local)
            .map(|&replica| {
                let known = previous.as_ref().map(|previous| {
                    previous
                        .followers
                        .get(&replica)
                        .copied()
                        .unwrap_or_default()
                });
                let follower = FollowerReplica::reset(
                    known,
                    isr.contains(&replica),
                    context.now_ms,
                    log_end_offset,
                );
                (replica, follower)
            })
            .collect();
        let (purgatory, parked_fetches) = previous
            .map(|previous| (previous.purgatory, previous.parked_fetches))
            .unwrap_or_default();
        LeaderState {
            leader_epoch_start_offset: log_end_offset,
            followers,
            pending_alter_partition: None,
            purgatory,
            parked_fetches,
        }
    }
}

impl Partition {
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

    /// Kafka's `effectiveMinIsr`: min.insync.replicas, capped at the replication factor (a
    /// topic may ask for more in-sync replicas than it has).
    pub(super) fn effective_min_insync_replicas(&self) -> usize {
        let min_insync = usize::try_from(self.topic.min_insync_replicas).unwrap_or(usize::MAX);
        min_insync.min(self.replicas.len().max(1))
    }

    /// Kafka's `isUnderMinIsr`: this replica leads and its committed ISR is smaller than the
    /// effective min.insync.replicas.
    pub fn is_under_min_isr(&self) -> bool {
        self.is_leader() && self.isr.len() < self.effective_min_insync_replicas()
    }

    /// Leaves leadership: what waited is failed or dropped, the proposal is forgotten, and
    /// so are the transaction verifications in progress.
    pub(super) fn resign_leadership(&mut self, context: &mut Context<'_>, previous: LeaderState) {
        context.cancel_timer(self.id, PartitionTimer::AlterPartitionRetry);
        self.clear_verification_entries();
        self.abandon_purgatory(context, previous.purgatory, previous.parked_fetches);
    }

    /// KIP-320's epoch check, in Kafka's order: an older epoch is fenced, a newer one unknown,
    /// and only then must this replica lead.
    pub(super) fn check_leader_epoch(
        &self,
        context: &mut Context<'_>,
        requested: LeaderEpoch,
    ) -> Result<(), ErrorCode> {
        self.compare_leader_epoch(context, requested)?;
        if !self.is_leader() {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        Ok(())
    }

    /// The first half of KIP-320's check, which a follower serving a read makes too: no
    /// epoch known is no replica, an older epoch is fenced, a newer one unknown.
    pub(super) fn compare_leader_epoch(
        &self,
        context: &mut Context<'_>,
        requested: LeaderEpoch,
    ) -> Result<(), ErrorCode> {
        let Some(current) = self.leader_epoch else {
            return Err(ErrorCode::NotLeaderOrFollower);
        };
        if requested < current {
            context.mark(Mark::FencedLeaderEpochRejected);
            return Err(ErrorCode::FencedLeaderEpoch);
        }
        if requested > current {
            return Err(ErrorCode::UnknownLeaderEpoch);
        }
        Ok(())
    }

    /// A produce from a producer that is not transactional: check leadership and
    /// `min_insync_replicas`, append in the current epoch, answer per `acks`. A
    /// transactional produce goes through [`Partition::handle_transactional_produce`].
    pub fn handle_produce(
        &mut self,
        context: &mut Context<'_>,
        from: NodeId,
        request: &ProduceRequest,
    ) {
        assert!(
            request.transactional_id.is_none(),
            "{}: a transactional produce must go through its verification",
            self.id
        );
        let reply = Completion::Reply {
            to: from,
            correlation: request.correlation,
            acks: request.acks,
        };
        self.append_and_complete(
            context,
            reply,
            request.acks,
            (&request.records, false),
            request.timeout_ms,
        );
    }

    /// An append made inside the broker (a coordinator writing its internal partition),
    /// completed like an acks=all produce: once the high watermark passes it, the waiter gets
    /// a [`super::LocalCompletion`] through the broker.
    pub fn append_local(
        &mut self,
        context: &mut Context<'_>,
        waiter: super::LocalWaiter,
        records: &[ProducerRecord],
        timeout_ms: u64,
    ) {
        self.append_and_complete(
            context,
            Completion::Local(waiter),
            Acks::All,
            (records, false),
            timeout_ms,
        );
    }

    /// Appends one batch (its records, and whether it is transactional) and answers it per
    /// `acks`.
    pub(super) fn append_and_complete(
        &mut self,
        context: &mut Context<'_>,
        completion: Completion,
        acks: Acks,
        (records, is_transactional): (&[ProducerRecord], bool),
        timeout_ms: u64,
    ) {
        let Some(leader_epoch) = self.admit_leader_append(context, &completion, acks) else {
            return;
        };
        let appended = match self.log.append_batch_as_leader(
            context.storage,
            leader_epoch,
            records,
            is_transactional,
        ) {
            Ok(Some(appended)) => appended,
            Ok(None) => {
                // An empty batch appends nothing; Kafka would reject it as invalid, and there
                // is no such error here, so it is answered at the log end offset.
                let log_end_offset = self.log.log_end_offset();
                complete(context, self.id, &completion, None, Ok(log_end_offset));
                return;
            }
            Err(error) => {
                context.mark(refusal_mark(error));
                let log_start_offset = Some(self.log.log_start_offset());
                complete_with_log_start(
                    context,
                    self.id,
                    &completion,
                    None,
                    Err(error),
                    log_start_offset,
                );
                return;
            }
        };
        let (base_offset, last_offset) = match appended {
            LeaderAppend::Appended {
                base_offset,
                last_offset,
            } => (base_offset, last_offset),
            LeaderAppend::Duplicate {
                base_offset,
                last_offset,
            } => {
                context.mark(Mark::DuplicateBatchAnswered);
                self.answer_appended(
                    context,
                    completion,
                    acks,
                    (base_offset, last_offset),
                    timeout_ms,
                );
                return;
            }
        };
        self.report_leader_append(context, base_offset, last_offset);
        self.answer_leader_append(
            context,
            completion,
            acks,
            (base_offset, last_offset),
            timeout_ms,
        );
    }

    /// The leader epoch to append under, or `None` once `completion` is refused: with
    /// NOT_LEADER_OR_FOLLOWER off the leader, with NOT_ENOUGH_REPLICAS for an acks=all
    /// append while the ISR is below `min_insync_replicas` (Kafka's
    /// `appendRecordsToLeader` checks both before it writes).
    pub(super) fn admit_leader_append(
        &self,
        context: &mut Context<'_>,
        completion: &Completion,
        acks: Acks,
    ) -> Option<LeaderEpoch> {
        let (Role::Leader(_), Some(leader_epoch)) = (&self.role, self.leader_epoch) else {
            refuse(context, self.id, completion, ErrorCode::NotLeaderOrFollower);
            return None;
        };
        if acks == Acks::All && self.is_under_min_isr() {
            context.mark(Mark::ProduceRejectedNotEnoughReplicas);
            let refused = Err(ErrorCode::NotEnoughReplicas);
            complete(context, self.id, completion, None, refused);
            return None;
        }
        Some(leader_epoch)
    }

    /// Reports the records the leader just wrote from `base_offset` to `last_offset`.
    pub(super) fn report_leader_append(
        &self,
        context: &mut Context<'_>,
        base_offset: Offset,
        last_offset: Offset,
    ) {
        let appended = self.log.read(base_offset, last_offset.next(), u32::MAX);
        context.event(Event::RecordsAppended {
            partition: self.id,
            as_leader: true,
            records: summaries(&appended),
        });
    }

    /// After a leader's write: answers it per `acks`, then lets the high watermark move
    /// (an ISR of the leader alone commits it at once) and wakes fetches waiting for data.
    pub(super) fn answer_leader_append(
        &mut self,
        context: &mut Context<'_>,
        completion: Completion,
        acks: Acks,
        offsets: (Offset, Offset),
        timeout_ms: u64,
    ) {
        self.answer_appended(context, completion, acks, offsets, timeout_ms);
        self.maybe_increment_high_watermark(context);
        self.wake_parked_fetches(context, WakeReason::NewData, &[]);
    }

    /// Answers a batch that is in the log, just appended or found to be a duplicate of one
    /// that was: at once for acks=0 and acks=1, once the high watermark passes its last
    /// offset for acks=all (a duplicate waits like the original would, as Kafka's delayed
    /// produce waits for `requiredOffset`; it may already be committed).
    pub(super) fn answer_appended(
        &mut self,
        context: &mut Context<'_>,
        completion: Completion,
        acks: Acks,
        offsets: (Offset, Offset),
        timeout_ms: u64,
    ) {
        let (base_offset, _) = offsets;
        match acks {
            Acks::None | Acks::Leader => {
                complete(
                    context,
                    self.id,
                    &completion,
                    Some(offsets),
                    Ok(base_offset),
                );
            }
            Acks::All if context.bugs.ack_before_isr => {
                context.mark(Mark::AcksAllAnsweredBeforeIsr);
                complete(
                    context,
                    self.id,
                    &completion,
                    Some(offsets),
                    Ok(base_offset),
                );
            }
            Acks::All => {
                self.delay_produce(context, completion, offsets, timeout_ms);
                if offsets.1 < self.log.high_watermark() {
                    self.complete_purgatory(context);
                }
            }
        }
    }

    /// A fetch from a follower (`replica: Some`) or a consumer (`replica: None`).
    pub fn handle_fetch(
        &mut self,
        context: &mut Context<'_>,
        from: NodeId,
        request: &FetchRequest,
    ) {
        let partition = self.id;
        let correlation = request.correlation;
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
        // Consumers may read from followers (KIP-392); followers fetch from the leader only.
        let fetch_only_from_leader = request.replica.is_some();
        if let Err(error) = self.check_read_epoch(
            context,
            request.current_leader_epoch,
            fetch_only_from_leader,
        ) {
            respond(context, Err(error));
            return;
        }
        if !self.is_leader() {
            let result = self.read_as_follower(context, request);
            respond(context, result);
            return;
        }
        if let Some(follower) = request.replica {
            if follower == context.local || !self.replicas.contains(&follower) {
                respond(context, Err(ErrorCode::NotLeaderOrFollower));
                return;
            }
        }
        let fetch_offset = request.fetch_offset;
        if let Some(follower) = request.replica {
            match self.diverging_epoch(request) {
                Ok(None) => {}
                Ok(Some(diverging_epoch)) => {
                    // Answered at once, and not a sign of progress (KAFKA-13141).
                    context.mark(Mark::FetchDivergingEpoch);
                    let data = FetchData {
                        diverging_epoch: Some(diverging_epoch),
                        ..self.read_for(
                            request.replica,
                            fetch_offset,
                            0,
                            IsolationLevel::ReadUncommitted,
                        )
                    };
                    if context.bugs.divergent_fetch_counts_as_progress {
                        // Kafka 2.7.0-2.8.0: `ReplicaManager.updateFollowerFetchState` skipped
                        // only reads that failed, so the diverging read's fetch offset became
                        // the follower's log end offset, after the answer (and the high
                        // watermark it carries) had been read.
                        context.mark(Mark::DivergentFetchCountedAsProgress);
                        self.record_follower_fetch(context, follower, request);
                    }
                    respond(context, Ok(data));
                    return;
                }
                Err(error) => {
                    respond(context, Err(error));
                    return;
                }
            }
        }
        if fetch_offset < self.log.log_start_offset() || fetch_offset > self.log.log_end_offset() {
            respond(context, Err(ErrorCode::OffsetOutOfRange));
            return;
        }
        if let Some(preferred) = self.preferred_read_replica(context, request) {
            let data = self.redirect_to_read_replica(context, preferred);
            respond(context, Ok(data));
            return;
        }
        let high_watermark_moved = match request.replica {
            Some(follower) => self.record_follower_fetch(context, follower, request),
            None => false,
        };
        let isolation_level = Self::isolation_of(request);
        let data = self.read_for(
            request.replica,
            fetch_offset,
            request.max_records,
            isolation_level,
        );
        // A high watermark this very fetch moved is news for the follower: answer at once
        // rather than hold it, so followers learn the high watermark without a wait.
        if data.records.is_empty() && request.max_wait_ms > 0 && !high_watermark_moved {
            let parked = DelayedFetch {
                id: Default::default(),
                from,
                correlation,
                replica: request.replica,
                fetch_offset,
                max_records: request.max_records,
                isolation_level,
            };
            if self.delay_fetch(context, parked, request.max_wait_ms) {
                context.mark(Mark::FetchParked);
                return;
            }
        }
        respond(context, Ok(data));
    }

    /// A follower's fetch as progress (Kafka's `Partition.updateFollowerFetchState`): its
    /// fetch state, log start offset and broker epoch, then an ISR expansion, the high
    /// watermark and the DeleteRecords waiting on the low watermark. Whether the high
    /// watermark moved.
    fn record_follower_fetch(
        &mut self,
        context: &mut Context<'_>,
        follower: BrokerId,
        request: &FetchRequest,
    ) -> bool {
        self.update_follower_fetch_state(follower, request.fetch_offset, context.now_ms);
        self.record_follower_log_start_offset(follower, request.log_start_offset);
        self.record_follower_broker_epoch(follower, request.replica_epoch);
        self.maybe_expand_isr(context, follower);
        let high_watermark_moved = self.maybe_increment_high_watermark(context);
        self.complete_delayed_delete_records(context);
        high_watermark_moved
    }

    /// Kafka's check of a follower's `lastFetchedEpoch` (`Partition.readRecords`, KIP-595):
    /// where the fetched epoch ends in this leader's cache decides. An epoch it cannot place
    /// is OffsetOutOfRange, as is an offset below the log start; an older epoch in its place,
    /// or an end before the fetch offset, is a divergence, answered with that (epoch, end
    /// offset) instead of records. Kafka's consumers send no last fetched epoch; the model's
    /// consumer does (for KIP-320's validation), so only follower fetches are checked.
    fn diverging_epoch(&self, request: &FetchRequest) -> Result<Option<EpochEndOffset>, ErrorCode> {
        let Some(last_fetched_epoch) = request.last_fetched_epoch else {
            return Ok(None);
        };
        let (leader_epoch, end_offset) = self
            .log
            .end_offset_for_epoch(last_fetched_epoch)
            .ok_or(ErrorCode::OffsetOutOfRange)?;
        if request.fetch_offset < self.log.log_start_offset() {
            return Err(ErrorCode::OffsetOutOfRange);
        }
        let diverged = leader_epoch < last_fetched_epoch || end_offset < request.fetch_offset;
        Ok(diverged.then_some(EpochEndOffset {
            leader_epoch,
            end_offset,
        }))
    }

    /// A fetch's isolation level as the leader applies it: a follower's fetch reads the
    /// whole log whatever it says (Kafka's `FetchIsolation.LOG_END` for replicas).
    fn isolation_of(request: &FetchRequest) -> IsolationLevel {
        match request.replica {
            Some(_) => IsolationLevel::ReadUncommitted,
            None => request.isolation_level,
        }
    }

    /// What a fetch sees (Kafka's `FetchIsolation`): a follower up to the log end offset, a
    /// read_uncommitted consumer below the high watermark, a read_committed one below the
    /// last stable offset, with the aborted transactions overlapping the records returned
    /// (`UnifiedLog.collectAbortedTransactions` up to the offset after the last one).
    pub(super) fn read_for(
        &self,
        replica: Option<BrokerId>,
        fetch_offset: Offset,
        max_records: u32,
        isolation_level: IsolationLevel,
    ) -> FetchData {
        let read_committed = replica.is_none() && isolation_level == IsolationLevel::ReadCommitted;
        let upper_bound = match (replica, read_committed) {
            (Some(_), _) => self.log.log_end_offset(),
            (None, false) => self.log.high_watermark(),
            (None, true) => self.log.last_stable_offset(),
        };
        let records = self.log.read(fetch_offset, upper_bound, max_records);
        let aborted_transactions = match records.last() {
            Some(last) if read_committed => self
                .log
                .aborted_transactions(fetch_offset, last.offset.next())
                .into_iter()
                .map(|aborted| AbortedTransaction {
                    producer_id: aborted.producer_id,
                    first_offset: aborted.first_offset,
                })
                .collect(),
            _ => Vec::new(),
        };
        FetchData {
            preferred_read_replica: None,
            records,
            high_watermark: self.log.high_watermark(),
            log_start_offset: self.log.log_start_offset(),
            log_end_offset: self.log.log_end_offset(),
            last_stable_offset: self.log.last_stable_offset(),
            aborted_transactions,
            diverging_epoch: None,
        }
    }

    /// `ListOffsets`, from the leader only: the log start offset, or the end of what the
    /// consumer may read, the high watermark (read_uncommitted) or the last stable offset
    /// (read_committed), as Kafka's `Partition.fetchOffsetForTimestamp` answers LATEST.
    pub fn handle_list_offsets(&self, request: &ListOffsetsRequest) -> Result<Offset, ErrorCode> {
        if !self.is_leader() {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        Ok(match (request.spec, request.isolation_level) {
            (OffsetSpec::Earliest, _) => self.log.log_start_offset(),
            // A follower's `Latest` is the whole log (Kafka: no isolation for a replica).
            (OffsetSpec::Latest, _) if request.replica.is_some() => self.log.log_end_offset(),
            (OffsetSpec::Latest, IsolationLevel::ReadUncommitted) => self.log.high_watermark(),
            (OffsetSpec::Latest, IsolationLevel::ReadCommitted) => self.log.last_stable_offset(),
        })
    }

    /// `OffsetsForLeaderEpoch` on the leader: the largest epoch ≤ the asked one and its end.
    pub fn handle_offsets_for_leader_epoch(
        &self,
        context: &mut Context<'_>,
        request: &OffsetsForLeaderEpochRequest,
    ) -> Result<EpochEndOffset, ErrorCode> {
        self.check_leader_epoch(context, request.current_leader_epoch)?;
        // `None` (an epoch newer than any here) cannot happen once the epoch check passed,
        // since a leader's latest epoch is its current one; answer as Kafka's undefined epoch
        // would make a client retry.
        let (epoch, end_offset) = self
            .log
            .end_offset_for_epoch(request.leader_epoch)
            .ok_or(ErrorCode::UnknownLeaderEpoch)?;
        Ok(EpochEndOffset {
            leader_epoch: epoch,
            end_offset,
        })
    }

    /// Kafka's `Replica.updateFetchStateOrThrow` keeps the follower's log start offset.
    fn record_follower_log_start_offset(
        &mut self,
        follower: BrokerId,
        log_start_offset: Option<Offset>,
    ) {
        if let Role::Leader(state) = &mut self.role {
            if let Some(replica) = state.followers.get_mut(&follower) {
                replica.log_start_offset = log_start_offset;
            }
        }
    }

    /// The follower's log start offset as this leader last heard it.
    pub(super) fn follower_log_start_offset(&self, follower: BrokerId) -> Option<Offset> {
        match &self.role {
            Role::Leader(state) => state
                .followers
                .get(&follower)
                .and_then(|replica| replica.log_start_offset),
            _ => None,
        }
    }

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
            replica.last_caught_up_time_ms = replica.last_caught_up_time_ms.max(Some(now_ms));
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
        replica.last_fetch_time_ms = Some(now_ms);
    }

    /// KIP-903: the leader remembers the broker epoch of each follower's latest fetch, so
    /// an ISR proposal names the incarnation that actually caught up.
    fn record_follower_broker_epoch(&mut self, follower: BrokerId, epoch: Option<BrokerEpoch>) {
        if let Role::Leader(state) = &mut self.role {
            if let Some(replica) = state.followers.get_mut(&follower) {
                replica.broker_epoch = epoch;
            }
        }
    }

    /// Proposes adding `follower` to the ISR when it has reached the high watermark and the
    /// start of this leader's epoch (Kafka's `isFollowerInSync`) and is not fenced.
    ///
    /// The second condition is KAFKA-7128's fix (Kafka 2.0.1 and 2.1.0): a new leader's high
    /// watermark can lag the previous leader's until its followers fetch in the new epoch, so
    /// a follower at that high watermark may lack records the previous leader committed;
    /// every one of them lies below the start of this leader's epoch. The
    /// `isr-join-below-leader-epoch-start` switch drops it.
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
        let leader_epoch_start_offset = state.leader_epoch_start_offset;
        let below_epoch_start = log_end_offset < leader_epoch_start_offset;
        if log_end_offset < high_watermark
            || (below_epoch_start && !context.bugs.isr_join_below_leader_epoch_start)
            || !live
        {
            return false;
        }
        let progress = Self::progress_of(state, follower);
        let mut new_isr: BTreeSet<BrokerId> = self.isr.iter().copied().collect();
        new_isr.insert(follower);
        let proposed: Vec<BrokerId> = new_isr.into_iter().collect();
        context.event(Event::IsrExpandProposed {
            partition: self.id,
            isr: self.isr.clone(),
            proposed: proposed.clone(),
            follower: progress,
            high_watermark,
            leader_epoch_start_offset,
        });
        if below_epoch_start {
            context.mark(Mark::IsrJoinProposedBelowLeaderEpochStart);
        }
        self.send_alter_partition(context, proposed);
        true
    }

    /// A follower as this leader sees it, for the reason events.
    pub(super) fn progress_of(state: &LeaderState, follower: BrokerId) -> FollowerProgress {
        let replica = state.followers.get(&follower).copied().unwrap_or_default();
        FollowerProgress {
            broker: follower,
            log_end_offset: replica.log_end_offset,
            last_caught_up_time_ms: replica.last_caught_up_time_ms,
        }
    }

    /// Proposes removing ISR followers that have not caught up for `replica_lag_time_max_ms`
    /// (Kafka's `getOutOfSyncReplicas`: not at the leader's log end offset, and last caught
    /// up too long ago).
    pub fn maybe_shrink_isr(&mut self, context: &mut Context<'_>) -> bool {
        self.report_held_high_watermark(context);
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
                    !replica.is_caught_up(leader_log_end_offset, context.now_ms, lag_max_ms)
                }
                None => false,
            })
            .collect();
        if out_of_sync.is_empty() {
            return false;
        }
        let new_isr: Vec<BrokerId> = self
            .isr
            .iter()
            .copied()
            .filter(|member| !out_of_sync.contains(member))
            .collect();
        context.event(Event::IsrShrinkProposed {
            partition: self.id,
            isr: self.isr.clone(),
            proposed: new_isr.clone(),
            leader_log_end_offset,
            replica_lag_time_max_ms: lag_max_ms,
            out_of_sync: out_of_sync
                .iter()
                .map(|&member| Self::progress_of(state, member))
                .collect(),
        });
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
        let new_isr_with_epochs = new_isr
            .iter()
            .map(|&member| BrokerState {
                broker_id: member,
                broker_epoch: if member == context.local {
                    Some(broker_epoch)
                } else {
                    state
                        .followers
                        .get(&member)
                        .and_then(|replica| replica.broker_epoch)
                },
            })
            .collect();
        context.send(
            NodeId::Controller,
            Message::AlterPartition(AlterPartitionRequest {
                broker: context.local,
                broker_epoch,
                partition: self.id,
                leader_epoch,
                partition_epoch,
                new_isr_with_epochs,
            }),
        );
        state.pending_alter_partition = Some(PendingAlterPartition { new_isr });
        let retry_at_ms = context
            .now_ms
            .saturating_add(context.alter_partition_retry_ms());
        context.set_timer(self.id, PartitionTimer::AlterPartitionRetry, retry_at_ms);
    }

    /// Forgets the pending proposal (answered, or overtaken by metadata) and its retry.
    pub(super) fn take_pending_alter_partition(
        &mut self,
        context: &mut Context<'_>,
    ) -> Option<PendingAlterPartition> {
        let Role::Leader(state) = &mut self.role else {
            return None;
        };
        let pending = state.pending_alter_partition.take()?;
        context.cancel_timer(self.id, PartitionTimer::AlterPartitionRetry);
        Some(pending)
    }

    /// The controller's answer to the pending AlterPartition. Accepted: adopt the state. Any
    /// error: drop the proposal; the next fetch or shrink check proposes again from the
    /// metadata the controller pushes.
    pub fn handle_alter_partition_response(
        &mut self,
        context: &mut Context<'_>,
        response: &AlterPartitionResponse,
    ) {
        if !self.is_leader() {
            return;
        }
        let Some(pending) = self.take_pending_alter_partition(context) else {
            return;
        };
        if let Ok(accepted) = &response.result {
            let current = Some(accepted.leader_epoch) == self.leader_epoch
                && accepted.leader == Some(context.local)
                && self
                    .partition_epoch
                    .is_none_or(|epoch| accepted.partition_epoch > epoch);
            if current {
                let ours = accepted.isr == pending.new_isr;
                self.adopt_isr(
                    context,
                    accepted.isr.clone(),
                    accepted.partition_epoch,
                    ours,
                );
            }
        }
        self.maybe_increment_high_watermark(context);
    }

    pub(super) fn adopt_isr(
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
                context.mark(Mark::IsrShrunk);
            }
            if self.isr.iter().any(|member| !from.contains(member)) {
                context.mark(Mark::IsrExpanded);
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
        // Kafka returns before computing under min ISR; the mark wants to know whether the
        // watermark was actually held, so the guard sits after the computation below.
        let under_min_isr = self.holds_high_watermark_under_min_isr(context);
        let HighWatermarkCandidate {
            maximal_isr,
            joining,
            lowest,
        } = self.high_watermark_candidate(context, state);
        let Some(new_high_watermark) = lowest else {
            return false;
        };
        // Whether the joining replicas kept the high watermark below where the maximal ISR
        // alone would have put it.
        let held_for_joining = !joining.is_empty()
            && self
                .lowest_log_end_offset(context.local, state, &mut maximal_isr.iter())
                .is_some_and(|isr_only| isr_only > new_high_watermark);
        if under_min_isr {
            if new_high_watermark > self.log.high_watermark() {
                context.mark(Mark::HighWatermarkHeldUnderMinIsr);
            }
            return false;
        }
        if held_for_joining {
            context.mark(Mark::HighWatermarkHeldForJoiningReplica);
        }
        let basis = HighWatermarkBasis::Leader {
            log_end_offsets: self.log_end_offsets_counted(
                context.local,
                state,
                &maximal_isr,
                &joining,
            ),
            joining,
        };
        let stable_before = self.stable_offsets();
        let Some((from, to)) = self.log.maybe_increment_high_watermark(new_high_watermark) else {
            return false;
        };
        context.event(Event::HighWatermarkComputed {
            partition: self.id,
            basis,
        });
        context.event(Event::HighWatermarkUpdated {
            partition: self.id,
            from,
            to,
        });
        context.mark(Mark::HighWatermarkAdvanced);
        // The last stable offset only moves with the high watermark on a leader (a marker
        // holds it until committed), so this wake of every parked fetch below also wakes the
        // read_committed fetches waiting for it.
        self.maybe_report_last_stable_offset(context, stable_before);
        self.complete_purgatory(context);
        self.wake_parked_fetches(context, WakeReason::HighWatermark, &[]);
        true
    }

    /// KAFKA-15583 (Kafka 3.7): nothing becomes committed while the ISR is below the
    /// effective min.insync.replicas, so no record is committed on fewer replicas than the
    /// topic asks for (unless the historical bug switch lets it advance anyway).
    pub(super) fn holds_high_watermark_under_min_isr(&self, context: &Context<'_>) -> bool {
        self.is_under_min_isr() && !context.bugs.hw_advances_under_min_isr
    }

    /// What `maybeIncrementLeaderHW` computes the high watermark over: the maximal ISR, the
    /// caught-up followers about to rejoin it (Kafka 3.x+), and the lowest log end offset
    /// among them and this leader.
    pub(super) fn high_watermark_candidate(
        &self,
        context: &Context<'_>,
        state: &LeaderState,
    ) -> HighWatermarkCandidate {
        let maximal_isr = self.maximal_isr();
        let joining = self.replicas_about_to_join_isr(context, state, &maximal_isr);
        let lowest = self.lowest_log_end_offset(
            context.local,
            state,
            &mut maximal_isr.iter().chain(&joining),
        );
        HighWatermarkCandidate {
            maximal_isr,
            joining,
            lowest,
        }
    }

    /// Kafka's `shouldWaitForReplicaToJoinIsr` (in `maybeIncrementLeaderHW`): a follower
    /// outside the maximal ISR that is caught up ([`FollowerReplica::is_caught_up`]) and may
    /// join the ISR (not fenced in the newest image) holds the high watermark as a member
    /// would, so records do not become committed without a replica that is about to count.
    /// Kafka also requires the broker epoch of its fetches to be the registered one.
    fn replicas_about_to_join_isr(
        &self,
        context: &Context<'_>,
        state: &LeaderState,
        maximal_isr: &BTreeSet<BrokerId>,
    ) -> Vec<BrokerId> {
        let leader_log_end_offset = self.log.log_end_offset();
        let lag_max_ms = context.config.replica_lag_time_max_ms;
        state
            .followers
            .iter()
            .filter(|(follower, _)| !maximal_isr.contains(follower))
            .filter(|(follower, _)| {
                context.live_brokers.is_empty() || context.live_brokers.contains(follower)
            })
            .filter(|(_, replica)| {
                replica.is_caught_up(leader_log_end_offset, context.now_ms, lag_max_ms)
            })
            .map(|(&follower, _)| follower)
            .collect()
    }

    /// The maximal ISR (KIP-497): the committed ISR and the members of the proposal the
    /// controller has not answered yet.
    pub(super) fn maximal_isr(&self) -> BTreeSet<BrokerId> {
        let mut maximal_isr: BTreeSet<BrokerId> = self.isr.iter().copied().collect();
        maximal_isr.extend(self.pending_isr().unwrap_or_default().iter().copied());
        maximal_isr
    }

    /// The smallest log end offset among this leader and `members`; `None` while a member's
    /// log end offset is unknown (it holds the high watermark where it is).
    pub(super) fn lowest_log_end_offset(
        &self,
        local: BrokerId,
        state: &LeaderState,
        members: &mut dyn Iterator<Item = &BrokerId>,
    ) -> Option<Offset> {
        members
            .filter(|&&member| member != local)
            .map(|member| {
                state
                    .followers
                    .get(member)
                    .and_then(|replica| replica.log_end_offset)
            })
            .try_fold(self.log.log_end_offset(), |lowest, log_end_offset| {
                log_end_offset.map(|offset| lowest.min(offset))
            })
    }

    /// The log end offsets a high watermark was computed from: this leader's, and each
    /// counted follower's as this leader sees it (all known, or the computation would have
    /// held the high watermark).
    fn log_end_offsets_counted(
        &self,
        local: BrokerId,
        state: &LeaderState,
        maximal_isr: &BTreeSet<BrokerId>,
        joining: &[BrokerId],
    ) -> Vec<(BrokerId, Offset)> {
        let mut counted: BTreeSet<BrokerId> = maximal_isr.iter().copied().collect();
        counted.extend(joining.iter().copied());
        counted.insert(local);
        counted
            .into_iter()
            .filter_map(|member| {
                let log_end_offset = if member == local {
                    Some(self.log.log_end_offset())
                } else {
                    state
                        .followers
                        .get(&member)
                        .and_then(|replica| replica.log_end_offset)
                };
                log_end_offset.map(|offset| (member, offset))
            })
            .collect()
    }

    /// A leader's due timers: expired appends, then expired parked fetches, then the
    /// AlterPartition retry (sent again once registered; until then the proposal waits
    /// another interval).
    pub(super) fn on_leader_timers(&mut self, context: &mut Context<'_>, fired: &[PartitionTimer]) {
        let retry = fired
            .contains(&PartitionTimer::AlterPartitionRetry)
            .then(|| self.pending_isr().map(<[BrokerId]>::to_vec))
            .flatten();
        self.expire_purgatory(context, fired);
        self.wake_parked_fetches(context, WakeReason::Expiry, fired);
        if let Some(new_isr) = retry {
            if context.broker_epoch.is_some() {
                self.send_alter_partition(context, new_isr);
            } else {
                let retry_at_ms = context
                    .now_ms
                    .saturating_add(context.alter_partition_retry_ms());
                context.set_timer(self.id, PartitionTimer::AlterPartitionRetry, retry_at_ms);
            }
        }
    }
}
