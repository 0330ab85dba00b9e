//! Events the actors report as they act: the raw material of the trace, the replica-state
//! checkers, the client history and the nemesis triggers. Every field is plain data so a
//! trace line can be printed and hashed the same way on every machine.

use crate::coordinator::GroupState;
use crate::error::ErrorCode;
use crate::ids::{
    BrokerEpoch, BrokerId, GenerationId, GroupId, LeaderEpoch, MemberId, Offset, PartitionEpoch,
    ProducerEpoch, ProducerId, TransactionalId,
};
use crate::log::record_batch::ControlRecordType;
use crate::producer::TransactionOperation;
use crate::protocol::{Acks, CoordinatorKey};
use crate::reason::{
    Divergence, FenceReason, FollowerProgress, HighWatermarkBasis, HighWatermarkHold, LeaderRule,
    PartitionChangeCause,
};
use crate::topic::TopicPartition;
use crate::transaction::TransactionState;
use serde::Serialize;

/// Why a replica cut its log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TruncationReason {
    /// OffsetsForLeaderEpoch told it where its log diverges from the leader's (KIP-101/279).
    LeaderEpochDivergence,
    /// A fetch response's diverging epoch told it where its log diverges (KIP-595).
    DivergingEpoch,
    /// The historical pre-KIP-101 rule: cut to the local high watermark (bug switch).
    HighWatermark,
    /// Log recovery after a restart found a torn or corrupt tail.
    Recovery,
    /// A follower told OFFSET_OUT_OF_RANGE asked its leader's log end offset and cut to it
    /// (Kafka's `fetchOffsetAndTruncate`).
    LeaderLogEnd,
    /// OffsetsForLeaderEpoch answered an end offset, which the follower took without
    /// comparing epochs: the pre-KIP-279 rule (bug switch `epoch-lookup-without-epoch`).
    EpochEndOffsetWithoutEpoch,
}

/// A record as the checkers identify it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RecordSummary {
    pub offset: Offset,
    pub leader_epoch: LeaderEpoch,
    pub value: u64,
}

