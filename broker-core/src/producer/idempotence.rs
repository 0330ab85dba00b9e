//! The idempotent producer's bookkeeping: the half of Kafka's `TransactionManager`,
//! `TxnPartitionMap` and `TxnPartitionEntry` that an idempotent producer uses (KIP-98,
//! with KIP-360's epoch bump).
//!
//! The producer holds one producer id and epoch, handed out by a broker (InitProducerId).
//! Per partition it numbers its records: a batch gets its base sequence when it is first
//! drained, and keeps it through every retry, so the leader can recognise a retry of a batch
//! it already appended (it answers with the first append's offsets) and refuse a batch that
//! leaves a gap (OUT_OF_ORDER_SEQUENCE_NUMBER).
//!
//! Per partition this keeps the next sequence, the last acknowledged one, and the batches
//! that hold sequences and are not completed ("in flight" in Kafka's sense: on the wire or
//! queued for a retry), ordered by sequence. When the sequences of a partition can no
//! longer be trusted — a gap the broker reports, a batch that failed for good after it may
//! have been written, a batch that expired after it was sent — the producer bumps its epoch
//! (locally: the broker accepts sequence 0 of a newer epoch) and numbers that partition's
//! batches again from 0 (`startSequencesAtBeginning`).
//!
//! Invariants: the batches in flight of a partition have consecutive sequences ending at its
//! next sequence (asserted by [`Idempotence::check_invariants`]); a partition whose
//! sequences belong to an older id or epoch gets no new batch while it has batches in flight.

use super::accumulator::BatchId;
use crate::ids::{ProducerEpoch, Sequence};
use crate::protocol::ProducerIdAndEpoch;
use crate::topic::TopicPartition;
use std::collections::{BTreeMap, BTreeSet};

/// Kafka's producer epoch is an `int16`: past its maximum the producer needs a new id.
const MAX_PRODUCER_EPOCH: u16 = i16::MAX as u16;

/// A batch that holds sequences and is not completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SequencedBatch {
    pub(super) batch: BatchId,
    pub(super) base_sequence: Sequence,
    pub(super) record_count: u32,
    /// Its sequences were renumbered by an epoch bump after it was first sent (Kafka's
    /// `sequenceHasBeenReset`): an error about its old numbering says nothing about a gap.
    pub(super) sequence_reset: bool,
}

impl SequencedBatch {
    pub(super) fn last_sequence(&self) -> Sequence {
        Sequence(add_sequence(
            self.base_sequence.0,
            self.record_count.saturating_sub(1),
        ))
    }
}

/// One partition's sequences (Kafka's `TxnPartitionEntry`).
#[derive(Clone, Debug)]
struct PartitionSequences {
    /// The id and epoch these sequences belong to.
    producer: ProducerIdAndEpoch,
    next_sequence: u32,
    last_acked_sequence: Option<u32>,
    /// Ordered by base sequence.
    in_flight: Vec<SequencedBatch>,
}

impl PartitionSequences {
    fn new(producer: ProducerIdAndEpoch) -> PartitionSequences {
        PartitionSequences {
            producer,
            next_sequence: 0,
            last_acked_sequence: None,
            in_flight: Vec::new(),
        }
    }

    /// Numbers every batch in flight again from 0 under `producer` (Kafka's
    /// `startSequencesAtBeginning`).
    fn start_at_beginning(&mut self, producer: ProducerIdAndEpoch) {
        let mut sequence = 0u32;
        for batch in &mut self.in_flight {
            batch.base_sequence = Sequence(sequence);
            batch.sequence_reset = true;
            sequence = add_sequence(sequence, batch.record_count);
        }
        self.producer = producer;
        self.next_sequence = sequence;
        self.last_acked_sequence = None;
    }

    /// Whether `sequence` is the one right after the last acknowledged (Kafka's
    /// `isNextSequence`; with nothing acknowledged, 0 is next).
    fn is_next(&self, sequence: Sequence) -> bool {
        match self.last_acked_sequence {
            None => sequence.0 == 0,
            Some(last) => sequence.0 == add_sequence(last, 1),
        }
    }
}

/// What the producer should do with a batch the broker refused with a sequence error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SequenceErrorOutcome {
    /// Send it again as it is (another batch's failure explains the gap).
    Retry,
    /// There is a real gap: bump the epoch, renumber, and send it again.
    RetryAfterEpochBump,
}

/// An epoch bump: the new id and epoch, and how many batches already sent it numbered anew.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct EpochBump {
    pub(super) producer: ProducerIdAndEpoch,
    pub(super) renumbered_sent_batches: usize,
}

