//! Builders shared by the producer's unit tests: a configuration, metadata images, and the
//! requests, answers and completions the tests expect.

use super::*;
use crate::config::Partitioner as PartitionerConfig;
use crate::error::ErrorCode;
use crate::event::{Event, SendFailure};
use crate::ids::{LeaderEpoch, Offset, PartitionEpoch};
use crate::metadata::{MetadataImage, PartitionState};
use crate::protocol::{Acks, MetadataRequest, MetadataResponse, ProduceRequest, ProduceResponse};
use crate::topic::TopicPartition;

pub(super) const CLIENT: ClientId = ClientId(1);
pub(super) const P0: TopicPartition = TopicPartition::of_default_topic(0);

pub(super) fn b(id: u32) -> BrokerId {
    BrokerId(id)
}

pub(super) fn config() -> ProducerConfig {
    ProducerConfig {
        acks: Acks::Leader,
        retries: 3,
        retry_backoff_ms: 100,
        request_timeout_ms: 1_000,
        delivery_timeout_ms: 5_000,
        max_in_flight_requests_per_connection: 5,
        linger_ms: 0,
        batch_size_records: 16,
        partitioner: PartitionerConfig::Explicit(P0.partition),
        metadata_max_age_ms: 60_000,
        enable_idempotence: Some(false),
        reconnect_backoff_ms: 50,
        reconnect_backoff_max_ms: 1_000,
        socket_connection_setup_timeout_ms: 10_000,
        transactional_id: None,
        transaction_timeout_ms: 60_000,
    }
}

/// An image in which broker `leader` leads every one of `partition_count` partitions.
pub(super) fn image(version: u64, partition_count: u32, leader: u32, epoch: u32) -> MetadataImage {
    let partitions = (0..partition_count)
        .map(|partition| {
            let state = PartitionState {
                partition: TopicPartition::of_default_topic(partition),
                replicas: vec![b(1), b(2), b(3)],
                leader: Some(b(leader)),
                leader_epoch: LeaderEpoch(epoch),
                isr: vec![b(1), b(2), b(3)],
                partition_epoch: PartitionEpoch(epoch),
                elr: Vec::new(),
                last_known_elr: Vec::new(),
            };
            (TopicPartition::of_default_topic(partition), state)
        })
        .collect();
    MetadataImage {
        broker_racks: Default::default(),
        version,
        live_brokers: vec![b(1), b(2), b(3)],
        partitions,
    }
}

pub(super) fn metadata_request(to: u32, correlation: u64) -> Effect {
    Effect::Send {
        to: NodeId::Broker(b(to)),
        message: Message::Metadata(MetadataRequest {
            correlation: CorrelationId(correlation),
        }),
    }
}

pub(super) fn metadata_response(from: u32, correlation: u64, metadata: MetadataImage) -> Input {
    Input::Message {
        from: NodeId::Broker(b(from)),
        message: Message::MetadataResponse(MetadataResponse {
            correlation: CorrelationId(correlation),
            metadata,
        }),
    }
}

pub(super) fn produce(to: u32, correlation: u64, acks: Acks, values: &[u64]) -> Effect {
    Effect::Send {
        to: NodeId::Broker(b(to)),
        message: Message::Produce(ProduceRequest {
            correlation: CorrelationId(correlation),
            partition: P0,
            acks,
            timeout_ms: 1_000,
            records: values
                .iter()
                .map(|&value| ProducerRecord {
                    value: Some(crate::record::application_bytes(value)),
                    key: None,
                    producer_stamp: None,
                    headers: Vec::new(),
                })
                .collect(),
            transactional_id: None,
            transaction_version: crate::protocol::TransactionVersion::V2,
        }),
    }
}

pub(super) fn produce_response(
    from: u32,
    correlation: u64,
    result: Result<Offset, ErrorCode>,
) -> Input {
    Input::Message {
        from: NodeId::Broker(b(from)),
        message: Message::ProduceResponse(ProduceResponse {
            correlation: CorrelationId(correlation),
            partition: P0,
            result,
            log_start_offset: None,
        }),
    }
}

pub(super) fn completed(value: u64, result: Result<Option<Offset>, SendFailure>) -> Effect {
    Effect::Event(Event::SendCompleted {
        value,
        partition: P0,
        result,
    })
}

pub(super) fn acked(value: u64, offset: u64) -> Effect {
    completed(value, Ok(Some(Offset(offset))))
}

pub(super) fn failed(value: u64, error: ErrorCode, definite: bool) -> Effect {
    completed(value, Err(SendFailure { error, definite }))
}

pub(super) fn mark(name: crate::mark::Mark) -> Effect {
    Effect::Mark(name)
}

/// A producer that asked b1 for metadata at 0 and learned at 1 that `leader` leads p0.
pub(super) fn producer_with_metadata(
    config: ProducerConfig,
    bootstrap: &[u32],
    leader: u32,
) -> Producer {
    let bootstrap = bootstrap.iter().map(|&id| b(id)).collect();
    let mut producer = Producer::new(
        CLIENT,
        config,
        bootstrap,
        crate::topic::TopicName::default(),
        1,
    );
    assert_eq!(
        producer.handle(0, Input::Start),
        vec![metadata_request(1, 1)]
    );
    assert_eq!(
        producer.handle(1, metadata_response(1, 1, image(1, 1, leader, 0))),
        vec![]
    );
    producer
}
