//! Handler tests of the join phase's less common branches: protocols that do not fit the
//! group, the initial delay and its extension, a lone leader's rejoin, session expiries
//! during a rebalance, and a static member's rejoin whose record fails to commit.

use super::tests::*;
use super::*;
use crate::event::MemberRemovalReason;
use crate::ids::{CorrelationId, Offset};
use crate::protocol::{
    HeartbeatRequest, JoinGroupProtocol, JoinGroupRequest, JoinGroupResponse, Subscription,
};

/// A JoinGroup changed by `change` (protocols, timeouts).
fn join_with(
    member_id: MemberId,
    instance: Option<&str>,
    change: impl FnOnce(&mut JoinGroupRequest),
) -> Message {
    let Message::JoinGroup(mut request) = join(member_id, instance) else {
        unreachable!("join builds a JoinGroup")
    };
    change(&mut request);
    Message::JoinGroup(request)
}

fn protocols(names: &[&str]) -> Vec<JoinGroupProtocol> {
    names
        .iter()
        .map(|name| JoinGroupProtocol {
            name: name.to_string(),
            metadata: Subscription::default(),
        })
        .collect()
}

fn refused(to: NodeId, member_id: MemberId, error: ErrorCode) -> Effect {
    Effect::Send {
        to,
        message: Message::JoinGroupResponse(JoinGroupResponse {
            correlation: CorrelationId(1),
            error: Some(error),
            generation: GenerationId::NONE,
            protocol_name: None,
            leader: MemberId::unknown(),
            member_id,
            members: Vec::new(),
            skip_assignment: false,
        }),
    }
}