/// How a batch holding sequences failed for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FailedBatch {
    /// Its delivery timeout ran out after it was sent at least once: whether the broker has
    /// it is unknown until every batch in flight has come back (Kafka's
    /// `markSequenceUnresolved`).
    ExpiredAfterSend,
    /// Its delivery timeout ran out before any attempt left.
    ExpiredUnsent,
    /// A broker's answer failed it. With retries left (Kafka's `adjustSequenceNumbers`,
    /// `attempts < retries`) the partition's numbering is restarted under a bumped epoch;
    /// with none left Kafka cannot tell whether the sequence was taken and changes nothing.
    Refused { retries_left: bool },
}

/// The idempotent producer's id, epoch and sequences.
#[derive(Clone, Debug, Default)]
pub(super) struct Idempotence {
    /// `None` until InitProducerId answers, and again after the epoch ran out.
    producer: Option<ProducerIdAndEpoch>,
    partitions: BTreeMap<TopicPartition, PartitionSequences>,
    /// Partitions whose sequences are unknown since a batch sent at least once expired, with
    /// the sequence that would follow it (Kafka's `partitionsWithUnresolvedSequences`).
    unresolved: BTreeMap<TopicPartition, u32>,
    epoch_bump_required: bool,
    partitions_to_rewrite: BTreeSet<TopicPartition>,
}

impl Idempotence {
    pub(super) fn producer(&self) -> Option<ProducerIdAndEpoch> {
        self.producer
    }

    /// InitProducerId answered. Partitions numbered under an older id start again from 0
    /// once their batches in flight have come back ([`Idempotence::refresh_partition`]).
    pub(super) fn set_producer(&mut self, producer: ProducerIdAndEpoch) {
        self.producer = Some(producer);
    }

    /// The base sequence `batch` holds, if it was ever drained.
    pub(super) fn sequenced(
        &self,
        partition: TopicPartition,
        batch: BatchId,
    ) -> Option<SequencedBatch> {
        self.partitions
            .get(&partition)?
            .in_flight
            .iter()
            .find(|sequenced| sequenced.batch == batch)
            .copied()
    }

    /// The id and epoch a partition's sequences belong to.
    pub(super) fn partition_producer(
        &self,
        partition: TopicPartition,
    ) -> Option<ProducerIdAndEpoch> {
        self.partitions.get(&partition).map(|entry| entry.producer)
    }

    /// Whether the front batch of `partition` may be drained now (Kafka's
    /// `shouldStopDrainBatchesForPartition`, negated). `front` is that batch and whether it
    /// already holds sequences (a retry).
    pub(super) fn may_drain(&self, partition: TopicPartition, front: BatchId) -> bool {
        let Some(producer) = self.producer else {
            return false;
        };
        let entry = self.partitions.get(&partition);
        let in_flight = entry.map_or(&[][..], |entry| &entry.in_flight[..]);
        match in_flight.iter().find(|sequenced| sequenced.batch == front) {
            // A new batch waits while older-epoch batches are unresolved in flight, or while
            // the sequences are unknown.
            None => {
                let stale = entry.is_some_and(|entry| entry.producer != producer);
                (!stale || in_flight.is_empty()) && !self.unresolved.contains_key(&partition)
            }
            // A retry goes only when it is the first batch in flight: one at a time until the
            // sequences are back in order.
            Some(sequenced) => in_flight[0].base_sequence == sequenced.base_sequence,
        }
    }

    /// Before a new batch of `partition` is drained: a partition whose sequences belong to an
    /// older id or epoch and has nothing in flight starts again from 0 under the current one
    /// (Kafka's `maybeUpdateProducerIdAndEpoch`).
    pub(super) fn refresh_partition(&mut self, partition: TopicPartition) {
        let Some(producer) = self.producer else {
            return;
        };
        if let Some(entry) = self.partitions.get_mut(&partition) {
            if entry.producer != producer && entry.in_flight.is_empty() {
                entry.start_at_beginning(producer);
            }
        }
    }

    /// A new batch is drained: it takes the partition's next sequences.
    pub(super) fn assign(
        &mut self,
        partition: TopicPartition,
        batch: BatchId,
        record_count: u32,
    ) -> SequencedBatch {
        let producer = self
            .producer
            .expect("a batch drains only with a producer id");
        let entry = self
            .partitions
            .entry(partition)
            .or_insert_with(|| PartitionSequences::new(producer));
        let sequenced = SequencedBatch {
            batch,
            base_sequence: Sequence(entry.next_sequence),
            record_count,
            sequence_reset: false,
        };
        entry.next_sequence = add_sequence(entry.next_sequence, record_count);
        entry.in_flight.push(sequenced);
        sequenced
    }

