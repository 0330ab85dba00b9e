//! WriteTxnMarkers on a broker (Kafka's `KafkaApis.handleWriteTxnMarkersRequest`): the
//! transaction coordinator asks this broker to end a transaction on the partitions it leads.
//! Each marker of the request is appended to each of its partitions as that partition's
//! leader ([`Partition::append_txn_marker`], acks=all, origin coordinator); the one response
//! goes once every partition's append has ended, committed or failed, with a result per
//! producer and partition. A partition this broker does not host is answered
//! NOT_LEADER_OR_FOLLOWER, as one it hosts but does not lead. A marker committed on a
//! `__consumer_offsets` partition is handed to the group coordinator.
//!
//! Invariant: every waiter token in the table belongs to a pending request whose result
//! for that partition is still unknown, and a request leaves the table when its last result
//! arrives.

use super::Broker;
use crate::actor::Effect;
use crate::error::ErrorCode;
use crate::ids::{CorrelationId, NodeId, ProducerId};
use crate::log::record_batch::ControlRecordType;
use crate::log::TransactionMarker;
use crate::partition::{Completion, LocalCompletion, LocalWaiter};
use crate::protocol::{Message, WriteTxnMarkersRequest, WriteTxnMarkersResponse};
use crate::topic::TopicPartition;
use std::collections::BTreeMap;

/// Marks the waiter tokens of marker appends, apart from the group coordinator's.
const TXN_MARKER_TOKEN_BIT: u64 = 1 << 62;

/// One partition's outcome; `None` while its append waits.
type PendingResult = (TopicPartition, Option<Result<(), ErrorCode>>);

/// A WriteTxnMarkers request whose appends have not all ended.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PendingRequest {
    to: NodeId,
    correlation: CorrelationId,
    /// Per marker, in request order: its producer and each partition's result.
    markers: Vec<(ProducerId, Vec<PendingResult>)>,
    /// Per marker, in request order: COMMIT or ABORT (the group coordinator needs it for a
    /// marker on an offsets partition).
    results: Vec<ControlRecordType>,
}

impl PendingRequest {
    fn is_complete(&self) -> bool {
        self.markers
            .iter()
            .all(|(_, partitions)| partitions.iter().all(|(_, result)| result.is_some()))
    }

    fn response(&self) -> WriteTxnMarkersResponse {
        WriteTxnMarkersResponse {
            correlation: self.correlation,
            markers: self
                .markers
                .iter()
                .map(|(producer, partitions)| {
                    let results = partitions
                        .iter()
                        .map(|&(partition, result)| {
                            (
                                partition,
                                result.expect("a complete request has every result"),
                            )
                        })
                        .collect();
                    (*producer, results)
                })
                .collect(),
        }
    }
}

/// The WriteTxnMarkers requests this broker is answering.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct TxnMarkerWrites {
    next_token: u64,
    next_request: u64,
    requests: BTreeMap<u64, PendingRequest>,
    /// Waiter token → (request, marker index, partition index).
    waiters: BTreeMap<u64, (u64, usize, usize)>,
}

impl TxnMarkerWrites {
    fn owns(waiter: LocalWaiter) -> bool {
        waiter.token & TXN_MARKER_TOKEN_BIT != 0
    }

    /// Files a request and returns its id and each (marker, partition)'s waiter.
    fn register(
        &mut self,
        from: NodeId,
        request: &WriteTxnMarkersRequest,
    ) -> (u64, Vec<Vec<LocalWaiter>>) {
        self.next_request += 1;
        let id = self.next_request;
        let mut waiters = Vec::new();
        for (marker_index, marker) in request.markers.iter().enumerate() {
            let mut marker_waiters = Vec::new();
            for partition_index in 0..marker.partitions.len() {
                self.next_token += 1;
                let token = TXN_MARKER_TOKEN_BIT | self.next_token;
                self.waiters
                    .insert(token, (id, marker_index, partition_index));
                marker_waiters.push(LocalWaiter { token });
            }
            waiters.push(marker_waiters);
        }
        let markers = request
            .markers
            .iter()
            .map(|marker| {
                let partitions = marker.partitions.iter().map(|&tp| (tp, None)).collect();
                (marker.producer_id, partitions)
            })
            .collect();
        self.requests.insert(
            id,
            PendingRequest {
                to: from,
                correlation: request.correlation,
                markers,
                results: request.markers.iter().map(|marker| marker.result).collect(),
            },
        );
        (id, waiters)
    }

