//! Kafka-shaped record batches and their on-disk codec: one frame per batch, in the layout of
//! Kafka's v2 `RecordBatch` (magic 2, big-endian, CRC-32C), so that a partition's log can hold
//! what a producer sent as one unit, with the producer id, epoch and base sequence of the
//! idempotent producer and the transactional and control flags of transactions.
//!
//! # Frame layout
//!
//! ```text
//! baseOffset           i64   offset of the first record
//! batchLength          i32   bytes after this field
//! partitionLeaderEpoch i32
//! magic                i8    2
//! crc                  u32   CRC-32C of everything from attributes to the end of the batch
//! attributes           i16   bit 4 transactional, bit 5 control; every other bit 0
//! lastOffsetDelta      i32   record count - 1
//! producerId           i64   -1 for none
//! producerEpoch        i16   -1 for none
//! baseSequence         i32   -1 for none
//! recordsCount         i32
//! records              each: length varint | attributes i8 = 0 | timestampDelta varlong = 0
//!                      | offsetDelta varint | keyLength varint (-1 null) | key
//!                      | valueLength varint (-1 null) | value | headersCount varint
//!                      | headers (keyLength varint, UTF-8 key, valueLength varint (-1 null), value)
//! ```
//!
//! Varints are Kafka's zigzag varints (protobuf `sint32`/`sint64`).
//!
//! # Where it differs from Kafka's
//!
//! - **No timestamps.** Kafka has `baseTimestamp` and `maxTimestamp` (i64 each) after
//!   `lastOffsetDelta`; the model has no time on records yet, so the fields are left out and
//!   the fixed header is [`FRAME_HEADER_BYTES`] = 45 bytes rather than Kafka's 61. Each
//!   record's `timestampDelta` is kept (always 0) so the record layout is Kafka's exactly.
//! - **No compression**, and no gaps: record `i` has offset `baseOffset + i` (Kafka allows
//!   gaps and empty batches after compaction; nothing here compacts). A batch holds at least
//!   one record.
//! - **Strict decoding.** The decoder accepts only what [`encode_batch`] writes: unknown
//!   attribute bits, non-zero record attributes or timestamp deltas, offset deltas out of
//!   order, non-minimal varints, negative values other than the -1 that means "none", and a
//!   frame longer or shorter than its records are all corruption. So re-encoding the decoded
//!   prefix of any file gives back its bytes exactly.
//!
//! Decoding stops at the first frame that is incomplete, fails its CRC, has another magic or
//! does not parse exactly; everything before it is trusted, as Kafka's `LogSegment.recover`
//! does. It never panics and allocates at most in proportion to the bytes it was given.

use crate::ids::{LeaderEpoch, Offset, ProducerEpoch, ProducerId, Sequence};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// The magic byte of Kafka's v2 record batch format.
pub const MAGIC_V2: i8 = 2;

/// Bytes of a frame's fixed part, `baseOffset` up to and including `recordsCount`.
pub const FRAME_HEADER_BYTES: usize = 45;

/// A frame (batch) longer than this is not written, and a length field implying one is taken
/// for corruption rather than followed.
pub const FRAME_BATCH_BYTES_MAX: usize = 1 << 20;

/// Bytes before `batchLength` counts: `baseOffset` and `batchLength` themselves.
const LOG_OVERHEAD_BYTES: usize = 12;
/// Where the CRC field starts within a frame.
const CRC_START: usize = 17;
/// Where the CRC-covered part (from `attributes`) starts within a frame.
const ATTRIBUTES_START: usize = 21;
/// The smallest record: a one-byte length and six one-byte fields (attributes, timestamp
/// delta, offset delta, null key, null value, no headers).
const RECORD_BYTES_MIN: usize = 7;
/// The smallest header: an empty key and a null value.
const HEADER_BYTES_MIN: usize = 2;

const ATTRIBUTE_TRANSACTIONAL: i16 = 1 << 4;
const ATTRIBUTE_CONTROL: i16 = 1 << 5;

/// A record header: a UTF-8 key and an optional value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub key: String,
    pub value: Option<Bytes>,
}

/// One record of a batch. Its offset, and its sequence number if the producer is idempotent,
/// follow from its position in the batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
}

