//! The transactional producer against scripted brokers: initialisation (coordinator
//! lookup, InitProducerId, retries, rediscovery), transactions committed and aborted with
//! version 2's epoch bump, abortable and fatal errors, a lost EndTxn, and version 1's
//! AddPartitionsToTxn and AddOffsetsToTxn.

use super::test_support::*;
use super::*;
use crate::bugs::BugSwitches;
use crate::error::ErrorCode;
use crate::event::{Event, SendFailure};
use crate::ids::{GenerationId, GroupId, MemberId, Offset, ProducerEpoch, ProducerId};
use crate::protocol::{
    Acks, AddOffsetsToTxnResponse, AddPartitionsToTxnResponse, ConsumerGroupMetadata,
    CoordinatorKey, EndTxnResponse, FindCoordinatorResponse, InitProducerIdResponse,
    OffsetAndMetadata, ProduceRequest, ProducerIdAndEpoch, TxnOffsetCommitResponse,
};
use crate::record::ProducerStamp;

const PID: ProducerId = ProducerId(1000);
const COORDINATOR: u32 = 2;

fn transactional_config() -> ProducerConfig {
    ProducerConfig {
        acks: Acks::All,
        enable_idempotence: None,
        transactional_id: Some("tx".to_string()),
        ..config()
    }
}

fn transaction_key() -> CoordinatorKey {
    CoordinatorKey::Transaction(crate::ids::TransactionalId("tx".to_string()))
}

fn group_metadata() -> ConsumerGroupMetadata {
    ConsumerGroupMetadata {
        group: GroupId("g".to_string()),
        generation: GenerationId(3),
        member: MemberId("m".to_string()),
        group_instance_id: None,
    }
}

fn producer_and_epoch(epoch: u16) -> ProducerIdAndEpoch {
    ProducerIdAndEpoch {
        producer_id: PID,
        epoch: ProducerEpoch(epoch),
    }
}

fn answer(from: u32, message: Message) -> Input {
    Input::Message {
        from: NodeId::Broker(b(from)),
        message,
    }
}

/// The messages sent among `effects`, with where they went.
fn sent(effects: &[Effect]) -> Vec<(u32, Message)> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Send {
                to: NodeId::Broker(broker),
                message,
            } => Some((broker.0, message.clone())),
            _ => None,
        })
        .collect()
}

/// The events among `effects`.
fn events(effects: &[Effect]) -> Vec<Event> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Event(event) => Some(event.clone()),
            _ => None,
        })
        .collect()
}

fn completed_operation(operation: TransactionOperation, result: Result<(), ErrorCode>) -> Event {
    Event::TransactionOperationCompleted { operation, result }
}

/// The only message sent, with its correlation id.
fn only_sent(effects: &[Effect]) -> (u32, Message, u64) {
    let sent = sent(effects);
    assert_eq!(sent.len(), 1, "exactly one message expected: {sent:?}");
    let (to, message) = sent.into_iter().next().expect("one");
    let correlation = correlation_of(&message);
    (to, message, correlation)
}

fn correlation_of(message: &Message) -> u64 {
    match message {
        Message::FindCoordinator(request) => request.correlation.0,
        Message::InitProducerId(request) => request.correlation.0,
        Message::AddPartitionsToTxn(request) => request.correlation.0,
        Message::AddOffsetsToTxn(request) => request.correlation.0,
        Message::TxnOffsetCommit(request) => request.correlation.0,
        Message::EndTxn(request) => request.correlation.0,
        Message::Produce(request) => request.correlation.0,
        other => panic!("unexpected message {other:?}"),
    }
}

fn find_coordinator_response(correlation: u64, key: CoordinatorKey, broker: u32) -> Message {
    Message::FindCoordinatorResponse(FindCoordinatorResponse {
        correlation: CorrelationId(correlation),
        key,
        result: Ok(b(broker)),
    })
}

