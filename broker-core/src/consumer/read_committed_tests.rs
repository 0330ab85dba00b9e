//! The consumer with `isolation_level`: read_committed is sent in its ListOffsets and
//! fetches; of a fetched run holding an aborted transaction, a committed one and their
//! markers, read_committed hands over only the committed and plain records, read_uncommitted
//! every data record, and neither a marker; the position moves past all of them.

use super::test_support::*;
use super::*;
use crate::event::Event;
use crate::ids::{LeaderEpoch, ProducerId};
use crate::log::record_batch::{ControlMarker, ControlRecordType};
use crate::mark::Mark;
use crate::protocol::{
    AbortedTransaction, FetchData, FetchRequest, FetchResponse, IsolationLevel, ListOffsetsRequest,
};
use crate::record::{ProducerStamp, Record};

const ABORTING: ProducerId = ProducerId(1);
const COMMITTING: ProducerId = ProducerId(2);

fn transactional(offset: u64, producer: ProducerId, sequence: u32) -> Record {
    Record {
        producer_stamp: Some(ProducerStamp {
            producer_id: producer,
            producer_epoch: 0,
            sequence,
            base_sequence: sequence,
        }),
        is_transactional: true,
        ..Record::application(Offset(offset), LeaderEpoch(0), 100 + offset)
    }
}

fn marker(offset: u64, producer: ProducerId, record_type: ControlRecordType) -> Record {
    Record::control(
        Offset(offset),
        LeaderEpoch(0),
        producer,
        0,
        ControlMarker {
            record_type,
            coordinator_epoch: 0,
        },
    )
}

/// A consumer of p0 at offset 0 with this isolation level; returns it and the isolation
/// levels of the ListOffsets and the fetch it sent.
fn consumer_fetching(isolation_level: IsolationLevel) -> (Consumer, Vec<IsolationLevel>) {
    let config = ConsumerConfig {
        isolation_level,
        ..config()
    };
    let mut consumer = Consumer::new(CLIENT, config, vec![b(1)], vec![P0]);
    let mut effects = consumer.handle(0, Input::Start);
    effects.extend(consumer.handle(1, metadata_response(1, 1, image(1, 1, 0))));
    effects.extend(consumer.handle(2, list_offsets_response(1, 2, 0)));
    let sent = effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Send {
                message:
                    Message::ListOffsets(ListOffsetsRequest {
                        isolation_level, ..
                    }),
                ..
            }
            | Effect::Send {
                message:
                    Message::Fetch(FetchRequest {
                        isolation_level, ..
                    }),
                ..
            } => Some(*isolation_level),
            _ => None,
        })
        .collect();
    (consumer, sent)
}

/// ABORTING's transaction at 0..2 aborted at 3, COMMITTING's record at 2 committed at 4, a
/// plain record at 5; the response lists ABORTING's transaction as aborted.
fn interleaved_response() -> Input {
    let records = vec![
        transactional(0, ABORTING, 0),
        transactional(1, ABORTING, 1),
        transactional(2, COMMITTING, 0),
        marker(3, ABORTING, ControlRecordType::Abort),
        marker(4, COMMITTING, ControlRecordType::Commit),
        Record::application(Offset(5), LeaderEpoch(0), 105),
    ];
    message_from(
        1,
        Message::FetchResponse(FetchResponse {
            correlation: CorrelationId(3),
            partition: P0,
            result: Ok(FetchData {
                preferred_read_replica: None,
                records,
                high_watermark: Offset(6),
                log_start_offset: Offset(0),
                log_end_offset: Offset(6),
                last_stable_offset: Offset(6),
                aborted_transactions: vec![AbortedTransaction {
                    producer_id: ABORTING,
                    first_offset: Offset(0),
                }],
                diverging_epoch: None,
            }),
        }),
    )
}

fn polled_values(effects: &[Effect]) -> Vec<u64> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Event(Event::Polled { records, .. }) => Some(records.clone()),
            _ => None,
        })
        .flatten()
        .map(|(_, value)| value)
        .collect()
}

#[test]
fn read_committed_never_hands_over_aborted_or_control_records_and_moves_past_them() {
    let (mut consumer, sent) = consumer_fetching(IsolationLevel::ReadCommitted);
    assert_eq!(
        sent,
        vec![IsolationLevel::ReadCommitted, IsolationLevel::ReadCommitted]
    );
    let effects = consumer.handle(3, interleaved_response());
    assert_eq!(polled_values(&effects), vec![102, 105]);
    assert!(
        effects.contains(&Effect::Event(Event::AbortedRecordsSkipped {
            partition: P0,
            producer: ABORTING,
            first_offset: Offset(0),
            count: 2,
        }))
    );
    assert!(effects.contains(&Effect::Mark(Mark::AbortedRecordsSkipped)));
    assert_eq!(consumer.position(P0), Some(Offset(6)));
}

#[test]
fn read_uncommitted_hands_over_aborted_records_but_never_control_records() {
    let (mut consumer, sent) = consumer_fetching(IsolationLevel::ReadUncommitted);
    assert_eq!(
        sent,
        vec![
            IsolationLevel::ReadUncommitted,
            IsolationLevel::ReadUncommitted
        ]
    );
    let effects = consumer.handle(3, interleaved_response());
    assert_eq!(polled_values(&effects), vec![100, 101, 102, 105]);
    assert!(!effects.contains(&Effect::Mark(Mark::AbortedRecordsSkipped)));
    assert_eq!(consumer.position(P0), Some(Offset(6)));
}
