//! The join phase of a classic group (Kafka's `GroupMetadataManager.classicGroupJoin*`,
//! `prepareRebalance`, `maybeCompleteJoinPhase`, `completeClassicGroupJoin`): new members
//! get an id first (KIP-394), static members replace their earlier incarnation (KIP-345),
//! a rebalance waits for every member to rejoin (or the rebalance timeout, or for an empty
//! group the initial rebalance delay), then bumps the generation, picks the leader and the
//! assignor, and answers every waiting JoinGroup.

use super::group::{ClassicGroup, Member, Reply};
use super::records::CoordinatorRecord;
use super::{
    CoordinatorContext, CoordinatorTimer, GroupCoordinator, GroupState, PendingWrite, Shared,
};
use crate::error::ErrorCode;
use crate::event::{Event, MemberRemovalReason};
use crate::ids::{GenerationId, MemberId, NodeId};
use crate::mark::Mark;
use crate::protocol::{JoinGroupMember, JoinGroupRequest, JoinGroupResponse, Message};

impl GroupCoordinator {
    pub(super) fn handle_join_group(
        &mut self,
        context: &mut CoordinatorContext<'_>,
        from: NodeId,
        request: &JoinGroupRequest,
    ) {
        let reply = Reply {
            to: from,
            correlation: request.correlation,
        };
        let refuse = |context: &mut CoordinatorContext<'_>, error| {
            send_join_error(context, reply, request.member_id.clone(), error)
        };
        let (loaded, shared) = match self.serving(context, &request.group) {
            Ok(serving) => serving,
            Err(error) => return refuse(context, error),
        };
        if request.session_timeout_ms < context.config.group_min_session_timeout_ms
            || request.session_timeout_ms > context.config.group_max_session_timeout_ms
        {
            return refuse(context, ErrorCode::InvalidSessionTimeout);
        }
        if !loaded.groups.contains_key(&request.group) {
            if !request.member_id.is_unknown() {
                return refuse(context, ErrorCode::UnknownMemberId);
            }
            let join_key = shared.key();
            loaded.groups.insert(
                request.group.clone(),
                ClassicGroup::new(request.group.clone(), join_key),
            );
        }
        let group = loaded
            .groups
            .get_mut(&request.group)
            .expect("the group exists or was just created");
        if group.state == GroupState::Dead {
            return refuse(context, ErrorCode::CoordinatorNotAvailable);
        }
        let names: Vec<_> = request.protocols.clone();
        if !group.supports_protocols(&request.protocol_type, &names) {
            return refuse(context, ErrorCode::InconsistentGroupProtocol);
        }
        if request.member_id.is_unknown() {
            join_new_member(group, shared, context, from, reply, request);
        } else {
            join_existing_member(group, shared, context, reply, request);
        }
    }
}

pub(super) fn send_join_error(
    context: &mut CoordinatorContext<'_>,
    reply: Reply,
    member_id: MemberId,
    error: ErrorCode,
) {
    context.send(
        reply,
        Message::JoinGroupResponse(JoinGroupResponse {
            correlation: reply.correlation,
            error: Some(error),
            generation: GenerationId::NONE,
            protocol_name: None,
            leader: MemberId::unknown(),
            member_id,
            members: Vec::new(),
            skip_assignment: false,
        }),
    );
}

fn join_new_member(
    group: &mut ClassicGroup,
    shared: &mut Shared,
    context: &mut CoordinatorContext<'_>,
    from: NodeId,
    reply: Reply,
    request: &JoinGroupRequest,
) {
    let member_id = shared.member_id(context, from);
    if let Some(instance) = &request.group_instance_id {
        if let Some(old_member) = group.static_members.get(instance).cloned() {
            return replace_static_member(
                group, shared, context, reply, request, old_member, member_id,
            );
        }
        return add_member_then_rebalance(group, shared, context, from, reply, request, member_id);
    }
    // KIP-394: a dynamic member gets its id first and must join again with it, so a client
    // that retries its first join does not leave a ghost member behind.
    let session_key = shared.key();
    group.pending_members.insert(member_id.clone(), session_key);
    context.set_timer(
        CoordinatorTimer::Session(session_key),
        context.now_ms + request.session_timeout_ms,
    );
    send_join_error(context, reply, member_id, ErrorCode::MemberIdRequired);
}