impl Record {
    /// A workload's record: every application value in Watermark is a unique `u64`, stored,
    /// like the key, as 8 big-endian bytes.
    pub fn from_application_value(value: u64, key: Option<u64>) -> Record {
        Record {
            key: key.map(|key| Bytes::copy_from_slice(&key.to_be_bytes())),
            value: Some(Bytes::copy_from_slice(&value.to_be_bytes())),
            headers: Vec::new(),
        }
    }

    /// The workload's value, if the value is exactly 8 bytes.
    pub fn application_value(&self) -> Option<u64> {
        as_u64(self.value.as_deref()?)
    }

    /// The workload's key, if the key is exactly 8 bytes.
    pub fn application_key(&self) -> Option<u64> {
        as_u64(self.key.as_deref()?)
    }
}

fn as_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// The kind of a transaction marker, Kafka's `ControlRecordType` (the two that end a
/// transaction).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ControlRecordType {
    /// ABORT = 0: the producer's records in the transaction are discarded by
    /// `read_committed` consumers.
    Abort,
    /// COMMIT = 1.
    Commit,
}

impl ControlRecordType {
    /// Kafka's id of the type, as written in the control record's key.
    pub fn id(self) -> i16 {
        match self {
            ControlRecordType::Abort => 0,
            ControlRecordType::Commit => 1,
        }
    }

    /// The type with Kafka's id `id`, if it is one of these.
    pub fn from_id(id: i16) -> Option<ControlRecordType> {
        match id {
            0 => Some(ControlRecordType::Abort),
            1 => Some(ControlRecordType::Commit),
            _ => None,
        }
    }
}

/// What a control batch's one record says: Kafka's `EndTransactionMarker`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ControlMarker {
    pub record_type: ControlRecordType,
    /// The epoch of the transaction coordinator that wrote the marker, so a marker from a
    /// deposed coordinator can be fenced. At most `i32::MAX` (an `int32` in Kafka).
    pub coordinator_epoch: u32,
}

/// Control records' key and value schema version; the only one written or read.
const CONTROL_VERSION: i16 = 0;

/// A batch's header fields: everything Kafka's `RecordBatch` (v2) holds but its records and
/// timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchHeader {
    pub base_offset: Offset,
    /// The epoch of the leader that appended the batch.
    pub partition_leader_epoch: LeaderEpoch,
    /// `None` is Kafka's `NO_PRODUCER_ID` (-1).
    pub producer_id: Option<ProducerId>,
    /// `None` is Kafka's `NO_PRODUCER_EPOCH` (-1).
    pub producer_epoch: Option<ProducerEpoch>,
    /// The sequence of the first record; `None` is Kafka's `NO_SEQUENCE` (-1).
    pub base_sequence: Option<Sequence>,
    pub is_transactional: bool,
    pub is_control: bool,
}

/// A batch of records appended as one unit, Kafka's `RecordBatch` (v2) without timestamps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordBatch {
    pub header: BatchHeader,
    /// Record `i` has offset `header.base_offset + i`. Never empty in a batch that is encoded.
    pub records: Vec<Record>,
}

impl RecordBatch {
    /// A batch from a producer that is neither idempotent nor transactional.
    pub fn new(
        base_offset: Offset,
        partition_leader_epoch: LeaderEpoch,
        records: Vec<Record>,
    ) -> RecordBatch {
        RecordBatch {
            header: BatchHeader {
                base_offset,
                partition_leader_epoch,
                producer_id: None,
                producer_epoch: None,
                base_sequence: None,
                is_transactional: false,
                is_control: false,
            },
            records,
        }
    }

    /// A control batch carrying one COMMIT or ABORT marker, as the transaction coordinator
    /// writes it: transactional, with the producer's id and epoch and no sequence. The
    /// record's key is the version (i16, 0) and the type (i16); its value the version (i16, 0)
    /// and the coordinator epoch (i32).
    ///
    /// # Panics
    ///
    /// If `coordinator_epoch` exceeds `i32::MAX`.
    pub fn control(
        base_offset: Offset,
        partition_leader_epoch: LeaderEpoch,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        record_type: ControlRecordType,
        coordinator_epoch: u32,
    ) -> RecordBatch {
        let (key, value) = control_record_key_value(record_type, coordinator_epoch);
        RecordBatch {
            header: BatchHeader {
                base_offset,
                partition_leader_epoch,
                producer_id: Some(producer_id),
                producer_epoch: Some(producer_epoch),
                base_sequence: None,
                is_transactional: true,
                is_control: true,
            },
            records: vec![Record {
                key: Some(Bytes::copy_from_slice(&key)),
                value: Some(Bytes::copy_from_slice(&value)),
                headers: Vec::new(),
            }],
        }
    }

