//! Transaction verification on the partition leader (KIP-890): a producer's first
//! transactional batch waits for its transaction coordinator's answer, a refusal answers the
//! produce with Kafka 4.x's error, a marker between question and answer clears the
//! verification guard, version 1 producers are only verified, and the
//! `no-transaction-verification` switch lets a late produce open a hanging transaction.

use super::transactions::{
    payments, produce_verified, txn_leader, txn_produce, verification_answer, verifications,
    write_markers, COORDINATOR, TRANSACTIONAL,
};
use super::*;
use crate::broker::transaction_verification::error_for_producer;
use crate::ids::ProducerEpoch;
use crate::log::record_batch::ControlRecordType;
use crate::protocol::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ProducerIdAndEpoch, TransactionVersion,
};

fn log_end_offset(broker: &Broker) -> Offset {
    broker.partition(P0).unwrap().log().log_end_offset()
}

fn last_stable_offset(broker: &Broker) -> Offset {
    broker.partition(P0).unwrap().log().last_stable_offset()
}

/// The one verification request in `effects`.
fn the_verification(effects: &[Effect]) -> AddPartitionsToTxnRequest {
    let [request] = &verifications(effects)[..] else {
        panic!("one AddPartitionsToTxn expected: {effects:?}");
    };
    request.clone()
}

/// [`txn_produce`] from a producer speaking transactions version 1.
fn txn_produce_v1(correlation: u64, base_sequence: u32, count: u32) -> Input {
    let Input::Message {
        from,
        message: Message::Produce(request),
    } = txn_produce(correlation, base_sequence, count)
    else {
        unreachable!("txn_produce builds a produce");
    };
    Input::Message {
        from,
        message: Message::Produce(ProduceRequest {
            transaction_version: TransactionVersion::V1,
            ..request
        }),
    }
}

fn no_verification() -> BugSwitches {
    BugSwitches {
        no_transaction_verification: true,
        ..BugSwitches::default()
    }
}

#[test]
fn a_first_transactional_produce_is_held_until_the_coordinator_answers_then_appended() {
    let mut broker = txn_leader(&[1, 2], BugSwitches::default());
    let effects = broker.handle(10, txn_produce(1, 0, 2));
    assert_eq!(
        the_verification(&effects),
        AddPartitionsToTxnRequest {
            correlation: the_verification(&effects).correlation,
            transactional_id: payments(),
            producer: ProducerIdAndEpoch {
                producer_id: TRANSACTIONAL,
                epoch: ProducerEpoch(0),
            },
            partitions: vec![P0],
            verify_only: false,
        },
        "version 2: the leader adds the partition"
    );
    assert_eq!(marks(&effects), vec![Mark::TransactionVerificationSent]);
    assert!(produce_responses(&effects).is_empty(), "held");
    assert_eq!(log_end_offset(&broker), Offset(0));

    let request = the_verification(&effects);
    let effects = broker.handle(11, verification_answer(&request, Ok(())));
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Ok(Offset(0)))]
    );
    assert_eq!(log_end_offset(&broker), Offset(2));

    // The transaction is open here now: its next batch is appended without asking.
    let effects = broker.handle(12, txn_produce(2, 2, 1));
    assert!(verifications(&effects).is_empty());
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(2), Ok(Offset(2)))]
    );
}