fn join_existing_member(
    group: &mut ClassicGroup,
    shared: &mut Shared,
    context: &mut CoordinatorContext<'_>,
    reply: Reply,
    request: &JoinGroupRequest,
) {
    if let Some(session_key) = group.pending_members.remove(&request.member_id) {
        context.cancel_timer(CoordinatorTimer::Session(session_key));
        return add_member_then_rebalance(
            group,
            shared,
            context,
            reply.to,
            reply,
            request,
            request.member_id.clone(),
        );
    }
    if let Err(error) = validate_member(group, &request.member_id, &request.group_instance_id) {
        return send_join_error(context, reply, request.member_id.clone(), error);
    }
    let member = group
        .members
        .get_mut(&request.member_id)
        .expect("validated member");
    let unchanged = member.protocols == request.protocols;
    let is_leader = group.leader.as_ref() == Some(&request.member_id);
    match group.state {
        GroupState::PreparingRebalance => {
            update_member(member, reply, request);
            maybe_complete_join(group, shared, context);
        }
        GroupState::CompletingRebalance | GroupState::Stable
            if unchanged && !(group.state == GroupState::Stable && is_leader) =>
        {
            // A member that lost its join response, or a follower rejoining without a
            // change: it gets the current generation again.
            let response = join_response(group, &request.member_id, reply, false);
            context.send(reply, Message::JoinGroupResponse(response));
        }
        GroupState::CompletingRebalance | GroupState::Stable => {
            update_member(member, reply, request);
            prepare_rebalance(group, shared, context);
        }
        GroupState::Empty | GroupState::Dead => send_join_error(
            context,
            reply,
            request.member_id.clone(),
            ErrorCode::UnknownMemberId,
        ),
    }
}

fn update_member(member: &mut Member, reply: Reply, request: &JoinGroupRequest) {
    member.protocols = request.protocols.clone();
    member.session_timeout_ms = request.session_timeout_ms;
    member.rebalance_timeout_ms = request.rebalance_timeout_ms;
    member.awaiting_join = Some(reply);
}

/// Kafka's `ClassicGroup.validateMember`: a static member's instance id must name this
/// member id (FENCED_INSTANCE_ID otherwise, UNKNOWN_MEMBER_ID if the instance is unknown),
/// and the member must exist.
pub(super) fn validate_member(
    group: &ClassicGroup,
    member_id: &MemberId,
    group_instance_id: &Option<String>,
) -> Result<(), ErrorCode> {
    if let Some(instance) = group_instance_id {
        match group.static_members.get(instance) {
            None => return Err(ErrorCode::UnknownMemberId),
            Some(existing) if existing != member_id => return Err(ErrorCode::FencedInstanceId),
            Some(_) => {}
        }
    }
    if !group.members.contains_key(member_id) {
        return Err(ErrorCode::UnknownMemberId);
    }
    Ok(())
}

fn add_member_then_rebalance(
    group: &mut ClassicGroup,
    shared: &mut Shared,
    context: &mut CoordinatorContext<'_>,
    from: NodeId,
    reply: Reply,
    request: &JoinGroupRequest,
    member_id: MemberId,
) {
    if group.members.is_empty() {
        group.protocol_type = Some(request.protocol_type.clone());
    }
    if group.leader.is_none() {
        group.leader = Some(member_id.clone());
    }
    if let Some(instance) = &request.group_instance_id {
        group
            .static_members
            .insert(instance.clone(), member_id.clone());
    }
    let session_key = shared.key();
    group.members.insert(
        member_id.clone(),
        Member {
            member_id,
            group_instance_id: request.group_instance_id.clone(),
            client: from.to_string(),
            session_timeout_ms: request.session_timeout_ms,
            rebalance_timeout_ms: request.rebalance_timeout_ms,
            protocols: request.protocols.clone(),
            assignment: Default::default(),
            awaiting_join: Some(reply),
            awaiting_sync: None,
            session_key,
        },
    );
    context.set_timer(
        CoordinatorTimer::Session(session_key),
        context.now_ms + request.session_timeout_ms,
    );
    group.new_member_added = true;
    maybe_prepare_rebalance_or_complete_join(group, shared, context);
}