    /// The producer and result of the marker a waiter's append wrote.
    fn marker_of(&self, waiter: LocalWaiter) -> Option<(ProducerId, ControlRecordType)> {
        let &(id, marker_index, _) = self.waiters.get(&waiter.token)?;
        let request = self.requests.get(&id)?;
        Some((
            request.markers[marker_index].0,
            request.results[marker_index],
        ))
    }

    /// Records one append's outcome; returns the response if its request is now complete.
    fn on_completion(
        &mut self,
        completion: &LocalCompletion,
    ) -> Option<(NodeId, WriteTxnMarkersResponse)> {
        let (id, marker_index, partition_index) = self.waiters.remove(&completion.waiter.token)?;
        let request = self.requests.get_mut(&id)?;
        request.markers[marker_index].1[partition_index].1 = Some(completion.result.map(|_| ()));
        self.take_if_complete(id)
    }

    fn take_if_complete(&mut self, id: u64) -> Option<(NodeId, WriteTxnMarkersResponse)> {
        if !self.requests.get(&id)?.is_complete() {
            return None;
        }
        let request = self.requests.remove(&id)?;
        Some((request.to, request.response()))
    }
}

impl Broker {
    /// WriteTxnMarkers: append every marker to every partition it names, answer when all
    /// have ended ([`Broker::answer_txn_markers`] sends the response).
    pub(super) fn on_write_txn_markers(
        &mut self,
        now_ms: u64,
        from: NodeId,
        request: &WriteTxnMarkersRequest,
        effects: &mut Vec<Effect>,
    ) {
        let (id, waiters) = self.txn_marker_writes.register(from, request);
        // Kafka gives the appends of a WriteTxnMarkers request the broker's
        // `request.timeout.ms` to be committed.
        let append_timeout_ms = self.config.request_timeout_ms;
        let (mut context, partitions) = self.split(now_ms, effects);
        for (marker, marker_waiters) in request.markers.iter().zip(waiters) {
            let append = TransactionMarker {
                producer_id: marker.producer_id,
                producer_epoch: marker.producer_epoch,
                record_type: marker.result,
                coordinator_epoch: marker.coordinator_epoch,
            };
            for (&partition, waiter) in marker.partitions.iter().zip(marker_waiters) {
                match partitions.get_mut(&partition) {
                    Some(replica) => replica.append_txn_marker(
                        &mut context,
                        Completion::Local(waiter),
                        append,
                        append_timeout_ms,
                    ),
                    None => context.local_completions.push(LocalCompletion {
                        partition,
                        waiter,
                        result: Err(ErrorCode::NotLeaderOrFollower),
                    }),
                }
            }
        }
        // A request without markers is answered at once, with nothing.
        if let Some((to, response)) = self.txn_marker_writes.take_if_complete(id) {
            effects.push(Effect::Send {
                to,
                message: Message::WriteTxnMarkersResponse(response),
            });
        }
    }

    /// Hands the marker appends that ended to their requests and sends every response now
    /// complete. Completions of other waiters stay for them.
    pub(super) fn answer_txn_markers(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        let mine = self.take_local_completions_owned_by(TxnMarkerWrites::owns);
        for completion in mine {
            // A committed marker on an offsets partition ends its producer's pending
            // transactional offsets there. This runs after the group coordinator took its
            // own completions of the step, so offsets committed with the marker are pending
            // by then.
            let marker = self.txn_marker_writes.marker_of(completion.waiter);
            if let (Some(marker), Ok(marker_offset)) = (marker, completion.result) {
                let partition = completion.partition;
                self.on_offsets_txn_marker(now_ms, partition, marker, marker_offset, effects);
            }
            if let Some((to, response)) = self.txn_marker_writes.on_completion(&completion) {
                effects.push(Effect::Send {
                    to,
                    message: Message::WriteTxnMarkersResponse(response),
                });
            }
        }
    }
}
