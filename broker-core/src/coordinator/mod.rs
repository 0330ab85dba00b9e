//! The group coordinator (Kafka's `group-coordinator` module, classic protocol), hosted by
//! the broker that leads a group's `__consumer_offsets` partition. It keeps, per offsets
//! partition this broker leads, the groups and committed offsets replayed from that
//! partition (`load.rs`); runs the classic group state machine (`rebalance.rs`,
//! `membership.rs`); validates and stores offset commits (`commit.rs`) and transactional
//! offset commits, pending until their producer's marker (`txn_commit.rs`); and writes its
//! records (`records.rs`) through the broker's local, acks=all appends, answering only once
//! they are committed.
//!
//! Invariants: a group is served only while its offsets partition is loaded; every pending
//! write's token has the top bit set (so the broker hands back only the coordinator's
//! completions), and every pending write is answered exactly once (on completion, or with
//! NOT_COORDINATOR on unload).

mod commit;
mod group;
mod group_state;
#[cfg(test)]
mod leave_tests;
mod load;
mod membership;
mod offsets;
mod rebalance;
#[cfg(test)]
mod rebalance_tests;
pub mod records;
#[cfg(test)]
mod tests;
mod txn_commit;
#[cfg(test)]
mod txn_commit_tests;

pub use group::{ClassicGroup, Member};
pub use group_state::GroupState;

use crate::actor::Effect;
use crate::broker::BrokerTimer;
use crate::bugs::BugSwitches;
use crate::config::BrokerConfig;
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{BrokerId, GenerationId, GroupId, MemberId, NodeId, TransactionalId};
use crate::mark::Mark;
use crate::offsets_topic::group_partition;
use crate::partition::LocalWaiter;
use crate::protocol::{Assignment, Message, ProducerIdAndEpoch, TransactionVersion};
use crate::record::ProducerRecord;
use crate::timer::TimerTable;
use crate::topic::TopicPartition;
use group::Reply;
use offsets::OffsetStore;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The coordinator's named deadlines, inside the broker's timer table. Keys are handed out
/// by the coordinator (timer names must be `Copy`, group and member ids are strings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CoordinatorTimer {
    /// A member's (or a handed-out id's) session expires unless it heartbeats.
    Session(u64),
    /// A group's join phase ends: the rebalance timeout, or the initial rebalance delay.
    Join(u64),
}

impl fmt::Display for CoordinatorTimer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoordinatorTimer::Session(key) => write!(formatter, "group-session-{key}"),
            CoordinatorTimer::Join(key) => write!(formatter, "group-join-{key}"),
        }
    }
}

/// What the coordinator may use of its broker while it acts.
pub struct CoordinatorContext<'a> {
    pub now_ms: u64,
    pub broker: BrokerId,
    /// The broker process's incarnation, part of every member id it hands out.
    pub incarnation: u64,
    pub config: &'a BrokerConfig,
    pub bugs: BugSwitches,
    pub timers: &'a mut TimerTable<BrokerTimer>,
    pub effects: &'a mut Vec<Effect>,
}

impl CoordinatorContext<'_> {
    fn send(&mut self, reply: Reply, message: Message) {
        self.effects.push(Effect::Send {
            to: reply.to,
            message,
        });
    }

    fn event(&mut self, event: Event) {
        self.effects.push(Effect::Event(event));
    }

    fn mark(&mut self, mark: Mark) {
        self.effects.push(Effect::Mark(mark));
    }

    fn set_timer(&mut self, timer: CoordinatorTimer, at_ms: u64) {
        self.timers.set(BrokerTimer::Coordinator(timer), at_ms);
    }

    fn cancel_timer(&mut self, timer: CoordinatorTimer) {
        self.timers.cancel(BrokerTimer::Coordinator(timer));
    }

    /// The offsets partition of `group`.
    fn partition_of(&self, group: &GroupId) -> TopicPartition {
        group_partition(group, self.config.offsets_topic_num_partitions)
    }
}

/// An append the coordinator asks its broker to make to an offsets partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoordinatorAppend {
    pub partition: TopicPartition,
    pub waiter: LocalWaiter,
    pub records: Vec<ProducerRecord>,
    /// A TxnOffsetCommit's append: the transaction it belongs to, which the broker
    /// verifies with the transaction coordinator first (KIP-890).
    pub transaction: Option<AppendTransaction>,
}

/// The transaction a coordinator's transactional append belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendTransaction {
    pub transactional_id: TransactionalId,
    pub producer: ProducerIdAndEpoch,
    pub transaction_version: TransactionVersion,
}

impl CoordinatorAppend {
    /// Whether the records are one transactional batch of the producer that stamped them (a
    /// TxnOffsetCommit's offsets, appended with origin coordinator): a coordinator stamps
    /// no other record.
    pub fn is_transactional(&self) -> bool {
        self.records
            .first()
            .is_some_and(|record| record.producer_stamp.is_some())
    }
}

/// The tokens of the coordinator's local appends have this bit set.
const COORDINATOR_TOKEN_BIT: u64 = 1 << 63;

/// A write waiting for its append to be committed, with what to do then.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PendingWrite {
    OffsetCommit {
        reply: Reply,
        commit: commit::ValidatedCommit,
    },
    /// The leader's assignment for `generation`.
    SyncAssignment {
        group: GroupId,
        generation: GenerationId,
        assignments: BTreeMap<MemberId, Assignment>,
    },
    /// A static member's rejoin that replaced its earlier member id without a rebalance
    /// (KIP-345), with what a failed write undoes.
    StaticRejoin(rebalance::StaticRejoin),
    /// A group's metadata with nothing waiting on it (an empty group's new generation).
    GroupMetadata,
    /// A TxnOffsetCommit's offsets: pending for the producer once committed.
    TxnOffsetCommit {
        reply: Reply,
        commit: txn_commit::ValidatedTxnCommit,
    },
}

