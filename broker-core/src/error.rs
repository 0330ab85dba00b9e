//! Errors a peer can observe, named after Kafka's error codes. They are values carried in
//! responses, never panics. Whether an error is *definite* (the write certainly did not
//! happen) depends on the request; see [`ErrorCode::is_definite_for_produce`].

use serde::{Deserialize, Serialize};
use std::fmt;

/// Kafka's error codes, the subset this broker can return, plus the client-side outcomes a
/// Kafka client reports for a request that got no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The receiving broker does not lead (or follow) the partition.
    NotLeaderOrFollower,
    /// acks=all and the ISR is smaller than `min_insync_replicas`: nothing was appended.
    NotEnoughReplicas,
    /// acks=all, the record was appended, then the ISR shrank below `min_insync_replicas`
    /// before the high watermark passed it. The record may still be committed later.
    NotEnoughReplicasAfterAppend,
    /// The request carried an older leader epoch than the receiver's (KIP-320).
    FencedLeaderEpoch,
    /// The request carried a newer leader epoch than the receiver knows (KIP-320).
    UnknownLeaderEpoch,
    /// The fetch offset is outside `[log_start_offset, log_end_offset]`.
    OffsetOutOfRange,
    /// The broker's own wait (acks=all purgatory) ran out: the record may or may not commit.
    RequestTimedOut,
    /// AlterPartition or heartbeat from a broker epoch the controller no longer accepts.
    StaleBrokerEpoch,
    /// AlterPartition built on an outdated partition epoch.
    InvalidUpdateVersion,
    /// The controller refused an ISR that names a broker that is unregistered, fenced, in
    /// controlled shutdown, or named with a broker epoch other than its registration's
    /// (KIP-903).
    IneligibleReplica,
    /// A new incarnation of a broker tried to register while the previous one's session is
    /// still valid (`ClusterControlManager.registerBroker`); the broker retries after a
    /// back-off.
    DuplicateBrokerRegistration,
    /// Idempotence: the sequence is not the next one for the producer (KIP-98).
    OutOfOrderSequence,
    /// The group coordinator is not available: the offsets topic has no leader for the
    /// group's partition, or the coordinator is not active (FindCoordinator, group APIs).
    CoordinatorNotAvailable,
    /// The receiving broker is not (or no longer) the group's coordinator: it does not lead
    /// the group's offsets partition. The client looks the coordinator up again.
    NotCoordinator,
    /// The coordinator is still replaying the offsets partition after becoming its leader.
    CoordinatorLoadInProgress,
    /// The request carries a generation other than the group's current one.
    IllegalGeneration,
    /// The member id is not (or no longer) a member of the group.
    UnknownMemberId,
    /// The group is rebalancing: the member must rejoin before it may commit or sync.
    RebalanceInProgress,
    /// A new member's first JoinGroup: the coordinator hands out a member id and asks the
    /// member to join again with it (KIP-394).
    MemberIdRequired,
    /// Another instance with the same `group.instance.id` replaced this one (KIP-345).
    FencedInstanceId,
    /// The session timeout is outside the broker's `group.min.session.timeout.ms` ..
    /// `group.max.session.timeout.ms`.
    InvalidSessionTimeout,
    /// The member's protocol type or assignors share nothing with the group's.
    InconsistentGroupProtocol,
    /// Client side: the consumer is not part of an active generation, so a commit cannot be
    /// sent (Kafka's `CommitFailedException`, raised before any request).
    CommitFailed,
    /// Client side: no response within `request_timeout_ms`.
    ClientTimeout,
    /// Client side: the connection was reset before the response arrived.
    NetworkException,
    /// Client side: the record was not acknowledged within `delivery_timeout_ms`.
    DeliveryTimeout,
    /// The broker has no state for the producer id (before KIP-360 a leader answered a
    /// produce with a non-zero first sequence so; the transaction coordinator answers so
    /// for an id it does not know).
    UnknownProducerId,
    /// The batch carries an older producer epoch than the partition has seen from that
    /// producer id (Kafka ≥ 2.7 answers this, not PRODUCER_FENCED, to a produce).
    InvalidProducerEpoch,
    /// Another producer instance with the same `transactional.id` has a newer epoch: this
    /// one is a zombie, and its requests are refused for good.
    ProducerFenced,
    /// The request does not fit the transaction's state (a transactional write outside any
    /// transaction the coordinator knows, an EndTxn of a transaction not ongoing).
    InvalidTxnState,
    /// The transaction coordinator is completing the previous transaction's end: retry.
    ConcurrentTransactions,
    /// A marker or request from an older transaction coordinator epoch.
    TransactionCoordinatorFenced,
    /// `transaction_timeout_ms` is above the broker's `transaction.max.timeout.ms`.
    InvalidTransactionTimeout,
    /// The batch is malformed (Kafka's INVALID_RECORD): here, a produce whose records do not
    /// form one idempotent batch (some stamped and some not, or stamps that disagree).
    InvalidRecord,
    /// OffsetFetch with `require_stable`: a transaction holds offsets for the partition that
    /// are neither committed nor aborted yet (KIP-447); the consumer asks again.
    UnstableOffsetCommit,
    /// The transaction coordinator holds a different producer id for the transactional id
    /// than the request names, or none (Kafka's INVALID_PRODUCER_ID_MAPPING).
    InvalidProducerIdMapping,
    /// A partition leader's verification (KIP-890): the producer's transaction is not
    /// ongoing with this partition in it, so the transactional write is refused and the
    /// producer must abort (Kafka's TRANSACTION_ABORTABLE).
    TransactionAbortable,
    /// The request is malformed (Kafka's INVALID_REQUEST): here, an empty transactional id.
    InvalidRequest,
    /// Client side: the batch was dropped unsent because its transaction is being aborted
    /// (Kafka's `TransactionAbortedException`).
    TransactionAborted,
}