    /// The batch was acknowledged.
    pub(super) fn on_acknowledged(&mut self, partition: TopicPartition, batch: BatchId) {
        let Some(entry) = self.partitions.get_mut(&partition) else {
            return;
        };
        if let Some(index) = entry.in_flight.iter().position(|s| s.batch == batch) {
            let last = entry.in_flight.remove(index).last_sequence().0;
            entry.last_acked_sequence = Some(entry.last_acked_sequence.map_or(last, |acked| {
                if sequence_after(last, acked) {
                    last
                } else {
                    acked
                }
            }));
        }
    }

    /// The batch failed for good (Kafka's `handleFailedBatch`): it leaves the batches in
    /// flight, and what its failure says about the partition's sequences is applied.
    pub(super) fn on_failed(
        &mut self,
        partition: TopicPartition,
        batch: BatchId,
        how: FailedBatch,
    ) {
        let Some(entry) = self.partitions.get_mut(&partition) else {
            return;
        };
        let Some(index) = entry.in_flight.iter().position(|s| s.batch == batch) else {
            return;
        };
        let sequenced = entry.in_flight.remove(index);
        match how {
            FailedBatch::ExpiredAfterSend => {
                let next = add_sequence(sequenced.last_sequence().0, 1);
                let unresolved = self.unresolved.entry(partition).or_insert(next);
                if sequence_after(next, *unresolved) {
                    *unresolved = next;
                }
            }
            FailedBatch::Refused { retries_left: true } => self.request_epoch_bump(partition),
            FailedBatch::Refused {
                retries_left: false,
            }
            | FailedBatch::ExpiredUnsent => {}
        }
    }

    /// The broker refused the batch with OUT_OF_ORDER_SEQUENCE_NUMBER (Kafka's `canRetry`
    /// for an idempotent producer): a batch numbered anew, or not the one after the last
    /// acknowledged, is retried as it is; otherwise there is a real gap and the epoch is
    /// bumped.
    pub(super) fn on_out_of_order(
        &mut self,
        partition: TopicPartition,
        batch: SequencedBatch,
    ) -> SequenceErrorOutcome {
        let is_next = self
            .partitions
            .get(&partition)
            .is_some_and(|entry| entry.is_next(batch.base_sequence));
        let unresolved = self.unresolved.get(&partition).copied();
        if unresolved.is_none() && (batch.sequence_reset || !is_next) {
            return SequenceErrorOutcome::Retry;
        }
        if unresolved.is_none() || unresolved == Some(batch.base_sequence.0) {
            self.request_epoch_bump(partition);
            return SequenceErrorOutcome::RetryAfterEpochBump;
        }
        SequenceErrorOutcome::Retry
    }

    /// The broker has no state for this producer (UNKNOWN_PRODUCER_ID; Kafka 4.x brokers
    /// never answer it to a produce, older ones did): an idempotent producer bumps its epoch
    /// and retries (Kafka's `canRetry`).
    pub(super) fn on_unknown_producer(&mut self, partition: TopicPartition) {
        self.request_epoch_bump(partition);
    }

    /// Before KIP-360 (`unknown_producer.rs`): numbers `partition`'s batches in flight from
    /// 0 again under the same id and epoch (Kafka 2.4's `startSequencesAtBeginning`).
    pub(super) fn restart_sequences_in_same_epoch(&mut self, partition: TopicPartition) {
        if let Some(entry) = self.partitions.get_mut(&partition) {
            let producer = entry.producer;
            entry.start_at_beginning(producer);
        }
    }

    fn request_epoch_bump(&mut self, partition: TopicPartition) {
        self.epoch_bump_required = true;
        self.partitions_to_rewrite.insert(partition);
    }

    /// Kafka's `maybeResolveSequences`: a partition marked unresolved whose batches have all
    /// come back is resolved if its sequences still follow on, and otherwise needs an epoch
    /// bump.
    pub(super) fn maybe_resolve_sequences(&mut self) {
        let drained: Vec<(TopicPartition, u32)> = self
            .unresolved
            .iter()
            .filter(|(partition, _)| {
                self.partitions
                    .get(partition)
                    .is_none_or(|entry| entry.in_flight.is_empty())
            })
            .map(|(partition, next)| (*partition, *next))
            .collect();
        for (partition, _) in drained {
            self.unresolved.remove(&partition);
            let follows_on = self
                .partitions
                .get(&partition)
                .is_some_and(|entry| entry.is_next(Sequence(entry.next_sequence)));
            if !follows_on {
                self.request_epoch_bump(partition);
            }
        }
    }

