//! Writing the markers of ended transactions (Kafka's `TransactionMarkerChannelManager` and
//! `TransactionMarkerRequestCompletionHandler`). Once PrepareCommit or PrepareAbort is
//! written, every partition of the transaction gets a COMMIT or ABORT marker: one
//! WriteTxnMarkers per partition leader (found in the broker's metadata image) carries the
//! markers of every transaction for that leader's partitions. A partition without a leader,
//! a retriable refusal (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, ...), a lost
//! connection or no answer within `request.timeout.ms` sends the marker again after
//! `reconnect.backoff.ms`; an acknowledged partition leaves the transaction, and when none is
//! left the Complete state is written. A marker refused as stale (INVALID_PRODUCER_EPOCH,
//! TRANSACTION_COORDINATOR_FENCED) stops the sending: a newer epoch or coordinator owns the
//! transaction. The markers carry the coordinator epoch (the leader epoch of the transaction
//! log partition), so a deposed coordinator's markers are refused.
//!
//! Invariants: a partition of a transaction is in at most one request in flight; every
//! request in flight has its timeout timer.

use super::records::TransactionLogValue;
use super::TransactionState;
use super::{AfterWrite, TransactionContext, TransactionCoordinator, TransactionTimer};
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{BrokerId, LeaderEpoch, NodeId, ProducerEpoch, ProducerId, TransactionalId};
use crate::log::record_batch::ControlRecordType;
use crate::mark::Mark;
use crate::protocol::{Message, TxnMarker, WriteTxnMarkersRequest, WriteTxnMarkersResponse};
use crate::topic::TopicPartition;
use std::collections::{BTreeMap, BTreeSet};

/// The markers of one ended transaction that are still to be acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PendingMarkers {
    /// The transaction log partition that holds the transaction.
    partition: TopicPartition,
    coordinator_epoch: LeaderEpoch,
    producer_id: ProducerId,
    producer_epoch: ProducerEpoch,
    result: ControlRecordType,
    /// Partitions whose marker is neither acknowledged nor in flight.
    unsent: BTreeSet<TopicPartition>,
    /// The Complete state to write once every marker is acknowledged.
    complete: TransactionLogValue,
}

/// One WriteTxnMarkers in flight: to whom, and which partitions of which transactions.
#[derive(Clone, Debug, PartialEq, Eq)]
struct InFlight {
    broker: BrokerId,
    coordinator_epochs: BTreeMap<TransactionalId, LeaderEpoch>,
    markers: Vec<(TransactionalId, ProducerId, Vec<TopicPartition>)>,
}

/// The transactions whose markers are going out, and the requests carrying them.
#[derive(Clone, Debug, Default)]
pub(super) struct MarkerChannel {
    pending: BTreeMap<TransactionalId, PendingMarkers>,
    in_flight: BTreeMap<u64, InFlight>,
    /// Complete states whose write failed, to write again.
    completions: BTreeMap<TransactionalId, TransactionLogValue>,
}

impl MarkerChannel {
    /// The transactions of `partition` are no longer served here: their markers and
    /// completions are dropped (answers to requests in flight are ignored).
    pub(super) fn forget_partition<'a>(
        &mut self,
        partition: TopicPartition,
        transactions: impl Iterator<Item = &'a TransactionalId>,
    ) {
        for transactional_id in transactions {
            if self
                .pending
                .get(transactional_id)
                .is_some_and(|pending| pending.partition == partition)
            {
                self.pending.remove(transactional_id);
            }
            self.completions.remove(transactional_id);
        }
    }

    /// The Complete state of `transactional_id` could not be written: again at the retry.
    pub(super) fn retry_completion(
        &mut self,
        context: &mut TransactionContext<'_>,
        transactional_id: TransactionalId,
        complete: TransactionLogValue,
    ) {
        self.completions.insert(transactional_id, complete);
        schedule_retry(context);
    }

    /// Puts the partitions of a request that got no usable answer back to be sent.
    fn requeue(&mut self, request: InFlight) {
        for (transactional_id, _, partitions) in request.markers {
            let epoch = request.coordinator_epochs[&transactional_id];
            if let Some(pending) = self
                .pending
                .get_mut(&transactional_id)
                .filter(|pending| pending.coordinator_epoch == epoch)
            {
                pending.unsent.extend(partitions);
            }
        }
    }
}

