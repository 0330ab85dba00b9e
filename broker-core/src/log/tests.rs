//! The log's properties: random operations keep its invariants, and any torn tail recovers
//! to a prefix of what was written.

use super::*;
use crate::storage::MemoryStorage;
use crate::topic::TopicPartition;
use proptest::prelude::*;

const P0: TopicPartition = TopicPartition::of_default_topic(0);

#[derive(Clone, Debug)]
enum Operation {
    NewEpoch(u32),
    Append(u64),
    TruncateBack(u64),
    RaiseHighWatermark(u64),
    /// A batch of this many records from the idempotent producer, in sequence.
    IdempotentAppend(u64),
    /// The idempotent producer retries its last batch.
    RetryLastBatch,
    /// A clean shutdown's producer-state snapshot.
    Snapshot,
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        (1u32..3).prop_map(Operation::NewEpoch),
        (0u64..4).prop_map(Operation::Append),
        (0u64..4).prop_map(Operation::TruncateBack),
        (0u64..20).prop_map(Operation::RaiseHighWatermark),
        (1u64..4).prop_map(Operation::IdempotentAppend),
        Just(Operation::RetryLastBatch),
        Just(Operation::Snapshot),
    ]
}

const IDEMPOTENT_PRODUCER: crate::ids::ProducerId = crate::ids::ProducerId(11);

/// `count` records of the idempotent producer from sequence `base_sequence` (epoch 0).
fn idempotent_records(count: u64, base_sequence: u32, first_value: u64) -> Vec<ProducerRecord> {
    (0..count)
        .map(|index| ProducerRecord {
            producer_stamp: Some(crate::record::ProducerStamp {
                producer_id: IDEMPOTENT_PRODUCER,
                producer_epoch: 0,
                sequence: base_sequence + index as u32,
                base_sequence,
            }),
            ..ProducerRecord::application(first_value + index, None)
        })
        .collect()
}

/// The sequence the idempotent producer must send next to `log`.
fn next_sequence_for(log: &Log) -> u32 {
    log.producer_state()
        .entry(IDEMPOTENT_PRODUCER)
        .and_then(|entry| entry.last_sequence())
        .map_or(0, |last| last.0 + 1)
}

/// The producer state a replay of every record of `log` gives.
fn rebuilt_from_records(log: &Log) -> producer_state::ProducerStateManager {
    let mut state = producer_state::ProducerStateManager::default();
    state.append_replicated(log.records());
    state.update_map_end_offset(log.log_end_offset());
    state.on_high_watermark_updated(log.high_watermark());
    state
}

fn producer_records(count: u64, first_value: u64) -> Vec<ProducerRecord> {
    (0..count)
        .map(|index| ProducerRecord {
            value: Some(crate::record::application_bytes(first_value + index)),
            key: None,
            producer_stamp: None,
            headers: Vec::new(),
        })
        .collect()
}

#[test]
fn truncate_to_cuts_records_epochs_and_the_high_watermark() {
    let mut storage = MemoryStorage::default();
    let (mut log, _) = Log::recover(P0, &mut storage, None, None);
    log.append_as_leader(&mut storage, LeaderEpoch(1), &producer_records(3, 0))
        .unwrap();
    log.append_as_leader(&mut storage, LeaderEpoch(2), &producer_records(2, 10))
        .unwrap();
    log.maybe_increment_high_watermark(Offset(5));
    assert_eq!(log.truncate_to(&mut storage, Offset(2)), Some(Offset(5)));
    assert_eq!(log.log_end_offset(), Offset(2));
    assert_eq!(log.high_watermark(), Offset(2));
    assert_eq!(log.latest_epoch(), Some(LeaderEpoch(1)));
    let (recovered, truncation) = Log::recover(P0, &mut storage, Some(Offset(2)), None);
    assert_eq!(truncation, None);
    assert_eq!(recovered.records(), log.records());
}