    /// Kafka's `bumpIdempotentEpochAndResetIdIfNeeded`, the epoch half: bumps the epoch if
    /// some partition asked for it (or forgets the id when the epoch is exhausted, so a new
    /// one is asked for) and numbers the partitions that asked from 0. Returns the bump if
    /// the epoch was bumped.
    ///
    /// Every batch it numbers anew has been sent at least once and may already be in the
    /// log under the old epoch, where the leader cannot match it any more: Kafka 4.x does
    /// this (KAFKA-14034, open: a batch that fails for good while earlier ones are retried
    /// bumps the epoch at once, instead of waiting for them), and so does the model, which
    /// counts those batches so the trace can show it.
    pub(super) fn maybe_bump_epoch(&mut self) -> Option<EpochBump> {
        if !self.epoch_bump_required {
            return None;
        }
        self.epoch_bump_required = false;
        let producer = self.producer?;
        let bumped = if producer.epoch.0 >= MAX_PRODUCER_EPOCH {
            self.producer = None;
            None
        } else {
            let bumped = ProducerIdAndEpoch {
                producer_id: producer.producer_id,
                epoch: ProducerEpoch(producer.epoch.0 + 1),
            };
            self.producer = Some(bumped);
            Some(bumped)
        };
        let mut renumbered_sent_batches = 0;
        for partition in std::mem::take(&mut self.partitions_to_rewrite) {
            if let (Some(entry), Some(bumped)) = (self.partitions.get_mut(&partition), bumped) {
                renumbered_sent_batches += entry.in_flight.len();
                entry.start_at_beginning(bumped);
            }
            self.unresolved.remove(&partition);
        }
        bumped.map(|producer| EpochBump {
            producer,
            renumbered_sent_batches,
        })
    }

    /// For a transactional producer, whose epoch only its coordinator bumps: whether an
    /// epoch bump was asked for since the last call, forgetting the request (the
    /// partitions are numbered from 0 when the new epoch arrives).
    pub(super) fn take_epoch_bump_request(&mut self) -> bool {
        let required = std::mem::take(&mut self.epoch_bump_required);
        for partition in std::mem::take(&mut self.partitions_to_rewrite) {
            self.unresolved.remove(&partition);
        }
        required
    }

    /// Asserts that each partition's batches in flight hold increasing sequences that do not
    /// overlap and all come before its next sequence. They need not be consecutive: a batch
    /// that failed for good or expired after it was sent leaves a gap until the epoch moves
    /// on, and a higher batch can be acknowledged while a lower one that a broker refused
    /// with a retriable error waits to be retried (an unknown producer may start at any
    /// sequence), as in Kafka's `TxnPartitionEntry`.
    pub(super) fn check_invariants(&self) {
        for (partition, entry) in &self.partitions {
            let mut earliest_next = entry.in_flight.first().map(|b| b.base_sequence.0);
            for batch in &entry.in_flight {
                let base = batch.base_sequence.0;
                assert!(
                    earliest_next.is_some_and(|next| !sequence_after(next, base)),
                    "{partition}: sequences in flight overlap or are out of order: {:?}",
                    entry.in_flight
                );
                earliest_next = Some(add_sequence(base, batch.record_count));
            }
            if let Some(end) = earliest_next {
                assert!(
                    !sequence_after(end, entry.next_sequence),
                    "{partition}: batches in flight run past the next sequence {}: {:?}",
                    entry.next_sequence,
                    entry.in_flight
                );
            }
        }
    }
}

/// `sequence + count`, wrapping from `i32::MAX` to 0 as Kafka's sequences do.
fn add_sequence(sequence: u32, count: u32) -> u32 {
    let modulus = 1u64 << 31;
    u32::try_from((u64::from(sequence) + u64::from(count)) % modulus).expect("below 2^31")
}

/// Whether `a` comes after `b` on the wrapping sequence circle (within half of it).
fn sequence_after(a: u32, b: u32) -> bool {
    let modulus = 1u64 << 31;
    let distance = (u64::from(a) + modulus - u64::from(b)) % modulus;
    distance != 0 && distance < modulus / 2
}

#[cfg(test)]
#[path = "idempotence_tests.rs"]
mod tests;
