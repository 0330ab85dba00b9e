//! The producer-state snapshot file (Kafka's `<offset>.snapshot`, written by
//! `ProducerStateManager.writeSnapshot`): the state of every producer as of an end offset,
//! so recovery replays only the records after it instead of the whole log.
//!
//! # Layout (big-endian)
//!
//! ```text
//! version                 u16   1
//! crc                     u32   CRC-32C of everything after this field
//! end_offset              u64   the log end offset the state is for
//! producer_count          u32
//!   producer_id           u64
//!   producer_epoch        u16
//!   coordinator_epoch     i32   -1 for none
//!   transaction_first     i64   first offset of the open transaction, -1 for none
//!   batch_count           u8    at most BATCHES_TO_RETAIN
//!     last_sequence       u32
//!     last_offset         u64
//!     offset_delta        u32
//! unreplicated_count      u32   completed transactions whose marker was not committed
//!   first_offset u64 | producer_id u64 | last_offset u64
//! aborted_count           u32   the aborted-transaction index
//!   producer_id u64 | first_offset u64 | last_offset u64 | last_stable_offset u64
//! ```
//!
//! Where it differs from Kafka's: Kafka keeps only each producer's last batch in a snapshot
//! and the aborted index in per-segment `.txnindex` files; here every retained batch, the
//! unreplicated transactions and the index go in the one file, so a state loaded from a
//! snapshot is exactly the state a replay of the whole log gives (docs/DECISIONS.md). There
//! is one snapshot per partition, named without its offset (the storage model cannot list
//! a directory), and the offset is inside.
//!
//! Decoding accepts only what [`encode`] writes; anything else (a bad CRC, a short or long
//! file, an impossible value) is a corrupt snapshot, which recovery ignores. It never panics.

use super::producer_state::{
    AbortedTransaction, BatchMetadata, ProducerStateEntry, ProducerStateManager,
    UnreplicatedTransaction, BATCHES_TO_RETAIN,
};
use crate::ids::{Offset, ProducerEpoch, ProducerId, Sequence};
use std::collections::BTreeMap;

const VERSION: u16 = 1;
/// Bytes before the CRC-covered part: the version and the CRC.
const HEADER_BYTES: usize = 6;

/// A decoded snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerSnapshot {
    pub end_offset: Offset,
    pub producers: BTreeMap<ProducerId, ProducerStateEntry>,
    pub unreplicated_transactions: BTreeMap<Offset, UnreplicatedTransaction>,
    pub aborted_transactions: Vec<AbortedTransaction>,
}

/// The snapshot of `state` at `end_offset`.
pub fn encode(state: &ProducerStateManager, end_offset: Offset) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&end_offset.0.to_be_bytes());
    put_count(&mut body, state.producers().len());
    for (producer_id, entry) in state.producers() {
        body.extend_from_slice(&producer_id.0.to_be_bytes());
        body.extend_from_slice(&entry.producer_epoch.0.to_be_bytes());
        // A coordinator epoch is an int32 and an offset an int64 in Kafka; -1 means none.
        let coordinator_epoch = entry.coordinator_epoch.map_or(-1, |epoch| {
            i32::try_from(epoch).expect("a coordinator epoch is an int32")
        });
        body.extend_from_slice(&coordinator_epoch.to_be_bytes());
        let first = entry.current_transaction_first_offset.map_or(-1, |offset| {
            i64::try_from(offset.0).expect("an offset is an int64")
        });
        body.extend_from_slice(&first.to_be_bytes());
        body.push(entry.batches().len() as u8);
        for batch in entry.batches() {
            body.extend_from_slice(&batch.last_sequence.0.to_be_bytes());
            body.extend_from_slice(&batch.last_offset.0.to_be_bytes());
            body.extend_from_slice(&batch.offset_delta.to_be_bytes());
        }
    }
    put_count(&mut body, state.unreplicated_transactions().len());
    for (first_offset, transaction) in state.unreplicated_transactions() {
        for value in [
            first_offset.0,
            transaction.producer_id.0,
            transaction.last_offset.0,
        ] {
            body.extend_from_slice(&value.to_be_bytes());
        }
    }
    put_count(&mut body, state.all_aborted_transactions().len());
    for aborted in state.all_aborted_transactions() {
        for value in [
            aborted.producer_id.0,
            aborted.first_offset.0,
            aborted.last_offset.0,
            aborted.last_stable_offset.0,
        ] {
            body.extend_from_slice(&value.to_be_bytes());
        }
    }
    let mut file = Vec::with_capacity(HEADER_BYTES + body.len());
    file.extend_from_slice(&VERSION.to_be_bytes());
    file.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    file.extend_from_slice(&body);
    file
}

