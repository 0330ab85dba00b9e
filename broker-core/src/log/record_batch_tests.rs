use super::*;
use proptest::prelude::*;

fn encode_all(batches: &[RecordBatch]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for batch in batches {
        encode_batch(batch, &mut bytes);
    }
    bytes
}

/// Recomputes the CRC of the frame at the start of `frame`, as a writer that corrupted the
/// body itself would have.
fn fix_crc(frame: &mut [u8]) {
    let crc = crc32c::crc32c(&frame[ATTRIBUTES_START..]);
    frame[CRC_START..ATTRIBUTES_START].copy_from_slice(&crc.to_be_bytes());
}

/// Whatever the decoder accepts is exactly what the encoder writes for what it returned.
fn assert_decoded_prefix_is_canonical(bytes: &[u8]) -> DecodedBatches {
    let decoded = decode_log(bytes);
    let valid = usize::try_from(decoded.valid_length_bytes).unwrap();
    assert!(valid <= bytes.len());
    assert_eq!(encode_all(&decoded.batches), bytes[..valid]);
    assert_eq!(decoded.dropped_frames == 0, valid == bytes.len());
    let again = decode_log(&bytes[..valid]);
    assert_eq!(again.batches, decoded.batches);
    assert_eq!(again.frame_starts_bytes, decoded.frame_starts_bytes);
    assert_eq!(again.valid_length_bytes, decoded.valid_length_bytes);
    assert_eq!(again.dropped_frames, 0);
    decoded
}

fn data_batch(base_offset: u64, values: &[u64]) -> RecordBatch {
    RecordBatch::new(
        Offset(base_offset),
        LeaderEpoch(1),
        values
            .iter()
            .map(|&value| Record::from_application_value(value, None))
            .collect(),
    )
}

fn three_batches() -> Vec<RecordBatch> {
    let mut idempotent = data_batch(2, &[12, 13, 14]);
    idempotent.header.producer_id = Some(ProducerId(7));
    idempotent.header.producer_epoch = Some(ProducerEpoch(1));
    idempotent.header.base_sequence = Some(Sequence(40));
    idempotent.records[1].key = Some(Bytes::from_static(b"k"));
    idempotent.records[2].headers.push(Header {
        key: "trace".to_string(),
        value: None,
    });
    vec![
        data_batch(0, &[10, 11]),
        idempotent,
        RecordBatch::control(
            Offset(5),
            LeaderEpoch(2),
            ProducerId(7),
            ProducerEpoch(1),
            ControlRecordType::Commit,
            3,
        ),
    ]
}

// ----------------------------------------------------------------------------------------
// CRC and varints

#[test]
fn crc32c_matches_the_castagnoli_check_value() {
    assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
}

fn varint_bytes_of(value: i32) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, value);
    out
}

fn varlong_bytes_of(value: i64) -> Vec<u8> {
    let mut out = Vec::new();
    put_varlong(&mut out, value);
    out
}

fn read_varint(bytes: &[u8]) -> Option<(i32, usize)> {
    let mut reader = Reader {
        bytes,
        position: 0,
        end: bytes.len(),
    };
    let value = reader.varint()?;
    Some((value, reader.position))
}

fn read_varlong(bytes: &[u8]) -> Option<(i64, usize)> {
    let mut reader = Reader {
        bytes,
        position: 0,
        end: bytes.len(),
    };
    let value = reader.varlong()?;
    Some((value, reader.position))
}

