//! One partition's replica on one broker (Kafka's `Partition.scala` plus the per-partition
//! half of `ReplicaFetcherThread`): the role state machine around a [`Log`]. The halves live
//! in their own files, as Kafka separates `Partition` from the fetcher:
//!
//! - `leader.rs`: as leader it tracks every follower's log end offset and last caught-up
//!   time, grows and shrinks the ISR through one AlterPartition at a time (KIP-497: while one
//!   is pending the high watermark is computed over the *maximal* ISR, current ∪ proposed),
//!   and moves the high watermark to the minimum log end offset over that ISR;
//! - `purgatory.rs`: acks=all produces wait there until the high watermark passes them, and
//!   fetches with nothing to return are parked there;
//! - `follower.rs`: as follower it pulls records with one fetch outstanding at a time,
//!   truncating where the leader's diverging epoch says (KIP-595; the OffsetsForLeaderEpoch
//!   handshake of KIP-101 and KIP-279 behind a switch), and copies the leader's high
//!   watermark, which may therefore go down;
//! - `delete_records.rs`: DeleteRecords moves the leader's log start offset (KIP-107), and
//!   followers copy it from fetch responses;
//! - `out_of_range.rs`: a follower told OFFSET_OUT_OF_RANGE asks its leader where its log
//!   ends and starts, and cuts its own log, or truncates it fully when the leader deleted
//!   past its end;
//! - `transactions.rs`: transactional produces and their verification guards (KIP-890),
//!   the transaction markers of WriteTxnMarkers and the last stable offset (KIP-98).
//!
//! Invariants: a leader's high watermark never decreases; every timer of this partition in
//! the broker's table belongs to its current role (set on entering a state, cancelled on
//! leaving it), so a due timer always has work to do — except a delayed DeleteRecords's,
//! which outlives a resignation as in Kafka and is cancelled when it is answered.

mod coordinator_append;
mod delete_records;
mod follower;
mod high_watermark_hold;
mod leader;
mod out_of_range;
mod purgatory;
mod read_replica;
mod transactions;

pub use leader::FollowerReplica;
pub(crate) use purgatory::refuse;
pub use purgatory::{Completion, DelayedOperationId, LocalCompletion, LocalWaiter};
pub use transactions::{TransactionalProduce, VerificationGuard};

use crate::actor::Effect;
use crate::broker::BrokerTimer;
use crate::bugs::BugSwitches;
use crate::config::{BrokerConfig, TopicConfig};
use crate::event::{Event, RecordSummary};
use crate::ids::{
    BrokerEpoch, BrokerId, CorrelationId, LeaderEpoch, NodeId, PartitionEpoch, ProducerId,
};
use crate::log::Log;
use crate::mark::Mark;
use crate::metadata::PartitionState;
use crate::protocol::Message;
use crate::record::Record;
use crate::replica_view::{ReplicaRole, ReplicaView};
use crate::storage::Storage;
use crate::timer::TimerTable;
use crate::topic::TopicPartition;
use follower::FetcherStage;
use leader::LeaderState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A partition's named deadlines. They sit in the broker's table under the partition's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PartitionTimer {
    /// Follower: the outstanding OffsetsForLeaderEpoch or Fetch has had no answer for
    /// `replica_socket_timeout_ms`; ask again.
    FetcherRequestTimeout,
    /// Follower: the back-off after a failed request ends.
    FetcherBackoff,
    /// Follower, under `follower-high-watermark-before-truncation` (KAFKA-14704): the
    /// fetcher reaches the truncation a diverging epoch asked for.
    FetcherTruncation,
    /// Leader: the unanswered AlterPartition is sent again.
    AlterPartitionRetry,
    /// Leader: an acks=all produce has waited in the purgatory as long as it may.
    DelayedProduce(DelayedOperationId),
    /// Leader: a parked fetch has waited `max_wait_ms`.
    DelayedFetch(DelayedOperationId),
    /// A DeleteRecords has waited its `timeout_ms` for the replicas' log start offsets. Not
    /// tied to a role: as in Kafka, a leader that resigns keeps it until it expires.
    DelayedDeleteRecords(DelayedOperationId),
}

impl fmt::Display for PartitionTimer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartitionTimer::FetcherRequestTimeout => formatter.write_str("fetcher-request-timeout"),
            PartitionTimer::FetcherBackoff => formatter.write_str("fetcher-backoff"),
            PartitionTimer::FetcherTruncation => formatter.write_str("fetcher-truncation"),
            PartitionTimer::AlterPartitionRetry => formatter.write_str("alter-partition-retry"),
            PartitionTimer::DelayedProduce(id) => write!(formatter, "delayed-produce-{id}"),
            PartitionTimer::DelayedFetch(id) => write!(formatter, "delayed-fetch-{id}"),
            PartitionTimer::DelayedDeleteRecords(id) => {
                write!(formatter, "delayed-delete-records-{id}")
            }
        }
    }
}

