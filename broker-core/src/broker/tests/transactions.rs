//! Transactions on the partition leader: a transactional produce holds the last stable
//! offset at its first offset; WriteTxnMarkers appends COMMIT and ABORT markers with acks=all
//! and answers once they are committed; read_committed fetches and ListOffsets stop at the
//! last stable offset and carry the aborted transactions; a deposed coordinator and a
//! partition not led here are refused; a follower's copy and a restarted replica rebuild
//! the same transactions.

use super::*;
use crate::ids::{ProducerEpoch, ProducerId, TransactionalId};
use crate::log::record_batch::ControlRecordType;
use crate::protocol::{
    AbortedTransaction, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, IsolationLevel,
    TxnMarker, WriteTxnMarkersRequest, WriteTxnMarkersResponse,
};
use crate::record::ProducerStamp;

pub(super) const TRANSACTIONAL: ProducerId = ProducerId(9);
pub(super) const COORDINATOR: NodeId = NodeId::Broker(BrokerId(3));
const P1: TopicPartition = TopicPartition::of_default_topic(1);

/// The transactional id of these tests' producer.
pub(super) fn payments() -> TransactionalId {
    TransactionalId("payments".to_string())
}

/// Broker 1 leading p0 in epoch 1 with this ISR, and broker 3 (not hosted here) leading the
/// `__transaction_state` partition of [`payments`]: its transaction coordinator.
pub(super) fn txn_leader(isr: &[u32], bugs: BugSwitches) -> Broker {
    let mut metadata = image(1, state(Some(1), 1, isr, 1));
    let log = crate::transaction_state_topic::transaction_partition(
        &payments(),
        config().transaction_state_log_num_partitions,
    );
    metadata.partitions.insert(
        log,
        PartitionState {
            partition: log,
            replicas: brokers(&[3]),
            leader: Some(BrokerId(3)),
            leader_epoch: LeaderEpoch(1),
            isr: brokers(&[3]),
            partition_epoch: PartitionEpoch(1),
            elr: Vec::new(),
            last_known_elr: Vec::new(),
        },
    );
    started(1, &SharedStorage::default(), bugs, metadata).0
}

/// The AddPartitionsToTxn requests the broker sent its transaction coordinator.
pub(super) fn verifications(effects: &[Effect]) -> Vec<AddPartitionsToTxnRequest> {
    sends(effects)
        .into_iter()
        .filter_map(|(to, message)| match message {
            Message::AddPartitionsToTxn(request) if to == COORDINATOR => Some(request),
            _ => None,
        })
        .collect()
}

/// The coordinator's answer to `request`: `result` for every partition it names.
pub(super) fn verification_answer(
    request: &AddPartitionsToTxnRequest,
    result: Result<(), ErrorCode>,
) -> Input {
    Input::Message {
        from: COORDINATOR,
        message: Message::AddPartitionsToTxnResponse(AddPartitionsToTxnResponse {
            correlation: request.correlation,
            error: None,
            partitions: request
                .partitions
                .iter()
                .map(|partition| (*partition, result))
                .collect(),
        }),
    }
}

/// Hands `produce` to the broker and, if it asks its coordinator, answers that the
/// partition is in the transaction.
pub(super) fn produce_verified(broker: &mut Broker, now_ms: u64, produce: Input) -> Vec<Effect> {
    let mut effects = broker.handle(now_ms, produce);
    for request in verifications(&effects) {
        effects.extend(broker.handle(now_ms, verification_answer(&request, Ok(()))));
    }
    effects
}

/// A transactional batch of `count` records from sequence `base_sequence` (epoch 0).
pub(super) fn txn_produce(correlation: u64, base_sequence: u32, count: u32) -> Input {
    let records = (0..count)
        .map(|index| ProducerRecord {
            producer_stamp: Some(ProducerStamp {
                producer_id: TRANSACTIONAL,
                producer_epoch: 0,
                sequence: base_sequence + index,
                base_sequence,
            }),
            ..ProducerRecord::application(100 + u64::from(base_sequence + index), None)
        })
        .collect();
    Input::Message {
        from: PRODUCER,
        message: Message::Produce(ProduceRequest {
            correlation: CorrelationId(correlation),
            partition: P0,
            acks: Acks::Leader,
            timeout_ms: 1_000,
            transactional_id: Some(payments()),
            transaction_version: crate::protocol::TransactionVersion::V2,
            records,
        }),
    }
}