/// One loaded offsets partition: its groups and their committed offsets.
#[derive(Clone, Debug, Default)]
pub struct LoadedPartition {
    pub groups: BTreeMap<GroupId, ClassicGroup>,
    offsets: OffsetStore,
}

impl LoadedPartition {
    /// Every group the partition holds, with members or only with offsets, in id order.
    fn group_ids(&self) -> Vec<GroupId> {
        let groups: BTreeSet<&GroupId> = self.groups.keys().chain(self.offsets.groups()).collect();
        groups.into_iter().cloned().collect()
    }
}

/// Counters and outboxes the handlers share while a group is borrowed.
#[derive(Debug, Default)]
struct Shared {
    next_key: u64,
    next_member: u64,
    next_token: u64,
    appends: Vec<CoordinatorAppend>,
    pending_writes: BTreeMap<u64, (TopicPartition, PendingWrite)>,
}

impl Shared {
    fn key(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key
    }

    /// A fresh member id: the client, the coordinator broker, its process incarnation and a
    /// counter (Kafka: the client id and a random UUID).
    fn member_id(&mut self, context: &CoordinatorContext<'_>, client: NodeId) -> MemberId {
        self.next_member += 1;
        MemberId(format!(
            "{client}-{}-i{}-{}",
            context.broker, context.incarnation, self.next_member
        ))
    }

    /// Asks the broker to append `records` to `partition`; `write` runs when it ends.
    /// Records stamped by a producer are appended as its transactional batch.
    fn write(
        &mut self,
        partition: TopicPartition,
        records: Vec<ProducerRecord>,
        write: PendingWrite,
    ) {
        self.write_in(partition, records, write, None);
    }

    /// As [`Shared::write`], for the records of `transaction`.
    fn write_in(
        &mut self,
        partition: TopicPartition,
        records: Vec<ProducerRecord>,
        write: PendingWrite,
        transaction: Option<AppendTransaction>,
    ) {
        self.next_token += 1;
        let token = COORDINATOR_TOKEN_BIT | self.next_token;
        self.pending_writes.insert(token, (partition, write));
        self.appends.push(CoordinatorAppend {
            partition,
            waiter: LocalWaiter { token },
            records,
            transaction,
        });
    }
}

/// The group coordinator of one broker.
#[derive(Debug, Default)]
pub struct GroupCoordinator {
    partitions: BTreeMap<TopicPartition, LoadedPartition>,
    shared: Shared,
}

impl GroupCoordinator {
    /// Whether a local append's waiter is the coordinator's.
    pub fn owns(waiter: LocalWaiter) -> bool {
        waiter.token & COORDINATOR_TOKEN_BIT != 0
    }

    /// The appends asked for since the last call, for the broker to make.
    pub fn take_appends(&mut self) -> Vec<CoordinatorAppend> {
        std::mem::take(&mut self.shared.appends)
    }

    /// The offsets partitions loaded here.
    pub fn loaded_partitions(&self) -> Vec<TopicPartition> {
        self.partitions.keys().copied().collect()
    }

    /// A loaded group, for tests and tools.
    pub fn group(&self, partition: TopicPartition, group: &GroupId) -> Option<&ClassicGroup> {
        self.partitions.get(&partition)?.groups.get(group)
    }

    /// A group request from a client.
    pub fn handle_request(
        &mut self,
        context: &mut CoordinatorContext<'_>,
        from: NodeId,
        message: Message,
    ) {
        match message {
            Message::JoinGroup(request) => self.handle_join_group(context, from, &request),
            Message::SyncGroup(request) => self.handle_sync_group(context, from, &request),
            Message::Heartbeat(request) => self.handle_heartbeat(context, from, &request),
            Message::LeaveGroup(request) => self.handle_leave_group(context, from, &request),
            Message::OffsetCommit(request) => self.handle_offset_commit(context, from, &request),
            Message::OffsetFetch(request) => self.handle_offset_fetch(context, from, &request),
            Message::TxnOffsetCommit(request) => {
                self.handle_txn_offset_commit(context, from, &request)
            }
            _ => {}
        }
    }

    /// The loaded partition and group state for `group`, or NOT_COORDINATOR (with its mark)
    /// when this broker does not serve the group's offsets partition.
    fn serving(
        &mut self,
        context: &mut CoordinatorContext<'_>,
        group: &GroupId,
    ) -> Result<(&mut LoadedPartition, &mut Shared), ErrorCode> {
        let partition = context.partition_of(group);
        match self.partitions.get_mut(&partition) {
            Some(loaded) => Ok((loaded, &mut self.shared)),
            None => {
                context.mark(Mark::CoordinatorAnsweredNotCoordinator);
                Err(ErrorCode::NotCoordinator)
            }
        }
    }
}

/// How a failed append of group metadata or offsets reaches the client (Kafka's
/// `CoordinatorOperationExceptionHelper.handleOperationException`, which
/// `GroupCoordinatorService` applies to every write).
pub fn normalize_append_error(error: ErrorCode) -> ErrorCode {
    match error {
        ErrorCode::NotEnoughReplicas | ErrorCode::RequestTimedOut => {
            ErrorCode::CoordinatorNotAvailable
        }
        ErrorCode::NotLeaderOrFollower => ErrorCode::NotCoordinator,
        other => other,
    }
}
