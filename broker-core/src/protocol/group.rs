//! The classic consumer group protocol (Kafka's FindCoordinator, JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup, OffsetCommit and OffsetFetch), between a consumer and the broker
//! that coordinates its group: the leader of the group's `__consumer_offsets` partition.
//!
//! Kafka carries a member's subscription and assignment as opaque bytes in JoinGroup and
//! SyncGroup (`ConsumerProtocolSubscription`, `ConsumerProtocolAssignment`), which only the
//! clients decode; here they are typed, and the coordinator still never looks inside them.
//! Errors are Kafka's top-level `error_code` (`None` for success), except OffsetCommit,
//! which answers per partition as Kafka does.

use crate::error::ErrorCode;
use crate::ids::{
    BrokerId, CorrelationId, GenerationId, GroupId, LeaderEpoch, MemberId, Offset, TransactionalId,
};
use crate::topic::{TopicName, TopicPartition};
use serde::{Deserialize, Serialize};

/// What a FindCoordinator asks for (Kafka's `key_type` with its `key`): the coordinator of
/// a consumer group (the leader of the group's `__consumer_offsets` partition) or of a
/// transactional id (the leader of the id's `__transaction_state` partition).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CoordinatorKey {
    Group(GroupId),
    Transaction(TransactionalId),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindCoordinatorRequest {
    pub correlation: CorrelationId,
    pub key: CoordinatorKey,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindCoordinatorResponse {
    pub correlation: CorrelationId,
    pub key: CoordinatorKey,
    /// The broker leading the key's partition, or COORDINATOR_NOT_AVAILABLE.
    pub result: Result<BrokerId, ErrorCode>,
}

/// What a consumer member tells the group leader about itself when it joins (Kafka's
/// `ConsumerProtocolSubscription`): the topics it subscribes to and, for cooperative
/// assignors (KIP-429), the partitions it owns and the generation they were assigned in.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Subscription {
    pub topics: Vec<TopicName>,
    pub owned_partitions: Vec<TopicPartition>,
    pub generation: GenerationId,
}

/// One assignor a joining member supports, with its subscription (Kafka's
/// `JoinGroupRequestProtocol`: the assignor's name and its metadata bytes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinGroupProtocol {
    /// The assignor's name as Kafka spells it: `range`, `roundrobin`, `cooperative-sticky`.
    pub name: String,
    pub metadata: Subscription,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinGroupRequest {
    pub correlation: CorrelationId,
    pub group: GroupId,
    /// How long the coordinator waits without a heartbeat before removing the member
    /// (`session.timeout.ms`).
    pub session_timeout_ms: u64,
    /// How long the coordinator waits for every member to rejoin during a rebalance (the
    /// consumer sends its `max.poll.interval.ms`).
    pub rebalance_timeout_ms: u64,
    /// Unknown (empty) on a member's first join.
    pub member_id: MemberId,
    /// `group.instance.id` for a static member (KIP-345).
    pub group_instance_id: Option<String>,
    /// Always `consumer` for consumers.
    pub protocol_type: String,
    /// The assignors the member supports, in its order of preference.
    pub protocols: Vec<JoinGroupProtocol>,
    /// Why the member (re)joins, for the coordinator's log (KIP-800).
    pub reason: String,
}

/// A member as the group leader sees it in its JoinGroup response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinGroupMember {
    pub member_id: MemberId,
    pub group_instance_id: Option<String>,
    /// The member's subscription for the protocol the group chose.
    pub metadata: Subscription,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinGroupResponse {
    pub correlation: CorrelationId,
    pub error: Option<ErrorCode>,
    pub generation: GenerationId,
    /// The assignor the group chose (`None` on error).
    pub protocol_name: Option<String>,
    pub leader: MemberId,
    /// The member's id: the one handed out, also with MEMBER_ID_REQUIRED (KIP-394).
    pub member_id: MemberId,
    /// Every member with its subscription: filled only in the leader's response.
    pub members: Vec<JoinGroupMember>,
    /// A static leader that rejoined without a change: it must not compute a new
    /// assignment (KIP-814).
    pub skip_assignment: bool,
}

/// The partitions a member is assigned (Kafka's `ConsumerProtocolAssignment`).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Assignment {
    pub partitions: Vec<TopicPartition>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroupRequest {
    pub correlation: CorrelationId,
    pub group: GroupId,
    pub generation: GenerationId,
    pub member_id: MemberId,
    pub group_instance_id: Option<String>,
    pub protocol_type: String,
    pub protocol_name: String,
    /// The leader's assignment of every member; empty from followers.
    pub assignments: Vec<(MemberId, Assignment)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroupResponse {
    pub correlation: CorrelationId,
    pub error: Option<ErrorCode>,
    pub assignment: Assignment,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatRequest {
    pub correlation: CorrelationId,
    pub group: GroupId,
    pub generation: GenerationId,
    pub member_id: MemberId,
    pub group_instance_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    pub correlation: CorrelationId,
    /// REBALANCE_IN_PROGRESS tells a member of the current generation to rejoin.
    pub error: Option<ErrorCode>,
}

/// A member leaving (Kafka's `MemberIdentity`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeavingMember {
    pub member_id: MemberId,
    pub group_instance_id: Option<String>,
    /// Why it leaves (KIP-800), e.g. "consumer poll timeout has expired".
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveGroupRequest {
    pub correlation: CorrelationId,
    pub group: GroupId,
    pub members: Vec<LeavingMember>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveGroupResponse {
    pub correlation: CorrelationId,
    pub error: Option<ErrorCode>,
}

/// A committed position: the offset of the next record the group should read, and the
/// leader epoch of the last record consumed (KIP-320), if known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OffsetAndMetadata {
    pub offset: Offset,
    pub leader_epoch: Option<LeaderEpoch>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetCommitRequest {
    pub correlation: CorrelationId,
    pub group: GroupId,
    /// [`GenerationId::NONE`] for a consumer that assigns its own partitions (a "simple"
    /// group, which the coordinator accepts only while the group has no members).
    pub generation: GenerationId,
    pub member_id: MemberId,
    pub group_instance_id: Option<String>,
    pub offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetCommitResponse {
    pub correlation: CorrelationId,
    /// Every partition of the request with its outcome.
    pub results: Vec<(TopicPartition, Result<(), ErrorCode>)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetFetchRequest {
    pub correlation: CorrelationId,
    pub group: GroupId,
    pub partitions: Vec<TopicPartition>,
    /// KIP-447: answer UNSTABLE_OFFSET_COMMIT for a partition with pending transactional
    /// offsets instead of its committed offset (a read_committed consumer asks so).
    pub require_stable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetFetchResponse {
    pub correlation: CorrelationId,
    /// A group-level error (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, ...).
    pub error: Option<ErrorCode>,
    /// Every partition of the request with its committed position, `None` when the group
    /// has none for it (Kafka's offset -1), or its partition-level error
    /// (UNSTABLE_OFFSET_COMMIT when `require_stable` met pending transactional offsets).
    pub offsets: Vec<(TopicPartition, Result<Option<OffsetAndMetadata>, ErrorCode>)>,
}