/// Found by the aiming swarm (safe-acks-all-swarm, seed 567): a follower cut its log in the
/// middle of a batch, the kept part was written again without the flush policy, and a power
/// loss then took records the high watermark had already covered.
#[test]
fn a_cut_inside_a_batch_syncs_the_rewritten_part_when_every_message_is_synced() {
    let mut storage = MemoryStorage::default();
    let (mut log, _) = Log::recover(P0, &mut storage, None, Some(1));
    log.append_as_leader(&mut storage, LeaderEpoch(1), &producer_records(8, 0))
        .unwrap();
    let file = Log::file_name(P0);
    let syncs_before = storage.sync_counts[&file];
    assert_eq!(log.truncate_to(&mut storage, Offset(3)), Some(Offset(8)));
    assert_eq!(log.log_end_offset(), Offset(3));
    assert_eq!(storage.sync_counts[&file], syncs_before + 1);
}

#[test]
fn update_high_watermark_moves_either_way_within_the_log() {
    let mut storage = MemoryStorage::default();
    let (mut log, _) = Log::recover(P0, &mut storage, None, None);
    log.append_as_leader(&mut storage, LeaderEpoch(1), &producer_records(5, 0))
        .unwrap();
    assert_eq!(
        log.update_high_watermark(Offset(4)),
        Some((Offset(0), Offset(4)))
    );
    // A follower's copy of a lower leader high watermark goes down with it.
    assert_eq!(
        log.update_high_watermark(Offset(2)),
        Some((Offset(4), Offset(2)))
    );
    assert_eq!(log.update_high_watermark(Offset(2)), None);
    // Never past the log end offset.
    assert_eq!(
        log.update_high_watermark(Offset(9)),
        Some((Offset(2), Offset(5)))
    );
    assert_eq!(log.high_watermark(), Offset(5));
}

#[test]
fn follower_append_rejects_a_gap_and_an_epoch_going_backwards() {
    let mut storage = MemoryStorage::default();
    let (mut log, _) = Log::recover(P0, &mut storage, None, None);
    log.append_as_leader(&mut storage, LeaderEpoch(2), &producer_records(1, 0))
        .unwrap();
    let record = |offset, epoch| Record {
        offset: Offset(offset),
        leader_epoch: LeaderEpoch(epoch),
        value: Some(crate::record::application_bytes(0)),
        key: None,
        producer_stamp: None,
        headers: Vec::new(),
        is_transactional: false,
        is_control: false,
    };
    assert!(log
        .append_as_follower(&mut storage, vec![record(2, 2)])
        .is_err());
    assert!(log
        .append_as_follower(&mut storage, vec![record(1, 1)])
        .is_err());
    assert_eq!(log.log_end_offset(), Offset(1));
}

fn stamped(offset: u64, epoch: u32, sequence: u32, base_sequence: u32) -> Record {
    Record {
        offset: Offset(offset),
        leader_epoch: LeaderEpoch(epoch),
        value: Some(crate::record::application_bytes(7_000 + offset)),
        key: Some(crate::record::application_bytes(offset % 3)),
        producer_stamp: Some(crate::record::ProducerStamp {
            producer_id: crate::ids::ProducerId(9),
            producer_epoch: 2,
            sequence,
            base_sequence,
        }),
        headers: Vec::new(),
        is_transactional: false,
        is_control: false,
    }
}

#[test]
fn keys_and_producer_stamps_survive_recovery_in_batches_split_by_epoch_and_sequence() {
    let mut storage = MemoryStorage::default();
    let (mut log, _) = Log::recover(P0, &mut storage, None, None);
    // Sequences 0,1 then a gap to 5: two batches; then a new epoch: a third.
    let records = vec![
        stamped(0, 1, 0, 0),
        stamped(1, 1, 1, 0),
        stamped(2, 1, 5, 5),
        stamped(3, 2, 6, 6),
    ];
    log.append_as_follower(&mut storage, records.clone())
        .unwrap();
    let decoded = batch_file::decode(&storage.read(&Log::file_name(P0)), Offset(0));
    let bases: Vec<u64> = decoded
        .batches
        .iter()
        .map(|batch| batch.base_offset.0)
        .collect();
    assert_eq!(bases, [0, 2, 3]);
    let (recovered, truncation) = Log::recover(P0, &mut storage, None, None);
    assert_eq!(truncation, None);
    assert_eq!(recovered.records(), records.as_slice());
}

