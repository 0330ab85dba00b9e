//! The consumer in subscribe mode: membership of a consumer group through Kafka's classic
//! protocol (`ConsumerCoordinator` over `AbstractCoordinator`, with its heartbeat thread),
//! as part of the consumer's state machine.
//!
//! - `discovery.rs`: FindCoordinator, and losing the coordinator (errors, disconnects,
//!   request timeouts, the client-side session timeout);
//! - `join.rs`: onJoinPrepare (auto-commit, revocation), JoinGroup, the leader's assignment,
//!   SyncGroup, onJoinComplete;
//! - `heartbeat.rs`: the heartbeat thread's timers: heartbeats, session and poll timeouts
//!   (leaving the group);
//! - `commit.rs`: OffsetCommit (application and auto-commit) and its retries;
//! - `positions.rs`: OffsetFetch for newly assigned partitions, and what `poll` returns.
//!
//! The member's state is the truth; its deadlines live in the consumer's timer table as
//! [`GroupTimer`]s that [`Consumer::sync_group_timers`] derives from the state after every
//! input, so the table holds exactly the timers the state calls for (checked by
//! [`Consumer::check_group_timers`]). Auto-commit has no timer: Kafka checks its interval
//! only inside `poll`, so nothing is due between polls.
//!
//! Kafka's coordinator connection is separate from the fetch connections (node id
//! `Integer.MAX_VALUE - id`): a group request that times out fails the group's requests to
//! that broker and makes the coordinator unknown, without touching fetches.

mod commit;
mod discovery;
#[cfg(test)]
mod error_tests;
mod heartbeat;
mod join;
#[cfg(test)]
mod metadata_tests;
mod positions;
mod rewind;
#[cfg(test)]
mod stable_offsets_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use super::{CommitKind, Consumer, ConsumerTimer};
use crate::config::{Assignor, ConsumerConfig};
use crate::error::ErrorCode;
use crate::event::CommitId;
use crate::ids::{BrokerId, CorrelationId, GenerationId, GroupId, MemberId};
use crate::protocol::{ConsumerGroupMetadata, OffsetAndMetadata};
use crate::topic::{TopicName, TopicPartition};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Kafka's `JOIN_GROUP_TIMEOUT_LAPSE`: a JoinGroup may wait the whole rebalance timeout at
/// the coordinator, so its request timeout is that plus this margin.
const JOIN_GROUP_TIMEOUT_LAPSE_MS: u64 = 5_000;

/// The group member's named deadlines, each set exactly while the state calls for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GroupTimer {
    /// The next FindCoordinator may go: the coordinator is unknown and no lookup is in
    /// flight.
    FindCoordinator,
    /// The JoinGroup may go: a rejoin is under way, prepared, with a known coordinator.
    Join,
    /// The next heartbeat is due (while in a generation: CompletingRebalance or Stable).
    Heartbeat,
    /// No successful heartbeat for `session_timeout_ms` (Kafka's
    /// `Heartbeat.sessionTimeoutExpired`): the coordinator is presumed gone.
    SessionTimeout,
    /// No poll for `max_poll_interval_ms`: the member leaves the group.
    PollTimeout,
    /// The OffsetFetch for newly assigned partitions may go (again).
    OffsetFetch,
    /// A synchronous commit's next attempt may go.
    CommitRetry(CommitId),
    /// A synchronous commit gives up (`default_api_timeout_ms`, or the rebalance timeout
    /// for the auto-commit before a rebalance).
    CommitDeadline(CommitId),
}

impl fmt::Display for GroupTimer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupTimer::FindCoordinator => formatter.write_str("find-coordinator"),
            GroupTimer::Join => formatter.write_str("join-group"),
            GroupTimer::Heartbeat => formatter.write_str("heartbeat"),
            GroupTimer::SessionTimeout => formatter.write_str("session-timeout"),
            GroupTimer::PollTimeout => formatter.write_str("poll-timeout"),
            GroupTimer::OffsetFetch => formatter.write_str("offset-fetch"),
            GroupTimer::CommitRetry(commit) => write!(formatter, "commit-retry-{}", commit.0),
            GroupTimer::CommitDeadline(commit) => {
                write!(formatter, "commit-deadline-{}", commit.0)
            }
        }
    }
}

impl From<GroupTimer> for ConsumerTimer {
    fn from(timer: GroupTimer) -> Self {
        ConsumerTimer::Group(timer)
    }
}