/// KIP-345: a known `group.instance.id` joins with a new member id. The old id is fenced;
/// in a Stable group whose member's protocols are unchanged the member keeps its assignment
/// and the group its generation (no rebalance), once the new id is stored.
fn replace_static_member(
    group: &mut ClassicGroup,
    shared: &mut Shared,
    context: &mut CoordinatorContext<'_>,
    reply: Reply,
    request: &JoinGroupRequest,
    old_member: MemberId,
    new_member: MemberId,
) {
    let mut member = group
        .members
        .remove(&old_member)
        .expect("a static member's id is a member");
    if let Some(waiting) = member.awaiting_join.take() {
        send_join_error(
            context,
            waiting,
            old_member.clone(),
            ErrorCode::FencedInstanceId,
        );
    }
    if let Some(waiting) = member.awaiting_sync.take() {
        super::membership::send_sync(context, waiting, Err(ErrorCode::FencedInstanceId));
    }
    let unchanged = member.protocols == request.protocols;
    let undo = StaticRejoin {
        reply,
        group: group.id.clone(),
        new_member: new_member.clone(),
        old_member: old_member.clone(),
        old_session_timeout_ms: member.session_timeout_ms,
        old_rebalance_timeout_ms: member.rebalance_timeout_ms,
        old_protocols: member.protocols.clone(),
        old_leader: group.leader.clone(),
    };
    member.member_id = new_member.clone();
    member.session_timeout_ms = request.session_timeout_ms;
    member.rebalance_timeout_ms = request.rebalance_timeout_ms;
    member.protocols = request.protocols.clone();
    let instance = request.group_instance_id.clone().expect("static member");
    group.static_members.insert(instance, new_member.clone());
    if group.leader.as_ref() == Some(&old_member) {
        group.leader = Some(new_member.clone());
    }
    context.set_timer(
        CoordinatorTimer::Session(member.session_key),
        context.now_ms + request.session_timeout_ms,
    );
    group.members.insert(new_member.clone(), member);
    context.event(Event::GroupMemberRemoved {
        group: group.id.clone(),
        member: old_member.clone(),
        reason: MemberRemovalReason::StaticMemberReplaced,
    });
    let member = group.members.get_mut(&new_member).expect("just inserted");
    match group.state {
        GroupState::Stable if unchanged => {
            let record = CoordinatorRecord::GroupMetadata {
                group: group.id.clone(),
                value: Some(group.metadata_value()),
            };
            shared.write(
                context.partition_of(&group.id),
                vec![record.encode()],
                PendingWrite::StaticRejoin(undo),
            );
        }
        GroupState::PreparingRebalance => {
            member.awaiting_join = Some(reply);
            maybe_complete_join(group, shared, context);
        }
        _ => {
            member.awaiting_join = Some(reply);
            prepare_rebalance(group, shared, context);
        }
    }
}

/// A static member's replacement waiting for its metadata record (KIP-345), with what the
/// member was before it, so a failed write can put it back (Kafka's append callback in
/// `updateStaticMemberThenRebalanceOrCompleteJoin`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct StaticRejoin {
    pub(super) reply: Reply,
    pub(super) group: crate::ids::GroupId,
    pub(super) new_member: MemberId,
    pub(super) old_member: MemberId,
    pub(super) old_session_timeout_ms: u64,
    pub(super) old_rebalance_timeout_ms: u64,
    pub(super) old_protocols: Vec<crate::protocol::JoinGroupProtocol>,
    /// The leader before the replacement, which a failed rejoin's answer names.
    pub(super) old_leader: Option<MemberId>,
}