#[test]
fn varints_encode_edge_values_as_kafkas_byte_utils_does() {
    let cases: &[(i32, &[u8])] = &[
        (0, &[0x00]),
        (-1, &[0x01]),
        (1, &[0x02]),
        (63, &[0x7E]),
        (-64, &[0x7F]),
        (64, &[0x80, 0x01]),
        (-65, &[0x81, 0x01]),
        (8191, &[0xFE, 0x7F]),
        (8192, &[0x80, 0x80, 0x01]),
        (i32::MAX, &[0xFE, 0xFF, 0xFF, 0xFF, 0x0F]),
        (i32::MIN, &[0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
    ];
    for &(value, expected) in cases {
        assert_eq!(varint_bytes_of(value), expected, "{value}");
        assert_eq!(
            read_varint(expected),
            Some((value, expected.len())),
            "{value}"
        );
    }
}

#[test]
fn varlongs_encode_edge_values_as_kafkas_byte_utils_does() {
    let mut max = vec![0xFE];
    max.extend([0xFF; 8]);
    max.push(0x01);
    let mut min = vec![0xFF; 9];
    min.push(0x01);
    let cases: Vec<(i64, Vec<u8>)> = vec![
        (0, vec![0x00]),
        (-1, vec![0x01]),
        (1, vec![0x02]),
        (64, vec![0x80, 0x01]),
        (i64::from(i32::MAX) + 1, vec![0x80, 0x80, 0x80, 0x80, 0x10]),
        (i64::MAX, max),
        (i64::MIN, min),
    ];
    for (value, expected) in cases {
        assert_eq!(varlong_bytes_of(value), expected, "{value}");
        assert_eq!(
            read_varlong(&expected),
            Some((value, expected.len())),
            "{value}"
        );
    }
}

#[test]
fn truncated_overlong_overflowing_and_non_minimal_varints_are_rejected() {
    let bad: &[&[u8]] = &[
        &[],
        &[0x80],
        &[0xFF, 0xFF],
        &[0x80, 0x00],                         // 0 in two bytes
        &[0x82, 0x80, 0x00],                   // 1 in three bytes
        &[0xFF, 0xFF, 0xFF, 0xFF, 0x1F],       // a 33rd bit
        &[0xFF, 0xFF, 0xFF, 0xFF, 0x8F, 0x00], // six bytes
    ];
    for bytes in bad {
        assert_eq!(read_varint(bytes), None, "{bytes:02X?}");
    }
    let mut overflowing_long = vec![0xFF; 9];
    overflowing_long.push(0x03); // a 65th bit
    assert_eq!(read_varlong(&overflowing_long), None);
    let mut eleven_bytes = vec![0xFF; 10];
    eleven_bytes.push(0x00);
    assert_eq!(read_varlong(&eleven_bytes), None);
    // A varint must also end before the reader's end, not merely before the slice's.
    let mut reader = Reader {
        bytes: &[0x80, 0x01],
        position: 0,
        end: 1,
    };
    assert_eq!(reader.varint(), None);
}

proptest! {
    #[test]
    fn every_varint_and_varlong_round_trips_in_its_predicted_length(
        value in any::<i32>(),
        long in any::<i64>(),
    ) {
        let bytes = varint_bytes_of(value);
        prop_assert_eq!(read_varint(&bytes), Some((value, bytes.len())));
        prop_assert_eq!(unsigned_varint_bytes(u64::from(zigzag32(value))), bytes.len());
        let bytes = varlong_bytes_of(long);
        prop_assert_eq!(read_varlong(&bytes), Some((long, bytes.len())));
        prop_assert_eq!(unsigned_varint_bytes(zigzag64(long)), bytes.len());
        prop_assert_eq!(unzigzag32(zigzag32(value)), value);
        prop_assert_eq!(unzigzag64(zigzag64(long)), long);
    }
}

// ----------------------------------------------------------------------------------------
// The frame layout

#[test]
fn a_one_record_batch_has_kafkas_layout_byte_for_byte() {
    let batch = RecordBatch::new(
        Offset(5),
        LeaderEpoch(3),
        vec![Record::from_application_value(0x0102_0304_0506_0708, None)],
    );
    let mut expected: Vec<u8> = Vec::new();
    expected.extend(5i64.to_be_bytes()); // baseOffset
    expected.extend(48i32.to_be_bytes()); // batchLength: 60 - 12
    expected.extend(3i32.to_be_bytes()); // partitionLeaderEpoch
    expected.push(2); // magic
    expected.extend([0; 4]); // crc, below
    expected.extend(0i16.to_be_bytes()); // attributes
    expected.extend(0i32.to_be_bytes()); // lastOffsetDelta
    expected.extend((-1i64).to_be_bytes()); // producerId
    expected.extend((-1i16).to_be_bytes()); // producerEpoch
    expected.extend((-1i32).to_be_bytes()); // baseSequence
    expected.extend(1i32.to_be_bytes()); // recordsCount
    assert_eq!(expected.len(), FRAME_HEADER_BYTES);
    expected.extend([
        0x1C, // length 14
        0x00, // attributes
        0x00, // timestampDelta
        0x00, // offsetDelta
        0x01, // keyLength -1: null
        0x10, // valueLength 8
        1, 2, 3, 4, 5, 6, 7, 8,    // value
        0x00, // headersCount
    ]);
    fix_crc(&mut expected);

    let mut bytes = vec![0xAA]; // encode_batch appends
    encode_batch(&batch, &mut bytes);
    assert_eq!(bytes[1..], expected);
    assert_eq!(bytes.len() - 1, 60);
    assert_eq!(frame_bytes(&batch), 60);
}

#[test]
fn the_attributes_carry_the_transactional_and_control_bits() {
    let mut batch = data_batch(0, &[1]);
    let attributes_of = |batch: &RecordBatch| {
        let mut bytes = Vec::new();
        encode_batch(batch, &mut bytes);
        i16::from_be_bytes([bytes[ATTRIBUTES_START], bytes[ATTRIBUTES_START + 1]])
    };
    assert_eq!(attributes_of(&batch), 0);
    batch.header.is_transactional = true;
    assert_eq!(attributes_of(&batch), 0x10);
    batch.header.is_control = true;
    assert_eq!(attributes_of(&batch), 0x30);
    batch.header.is_transactional = false;
    assert_eq!(attributes_of(&batch), 0x20);
}

// ----------------------------------------------------------------------------------------
// Round trips

fn nullable_bytes() -> impl Strategy<Value = Option<Bytes>> {
    prop::option::of(prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..12),
        1 => prop::collection::vec(any::<u8>(), 60..300),
    ])
    .prop_map(|bytes| bytes.map(Bytes::from))
}

