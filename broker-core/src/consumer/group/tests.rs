//! Handler tests of the group consumer: each step and error path with the coordinator's
//! answers made by hand, asserting the exact effects.

use super::test_support::*;
use super::GroupTimer;
use crate::actor::{fire_due_timers, Actor, Effect};
use crate::config::{Assignor, ConsumerConfig};
use crate::consumer::test_support::{b, fetch_response, list_offsets, send_to};
use crate::consumer::CommitKind;
use crate::error::ErrorCode;
use crate::event::{CommitId, Event};
use crate::ids::{CorrelationId, GenerationId, LeaderEpoch, MemberId, Offset};
use crate::mark::Mark;
use crate::protocol::{
    Assignment, FetchRequest, LeaveGroupRequest, LeavingMember, Message, OffsetSpec,
};
use crate::topic::TopicPartition;

fn fetch_from(
    correlation: u64,
    partition: TopicPartition,
    offset: u64,
    epoch: Option<u32>,
) -> Effect {
    send_to(
        1,
        Message::Fetch(FetchRequest {
            rack_id: None,
            correlation: CorrelationId(correlation),
            partition,
            replica: None,
            replica_epoch: None,
            current_leader_epoch: LeaderEpoch(0),
            fetch_offset: Offset(offset),
            last_fetched_epoch: epoch.map(LeaderEpoch),
            max_records: 2,
            max_wait_ms: 500,
            isolation_level: crate::protocol::IsolationLevel::ReadUncommitted,
            log_start_offset: None,
        }),
    )
}

fn events(effects: &[Effect]) -> Vec<Event> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Event(event) => Some(event.clone()),
            _ => None,
        })
        .collect()
}

/// A stable consumer whose t0 position came from the committed offset 5 (fetch 6 in
/// flight) and t1's from `auto_offset_reset` (ListOffsets 7, answered 0: fetch 8).
fn fetching_consumer(config: ConsumerConfig) -> crate::consumer::Consumer {
    let mut consumer = stable_consumer(config);
    let effects = consumer.handle(11, committed_offsets(5, &[(T0, Some(5)), (T1, None)]));
    assert_eq!(
        effects,
        vec![
            Effect::Event(Event::PositionFromCommitted {
                group: group(),
                partition: T0,
                committed: Some(Offset(5)),
            }),
            Effect::Event(Event::PositionFromCommitted {
                group: group(),
                partition: T1,
                committed: None,
            }),
            fetch_from(6, T0, 5, None),
            send_to(
                1,
                Message::ListOffsets(crate::protocol::ListOffsetsRequest {
                    correlation: CorrelationId(7),
                    partition: T1,
                    spec: OffsetSpec::Earliest,
                    isolation_level: crate::protocol::IsolationLevel::ReadUncommitted,
                    replica: None,
                })
            ),
        ]
    );
    let _ = list_offsets;
    let effects = consumer.handle(
        12,
        crate::consumer::test_support::message_from(
            1,
            Message::ListOffsetsResponse(crate::protocol::ListOffsetsResponse {
                correlation: CorrelationId(7),
                partition: T1,
                result: Ok(Offset(0)),
            }),
        ),
    );
    assert_eq!(effects[1], fetch_from(8, T1, 0, None));
    consumer
}

fn t0_records(correlation: u64, records: &[(u64, u64)]) -> crate::actor::Input {
    let records: Vec<(u64, u32, u64)> = records.iter().map(|&(o, v)| (o, 0, v)).collect();
    match fetch_response(1, correlation, &records) {
        crate::actor::Input::Message {
            from,
            message: Message::FetchResponse(mut response),
        } => {
            response.partition = T0;
            crate::actor::Input::Message {
                from,
                message: Message::FetchResponse(response),
            }
        }
        _ => unreachable!("fetch_response builds a fetch response"),
    }
}

