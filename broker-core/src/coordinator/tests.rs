//! Handler tests: the coordinator driven directly, its exact answers, events, marks and
//! appends asserted. The harness here is shared with the sibling `*_tests.rs` files.

use super::*;
use crate::error::ErrorCode;
use crate::event::MemberRemovalReason;
use crate::ids::{ClientId, CorrelationId, LeaderEpoch, Offset, PartitionId};
use crate::partition::LocalCompletion;
use crate::protocol::{
    HeartbeatRequest, JoinGroupProtocol, JoinGroupRequest, JoinGroupResponse, OffsetAndMetadata,
    OffsetCommitRequest, OffsetFetchRequest, Subscription, SyncGroupRequest,
};
use crate::record::Record;
use crate::topic::TopicName;
use records::CoordinatorRecord;

pub(super) struct Harness {
    pub(super) coordinator: GroupCoordinator,
    pub(super) config: BrokerConfig,
    pub(super) bugs: BugSwitches,
    pub(super) timers: TimerTable<BrokerTimer>,
    pub(super) now_ms: u64,
}

pub(super) const CONSUMER: NodeId = NodeId::Consumer(ClientId(1));

/// The client of the `index`-th member of a multi-member group (the first is `CONSUMER`).
pub(super) fn client(index: u32) -> NodeId {
    NodeId::Consumer(ClientId(index + 1))
}

pub(super) fn group() -> GroupId {
    GroupId("g".into())
}

pub(super) fn topic_partition() -> TopicPartition {
    TopicPartition::new(TopicName::from_static("t"), PartitionId(0))
}

impl Harness {
    pub(super) fn new() -> Harness {
        let mut harness = Harness {
            coordinator: GroupCoordinator::default(),
            config: BrokerConfig {
                offsets_topic_num_partitions: 1,
                ..BrokerConfig::default()
            },
            bugs: BugSwitches::default(),
            timers: TimerTable::default(),
            now_ms: 0,
        };
        harness.run(|coordinator, context| {
            coordinator.load(context, offsets_partition(), &[], Offset(0))
        });
        harness
    }

