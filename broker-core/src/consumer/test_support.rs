//! Builders shared by the consumer's unit tests: a configuration, metadata images, and the
//! requests and answers the tests expect.

use super::*;
use crate::config::AutoOffsetReset;
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{LeaderEpoch, PartitionEpoch};
use crate::metadata::{MetadataImage, PartitionState};
use crate::protocol::{
    EpochEndOffset, FetchData, FetchRequest, FetchResponse, ListOffsetsRequest,
    ListOffsetsResponse, MetadataRequest, OffsetSpec, OffsetsForLeaderEpochRequest,
    OffsetsForLeaderEpochResponse,
};
use crate::record::Record;
use crate::topic::TopicPartition;

pub(super) const CLIENT: ClientId = ClientId(1);
pub(super) const P0: TopicPartition = TopicPartition::of_default_topic(0);

pub(super) fn b(id: u32) -> BrokerId {
    BrokerId(id)
}

pub(super) fn config() -> ConsumerConfig {
    ConsumerConfig {
        auto_offset_reset: AutoOffsetReset::Earliest,
        fetch_max_wait_ms: 500,
        max_poll_records: 100,
        request_timeout_ms: 1_000,
        retry_backoff_ms: 100,
        metadata_max_age_ms: 60_000,
        ..ConsumerConfig::default()
    }
}

pub(super) fn image(version: u64, leader: u32, epoch: u32) -> MetadataImage {
    let state = PartitionState {
        partition: P0,
        replicas: vec![b(1), b(2), b(3)],
        leader: Some(b(leader)),
        leader_epoch: LeaderEpoch(epoch),
        isr: vec![b(1), b(2), b(3)],
        partition_epoch: PartitionEpoch(epoch),
        elr: Vec::new(),
        last_known_elr: Vec::new(),
    };
    MetadataImage {
        broker_racks: Default::default(),
        version,
        live_brokers: vec![b(1), b(2), b(3)],
        partitions: [(P0, state)].into_iter().collect(),
    }
}

pub(super) fn message_from(from: u32, message: Message) -> Input {
    Input::Message {
        from: NodeId::Broker(b(from)),
        message,
    }
}

pub(super) fn send_to(to: u32, message: Message) -> Effect {
    Effect::Send {
        to: NodeId::Broker(b(to)),
        message,
    }
}

pub(super) fn metadata_request(to: u32, correlation: u64) -> Effect {
    send_to(
        to,
        Message::Metadata(MetadataRequest {
            correlation: CorrelationId(correlation),
        }),
    )
}

pub(super) fn metadata_response(from: u32, correlation: u64, metadata: MetadataImage) -> Input {
    message_from(
        from,
        Message::MetadataResponse(MetadataResponse {
            correlation: CorrelationId(correlation),
            metadata,
        }),
    )
}

pub(super) fn list_offsets(to: u32, correlation: u64, spec: OffsetSpec) -> Effect {
    send_to(
        to,
        Message::ListOffsets(ListOffsetsRequest {
            correlation: CorrelationId(correlation),
            partition: P0,
            spec,
            isolation_level: crate::protocol::IsolationLevel::ReadUncommitted,
            replica: None,
        }),
    )
}

pub(super) fn list_offsets_response(from: u32, correlation: u64, offset: u64) -> Input {
    message_from(
        from,
        Message::ListOffsetsResponse(ListOffsetsResponse {
            correlation: CorrelationId(correlation),
            partition: P0,
            result: Ok(Offset(offset)),
        }),
    )
}

pub(super) fn fetch(
    to: u32,
    correlation: u64,
    leader_epoch: u32,
    offset: u64,
    last_fetched_epoch: Option<u32>,
) -> Effect {
    send_to(
        to,
        Message::Fetch(FetchRequest {
            rack_id: None,
            correlation: CorrelationId(correlation),
            partition: P0,
            replica: None,
            replica_epoch: None,
            current_leader_epoch: LeaderEpoch(leader_epoch),
            fetch_offset: Offset(offset),
            last_fetched_epoch: last_fetched_epoch.map(LeaderEpoch),
            max_records: 100,
            max_wait_ms: 500,
            isolation_level: crate::protocol::IsolationLevel::ReadUncommitted,
            log_start_offset: None,
        }),
    )
}

