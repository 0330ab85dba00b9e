//! Transactions on a partition (Kafka's `Partition.appendRecordsToLeader` for transactional
//! batches and for the markers `KafkaApis.handleWriteTxnMarkersRequest` writes, KIP-98): a
//! transactional produce opens its producer's transaction at its first offset, which holds
//! the last stable offset there; a COMMIT or ABORT marker from the transaction coordinator
//! is appended as a control batch with acks=all, ends the transaction (an abort enters the
//! aborted index), and once the high watermark passes the marker the last stable offset
//! moves on. Followers copy markers like any record and their producer state replays them.
//!
//! Invariant: the last stable offset is never above the high watermark; it is reported
//! ([`Event::LastStableOffsetAdvanced`]) only when a transaction held it below the high
//! watermark before or after the move, so logs without transactions report nothing new.

use super::purgatory::{complete, refuse, Completion};
use super::{Context, Partition};
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{NodeId, Offset, ProducerEpoch, ProducerId};
use crate::log::TransactionMarker;
use crate::mark::Mark;
use crate::protocol::ProduceRequest;
use crate::record::ProducerStamp;

/// The last stable offset and the high watermark, before something that may move them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct StableOffsets {
    last_stable_offset: Offset,
    high_watermark: Offset,
}

/// Names one verification a leader started (Kafka's `VerificationGuard`): the answer may
/// append only while the producer's entry still holds this guard, so an answer that
/// arrives after a marker ended the transaction (or after a newer epoch started verifying)
/// cannot open a transaction the coordinator knows nothing of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VerificationGuard(u64);

/// A producer's verification in progress on this leader (Kafka's `VerificationStateEntry`).
/// It keeps the lowest sequence that asked for verification at its epoch: a batch with a
/// higher one may not open the transaction, so a lower batch that failed verification with a
/// retriable error (CONCURRENT_TRANSACTIONS while the previous transaction completes) cannot
/// be overtaken by the next one in flight, which would leave it refused out of order until
/// it expires (KAFKA-15653).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct VerificationEntry {
    guard: VerificationGuard,
    producer_epoch: ProducerEpoch,
    lowest_sequence: u32,
}

/// What became of a transactional produce on arrival.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionalProduce {
    /// Appended, refused, or (acks=all) waiting in the purgatory: the partition answers it.
    Handled,
    /// Held: the broker asks the transaction coordinator, then calls
    /// [`Partition::append_verified_produce`] with this guard, or answers the error.
    Verify(VerificationGuard),
}

impl Partition {
    /// A produce from a transactional producer (`transactional_id` set): its records are one
    /// transactional batch. A batch of the producer's transaction already open here (same
    /// epoch) is appended at once, as in Kafka; so is every batch with the
    /// `no-transaction-verification` switch (Kafka before 3.6). Otherwise the leader starts
    /// a verification (KIP-890 part 1, `UnifiedLog.maybeStartTransactionVerification`) and
    /// the broker holds the produce until the transaction coordinator answers.
    pub fn handle_transactional_produce(
        &mut self,
        context: &mut Context<'_>,
        from: NodeId,
        request: &ProduceRequest,
    ) -> TransactionalProduce {
        let stamp = request
            .records
            .first()
            .and_then(|record| record.producer_stamp);
        let needs_verification = self.is_leader()
            && stamp.is_some_and(|stamp| {
                !self.has_open_transaction(stamp.producer_id, ProducerEpoch(stamp.producer_epoch))
            });
        match stamp {
            Some(stamp) if needs_verification && !context.bugs.no_transaction_verification => {
                let producer_epoch = ProducerEpoch(stamp.producer_epoch);
                match self.maybe_start_transaction_verification(
                    stamp.producer_id,
                    producer_epoch,
                    stamp.base_sequence,
                ) {
                    Ok(guard) => TransactionalProduce::Verify(guard),
                    Err(error) => {
                        refuse(context, self.id, &produce_reply(from, request), error);
                        TransactionalProduce::Handled
                    }
                }
            }
            Some(stamp) if needs_verification => {
                self.append_without_verification(context, from, request, stamp.producer_id);
                TransactionalProduce::Handled
            }
            _ => {
                self.append_transactional(context, from, request);
                TransactionalProduce::Handled
            }
        }
    }

