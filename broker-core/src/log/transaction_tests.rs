//! Transactions in the log: a transactional leader append opens one, a marker from the
//! coordinator ends it, and every way of rebuilding the producer state (a follower's copy,
//! truncation, recovery with and without a snapshot) gives the same transactions, last
//! stable offset and aborted index, markers included.

use super::*;
use crate::ids::{ProducerEpoch, ProducerId};
use crate::record::ProducerStamp;
use crate::storage::MemoryStorage;

const P0: TopicPartition = TopicPartition::of_default_topic(0);
const EPOCH: LeaderEpoch = LeaderEpoch(1);
const PRODUCER: ProducerId = ProducerId(21);
const OTHER: ProducerId = ProducerId(22);

/// `count` records of `producer` (epoch 0) from `base_sequence`.
fn batch(producer: ProducerId, count: u32, base_sequence: u32) -> Vec<ProducerRecord> {
    (0..count)
        .map(|index| ProducerRecord {
            producer_stamp: Some(ProducerStamp {
                producer_id: producer,
                producer_epoch: 0,
                sequence: base_sequence + index,
                base_sequence,
            }),
            ..ProducerRecord::application(u64::from(base_sequence + index), None)
        })
        .collect()
}

fn marker(
    producer: ProducerId,
    record_type: ControlRecordType,
    coordinator_epoch: u32,
) -> TransactionMarker {
    TransactionMarker {
        producer_id: producer,
        producer_epoch: ProducerEpoch(0),
        record_type,
        coordinator_epoch,
    }
}

/// A leader log: PRODUCER's transaction of 2 records at 0..2, OTHER's of 1 at 2, PRODUCER's
/// ABORT at 3, OTHER's COMMIT at 4, then PRODUCER's next transaction at 5, open.
fn leader_log(storage: &mut MemoryStorage) -> Log {
    let (mut log, _) = Log::recover(P0, storage, None, None);
    log.append_batch_as_leader(storage, EPOCH, &batch(PRODUCER, 2, 0), true)
        .unwrap();
    log.append_batch_as_leader(storage, EPOCH, &batch(OTHER, 1, 0), true)
        .unwrap();
    log.append_end_marker_as_leader(
        storage,
        EPOCH,
        marker(PRODUCER, ControlRecordType::Abort, 0),
    )
    .unwrap();
    log.append_end_marker_as_leader(storage, EPOCH, marker(OTHER, ControlRecordType::Commit, 0))
        .unwrap();
    log.append_batch_as_leader(storage, EPOCH, &batch(PRODUCER, 1, 2), true)
        .unwrap();
    log
}

/// What a `read_committed` reader depends on.
fn transaction_view(log: &Log) -> (Offset, Vec<AbortedTransaction>, Vec<(Offset, ProducerId)>) {
    (
        log.last_stable_offset(),
        log.aborted_transactions(Offset(0), log.log_end_offset()),
        log.producer_state()
            .ongoing_transactions()
            .iter()
            .map(|(&offset, &producer)| (offset, producer))
            .collect(),
    )
}

#[test]
fn a_transactional_append_holds_the_last_stable_offset_until_its_marker_is_committed() {
    let mut storage = MemoryStorage::default();
    let (mut log, _) = Log::recover(P0, &mut storage, None, None);
    log.append_as_leader(&mut storage, EPOCH, &batch(OTHER, 2, 0))
        .unwrap();
    log.append_batch_as_leader(&mut storage, EPOCH, &batch(PRODUCER, 2, 0), true)
        .unwrap();
    assert!(log.records()[2..]
        .iter()
        .all(|record| record.is_transactional));
    assert!(!log.records()[0].is_transactional);
    log.maybe_increment_high_watermark(Offset(4));
    assert_eq!(
        log.last_stable_offset(),
        Offset(2),
        "the transaction starts at 2"
    );

    let (offset, completed) = log
        .append_end_marker_as_leader(
            &mut storage,
            EPOCH,
            marker(PRODUCER, ControlRecordType::Commit, 3),
        )
        .unwrap();
    assert_eq!(offset, Offset(4));
    assert_eq!(
        completed.map(|completed| (completed.first_offset, completed.is_aborted)),
        Some((Offset(2), false))
    );
    let control = &log.records()[4];
    assert!(control.is_control && control.is_transactional);
    assert_eq!(
        producer_state::end_marker_of_record(control)
            .map(|marker| (marker.producer_id, marker.coordinator_epoch)),
        Some((PRODUCER, 3))
    );
    assert_eq!(
        log.last_stable_offset(),
        Offset(2),
        "the marker is not committed yet"
    );
    log.maybe_increment_high_watermark(Offset(5));
    assert_eq!(log.last_stable_offset(), Offset(5));
    assert!(log.aborted_transactions(Offset(0), Offset(5)).is_empty());
}