    pub(super) fn run(
        &mut self,
        act: impl FnOnce(&mut GroupCoordinator, &mut CoordinatorContext<'_>),
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut context = CoordinatorContext {
            now_ms: self.now_ms,
            broker: BrokerId(1),
            incarnation: 1,
            config: &self.config,
            bugs: self.bugs,
            timers: &mut self.timers,
            effects: &mut effects,
        };
        act(&mut self.coordinator, &mut context);
        effects
    }

    pub(super) fn request(&mut self, message: Message) -> Vec<Effect> {
        self.request_from(CONSUMER, message)
    }

    pub(super) fn request_from(&mut self, from: NodeId, message: Message) -> Vec<Effect> {
        self.run(|coordinator, context| coordinator.handle_request(context, from, message))
    }

    /// Completes every pending append with `result`.
    pub(super) fn complete_appends(&mut self, result: Result<Offset, ErrorCode>) -> Vec<Effect> {
        let appends = self.coordinator.take_appends();
        self.run(|coordinator, context| {
            for append in appends {
                coordinator.on_append_completed(
                    context,
                    LocalCompletion {
                        partition: append.partition,
                        waiter: append.waiter,
                        result,
                    },
                );
            }
        })
    }

    pub(super) fn fire(&mut self, timer: CoordinatorTimer) -> Vec<Effect> {
        self.now_ms = self
            .timers
            .deadline_ms(BrokerTimer::Coordinator(timer))
            .expect("timer set");
        self.timers.cancel(BrokerTimer::Coordinator(timer));
        self.run(|coordinator, context| coordinator.on_timer(context, timer))
    }

    pub(super) fn group(&self) -> &ClassicGroup {
        self.coordinator
            .group(offsets_partition(), &group())
            .expect("group loaded")
    }

    /// The deadline of a coordinator timer, if set.
    pub(super) fn deadline_ms(&self, timer: CoordinatorTimer) -> Option<u64> {
        self.timers.deadline_ms(BrokerTimer::Coordinator(timer))
    }

    /// The group's join timer.
    pub(super) fn join_timer(&self) -> CoordinatorTimer {
        CoordinatorTimer::Join(self.group().join_key)
    }

    /// A member's session timer.
    pub(super) fn session_timer(&self, member: &MemberId) -> CoordinatorTimer {
        CoordinatorTimer::Session(self.group().members[member].session_key)
    }

    /// A dynamic member from `from` asks for an id (KIP-394) and joins with it; returns the
    /// id. The group is then in a join phase.
    pub(super) fn dynamic_member_joins(&mut self, from: NodeId) -> MemberId {
        let effects = self.request_from(from, join(MemberId::unknown(), None));
        let member = join_response(&effects).member_id;
        self.request_from(from, join(member.clone(), None));
        member
    }

    /// One member joined and the first join phase ended: generation 1, CompletingRebalance.
    pub(super) fn joined_member(&mut self) -> MemberId {
        let member = self.dynamic_member_joins(CONSUMER);
        let effects = self.fire(self.join_timer());
        assert_eq!(join_response(&effects).generation, GenerationId(1));
        member
    }

    /// One member joined, synced and Stable in generation 1; returns its id.
    pub(super) fn stable_member(&mut self) -> MemberId {
        let member = self.joined_member();
        self.request(sync(member.clone(), GenerationId(1)));
        self.complete_appends(Ok(Offset(0)));
        assert_eq!(self.group().state, GroupState::Stable);
        member
    }

    /// `count` dynamic members (from `client(0)`, `client(1)`, ...) joined during the first
    /// join phase (which each newcomer extends), synced and Stable in generation 1. The
    /// first is the leader; the ids are in joining order.
    pub(super) fn stable_members(&mut self, count: u32) -> Vec<MemberId> {
        let members: Vec<MemberId> = (0..count)
            .map(|index| self.dynamic_member_joins(client(index)))
            .collect();
        while self.group().state == GroupState::PreparingRebalance {
            self.fire(self.join_timer());
        }
        assert_eq!(self.group().generation, GenerationId(1));
        assert_eq!(self.group().leader.as_ref(), Some(&members[0]));
        for (index, member) in members.iter().enumerate().rev() {
            self.request_from(client(index as u32), sync(member.clone(), GenerationId(1)));
        }
        self.complete_appends(Ok(Offset(0)));
        assert_eq!(self.group().state, GroupState::Stable);
        members
    }
}

pub(super) fn offsets_partition() -> TopicPartition {
    crate::offsets_topic::group_partition(&group(), 1)
}

pub(super) fn join(member_id: MemberId, instance: Option<&str>) -> Message {
    Message::JoinGroup(JoinGroupRequest {
        correlation: CorrelationId(1),
        group: group(),
        session_timeout_ms: 45_000,
        rebalance_timeout_ms: 300_000,
        member_id,
        group_instance_id: instance.map(str::to_string),
        protocol_type: "consumer".into(),
        protocols: vec![JoinGroupProtocol {
            name: "range".into(),
            metadata: Subscription::default(),
        }],
        reason: String::new(),
    })
}

pub(super) fn sync(member_id: MemberId, generation: GenerationId) -> Message {
    Message::SyncGroup(SyncGroupRequest {
        correlation: CorrelationId(2),
        group: group(),
        generation,
        member_id: member_id.clone(),
        group_instance_id: None,
        protocol_type: "consumer".into(),
        protocol_name: "range".into(),
        assignments: vec![(
            member_id,
            Assignment {
                partitions: vec![topic_partition()],
            },
        )],
    })
}

pub(super) fn commit(member_id: MemberId, generation: GenerationId, offset: u64) -> Message {
    Message::OffsetCommit(OffsetCommitRequest {
        correlation: CorrelationId(3),
        group: group(),
        generation,
        member_id,
        group_instance_id: None,
        offsets: vec![(
            topic_partition(),
            OffsetAndMetadata {
                offset: Offset(offset),
                leader_epoch: Some(LeaderEpoch(0)),
            },
        )],
    })
}

pub(super) fn join_response(effects: &[Effect]) -> JoinGroupResponse {
    effects
        .iter()
        .find_map(|effect| match effect {
            Effect::Send {
                message: Message::JoinGroupResponse(response),
                ..
            } => Some(response.clone()),
            _ => None,
        })
        .expect("a JoinGroup response")
}

pub(super) fn commit_result(effects: &[Effect]) -> Result<(), ErrorCode> {
    effects
        .iter()
        .find_map(|effect| match effect {
            Effect::Send {
                message: Message::OffsetCommitResponse(response),
                ..
            } => Some(response.results[0].1),
            _ => None,
        })
        .expect("an OffsetCommit response")
}

pub(super) fn fetched(harness: &mut Harness) -> Option<Offset> {
    let effects = harness.request(Message::OffsetFetch(OffsetFetchRequest {
        correlation: CorrelationId(4),
        group: group(),
        partitions: vec![topic_partition()],
        require_stable: false,
    }));
    match &effects[..] {
        [Effect::Send {
            message: Message::OffsetFetchResponse(response),
            ..
        }] => response.offsets[0]
            .1
            .expect("no partition error without require_stable")
            .map(|value| value.offset),
        other => panic!("unexpected {other:?}"),
    }
}

pub(super) fn has_mark(effects: &[Effect], mark: Mark) -> bool {
    effects.contains(&Effect::Mark(mark))
}

#[test]
fn a_new_dynamic_member_is_handed_an_id_and_asked_to_join_again() {
    let mut harness = Harness::new();
    let response = join_response(&harness.request(join(MemberId::unknown(), None)));
    assert_eq!(response.error, Some(ErrorCode::MemberIdRequired));
    assert_eq!(response.member_id, MemberId("cons1-b1-i1-1".into()));
    assert!(harness.group().members.is_empty());
    assert!(harness
        .group()
        .pending_members
        .contains_key(&response.member_id));
}

#[test]
fn a_group_request_for_a_partition_not_loaded_is_answered_not_coordinator() {
    let mut harness = Harness::new();
    harness.run(|coordinator, context| coordinator.unload(context, offsets_partition()));
    let effects = harness.request(join(MemberId::unknown(), None));
    assert_eq!(
        join_response(&effects).error,
        Some(ErrorCode::NotCoordinator)
    );
    assert!(has_mark(&effects, Mark::CoordinatorAnsweredNotCoordinator));
}

#[test]
fn a_session_timeout_outside_the_brokers_bounds_is_refused() {
    let mut harness = Harness::new();
    let Message::JoinGroup(mut request) = join(MemberId::unknown(), None) else {
        unreachable!()
    };
    request.session_timeout_ms = 1_000;
    let effects = harness.request(Message::JoinGroup(request));
    assert_eq!(
        join_response(&effects).error,
        Some(ErrorCode::InvalidSessionTimeout)
    );
}

#[test]
fn the_first_rebalance_waits_for_the_initial_delay_then_syncs_the_leaders_assignment() {
    let mut harness = Harness::new();
    let member = join_response(&harness.request(join(MemberId::unknown(), None))).member_id;
    let effects = harness.request(join(member.clone(), None));
    assert!(has_mark(&effects, Mark::RebalanceStarted));
    assert_eq!(harness.group().state, GroupState::PreparingRebalance);
    let join_key = harness.group().join_key;
    assert_eq!(
        harness
            .timers
            .deadline_ms(BrokerTimer::Coordinator(CoordinatorTimer::Join(join_key))),
        Some(3_000)
    );
    let effects = harness.fire(CoordinatorTimer::Join(join_key));
    let response = join_response(&effects);
    assert_eq!(response.generation, GenerationId(1));
    assert_eq!(response.leader, member);
    assert_eq!(response.protocol_name.as_deref(), Some("range"));
    assert_eq!(response.members.len(), 1);
    assert_eq!(harness.group().state, GroupState::CompletingRebalance);
    // The leader's SyncGroup waits for its assignment record to be committed.
    assert!(harness
        .request(sync(member.clone(), GenerationId(1)))
        .is_empty());
    let appends = harness.coordinator.shared.appends.clone();
    assert_eq!(appends.len(), 1);
    assert_eq!(appends[0].partition, offsets_partition());
    let effects = harness.complete_appends(Ok(Offset(0)));
    assert!(effects.iter().any(|effect| matches!(effect,
        Effect::Send { message: Message::SyncGroupResponse(response), .. }
            if response.error.is_none() && response.assignment.partitions == vec![topic_partition()])));
    assert_eq!(harness.group().state, GroupState::Stable);
}

#[test]
fn a_failed_assignment_write_answers_the_members_and_rebalances() {
    let mut harness = Harness::new();
    let member = harness.joined_member();
    harness.request(sync(member, GenerationId(1)));
    let effects = harness.complete_appends(Err(ErrorCode::NotEnoughReplicas));
    assert!(effects.iter().any(|effect| matches!(effect,
        Effect::Send { message: Message::SyncGroupResponse(response), .. }
            if response.error == Some(ErrorCode::CoordinatorNotAvailable))));
    assert_eq!(harness.group().state, GroupState::PreparingRebalance);
}

#[test]
fn a_commit_is_answered_only_once_committed_and_then_fetched() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    let effects = harness.request(commit(member, GenerationId(1), 5));
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(fetched(&mut harness), None);
    let effects = harness.complete_appends(Ok(Offset(1)));
    assert_eq!(commit_result(&effects), Ok(()));
    assert!(effects.iter().any(|effect| matches!(
        effect,
        Effect::Event(Event::OffsetCommitAnswered {
            group_generation: GenerationId(1),
            group_state: GroupState::Stable,
            result: Ok(()),
            ..
        })
    )));
    assert_eq!(fetched(&mut harness), Some(Offset(5)));
}