fn init_response(correlation: u64, result: Result<u16, ErrorCode>) -> Message {
    Message::InitProducerIdResponse(InitProducerIdResponse {
        correlation: CorrelationId(correlation),
        result: result.map(producer_and_epoch),
    })
}

fn end_response(correlation: u64, result: Result<u16, ErrorCode>) -> Message {
    Message::EndTxnResponse(EndTxnResponse {
        correlation: CorrelationId(correlation),
        result: result.map(producer_and_epoch),
    })
}

fn produce_ok(correlation: u64, offset: u64) -> Input {
    produce_response(1, correlation, Ok(Offset(offset)))
}

fn stamp_of(message: &Message) -> (Option<String>, ProducerStamp) {
    let Message::Produce(ProduceRequest {
        records,
        transactional_id,
        ..
    }) = message
    else {
        panic!("not a produce: {message:?}");
    };
    (
        transactional_id.as_ref().map(|id| id.0.clone()),
        records[0].producer_stamp.expect("stamped"),
    )
}

fn new_producer(config: ProducerConfig, bugs: BugSwitches) -> Producer {
    let mut producer = Producer::new(
        CLIENT,
        config,
        vec![b(1)],
        crate::topic::TopicName::default(),
        1,
    )
    .with_bug_switches(bugs);
    // No idempotent InitProducerId: the id comes from the transaction coordinator.
    assert_eq!(
        producer.handle(0, Input::Start),
        vec![metadata_request(1, 1)]
    );
    producer.handle(1, metadata_response(1, 1, image(1, 1, 1, 0)));
    producer
}

/// A transactional producer initialised at epoch 0 by coordinator b2.
fn initialised(bugs: BugSwitches) -> Producer {
    let mut producer = new_producer(transactional_config(), bugs);
    let (_, _, find) = only_sent(&producer.init_transactions(10));
    let (_, _, init) = only_sent(&producer.handle(
        11,
        answer(
            1,
            find_coordinator_response(find, transaction_key(), COORDINATOR),
        ),
    ));
    producer.handle(12, answer(COORDINATOR, init_response(init, Ok(0))));
    assert_eq!(producer.transaction_state(), TransactionState::Ready);
    producer
}

fn version_1() -> BugSwitches {
    BugSwitches {
        no_epoch_bump_per_transaction: true,
        ..BugSwitches::default()
    }
}

#[test]
fn init_transactions_finds_the_coordinator_then_gets_the_transactional_producer_id() {
    let mut producer = new_producer(transactional_config(), BugSwitches::default());
    assert_eq!(
        producer.transaction_state(),
        TransactionState::Uninitialized
    );
    let effects = producer.init_transactions(10);
    assert_eq!(
        sent(&effects),
        vec![(
            1,
            Message::FindCoordinator(crate::protocol::FindCoordinatorRequest {
                correlation: CorrelationId(2),
                key: transaction_key(),
            })
        )]
    );
    assert_eq!(producer.transaction_state(), TransactionState::Initializing);
    let effects = producer.handle(
        11,
        answer(
            1,
            find_coordinator_response(2, transaction_key(), COORDINATOR),
        ),
    );
    assert_eq!(
        sent(&effects),
        vec![(
            COORDINATOR,
            Message::InitProducerId(crate::protocol::InitProducerIdRequest {
                correlation: CorrelationId(3),
                transactional_id: Some("tx".to_string()),
                transaction_timeout_ms: 60_000,
                current: None,
            })
        )]
    );
    let effects = producer.handle(12, answer(COORDINATOR, init_response(3, Ok(0))));
    assert!(events(&effects).contains(&completed_operation(
        TransactionOperation::InitTransactions,
        Ok(())
    )));
    assert_eq!(producer.transaction_state(), TransactionState::Ready);
}

