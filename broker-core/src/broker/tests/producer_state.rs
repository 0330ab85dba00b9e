//! The leader's produce path with idempotent producers: stamped batches appended in order,
//! a retried batch answered with its first attempt's offsets through the same completion
//! as an append (acks=1 at once, acks=all once the high watermark passes it), gaps, old
//! epochs and malformed batches refused with their marks, a new leader that copied the
//! producer's batches still recognising a retry, and the state rebuilt after truncation.

use super::*;
use crate::ids::ProducerId;
use crate::record::ProducerStamp;

const IDEMPOTENT: ProducerId = ProducerId(5);

/// A batch of the idempotent producer: `count` records from sequence `base_sequence`.
fn stamped_values(
    epoch: u16,
    base_sequence: u32,
    count: u32,
    first_value: u64,
) -> Vec<ProducerRecord> {
    (0..count)
        .map(|index| ProducerRecord {
            producer_stamp: Some(ProducerStamp {
                producer_id: IDEMPOTENT,
                producer_epoch: epoch,
                sequence: base_sequence + index,
                base_sequence,
            }),
            ..ProducerRecord::application(first_value + u64::from(index), None)
        })
        .collect()
}

fn stamped_produce(correlation: u64, acks: Acks, records: Vec<ProducerRecord>) -> Input {
    Input::Message {
        from: PRODUCER,
        message: Message::Produce(ProduceRequest {
            correlation: CorrelationId(correlation),
            partition: P0,
            acks,
            timeout_ms: 1_000,
            records,
            transactional_id: None,
            transaction_version: crate::protocol::TransactionVersion::V2,
        }),
    }
}

fn log_end_offset(broker: &Broker) -> Offset {
    broker.partition(P0).unwrap().log().log_end_offset()
}

#[test]
fn in_order_batches_are_appended_and_a_retry_is_answered_with_the_first_offset_acks_1() {
    let (mut broker, _) = leader(&[1, 2, 3], BugSwitches::default());
    broker.handle(
        10,
        stamped_produce(1, Acks::Leader, stamped_values(0, 0, 2, 500)),
    );
    let effects = broker.handle(
        11,
        stamped_produce(2, Acks::Leader, stamped_values(0, 2, 3, 502)),
    );
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(2), Ok(Offset(2)))]
    );
    assert_eq!(log_end_offset(&broker), Offset(5));
    // The first batch again (its response was lost, say): not appended, its offset answered.
    let effects = broker.handle(
        12,
        stamped_produce(3, Acks::Leader, stamped_values(0, 0, 2, 500)),
    );
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::DuplicateBatchAnswered),
            Effect::Send {
                to: PRODUCER,
                message: Message::ProduceResponse(ProduceResponse {
                    correlation: CorrelationId(3),
                    partition: P0,
                    result: Ok(Offset(0)),
                    log_start_offset: None,
                }),
            },
            Effect::Event(Event::ProduceAnswered {
                partition: P0,
                acks: Acks::Leader,
                base_offset: Some(Offset(0)),
                last_offset: Some(Offset(1)),
                result: Ok(()),
            }),
        ]
    );
    assert_eq!(log_end_offset(&broker), Offset(5));
}

#[test]
fn a_retry_with_acks_all_waits_until_the_high_watermark_passes_the_original_batch() {
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    broker.handle(
        10,
        stamped_produce(1, Acks::All, stamped_values(0, 0, 2, 500)),
    );
    // The retry arrives before the first attempt is committed: it waits too.
    let effects = broker.handle(
        11,
        stamped_produce(2, Acks::All, stamped_values(0, 0, 2, 500)),
    );
    assert_eq!(marks(&effects), vec![Mark::DuplicateBatchAnswered]);
    assert!(produce_responses(&effects).is_empty());
    assert_eq!(broker.partition(P0).unwrap().purgatory_len(), 2);
    broker.handle(12, follower_fetch(2, 0));
    let effects = broker.handle(13, follower_fetch(2, 2));
    assert_eq!(
        produce_responses(&effects),
        vec![
            (CorrelationId(1), Ok(Offset(0))),
            (CorrelationId(2), Ok(Offset(0)))
        ]
    );
    // Once committed, a retry is answered at once.
    let effects = broker.handle(
        14,
        stamped_produce(3, Acks::All, stamped_values(0, 0, 2, 500)),
    );
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(3), Ok(Offset(0)))]
    );
    assert_eq!(log_end_offset(&broker), Offset(2));
}

#[test]
fn a_retry_with_acks_all_is_refused_below_min_insync_before_the_duplicate_check() {
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    broker.handle(
        10,
        stamped_produce(1, Acks::Leader, stamped_values(0, 0, 1, 500)),
    );
    shrink_to_leader_alone(&mut broker, 11);
    let effects = broker.handle(
        12,
        stamped_produce(2, Acks::All, stamped_values(0, 0, 1, 500)),
    );
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(2), Err(ErrorCode::NotEnoughReplicas))]
    );
    assert!(!marks(&effects).contains(&Mark::DuplicateBatchAnswered));
}

