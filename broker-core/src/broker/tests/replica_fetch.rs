//! The replica fetch path as Kafka 4.x runs it: truncation on fetch with a diverging epoch
//! (KIP-595, KAFKA-13141), the follower's high watermark copied from the leader in either
//! direction (`UnifiedLog.maybeUpdateHighWatermark`), and the leader's follower state
//! (`Partition.makeLeader`, `Replica.resetReplicaState`, `shouldWaitForReplicaToJoinIsr`).

use super::*;
use crate::partition::FollowerReplica;
use crate::reason::HighWatermarkBasis;

const LEADER: NodeId = NodeId::Broker(BrokerId(3));

/// A follower's fetch from `follower` in `leader_epoch`, naming `last_fetched_epoch`.
fn replica_fetch(
    follower: u32,
    leader_epoch: u32,
    fetch_offset: u64,
    last_fetched_epoch: Option<u32>,
    max_wait_ms: u64,
) -> Input {
    Input::Message {
        from: NodeId::Broker(BrokerId(follower)),
        message: Message::Fetch(FetchRequest {
            rack_id: None,
            correlation: CorrelationId(fetch_offset + 100),
            partition: P0,
            replica: Some(BrokerId(follower)),
            current_leader_epoch: LeaderEpoch(leader_epoch),
            fetch_offset: Offset(fetch_offset),
            last_fetched_epoch: last_fetched_epoch.map(LeaderEpoch),
            replica_epoch: None,
            max_records: 500,
            max_wait_ms,
            isolation_level: crate::protocol::IsolationLevel::ReadUncommitted,
            log_start_offset: None,
        }),
    }
}

/// The one fetch a follower sent (besides anything to the controller), as (correlation,
/// fetch offset, last fetched epoch).
fn sent_fetch(effects: &[Effect]) -> (CorrelationId, Offset, Option<LeaderEpoch>) {
    let sent: Vec<_> = sends(effects)
        .into_iter()
        .filter(|(to, _)| *to != NodeId::Controller)
        .collect();
    let [(to, Message::Fetch(request))] = &sent[..] else {
        panic!("expected one fetch, got {sent:?}");
    };
    assert_eq!(*to, LEADER);
    (
        request.correlation,
        request.fetch_offset,
        request.last_fetched_epoch,
    )
}

/// The leader's answer to the follower's fetch `correlation`.
fn answer(correlation: CorrelationId, data: FetchData) -> Input {
    Input::Message {
        from: LEADER,
        message: Message::FetchResponse(FetchResponse {
            correlation,
            partition: P0,
            result: Ok(data),
        }),
    }
}

fn diverging(epoch: u32, end_offset: u64, high_watermark: u64) -> FetchData {
    FetchData {
        preferred_read_replica: None,
        records: Vec::new(),
        high_watermark: Offset(high_watermark),
        log_start_offset: Offset(0),
        log_end_offset: Offset(end_offset),
        diverging_epoch: Some(EpochEndOffset {
            leader_epoch: LeaderEpoch(epoch),
            end_offset: Offset(end_offset),
        }),
        last_stable_offset: Offset(high_watermark),
        aborted_transactions: Vec::new(),
    }
}

fn records_from(first: u64, count: u64, epoch: u32) -> Vec<Record> {
    (first..first + count)
        .map(|offset| Record {
            offset: Offset(offset),
            leader_epoch: LeaderEpoch(epoch),
            value: Some(crate::record::application_bytes(2_000 + offset)),
            key: None,
            producer_stamp: None,
            headers: Vec::new(),
            is_transactional: false,
            is_control: false,
        })
        .collect()
}

/// Broker 2 restarted over a log of these (epoch, count) runs, following broker 3 in
/// `leader_epoch`.
fn follower_over(runs: &[(u32, u64)], leader_epoch: u32) -> (Broker, Vec<Effect>) {
    let storage = disk_with(runs, None);
    started(
        2,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(3), leader_epoch, &[2, 3], 1)),
    )
}

/// Broker 1 leading in `leader_epoch` over a log of these (epoch, count) runs, replicas
/// {1, 2, 3}, with this ISR.
fn leader_over(runs: &[(u32, u64)], leader_epoch: u32, isr: &[u32]) -> Broker {
    let storage = disk_with(runs, None);
    let (broker, _) = started(
        1,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(1), leader_epoch, isr, 1)),
    );
    broker
}