#[test]
fn init_producer_id_is_retried_after_concurrent_transactions_and_rediscovers_on_not_coordinator() {
    let mut producer = new_producer(transactional_config(), BugSwitches::default());
    let (_, _, find) = only_sent(&producer.init_transactions(10));
    let (_, _, init) = only_sent(&producer.handle(
        11,
        answer(
            1,
            find_coordinator_response(find, transaction_key(), COORDINATOR),
        ),
    ));
    // The previous instance's transaction is being aborted: the same coordinator, later.
    let effects = producer.handle(
        12,
        answer(
            COORDINATOR,
            init_response(init, Err(ErrorCode::ConcurrentTransactions)),
        ),
    );
    assert!(sent(&effects).is_empty(), "waits the backoff");
    assert_eq!(producer.next_deadline_ms(), Some(112));
    let (to, message, init) = only_sent(&producer.handle(112, Input::Timers(Vec::new())));
    assert_eq!(to, COORDINATOR);
    assert!(matches!(message, Message::InitProducerId(_)));
    // The coordinator moved: look it up again after the backoff.
    producer.handle(
        113,
        answer(
            COORDINATOR,
            init_response(init, Err(ErrorCode::NotCoordinator)),
        ),
    );
    let (to, message, find) = only_sent(&producer.handle(213, Input::Timers(Vec::new())));
    assert_eq!(to, 1);
    assert!(matches!(message, Message::FindCoordinator(_)));
    let (to, _, init) = only_sent(&producer.handle(
        214,
        answer(1, find_coordinator_response(find, transaction_key(), 3)),
    ));
    assert_eq!(to, 3);
    let effects = producer.handle(215, answer(3, init_response(init, Ok(4))));
    assert!(events(&effects).contains(&completed_operation(
        TransactionOperation::InitTransactions,
        Ok(())
    )));
}

#[test]
fn a_lost_connection_to_the_coordinator_looks_it_up_again() {
    let mut producer = new_producer(transactional_config(), BugSwitches::default());
    let (_, _, find) = only_sent(&producer.init_transactions(10));
    producer.handle(
        11,
        answer(
            1,
            find_coordinator_response(find, transaction_key(), COORDINATOR),
        ),
    );
    producer.handle(
        12,
        Input::ConnectionClosed {
            peer: NodeId::Broker(b(COORDINATOR)),
        },
    );
    let effects = producer.handle(112, Input::Timers(Vec::new()));
    let finds: Vec<_> = sent(&effects)
        .into_iter()
        .filter(|(_, message)| matches!(message, Message::FindCoordinator(_)))
        .collect();
    assert_eq!(finds.len(), 1, "{effects:?}");
}

#[test]
fn a_committed_transaction_adopts_the_epoch_end_txn_returns_and_numbers_from_zero_again() {
    let mut producer = initialised(BugSwitches::default());
    assert_eq!(producer.begin_transaction(), Ok(()));
    // Version 2: no AddPartitionsToTxn, the produce goes at once, marked transactional.
    let (to, message, produce) = only_sent(&producer.send(20, 7, None));
    assert_eq!(to, 1);
    assert_eq!(
        stamp_of(&message),
        (
            Some("tx".to_string()),
            ProducerStamp {
                producer_id: PID,
                producer_epoch: 0,
                sequence: 0,
                base_sequence: 0
            }
        )
    );
    // The commit waits for the batch.
    assert!(sent(&producer.commit_transaction(21)).is_empty());
    let effects = producer.handle(22, produce_ok(produce, 5));
    assert!(effects.contains(&acked(7, 5)));
    let (to, message, end) = only_sent(&effects);
    assert_eq!(to, COORDINATOR);
    assert_eq!(
        message,
        Message::EndTxn(crate::protocol::EndTxnRequest {
            correlation: CorrelationId(end),
            transactional_id: crate::ids::TransactionalId("tx".to_string()),
            producer: producer_and_epoch(0),
            committed: true,
        })
    );
    let effects = producer.handle(23, answer(COORDINATOR, end_response(end, Ok(1))));
    assert_eq!(
        events(&effects),
        vec![
            Event::TransactionalProducerEpoch {
                transactional_id: crate::ids::TransactionalId("tx".to_string()),
                producer_id: PID,
                producer_epoch: ProducerEpoch(1),
            },
            completed_operation(TransactionOperation::CommitTransaction, Ok(())),
        ]
    );
    assert_eq!(producer.transaction_state(), TransactionState::Ready);
    producer.begin_transaction().expect("ready");
    let (_, message, _) = only_sent(&producer.send(30, 8, None));
    assert_eq!(stamp_of(&message).1.producer_epoch, 1);
    assert_eq!(stamp_of(&message).1.sequence, 0);
}