/// Everything a partition needs from its broker for one step: the time, the broker's
/// identity and settings, the disk, the broker's timer table, and where effects go.
pub struct Context<'a> {
    pub now_ms: u64,
    pub local: BrokerId,
    /// `None` until the controller has accepted this broker's registration.
    pub broker_epoch: Option<BrokerEpoch>,
    pub config: &'a BrokerConfig,
    pub bugs: BugSwitches,
    /// Unfenced brokers in the newest metadata image (empty before the first image).
    pub live_brokers: &'a [BrokerId],
    /// The registered brokers' racks in the newest metadata image (KIP-392).
    pub broker_racks: &'a BTreeMap<BrokerId, String>,
    pub storage: &'a mut dyn Storage,
    pub next_correlation: &'a mut u64,
    pub next_delayed_operation: &'a mut u64,
    pub timers: &'a mut TimerTable<BrokerTimer>,
    pub effects: &'a mut Vec<Effect>,
    /// Local appends whose wait ended, for the broker to hand to whoever waits on them.
    pub local_completions: &'a mut Vec<LocalCompletion>,
    /// Bumped when this replica may have become or stopped being leader, or took a new
    /// leader epoch as leader (the broker's `leadership_changes`).
    pub leadership_changes: &'a mut u64,
}

impl Context<'_> {
    fn correlation(&mut self) -> CorrelationId {
        *self.next_correlation += 1;
        CorrelationId(*self.next_correlation)
    }

    fn delayed_operation(&mut self) -> DelayedOperationId {
        *self.next_delayed_operation += 1;
        DelayedOperationId(*self.next_delayed_operation)
    }

    fn send(&mut self, to: NodeId, message: Message) {
        self.effects.push(Effect::Send { to, message });
    }

    fn event(&mut self, event: Event) {
        self.effects.push(Effect::Event(event));
    }

    fn mark(&mut self, mark: Mark) {
        self.effects.push(Effect::Mark(mark));
    }

    fn set_timer(&mut self, partition: TopicPartition, timer: PartitionTimer, at_ms: u64) {
        self.timers
            .set(BrokerTimer::Partition(partition, timer), at_ms);
    }

    fn cancel_timer(&mut self, partition: TopicPartition, timer: PartitionTimer) {
        self.timers.cancel(BrokerTimer::Partition(partition, timer));
    }

    /// How long an unanswered AlterPartition waits before it is sent again. Kafka's
    /// `AlterPartitionManager` retries through the broker-to-controller channel; here the
    /// heartbeat interval, the broker's other controller cadence, sets the pace.
    fn alter_partition_retry_ms(&self) -> u64 {
        self.config.broker_heartbeat_interval_ms.max(1)
    }
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
    id: TopicPartition,
    log: Log,
    replicas: Vec<BrokerId>,
    isr: Vec<BrokerId>,
    leader: Option<BrokerId>,
    /// The leader epoch this replica acts in; `None` until the first metadata for it.
    leader_epoch: Option<LeaderEpoch>,
    partition_epoch: Option<PartitionEpoch>,
    role: Role,
    /// The settings of this partition's topic (`min_insync_replicas`).
    topic: TopicConfig,
    /// The transaction verifications this leader started and no marker or newer epoch
    /// has cleared, by producer (Kafka keeps them in its `ProducerStateManager`).
    verification_entries: BTreeMap<ProducerId, transactions::VerificationEntry>,
    /// The last verification guard handed out.
    next_verification_guard: u64,
    /// DeleteRecords requests waiting for the low watermark (Kafka's `DelayedDeleteRecords`).
    delayed_delete_records: Vec<delete_records::DelayedDeleteRecords>,
}

impl Partition {
    /// A replica over a recovered log, waiting for metadata to say what to do.
    pub fn new(log: Log, topic: TopicConfig) -> Partition {
        Partition {
            topic,
            id: log.partition(),
            log,
            replicas: Vec::new(),
            isr: Vec::new(),
            leader: None,
            leader_epoch: None,
            partition_epoch: None,
            role: Role::Unassigned,
            verification_entries: BTreeMap::new(),
            next_verification_guard: 0,
            delayed_delete_records: Vec::new(),
        }
    }

    pub fn id(&self) -> TopicPartition {
        self.id
    }

    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Checks the log's invariants if a step changed it since the last check.
    pub fn check_log_invariants(&mut self) {
        self.log.check_invariants_if_changed();
    }

