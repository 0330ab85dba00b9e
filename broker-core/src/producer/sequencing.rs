//! Where the sender meets the idempotent producer's bookkeeping (`idempotence.rs`): once per
//! pass it resolves sequences, bumps the epoch and asks for a producer id (Kafka's
//! `Sender.runOnce` before `sendProducerData`); it decides whether a partition's front batch
//! may drain, stamps the records of a drained batch with the producer id, epoch and
//! sequences, and reads a broker's sequence errors. A producer without idempotence passes
//! through every function here unchanged.

use super::accumulator::ProducerBatch;
use super::idempotence::{FailedBatch, SequenceErrorOutcome};
use super::Producer;
use crate::actor::Effect;
use crate::error::ErrorCode;
use crate::ids::Offset;
use crate::mark::Mark;
use crate::record::{ProducerRecord, ProducerStamp};
use crate::topic::TopicPartition;

/// What a broker's error means for a batch of an idempotent producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SequenceVerdict {
    /// Not a sequence error: the ordinary retry rules apply.
    NotASequenceError,
    /// A sequence error the producer retries (Kafka's `TransactionManager.canRetry`).
    Retry,
    /// A sequence error a transactional producer does not retry: the batch fails.
    Fail,
}

impl Producer {
    /// Once per pass, before anything drains: partitions whose expired batches have all come
    /// back are resolved, an epoch bump asked for is made, partitions numbered under an
    /// older epoch with nothing in flight start again from 0, and an id is asked for if
    /// there is none.
    pub(super) fn update_idempotence(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        let Some(idempotence) = self.idempotence.as_mut() else {
            return;
        };
        idempotence.maybe_resolve_sequences();
        if let Some(manager) = self.transactions.as_mut() {
            // A transactional producer's epoch belongs to its coordinator: the bump is made
            // by the next EndTxn (version 2) or an InitProducerId after the abort (version
            // 1, KIP-360), never locally.
            if idempotence.take_epoch_bump_request() {
                manager.epoch_bump_required = true;
            }
        } else if let Some(bump) = idempotence.maybe_bump_epoch() {
            effects.push(Effect::Mark(Mark::ProducerEpochBumped));
            if bump.renumbered_sent_batches > 0 {
                effects.push(Effect::Mark(Mark::ProducerRenumberedSentBatches));
            }
        }
        for partition in self.accumulator.partitions() {
            idempotence.refresh_partition(partition);
        }
        self.maybe_send_init_producer_id(now_ms, effects);
    }

    /// Whether the idempotent producer lets `partition`'s front batch drain now (always for a
    /// producer without idempotence).
    pub(super) fn idempotence_allows_drain(&self, partition: TopicPartition) -> bool {
        let Some(idempotence) = &self.idempotence else {
            return true;
        };
        if let Some(manager) = &self.transactions {
            if !manager.allows_drain(partition) {
                return false;
            }
        }
        match self.accumulator.front(partition) {
            Some(front) => idempotence.may_drain(partition, front.id),
            None => true,
        }
    }

    /// The records of `batch` as they go out: with idempotence, stamped with the id and
    /// epoch its partition's sequences belong to and consecutive sequences from the batch's
    /// base sequence, which the batch takes now if it never had one.
    pub(super) fn stamped_records(&mut self, batch: &ProducerBatch) -> Vec<ProducerRecord> {
        let Some(idempotence) = self.idempotence.as_mut() else {
            return batch.records.clone();
        };
        let record_count = u32::try_from(batch.records.len()).unwrap_or(u32::MAX);
        let sequenced = match idempotence.sequenced(batch.partition, batch.id) {
            Some(sequenced) => sequenced,
            None => idempotence.assign(batch.partition, batch.id, record_count),
        };
        let producer = idempotence
            .partition_producer(batch.partition)
            .expect("a sequenced batch's partition has sequences");
        batch
            .records
            .iter()
            .zip(0u32..)
            .map(|(record, index)| ProducerRecord {
                producer_stamp: Some(ProducerStamp {
                    producer_id: producer.producer_id,
                    producer_epoch: producer.epoch.0,
                    sequence: sequenced.base_sequence.0.wrapping_add(index) % (1 << 31),
                    base_sequence: sequenced.base_sequence.0,
                }),
                ..record.clone()
            })
            .collect()
    }

    /// The batch was acknowledged.
    pub(super) fn on_batch_acknowledged(&mut self, batch: &ProducerBatch) {
        if let Some(idempotence) = self.idempotence.as_mut() {
            idempotence.on_acknowledged(batch.partition, batch.id);
        }
    }

    /// The batch failed for good; `how` says what that tells about its sequences.
    pub(super) fn on_batch_failed(&mut self, batch: &ProducerBatch, how: FailedBatch) {
        if let Some(idempotence) = self.idempotence.as_mut() {
            idempotence.on_failed(batch.partition, batch.id, how);
        }
    }

    /// Reads a broker's `error` for `batch` as the idempotent producer does: a gap
    /// (OUT_OF_ORDER_SEQUENCE_NUMBER) or lost producer state (UNKNOWN_PRODUCER_ID) is retried,
    /// with an epoch bump where the sequences need one.
    /// `log_start_offset` is the leader's, from the answer, for the pre-KIP-360 reading of
    /// UNKNOWN_PRODUCER_ID (`unknown_producer.rs`).
    pub(super) fn sequence_verdict(
        &mut self,
        batch: &ProducerBatch,
        error: ErrorCode,
        log_start_offset: Option<Offset>,
        effects: &mut Vec<Effect>,
    ) -> SequenceVerdict {
        let Some(idempotence) = self.idempotence.as_mut() else {
            return SequenceVerdict::NotASequenceError;
        };
        let Some(sequenced) = idempotence.sequenced(batch.partition, batch.id) else {
            return SequenceVerdict::NotASequenceError;
        };
        match error {
            ErrorCode::OutOfOrderSequence => {
                effects.push(Effect::Mark(Mark::ProducerOutOfOrderSequenceRetried));
                // Retried either way; an epoch bump, if the gap is real, is made before the
                // next drain.
                let outcome = idempotence.on_out_of_order(batch.partition, sequenced);
                // A transactional producer retries only a batch another batch's failure
                // explains (Kafka's `canRetry`); a real gap fails the transaction.
                if self.transactions.is_some()
                    && outcome == SequenceErrorOutcome::RetryAfterEpochBump
                {
                    return SequenceVerdict::Fail;
                }
                SequenceVerdict::Retry
            }
            ErrorCode::UnknownProducerId if self.pre_kip_360.enabled() => self
                .pre_kip_360_unknown_producer_verdict(batch, sequenced, log_start_offset, effects),
            ErrorCode::UnknownProducerId => {
                idempotence.on_unknown_producer(batch.partition);
                if self.transactions.is_some() {
                    return SequenceVerdict::Fail;
                }
                SequenceVerdict::Retry
            }
            _ => SequenceVerdict::NotASequenceError,
        }
    }

    /// Puts a batch to be retried back in its queue: at the front without idempotence
    /// (Kafka's `reenqueue`), in sequence order with it (`insertInSequenceOrder`).
    pub(super) fn reenqueue(&mut self, batch: ProducerBatch) {
        match &self.idempotence {
            None => self.accumulator.reenqueue(batch),
            Some(idempotence) => {
                let sequence_of = |candidate: &ProducerBatch| {
                    idempotence
                        .sequenced(candidate.partition, candidate.id)
                        .map(|sequenced| sequenced.base_sequence)
                };
                self.accumulator
                    .reenqueue_in_sequence_order(batch, sequence_of);
            }
        }
    }
}
