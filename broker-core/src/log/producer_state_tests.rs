//! The producer state on hand-made batches: validation by origin, duplicates among the last
//! five batches, epochs and sequences (Kafka 4.x `checkSequence`, KIP-360), transactions,
//! the last stable offset and the aborted-transaction index.

use super::*;

const PRODUCER: ProducerId = ProducerId(7);
const OTHER: ProducerId = ProducerId(8);

/// A batch of `count` records from `producer` in `epoch`, sequences from `first_sequence`,
/// at offsets from `first_offset`.
fn batch(
    producer: ProducerId,
    epoch: u16,
    first_sequence: u32,
    count: u32,
    first_offset: u64,
) -> ProducerBatch {
    ProducerBatch {
        producer_id: producer,
        producer_epoch: ProducerEpoch(epoch),
        first_sequence: Sequence(first_sequence),
        last_sequence: Sequence(first_sequence + count - 1),
        first_offset: Offset(first_offset),
        last_offset: Offset(first_offset + u64::from(count) - 1),
        is_transactional: false,
    }
}

fn transactional(batch: ProducerBatch) -> ProducerBatch {
    ProducerBatch {
        is_transactional: true,
        ..batch
    }
}

fn marker(
    producer: ProducerId,
    record_type: ControlRecordType,
    offset: u64,
) -> EndTransactionMarker {
    EndTransactionMarker {
        producer_id: producer,
        producer_epoch: ProducerEpoch(0),
        record_type,
        coordinator_epoch: 3,
        offset: Offset(offset),
    }
}

/// Checks a client batch and, if it is to be appended, appends it.
fn append_client(
    state: &mut ProducerStateManager,
    batch: ProducerBatch,
) -> Result<ClientBatchCheck, ErrorCode> {
    let check = state.check_client_batch(&batch)?;
    if check == ClientBatchCheck::Append {
        state.append_data_batch(&batch);
    }
    Ok(check)
}

#[test]
fn in_order_batches_are_appended_and_an_unknown_producer_may_start_at_any_sequence() {
    let mut state = ProducerStateManager::default();
    // KIP-360's broker: no entry means any first sequence is accepted.
    assert_eq!(
        append_client(&mut state, batch(PRODUCER, 0, 40, 3, 0)),
        Ok(ClientBatchCheck::Append)
    );
    assert_eq!(
        append_client(&mut state, batch(PRODUCER, 0, 43, 2, 3)),
        Ok(ClientBatchCheck::Append)
    );
    let entry = state.entry(PRODUCER).unwrap();
    assert_eq!(entry.last_sequence(), Some(Sequence(44)));
    assert_eq!(entry.batches().len(), 2);
    assert_eq!(state.map_end_offset(), Offset(5));
}

#[test]
fn a_retried_batch_among_the_last_five_is_a_duplicate_with_its_original_offsets() {
    let mut state = ProducerStateManager::default();
    for index in 0..6u32 {
        append_client(
            &mut state,
            batch(PRODUCER, 0, index * 2, 2, u64::from(index) * 10),
        )
        .unwrap();
    }
    // The second batch (sequences 2..3 at offsets 10..11) is among the last five.
    assert_eq!(
        state.check_client_batch(&batch(PRODUCER, 0, 2, 2, 99)),
        Ok(ClientBatchCheck::Duplicate(BatchMetadata {
            last_sequence: Sequence(3),
            last_offset: Offset(11),
            offset_delta: 1,
        }))
    );
    // The first (sequences 0..1) was forgotten: it is now a sequence gap.
    assert_eq!(
        state.check_client_batch(&batch(PRODUCER, 0, 0, 2, 99)),
        Err(ErrorCode::OutOfOrderSequence)
    );
    // The same first sequence with another last one is no duplicate.
    assert_eq!(
        state.check_client_batch(&batch(PRODUCER, 0, 2, 3, 99)),
        Err(ErrorCode::OutOfOrderSequence)
    );
}

#[test]
fn a_gap_an_old_epoch_and_a_new_epoch_not_at_zero_are_refused() {
    let mut state = ProducerStateManager::default();
    append_client(&mut state, batch(PRODUCER, 2, 0, 2, 0)).unwrap();
    assert_eq!(
        state.check_client_batch(&batch(PRODUCER, 2, 3, 1, 2)),
        Err(ErrorCode::OutOfOrderSequence),
        "sequence 2 is missing"
    );
    assert_eq!(
        state.check_client_batch(&batch(PRODUCER, 1, 2, 1, 2)),
        Err(ErrorCode::InvalidProducerEpoch)
    );
    assert_eq!(
        state.check_client_batch(&batch(PRODUCER, 3, 5, 1, 2)),
        Err(ErrorCode::OutOfOrderSequence)
    );
    assert_eq!(
        append_client(&mut state, batch(PRODUCER, 3, 0, 1, 2)),
        Ok(ClientBatchCheck::Append)
    );
    let entry = state.entry(PRODUCER).unwrap();
    assert_eq!(entry.producer_epoch, ProducerEpoch(3));
    assert_eq!(
        entry.batches().len(),
        1,
        "a new epoch forgets the old one's batches"
    );
    // A batch of the old epoch is no duplicate any more: it is fenced.
    assert_eq!(
        state.check_client_batch(&batch(PRODUCER, 2, 0, 2, 9)),
        Err(ErrorCode::InvalidProducerEpoch)
    );
}

