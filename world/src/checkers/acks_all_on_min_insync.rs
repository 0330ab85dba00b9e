//! `AcksAllOnMinInsync`, Kafka's documented promise for `acks=all` (producer configuration
//! `acks` and topic configuration `min.insync.replicas`; KAFKA-15583 for the effective value):
//! when a leader answers an `acks=all` produce successfully, every record of the batch is
//! held by at least min(`min.insync.replicas`, replication factor) replicas at that moment.
//!
//! "Held" means appended by the replica (as leader or follower) and not cut since by the
//! protocol (a truncation to a divergence point, or to the high watermark). What a power
//! loss or a torn write takes away is the environment's doing, not the leader's: the promise
//! is about what the leader knew when it answered, so such records still count until the
//! replica writes something else at their offsets. The converse holds too: a power loss can
//! undo a cut that was never synced (Kafka truncates a segment without an fsync), and the
//! records recovery finds are held again, as the log a restarted replica serves and may lead
//! with says. Each replica's held records are kept as
//! summaries, updated per append and per cut; checking an answer costs the batch's records
//! times the replicas. One violation per (partition, batch), at the first offset held too
//! thinly; values are `[value]`.

use super::{broker_set, ClusterView};
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::event::{Event, RecordSummary, TruncationReason};
use watermark_broker_core::ids::{BrokerId, NodeId, Offset};
use watermark_broker_core::protocol::Acks;
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::AcksAllOnMinInsync;

#[derive(Debug, Default)]
pub(crate) struct AcksAllOnMinInsync {
    /// Per (partition, replica): the records it holds as far as the protocol is concerned,
    /// in offset order.
    held: BTreeMap<(TopicPartition, BrokerId), Vec<RecordSummary>>,
    reported: BTreeSet<(TopicPartition, Offset)>,
}

impl AcksAllOnMinInsync {
    pub fn observe(
        &mut self,
        time_ms: u64,
        node: NodeId,
        event: &Event,
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        let NodeId::Broker(broker) = node else { return };
        match event {
            Event::RecordsAppended {
                partition, records, ..
            } => {
                let Some(first) = records.first() else { return };
                let held = self.held.entry((*partition, broker)).or_default();
                // Writing at an offset it already held replaces what was there (records a
                // power loss took and the protocol never cut).
                cut(held, first.offset);
                held.extend_from_slice(records);
            }
            Event::LogTruncated {
                partition,
                to_offset,
                reason,
                ..
            } if *reason != TruncationReason::Recovery => {
                if let Some(held) = self.held.get_mut(&(*partition, broker)) {
                    cut(held, *to_offset);
                }
            }
            Event::LogRecovered {
                partition,
                log_end_offset,
                records,
                ..
            } => {
                let held = self.held.entry((*partition, broker)).or_default();
                restore(held, records, *log_end_offset);
            }
            // A follower that fell below its leader's log start offset holds nothing now.
            Event::LogTruncatedFully { partition, .. } => {
                self.held.remove(&(*partition, broker));
            }
            Event::ProduceAnswered {
                partition,
                acks: Acks::All,
                base_offset: Some(base),
                last_offset: Some(last),
                result: Ok(()),
            } => {
                let required = cluster.min_insync_replicas(*partition).unwrap_or(1);
                self.check_answer(time_ms, broker, *partition, (*base, *last), required, out);
            }
            _ => {}
        }
    }

    fn check_answer(
        &mut self,
        time_ms: u64,
        leader: BrokerId,
        partition: TopicPartition,
        (base, last): (Offset, Offset),
        required: usize,
        out: &mut Vec<Violation>,
    ) {
        let leader_held = self
            .held
            .get(&(partition, leader))
            .map_or(&[][..], Vec::as_slice);
        let short = (base.0..=last.0).map(Offset).find_map(|offset| {
            let Some(expected) = record_at(leader_held, offset) else {
                return Some((offset, None, Vec::new()));
            };
            let holders = self.holders(partition, expected);
            (holders.len() < required).then_some((offset, Some(expected.value), holders))
        });
        let Some((offset, value, holders)) = short else {
            return;
        };
        if !self.reported.insert((partition, base)) {
            return;
        }
        let what = match value {
            Some(value) => format!("value {value}"),
            None => "the record (not even the leader holds it)".to_string(),
        };
        out.push(Violation {
            checker: NAME,
            partition: Some(partition),
            offsets: vec![offset],
            values: value.into_iter().collect(),
            time_ms,
            description: format!(
                "leader {leader} acknowledged the acks=all batch at offsets {base}..={last} of \
                 {partition}, but {what} at offset {offset} was held only by {} ({} replicas, \
                 min.insync.replicas {required})",
                broker_set(&holders),
                holders.len()
            ),
        });
    }

    /// The replicas holding `expected` (same offset, leader epoch and value).
    fn holders(&self, partition: TopicPartition, expected: &RecordSummary) -> Vec<BrokerId> {
        let replicas = (partition, BrokerId(u32::MIN))..=(partition, BrokerId(u32::MAX));
        self.held
            .range(replicas)
            .filter(|(_, held)| record_at(held, expected.offset) == Some(expected))
            .map(|((_, broker), _)| *broker)
            .collect()
    }
}

/// Drops every held record at or above `offset`.
fn cut(held: &mut Vec<RecordSummary>, offset: Offset) {
    let keep = held.partition_point(|record| record.offset < offset);
    held.truncate(keep);
}

/// After a restart: what recovery found replaces what was held at those offsets; what was
/// held past the recovered log end (records a power loss took) still counts, and so does
/// what was held below the first recovered offset (records deleted from the log start).
fn restore(held: &mut Vec<RecordSummary>, recovered: &[RecordSummary], log_end_offset: Offset) {
    let start = recovered
        .first()
        .map_or(log_end_offset, |record| record.offset);
    let below = held.partition_point(|record| record.offset < start);
    let past_end = held.partition_point(|record| record.offset < log_end_offset);
    let lost = held.split_off(past_end.max(below));
    held.truncate(below);
    held.extend_from_slice(recovered);
    held.extend(lost);
}

fn record_at(held: &[RecordSummary], offset: Offset) -> Option<&RecordSummary> {
    held.binary_search_by_key(&offset, |record| record.offset)
        .ok()
        .map(|index| &held[index])
}

#[cfg(test)]
#[path = "acks_all_on_min_insync_tests.rs"]
mod tests;