#[test]
fn an_abort_marker_enters_the_aborted_index_with_the_last_stable_offset_after_it() {
    let mut storage = MemoryStorage::default();
    let mut log = leader_log(&mut storage);
    assert_eq!(
        log.aborted_transactions(Offset(0), Offset(6)),
        vec![AbortedTransaction {
            producer_id: PRODUCER,
            first_offset: Offset(0),
            last_offset: Offset(3),
            // OTHER's transaction at 2 was still open when PRODUCER aborted.
            last_stable_offset: Offset(2),
        }]
    );
    assert!(
        log.aborted_transactions(Offset(4), Offset(6)).is_empty(),
        "ends before 4"
    );
    assert!(
        log.aborted_transactions(Offset(0), Offset(0)).is_empty(),
        "starts at 0"
    );
    log.maybe_increment_high_watermark(Offset(6));
    assert_eq!(
        log.last_stable_offset(),
        Offset(5),
        "PRODUCER's next transaction"
    );
}

#[test]
fn a_marker_from_an_older_coordinator_or_producer_epoch_is_refused_and_appends_nothing() {
    let mut storage = MemoryStorage::default();
    let (mut log, _) = Log::recover(P0, &mut storage, None, None);
    log.append_batch_as_leader(&mut storage, EPOCH, &batch(PRODUCER, 1, 0), true)
        .unwrap();
    log.append_end_marker_as_leader(
        &mut storage,
        EPOCH,
        marker(PRODUCER, ControlRecordType::Commit, 5),
    )
    .unwrap();
    let fenced = log.append_end_marker_as_leader(
        &mut storage,
        EPOCH,
        marker(PRODUCER, ControlRecordType::Abort, 4),
    );
    assert_eq!(fenced, Err(ErrorCode::TransactionCoordinatorFenced));
    let bumped = TransactionMarker {
        producer_epoch: ProducerEpoch(1),
        ..marker(PRODUCER, ControlRecordType::Abort, 5)
    };
    log.append_end_marker_as_leader(&mut storage, EPOCH, bumped)
        .unwrap();
    let old_epoch = log.append_end_marker_as_leader(
        &mut storage,
        EPOCH,
        marker(PRODUCER, ControlRecordType::Abort, 5),
    );
    assert_eq!(old_epoch, Err(ErrorCode::InvalidProducerEpoch));
    assert_eq!(log.log_end_offset(), Offset(3));
}

#[test]
fn a_transactional_batch_without_a_producer_id_is_an_invalid_record() {
    let mut storage = MemoryStorage::default();
    let (mut log, _) = Log::recover(P0, &mut storage, None, None);
    let plain = [ProducerRecord::application(1, None)];
    assert_eq!(
        log.append_batch_as_leader(&mut storage, EPOCH, &plain, true),
        Err(ErrorCode::InvalidRecord)
    );
    assert_eq!(log.log_end_offset(), Offset(0));
}

#[test]
fn a_follower_copying_the_markers_has_the_leaders_transactions() {
    let mut storage = MemoryStorage::default();
    let leader = leader_log(&mut storage);
    let mut follower_storage = MemoryStorage::default();
    let (mut follower, _) = Log::recover(P0, &mut follower_storage, None, None);
    follower
        .append_as_follower(&mut follower_storage, leader.records().to_vec())
        .unwrap();
    assert_eq!(follower.producer_state(), leader.producer_state());
    for high_watermark in [4, 6] {
        let mut leader = leader.clone();
        let mut follower = follower.clone();
        leader.maybe_increment_high_watermark(Offset(high_watermark));
        follower.update_high_watermark(Offset(high_watermark));
        assert_eq!(transaction_view(&follower), transaction_view(&leader));
    }
}

#[test]
fn recovery_and_truncation_rebuild_the_transactions_the_markers_ended() {
    let mut storage = MemoryStorage::default();
    let mut log = leader_log(&mut storage);
    log.maybe_increment_high_watermark(Offset(6));
    let expected = transaction_view(&log);

    let (recovered, _) = Log::recover(P0, &mut storage.clone(), Some(Offset(6)), None);
    assert_eq!(transaction_view(&recovered), expected, "from the records");
    let mut snapshotted = storage.clone();
    log.clone().write_producer_snapshot(&mut snapshotted);
    let (from_snapshot, _) = Log::recover(P0, &mut snapshotted, Some(Offset(6)), None);
    assert_eq!(from_snapshot.producer_snapshot_offset(), Some(Offset(6)));
    assert_eq!(
        transaction_view(&from_snapshot),
        expected,
        "from the snapshot"
    );

    // Cut PRODUCER's second transaction: OTHER's COMMIT at 4 is the last record.
    let mut truncated = log.clone();
    truncated.truncate_to(&mut storage.clone(), Offset(5));
    assert_eq!(
        transaction_view(&truncated),
        (Offset(5), expected.1.clone(), vec![]),
        "nothing open after the cut"
    );
    // Cut OTHER's COMMIT: its transaction is open again and holds the last stable offset.
    let mut truncated = log.clone();
    truncated.truncate_to(&mut storage.clone(), Offset(4));
    assert_eq!(
        transaction_view(&truncated),
        (Offset(2), expected.1.clone(), vec![(Offset(2), OTHER)])
    );
    // Cut the ABORT as well: no aborted transaction is left.
    let mut truncated = log;
    truncated.truncate_to(&mut storage, Offset(3));
    assert_eq!(
        transaction_view(&truncated),
        (
            Offset(0),
            vec![],
            vec![(Offset(0), PRODUCER), (Offset(2), OTHER)]
        )
    );
}
