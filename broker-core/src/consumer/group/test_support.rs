//! Builders for the group consumer's unit tests: a subscribed consumer of the default
//! topic's two partitions (led by b1, coordinator b2), the coordinator's answers made by
//! hand, and a consumer driven to a stable generation.

use crate::actor::{Actor, Effect, Input};
use crate::config::{Assignor, ConsumerConfig};
use crate::consumer::test_support::{b, config, message_from, metadata_response, send_to};
use crate::consumer::{Consumer, ConsumerTimer};
use crate::error::ErrorCode;
use crate::ids::{
    BrokerId, ClientId, CorrelationId, GenerationId, GroupId, LeaderEpoch, MemberId, Offset,
    PartitionEpoch,
};
use crate::metadata::{MetadataImage, PartitionState};
use crate::protocol::{
    Assignment, CoordinatorKey, FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatRequest,
    HeartbeatResponse, JoinGroupMember, JoinGroupProtocol, JoinGroupRequest, JoinGroupResponse,
    Message, MetadataRequest, OffsetAndMetadata, OffsetCommitRequest, OffsetCommitResponse,
    OffsetFetchRequest, OffsetFetchResponse, Subscription, SyncGroupRequest, SyncGroupResponse,
};
use crate::topic::TopicPartition;

pub(crate) const CLIENT: ClientId = ClientId(1);
pub(crate) const T0: TopicPartition = TopicPartition::of_default_topic(0);
pub(crate) const T1: TopicPartition = TopicPartition::of_default_topic(1);
pub(crate) const COORDINATOR: u32 = 2;

pub(crate) fn group() -> GroupId {
    GroupId("g".to_string())
}

pub(crate) fn member() -> MemberId {
    MemberId("m1".to_string())
}

/// The group settings the tests use: small timeouts so their arithmetic reads easily.
pub(crate) fn group_config() -> ConsumerConfig {
    ConsumerConfig {
        group_id: Some("g".to_string()),
        session_timeout_ms: 10_000,
        heartbeat_interval_ms: 3_000,
        max_poll_interval_ms: 20_000,
        auto_commit_interval_ms: 5_000,
        partition_assignment_strategy: vec![Assignor::Range],
        default_api_timeout_ms: 4_000,
        max_poll_records: 2,
        // Longer than every scenario here, so only the timeouts under test fire.
        request_timeout_ms: 30_000,
        ..config()
    }
}

pub(crate) fn cooperative_config() -> ConsumerConfig {
    ConsumerConfig {
        partition_assignment_strategy: vec![Assignor::CooperativeSticky],
        ..group_config()
    }
}

/// Both partitions of the default topic, led by b1 in epoch 0.
pub(crate) fn two_partition_image() -> MetadataImage {
    let state = |partition| PartitionState {
        partition,
        replicas: vec![b(1), b(2), b(3)],
        leader: Some(b(1)),
        leader_epoch: LeaderEpoch(0),
        isr: vec![b(1), b(2), b(3)],
        partition_epoch: PartitionEpoch(0),
        elr: Vec::new(),
        last_known_elr: Vec::new(),
    };
    MetadataImage {
        broker_racks: Default::default(),
        version: 1,
        live_brokers: vec![b(1), b(2), b(3)],
        partitions: [(T0, state(T0)), (T1, state(T1))].into_iter().collect(),
    }
}

pub(crate) fn find_coordinator(to: u32, correlation: u64) -> Effect {
    send_to(
        to,
        Message::FindCoordinator(FindCoordinatorRequest {
            correlation: CorrelationId(correlation),
            key: CoordinatorKey::Group(group()),
        }),
    )
}

pub(crate) fn coordinator_found(from: u32, correlation: u64, coordinator: u32) -> Input {
    message_from(
        from,
        Message::FindCoordinatorResponse(FindCoordinatorResponse {
            correlation: CorrelationId(correlation),
            key: CoordinatorKey::Group(group()),
            result: Ok(BrokerId(coordinator)),
        }),
    )
}

