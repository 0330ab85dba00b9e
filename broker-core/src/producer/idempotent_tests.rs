//! Unit tests of the idempotent producer as a whole: it asks for a producer id before any
//! batch leaves, stamps batches with sequences, keeps them through retries, and bumps its
//! epoch where Kafka's does.

use super::test_support::*;
use super::*;
use crate::actor::fire_due_timers;
use crate::error::ErrorCode;
use crate::ids::{Offset, ProducerEpoch, ProducerId};
use crate::protocol::{
    Acks, InitProducerIdRequest, InitProducerIdResponse, ProduceRequest, ProducerIdAndEpoch,
};
use crate::record::ProducerStamp;

fn idempotent_config() -> ProducerConfig {
    ProducerConfig {
        acks: Acks::All,
        enable_idempotence: Some(true),
        ..config()
    }
}

const PID: ProducerId = ProducerId(1000);

fn init_request(to: u32, correlation: u64) -> Effect {
    Effect::Send {
        to: NodeId::Broker(b(to)),
        message: Message::InitProducerId(InitProducerIdRequest {
            correlation: CorrelationId(correlation),
            transactional_id: None,
            transaction_timeout_ms: u64::from(i32::MAX.unsigned_abs()),
            current: None,
        }),
    }
}

fn init_response(from: u32, correlation: u64, result: Result<u16, ErrorCode>) -> Input {
    Input::Message {
        from: NodeId::Broker(b(from)),
        message: Message::InitProducerIdResponse(InitProducerIdResponse {
            correlation: CorrelationId(correlation),
            result: result.map(|epoch| ProducerIdAndEpoch {
                producer_id: PID,
                epoch: ProducerEpoch(epoch),
            }),
        }),
    }
}

/// A produce to b`to` of `values`, stamped with epoch `epoch` from `base_sequence`.
fn stamped_produce(
    to: u32,
    correlation: u64,
    epoch: u16,
    base_sequence: u32,
    values: &[u64],
) -> Effect {
    let Effect::Send {
        to,
        message: Message::Produce(mut request),
    } = produce(to, correlation, Acks::All, values)
    else {
        unreachable!()
    };
    for (record, sequence) in request.records.iter_mut().zip(base_sequence..) {
        record.producer_stamp = Some(ProducerStamp {
            producer_id: PID,
            producer_epoch: epoch,
            sequence,
            base_sequence,
        });
    }
    Effect::Send {
        to,
        message: Message::Produce(ProduceRequest { ..request }),
    }
}

/// An idempotent producer that got metadata (b1 leads p0) at 1 and producer id `PID`,
/// epoch 0, from b1 at 2.
fn idempotent_producer() -> Producer {
    let mut producer = Producer::new(
        CLIENT,
        idempotent_config(),
        vec![b(1)],
        crate::topic::TopicName::default(),
        1,
    );
    // The id is asked for at once, alongside the first metadata request.
    assert_eq!(
        producer.handle(0, Input::Start),
        vec![init_request(1, 1), metadata_request(1, 2)]
    );
    assert_eq!(
        producer.handle(1, metadata_response(1, 2, image(1, 1, 1, 0))),
        vec![]
    );
    assert_eq!(
        producer.handle(2, init_response(1, 1, Ok(0))),
        vec![mark(Mark::ProducerIdAssigned)]
    );
    producer
}

#[test]
fn no_batch_leaves_before_the_producer_id_and_then_it_leaves_stamped() {
    let mut producer = Producer::new(
        CLIENT,
        idempotent_config(),
        vec![b(1)],
        crate::topic::TopicName::default(),
        1,
    );
    producer.handle(0, Input::Start);
    producer.handle(1, metadata_response(1, 2, image(1, 1, 1, 0)));
    assert_eq!(producer.send(2, 10, None), vec![], "waits for the id");
    assert_eq!(
        producer.handle(3, init_response(1, 1, Ok(0))),
        vec![
            mark(Mark::ProducerIdAssigned),
            stamped_produce(1, 3, 0, 0, &[10])
        ]
    );
}

#[test]
fn an_init_producer_id_error_is_retried_after_the_backoff() {
    let mut producer = Producer::new(
        CLIENT,
        idempotent_config(),
        vec![b(1), b(2)],
        crate::topic::TopicName::default(),
        1,
    );
    producer.handle(0, Input::Start);
    assert_eq!(
        producer.handle(
            1,
            init_response(1, 1, Err(ErrorCode::CoordinatorLoadInProgress))
        ),
        vec![mark(Mark::ProducerInitProducerIdRetried)]
    );
    assert_eq!(fire_due_timers(&mut producer, 100), vec![]);
    // retry_backoff_ms (100) after the failure, to the next bootstrap broker.
    assert_eq!(
        fire_due_timers(&mut producer, 101),
        vec![init_request(2, 3)]
    );
}