#[test]
fn a_torn_batch_is_lost_whole_and_a_cut_inside_a_batch_keeps_its_prefix() {
    let mut storage = MemoryStorage::default();
    let (mut log, _) = Log::recover(P0, &mut storage, None, None);
    log.append_as_leader(&mut storage, LeaderEpoch(1), &producer_records(2, 0))
        .unwrap();
    log.append_as_leader(&mut storage, LeaderEpoch(1), &producer_records(3, 10))
        .unwrap();
    let file = Log::file_name(P0);
    let length = storage.read(&file).len() as u64;
    let mut torn = storage.clone();
    torn.truncate(&file, length - 1);
    let (recovered, truncation) = Log::recover(P0, &mut torn, None, None);
    assert_eq!(
        recovered.log_end_offset(),
        Offset(2),
        "the three-record batch is gone"
    );
    assert_eq!(truncation.map(|cut| cut.to_offset), Some(Offset(2)));

    log.truncate_to(&mut storage, Offset(3));
    log.check_invariants_full();
    let (recovered, _) = Log::recover(P0, &mut storage, None, None);
    assert_eq!(recovered.records(), log.records());
    assert_eq!(recovered.log_end_offset(), Offset(3));
    let decoded = batch_file::decode(&storage.read(&file), Offset(0));
    let bases: Vec<u64> = decoded
        .batches
        .iter()
        .map(|batch| batch.base_offset.0)
        .collect();
    assert_eq!(
        bases,
        [0, 2],
        "the cut batch was written again as its prefix"
    );
}

proptest! {
    /// Random appends, epochs, truncations and high-watermark moves keep the log's
    /// invariants; reopening the file gives back the same log, and reopening any byte
    /// prefix of it gives back a prefix of the records with the invariants intact.
    #[test]
    fn log_and_epoch_cache_survive_random_operations_and_any_torn_tail(
        operations in proptest::collection::vec(operation(), 0..40),
        cut_fraction in 0.0f64..1.0,
    ) {
        let mut storage = MemoryStorage::default();
        let (mut log, _) = Log::recover(P0, &mut storage, None, None);
        let mut epoch = LeaderEpoch(0);
        let mut next_value = 0;
        let mut last_batch: Option<Vec<ProducerRecord>> = None;
        for operation in operations {
            match operation {
                Operation::NewEpoch(step) => {
                    epoch = LeaderEpoch(epoch.0 + step);
                    log.assign_epoch_at_log_end(&mut storage, epoch);
                }
                Operation::Append(count) => {
                    log.append_as_leader(&mut storage, epoch, &producer_records(count, next_value))
        .unwrap();
                    next_value += count;
                }
                Operation::TruncateBack(back) => {
                    let target = Offset(log.log_end_offset().0.saturating_sub(back));
                    log.truncate_to(&mut storage, target);
                }
                Operation::RaiseHighWatermark(to) => {
                    log.maybe_increment_high_watermark(Offset(to));
                }
                Operation::IdempotentAppend(count) => {
                    let records = idempotent_records(count, next_sequence_for(&log), next_value);
                    let appended = log.append_as_leader(&mut storage, epoch, &records).unwrap();
                    let is_appended = matches!(appended, Some(LeaderAppend::Appended { .. }));
                    prop_assert!(is_appended, "{:?}", appended);
                    next_value += count;
                    last_batch = Some(records);
                }
                Operation::RetryLastBatch => {
                    // A duplicate while the batch is among the producer's last five in the
                    // log: nothing appended, and the original offsets hold the same records.
                    // (Truncated away, it is appended again or out of sequence.)
                    if let Some(records) = &last_batch {
                        let log_end_offset = log.log_end_offset();
                        let answer = log.append_as_leader(&mut storage, epoch, records);
                        if let Ok(Some(LeaderAppend::Duplicate { base_offset, last_offset })) = answer {
                            prop_assert_eq!(log.log_end_offset(), log_end_offset);
                            let original = log.read(base_offset, last_offset.next(), u32::MAX);
                            let stamps: Vec<_> = original.iter().map(|record| record.producer_stamp).collect();
                            let sent: Vec<_> = records.iter().map(|record| record.producer_stamp).collect();
                            prop_assert_eq!(stamps, sent);
                        }
                    }
                }
                Operation::Snapshot => {
                    log.write_producer_snapshot(&mut storage);
                }
            }
            log.check_invariants_full();
            prop_assert_eq!(log.producer_state(), &rebuilt_from_records(&log));
        }

        let (recovered, truncation) =
            Log::recover(P0, &mut storage.clone(), Some(log.high_watermark()), None);
        prop_assert_eq!(truncation, None);
        prop_assert_eq!(recovered.records(), log.records());
        prop_assert_eq!(recovered.high_watermark(), log.high_watermark());
        prop_assert_eq!(recovered.producer_state(), log.producer_state());
        let log_end_offset = log.log_end_offset();
        let expected_entries: Vec<_> = log
            .epoch_cache()
            .entries()
            .into_iter()
            .filter(|&(_, start)| start < log_end_offset)
            .collect();
        prop_assert_eq!(recovered.epoch_cache().entries(), expected_entries);

        let file = Log::file_name(P0);
        let length = storage.read(&file).len();
        let cut = (length as f64 * cut_fraction) as u64;
        let mut torn = storage.clone();
        torn.truncate(&file, cut);
        let (recovered, truncation) =
            Log::recover(P0, &mut torn, Some(log.high_watermark()), None);
        recovered.check_invariants_full();
        let kept = recovered.records().len();
        prop_assert_eq!(recovered.records(), &log.records()[..kept]);
        prop_assert_eq!(recovered.producer_state(), &rebuilt_from_records(&recovered));
        if let Some(truncation) = truncation {
            prop_assert_eq!(truncation.to_offset, recovered.log_end_offset());
            prop_assert!(truncation.from_log_end_offset > truncation.to_offset);
        }
        prop_assert!(recovered.high_watermark() <= recovered.log_end_offset());
        // The file was cut back to exactly the valid prefix, so a second recovery is clean.
        let (again, second_truncation) = Log::recover(P0, &mut torn, None, None);
        prop_assert_eq!(second_truncation, None);
        prop_assert_eq!(again.records(), recovered.records());
    }
}