    /// Writes the log's producer-state snapshot, as a clean shutdown does
    /// ([`Log::write_producer_snapshot`]).
    pub fn write_producer_snapshot(&mut self, storage: &mut dyn crate::storage::Storage) -> bool {
        self.log.write_producer_snapshot(storage)
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
        if self.is_leader() {
            let pending = self.take_pending_alter_partition(context);
            let ours = pending.is_some_and(|pending| pending.new_isr == state.isr);
            self.adopt_isr(context, state.isr.clone(), state.partition_epoch, ours);
            self.maybe_increment_high_watermark(context);
        } else {
            self.isr = state.isr.clone();
            self.partition_epoch = Some(state.partition_epoch);
        }
    }

    /// Kafka's `Partition.makeLeader`: start the new epoch at the log end offset, take the
    /// ISR from the image, reset the followers' state (`Replica.resetReplicaState`). Nothing pending is failed: a
    /// leader elected again keeps its purgatory and parked fetches (and their timers).
    pub fn make_leader(&mut self, context: &mut Context<'_>, state: &PartitionState) {
        *context.leadership_changes += 1;
        self.leader_epoch = Some(state.leader_epoch);
        self.partition_epoch = Some(state.partition_epoch);
        self.leader = Some(context.local);
        self.isr = state.isr.clone();
        self.log
            .assign_epoch_at_log_end(context.storage, state.leader_epoch);
        let log_end_offset = self.log.log_end_offset();
        for timer in [
            PartitionTimer::FetcherRequestTimeout,
            PartitionTimer::FetcherBackoff,
            PartitionTimer::FetcherTruncation,
            PartitionTimer::AlterPartitionRetry,
        ] {
            context.cancel_timer(self.id, timer);
        }
        let previous = match std::mem::replace(&mut self.role, Role::Unassigned) {
            Role::Leader(previous) => Some(previous),
            _ => None,
        };
        self.role = Role::Leader(LeaderState::new(
            context,
            &self.replicas,
            &self.isr,
            log_end_offset,
            previous,
        ));
        context.event(Event::BecameLeader {
            partition: self.id,
            leader_epoch: state.leader_epoch,
            isr: self.isr.clone(),
            log_end_offset,
        });
        context.mark(Mark::BecameLeader);
        self.maybe_increment_high_watermark(context);
    }

    /// Kafka's `Partition.makeFollower` and the fetcher's restart: fail the purgatory with
    /// NotLeaderOrFollower, drop parked fetches, and start fetching from the new leader (if
    /// any). With `no-truncation-when-leader-unchanged` (before KAFKA-7164) a follower of the
    /// same leader only takes the new epoch and keeps fetching.
    pub fn make_follower(&mut self, context: &mut Context<'_>, state: &PartitionState) {
        *context.leadership_changes += 1;
        if self.skips_become_follower(context, state) {
            self.keep_following_across_epoch(context, state);
            return;
        }
        if let Role::Leader(previous) = std::mem::replace(&mut self.role, Role::Unassigned) {
            self.resign_leadership(context, previous);
        }
        self.leader_epoch = Some(state.leader_epoch);
        self.partition_epoch = Some(state.partition_epoch);
        self.leader = state.leader.filter(|&leader| leader != context.local);
        self.isr = state.isr.clone();
        self.set_fetcher_stage(context, FetcherStage::NoLeader);
        context.event(Event::BecameFollower {
            partition: self.id,
            leader_epoch: state.leader_epoch,
            leader: self.leader,
        });
        context.mark(Mark::BecameFollower);
        if self.leader.is_some() {
            if context.bugs.truncate_to_high_watermark {
                self.truncate_to_high_watermark(context);
                self.send_fetch(context);
            } else {
                self.start_fetching(context);
            }
        }
    }

    /// Handles this partition's due timers, in the order the roles check them: a follower's
    /// request timeout or back-off; a leader's purgatory expiry, then its parked fetches,
    /// then its AlterPartition retry.
    pub fn on_timers(&mut self, context: &mut Context<'_>, fired: &[PartitionTimer]) {
        self.expire_delayed_delete_records(context, fired);
        match self.role {
            Role::Unassigned => {}
            Role::Follower(stage) => self.on_fetcher_timers(context, stage, fired),
            Role::Leader(_) => self.on_leader_timers(context, fired),
        }
    }
}

/// How the checkers and the trace see records.
pub(crate) fn summaries(records: &[Record]) -> Vec<RecordSummary> {
    records
        .iter()
        .map(|record| RecordSummary {
            offset: record.offset,
            leader_epoch: record.leader_epoch,
            value: record.value_id(),
        })
        .collect()
}