pub(super) fn write_markers(
    correlation: u64,
    result: ControlRecordType,
    coordinator_epoch: u32,
    partitions: &[TopicPartition],
) -> Input {
    Input::Message {
        from: COORDINATOR,
        message: Message::WriteTxnMarkers(WriteTxnMarkersRequest {
            correlation: CorrelationId(correlation),
            markers: vec![TxnMarker {
                producer_id: TRANSACTIONAL,
                producer_epoch: ProducerEpoch(0),
                result,
                partitions: partitions.to_vec(),
                coordinator_epoch,
            }],
        }),
    }
}

pub(super) fn marker_responses(effects: &[Effect]) -> Vec<WriteTxnMarkersResponse> {
    sends(effects)
        .into_iter()
        .filter_map(|(to, message)| match message {
            Message::WriteTxnMarkersResponse(response) if to == COORDINATOR => Some(response),
            _ => None,
        })
        .collect()
}

fn marker_response(
    correlation: u64,
    results: Vec<(TopicPartition, Result<(), ErrorCode>)>,
) -> WriteTxnMarkersResponse {
    WriteTxnMarkersResponse {
        correlation: CorrelationId(correlation),
        markers: vec![(TRANSACTIONAL, results)],
    }
}

fn consumer_fetch(offset: u64, isolation_level: IsolationLevel, max_wait_ms: u64) -> Input {
    Input::Message {
        from: CONSUMER,
        message: Message::Fetch(FetchRequest {
            rack_id: None,
            correlation: CorrelationId(offset + 200),
            partition: P0,
            replica: None,
            replica_epoch: None,
            current_leader_epoch: LeaderEpoch(1),
            fetch_offset: Offset(offset),
            last_fetched_epoch: None,
            max_records: 500,
            max_wait_ms,
            isolation_level,
            log_start_offset: None,
        }),
    }
}

/// The offsets and control flags of a fetch's records, and its aborted list.
fn fetched(effects: &[Effect]) -> (Vec<(u64, bool)>, Vec<AbortedTransaction>) {
    let [Ok(data)] = &fetch_data(effects)[..] else {
        panic!("one fetch answer expected: {effects:?}");
    };
    let records = data
        .records
        .iter()
        .map(|record| (record.offset.0, record.is_control))
        .collect();
    (records, data.aborted_transactions.clone())
}

fn latest(broker: &mut Broker, isolation_level: IsolationLevel) -> Result<Offset, ErrorCode> {
    let effects = broker.handle(
        30,
        Input::Message {
            from: CONSUMER,
            message: Message::ListOffsets(ListOffsetsRequest {
                correlation: CorrelationId(77),
                partition: P0,
                spec: OffsetSpec::Latest,
                isolation_level,
                replica: None,
            }),
        },
    );
    match &sends(&effects)[..] {
        [(_, Message::ListOffsetsResponse(response))] => response.result,
        other => panic!("unexpected {other:?}"),
    }
}

fn last_stable_offset(broker: &Broker) -> Offset {
    broker.partition(P0).unwrap().log().last_stable_offset()
}

#[test]
fn a_commit_marker_is_answered_once_committed_and_moves_the_last_stable_offset() {
    let mut broker = txn_leader(&[1, 2], BugSwitches::default());
    produce_verified(&mut broker, 10, txn_produce(1, 0, 2));
    broker.handle(11, follower_fetch(2, 2));
    assert_eq!(
        last_stable_offset(&broker),
        Offset(0),
        "the open transaction at 0"
    );
    assert_eq!(
        latest(&mut broker, IsolationLevel::ReadCommitted),
        Ok(Offset(0))
    );
    assert_eq!(
        latest(&mut broker, IsolationLevel::ReadUncommitted),
        Ok(Offset(2))
    );
    let effects = broker.handle(12, consumer_fetch(0, IsolationLevel::ReadCommitted, 0));
    assert_eq!(fetched(&effects), (vec![], vec![]));

    let effects = broker.handle(13, write_markers(5, ControlRecordType::Commit, 1, &[P0]));
    assert!(
        marker_responses(&effects).is_empty(),
        "acks=all: not committed yet"
    );
    assert_eq!(marks(&effects), vec![Mark::TxnMarkerAppended]);
    assert!(events(&effects).contains(&Event::TxnMarkerAppended {
        partition: P0,
        producer: TRANSACTIONAL,
        producer_epoch: ProducerEpoch(0),
        result: ControlRecordType::Commit,
        coordinator_epoch: 1,
        offset: Offset(2),
    }));
    assert_eq!(
        last_stable_offset(&broker),
        Offset(0),
        "the marker is not committed"
    );

    let effects = broker.handle(14, follower_fetch(2, 3));
    assert_eq!(
        marker_responses(&effects),
        vec![marker_response(5, vec![(P0, Ok(()))])]
    );
    assert!(events(&effects).contains(&Event::LastStableOffsetAdvanced {
        partition: P0,
        from: Offset(0),
        to: Offset(3),
    }));
    assert_eq!(
        latest(&mut broker, IsolationLevel::ReadCommitted),
        Ok(Offset(3))
    );
    let effects = broker.handle(15, consumer_fetch(0, IsolationLevel::ReadCommitted, 0));
    assert_eq!(
        fetched(&effects),
        (vec![(0, false), (1, false), (2, true)], vec![])
    );
}

