//! The broker checks a log's invariants after a step only when a `&mut self` method changed
//! the log: every such method must mark it, and an untouched log is not checked again.

use super::*;
use crate::ids::{ProducerEpoch, ProducerId};
use crate::record::ProducerStamp;
use crate::storage::MemoryStorage;

const P0: TopicPartition = TopicPartition::of_default_topic(0);
const EPOCH: LeaderEpoch = LeaderEpoch(1);

fn plain(count: u64) -> Vec<ProducerRecord> {
    (0..count)
        .map(|index| ProducerRecord::application(index, None))
        .collect()
}

fn transactional(producer: ProducerId) -> Vec<ProducerRecord> {
    vec![ProducerRecord {
        producer_stamp: Some(ProducerStamp {
            producer_id: producer,
            producer_epoch: 0,
            sequence: 0,
            base_sequence: 0,
        }),
        ..ProducerRecord::application(1, None)
    }]
}

/// Three records, the high watermark at 2, just checked.
fn checked_log(storage: &mut MemoryStorage) -> Log {
    let (mut log, _) = Log::recover(P0, storage, None, None);
    log.append_as_leader(storage, EPOCH, &plain(3)).unwrap();
    log.maybe_increment_high_watermark(Offset(2));
    log.check_invariants_if_changed();
    assert!(!log.changed_since_check);
    log
}

/// The record a leader would write at offset 3, for a follower to copy.
fn fourth_record() -> Record {
    let mut storage = MemoryStorage::default();
    let (mut leader, _) = Log::recover(P0, &mut storage, None, None);
    leader
        .append_as_leader(&mut storage, EPOCH, &plain(4))
        .unwrap();
    leader.records()[3].clone()
}

type Change = Box<dyn Fn(&mut Log, &mut MemoryStorage)>;

#[test]
fn every_mutating_method_marks_the_log_for_checking() {
    let changes: Vec<(&str, Change)> = vec![
        (
            "append_as_leader",
            Box::new(|log, storage| {
                log.append_as_leader(storage, EPOCH, &plain(1)).unwrap();
            }),
        ),
        (
            "append_batch_as_leader",
            Box::new(|log, storage| {
                log.append_batch_as_leader(storage, EPOCH, &transactional(ProducerId(5)), true)
                    .unwrap();
            }),
        ),
        (
            "append_end_marker_as_leader",
            Box::new(|log, storage| {
                let marker = TransactionMarker {
                    producer_id: ProducerId(5),
                    producer_epoch: ProducerEpoch(0),
                    record_type: ControlRecordType::Abort,
                    coordinator_epoch: 0,
                };
                log.append_end_marker_as_leader(storage, EPOCH, marker)
                    .unwrap();
            }),
        ),
        (
            "append_coordinator_batch_as_leader",
            Box::new(|log, storage| {
                log.append_coordinator_batch_as_leader(
                    storage,
                    EPOCH,
                    &transactional(ProducerId(6)),
                )
                .unwrap();
            }),
        ),
        (
            "append_as_follower",
            Box::new(|log, storage| {
                log.append_as_follower(storage, vec![fourth_record()])
                    .unwrap();
            }),
        ),
        (
            "assign_epoch_at_log_end",
            Box::new(|log, storage| log.assign_epoch_at_log_end(storage, LeaderEpoch(2))),
        ),
        (
            "truncate_to",
            Box::new(|log, storage| {
                log.truncate_to(storage, Offset(1));
            }),
        ),
        (
            "truncate_fully_and_start_at",
            Box::new(|log, storage| {
                log.truncate_fully_and_start_at(storage, Offset(9));
            }),
        ),
        (
            "maybe_increment_high_watermark",
            Box::new(|log, _| {
                log.maybe_increment_high_watermark(Offset(3));
            }),
        ),
        (
            "update_high_watermark",
            Box::new(|log, _| {
                log.update_high_watermark(Offset(1));
            }),
        ),
        (
            "maybe_increment_log_start_offset",
            Box::new(|log, storage| {
                log.maybe_increment_log_start_offset(storage, Offset(1))
                    .unwrap();
            }),
        ),
        (
            "write_producer_snapshot",
            Box::new(|log, storage| {
                log.write_producer_snapshot(storage);
            }),
        ),
        (
            "producer_state_mut",
            Box::new(|log, _| {
                log.producer_state_mut();
            }),
        ),
        (
            "set_pre_kip_360_producer_state",
            Box::new(|log, _| log.set_pre_kip_360_producer_state(true)),
        ),
    ];
    for (name, change) in changes {
        let mut storage = MemoryStorage::default();
        let mut log = checked_log(&mut storage);
        change(&mut log, &mut storage);
        assert!(
            log.changed_since_check,
            "{name} left the log marked unchanged"
        );
        log.check_invariants_if_changed();
        assert!(
            !log.changed_since_check,
            "the check after {name} cleared the mark"
        );
    }
}

#[test]
fn only_a_changed_log_is_checked_again() {
    let mut storage = MemoryStorage::default();
    let mut log = checked_log(&mut storage);
    // Break an invariant behind the methods' back: only a check would notice.
    log.high_watermark = Offset(99);
    log.check_invariants_if_changed();
    log.changed_since_check = true;
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        log.check_invariants_if_changed()
    }));
    assert!(
        checked.is_err(),
        "a changed log with a broken invariant must fail its check"
    );
}