/// A record of an internal topic: a keyed, encoded value with a header, no workload value.
fn encoded(offset: u64, transactional: bool, control: bool) -> Record {
    Record {
        offset: Offset(offset),
        leader_epoch: LeaderEpoch(3),
        key: Some(crate::record::RecordBytes::from_slice(b"group-a/orders/0")),
        value: if control {
            Some(crate::record::RecordBytes::from_slice(&[0, 0, 0, 0, 0, 7]))
        } else {
            Some(crate::record::RecordBytes::from_slice(&[offset as u8; 29]))
        },
        headers: vec![crate::log::record_batch::Header {
            key: "origin".to_string(),
            value: None,
        }],
        producer_stamp: transactional.then_some(crate::record::ProducerStamp {
            producer_id: crate::ids::ProducerId(4),
            producer_epoch: 1,
            sequence: offset as u32,
            // Offsets 1 and 2 are one transactional batch; the marker at 3 is its own.
            base_sequence: if offset == 3 { 3 } else { 1 },
        }),
        is_transactional: transactional,
        is_control: control,
    }
}

#[test]
fn keyed_encoded_transactional_and_control_records_survive_recovery_and_a_torn_tail() {
    let mut storage = MemoryStorage::default();
    let (mut log, _) = Log::recover(P0, &mut storage, None, None);
    let records = vec![
        encoded(0, false, false),
        encoded(1, true, false),
        encoded(2, true, false),
        encoded(3, true, true),
        encoded(4, false, false),
    ];
    log.append_as_follower(&mut storage, records.clone())
        .unwrap();
    let file = Log::file_name(P0);
    let decoded = batch_file::decode(&storage.read(&file), Offset(0));
    let bases: Vec<u64> = decoded
        .batches
        .iter()
        .map(|batch| batch.base_offset.0)
        .collect();
    assert_eq!(bases, [0, 1, 3, 4], "a batch never mixes attributes");
    let (recovered, truncation) = Log::recover(P0, &mut storage.clone(), None, None);
    assert_eq!(truncation, None);
    assert_eq!(recovered.records(), records.as_slice());
    for cut in 0..storage.read(&file).len() {
        let mut torn = storage.clone();
        torn.truncate(&file, cut as u64);
        let (recovered, _) = Log::recover(P0, &mut torn, None, None);
        let kept = recovered.records().len();
        assert_eq!(recovered.records(), &records[..kept], "cut at {cut}");
        assert!(bases.contains(&(kept as u64)) || kept == records.len());
    }
}