fn heartbeat_error(
    harness: &mut Harness,
    member: &MemberId,
    instance: Option<&str>,
) -> Option<ErrorCode> {
    let effects = harness.request(Message::Heartbeat(HeartbeatRequest {
        correlation: CorrelationId(5),
        group: group(),
        generation: harness.group().generation,
        member_id: member.clone(),
        group_instance_id: instance.map(str::to_string),
    }));
    match &effects[..] {
        [Effect::Send {
            message: Message::HeartbeatResponse(response),
            ..
        }] => response.error,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_joiner_whose_protocols_share_none_with_the_groups_is_refused() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    let other = client(1);
    let effects = harness.request_from(
        other,
        join_with(MemberId::unknown(), None, |request| {
            request.protocols = protocols(&["roundrobin"])
        }),
    );
    assert_eq!(
        effects,
        vec![refused(
            other,
            MemberId::unknown(),
            ErrorCode::InconsistentGroupProtocol
        )]
    );
    // Another protocol type is refused the same way, however the assignors match.
    let effects = harness.request_from(
        other,
        join_with(MemberId::unknown(), None, |request| {
            request.protocol_type = "connect".into()
        }),
    );
    assert_eq!(
        effects,
        vec![refused(
            other,
            MemberId::unknown(),
            ErrorCode::InconsistentGroupProtocol
        )]
    );
    // A member of the group that drops the group's only assignor is refused with its id.
    let effects = harness.request(join_with(member.clone(), None, |request| {
        request.protocols = protocols(&["roundrobin"])
    }));
    assert_eq!(
        effects,
        vec![refused(
            CONSUMER,
            member.clone(),
            ErrorCode::InconsistentGroupProtocol
        )]
    );
    // Nothing changed: no handed-out id, no rebalance.
    assert!(harness.group().pending_members.is_empty());
    assert_eq!(harness.group().member_ids(), vec![member]);
    assert_eq!(harness.group().state, GroupState::Stable);
    // A joiner sharing one assignor with everyone is taken.
    let effects = harness.request_from(
        other,
        join_with(MemberId::unknown(), None, |request| {
            request.protocols = protocols(&["roundrobin", "range"])
        }),
    );
    assert_eq!(
        join_response(&effects).error,
        Some(ErrorCode::MemberIdRequired)
    );
}

#[test]
fn members_joining_during_the_initial_delay_extend_it_up_to_the_rebalance_timeout() {
    let mut harness = Harness::new();
    let short_rebalance = |request: &mut JoinGroupRequest| request.rebalance_timeout_ms = 7_000;
    let first = join_response(&harness.request(join(MemberId::unknown(), None))).member_id;
    harness.request(join_with(first, None, short_rebalance));
    // The initial delay: 3 s of the 7 s rebalance timeout.
    assert_eq!(harness.deadline_ms(harness.join_timer()), Some(3_000));
    assert_eq!(harness.group().initial_delay_remaining_ms, Some(4_000));
    let join_at = |harness: &mut Harness, at_ms: u64, index: u32| {
        harness.now_ms = at_ms;
        let from = client(index);
        let handed =
            harness.request_from(from, join_with(MemberId::unknown(), None, short_rebalance));
        let member = join_response(&handed).member_id;
        assert!(harness
            .request_from(from, join_with(member, None, short_rebalance))
            .iter()
            .all(|effect| !matches!(effect, Effect::Send { .. })));
    };
    join_at(&mut harness, 1_000, 1);
    // A newcomer during the delay: another delay, nobody answered yet.
    let effects = harness.fire(harness.join_timer());
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(harness.deadline_ms(harness.join_timer()), Some(6_000));
    assert_eq!(harness.group().initial_delay_remaining_ms, Some(1_000));
    join_at(&mut harness, 4_000, 2);
    // Only 1 s of the rebalance timeout is left: the last extension is that long.
    assert!(harness.fire(harness.join_timer()).is_empty());
    assert_eq!(harness.deadline_ms(harness.join_timer()), Some(7_000));
    assert_eq!(harness.group().initial_delay_remaining_ms, Some(0));
    join_at(&mut harness, 6_500, 3);
    // The rebalance timeout is spent: the phase ends despite the newcomer, with everyone.
    let effects = harness.fire(harness.join_timer());
    assert_eq!(harness.now_ms, 7_000);
    let answered = effects
        .iter()
        .filter(|effect| matches!(effect, Effect::Send { message: Message::JoinGroupResponse(response), .. } if response.generation == GenerationId(1)))
        .count();
    assert_eq!(answered, 4);
    assert_eq!(harness.group().state, GroupState::CompletingRebalance);
}

#[test]
fn the_initial_delay_ends_at_its_first_expiry_when_nobody_else_joins() {
    let mut harness = Harness::new();
    harness.dynamic_member_joins(CONSUMER);
    let effects = harness.fire(harness.join_timer());
    assert_eq!(harness.now_ms, 3_000);
    assert_eq!(join_response(&effects).generation, GenerationId(1));
}

#[test]
fn the_initial_delay_is_not_shortened_by_a_shorter_rebalance_timeout() {
    let mut harness = Harness::new();
    let member = join_response(&harness.request(join(MemberId::unknown(), None))).member_id;
    harness.request(join_with(member, None, |request| {
        request.rebalance_timeout_ms = 1_000
    }));
    // Kafka waits `group.initial.rebalance.delay.ms` in full; only extensions are bounded.
    assert_eq!(harness.deadline_ms(harness.join_timer()), Some(3_000));
    assert_eq!(harness.group().initial_delay_remaining_ms, Some(0));
}

#[test]
fn a_lone_leader_rejoining_a_stable_group_gets_the_next_generation_at_once() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    harness.now_ms = 5_000;
    let effects = harness.request(join(member.clone(), None));
    // Everyone (the leader alone) already waits in a JoinGroup: no rebalance timeout wait.
    let response = join_response(&effects);
    assert_eq!(response.error, None);
    assert_eq!(response.generation, GenerationId(2));
    assert_eq!(response.leader, member);
    assert!(has_mark(&effects, Mark::RebalanceStarted));
    assert_eq!(harness.group().state, GroupState::CompletingRebalance);
    assert_eq!(harness.deadline_ms(harness.join_timer()), None);
}

#[test]
fn one_member_of_several_whose_session_expires_is_removed_and_the_rest_rebalance() {
    let mut harness = Harness::new();
    let members = harness.stable_members(3);
    // The others heartbeat; the third does not.
    harness.now_ms = 40_000;
    heartbeat_error(&mut harness, &members[0], None);
    heartbeat_error(&mut harness, &members[1], None);
    let effects = harness.fire(harness.session_timer(&members[2]));
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::GroupMemberSessionExpired),
            Effect::Event(Event::GroupMemberRemoved {
                group: group(),
                member: members[2].clone(),
                reason: MemberRemovalReason::SessionTimeout,
            }),
            Effect::Mark(Mark::RebalanceStarted),
            Effect::Event(Event::GroupStateChanged {
                group: group(),
                from: GroupState::Stable,
                to: GroupState::PreparingRebalance,
                generation: GenerationId(1),
                members: members[..2].to_vec(),
            }),
        ]
    );
    let expired_at_ms = harness.now_ms;
    assert_eq!(
        harness.deadline_ms(harness.join_timer()),
        Some(expired_at_ms + 300_000)
    );
    // The survivors learn of it from their heartbeats and rejoin; the last one ends it.
    assert_eq!(
        heartbeat_error(&mut harness, &members[1], None),
        Some(ErrorCode::RebalanceInProgress)
    );
    assert!(harness
        .request_from(client(1), join(members[1].clone(), None))
        .is_empty());
    let effects = harness.request(join(members[0].clone(), None));
    assert_eq!(join_response(&effects).generation, GenerationId(2));
    assert_eq!(harness.group().member_ids(), members[..2].to_vec());
}