fn header() -> impl Strategy<Value = Header> {
    ("[a-z\u{e9}\u{4e2d}_.-]{0,8}", nullable_bytes()).prop_map(|(key, value)| Header { key, value })
}

fn record() -> impl Strategy<Value = Record> {
    (
        nullable_bytes(),
        nullable_bytes(),
        prop::collection::vec(header(), 0..3),
    )
        .prop_map(|(key, value, headers)| Record {
            key,
            value,
            headers,
        })
}

fn up_to(max: u64) -> impl Strategy<Value = u64> {
    prop_oneof![Just(0), Just(max), 0..=max, 0..100u64]
}

fn batch() -> impl Strategy<Value = RecordBatch> {
    let i64_max = i64::MAX as u64;
    (
        prop_oneof![0..1_000_000u64, (i64_max - 200)..=(i64_max - 199)],
        up_to(i32::MAX as u64),
        prop::option::of(up_to(i64_max)),
        prop::option::of(up_to(i16::MAX as u64)),
        prop::option::of(up_to(i32::MAX as u64)),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![
            3 => prop::collection::vec(record(), 1..6),
            1 => prop::collection::vec(record(), 60..200),
        ],
    )
        .prop_map(
            |(
                base,
                epoch,
                producer_id,
                producer_epoch,
                sequence,
                transactional,
                control,
                records,
            )| {
                RecordBatch {
                    header: BatchHeader {
                        base_offset: Offset(base),
                        partition_leader_epoch: LeaderEpoch(epoch as u32),
                        producer_id: producer_id.map(ProducerId),
                        producer_epoch: producer_epoch.map(|epoch| ProducerEpoch(epoch as u16)),
                        base_sequence: sequence.map(|sequence| Sequence(sequence as u32)),
                        is_transactional: transactional,
                        is_control: control,
                    },
                    records,
                }
            },
        )
}