/// Everything observable that an actor does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Event {
    // ---- broker: replica state ----
    /// The broker recovered its log from storage on start.
    LogRecovered {
        partition: TopicPartition,
        log_end_offset: Offset,
        high_watermark: Offset,
        /// The latest epoch in its leader-epoch cache.
        latest_epoch: Option<LeaderEpoch>,
        /// Every record recovery found, in offset order. A power loss can bring back records
        /// a cut had taken (Kafka truncates a segment without an fsync), so what a replica
        /// holds after a restart is told, not inferred from what it held before.
        records: Vec<RecordSummary>,
    },
    BecameLeader {
        partition: TopicPartition,
        leader_epoch: LeaderEpoch,
        isr: Vec<BrokerId>,
        log_end_offset: Offset,
    },
    BecameFollower {
        partition: TopicPartition,
        leader_epoch: LeaderEpoch,
        leader: Option<BrokerId>,
    },
    /// Records were written to the local log (as leader from a produce, or as follower from a
    /// fetch).
    RecordsAppended {
        partition: TopicPartition,
        as_leader: bool,
        records: Vec<RecordSummary>,
    },
    LogTruncated {
        partition: TopicPartition,
        /// The log end offset before the cut.
        from_log_end_offset: Offset,
        /// The new log end offset.
        to_offset: Offset,
        reason: TruncationReason,
    },
    HighWatermarkUpdated {
        partition: TopicPartition,
        from: Offset,
        to: Offset,
    },
    /// The leader's view of the ISR changed (after the controller accepted it, or on a
    /// metadata update).
    IsrUpdated {
        partition: TopicPartition,
        from: Vec<BrokerId>,
        to: Vec<BrokerId>,
    },
    /// The leader answered a produce request.
    ProduceAnswered {
        partition: TopicPartition,
        acks: Acks,
        /// Offsets of the batch, when it was appended.
        base_offset: Option<Offset>,
        last_offset: Option<Offset>,
        result: Result<(), ErrorCode>,
    },

    // ---- controller ----
    BrokerRegistered {
        broker: BrokerId,
        broker_epoch: BrokerEpoch,
    },
    BrokerFenced {
        broker: BrokerId,
    },
    /// The controller chose a leader (or none) for a partition.
    LeaderElected {
        partition: TopicPartition,
        leader: Option<BrokerId>,
        leader_epoch: LeaderEpoch,
        isr: Vec<BrokerId>,
        partition_epoch: PartitionEpoch,
        /// Elected from outside the ISR (`unclean_leader_election_enable`).
        unclean: bool,
    },
    /// The controller accepted an AlterPartition.
    IsrAltered {
        partition: TopicPartition,
        isr: Vec<BrokerId>,
        partition_epoch: PartitionEpoch,
    },

    // ---- clients ----
    /// The producer learned the outcome of a record it was asked to send.
    SendCompleted {
        value: u64,
        partition: TopicPartition,
        /// `Ok(offset)` when acknowledged; with acks=0 the producer never learns an offset and
        /// reports `Ok(None)`.
        result: Result<Option<Offset>, SendFailure>,
    },
    /// A consumer returned records to the application.
    Polled {
        partition: TopicPartition,
        records: Vec<(Offset, u64)>,
    },
    /// A consumer moved its position other than by consuming: `auto_offset_reset` or a
    /// detected log truncation.
    PositionReset {
        partition: TopicPartition,
        from: Option<Offset>,
        to: Offset,
    },

    // Consumer-group events come last, so the encoding of every earlier event (which the
    // trace hash covers) is unchanged.
    // ---- broker: group coordinator ----
    /// The coordinator finished replaying an offsets partition it now leads: its groups are
    /// loaded and it answers for them.
    GroupsLoaded {
        partition: TopicPartition,
        groups: Vec<GroupId>,
    },
    /// The coordinator stopped leading an offsets partition: its groups are unloaded and
    /// requests for them get NOT_COORDINATOR.
    GroupsUnloaded {
        partition: TopicPartition,
        groups: Vec<GroupId>,
    },
    /// A group moved from one state to another (Kafka's `ClassicGroupState`).
    GroupStateChanged {
        group: GroupId,
        from: GroupState,
        to: GroupState,
        /// The generation after the change.
        generation: GenerationId,
        /// The members after the change, in member-id order.
        members: Vec<MemberId>,
    },
    /// The coordinator removed a member from a group.
    GroupMemberRemoved {
        group: GroupId,
        member: MemberId,
        reason: MemberRemovalReason,
    },
    /// The coordinator answered an OffsetCommit. For an accepted commit this comes after its
    /// record was committed in the offsets partition.
    OffsetCommitAnswered {
        group: GroupId,
        member: MemberId,
        /// The generation the request carried.
        request_generation: GenerationId,
        /// The group's generation and state when the coordinator validated the request.
        group_generation: GenerationId,
        group_state: GroupState,
        /// Whether the committing member belonged to the group then (it may leave while the
        /// commit's record replicates; the commit stands, as in Kafka).
        member_in_group: bool,
        offsets: Vec<(TopicPartition, Offset)>,
        result: Result<(), ErrorCode>,
    },

    // ---- group consumer ----
    /// A group consumer's application is told it no longer owns these partitions
    /// (`onPartitionsRevoked`: before an eager rejoin, or after a cooperative assignment
    /// moved them away) or lost them without a chance to commit (`onPartitionsLost`: the
    /// member was removed from the group).
    PartitionsRevoked {
        group: GroupId,
        partitions: Vec<TopicPartition>,
        lost: bool,
    },
    /// A group consumer got its assignment for a generation (`onPartitionsAssigned`).
    PartitionsAssigned {
        group: GroupId,
        generation: GenerationId,
        member: MemberId,
        /// Partitions it did not own before.
        added: Vec<TopicPartition>,
        /// Its whole assignment.
        assignment: Vec<TopicPartition>,
    },
    /// A group consumer sent an OffsetCommit (by the application, or auto-commit).
    OffsetCommitStarted {
        group: GroupId,
        commit: CommitId,
        generation: GenerationId,
        offsets: Vec<(TopicPartition, Offset)>,
        automatic: bool,
    },
    /// A group consumer learned how a commit ended: accepted, refused, or given up on
    /// (`ClientTimeout`, `CommitFailed` when it was not in an active generation).
    OffsetCommitCompleted {
        group: GroupId,
        commit: CommitId,
        offsets: Vec<(TopicPartition, Offset)>,
        result: Result<(), ErrorCode>,
    },
    /// A group consumer took its position for a newly assigned partition from the group's
    /// committed offset (`None`: the group had none, so `auto_offset_reset` decides next).
    PositionFromCommitted {
        group: GroupId,
        partition: TopicPartition,
        committed: Option<Offset>,
    },
    /// A coordinator rebuilt a group from its offsets partition, as the group's last
    /// committed metadata record left it (a failover forgets what the old coordinator did
    /// in memory only, such as removing a member whose session expired).
    GroupLoaded {
        group: GroupId,
        state: GroupState,
        generation: GenerationId,
        /// The loaded members, in member-id order.
        members: Vec<MemberId>,
    },

    // Exactly-once events come last, so the encoding of every earlier event (which the
    // trace hash covers) is unchanged.
    // ---- broker: producer ids ----
    /// A broker received a block of producer ids from the controller (KIP-730): it hands
    /// out `first .. first + length` until the block is used up or the broker restarts.
    ProducerIdBlockReceived {
        broker: BrokerId,
        first: ProducerId,
        length: u64,
    },

    // ---- partition: transactions ----
    /// A partition leader appended a transaction marker from the transaction coordinator
    /// (WriteTxnMarkers): a control batch ending `producer`'s transaction at `offset`.
    TxnMarkerAppended {
        partition: TopicPartition,
        producer: ProducerId,
        producer_epoch: ProducerEpoch,
        result: ControlRecordType,
        coordinator_epoch: u32,
        offset: Offset,
    },
    /// A replica's last stable offset moved while a transaction held it below the high
    /// watermark or let it go (it is not reported while it simply equals the high watermark).
    LastStableOffsetAdvanced {
        partition: TopicPartition,
        from: Offset,
        to: Offset,
    },
    /// A read_committed consumer dropped `count` records of `producer`'s aborted
    /// transaction starting at `first_offset` (Kafka's `CompletedFetch`): its position
    /// moved past them, the application never sees them.
    AbortedRecordsSkipped {
        partition: TopicPartition,
        producer: ProducerId,
        first_offset: Offset,
        count: u64,
    },
    // ---- broker: the transaction coordinator ----
    /// A transaction coordinator's write of a transactional id's new state was committed
    /// (PrepareEpochFence is never written, so it never appears here).
    TransactionStateChanged {
        transactional_id: TransactionalId,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        from: TransactionState,
        to: TransactionState,
    },
    /// A transaction coordinator sent one WriteTxnMarkers to a partition leader: per
    /// transaction, the marker and the partitions it goes to.
    TransactionMarkersSent {
        broker: BrokerId,
        markers: Vec<(TransactionalId, ControlRecordType, Vec<TopicPartition>)>,
    },
    /// A broker became the transaction coordinator of a `__transaction_state` partition
    /// (at `coordinator_epoch`, the partition's leader epoch) and replayed it: every
    /// transactional id it holds, with its state.
    TransactionsLoaded {
        partition: TopicPartition,
        coordinator_epoch: LeaderEpoch,
        transactions: Vec<(TransactionalId, TransactionState)>,
    },
    /// A broker stopped coordinating a `__transaction_state` partition.
    TransactionsUnloaded {
        partition: TopicPartition,
        transactions: Vec<TransactionalId>,
    }, // ---- the transactional producer (issue 10) ----
    /// One of the transactional producer's blocking calls completed (Kafka's
    /// `initTransactions`, `sendOffsetsToTransaction`, `commitTransaction`,
    /// `abortTransaction` returning or throwing).
    TransactionOperationCompleted {
        operation: TransactionOperation,
        result: Result<(), ErrorCode>,
    },
    /// A transactional producer learned which broker coordinates `key`.
    TransactionCoordinatorFound {
        transactional_id: TransactionalId,
        key: CoordinatorKey,
        broker: BrokerId,
    },
    /// A transactional producer took a new producer id or epoch: from InitProducerId, or,
    /// with transactions version 2, from EndTxn's bump (KIP-890 part 2).
    TransactionalProducerEpoch {
        transactional_id: TransactionalId,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
    },
    // ---- broker: transactional offsets in the group coordinator ----
    /// A group coordinator answered a TxnOffsetCommit (KIP-447). On success its offsets are
    /// committed in the offsets partition and pending until the producer's marker.
    TxnOffsetCommitAnswered {
        group: GroupId,
        member: MemberId,
        producer: ProducerId,
        producer_epoch: ProducerEpoch,
        request_generation: GenerationId,
        /// The group's generation and state, and whether `member` belonged to it, when the
        /// coordinator last validated the request (after its transaction's verification).
        group_generation: GenerationId,
        group_state: GroupState,
        member_in_group: bool,
        offsets: Vec<(TopicPartition, Offset)>,
        result: Result<(), ErrorCode>,
    },
    /// A producer's COMMIT marker on the offsets partition `partition` ended its pending
    /// offsets: each with whether it became the group's committed offset (false when a later
    /// plain commit of that partition stays).
    TxnOffsetsCommittedByMarker {
        partition: TopicPartition,
        producer: ProducerId,
        offsets: Vec<(GroupId, TopicPartition, Offset, bool)>,
    },
    /// A producer's ABORT marker on the offsets partition `partition` discarded its pending
    /// offsets.
    TxnOffsetsAbortedByMarker {
        partition: TopicPartition,
        producer: ProducerId,
        offsets: Vec<(GroupId, TopicPartition, Offset)>,
    },
    // ---- broker: transaction verification (KIP-890) ----
    /// A partition leader held a producer's first transactional batch and asked the
    /// transaction coordinator on `coordinator` (AddPartitionsToTxn): verify only (version
    /// 1), or add the partition (version 2).
    TransactionVerificationSent {
        partition: TopicPartition,
        transactional_id: TransactionalId,
        producer: ProducerId,
        producer_epoch: ProducerEpoch,
        coordinator: BrokerId,
        verify_only: bool,
    },
    /// A held transactional produce was refused without appending: `reason` is what went
    /// wrong (the coordinator's answer, NETWORK_EXCEPTION for a lost one,
    /// COORDINATOR_NOT_AVAILABLE with no coordinator known, INVALID_TXN_STATE when a marker
    /// or a newer epoch cleared the verification in between), `answered` the error the
    /// producer got.
    TransactionVerificationRefused {
        partition: TopicPartition,
        transactional_id: TransactionalId,
        producer: ProducerId,
        producer_epoch: ProducerEpoch,
        reason: ErrorCode,
        answered: ErrorCode,
    },
    /// With `no-transaction-verification`, a leader opened `producer`'s transaction at
    /// `offset` without asking the transaction coordinator (Kafka before 3.6).
    TransactionOpenedWithoutVerification {
        partition: TopicPartition,
        transactional_id: TransactionalId,
        producer: ProducerId,
        producer_epoch: ProducerEpoch,
        offset: Offset,
    },
    // ---- DeleteRecords (KIP-107) ----
    /// A replica's log start offset moved from `from` to `to`: the records below `to` are
    /// gone for readers. `producers_forgotten`: the producers whose state went with them
    /// (only before KIP-360, `reset-sequence-on-unknown-producer`).
    LogStartOffsetIncremented {
        partition: TopicPartition,
        from: Offset,
        to: Offset,
        reason: LogStartOffsetReason,
        producers_forgotten: Vec<ProducerId>,
    },
    // Reasons come last, so the encoding of every earlier event (which the trace hash
    // covers) is unchanged.
    // ---- reasons (issue 11): the facts behind a replica-state change ----
    /// A leader sent the controller an AlterPartition shrinking the ISR (Kafka's
    /// `maybeShrinkIsr`): the followers it found out of sync, as it saw them.
    IsrShrinkProposed {
        partition: TopicPartition,
        isr: Vec<BrokerId>,
        proposed: Vec<BrokerId>,
        leader_log_end_offset: Offset,
        replica_lag_time_max_ms: u64,
        out_of_sync: Vec<FollowerProgress>,
    },
    /// A leader sent the controller an AlterPartition adding `follower` (Kafka's
    /// `maybeExpandIsr`): it reached the high watermark and this leader's epoch start.
    IsrExpandProposed {
        partition: TopicPartition,
        isr: Vec<BrokerId>,
        proposed: Vec<BrokerId>,
        follower: FollowerProgress,
        high_watermark: Offset,
        leader_epoch_start_offset: Offset,
    },
    /// What the `HighWatermarkUpdated` that follows in the same step was computed from.
    HighWatermarkComputed {
        partition: TopicPartition,
        basis: HighWatermarkBasis,
    },
    /// What started the controller's partition change reported next (`LeaderElected` or
    /// `IsrAltered`), the rule that chose the leader, and the ISR and eligible leader
    /// replicas after it.
    PartitionChangeStarted {
        partition: TopicPartition,
        cause: PartitionChangeCause,
        rule: LeaderRule,
        replicas: Vec<BrokerId>,
        isr: Vec<BrokerId>,
        elr: Vec<BrokerId>,
    },
    /// Why the `BrokerFenced` that follows happened.
    BrokerFenceReasoned {
        broker: BrokerId,
        reason: FenceReason,
    },
    /// Where the leader said this follower's log diverges; the `LogTruncated` that follows
    /// (if the log was longer) cut it there.
    DivergenceFound {
        partition: TopicPartition,
        divergence: Divergence,
        truncate_to: Offset,
    },
    /// A follower whose log ended (`from_log_end_offset`) below its leader's log start
    /// offset removed every record and started its log empty at `start_offset`, which is
    /// now its log start offset, log end offset and high watermark (Kafka's
    /// `truncateFullyAndStartAt`).
    LogTruncatedFully {
        partition: TopicPartition,
        from_log_end_offset: Offset,
        start_offset: Offset,
    },
    /// A leader answered a DeleteRecords request for `requested_offset`: the low watermark
    /// (the smallest log start offset of its live replicas) once it reached the offset, or
    /// REQUEST_TIMED_OUT, or NOT_LEADER_OR_FOLLOWER (Kafka's `DelayedDeleteRecords`). The
    /// administrator is the nemesis, which has no inbox: this event is its answer.
    DeleteRecordsAnswered {
        partition: TopicPartition,
        requested_offset: Offset,
        result: Result<Offset, ErrorCode>,
    },
    /// At its periodic ISR check, a leader whose log runs past its high watermark found the
    /// high watermark held there, and by what (`reason::HighWatermarkHold`). A reason event
    /// for the teaching views: it says why nothing changed.
    HighWatermarkHeld {
        partition: TopicPartition,
        high_watermark: Offset,
        leader_log_end_offset: Offset,
        hold: HighWatermarkHold,
    },
}

/// Why a log start offset moved (Kafka's `LogStartOffsetIncrementReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LogStartOffsetReason {
    /// A DeleteRecords request on the leader.
    ClientRecordDeletion,
    /// A follower took its leader's log start offset from a fetch response.
    LeaderOffsetIncremented,
}

/// Why a coordinator removed a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum MemberRemovalReason {
    /// No heartbeat within `session.timeout.ms`.
    SessionTimeout,
    /// It sent LeaveGroup.
    LeaveGroup,
    /// It did not rejoin within the rebalance timeout.
    RebalanceTimeout,
    /// A JoinGroup with its `group.instance.id` replaced it (KIP-345).
    StaticMemberReplaced,
}

/// Names one commit of a consumer, so its start and its end can be matched.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
pub struct CommitId(pub u64);

/// A failed send, as a producer reports it to the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SendFailure {
    pub error: ErrorCode,
    /// True when the record certainly was not written (Jepsen's `:fail`); false when it may
    /// have been (`:info`).
    pub definite: bool,
}
