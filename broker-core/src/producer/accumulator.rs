//! The record accumulator: Kafka's `RecordAccumulator`. Per partition, a queue of batches
//! not yet sent (or waiting to be sent again), oldest first, and the rule for when the front
//! batch may leave.
//!
//! A record joins the last batch of its partition's queue while that batch has never been
//! sent and holds fewer than `batch_size_records` records; otherwise it starts a new batch
//! (Kafka closes a batch for appends once it is drained). A batch that failed and may be
//! retried goes back to the *front* of its queue (`RecordAccumulator.reenqueue` uses
//! `addFirst`).
//!
//! When the front batch may leave (`RecordAccumulator.ready`), named by the timer that waits
//! for it: a retried batch at the end of its retry backoff ([`ProducerTimer::RetryBackoff`]);
//! a batch never sent `linger_ms` after its creation, or at once when it is full or another
//! batch queues behind it ([`ProducerTimer::Linger`]). The formulas are in
//! [`RecordAccumulator::ready_timer`] and nowhere else.
//!
//! Invariants: batch ids are unique and never reused; every batch holds between one and
//! `batch_size_records` records; only the last batch of a queue, and only before it was
//! first sent, takes more records.

use super::ProducerTimer;
use crate::record::ProducerRecord;
use crate::topic::TopicPartition;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

/// Names one batch for the lifetime of the producer, so that its delivery timeout can be a
/// named timer. Kafka's batches have no id; nothing outside the producer sees this one.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct BatchId(pub u64);

impl fmt::Display for BatchId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "batch{}", self.0)
    }
}

/// Records of one partition that travel together in one `ProduceRequest`
/// (Kafka's `ProducerBatch`).
#[derive(Clone, Debug)]
pub(super) struct ProducerBatch {
    pub(super) id: BatchId,
    pub(super) partition: TopicPartition,
    pub(super) records: Vec<ProducerRecord>,
    /// When the first record was added: linger and delivery timeout count from here.
    pub(super) created_ms: u64,
    /// How many times the batch has been sent.
    pub(super) attempts: u32,
    /// A retried batch waits in the accumulator until then.
    pub(super) retry_not_before_ms: u64,
    /// Whether some attempt may have been appended: it timed out, its connection closed, or
    /// it ended with an error that does not rule out an append.
    pub(super) possibly_appended: bool,
}

/// Per partition, the batches not yet sent (or waiting to be sent again), oldest first.
#[derive(Clone, Debug)]
pub(super) struct RecordAccumulator {
    queues: BTreeMap<TopicPartition, VecDeque<ProducerBatch>>,
    next_batch_id: u64,
    batch_size_records: usize,
    linger_ms: u64,
}

impl RecordAccumulator {
    pub(super) fn new(batch_size_records: u32, linger_ms: u64) -> RecordAccumulator {
        RecordAccumulator {
            queues: BTreeMap::new(),
            next_batch_id: 0,
            batch_size_records: usize::try_from(batch_size_records.max(1)).unwrap_or(usize::MAX),
            linger_ms,
        }
    }

    /// Adds `record` to its partition's last batch, or to a new batch created at `now_ms`.
    /// Returns the new batch's id when one was created (its delivery timeout starts now).
    pub(super) fn append(
        &mut self,
        now_ms: u64,
        partition: TopicPartition,
        record: ProducerRecord,
    ) -> Option<BatchId> {
        let queue = self.queues.entry(partition).or_default();
        match queue.back_mut() {
            // Only a batch never sent takes more records (Kafka closes a batch for appends
            // once it is drained).
            Some(batch) if batch.attempts == 0 && batch.records.len() < self.batch_size_records => {
                batch.records.push(record);
                None
            }
            _ => {
                let id = BatchId(self.next_batch_id);
                self.next_batch_id += 1;
                queue.push_back(ProducerBatch {
                    id,
                    partition,
                    records: vec![record],
                    created_ms: now_ms,
                    attempts: 0,
                    retry_not_before_ms: now_ms,
                    possibly_appended: false,
                });
                Some(id)
            }
        }
    }