#[test]
fn joins_with_the_handed_out_member_id_and_gets_its_assignment() {
    let config = group_config();
    let mut consumer = consumer_with_coordinator(config.clone());
    // Nothing joins before the application polls.
    assert_eq!(consumer.next_deadline_ms(), Some(60_001));
    let outcome = consumer.poll(10);
    assert!(outcome.records.is_empty());
    assert_eq!(
        outcome.effects,
        vec![join(
            &config,
            3,
            MemberId::unknown(),
            &[],
            GenerationId::NONE,
            ""
        )]
    );
    // KIP-394: the first join gets a member id and must join again with it.
    let effects = consumer.handle(11, join_error(3, ErrorCode::MemberIdRequired, member()));
    assert_eq!(
        effects,
        vec![join(&config, 4, member(), &[], GenerationId::NONE, "")]
    );
    let effects = consumer.handle(
        12,
        joined_as_leader(4, 1, Assignor::Range, &[], GenerationId::NONE),
    );
    let assignment = vec![(
        member(),
        Assignment {
            partitions: vec![T0, T1],
        },
    )];
    assert_eq!(effects, vec![sync(5, 1, Assignor::Range, assignment)]);
    let effects = consumer.handle(13, synced(5, &[T0, T1]));
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::ConsumerJoinedGroup),
            Effect::Event(Event::PartitionsAssigned {
                group: group(),
                generation: GenerationId(1),
                member: member(),
                added: vec![T0, T1],
                assignment: vec![T0, T1],
            }),
            offset_fetch(6, &[T0, T1]),
        ]
    );
    assert_eq!(consumer.assignment(), vec![T0, T1]);
    // The heartbeat thread started at the JoinGroup answer.
    assert_eq!(
        timer_deadline(&consumer, GroupTimer::Heartbeat),
        Some(3_012)
    );
    assert_eq!(
        timer_deadline(&consumer, GroupTimer::SessionTimeout),
        Some(10_012)
    );
    assert_eq!(
        timer_deadline(&consumer, GroupTimer::PollTimeout),
        Some(20_012)
    );
}

#[test]
fn positions_come_from_committed_offsets_else_auto_offset_reset() {
    let consumer = fetching_consumer(group_config());
    assert_eq!(consumer.position(T0), Some(Offset(5)));
    assert_eq!(consumer.position(T1), Some(Offset(0)));
}

#[test]
fn poll_returns_at_most_max_poll_records_and_emits_polled() {
    let mut consumer = fetching_consumer(group_config());
    let effects = consumer.handle(13, t0_records(6, &[(5, 50), (6, 60), (7, 70)]));
    // Buffered, not handed out: no Polled event, and no fetch until the buffer drains.
    assert!(events(&effects).is_empty());
    assert!(consumer.has_records_for_poll());
    let outcome = consumer.poll(14);
    let offsets: Vec<u64> = outcome
        .records
        .iter()
        .map(|record| record.offset.0)
        .collect();
    assert_eq!(offsets, vec![5, 6]);
    assert_eq!(
        events(&outcome.effects),
        vec![Event::Polled {
            partition: T0,
            records: vec![(Offset(5), 50), (Offset(6), 60)]
        }]
    );
    let outcome = consumer.poll(15);
    assert_eq!(outcome.records.len(), 1);
    // Drained: t0 is fetched again from 8.
    assert_eq!(
        sent(&outcome.effects),
        sent(&[fetch_from(9, T0, 8, Some(0))])
    );
    assert!(!consumer.has_records_for_poll());
}

#[test]
fn heartbeats_continue_while_the_application_processes() {
    let mut consumer = stable_consumer(group_config());
    // No poll for a while: the heartbeat thread still heartbeats every 3 s.
    let effects = fire_due_timers(&mut consumer, 3_010);
    assert_eq!(effects, vec![heartbeat(6, 1)]);
    assert_eq!(consumer.handle(3_020, heartbeat_answer(6, None)), vec![]);
    assert_eq!(
        timer_deadline(&consumer, GroupTimer::SessionTimeout),
        Some(13_020)
    );
    let effects = fire_due_timers(&mut consumer, 6_010);
    assert_eq!(sent(&effects), sent(&[heartbeat(7, 1)]));
}