    /// How many records the batch holds.
    pub fn record_count(&self) -> usize {
        self.records.len()
    }

    /// The offset after the batch's last record.
    pub fn next_offset(&self) -> Offset {
        Offset(self.header.base_offset.0 + self.records.len() as u64)
    }

    /// The offset of the batch's last record.
    ///
    /// # Panics
    ///
    /// If the batch is empty, which no encoded or decoded batch is.
    pub fn last_offset(&self) -> Offset {
        assert!(
            !self.records.is_empty(),
            "an empty batch has no last offset"
        );
        Offset(self.next_offset().0 - 1)
    }

    /// Each record with its offset.
    pub fn records_with_offsets(&self) -> impl Iterator<Item = (Offset, &Record)> + '_ {
        let base = self.header.base_offset.0;
        (base..)
            .zip(&self.records)
            .map(|(offset, record)| (Offset(offset), record))
    }

    /// The record at `offset`, if the batch holds it.
    pub fn record_at(&self, offset: Offset) -> Option<&Record> {
        let index = offset.0.checked_sub(self.header.base_offset.0)?;
        self.records.get(usize::try_from(index).ok()?)
    }

    /// The sequence number of record `index`: `base_sequence + index`, wrapping from
    /// `i32::MAX` to 0 as Kafka's `DefaultRecordBatch.incrementSequence` does. `None` if the
    /// batch has no sequence or no such record.
    pub fn sequence_of(&self, index: usize) -> Option<Sequence> {
        let base = self.header.base_sequence?;
        if index >= self.records.len() {
            return None;
        }
        let modulus = i32::MAX as u64 + 1;
        let sequence = (u64::from(base.0) + index as u64) % modulus;
        Some(Sequence(u32::try_from(sequence).expect("below 2^31")))
    }

    /// The marker of a control batch: `None` unless the batch is a control batch of one
    /// record whose key and value are a version-0 marker of a known type.
    pub fn control_marker(&self) -> Option<ControlMarker> {
        self.control_record_type()?;
        let record = &self.records[0];
        control_marker_of(record.key.as_deref()?, record.value.as_deref()?)
    }

    /// The type of a control batch's marker, read from its record's key; `None` unless the
    /// batch is a control batch of one record whose key is a version-0 marker key of a known
    /// type.
    pub fn control_record_type(&self) -> Option<ControlRecordType> {
        let [record] = self.records.as_slice() else {
            return None;
        };
        if !self.header.is_control {
            return None;
        }
        control_record_type_of(record.key.as_deref()?)
    }
}

/// A control record's key and value for a marker (Kafka's `EndTransactionMarker`): the key
/// is the version (i16, 0) and the type (i16); the value the version (i16, 0) and the
/// coordinator epoch (i32).
///
/// # Panics
///
/// If `coordinator_epoch` exceeds `i32::MAX`.
pub fn control_record_key_value(
    record_type: ControlRecordType,
    coordinator_epoch: u32,
) -> ([u8; 4], [u8; 6]) {
    let coordinator_epoch =
        i32::try_from(coordinator_epoch).expect("a coordinator epoch is an int32");
    let mut key = [0; 4];
    key[..2].copy_from_slice(&CONTROL_VERSION.to_be_bytes());
    key[2..].copy_from_slice(&record_type.id().to_be_bytes());
    let mut value = [0; 6];
    value[..2].copy_from_slice(&CONTROL_VERSION.to_be_bytes());
    value[2..].copy_from_slice(&coordinator_epoch.to_be_bytes());
    (key, value)
}

/// The marker type a control record's key names; `None` unless it is a version-0 marker key
/// of a known type.
pub fn control_record_type_of(key: &[u8]) -> Option<ControlRecordType> {
    let key: [u8; 4] = key.try_into().ok()?;
    let version = i16::from_be_bytes([key[0], key[1]]);
    let type_id = i16::from_be_bytes([key[2], key[3]]);
    if version != CONTROL_VERSION {
        return None;
    }
    ControlRecordType::from_id(type_id)
}

