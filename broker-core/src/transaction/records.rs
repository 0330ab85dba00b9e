//! The records a transaction coordinator writes to `__transaction_state` (Kafka's
//! `TransactionLogKey`/`TransactionLogValue`): the key is the transactional id behind a key
//! version (0, as Kafka's), the value the whole state of the id's transaction after a
//! transition. The latest record of an id wins on replay; a record without a value is a
//! tombstone (Kafka writes one when an id expires).
//!
//! Invariant: `decode(encode(record)) == record` for every record.

use super::TransactionState;
use crate::ids::{ProducerEpoch, ProducerId, TransactionalId};
use crate::record::{ProducerRecord, Record, RecordBytes};
use crate::topic::TopicPartition;
use serde::{Deserialize, Serialize};

/// Kafka's key version of a transaction log record.
const TRANSACTION_LOG_KEY_VERSION: u8 = 0;

/// A transactional id's state as one transition leaves it (Kafka's `TxnTransitMetadata`,
/// written as a `TransactionLogValue`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionLogValue {
    pub producer_id: ProducerId,
    /// The id before the last rotation (KIP-360), `None` for Kafka's -1.
    pub previous_producer_id: Option<ProducerId>,
    pub producer_epoch: ProducerEpoch,
    /// The epoch before the last bump (KIP-360: a retried InitProducerId or EndTxn is
    /// recognised by it), `None` for Kafka's -1.
    pub last_producer_epoch: Option<ProducerEpoch>,
    pub transaction_timeout_ms: u64,
    pub state: TransactionState,
    /// The partitions of the open transaction (those whose markers are still to be written,
    /// in a Prepare state).
    pub partitions: Vec<TopicPartition>,
    /// When the open transaction started; `None` for Kafka's -1 (no transaction yet).
    pub transaction_start_ms: Option<u64>,
    pub last_update_ms: u64,
    /// The transaction ended under transactions version 2 (KIP-890 part 2): its epoch was
    /// bumped at the end, so a retried EndTxn carries the epoch before the bump.
    pub transaction_version_2: bool,
}

/// One record of the transaction log, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionLogRecord {
    pub transactional_id: TransactionalId,
    /// `None`: the id expired (tombstone).
    pub value: Option<TransactionLogValue>,
}

impl TransactionLogRecord {
    /// The record as the coordinator appends it.
    pub fn encode(&self) -> ProducerRecord {
        let mut key = RecordBytes::new();
        key.push(TRANSACTION_LOG_KEY_VERSION);
        key.extend_from_slice(&json(&self.transactional_id.0));
        ProducerRecord {
            key: Some(key),
            value: self.value.as_ref().map(json),
            headers: Vec::new(),
            producer_stamp: None,
        }
    }

    /// The record a log holds, or `None` for one the coordinator did not write (an unknown
    /// key version or undecodable bytes, which Kafka's loader also skips).
    pub fn decode(record: &Record) -> Option<TransactionLogRecord> {
        let (&version, key) = record.key.as_deref()?.split_first()?;
        if version != TRANSACTION_LOG_KEY_VERSION {
            return None;
        }
        let transactional_id: String = serde_json::from_slice(key).ok()?;
        let value = match record.value.as_deref() {
            None => None,
            Some(bytes) => Some(serde_json::from_slice(bytes).ok()?),
        };
        Some(TransactionLogRecord {
            transactional_id: TransactionalId(transactional_id),
            value,
        })
    }
}

fn json<T: Serialize>(value: &T) -> RecordBytes {
    // Serialising these plain structs cannot fail: no maps with non-string keys, no floats.
    RecordBytes::from_vec(serde_json::to_vec(value).expect("transaction log records serialise"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{LeaderEpoch, Offset, PartitionId};
    use crate::topic::TopicName;

    #[test]
    fn a_transaction_state_and_a_tombstone_read_back() {
        let record = TransactionLogRecord {
            transactional_id: TransactionalId("t".into()),
            value: Some(TransactionLogValue {
                producer_id: ProducerId(1000),
                previous_producer_id: None,
                producer_epoch: ProducerEpoch(3),
                last_producer_epoch: Some(ProducerEpoch(2)),
                transaction_timeout_ms: 60_000,
                state: TransactionState::PrepareCommit,
                partitions: vec![TopicPartition::new(
                    TopicName::from_static("events"),
                    PartitionId(1),
                )],
                transaction_start_ms: Some(5),
                last_update_ms: 9,
                transaction_version_2: true,
            }),
        };
        let stored = Record::stamped(&record.encode(), Offset(0), LeaderEpoch(1));
        assert_eq!(TransactionLogRecord::decode(&stored), Some(record));
        let tombstone = TransactionLogRecord {
            transactional_id: TransactionalId("t".into()),
            value: None,
        };
        let stored = Record::stamped(&tombstone.encode(), Offset(1), LeaderEpoch(1));
        assert_eq!(TransactionLogRecord::decode(&stored), Some(tombstone));
    }

    #[test]
    fn a_workload_record_or_a_group_record_is_skipped() {
        assert_eq!(
            TransactionLogRecord::decode(&Record::application(Offset(0), LeaderEpoch(0), 5)),
            None
        );
        let mut record = Record::application(Offset(0), LeaderEpoch(0), 5);
        record.key = Some(RecordBytes::from_slice(&[1, b'"', b'g', b'"']));
        assert_eq!(TransactionLogRecord::decode(&record), None);
    }
}