#[test]
fn poll_timeout_leaves_the_group_and_the_next_poll_finds_partitions_lost() {
    let config = group_config();
    let mut consumer = stable_consumer(config.clone());
    // Heartbeats answered in time, so only the poll timeout (20 s after the join) fires.
    for (at_ms, correlation) in [
        (3_010, 6),
        (6_010, 7),
        (9_010, 8),
        (12_010, 9),
        (15_010, 10),
        (18_010, 11),
    ] {
        assert_eq!(
            sent(&fire_due_timers(&mut consumer, at_ms)),
            sent(&[heartbeat(correlation, 1)])
        );
        consumer.handle(at_ms, heartbeat_answer(correlation, None));
    }
    let effects = fire_due_timers(&mut consumer, 20_010);
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::ConsumerPollTimeoutLeftGroup),
            send_to(
                COORDINATOR,
                Message::LeaveGroup(LeaveGroupRequest {
                    correlation: CorrelationId(12),
                    group: group(),
                    members: vec![LeavingMember {
                        member_id: member(),
                        group_instance_id: None,
                        reason: "consumer poll timeout has expired.".to_string(),
                    }],
                }),
            ),
        ]
    );
    // No more heartbeats: the member is out of its generation.
    assert_eq!(timer_deadline(&consumer, GroupTimer::Heartbeat), None);
    let outcome = consumer.poll(21_000);
    assert_eq!(
        outcome.effects,
        vec![
            Effect::Event(Event::PartitionsRevoked {
                group: group(),
                partitions: vec![T0, T1],
                lost: true
            }),
            join(
                &config,
                13,
                MemberId::unknown(),
                &[],
                GenerationId::NONE,
                "consumer poll timeout has expired."
            ),
        ]
    );
}

#[test]
fn a_static_member_does_not_send_leave_group_on_poll_timeout() {
    let config = ConsumerConfig {
        group_instance_id: Some("i1".to_string()),
        ..group_config()
    };
    let mut consumer = syncing_consumer(config);
    consumer.handle(10, synced(4, &[T0, T1]));
    // Heartbeats are answered, so only the poll timeout fires.
    for (correlation, at_ms) in (6..).zip([3_010, 6_010, 9_010, 12_010, 15_010, 18_010]) {
        fire_due_timers(&mut consumer, at_ms);
        consumer.handle(at_ms, heartbeat_answer(correlation, None));
    }
    let effects = fire_due_timers(&mut consumer, 20_010);
    assert_eq!(
        effects,
        vec![Effect::Mark(Mark::ConsumerPollTimeoutLeftGroup)]
    );
}

#[test]
fn auto_commit_commits_only_what_earlier_polls_returned() {
    let mut consumer = fetching_consumer(group_config());
    consumer.handle(13, t0_records(6, &[(5, 50), (6, 60), (7, 70)]));
    consumer.poll(14); // returns 5 and 6
                       // At the auto-commit interval: the positions of what polls returned (t0: 7, not 8),
                       // before this poll returns offset 7.
    let outcome = consumer.poll(5_000);
    assert_eq!(outcome.records.len(), 1);
    assert_eq!(
        outcome.effects[..2],
        [
            Effect::Event(Event::OffsetCommitStarted {
                group: group(),
                commit: CommitId(1),
                generation: GenerationId(1),
                offsets: vec![(T0, Offset(7)), (T1, Offset(0))],
                automatic: true,
            }),
            offset_commit(9, 1, &[(T0, 7, Some(0)), (T1, 0, None)]),
        ]
    );
    let effects = consumer.handle(5_001, commit_answer(9, &[T0, T1], Ok(())));
    assert_eq!(
        events(&effects),
        vec![Event::OffsetCommitCompleted {
            group: group(),
            commit: CommitId(1),
            offsets: vec![(T0, Offset(7)), (T1, Offset(0))],
            result: Ok(()),
        }]
    );
}