impl ErrorCode {
    /// Whether a produce that failed with this error certainly did not write its records.
    /// Kafka's producer gives up on an error only after retries; what matters to a checker is
    /// whether the last attempt may have been appended.
    pub fn is_definite_for_produce(self) -> bool {
        matches!(
            self,
            ErrorCode::NotEnoughReplicas
                | ErrorCode::OutOfOrderSequence
                | ErrorCode::FencedLeaderEpoch
                | ErrorCode::UnknownLeaderEpoch
                | ErrorCode::UnknownProducerId
                | ErrorCode::InvalidProducerEpoch
                | ErrorCode::ProducerFenced
                | ErrorCode::InvalidTxnState
                | ErrorCode::InvalidRecord
        )
    }

    /// Whether a client should refresh its metadata and retry after this error.
    pub fn is_retriable(self) -> bool {
        !matches!(
            self,
            ErrorCode::OutOfOrderSequence
                | ErrorCode::DeliveryTimeout
                | ErrorCode::InvalidProducerEpoch
                | ErrorCode::ProducerFenced
                | ErrorCode::InvalidTxnState
                | ErrorCode::TransactionCoordinatorFenced
                | ErrorCode::InvalidTransactionTimeout
                | ErrorCode::InvalidRecord
                | ErrorCode::InvalidProducerIdMapping
                | ErrorCode::TransactionAbortable
                | ErrorCode::InvalidRequest
                | ErrorCode::TransactionAborted
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ErrorCode::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            ErrorCode::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            ErrorCode::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            ErrorCode::FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            ErrorCode::UnknownLeaderEpoch => "UNKNOWN_LEADER_EPOCH",
            ErrorCode::OffsetOutOfRange => "OFFSET_OUT_OF_RANGE",
            ErrorCode::RequestTimedOut => "REQUEST_TIMED_OUT",
            ErrorCode::StaleBrokerEpoch => "STALE_BROKER_EPOCH",
            ErrorCode::InvalidUpdateVersion => "INVALID_UPDATE_VERSION",
            ErrorCode::IneligibleReplica => "INELIGIBLE_REPLICA",
            ErrorCode::DuplicateBrokerRegistration => "DUPLICATE_BROKER_REGISTRATION",
            ErrorCode::OutOfOrderSequence => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            ErrorCode::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
            ErrorCode::NotCoordinator => "NOT_COORDINATOR",
            ErrorCode::CoordinatorLoadInProgress => "COORDINATOR_LOAD_IN_PROGRESS",
            ErrorCode::IllegalGeneration => "ILLEGAL_GENERATION",
            ErrorCode::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            ErrorCode::RebalanceInProgress => "REBALANCE_IN_PROGRESS",
            ErrorCode::MemberIdRequired => "MEMBER_ID_REQUIRED",
            ErrorCode::FencedInstanceId => "FENCED_INSTANCE_ID",
            ErrorCode::InvalidSessionTimeout => "INVALID_SESSION_TIMEOUT",
            ErrorCode::InconsistentGroupProtocol => "INCONSISTENT_GROUP_PROTOCOL",
            ErrorCode::CommitFailed => "COMMIT_FAILED",
            ErrorCode::ClientTimeout => "CLIENT_TIMEOUT",
            ErrorCode::NetworkException => "NETWORK_EXCEPTION",
            ErrorCode::DeliveryTimeout => "DELIVERY_TIMEOUT",
            ErrorCode::UnknownProducerId => "UNKNOWN_PRODUCER_ID",
            ErrorCode::InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
            ErrorCode::ProducerFenced => "PRODUCER_FENCED",
            ErrorCode::InvalidTxnState => "INVALID_TXN_STATE",
            ErrorCode::ConcurrentTransactions => "CONCURRENT_TRANSACTIONS",
            ErrorCode::TransactionCoordinatorFenced => "TRANSACTION_COORDINATOR_FENCED",
            ErrorCode::InvalidTransactionTimeout => "INVALID_TRANSACTION_TIMEOUT",
            ErrorCode::UnstableOffsetCommit => "UNSTABLE_OFFSET_COMMIT",
            ErrorCode::InvalidRecord => "INVALID_RECORD",
            ErrorCode::InvalidProducerIdMapping => "INVALID_PRODUCER_ID_MAPPING",
            ErrorCode::TransactionAbortable => "TRANSACTION_ABORTABLE",
            ErrorCode::TransactionAborted => "TRANSACTION_ABORTED",
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
        };
        formatter.write_str(name)
    }
}
