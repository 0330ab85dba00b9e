//! The wire protocol between nodes: Kafka's requests and responses as structs shaped like
//! Kafka's message schemas, reduced to the fields the replication and delivery semantics
//! depend on, one file per API family. A [`Message`] is delivered in order per
//! (sender, receiver) link, or not at all. Handlers take a request whole
//! (docs/STYLE.md, rule 13).

mod alter_partition;
mod broker_lifecycle;
mod delete_records;
mod fetch;
mod group;
mod list_offsets;
mod metadata;
mod offsets_for_leader_epoch;
mod produce;
mod producer_id;
mod txn;

pub use alter_partition::{AlterPartitionRequest, AlterPartitionResponse, BrokerState};
pub use broker_lifecycle::{
    BrokerHeartbeatRequest, BrokerHeartbeatResponse, BrokerRegistrationRequest,
    BrokerRegistrationResponse,
};
pub use delete_records::{
    DeleteRecordsOffset, DeleteRecordsRequest, DeleteRecordsResponse,
    DELETE_RECORDS_DEFAULT_TIMEOUT_MS,
};
pub use fetch::{FetchData, FetchRequest, FetchResponse};
pub use group::{
    Assignment, CoordinatorKey, FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatRequest,
    HeartbeatResponse, JoinGroupMember, JoinGroupProtocol, JoinGroupRequest, JoinGroupResponse,
    LeaveGroupRequest, LeaveGroupResponse, LeavingMember, OffsetAndMetadata, OffsetCommitRequest,
    OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse, Subscription, SyncGroupRequest,
    SyncGroupResponse,
};
pub use list_offsets::{ListOffsetsRequest, ListOffsetsResponse, OffsetSpec};
pub use metadata::{MetadataRequest, MetadataResponse, MetadataUpdate};
pub use offsets_for_leader_epoch::{
    EpochEndOffset, OffsetsForLeaderEpochRequest, OffsetsForLeaderEpochResponse,
};
pub use produce::{Acks, ProduceRequest, ProduceResponse, TransactionVersion};
pub use producer_id::{
    AllocateProducerIdsRequest, AllocateProducerIdsResponse, InitProducerIdRequest,
    InitProducerIdResponse, ProducerIdAndEpoch, ProducerIdBlock,
};
pub use txn::{
    AbortedTransaction, AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse, ConsumerGroupMetadata, EndTxnRequest, EndTxnResponse,
    IsolationLevel, PartitionResult, TxnMarker, TxnOffsetCommitRequest, TxnOffsetCommitResponse,
    WriteTxnMarkersRequest, WriteTxnMarkersResponse,
};

use serde::{Deserialize, Serialize};

/// Every message a node can send: one variant per request or response type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    // ---- broker ↔ controller (KRaft's broker lifecycle and AlterPartition) ----
    BrokerRegistration(BrokerRegistrationRequest),
    BrokerRegistrationResponse(BrokerRegistrationResponse),
    BrokerHeartbeat(BrokerHeartbeatRequest),
    BrokerHeartbeatResponse(BrokerHeartbeatResponse),
    AlterPartition(AlterPartitionRequest),
    AlterPartitionResponse(AlterPartitionResponse),
    MetadataUpdate(MetadataUpdate),

    // ---- clients ↔ brokers ----
    Metadata(MetadataRequest),
    MetadataResponse(MetadataResponse),
    Produce(ProduceRequest),
    ProduceResponse(ProduceResponse),
    ListOffsets(ListOffsetsRequest),
    ListOffsetsResponse(ListOffsetsResponse),

    // ---- fetch: followers and consumers ----
    Fetch(FetchRequest),
    FetchResponse(FetchResponse),
    OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest),
    OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse),

    // ---- consumers ↔ group coordinator (classic protocol) ----
    FindCoordinator(FindCoordinatorRequest),
    FindCoordinatorResponse(FindCoordinatorResponse),
    JoinGroup(JoinGroupRequest),
    JoinGroupResponse(JoinGroupResponse),
    SyncGroup(SyncGroupRequest),
    SyncGroupResponse(SyncGroupResponse),
    Heartbeat(HeartbeatRequest),
    HeartbeatResponse(HeartbeatResponse),
    LeaveGroup(LeaveGroupRequest),
    LeaveGroupResponse(LeaveGroupResponse),
    OffsetCommit(OffsetCommitRequest),
    OffsetCommitResponse(OffsetCommitResponse),
    OffsetFetch(OffsetFetchRequest),
    OffsetFetchResponse(OffsetFetchResponse),

    // ---- producer ids: clients ↔ brokers, brokers ↔ controller ----
    InitProducerId(InitProducerIdRequest),
    InitProducerIdResponse(InitProducerIdResponse),
    AllocateProducerIds(AllocateProducerIdsRequest),
    AllocateProducerIdsResponse(AllocateProducerIdsResponse),

    // ---- transactions: producers ↔ coordinators, leaders ↔ transaction coordinators ----
    AddPartitionsToTxn(AddPartitionsToTxnRequest),
    AddPartitionsToTxnResponse(AddPartitionsToTxnResponse),
    AddOffsetsToTxn(AddOffsetsToTxnRequest),
    AddOffsetsToTxnResponse(AddOffsetsToTxnResponse),
    EndTxn(EndTxnRequest),
    EndTxnResponse(EndTxnResponse),
    TxnOffsetCommit(TxnOffsetCommitRequest),
    TxnOffsetCommitResponse(TxnOffsetCommitResponse),
    WriteTxnMarkers(WriteTxnMarkersRequest),
    WriteTxnMarkersResponse(WriteTxnMarkersResponse),
}