/// A static rejoin's metadata write ended: answer the new member with the current
/// generation (a leader is told to skip the assignment, KIP-814), or undo the replacement.
/// Kafka's undo puts back the old member id, its timeouts, protocols and session timer,
/// and answers with no member id, the current generation and the leader before the
/// replacement.
pub(super) fn complete_static_rejoin(
    group: &mut ClassicGroup,
    context: &mut CoordinatorContext<'_>,
    rejoin: StaticRejoin,
    result: Result<(), ErrorCode>,
) {
    let StaticRejoin {
        reply, new_member, ..
    } = &rejoin;
    let (reply, new_member) = (*reply, new_member.clone());
    if !group.members.contains_key(&new_member) {
        return send_join_error(context, reply, new_member, ErrorCode::UnknownMemberId);
    }
    match result {
        Ok(()) => {
            context.mark(Mark::StaticMemberRejoinedWithoutRebalance);
            let is_leader = group.leader.as_ref() == Some(&new_member);
            let response = join_response(group, &new_member, reply, is_leader);
            context.send(reply, Message::JoinGroupResponse(response));
        }
        Err(error) => {
            let mut member = group.members.remove(&new_member).expect("checked above");
            member.member_id = rejoin.old_member.clone();
            member.session_timeout_ms = rejoin.old_session_timeout_ms;
            member.rebalance_timeout_ms = rejoin.old_rebalance_timeout_ms;
            member.protocols = rejoin.old_protocols;
            if let Some(instance) = &member.group_instance_id {
                group
                    .static_members
                    .insert(instance.clone(), rejoin.old_member.clone());
            }
            if group.leader.as_ref() == Some(&new_member) {
                group.leader = Some(rejoin.old_member.clone());
            }
            context.set_timer(
                CoordinatorTimer::Session(member.session_key),
                context.now_ms + member.session_timeout_ms,
            );
            group.members.insert(rejoin.old_member, member);
            let response = JoinGroupResponse {
                correlation: reply.correlation,
                error: Some(super::normalize_append_error(error)),
                generation: group.generation,
                protocol_name: group.protocol_name.clone(),
                leader: rejoin.old_leader.unwrap_or_default(),
                member_id: MemberId::unknown(),
                members: Vec::new(),
                skip_assignment: false,
            };
            context.send(reply, Message::JoinGroupResponse(response));
        }
    }
}

/// The JoinGroup answer for `member_id` in the current generation; the leader's carries
/// every member's subscription.
fn join_response(
    group: &ClassicGroup,
    member_id: &MemberId,
    reply: Reply,
    skip_assignment: bool,
) -> JoinGroupResponse {
    let is_leader = group.leader.as_ref() == Some(member_id);
    let members = if is_leader {
        group
            .members
            .values()
            .map(|member| JoinGroupMember {
                member_id: member.member_id.clone(),
                group_instance_id: member.group_instance_id.clone(),
                metadata: member.subscription(group.protocol_name.as_deref()),
            })
            .collect()
    } else {
        Vec::new()
    };
    JoinGroupResponse {
        correlation: reply.correlation,
        error: None,
        generation: group.generation,
        protocol_name: group.protocol_name.clone(),
        leader: group.leader.clone().unwrap_or_default(),
        member_id: member_id.clone(),
        members,
        skip_assignment,
    }
}

/// Moves the group to `to`, with its event.
pub(super) fn transition(
    group: &mut ClassicGroup,
    context: &mut CoordinatorContext<'_>,
    to: GroupState,
) {
    let from = group.state;
    group.previous_state = from;
    group.state = to;
    context.event(Event::GroupStateChanged {
        group: group.id.clone(),
        from,
        to,
        generation: group.generation,
        members: group.member_ids(),
    });
}

/// Kafka's `maybePrepareRebalanceOrCompleteJoin`: a change of membership starts a rebalance,
/// or, during one, may end its join phase.
pub(super) fn maybe_prepare_rebalance_or_complete_join(
    group: &mut ClassicGroup,
    shared: &mut Shared,
    context: &mut CoordinatorContext<'_>,
) {
    match group.state {
        GroupState::Empty | GroupState::Stable | GroupState::CompletingRebalance => {
            prepare_rebalance(group, shared, context)
        }
        GroupState::PreparingRebalance => maybe_complete_join(group, shared, context),
        GroupState::Dead => {}
    }
}