proptest! {
    #[test]
    fn arbitrary_batches_round_trip_through_the_codec_several_to_a_file(
        batches in prop::collection::vec(batch(), 1..5),
    ) {
        let mut bytes = Vec::new();
        let mut starts = Vec::new();
        for batch in &batches {
            starts.push(bytes.len() as u64);
            let before = bytes.len();
            encode_batch(batch, &mut bytes);
            prop_assert_eq!(bytes.len() - before, frame_bytes(batch));
        }
        let decoded = decode_log(&bytes);
        prop_assert_eq!(&decoded.batches, &batches);
        prop_assert_eq!(&decoded.frame_starts_bytes, &starts);
        prop_assert_eq!(decoded.valid_length_bytes, bytes.len() as u64);
        prop_assert_eq!(decoded.dropped_frames, 0);
        prop_assert_eq!(decode_log_bytes(Bytes::from(bytes)), decoded);
    }
}

#[test]
fn keys_and_values_are_slices_of_the_decoded_file_not_copies() {
    let bytes = Bytes::from(encode_all(&three_batches()));
    let file_range = bytes.as_ptr_range();
    let decoded = decode_log_bytes(bytes.clone());
    assert_eq!(decoded.batches, three_batches());
    for batch in &decoded.batches {
        for record in &batch.records {
            let value = record.value.as_ref().unwrap();
            assert!(file_range.contains(&value.as_ptr()));
        }
    }
}

#[test]
fn offsets_and_sequences_follow_from_a_records_position() {
    let mut batch = data_batch(10, &[100, 101, 102]);
    assert_eq!(batch.record_count(), 3);
    assert_eq!(batch.last_offset(), Offset(12));
    assert_eq!(batch.next_offset(), Offset(13));
    let offsets: Vec<(Offset, Option<u64>)> = batch
        .records_with_offsets()
        .map(|(offset, record)| (offset, record.application_value()))
        .collect();
    assert_eq!(
        offsets,
        vec![
            (Offset(10), Some(100)),
            (Offset(11), Some(101)),
            (Offset(12), Some(102))
        ]
    );
    assert_eq!(batch.record_at(Offset(9)), None);
    assert_eq!(
        batch
            .record_at(Offset(11))
            .and_then(Record::application_value),
        Some(101)
    );
    assert_eq!(batch.record_at(Offset(13)), None);

    assert_eq!(batch.sequence_of(0), None, "no base sequence, no sequences");
    batch.header.base_sequence = Some(Sequence(5));
    assert_eq!(batch.sequence_of(2), Some(Sequence(7)));
    assert_eq!(batch.sequence_of(3), None, "no such record");
    batch.header.base_sequence = Some(Sequence(i32::MAX as u32 - 1));
    let sequences: Vec<_> = (0..3).map(|index| batch.sequence_of(index)).collect();
    assert_eq!(
        sequences,
        vec![
            Some(Sequence(i32::MAX as u32 - 1)),
            Some(Sequence(i32::MAX as u32)),
            Some(Sequence(0))
        ],
        "sequences wrap after int32's maximum, as Kafka's do"
    );
}

#[test]
fn application_values_and_keys_round_trip_as_eight_big_endian_bytes() {
    let record = Record::from_application_value(0x0102_0304_0506_0708, Some(u64::MAX));
    assert_eq!(
        record.value.as_deref(),
        Some(&[1u8, 2, 3, 4, 5, 6, 7, 8][..])
    );
    assert_eq!(record.application_value(), Some(0x0102_0304_0506_0708));
    assert_eq!(record.application_key(), Some(u64::MAX));
    let unkeyed = Record::from_application_value(0, None);
    assert_eq!(unkeyed.key, None);
    assert_eq!(unkeyed.application_key(), None);
    assert_eq!(unkeyed.application_value(), Some(0));

    let seven = Record {
        key: Some(Bytes::from_static(&[0; 9])),
        value: Some(Bytes::from_static(&[0; 7])),
        headers: Vec::new(),
    };
    assert_eq!(seven.application_value(), None);
    assert_eq!(seven.application_key(), None);
    let null = Record {
        key: None,
        value: None,
        headers: Vec::new(),
    };
    assert_eq!(null.application_value(), None);
}