#[test]
fn a_gap_an_old_epoch_and_a_malformed_batch_are_refused_and_a_new_epoch_at_zero_accepted() {
    let (mut broker, _) = leader(&[1, 2, 3], BugSwitches::default());
    broker.handle(
        10,
        stamped_produce(1, Acks::Leader, stamped_values(3, 0, 2, 500)),
    );
    let cases = [
        (
            stamped_values(3, 5, 1, 600),
            ErrorCode::OutOfOrderSequence,
            Mark::OutOfOrderSequenceRefused,
        ),
        (
            stamped_values(2, 2, 1, 600),
            ErrorCode::InvalidProducerEpoch,
            Mark::InvalidProducerEpochRefused,
        ),
        (
            [stamped_values(3, 2, 1, 600), values(&[601])].concat(),
            ErrorCode::InvalidRecord,
            Mark::InvalidRecordRefused,
        ),
    ];
    for (correlation, (records, error, mark)) in (2..).zip(cases) {
        let effects = broker.handle(11, stamped_produce(correlation, Acks::Leader, records));
        assert_eq!(
            produce_responses(&effects),
            vec![(CorrelationId(correlation), Err(error))]
        );
        assert_eq!(marks(&effects), vec![mark]);
        assert!(!events(&effects)
            .iter()
            .any(|event| matches!(event, Event::RecordsAppended { .. })));
    }
    assert_eq!(log_end_offset(&broker), Offset(2));
    let effects = broker.handle(
        12,
        stamped_produce(9, Acks::Leader, stamped_values(4, 0, 1, 700)),
    );
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(9), Ok(Offset(2)))]
    );
}

#[test]
fn an_unknown_producer_may_start_at_any_sequence_as_kip_360_allows() {
    let (mut broker, _) = leader(&[1, 2, 3], BugSwitches::default());
    let effects = broker.handle(
        10,
        stamped_produce(1, Acks::Leader, stamped_values(0, 7, 1, 500)),
    );
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Ok(Offset(0)))]
    );
}

#[test]
fn a_new_leader_that_copied_the_batches_answers_a_retry_with_the_original_offsets() {
    let (mut old_leader, _) = leader(&[1, 2, 3], BugSwitches::default());
    old_leader.handle(
        10,
        stamped_produce(1, Acks::Leader, stamped_values(0, 0, 2, 500)),
    );
    old_leader.handle(
        11,
        stamped_produce(2, Acks::Leader, stamped_values(0, 2, 2, 502)),
    );
    // Broker 2 copies both batches in one fetch, then leads in epoch 2.
    let copied = fetch_data(&old_leader.handle(12, follower_fetch(2, 0)))
        .pop()
        .unwrap()
        .unwrap()
        .records;
    let mut storage = SharedStorage::default();
    let (mut log, _) = Log::recover(P0, &mut storage, None, None);
    log.append_as_follower(&mut storage, copied).unwrap();
    let (mut new_leader, _) = started(
        2,
        &storage,
        BugSwitches::default(),
        image(2, state(Some(2), 2, &[1, 2, 3], 2)),
    );
    let effects = new_leader.handle(
        20,
        stamped_produce(3, Acks::Leader, stamped_values(0, 2, 2, 502)),
    );
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(3), Ok(Offset(2)))]
    );
    assert!(marks(&effects).contains(&Mark::DuplicateBatchAnswered));
    assert_eq!(log_end_offset(&new_leader), Offset(4));
}

#[test]
fn a_follower_truncated_by_a_leader_change_rebuilds_the_producer_state_for_its_log() {
    // Broker 2 holds two batches in epoch 1 (offsets 0..3) and one in epoch 2 (3..5); the
    // new leader's epoch 2 ended at offset 3, so the epoch-2 batch goes.
    let mut storage = SharedStorage::default();
    let (mut log, _) = Log::recover(P0, &mut storage, None, None);
    log.append_as_leader(&mut storage, LeaderEpoch(1), &stamped_values(0, 0, 2, 500))
        .unwrap();
    log.append_as_leader(&mut storage, LeaderEpoch(1), &stamped_values(0, 2, 1, 502))
        .unwrap();
    log.assign_epoch_at_log_end(&mut storage, LeaderEpoch(2));
    log.append_as_leader(&mut storage, LeaderEpoch(2), &stamped_values(0, 3, 2, 503))
        .unwrap();
    let (mut broker, effects) = started(
        2,
        &storage,
        handshake(),
        image(1, state(Some(3), 3, &[2, 3], 1)),
    );
    let (_, request) = sends(&effects).pop().unwrap();
    let Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest { correlation, .. }) = request
    else {
        panic!("expected OffsetsForLeaderEpoch, got {request:?}");
    };
    broker.handle(
        5,
        Input::Message {
            from: NodeId::Broker(BrokerId(3)),
            message: Message::OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse {
                correlation,
                partition: P0,
                result: Ok(EpochEndOffset {
                    leader_epoch: LeaderEpoch(2),
                    end_offset: Offset(3),
                }),
            }),
        },
    );
    let log = broker.partition(P0).unwrap().log();
    assert_eq!(log.log_end_offset(), Offset(3));
    let entry = log.producer_state().entry(IDEMPOTENT).unwrap();
    assert_eq!(entry.last_sequence(), Some(crate::ids::Sequence(2)));
    assert_eq!(entry.batches().len(), 2);
}
