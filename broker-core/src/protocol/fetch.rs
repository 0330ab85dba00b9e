//! Fetch: followers pull records from the leader to replicate them, consumers to read them.

use crate::error::ErrorCode;
use crate::ids::{BrokerEpoch, BrokerId, CorrelationId, LeaderEpoch, Offset};
use crate::protocol::{AbortedTransaction, EpochEndOffset, IsolationLevel};
use crate::record::Record;
use crate::topic::TopicPartition;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchRequest {
    pub correlation: CorrelationId,
    pub partition: TopicPartition,
    /// `Some` for a follower's fetch, `None` for a consumer's.
    pub replica: Option<BrokerId>,
    /// The fetching follower's broker epoch (KIP-903's `ReplicaState.ReplicaEpoch`), which
    /// the leader records and sends in AlterPartition so the controller can refuse an ISR
    /// member from an older incarnation. `None` for consumers.
    pub replica_epoch: Option<BrokerEpoch>,
    /// The leader epoch the fetcher believes current (KIP-320); checked by the leader.
    pub current_leader_epoch: LeaderEpoch,
    pub fetch_offset: Offset,
    /// The latest epoch of the fetcher's log (KIP-595's `LastFetchedEpoch`): a leader checks
    /// a follower's against its own epoch cache and answers a divergence with
    /// [`FetchData::diverging_epoch`]. `None` if the log is empty, and on the older paths
    /// (`offsets-for-leader-epoch-truncation`, `truncate-to-high-watermark`), whose fetch
    /// versions lacked the field.
    pub last_fetched_epoch: Option<LeaderEpoch>,
    pub max_records: u32,
    /// How long the leader may hold the fetch waiting for new data.
    pub max_wait_ms: u64,
    /// What a consumer may read: below the high watermark, or below the last stable offset
    /// without aborted transactions' records. Followers send read_uncommitted (Kafka's
    /// replica fetches carry isolation level 0 and read to the log end offset).
    pub isolation_level: IsolationLevel,
    /// The fetching follower's log start offset (Kafka's `FetchRequest.logStartOffset`): the
    /// leader keeps it per follower for the low watermark a DeleteRecords waits on. `None`
    /// for consumers (Kafka's -1).
    #[serde(default)]
    pub log_start_offset: Option<Offset>,
    /// The consumer's rack (`client.rack`, KIP-392's `FetchRequest.RackId`, version 11 on),
    /// which a leader with the rack-aware replica selector matches against its replicas'
    /// racks to name a preferred read replica. `None` for followers and for consumers
    /// without a rack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack_id: Option<String>,
}

/// The records and positions a successful fetch returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchData {
    /// Records from the fetch offset on. For a consumer, only records below the high
    /// watermark; for a follower, up to the leader's log end offset.
    pub records: Vec<Record>,
    pub high_watermark: Offset,
    pub log_start_offset: Offset,
    pub log_end_offset: Offset,
    /// The leader's last stable offset (Kafka's `FetchResponse.lastStableOffset`): a
    /// read_committed consumer reads below it.
    pub last_stable_offset: Offset,
    /// For a read_committed fetch, the aborted transactions overlapping the records returned
    /// (Kafka's `abortedTransactions`), which the consumer drops; empty otherwise.
    pub aborted_transactions: Vec<AbortedTransaction>,
    /// Set, with no records, when a follower's `last_fetched_epoch` and fetch offset do not
    /// agree with the leader's epoch cache (KIP-595, Kafka's `Partition.readRecords`): the
    /// largest epoch ≤ the follower's that the leader has, and where it ends.
    pub diverging_epoch: Option<EpochEndOffset>,
    /// Set, with no records, when the leader's replica selector sends this consumer to a
    /// follower (KIP-392's `FetchResponse.PreferredReadReplica`, Kafka's
    /// `ReplicaManager.findPreferredReadReplica`): the consumer fetches from that broker
    /// until an error or its metadata age runs out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_read_replica: Option<BrokerId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchResponse {
    pub correlation: CorrelationId,
    pub partition: TopicPartition,
    pub result: Result<FetchData, ErrorCode>,
}