#[test]
fn a_commit_whose_append_fails_is_refused_and_not_applied() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    harness.request(commit(member.clone(), GenerationId(1), 5));
    let effects = harness.complete_appends(Err(ErrorCode::RequestTimedOut));
    assert_eq!(
        commit_result(&effects),
        Err(ErrorCode::CoordinatorNotAvailable)
    );
    harness.request(commit(member, GenerationId(1), 6));
    let effects = harness.complete_appends(Err(ErrorCode::NotLeaderOrFollower));
    assert_eq!(commit_result(&effects), Err(ErrorCode::NotCoordinator));
    assert_eq!(fetched(&mut harness), None);
}

#[test]
fn a_commit_from_a_stale_generation_is_refused() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    let effects = harness.request(commit(member, GenerationId(0), 5));
    assert_eq!(commit_result(&effects), Err(ErrorCode::IllegalGeneration));
    assert!(has_mark(&effects, Mark::CommitRefusedIllegalGeneration));
    assert!(harness.coordinator.take_appends().is_empty());
}

#[test]
fn a_commit_from_an_unknown_member_is_refused() {
    let mut harness = Harness::new();
    harness.stable_member();
    let effects = harness.request(commit(MemberId("zombie".into()), GenerationId(1), 5));
    assert_eq!(commit_result(&effects), Err(ErrorCode::UnknownMemberId));
    assert!(has_mark(&effects, Mark::CommitRefusedUnknownMember));
}

