//! Where each message a broker receives goes (Kafka's `KafkaApis`, reduced): controller
//! traffic to the broker's life cycle, partition requests and responses to the partition
//! they name, metadata requests to the broker itself, producer-id requests and the
//! controller's block answers to the producer-id manager, transaction markers to the
//! partitions they name. A request for a partition this broker
//! does not host is answered NotLeaderOrFollower; anything else it cannot serve is dropped,
//! as a broker drops what it cannot route.

use super::Broker;
use crate::actor::Effect;
use crate::error::ErrorCode;
use crate::ids::NodeId;
use crate::partition::Completion;
use crate::protocol::{
    FetchResponse, ListOffsetsResponse, Message, MetadataResponse, OffsetsForLeaderEpochResponse,
};
use crate::topic::TopicPartition;

/// What serves a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// The broker's life cycle: registration, heartbeat and metadata from the controller.
    Lifecycle,
    /// The broker's metadata cache, for clients.
    MetadataCache,
    /// One hosted partition.
    Partition(TopicPartition),
    /// The group coordinator (group requests; FindCoordinator, which any broker answers).
    Coordinator,
    /// Transaction markers from a transaction coordinator, for the partitions they name
    /// (`txn_markers.rs`).
    TxnMarkers,
    /// Producer ids: InitProducerId (any broker answers an idempotent producer; a
    /// transactional id's goes on to the transaction coordinator) and the controller's
    /// AllocateProducerIds answers.
    ProducerIds,
    /// The transaction coordinator: a producer's AddPartitionsToTxn, AddOffsetsToTxn and
    /// EndTxn, a leader's AddPartitionsToTxn (KIP-890), and the leaders' answers to its
    /// WriteTxnMarkers.
    TransactionCoordinator,
    /// A transactional produce, held while its transaction is verified, and the transaction
    /// coordinators' answers to the verifications (`transaction_verification.rs`).
    TransactionVerification,
    /// Nothing on a broker serves it (controller requests, client responses).
    Nowhere,
}

/// The route of `message` from `from`. Controller messages count only from the controller.
pub fn route(from: NodeId, message: &Message) -> Route {
    let from_controller = from == NodeId::Controller;
    match message {
        Message::BrokerRegistrationResponse(_)
        | Message::BrokerHeartbeatResponse(_)
        | Message::MetadataUpdate(_)
            if from_controller =>
        {
            Route::Lifecycle
        }
        Message::AlterPartitionResponse(response) if from_controller => {
            Route::Partition(response.partition)
        }
        Message::AllocateProducerIdsResponse(_) if from_controller => Route::ProducerIds,
        Message::InitProducerId(_) => Route::ProducerIds,
        Message::Metadata(_) => Route::MetadataCache,
        Message::WriteTxnMarkers(_) => Route::TxnMarkers,
        Message::Produce(request) if request.transactional_id.is_some() => {
            Route::TransactionVerification
        }
        Message::AddPartitionsToTxnResponse(_) if matches!(from, NodeId::Broker(_)) => {
            Route::TransactionVerification
        }
        Message::Produce(request) => Route::Partition(request.partition),
        Message::ListOffsets(request) => Route::Partition(request.partition),
        Message::Fetch(request) => Route::Partition(request.partition),
        Message::FetchResponse(response) => Route::Partition(response.partition),
        Message::OffsetsForLeaderEpoch(request) => Route::Partition(request.partition),
        Message::OffsetsForLeaderEpochResponse(response) => Route::Partition(response.partition),
        // A leader's answer to a follower that was told OFFSET_OUT_OF_RANGE.
        Message::ListOffsetsResponse(response) if matches!(from, NodeId::Broker(_)) => {
            Route::Partition(response.partition)
        }
        Message::FindCoordinator(_)
        | Message::JoinGroup(_)
        | Message::SyncGroup(_)
        | Message::Heartbeat(_)
        | Message::LeaveGroup(_)
        | Message::OffsetCommit(_)
        | Message::OffsetFetch(_)
        | Message::TxnOffsetCommit(_) => Route::Coordinator,
        Message::AddPartitionsToTxn(_) | Message::AddOffsetsToTxn(_) | Message::EndTxn(_) => {
            Route::TransactionCoordinator
        }
        Message::WriteTxnMarkersResponse(_) if matches!(from, NodeId::Broker(_)) => {
            Route::TransactionCoordinator
        }
        _ => Route::Nowhere,
    }
}