fn put_count(out: &mut Vec<u8>, count: usize) {
    out.extend_from_slice(
        &u32::try_from(count)
            .expect("fewer than 2^32 entries")
            .to_be_bytes(),
    );
}

/// The snapshot in `bytes`, or `None` if it is not exactly a snapshot [`encode`] wrote.
pub fn decode(bytes: &[u8]) -> Option<ProducerSnapshot> {
    let (header, body) = bytes.split_at_checked(HEADER_BYTES)?;
    let version = u16::from_be_bytes([header[0], header[1]]);
    let crc = u32::from_be_bytes([header[2], header[3], header[4], header[5]]);
    if version != VERSION || crc32c::crc32c(body) != crc {
        return None;
    }
    let mut reader = Reader { bytes: body };
    let end_offset = Offset(reader.u64()?);
    let mut producers = BTreeMap::new();
    for _ in 0..reader.u32()? {
        let producer_id = ProducerId(reader.u64()?);
        let entry = reader.entry(end_offset)?;
        if producers.insert(producer_id, entry).is_some() {
            return None;
        }
    }
    let mut unreplicated_transactions = BTreeMap::new();
    for _ in 0..reader.u32()? {
        let first_offset = Offset(reader.u64()?);
        let transaction = UnreplicatedTransaction {
            producer_id: ProducerId(reader.u64()?),
            last_offset: Offset(reader.u64()?),
        };
        if transaction.last_offset < first_offset || transaction.last_offset >= end_offset {
            return None;
        }
        unreplicated_transactions.insert(first_offset, transaction);
    }
    let mut aborted_transactions: Vec<AbortedTransaction> = Vec::new();
    for _ in 0..reader.u32()? {
        let aborted = AbortedTransaction {
            producer_id: ProducerId(reader.u64()?),
            first_offset: Offset(reader.u64()?),
            last_offset: Offset(reader.u64()?),
            last_stable_offset: Offset(reader.u64()?),
        };
        let ordered = aborted_transactions
            .last()
            .is_none_or(|previous| previous.last_offset < aborted.last_offset);
        if !ordered || aborted.last_offset < aborted.first_offset {
            return None;
        }
        aborted_transactions.push(aborted);
    }
    if !reader.bytes.is_empty() {
        return None;
    }
    Some(ProducerSnapshot {
        end_offset,
        producers,
        unreplicated_transactions,
        aborted_transactions,
    })
}

/// Reads fields off the front of a byte slice; every read fails past its end.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (field, rest) = self.bytes.split_first_chunk::<N>()?;
        self.bytes = rest;
        Some(*field)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take::<1>()?[0])
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take()?))
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take()?))
    }

    /// One producer's entry; its offsets must lie below the snapshot's end offset.
    fn entry(&mut self, end_offset: Offset) -> Option<ProducerStateEntry> {
        let producer_epoch = ProducerEpoch(self.u16()?);
        let coordinator_epoch = match self.i32()? {
            -1 => None,
            epoch => Some(u32::try_from(epoch).ok()?),
        };
        let current_transaction_first_offset = match self.i64()? {
            -1 => None,
            offset => {
                let offset = Offset(u64::try_from(offset).ok()?);
                if offset >= end_offset {
                    return None;
                }
                Some(offset)
            }
        };
        let batch_count = usize::from(self.u8()?);
        if batch_count > BATCHES_TO_RETAIN {
            return None;
        }
        let mut batches: Vec<BatchMetadata> = Vec::with_capacity(batch_count);
        for _ in 0..batch_count {
            let batch = BatchMetadata {
                last_sequence: Sequence(self.u32()?),
                last_offset: Offset(self.u64()?),
                offset_delta: self.u32()?,
            };
            let valid = batch.last_sequence.0 <= i32::MAX as u32
                && u64::from(batch.offset_delta) <= batch.last_offset.0
                && batch.last_offset < end_offset
                && batches
                    .last()
                    .is_none_or(|previous| previous.last_offset < batch.first_offset());
            if !valid {
                return None;
            }
            batches.push(batch);
        }
        Some(ProducerStateEntry::restored(
            producer_epoch,
            batches,
            coordinator_epoch,
            current_transaction_first_offset,
        ))
    }
}