    /// The timer that waits for `partition`'s front batch to become ready, and when it
    /// fires; `None` when the queue is empty. Kafka's `RecordAccumulator.ready`: a retried
    /// batch after its backoff; a full batch, or one with another batch behind it, at once;
    /// otherwise after `linger_ms`.
    pub(super) fn ready_timer(&self, partition: TopicPartition) -> Option<(ProducerTimer, u64)> {
        let queue = self.queues.get(&partition)?;
        let batch = queue.front()?;
        Some(if batch.attempts > 0 {
            (
                ProducerTimer::RetryBackoff(partition),
                batch.retry_not_before_ms,
            )
        } else if batch.records.len() >= self.batch_size_records || queue.len() > 1 {
            (ProducerTimer::Linger(partition), batch.created_ms)
        } else {
            (
                ProducerTimer::Linger(partition),
                batch.created_ms.saturating_add(self.linger_ms),
            )
        })
    }

    /// Every partition that has a queue (possibly emptied since), in partition order.
    pub(super) fn partitions(&self) -> Vec<TopicPartition> {
        self.queues.keys().copied().collect()
    }

    /// Whether some partition with a batch waiting satisfies `predicate`.
    pub(super) fn any_waiting(&self, mut predicate: impl FnMut(TopicPartition) -> bool) -> bool {
        self.queues
            .iter()
            .any(|(partition, queue)| !queue.is_empty() && predicate(*partition))
    }

    /// Takes `partition`'s front batch, to send it.
    pub(super) fn pop_front(&mut self, partition: TopicPartition) -> Option<ProducerBatch> {
        self.queues.get_mut(&partition)?.pop_front()
    }

    /// Puts a batch to be retried back at the front of its queue
    /// (`RecordAccumulator.reenqueue`).
    pub(super) fn reenqueue(&mut self, batch: ProducerBatch) {
        self.queues
            .entry(batch.partition)
            .or_default()
            .push_front(batch);
    }

    /// Puts a batch to be retried back in its queue in sequence order (Kafka's
    /// `insertInSequenceOrder`, for an idempotent producer): behind the retries with lower
    /// sequences, ahead of every other batch, so batches leave again in the order the leader
    /// must append them.
    pub(super) fn reenqueue_in_sequence_order<S: Ord>(
        &mut self,
        batch: ProducerBatch,
        sequence_of: impl Fn(&ProducerBatch) -> Option<S>,
    ) {
        let sequence = sequence_of(&batch);
        let queue = self.queues.entry(batch.partition).or_default();
        let position = queue
            .iter()
            .position(|queued| match (sequence_of(queued), &sequence) {
                (Some(queued), Some(sequence)) => queued > *sequence,
                _ => true,
            })
            .unwrap_or(queue.len());
        queue.insert(position, batch);
    }

    /// `partition`'s front batch, the next to leave.
    pub(super) fn front(&self, partition: TopicPartition) -> Option<&ProducerBatch> {
        self.queues.get(&partition)?.front()
    }

    /// Removes and returns every batch `is_expired` selects, in partition order and, within a
    /// partition, in queue order.
    pub(super) fn take_expired(
        &mut self,
        is_expired: impl Fn(&ProducerBatch) -> bool,
    ) -> Vec<ProducerBatch> {
        let mut expired = Vec::new();
        for queue in self.queues.values_mut() {
            // Runs after every input; most of the time nothing expired, and then nothing is
            // rebuilt.
            if !queue.iter().any(&is_expired) {
                continue;
            }
            let mut kept = VecDeque::with_capacity(queue.len());
            for batch in queue.drain(..) {
                if is_expired(&batch) {
                    expired.push(batch);
                } else {
                    kept.push_back(batch);
                }
            }
            *queue = kept;
        }
        expired
    }

    /// Forgets the queues that were emptied.
    pub(super) fn remove_empty_queues(&mut self) {
        self.queues.retain(|_, queue| !queue.is_empty());
    }

    /// Every batch waiting in the accumulator.
    pub(super) fn batches(&self) -> impl Iterator<Item = &ProducerBatch> + '_ {
        self.queues.values().flatten()
    }
}
