//! Tests of the producer's named timers: each is set where the state that needs it is
//! entered and cancelled where that state is left; a partition's readiness is in the table
//! only while its batch could leave (leader known, free in-flight slot); and a timer whose
//! time has come is named by `due_timers`.

use super::test_support::*;
use super::*;
use crate::actor::fire_due_timers;
use crate::error::ErrorCode;
use crate::ids::Offset;
use crate::protocol::Acks;
use crate::topic::TopicPartition;

const REFRESH: ProducerTimer = ProducerTimer::Metadata(MetadataTimer::Refresh);
const METADATA_TIMEOUT: ProducerTimer = ProducerTimer::Metadata(MetadataTimer::RequestTimeout);
const FIRST_BATCH: BatchId = BatchId(0);
const SECOND_BATCH: BatchId = BatchId(1);

fn request_timeout(correlation: u64) -> ProducerTimer {
    ProducerTimer::RequestTimeout(CorrelationId(correlation))
}

/// The producer's timer table, in name order.
fn timers_of(producer: &Producer) -> Vec<(ProducerTimer, u64)> {
    producer.timers.iter().collect()
}

#[test]
fn timer_names_read_as_kebab_case_words() {
    let names = [
        (request_timeout(12), "request-timeout-c12"),
        (METADATA_TIMEOUT, "metadata-request-timeout"),
        (REFRESH, "metadata-refresh"),
        (
            ProducerTimer::DeliveryTimeout(BatchId(3)),
            "delivery-timeout-batch3",
        ),
        (ProducerTimer::Linger(P0), "linger-events-0"),
        (
            ProducerTimer::RetryBackoff(TopicPartition::of_default_topic(2)),
            "retry-backoff-events-2",
        ),
    ];
    for (timer, name) in names {
        assert_eq!(Timer::Producer(timer).to_string(), name);
    }
}

#[test]
fn a_new_producer_wants_metadata_at_once_and_names_that_timer_when_due() {
    let producer = Producer::new(
        CLIENT,
        config(),
        vec![b(1)],
        crate::topic::TopicName::default(),
        1,
    );
    assert_eq!(timers_of(&producer), [(REFRESH, 0)]);
    assert_eq!(producer.next_deadline_ms(), Some(0));
    assert_eq!(producer.due_timers(0), [Timer::Producer(REFRESH)]);
}

#[test]
fn a_requests_timeout_is_set_when_it_is_sent_and_cancelled_by_its_answer() {
    let mut producer = producer_with_metadata(config(), &[1], 1);
    producer.send(10, 7, None);
    assert_eq!(
        timers_of(&producer),
        [
            (request_timeout(2), 1_010),
            (REFRESH, 60_001),
            (ProducerTimer::DeliveryTimeout(FIRST_BATCH), 5_010),
        ]
    );
    producer.handle(20, produce_response(1, 2, Ok(Offset(0))));
    // The batch completed: its delivery timeout went with the request's timeout.
    assert_eq!(timers_of(&producer), [(REFRESH, 60_001)]);
}

#[test]
fn an_acks0_batch_completes_at_once_and_leaves_no_timer_behind() {
    let config = ProducerConfig {
        acks: Acks::None,
        ..config()
    };
    let mut producer = producer_with_metadata(config, &[1], 1);
    producer.send(10, 7, None);
    assert_eq!(timers_of(&producer), [(REFRESH, 60_001)]);
}

#[test]
fn a_timed_out_request_is_named_when_due_and_its_batch_waits_out_the_retry_backoff() {
    let mut producer = producer_with_metadata(config(), &[1, 2], 1);
    producer.send(10, 7, None);
    assert_eq!(producer.due_timers(1_009), []);
    assert_eq!(
        producer.due_timers(1_010),
        [Timer::Producer(request_timeout(2))]
    );
    fire_due_timers(&mut producer, 1_010);
    // The metadata request went to b2 at once; the batch may leave again at 1110.
    assert_eq!(
        timers_of(&producer),
        [
            (METADATA_TIMEOUT, 2_010),
            (ProducerTimer::DeliveryTimeout(FIRST_BATCH), 5_010),
            (ProducerTimer::RetryBackoff(P0), 1_110),
        ]
    );
}

#[test]
fn a_failed_attempt_sets_its_partitions_retry_backoff_and_asks_for_metadata() {
    let config = ProducerConfig {
        acks: Acks::All,
        ..config()
    };
    let mut producer = producer_with_metadata(config, &[1], 1);
    producer.send(10, 7, None);
    producer.handle(
        20,
        produce_response(1, 2, Err(ErrorCode::NotEnoughReplicas)),
    );
    // The refresh backoff counts from the last metadata request, at 0.
    assert_eq!(
        timers_of(&producer),
        [
            (REFRESH, 100),
            (ProducerTimer::DeliveryTimeout(FIRST_BATCH), 5_010),
            (ProducerTimer::RetryBackoff(P0), 120),
        ]
    );
    assert_eq!(
        producer.due_timers(120),
        [
            Timer::Producer(REFRESH),
            Timer::Producer(ProducerTimer::RetryBackoff(P0)),
        ]
    );
}

