//! Unit tests of the consumer: what it asks, polls and resets, input by input. The named
//! timers themselves are tested in `timer_tests.rs`, random schedules in
//! `schedule_tests.rs`.

use super::test_support::*;
use super::*;
use crate::actor::fire_due_timers;
use crate::config::AutoOffsetReset;
use crate::error::ErrorCode;
use crate::mark::Mark;
use crate::protocol::{OffsetSpec, ProduceResponse};

#[test]
fn consumer_starts_at_earliest_and_polls_records() {
    let consumer = consumer_at_offset_3();
    assert_eq!(consumer.node(), NodeId::Consumer(CLIENT));
    assert_eq!(consumer.position(P0), Some(Offset(3)));
    assert_eq!(consumer.position(TopicPartition::of_default_topic(7)), None);
    // Next: the fetch's timeout.
    assert_eq!(consumer.next_deadline_ms(), Some(1_003));
}

#[test]
fn consumer_starts_at_latest_when_configured() {
    let config = ConsumerConfig {
        auto_offset_reset: AutoOffsetReset::Latest,
        ..config()
    };
    let mut consumer = Consumer::new(CLIENT, config, vec![b(1)], vec![P0]);
    consumer.handle(0, Input::Start);
    assert_eq!(
        consumer.handle(1, metadata_response(1, 1, image(1, 1, 0))),
        vec![list_offsets(1, 2, OffsetSpec::Latest)]
    );
}

#[test]
fn consumer_follows_leader_change() {
    let mut consumer = consumer_at_offset_3();
    assert_eq!(
        consumer.handle(200, fetch_error(1, 4, ErrorCode::NotLeaderOrFollower)),
        vec![metadata_request(1, 5)]
    );
    assert_eq!(
        consumer.handle(205, metadata_response(1, 5, image(2, 2, 1))),
        vec![Effect::Mark(Mark::ConsumerLeaderChanged)]
    );
    // The partition backs off until 300, then validates its position with the new leader.
    assert_eq!(consumer.next_deadline_ms(), Some(300));
    assert_eq!(
        fire_due_timers(&mut consumer, 300),
        vec![validate(2, 6, 1, 0)]
    );
    assert_eq!(
        consumer.handle(305, validation_response(2, 6, 0, 3)),
        vec![fetch(2, 7, 1, 3, Some(0))]
    );
    assert_eq!(
        consumer.handle(310, fetch_response(2, 7, &[(3, 1, 13)])),
        vec![polled(&[(3, 13)]), fetch(2, 8, 1, 4, Some(1))]
    );
    assert_eq!(consumer.position(P0), Some(Offset(4)));
}

#[test]
fn consumer_detects_truncation_via_offsets_for_leader_epoch() {
    let config = ConsumerConfig {
        metadata_max_age_ms: 500,
        ..config()
    };
    let mut consumer = consumer_at_offset_3_with(config);
    // The periodic refresh reveals the new leader while a fetch to b1 is parked there;
    // that fetch is dropped.
    assert_eq!(consumer.next_deadline_ms(), Some(501));
    assert_eq!(
        fire_due_timers(&mut consumer, 501),
        vec![metadata_request(1, 5)]
    );
    assert_eq!(
        consumer.handle(502, metadata_response(1, 5, image(2, 2, 1))),
        vec![
            Effect::Mark(Mark::ConsumerLeaderChanged),
            validate(2, 6, 1, 0),
        ]
    );
    // The answer to the dropped fetch is ignored.
    assert_eq!(
        consumer.handle(503, fetch_response(1, 4, &[(3, 0, 13)])),
        vec![]
    );
    // The new leader's epoch 0 ends at 1: offsets 1 and 2 were truncated.
    assert_eq!(
        consumer.handle(504, validation_response(2, 6, 0, 1)),
        vec![
            Effect::Mark(Mark::ConsumerTruncationDetected),
            position_reset(Some(3), 1),
            fetch(2, 7, 1, 1, Some(0)),
        ]
    );
    assert_eq!(consumer.position(P0), Some(Offset(1)));
}

