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

use super::purgatory::{complete, refuse, Completion, WakeReason};
use super::{summaries, Context, Partition, Role};
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{NodeId, Offset, ProducerId};
use crate::log::TransactionMarker;
use crate::mark::Mark;
use crate::protocol::ProduceRequest;

/// The last stable offset and the high watermark, before something that may move them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct StableOffsets {
    last_stable_offset: Offset,
    high_watermark: Offset,
}

impl Partition {
    /// A produce from a transactional producer (`transactional_id` set): its records are one
    /// transactional batch. The first such batch of a producer with no open transaction here
    /// goes through [`Partition::verify_transaction_then_append`], where KIP-890 part 1 asks
    /// the transaction coordinator first; later batches of the open transaction are
    /// appended at once, as in Kafka.
    pub(super) fn handle_transactional_produce(
        &mut self,
        context: &mut Context<'_>,
        from: NodeId,
        request: &ProduceRequest,
    ) {
        let reply = Completion::Reply {
            to: from,
            correlation: request.correlation,
            acks: request.acks,
        };
        let producer = request
            .records
            .first()
            .and_then(|record| record.producer_stamp)
            .map(|stamp| stamp.producer_id);
        let opens_transaction =
            producer.is_some_and(|producer| !self.has_open_transaction(producer));
        if opens_transaction {
            self.verify_transaction_then_append(context, reply, request);
        } else {
            self.append_and_complete(
                context,
                reply,
                request.acks,
                (&request.records, true),
                request.timeout_ms,
            );
        }
    }

    /// Whether `producer` has a transaction open on this partition.
    fn has_open_transaction(&self, producer: ProducerId) -> bool {
        self.log
            .producer_state()
            .entry(producer)
            .is_some_and(|entry| entry.current_transaction_first_offset.is_some())
    }

    /// The seam for KIP-890 part 1 (server-side transaction verification): before the first
    /// transactional batch of a producer with no open transaction on this partition, Kafka's
    /// `ReplicaManager.appendRecordsWithTransactionVerification` asks the transaction
    /// coordinator (AddPartitionsToTxn with `verify_only`) whether the producer's
    /// transaction is ongoing with this partition in it, and appends only then, so a
    /// delayed batch of an ended transaction cannot open a hanging one. The verification
    /// request flow is not built yet (it belongs with the transaction coordinator): today the
    /// batch is appended directly, as Kafka before 3.6 did.
    fn verify_transaction_then_append(
        &mut self,
        context: &mut Context<'_>,
        reply: Completion,
        request: &ProduceRequest,
    ) {
        self.append_and_complete(
            context,
            reply,
            request.acks,
            (&request.records, true),
            request.timeout_ms,
        );
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
        let (Role::Leader(_), Some(leader_epoch)) = (&self.role, self.leader_epoch) else {
            refuse(
                context,
                self.id,
                &completion,
                ErrorCode::NotLeaderOrFollower,
            );
            return;
        };
        if self.is_under_min_isr() {
            context.mark(Mark::ProduceRejectedNotEnoughReplicas);
            complete(
                context,
                self.id,
                &completion,
                None,
                Err(ErrorCode::NotEnoughReplicas),
            );
            return;
        }
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
        let appended = self.log.read(offset, offset.next(), 1);
        context.event(Event::RecordsAppended {
            partition: self.id,
            as_leader: true,
            records: summaries(&appended),
        });
        context.event(Event::TxnMarkerAppended {
            partition: self.id,
            producer: marker.producer_id,
            producer_epoch: marker.producer_epoch,
            result: marker.record_type,
            coordinator_epoch: marker.coordinator_epoch,
            offset,
        });
        context.mark(Mark::TxnMarkerAppended);
        self.answer_appended(
            context,
            completion,
            crate::protocol::Acks::All,
            (offset, offset),
            timeout_ms,
        );
        self.maybe_increment_high_watermark(context);
        self.wake_parked_fetches(context, WakeReason::NewData, &[]);
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
