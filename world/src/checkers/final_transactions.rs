//! What transactions left in a final log (`FinalState`): which offsets are control records
//! (transaction markers), which records belong to an aborted transaction, and which to a
//! transaction still open at the end (no end marker below the high watermark).
//!
//! The rule is the one a `read_committed` consumer applies (`consumer/read_committed.rs`,
//! after Kafka's `CompletedFetch`, which reads the aborted index the partition keeps from the
//! same markers): walking the committed records in offset order, a producer's transactional
//! records belong to its current transaction until that producer's next control record,
//! whose type (COMMIT or ABORT) decides them all. Markers are matched by producer id, as
//! Kafka's aborted index is. A transaction with no marker below the high watermark is open:
//! its records sit at or above the last stable offset, so no `read_committed` reader sees
//! them yet. Records without a producer stamp or not transactional are never aborted.
//!
//! Invariant: the three sets are disjoint and hold only offsets of the records given.

use crate::scenario::Scenario;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::{ClientId, Offset, ProducerId};
use watermark_broker_core::log::record_batch::ControlRecordType;
use watermark_broker_core::protocol::IsolationLevel;
use watermark_broker_core::record::Record;

/// One partition's transactional reading of its final log.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FinalTransactions {
    /// Offsets of control records (COMMIT and ABORT markers): they take an offset and no
    /// consumer is ever handed them.
    pub control_offsets: BTreeSet<Offset>,
    /// Offsets of data records of aborted transactions: in the log, visible to
    /// `read_uncommitted` readers, invisible to `read_committed` ones.
    pub aborted_offsets: BTreeSet<Offset>,
    /// Offsets of data records of transactions with no end marker in the final log.
    pub open_offsets: BTreeSet<Offset>,
}

impl FinalTransactions {
    /// Reads `records` (a committed log, in offset order).
    pub fn from_records(records: &[Record]) -> FinalTransactions {
        let mut found = FinalTransactions::default();
        let mut current: BTreeMap<ProducerId, Vec<Offset>> = BTreeMap::new();
        for record in records {
            let Some(stamp) = record.producer_stamp else {
                continue;
            };
            if record.is_control {
                found.control_offsets.insert(record.offset);
                let ended = current.remove(&stamp.producer_id).unwrap_or_default();
                let aborted = record
                    .control_marker()
                    .is_some_and(|marker| marker.record_type == ControlRecordType::Abort);
                if aborted {
                    found.aborted_offsets.extend(ended);
                }
            } else if record.is_transactional {
                current
                    .entry(stamp.producer_id)
                    .or_default()
                    .push(record.offset);
            }
        }
        found.open_offsets = current.into_values().flatten().collect();
        found
    }

    /// Whether the data record at `offset` is visible to a `read_committed` reader of the
    /// final log: neither aborted nor in a transaction still open.
    pub fn is_committed_visible(&self, offset: Offset) -> bool {
        !self.aborted_offsets.contains(&offset) && !self.open_offsets.contains(&offset)
    }
}

/// The data records of a committed log as (offset, value), control records left out: the
/// final log `FinalState::logs` holds.
pub fn data_records(records: &[Record]) -> Vec<(Offset, u64)> {
    records
        .iter()
        .filter(|record| !record.is_control)
        .map(|record| (record.offset, record.value_id()))
        .collect()
}

/// The consumers of `scenario` configured with `isolation_level = read_committed`, by the
/// client id their polls carry (consumer `i` is client `i`).
pub fn read_committed_consumers(scenario: &Scenario) -> BTreeSet<ClientId> {
    (0..scenario.consumers.len())
        .filter(|index| {
            scenario.consumers[*index].config.isolation_level == IsolationLevel::ReadCommitted
        })
        .map(|index| ClientId(index as u32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use watermark_broker_core::ids::LeaderEpoch;
    use watermark_broker_core::log::record_batch::ControlMarker;
    use watermark_broker_core::record::{ProducerRecord, ProducerStamp};

    fn data(offset: u64, producer: u64, transactional: bool) -> Record {
        let mut record = ProducerRecord::application(offset + 100, None);
        record.producer_stamp = Some(ProducerStamp {
            producer_id: ProducerId(producer),
            producer_epoch: 0,
            sequence: offset as u32,
            base_sequence: offset as u32,
        });
        let mut stamped = Record::stamped(&record, Offset(offset), LeaderEpoch(1));
        stamped.is_transactional = transactional;
        stamped
    }

    fn marker(offset: u64, producer: u64, record_type: ControlRecordType) -> Record {
        Record::control(
            Offset(offset),
            LeaderEpoch(1),
            ProducerId(producer),
            0,
            ControlMarker {
                record_type,
                coordinator_epoch: 0,
            },
        )
    }

    fn offsets(values: &[u64]) -> BTreeSet<Offset> {
        values.iter().copied().map(Offset).collect()
    }

    #[test]
    fn interleaved_transactions_are_decided_by_their_own_producers_markers() {
        let records = vec![
            data(0, 1, true),
            data(1, 2, true),
            data(2, 7, false),
            data(3, 1, true),
            marker(4, 1, ControlRecordType::Abort),
            data(5, 2, true),
            marker(6, 2, ControlRecordType::Commit),
            data(7, 1, true),
        ];
        let found = FinalTransactions::from_records(&records);
        assert_eq!(found.control_offsets, offsets(&[4, 6]));
        assert_eq!(found.aborted_offsets, offsets(&[0, 3]));
        assert_eq!(found.open_offsets, offsets(&[7]));
        assert!(found.is_committed_visible(Offset(1)));
        assert!(found.is_committed_visible(Offset(2)));
        assert!(!found.is_committed_visible(Offset(3)));
        assert!(!found.is_committed_visible(Offset(7)));
    }

    #[test]
    fn the_final_log_leaves_control_records_out_and_keeps_aborted_ones() {
        let records = vec![
            data(0, 1, true),
            marker(1, 1, ControlRecordType::Abort),
            data(2, 3, false),
        ];
        assert_eq!(
            data_records(&records),
            vec![(Offset(0), 100), (Offset(2), 102)]
        );
    }

    #[test]
    fn a_log_without_transactions_has_nothing_to_say() {
        let records = vec![data(0, 1, false), data(1, 1, false)];
        assert_eq!(
            FinalTransactions::from_records(&records),
            FinalTransactions::default()
        );
    }
}
