//! The on-disk framing of a partition's log file (`log-p{p}`): one frame per record,
//! `[payload length: u32 LE][CRC-32 of the payload: u32 LE][payload]`, the payload being the
//! record's fields in little-endian binary (see [`encode_payload`]). Kafka's record batches carry a length and a CRC for the same reason: log
//! recovery must find where the valid prefix of a file ends after a crash or a power loss
//! tore the last write (`LogSegment.recover`). Decoding stops at the first frame that is
//! incomplete, fails its checksum or does not parse; everything before it is trusted.

use crate::ids::{LeaderEpoch, Offset, ProducerId};
use crate::record::{ProducerStamp, Record};

/// Bytes of a frame header: the payload length and the checksum.
pub const FRAME_HEADER_BYTES: usize = 8;

/// A payload longer than this is taken for corruption rather than allocated. Records here are
/// at most 47 bytes.
pub const FRAME_PAYLOAD_BYTES_MAX: usize = 1 << 20;

/// CRC-32 (IEEE 802.3, the polynomial of `java.util.zip.CRC32`), one table look-up per
/// byte: every append and every recovery checksums every frame.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc = CRC32_TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// The reflected CRC-32 table, built at compile time.
const CRC32_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut index = 0;
    while index < 256 {
        let mut crc = index as u32;
        let mut bit = 0;
        while bit < 8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
            bit += 1;
        }
        table[index] = crc;
        index += 1;
    }
    table
};

/// One record as a frame.
pub fn encode_record(record: &Record) -> Vec<u8> {
    let payload = encode_payload(record);
    assert!(
        payload.len() <= FRAME_PAYLOAD_BYTES_MAX,
        "record payload of {} bytes exceeds the frame limit {FRAME_PAYLOAD_BYTES_MAX}",
        payload.len()
    );
    let length = u32::try_from(payload.len()).expect("bounded by FRAME_PAYLOAD_BYTES_MAX");
    let mut frame = Vec::with_capacity(FRAME_HEADER_BYTES + payload.len());
    frame.extend_from_slice(&length.to_le_bytes());
    frame.extend_from_slice(&crc32(&payload).to_le_bytes());
    frame.extend_from_slice(&payload);
    frame
}

/// The valid prefix of a log file.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DecodedLog {
    pub records: Vec<Record>,
    /// The byte position where each record's frame starts, parallel to `records`.
    pub frame_starts_bytes: Vec<u64>,
    /// The length of the valid prefix: everything after it is a torn or corrupt tail.
    pub valid_length_bytes: u64,
    /// How many frames (whole or torn) the invalid tail seems to hold; 0 when the file is
    /// entirely valid. Only an estimate for the trace: a corrupt length field ends the count.
    pub dropped_frames: u64,
}

/// Decodes frames from the start of `bytes` until the first invalid one.
pub fn decode_log(bytes: &[u8]) -> DecodedLog {
    let mut decoded = DecodedLog::default();
    let mut position = 0usize;
    while let Some((record, frame_length)) = decode_frame(&bytes[position..]) {
        decoded.records.push(record);
        decoded.frame_starts_bytes.push(position as u64);
        position += frame_length;
    }
    decoded.valid_length_bytes = position as u64;
    decoded.dropped_frames = count_tail_frames(&bytes[position..]);
    decoded
}

/// The record of the frame at the start of `bytes` and the frame's length, if that frame is
/// complete, passes its checksum and parses.
fn decode_frame(bytes: &[u8]) -> Option<(Record, usize)> {
    let header = bytes.get(..FRAME_HEADER_BYTES)?;
    let length = u32::from_le_bytes(header[0..4].try_into().ok()?) as usize;
    let checksum = u32::from_le_bytes(header[4..8].try_into().ok()?);
    if length > FRAME_PAYLOAD_BYTES_MAX {
        return None;
    }
    let payload = bytes.get(FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + length)?;
    if crc32(payload) != checksum {
        return None;
    }
    let record = decode_payload(payload)?;
    Some((record, FRAME_HEADER_BYTES + length))
}

/// A record's fields, little-endian: offset u64, leader epoch u32, value u64, then a key
/// (flag byte, u64 if present) and a producer stamp (flag byte, then producer id u64,
/// producer epoch u16, sequence u32 if present). Binary rather than JSON because every append
/// encodes one frame and every recovery decodes the whole file: the encoding was the largest
/// single cost of a simulated run.
pub fn encode_payload(record: &Record) -> Vec<u8> {
    let mut payload = Vec::with_capacity(47);
    payload.extend_from_slice(&record.offset.0.to_le_bytes());
    payload.extend_from_slice(&record.leader_epoch.0.to_le_bytes());
    payload.extend_from_slice(&record.value.to_le_bytes());
    match record.key {
        Some(key) => {
            payload.push(1);
            payload.extend_from_slice(&key.to_le_bytes());
        }
        None => payload.push(0),
    }
    match record.producer_stamp {
        Some(stamp) => {
            payload.push(1);
            payload.extend_from_slice(&stamp.producer_id.0.to_le_bytes());
            payload.extend_from_slice(&stamp.producer_epoch.to_le_bytes());
            payload.extend_from_slice(&stamp.sequence.to_le_bytes());
        }
        None => payload.push(0),
    }
    payload
}