/// Starts a rebalance (Kafka's `prepareRebalance`): a sync in progress is abandoned. An
/// empty group's join phase lasts the initial delay (whatever the rebalance timeout: the
/// delay is only ever extended up to it). Otherwise it lasts the rebalance timeout, or ends
/// at once when every member is already waiting in a JoinGroup (Kafka's
/// `maybeCompleteJoinElseSchedule`): a lone leader's rejoin, or the last member leaving.
pub(super) fn prepare_rebalance(
    group: &mut ClassicGroup,
    shared: &mut Shared,
    context: &mut CoordinatorContext<'_>,
) {
    if group.state == GroupState::CompletingRebalance {
        reset_and_propagate_assignment_error(group, context, ErrorCode::RebalanceInProgress);
    }
    let rebalance_timeout_ms = group.rebalance_timeout_ms();
    let initial = group.state == GroupState::Empty;
    let delay_ms = if initial {
        let delay_ms = context.config.group_initial_rebalance_delay_ms;
        group.initial_delay_remaining_ms = Some(rebalance_timeout_ms.saturating_sub(delay_ms));
        group.new_member_added = false;
        delay_ms
    } else {
        group.initial_delay_remaining_ms = None;
        rebalance_timeout_ms
    };
    context.set_timer(
        CoordinatorTimer::Join(group.join_key),
        context.now_ms + delay_ms.max(1),
    );
    context.mark(Mark::RebalanceStarted);
    transition(group, context, GroupState::PreparingRebalance);
    if !initial && group.has_all_members_joined() {
        complete_join(group, shared, context);
    }
}

/// Answers every waiting SyncGroup with `error` and forgets the assignments.
pub(super) fn reset_and_propagate_assignment_error(
    group: &mut ClassicGroup,
    context: &mut CoordinatorContext<'_>,
    error: ErrorCode,
) {
    for member in group.members.values_mut() {
        member.assignment = Default::default();
        if let Some(reply) = member.awaiting_sync.take() {
            super::membership::send_sync(context, reply, Err(error));
        }
    }
}

/// Ends the join phase early once every member rejoined, except during an initial
/// rebalance, which always waits for its delay (Kafka's `maybeCompleteJoinPhase`).
pub(super) fn maybe_complete_join(
    group: &mut ClassicGroup,
    shared: &mut Shared,
    context: &mut CoordinatorContext<'_>,
) {
    if group.state == GroupState::PreparingRebalance
        && group.has_all_members_joined()
        && group.previous_state != GroupState::Empty
    {
        complete_join(group, shared, context);
    }
}

/// The group's join timer fired: extend an initial delay that saw new members (within the
/// rebalance timeout), else end the join phase.
pub(super) fn on_join_timer(
    group: &mut ClassicGroup,
    shared: &mut Shared,
    context: &mut CoordinatorContext<'_>,
) {
    if group.state != GroupState::PreparingRebalance {
        return;
    }
    if let Some(remaining_ms) = group.initial_delay_remaining_ms {
        if group.new_member_added && remaining_ms > 0 {
            let delay_ms = context
                .config
                .group_initial_rebalance_delay_ms
                .min(remaining_ms);
            group.initial_delay_remaining_ms = Some(remaining_ms - delay_ms);
            group.new_member_added = false;
            context.set_timer(
                CoordinatorTimer::Join(group.join_key),
                context.now_ms + delay_ms.max(1),
            );
            return;
        }
    }
    complete_join(group, shared, context);
}

/// Ends the join phase (Kafka's `completeClassicGroupJoin`): members that did not rejoin
/// are removed, the generation is bumped, a leader and an assignor chosen, and every
/// waiting member answered; a group left without members becomes Empty and is stored.
fn complete_join(
    group: &mut ClassicGroup,
    shared: &mut Shared,
    context: &mut CoordinatorContext<'_>,
) {
    context.cancel_timer(CoordinatorTimer::Join(group.join_key));
    group.initial_delay_remaining_ms = None;
    let not_rejoined: Vec<MemberId> = group
        .members
        .values()
        .filter(|member| member.awaiting_join.is_none())
        .map(|member| member.member_id.clone())
        .collect();
    for member_id in not_rejoined {
        remove_member(
            group,
            context,
            &member_id,
            crate::event::MemberRemovalReason::RebalanceTimeout,
        );
    }
    group.generation = group.generation.next();
    if group.members.is_empty() {
        group.protocol_name = None;
        transition(group, context, GroupState::Empty);
        let record = CoordinatorRecord::GroupMetadata {
            group: group.id.clone(),
            value: Some(group.metadata_value()),
        };
        shared.write(
            context.partition_of(&group.id),
            vec![record.encode()],
            PendingWrite::GroupMetadata,
        );
        return;
    }
    group.protocol_name = group.select_protocol();
    transition(group, context, GroupState::CompletingRebalance);
    let member_ids = group.member_ids();
    for member_id in member_ids {
        let member = group.members.get_mut(&member_id).expect("listed member");
        let reply = member.awaiting_join.take().expect("every member rejoined");
        let session_key = member.session_key;
        let session_timeout_ms = member.session_timeout_ms;
        context.set_timer(
            CoordinatorTimer::Session(session_key),
            context.now_ms + session_timeout_ms,
        );
        let response = join_response(group, &member_id, reply, false);
        context.send(reply, Message::JoinGroupResponse(response));
    }
}

