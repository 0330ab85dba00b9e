//! Transactions (KIP-98, KIP-447, KIP-890): the requests a transactional producer sends its
//! transaction coordinator (AddPartitionsToTxn, AddOffsetsToTxn, EndTxn), the one it sends
//! the group coordinator (TxnOffsetCommit), the one a partition leader sends the transaction
//! coordinator to verify a transactional produce (AddPartitionsToTxn with `verify_only`,
//! KIP-890 part 1), and the markers the transaction coordinator writes to every partition of
//! a transaction (WriteTxnMarkers).

use crate::error::ErrorCode;
use crate::ids::{
    CorrelationId, GenerationId, GroupId, MemberId, Offset, ProducerId, TransactionalId,
};
use crate::log::record_batch::ControlRecordType;
use crate::protocol::{OffsetAndMetadata, ProducerIdAndEpoch};
use crate::topic::TopicPartition;
use serde::{Deserialize, Serialize};

/// What a consumer may read (`isolation.level`).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum IsolationLevel {
    /// Everything below the high watermark, aborted transactions included (Kafka's default).
    #[default]
    ReadUncommitted,
    /// Only below the last stable offset, without the records of aborted transactions.
    ReadCommitted,
}

/// One partition's outcome in a multi-partition answer.
pub type PartitionResult = (TopicPartition, Result<(), ErrorCode>);

/// AddPartitionsToTxn. From a producer (`verify_only: false`): the partitions it is about to
/// write in its ongoing transaction. From a partition leader (`verify_only: true`, KIP-890
/// part 1): is this producer's transaction ongoing with this partition in it?
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddPartitionsToTxnRequest {
    pub correlation: CorrelationId,
    pub transactional_id: TransactionalId,
    pub producer: ProducerIdAndEpoch,
    pub partitions: Vec<TopicPartition>,
    pub verify_only: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddPartitionsToTxnResponse {
    pub correlation: CorrelationId,
    /// A request-level error (NOT_COORDINATOR, CONCURRENT_TRANSACTIONS, PRODUCER_FENCED, ...);
    /// when set, `partitions` is empty.
    pub error: Option<ErrorCode>,
    pub partitions: Vec<PartitionResult>,
}

/// AddOffsetsToTxn: the producer will commit `group`'s offsets in its transaction (the
/// coordinator adds the group's `__consumer_offsets` partition to it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddOffsetsToTxnRequest {
    pub correlation: CorrelationId,
    pub transactional_id: TransactionalId,
    pub producer: ProducerIdAndEpoch,
    pub group: GroupId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddOffsetsToTxnResponse {
    pub correlation: CorrelationId,
    pub result: Result<(), ErrorCode>,
}

/// EndTxn: commit (`committed: true`) or abort the ongoing transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndTxnRequest {
    pub correlation: CorrelationId,
    pub transactional_id: TransactionalId,
    pub producer: ProducerIdAndEpoch,
    pub committed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndTxnResponse {
    pub correlation: CorrelationId,
    /// The producer id and epoch to use from now on: with transactions version 2 (KIP-890
    /// part 2) the coordinator bumps the epoch at every transaction's end.
    pub result: Result<ProducerIdAndEpoch, ErrorCode>,
}

/// What a consumer tells a transactional producer about its group membership (Kafka's
/// `ConsumerGroupMetadata`, KIP-447), passed to `sendOffsetsToTransaction`: the group
/// coordinator refuses the transaction's offsets from a member of an older generation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerGroupMetadata {
    pub group: GroupId,
    pub generation: GenerationId,
    pub member: MemberId,
    pub group_instance_id: Option<String>,
}

/// TxnOffsetCommit (KIP-447): offsets committed inside a transaction, sent to the group
/// coordinator, with the member's generation so a zombie member is fenced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnOffsetCommitRequest {
    pub correlation: CorrelationId,
    pub transactional_id: TransactionalId,
    pub group: GroupId,
    pub producer: ProducerIdAndEpoch,
    pub generation: GenerationId,
    pub member: MemberId,
    pub group_instance_id: Option<String>,
    pub offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
    /// TxnOffsetCommit version 5 and later (transactions version 2): the group
    /// coordinator's broker adds the offsets partition to the transaction before writing
    /// (KIP-890 part 2); a version 1 producer sent AddOffsetsToTxn itself and the broker
    /// only verifies it (part 1).
    pub transaction_version: crate::protocol::TransactionVersion,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnOffsetCommitResponse {
    pub correlation: CorrelationId,
    pub partitions: Vec<PartitionResult>,
}

/// One producer's marker for the partitions of its ended transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnMarker {
    pub producer_id: ProducerId,
    pub producer_epoch: crate::ids::ProducerEpoch,
    pub result: ControlRecordType,
    pub partitions: Vec<TopicPartition>,
    /// The coordinator epoch of the transaction coordinator that writes it (the leader
    /// epoch of its `__transaction_state` partition), so a deposed coordinator is fenced.
    pub coordinator_epoch: u32,
}

/// WriteTxnMarkers: from the transaction coordinator to a partition leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteTxnMarkersRequest {
    pub correlation: CorrelationId,
    pub markers: Vec<TxnMarker>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteTxnMarkersResponse {
    pub correlation: CorrelationId,
    /// Per producer id, per partition of its marker.
    pub markers: Vec<(ProducerId, Vec<PartitionResult>)>,
}

/// An aborted transaction in a read_committed fetch: the consumer drops this producer's
/// records from `first_offset` on, up to its ABORT marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortedTransaction {
    pub producer_id: ProducerId,
    pub first_offset: Offset,
}
