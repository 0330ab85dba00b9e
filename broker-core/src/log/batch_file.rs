//! A partition's log file as Kafka lays it out: a sequence of record batches
//! ([`super::record_batch`], CRC-32C framed), each written by one append. This file turns
//! the log's records into batches and back: consecutive records go in one batch while they
//! share the leader epoch and the producer (with consecutive sequences), as a batch has one
//! partition leader epoch and one producer.
//!
//! Log recovery (`LogSegment.recover` in Kafka) trusts the longest prefix of whole, valid
//! batches whose records also continue the log: consecutive offsets and non-decreasing
//! epochs. A torn batch is lost whole.

use super::record_batch::{self, BatchHeader, RecordBatch, RecordRef};
use crate::ids::{LeaderEpoch, Offset, ProducerEpoch, ProducerId, Sequence};
use crate::record::{ProducerStamp, Record, RecordBytes};

/// Where one batch of the file starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSpan {
    pub base_offset: Offset,
    pub frame_start_bytes: u64,
}

/// The valid prefix of a log file, as records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodedLog {
    pub records: Vec<Record>,
    pub batches: Vec<BatchSpan>,
    /// Everything after this is a torn, corrupt or out-of-order tail.
    pub valid_length_bytes: u64,
    /// How many batches the invalid tail seems to hold (an estimate, for the trace).
    pub dropped_batches: u64,
}

/// Appends `records` to `out` as batches; returns where each batch starts, with
/// `file_length_bytes` the length of the file `out` will be appended to.
pub fn encode_records(
    records: &[Record],
    file_length_bytes: u64,
    out: &mut Vec<u8>,
) -> Vec<BatchSpan> {
    let mut spans = Vec::new();
    let mut start = 0;
    while start < records.len() {
        let end = start + batch_length(&records[start..]);
        spans.push(BatchSpan {
            base_offset: records[start].offset,
            frame_start_bytes: file_length_bytes + out.len() as u64,
        });
        encode_run(&records[start..end], out);
        start = end;
    }
    spans
}

/// How many records from the start of `records` belong in one batch.
fn batch_length(records: &[Record]) -> usize {
    let first = &records[0];
    1 + records
        .windows(2)
        .take_while(|pair| {
            let (previous, next) = (&pair[0], &pair[1]);
            match (previous.producer_stamp, next.producer_stamp) {
                (None, None) => {
                    next.leader_epoch == first.leader_epoch
                        && (next.is_transactional, next.is_control)
                            == (first.is_transactional, first.is_control)
                }
                _ => continues_producer_batch(previous, next),
            }
        })
        .count()
}

/// Whether `next` continues the producer batch `previous` belongs to: both stamped with one
/// producer id, epoch and base sequence, `next` one sequence on and not a batch's first,
/// appended in the same leader epoch with the same transactional and control flags. A
/// produce request's records are one batch, and this is how its bounds are found again in
/// records copied one by one.
pub fn continues_producer_batch(previous: &Record, next: &Record) -> bool {
    let (Some(previous_stamp), Some(next_stamp)) = (previous.producer_stamp, next.producer_stamp)
    else {
        return false;
    };
    next_stamp.producer_id == previous_stamp.producer_id
        && next_stamp.producer_epoch == previous_stamp.producer_epoch
        && next_stamp.base_sequence == previous_stamp.base_sequence
        && next_stamp.sequence != next_stamp.base_sequence
        && next_stamp.sequence == next_sequence(previous_stamp.sequence)
        && next.leader_epoch == previous.leader_epoch
        && (next.is_transactional, next.is_control)
            == (previous.is_transactional, previous.is_control)
}

/// The sequence after `sequence`: Kafka's sequences are `int32`s that wrap from `i32::MAX`
/// to 0 (`DefaultRecordBatch.incrementSequence`).
pub fn next_sequence(sequence: u32) -> u32 {
    if sequence >= i32::MAX as u32 {
        0
    } else {
        sequence + 1
    }
}

/// One frame for a run of records that share a batch, encoded straight from the log's
/// records: the bytes `encode_batch` writes for the same batch, without a `Bytes` per value.
fn encode_run(records: &[Record], out: &mut Vec<u8>) {
    let first = &records[0];
    let stamp = first.producer_stamp;
    let header = BatchHeader {
        base_offset: first.offset,
        partition_leader_epoch: first.leader_epoch,
        producer_id: stamp.map(|stamp| stamp.producer_id),
        producer_epoch: stamp.map(|stamp| ProducerEpoch(stamp.producer_epoch)),
        // A control batch has no sequence (its stamp says so); every other stamped batch
        // starts at its first record's.
        base_sequence: stamp
            .filter(|stamp| !stamp.is_control())
            .map(|stamp| Sequence(stamp.sequence)),
        is_transactional: first.is_transactional,
        is_control: first.is_control,
    };
    let refs: Vec<RecordRef<'_>> = records
        .iter()
        .map(|record| RecordRef {
            key: record.key.as_deref(),
            value: record.value.as_deref(),
            headers: &record.headers,
        })
        .collect();
    record_batch::encode_frame(&header, &refs, out);
}