/// Removes a member (its timers, its static id), choosing a new leader if it led, and
/// answers any request it had waiting with UNKNOWN_MEMBER_ID.
pub(super) fn remove_member(
    group: &mut ClassicGroup,
    context: &mut CoordinatorContext<'_>,
    member_id: &MemberId,
    reason: MemberRemovalReason,
) {
    let Some(member) = group.members.remove(member_id) else {
        return;
    };
    context.cancel_timer(CoordinatorTimer::Session(member.session_key));
    if let Some(instance) = &member.group_instance_id {
        group.static_members.remove(instance);
    }
    if let Some(reply) = member.awaiting_join {
        send_join_error(
            context,
            reply,
            member_id.clone(),
            ErrorCode::UnknownMemberId,
        );
    }
    if let Some(reply) = member.awaiting_sync {
        super::membership::send_sync(context, reply, Err(ErrorCode::UnknownMemberId));
    }
    if group.leader.as_ref() == Some(member_id) {
        // Kafka takes any remaining member; the lowest id keeps the choice deterministic,
        // preferring one that already rejoined.
        group.leader = group
            .members
            .values()
            .find(|member| member.awaiting_join.is_some())
            .or_else(|| group.members.values().next())
            .map(|member| member.member_id.clone());
    }
    context.event(Event::GroupMemberRemoved {
        group: group.id.clone(),
        member: member_id.clone(),
        reason,
    });
}

/// A session timer fired: a handed-out id that never joined is forgotten; a member that
/// neither heartbeated nor waits in a join or sync is removed, which rebalances the group.
pub(super) fn on_session_timer(
    group: &mut ClassicGroup,
    shared: &mut Shared,
    context: &mut CoordinatorContext<'_>,
    session_key: u64,
) {
    if let Some(pending) = group
        .pending_members
        .iter()
        .find(|(_, key)| **key == session_key)
        .map(|(member_id, _)| member_id.clone())
    {
        group.pending_members.remove(&pending);
        return complete_join_if_all_joined(group, shared, context);
    }
    let Some(member) = group
        .members
        .values()
        .find(|member| member.session_key == session_key)
    else {
        return;
    };
    if member.awaiting_join.is_some() || member.awaiting_sync.is_some() {
        // A member whose request the coordinator holds is alive (Kafka's
        // `shouldKeepAlive`); the rebalance timeout bounds its wait.
        let at_ms = context.now_ms + member.session_timeout_ms;
        context.set_timer(CoordinatorTimer::Session(session_key), at_ms);
        return;
    }
    let member_id = member.member_id.clone();
    context.mark(Mark::GroupMemberSessionExpired);
    remove_member(
        group,
        context,
        &member_id,
        MemberRemovalReason::SessionTimeout,
    );
    match group.state {
        GroupState::Stable | GroupState::CompletingRebalance => {
            prepare_rebalance(group, shared, context)
        }
        _ => complete_join_if_all_joined(group, shared, context),
    }
}

/// After an expiry during a join phase: end it if everyone left has joined. Unlike
/// [`maybe_complete_join`] this applies during an initial rebalance too, as Kafka's
/// `removeMemberAndUpdateClassicGroup` and `removePendingMemberAndUpdateClassicGroup` do.
fn complete_join_if_all_joined(
    group: &mut ClassicGroup,
    shared: &mut Shared,
    context: &mut CoordinatorContext<'_>,
) {
    if group.state == GroupState::PreparingRebalance && group.has_all_members_joined() {
        complete_join(group, shared, context);
    }
}