/// The marker a control record's key and value hold; `None` unless both are version 0 and
/// well formed.
pub fn control_marker_of(key: &[u8], value: &[u8]) -> Option<ControlMarker> {
    let record_type = control_record_type_of(key)?;
    let (version, epoch) = value.split_first_chunk::<2>()?;
    if i16::from_be_bytes(*version) != CONTROL_VERSION {
        return None;
    }
    let coordinator_epoch = i32::from_be_bytes(epoch.try_into().ok()?);
    Some(ControlMarker {
        record_type,
        coordinator_epoch: u32::try_from(coordinator_epoch).ok()?,
    })
}

// ----------------------------------------------------------------------------------------
// Encoding

/// A record to encode, borrowed from wherever its bytes live, so a log can frame its own
/// records without building a [`RecordBatch`] (and a `Bytes` per key and value) first.
#[derive(Clone, Copy, Debug)]
pub struct RecordRef<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [Header],
}

impl RecordBatch {
    fn record_refs(&self) -> Vec<RecordRef<'_>> {
        self.records
            .iter()
            .map(|record| RecordRef {
                key: record.key.as_deref(),
                value: record.value.as_deref(),
                headers: &record.headers,
            })
            .collect()
    }
}

/// The exact length of the frame `encode_batch` writes for `batch`.
pub fn frame_bytes(batch: &RecordBatch) -> usize {
    records_frame_bytes(&batch.record_refs())
}