impl Broker {
    pub(super) fn on_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        message: Message,
        effects: &mut Vec<Effect>,
    ) {
        match route(from, &message) {
            Route::Lifecycle => self.on_controller_message(now_ms, message, effects),
            Route::MetadataCache => {
                if let Message::Metadata(request) = message {
                    effects.push(Effect::Send {
                        to: from,
                        message: Message::MetadataResponse(MetadataResponse {
                            correlation: request.correlation,
                            metadata: self.metadata.clone(),
                        }),
                    });
                }
            }
            Route::Partition(partition) => {
                self.on_partition_message(now_ms, from, partition, message, effects)
            }
            Route::Coordinator => self.on_coordinator_message(now_ms, from, message, effects),
            Route::TxnMarkers => {
                if let Message::WriteTxnMarkers(request) = message {
                    self.on_write_txn_markers(now_ms, from, &request, effects)
                }
            }
            Route::ProducerIds => match message {
                Message::InitProducerId(request) => {
                    self.on_init_producer_id(now_ms, from, &request, effects)
                }
                Message::AllocateProducerIdsResponse(response) => {
                    self.on_allocate_producer_ids_response(now_ms, &response, effects)
                }
                _ => {}
            },
            Route::TransactionCoordinator => {
                self.on_transaction_request(now_ms, from, message, effects)
            }
            Route::TransactionVerification => match message {
                Message::Produce(request) => {
                    self.on_transactional_produce(now_ms, from, request, effects)
                }
                Message::AddPartitionsToTxnResponse(response) => {
                    self.on_add_partitions_to_txn_response(now_ms, from, &response, effects)
                }
                _ => {}
            },
            Route::Nowhere => {}
        }
    }

    /// A message for one partition: to the hosted replica, or answered NotLeaderOrFollower.
    fn on_partition_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        partition: TopicPartition,
        message: Message,
        effects: &mut Vec<Effect>,
    ) {
        let (mut context, partitions) = self.split(now_ms, effects);
        let Some(replica) = partitions.get_mut(&partition) else {
            not_hosted(&mut context, from, partition, &message);
            return;
        };
        match message {
            Message::AlterPartitionResponse(response) => {
                replica.handle_alter_partition_response(&mut context, &response)
            }
            Message::Produce(request) => replica.handle_produce(&mut context, from, &request),
            Message::ListOffsets(request) => {
                let result = replica.handle_list_offsets(&request);
                context.effects.push(Effect::Send {
                    to: from,
                    message: Message::ListOffsetsResponse(ListOffsetsResponse {
                        correlation: request.correlation,
                        partition,
                        result,
                    }),
                });
            }
            Message::Fetch(request) => replica.handle_fetch(&mut context, from, &request),
            Message::FetchResponse(response) => {
                replica.handle_fetch_response(&mut context, from, response)
            }
            Message::OffsetsForLeaderEpoch(request) => {
                let result = replica.handle_offsets_for_leader_epoch(&mut context, &request);
                context.effects.push(Effect::Send {
                    to: from,
                    message: Message::OffsetsForLeaderEpochResponse(
                        OffsetsForLeaderEpochResponse {
                            correlation: request.correlation,
                            partition,
                            result,
                        },
                    ),
                });
            }
            Message::OffsetsForLeaderEpochResponse(response) => {
                replica.handle_offsets_for_leader_epoch_response(&mut context, from, &response)
            }
            Message::ListOffsetsResponse(response) => {
                replica.handle_list_offsets_response(&mut context, from, &response)
            }
            _ => {}
        }
    }
}

/// The answer to a request for a partition this broker does not host; responses get none,
/// and an acks=0 produce closes the client's connection (see `partition::refuse`).
pub(super) fn not_hosted(
    context: &mut crate::partition::Context<'_>,
    from: NodeId,
    partition: TopicPartition,
    message: &Message,
) {
    let error = ErrorCode::NotLeaderOrFollower;
    let response = match message {
        Message::Produce(request) => {
            let reply = Completion::Reply {
                to: from,
                correlation: request.correlation,
                acks: request.acks,
            };
            crate::partition::refuse(context, partition, &reply, error);
            return;
        }
        Message::ListOffsets(request) => Message::ListOffsetsResponse(ListOffsetsResponse {
            correlation: request.correlation,
            partition,
            result: Err(error),
        }),
        Message::Fetch(request) => Message::FetchResponse(FetchResponse {
            correlation: request.correlation,
            partition,
            result: Err(error),
        }),
        Message::OffsetsForLeaderEpoch(request) => {
            Message::OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse {
                correlation: request.correlation,
                partition,
                result: Err(error),
            })
        }
        _ => return,
    };
    context.effects.push(Effect::Send {
        to: from,
        message: response,
    });
}
