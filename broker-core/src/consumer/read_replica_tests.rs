//! Fetch from follower on the consumer's side (KIP-392, Kafka's `AbstractFetch.selectReadReplica`
//! and `FetchCollector`): a leader's preferred read replica takes the partition's fetches
//! until an error sends them back to the leader.

use super::test_support::*;
use super::*;
use crate::error::ErrorCode;
use crate::mark::Mark;
use crate::protocol::{FetchData, FetchRequest, FetchResponse, OffsetSpec};

fn in_rack_b() -> ConsumerConfig {
    ConsumerConfig {
        client_rack: Some("b".to_string()),
        ..config()
    }
}

/// `fetch(...)` from a consumer in rack b.
fn fetch_from_b(to: u32, correlation: u64, epoch: u32, offset: u64, last: Option<u32>) -> Effect {
    let Effect::Send {
        to,
        message: Message::Fetch(request),
    } = fetch(to, correlation, epoch, offset, last)
    else {
        unreachable!("fetch builds a Fetch");
    };
    Effect::Send {
        to,
        message: Message::Fetch(FetchRequest {
            rack_id: Some("b".to_string()),
            ..request
        }),
    }
}

/// The leader's answer naming `preferred`, without records.
fn redirect(from: u32, correlation: u64, preferred: u32) -> Input {
    message_from(
        from,
        Message::FetchResponse(FetchResponse {
            correlation: CorrelationId(correlation),
            partition: P0,
            result: Ok(FetchData {
                records: Vec::new(),
                high_watermark: Offset(3),
                log_start_offset: Offset(0),
                log_end_offset: Offset(3),
                diverging_epoch: None,
                last_stable_offset: Offset(3),
                aborted_transactions: Vec::new(),
                preferred_read_replica: Some(b(preferred)),
            }),
        }),
    )
}

/// A consumer in rack b sent by b1 to b2, which served it offsets 0..3; fetch 5 is in
/// flight to b2 at offset 3.
fn consumer_reading_from_b2() -> Consumer {
    let mut consumer = Consumer::new(CLIENT, in_rack_b(), vec![b(1), b(2)], vec![P0]);
    consumer.handle(0, Input::Start);
    assert_eq!(
        consumer.handle(1, metadata_response(1, 1, image(1, 1, 0))),
        vec![list_offsets(1, 2, OffsetSpec::Earliest)]
    );
    assert_eq!(
        consumer.handle(2, list_offsets_response(1, 2, 0)),
        vec![position_reset(None, 0), fetch_from_b(1, 3, 0, 0, None)]
    );
    assert_eq!(
        consumer.handle(3, redirect(1, 3, 2)),
        vec![fetch_from_b(2, 4, 0, 0, None)]
    );
    assert_eq!(
        consumer.handle(
            4,
            fetch_response(2, 4, &[(0, 0, 10), (1, 0, 11), (2, 0, 12)])
        ),
        vec![
            polled(&[(0, 10), (1, 11), (2, 12)]),
            fetch_from_b(2, 5, 0, 3, Some(0))
        ]
    );
    consumer
}

#[test]
fn a_consumer_fetches_from_the_preferred_read_replica_the_leader_names() {
    consumer_reading_from_b2();
}

#[test]
fn out_of_range_on_the_follower_sends_the_fetch_back_to_the_leader_without_a_reset() {
    let mut consumer = consumer_reading_from_b2();
    assert_eq!(
        consumer.handle(5, fetch_error(2, 5, ErrorCode::OffsetOutOfRange)),
        vec![
            Effect::Mark(Mark::PreferredReadReplicaCleared),
            fetch_from_b(1, 6, 0, 3, Some(0)),
        ]
    );
}

#[test]
fn not_leader_or_follower_from_the_follower_sends_the_next_fetch_to_the_leader() {
    let mut consumer = consumer_reading_from_b2();
    let effects = consumer.handle(5, fetch_error(2, 5, ErrorCode::NotLeaderOrFollower));
    assert!(effects.contains(&Effect::Mark(Mark::PreferredReadReplicaCleared)));
    let effects = crate::actor::fire_due_timers(&mut consumer, 5 + config().retry_backoff_ms);
    let fetches: Vec<&Effect> = effects
        .iter()
        .filter(|effect| {
            matches!(
                effect,
                Effect::Send {
                    message: Message::Fetch(_),
                    ..
                }
            )
        })
        .collect();
    assert_eq!(fetches, vec![&fetch_from_b(1, 7, 0, 3, Some(0))]);
}

#[test]
fn the_preferred_read_replica_lapses_after_metadata_max_age() {
    let mut consumer = consumer_reading_from_b2();
    let later = 4 + config().metadata_max_age_ms + 1;
    let effects = consumer.handle(later, fetch_response(2, 5, &[]));
    let sent: Vec<&Effect> = effects
        .iter()
        .filter(|effect| {
            matches!(
                effect,
                Effect::Send {
                    message: Message::Fetch(_),
                    ..
                }
            )
        })
        .collect();
    assert_eq!(sent.len(), 1, "{effects:?}");
    assert!(matches!(
        sent[0],
        Effect::Send {
            to: NodeId::Broker(BrokerId(1)),
            ..
        }
    ));
}