#[test]
fn a_commit_while_the_group_awaits_its_assignment_is_refused() {
    let mut harness = Harness::new();
    let member = harness.joined_member();
    let effects = harness.request(commit(member, GenerationId(1), 5));
    assert_eq!(commit_result(&effects), Err(ErrorCode::RebalanceInProgress));
    assert!(has_mark(&effects, Mark::CommitRefusedRebalanceInProgress));
}

#[test]
fn a_generationless_commit_is_accepted_only_into_an_empty_group() {
    let mut harness = Harness::new();
    harness.request(commit(MemberId::unknown(), GenerationId::NONE, 3));
    assert_eq!(
        commit_result(&harness.complete_appends(Ok(Offset(0)))),
        Ok(())
    );
    harness.stable_member();
    let effects = harness.request(commit(MemberId::unknown(), GenerationId::NONE, 4));
    assert_eq!(commit_result(&effects), Err(ErrorCode::UnknownMemberId));
}

#[test]
fn without_generation_fencing_a_stale_commit_is_accepted() {
    let mut harness = Harness::new();
    harness
        .bugs
        .enable(crate::bugs::BugSwitch::NoGenerationFencing);
    let member = harness.stable_member();
    let effects = harness.request(commit(member, GenerationId(0), 5));
    assert!(has_mark(&effects, Mark::CommitAcceptedWithoutFencing));
    assert_eq!(
        commit_result(&harness.complete_appends(Ok(Offset(1)))),
        Ok(())
    );
}