#[test]
fn a_send_outside_a_transaction_fails_at_once_and_definitely() {
    let mut producer = initialised(BugSwitches::default());
    let effects = producer.send(20, 7, None);
    assert_eq!(effects, vec![failed(7, ErrorCode::InvalidTxnState, true)]);
    assert_eq!(producer.unfinished_sends(), 0);
}

#[test]
fn a_failed_send_makes_the_commit_fail_and_the_abort_ends_the_transaction() {
    let mut producer = initialised(BugSwitches::default());
    producer.begin_transaction().expect("ready");
    let (_, _, produce) = only_sent(&producer.send(20, 7, None));
    let effects = producer.handle(
        21,
        produce_response(1, produce, Err(ErrorCode::InvalidRecord)),
    );
    assert!(effects.contains(&failed(7, ErrorCode::InvalidRecord, true)));
    assert_eq!(
        producer.transaction_state(),
        TransactionState::AbortableError
    );
    assert_eq!(
        events(&producer.commit_transaction(22)),
        vec![completed_operation(
            TransactionOperation::CommitTransaction,
            Err(ErrorCode::InvalidRecord)
        )]
    );
    let (to, message, end) = only_sent(&producer.abort_transaction(23));
    assert_eq!(to, COORDINATOR);
    assert!(matches!(
        message,
        Message::EndTxn(crate::protocol::EndTxnRequest {
            committed: false,
            ..
        })
    ));
    let effects = producer.handle(24, answer(COORDINATOR, end_response(end, Ok(1))));
    assert!(events(&effects).contains(&completed_operation(
        TransactionOperation::AbortTransaction,
        Ok(())
    )));
    assert_eq!(producer.transaction_state(), TransactionState::Ready);
}

#[test]
fn a_send_failing_during_the_commit_fails_the_commit() {
    let mut producer = initialised(BugSwitches::default());
    producer.begin_transaction().expect("ready");
    let (_, _, produce) = only_sent(&producer.send(20, 7, None));
    assert!(producer.commit_transaction(21).is_empty());
    let effects = producer.handle(
        22,
        produce_response(1, produce, Err(ErrorCode::TransactionAbortable)),
    );
    assert!(sent(&effects).is_empty(), "no EndTxn: {effects:?}");
    assert!(events(&effects).contains(&completed_operation(
        TransactionOperation::CommitTransaction,
        Err(ErrorCode::TransactionAbortable)
    )));
    assert_eq!(
        producer.transaction_state(),
        TransactionState::AbortableError
    );
}

#[test]
fn an_abort_drops_the_batches_not_sent_and_waits_for_those_in_flight() {
    let config = ProducerConfig {
        max_in_flight_requests_per_connection: 1,
        batch_size_records: 1,
        ..transactional_config()
    };
    let mut producer = new_producer(config, BugSwitches::default());
    let (_, _, find) = only_sent(&producer.init_transactions(10));
    let (_, _, init) = only_sent(&producer.handle(
        11,
        answer(
            1,
            find_coordinator_response(find, transaction_key(), COORDINATOR),
        ),
    ));
    producer.handle(12, answer(COORDINATOR, init_response(init, Ok(0))));
    producer.begin_transaction().expect("ready");
    let (_, _, produce) = only_sent(&producer.send(20, 7, None));
    assert!(
        sent(&producer.send(21, 8, None)).is_empty(),
        "one in flight"
    );
    let effects = producer.abort_transaction(22);
    assert_eq!(
        events(&effects),
        vec![Event::SendCompleted {
            value: 8,
            partition: P0,
            result: Err(SendFailure {
                error: ErrorCode::TransactionAborted,
                definite: true,
            }),
        }]
    );
    assert!(sent(&effects).is_empty(), "waits for the batch in flight");
    let effects = producer.handle(23, produce_ok(produce, 0));
    let (_, message, _) = only_sent(&effects);
    assert!(matches!(
        message,
        Message::EndTxn(crate::protocol::EndTxnRequest {
            committed: false,
            ..
        })
    ));
}