#[test]
fn eager_rebalance_auto_commits_then_revokes_everything_before_joining() {
    let config = group_config();
    let mut consumer = fetching_consumer(config.clone());
    consumer.handle(13, t0_records(6, &[(5, 50)]));
    consumer.poll(14);
    assert_eq!(
        sent(&fire_due_timers(&mut consumer, 3_010)),
        sent(&[heartbeat(10, 1)])
    );
    consumer.handle(
        3_011,
        heartbeat_answer(10, Some(ErrorCode::RebalanceInProgress)),
    );
    let outcome = consumer.poll(3_020);
    assert_eq!(
        outcome.effects,
        vec![
            Effect::Event(Event::OffsetCommitStarted {
                group: group(),
                commit: CommitId(1),
                generation: GenerationId(1),
                offsets: vec![(T0, Offset(6)), (T1, Offset(0))],
                automatic: true,
            }),
            offset_commit(11, 1, &[(T0, 6, Some(0)), (T1, 0, None)]),
            Effect::Mark(Mark::ConsumerAutoCommitBeforeRebalance),
        ]
    );
    // The join waits for the commit; then everything is revoked and the join goes.
    let effects = consumer.handle(3_030, commit_answer(11, &[T0, T1], Ok(())));
    assert_eq!(
        effects[1..],
        [
            Effect::Mark(Mark::ConsumerEagerRevocation),
            Effect::Event(Event::PartitionsRevoked {
                group: group(),
                partitions: vec![T0, T1],
                lost: false
            }),
            join(
                &config,
                12,
                member(),
                &[],
                GenerationId(1),
                "group is already rebalancing"
            ),
        ]
    );
    assert!(consumer.assignment().is_empty());
}

#[test]
fn cooperative_rebalance_revokes_only_the_moved_partitions_then_rejoins() {
    let config = cooperative_config();
    let mut consumer = stable_consumer(config.clone());
    consumer.handle(11, committed_offsets(5, &[(T0, Some(5)), (T1, Some(9))]));
    assert_eq!(
        sent(&fire_due_timers(&mut consumer, 3_010)),
        sent(&[heartbeat(8, 1)])
    );
    consumer.handle(
        3_011,
        heartbeat_answer(8, Some(ErrorCode::RebalanceInProgress)),
    );
    // Cooperative: the prepare commits but revokes nothing; the join carries owned partitions.
    let outcome = consumer.poll(3_020);
    assert_eq!(
        sent(&outcome.effects),
        sent(&[offset_commit(9, 1, &[(T0, 5, None), (T1, 9, None)])])
    );
    let effects = consumer.handle(3_030, commit_answer(9, &[T0, T1], Ok(())));
    assert_eq!(
        sent(&effects),
        sent(&[join(
            &config,
            10,
            member(),
            &[T0, T1],
            GenerationId(1),
            "group is already rebalancing"
        )])
    );
    assert_eq!(consumer.assignment(), vec![T0, T1]);
    // The group (another member joined) moves t1 away: only t1 is revoked.
    let joined = joined_as_leader(
        10,
        2,
        Assignor::CooperativeSticky,
        &[T0, T1],
        GenerationId(1),
    );
    let effects = consumer.handle(3_040, joined);
    assert_eq!(sent(&effects).len(), 1);
    let effects = consumer.handle(3_050, synced(11, &[T0]));
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::ConsumerCooperativeKeptPartitions),
            Effect::Event(Event::PartitionsRevoked {
                group: group(),
                partitions: vec![T1],
                lost: false
            }),
            Effect::Mark(Mark::ConsumerJoinedGroup),
            Effect::Event(Event::PartitionsAssigned {
                group: group(),
                generation: GenerationId(2),
                member: member(),
                added: vec![],
                assignment: vec![T0],
            }),
        ]
    );
    assert_eq!(consumer.assignment(), vec![T0]);
    // t0 kept its position; a rejoin follows at the next poll.
    assert_eq!(consumer.position(T0), Some(Offset(5)));
    let outcome = consumer.poll(3_060);
    assert!(sent(&outcome.effects)
        .iter()
        .any(|message| matches!(message, Message::OffsetCommit(_))));
}

#[test]
fn a_commit_outside_a_generation_fails_at_once() {
    let mut consumer = consumer_with_coordinator(group_config());
    let (id, effects) = consumer.commit(5, Some(vec![(T0, Offset(3))]), CommitKind::Sync);
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::ConsumerCommitOutsideGeneration),
            Effect::Event(Event::OffsetCommitCompleted {
                group: group(),
                commit: id,
                offsets: vec![(T0, Offset(3))],
                result: Err(ErrorCode::CommitFailed),
            }),
        ]
    );
}

