//! Unit tests of the producer: what it sends, reports and waits for, input by input. The
//! named timers themselves are tested in `timer_tests.rs`, random schedules in
//! `schedule_tests.rs`.

use super::test_support::*;
use super::*;
use crate::actor::fire_due_timers;
use crate::config::Partitioner as PartitionerConfig;
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::Offset;
use crate::mark::Mark;
use crate::metadata::MetadataImage;
use crate::protocol::{Acks, MetadataUpdate};

#[test]
fn producer_sends_batch_to_leader_after_metadata() {
    let mut producer = Producer::new(
        CLIENT,
        config(),
        vec![b(1), b(2)],
        crate::topic::TopicName::default(),
        1,
    );
    assert_eq!(producer.node(), NodeId::Producer(CLIENT));
    assert_eq!(
        producer.handle(0, Input::Start),
        vec![metadata_request(1, 1)]
    );
    assert_eq!(producer.send(2, 10, None), vec![]);
    assert_eq!(producer.send(3, 11, None), vec![]);
    assert_eq!(producer.unfinished_sends(), 2);
    assert_eq!(producer.next_deadline_ms(), Some(1_000));
    assert_eq!(
        producer.handle(5, metadata_response(1, 1, image(1, 1, 2, 0))),
        vec![produce(2, 2, Acks::Leader, &[10, 11])]
    );
    // Next: the request's timeout, before the delivery timeout and the metadata refresh.
    assert_eq!(producer.next_deadline_ms(), Some(1_005));
    assert_eq!(producer.unfinished_sends(), 2);
}

#[test]
fn acks0_reports_success_without_response() {
    let config = ProducerConfig {
        acks: Acks::None,
        ..config()
    };
    let mut producer = producer_with_metadata(config, &[1], 1);
    assert_eq!(
        producer.send(10, 7, None),
        vec![produce(1, 2, Acks::None, &[7]), completed(7, Ok(None))]
    );
    assert_eq!(producer.unfinished_sends(), 0);
    // Nothing waits for an answer: only the metadata refresh is left.
    assert_eq!(producer.next_deadline_ms(), Some(60_001));
}

#[test]
fn acks1_ok_reports_offsets_per_record() {
    let mut producer = Producer::new(
        CLIENT,
        config(),
        vec![b(1)],
        crate::topic::TopicName::default(),
        1,
    );
    producer.handle(0, Input::Start);
    producer.send(1, 7, None);
    producer.send(1, 8, None);
    producer.send(1, 9, None);
    assert_eq!(
        producer.handle(2, metadata_response(1, 1, image(1, 1, 1, 0))),
        vec![produce(1, 2, Acks::Leader, &[7, 8, 9])]
    );
    assert_eq!(
        producer.handle(3, produce_response(1, 2, Ok(Offset(40)))),
        vec![acked(7, 40), acked(8, 41), acked(9, 42)]
    );
    assert_eq!(producer.unfinished_sends(), 0);
    assert_eq!(producer.next_deadline_ms(), Some(60_002));
}

#[test]
fn request_timeout_retries_after_backoff_and_refreshes_metadata() {
    let mut producer = producer_with_metadata(config(), &[1, 2], 1);
    assert_eq!(
        producer.send(10, 7, None),
        vec![produce(1, 2, Acks::Leader, &[7])]
    );
    assert_eq!(producer.next_deadline_ms(), Some(1_010));
    assert_eq!(fire_due_timers(&mut producer, 1_009), vec![]);
    // The connection to b1 is closed; metadata is asked of the other bootstrap broker.
    assert_eq!(
        fire_due_timers(&mut producer, 1_010),
        vec![
            mark(Mark::ProducerRequestTimedOut),
            mark(Mark::ProducerRetried),
            metadata_request(2, 3),
        ]
    );
    assert_eq!(producer.next_deadline_ms(), Some(1_110));
    assert_eq!(
        producer.handle(1_020, metadata_response(2, 3, image(2, 1, 1, 0))),
        vec![mark(Mark::ProducerMetadataRefreshed)]
    );
    assert_eq!(
        fire_due_timers(&mut producer, 1_110),
        vec![produce(1, 4, Acks::Leader, &[7])]
    );
    // The first attempt's answer comes too late: its connection is gone.
    assert_eq!(
        producer.handle(1_120, produce_response(1, 2, Ok(Offset(0)))),
        vec![]
    );
    assert_eq!(
        producer.handle(1_130, produce_response(1, 4, Ok(Offset(1)))),
        vec![acked(7, 1)]
    );
    assert_eq!(producer.unfinished_sends(), 0);
}