/// Kafka's `AbstractCoordinator.MemberState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MemberState {
    /// Not in a generation (new, reset, or left).
    Unjoined,
    /// JoinGroup sent.
    PreparingRebalance,
    /// SyncGroup sent.
    CompletingRebalance,
    /// In a generation with an assignment.
    Stable,
}

/// A group request in flight, with what its answer is checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum GroupRequestKind {
    FindCoordinator,
    Join,
    Sync,
    /// The generation and member id it was sent with (Kafka's `generationUnchanged`).
    Heartbeat(GenerationId, MemberId),
    Leave,
    Commit(CommitId),
    OffsetFetch,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct GroupRequest {
    pub(super) broker: BrokerId,
    pub(super) kind: GroupRequestKind,
}

/// A commit not finished yet.
#[derive(Clone, Debug)]
pub(super) struct PendingCommit {
    pub(super) offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
    pub(super) kind: CommitKind,
    pub(super) automatic: bool,
    /// Sync only: when it gives up.
    pub(super) deadline_ms: Option<u64>,
    /// The next attempt may go then (once the coordinator is known).
    pub(super) retry_at_ms: u64,
    pub(super) in_flight: Option<CorrelationId>,
    /// `OffsetCommitStarted` was emitted (at the first send).
    pub(super) started: bool,
}

/// The consumer's membership of its group.
#[derive(Clone, Debug)]
pub(super) struct GroupMember {
    pub(super) group: GroupId,
    pub(super) topics: Vec<TopicName>,
    /// Where FindCoordinator goes, in turn (Kafka: the least loaded node).
    pub(super) bootstrap_brokers: Vec<BrokerId>,
    pub(super) next_bootstrap_index: usize,
    pub(super) coordinator: Option<BrokerId>,
    /// A coordinator was known before and lost: finding one is a rediscovery.
    pub(super) coordinator_lost: bool,
    /// When the next FindCoordinator may go, while the coordinator is unknown.
    pub(super) lookup_at_ms: u64,
    pub(super) state: MemberState,
    pub(super) generation: GenerationId,
    pub(super) member_id: MemberId,
    /// The assignor the group chose in the current generation.
    pub(super) protocol: Option<Assignor>,
    /// Whether every configured assignor is cooperative (Kafka's `RebalanceProtocol` is the
    /// highest one all assignors support).
    pub(super) cooperative: bool,
    pub(super) rejoin_needed: bool,
    pub(super) rejoin_reason: String,
    /// A poll started the rejoin; it proceeds until SyncGroup completes.
    pub(super) joining: bool,
    /// onJoinPrepare (auto-commit, revocation) is still to run before the JoinGroup.
    pub(super) needs_join_prepare: bool,
    /// The auto-commit onJoinPrepare waits for.
    pub(super) prepare_commit: Option<CommitId>,
    /// The JoinGroup may go then (backoff after an error).
    pub(super) join_at_ms: u64,
    pub(super) heartbeat_at_ms: u64,
    pub(super) session_deadline_ms: u64,
    pub(super) poll_deadline_ms: u64,
    pub(super) requests: BTreeMap<CorrelationId, GroupRequest>,
    pub(super) commits: BTreeMap<CommitId, PendingCommit>,
    pub(super) next_commit: u64,
    pub(super) next_auto_commit_ms: u64,
    /// Newly assigned partitions whose committed offset is to be fetched.
    pub(super) awaiting_committed: BTreeSet<TopicPartition>,
    pub(super) offset_fetch_at_ms: u64,
    /// A fatal error (Kafka throws it to the application): the member stops.
    pub(super) failed: Option<ErrorCode>,
    /// Whether the consumer has a metadata image (the leader needs partition counts before
    /// it can assign, so the JoinGroup waits for one). Mirrored before timers are derived.
    pub(super) has_metadata: bool,
    /// The partition counts this member assigned with when it led the last rebalance
    /// (Kafka's `assignmentSnapshot`): only the leader watches them, and asks for a
    /// rebalance when the metadata's counts differ.
    pub(super) assignment_snapshot: Option<BTreeMap<TopicName, u32>>,
    /// The generation and member id of the last completed join (Kafka's
    /// `ConsumerCoordinator.groupMetadata`, set in onJoinComplete and kept through later
    /// resets, so a producer committing with it after a reset is fenced by the coordinator).
    pub(super) joined_metadata: Option<ConsumerGroupMetadata>,
}

