//! The one-line text form of the group coordinator's transactional offset events
//! (KIP-447): a TxnOffsetCommit answered, and a marker committing or aborting a producer's
//! pending offsets.

use std::fmt::Write;
use watermark_broker_core::event::Event;

/// Writes `event` after the time and node; returns false for an event that is not about
/// transactional offsets.
pub(crate) fn describe_txn_offset_event(out: &mut String, event: &Event) -> bool {
    let _ = match event {
        Event::TxnOffsetCommitAnswered {
            group,
            member,
            producer,
            producer_epoch,
            request_generation,
            group_generation,
            offsets,
            result,
            ..
        } => {
            let _ = write!(
                out,
                "txn offset commit {group} {member} {producer} {producer_epoch} \
                 gen {request_generation}/{group_generation} ["
            );
            for (index, (partition, offset)) in offsets.iter().enumerate() {
                if index > 0 {
                    out.push(' ');
                }
                let _ = write!(out, "{partition}@{offset}");
            }
            match result {
                Ok(()) => write!(out, "] pending"),
                Err(error) => write!(out, "] {error}"),
            }
        }
        Event::TxnOffsetsCommittedByMarker {
            partition,
            producer,
            offsets,
        } => {
            let _ = write!(out, "{partition} txn offsets of {producer} committed [");
            for (index, (group, committed, offset, materialised)) in offsets.iter().enumerate() {
                if index > 0 {
                    out.push(' ');
                }
                let kept = if *materialised {
                    ""
                } else {
                    " (later commit kept)"
                };
                let _ = write!(out, "{group} {committed}@{offset}{kept}");
            }
            write!(out, "]")
        }
        Event::TxnOffsetsAbortedByMarker {
            partition,
            producer,
            offsets,
        } => {
            let _ = write!(out, "{partition} txn offsets of {producer} aborted [");
            for (index, (group, aborted, offset)) in offsets.iter().enumerate() {
                if index > 0 {
                    out.push(' ');
                }
                let _ = write!(out, "{group} {aborted}@{offset}");
            }
            write!(out, "]")
        }
        _ => return false,
    };
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use watermark_broker_core::ids::{GroupId, Offset, PartitionId, ProducerId};
    use watermark_broker_core::topic::{TopicName, TopicPartition};

    #[test]
    fn a_marker_committing_pending_offsets_reads_as_one_line() {
        let offsets_partition =
            TopicPartition::new(TopicName::from_static("__consumer_offsets"), PartitionId(3));
        let input = TopicPartition::new(TopicName::from_static("in"), PartitionId(0));
        let mut line = String::new();
        assert!(describe_txn_offset_event(
            &mut line,
            &Event::TxnOffsetsCommittedByMarker {
                partition: offsets_partition,
                producer: ProducerId(1000),
                offsets: vec![(GroupId("g".into()), input, Offset(5), false)],
            }
        ));
        assert_eq!(
            line,
            "__consumer_offsets-3 txn offsets of pid1000 committed [g in-0@5 (later commit kept)]"
        );
    }
}