fn records_frame_bytes(records: &[RecordRef<'_>]) -> usize {
    FRAME_HEADER_BYTES
        + (0..)
            .zip(records)
            .map(|(index, record)| {
                let body = record_body_bytes(record, index);
                length_varint_bytes(body) + body
            })
            .sum::<usize>()
}

/// Appends `batch` to `out` as one frame.
///
/// # Panics
///
/// If the batch cannot be represented: no records, a frame over [`FRAME_BATCH_BYTES_MAX`], an
/// offset, epoch, producer id, producer epoch or sequence beyond the signed Kafka type it is
/// stored as (`i64`, `i32`, `i64`, `i16`, `i32`). A log never holds such a batch.
pub fn encode_batch(batch: &RecordBatch, out: &mut Vec<u8>) {
    encode_frame(&batch.header, &batch.record_refs(), out);
}

/// Appends one frame of `records` under `header` to `out`; the bytes [`encode_batch`]
/// writes for the same batch. Panics as [`encode_batch`] does.
pub fn encode_frame(header: &BatchHeader, records: &[RecordRef<'_>], out: &mut Vec<u8>) {
    assert!(
        !records.is_empty(),
        "a record batch holds at least one record"
    );
    let frame_length = records_frame_bytes(records);
    assert!(
        frame_length <= FRAME_BATCH_BYTES_MAX,
        "a record batch of {frame_length} bytes exceeds the frame limit {FRAME_BATCH_BYTES_MAX}"
    );
    let batch_length = bounded_i32(frame_length - LOG_OVERHEAD_BYTES);
    let last_offset_delta = bounded_i32(records.len() - 1);
    let base_offset = i64::try_from(header.base_offset.0).expect("an offset is an int64");
    assert!(
        base_offset
            .checked_add(i64::from(last_offset_delta))
            .is_some(),
        "the batch's last offset exceeds int64"
    );
    let partition_leader_epoch =
        i32::try_from(header.partition_leader_epoch.0).expect("a leader epoch is an int32");
    let producer_id = header.producer_id.map_or(-1, |id| {
        i64::try_from(id.0).expect("a producer id is a non-negative int64")
    });
    let producer_epoch = header.producer_epoch.map_or(-1, |epoch| {
        i16::try_from(epoch.0).expect("a producer epoch is a non-negative int16")
    });
    let base_sequence = header.base_sequence.map_or(-1, |sequence| {
        i32::try_from(sequence.0).expect("a sequence is a non-negative int32")
    });
    let mut attributes = 0i16;
    if header.is_transactional {
        attributes |= ATTRIBUTE_TRANSACTIONAL;
    }
    if header.is_control {
        attributes |= ATTRIBUTE_CONTROL;
    }

    out.reserve(frame_length);
    let start = out.len();
    out.extend_from_slice(&base_offset.to_be_bytes());
    out.extend_from_slice(&batch_length.to_be_bytes());
    out.extend_from_slice(&partition_leader_epoch.to_be_bytes());
    out.push(MAGIC_V2 as u8);
    out.extend_from_slice(&0u32.to_be_bytes()); // the CRC, filled in below
    out.extend_from_slice(&attributes.to_be_bytes());
    out.extend_from_slice(&last_offset_delta.to_be_bytes());
    out.extend_from_slice(&producer_id.to_be_bytes());
    out.extend_from_slice(&producer_epoch.to_be_bytes());
    out.extend_from_slice(&base_sequence.to_be_bytes());
    out.extend_from_slice(&(last_offset_delta + 1).to_be_bytes());
    for (index, record) in (0..).zip(records) {
        encode_record(record, index, out);
    }
    debug_assert_eq!(out.len() - start, frame_length);
    let crc = crc32c::crc32c(&out[start + ATTRIBUTES_START..]);
    out[start + CRC_START..start + ATTRIBUTES_START].copy_from_slice(&crc.to_be_bytes());
}

fn encode_record(record: &RecordRef<'_>, index: usize, out: &mut Vec<u8>) {
    put_length(out, record_body_bytes(record, index));
    out.push(0); // attributes
    put_varlong(out, 0); // timestampDelta
    put_length(out, index); // offsetDelta
    put_nullable_bytes(out, record.key);
    put_nullable_bytes(out, record.value);
    put_length(out, record.headers.len());
    for header in record.headers {
        put_length(out, header.key.len());
        out.extend_from_slice(header.key.as_bytes());
        put_nullable_bytes(out, header.value.as_deref());
    }
}

/// The bytes of a record after its length field.
fn record_body_bytes(record: &RecordRef<'_>, index: usize) -> usize {
    let headers: usize = record
        .headers
        .iter()
        .map(|header| {
            length_varint_bytes(header.key.len())
                + header.key.len()
                + nullable_bytes_bytes(header.value.as_deref())
        })
        .sum();
    2 + length_varint_bytes(index)
        + nullable_bytes_bytes(record.key)
        + nullable_bytes_bytes(record.value)
        + length_varint_bytes(record.headers.len())
        + headers
}

fn nullable_bytes_bytes(bytes: Option<&[u8]>) -> usize {
    bytes.map_or(1, |bytes| length_varint_bytes(bytes.len()) + bytes.len())
}

/// Bytes of the zigzag varint of a non-negative length (zigzag doubles it).
fn length_varint_bytes(length: usize) -> usize {
    unsigned_varint_bytes((length as u64).saturating_mul(2))
}

fn unsigned_varint_bytes(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// A length known to fit: every length in a frame is bounded by [`FRAME_BATCH_BYTES_MAX`],
/// checked before any is written.
fn bounded_i32(length: usize) -> i32 {
    i32::try_from(length).expect("bounded by FRAME_BATCH_BYTES_MAX")
}

fn put_length(out: &mut Vec<u8>, length: usize) {
    put_varint(out, bounded_i32(length));
}

fn put_nullable_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => put_varint(out, -1),
        Some(bytes) => {
            put_length(out, bytes.len());
            out.extend_from_slice(bytes);
        }
    }
}

fn zigzag32(value: i32) -> u32 {
    ((value << 1) ^ (value >> 31)) as u32
}

fn unzigzag32(value: u32) -> i32 {
    ((value >> 1) as i32) ^ -((value & 1) as i32)
}

fn zigzag64(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag64(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Kafka's `ByteUtils.writeVarint`: zigzag, then 7 bits a byte, least significant first.
fn put_varint(out: &mut Vec<u8>, value: i32) {
    put_unsigned_varint(out, u64::from(zigzag32(value)));
}

/// Kafka's `ByteUtils.writeVarlong`.
fn put_varlong(out: &mut Vec<u8>, value: i64) {
    put_unsigned_varint(out, zigzag64(value));
}

fn put_unsigned_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

// ----------------------------------------------------------------------------------------
// Decoding

/// The valid prefix of a log file of batches.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DecodedBatches {
    pub batches: Vec<RecordBatch>,
    /// The byte position where each batch's frame starts, parallel to `batches`.
    pub frame_starts_bytes: Vec<u64>,
    /// The length of the valid prefix: everything after it is a torn or corrupt tail.
    pub valid_length_bytes: u64,
    /// How many frames (whole or torn) the invalid tail seems to hold; 0 when the file is
    /// entirely valid. Only an estimate for the trace: a corrupt length field ends the count.
    pub dropped_frames: u64,
}

/// Decodes frames from the start of `bytes` until the first invalid one. Copies `bytes`
/// once; [`decode_log_bytes`] does not.
pub fn decode_log(bytes: &[u8]) -> DecodedBatches {
    decode_log_bytes(Bytes::copy_from_slice(bytes))
}

/// Decodes frames from the start of `file` until the first invalid one. Keys and values are
/// slices of `file`, not copies (so they keep the file's buffer alive while they live);
/// header keys are copied into their `String`s.
pub fn decode_log_bytes(file: Bytes) -> DecodedBatches {
    let mut decoded = DecodedBatches::default();
    let mut position = 0usize;
    while let Some((batch, frame_length)) = decode_frame(&file, position) {
        decoded.batches.push(batch);
        decoded.frame_starts_bytes.push(position as u64);
        position += frame_length;
    }
    decoded.valid_length_bytes = position as u64;
    decoded.dropped_frames = count_tail_frames(&file[position..]);
    decoded
}

/// The frame length a `batchLength` field implies, if it is a possible one.
fn frame_length_of(batch_length: i32) -> Option<usize> {
    let frame_length = usize::try_from(batch_length).ok()? + LOG_OVERHEAD_BYTES;
    (FRAME_HEADER_BYTES..=FRAME_BATCH_BYTES_MAX)
        .contains(&frame_length)
        .then_some(frame_length)
}

/// `-1` as `None`, a value that fits `T` (unsigned) as itself, anything else as invalid.
fn optional_non_negative<T: TryFrom<i64>>(value: i64) -> Option<Option<T>> {
    match value {
        -1 => Some(None),
        _ => Some(Some(T::try_from(value).ok()?)),
    }
}

/// The batch of the frame starting at `start` and the frame's length, if that frame is
/// complete, passes its CRC and parses exactly.
fn decode_frame(file: &Bytes, start: usize) -> Option<(RecordBatch, usize)> {
    let mut reader = Reader {
        bytes: file,
        position: start,
        end: file.len(),
    };
    let base_offset = reader.i64()?;
    if base_offset < 0 {
        return None;
    }
    let frame_length = frame_length_of(reader.i32()?)?;
    let end = start.checked_add(frame_length)?;
    if end > file.len() {
        return None;
    }
    reader.end = end;
    let partition_leader_epoch = u32::try_from(reader.i32()?).ok()?;
    if reader.i8()? != MAGIC_V2 {
        return None;
    }
    let crc = u32::from_be_bytes(reader.take()?);
    if crc32c::crc32c(&file[reader.position..end]) != crc {
        return None;
    }
    let attributes = reader.i16()?;
    if attributes & !(ATTRIBUTE_TRANSACTIONAL | ATTRIBUTE_CONTROL) != 0 {
        return None;
    }
    let last_offset_delta = reader.i32()?;
    let producer_id = optional_non_negative::<u64>(reader.i64()?)?.map(ProducerId);
    let producer_epoch = optional_non_negative::<u16>(i64::from(reader.i16()?))?.map(ProducerEpoch);
    let base_sequence = optional_non_negative::<u32>(i64::from(reader.i32()?))?.map(Sequence);
    let records_count = usize::try_from(reader.i32()?).ok()?;
    if records_count == 0
        || usize::try_from(last_offset_delta).ok()? != records_count - 1
        || records_count > reader.remaining() / RECORD_BYTES_MIN
    {
        return None;
    }
    base_offset.checked_add(i64::from(last_offset_delta))?;
    let mut records = Vec::with_capacity(records_count);
    for index in 0..records_count {
        records.push(reader.record(file, index)?);
    }
    if reader.position != end {
        return None;
    }
    let batch = RecordBatch {
        header: BatchHeader {
            base_offset: Offset(u64::try_from(base_offset).ok()?),
            partition_leader_epoch: LeaderEpoch(partition_leader_epoch),
            producer_id,
            producer_epoch,
            base_sequence,
            is_transactional: attributes & ATTRIBUTE_TRANSACTIONAL != 0,
            is_control: attributes & ATTRIBUTE_CONTROL != 0,
        },
        records,
    };
    Some((batch, frame_length))
}

/// Reads fields off a file between `position` and `end`; every read fails past `end`.
struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
    end: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.end - self.position
    }

    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let field = self
            .bytes
            .get(self.position..self.end)?
            .first_chunk::<N>()?;
        self.position += N;
        Some(*field)
    }

    fn i8(&mut self) -> Option<i8> {
        Some(i8::from_be_bytes(self.take()?))
    }

    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take()?))
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take()?))
    }

    /// An unsigned varint of at most `bits` bits in its minimal encoding: too many bytes,
    /// bits beyond `bits`, or a final zero byte after the first are corruption.
    fn unsigned_varint(&mut self, bits: u32) -> Option<u64> {
        if self.position >= self.end {
            return None;
        }
        let first = *self.bytes.get(self.position)?;
        self.position += 1;
        if first < 0x80 {
            return Some(u64::from(first));
        }
        let mut value = u64::from(first & 0x7F);
        let mut shift = 7;
        loop {
            if self.position >= self.end || shift >= bits {
                return None;
            }
            let byte = self.bytes[self.position];
            self.position += 1;
            let group = u64::from(byte & 0x7F);
            if bits - shift < 7 && group >> (bits - shift) != 0 {
                return None;
            }
            value |= group << shift;
            if byte & 0x80 == 0 {
                return (byte != 0).then_some(value);
            }
            shift += 7;
        }
    }

    /// Kafka's `ByteUtils.readVarint`.
    fn varint(&mut self) -> Option<i32> {
        let value = u32::try_from(self.unsigned_varint(32)?).ok()?;
        Some(unzigzag32(value))
    }

    /// Kafka's `ByteUtils.readVarlong`.
    fn varlong(&mut self) -> Option<i64> {
        Some(unzigzag64(self.unsigned_varint(64)?))
    }

    /// A non-negative varint length of bytes that are all before `end`.
    fn length(&mut self) -> Option<usize> {
        let length = usize::try_from(self.varint()?).ok()?;
        (length <= self.remaining()).then_some(length)
    }

    /// The positions of the next `length` bytes, skipping them.
    fn skip(&mut self, length: usize) -> Option<std::ops::Range<usize>> {
        if length > self.remaining() {
            return None;
        }
        let range = self.position..self.position + length;
        self.position += length;
        Some(range)
    }

    /// A varint-length-prefixed byte string, -1 for null, as a slice of `file`.
    fn nullable_bytes(&mut self, file: &Bytes) -> Option<Option<Bytes>> {
        match self.varint()? {
            -1 => Some(None),
            length => {
                let length = usize::try_from(length).ok()?;
                Some(Some(file.slice(self.skip(length)?)))
            }
        }
    }

    /// Record `index` of the batch, which must fill exactly its length field.
    fn record(&mut self, file: &Bytes, index: usize) -> Option<Record> {
        let length = self.length()?;
        let batch_end = self.end;
        self.end = self.position + length;
        let attributes = self.i8()?;
        let timestamp_delta = self.varlong()?;
        let offset_delta = usize::try_from(self.varint()?).ok()?;
        if attributes != 0 || timestamp_delta != 0 || offset_delta != index {
            return None;
        }
        let key = self.nullable_bytes(file)?;
        let value = self.nullable_bytes(file)?;
        let headers_count = self.length()?;
        if headers_count > self.remaining() / HEADER_BYTES_MIN {
            return None;
        }
        let mut headers = Vec::with_capacity(headers_count);
        for _ in 0..headers_count {
            let key_length = self.length()?;
            let key_range = self.skip(key_length)?;
            let key = std::str::from_utf8(&self.bytes[key_range]).ok()?;
            headers.push(Header {
                key: key.to_owned(),
                value: self.nullable_bytes(file)?,
            });
        }
        if self.position != self.end {
            return None;
        }
        self.end = batch_end;
        Some(Record {
            key,
            value,
            headers,
        })
    }
}

/// Counts the frames an invalid tail spans by following its `batchLength` fields.
fn count_tail_frames(tail: &[u8]) -> u64 {
    let mut frames = 0u64;
    let mut position = 0usize;
    while position < tail.len() {
        frames += 1;
        let Some(length_field) = tail.get(position + 8..position + LOG_OVERHEAD_BYTES) else {
            break;
        };
        let batch_length = i32::from_be_bytes(length_field.try_into().expect("four bytes"));
        let Some(frame_length) = frame_length_of(batch_length) else {
            break;
        };
        position += frame_length;
    }
    frames
}

#[cfg(test)]
#[path = "record_batch_tests.rs"]
mod tests;
