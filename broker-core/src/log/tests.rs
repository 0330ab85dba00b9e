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
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        (1u32..3).prop_map(Operation::NewEpoch),
        (0u64..4).prop_map(Operation::Append),
        (0u64..4).prop_map(Operation::TruncateBack),
        (0u64..20).prop_map(Operation::RaiseHighWatermark),
    ]
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
    log.append_as_leader(&mut storage, LeaderEpoch(1), &producer_records(3, 0));
    log.append_as_leader(&mut storage, LeaderEpoch(2), &producer_records(2, 10));
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
    log.append_as_leader(&mut storage, LeaderEpoch(1), &producer_records(8, 0));
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
    log.append_as_leader(&mut storage, LeaderEpoch(1), &producer_records(5, 0));
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
    log.append_as_leader(&mut storage, LeaderEpoch(2), &producer_records(1, 0));
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

fn stamped(offset: u64, epoch: u32, sequence: u32) -> Record {
    Record {
        offset: Offset(offset),
        leader_epoch: LeaderEpoch(epoch),
        value: Some(crate::record::application_bytes(7_000 + offset)),
        key: Some(crate::record::application_bytes(offset % 3)),
        producer_stamp: Some(crate::record::ProducerStamp {
            producer_id: crate::ids::ProducerId(9),
            producer_epoch: 2,
            sequence,
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
        stamped(0, 1, 0),
        stamped(1, 1, 1),
        stamped(2, 1, 5),
        stamped(3, 2, 6),
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
    log.append_as_leader(&mut storage, LeaderEpoch(1), &producer_records(2, 0));
    log.append_as_leader(&mut storage, LeaderEpoch(1), &producer_records(3, 10));
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
        for operation in operations {
            match operation {
                Operation::NewEpoch(step) => {
                    epoch = LeaderEpoch(epoch.0 + step);
                    log.assign_epoch_at_log_end(&mut storage, epoch);
                }
                Operation::Append(count) => {
                    log.append_as_leader(&mut storage, epoch, &producer_records(count, next_value));
                    next_value += count;
                }
                Operation::TruncateBack(back) => {
                    let target = Offset(log.log_end_offset().0.saturating_sub(back));
                    log.truncate_to(&mut storage, target);
                }
                Operation::RaiseHighWatermark(to) => {
                    log.maybe_increment_high_watermark(Offset(to));
                }
            }
            log.check_invariants_full();
        }

        let (recovered, truncation) =
            Log::recover(P0, &mut storage.clone(), Some(log.high_watermark()), None);
        prop_assert_eq!(truncation, None);
        prop_assert_eq!(recovered.records(), log.records());
        prop_assert_eq!(recovered.high_watermark(), log.high_watermark());
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