#[test]
fn consumer_resets_on_offset_out_of_range() {
    let mut consumer = consumer_at_offset_3();
    assert_eq!(
        consumer.handle(10, fetch_error(1, 4, ErrorCode::OffsetOutOfRange)),
        vec![
            Effect::Mark(Mark::ConsumerOffsetReset),
            list_offsets(1, 5, OffsetSpec::Earliest),
        ]
    );
    assert_eq!(
        consumer.handle(11, list_offsets_response(1, 5, 5)),
        vec![position_reset(Some(3), 5), fetch(1, 6, 0, 5, None)]
    );
    assert_eq!(consumer.position(P0), Some(Offset(5)));
}

#[test]
fn consumer_with_reset_none_stays_put_on_offset_out_of_range() {
    let config = ConsumerConfig {
        auto_offset_reset: AutoOffsetReset::None,
        ..config()
    };
    let mut consumer = Consumer::new(CLIENT, config, vec![b(1)], vec![P0]);
    consumer.handle(0, Input::Start);
    // Without a position and without a reset policy there is nothing to fetch.
    assert_eq!(
        consumer.handle(1, metadata_response(1, 1, image(1, 1, 0))),
        vec![]
    );
    assert_eq!(consumer.position(P0), None);
    assert_eq!(consumer.next_deadline_ms(), Some(60_001));
}

#[test]
fn consumer_fetch_timeout_backs_off_and_refreshes_metadata() {
    let mut consumer = consumer_at_offset_3();
    assert_eq!(
        fire_due_timers(&mut consumer, 1_003),
        vec![metadata_request(2, 5)]
    );
    assert_eq!(consumer.next_deadline_ms(), Some(1_103));
    assert_eq!(
        consumer.handle(1_010, metadata_response(2, 5, image(1, 1, 0))),
        vec![]
    );
    assert_eq!(
        fire_due_timers(&mut consumer, 1_103),
        vec![fetch(1, 6, 0, 3, Some(0))]
    );
    // The timed-out fetch's late answer is ignored.
    assert_eq!(
        consumer.handle(1_104, fetch_response(1, 4, &[(3, 0, 13)])),
        vec![]
    );
    assert_eq!(consumer.position(P0), Some(Offset(3)));
}

#[test]
fn unexpected_messages_are_ignored() {
    let mut consumer = consumer_at_offset_3();
    let stray = message_from(
        3,
        Message::ProduceResponse(ProduceResponse {
            correlation: CorrelationId(4),
            partition: P0,
            result: Ok(Offset(0)),
            log_start_offset: None,
        }),
    );
    assert_eq!(consumer.handle(5, stray), vec![]);
    assert_eq!(
        consumer.handle(6, fetch_response(2, 4, &[(3, 0, 13)])),
        vec![]
    );
    assert_eq!(consumer.position(P0), Some(Offset(3)));
}

#[test]
fn a_closed_connection_fails_the_fetch_backs_off_and_refreshes_metadata() {
    let mut consumer = consumer_at_offset_3();
    let effects = consumer.handle(
        10,
        Input::ConnectionClosed {
            peer: NodeId::Broker(b(1)),
        },
    );
    assert_eq!(effects, vec![Effect::Mark(Mark::ConsumerDisconnected)]);
    // The fetch's timeout went with it; the metadata refresh (after the metadata backoff,
    // to the other bootstrap broker) comes first, then the fetch again after its backoff.
    assert_eq!(consumer.next_deadline_ms(), Some(100));
    assert_eq!(
        fire_due_timers(&mut consumer, 100),
        vec![metadata_request(2, 5)]
    );
    assert_eq!(
        consumer.handle(101, metadata_response(2, 5, image(2, 1, 0))),
        vec![]
    );
    assert_eq!(
        fire_due_timers(&mut consumer, 110),
        vec![fetch(1, 6, 0, 3, Some(0))]
    );
}