pub(crate) fn join(
    config: &ConsumerConfig,
    correlation: u64,
    member_id: MemberId,
    owned: &[TopicPartition],
    generation: GenerationId,
    reason: &str,
) -> Effect {
    let subscription = Subscription {
        topics: vec![T0.topic],
        owned_partitions: owned.to_vec(),
        generation,
    };
    send_to(
        COORDINATOR,
        Message::JoinGroup(JoinGroupRequest {
            correlation: CorrelationId(correlation),
            group: group(),
            session_timeout_ms: config.session_timeout_ms,
            rebalance_timeout_ms: config.max_poll_interval_ms,
            member_id,
            group_instance_id: config.group_instance_id.clone(),
            protocol_type: "consumer".to_string(),
            protocols: config
                .partition_assignment_strategy
                .iter()
                .map(|assignor| JoinGroupProtocol {
                    name: assignor.protocol_name().to_string(),
                    metadata: subscription.clone(),
                })
                .collect(),
            reason: reason.to_string(),
        }),
    )
}

pub(crate) fn join_error(correlation: u64, error: ErrorCode, member_id: MemberId) -> Input {
    message_from(
        COORDINATOR,
        Message::JoinGroupResponse(JoinGroupResponse {
            correlation: CorrelationId(correlation),
            error: Some(error),
            generation: GenerationId::NONE,
            protocol_name: None,
            leader: MemberId::unknown(),
            member_id,
            members: Vec::new(),
            skip_assignment: false,
        }),
    )
}

/// A JoinGroup answer making `member()` the leader of a one-member group.
pub(crate) fn joined_as_leader(
    correlation: u64,
    generation: i32,
    protocol: Assignor,
    owned: &[TopicPartition],
    owned_generation: GenerationId,
) -> Input {
    message_from(
        COORDINATOR,
        Message::JoinGroupResponse(JoinGroupResponse {
            correlation: CorrelationId(correlation),
            error: None,
            generation: GenerationId(generation),
            protocol_name: Some(protocol.protocol_name().to_string()),
            leader: member(),
            member_id: member(),
            members: vec![JoinGroupMember {
                member_id: member(),
                group_instance_id: None,
                metadata: Subscription {
                    topics: vec![T0.topic],
                    owned_partitions: owned.to_vec(),
                    generation: owned_generation,
                },
            }],
            skip_assignment: false,
        }),
    )
}

pub(crate) fn sync(
    correlation: u64,
    generation: i32,
    protocol: Assignor,
    assignments: Vec<(MemberId, Assignment)>,
) -> Effect {
    sync_as(member(), correlation, generation, protocol, assignments)
}

/// The SyncGroup of `member_id`.
pub(crate) fn sync_as(
    member_id: MemberId,
    correlation: u64,
    generation: i32,
    protocol: Assignor,
    assignments: Vec<(MemberId, Assignment)>,
) -> Effect {
    send_to(
        COORDINATOR,
        Message::SyncGroup(SyncGroupRequest {
            correlation: CorrelationId(correlation),
            group: group(),
            generation: GenerationId(generation),
            member_id,
            group_instance_id: None,
            protocol_type: "consumer".to_string(),
            protocol_name: protocol.protocol_name().to_string(),
            assignments,
        }),
    )
}

pub(crate) fn synced(correlation: u64, partitions: &[TopicPartition]) -> Input {
    message_from(
        COORDINATOR,
        Message::SyncGroupResponse(SyncGroupResponse {
            correlation: CorrelationId(correlation),
            error: None,
            assignment: Assignment {
                partitions: partitions.to_vec(),
            },
        }),
    )
}

pub(crate) fn sync_error(correlation: u64, error: ErrorCode) -> Input {
    message_from(
        COORDINATOR,
        Message::SyncGroupResponse(SyncGroupResponse {
            correlation: CorrelationId(correlation),
            error: Some(error),
            assignment: Assignment::default(),
        }),
    )
}