#[test]
fn not_leader_error_refreshes_metadata_and_retries_to_new_leader() {
    let mut producer = producer_with_metadata(config(), &[1], 1);
    assert_eq!(
        producer.send(10, 7, None),
        vec![produce(1, 2, Acks::Leader, &[7])]
    );
    assert_eq!(
        producer.handle(
            20,
            produce_response(1, 2, Err(ErrorCode::NotLeaderOrFollower))
        ),
        vec![mark(Mark::ProducerRetried)]
    );
    // The metadata refresh backoff counts from the last request, at 0.
    assert_eq!(producer.next_deadline_ms(), Some(100));
    assert_eq!(
        fire_due_timers(&mut producer, 100),
        vec![metadata_request(1, 3)]
    );
    assert_eq!(
        producer.handle(105, metadata_response(1, 3, image(2, 1, 2, 1))),
        vec![mark(Mark::ProducerMetadataRefreshed)]
    );
    assert_eq!(producer.next_deadline_ms(), Some(120));
    assert_eq!(
        fire_due_timers(&mut producer, 120),
        vec![produce(2, 4, Acks::Leader, &[7])]
    );
    assert_eq!(
        producer.handle(125, produce_response(2, 4, Ok(Offset(3)))),
        vec![acked(7, 3)]
    );
}

/// Batch [1] is rejected while batch [2] is in flight and accepted: [2] lands at offset 0,
/// the retried [1] behind it at offset 1. Without idempotence Kafka reorders the same way.
#[test]
fn retried_batch_lands_behind_later_batch_with_max_in_flight_5() {
    let config = ProducerConfig {
        acks: Acks::All,
        ..config()
    };
    let mut producer = producer_with_metadata(config, &[1], 1);
    assert_eq!(
        producer.send(10, 1, None),
        vec![produce(1, 2, Acks::All, &[1])]
    );
    assert_eq!(
        producer.send(11, 2, None),
        vec![produce(1, 3, Acks::All, &[2])]
    );
    assert_eq!(
        producer.handle(
            20,
            produce_response(1, 2, Err(ErrorCode::NotEnoughReplicas))
        ),
        vec![mark(Mark::ProducerRetried)]
    );
    assert_eq!(
        producer.handle(30, produce_response(1, 3, Ok(Offset(0)))),
        vec![acked(2, 0)]
    );
    assert_eq!(
        fire_due_timers(&mut producer, 100),
        vec![metadata_request(1, 4)]
    );
    assert_eq!(
        producer.handle(101, metadata_response(1, 4, image(2, 1, 1, 0))),
        vec![mark(Mark::ProducerMetadataRefreshed)]
    );
    assert_eq!(
        fire_due_timers(&mut producer, 120),
        vec![produce(1, 5, Acks::All, &[1])]
    );
    assert_eq!(
        producer.handle(130, produce_response(1, 5, Ok(Offset(1)))),
        vec![acked(1, 1)]
    );
}