#[test]
fn batches_take_consecutive_sequences_and_a_retry_keeps_its_own() {
    let mut producer = idempotent_producer();
    assert_eq!(
        producer.send(10, 10, None),
        vec![stamped_produce(1, 3, 0, 0, &[10])]
    );
    assert_eq!(
        producer.send(11, 11, None),
        vec![stamped_produce(1, 4, 0, 1, &[11])]
    );
    // The first request times out (its connection closes): both fail as indefinite and are
    // retried in sequence order, first the one holding sequence 0 alone.
    let timed_out = fire_due_timers(&mut producer, 1_010);
    assert!(
        timed_out.contains(&mark(Mark::ProducerRequestTimedOut)),
        "{timed_out:?}"
    );
    producer.handle(
        1_011,
        Input::ConnectionEstablished {
            peer: NodeId::Broker(b(1)),
        },
    );
    let retried: Vec<Effect> = (1_011..1_300)
        .flat_map(|now_ms| fire_due_timers(&mut producer, now_ms))
        .filter(|effect| {
            matches!(
                effect,
                Effect::Send {
                    message: Message::Produce(_),
                    ..
                }
            )
        })
        .collect();
    assert_eq!(
        retried.len(),
        1,
        "only the first batch in flight goes: {retried:?}"
    );
    let Effect::Send {
        message: Message::Produce(request),
        ..
    } = &retried[0]
    else {
        unreachable!()
    };
    assert_eq!(
        request.records[0].producer_stamp.map(|s| s.sequence),
        Some(0)
    );
    // The leader had appended the first attempt: it answers with the first offset.
    let correlation = request.correlation.0;
    let answered = producer.handle(1_300, produce_response(1, correlation, Ok(Offset(0))));
    assert!(answered.contains(&acked(10, 0)), "{answered:?}");
    assert!(
        answered
            .iter()
            .any(|effect| *effect == stamped_produce(1, correlation + 1, 0, 1, &[11])),
        "then the second goes with its own sequence: {answered:?}"
    );
}

#[test]
fn a_real_gap_bumps_the_epoch_and_the_batch_goes_again_from_sequence_zero() {
    let mut producer = idempotent_producer();
    producer.send(10, 10, None);
    producer.send(11, 11, None);
    assert_eq!(
        producer.handle(20, produce_response(1, 3, Ok(Offset(0)))),
        vec![acked(10, 0)]
    );
    // Sequence 1 follows the acknowledged 0, yet the leader reports a gap (its state was
    // lost): the producer bumps its epoch and sends the batch again as sequence 0.
    let effects = producer.handle(
        30,
        produce_response(1, 4, Err(ErrorCode::OutOfOrderSequence)),
    );
    assert!(
        effects.contains(&mark(Mark::ProducerOutOfOrderSequenceRetried)),
        "{effects:?}"
    );
    assert!(
        effects.contains(&mark(Mark::ProducerEpochBumped)),
        "{effects:?}"
    );
    // The error also asked for fresh metadata, which goes first.
    let retried = fire_due_timers(&mut producer, 130);
    assert_eq!(
        retried,
        vec![metadata_request(1, 5), stamped_produce(1, 6, 1, 0, &[11])]
    );
}

#[test]
fn with_idempotence_off_records_carry_no_stamp_and_no_id_is_asked_for() {
    let mut producer = producer_with_metadata(config(), &[1], 1);
    assert_eq!(
        producer.send(2, 10, None),
        vec![produce(1, 2, Acks::Leader, &[10])]
    );
}

#[test]
fn an_init_producer_id_that_times_out_is_sent_again_and_leaves_nothing_due() {
    let mut producer = Producer::new(
        CLIENT,
        idempotent_config(),
        vec![b(1), b(2)],
        crate::topic::TopicName::default(),
        1,
    );
    producer.handle(0, Input::Start);
    // request_timeout_ms (1,000) later nothing has answered: the connection to b1 closes,
    // taking the InitProducerId with it (the request-timeout path, not a disconnect).
    let effects = fire_due_timers(&mut producer, 1_000);
    assert!(
        effects.contains(&mark(Mark::ProducerInitProducerIdRetried)),
        "{effects:?}"
    );
    assert!(producer
        .next_deadline_ms()
        .is_some_and(|at_ms| at_ms > 1_000));
    // After the backoff it goes to the next broker.
    let retried: Vec<Effect> = (1_001..=1_100)
        .flat_map(|now_ms| fire_due_timers(&mut producer, now_ms))
        .filter(|effect| {
            matches!(
                effect,
                Effect::Send {
                    message: Message::InitProducerId(_),
                    ..
                }
            )
        })
        .collect();
    assert_eq!(retried.len(), 1, "{retried:?}");
}