/// A log with the idempotent producer's batches of 2 and 3 records at offsets 0..5, and a
/// producer without idempotence's record at 5.
fn log_with_idempotent_batches(storage: &mut MemoryStorage) -> Log {
    let (mut log, _) = Log::recover(P0, storage, None, None);
    log.append_as_leader(storage, LeaderEpoch(1), &idempotent_records(2, 0, 100))
        .unwrap();
    log.append_as_leader(storage, LeaderEpoch(1), &idempotent_records(3, 2, 102))
        .unwrap();
    log.append_as_leader(storage, LeaderEpoch(1), &producer_records(1, 105))
        .unwrap();
    log
}

#[test]
fn a_leader_append_of_a_duplicate_appends_nothing_and_returns_the_original_offsets() {
    let mut storage = MemoryStorage::default();
    let mut log = log_with_idempotent_batches(&mut storage);
    let file_before = storage.read(&Log::file_name(P0));
    assert_eq!(
        log.append_as_leader(&mut storage, LeaderEpoch(1), &idempotent_records(2, 0, 100)),
        Ok(Some(LeaderAppend::Duplicate {
            base_offset: Offset(0),
            last_offset: Offset(1)
        }))
    );
    assert_eq!(
        log.append_as_leader(&mut storage, LeaderEpoch(1), &idempotent_records(1, 9, 200)),
        Err(crate::error::ErrorCode::OutOfOrderSequence)
    );
    assert_eq!(log.log_end_offset(), Offset(6));
    assert_eq!(storage.read(&Log::file_name(P0)), file_before);
    assert_eq!(
        log.append_as_leader(&mut storage, LeaderEpoch(1), &idempotent_records(1, 5, 106)),
        Ok(Some(LeaderAppend::Appended {
            base_offset: Offset(6),
            last_offset: Offset(6)
        }))
    );
}

#[test]
fn a_follower_learns_the_producer_batches_it_copies_and_detects_the_retry_as_leader() {
    let mut storage = MemoryStorage::default();
    let leader = log_with_idempotent_batches(&mut storage);
    let mut follower_storage = MemoryStorage::default();
    let (mut follower, _) = Log::recover(P0, &mut follower_storage, None, None);
    // One fetch brings both batches; their bounds come from the records' base sequences.
    let fetched = leader.read(Offset(0), leader.log_end_offset(), 500);
    follower
        .append_as_follower(&mut follower_storage, fetched)
        .unwrap();
    assert_eq!(follower.producer_state(), leader.producer_state());
    follower.assign_epoch_at_log_end(&mut follower_storage, LeaderEpoch(2));
    assert_eq!(
        follower.append_as_leader(
            &mut follower_storage,
            LeaderEpoch(2),
            &idempotent_records(3, 2, 102)
        ),
        Ok(Some(LeaderAppend::Duplicate {
            base_offset: Offset(2),
            last_offset: Offset(4)
        }))
    );
}