#[test]
fn delivery_timeout_fails_records_indefinitely_after_a_timeout() {
    let config = ProducerConfig {
        retries: u32::MAX,
        delivery_timeout_ms: 1_500,
        ..config()
    };
    let mut producer = producer_with_metadata(config, &[1], 1);
    assert_eq!(
        producer.send(10, 7, None),
        vec![produce(1, 2, Acks::Leader, &[7])]
    );
    assert_eq!(
        fire_due_timers(&mut producer, 1_010),
        vec![
            mark(Mark::ProducerRequestTimedOut),
            mark(Mark::ProducerRetried),
            metadata_request(1, 3),
        ]
    );
    assert_eq!(
        producer.handle(1_015, metadata_response(1, 3, image(2, 1, 1, 0))),
        vec![mark(Mark::ProducerMetadataRefreshed)]
    );
    assert_eq!(
        fire_due_timers(&mut producer, 1_110),
        vec![produce(1, 4, Acks::Leader, &[7])]
    );
    // The delivery timeout (10 + 1500) comes before the second request's (2110).
    assert_eq!(producer.next_deadline_ms(), Some(1_510));
    assert_eq!(
        fire_due_timers(&mut producer, 1_510),
        vec![
            failed(7, ErrorCode::DeliveryTimeout, false),
            mark(Mark::ProducerGaveUp),
        ]
    );
    assert_eq!(producer.unfinished_sends(), 0);
    // The request still holds its slot until its own timeout; its late answer is ignored.
    assert_eq!(producer.next_deadline_ms(), Some(2_110));
    assert_eq!(
        producer.handle(1_600, produce_response(1, 4, Ok(Offset(0)))),
        vec![]
    );
    assert_eq!(producer.next_deadline_ms(), Some(61_015));
}

#[test]
fn delivery_timeout_is_definite_when_no_leader_was_ever_known() {
    let config = ProducerConfig {
        delivery_timeout_ms: 1_500,
        ..config()
    };
    let mut producer = Producer::new(
        CLIENT,
        config,
        vec![b(1)],
        crate::topic::TopicName::default(),
        1,
    );
    assert_eq!(producer.send(0, 7, None), vec![metadata_request(1, 1)]);
    assert_eq!(
        fire_due_timers(&mut producer, 1_000),
        vec![mark(Mark::ProducerRequestTimedOut), metadata_request(1, 2),]
    );
    assert_eq!(
        fire_due_timers(&mut producer, 1_500),
        vec![
            failed(7, ErrorCode::DeliveryTimeout, true),
            mark(Mark::ProducerGaveUp),
        ]
    );
}

#[test]
fn not_enough_replicas_failure_is_definite_when_retries_exhausted() {
    let config = ProducerConfig {
        acks: Acks::All,
        retries: 1,
        ..config()
    };
    let mut producer = producer_with_metadata(config, &[1], 1);
    assert_eq!(
        producer.send(10, 7, None),
        vec![produce(1, 2, Acks::All, &[7])]
    );
    assert_eq!(
        producer.handle(
            20,
            produce_response(1, 2, Err(ErrorCode::NotEnoughReplicas))
        ),
        vec![mark(Mark::ProducerRetried)]
    );
    assert_eq!(
        fire_due_timers(&mut producer, 100),
        vec![metadata_request(1, 3)]
    );
    assert_eq!(
        producer.handle(105, metadata_response(1, 3, image(2, 1, 1, 0))),
        vec![mark(Mark::ProducerMetadataRefreshed)]
    );
    assert_eq!(
        fire_due_timers(&mut producer, 120),
        vec![produce(1, 4, Acks::All, &[7])]
    );
    assert_eq!(
        producer.handle(
            130,
            produce_response(1, 4, Err(ErrorCode::NotEnoughReplicas))
        ),
        vec![
            failed(7, ErrorCode::NotEnoughReplicas, true),
            mark(Mark::ProducerGaveUp),
        ]
    );
    assert_eq!(producer.unfinished_sends(), 0);
}

#[test]
fn not_enough_replicas_after_append_makes_the_failure_indefinite() {
    let config = ProducerConfig {
        acks: Acks::All,
        retries: 0,
        ..config()
    };
    let mut producer = producer_with_metadata(config, &[1], 1);
    producer.send(10, 7, None);
    assert_eq!(
        producer.handle(
            20,
            produce_response(1, 2, Err(ErrorCode::NotEnoughReplicasAfterAppend))
        ),
        vec![
            failed(7, ErrorCode::NotEnoughReplicasAfterAppend, false),
            mark(Mark::ProducerGaveUp),
        ]
    );
}