/// The record in a payload, or `None` if the payload is not exactly one well-formed record.
pub fn decode_payload(payload: &[u8]) -> Option<Record> {
    let mut reader = PayloadReader { bytes: payload };
    let offset = Offset(u64::from_le_bytes(reader.take()?));
    let leader_epoch = LeaderEpoch(u32::from_le_bytes(reader.take()?));
    let value = u64::from_le_bytes(reader.take()?);
    let key = match reader.take::<1>()?[0] {
        0 => None,
        1 => Some(u64::from_le_bytes(reader.take()?)),
        _ => return None,
    };
    let producer_stamp = match reader.take::<1>()?[0] {
        0 => None,
        1 => Some(ProducerStamp {
            producer_id: ProducerId(u64::from_le_bytes(reader.take()?)),
            producer_epoch: u16::from_le_bytes(reader.take()?),
            sequence: u32::from_le_bytes(reader.take()?),
        }),
        _ => return None,
    };
    reader.bytes.is_empty().then_some(Record {
        offset,
        leader_epoch,
        value,
        key,
        producer_stamp,
    })
}

/// Reads fixed-size fields off the front of a payload.
struct PayloadReader<'a> {
    bytes: &'a [u8],
}

impl PayloadReader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (field, rest) = self.bytes.split_first_chunk::<N>()?;
        self.bytes = rest;
        Some(*field)
    }
}

/// Counts the frames an invalid tail spans by following its length fields.
fn count_tail_frames(tail: &[u8]) -> u64 {
    let mut frames = 0u64;
    let mut position = 0usize;
    while position < tail.len() {
        frames += 1;
        let Some(header) = tail.get(position..position + FRAME_HEADER_BYTES) else {
            break;
        };
        let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if length > FRAME_PAYLOAD_BYTES_MAX {
            break;
        }
        position += FRAME_HEADER_BYTES + length;
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_survives_the_binary_payload() {
        let record = Record {
            offset: Offset(u64::MAX - 1),
            leader_epoch: LeaderEpoch(7),
            value: 42,
            key: Some(9),
            producer_stamp: Some(ProducerStamp {
                producer_id: ProducerId(3),
                producer_epoch: 2,
                sequence: 11,
            }),
        };
        assert_eq!(
            decode_payload(&encode_payload(&record)),
            Some(record.clone())
        );
        let mut longer = encode_payload(&record);
        longer.push(0);
        assert_eq!(
            decode_payload(&longer),
            None,
            "trailing bytes are corruption"
        );
        let mut bad_flag = encode_payload(&record);
        bad_flag[20] = 7;
        assert_eq!(decode_payload(&bad_flag), None, "a flag byte is 0 or 1");
    }

    fn record(offset: u64) -> Record {
        Record {
            offset: Offset(offset),
            leader_epoch: LeaderEpoch(1),
            value: 100 + offset,
            key: None,
            producer_stamp: None,
        }
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn every_byte_prefix_decodes_to_a_prefix_of_the_records() {
        let mut bytes = Vec::new();
        for offset in 0..3 {
            bytes.extend(encode_record(&record(offset)));
        }
        for cut in 0..=bytes.len() {
            let decoded = decode_log(&bytes[..cut]);
            let expected: Vec<Record> = (0..decoded.records.len() as u64).map(record).collect();
            assert_eq!(decoded.records, expected, "cut at {cut}");
            assert!(decoded.valid_length_bytes <= cut as u64);
            assert_eq!(
                decoded.dropped_frames == 0,
                decoded.valid_length_bytes == cut as u64
            );
        }
    }

    #[test]
    fn a_flipped_byte_ends_the_valid_prefix() {
        let mut bytes = encode_record(&record(0));
        let second_start = bytes.len();
        bytes.extend(encode_record(&record(1)));
        bytes[second_start + FRAME_HEADER_BYTES + 2] ^= 0x55;
        let decoded = decode_log(&bytes);
        assert_eq!(decoded.records, vec![record(0)]);
        assert_eq!(decoded.valid_length_bytes, second_start as u64);
        assert_eq!(decoded.dropped_frames, 1);
    }
}
