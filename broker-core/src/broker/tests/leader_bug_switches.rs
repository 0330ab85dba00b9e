//! The leader's handling of follower progress with its two historical bug switches:
//! `isr-join-below-leader-epoch-start` (before KAFKA-7128's fix) and
//! `divergent-fetch-counts-as-progress` (KAFKA-13141). Each test runs the same requests with
//! the switch off (Kafka 4.x) and on, so it fails if the switch stops having an effect.

use super::*;

/// A fetch from replica `follower` in `leader_epoch` at `fetch_offset`, naming
/// `last_fetched_epoch` (KIP-595), answered at once if nothing is to be read.
fn replica_fetch(
    follower: u32,
    leader_epoch: u32,
    fetch_offset: u64,
    last_fetched_epoch: u32,
) -> Input {
    Input::Message {
        from: NodeId::Broker(BrokerId(follower)),
        message: Message::Fetch(FetchRequest {
            rack_id: None,
            correlation: CorrelationId(fetch_offset + 100),
            partition: P0,
            replica: Some(BrokerId(follower)),
            replica_epoch: Some(BrokerEpoch(8)),
            current_leader_epoch: LeaderEpoch(leader_epoch),
            fetch_offset: Offset(fetch_offset),
            last_fetched_epoch: Some(LeaderEpoch(last_fetched_epoch)),
            max_records: 500,
            max_wait_ms: 0,
            isolation_level: crate::protocol::IsolationLevel::ReadUncommitted,
            log_start_offset: None,
        }),
    }
}

