//! Tests of the consumer's named timers: a request's timeout is set when it is sent and
//! cancelled when it is answered, dropped or failed; a partition's retry backoff is in the
//! table only while it wants a request and its leader is known; and a timer whose time has
//! come is named by `due_timers`.

use super::test_support::*;
use super::*;
use crate::actor::fire_due_timers;
use crate::config::AutoOffsetReset;
use crate::error::ErrorCode;
use crate::metadata::MetadataImage;

const REFRESH: ConsumerTimer = ConsumerTimer::Metadata(MetadataTimer::Refresh);
const METADATA_TIMEOUT: ConsumerTimer = ConsumerTimer::Metadata(MetadataTimer::RequestTimeout);
const BACKOFF_P0: ConsumerTimer = ConsumerTimer::RetryBackoff(P0);

fn request_timeout(correlation: u64) -> ConsumerTimer {
    ConsumerTimer::RequestTimeout(CorrelationId(correlation))
}

/// The consumer's timer table, in name order.
fn timers_of(consumer: &Consumer) -> Vec<(ConsumerTimer, u64)> {
    consumer.timers.iter().collect()
}

/// `image(version, leader, epoch)` with p0's leader gone offline.
fn leaderless_image(version: u64, epoch: u32) -> MetadataImage {
    let mut metadata = image(version, 1, epoch);
    for state in metadata.partitions.values_mut() {
        state.leader = None;
    }
    metadata
}

#[test]
fn timer_names_read_as_kebab_case_words() {
    let names = [
        (request_timeout(4), "request-timeout-c4"),
        (METADATA_TIMEOUT, "metadata-request-timeout"),
        (REFRESH, "metadata-refresh"),
        (BACKOFF_P0, "retry-backoff-events-0"),
    ];
    for (timer, name) in names {
        assert_eq!(Timer::Consumer(timer).to_string(), name);
    }
}

#[test]
fn a_fetchs_timeout_is_set_when_it_is_sent_and_cancelled_by_its_answer() {
    let mut consumer = consumer_at_offset_3();
    assert_eq!(
        timers_of(&consumer),
        [(request_timeout(4), 1_003), (REFRESH, 60_001)]
    );
    consumer.handle(10, fetch_response(1, 4, &[(3, 0, 13)]));
    assert_eq!(
        timers_of(&consumer),
        [(request_timeout(5), 1_010), (REFRESH, 60_001)]
    );
}

#[test]
fn a_leader_change_drops_the_request_to_the_old_leader_with_its_timeout() {
    let config = ConsumerConfig {
        metadata_max_age_ms: 500,
        ..config()
    };
    let mut consumer = consumer_at_offset_3_with(config);
    assert_eq!(consumer.due_timers(501), [Timer::Consumer(REFRESH)]);
    fire_due_timers(&mut consumer, 501);
    consumer.handle(502, metadata_response(1, 5, image(2, 2, 1)));
    // Fetch 4 to b1 is gone; validation 6 went to b2.
    assert_eq!(
        timers_of(&consumer),
        [(request_timeout(6), 1_502), (REFRESH, 1_002)]
    );
}

#[test]
fn a_timed_out_fetch_is_named_when_due_and_its_partition_backs_off() {
    let mut consumer = consumer_at_offset_3();
    assert_eq!(consumer.due_timers(1_002), []);
    assert_eq!(
        consumer.due_timers(1_003),
        [Timer::Consumer(request_timeout(4))]
    );
    fire_due_timers(&mut consumer, 1_003);
    assert_eq!(
        timers_of(&consumer),
        [(METADATA_TIMEOUT, 2_003), (BACKOFF_P0, 1_103)]
    );
}

#[test]
fn the_retry_backoff_is_in_the_table_only_while_the_leader_is_known() {
    let mut consumer = consumer_at_offset_3();
    consumer.handle(200, fetch_error(1, 4, ErrorCode::NotLeaderOrFollower));
    assert_eq!(
        timers_of(&consumer),
        [(METADATA_TIMEOUT, 1_200), (BACKOFF_P0, 300)]
    );
    // The partition has no leader: its backoff ending would not let it ask anyone.
    consumer.handle(205, metadata_response(1, 5, leaderless_image(2, 1)));
    assert_eq!(consumer.timers.deadline_ms(BACKOFF_P0), None);
    assert_eq!(consumer.next_deadline_ms(), Some(300));
    assert_eq!(consumer.due_timers(300), [Timer::Consumer(REFRESH)]);
    fire_due_timers(&mut consumer, 300);
    consumer.handle(305, metadata_response(1, 6, image(3, 2, 2)));
    // The leader is back and the backoff has passed: validation went out at once.
    assert_eq!(consumer.timers.deadline_ms(BACKOFF_P0), None);
    assert_eq!(
        timers_of(&consumer),
        [(request_timeout(7), 1_305), (REFRESH, 60_305)]
    );
}

#[test]
fn a_partition_with_nothing_to_ask_has_no_backoff_timer() {
    let config = ConsumerConfig {
        auto_offset_reset: AutoOffsetReset::None,
        ..config()
    };
    let mut consumer = Consumer::new(CLIENT, config, vec![b(1)], vec![P0]);
    consumer.handle(0, Input::Start);
    consumer.handle(1, metadata_response(1, 1, image(1, 1, 0)));
    assert_eq!(timers_of(&consumer), [(REFRESH, 60_001)]);
}