#[test]
fn heartbeats_during_a_rebalance_are_told_to_rejoin_and_stale_ones_are_fenced() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    let heartbeat = |generation| {
        Message::Heartbeat(HeartbeatRequest {
            correlation: CorrelationId(5),
            group: group(),
            generation,
            member_id: member.clone(),
            group_instance_id: None,
        })
    };
    let error_of = |effects: Vec<Effect>| match &effects[..] {
        [Effect::Send {
            message: Message::HeartbeatResponse(response),
            ..
        }] => response.error,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(error_of(harness.request(heartbeat(GenerationId(1)))), None);
    assert_eq!(
        error_of(harness.request(heartbeat(GenerationId(0)))),
        Some(ErrorCode::IllegalGeneration)
    );
    // A second member joining starts a rebalance.
    let second = join_response(&harness.request(join(MemberId::unknown(), None))).member_id;
    harness.request(join(second, None));
    assert_eq!(
        error_of(harness.request(heartbeat(GenerationId(1)))),
        Some(ErrorCode::RebalanceInProgress)
    );
}

#[test]
fn the_only_member_whose_session_expires_leaves_the_group_empty_at_once() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    let effects = harness.fire(harness.session_timer(&member));
    // Nobody is left to wait for, so the join phase ends in the same step (Kafka's
    // `maybeCompleteJoinElseSchedule`): a new, empty generation, stored.
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::GroupMemberSessionExpired),
            Effect::Event(Event::GroupMemberRemoved {
                group: group(),
                member,
                reason: MemberRemovalReason::SessionTimeout,
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
        ]
    );
    assert_eq!(harness.deadline_ms(harness.join_timer()), None);
    let appends = harness.coordinator.take_appends();
    let stored = Record::stamped(&appends[0].records[0], Offset(0), LeaderEpoch(0));
    assert!(matches!(
        CoordinatorRecord::decode(&stored),
        Some(CoordinatorRecord::GroupMetadata { value: Some(value), .. })
            if value.generation == GenerationId(2) && value.members.is_empty()
    ));
}

/// The answered commit's event, if the effects hold one.
fn commit_event(effects: &[Effect]) -> Option<&Event> {
    effects.iter().find_map(|effect| match effect {
        Effect::Event(event @ Event::OffsetCommitAnswered { .. }) => Some(event),
        _ => None,
    })
}

#[test]
fn a_commit_validated_before_its_member_expires_stands_and_says_so() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    harness.request(commit(member.clone(), GenerationId(1), 5));
    let session_key = harness.group().members[&member].session_key;
    harness.fire(CoordinatorTimer::Session(session_key));
    let effects = harness.complete_appends(Ok(Offset(1)));
    assert_eq!(commit_result(&effects), Ok(()));
    assert!(matches!(
        commit_event(&effects),
        Some(Event::OffsetCommitAnswered {
            member_in_group: true,
            group_state: GroupState::Stable,
            ..
        })
    ));
    assert_eq!(fetched(&mut harness), Some(Offset(5)));
}

