//! SyncGroup, Heartbeat and LeaveGroup of the classic protocol (Kafka's
//! `GroupMetadataManager.classicGroupSync`, `classicGroupHeartbeat`, `classicGroupLeave`).
//! The leader's SyncGroup stores the assignment as a group metadata record; every member's
//! SyncGroup is answered once that record is committed, and the group becomes Stable.

use super::group::{ClassicGroup, Reply};
use super::rebalance::{
    maybe_prepare_rebalance_or_complete_join, prepare_rebalance, remove_member,
    reset_and_propagate_assignment_error, transition, validate_member,
};
use super::records::CoordinatorRecord;
use super::{
    normalize_append_error, CoordinatorContext, CoordinatorTimer, GroupCoordinator, GroupState,
    PendingWrite, Shared,
};
use crate::error::ErrorCode;
use crate::event::MemberRemovalReason;
use crate::ids::{GenerationId, MemberId, NodeId};
use crate::protocol::{
    Assignment, HeartbeatRequest, HeartbeatResponse, LeaveGroupRequest, LeaveGroupResponse,
    LeavingMember, Message, SyncGroupRequest, SyncGroupResponse,
};
use std::collections::BTreeMap;

/// Answers a SyncGroup.
pub(super) fn send_sync(
    context: &mut CoordinatorContext<'_>,
    reply: Reply,
    result: Result<Assignment, ErrorCode>,
) {
    let (error, assignment) = match result {
        Ok(assignment) => (None, assignment),
        Err(error) => (Some(error), Assignment::default()),
    };
    context.send(
        reply,
        Message::SyncGroupResponse(SyncGroupResponse {
            correlation: reply.correlation,
            error,
            assignment,
        }),
    );
}

/// Restarts a member's session timer: it showed it is alive.
fn reset_session(group: &ClassicGroup, context: &mut CoordinatorContext<'_>, member_id: &MemberId) {
    if let Some(member) = group.members.get(member_id) {
        let at_ms = context.now_ms + member.session_timeout_ms;
        context.set_timer(CoordinatorTimer::Session(member.session_key), at_ms);
    }
}

/// The checks Kafka's heartbeat and sync share: the group must be alive, the member known
/// (and its instance id its own), and the generation current.
fn validate_generation(
    group: &ClassicGroup,
    member_id: &MemberId,
    group_instance_id: &Option<String>,
    generation: GenerationId,
) -> Result<(), ErrorCode> {
    if group.state == GroupState::Dead {
        return Err(ErrorCode::CoordinatorNotAvailable);
    }
    validate_member(group, member_id, group_instance_id)?;
    if generation != group.generation {
        return Err(ErrorCode::IllegalGeneration);
    }
    Ok(())
}

impl GroupCoordinator {
    pub(super) fn handle_sync_group(
        &mut self,
        context: &mut CoordinatorContext<'_>,
        from: NodeId,
        request: &SyncGroupRequest,
    ) {
        let reply = Reply {
            to: from,
            correlation: request.correlation,
        };
        let (loaded, shared) = match self.serving(context, &request.group) {
            Ok(serving) => serving,
            Err(error) => return send_sync(context, reply, Err(error)),
        };
        let Some(group) = loaded.groups.get_mut(&request.group) else {
            return send_sync(context, reply, Err(ErrorCode::UnknownMemberId));
        };
        if let Err(error) = validate_generation(
            group,
            &request.member_id,
            &request.group_instance_id,
            request.generation,
        ) {
            return send_sync(context, reply, Err(error));
        }
        if group.protocol_type.as_deref() != Some(request.protocol_type.as_str())
            || group.protocol_name.as_deref() != Some(request.protocol_name.as_str())
        {
            return send_sync(context, reply, Err(ErrorCode::InconsistentGroupProtocol));
        }
        match group.state {
            GroupState::Empty | GroupState::Dead => {
                send_sync(context, reply, Err(ErrorCode::UnknownMemberId))
            }
            GroupState::PreparingRebalance => {
                send_sync(context, reply, Err(ErrorCode::RebalanceInProgress))
            }
            GroupState::Stable => {
                reset_session(group, context, &request.member_id);
                let assignment = group.members[&request.member_id].assignment.clone();
                send_sync(context, reply, Ok(assignment));
            }
            GroupState::CompletingRebalance => {
                reset_session(group, context, &request.member_id);
                group
                    .members
                    .get_mut(&request.member_id)
                    .expect("validated member")
                    .awaiting_sync = Some(reply);
                if group.leader.as_ref() != Some(&request.member_id) {
                    return;
                }
                // Members the leader left out get an empty assignment, as in Kafka.
                let assignments: BTreeMap<MemberId, Assignment> = group
                    .members
                    .keys()
                    .map(|member_id| {
                        let assignment = request
                            .assignments
                            .iter()
                            .find(|(assigned, _)| assigned == member_id)
                            .map(|(_, assignment)| assignment.clone())
                            .unwrap_or_default();
                        (member_id.clone(), assignment)
                    })
                    .collect();
                let mut stored = group.clone();
                for (member_id, assignment) in &assignments {
                    stored
                        .members
                        .get_mut(member_id)
                        .expect("assignments cover the members")
                        .assignment = assignment.clone();
                }
                let record = CoordinatorRecord::GroupMetadata {
                    group: group.id.clone(),
                    value: Some(stored.metadata_value()),
                };
                shared.write(
                    context.partition_of(&group.id),
                    vec![record.encode()],
                    PendingWrite::SyncAssignment {
                        group: group.id.clone(),
                        generation: group.generation,
                        assignments,
                    },
                );
            }
        }
    }