#[test]
fn a_fetch_cut_by_max_records_still_returns_whole_producer_batches() {
    let mut storage = MemoryStorage::default();
    let log = log_with_idempotent_batches(&mut storage);
    let offsets = |records: Vec<Record>| {
        records
            .iter()
            .map(|record| record.offset.0)
            .collect::<Vec<_>>()
    };
    assert_eq!(offsets(log.read(Offset(0), Offset(6), 3)), [0, 1, 2, 3, 4]);
    assert_eq!(offsets(log.read(Offset(0), Offset(6), 1)), [0, 1]);
    // Never past the upper bound: a consumer reads below the high watermark only.
    assert_eq!(offsets(log.read(Offset(2), Offset(3), 1)), [2]);
    assert_eq!(offsets(log.read(Offset(5), Offset(6), 1)), [5]);
}

#[test]
fn truncation_rebuilds_the_producer_state_for_the_new_end() {
    let mut storage = MemoryStorage::default();
    let mut log = log_with_idempotent_batches(&mut storage);
    log.truncate_to(&mut storage, Offset(2));
    let entry = log.producer_state().entry(IDEMPOTENT_PRODUCER).unwrap();
    assert_eq!(entry.last_sequence(), Some(crate::ids::Sequence(1)));
    assert_eq!(log.producer_state(), &rebuilt_from_records(&log));
    // The second batch is gone, so its retry is appended again.
    assert_eq!(
        log.append_as_leader(&mut storage, LeaderEpoch(1), &idempotent_records(3, 2, 102)),
        Ok(Some(LeaderAppend::Appended {
            base_offset: Offset(2),
            last_offset: Offset(4)
        }))
    );
}

#[test]
fn recovery_from_the_snapshot_gives_the_state_a_full_rebuild_gives() {
    let mut storage = MemoryStorage::default();
    let mut log = log_with_idempotent_batches(&mut storage);
    assert!(log.write_producer_snapshot(&mut storage));
    let snapshot_file = Log::producer_snapshot_file_name(P0);
    assert_eq!(storage.sync_counts.get(&snapshot_file), Some(&1));
    // More records after the snapshot: recovery replays only those.
    log.append_as_leader(&mut storage, LeaderEpoch(1), &idempotent_records(2, 5, 106))
        .unwrap();
    let (from_snapshot, _) = Log::recover(P0, &mut storage.clone(), None, None);
    assert_eq!(from_snapshot.producer_snapshot_offset(), Some(Offset(6)));
    let mut without_snapshot = storage.clone();
    without_snapshot.replace(&snapshot_file, &[]);
    let (rebuilt, _) = Log::recover(P0, &mut without_snapshot, None, None);
    assert_eq!(rebuilt.producer_snapshot_offset(), None);
    assert_eq!(from_snapshot.producer_state(), rebuilt.producer_state());
    assert_eq!(from_snapshot.producer_state(), log.producer_state());
}

#[test]
fn recovery_uses_the_snapshot_and_not_the_records_before_it() {
    // A snapshot whose state differs from the log's records shows which one recovery read.
    let mut storage = MemoryStorage::default();
    let mut log = log_with_idempotent_batches(&mut storage);
    log.producer_state_mut()
        .append_data_batch(&producer_state::ProducerBatch {
            producer_id: crate::ids::ProducerId(99),
            producer_epoch: crate::ids::ProducerEpoch(0),
            first_sequence: crate::ids::Sequence(0),
            last_sequence: crate::ids::Sequence(0),
            first_offset: Offset(5),
            last_offset: Offset(5),
            is_transactional: false,
        });
    log.producer_state_mut().update_map_end_offset(Offset(6));
    log.write_producer_snapshot(&mut storage);
    let (recovered, _) = Log::recover(P0, &mut storage, None, None);
    assert!(recovered
        .producer_state()
        .entry(crate::ids::ProducerId(99))
        .is_some());
}

#[test]
fn a_snapshot_beyond_the_recovered_log_end_is_deleted_and_not_used() {
    let mut storage = MemoryStorage::default();
    let mut log = log_with_idempotent_batches(&mut storage);
    log.write_producer_snapshot(&mut storage);
    // The log's tail is lost (never synced, say): the file ends after the first batch.
    let file = Log::file_name(P0);
    let first_batch_bytes =
        batch_file::decode(&storage.read(&file), Offset(0)).batches[1].frame_start_bytes;
    storage.truncate(&file, first_batch_bytes);
    let (recovered, _) = Log::recover(P0, &mut storage, None, None);
    assert_eq!(recovered.log_end_offset(), Offset(2));
    assert_eq!(recovered.producer_snapshot_offset(), None);
    assert_eq!(
        recovered.producer_state(),
        &rebuilt_from_records(&recovered)
    );
    assert!(storage
        .read(&Log::producer_snapshot_file_name(P0))
        .is_empty());
}