fn schedule_retry(context: &mut TransactionContext<'_>) {
    let at_ms = context.now_ms + context.config.reconnect_backoff_ms.max(1);
    let next_ms = context
        .timers
        .deadline_ms(crate::broker::BrokerTimer::Transaction(
            TransactionTimer::MarkerRetry,
        ))
        .map_or(at_ms, |deadline_ms| deadline_ms.min(at_ms));
    context.set_timer(TransactionTimer::MarkerRetry, next_ms);
}

impl TransactionCoordinator {
    /// `transactional_id`'s end is written: prepare its completion and queue a marker for
    /// every partition of the transaction (none: complete at once).
    pub(super) fn start_markers(
        &mut self,
        context: &mut TransactionContext<'_>,
        partition: TopicPartition,
        transactional_id: &TransactionalId,
    ) {
        let loaded = self.partitions.get_mut(&partition).expect("served");
        let coordinator_epoch = loaded.coordinator_epoch;
        let metadata = loaded
            .transactions
            .get_mut(transactional_id)
            .expect("just written or loaded");
        let result = if metadata.state == TransactionState::PrepareCommit {
            ControlRecordType::Commit
        } else {
            ControlRecordType::Abort
        };
        let producer = metadata.producer();
        let unsent: BTreeSet<TopicPartition> = metadata.partitions.clone();
        let complete = metadata.prepare_complete(context.now_ms);
        if unsent.is_empty() {
            self.write(partition, transactional_id, complete, AfterWrite::Complete);
            return;
        }
        self.markers.pending.insert(
            transactional_id.clone(),
            PendingMarkers {
                partition,
                coordinator_epoch,
                producer_id: producer.producer_id,
                producer_epoch: producer.epoch,
                result,
                unsent,
                complete,
            },
        );
    }

    /// Sends every unsent marker whose partition has a leader: one request per leader.
    pub(super) fn send_markers(&mut self, context: &mut TransactionContext<'_>) {
        let mut by_leader: BTreeMap<BrokerId, InFlight> = BTreeMap::new();
        let mut leaderless = false;
        for (transactional_id, pending) in &mut self.markers.pending {
            let mut sent_to: BTreeMap<BrokerId, Vec<TopicPartition>> = BTreeMap::new();
            pending.unsent.retain(|partition| {
                match context
                    .metadata
                    .partition(*partition)
                    .and_then(|state| state.leader)
                {
                    Some(leader) => {
                        sent_to.entry(leader).or_default().push(*partition);
                        false
                    }
                    None => {
                        leaderless = true;
                        true
                    }
                }
            });
            for (leader, partitions) in sent_to {
                let request = by_leader.entry(leader).or_insert_with(|| InFlight {
                    broker: leader,
                    coordinator_epochs: BTreeMap::new(),
                    markers: Vec::new(),
                });
                request
                    .coordinator_epochs
                    .insert(transactional_id.clone(), pending.coordinator_epoch);
                request
                    .markers
                    .push((transactional_id.clone(), pending.producer_id, partitions));
            }
        }
        for (leader, request) in by_leader {
            let correlation = context.correlation();
            let markers: Vec<TxnMarker> = request
                .markers
                .iter()
                .map(|(transactional_id, _, partitions)| {
                    let pending = &self.markers.pending[transactional_id];
                    TxnMarker {
                        producer_id: pending.producer_id,
                        producer_epoch: pending.producer_epoch,
                        result: pending.result,
                        partitions: partitions.clone(),
                        coordinator_epoch: pending.coordinator_epoch.0,
                    }
                })
                .collect();
            context.event(Event::TransactionMarkersSent {
                broker: leader,
                markers: request
                    .markers
                    .iter()
                    .map(|(transactional_id, _, partitions)| {
                        let result = self.markers.pending[transactional_id].result;
                        (transactional_id.clone(), result, partitions.clone())
                    })
                    .collect(),
            });
            context.send(
                NodeId::Broker(leader),
                Message::WriteTxnMarkers(WriteTxnMarkersRequest {
                    correlation,
                    markers,
                }),
            );
            context.set_timer(
                TransactionTimer::MarkerRequestTimeout(correlation.0),
                context.now_ms + context.config.request_timeout_ms.max(1),
            );
            self.markers.in_flight.insert(correlation.0, request);
        }
        if leaderless {
            schedule_retry(context);
        }
    }

