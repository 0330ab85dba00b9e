//! DeleteRecords on the log: the log start offset moves up to the high watermark and no
//! further, the records below it are gone for readers but stay in the segment, it survives
//! recovery through the checkpoint, and the producer state keeps a producer whose batches
//! were deleted (Kafka 4.x, KIP-360) unless the pre-KIP-360 setting is on.

use super::*;
use crate::ids::Sequence;
use crate::record::ProducerStamp;
use crate::storage::MemoryStorage;

const P0: TopicPartition = TopicPartition::of_default_topic(0);
const PRODUCER: ProducerId = ProducerId(5);

/// `count` records of `PRODUCER` (epoch 0) from `base_sequence`.
fn idempotent(count: u32, base_sequence: u32) -> Vec<ProducerRecord> {
    (0..count)
        .map(|index| ProducerRecord {
            producer_stamp: Some(ProducerStamp {
                producer_id: PRODUCER,
                producer_epoch: 0,
                sequence: base_sequence + index,
                base_sequence,
            }),
            ..ProducerRecord::application(u64::from(base_sequence + index), None)
        })
        .collect()
}

/// A log with two committed batches of `PRODUCER` (offsets 0..2 and 3..5) and a third
/// (6..8) above the high watermark.
fn log_with_three_batches(storage: &mut MemoryStorage) -> Log {
    let (mut log, _) = Log::recover(P0, storage, None, None);
    for base_sequence in [0, 3, 6] {
        log.append_as_leader(storage, LeaderEpoch(1), &idempotent(3, base_sequence))
            .unwrap();
    }
    log.maybe_increment_high_watermark(Offset(6));
    log
}

#[test]
fn the_log_start_offset_moves_up_to_the_high_watermark_and_hides_the_records_below() {
    let mut storage = MemoryStorage::default();
    let mut log = log_with_three_batches(&mut storage);
    assert_eq!(
        log.maybe_increment_log_start_offset(&mut storage, Offset(7)),
        Err(ErrorCode::OffsetOutOfRange)
    );
    assert_eq!(log.log_start_offset(), Offset(0));
    let moved = log
        .maybe_increment_log_start_offset(&mut storage, Offset(4))
        .unwrap();
    assert_eq!(
        moved,
        Some(LogStartOffsetMove {
            from: Offset(0),
            to: Offset(4),
            producers_forgotten: Vec::new(),
        })
    );
    assert_eq!(
        log.maybe_increment_log_start_offset(&mut storage, Offset(2)),
        Ok(None)
    );
    assert_eq!(
        log.records().first().map(|record| record.offset),
        Some(Offset(4))
    );
    assert!(log.read(Offset(3), Offset(6), 10).is_empty());
    assert_eq!(log.read(Offset(4), Offset(6), 10).len(), 2);
    // The segment keeps its bytes: only the start offset moved.
    assert_eq!(log.log_end_offset(), Offset(9));
    log.check_invariants_full();
}

#[test]
fn a_retry_of_a_deleted_batch_is_still_a_duplicate_in_kafka_4() {
    let mut storage = MemoryStorage::default();
    let mut log = log_with_three_batches(&mut storage);
    log.maybe_increment_log_start_offset(&mut storage, Offset(6))
        .unwrap();
    let retry = log.append_as_leader(&mut storage, LeaderEpoch(1), &idempotent(3, 3));
    assert_eq!(
        retry,
        Ok(Some(LeaderAppend::Duplicate {
            base_offset: Offset(3),
            last_offset: Offset(5),
        }))
    );
}

#[test]
fn before_kip_360_a_producer_whose_batches_are_all_deleted_is_forgotten() {
    let mut storage = MemoryStorage::default();
    let mut log = log_with_three_batches(&mut storage);
    log.set_pre_kip_360_producer_state(true);
    // Its last batch (6..8) is still above the new start: the producer stays, with the
    // batches below the start dropped.
    let moved = log
        .maybe_increment_log_start_offset(&mut storage, Offset(4))
        .unwrap()
        .unwrap();
    assert!(moved.producers_forgotten.is_empty());
    let entry = log.producer_state().entry(PRODUCER).unwrap();
    assert_eq!(entry.batches().count(), 2);
    // Every batch deleted: forgotten, and a retry not at sequence 0 is UNKNOWN_PRODUCER_ID.
    log.maybe_increment_high_watermark(Offset(9));
    let moved = log
        .maybe_increment_log_start_offset(&mut storage, Offset(9))
        .unwrap()
        .unwrap();
    assert_eq!(moved.producers_forgotten, vec![PRODUCER]);
    assert_eq!(
        log.append_as_leader(&mut storage, LeaderEpoch(1), &idempotent(3, 6)),
        Err(ErrorCode::UnknownProducerId)
    );
    // The producer, numbering from 0 again, is written a second time.
    let again = log.append_as_leader(&mut storage, LeaderEpoch(1), &idempotent(3, 0));
    assert!(matches!(again, Ok(Some(LeaderAppend::Appended { .. }))));
    assert_eq!(
        log.producer_state()
            .entry(PRODUCER)
            .unwrap()
            .last_sequence(),
        Some(Sequence(2))
    );
}

#[test]
fn recovery_takes_the_checkpointed_log_start_offset_capped_at_the_high_watermark() {
    let mut storage = MemoryStorage::default();
    let log = log_with_three_batches(&mut storage);
    drop(log);
    let checkpoints = Checkpoints {
        high_watermark: Some(Offset(6)),
        log_start_offset: Some(Offset(3)),
    };
    let (recovered, _) = Log::recover_from_checkpoints(P0, &mut storage, checkpoints, None);
    assert_eq!(recovered.log_start_offset(), Offset(3));
    assert_eq!(recovered.records().len(), 6);
    let beyond = Checkpoints {
        high_watermark: Some(Offset(2)),
        log_start_offset: Some(Offset(5)),
    };
    let (recovered, _) = Log::recover_from_checkpoints(P0, &mut storage, beyond, None);
    assert_eq!(recovered.log_start_offset(), Offset(2));
    recovered.check_invariants_full();
}

