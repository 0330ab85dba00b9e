//! KIP-320's truncation detection and the consumer before it (`no-consumer-truncation-detection`,
//! Kafka before 2.3, KAFKA-7747). The same consumer, having consumed offsets 0..3 in epoch 0
//! from b1, learns that b2 leads in epoch 1. With validation it asks b2 where epoch 0 ends
//! (OffsetsForLeaderEpoch); without it, it fetches from offset 3 at once, as consumers before
//! 2.3 did (their `Fetcher` had no validation step: the position only changed by consuming,
//! by a seek, or by an OFFSET_OUT_OF_RANGE reset).

use super::test_support::*;
use super::*;
use crate::bugs::{BugSwitch, BugSwitches};
use crate::error::ErrorCode;
use crate::mark::Mark;
use crate::protocol::OffsetSpec;

fn without_truncation_detection() -> BugSwitches {
    let mut bugs = BugSwitches::default();
    bugs.enable(BugSwitch::NoConsumerTruncationDetection);
    bugs
}

/// A consumer at offset 3 (see `consumer_at_offset_3`) whose periodic metadata refresh is
/// due at 501 and reveals b2 as leader in epoch 1; returns the effects of that image.
fn learns_new_leader(consumer: &mut Consumer) -> Vec<Effect> {
    assert_eq!(
        crate::actor::fire_due_timers(consumer, 501),
        vec![metadata_request(1, 5)]
    );
    consumer.handle(502, metadata_response(1, 5, image(2, 2, 1)))
}

fn refreshing_every_500_ms() -> ConsumerConfig {
    ConsumerConfig {
        metadata_max_age_ms: 500,
        ..config()
    }
}

#[test]
fn with_truncation_detection_a_leader_change_validates_the_position_first() {
    let mut consumer = consumer_at_offset_3_with(refreshing_every_500_ms())
        .with_bug_switches(BugSwitches::default());
    assert_eq!(
        learns_new_leader(&mut consumer),
        vec![
            Effect::Mark(Mark::ConsumerLeaderChanged),
            validate(2, 6, 1, 0),
        ]
    );
}

#[test]
fn without_truncation_detection_a_leader_change_fetches_from_the_old_position() {
    let mut consumer = consumer_at_offset_3_with(refreshing_every_500_ms())
        .with_bug_switches(without_truncation_detection());
    assert_eq!(
        learns_new_leader(&mut consumer),
        vec![
            Effect::Mark(Mark::ConsumerLeaderChanged),
            Effect::Mark(Mark::ConsumerTruncationDetectionSkipped),
            fetch(2, 6, 1, 3, Some(0)),
        ]
    );
    // b2's epoch 0 ended at offset 1 and it wrote offsets 1.. in epoch 1: its records at 1
    // and 2 are not the ones consumed from b1, but the consumer goes on from 3 and never
    // reads them.
    assert_eq!(
        consumer.handle(504, fetch_response(2, 6, &[(3, 1, 23), (4, 1, 24)])),
        vec![polled(&[(3, 23), (4, 24)]), fetch(2, 7, 1, 5, Some(1))]
    );
    assert_eq!(consumer.position(P0), Some(Offset(5)));
}

#[test]
fn without_truncation_detection_a_shorter_log_is_out_of_range_and_resets_by_policy() {
    let mut consumer = consumer_at_offset_3_with(refreshing_every_500_ms())
        .with_bug_switches(without_truncation_detection());
    learns_new_leader(&mut consumer);
    // b2's log ends below 3: OFFSET_OUT_OF_RANGE, then `auto_offset_reset` (earliest here),
    // as Kafka's pre-2.3 `Fetcher` did (`subscriptions.requestOffsetReset`).
    assert_eq!(
        consumer.handle(504, fetch_error(2, 6, ErrorCode::OffsetOutOfRange)),
        vec![
            Effect::Mark(Mark::ConsumerOffsetReset),
            list_offsets(2, 7, OffsetSpec::Earliest),
        ]
    );
    assert_eq!(
        consumer.handle(505, list_offsets_response(2, 7, 0)),
        vec![position_reset(Some(3), 0), fetch(2, 8, 1, 0, None)]
    );
}

#[test]
fn without_truncation_detection_nothing_changes_before_records_are_consumed() {
    // A partition that has consumed nothing has nothing to validate in either version: no
    // mark, the fetch goes to the new leader from the reset position.
    let mut consumer = Consumer::new(CLIENT, refreshing_every_500_ms(), vec![b(1)], vec![P0])
        .with_bug_switches(without_truncation_detection());
    consumer.handle(0, Input::Start);
    consumer.handle(1, metadata_response(1, 1, image(1, 1, 0)));
    consumer.handle(2, list_offsets_response(1, 2, 0));
    // The fetch at 0 is answered empty; the refresh at 501 finds b2 leading.
    assert_eq!(
        consumer.handle(3, fetch_response(1, 3, &[])),
        vec![fetch(1, 4, 0, 0, None)]
    );
    assert_eq!(
        crate::actor::fire_due_timers(&mut consumer, 501),
        vec![metadata_request(1, 5)]
    );
    assert_eq!(
        consumer.handle(502, metadata_response(1, 5, image(2, 2, 1))),
        vec![
            Effect::Mark(Mark::ConsumerLeaderChanged),
            fetch(2, 6, 1, 0, None)
        ]
    );
}