#[test]
fn a_control_batch_carries_its_marker_and_coordinator_epoch_through_the_codec() {
    for record_type in [ControlRecordType::Commit, ControlRecordType::Abort] {
        let batch = RecordBatch::control(
            Offset(40),
            LeaderEpoch(6),
            ProducerId(9),
            ProducerEpoch(4),
            record_type,
            i32::MAX as u32,
        );
        let decoded = decode_log(&encode_all(std::slice::from_ref(&batch)));
        assert_eq!(decoded.batches, vec![batch.clone()]);
        let decoded = &decoded.batches[0];
        assert!(decoded.header.is_control && decoded.header.is_transactional);
        assert_eq!(decoded.header.producer_id, Some(ProducerId(9)));
        assert_eq!(decoded.header.producer_epoch, Some(ProducerEpoch(4)));
        assert_eq!(decoded.header.base_sequence, None);
        assert_eq!(decoded.control_record_type(), Some(record_type));
        assert_eq!(
            decoded.control_marker(),
            Some(ControlMarker {
                record_type,
                coordinator_epoch: i32::MAX as u32
            })
        );
        let key = decoded.records[0].key.as_deref().unwrap();
        assert_eq!(key, [0, 0, 0, record_type.id() as u8]);
        let value = decoded.records[0].value.as_deref().unwrap();
        assert_eq!(value, [0, 0, 0x7F, 0xFF, 0xFF, 0xFF]);
    }
    assert_eq!(ControlRecordType::Abort.id(), 0);
    assert_eq!(ControlRecordType::Commit.id(), 1);
}

#[test]
fn only_a_control_batch_of_one_well_formed_marker_has_a_control_record_type() {
    let marker = RecordBatch::control(
        Offset(0),
        LeaderEpoch(0),
        ProducerId(1),
        ProducerEpoch(0),
        ControlRecordType::Abort,
        2,
    );
    let mut not_control = marker.clone();
    not_control.header.is_control = false;
    assert_eq!(not_control.control_record_type(), None);
    assert_eq!(data_batch(0, &[1]).control_record_type(), None);
    let mut two_records = marker.clone();
    two_records.records.push(marker.records[0].clone());
    assert_eq!(two_records.control_record_type(), None);
    let mut unknown_type = marker.clone();
    unknown_type.records[0].key = Some(Bytes::from_static(&[0, 0, 0, 2]));
    assert_eq!(unknown_type.control_record_type(), None);
    let mut version_one = marker.clone();
    version_one.records[0].key = Some(Bytes::from_static(&[0, 1, 0, 1]));
    assert_eq!(version_one.control_record_type(), None);
    let mut negative_epoch = marker.clone();
    negative_epoch.records[0].value = Some(Bytes::from_static(&[0, 0, 0xFF, 0xFF, 0xFF, 0xFF]));
    assert_eq!(
        negative_epoch.control_record_type(),
        Some(ControlRecordType::Abort)
    );
    assert_eq!(negative_epoch.control_marker(), None);
    let mut short_value = marker;
    short_value.records[0].value = Some(Bytes::from_static(&[0, 0, 0]));
    assert_eq!(short_value.control_marker(), None);
}

// ----------------------------------------------------------------------------------------
// Torn and corrupt files

#[test]
fn every_byte_prefix_of_three_batches_decodes_to_a_prefix_of_them() {
    let batches = three_batches();
    let bytes = encode_all(&batches);
    for cut in 0..=bytes.len() {
        let decoded = assert_decoded_prefix_is_canonical(&bytes[..cut]);
        assert_eq!(
            decoded.batches,
            batches[..decoded.batches.len()],
            "cut at {cut}"
        );
        assert!(decoded.valid_length_bytes <= cut as u64);
        assert_eq!(
            decoded.dropped_frames == 0,
            decoded.valid_length_bytes == cut as u64,
            "cut at {cut}"
        );
        if decoded.valid_length_bytes < cut as u64 {
            assert_eq!(decoded.dropped_frames, 1, "cut at {cut}: one torn frame");
        }
        if cut == bytes.len() {
            assert_eq!(decoded.batches.len(), 3);
        }
    }
}