#[test]
fn a_fenced_producer_fails_every_operation_from_then_on() {
    let mut producer = initialised(BugSwitches::default());
    producer.begin_transaction().expect("ready");
    let (_, _, produce) = only_sent(&producer.send(20, 7, None));
    producer.commit_transaction(21);
    let (_, _, end) = only_sent(&producer.handle(22, produce_ok(produce, 0)));
    let effects = producer.handle(
        23,
        answer(
            COORDINATOR,
            end_response(end, Err(ErrorCode::ProducerFenced)),
        ),
    );
    assert!(events(&effects).contains(&completed_operation(
        TransactionOperation::CommitTransaction,
        Err(ErrorCode::ProducerFenced)
    )));
    assert_eq!(producer.transaction_state(), TransactionState::FatalError);
    assert_eq!(producer.begin_transaction(), Err(ErrorCode::ProducerFenced));
    assert_eq!(
        events(&producer.abort_transaction(24)),
        vec![completed_operation(
            TransactionOperation::AbortTransaction,
            Err(ErrorCode::ProducerFenced)
        )]
    );
    assert_eq!(
        producer.send(25, 8, None),
        vec![failed(8, ErrorCode::ProducerFenced, true)]
    );
}

#[test]
fn an_end_txn_whose_answer_is_lost_is_sent_again_to_the_coordinator_found_anew() {
    let mut producer = initialised(BugSwitches::default());
    producer.begin_transaction().expect("ready");
    let (_, _, produce) = only_sent(&producer.send(20, 7, None));
    producer.commit_transaction(21);
    let (_, first, _) = only_sent(&producer.handle(22, produce_ok(produce, 0)));
    // No answer within request_timeout_ms: the connection is closed.
    let effects = producer.handle(1_022, Input::Timers(Vec::new()));
    assert!(sent(&effects)
        .iter()
        .all(|(_, message)| !matches!(message, Message::EndTxn(_))));
    let (to, message, find) = only_sent(&producer.handle(1_122, Input::Timers(Vec::new())));
    assert_eq!((to, message.kind()), (1, "FindCoordinator"));
    let (to, again, end) = only_sent(&producer.handle(
        1_123,
        answer(
            1,
            find_coordinator_response(find, transaction_key(), COORDINATOR),
        ),
    ));
    assert_eq!(to, COORDINATOR);
    let strip = |message: Message| match message {
        Message::EndTxn(request) => crate::protocol::EndTxnRequest {
            correlation: CorrelationId(0),
            ..request
        },
        other => panic!("{other:?}"),
    };
    assert_eq!(strip(again), strip(first), "the same epoch, the same end");
    // The coordinator completed it the first time: it answers the retry with the bump.
    let effects = producer.handle(1_124, answer(COORDINATOR, end_response(end, Ok(1))));
    assert!(events(&effects).contains(&completed_operation(
        TransactionOperation::CommitTransaction,
        Ok(())
    )));
}

