//! The idempotent producer's answer to UNKNOWN_PRODUCER_ID before KIP-360 (Kafka 2.0 to 2.4,
//! `TransactionManager.canRetry`), behind the switch `reset-sequence-on-unknown-producer`.
//!
//! A broker of those releases forgot a producer once the log start offset passed all its
//! batches, and answered its next batch UNKNOWN_PRODUCER_ID with the log start offset. The
//! producer compared it with the last offset it had seen acknowledged on that partition: if
//! the log start offset is past it, "the head of the log has been removed" and the producer
//! numbers its batches in flight from sequence 0 again, in the same epoch, and retries them
//! (`startSequencesAtBeginning`). A batch among them that the broker had written before
//! (its answer lost) and then deleted is written a second time: KAFKA-7190, which KIP-360
//! (Kafka 2.5) closed by keeping the producer state on the broker. Kafka 4.x's producer
//! bumps its epoch instead (`sequencing.rs`), and a 4.x broker never gives this answer.

use super::accumulator::ProducerBatch;
use super::idempotence::SequencedBatch;
use super::sequencing::SequenceVerdict;
use super::Producer;
use crate::actor::Effect;
use crate::ids::Offset;
use crate::mark::Mark;
use crate::topic::TopicPartition;
use std::collections::BTreeMap;

/// What the pre-KIP-360 producer keeps for UNKNOWN_PRODUCER_ID; empty and unused without the
/// switch.
#[derive(Clone, Debug, Default)]
pub(super) struct PreKip360 {
    enabled: bool,
    /// Per partition, the last offset an acknowledgement covered (Kafka's `lastAckedOffset`).
    last_acked_offset: BTreeMap<TopicPartition, Offset>,
}

impl PreKip360 {
    pub(super) fn new(enabled: bool) -> PreKip360 {
        PreKip360 {
            enabled,
            last_acked_offset: BTreeMap::new(),
        }
    }

    pub(super) fn enabled(&self) -> bool {
        self.enabled
    }
}

impl Producer {
    /// A batch of `record_count` records was acknowledged at `base_offset`: the partition's
    /// last acknowledged offset moves up to its last record (`updateLastAckedOffset`).
    pub(super) fn note_acknowledged_offset(&mut self, batch: &ProducerBatch, base_offset: Offset) {
        if !self.pre_kip_360.enabled || self.idempotence.is_none() {
            return;
        }
        let count = batch.records.len().max(1) as u64;
        let last = Offset(base_offset.0.saturating_add(count - 1));
        let entry = self
            .pre_kip_360
            .last_acked_offset
            .entry(batch.partition)
            .or_insert(last);
        *entry = (*entry).max(last);
    }

    /// Kafka 2.4's `canRetry` for UNKNOWN_PRODUCER_ID: without a log start offset in the
    /// answer, or for a batch already numbered anew, retry as it is; with the last
    /// acknowledged offset below the log start offset (none counts as below), number the
    /// partition's batches from 0 again and retry; otherwise the batch fails.
    pub(super) fn pre_kip_360_unknown_producer_verdict(
        &mut self,
        batch: &ProducerBatch,
        sequenced: SequencedBatch,
        log_start_offset: Option<Offset>,
        effects: &mut Vec<Effect>,
    ) -> SequenceVerdict {
        let Some(log_start_offset) = log_start_offset else {
            return SequenceVerdict::Retry;
        };
        if sequenced.sequence_reset {
            return SequenceVerdict::Retry;
        }
        let head_removed = self
            .pre_kip_360
            .last_acked_offset
            .get(&batch.partition)
            .is_none_or(|last_acked| *last_acked < log_start_offset);
        if !head_removed {
            return SequenceVerdict::Fail;
        }
        if let Some(idempotence) = self.idempotence.as_mut() {
            idempotence.restart_sequences_in_same_epoch(batch.partition);
        }
        effects.push(Effect::Mark(Mark::ProducerSequenceReset));
        SequenceVerdict::Retry
    }
}