// ---- item: truncation on fetch (KIP-595) ----

#[test]
fn a_restarted_follower_fetches_from_its_log_end_naming_its_latest_epoch_without_a_handshake() {
    let (_, effects) = follower_over(&[(1, 3), (2, 2)], 3);
    let (_, fetch_offset, last_fetched_epoch) = sent_fetch(&effects);
    assert_eq!(
        (fetch_offset, last_fetched_epoch),
        (Offset(5), Some(LeaderEpoch(2)))
    );
}

#[test]
fn leader_answers_a_diverging_epoch_when_the_followers_epoch_ends_before_its_fetch_offset() {
    // The leader (epoch 3) has epoch 1 at [0, 3), epoch 2 at [3, 5), and epoch 3 from 5.
    let mut broker = leader_over(&[(1, 3), (2, 2)], 3, &[1, 2, 3]);
    // Broker 2 had epoch 2 up to offset 7: where epoch 2 ends here (5) is before 7.
    let effects = broker.handle(10, replica_fetch(2, 3, 7, Some(2), 500));
    assert_eq!(
        fetch_data(&effects),
        vec![Ok(FetchData {
            preferred_read_replica: None,
            records: Vec::new(),
            high_watermark: Offset(0),
            log_start_offset: Offset(0),
            log_end_offset: Offset(5),
            diverging_epoch: Some(EpochEndOffset {
                leader_epoch: LeaderEpoch(2),
                end_offset: Offset(5),
            }),
            last_stable_offset: Offset(0),
            aborted_transactions: Vec::new(),
        })],
        "answered at once, not parked"
    );
    assert_eq!(marks(&effects), vec![Mark::FetchDivergingEpoch]);
    // An epoch the leader lacks: the largest one below it and its end.
    let mut broker = leader_over(&[(1, 3), (3, 2)], 4, &[1, 2, 3]);
    let effects = broker.handle(10, replica_fetch(2, 4, 4, Some(2), 500));
    let [Ok(FetchData {
        diverging_epoch, ..
    })] = &fetch_data(&effects)[..]
    else {
        panic!("expected one answer: {effects:?}");
    };
    assert_eq!(
        *diverging_epoch,
        Some(EpochEndOffset {
            leader_epoch: LeaderEpoch(1),
            end_offset: Offset(3),
        })
    );
    // A consistent epoch and offset get records.
    let effects = broker.handle(11, replica_fetch(2, 4, 3, Some(3), 500));
    let [Ok(data)] = &fetch_data(&effects)[..] else {
        panic!("expected one answer: {effects:?}");
    };
    assert_eq!((data.records.len(), data.diverging_epoch), (2, None));
}

#[test]
fn a_diverging_fetch_is_not_follower_progress() {
    // KAFKA-13141. The leader (epoch 4) has epoch 1 at [0, 3) and epoch 3 at [3, 5). Broker 3
    // (in the ISR) and broker 2 (outside it) fetch at the leader's log end offset naming
    // epoch 2, which ends at 3 here. Were those fetches progress, broker 3 would move the high
    // watermark to 5 and broker 2 would be proposed for the ISR.
    let mut broker = leader_over(&[(1, 3), (3, 2)], 4, &[1, 3]);
    for follower in [3, 2] {
        let effects = broker.handle(10, replica_fetch(follower, 4, 5, Some(2), 0));
        assert_eq!(marks(&effects), vec![Mark::FetchDivergingEpoch]);
        assert!(
            sends(&effects)
                .iter()
                .all(|(_, message)| !matches!(message, Message::AlterPartition(_))),
            "{effects:?}"
        );
        let replica = broker
            .partition(P0)
            .unwrap()
            .follower_replica(BrokerId(follower));
        assert_eq!(replica.unwrap().log_end_offset, None);
        assert_eq!(replica.unwrap().last_fetch_time_ms, None);
    }
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(0));
    // The same fetch on the handshake path names no epoch and is progress.
    broker.handle(11, replica_fetch(3, 4, 5, None, 0));
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(5));
    // An epoch newer than any the leader has cannot be placed: OffsetOutOfRange, as Kafka's
    // leader answers.
    let effects = broker.handle(12, replica_fetch(3, 4, 5, Some(5), 0));
    assert_eq!(fetch_data(&effects), vec![Err(ErrorCode::OffsetOutOfRange)]);
}