#[test]
fn a_refused_verification_answers_the_produce_with_kafkas_error_and_appends_nothing() {
    let mut broker = txn_leader(&[1, 2], BugSwitches::default());
    let request = the_verification(&broker.handle(10, txn_produce(1, 0, 2)));
    let effects = broker.handle(
        11,
        verification_answer(&request, Err(ErrorCode::TransactionAbortable)),
    );
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Err(ErrorCode::TransactionAbortable))]
    );
    assert_eq!(marks(&effects), vec![Mark::TransactionVerificationRefused]);
    assert!(
        events(&effects).contains(&Event::TransactionVerificationRefused {
            partition: P0,
            transactional_id: payments(),
            producer: TRANSACTIONAL,
            producer_epoch: ProducerEpoch(0),
            reason: ErrorCode::TransactionAbortable,
            answered: ErrorCode::TransactionAbortable,
        })
    );
    assert_eq!(log_end_offset(&broker), Offset(0));

    // A coordinator that moved: NOT_COORDINATOR reaches the producer as NOT_ENOUGH_REPLICAS.
    let request = the_verification(&broker.handle(12, txn_produce(2, 0, 2)));
    let effects = broker.handle(
        13,
        Input::Message {
            from: COORDINATOR,
            message: Message::AddPartitionsToTxnResponse(AddPartitionsToTxnResponse {
                correlation: request.correlation,
                error: Some(ErrorCode::NotCoordinator),
                partitions: Vec::new(),
            }),
        },
    );
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(2), Err(ErrorCode::NotEnoughReplicas))]
    );
    assert_eq!(log_end_offset(&broker), Offset(0));
}

#[test]
fn an_unanswered_or_impossible_verification_fails_as_not_enough_replicas() {
    // No answer within request.timeout.ms: a network exception.
    let mut broker = txn_leader(&[1, 2], BugSwitches::default());
    let request = the_verification(&broker.handle(10, txn_produce(1, 0, 1)));
    let effects = run_until(&mut broker, 10 + config().request_timeout_ms);
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Err(ErrorCode::NotEnoughReplicas))]
    );
    // The answer that comes after is ignored.
    let effects = broker.handle(
        20 + config().request_timeout_ms,
        verification_answer(&request, Ok(())),
    );
    assert!(produce_responses(&effects).is_empty());
    assert_eq!(log_end_offset(&broker), Offset(0));

    // The coordinator's connection closes: the same.
    let mut broker = txn_leader(&[1, 2], BugSwitches::default());
    broker.handle(10, txn_produce(1, 0, 1));
    let effects = broker.handle(11, Input::ConnectionClosed { peer: COORDINATOR });
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Err(ErrorCode::NotEnoughReplicas))]
    );

    // No coordinator in the metadata image: refused at once, nothing sent.
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    let effects = broker.handle(10, txn_produce(1, 0, 1));
    assert!(verifications(&effects).is_empty());
    assert!(
        events(&effects).contains(&Event::TransactionVerificationRefused {
            partition: P0,
            transactional_id: payments(),
            producer: TRANSACTIONAL,
            producer_epoch: ProducerEpoch(0),
            reason: ErrorCode::CoordinatorNotAvailable,
            answered: ErrorCode::NotEnoughReplicas,
        })
    );
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Err(ErrorCode::NotEnoughReplicas))]
    );
}

#[test]
fn a_marker_between_the_question_and_the_answer_keeps_the_late_answer_from_appending() {
    let mut broker = txn_leader(&[1, 2], BugSwitches::default());
    let request = the_verification(&broker.handle(10, txn_produce(1, 0, 2)));
    // The transaction is aborted (the coordinator writes its marker here) before the
    // coordinator's answer to the verification arrives.
    broker.handle(11, write_markers(5, ControlRecordType::Abort, 1, &[P0]));
    let effects = broker.handle(12, verification_answer(&request, Ok(())));
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Err(ErrorCode::InvalidTxnState))]
    );
    assert_eq!(marks(&effects), vec![Mark::VerificationGuardCleared]);
    assert_eq!(log_end_offset(&broker), Offset(1), "only the marker");
    assert!(broker
        .partition(P0)
        .unwrap()
        .log()
        .producer_state()
        .ongoing_transactions()
        .is_empty());
}

#[test]
fn a_version_1_producer_is_only_verified_and_hears_concurrent_transactions_as_not_enough_replicas()
{
    let mut broker = txn_leader(&[1, 2], BugSwitches::default());
    let request = the_verification(&broker.handle(10, txn_produce_v1(1, 0, 1)));
    assert!(request.verify_only);
    let effects = broker.handle(
        11,
        verification_answer(&request, Err(ErrorCode::ConcurrentTransactions)),
    );
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Err(ErrorCode::NotEnoughReplicas))]
    );
    assert_eq!(
        error_for_producer(ErrorCode::ConcurrentTransactions, TransactionVersion::V2),
        ErrorCode::ConcurrentTransactions
    );
    assert_eq!(
        error_for_producer(ErrorCode::ProducerFenced, TransactionVersion::V2),
        ErrorCode::InvalidProducerEpoch
    );
}