#[test]
fn not_leader_is_definite_with_acks1_and_indefinite_with_acks_all() {
    for (acks, definite) in [(Acks::Leader, true), (Acks::All, false)] {
        let config = ProducerConfig {
            acks,
            retries: 0,
            ..config()
        };
        let mut producer = producer_with_metadata(config, &[1], 1);
        producer.send(10, 7, None);
        assert_eq!(
            producer.handle(
                20,
                produce_response(1, 2, Err(ErrorCode::NotLeaderOrFollower))
            ),
            vec![
                failed(7, ErrorCode::NotLeaderOrFollower, definite),
                mark(Mark::ProducerGaveUp),
            ]
        );
    }
}

#[test]
fn linger_ms_holds_batch_until_full_or_expired() {
    let config = ProducerConfig {
        linger_ms: 50,
        batch_size_records: 3,
        ..config()
    };
    let mut producer = producer_with_metadata(config, &[1], 1);
    assert_eq!(producer.send(10, 1, None), vec![]);
    assert_eq!(producer.next_deadline_ms(), Some(60));
    assert_eq!(producer.send(20, 2, None), vec![]);
    assert_eq!(fire_due_timers(&mut producer, 59), vec![]);
    assert_eq!(
        fire_due_timers(&mut producer, 60),
        vec![produce(1, 2, Acks::Leader, &[1, 2])]
    );
    assert_eq!(producer.send(70, 3, None), vec![]);
    assert_eq!(producer.send(71, 4, None), vec![]);
    assert_eq!(
        producer.send(72, 5, None),
        vec![produce(1, 3, Acks::Leader, &[3, 4, 5])]
    );
}

#[test]
fn max_in_flight_holds_batches_until_a_slot_frees() {
    let config = ProducerConfig {
        max_in_flight_requests_per_connection: 1,
        ..config()
    };
    let mut producer = producer_with_metadata(config, &[1], 1);
    assert_eq!(
        producer.send(10, 1, None),
        vec![produce(1, 2, Acks::Leader, &[1])]
    );
    assert_eq!(producer.send(11, 2, None), vec![]);
    assert_eq!(producer.send(12, 3, None), vec![]);
    assert_eq!(producer.next_deadline_ms(), Some(1_010));
    assert_eq!(
        producer.handle(20, produce_response(1, 2, Ok(Offset(0)))),
        vec![acked(1, 0), produce(1, 3, Acks::Leader, &[2, 3])]
    );
}

#[test]
fn key_hash_partitioner_is_stable() {
    let config = ProducerConfig {
        acks: Acks::None,
        partitioner: PartitionerConfig::KeyHash,
        ..config()
    };
    let partitions_of = |mut producer: Producer| -> Vec<u32> {
        producer.handle(0, Input::Start);
        producer.handle(1, metadata_response(1, 1, image(1, 3, 1, 0)));
        (0..8u64)
            .flat_map(|key| producer.send(2, 100 + key, Some(key)))
            .filter_map(|effect| match effect {
                Effect::Event(Event::SendCompleted { partition, .. }) => {
                    Some(partition.partition.0)
                }
                _ => None,
            })
            .collect()
    };
    let first = partitions_of(Producer::new(
        CLIENT,
        config.clone(),
        vec![b(1)],
        crate::topic::TopicName::default(),
        3,
    ));
    let second = partitions_of(Producer::new(
        ClientId(2),
        config,
        vec![b(1)],
        crate::topic::TopicName::default(),
        3,
    ));
    assert_eq!(first, second);
    // Kafka's murmur2 of the key's eight big-endian bytes, pinned.
    assert_eq!(first, vec![2, 0, 0, 1, 0, 1, 1, 2]);
}

#[test]
fn unexpected_messages_are_ignored() {
    let mut producer = producer_with_metadata(config(), &[1], 1);
    let stray = Input::Message {
        from: NodeId::Broker(b(3)),
        message: Message::MetadataUpdate(MetadataUpdate {
            metadata: MetadataImage::default(),
        }),
    };
    assert_eq!(producer.handle(5, stray), vec![]);
    assert_eq!(
        producer.handle(6, produce_response(2, 99, Ok(Offset(0)))),
        vec![]
    );
}