    /// The coordinator verified the held produce: it is appended if the producer's
    /// transaction is open here by now, or if its verification entry still holds `guard`;
    /// else a marker or a newer epoch came in between, and it is refused INVALID_TXN_STATE
    /// (Kafka's `analyzeAndValidateProducerState`: "Record was not part of an ongoing
    /// transaction"). A batch whose first sequence is above the lowest the entry has seen is
    /// refused OUT_OF_ORDER_SEQUENCE_NUMBER (`ProducerAppendInfo.checkSequence`); an
    /// appended batch opens the transaction and clears the entry, as any transactional
    /// append does in Kafka. Returns whether it was appended (or refused by the log itself).
    pub fn append_verified_produce(
        &mut self,
        context: &mut Context<'_>,
        from: NodeId,
        request: &ProduceRequest,
        guard: VerificationGuard,
    ) -> bool {
        let stamp = request
            .records
            .first()
            .and_then(|record| record.producer_stamp);
        let guarded = stamp.is_none_or(|stamp| {
            self.has_open_transaction(stamp.producer_id, ProducerEpoch(stamp.producer_epoch))
                || self
                    .verification_entries
                    .get(&stamp.producer_id)
                    .is_some_and(|entry| entry.guard == guard)
        });
        if !guarded && self.is_leader() {
            context.mark(Mark::VerificationGuardCleared);
            refuse(
                context,
                self.id,
                &produce_reply(from, request),
                ErrorCode::InvalidTxnState,
            );
            return false;
        }
        if let Some(stamp) = stamp {
            if self.is_leader() && self.overtakes_lower_sequence(stamp) {
                context.mark(Mark::VerificationLowerSequencePending);
                refuse(
                    context,
                    self.id,
                    &produce_reply(from, request),
                    ErrorCode::OutOfOrderSequence,
                );
                return false;
            }
            self.verification_entries.remove(&stamp.producer_id);
        }
        self.append_transactional(context, from, request);
        true
    }

    /// Whether a batch stamped `stamp` comes after a lower sequence of the same epoch that
    /// asked for verification and has not been appended yet.
    fn overtakes_lower_sequence(&self, stamp: ProducerStamp) -> bool {
        self.verification_entries
            .get(&stamp.producer_id)
            .is_some_and(|entry| {
                entry.producer_epoch == ProducerEpoch(stamp.producer_epoch)
                    && stamp.base_sequence > entry.lowest_sequence
            })
    }

    /// Answers a held produce whose verification failed with `error`.
    pub fn refuse_held_produce(
        &mut self,
        context: &mut Context<'_>,
        from: NodeId,
        request: &ProduceRequest,
        error: ErrorCode,
    ) {
        refuse(context, self.id, &produce_reply(from, request), error);
    }

    /// Kafka's `maybeCreateVerificationStateEntry`: a producer verifying at the epoch of its
    /// entry shares that entry's guard and lowers its lowest sequence to `sequence` if that
    /// is lower; a newer epoch replaces the entry (the older verification's answer will find
    /// its guard gone); an older epoch is refused INVALID_PRODUCER_EPOCH, as
    /// `AddPartitionsToTxnManager` refuses a fenced request.
    fn maybe_start_transaction_verification(
        &mut self,
        producer: ProducerId,
        producer_epoch: ProducerEpoch,
        sequence: u32,
    ) -> Result<VerificationGuard, ErrorCode> {
        match self.verification_entries.get_mut(&producer) {
            Some(entry) if entry.producer_epoch == producer_epoch => {
                entry.lowest_sequence = entry.lowest_sequence.min(sequence);
                return Ok(entry.guard);
            }
            Some(entry) if entry.producer_epoch > producer_epoch => {
                return Err(ErrorCode::InvalidProducerEpoch)
            }
            _ => {}
        }
        self.next_verification_guard += 1;
        let guard = VerificationGuard(self.next_verification_guard);
        self.verification_entries.insert(
            producer,
            VerificationEntry {
                guard,
                producer_epoch,
                lowest_sequence: sequence,
            },
        );
        Ok(guard)
    }

    /// The `no-transaction-verification` path: appended at once; a transaction this opens
    /// is reported, as the coordinator was never asked about it.
    fn append_without_verification(
        &mut self,
        context: &mut Context<'_>,
        from: NodeId,
        request: &ProduceRequest,
        producer: ProducerId,
    ) {
        let was_open = self.open_transaction_first_offset(producer).is_some();
        self.append_transactional(context, from, request);
        let (false, Some(offset)) = (was_open, self.open_transaction_first_offset(producer)) else {
            return;
        };
        let producer_epoch = self
            .log
            .producer_state()
            .entry(producer)
            .map_or(ProducerEpoch(0), |entry| entry.producer_epoch);
        context.event(Event::TransactionOpenedWithoutVerification {
            partition: self.id,
            transactional_id: request.transactional_id.clone().unwrap_or_default(),
            producer,
            producer_epoch,
            offset,
        });
        context.mark(Mark::TransactionOpenedWithoutVerification);
    }

