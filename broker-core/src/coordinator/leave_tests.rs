//! Handler tests of LeaveGroup (Kafka's `classicGroupLeaveToClassicGroup`): who may leave,
//! and what the group does next.

use super::tests::*;
use super::*;
use crate::event::MemberRemovalReason;
use crate::ids::{CorrelationId, Offset};
use crate::protocol::{
    HeartbeatRequest, LeaveGroupRequest, LeaveGroupResponse, LeavingMember, Message,
};

fn leave(member_id: MemberId, instance: Option<&str>) -> Message {
    Message::LeaveGroup(LeaveGroupRequest {
        correlation: CorrelationId(6),
        group: group(),
        members: vec![LeavingMember {
            member_id,
            group_instance_id: instance.map(str::to_string),
            reason: "test".into(),
        }],
    })
}

fn left(to: NodeId, error: Option<ErrorCode>) -> Effect {
    Effect::Send {
        to,
        message: Message::LeaveGroupResponse(LeaveGroupResponse {
            correlation: CorrelationId(6),
            error,
        }),
    }
}

#[test]
fn a_member_leaving_a_stable_group_starts_a_rebalance_for_the_others() {
    let mut harness = Harness::new();
    let members = harness.stable_members(2);
    let (stays, leaves) = (members[0].clone(), members[1].clone());
    let leaver_session = harness.session_timer(&leaves);
    harness.now_ms = 10_000;
    let effects = harness.request_from(client(1), leave(leaves.clone(), None));
    assert_eq!(
        effects,
        vec![
            Effect::Event(Event::GroupMemberRemoved {
                group: group(),
                member: leaves,
                reason: MemberRemovalReason::LeaveGroup,
            }),
            Effect::Mark(Mark::RebalanceStarted),
            Effect::Event(Event::GroupStateChanged {
                group: group(),
                from: GroupState::Stable,
                to: GroupState::PreparingRebalance,
                generation: GenerationId(1),
                members: vec![stays.clone()],
            }),
            left(client(1), None),
        ]
    );
    // The leaver's session timer is gone; the others have the rebalance timeout to rejoin.
    assert_eq!(harness.deadline_ms(leaver_session), None);
    assert_eq!(harness.deadline_ms(harness.join_timer()), Some(310_000));
    // The one left rejoins: everyone has, so generation 2 starts at once, with it alone.
    let effects = harness.request(join(stays.clone(), None));
    let response = join_response(&effects);
    assert_eq!(response.generation, GenerationId(2));
    assert_eq!(response.leader, stays);
    assert_eq!(response.members.len(), 1);
    assert_eq!(harness.group().state, GroupState::CompletingRebalance);
}

#[test]
fn an_unknown_member_leaving_is_refused_and_changes_nothing() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    let effects = harness.request(leave(MemberId("ghost".into()), None));
    assert_eq!(
        effects,
        vec![left(CONSUMER, Some(ErrorCode::UnknownMemberId))]
    );
    assert_eq!(harness.group().state, GroupState::Stable);
    assert_eq!(harness.group().member_ids(), vec![member]);
}

#[test]
fn the_last_member_leaving_empties_the_group_at_once_and_stores_it() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    let effects = harness.request(leave(member.clone(), None));
    assert_eq!(
        effects,
        vec![
            Effect::Event(Event::GroupMemberRemoved {
                group: group(),
                member,
                reason: MemberRemovalReason::LeaveGroup,
            }),
            Effect::Mark(Mark::RebalanceStarted),
            Effect::Event(Event::GroupStateChanged {
                group: group(),
                from: GroupState::Stable,
                to: GroupState::PreparingRebalance,
                generation: GenerationId(1),
                members: vec![],
            }),
            Effect::Event(Event::GroupStateChanged {
                group: group(),
                from: GroupState::PreparingRebalance,
                to: GroupState::Empty,
                generation: GenerationId(2),
                members: vec![],
            }),
            left(CONSUMER, None),
        ]
    );
    assert_eq!(harness.deadline_ms(harness.join_timer()), None);
    assert_eq!(harness.group().protocol_name, None);
    assert_eq!(harness.coordinator.take_appends().len(), 1);
    // An empty group takes generationless commits again.
    harness.request(commit(MemberId::unknown(), GenerationId::NONE, 4));
    assert_eq!(
        commit_result(&harness.complete_appends(Ok(Offset(1)))),
        Ok(())
    );
}

#[test]
fn a_handed_out_id_leaving_is_forgotten_without_a_rebalance() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    let pending = join_response(&harness.request(join(MemberId::unknown(), None))).member_id;
    let pending_session = CoordinatorTimer::Session(harness.group().pending_members[&pending]);
    let effects = harness.request(leave(pending, None));
    assert_eq!(effects, vec![left(CONSUMER, None)]);
    assert!(harness.group().pending_members.is_empty());
    assert_eq!(harness.deadline_ms(pending_session), None);
    assert_eq!(harness.group().state, GroupState::Stable);
    assert_eq!(harness.group().member_ids(), vec![member]);
}

#[test]
fn a_static_member_is_removed_by_its_instance_id_alone() {
    let mut harness = Harness::new();
    harness.request(join(MemberId::unknown(), Some("i1")));
    let member = join_response(&harness.fire(harness.join_timer())).member_id;
    harness.request(sync(member.clone(), GenerationId(1)));
    harness.complete_appends(Ok(Offset(0)));
    // An unknown instance id names nobody.
    assert_eq!(
        harness.request(leave(MemberId::unknown(), Some("i2"))),
        vec![left(CONSUMER, Some(ErrorCode::UnknownMemberId))]
    );
    // Kafka's administrative removal: no member id, the instance id names the member.
    let effects = harness.request(leave(MemberId::unknown(), Some("i1")));
    assert!(effects.contains(&Effect::Event(Event::GroupMemberRemoved {
        group: group(),
        member: member.clone(),
        reason: MemberRemovalReason::LeaveGroup,
    })));
    assert_eq!(effects.last(), Some(&left(CONSUMER, None)));
    assert!(harness.group().static_members.is_empty());
    assert_eq!(harness.group().state, GroupState::Empty);
    // The removed id is fenced from now on.
    let effects = harness.request(Message::Heartbeat(HeartbeatRequest {
        correlation: CorrelationId(5),
        group: group(),
        generation: GenerationId(1),
        member_id: member,
        group_instance_id: Some("i1".into()),
    }));
    assert!(
        matches!(&effects[..], [Effect::Send { message: Message::HeartbeatResponse(response), .. }]
        if response.error == Some(ErrorCode::UnknownMemberId))
    );
}