#[test]
fn a_refused_commit_is_not_retried_and_resets_the_generation() {
    let config = group_config();
    let mut consumer = fetching_consumer(config.clone());
    let (id, effects) = consumer.commit(20, Some(vec![(T0, Offset(5))]), CommitKind::Sync);
    assert_eq!(
        sent(&effects),
        sent(&[offset_commit(9, 1, &[(T0, 5, None)])])
    );
    let effects = consumer.handle(
        21,
        commit_answer(9, &[T0], Err(ErrorCode::IllegalGeneration)),
    );
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::ConsumerCommitRefused),
            Effect::Event(Event::OffsetCommitCompleted {
                group: group(),
                commit: id,
                offsets: vec![(T0, Offset(5))],
                result: Err(ErrorCode::IllegalGeneration),
            }),
        ]
    );
    // Out of the generation, member id kept: the next poll rejoins, partitions lost.
    let outcome = consumer.poll(30);
    assert_eq!(
        outcome.effects[1],
        join(
            &config,
            10,
            member(),
            &[],
            GenerationId::NONE,
            "offset commit error"
        )
    );
    assert!(matches!(
        outcome.effects[0],
        Effect::Event(Event::PartitionsRevoked { lost: true, .. })
    ));
}

#[test]
fn a_sync_commit_retries_after_the_coordinator_moved_until_its_deadline() {
    let mut consumer = fetching_consumer(group_config());
    let (id, _) = consumer.commit(20, Some(vec![(T0, Offset(5))]), CommitKind::Sync);
    let effects = consumer.handle(21, commit_answer(9, &[T0], Err(ErrorCode::NotCoordinator)));
    // The coordinator is looked up again; the commit waits for it.
    assert_eq!(sent(&effects), sent(&[find_coordinator(1, 10)]));
    let effects = consumer.handle(22, coordinator_found(1, 10, 3));
    assert_eq!(
        effects[0],
        Effect::Mark(Mark::ConsumerCoordinatorRediscovered)
    );
    // After the retry backoff (100 ms from the failure) it goes to the new coordinator.
    let effects = fire_due_timers(&mut consumer, 121);
    assert!(matches!(&sent(&effects)[..], [Message::OffsetCommit(_)]));
    assert!(effects.iter().all(|effect| !matches!(effect, Effect::Send { to, .. } if *to != crate::ids::NodeId::Broker(b(3)))));
    // No answer: at the deadline (4 s) it gives up.
    let effects = fire_due_timers(&mut consumer, 4_020);
    assert!(events(&effects).contains(&Event::OffsetCommitCompleted {
        group: group(),
        commit: id,
        offsets: vec![(T0, Offset(5))],
        result: Err(ErrorCode::ClientTimeout),
    }));
}

#[test]
fn an_async_commit_is_sent_once() {
    let mut consumer = fetching_consumer(group_config());
    let (id, _) = consumer.commit(20, Some(vec![(T0, Offset(5))]), CommitKind::Async);
    let effects = consumer.handle(
        21,
        commit_answer(9, &[T0], Err(ErrorCode::CoordinatorLoadInProgress)),
    );
    assert_eq!(
        events(&effects),
        vec![Event::OffsetCommitCompleted {
            group: group(),
            commit: id,
            offsets: vec![(T0, Offset(5))],
            result: Err(ErrorCode::CoordinatorLoadInProgress),
        }]
    );
}

#[test]
fn session_timeout_without_heartbeat_answers_rediscovers_the_coordinator() {
    let mut consumer = stable_consumer(group_config());
    fire_due_timers(&mut consumer, 3_010);
    fire_due_timers(&mut consumer, 6_010);
    fire_due_timers(&mut consumer, 9_010);
    // No answer since the join at 10: at 10_010 the session is over.
    let effects = fire_due_timers(&mut consumer, 10_010);
    assert_eq!(sent(&effects), sent(&[find_coordinator(1, 9)]));
    let effects = consumer.handle(10_020, coordinator_found(1, 9, COORDINATOR));
    assert_eq!(
        effects,
        vec![Effect::Mark(Mark::ConsumerCoordinatorRediscovered)]
    );
}