/// A fetch response carrying records `(offset, epoch, value)`.
pub(super) fn fetch_response(from: u32, correlation: u64, records: &[(u64, u32, u64)]) -> Input {
    let records: Vec<Record> = records
        .iter()
        .map(|&(offset, epoch, value)| Record {
            offset: Offset(offset),
            leader_epoch: LeaderEpoch(epoch),
            value: Some(crate::record::application_bytes(value)),
            key: None,
            producer_stamp: None,
            headers: Vec::new(),
            is_transactional: false,
            is_control: false,
        })
        .collect();
    let end = records
        .last()
        .map_or(Offset(0), |record| record.offset.next());
    message_from(
        from,
        Message::FetchResponse(FetchResponse {
            correlation: CorrelationId(correlation),
            partition: P0,
            result: Ok(FetchData {
                preferred_read_replica: None,
                records,
                high_watermark: end,
                log_start_offset: Offset(0),
                log_end_offset: end,
                diverging_epoch: None,
                last_stable_offset: end,
                aborted_transactions: Vec::new(),
            }),
        }),
    )
}

pub(super) fn fetch_error(from: u32, correlation: u64, error: ErrorCode) -> Input {
    message_from(
        from,
        Message::FetchResponse(FetchResponse {
            correlation: CorrelationId(correlation),
            partition: P0,
            result: Err(error),
        }),
    )
}

pub(super) fn validate(to: u32, correlation: u64, current_epoch: u32, last_epoch: u32) -> Effect {
    send_to(
        to,
        Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
            correlation: CorrelationId(correlation),
            partition: P0,
            replica: None,
            current_leader_epoch: LeaderEpoch(current_epoch),
            leader_epoch: LeaderEpoch(last_epoch),
        }),
    )
}

pub(super) fn validation_response(
    from: u32,
    correlation: u64,
    epoch: u32,
    end_offset: u64,
) -> Input {
    message_from(
        from,
        Message::OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse {
            correlation: CorrelationId(correlation),
            partition: P0,
            result: Ok(EpochEndOffset {
                leader_epoch: LeaderEpoch(epoch),
                end_offset: Offset(end_offset),
            }),
        }),
    )
}

pub(super) fn polled(records: &[(u64, u64)]) -> Effect {
    Effect::Event(Event::Polled {
        partition: P0,
        records: records
            .iter()
            .map(|&(offset, value)| (Offset(offset), value))
            .collect(),
    })
}

pub(super) fn position_reset(from: Option<u64>, to: u64) -> Effect {
    Effect::Event(Event::PositionReset {
        partition: P0,
        from: from.map(Offset),
        to: Offset(to),
    })
}

/// A consumer of p0 led by b1 in epoch 0, which has consumed offsets 0..3 (epoch 0) and
/// has fetch 4 in flight at offset 3.
pub(super) fn consumer_at_offset_3() -> Consumer {
    consumer_at_offset_3_with(config())
}

pub(super) fn consumer_at_offset_3_with(config: ConsumerConfig) -> Consumer {
    let mut consumer = Consumer::new(CLIENT, config, vec![b(1), b(2)], vec![P0]);
    assert_eq!(
        consumer.handle(0, Input::Start),
        vec![metadata_request(1, 1)]
    );
    assert_eq!(
        consumer.handle(1, metadata_response(1, 1, image(1, 1, 0))),
        vec![list_offsets(1, 2, OffsetSpec::Earliest)]
    );
    assert_eq!(
        consumer.handle(2, list_offsets_response(1, 2, 0)),
        vec![position_reset(None, 0), fetch(1, 3, 0, 0, None)]
    );
    assert_eq!(
        consumer.handle(
            3,
            fetch_response(1, 3, &[(0, 0, 10), (1, 0, 11), (2, 0, 12)])
        ),
        vec![
            polled(&[(0, 10), (1, 11), (2, 12)]),
            fetch(1, 4, 0, 3, Some(0))
        ]
    );
    consumer
}