    pub(super) fn on_write_txn_markers_response(
        &mut self,
        context: &mut TransactionContext<'_>,
        from: NodeId,
        response: &WriteTxnMarkersResponse,
    ) {
        let correlation = response.correlation.0;
        let Some(request) = self
            .markers
            .in_flight
            .get(&correlation)
            .filter(|request| NodeId::Broker(request.broker) == from)
            .cloned()
        else {
            return;
        };
        self.markers.in_flight.remove(&correlation);
        context.cancel_timer(TransactionTimer::MarkerRequestTimeout(correlation));
        let mut retry = false;
        let mut done: Vec<TransactionalId> = Vec::new();
        for (transactional_id, producer_id, partitions) in &request.markers {
            let epoch = request.coordinator_epochs[transactional_id];
            let Some(pending) = self
                .markers
                .pending
                .get_mut(transactional_id)
                .filter(|pending| pending.coordinator_epoch == epoch)
            else {
                continue;
            };
            let Some(metadata) = self
                .partitions
                .get_mut(&pending.partition)
                .filter(|loaded| loaded.coordinator_epoch == epoch)
                .and_then(|loaded| loaded.transactions.get_mut(transactional_id))
            else {
                continue;
            };
            let results = response
                .markers
                .iter()
                .find(|(answered, _)| answered == producer_id)
                .map(|(_, results)| results.as_slice())
                .unwrap_or_default();
            let mut abort_sending = false;
            for partition in partitions {
                let result = results
                    .iter()
                    .find(|(answered, _)| answered == partition)
                    .map_or(Err(ErrorCode::NetworkException), |(_, result)| *result);
                match result {
                    Ok(()) => {
                        metadata.partitions.remove(partition);
                    }
                    Err(
                        ErrorCode::InvalidProducerEpoch | ErrorCode::TransactionCoordinatorFenced,
                    ) => {
                        abort_sending = true;
                    }
                    Err(_) => {
                        pending.unsent.insert(*partition);
                        retry = true;
                    }
                }
            }
            if abort_sending {
                self.markers.pending.remove(transactional_id);
            } else if metadata.partitions.is_empty() {
                done.push(transactional_id.clone());
            }
        }
        for transactional_id in done {
            let pending = self
                .markers
                .pending
                .remove(&transactional_id)
                .expect("listed above");
            self.write(
                pending.partition,
                &transactional_id,
                pending.complete,
                AfterWrite::Complete,
            );
        }
        if retry {
            context.mark(Mark::TransactionMarkersRetried);
            schedule_retry(context);
        }
    }

    /// The retry timer fired: completions that failed are written again, and unsent markers
    /// go.
    pub(super) fn on_marker_retry(&mut self, context: &mut TransactionContext<'_>) {
        for (transactional_id, complete) in std::mem::take(&mut self.markers.completions) {
            let partition = context.partition_of(&transactional_id);
            if self.partitions.contains_key(&partition) {
                self.write(partition, &transactional_id, complete, AfterWrite::Complete);
            }
        }
        self.send_markers(context);
    }

    /// A WriteTxnMarkers got no answer in time: its markers go again.
    pub(super) fn on_marker_request_timeout(
        &mut self,
        context: &mut TransactionContext<'_>,
        correlation: u64,
    ) {
        if let Some(request) = self.markers.in_flight.remove(&correlation) {
            self.markers.requeue(request);
            context.mark(Mark::TransactionMarkersRetried);
            schedule_retry(context);
        }
    }

    /// The connection to `broker` closed: the markers in flight to it go again.
    pub fn on_broker_connection_closed(
        &mut self,
        context: &mut TransactionContext<'_>,
        broker: BrokerId,
    ) {
        let lost: Vec<u64> = self
            .markers
            .in_flight
            .iter()
            .filter(|(_, request)| request.broker == broker)
            .map(|(correlation, _)| *correlation)
            .collect();
        for correlation in &lost {
            let request = self.markers.in_flight.remove(correlation).expect("listed");
            context.cancel_timer(TransactionTimer::MarkerRequestTimeout(*correlation));
            self.markers.requeue(request);
        }
        if !lost.is_empty() {
            context.mark(Mark::TransactionMarkersRetried);
            schedule_retry(context);
        }
    }
}
