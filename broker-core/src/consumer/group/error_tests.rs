//! Handler tests of the group consumer's error paths and of a leader among several
//! members: SyncGroup and OffsetFetch errors, commit retries, and the assignment the leader
//! computes for everyone (Kafka's `AbstractCoordinator.SyncGroupResponseHandler`,
//! `ConsumerCoordinator.OffsetFetchResponseHandler`, `OffsetCommitResponseHandler`,
//! `commitOffsetsSync` and `onLeaderElected`).

use super::test_support::*;
use super::GroupTimer;
use crate::actor::{fire_due_timers, Actor, Effect};
use crate::config::Assignor;
use crate::consumer::CommitKind;
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{GenerationId, MemberId, Offset};
use crate::mark::Mark;
use crate::protocol::Assignment;

fn second() -> MemberId {
    MemberId("m2".to_string())
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

#[test]
fn sync_rebalance_in_progress_rejoins_at_once_in_the_same_generation() {
    let config = group_config();
    let mut consumer = syncing_consumer(config.clone());
    let effects = consumer.handle(11, sync_error(4, ErrorCode::RebalanceInProgress));
    // Kafka keeps the member id and generation and joins again without a backoff.
    assert_eq!(
        effects,
        vec![join(&config, 5, member(), &[], GenerationId(1), "")]
    );
    assert_eq!(timer_deadline(&consumer, GroupTimer::Heartbeat), None);
}

#[test]
fn sync_unknown_member_id_forgets_the_member_id_and_rejoins() {
    let config = group_config();
    let mut consumer = syncing_consumer(config.clone());
    // The generation is reset; onJoinPrepare (nothing owned yet) and the JoinGroup follow
    // at once, as in Kafka's `joinGroupIfNeeded` loop.
    let effects = consumer.handle(11, sync_error(4, ErrorCode::UnknownMemberId));
    assert_eq!(
        effects,
        vec![join(
            &config,
            5,
            MemberId::unknown(),
            &[],
            GenerationId::NONE,
            "sync-group error"
        )]
    );
}

#[test]
fn sync_illegal_generation_keeps_the_member_id_and_rejoins() {
    let config = group_config();
    let mut consumer = syncing_consumer(config.clone());
    let effects = consumer.handle(11, sync_error(4, ErrorCode::IllegalGeneration));
    assert_eq!(
        effects,
        vec![join(
            &config,
            5,
            member(),
            &[],
            GenerationId::NONE,
            "sync-group error"
        )]
    );
}

#[test]
fn sync_not_coordinator_looks_up_the_coordinator_then_rejoins() {
    let config = group_config();
    let mut consumer = syncing_consumer(config.clone());
    let effects = consumer.handle(11, sync_error(4, ErrorCode::NotCoordinator));
    assert_eq!(effects, vec![find_coordinator(1, 5)]);
    let effects = consumer.handle(12, coordinator_found(1, 5, COORDINATOR));
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::ConsumerCoordinatorRediscovered),
            join(&config, 6, member(), &[], GenerationId(1), ""),
        ]
    );
}

#[test]
fn offset_fetch_not_coordinator_rediscovers_and_fetches_again() {
    let mut consumer = stable_consumer(group_config());
    let effects = consumer.handle(11, offset_fetch_error(5, ErrorCode::NotCoordinator));
    // The heartbeat thread's requests to the old coordinator fail too; none is in flight.
    assert_eq!(effects, vec![find_coordinator(1, 6)]);
    assert_eq!(timer_deadline(&consumer, GroupTimer::OffsetFetch), None);
    let effects = consumer.handle(12, coordinator_found(1, 6, COORDINATOR));
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::ConsumerCoordinatorRediscovered),
            offset_fetch(7, &[T0, T1]),
        ]
    );
    // Positions come only from the answer: nothing is fetched before it.
    assert_eq!(consumer.position(T0), None);
}

#[test]
fn offset_fetch_load_in_progress_retries_after_the_backoff() {
    let mut consumer = stable_consumer(group_config());
    let effects = consumer.handle(
        11,
        offset_fetch_error(5, ErrorCode::CoordinatorLoadInProgress),
    );
    assert_eq!(effects, vec![]);
    // Same coordinator, after `retry_backoff_ms` (100 ms).
    assert_eq!(
        timer_deadline(&consumer, GroupTimer::OffsetFetch),
        Some(111)
    );
    assert_eq!(fire_due_timers(&mut consumer, 110), vec![]);
    assert_eq!(
        fire_due_timers(&mut consumer, 111),
        vec![offset_fetch(6, &[T0, T1])]
    );
    let effects = consumer.handle(112, committed_offsets(6, &[(T0, Some(4)), (T1, Some(9))]));
    assert_eq!(
        events(&effects),
        vec![
            Event::PositionFromCommitted {
                group: group(),
                partition: T0,
                committed: Some(Offset(4)),
            },
            Event::PositionFromCommitted {
                group: group(),
                partition: T1,
                committed: Some(Offset(9)),
            },
        ]
    );
}

