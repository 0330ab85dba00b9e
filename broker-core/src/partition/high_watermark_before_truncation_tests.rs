//! A diverging fetch answer on the KIP-595 path, with and without KAFKA-14704's order
//! (`follower-high-watermark-before-truncation`): when the follower takes the leader's high
//! watermark, and what a consumer fetching from it meanwhile reads.

use super::*;
use crate::ids::ClientId;
use crate::partition::follower::TRUNCATION_AFTER_HIGH_WATERMARK_MS;
use crate::protocol::IsolationLevel;
use crate::protocol::{FetchData, FetchResponse};

/// A follower of broker 1 in epoch 2 holding epoch 1 at [0, 5), its first fetch (at 5,
/// naming epoch 1) outstanding.
fn fetching_with_records_the_leader_lacks(bugs: BugSwitches) -> (Follower, Message) {
    let mut follower = Follower::with_log(&[(1, 5)], bugs);
    let request = sent(&follower.led_by_broker_1_in(0, 2));
    assert_eq!(fetch_offset(&request), Offset(5));
    (follower, request)
}

/// The leader's answer: its epoch 1 ends at 3, and its high watermark is 10.
fn diverging_answer(request: &Message) -> FetchResponse {
    let Message::Fetch(FetchRequest { correlation, .. }) = request else {
        panic!("expected Fetch, got {request:?}");
    };
    FetchResponse {
        correlation: *correlation,
        partition: P0,
        result: Ok(FetchData {
            preferred_read_replica: None,
            records: Vec::new(),
            high_watermark: Offset(10),
            log_start_offset: Offset(0),
            log_end_offset: Offset(12),
            diverging_epoch: Some(end(1, 3)),
            last_stable_offset: Offset(10),
            aborted_transactions: Vec::new(),
        }),
    }
}

/// A consumer's fetch at offset 2 in epoch 2, served by this follower (KIP-392).
fn consumer_fetch() -> FetchRequest {
    FetchRequest {
        correlation: CorrelationId(900),
        partition: P0,
        replica: None,
        replica_epoch: None,
        current_leader_epoch: LeaderEpoch(2),
        fetch_offset: Offset(2),
        last_fetched_epoch: None,
        max_records: 100,
        max_wait_ms: 0,
        isolation_level: IsolationLevel::ReadUncommitted,
        log_start_offset: None,
        rack_id: None,
    }
}

/// The offsets of the records in the answer this follower sent the consumer.
fn served_offsets(effects: &[Effect]) -> Vec<Offset> {
    effects
        .iter()
        .find_map(|effect| match effect {
            Effect::Send {
                message: Message::FetchResponse(FetchResponse { result, .. }),
                ..
            } => Some(match result {
                Ok(data) => data.records.iter().map(|record| record.offset).collect(),
                Err(error) => panic!("the consumer's fetch failed: {error:?}"),
            }),
            _ => None,
        })
        .expect("no answer to the consumer")
}

fn answer_and_serve(follower: &mut Follower, response: &FetchResponse) -> Vec<Effect> {
    follower.step(10, |partition, context| {
        partition.handle_fetch_response(context, NodeId::Broker(LEADER), response.clone())
    });
    follower.step(11, |partition, context| {
        partition.handle_fetch(context, NodeId::Consumer(ClientId(0)), &consumer_fetch())
    })
}

/// Since Kafka 3.5: the answer only truncates, the high watermark stays where it was, and a
/// consumer reads nothing.
#[test]
fn a_diverging_answer_truncates_first_and_leaves_the_high_watermark() {
    let (mut follower, request) = fetching_with_records_the_leader_lacks(BugSwitches::default());
    let response = diverging_answer(&request);
    let effects = follower.step(10, |partition, context| {
        partition.handle_fetch_response(context, NodeId::Broker(LEADER), response.clone())
    });
    assert_eq!(
        truncations(&effects),
        vec![(Offset(3), TruncationReason::DivergingEpoch)]
    );
    assert_eq!(fetch_offset(&sent(&effects)), Offset(3));
    assert_eq!(follower.partition.log().high_watermark(), Offset(0));
    let served = follower.step(11, |partition, context| {
        partition.handle_fetch(context, NodeId::Consumer(ClientId(0)), &consumer_fetch())
    });
    assert_eq!(served_offsets(&served), Vec::<Offset>::new());
}

/// KAFKA-14704's order: the follower takes the high watermark (bounded by its log end, 5),
/// serves the diverged records 3 and 4 to a consumer, and truncates only when its fetcher
/// step comes.
#[test]
fn before_kafka_14704_the_high_watermark_comes_before_the_truncation() {
    let bugs = BugSwitches {
        follower_high_watermark_before_truncation: true,
        ..BugSwitches::default()
    };
    let (mut follower, request) = fetching_with_records_the_leader_lacks(bugs);
    let response = diverging_answer(&request);
    let served = answer_and_serve(&mut follower, &response);
    assert_eq!(
        served_offsets(&served),
        vec![Offset(2), Offset(3), Offset(4)]
    );
    assert!(marks(&served).contains(&Mark::FollowerServedRecordsAboutToBeCut));
    assert_eq!(follower.log_end_offset(), Offset(5));
    let truncated = follower.step(
        10 + TRUNCATION_AFTER_HIGH_WATERMARK_MS,
        |partition, context| partition.on_timers(context, &[PartitionTimer::FetcherTruncation]),
    );
    assert_eq!(
        truncations(&truncated),
        vec![(Offset(3), TruncationReason::DivergingEpoch)]
    );
    assert_eq!(follower.partition.log().high_watermark(), Offset(3));
    assert_eq!(fetch_offset(&sent(&truncated)), Offset(3));
}