    pub(super) fn handle_heartbeat(
        &mut self,
        context: &mut CoordinatorContext<'_>,
        from: NodeId,
        request: &HeartbeatRequest,
    ) {
        let result = self.heartbeat(context, request);
        context.effects.push(crate::actor::Effect::Send {
            to: from,
            message: Message::HeartbeatResponse(HeartbeatResponse {
                correlation: request.correlation,
                error: result.err(),
            }),
        });
    }

    fn heartbeat(
        &mut self,
        context: &mut CoordinatorContext<'_>,
        request: &HeartbeatRequest,
    ) -> Result<(), ErrorCode> {
        let (loaded, _) = self.serving(context, &request.group)?;
        let group = loaded
            .groups
            .get_mut(&request.group)
            .ok_or(ErrorCode::UnknownMemberId)?;
        validate_generation(
            group,
            &request.member_id,
            &request.group_instance_id,
            request.generation,
        )?;
        match group.state {
            GroupState::Empty | GroupState::Dead => Err(ErrorCode::UnknownMemberId),
            GroupState::PreparingRebalance => {
                reset_session(group, context, &request.member_id);
                Err(ErrorCode::RebalanceInProgress)
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                reset_session(group, context, &request.member_id);
                Ok(())
            }
        }
    }

    pub(super) fn handle_leave_group(
        &mut self,
        context: &mut CoordinatorContext<'_>,
        from: NodeId,
        request: &LeaveGroupRequest,
    ) {
        let result = self.leave(context, request);
        context.effects.push(crate::actor::Effect::Send {
            to: from,
            message: Message::LeaveGroupResponse(LeaveGroupResponse {
                correlation: request.correlation,
                error: result.err(),
            }),
        });
    }

    /// Removes each leaving member; the first member that could not leave names the
    /// response's error (Kafka answers per member; the response here has one error).
    fn leave(
        &mut self,
        context: &mut CoordinatorContext<'_>,
        request: &LeaveGroupRequest,
    ) -> Result<(), ErrorCode> {
        let (loaded, shared) = self.serving(context, &request.group)?;
        let group = loaded
            .groups
            .get_mut(&request.group)
            .ok_or(ErrorCode::UnknownMemberId)?;
        if group.state == GroupState::Dead {
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        let mut first_error = None;
        let mut removed = false;
        for leaving in &request.members {
            if let Some(session_key) = group.pending_members.remove(&leaving.member_id) {
                context.cancel_timer(CoordinatorTimer::Session(session_key));
                continue;
            }
            match leaving_member_id(group, leaving) {
                Ok(member_id) => {
                    remove_member(group, context, &member_id, MemberRemovalReason::LeaveGroup);
                    removed = true;
                }
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        if removed {
            maybe_prepare_rebalance_or_complete_join(group, shared, context);
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// The member a LeaveGroup entry names (Kafka's `classicGroupLeaveToClassicGroup`): without
/// a member id, the static member of its instance id (an administrator's removal);
/// otherwise the member itself, validated.
fn leaving_member_id(group: &ClassicGroup, leaving: &LeavingMember) -> Result<MemberId, ErrorCode> {
    if leaving.member_id.is_unknown() {
        return leaving
            .group_instance_id
            .as_ref()
            .and_then(|instance| group.static_members.get(instance))
            .cloned()
            .ok_or(ErrorCode::UnknownMemberId);
    }
    validate_member(group, &leaving.member_id, &leaving.group_instance_id)?;
    Ok(leaving.member_id.clone())
}

/// The leader's assignment record ended: on success every member gets its assignment and
/// the group is Stable; on failure the waiting members get the error and the group
/// rebalances (Kafka's `classicGroupSync` append callback).
pub(super) fn complete_sync_assignment(
    group: &mut ClassicGroup,
    shared: &mut Shared,
    context: &mut CoordinatorContext<'_>,
    generation: GenerationId,
    assignments: BTreeMap<MemberId, Assignment>,
    result: Result<(), ErrorCode>,
) {
    if group.state != GroupState::CompletingRebalance || group.generation != generation {
        return;
    }
    match result {
        Ok(()) => {
            for (member_id, assignment) in assignments {
                if let Some(member) = group.members.get_mut(&member_id) {
                    member.assignment = assignment;
                }
            }
            let waiting: Vec<(Reply, Assignment)> = group
                .members
                .values_mut()
                .filter_map(|member| {
                    let reply = member.awaiting_sync.take()?;
                    Some((reply, member.assignment.clone()))
                })
                .collect();
            for (reply, assignment) in waiting {
                send_sync(context, reply, Ok(assignment));
            }
            transition(group, context, GroupState::Stable);
        }
        Err(error) => {
            reset_and_propagate_assignment_error(group, context, normalize_append_error(error));
            prepare_rebalance(group, shared, context);
        }
    }
}