#[test]
fn a_flipped_byte_in_the_second_batch_ends_the_valid_prefix_at_the_second_frame() {
    let batches = three_batches();
    let clean = encode_all(&batches);
    let second_start = frame_bytes(&batches[0]);
    let second_end = second_start + frame_bytes(&batches[1]);
    // Every byte from batchLength on, except the partition leader epoch (below).
    let positions = (second_start + 8..second_end)
        .filter(|&position| !(second_start + 12..second_start + 16).contains(&position));
    for position in positions {
        for mask in [0x01, 0x55, 0x80, 0xFF] {
            let mut bytes = clean.clone();
            bytes[position] ^= mask;
            let decoded = assert_decoded_prefix_is_canonical(&bytes);
            assert_eq!(decoded.batches, batches[..1], "flip at {position}");
            assert_eq!(decoded.valid_length_bytes, second_start as u64);
            assert!(decoded.dropped_frames >= 1);
        }
    }
    let mut bytes = clean.clone();
    bytes[second_start + FRAME_HEADER_BYTES + 3] ^= 0x55;
    let decoded = decode_log(&bytes);
    assert_eq!(
        decoded.dropped_frames, 2,
        "the tail's length fields still lead over the second and the third frame"
    );
}

#[test]
fn the_crc_leaves_base_offset_and_leader_epoch_uncovered_as_kafkas_does() {
    // Kafka's CRC starts at the attributes so that a leader can stamp the epoch (and the
    // offsets) without recomputing it. A flip there is caught only by the log's order checks
    // (consecutive offsets, non-decreasing epochs), not by the codec.
    let batches = three_batches();
    let mut bytes = encode_all(&batches);
    let second_start = frame_bytes(&batches[0]);
    bytes[second_start + 7] ^= 0x10;
    bytes[second_start + 15] ^= 0x01;
    let decoded = decode_log(&bytes);
    assert_eq!(decoded.batches.len(), 3);
    assert_eq!(decoded.batches[1].header.base_offset, Offset(2 ^ 0x10));
    assert_eq!(
        decoded.batches[1].header.partition_leader_epoch,
        LeaderEpoch(0)
    );
}

#[test]
fn a_length_beyond_the_frame_limit_is_corruption_even_with_the_bytes_present() {
    let mut bytes = encode_all(&[data_batch(0, &[1])]);
    let limit = i32::try_from(FRAME_BATCH_BYTES_MAX - LOG_OVERHEAD_BYTES).unwrap();
    bytes[8..12].copy_from_slice(&(limit + 1).to_be_bytes());
    bytes.resize(FRAME_BATCH_BYTES_MAX + 1, 0);
    let decoded = decode_log(&bytes);
    assert_eq!(decoded.batches, vec![]);
    assert_eq!(decoded.valid_length_bytes, 0);
    assert_eq!(decoded.dropped_frames, 1);
}

#[test]
fn a_batch_of_the_frame_limit_encodes_and_one_byte_more_does_not() {
    let mut batch = data_batch(0, &[1]);
    let fixed = frame_bytes(&batch) - 8; // everything but the value
                                         // The value's and the record's length varints take 3 bytes rather than 1 at this size.
    batch.records[0].value = Some(Bytes::from(vec![7; FRAME_BATCH_BYTES_MAX - fixed - 4]));
    assert_eq!(frame_bytes(&batch), FRAME_BATCH_BYTES_MAX);
    let bytes = encode_all(std::slice::from_ref(&batch));
    assert_eq!(decode_log(&bytes).batches, vec![batch.clone()]);

    let mut value = batch.records[0].value.take().unwrap().to_vec();
    value.push(7);
    batch.records[0].value = Some(Bytes::from(value));
    let result = std::panic::catch_unwind(|| encode_all(&[batch]));
    assert!(result.is_err(), "a frame over the limit is not written");
}