/// The hanging transaction of KAFKA-14402: a transactional batch (sequence 2) is delayed
/// past its transaction's abort. With the switch the leader appends it at once and the
/// transaction it opens holds the last stable offset for good; with verification the
/// coordinator, whose transaction is over, refuses it and nothing is appended.
#[test]
fn with_the_switch_a_late_produce_after_the_abort_opens_a_hanging_transaction() {
    let mut broker = txn_leader(&[1, 2], no_verification());
    let effects = broker.handle(10, txn_produce_v1(1, 0, 2));
    assert!(verifications(&effects).is_empty(), "nobody is asked");
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Ok(Offset(0)))]
    );
    assert!(marks(&effects).contains(&Mark::TransactionOpenedWithoutVerification));
    broker.handle(11, write_markers(5, ControlRecordType::Abort, 1, &[P0]));
    let effects = broker.handle(12, txn_produce_v1(2, 2, 1));
    assert!(
        events(&effects).contains(&Event::TransactionOpenedWithoutVerification {
            partition: P0,
            transactional_id: payments(),
            producer: TRANSACTIONAL,
            producer_epoch: ProducerEpoch(0),
            offset: Offset(3),
        })
    );
    broker.handle(13, follower_fetch(2, 4));
    assert_eq!(
        broker.partition(P0).unwrap().log().high_watermark(),
        Offset(4)
    );
    assert_eq!(
        last_stable_offset(&broker),
        Offset(3),
        "stuck at the late batch"
    );

    // With verification (the default) the same late batch is refused.
    let mut broker = txn_leader(&[1, 2], BugSwitches::default());
    produce_verified(&mut broker, 10, txn_produce_v1(1, 0, 2));
    broker.handle(11, write_markers(5, ControlRecordType::Abort, 1, &[P0]));
    let request = the_verification(&broker.handle(12, txn_produce_v1(2, 2, 1)));
    let effects = broker.handle(
        12,
        verification_answer(&request, Err(ErrorCode::TransactionAbortable)),
    );
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(2), Err(ErrorCode::TransactionAbortable))]
    );
    broker.handle(13, follower_fetch(2, 3));
    assert_eq!(last_stable_offset(&broker), Offset(3), "nothing holds it");
    assert_eq!(log_end_offset(&broker), Offset(3));
}

#[test]
fn a_higher_sequence_cannot_open_the_transaction_while_a_lower_one_awaits_verification() {
    let mut broker = txn_leader(&[1, 2], BugSwitches::default());
    // The producer's first batch (sequence 0) is refused while the coordinator is still
    // completing the previous transaction; its next batch (sequence 1) is verified at once.
    let first = the_verification(&broker.handle(10, txn_produce(1, 0, 1)));
    let effects = broker.handle(
        11,
        verification_answer(&first, Err(ErrorCode::ConcurrentTransactions)),
    );
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Err(ErrorCode::ConcurrentTransactions))]
    );
    let second = the_verification(&broker.handle(12, txn_produce(2, 1, 1)));
    let effects = broker.handle(13, verification_answer(&second, Ok(())));
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(2), Err(ErrorCode::OutOfOrderSequence))],
        "sequence 1 may not open the transaction ahead of sequence 0"
    );
    assert_eq!(
        marks(&effects),
        vec![Mark::VerificationLowerSequencePending]
    );
    assert_eq!(log_end_offset(&broker), Offset(0));

    // The retried sequence 0 opens the transaction; sequence 1 follows it.
    let retry = the_verification(&broker.handle(14, txn_produce(3, 0, 1)));
    let effects = broker.handle(15, verification_answer(&retry, Ok(())));
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(3), Ok(Offset(0)))]
    );
    let effects = broker.handle(16, txn_produce(4, 1, 1));
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(4), Ok(Offset(1)))]
    );
}