#[test]
fn follower_truncates_by_the_diverging_epoch_and_fetches_again_at_once() {
    // Broker 2 holds epoch 1 at [0, 3) and epoch 2 at [3, 5); leader 3 says epoch 2 ended at 4.
    let (mut broker, effects) = follower_over(&[(1, 3), (2, 2)], 3);
    let (correlation, _, _) = sent_fetch(&effects);
    let effects = broker.handle(5, answer(correlation, diverging(2, 4, 4)));
    assert_eq!(
        events(&effects),
        vec![
            Event::DivergenceFound {
                partition: P0,
                divergence: Divergence {
                    leader_epoch: LeaderEpoch(2),
                    leader_end_offset: Offset(4),
                    local_epoch_end: Some((LeaderEpoch(2), Offset(5))),
                },
                truncate_to: Offset(4),
            },
            Event::LogTruncated {
                partition: P0,
                from_log_end_offset: Offset(5),
                to_offset: Offset(4),
                reason: TruncationReason::DivergingEpoch,
            }
        ],
        "the response's high watermark waits for the next fetch"
    );
    assert_eq!(marks(&effects), vec![Mark::TruncatedByDivergingEpoch]);
    let (_, fetch_offset, last_fetched_epoch) = sent_fetch(&effects);
    assert_eq!(
        (fetch_offset, last_fetched_epoch),
        (Offset(4), Some(LeaderEpoch(2)))
    );
    assert_eq!(broker.replica_view(P0).unwrap().log_end_offset, Offset(4));
}

#[test]
fn follower_lacking_the_diverging_epoch_cuts_to_its_own_older_epoch_and_asks_again() {
    // Broker 2 holds epoch 1 at [0, 3) and epoch 3 at [3, 5). The leader (epoch 4) has epoch
    // 1 at [0, 2) and epoch 2 from 2 to 6.
    let (mut broker, effects) = follower_over(&[(1, 3), (3, 2)], 4);
    let (correlation, _, _) = sent_fetch(&effects);
    let effects = broker.handle(5, answer(correlation, diverging(2, 6, 0)));
    // It lacks epoch 2: cut to the end of its epoch 1 and fetch naming epoch 1.
    let (correlation, fetch_offset, last_fetched_epoch) = sent_fetch(&effects);
    assert_eq!(
        (fetch_offset, last_fetched_epoch),
        (Offset(3), Some(LeaderEpoch(1)))
    );
    // The leader's epoch 1 ends at 2: now the epochs agree and the cut is final.
    let effects = broker.handle(6, answer(correlation, diverging(1, 2, 0)));
    let (correlation, fetch_offset, last_fetched_epoch) = sent_fetch(&effects);
    assert_eq!(
        (fetch_offset, last_fetched_epoch),
        (Offset(2), Some(LeaderEpoch(1)))
    );
    // Then it appends the leader's epoch 2 from offset 2.
    let data = FetchData {
        preferred_read_replica: None,
        records: records_from(2, 4, 2),
        high_watermark: Offset(6),
        log_start_offset: Offset(0),
        log_end_offset: Offset(6),
        diverging_epoch: None,
        last_stable_offset: Offset(6),
        aborted_transactions: Vec::new(),
    };
    broker.handle(7, answer(correlation, data));
    let view = broker.replica_view(P0).unwrap();
    assert_eq!(
        (view.log_end_offset, view.high_watermark),
        (Offset(6), Offset(6))
    );
}