#[test]
fn without_generation_fencing_an_unknown_members_commit_is_accepted_and_flagged() {
    let mut harness = Harness::new();
    harness
        .bugs
        .enable(crate::bugs::BugSwitch::NoGenerationFencing);
    harness.stable_member();
    harness.request(commit(MemberId("zombie".to_string()), GenerationId(1), 5));
    let effects = harness.complete_appends(Ok(Offset(1)));
    assert!(matches!(
        commit_event(&effects),
        Some(Event::OffsetCommitAnswered {
            member_in_group: false,
            result: Ok(()),
            ..
        })
    ));
}

#[test]
fn a_static_member_rejoining_unchanged_keeps_its_assignment_and_fences_its_old_id() {
    let mut harness = Harness::new();
    // A static member joins at once, without MEMBER_ID_REQUIRED.
    assert!(harness
        .request(join(MemberId::unknown(), Some("i1")))
        .iter()
        .all(|effect| !matches!(effect, Effect::Send { .. })));
    let join_key = harness.group().join_key;
    let old = join_response(&harness.fire(CoordinatorTimer::Join(join_key))).member_id;
    harness.request(sync(old.clone(), GenerationId(1)));
    harness.complete_appends(Ok(Offset(0)));
    let effects = harness.request(join(MemberId::unknown(), Some("i1")));
    assert!(!has_mark(&effects, Mark::RebalanceStarted));
    let effects = harness.complete_appends(Ok(Offset(1)));
    assert!(has_mark(
        &effects,
        Mark::StaticMemberRejoinedWithoutRebalance
    ));
    let response = join_response(&effects);
    assert_eq!(response.generation, GenerationId(1));
    assert!(response.skip_assignment);
    assert_eq!(harness.group().state, GroupState::Stable);
    let Message::OffsetCommit(mut request) = commit(old, GenerationId(1), 5) else {
        unreachable!()
    };
    request.group_instance_id = Some("i1".into());
    let effects = harness.request(Message::OffsetCommit(request));
    assert_eq!(commit_result(&effects), Err(ErrorCode::FencedInstanceId));
}

#[test]
fn loading_replays_the_log_and_shows_offsets_only_below_the_high_watermark() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    harness.request(commit(member.clone(), GenerationId(1), 5));
    let first = harness.coordinator.take_appends();
    harness.request(commit(member, GenerationId(1), 9));
    let second = harness.coordinator.take_appends();
    let group_record = CoordinatorRecord::GroupMetadata {
        group: group(),
        value: Some(harness.group().metadata_value()),
    };
    let log: Vec<Record> = [group_record.encode()]
        .iter()
        .chain(&first[0].records)
        .chain(&second[0].records)
        .enumerate()
        .map(|(offset, record)| Record::stamped(record, Offset(offset as u64), LeaderEpoch(0)))
        .collect();
    // Failover: a new coordinator loads a log whose last commit is not committed yet.
    let mut failover = Harness::new();
    failover.run(|coordinator, context| coordinator.unload(context, offsets_partition()));
    let effects = failover.run(|coordinator, context| {
        coordinator.load(context, offsets_partition(), &log, Offset(2))
    });
    assert!(has_mark(&effects, Mark::GroupsLoadedFromLog));
    assert!(effects.contains(&Effect::Event(Event::GroupsLoaded {
        partition: offsets_partition(),
        groups: vec![group()],
    })));
    assert_eq!(failover.group().state, GroupState::Stable);
    assert_eq!(failover.group().generation, GenerationId(1));
    assert_eq!(fetched(&mut failover), Some(Offset(5)));
    // The host hands every replica's high watermark in partition order; only the loaded
    // partition's counts, and only once it comes.
    let before = TopicPartition::new(TopicName::new("A-sorts-first"), PartitionId(7));
    let after = TopicPartition::new(
        offsets_partition().topic,
        PartitionId(offsets_partition().partition.0 + 1),
    );
    assert!(before < offsets_partition() && offsets_partition() < after);
    let others = [(before, Offset(9)), (after, Offset(9))];
    failover.coordinator.on_high_watermarks(others.into_iter());
    assert_eq!(fetched(&mut failover), Some(Offset(5)));
    let with_loaded = [before, offsets_partition(), after]
        .map(|partition| (partition, Offset(if partition == before { 9 } else { 3 })));
    failover
        .coordinator
        .on_high_watermarks(with_loaded.into_iter());
    assert_eq!(fetched(&mut failover), Some(Offset(9)));
}

