//! A record as a producer sends it and as a partition's log holds it: Kafka's key, value and
//! headers, all bytes. A workload's records carry a unique `u64` as their value (8
//! big-endian bytes, and the key likewise), which is what lets the checkers recognise a
//! record wherever it turns up; internal topics will store keyed, encoded values.

use crate::ids::{LeaderEpoch, Offset, ProducerId};
use crate::log::record_batch::{
    control_marker_of, control_record_key_value, ControlMarker, Header,
};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

/// A record's key or value. Up to 16 bytes sit inside the record (a workload's 8-byte
/// values and keys always do), so copying a record for a fetch response or a follower's log
/// costs no allocation and no shared count; longer ones go to the heap.
pub type RecordBytes = SmallVec<[u8; 16]>;

/// The identity of a record from an idempotent producer: its producer id, epoch and the
/// per-partition sequence number of the record, and the sequence of the first record of its
/// batch (Kafka's batch `baseSequence`). The base sequence is how a batch's bounds survive
/// being copied record by record (a follower's fetch, recovery): the partition's producer
/// state keeps the sequence range of each of a producer's last batches, and a retried batch
/// is a duplicate only if its range matches one exactly (`log/producer_state.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProducerStamp {
    pub producer_id: ProducerId,
    pub producer_epoch: u16,
    pub sequence: u32,
    /// The sequence of the batch's first record; equal to `sequence` for that record.
    pub base_sequence: u32,
}

impl ProducerStamp {
    /// The sequence and base sequence of a control record's stamp: a control batch carries
    /// its producer's id and epoch but no sequence (Kafka's `NO_SEQUENCE`, -1), and this value
    /// is above every real sequence (at most `i32::MAX`), so it is never taken for one.
    pub const NO_SEQUENCE: u32 = u32::MAX;

    /// The stamp of a control record of `producer_id` in `producer_epoch`.
    pub fn control(producer_id: ProducerId, producer_epoch: u16) -> ProducerStamp {
        ProducerStamp {
            producer_id,
            producer_epoch,
            sequence: Self::NO_SEQUENCE,
            base_sequence: Self::NO_SEQUENCE,
        }
    }

    /// Whether this is a control record's stamp (no sequence).
    pub fn is_control(&self) -> bool {
        self.base_sequence == Self::NO_SEQUENCE
    }
}

/// What a producer sends: the record before the leader gives it an offset and epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerRecord {
    /// The key the partitioner hashed, if any.
    pub key: Option<RecordBytes>,
    pub value: Option<RecordBytes>,
    pub headers: Vec<Header>,
    /// Set only by an idempotent producer.
    pub producer_stamp: Option<ProducerStamp>,
}

impl ProducerRecord {
    /// A workload's record: its unique value and its key, each as 8 big-endian bytes.
    pub fn application(value: u64, key: Option<u64>) -> ProducerRecord {
        ProducerRecord {
            key: key.map(application_bytes),
            value: Some(application_bytes(value)),
            headers: Vec::new(),
            producer_stamp: None,
        }
    }

    /// The workload's value, if the value is one (exactly 8 bytes).
    pub fn application_value(&self) -> Option<u64> {
        application_u64(self.value.as_deref())
    }
}

/// A record in a log: a producer record stamped by the leader that appended it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub offset: Offset,
    /// The leader epoch of the leader that first appended this record.
    pub leader_epoch: LeaderEpoch,
    pub key: Option<RecordBytes>,
    pub value: Option<RecordBytes>,
    pub headers: Vec<Header>,
    pub producer_stamp: Option<ProducerStamp>,
    /// The attributes of the batch the record was written in (Kafka keeps them per batch;
    /// the log keeps them per record, and writes records that share them as one batch).
    pub is_transactional: bool,
    /// A control record (a transaction's COMMIT or ABORT marker): it takes an offset, and
    /// consumers never see it.
    pub is_control: bool,
}

/// The value the checkers and the trace see for a record that holds no workload value: a
/// transaction marker, or a coordinator's record on an internal topic.
pub const NOT_A_WORKLOAD_VALUE: u64 = u64::MAX;

impl Record {
    /// A producer record at `offset`, appended in `leader_epoch`.
    pub fn stamped(record: &ProducerRecord, offset: Offset, leader_epoch: LeaderEpoch) -> Record {
        Record {
            offset,
            leader_epoch,
            key: record.key.clone(),
            value: record.value.clone(),
            headers: record.headers.clone(),
            producer_stamp: record.producer_stamp,
            is_transactional: false,
            is_control: false,
        }
    }

    /// A transaction marker at `offset` (Kafka's control batch of one `EndTransactionMarker`
    /// record): transactional and control, stamped with the producer's id and epoch and no
    /// sequence, its key and value as `record_batch::control_record_key_value` writes them.
    pub fn control(
        offset: Offset,
        leader_epoch: LeaderEpoch,
        producer_id: ProducerId,
        producer_epoch: u16,
        marker: ControlMarker,
    ) -> Record {
        let (key, value) = control_record_key_value(marker.record_type, marker.coordinator_epoch);
        Record {
            offset,
            leader_epoch,
            key: Some(RecordBytes::from_slice(&key)),
            value: Some(RecordBytes::from_slice(&value)),
            headers: Vec::new(),
            producer_stamp: Some(ProducerStamp::control(producer_id, producer_epoch)),
            is_transactional: true,
            is_control: true,
        }
    }

    /// The marker a control record holds; `None` for any other record.
    pub fn control_marker(&self) -> Option<ControlMarker> {
        if !self.is_control {
            return None;
        }
        control_marker_of(self.key.as_deref()?, self.value.as_deref()?)
    }

    /// A workload's record at `offset` (tests and tools).
    pub fn application(offset: Offset, leader_epoch: LeaderEpoch, value: u64) -> Record {
        Record::stamped(
            &ProducerRecord::application(value, None),
            offset,
            leader_epoch,
        )
    }

    /// The workload's value, if the value is one (exactly 8 bytes).
    pub fn application_value(&self) -> Option<u64> {
        application_u64(self.value.as_deref())
    }

    /// The workload's value as the checkers and the trace identify a record. Every record
    /// Watermark writes today is a workload's; a value that is not one (an internal topic's,
    /// later) reads as `u64::MAX`, which no workload sends.
    pub fn value_id(&self) -> u64 {
        self.application_value().unwrap_or(NOT_A_WORKLOAD_VALUE)
    }

    /// The workload's key, if the key is one (exactly 8 bytes).
    pub fn application_key(&self) -> Option<u64> {
        application_u64(self.key.as_deref())
    }
}

/// A workload's value or key as bytes.
pub fn application_bytes(value: u64) -> RecordBytes {
    RecordBytes::from_slice(&value.to_be_bytes())
}

fn application_u64(bytes: Option<&[u8]>) -> Option<u64> {
    Some(u64::from_be_bytes(bytes?.try_into().ok()?))
}
