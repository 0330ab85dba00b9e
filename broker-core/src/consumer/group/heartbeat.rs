//! Kafka's heartbeat thread (`AbstractCoordinator.HeartbeatThread` and `Heartbeat`): while
//! the member is in a generation (CompletingRebalance or Stable) it heartbeats every
//! `heartbeat_interval_ms` whatever the application does; it presumes the coordinator gone
//! after `session_timeout_ms` without a successful heartbeat; and it leaves the group when
//! the application has not polled for `max_poll_interval_ms`. The checks run in Kafka's
//! order: session timeout, poll timeout, heartbeat.

use super::{GroupRequestKind, GroupTimer, MemberState};
use crate::actor::Effect;
use crate::consumer::Consumer;
use crate::error::ErrorCode;
use crate::ids::NodeId;
use crate::mark::Mark;
use crate::protocol::{
    HeartbeatRequest, HeartbeatResponse, LeaveGroupRequest, LeavingMember, Message,
};

/// KIP-800's reason, as Kafka words it.
const POLL_TIMEOUT_REASON: &str = "consumer poll timeout has expired.";

impl Consumer {
    /// The heartbeat thread's pass over its due timers.
    pub(in crate::consumer) fn run_heartbeat_thread(
        &mut self,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) {
        if self.group_timer_due(GroupTimer::SessionTimeout, now_ms) {
            return self.mark_coordinator_unknown(now_ms, ErrorCode::ClientTimeout, effects);
        }
        if self.group_timer_due(GroupTimer::PollTimeout, now_ms) {
            return self.leave_on_poll_timeout(now_ms, effects);
        }
        if self.group_timer_due(GroupTimer::Heartbeat, now_ms) {
            self.send_heartbeat(now_ms, effects);
        }
    }

    fn send_heartbeat(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        let correlation = self.next_correlation_id();
        let (interval_ms, timeout_ms) = (
            self.config.heartbeat_interval_ms,
            self.config.request_timeout_ms,
        );
        let instance = self.config.group_instance_id.clone();
        let Some(group) = self.group.as_mut() else {
            return;
        };
        let Some(coordinator) = group.coordinator else {
            return;
        };
        group.heartbeat_at_ms = now_ms.saturating_add(interval_ms.max(1));
        let request = HeartbeatRequest {
            correlation,
            group: group.group.clone(),
            generation: group.generation,
            member_id: group.member_id.clone(),
            group_instance_id: instance,
        };
        let kind = GroupRequestKind::Heartbeat(group.generation, group.member_id.clone());
        self.track_group_request(now_ms, correlation, coordinator, kind, timeout_ms);
        effects.push(Effect::Send {
            to: NodeId::Broker(coordinator),
            message: Message::Heartbeat(request),
        });
    }

    /// Kafka's `HeartbeatResponseHandler` and the thread's listener.
    pub(in crate::consumer) fn on_heartbeat_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        response: &HeartbeatResponse,
        effects: &mut Vec<Effect>,
    ) {
        let taken = self.take_group_request(from, response.correlation, |kind| {
            matches!(kind, GroupRequestKind::Heartbeat(..))
        });
        let Some(GroupRequestKind::Heartbeat(sent_generation, sent_member)) = taken else {
            return;
        };
        let session_deadline_ms = now_ms.saturating_add(self.config.session_timeout_ms);
        let backoff_until_ms = now_ms.saturating_add(self.config.retry_backoff_ms);
        let Some(group) = self.group.as_mut() else {
            return;
        };
        let unchanged = group.generation == sent_generation && group.member_id == sent_member;
        match response.error {
            None => group.session_deadline_ms = session_deadline_ms,
            Some(ErrorCode::RebalanceInProgress) => {
                // Heartbeating through a rebalance keeps the member in the group.
                group.session_deadline_ms = session_deadline_ms;
                if group.state == MemberState::Stable {
                    group.rejoin_needed = true;
                    group.rejoin_reason = "group is already rebalancing".to_string();
                }
            }
            Some(error @ (ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable)) => {
                self.mark_coordinator_unknown(now_ms, error, effects);
            }
            Some(
                error @ (ErrorCode::IllegalGeneration
                | ErrorCode::UnknownMemberId
                | ErrorCode::FencedInstanceId),
            ) => {
                if unchanged {
                    self.reset_generation(error != ErrorCode::IllegalGeneration, "heartbeat error");
                }
            }
            Some(_) => group.heartbeat_at_ms = backoff_until_ms,
        }
    }

    /// Kafka's `maybeLeaveGroup("consumer poll timeout has expired.")`: a dynamic member
    /// sends LeaveGroup (once, without retries); a static one does not (KIP-345: its
    /// session timeout decides). Either way it leaves its generation and member id; the
    /// next poll rejoins and finds its partitions lost.
    fn leave_on_poll_timeout(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        effects.push(Effect::Mark(Mark::ConsumerPollTimeoutLeftGroup));
        let dynamic = self.config.group_instance_id.is_none();
        let timeout_ms = self.config.request_timeout_ms;
        let correlation = self.next_correlation_id();
        if let Some(group) = self.group.as_ref() {
            if let (true, Some(coordinator), false) =
                (dynamic, group.coordinator, group.member_id.is_unknown())
            {
                let request = LeaveGroupRequest {
                    correlation,
                    group: group.group.clone(),
                    members: vec![LeavingMember {
                        member_id: group.member_id.clone(),
                        group_instance_id: None,
                        reason: POLL_TIMEOUT_REASON.to_string(),
                    }],
                };
                self.track_group_request(
                    now_ms,
                    correlation,
                    coordinator,
                    GroupRequestKind::Leave,
                    timeout_ms,
                );
                effects.push(Effect::Send {
                    to: NodeId::Broker(coordinator),
                    message: Message::LeaveGroup(request),
                });
            }
        }
        self.reset_generation(true, POLL_TIMEOUT_REASON);
        if let Some(group) = self.group.as_mut() {
            group.joining = false;
        }
    }

    /// The LeaveGroup's answer changes nothing: the member already left.
    pub(in crate::consumer) fn on_leave_response(
        &mut self,
        from: NodeId,
        correlation: crate::ids::CorrelationId,
    ) {
        self.take_group_request(from, correlation, |kind| *kind == GroupRequestKind::Leave);
    }
}