#[test]
fn unloading_answers_pending_commits_not_coordinator() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    harness.request(commit(member, GenerationId(1), 5));
    let effects =
        harness.run(|coordinator, context| coordinator.unload(context, offsets_partition()));
    assert_eq!(commit_result(&effects), Err(ErrorCode::NotCoordinator));
    assert!(effects.contains(&Effect::Event(Event::GroupsUnloaded {
        partition: offsets_partition(),
        groups: vec![group()],
    })));
}

#[test]
fn unloading_answers_held_joins_not_coordinator() {
    let mut harness = Harness::new();
    harness.dynamic_member_joins(CONSUMER);
    let effects =
        harness.run(|coordinator, context| coordinator.unload(context, offsets_partition()));
    assert_eq!(
        join_response(&effects).error,
        Some(ErrorCode::NotCoordinator)
    );
}

#[test]
fn a_commit_to_a_dead_group_is_answered_coordinator_not_available_even_without_fencing() {
    let mut harness = Harness::new();
    harness
        .bugs
        .enable(crate::bugs::BugSwitch::NoGenerationFencing);
    let member = harness.stable_member();
    // Kafka's Dead is a group being removed while a request was in hand; ours drops a group
    // whole on unload, so Dead is reached only by hand here.
    harness
        .coordinator
        .partitions
        .get_mut(&offsets_partition())
        .and_then(|loaded| loaded.groups.get_mut(&group()))
        .expect("loaded")
        .state = GroupState::Dead;
    let effects = harness.request(commit(member.clone(), GenerationId(1), 5));
    assert_eq!(
        effects,
        vec![
            Effect::Send {
                to: CONSUMER,
                message: Message::OffsetCommitResponse(crate::protocol::OffsetCommitResponse {
                    correlation: CorrelationId(3),
                    results: vec![(topic_partition(), Err(ErrorCode::CoordinatorNotAvailable))],
                }),
            },
            Effect::Event(Event::OffsetCommitAnswered {
                group: group(),
                member,
                request_generation: GenerationId(1),
                group_generation: GenerationId(1),
                group_state: GroupState::Dead,
                member_in_group: true,
                offsets: vec![(topic_partition(), Offset(5))],
                result: Err(ErrorCode::CoordinatorNotAvailable),
            }),
        ]
    );
    assert!(harness.coordinator.take_appends().is_empty());
}

#[test]
fn a_commit_to_an_unloaded_partition_is_answered_not_coordinator_and_not_written() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    harness.run(|coordinator, context| coordinator.unload(context, offsets_partition()));
    let effects = harness.request(commit(member, GenerationId(1), 5));
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::CoordinatorAnsweredNotCoordinator),
            Effect::Send {
                to: CONSUMER,
                message: Message::OffsetCommitResponse(crate::protocol::OffsetCommitResponse {
                    correlation: CorrelationId(3),
                    results: vec![(topic_partition(), Err(ErrorCode::NotCoordinator))],
                }),
            },
        ]
    );
    assert!(harness.coordinator.take_appends().is_empty());
}