#[test]
fn heartbeat_unknown_member_resets_and_rejoins_with_partitions_lost() {
    let config = group_config();
    let mut consumer = stable_consumer(config.clone());
    fire_due_timers(&mut consumer, 3_010);
    consumer.handle(3_011, heartbeat_answer(6, Some(ErrorCode::UnknownMemberId)));
    assert_eq!(timer_deadline(&consumer, GroupTimer::Heartbeat), None);
    let outcome = consumer.poll(3_020);
    assert_eq!(
        outcome.effects,
        vec![
            Effect::Event(Event::PartitionsRevoked {
                group: group(),
                partitions: vec![T0, T1],
                lost: true
            }),
            join(
                &config,
                7,
                MemberId::unknown(),
                &[],
                GenerationId::NONE,
                "heartbeat error"
            ),
        ]
    );
}

#[test]
fn assign_mode_poll_returns_nothing_and_sends_nothing() {
    let mut consumer = crate::consumer::test_support::consumer_at_offset_3();
    assert!(!consumer.has_records_for_poll());
    let outcome = consumer.poll(4);
    assert!(outcome.records.is_empty() && outcome.effects.is_empty());
}

#[test]
fn the_join_waits_for_metadata_so_the_leader_can_assign() {
    let config = group_config();
    let mut consumer =
        crate::consumer::Consumer::subscribed(CLIENT, config.clone(), vec![b(1)], vec![T0.topic]);
    consumer.handle(0, crate::actor::Input::Start);
    consumer.handle(1, coordinator_found(1, 2, COORDINATOR));
    let outcome = consumer.poll(2);
    assert!(outcome.effects.is_empty());
    assert_eq!(timer_deadline(&consumer, GroupTimer::Join), None);
    let effects = consumer.handle(
        3,
        crate::consumer::test_support::metadata_response(1, 1, two_partition_image()),
    );
    assert_eq!(
        effects,
        vec![join(
            &config,
            3,
            MemberId::unknown(),
            &[],
            GenerationId::NONE,
            ""
        )]
    );
}

#[test]
fn revoked_partitions_drop_their_buffered_records() {
    let config = ConsumerConfig {
        enable_auto_commit: false,
        ..group_config()
    };
    let mut consumer = fetching_consumer(config);
    consumer.handle(13, t0_records(6, &[(5, 50), (6, 60), (7, 70)]));
    consumer.poll(14);
    assert!(consumer.has_records_for_poll());
    assert_eq!(
        sent(&fire_due_timers(&mut consumer, 3_010)),
        sent(&[heartbeat(9, 1)])
    );
    consumer.handle(
        3_011,
        heartbeat_answer(9, Some(ErrorCode::RebalanceInProgress)),
    );
    // Without auto-commit the eager revocation is immediate, and record 7 is gone with t0.
    let outcome = consumer.poll(3_020);
    assert!(outcome.records.is_empty());
    assert!(!consumer.has_records_for_poll());
    assert!(consumer.assignment().is_empty());
}

#[test]
fn join_errors_rejoin_at_once_or_look_up_the_coordinator() {
    let config = group_config();
    let mut consumer = consumer_with_coordinator(config.clone());
    consumer.poll(10);
    let effects = consumer.handle(11, join_error(3, ErrorCode::UnknownMemberId, member()));
    assert_eq!(
        effects,
        vec![join(
            &config,
            4,
            MemberId::unknown(),
            &[],
            GenerationId::NONE,
            ""
        )]
    );
    let effects = consumer.handle(12, join_error(4, ErrorCode::NotCoordinator, member()));
    assert_eq!(effects, vec![find_coordinator(1, 5)]);
    let effects = consumer.handle(13, coordinator_found(1, 5, COORDINATOR));
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::ConsumerCoordinatorRediscovered),
            join(&config, 6, MemberId::unknown(), &[], GenerationId::NONE, ""),
        ]
    );
    // A fatal error stops the member: no join, nothing from poll.
    consumer.handle(
        14,
        join_error(6, ErrorCode::InconsistentGroupProtocol, member()),
    );
    let outcome = consumer.poll(15);
    assert!(outcome.effects.is_empty() && outcome.records.is_empty());
    assert_eq!(consumer.next_deadline_ms(), Some(60_001));
}