#[test]
fn version_2_sends_offsets_straight_to_the_group_coordinator() {
    let mut producer = initialised(BugSwitches::default());
    producer.begin_transaction().expect("ready");
    let offsets = vec![(
        P0,
        OffsetAndMetadata {
            offset: Offset(4),
            leader_epoch: None,
        },
    )];
    let (to, message, find) =
        only_sent(&producer.send_offsets_to_transaction(20, offsets.clone(), group_metadata()));
    assert_eq!(to, 1);
    assert_eq!(
        message,
        Message::FindCoordinator(crate::protocol::FindCoordinatorRequest {
            correlation: CorrelationId(find),
            key: CoordinatorKey::Group(GroupId("g".to_string())),
        })
    );
    let (to, message, commit) = only_sent(&producer.handle(
        21,
        answer(
            1,
            find_coordinator_response(find, CoordinatorKey::Group(GroupId("g".to_string())), 3),
        ),
    ));
    assert_eq!(to, 3);
    assert_eq!(
        message,
        Message::TxnOffsetCommit(crate::protocol::TxnOffsetCommitRequest {
            correlation: CorrelationId(commit),
            transactional_id: crate::ids::TransactionalId("tx".to_string()),
            group: GroupId("g".to_string()),
            producer: producer_and_epoch(0),
            generation: GenerationId(3),
            member: MemberId("m".to_string()),
            group_instance_id: None,
            offsets,
            transaction_version: crate::protocol::TransactionVersion::V2,
        })
    );
    let effects = producer.handle(
        22,
        answer(
            3,
            Message::TxnOffsetCommitResponse(TxnOffsetCommitResponse {
                correlation: CorrelationId(commit),
                partitions: vec![(P0, Ok(()))],
            }),
        ),
    );
    assert!(events(&effects).contains(&completed_operation(
        TransactionOperation::SendOffsetsToTransaction,
        Ok(())
    )));
    // The offsets started the transaction: its commit needs an EndTxn.
    let (to, message, _) = only_sent(&producer.commit_transaction(23));
    assert_eq!((to, message.kind()), (COORDINATOR, "EndTxn"));
}

#[test]
fn an_illegal_generation_makes_the_offsets_fail_and_the_transaction_abortable() {
    let mut producer = initialised(BugSwitches::default());
    producer.begin_transaction().expect("ready");
    let offsets = vec![(
        P0,
        OffsetAndMetadata {
            offset: Offset(4),
            leader_epoch: None,
        },
    )];
    let (_, _, find) =
        only_sent(&producer.send_offsets_to_transaction(20, offsets, group_metadata()));
    let group = CoordinatorKey::Group(GroupId("g".to_string()));
    let (_, _, commit) =
        only_sent(&producer.handle(21, answer(1, find_coordinator_response(find, group, 3))));
    let effects = producer.handle(
        22,
        answer(
            3,
            Message::TxnOffsetCommitResponse(TxnOffsetCommitResponse {
                correlation: CorrelationId(commit),
                partitions: vec![(P0, Err(ErrorCode::IllegalGeneration))],
            }),
        ),
    );
    assert!(events(&effects).contains(&completed_operation(
        TransactionOperation::SendOffsetsToTransaction,
        Err(ErrorCode::IllegalGeneration)
    )));
    assert_eq!(
        producer.transaction_state(),
        TransactionState::AbortableError
    );
}