    fn append_transactional(
        &mut self,
        context: &mut Context<'_>,
        from: NodeId,
        request: &ProduceRequest,
    ) {
        self.append_and_complete(
            context,
            produce_reply(from, request),
            request.acks,
            (&request.records, true),
            request.timeout_ms,
        );
    }

    /// Whether `producer` has a transaction of `producer_epoch` open on this partition
    /// (Kafka 4.x's `hasOngoingTransaction(producerId, producerEpoch)`).
    fn has_open_transaction(&self, producer: ProducerId, producer_epoch: ProducerEpoch) -> bool {
        self.log
            .producer_state()
            .entry(producer)
            .is_some_and(|entry| {
                entry.current_transaction_first_offset.is_some()
                    && entry.producer_epoch == producer_epoch
            })
    }

    fn open_transaction_first_offset(&self, producer: ProducerId) -> Option<Offset> {
        self.log
            .producer_state()
            .entry(producer)
            .and_then(|entry| entry.current_transaction_first_offset)
    }

    /// Forgets every verification in progress: this replica stopped leading, and answers
    /// that arrive now are refused NOT_LEADER_OR_FOLLOWER anyway.
    pub(super) fn clear_verification_entries(&mut self) {
        self.verification_entries.clear();
    }

    /// One marker of a WriteTxnMarkers request for this partition, appended as the leader
    /// with acks=all and origin coordinator: refused NOT_LEADER_OR_FOLLOWER off the leader,
    /// NOT_ENOUGH_REPLICAS under min.insync.replicas, INVALID_PRODUCER_EPOCH or
    /// TRANSACTION_COORDINATOR_FENCED by the producer state; else `completion` completes once
    /// the high watermark passes the marker (or fails as a delayed produce does).
    pub fn append_txn_marker(
        &mut self,
        context: &mut Context<'_>,
        completion: Completion,
        marker: TransactionMarker,
        timeout_ms: u64,
    ) {
        let acks = crate::protocol::Acks::All;
        let Some(leader_epoch) = self.admit_leader_append(context, &completion, acks) else {
            return;
        };
        let offset =
            match self
                .log
                .append_end_marker_as_leader(context.storage, leader_epoch, marker)
            {
                Ok((offset, _completed)) => offset,
                Err(error) => {
                    if error == ErrorCode::TransactionCoordinatorFenced {
                        context.mark(Mark::TxnMarkerCoordinatorFenced);
                    }
                    complete(context, self.id, &completion, None, Err(error));
                    return;
                }
            };
        self.report_leader_append(context, offset, offset);
        context.event(Event::TxnMarkerAppended {
            partition: self.id,
            producer: marker.producer_id,
            producer_epoch: marker.producer_epoch,
            result: marker.record_type,
            coordinator_epoch: marker.coordinator_epoch,
            offset,
        });
        context.mark(Mark::TxnMarkerAppended);
        // Kafka's `ProducerStateManager.update` clears the producer's verification: an
        // answer still on its way for the transaction this marker ended must not append.
        self.verification_entries.remove(&marker.producer_id);
        self.answer_leader_append(context, completion, acks, (offset, offset), timeout_ms);
    }

    /// The last stable offset and high watermark now, to compare after a change.
    pub(super) fn stable_offsets(&self) -> StableOffsets {
        StableOffsets {
            last_stable_offset: self.log.last_stable_offset(),
            high_watermark: self.log.high_watermark(),
        }
    }

    /// Reports a rise of the last stable offset since `before`, when a transaction held it
    /// below the high watermark then or now. Returns whether it rose.
    pub(super) fn maybe_report_last_stable_offset(
        &self,
        context: &mut Context<'_>,
        before: StableOffsets,
    ) -> bool {
        let after = self.stable_offsets();
        let held = before.last_stable_offset != before.high_watermark
            || after.last_stable_offset != after.high_watermark;
        if !held || after.last_stable_offset <= before.last_stable_offset {
            return false;
        }
        context.event(Event::LastStableOffsetAdvanced {
            partition: self.id,
            from: before.last_stable_offset,
            to: after.last_stable_offset,
        });
        context.mark(Mark::LastStableOffsetAdvanced);
        true
    }
}

/// The answer of a produce request.
fn produce_reply(from: NodeId, request: &ProduceRequest) -> Completion {
    Completion::Reply {
        to: from,
        correlation: request.correlation,
        acks: request.acks,
    }
}