#[test]
fn a_follower_once_leader_names_its_empty_latest_epoch_and_drops_it_on_the_leaders_answer() {
    // Broker 2 led epoch 2 without appending (its cache starts epoch 2 at its end, 3), then
    // follows broker 3 in epoch 3. Kafka's fetcher sends the cache's latest epoch, 2.
    let storage = SharedStorage::default();
    let (mut broker, _) = started(
        2,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(2), 1, &[1, 2, 3], 1)),
    );
    broker.handle(1, produce(1, Acks::Leader, &[1, 2, 3]));
    broker.handle(
        2,
        controller(Message::MetadataUpdate(MetadataUpdate {
            metadata: image(2, state(Some(2), 2, &[1, 2, 3], 2)),
        })),
    );
    let effects = broker.handle(
        3,
        controller(Message::MetadataUpdate(MetadataUpdate {
            metadata: image(3, state(Some(3), 3, &[2, 3], 3)),
        })),
    );
    let (correlation, fetch_offset, last_fetched_epoch) = sent_fetch(&effects);
    assert_eq!(
        (fetch_offset, last_fetched_epoch),
        (Offset(3), Some(LeaderEpoch(2)))
    );
    // The leader has no epoch 2: its epoch 1 ends at 3. Nothing is cut but the empty epoch.
    let effects = broker.handle(4, answer(correlation, diverging(1, 3, 3)));
    assert!(events(&effects).is_empty(), "{effects:?}");
    assert_eq!(sent_fetch(&effects).2, Some(LeaderEpoch(1)));
}

#[test]
fn the_handshake_switch_keeps_the_offsets_for_leader_epoch_path() {
    let storage = disk_with(&[(1, 3), (2, 2)], None);
    let (_, effects) = started(
        2,
        &storage,
        handshake(),
        image(1, state(Some(3), 3, &[2, 3], 1)),
    );
    assert!(matches!(
        &sends(&effects)[..],
        [
            (NodeId::Controller, _),
            (
                _,
                Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
                    leader_epoch: LeaderEpoch(2),
                    ..
                })
            )
        ]
    ));
}

#[test]
fn after_a_fetch_error_the_follower_backs_off_and_fetches_again() {
    let (mut broker, effects) = follower_over(&[(1, 2)], 1);
    let (correlation, _, _) = sent_fetch(&effects);
    let effects = broker.handle(
        1,
        Input::Message {
            from: LEADER,
            message: Message::FetchResponse(FetchResponse {
                correlation,
                partition: P0,
                result: Err(ErrorCode::NotLeaderOrFollower),
            }),
        },
    );
    assert!(sends(&effects).is_empty());
    let effects = run_until(&mut broker, 1 + config().replica_fetch_backoff_ms);
    assert_eq!(sent_fetch(&effects).1, Offset(2));
}

// ---- item: the follower's high watermark ----

#[test]
fn follower_high_watermark_follows_the_leaders_down() {
    let (mut broker, effects) = follower_over(&[], 1);
    let (correlation, _, _) = sent_fetch(&effects);
    let data = FetchData {
        preferred_read_replica: None,
        records: records_from(0, 3, 1),
        high_watermark: Offset(3),
        log_start_offset: Offset(0),
        log_end_offset: Offset(3),
        diverging_epoch: None,
        last_stable_offset: Offset(3),
        aborted_transactions: Vec::new(),
    };
    let effects = broker.handle(1, answer(correlation, data));
    let (correlation, _, _) = sent_fetch(&effects);
    // A new leader that had not yet learned offset 3 was committed answers 1.
    let data = FetchData {
        preferred_read_replica: None,
        records: Vec::new(),
        high_watermark: Offset(1),
        log_start_offset: Offset(0),
        log_end_offset: Offset(3),
        diverging_epoch: None,
        last_stable_offset: Offset(1),
        aborted_transactions: Vec::new(),
    };
    let effects = broker.handle(2, answer(correlation, data));
    assert_eq!(
        events(&effects),
        vec![
            Event::HighWatermarkComputed {
                partition: P0,
                basis: HighWatermarkBasis::Follower {
                    leader_high_watermark: Offset(1),
                    log_end_offset: Offset(3),
                },
            },
            Event::HighWatermarkUpdated {
                partition: P0,
                from: Offset(3),
                to: Offset(1),
            }
        ]
    );
    assert_eq!(marks(&effects), vec![Mark::FollowerHighWatermarkLowered]);
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(1));
}

// ---- item: the leader's follower state ----