/// A JoinGroup answer naming `member_id` in a generation led by `leader`, with the
/// members' subscriptions to the default topic (the leader's answer lists them; a
/// follower's is empty).
pub(crate) fn joined(
    correlation: u64,
    generation: i32,
    leader: MemberId,
    member_id: MemberId,
    members: &[MemberId],
) -> Input {
    message_from(
        COORDINATOR,
        Message::JoinGroupResponse(JoinGroupResponse {
            correlation: CorrelationId(correlation),
            error: None,
            generation: GenerationId(generation),
            protocol_name: Some(Assignor::Range.protocol_name().to_string()),
            leader,
            member_id,
            members: members
                .iter()
                .map(|member_id| JoinGroupMember {
                    member_id: member_id.clone(),
                    group_instance_id: None,
                    metadata: Subscription {
                        topics: vec![T0.topic],
                        owned_partitions: Vec::new(),
                        generation: GenerationId::NONE,
                    },
                })
                .collect(),
            skip_assignment: false,
        }),
    )
}

pub(crate) fn offset_fetch_error(correlation: u64, error: ErrorCode) -> Input {
    message_from(
        COORDINATOR,
        Message::OffsetFetchResponse(OffsetFetchResponse {
            correlation: CorrelationId(correlation),
            error: Some(error),
            offsets: Vec::new(),
        }),
    )
}

/// A consumer with a coordinator that polled once and sent its JoinGroup (correlation 3),
/// answered as the only member and leader of generation 1: its SyncGroup (4) is in flight.
pub(crate) fn syncing_consumer(config: ConsumerConfig) -> Consumer {
    let protocol = config.partition_assignment_strategy[0];
    let mut consumer = consumer_with_coordinator(config);
    consumer.poll(10);
    let effects = consumer.handle(
        10,
        joined_as_leader(3, 1, protocol, &[], GenerationId::NONE),
    );
    assert!(matches!(&sent(&effects)[..], [Message::SyncGroup(_)]));
    consumer
}

pub(crate) fn heartbeat(correlation: u64, generation: i32) -> Effect {
    send_to(
        COORDINATOR,
        Message::Heartbeat(HeartbeatRequest {
            correlation: CorrelationId(correlation),
            group: group(),
            generation: GenerationId(generation),
            member_id: member(),
            group_instance_id: None,
        }),
    )
}

pub(crate) fn heartbeat_answer(correlation: u64, error: Option<ErrorCode>) -> Input {
    message_from(
        COORDINATOR,
        Message::HeartbeatResponse(HeartbeatResponse {
            correlation: CorrelationId(correlation),
            error,
        }),
    )
}

pub(crate) fn offset_fetch(correlation: u64, partitions: &[TopicPartition]) -> Effect {
    send_to(
        COORDINATOR,
        Message::OffsetFetch(OffsetFetchRequest {
            correlation: CorrelationId(correlation),
            group: group(),
            partitions: partitions.to_vec(),
            require_stable: false,
        }),
    )
}

/// The OffsetFetch a read_committed consumer sends (KIP-447: `require_stable`).
pub(crate) fn offset_fetch_stable(correlation: u64, partitions: &[TopicPartition]) -> Effect {
    send_to(
        COORDINATOR,
        Message::OffsetFetch(OffsetFetchRequest {
            correlation: CorrelationId(correlation),
            group: group(),
            partitions: partitions.to_vec(),
            require_stable: true,
        }),
    )
}

/// An OffsetFetch answer with UNSTABLE_OFFSET_COMMIT for `unstable` and no offset for the
/// other partitions.
pub(crate) fn unstable_offsets(
    correlation: u64,
    partitions: &[TopicPartition],
    unstable: TopicPartition,
) -> Input {
    message_from(
        COORDINATOR,
        Message::OffsetFetchResponse(OffsetFetchResponse {
            correlation: CorrelationId(correlation),
            error: None,
            offsets: partitions
                .iter()
                .map(|&partition| match partition == unstable {
                    true => (partition, Err(ErrorCode::UnstableOffsetCommit)),
                    false => (partition, Ok(None)),
                })
                .collect(),
        }),
    )
}