/// The log records of a batch, each carrying the batch's attributes.
fn from_batch(batch: &RecordBatch) -> Option<Vec<Record>> {
    batch
        .records_with_offsets()
        .enumerate()
        .map(|(index, (offset, record))| {
            let stamp = match (
                batch.header.producer_id,
                batch.header.producer_epoch,
                batch.sequence_of(index),
            ) {
                (Some(producer_id), Some(producer_epoch), Some(sequence)) => Some(ProducerStamp {
                    producer_id: ProducerId(producer_id.0),
                    producer_epoch: producer_epoch.0,
                    sequence: sequence.0,
                    // A batch's records share its base sequence. (A run the model split
                    // from its batch, such as a fetch that ended inside one, is framed
                    // on its own and so reads back as a batch of its own.)
                    base_sequence: batch.header.base_sequence.map_or(sequence.0, |base| base.0),
                }),
                // A control batch's producer, without a sequence: replay needs it to end the
                // producer's transaction.
                (Some(producer_id), Some(producer_epoch), None) if batch.header.is_control => {
                    Some(ProducerStamp::control(producer_id, producer_epoch.0))
                }
                _ => None,
            };
            Some(Record {
                offset,
                leader_epoch: batch.header.partition_leader_epoch,
                key: record.key.as_deref().map(RecordBytes::from_slice),
                value: record.value.as_deref().map(RecordBytes::from_slice),
                headers: record.headers.clone(),
                producer_stamp: stamp,
                is_transactional: batch.header.is_transactional,
                is_control: batch.header.is_control,
            })
        })
        .collect()
}

/// The valid prefix of a segment file and the offset the segment starts at: its first
/// batch's base offset (Kafka reads it from the segment's file name), or `empty_base_offset`
/// when the file holds no valid batch.
pub fn decode_segment(bytes: &[u8], empty_base_offset: Offset) -> (Offset, DecodedLog) {
    let decoded = record_batch::decode_log(bytes);
    let base_offset = decoded
        .batches
        .first()
        .map_or(empty_base_offset, |batch| batch.header.base_offset);
    (base_offset, decode_batches(decoded, base_offset))
}

/// The valid prefix of a file that should start at `log_start_offset`.
pub fn decode(bytes: &[u8], log_start_offset: Offset) -> DecodedLog {
    decode_batches(record_batch::decode_log(bytes), log_start_offset)
}

fn decode_batches(decoded: record_batch::DecodedBatches, log_start_offset: Offset) -> DecodedLog {
    let mut log = DecodedLog {
        valid_length_bytes: decoded.valid_length_bytes,
        dropped_batches: decoded.dropped_frames,
        ..DecodedLog::default()
    };
    let mut previous_epoch: Option<LeaderEpoch> = None;
    for (index, batch) in decoded.batches.iter().enumerate() {
        let expected = Offset(log_start_offset.0 + log.records.len() as u64);
        let records = from_batch(batch).filter(|_| {
            batch.header.base_offset == expected
                && previous_epoch
                    .is_none_or(|previous| batch.header.partition_leader_epoch >= previous)
        });
        let Some(records) = records else {
            // A whole batch that does not continue the log is a corrupt tail as well.
            log.valid_length_bytes = decoded.frame_starts_bytes[index];
            log.dropped_batches += (decoded.batches.len() - index) as u64;
            break;
        };
        previous_epoch = Some(batch.header.partition_leader_epoch);
        log.batches.push(BatchSpan {
            base_offset: batch.header.base_offset,
            frame_start_bytes: decoded.frame_starts_bytes[index],
        });
        log.records.extend(records);
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ProducerStamp;

    #[test]
    fn a_run_encodes_to_the_bytes_of_its_record_batch() {
        let records: Vec<Record> = (0..3)
            .map(|index| Record {
                offset: Offset(10 + index),
                leader_epoch: LeaderEpoch(4),
                value: Some(crate::record::application_bytes(500 + index)),
                key: ((index % 2 == 0).then_some(index)).map(crate::record::application_bytes),
                producer_stamp: Some(ProducerStamp {
                    producer_id: ProducerId(7),
                    producer_epoch: 1,
                    sequence: 20 + index as u32,
                    base_sequence: 20,
                }),
                headers: Vec::new(),
                is_transactional: false,
                is_control: false,
            })
            .collect();
        let mut direct = Vec::new();
        encode_run(&records, &mut direct);
        let batch = RecordBatch {
            header: BatchHeader {
                base_offset: Offset(10),
                partition_leader_epoch: LeaderEpoch(4),
                producer_id: Some(ProducerId(7)),
                producer_epoch: Some(ProducerEpoch(1)),
                base_sequence: Some(Sequence(20)),
                is_transactional: false,
                is_control: false,
            },
            records: records
                .iter()
                .map(|record| {
                    record_batch::Record::from_application_value(
                        record.application_value().unwrap(),
                        record.application_key(),
                    )
                })
                .collect(),
        };
        let mut via_batch = Vec::new();
        record_batch::encode_batch(&batch, &mut via_batch);
        assert_eq!(direct, via_batch);
        assert_eq!(decode(&direct, Offset(10)).records, records);
    }
}
