//! What a consumer hands over from a fetched run of records (Kafka's `CompletedFetch`):
//! never a control record (a transaction marker), and with `read_committed` never a record
//! of an aborted transaction. The fetch response lists the aborted transactions overlapping
//! its records; walking the records in offset order, a producer's transactional records are
//! dropped from the first offset of one of its aborted transactions until its ABORT marker.
//! The consumer's position still moves past every dropped record.
//!
//! Invariant: a producer is in the aborted set only between the first offset of one of its
//! listed aborted transactions and the next ABORT marker of that producer.

use crate::ids::{Offset, ProducerId};
use crate::log::record_batch::ControlRecordType;
use crate::protocol::{AbortedTransaction, IsolationLevel};
use crate::record::Record;
use std::collections::{BTreeMap, BTreeSet};

/// What becomes of one fetched record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The application gets it.
    Hand,
    /// A transaction marker: it takes an offset, nobody sees it.
    Control,
    /// A record of this producer's aborted transaction (read_committed only).
    Aborted(ProducerId),
}

/// The filter over one fetch response's records.
#[derive(Clone, Debug)]
pub(super) struct RecordFilter {
    read_committed: bool,
    /// Aborted transactions not yet reached, by first offset (Kafka's priority queue).
    upcoming: BTreeMap<Offset, Vec<ProducerId>>,
    /// Producers inside an aborted transaction at the current record.
    aborted_producers: BTreeSet<ProducerId>,
}

impl RecordFilter {
    pub(super) fn new(isolation_level: IsolationLevel, aborted: &[AbortedTransaction]) -> Self {
        let read_committed = isolation_level == IsolationLevel::ReadCommitted;
        let mut upcoming: BTreeMap<Offset, Vec<ProducerId>> = BTreeMap::new();
        if read_committed {
            for transaction in aborted {
                upcoming
                    .entry(transaction.first_offset)
                    .or_default()
                    .push(transaction.producer_id);
            }
        }
        RecordFilter {
            read_committed,
            upcoming,
            aborted_producers: BTreeSet::new(),
        }
    }

    /// The verdict on the next record, in offset order.
    pub(super) fn verdict(&mut self, record: &Record) -> Verdict {
        let producer = record.producer_stamp.map(|stamp| stamp.producer_id);
        if self.read_committed {
            if let Some(producer) = producer {
                self.consume_aborted_up_to(record.offset);
                if record.is_control {
                    // An ABORT marker ends the producer's aborted transaction.
                    let is_abort = record
                        .control_marker()
                        .is_some_and(|marker| marker.record_type == ControlRecordType::Abort);
                    if is_abort {
                        self.aborted_producers.remove(&producer);
                    }
                } else if record.is_transactional && self.aborted_producers.contains(&producer) {
                    return Verdict::Aborted(producer);
                }
            }
        }
        if record.is_control {
            Verdict::Control
        } else {
            Verdict::Hand
        }
    }

    /// Kafka's `consumeAbortedTransactionsUpTo`: every aborted transaction that starts at or
    /// before `offset` puts its producer in the aborted set.
    fn consume_aborted_up_to(&mut self, offset: Offset) {
        while let Some(entry) = self.upcoming.first_entry() {
            if *entry.key() > offset {
                break;
            }
            self.aborted_producers.extend(entry.remove());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::LeaderEpoch;
    use crate::log::record_batch::ControlMarker;
    use crate::record::ProducerStamp;

    const A: ProducerId = ProducerId(1);
    const B: ProducerId = ProducerId(2);

    fn data(offset: u64, producer: ProducerId, sequence: u32) -> Record {
        Record {
            producer_stamp: Some(ProducerStamp {
                producer_id: producer,
                producer_epoch: 0,
                sequence,
                base_sequence: sequence,
            }),
            is_transactional: true,
            ..Record::application(Offset(offset), LeaderEpoch(1), offset)
        }
    }

    fn marker(offset: u64, producer: ProducerId, record_type: ControlRecordType) -> Record {
        Record::control(
            Offset(offset),
            LeaderEpoch(1),
            producer,
            0,
            ControlMarker {
                record_type,
                coordinator_epoch: 0,
            },
        )
    }

    /// A aborts its transaction at 0..2 (marker 3) while B commits 2 (marker 4); A's next
    /// transaction at 5 is not aborted; a plain record at 6.
    fn interleaved() -> Vec<Record> {
        vec![
            data(0, A, 0),
            data(1, A, 1),
            data(2, B, 0),
            marker(3, A, ControlRecordType::Abort),
            marker(4, B, ControlRecordType::Commit),
            data(5, A, 2),
            Record::application(Offset(6), LeaderEpoch(1), 6),
        ]
    }

    fn verdicts(isolation_level: IsolationLevel, aborted: &[AbortedTransaction]) -> Vec<Verdict> {
        let mut filter = RecordFilter::new(isolation_level, aborted);
        interleaved()
            .iter()
            .map(|record| filter.verdict(record))
            .collect()
    }

    const ABORTED_A: AbortedTransaction = AbortedTransaction {
        producer_id: A,
        first_offset: Offset(0),
    };

    #[test]
    fn read_committed_drops_an_aborted_transaction_up_to_its_marker_and_every_control_record() {
        assert_eq!(
            verdicts(IsolationLevel::ReadCommitted, &[ABORTED_A]),
            vec![
                Verdict::Aborted(A),
                Verdict::Aborted(A),
                Verdict::Hand,
                Verdict::Control,
                Verdict::Control,
                Verdict::Hand,
                Verdict::Hand,
            ]
        );
    }

    #[test]
    fn read_uncommitted_hands_over_aborted_records_but_never_control_records() {
        assert_eq!(
            verdicts(IsolationLevel::ReadUncommitted, &[ABORTED_A]),
            vec![
                Verdict::Hand,
                Verdict::Hand,
                Verdict::Hand,
                Verdict::Control,
                Verdict::Control,
                Verdict::Hand,
                Verdict::Hand,
            ]
        );
    }

    #[test]
    fn read_committed_without_an_aborted_list_hands_over_every_data_record() {
        let handed = verdicts(IsolationLevel::ReadCommitted, &[])
            .into_iter()
            .filter(|verdict| *verdict == Verdict::Hand)
            .count();
        assert_eq!(handed, 5);
    }
}
