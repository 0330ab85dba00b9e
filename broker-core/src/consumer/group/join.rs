//! Joining the group (Kafka's `AbstractCoordinator.joinGroupIfNeeded` and
//! `ConsumerCoordinator.onJoinPrepare` / `onLeaderElected` / `onJoinComplete`): a poll
//! starts a rejoin when one is needed; onJoinPrepare auto-commits (waiting for it, at most
//! the rebalance timeout) and revokes (eager: everything; lost when the generation was
//! reset); JoinGroup (again with the handed-out id after MEMBER_ID_REQUIRED); the leader
//! assigns; SyncGroup; the assignment is applied (cooperative: revoke only what moved, then
//! rejoin). Once a poll started it, the rejoin proceeds on answers without waiting for
//! another poll, as Kafka's poll blocks on it.

use super::{GroupRequestKind, GroupTimer, MemberState};
use crate::actor::Effect;
use crate::config::Assignor;
use crate::consumer::assignor;
use crate::consumer::fetcher::AssignedPartition;
use crate::consumer::{CommitKind, Consumer};
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{GenerationId, MemberId, NodeId};
use crate::mark::Mark;
use crate::protocol::{
    Assignment, ConsumerGroupMetadata, JoinGroupProtocol, JoinGroupRequest, JoinGroupResponse,
    Message, Subscription, SyncGroupRequest, SyncGroupResponse,
};
use crate::topic::{TopicName, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

const PROTOCOL_TYPE: &str = "consumer";

impl Consumer {
    /// The poll's part of joining (Kafka's `ensureActiveGroup`): start the rejoin if one is
    /// needed, and run onJoinPrepare.
    pub(in crate::consumer) fn ensure_active_group(
        &mut self,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) {
        self.rejoin_if_assignment_metadata_changed(effects);
        let Some(group) = self.group.as_mut() else {
            return;
        };
        if group.failed.is_some() || !group.rejoin_needed || group.joining {
            return;
        }
        group.joining = true;
        self.maybe_prepare_join(now_ms, effects);
    }

    /// The leader's watch over the metadata it assigned with (Kafka's
    /// `ConsumerCoordinator.rejoinNeededOrPending`): when a subscribed topic's partition
    /// count differs from the one it assigned with (it saw none, or the topic grew), it asks
    /// the group to rebalance, so partitions it could not see get an owner.
    fn rejoin_if_assignment_metadata_changed(&mut self, effects: &mut Vec<Effect>) {
        let Some(group) = self.group.as_mut() else {
            return;
        };
        let Some(snapshot) = &group.assignment_snapshot else {
            return;
        };
        let changed = snapshot
            .iter()
            .any(|(topic, count)| self.metadata.partition_count(*topic) != *count);
        if changed && !group.rejoin_needed {
            group.rejoin_needed = true;
            group.rejoin_reason = "cached metadata has changed".to_string();
            effects.push(Effect::Mark(Mark::ConsumerAssignmentMetadataChanged));
        }
    }

    /// onJoinPrepare: with auto-commit on and a generation to commit in, commit the
    /// positions first and wait for the outcome (the commit's deadline is the rebalance
    /// timeout, as Kafka's `joinPrepareTimer`); then revoke.
    pub(in crate::consumer) fn maybe_prepare_join(
        &mut self,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) {
        let Some(group) = self.group.as_ref() else {
            return;
        };
        if !group.joining || !group.needs_join_prepare || group.prepare_commit.is_some() {
            return;
        }
        let commit_first = self.config.enable_auto_commit
            && group.state == MemberState::Stable
            && !self.consumed_positions().is_empty();
        if commit_first {
            let deadline_ms = now_ms.saturating_add(self.config.max_poll_interval_ms);
            let id = self.start_commit(now_ms, None, CommitKind::Sync, true, deadline_ms, effects);
            effects.push(Effect::Mark(Mark::ConsumerAutoCommitBeforeRebalance));
            if let Some(group) = self.group.as_mut() {
                if group.commits.contains_key(&id) {
                    group.prepare_commit = Some(id);
                    return;
                }
            }
        }
        self.finish_join_prepare(effects);
    }

    /// The revocation half of onJoinPrepare.
    pub(in crate::consumer) fn finish_join_prepare(&mut self, effects: &mut Vec<Effect>) {
        let Some(group) = self.group.as_mut() else {
            return;
        };
        group.needs_join_prepare = false;
        group.prepare_commit = None;
        let lost = group.generation == GenerationId::NONE || group.member_id.is_unknown();
        if !lost && group.cooperative {
            // The subscription is fixed, so no owned partition left it: nothing to revoke.
            return;
        }
        let owned: Vec<TopicPartition> = self.partitions.keys().copied().collect();
        if owned.is_empty() {
            return;
        }
        let group_id = group.group.clone();
        if !lost {
            effects.push(Effect::Mark(Mark::ConsumerEagerRevocation));
        }
        for partition in &owned {
            self.drop_partition(*partition);
        }
        effects.push(Effect::Event(Event::PartitionsRevoked {
            group: group_id,
            partitions: owned,
            lost,
        }));
    }

    /// Sends the JoinGroup when its timer is due.
    pub(in crate::consumer) fn maybe_send_join(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        if !self.group_timer_due(GroupTimer::Join, now_ms) || !self.metadata.has_image() {
            return;
        }
        let owned: Vec<TopicPartition> = self.partitions.keys().copied().collect();
        let timeout_ms = self.join_request_timeout_ms();
        let correlation = self.next_correlation_id();
        let Some(group) = self.group.as_mut() else {
            return;
        };
        let Some(coordinator) = group.coordinator else {
            return;
        };
        let subscription = Subscription {
            topics: group.topics.clone(),
            owned_partitions: owned,
            generation: group.generation,
        };
        let protocols = self
            .config
            .partition_assignment_strategy
            .iter()
            .map(|assignor| JoinGroupProtocol {
                name: assignor.protocol_name().to_string(),
                metadata: subscription.clone(),
            })
            .collect();
        let request = JoinGroupRequest {
            correlation,
            group: group.group.clone(),
            session_timeout_ms: self.config.session_timeout_ms,
            rebalance_timeout_ms: self.config.max_poll_interval_ms,
            member_id: group.member_id.clone(),
            group_instance_id: self.config.group_instance_id.clone(),
            protocol_type: PROTOCOL_TYPE.to_string(),
            protocols,
            reason: group.rejoin_reason.clone(),
        };
        group.state = MemberState::PreparingRebalance;
        self.track_group_request(
            now_ms,
            correlation,
            coordinator,
            GroupRequestKind::Join,
            timeout_ms,
        );
        effects.push(Effect::Send {
            to: NodeId::Broker(coordinator),
            message: Message::JoinGroup(request),
        });
    }

    pub(in crate::consumer) fn on_join_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        response: &JoinGroupResponse,
        effects: &mut Vec<Effect>,
    ) {
        let taken = self.take_group_request(from, response.correlation, |kind| {
            *kind == GroupRequestKind::Join
        });
        let preparing = self
            .group_ref()
            .is_some_and(|group| group.state == MemberState::PreparingRebalance);
        if taken.is_none() || !preparing {
            return;
        }
        match response.error {
            None => self.on_joined(now_ms, response, effects),
            Some(error) => self.on_join_error(now_ms, error, &response.member_id, effects),
        }
    }

    /// Kafka's `JoinGroupResponseHandler` errors.
    fn on_join_error(
        &mut self,
        now_ms: u64,
        error: ErrorCode,
        handed_out: &MemberId,
        effects: &mut Vec<Effect>,
    ) {
        let backoff_until_ms = now_ms.saturating_add(self.config.retry_backoff_ms);
        let Some(group) = self.group.as_mut() else {
            return;
        };
        group.state = MemberState::Unjoined;
        group.join_at_ms = now_ms;
        match error {
            ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable => {
                self.mark_coordinator_unknown(now_ms, error, effects);
            }
            ErrorCode::FencedInstanceId
            | ErrorCode::InvalidSessionTimeout
            | ErrorCode::InconsistentGroupProtocol => self.fail_group(error),
            ErrorCode::MemberIdRequired => group.member_id = handed_out.clone(),
            ErrorCode::UnknownMemberId => {
                group.member_id = MemberId::unknown();
                group.generation = GenerationId::NONE;
            }
            ErrorCode::IllegalGeneration => group.generation = GenerationId::NONE,
            ErrorCode::RebalanceInProgress => {}
            _ => group.join_at_ms = backoff_until_ms,
        }
    }

    /// A fatal group error (Kafka throws it from poll): the member stops.
    pub(in crate::consumer) fn fail_group(&mut self, error: ErrorCode) {
        if let Some(group) = self.group.as_mut() {
            group.failed = Some(error);
            group.state = MemberState::Unjoined;
            group.joining = false;
        }
    }

    /// JoinGroup succeeded: the heartbeat thread starts (its timeouts reset), the leader
    /// assigns, and SyncGroup goes.
    fn on_joined(&mut self, now_ms: u64, response: &JoinGroupResponse, effects: &mut Vec<Effect>) {
        let Some(protocol) = response
            .protocol_name
            .as_deref()
            .and_then(Assignor::from_protocol_name)
        else {
            return self.fail_group(ErrorCode::InconsistentGroupProtocol);
        };
        let leads = response.leader == response.member_id && !response.skip_assignment;
        let (assignments, snapshot) = if leads {
            let (assignments, counts) = self.leader_assignments(protocol, response);
            (assignments, Some(counts))
        } else {
            (Vec::new(), None)
        };
        let config = self.config.clone();
        let correlation = self.next_correlation_id();
        let Some(group) = self.group.as_mut() else {
            return;
        };
        let Some(coordinator) = group.coordinator else {
            return;
        };
        group.generation = response.generation;
        group.member_id = response.member_id.clone();
        group.protocol = Some(protocol);
        group.assignment_snapshot = snapshot;
        group.state = MemberState::CompletingRebalance;
        group.heartbeat_at_ms = now_ms.saturating_add(config.heartbeat_interval_ms);
        group.session_deadline_ms = now_ms.saturating_add(config.session_timeout_ms);
        group.poll_deadline_ms = now_ms.saturating_add(config.max_poll_interval_ms);
        let request = SyncGroupRequest {
            correlation,
            group: group.group.clone(),
            generation: response.generation,
            member_id: response.member_id.clone(),
            group_instance_id: config.group_instance_id.clone(),
            protocol_type: PROTOCOL_TYPE.to_string(),
            protocol_name: protocol.protocol_name().to_string(),
            assignments,
        };
        self.track_group_request(
            now_ms,
            correlation,
            coordinator,
            GroupRequestKind::Sync,
            config.request_timeout_ms,
        );
        effects.push(Effect::Send {
            to: NodeId::Broker(coordinator),
            message: Message::SyncGroup(request),
        });
    }

    /// The leader runs the group's assignor over every member's subscription and the
    /// subscribed topics' partition counts from its metadata.
    /// Returns the assignments and the partition counts they were computed from.
    fn leader_assignments(
        &self,
        protocol: Assignor,
        response: &JoinGroupResponse,
    ) -> (Vec<(MemberId, Assignment)>, BTreeMap<TopicName, u32>) {
        let topics: BTreeSet<TopicName> = response
            .members
            .iter()
            .flat_map(|member| member.metadata.topics.iter().copied())
            .collect();
        let counts: BTreeMap<TopicName, u32> = topics
            .into_iter()
            .map(|topic| (topic, self.metadata.partition_count(topic)))
            .collect();
        let assignments = assignor::assign(protocol, &response.members, &counts)
            .into_iter()
            .map(|(member, partitions)| (member, Assignment { partitions }))
            .collect();
        (assignments, counts)
    }

    pub(in crate::consumer) fn on_sync_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        response: &SyncGroupResponse,
        effects: &mut Vec<Effect>,
    ) {
        let taken = self.take_group_request(from, response.correlation, |kind| {
            *kind == GroupRequestKind::Sync
        });
        let completing = self
            .group_ref()
            .is_some_and(|group| group.state == MemberState::CompletingRebalance);
        if taken.is_none() || !completing {
            return;
        }
        let Some(error) = response.error else {
            return self.on_join_complete(&response.assignment.partitions, effects);
        };
        let backoff_until_ms = now_ms.saturating_add(self.config.retry_backoff_ms);
        let Some(group) = self.group.as_mut() else {
            return;
        };
        group.state = MemberState::Unjoined;
        group.rejoin_needed = true;
        group.join_at_ms = now_ms;
        if !matches!(
            error,
            ErrorCode::RebalanceInProgress
                | ErrorCode::UnknownMemberId
                | ErrorCode::IllegalGeneration
                | ErrorCode::NotCoordinator
                | ErrorCode::CoordinatorNotAvailable
                | ErrorCode::FencedInstanceId
        ) {
            group.join_at_ms = backoff_until_ms;
        }
        match error {
            ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration => {
                self.reset_generation(error == ErrorCode::UnknownMemberId, "sync-group error");
            }
            ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable => {
                self.mark_coordinator_unknown(now_ms, error, effects);
            }
            ErrorCode::FencedInstanceId => self.fail_group(error),
            _ => {}
        }
    }

    /// Kafka's `resetStateAndRejoin`: out of the generation (keeping the member id for
    /// ILLEGAL_GENERATION, which does not mean the member is gone); the next onJoinPrepare
    /// finds the owned partitions lost.
    pub(in crate::consumer) fn reset_generation(&mut self, reset_member_id: bool, reason: &str) {
        let Some(group) = self.group.as_mut() else {
            return;
        };
        group.state = MemberState::Unjoined;
        group.generation = GenerationId::NONE;
        if reset_member_id {
            group.member_id = MemberId::unknown();
        }
        group.rejoin_needed = true;
        group.rejoin_reason = reason.to_string();
        group.needs_join_prepare = true;
    }

    /// onJoinComplete: the new assignment. Cooperative: owned partitions not in it are
    /// revoked now, and another rejoin follows so the group can hand them out.
    fn on_join_complete(&mut self, assigned: &[TopicPartition], effects: &mut Vec<Effect>) {
        let assigned: BTreeSet<TopicPartition> = assigned.iter().copied().collect();
        let owned: BTreeSet<TopicPartition> = self.partitions.keys().copied().collect();
        let Some(group) = self.group.as_mut() else {
            return;
        };
        let group_id = group.group.clone();
        group.joined_metadata = Some(ConsumerGroupMetadata {
            group: group_id.clone(),
            generation: group.generation,
            member: group.member_id.clone(),
            group_instance_id: self.config.group_instance_id.clone(),
        });
        group.state = MemberState::Stable;
        group.joining = false;
        group.rejoin_needed = false;
        group.needs_join_prepare = true;
        let revoked: Vec<TopicPartition> = owned.difference(&assigned).copied().collect();
        if !revoked.is_empty() {
            group.rejoin_needed = true;
            group.rejoin_reason = "need to revoke partitions and re-join".to_string();
        }
        if group.cooperative && owned.intersection(&assigned).next().is_some() {
            effects.push(Effect::Mark(Mark::ConsumerCooperativeKeptPartitions));
        }
        let (generation, member) = (group.generation, group.member_id.clone());
        let added: Vec<TopicPartition> = assigned.difference(&owned).copied().collect();
        group.awaiting_committed.extend(added.iter().copied());
        if !revoked.is_empty() {
            for partition in &revoked {
                self.drop_partition(*partition);
            }
            effects.push(Effect::Event(Event::PartitionsRevoked {
                group: group_id.clone(),
                partitions: revoked,
                lost: false,
            }));
        }
        for partition in &added {
            self.partitions
                .insert(*partition, AssignedPartition::awaiting_committed());
        }
        effects.push(Effect::Mark(Mark::ConsumerJoinedGroup));
        effects.push(Effect::Event(Event::PartitionsAssigned {
            group: group_id,
            generation,
            member,
            added,
            assignment: assigned.into_iter().collect(),
        }));
    }
}