#[test]
fn a_handed_out_id_expiring_during_an_extended_initial_delay_ends_the_join_phase() {
    let mut harness = Harness::new();
    harness.dynamic_member_joins(CONSUMER);
    // At 1 s a client takes an id (session 6 s) and never joins with it.
    harness.now_ms = 1_000;
    harness.request_from(
        client(1),
        join_with(MemberId::unknown(), None, |request| {
            request.session_timeout_ms = 6_000
        }),
    );
    // A newcomer at 2 s extends the initial delay to 6 s, another at 5 s to 9 s.
    harness.now_ms = 2_000;
    harness.dynamic_member_joins(client(2));
    harness.fire(harness.join_timer());
    harness.now_ms = 5_000;
    harness.dynamic_member_joins(client(3));
    harness.fire(harness.join_timer());
    assert_eq!(harness.deadline_ms(harness.join_timer()), Some(9_000));
    // At 7 s the handed-out id expires: everyone else has joined, so Kafka ends the phase
    // now rather than at the delay's end.
    let pending_key = *harness
        .group()
        .pending_members
        .values()
        .next()
        .expect("pending");
    let effects = harness.fire(CoordinatorTimer::Session(pending_key));
    assert_eq!(harness.now_ms, 7_000);
    let answered = effects
        .iter()
        .filter(|effect| matches!(effect, Effect::Send { message: Message::JoinGroupResponse(response), .. } if response.generation == GenerationId(1)))
        .count();
    assert_eq!(answered, 3);
    assert_eq!(harness.deadline_ms(harness.join_timer()), None);
}

/// A static member `i1`, alone and Stable in generation 1 with a 45 s session.
fn stable_static_member(harness: &mut Harness) -> MemberId {
    harness.request(join(MemberId::unknown(), Some("i1")));
    let member = join_response(&harness.fire(harness.join_timer())).member_id;
    harness.request(sync(member.clone(), GenerationId(1)));
    harness.complete_appends(Ok(Offset(0)));
    member
}

#[test]
fn a_static_rejoin_whose_record_fails_puts_the_old_member_back() {
    let mut harness = Harness::new();
    let old = stable_static_member(&mut harness);
    let before = harness.group().clone();
    // The restarted instance rejoins with a shorter session; its record fails to commit.
    harness.now_ms = 10_000;
    harness.request_from(
        client(1),
        join_with(MemberId::unknown(), Some("i1"), |request| {
            request.session_timeout_ms = 20_000;
            request.rebalance_timeout_ms = 60_000;
        }),
    );
    let new = harness.group().static_members["i1"].clone();
    assert_ne!(new, old);
    harness.now_ms = 10_500;
    let effects = harness.complete_appends(Err(ErrorCode::NotEnoughReplicas));
    // Kafka's answer: no member id, the current generation, the leader before the rejoin.
    assert_eq!(
        effects,
        vec![Effect::Send {
            to: client(1),
            message: Message::JoinGroupResponse(JoinGroupResponse {
                correlation: CorrelationId(1),
                error: Some(ErrorCode::CoordinatorNotAvailable),
                generation: GenerationId(1),
                protocol_name: Some("range".into()),
                leader: old.clone(),
                member_id: MemberId::unknown(),
                members: Vec::new(),
                skip_assignment: false,
            }),
        }]
    );
    // The group is as it was, and the old member's session runs again in full.
    assert_eq!(harness.group(), &before);
    assert_eq!(
        harness.deadline_ms(harness.session_timer(&old)),
        Some(10_500 + 45_000)
    );
    assert_eq!(heartbeat_error(&mut harness, &old, Some("i1")), None);
    assert_eq!(
        heartbeat_error(&mut harness, &new, Some("i1")),
        Some(ErrorCode::FencedInstanceId)
    );
}

#[test]
fn a_static_rejoin_whose_partition_is_unloaded_is_answered_not_coordinator() {
    let mut harness = Harness::new();
    stable_static_member(&mut harness);
    harness.request(join(MemberId::unknown(), Some("i1")));
    let new = harness.group().static_members["i1"].clone();
    let effects =
        harness.run(|coordinator, context| coordinator.unload(context, offsets_partition()));
    assert_eq!(
        effects[0],
        refused(CONSUMER, new, ErrorCode::NotCoordinator)
    );
}
