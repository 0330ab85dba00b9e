//! UNKNOWN_PRODUCER_ID as the idempotent producer reads it: Kafka 4.x bumps its epoch;
//! before KIP-360 (`reset-sequence-on-unknown-producer`) it numbers the partition from 0
//! again in the same epoch when the log start offset is past its last acknowledged offset,
//! and otherwise fails the batch.

use super::test_support::*;
use super::*;
use crate::actor::fire_due_timers;
use crate::error::ErrorCode;
use crate::ids::{Offset, ProducerEpoch, ProducerId};
use crate::protocol::{Acks, InitProducerIdResponse, ProduceResponse, ProducerIdAndEpoch};

const PID: ProducerId = ProducerId(1000);

/// An idempotent producer (with the switch or not) that knows b1 leads p0 and holds `PID`
/// epoch 0; it sent 10 (correlation 3) and 11 (correlation 4), and 10 was acknowledged at
/// offset 0.
fn producer_with_one_ack(bugs: BugSwitches) -> Producer {
    let config = ProducerConfig {
        acks: Acks::All,
        enable_idempotence: Some(true),
        ..config()
    };
    let mut producer = Producer::new(
        CLIENT,
        config,
        vec![b(1)],
        crate::topic::TopicName::default(),
        1,
    )
    .with_bug_switches(bugs);
    producer.handle(0, Input::Start);
    producer.handle(1, metadata_response(1, 2, image(1, 1, 1, 0)));
    producer.handle(
        2,
        Input::Message {
            from: NodeId::Broker(b(1)),
            message: Message::InitProducerIdResponse(InitProducerIdResponse {
                correlation: CorrelationId(1),
                result: Ok(ProducerIdAndEpoch {
                    producer_id: PID,
                    epoch: ProducerEpoch(0),
                }),
            }),
        },
    );
    producer.send(10, 10, None);
    producer.send(11, 11, None);
    assert_eq!(
        producer.handle(20, produce_response(1, 3, Ok(Offset(0)))),
        vec![acked(10, 0)]
    );
    producer
}

fn unknown_producer(correlation: u64, log_start_offset: u64) -> Input {
    Input::Message {
        from: NodeId::Broker(b(1)),
        message: Message::ProduceResponse(ProduceResponse {
            correlation: CorrelationId(correlation),
            partition: P0,
            result: Err(ErrorCode::UnknownProducerId),
            log_start_offset: Some(Offset(log_start_offset)),
        }),
    }
}

/// The (epoch, sequence) of the first produce among `effects`.
fn produced_stamp(effects: &[Effect]) -> Option<(u16, u32)> {
    effects.iter().find_map(|effect| match effect {
        Effect::Send {
            message: Message::Produce(request),
            ..
        } => request.records[0]
            .producer_stamp
            .map(|stamp| (stamp.producer_epoch, stamp.sequence)),
        _ => None,
    })
}

fn pre_kip_360() -> BugSwitches {
    BugSwitches {
        reset_sequence_on_unknown_producer: true,
        ..BugSwitches::default()
    }
}

#[test]
fn before_kip_360_a_removed_log_head_resets_the_sequence_in_the_same_epoch() {
    let mut producer = producer_with_one_ack(pre_kip_360());
    // The log start offset (1) is past the last acknowledged offset (0).
    let effects = producer.handle(30, unknown_producer(4, 1));
    assert!(
        effects.contains(&mark(Mark::ProducerSequenceReset)),
        "{effects:?}"
    );
    assert!(
        !effects.contains(&mark(Mark::ProducerEpochBumped)),
        "{effects:?}"
    );
    let retried = fire_due_timers(&mut producer, 130);
    assert_eq!(produced_stamp(&retried), Some((0, 0)), "{retried:?}");
}

#[test]
fn before_kip_360_an_unknown_producer_with_its_last_ack_still_in_the_log_fails_the_batch() {
    let mut producer = producer_with_one_ack(pre_kip_360());
    let effects = producer.handle(30, unknown_producer(4, 0));
    assert!(
        !effects.contains(&mark(Mark::ProducerSequenceReset)),
        "{effects:?}"
    );
    assert!(
        effects.contains(&failed(11, ErrorCode::UnknownProducerId, true)),
        "{effects:?}"
    );
}

#[test]
fn kafka_4_bumps_the_epoch_on_unknown_producer_id() {
    let mut producer = producer_with_one_ack(BugSwitches::default());
    let effects = producer.handle(30, unknown_producer(4, 1));
    assert!(
        !effects.contains(&mark(Mark::ProducerSequenceReset)),
        "{effects:?}"
    );
    assert!(
        effects.contains(&mark(Mark::ProducerEpochBumped)),
        "{effects:?}"
    );
    let retried = fire_due_timers(&mut producer, 130);
    assert_eq!(produced_stamp(&retried), Some((1, 0)), "{retried:?}");
}