pub(crate) fn committed_offsets(
    correlation: u64,
    offsets: &[(TopicPartition, Option<u64>)],
) -> Input {
    message_from(
        COORDINATOR,
        Message::OffsetFetchResponse(OffsetFetchResponse {
            correlation: CorrelationId(correlation),
            error: None,
            offsets: offsets
                .iter()
                .map(|&(partition, offset)| {
                    let committed = offset.map(|offset| OffsetAndMetadata {
                        offset: Offset(offset),
                        leader_epoch: None,
                    });
                    (partition, Ok(committed))
                })
                .collect(),
        }),
    )
}

pub(crate) fn offset_commit(
    correlation: u64,
    generation: i32,
    offsets: &[(TopicPartition, u64, Option<u32>)],
) -> Effect {
    send_to(
        COORDINATOR,
        Message::OffsetCommit(OffsetCommitRequest {
            correlation: CorrelationId(correlation),
            group: group(),
            generation: GenerationId(generation),
            member_id: member(),
            group_instance_id: None,
            offsets: offsets
                .iter()
                .map(|&(partition, offset, epoch)| {
                    let committed = OffsetAndMetadata {
                        offset: Offset(offset),
                        leader_epoch: epoch.map(LeaderEpoch),
                    };
                    (partition, committed)
                })
                .collect(),
        }),
    )
}

pub(crate) fn commit_answer(
    correlation: u64,
    partitions: &[TopicPartition],
    result: Result<(), ErrorCode>,
) -> Input {
    message_from(
        COORDINATOR,
        Message::OffsetCommitResponse(OffsetCommitResponse {
            correlation: CorrelationId(correlation),
            results: partitions
                .iter()
                .map(|partition| (*partition, result))
                .collect(),
        }),
    )
}

/// The messages among `effects`, in order.
pub(crate) fn sent(effects: &[Effect]) -> Vec<Message> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Send { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// A subscribed consumer that found its coordinator (b2) and has metadata; nothing in
/// flight, the next correlation id is 3.
pub(crate) fn consumer_with_coordinator(config: ConsumerConfig) -> Consumer {
    let mut consumer = Consumer::subscribed(CLIENT, config, vec![b(1)], vec![T0.topic]);
    assert_eq!(
        consumer.handle(0, Input::Start),
        vec![
            send_to(
                1,
                Message::Metadata(MetadataRequest {
                    correlation: CorrelationId(1)
                })
            ),
            find_coordinator(1, 2),
        ]
    );
    assert_eq!(
        consumer.handle(1, metadata_response(1, 1, two_partition_image())),
        vec![]
    );
    assert_eq!(
        consumer.handle(2, coordinator_found(1, 2, COORDINATOR)),
        vec![]
    );
    consumer
}

/// Drives a consumer with a coordinator through a first join as the only member (leader)
/// at time 10: generation 1, both partitions assigned; OffsetFetch is correlation 5.
pub(crate) fn stable_consumer(config: ConsumerConfig) -> Consumer {
    let protocol = config.partition_assignment_strategy[0];
    let mut consumer = consumer_with_coordinator(config.clone());
    let outcome = consumer.poll(10);
    assert_eq!(
        sent(&outcome.effects),
        sent(&[join(
            &config,
            3,
            MemberId::unknown(),
            &[],
            GenerationId::NONE,
            ""
        )])
    );
    let effects = consumer.handle(
        10,
        joined_as_leader(3, 1, protocol, &[], GenerationId::NONE),
    );
    let assignment = vec![(
        member(),
        Assignment {
            partitions: vec![T0, T1],
        },
    )];
    assert_eq!(effects, vec![sync(4, 1, protocol, assignment)]);
    let effects = consumer.handle(10, synced(4, &[T0, T1]));
    assert_eq!(sent(&effects), sent(&[offset_fetch(5, &[T0, T1])]));
    consumer
}

pub(crate) fn timer_deadline(
    consumer: &Consumer,
    timer: crate::consumer::GroupTimer,
) -> Option<u64> {
    consumer.timers.deadline_ms(ConsumerTimer::Group(timer))
}