#[test]
fn a_new_leader_counts_isr_followers_caught_up_now_and_the_others_never() {
    let storage = SharedStorage::default();
    let (broker, _) = started(
        1,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(1), 1, &[1, 2], 1)),
    );
    let partition = broker.partition(P0).unwrap();
    let in_sync = partition.follower_replica(BrokerId(2)).unwrap();
    let out_of_sync = partition.follower_replica(BrokerId(3)).unwrap();
    assert_eq!(
        (in_sync.log_end_offset, in_sync.last_caught_up_time_ms),
        (None, Some(0))
    );
    assert_eq!(
        (
            out_of_sync.log_end_offset,
            out_of_sync.last_caught_up_time_ms
        ),
        (None, None)
    );
}

#[test]
fn a_non_isr_replica_that_never_fetched_does_not_hold_the_high_watermark() {
    // Were broker 3 "caught up at the election" it would be about to join the ISR and hold
    // the high watermark at its unknown log end offset.
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    broker.handle(1, produce(1, Acks::Leader, &[500, 501]));
    let effects = broker.handle(2, follower_fetch(2, 2));
    assert!(marks(&effects).contains(&Mark::HighWatermarkAdvanced));
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(2));
}

#[test]
fn a_leader_elected_again_keeps_its_followers_log_end_offsets() {
    let (mut broker, _) = leader(&[1, 2, 3], BugSwitches::default());
    broker.handle(1, produce(1, Acks::Leader, &[500, 501]));
    broker.handle(2, follower_fetch(2, 1));
    broker.handle(
        3,
        controller(Message::MetadataUpdate(MetadataUpdate {
            metadata: image(2, state(Some(1), 2, &[1, 2], 2)),
        })),
    );
    let partition = broker.partition(P0).unwrap();
    assert_eq!(
        partition.follower_replica(BrokerId(2)),
        Some(FollowerReplica {
            log_end_offset: Some(Offset(1)),
            last_caught_up_time_ms: Some(3),
            last_fetch_leader_log_end_offset: Some(Offset(2)),
            last_fetch_time_ms: Some(3),
            // Kept from its fetch, as `resetReplicaState` keeps it for a leader elected again.
            broker_epoch: Some(BrokerEpoch(8)),
            log_start_offset: None,
        })
    );
    // Broker 3 left the ISR and never fetched: never caught up in this leader epoch.
    assert_eq!(
        partition.follower_replica(BrokerId(3)),
        Some(FollowerReplica {
            log_end_offset: None,
            last_caught_up_time_ms: None,
            last_fetch_leader_log_end_offset: Some(Offset(2)),
            last_fetch_time_ms: None,
            broker_epoch: None,
            log_start_offset: None,
        })
    );
}

#[test]
fn high_watermark_waits_for_a_caught_up_replica_about_to_join_the_isr() {
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    broker.handle(1, produce(1, Acks::Leader, &[500]));
    broker.handle(2, follower_fetch(2, 1));
    // Broker 3 catches up: proposed for the ISR, but the controller refuses.
    let effects = broker.handle(3, follower_fetch(3, 1));
    assert!(sends(&effects)
        .iter()
        .any(|(_, message)| matches!(message, Message::AlterPartition(_))));
    broker.handle(
        4,
        controller(Message::AlterPartitionResponse(AlterPartitionResponse {
            partition: P0,
            result: Err(ErrorCode::InvalidUpdateVersion),
        })),
    );
    assert_eq!(broker.partition(P0).unwrap().pending_isr(), None);
    // A new record reaches broker 2 only: broker 3, caught up 2 ms ago, is about to rejoin,
    // so the high watermark waits for it.
    broker.handle(5, produce(2, Acks::Leader, &[501]));
    let effects = broker.handle(6, follower_fetch(2, 2));
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(1));
    assert_eq!(
        marks(&effects),
        vec![Mark::HighWatermarkHeldForJoiningReplica]
    );
    // Once it is fenced it is not about to join: the high watermark goes on.
    let fenced = MetadataImage {
        live_brokers: brokers(&[1, 2]),
        ..image(2, state(Some(1), 1, &[1, 2], 1))
    };
    broker.handle(
        7,
        controller(Message::MetadataUpdate(MetadataUpdate { metadata: fenced })),
    );
    broker.handle(8, follower_fetch(2, 2));
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(2));
}