impl Consumer {
    /// The consumer's group membership for a transactional producer's TxnOffsetCommit
    /// (Kafka's `Consumer.groupMetadata()`): the group, the generation and member id of the
    /// last completed join, and the group instance id. `None` outside a group (assign
    /// mode) and before the first join completes.
    pub fn group_metadata(&self) -> Option<ConsumerGroupMetadata> {
        self.group.as_ref()?.joined_metadata.clone()
    }
}

impl GroupMember {
    pub(super) fn new(
        config: &ConsumerConfig,
        bootstrap_brokers: Vec<BrokerId>,
        topics: Vec<TopicName>,
    ) -> GroupMember {
        let cooperative = !config.partition_assignment_strategy.is_empty()
            && config
                .partition_assignment_strategy
                .iter()
                .all(|assignor| assignor.is_cooperative());
        GroupMember {
            group: GroupId(config.group_id.clone().unwrap_or_default()),
            topics,
            bootstrap_brokers,
            next_bootstrap_index: 0,
            coordinator: None,
            coordinator_lost: false,
            lookup_at_ms: 0,
            state: MemberState::Unjoined,
            generation: GenerationId::NONE,
            member_id: MemberId::unknown(),
            protocol: None,
            cooperative,
            rejoin_needed: true,
            rejoin_reason: String::new(),
            joining: false,
            needs_join_prepare: true,
            prepare_commit: None,
            join_at_ms: 0,
            heartbeat_at_ms: 0,
            session_deadline_ms: 0,
            poll_deadline_ms: config.max_poll_interval_ms,
            requests: BTreeMap::new(),
            commits: BTreeMap::new(),
            next_commit: 1,
            next_auto_commit_ms: config.auto_commit_interval_ms,
            awaiting_committed: BTreeSet::new(),
            offset_fetch_at_ms: 0,
            failed: None,
            has_metadata: false,
            assignment_snapshot: None,
            joined_metadata: None,
        }
    }

    /// Kafka's heartbeat thread runs in CompletingRebalance and Stable, with a coordinator.
    pub(super) fn heartbeating(&self) -> bool {
        self.coordinator.is_some()
            && matches!(
                self.state,
                MemberState::CompletingRebalance | MemberState::Stable
            )
    }

    fn request_in_flight(&self, kind: &GroupRequestKind) -> bool {
        self.requests.values().any(|request| request.kind == *kind)
    }

    /// Whether the JoinGroup can go once its backoff ends.
    fn join_sendable(&self) -> bool {
        self.joining
            && self.rejoin_needed
            && !self.needs_join_prepare
            && matches!(self.state, MemberState::Unjoined | MemberState::Stable)
            && self.coordinator.is_some()
            && self.has_metadata
            && !self.request_in_flight(&GroupRequestKind::Join)
    }

    /// The deadline the state calls for, for each group timer.
    pub(super) fn wanted_deadline_ms(&self, timer: GroupTimer) -> Option<u64> {
        if self.failed.is_some() {
            return None;
        }
        match timer {
            GroupTimer::FindCoordinator => (self.coordinator.is_none()
                && !self.bootstrap_brokers.is_empty()
                && !self.request_in_flight(&GroupRequestKind::FindCoordinator))
            .then_some(self.lookup_at_ms),
            GroupTimer::Join => self.join_sendable().then_some(self.join_at_ms),
            GroupTimer::Heartbeat => self.heartbeating().then_some(self.heartbeat_at_ms),
            GroupTimer::SessionTimeout => self.heartbeating().then_some(self.session_deadline_ms),
            GroupTimer::PollTimeout => self.heartbeating().then_some(self.poll_deadline_ms),
            GroupTimer::OffsetFetch => (!self.awaiting_committed.is_empty()
                && self.coordinator.is_some()
                && !self.request_in_flight(&GroupRequestKind::OffsetFetch))
            .then_some(self.offset_fetch_at_ms),
            GroupTimer::CommitRetry(id) => {
                let commit = self.commits.get(&id)?;
                (commit.in_flight.is_none() && self.coordinator.is_some())
                    .then_some(commit.retry_at_ms)
            }
            GroupTimer::CommitDeadline(id) => self.commits.get(&id)?.deadline_ms,
        }
    }

    /// Every group timer the state may call for.
    fn timer_names(&self) -> Vec<GroupTimer> {
        let mut names = vec![
            GroupTimer::FindCoordinator,
            GroupTimer::Join,
            GroupTimer::Heartbeat,
            GroupTimer::SessionTimeout,
            GroupTimer::PollTimeout,
            GroupTimer::OffsetFetch,
        ];
        for id in self.commits.keys() {
            names.push(GroupTimer::CommitRetry(*id));
            names.push(GroupTimer::CommitDeadline(*id));
        }
        names
    }