#[test]
fn unrepresentable_batches_are_refused_by_the_encoder() {
    let too_far = |change: fn(&mut RecordBatch)| {
        let mut batch = data_batch(0, &[1, 2]);
        change(&mut batch);
        std::panic::catch_unwind(move || encode_all(&[batch])).is_err()
    };
    assert!(!too_far(|_| {}));
    assert!(too_far(|batch| batch.records.clear()));
    assert!(too_far(
        |batch| batch.header.base_offset = Offset(i64::MAX as u64)
    ));
    assert!(!too_far(
        |batch| batch.header.base_offset = Offset(i64::MAX as u64 - 1)
    ));
    assert!(too_far(
        |batch| batch.header.partition_leader_epoch = LeaderEpoch(1 << 31)
    ));
    assert!(too_far(
        |batch| batch.header.producer_id = Some(ProducerId(u64::MAX))
    ));
    assert!(too_far(
        |batch| batch.header.producer_epoch = Some(ProducerEpoch(1 << 15))
    ));
    assert!(too_far(
        |batch| batch.header.base_sequence = Some(Sequence(1 << 31))
    ));
}

/// A frame header with the given fields and a correct length and CRC over `body` (the
/// records).
fn frame_with(records_count: i32, last_offset_delta: i32, body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend(0i64.to_be_bytes());
    frame.extend(
        i32::try_from(FRAME_HEADER_BYTES - 12 + body.len())
            .unwrap()
            .to_be_bytes(),
    );
    frame.extend(0i32.to_be_bytes());
    frame.push(2);
    frame.extend([0; 4]);
    frame.extend(0i16.to_be_bytes());
    frame.extend(last_offset_delta.to_be_bytes());
    frame.extend((-1i64).to_be_bytes());
    frame.extend((-1i16).to_be_bytes());
    frame.extend((-1i32).to_be_bytes());
    frame.extend(records_count.to_be_bytes());
    frame.extend(body);
    fix_crc(&mut frame);
    frame
}

#[test]
fn hostile_counts_and_lengths_are_rejected_without_allocating_for_them() {
    let one_record = [0x0C, 0, 0, 0, 0x01, 0x01, 0x00]; // length 6 (zigzag 12), all null
    assert_eq!(decode_log(&frame_with(1, 0, &one_record)).batches.len(), 1);
    let rejected = [
        frame_with(i32::MAX, i32::MAX - 1, &one_record), // a count no bytes back up
        frame_with(0, -1, &[]),                          // an empty batch
        frame_with(1, 1, &one_record),                   // a delta that is not count - 1
        frame_with(2, 1, &one_record),                   // a record missing
        // A record length of 2^31 - 1.
        frame_with(1, 0, &[0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0, 0, 0, 1, 1, 0]),
        // A value length past the record's end.
        frame_with(1, 0, &[0x0C, 0, 0, 0, 0x01, 0x7E, 0x00]),
        // 2^30 headers.
        frame_with(
            1,
            0,
            &[0x14, 0, 0, 0, 0x01, 0x01, 0x80, 0x80, 0x80, 0x80, 0x08],
        ),
        // A null header key.
        frame_with(1, 0, &[0x10, 0, 0, 0, 0x01, 0x01, 0x02, 0x01, 0x01]),
        // A header key that is not UTF-8.
        frame_with(1, 0, &[0x12, 0, 0, 0, 0x01, 0x01, 0x02, 0x02, 0xFF, 0x01]),
        // Record attributes, a timestamp delta, an offset delta out of place.
        frame_with(1, 0, &[0x0C, 1, 0, 0, 0x01, 0x01, 0x00]),
        frame_with(1, 0, &[0x0C, 0, 2, 0, 0x01, 0x01, 0x00]),
        frame_with(1, 0, &[0x0C, 0, 0, 2, 0x01, 0x01, 0x00]),
        // A null length other than -1.
        frame_with(1, 0, &[0x0C, 0, 0, 0, 0x03, 0x01, 0x00]),
        // A byte after the record, inside the frame.
        frame_with(1, 0, &[0x0C, 0, 0, 0, 0x01, 0x01, 0x00, 0x00]),
        // A byte inside the record after its fields.
        frame_with(1, 0, &[0x0E, 0, 0, 0, 0x01, 0x01, 0x00, 0x00]),
        // A record length in two bytes where one would do.
        frame_with(1, 0, &[0x8C, 0x00, 0, 0, 0, 0x01, 0x01, 0x00]),
    ];
    for (index, frame) in rejected.iter().enumerate() {
        let decoded = assert_decoded_prefix_is_canonical(frame);
        assert_eq!(decoded.batches, vec![], "case {index}");
        assert_eq!(decoded.dropped_frames, 1, "case {index}");
    }
}