#[test]
fn sequences_wrap_from_i32_max_to_zero() {
    let mut state = ProducerStateManager::default();
    let max = i32::MAX as u32;
    append_client(&mut state, batch(PRODUCER, 0, max - 1, 2, 0)).unwrap();
    let wrapped = ProducerBatch {
        first_sequence: Sequence(0),
        last_sequence: Sequence(1),
        ..batch(PRODUCER, 0, 0, 2, 2)
    };
    assert_eq!(
        append_client(&mut state, wrapped),
        Ok(ClientBatchCheck::Append)
    );
    // A batch across the wrap is found as a duplicate by its first sequence.
    let across = BatchMetadata {
        last_sequence: Sequence(1),
        last_offset: Offset(5),
        offset_delta: 3,
    };
    assert_eq!(across.first_sequence(), Sequence(max - 1));
}

#[test]
fn replicated_appends_are_not_validated() {
    let mut state = ProducerStateManager::default();
    append_client(&mut state, batch(PRODUCER, 2, 0, 2, 0)).unwrap();
    // A gap and an older epoch, as a follower copies them: applied as they come.
    state.append_data_batch(&batch(PRODUCER, 2, 9, 1, 2));
    assert_eq!(
        state.entry(PRODUCER).unwrap().last_sequence(),
        Some(Sequence(9))
    );
}

#[test]
fn the_pre_kip_360_switch_answers_unknown_producer_id_for_an_unknown_producer_not_at_zero() {
    let mut state = ProducerStateManager::default();
    state.set_unknown_producer_id_for_unknown_sequence(true);
    assert_eq!(
        state.check_client_batch(&batch(PRODUCER, 0, 5, 1, 0)),
        Err(ErrorCode::UnknownProducerId)
    );
    assert_eq!(
        append_client(&mut state, batch(PRODUCER, 0, 0, 1, 0)),
        Ok(ClientBatchCheck::Append)
    );
    state.clear();
    assert!(
        state.unknown_producer_id_for_unknown_sequence(),
        "the setting survives a reload"
    );
}

#[test]
fn transactions_hold_the_first_unstable_offset_until_their_marker_is_committed() {
    let mut state = ProducerStateManager::default();
    state.append_data_batch(&transactional(batch(PRODUCER, 0, 0, 2, 0)));
    state.append_data_batch(&batch(OTHER, 0, 0, 1, 2));
    state.append_data_batch(&transactional(batch(PRODUCER, 0, 2, 1, 3)));
    assert_eq!(state.first_unstable_offset(), Some(Offset(0)));
    assert_eq!(
        state
            .entry(PRODUCER)
            .unwrap()
            .current_transaction_first_offset,
        Some(Offset(0))
    );
    let completed = state.append_end_marker(&marker(PRODUCER, ControlRecordType::Commit, 4));
    assert_eq!(
        completed,
        Some(CompletedTransaction {
            producer_id: PRODUCER,
            first_offset: Offset(0),
            last_offset: Offset(4),
            is_aborted: false,
        })
    );
    // Complete but the marker is not committed yet.
    assert_eq!(state.first_unstable_offset(), Some(Offset(0)));
    state.on_high_watermark_updated(Offset(4));
    assert_eq!(state.first_unstable_offset(), Some(Offset(0)));
    state.on_high_watermark_updated(Offset(5));
    assert_eq!(state.first_unstable_offset(), None);
    assert!(state.all_aborted_transactions().is_empty());
    assert_eq!(state.entry(PRODUCER).unwrap().coordinator_epoch, Some(3));
}

#[test]
fn an_abort_is_indexed_with_the_last_stable_offset_after_it() {
    let mut state = ProducerStateManager::default();
    state.append_data_batch(&transactional(batch(PRODUCER, 0, 0, 2, 0)));
    state.append_data_batch(&transactional(batch(OTHER, 0, 0, 2, 2)));
    state.append_end_marker(&marker(PRODUCER, ControlRecordType::Abort, 4));
    // The other producer's transaction is still open from offset 2.
    state.append_end_marker(&marker(OTHER, ControlRecordType::Abort, 5));
    let first = AbortedTransaction {
        producer_id: PRODUCER,
        first_offset: Offset(0),
        last_offset: Offset(4),
        last_stable_offset: Offset(2),
    };
    let second = AbortedTransaction {
        producer_id: OTHER,
        first_offset: Offset(2),
        last_offset: Offset(5),
        last_stable_offset: Offset(6),
    };
    assert_eq!(state.all_aborted_transactions(), &[first, second]);
    assert_eq!(
        state.aborted_transactions(Offset(0), Offset(10)),
        vec![first, second]
    );
    assert_eq!(
        state.aborted_transactions(Offset(5), Offset(10)),
        vec![second]
    );
    assert_eq!(
        state.aborted_transactions(Offset(0), Offset(2)),
        vec![first]
    );
    assert_eq!(state.aborted_transactions(Offset(6), Offset(10)), vec![]);
}