#[test]
fn version_1_adds_partitions_and_offsets_before_writing_them_and_keeps_its_epoch() {
    let mut producer = initialised(version_1());
    producer.begin_transaction().expect("ready");
    let (to, message, add) = only_sent(&producer.send(20, 7, None));
    assert_eq!(to, COORDINATOR);
    assert_eq!(
        message,
        Message::AddPartitionsToTxn(crate::protocol::AddPartitionsToTxnRequest {
            correlation: CorrelationId(add),
            transactional_id: crate::ids::TransactionalId("tx".to_string()),
            producer: producer_and_epoch(0),
            partitions: vec![P0],
            verify_only: false,
        })
    );
    let (to, message, produce) = only_sent(&producer.handle(
        21,
        answer(
            COORDINATOR,
            Message::AddPartitionsToTxnResponse(AddPartitionsToTxnResponse {
                correlation: CorrelationId(add),
                error: None,
                partitions: vec![(P0, Ok(()))],
            }),
        ),
    ));
    assert_eq!((to, message.kind()), (1, "Produce"));
    producer.handle(22, produce_ok(produce, 0));
    let offsets = vec![(
        P0,
        OffsetAndMetadata {
            offset: Offset(4),
            leader_epoch: None,
        },
    )];
    let (to, message, add_offsets) =
        only_sent(&producer.send_offsets_to_transaction(23, offsets, group_metadata()));
    assert_eq!((to, message.kind()), (COORDINATOR, "AddOffsetsToTxn"));
    let (_, message, _) = only_sent(&producer.handle(
        24,
        answer(
            COORDINATOR,
            Message::AddOffsetsToTxnResponse(AddOffsetsToTxnResponse {
                correlation: CorrelationId(add_offsets),
                result: Ok(()),
            }),
        ),
    ));
    assert_eq!(message.kind(), "FindCoordinator");
    let mut producer_v1 = initialised(version_1());
    producer_v1.begin_transaction().expect("ready");
    let (_, _, add) = only_sent(&producer_v1.send(20, 7, None));
    let (_, _, produce) = only_sent(&producer_v1.handle(
        21,
        answer(
            COORDINATOR,
            Message::AddPartitionsToTxnResponse(AddPartitionsToTxnResponse {
                correlation: CorrelationId(add),
                error: None,
                partitions: vec![(P0, Ok(()))],
            }),
        ),
    ));
    producer_v1.handle(22, produce_ok(produce, 0));
    let (_, _, end) = only_sent(&producer_v1.commit_transaction(23));
    let effects = producer_v1.handle(24, answer(COORDINATOR, end_response(end, Ok(0))));
    assert_eq!(
        events(&effects),
        vec![completed_operation(
            TransactionOperation::CommitTransaction,
            Ok(())
        )],
        "no new epoch"
    );
    producer_v1.begin_transaction().expect("ready");
    let (_, message, _) = only_sent(&producer_v1.send(30, 8, None));
    assert_eq!(message.kind(), "AddPartitionsToTxn", "added again");
}

#[test]
fn begin_is_refused_before_init_and_twice() {
    let mut producer = new_producer(transactional_config(), BugSwitches::default());
    assert_eq!(
        producer.begin_transaction(),
        Err(ErrorCode::InvalidTxnState)
    );
    let mut producer = initialised(BugSwitches::default());
    producer.begin_transaction().expect("ready");
    assert_eq!(
        producer.begin_transaction(),
        Err(ErrorCode::InvalidTxnState)
    );
}

#[test]
fn a_batch_refused_invalid_txn_state_or_an_old_epoch_makes_the_transaction_abortable() {
    // Kafka's `maybeTransitionToErrorState` for a batch: only fencing is fatal; a leader's
    // INVALID_TXN_STATE or INVALID_PRODUCER_EPOCH (KIP-588) leave the abort to decide.
    for error in [ErrorCode::InvalidTxnState, ErrorCode::InvalidProducerEpoch] {
        let mut producer = initialised(BugSwitches::default());
        producer.begin_transaction().expect("ready");
        let (_, _, produce) = only_sent(&producer.send(20, 7, None));
        producer.handle(21, produce_response(1, produce, Err(error)));
        assert_eq!(
            producer.transaction_state(),
            TransactionState::AbortableError,
            "{error}"
        );
        let (_, _, end) = only_sent(&producer.abort_transaction(22));
        producer.handle(23, answer(COORDINATOR, end_response(end, Ok(1))));
        assert_eq!(producer.transaction_state(), TransactionState::Ready);
    }
    let mut producer = initialised(BugSwitches::default());
    producer.begin_transaction().expect("ready");
    let (_, _, produce) = only_sent(&producer.send(20, 7, None));
    producer.handle(
        21,
        produce_response(1, produce, Err(ErrorCode::ProducerFenced)),
    );
    assert_eq!(producer.transaction_state(), TransactionState::FatalError);
}