#[test]
fn unknown_attribute_bits_negative_fields_and_other_magics_are_rejected() {
    let clean = encode_all(&[data_batch(0, &[1])]);
    let with = |position: usize, bytes: &[u8]| {
        let mut frame = clean.clone();
        frame[position..position + bytes.len()].copy_from_slice(bytes);
        fix_crc(&mut frame);
        frame
    };
    let rejected = [
        with(0, &(-1i64).to_be_bytes()),   // baseOffset
        with(12, &(-1i32).to_be_bytes()),  // partitionLeaderEpoch
        with(16, &[1]),                    // magic 1
        with(21, &1i16.to_be_bytes()),     // gzip
        with(21, &0x08i16.to_be_bytes()),  // log-append time
        with(21, &0x40i16.to_be_bytes()),  // delete horizon
        with(27, &(-2i64).to_be_bytes()),  // producerId
        with(35, &(-2i16).to_be_bytes()),  // producerEpoch
        with(37, &i32::MIN.to_be_bytes()), // baseSequence
        with(41, &(-1i32).to_be_bytes()),  // recordsCount
    ];
    for (index, frame) in rejected.iter().enumerate() {
        assert_eq!(decode_log(frame).batches, vec![], "case {index}");
    }
    assert_eq!(
        decode_log(&with(21, &0x30i16.to_be_bytes())).batches.len(),
        1
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_their_valid_prefix_re_decodes_the_same(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        assert_decoded_prefix_is_canonical(&bytes);
    }

    #[test]
    fn a_well_framed_body_of_arbitrary_bytes_is_rejected_or_decoded_canonically(
        records_count in prop_oneof![0..4i32, any::<i32>()],
        body in prop::collection::vec(
            prop_oneof![3 => 0..4u8, 1 => any::<u8>(), 1 => Just(0x80u8), 1 => Just(0x01u8)],
            0..64,
        ),
    ) {
        let frame = frame_with(records_count, records_count.wrapping_sub(1), &body);
        assert_decoded_prefix_is_canonical(&frame);
    }

    #[test]
    fn any_changed_byte_with_its_crc_made_good_is_rejected_or_decoded_canonically(
        batches in prop::collection::vec(batch(), 1..3),
        position in any::<prop::sample::Index>(),
        mask in 1..=255u8,
        tail in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut bytes = encode_all(&batches);
        let position = position.index(bytes.len());
        let mut frame = 0;
        let mut start = 0;
        while start + frame_bytes(&batches[frame]) <= position {
            start += frame_bytes(&batches[frame]);
            frame += 1;
        }
        let end = start + frame_bytes(&batches[frame]);
        bytes[position] ^= mask;
        if !(start + CRC_START..start + ATTRIBUTES_START).contains(&position) {
            fix_crc(&mut bytes[start..end]);
        }
        bytes.extend(tail);
        let decoded = assert_decoded_prefix_is_canonical(&bytes);
        prop_assert!(decoded.batches.len() >= frame);
        prop_assert_eq!(&decoded.batches[..frame], &batches[..frame]);
    }
}

#[test]
fn batches_survive_serde() {
    for batch in three_batches() {
        let json = serde_json::to_string(&batch).unwrap();
        assert_eq!(serde_json::from_str::<RecordBatch>(&json).unwrap(), batch);
    }
}