#[test]
fn linger_is_in_the_table_only_once_the_leader_is_known() {
    let config = ProducerConfig {
        linger_ms: 50,
        ..config()
    };
    let mut producer = Producer::new(
        CLIENT,
        config,
        vec![b(1)],
        crate::topic::TopicName::default(),
        1,
    );
    producer.handle(0, Input::Start);
    producer.send(10, 1, None);
    // The batch lingers until 60, but without a leader it could not leave then.
    assert_eq!(
        timers_of(&producer),
        [
            (METADATA_TIMEOUT, 1_000),
            (ProducerTimer::DeliveryTimeout(FIRST_BATCH), 5_010),
        ]
    );
    producer.handle(20, metadata_response(1, 1, image(1, 1, 1, 0)));
    assert_eq!(
        producer.timers.deadline_ms(ProducerTimer::Linger(P0)),
        Some(60)
    );
    assert_eq!(
        producer.due_timers(60),
        [Timer::Producer(ProducerTimer::Linger(P0))]
    );
    assert_eq!(
        fire_due_timers(&mut producer, 60),
        vec![produce(1, 2, Acks::Leader, &[1])]
    );
    assert_eq!(producer.timers.deadline_ms(ProducerTimer::Linger(P0)), None);
}

#[test]
fn linger_is_in_the_table_only_while_the_leader_has_a_free_in_flight_slot() {
    let config = ProducerConfig {
        linger_ms: 50,
        max_in_flight_requests_per_connection: 1,
        ..config()
    };
    let mut producer = producer_with_metadata(config, &[1], 1);
    producer.send(10, 1, None);
    assert_eq!(
        fire_due_timers(&mut producer, 60),
        vec![produce(1, 2, Acks::Leader, &[1])]
    );
    producer.send(70, 2, None);
    // The second batch lingers until 120, but the only slot is taken.
    assert_eq!(producer.timers.deadline_ms(ProducerTimer::Linger(P0)), None);
    assert_eq!(producer.next_deadline_ms(), Some(1_060));
    // The answer frees the slot: the linger deadline appears, still in the future.
    producer.handle(80, produce_response(1, 2, Ok(Offset(0))));
    assert_eq!(
        producer.timers.deadline_ms(ProducerTimer::Linger(P0)),
        Some(120)
    );
    assert_eq!(producer.next_deadline_ms(), Some(120));
}

#[test]
fn a_full_batch_is_ready_at_its_creation_but_waits_for_a_free_slot() {
    let config = ProducerConfig {
        linger_ms: 50,
        batch_size_records: 1,
        max_in_flight_requests_per_connection: 1,
        ..config()
    };
    let mut producer = producer_with_metadata(config, &[1], 1);
    // A full batch does not linger: it leaves at once.
    assert_eq!(
        producer.send(10, 1, None),
        vec![produce(1, 2, Acks::Leader, &[1])]
    );
    producer.send(11, 2, None);
    producer.send(12, 3, None);
    // Ready since 11, but the only slot is taken: no readiness in the table.
    assert_eq!(producer.timers.deadline_ms(ProducerTimer::Linger(P0)), None);
    assert_eq!(
        producer
            .timers
            .deadline_ms(ProducerTimer::DeliveryTimeout(SECOND_BATCH)),
        Some(5_011)
    );
    assert_eq!(
        producer.handle(20, produce_response(1, 2, Ok(Offset(0)))),
        vec![acked(1, 0), produce(1, 3, Acks::Leader, &[2])]
    );
}

#[test]
fn a_batch_failed_by_its_delivery_timeout_keeps_its_requests_timeout_until_the_slot_frees() {
    let config = ProducerConfig {
        request_timeout_ms: 3_000,
        delivery_timeout_ms: 1_500,
        ..config()
    };
    let mut producer = producer_with_metadata(config, &[1], 1);
    producer.send(10, 7, None);
    assert_eq!(
        producer.due_timers(1_510),
        [Timer::Producer(ProducerTimer::DeliveryTimeout(FIRST_BATCH))]
    );
    fire_due_timers(&mut producer, 1_510);
    assert_eq!(
        timers_of(&producer),
        [(request_timeout(2), 3_010), (REFRESH, 60_001)]
    );
    producer.handle(1_600, produce_response(1, 2, Ok(Offset(0))));
    assert_eq!(timers_of(&producer), [(REFRESH, 60_001)]);
}

#[test]
fn a_stale_or_premature_timers_input_changes_nothing() {
    let mut producer = producer_with_metadata(config(), &[1], 1);
    producer.send(10, 7, None);
    let before = timers_of(&producer);
    let named_early = Input::Timers(vec![Timer::Producer(request_timeout(2))]);
    assert_eq!(producer.handle(500, named_early), vec![]);
    let answered_long_ago = Input::Timers(vec![Timer::Producer(request_timeout(1))]);
    assert_eq!(producer.handle(501, answered_long_ago), vec![]);
    assert_eq!(timers_of(&producer), before);
}