impl Message {
    /// A short name for traces and per-link message counts: Kafka's API name for a request,
    /// with `Response` appended for its answer.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::BrokerRegistration(_) => "BrokerRegistration",
            Message::BrokerRegistrationResponse(_) => "BrokerRegistrationResponse",
            Message::BrokerHeartbeat(_) => "BrokerHeartbeat",
            Message::BrokerHeartbeatResponse(_) => "BrokerHeartbeatResponse",
            Message::AlterPartition(_) => "AlterPartition",
            Message::AlterPartitionResponse(_) => "AlterPartitionResponse",
            Message::MetadataUpdate(_) => "MetadataUpdate",
            Message::Metadata(_) => "Metadata",
            Message::MetadataResponse(_) => "MetadataResponse",
            Message::Produce(_) => "Produce",
            Message::ProduceResponse(_) => "ProduceResponse",
            Message::ListOffsets(_) => "ListOffsets",
            Message::ListOffsetsResponse(_) => "ListOffsetsResponse",
            Message::Fetch(_) => "Fetch",
            Message::FetchResponse(_) => "FetchResponse",
            Message::OffsetsForLeaderEpoch(_) => "OffsetsForLeaderEpoch",
            Message::OffsetsForLeaderEpochResponse(_) => "OffsetsForLeaderEpochResponse",
            Message::FindCoordinator(_) => "FindCoordinator",
            Message::FindCoordinatorResponse(_) => "FindCoordinatorResponse",
            Message::JoinGroup(_) => "JoinGroup",
            Message::JoinGroupResponse(_) => "JoinGroupResponse",
            Message::SyncGroup(_) => "SyncGroup",
            Message::SyncGroupResponse(_) => "SyncGroupResponse",
            Message::Heartbeat(_) => "Heartbeat",
            Message::HeartbeatResponse(_) => "HeartbeatResponse",
            Message::LeaveGroup(_) => "LeaveGroup",
            Message::LeaveGroupResponse(_) => "LeaveGroupResponse",
            Message::OffsetCommit(_) => "OffsetCommit",
            Message::OffsetCommitResponse(_) => "OffsetCommitResponse",
            Message::OffsetFetch(_) => "OffsetFetch",
            Message::OffsetFetchResponse(_) => "OffsetFetchResponse",
            Message::InitProducerId(_) => "InitProducerId",
            Message::InitProducerIdResponse(_) => "InitProducerIdResponse",
            Message::AllocateProducerIds(_) => "AllocateProducerIds",
            Message::AllocateProducerIdsResponse(_) => "AllocateProducerIdsResponse",
            Message::AddPartitionsToTxn(_) => "AddPartitionsToTxn",
            Message::AddPartitionsToTxnResponse(_) => "AddPartitionsToTxnResponse",
            Message::AddOffsetsToTxn(_) => "AddOffsetsToTxn",
            Message::AddOffsetsToTxnResponse(_) => "AddOffsetsToTxnResponse",
            Message::EndTxn(_) => "EndTxn",
            Message::EndTxnResponse(_) => "EndTxnResponse",
            Message::TxnOffsetCommit(_) => "TxnOffsetCommit",
            Message::TxnOffsetCommitResponse(_) => "TxnOffsetCommitResponse",
            Message::WriteTxnMarkers(_) => "WriteTxnMarkers",
            Message::WriteTxnMarkersResponse(_) => "WriteTxnMarkersResponse",
        }
    }
}