/// The ISR proposals among the effects.
fn proposed_isrs(effects: &[Effect]) -> Vec<Vec<BrokerId>> {
    sends(effects)
        .into_iter()
        .filter_map(|(_, message)| match message {
            Message::AlterPartition(request) => Some(
                request
                    .new_isr_with_epochs
                    .iter()
                    .map(|member| member.broker_id)
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// Broker 1 just elected leader in epoch 2 over five records of epoch 1, of which it had
/// learned only two were committed (high watermark 2, checkpointed as a follower), with ISR
/// {1, 2}: its epoch starts at offset 5, and its high watermark waits for broker 2's first
/// fetch.
fn new_leader_with_a_lagging_high_watermark(bugs: BugSwitches) -> Broker {
    let storage = disk_with(&[(1, 5)], Some(2));
    let (broker, _) = started(1, &storage, bugs, image(1, state(Some(1), 2, &[1, 2], 1)));
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(2));
    broker
}

#[test]
fn a_follower_at_the_lagging_high_watermark_joins_the_isr_only_with_the_switch() {
    // KAFKA-7128. Broker 3, outside the ISR, fetches at offset 2: it has reached the new
    // leader's high watermark, but not offset 5, where the leader's epoch starts; records 2
    // to 4 may have been committed by the previous leader.
    let mut faithful = new_leader_with_a_lagging_high_watermark(BugSwitches::default());
    let effects = faithful.handle(10, replica_fetch(3, 2, 2, 1));
    assert_eq!(proposed_isrs(&effects), Vec::<Vec<BrokerId>>::new());
    assert!(!marks(&effects).contains(&Mark::IsrJoinProposedBelowLeaderEpochStart));
    // At the start of the epoch it joins.
    let effects = faithful.handle(11, replica_fetch(3, 2, 5, 1));
    assert_eq!(proposed_isrs(&effects), vec![brokers(&[1, 2, 3])]);
    assert!(!marks(&effects).contains(&Mark::IsrJoinProposedBelowLeaderEpochStart));

    let mut buggy = new_leader_with_a_lagging_high_watermark(BugSwitches {
        isr_join_below_leader_epoch_start: true,
        ..BugSwitches::default()
    });
    let effects = buggy.handle(10, replica_fetch(3, 2, 2, 1));
    assert_eq!(proposed_isrs(&effects), vec![brokers(&[1, 2, 3])]);
    assert!(marks(&effects).contains(&Mark::IsrJoinProposedBelowLeaderEpochStart));
    assert!(events(&effects).contains(&Event::IsrExpandProposed {
        partition: P0,
        isr: brokers(&[1, 2]),
        proposed: brokers(&[1, 2, 3]),
        follower: FollowerProgress {
            broker: BrokerId(3),
            log_end_offset: Some(Offset(2)),
            last_caught_up_time_ms: None,
        },
        high_watermark: Offset(2),
        leader_epoch_start_offset: Offset(5),
    }));
    // Below the high watermark it does not join, switch or not.
    let mut buggy = new_leader_with_a_lagging_high_watermark(BugSwitches {
        isr_join_below_leader_epoch_start: true,
        ..BugSwitches::default()
    });
    let effects = buggy.handle(10, replica_fetch(3, 2, 1, 1));
    assert_eq!(proposed_isrs(&effects), Vec::<Vec<BrokerId>>::new());
}

/// Broker 1 leading in epoch 4 over epoch 1 at [0, 3) and epoch 3 at [3, 5), with this ISR.
fn leader_after_an_epoch_the_followers_had_longer(isr: &[u32], bugs: BugSwitches) -> Broker {
    let storage = disk_with(&[(1, 3), (3, 2)], None);
    let (broker, _) = started(1, &storage, bugs, image(1, state(Some(1), 4, isr, 1)));
    broker
}

/// The diverging answer a fetch at 5 naming epoch 2 gets: epoch 1 ends at 3 here. Its high
/// watermark is the one read before the fetch was recorded.
fn diverging_answer(high_watermark: u64) -> Vec<Result<FetchData, ErrorCode>> {
    vec![Ok(FetchData {
        preferred_read_replica: None,
        records: Vec::new(),
        high_watermark: Offset(high_watermark),
        log_start_offset: Offset(0),
        log_end_offset: Offset(5),
        diverging_epoch: Some(EpochEndOffset {
            leader_epoch: LeaderEpoch(1),
            end_offset: Offset(3),
        }),
        last_stable_offset: Offset(high_watermark),
        aborted_transactions: Vec::new(),
    })]
}

#[test]
fn a_diverging_fetch_moves_the_high_watermark_and_the_isr_only_with_the_switch() {
    // KAFKA-13141. Broker 3 (in the ISR) fetches at offset 5 naming epoch 2, which ends at 3
    // on the leader: its records from 3 on are not the leader's.
    let mut faithful =
        leader_after_an_epoch_the_followers_had_longer(&[1, 3], BugSwitches::default());
    let effects = faithful.handle(10, replica_fetch(3, 4, 5, 2));
    assert_eq!(fetch_data(&effects), diverging_answer(0));
    assert_eq!(marks(&effects), vec![Mark::FetchDivergingEpoch]);
    let replica = faithful
        .partition(P0)
        .unwrap()
        .follower_replica(BrokerId(3))
        .unwrap();
    assert_eq!(replica.log_end_offset, None);
    assert_eq!(faithful.replica_view(P0).unwrap().high_watermark, Offset(0));

    let bugs = BugSwitches {
        divergent_fetch_counts_as_progress: true,
        ..BugSwitches::default()
    };
    let mut buggy = leader_after_an_epoch_the_followers_had_longer(&[1, 3], bugs);
    let effects = buggy.handle(10, replica_fetch(3, 4, 5, 2));
    // The same answer, read before the fetch counted...
    assert_eq!(fetch_data(&effects), diverging_answer(0));
    assert_eq!(
        marks(&effects),
        vec![
            Mark::FetchDivergingEpoch,
            Mark::DivergentFetchCountedAsProgress,
            Mark::HighWatermarkAdvanced
        ]
    );
    // ...but broker 3 now counts as holding offsets 0 to 4, and the high watermark passed
    // records 3 and 4, which it does not have.
    let replica = buggy
        .partition(P0)
        .unwrap()
        .follower_replica(BrokerId(3))
        .unwrap();
    assert_eq!(replica.log_end_offset, Some(Offset(5)));
    assert_eq!(replica.last_caught_up_time_ms, Some(10));
    assert_eq!(buggy.replica_view(P0).unwrap().high_watermark, Offset(5));
    // Broker 2, outside the ISR, diverging in the same way, is proposed for the ISR.
    let effects = buggy.handle(11, replica_fetch(2, 4, 5, 2));
    assert_eq!(fetch_data(&effects), diverging_answer(5));
    assert_eq!(proposed_isrs(&effects), vec![brokers(&[1, 2, 3])]);
    let effects = faithful.handle(11, replica_fetch(2, 4, 5, 2));
    assert_eq!(proposed_isrs(&effects), Vec::<Vec<BrokerId>>::new());
}