#[test]
fn a_corrupt_snapshot_is_ignored_and_the_state_rebuilt_from_the_log() {
    let mut storage = MemoryStorage::default();
    let mut log = log_with_idempotent_batches(&mut storage);
    log.write_producer_snapshot(&mut storage);
    let snapshot_file = Log::producer_snapshot_file_name(P0);
    let snapshot = storage.read(&snapshot_file);
    for position in 0..snapshot.len() {
        let mut corrupt = storage.clone();
        let mut bytes = snapshot.clone();
        bytes[position] ^= 0x40;
        corrupt.replace(&snapshot_file, &bytes);
        let (recovered, _) = Log::recover(P0, &mut corrupt, None, None);
        assert_eq!(
            recovered.producer_snapshot_offset(),
            None,
            "byte {position}"
        );
        assert_eq!(recovered.producer_state(), log.producer_state());
    }
    for length in 0..snapshot.len() {
        assert_eq!(producer_snapshot::decode(&snapshot[..length]), None);
    }
}

#[test]
fn truncation_below_the_snapshot_deletes_it_durably() {
    let mut storage = MemoryStorage::default();
    let mut log = log_with_idempotent_batches(&mut storage);
    log.write_producer_snapshot(&mut storage);
    let snapshot_file = Log::producer_snapshot_file_name(P0);
    log.truncate_to(&mut storage, Offset(6));
    assert_eq!(
        log.producer_snapshot_offset(),
        Some(Offset(6)),
        "not beyond the end"
    );
    log.truncate_to(&mut storage, Offset(5));
    assert_eq!(log.producer_snapshot_offset(), None);
    assert!(storage.read(&snapshot_file).is_empty());
    assert_eq!(storage.sync_counts.get(&snapshot_file), Some(&2));
}

#[test]
fn a_log_without_producer_ids_writes_no_snapshot_and_its_state_stays_empty() {
    let mut storage = MemoryStorage::default();
    let (mut log, _) = Log::recover(P0, &mut storage, None, None);
    log.append_as_leader(&mut storage, LeaderEpoch(1), &producer_records(3, 0))
        .unwrap();
    log.truncate_to(&mut storage, Offset(1));
    assert!(!log.write_producer_snapshot(&mut storage));
    assert!(log.producer_state().is_empty());
    assert_eq!(log.last_stable_offset(), log.high_watermark());
    assert!(!storage
        .files
        .contains_key(&Log::producer_snapshot_file_name(P0)));
}

#[test]
fn the_last_stable_offset_is_the_first_unstable_offset_below_the_high_watermark() {
    let mut storage = MemoryStorage::default();
    let (mut log, _) = Log::recover(P0, &mut storage, None, None);
    // A transactional batch at 2 (written as a follower would copy it).
    let records: Vec<Record> = (0..4)
        .map(|offset| {
            let mut record = Record::application(Offset(offset), LeaderEpoch(1), offset);
            if offset >= 2 {
                record.producer_stamp = Some(crate::record::ProducerStamp {
                    producer_id: IDEMPOTENT_PRODUCER,
                    producer_epoch: 0,
                    sequence: offset as u32 - 2,
                    base_sequence: 0,
                });
                record.is_transactional = true;
            }
            record
        })
        .collect();
    log.append_as_follower(&mut storage, records).unwrap();
    assert_eq!(
        log.last_stable_offset(),
        Offset(0),
        "the high watermark is 0"
    );
    log.maybe_increment_high_watermark(Offset(4));
    assert_eq!(log.last_stable_offset(), Offset(2));
    assert!(log.aborted_transactions(Offset(0), Offset(4)).is_empty());
}