#[test]
fn an_abort_marker_is_indexed_and_only_read_committed_fetches_carry_it() {
    let mut broker = txn_leader(&[1, 2], BugSwitches::default());
    produce_verified(&mut broker, 10, txn_produce(1, 0, 2));
    broker.handle(11, write_markers(5, ControlRecordType::Abort, 1, &[P0]));
    broker.handle(12, produce(2, Acks::Leader, &[900]));
    let effects = broker.handle(13, follower_fetch(2, 4));
    assert_eq!(
        marker_responses(&effects),
        vec![marker_response(5, vec![(P0, Ok(()))])]
    );
    let aborted = AbortedTransaction {
        producer_id: TRANSACTIONAL,
        first_offset: Offset(0),
    };
    let all = vec![(0, false), (1, false), (2, true), (3, false)];
    let effects = broker.handle(14, consumer_fetch(0, IsolationLevel::ReadCommitted, 0));
    assert_eq!(fetched(&effects), (all.clone(), vec![aborted]));
    let effects = broker.handle(15, consumer_fetch(0, IsolationLevel::ReadUncommitted, 0));
    assert_eq!(fetched(&effects), (all, vec![]));
    let effects = broker.handle(16, consumer_fetch(3, IsolationLevel::ReadCommitted, 0));
    assert_eq!(
        fetched(&effects),
        (vec![(3, false)], vec![]),
        "past the abort"
    );
}

#[test]
fn a_marker_from_an_older_coordinator_epoch_is_fenced_and_appends_nothing() {
    let mut broker = txn_leader(&[1, 2], BugSwitches::default());
    produce_verified(&mut broker, 10, txn_produce(1, 0, 1));
    broker.handle(11, write_markers(5, ControlRecordType::Commit, 4, &[P0]));
    produce_verified(&mut broker, 12, txn_produce(2, 1, 1));
    let effects = broker.handle(13, write_markers(6, ControlRecordType::Abort, 3, &[P0]));
    assert_eq!(
        marker_responses(&effects),
        vec![marker_response(
            6,
            vec![(P0, Err(ErrorCode::TransactionCoordinatorFenced))]
        )]
    );
    assert_eq!(marks(&effects), vec![Mark::TxnMarkerCoordinatorFenced]);
    let log = broker.partition(P0).unwrap().log();
    assert_eq!(log.log_end_offset(), Offset(3));
    assert_eq!(
        log.producer_state().ongoing_transactions().get(&Offset(2)),
        Some(&TRANSACTIONAL),
        "still open"
    );
}

#[test]
fn a_marker_for_a_partition_not_led_here_is_not_leader_or_follower() {
    let mut broker = txn_leader(&[1, 2], BugSwitches::default());
    produce_verified(&mut broker, 10, txn_produce(1, 0, 1));
    broker.handle(11, follower_fetch(2, 1));
    let effects = broker.handle(
        12,
        write_markers(5, ControlRecordType::Commit, 1, &[P0, P1]),
    );
    assert!(
        marker_responses(&effects).is_empty(),
        "P0 waits for its commit"
    );
    let effects = broker.handle(13, follower_fetch(2, 2));
    assert_eq!(
        marker_responses(&effects),
        vec![marker_response(
            5,
            vec![(P0, Ok(())), (P1, Err(ErrorCode::NotLeaderOrFollower))]
        )]
    );

    // Broker 2 hosts P0 as a follower.
    let (mut follower, _) = started(
        2,
        &SharedStorage::default(),
        BugSwitches::default(),
        image(1, state(Some(1), 1, &[1, 2], 1)),
    );
    let effects = follower.handle(14, write_markers(6, ControlRecordType::Abort, 1, &[P0]));
    assert_eq!(
        marker_responses(&effects),
        vec![marker_response(
            6,
            vec![(P0, Err(ErrorCode::NotLeaderOrFollower))]
        )]
    );
}