#[test]
fn a_marker_without_an_open_transaction_completes_nothing() {
    let mut state = ProducerStateManager::default();
    state.append_data_batch(&batch(PRODUCER, 0, 0, 1, 0));
    assert_eq!(
        state.append_end_marker(&marker(PRODUCER, ControlRecordType::Commit, 1)),
        None
    );
    assert_eq!(state.first_unstable_offset(), None);
}

#[test]
fn a_non_transactional_batch_inside_an_open_transaction_is_refused() {
    let mut state = ProducerStateManager::default();
    state.append_data_batch(&transactional(batch(PRODUCER, 0, 0, 1, 0)));
    assert_eq!(
        state.check_client_batch(&batch(PRODUCER, 0, 1, 1, 1)),
        Err(ErrorCode::InvalidTxnState)
    );
    assert_eq!(
        state.check_client_batch(&transactional(batch(PRODUCER, 0, 1, 1, 1))),
        Ok(ClientBatchCheck::Append)
    );
}

#[test]
fn markers_from_an_older_producer_or_coordinator_epoch_are_refused() {
    let mut state = ProducerStateManager::default();
    state.append_data_batch(&transactional(batch(PRODUCER, 2, 0, 1, 0)));
    state.append_end_marker(&EndTransactionMarker {
        producer_epoch: ProducerEpoch(2),
        ..marker(PRODUCER, ControlRecordType::Commit, 1)
    });
    let older_producer = EndTransactionMarker {
        producer_epoch: ProducerEpoch(1),
        ..marker(PRODUCER, ControlRecordType::Abort, 2)
    };
    assert_eq!(
        state.check_end_marker(&older_producer),
        Err(ErrorCode::InvalidProducerEpoch)
    );
    let older_coordinator = EndTransactionMarker {
        producer_epoch: ProducerEpoch(2),
        coordinator_epoch: 2,
        ..marker(PRODUCER, ControlRecordType::Abort, 2)
    };
    assert_eq!(
        state.check_end_marker(&older_coordinator),
        Err(ErrorCode::TransactionCoordinatorFenced)
    );
    // A marker in the same epoch keeps the epoch's batches: the sequence goes on.
    assert_eq!(
        state.check_client_batch(&batch(PRODUCER, 2, 1, 1, 2)),
        Ok(ClientBatchCheck::Append)
    );
}

#[test]
fn a_produce_request_is_one_batch_or_invalid() {
    use crate::record::ProducerStamp;
    let stamped = |sequence: u32, base_sequence: u32| {
        let mut record = ProducerRecord::application(u64::from(sequence), None);
        record.producer_stamp = Some(ProducerStamp {
            producer_id: PRODUCER,
            producer_epoch: 1,
            sequence,
            base_sequence,
        });
        record
    };
    let plain = ProducerRecord::application(9, None);
    assert_eq!(
        producer_batch_of_request(std::slice::from_ref(&plain), Offset(4), false),
        Ok(None)
    );
    assert_eq!(
        producer_batch_of_request(&[stamped(3, 3), stamped(4, 3)], Offset(4), false),
        Ok(Some(ProducerBatch {
            is_transactional: false,
            ..batch(PRODUCER, 1, 3, 2, 4)
        }))
    );
    for invalid in [
        vec![stamped(3, 3), plain.clone()],
        vec![plain, stamped(3, 3)],
        vec![stamped(3, 3), stamped(5, 3)],
        vec![stamped(4, 3)],
        vec![stamped(3, 3), stamped(4, 4)],
    ] {
        assert_eq!(
            producer_batch_of_request(&invalid, Offset(0), false),
            Err(ErrorCode::InvalidRecord),
            "{invalid:?}"
        );
    }
}

#[test]
fn replicated_records_are_split_into_their_producer_batches() {
    use crate::ids::LeaderEpoch;
    use crate::record::ProducerStamp;
    let record = |offset: u64, sequence: u32, base_sequence: u32| {
        let mut record = Record::application(Offset(offset), LeaderEpoch(1), offset);
        record.producer_stamp = Some(ProducerStamp {
            producer_id: PRODUCER,
            producer_epoch: 0,
            sequence,
            base_sequence,
        });
        record
    };
    let records = vec![
        Record::application(Offset(0), LeaderEpoch(1), 100),
        record(1, 0, 0),
        record(2, 1, 0),
        record(3, 2, 2),
        record(4, 3, 2),
        record(5, 4, 2),
    ];
    let mut state = ProducerStateManager::default();
    state.append_replicated(&records);
    let batches: Vec<(Sequence, Sequence, Offset, Offset)> = state
        .entry(PRODUCER)
        .unwrap()
        .batches()
        .map(|batch| {
            (
                batch.first_sequence(),
                batch.last_sequence,
                batch.first_offset(),
                batch.last_offset,
            )
        })
        .collect();
    assert_eq!(
        batches,
        vec![
            (Sequence(0), Sequence(1), Offset(1), Offset(2)),
            (Sequence(2), Sequence(4), Offset(3), Offset(5)),
        ]
    );
}