#[test]
fn the_leader_assigns_every_members_partitions() {
    let config = group_config();
    let mut consumer = consumer_with_coordinator(config);
    consumer.poll(10);
    let effects = consumer.handle(11, joined(3, 1, member(), member(), &[member(), second()]));
    // Range over the two partitions: one each, both sent by the leader.
    assert_eq!(
        effects,
        vec![sync(
            4,
            1,
            Assignor::Range,
            vec![
                (
                    member(),
                    Assignment {
                        partitions: vec![T0]
                    }
                ),
                (
                    second(),
                    Assignment {
                        partitions: vec![T1]
                    }
                ),
            ]
        )]
    );
    let effects = consumer.handle(12, synced(4, &[T0]));
    assert!(events(&effects).contains(&Event::PartitionsAssigned {
        group: group(),
        generation: GenerationId(1),
        member: member(),
        added: vec![T0],
        assignment: vec![T0],
    }));
    assert_eq!(consumer.assignment(), vec![T0]);
}

#[test]
fn a_follower_sends_no_assignment_and_takes_the_leaders() {
    let config = group_config();
    let mut consumer = consumer_with_coordinator(config);
    consumer.poll(10);
    // A follower's JoinGroup answer lists no members; it syncs with nothing to assign.
    let effects = consumer.handle(11, joined(3, 1, second(), member(), &[]));
    assert_eq!(effects, vec![sync(4, 1, Assignor::Range, vec![])]);
    let effects = consumer.handle(12, synced(4, &[T1]));
    assert!(events(&effects).contains(&Event::PartitionsAssigned {
        group: group(),
        generation: GenerationId(1),
        member: member(),
        added: vec![T1],
        assignment: vec![T1],
    }));
    assert_eq!(consumer.assignment(), vec![T1]);
}

#[test]
fn commit_sync_retries_a_retriable_error_with_the_same_offsets() {
    let mut consumer = stable_consumer(group_config());
    consumer.handle(11, committed_offsets(5, &[(T0, Some(5)), (T1, Some(9))]));
    let (id, effects) = consumer.commit(20, Some(vec![(T0, Offset(5))]), CommitKind::Sync);
    assert_eq!(
        sent(&effects),
        sent(&[offset_commit(8, 1, &[(T0, 5, None)])])
    );
    let effects = consumer.handle(
        21,
        commit_answer(8, &[T0], Err(ErrorCode::CoordinatorLoadInProgress)),
    );
    // Not finished, not sent again before the backoff; the coordinator is still known.
    assert_eq!(effects, vec![]);
    assert_eq!(
        timer_deadline(&consumer, GroupTimer::CommitRetry(id)),
        Some(121)
    );
    assert_eq!(
        fire_due_timers(&mut consumer, 121),
        vec![offset_commit(9, 1, &[(T0, 5, None)])]
    );
    let effects = consumer.handle(122, commit_answer(9, &[T0], Ok(())));
    assert_eq!(
        events(&effects),
        vec![Event::OffsetCommitCompleted {
            group: group(),
            commit: id,
            offsets: vec![(T0, Offset(5))],
            result: Ok(()),
        }]
    );
}

#[test]
fn commit_sync_fails_at_once_on_an_error_kafka_does_not_retry() {
    let mut consumer = stable_consumer(group_config());
    consumer.handle(11, committed_offsets(5, &[(T0, Some(5)), (T1, Some(9))]));
    let (id, _) = consumer.commit(20, Some(vec![(T0, Offset(5))]), CommitKind::Sync);
    // OFFSET_OUT_OF_RANGE stands for any error outside Kafka's retriable set.
    let effects = consumer.handle(
        21,
        commit_answer(8, &[T0], Err(ErrorCode::OffsetOutOfRange)),
    );
    assert_eq!(
        effects,
        vec![Effect::Event(Event::OffsetCommitCompleted {
            group: group(),
            commit: id,
            offsets: vec![(T0, Offset(5))],
            result: Err(ErrorCode::OffsetOutOfRange),
        })]
    );
    assert_eq!(timer_deadline(&consumer, GroupTimer::CommitRetry(id)), None);
    assert_eq!(
        timer_deadline(&consumer, GroupTimer::CommitDeadline(id)),
        None
    );
    // The member stays in its generation.
    assert_eq!(
        timer_deadline(&consumer, GroupTimer::Heartbeat),
        Some(3_010)
    );
}

#[test]
fn commit_request_timed_out_makes_the_coordinator_unknown_then_retries() {
    let mut consumer = stable_consumer(group_config());
    consumer.handle(11, committed_offsets(5, &[(T0, Some(5)), (T1, Some(9))]));
    let (id, _) = consumer.commit(20, Some(vec![(T0, Offset(5))]), CommitKind::Sync);
    // Kafka marks the coordinator unknown on REQUEST_TIMED_OUT, as on NOT_COORDINATOR.
    let effects = consumer.handle(21, commit_answer(8, &[T0], Err(ErrorCode::RequestTimedOut)));
    assert_eq!(effects, vec![find_coordinator(1, 9)]);
    consumer.handle(22, coordinator_found(1, 9, COORDINATOR));
    assert_eq!(
        fire_due_timers(&mut consumer, 121),
        vec![offset_commit(10, 1, &[(T0, 5, None)])]
    );
    assert!(timer_deadline(&consumer, GroupTimer::CommitDeadline(id)).is_some());
}