#[test]
fn a_truncation_never_cuts_below_the_log_start_offset() {
    let mut storage = MemoryStorage::default();
    let mut log = log_with_three_batches(&mut storage);
    log.maybe_increment_log_start_offset(&mut storage, Offset(5))
        .unwrap();
    log.truncate_to(&mut storage, Offset(2));
    assert_eq!(log.log_end_offset(), Offset(5));
    assert_eq!(log.log_start_offset(), Offset(5));
    log.check_invariants_full();
}

/// A log whose three batches are in epochs 1, 2 and 3 (offsets 0..2, 3..5, 6..8), all
/// committed.
fn log_in_three_epochs(storage: &mut MemoryStorage) -> Log {
    let (mut log, _) = Log::recover(P0, storage, None, None);
    for (epoch, base_sequence) in [(1, 0), (2, 3), (3, 6)] {
        log.append_as_leader(storage, LeaderEpoch(epoch), &idempotent(3, base_sequence))
            .unwrap();
    }
    log.maybe_increment_high_watermark(Offset(9));
    log
}

#[test]
fn moving_the_log_start_offset_trims_the_epoch_cache_from_the_start_and_it_survives_recovery() {
    let mut storage = MemoryStorage::default();
    let mut log = log_in_three_epochs(&mut storage);
    log.maybe_increment_log_start_offset(&mut storage, Offset(4))
        .unwrap();
    assert_eq!(
        log.epoch_cache().entries(),
        vec![(LeaderEpoch(2), Offset(4)), (LeaderEpoch(3), Offset(6))]
    );
    // OffsetsForLeaderEpoch for epoch 1, wholly deleted: epoch 1 ends at the log start.
    assert_eq!(
        log.end_offset_for_epoch(LeaderEpoch(1)),
        Some((LeaderEpoch(1), Offset(4)))
    );
    let checkpoints = Checkpoints {
        high_watermark: Some(Offset(9)),
        log_start_offset: Some(Offset(4)),
    };
    let (recovered, _) = Log::recover_from_checkpoints(P0, &mut storage, checkpoints, None);
    assert_eq!(
        recovered.epoch_cache().entries(),
        log.epoch_cache().entries()
    );
}

#[test]
fn recovery_trims_an_epoch_cache_whose_trim_never_reached_the_disk() {
    // Kafka flushes the trim in the background; loading trims again to the checkpoint.
    let mut storage = MemoryStorage::default();
    let log = log_in_three_epochs(&mut storage);
    drop(log);
    let checkpoints = Checkpoints {
        high_watermark: Some(Offset(9)),
        log_start_offset: Some(Offset(7)),
    };
    let (recovered, _) = Log::recover_from_checkpoints(P0, &mut storage, checkpoints, None);
    assert_eq!(
        recovered.epoch_cache().entries(),
        vec![(LeaderEpoch(3), Offset(7))]
    );
}

#[test]
fn truncating_fully_starts_an_empty_log_at_the_offset_and_it_survives_recovery() {
    let mut storage = MemoryStorage::default();
    let mut log = log_in_three_epochs(&mut storage);
    log.write_producer_snapshot(&mut storage);
    assert_eq!(
        log.truncate_fully_and_start_at(&mut storage, Offset(20)),
        Offset(9)
    );
    assert_eq!(log.log_start_offset(), Offset(20));
    assert_eq!(log.log_end_offset(), Offset(20));
    assert_eq!(log.high_watermark(), Offset(20));
    assert!(log.records().is_empty());
    assert_eq!(log.latest_epoch(), None);
    assert!(log.producer_state().is_empty());
    assert_eq!(log.producer_snapshot_offset(), None);
    log.check_invariants_full();
    // Fetched records continue it from 20.
    let fetched: Vec<Record> = (20..22)
        .map(|offset| {
            Record::stamped(
                &ProducerRecord::application(offset, None),
                Offset(offset),
                LeaderEpoch(4),
            )
        })
        .collect();
    log.append_as_follower(&mut storage, fetched).unwrap();
    assert_eq!(log.log_end_offset(), Offset(22));
    assert_eq!(
        log.epoch_cache().entries(),
        vec![(LeaderEpoch(4), Offset(20))]
    );
    log.check_invariants_full();
    // The file's first batch says where the segment starts.
    let (recovered, _) = Log::recover(P0, &mut storage, Some(Offset(21)), None);
    assert_eq!(recovered.segment_base_offset(), Offset(20));
    assert_eq!(recovered.log_start_offset(), Offset(20));
    assert_eq!(recovered.log_end_offset(), Offset(22));
    assert_eq!(recovered.high_watermark(), Offset(21));
    recovered.check_invariants_full();
}

#[test]
fn an_empty_fully_truncated_log_recovers_at_its_checkpointed_log_start_offset() {
    let mut storage = MemoryStorage::default();
    let mut log = log_in_three_epochs(&mut storage);
    log.truncate_fully_and_start_at(&mut storage, Offset(20));
    let checkpoints = Checkpoints {
        high_watermark: Some(Offset(9)),
        log_start_offset: Some(Offset(20)),
    };
    let (recovered, _) = Log::recover_from_checkpoints(P0, &mut storage, checkpoints, None);
    assert_eq!(recovered.log_end_offset(), Offset(20));
    assert_eq!(recovered.high_watermark(), Offset(20));
    assert_eq!(recovered.log_start_offset(), Offset(20));
}