#[test]
fn a_parked_read_committed_fetch_wakes_when_the_last_stable_offset_moves() {
    let mut broker = txn_leader(&[1, 2], BugSwitches::default());
    produce_verified(&mut broker, 10, txn_produce(1, 0, 2));
    broker.handle(11, follower_fetch(2, 2));
    let effects = broker.handle(12, consumer_fetch(0, IsolationLevel::ReadCommitted, 500));
    assert_eq!(marks(&effects), vec![Mark::FetchParked]);
    let effects = broker.handle(13, write_markers(5, ControlRecordType::Commit, 1, &[P0]));
    assert!(
        fetch_data(&effects).is_empty(),
        "the marker is not committed yet"
    );
    let effects = broker.handle(14, follower_fetch(2, 3));
    let consumer_answers: Vec<_> = sends(&effects)
        .into_iter()
        .filter(|(to, _)| *to == CONSUMER)
        .collect();
    assert_eq!(consumer_answers.len(), 1);
    let Message::FetchResponse(FetchResponse {
        result: Ok(data), ..
    }) = &consumer_answers[0].1
    else {
        panic!("{consumer_answers:?}");
    };
    assert_eq!(data.records.len(), 3);
    assert_eq!(data.last_stable_offset, Offset(3));
}

#[test]
fn a_follower_and_a_restarted_replica_rebuild_the_leaders_transactions_from_the_markers() {
    let mut leader_broker = txn_leader(&[1, 2], BugSwitches::default());
    produce_verified(&mut leader_broker, 10, txn_produce(1, 0, 2));
    leader_broker.handle(11, write_markers(5, ControlRecordType::Abort, 1, &[P0]));
    produce_verified(&mut leader_broker, 12, txn_produce(2, 2, 1));
    let copied = fetch_data(&leader_broker.handle(13, follower_fetch(2, 0)))
        .pop()
        .unwrap()
        .unwrap()
        .records;
    assert_eq!(copied.len(), 4);
    let leader_state = leader_broker
        .partition(P0)
        .unwrap()
        .log()
        .producer_state()
        .clone();

    // Broker 2 is a follower: it copies the records through a fetch response.
    let storage = SharedStorage::default();
    let (mut follower, effects) = started(
        2,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(1), 1, &[1, 2], 1)),
    );
    let Some(correlation) = sends(&effects)
        .into_iter()
        .find_map(|(_, message)| match message {
            Message::Fetch(request) => Some(request.correlation),
            _ => None,
        })
    else {
        panic!("the follower fetches: {effects:?}");
    };
    follower.handle(
        14,
        Input::Message {
            from: NodeId::Broker(BrokerId(1)),
            message: Message::FetchResponse(FetchResponse {
                correlation,
                partition: P0,
                result: Ok(FetchData {
                    preferred_read_replica: None,
                    records: copied,
                    high_watermark: Offset(0),
                    log_start_offset: Offset(0),
                    log_end_offset: Offset(4),
                    last_stable_offset: Offset(0),
                    aborted_transactions: Vec::new(),
                    diverging_epoch: None,
                }),
            }),
        },
    );
    let follower_state = follower
        .partition(P0)
        .unwrap()
        .log()
        .producer_state()
        .clone();
    assert_eq!(
        follower_state.ongoing_transactions(),
        leader_state.ongoing_transactions()
    );
    assert_eq!(
        follower_state.all_aborted_transactions(),
        leader_state.all_aborted_transactions()
    );
    assert_eq!(follower_state.all_aborted_transactions().len(), 1);

    // Broker 2 restarts (no clean shutdown, so no snapshot): recovery replays the markers.
    let (restarted, _) = started(
        2,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(1), 1, &[1, 2], 1)),
    );
    let recovered = restarted.partition(P0).unwrap().log().producer_state();
    assert_eq!(
        recovered.ongoing_transactions(),
        leader_state.ongoing_transactions()
    );
    assert_eq!(
        recovered.all_aborted_transactions(),
        leader_state.all_aborted_transactions()
    );
}