    pub(super) fn new_commit_id(&mut self) -> CommitId {
        let id = CommitId(self.next_commit);
        self.next_commit += 1;
        id
    }
}

impl Consumer {
    pub(super) fn group_ref(&self) -> Option<&GroupMember> {
        self.group.as_ref()
    }

    /// Registers a group request sent to `broker` with its request timeout.
    pub(super) fn track_group_request(
        &mut self,
        now_ms: u64,
        correlation: CorrelationId,
        broker: BrokerId,
        kind: GroupRequestKind,
        timeout_ms: u64,
    ) {
        self.timers.set(
            ConsumerTimer::RequestTimeout(correlation),
            now_ms.saturating_add(timeout_ms.max(1)),
        );
        if let Some(group) = self.group.as_mut() {
            group
                .requests
                .insert(correlation, GroupRequest { broker, kind });
        }
    }

    /// Takes the group request `correlation` if it is in flight to `from` with `kind`.
    pub(super) fn take_group_request(
        &mut self,
        from: crate::ids::NodeId,
        correlation: CorrelationId,
        matches: impl Fn(&GroupRequestKind) -> bool,
    ) -> Option<GroupRequestKind> {
        let group = self.group.as_mut()?;
        let request = group.requests.get(&correlation)?;
        if crate::ids::NodeId::Broker(request.broker) != from || !matches(&request.kind) {
            return None;
        }
        let request = group.requests.remove(&correlation)?;
        self.timers
            .cancel(ConsumerTimer::RequestTimeout(correlation));
        Some(request.kind)
    }

    pub(super) fn next_correlation_id(&mut self) -> CorrelationId {
        let correlation = CorrelationId(self.next_correlation);
        self.next_correlation += 1;
        correlation
    }

    pub(super) fn join_request_timeout_ms(&self) -> u64 {
        self.config.request_timeout_ms.max(
            self.config
                .max_poll_interval_ms
                .saturating_add(JOIN_GROUP_TIMEOUT_LAPSE_MS),
        )
    }

    /// Sets and cancels every group timer to match the state: the one place they change.
    pub(super) fn sync_group_timers(&mut self) {
        let has_metadata = self.metadata.has_image();
        let Some(group) = self.group.as_mut() else {
            return;
        };
        group.has_metadata = has_metadata;
        let group = &*group;
        let wanted: Vec<(GroupTimer, Option<u64>)> = group
            .timer_names()
            .into_iter()
            .map(|timer| (timer, group.wanted_deadline_ms(timer)))
            .collect();
        self.timers.cancel_where(|timer| match timer {
            ConsumerTimer::Group(GroupTimer::CommitRetry(id))
            | ConsumerTimer::Group(GroupTimer::CommitDeadline(id)) => {
                !group.commits.contains_key(id)
            }
            _ => false,
        });
        for (timer, deadline_ms) in wanted {
            match deadline_ms {
                Some(at_ms) => self.timers.set(timer.into(), at_ms),
                None => {
                    self.timers.cancel(timer.into());
                }
            }
        }
    }

    /// Whether the group timer is set (the table mirrors the state).
    pub(super) fn group_timer_due(&self, timer: GroupTimer, now_ms: u64) -> bool {
        self.timers.is_due(timer.into(), now_ms)
    }

    /// The group part of the consumer's invariants: the table holds exactly the group
    /// timers the state calls for, and every group request has a timeout.
    pub(super) fn check_group_timers(&self) {
        let group = self.group.as_ref();
        for (timer, at_ms) in self.timers.iter() {
            if let ConsumerTimer::Group(group_timer) = timer {
                let wanted = group.and_then(|group| group.wanted_deadline_ms(group_timer));
                assert_eq!(
                    wanted,
                    Some(at_ms),
                    "consumer {}: timer {timer} matches no state",
                    self.client
                );
            }
        }
        let Some(group) = group else {
            return;
        };
        for timer in group.timer_names() {
            assert_eq!(
                self.timers.deadline_ms(timer.into()),
                group.wanted_deadline_ms(timer),
                "consumer {}: timer {timer}",
                self.client
            );
        }
        for correlation in group.requests.keys() {
            assert!(
                self.timers
                    .deadline_ms(ConsumerTimer::RequestTimeout(*correlation))
                    .is_some(),
                "consumer {}: group request {correlation} has no timeout",
                self.client
            );
        }
    }
}
