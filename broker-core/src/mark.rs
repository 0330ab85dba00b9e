//! Coverage marks (docs/STYLE.md, rule 9): the interesting moments the actors report. A
//! scenario lists the marks its story relies on, so a scenario that stops reaching its path
//! fails instead of passing quietly. Marks are a closed set: scenario files name them in
//! kebab-case (`isr-shrunk`), and a misspelled name is refused at load with the closest
//! correct one (docs/STYLE.md, rule 16). The snake_case spelling of earlier files
//! (`isr_shrunk`) is still read.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

macro_rules! marks {
    ($($(#[doc = $doc:literal])+ $variant:ident = $name:literal,)+) => {
        /// Every coverage mark an actor can report. Marks order by name, so reports list
        /// them alphabetically.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Mark {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Mark {
            /// Every mark, in declaration order.
            pub const ALL: &'static [Mark] = &[$(Mark::$variant,)+];

            /// The name scenario files and reports use.
            pub fn name(self) -> &'static str {
                match self {
                    $(Mark::$variant => $name,)+
                }
            }

            /// One sentence: the moment the mark records.
            pub fn description(self) -> &'static str {
                match self {
                    $(Mark::$variant => concat!($($doc),+).trim_start(),)+
                }
            }
        }
    };
}

marks! {
    // ---- broker: partitions ----
    /// A replica became the partition's leader.
    BecameLeader = "became-leader",
    /// A replica became a follower (or lost its leader).
    BecameFollower = "became-follower",
    /// A leader's high watermark advanced.
    HighWatermarkAdvanced = "high-watermark-advanced",
    /// A leader's high watermark would have advanced, but its ISR is below the effective
    /// min.insync.replicas (KAFKA-15583).
    HighWatermarkHeldUnderMinIsr = "high-watermark-held-under-min-isr",
    /// A leader's ISR shrank through an AlterPartition it proposed.
    IsrShrunk = "isr-shrunk",
    /// A leader's ISR grew through an AlterPartition it proposed.
    IsrExpanded = "isr-expanded",
    /// A fetch with nothing to return was parked until data or its wait ran out.
    FetchParked = "fetch-parked",
    /// A request carrying an older leader epoch was refused (KIP-320).
    FencedLeaderEpochRejected = "fenced-leader-epoch-rejected",
    /// An acks=all produce was refused because the ISR was below min.insync.replicas.
    ProduceRejectedNotEnoughReplicas = "produce-rejected-not-enough-replicas",
    /// An acks=all append passed the high watermark after the ISR fell below min.insync.
    NotEnoughReplicasAfterAppend = "not-enough-replicas-after-append",
    /// An acks=all append waited in the purgatory until its timeout.
    ProducePurgatoryTimedOut = "produce-purgatory-timed-out",
    /// The ack-before-isr bug switch answered acks=all right after the leader's append.
    AcksAllAnsweredBeforeIsr = "acks-all-answered-before-isr",
    /// A follower cut its log where OffsetsForLeaderEpoch showed it diverged (KIP-101).
    TruncatedByLeaderEpoch = "truncated-by-leader-epoch",
    /// A leader answered a follower's fetch with a diverging epoch instead of records
    /// (KIP-595).
    FetchDivergingEpoch = "fetch-diverging-epoch",
    /// A follower cut its log where a fetch response's diverging epoch showed it diverged
    /// (KIP-595).
    TruncatedByDivergingEpoch = "truncated-by-diverging-epoch",
    /// A follower's high watermark went down to the leader's lower one (a new leader that
    /// had not yet learned the old leader's high watermark).
    FollowerHighWatermarkLowered = "follower-high-watermark-lowered",
    /// A leader held its high watermark for a caught-up replica outside the ISR that is
    /// about to rejoin it (Kafka's `shouldWaitForReplicaToJoinIsr`).
    HighWatermarkHeldForJoiningReplica = "high-watermark-held-for-joining-replica",
    /// The truncate-to-high-watermark bug switch cut a log to its high watermark.
    TruncatedToHighWatermark = "truncated-to-high-watermark",
    /// Log recovery cut a torn or corrupt tail.
    TruncatedOnRecovery = "truncated-on-recovery",
    /// A leader that stopped leading answered its parked fetches NotLeaderOrFollower.
    ParkedFetchAnsweredNotLeader = "parked-fetch-answered-not-leader",
    /// An acks=0 produce failed (not the leader), so the broker closed the client's
    /// connection, as `KafkaApis` does: there is no response to carry the error.
    Acks0ErrorClosedConnection = "acks0-error-closed-connection",
    /// A follower's connection to its leader closed; it backs off, then fetches again.
    FollowerLeaderConnectionClosed = "follower-leader-connection-closed",
    /// A broker's connection to the controller closed; it contacts the controller again
    /// after a backoff.
    BrokerControllerConnectionClosed = "broker-controller-connection-closed",
    /// A restarted broker found its clean-shutdown marker and skipped log recovery.
    CleanShutdownRecoverySkipped = "clean-shutdown-recovery-skipped",
    /// A broker finished its controlled shutdown: flushed, wrote its clean-shutdown marker
    /// and stopped (KIP-841).
    ControlledShutdownCompleted = "controlled-shutdown-completed",
    /// A controlled shutdown ran out of time and the broker stopped hard, as Kafka's does
    /// when the controller does not let it go.
    ControlledShutdownTimedOut = "controlled-shutdown-timed-out",
    // ---- controller ----
    /// The controller recovered its state from disk after a restart.
    ControllerRecovered = "controller-recovered",
    /// A broker registered (first start or restart).
    BrokerRegistered = "broker-registered",
    /// A broker's session expired, or it asked to be fenced or to shut down: it was fenced.
    BrokerFenced = "broker-fenced",
    /// A registered broker caught up with the metadata and was unfenced by a heartbeat.
    BrokerUnfenced = "broker-unfenced",
    /// A new incarnation was refused while the previous one's session was still valid.
    DuplicateBrokerRegistrationRefused = "duplicate-broker-registration-refused",
    /// A broker asked to shut down while leading: the controller moved its leaderships away
    /// and took it out of every ISR (KIP-841).
    ControlledShutdownStarted = "controlled-shutdown-started",
    /// A replica left the ISR below min.insync and became an eligible leader replica
    /// (KIP-966).
    ReplicaAddedToElr = "replica-added-to-elr",
    /// A leader was elected from the eligible leader replicas, the ISR being empty (KIP-966).
    ElectionFromElr = "election-from-elr",
    /// With ISR and ELR empty, the last known leader was elected again (KIP-966).
    LastKnownLeaderElected = "last-known-leader-elected",
    /// A broker that restarted after an unclean shutdown was removed from an ELR (KIP-966).
    RemovedFromElrAfterUncleanShutdown = "removed-from-elr-after-unclean-shutdown",
    /// The controller removed a fenced broker from an ISR.
    IsrShrunkByController = "isr-shrunk-by-controller",
    /// A leader was elected from the ISR.
    CleanElection = "clean-election",
    /// A leader was elected from outside the ISR (unclean.leader.election.enable).
    UncleanElection = "unclean-election",
    /// A partition lost its leader and no replica could take over.
    PartitionOffline = "partition-offline",
    /// The controller accepted an AlterPartition.
    AlterPartitionAccepted = "alter-partition-accepted",
    /// The controller refused an AlterPartition.
    AlterPartitionRejected = "alter-partition-rejected",
    // ---- producer ----
    /// A failed batch was queued to be sent again.
    ProducerRetried = "producer-retried",
    /// A request got no answer within request.timeout.ms; its connection was closed.
    ProducerRequestTimedOut = "producer-request-timed-out",
    /// A metadata image replaced an earlier one.
    ProducerMetadataRefreshed = "producer-metadata-refreshed",
    /// A batch failed for good (retries exhausted, a non-retriable error, or the delivery
    /// timeout).
    ProducerGaveUp = "producer-gave-up",
    /// A producer's connection to a broker closed (the broker's process stopped, it closed
    /// the connection, or it refused a new one): requests in flight on it failed as
    /// indefinite, and metadata is refreshed.
    ProducerDisconnected = "producer-disconnected",
    // ---- consumer ----
    /// A fetch answered OffsetOutOfRange and the position was reset by auto.offset.reset.
    ConsumerOffsetReset = "consumer-offset-reset",
    /// KIP-320 validation found the new leader's log shorter than the position.
    ConsumerTruncationDetected = "consumer-truncation-detected",
    /// Metadata named a newer leader epoch for an assigned partition.
    ConsumerLeaderChanged = "consumer-leader-changed",
    /// A consumer's connection to a broker closed: its requests there failed, and metadata
    /// is refreshed.
    ConsumerDisconnected = "consumer-disconnected",
    // ---- group coordinator (issue 9: coordinator marks go below this line) ----
    /// A group entered PreparingRebalance.
    RebalanceStarted = "rebalance-started",
    /// An offset commit was refused: its generation is not the group's (ILLEGAL_GENERATION).
    CommitRefusedIllegalGeneration = "commit-refused-illegal-generation",
    /// An offset commit was refused: its member is not in the group (UNKNOWN_MEMBER_ID).
    CommitRefusedUnknownMember = "commit-refused-unknown-member",
    /// An offset commit was refused while the group awaited its assignment
    /// (REBALANCE_IN_PROGRESS).
    CommitRefusedRebalanceInProgress = "commit-refused-rebalance-in-progress",
    /// An offset commit that fencing would refuse was accepted (`no-generation-fencing`).
    CommitAcceptedWithoutFencing = "commit-accepted-without-fencing",
    /// A coordinator loaded an offsets partition whose log holds records.
    GroupsLoadedFromLog = "groups-loaded-from-log",
    /// A static member rejoined with a new member id and kept its assignment, without a
    /// rebalance (KIP-345).
    StaticMemberRejoinedWithoutRebalance = "static-member-rejoined-without-rebalance",
    /// A group member's session expired and it was removed.
    GroupMemberSessionExpired = "group-member-session-expired",
    /// A group request reached a broker that does not lead the group's offsets partition.
    CoordinatorAnsweredNotCoordinator = "coordinator-answered-not-coordinator",
    // ---- group consumer (issue 9: group consumer marks go below this line) ----
    /// A group consumer completed a rebalance: SyncGroup gave it its assignment.
    ConsumerJoinedGroup = "consumer-joined-group",
    /// An eager group consumer revoked all its partitions before rejoining.
    ConsumerEagerRevocation = "consumer-eager-revocation",
    /// A cooperative rebalance (KIP-429) left a consumer partitions it owned before.
    ConsumerCooperativeKeptPartitions = "consumer-cooperative-kept-partitions",
    /// A consumer's application did not poll within `max_poll_interval_ms`: it left the
    /// group.
    ConsumerPollTimeoutLeftGroup = "consumer-poll-timeout-left-group",
    /// A commit failed before it was sent: the consumer was not in an active generation.
    ConsumerCommitOutsideGeneration = "consumer-commit-outside-generation",
    /// The coordinator refused a commit: stale generation, unknown member or rebalancing.
    ConsumerCommitRefused = "consumer-commit-refused",
    /// A consumer that had lost its group coordinator found one again.
    ConsumerCoordinatorRediscovered = "consumer-coordinator-rediscovered",
    /// A consumer auto-committed its positions before revoking partitions for a rebalance.
    ConsumerAutoCommitBeforeRebalance = "consumer-auto-commit-before-rebalance",
    /// A group leader saw a subscribed topic's partition count differ from the one it
    /// assigned with, and asked the group to rebalance.
    ConsumerAssignmentMetadataChanged = "consumer-assignment-metadata-changed",
    // ---- partition producer state (issue 10) ----
    /// A leader answered a retried batch of an idempotent producer with the offsets it was
    /// first written at, appending nothing (Kafka's duplicate-sequence answer).
    DuplicateBatchAnswered = "duplicate-batch-answered",
    /// A leader refused a batch whose sequence does not follow its producer's last one
    /// (OUT_OF_ORDER_SEQUENCE_NUMBER).
    OutOfOrderSequenceRefused = "out-of-order-sequence-refused",
    /// A leader refused a batch from an older producer epoch (INVALID_PRODUCER_EPOCH).
    InvalidProducerEpochRefused = "invalid-producer-epoch-refused",
    /// A leader refused a batch from a producer it had no state for, not starting at
    /// sequence 0 (UNKNOWN_PRODUCER_ID, as brokers before KIP-360 answered).
    UnknownProducerIdRefused = "unknown-producer-id-refused",
    /// A leader refused a non-transactional batch from a producer with an open transaction
    /// (INVALID_TXN_STATE).
    InvalidTxnStateRefused = "invalid-txn-state-refused",
    /// A leader refused a produce whose records do not form one batch (INVALID_RECORD).
    InvalidRecordRefused = "invalid-record-refused",
    // ---- idempotent producer (issue 10: client marks go below this line) ----
    /// An idempotent producer got its producer id and epoch (InitProducerId answered).
    ProducerIdAssigned = "producer-id-assigned",
    /// An InitProducerId failed or went unanswered and will be sent again after the backoff.
    ProducerInitProducerIdRetried = "producer-init-producer-id-retried",
    /// An idempotent producer bumped its epoch and numbered a partition's batches from 0
    /// again (KIP-360), after a gap or a batch whose fate it cannot know.
    ProducerEpochBumped = "producer-epoch-bumped",
    /// A leader refused a batch with OUT_OF_ORDER_SEQUENCE_NUMBER and the producer sent it
    /// again.
    ProducerOutOfOrderSequenceRetried = "producer-out-of-order-sequence-retried",
    /// An epoch bump gave new sequences to batches already sent, which the leader may hold
    /// under the old epoch and can no longer recognise: Kafka's open KAFKA-14034, the way an
    /// idempotent producer can still write a record twice.
    ProducerRenumberedSentBatches = "producer-renumbered-sent-batches",
    // ---- producer ids (issue 10: producer-id marks go below this line) ----
    /// A broker answered InitProducerId with COORDINATOR_LOAD_IN_PROGRESS: it held no
    /// producer id to give and waited for a block from the controller.
    InitProducerIdLoadInProgress = "init-producer-id-load-in-progress",
    /// A broker asked the controller for its next producer-id block ahead of time, with
    /// 90% of the current one handed out.
    ProducerIdBlockPrefetched = "producer-id-block-prefetched",
    /// A partition leader appended a COMMIT or ABORT marker from the transaction coordinator.
    TxnMarkerAppended = "txn-marker-appended",
    /// A partition leader refused a transaction marker from a deposed transaction
    /// coordinator (TRANSACTION_COORDINATOR_FENCED).
    TxnMarkerCoordinatorFenced = "txn-marker-coordinator-fenced",
    /// A replica's last stable offset moved past a transaction that held it back.
    LastStableOffsetAdvanced = "last-stable-offset-advanced",
    /// A read_committed consumer dropped the records of an aborted transaction.
    AbortedRecordsSkipped = "aborted-records-skipped",
    // ---- the transaction coordinator (issue 10) ----
    /// A new instance's InitProducerId found its transactional id's transaction open: the
    /// coordinator bumped the epoch, fencing the previous instance, and aborts it.
    TransactionProducerFenced = "transaction-producer-fenced",
    /// A transaction stayed open past its `transaction.timeout.ms`: the coordinator bumped
    /// its epoch and aborted it.
    TransactionTimedOutAborted = "transaction-timed-out-aborted",
    /// A broker became a transaction coordinator and replayed transactions from its
    /// `__transaction_state` partition.
    TransactionsLoadedFromLog = "transactions-loaded-from-log",
    /// A newly loaded transaction coordinator found a transaction prepared (PrepareCommit
    /// or PrepareAbort) by its predecessor and writes its markers to complete it.
    TransactionCompletedAfterLoad = "transaction-completed-after-load",
    /// Transaction markers were refused, lost or unanswered and are sent again.
    TransactionMarkersRetried = "transaction-markers-retried",
    // ---- transactional offsets in the group coordinator (issue 10) ----
    /// A group coordinator committed a TxnOffsetCommit's records: its offsets are pending
    /// until the producer's marker.
    TxnOffsetsPending = "txn-offsets-pending",
    /// A group coordinator refused a TxnOffsetCommit from a member that is not the group's
    /// current one (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID, KIP-447).
    TxnOffsetCommitFenced = "txn-offset-commit-fenced",
    /// A COMMIT marker on an offsets partition turned a producer's pending offsets into
    /// committed offsets.
    TxnOffsetsCommittedByMarker = "txn-offsets-committed-by-marker",
    /// An ABORT marker on an offsets partition discarded a producer's pending offsets.
    TxnOffsetsAbortedByMarker = "txn-offsets-aborted-by-marker",
    /// A group coordinator answered an OffsetFetch with `require_stable`
    /// UNSTABLE_OFFSET_COMMIT: a partition had pending transactional offsets.
    UnstableOffsetCommitAnswered = "unstable-offset-commit-answered",
    // ---- transaction verification on the partition leader (KIP-890) ----
    /// A partition leader held a producer's first transactional batch and asked the
    /// transaction coordinator to verify (or, with transactions version 2, add) the
    /// partition.
    TransactionVerificationSent = "transaction-verification-sent",
    /// A held transactional produce was refused: the coordinator said no, could not be
    /// found, or did not answer.
    TransactionVerificationRefused = "transaction-verification-refused",
    /// A verified produce found its verification guard gone (a marker or a newer epoch came
    /// between the question and the answer) and was refused INVALID_TXN_STATE: the late
    /// produce that would have opened a hanging transaction.
    VerificationGuardCleared = "verification-guard-cleared",
    /// With `no-transaction-verification`, a leader opened a producer's transaction without
    /// asking the transaction coordinator.
    TransactionOpenedWithoutVerification = "transaction-opened-without-verification",
    /// A transaction was opened on a partition while its producer's transaction was not
    /// ongoing with that partition at the transaction coordinator (KAFKA-14402): no marker
    /// is coming for it, or the next transaction's marker will end it.
    HangingTransactionOpened = "hanging-transaction-opened",
    // ---- the transactional producer (issue 10) ----
    /// A transactional producer's request (FindCoordinator, InitProducerId, AddPartitionsToTxn,
    /// AddOffsetsToTxn, TxnOffsetCommit, EndTxn) failed in a way it retries after its backoff.
    ProducerTransactionalRequestRetried = "producer-transactional-request-retried",
    /// A transactional producer's operation failed: its transaction must be aborted, or,
    /// fatal (fenced), the producer can do nothing more.
    ProducerTransactionFailed = "producer-transaction-failed",
    /// A verified transactional batch was refused OUT_OF_ORDER_SEQUENCE_NUMBER: a lower
    /// sequence of its producer asked for verification first and has not been appended
    /// (KAFKA-15653), so the later batch cannot open the transaction ahead of it.
    VerificationLowerSequencePending = "verification-lower-sequence-pending",
    // ---- DeleteRecords (KIP-107) and the producer state it deletes (KIP-360) ----
    /// A partition leader moved its log start offset for a DeleteRecords request.
    RecordsDeleted = "records-deleted",
    /// A leader refused a DeleteRecords request (not the leader, or an offset past its high
    /// watermark).
    DeleteRecordsRefused = "delete-records-refused",
    /// A follower moved its log start offset up to its leader's, learnt from a fetch.
    FollowerLogStartOffsetIncremented = "follower-log-start-offset-incremented",
    /// Before KIP-360 (`reset-sequence-on-unknown-producer`): a replica forgot a producer
    /// whose batches were all below its new log start offset.
    ProducerStateForgotten = "producer-state-forgotten",
    /// Before KIP-360 (`reset-sequence-on-unknown-producer`): answered UNKNOWN_PRODUCER_ID
    /// with its last acknowledged offset below the log start offset, an idempotent producer
    /// numbered the partition's batches from sequence 0 again, in the same epoch.
    ProducerSequenceReset = "producer-sequence-reset",
    /// A TxnOffsetCommit valid when it arrived was refused once its transaction was
    /// verified: the member left or the generation ended while the broker asked.
    TxnOffsetCommitRefusedAfterVerification = "txn-offset-commit-refused-after-verification",
    /// A follower told OFFSET_OUT_OF_RANGE found its log ending below its leader's log start
    /// offset and started it again, empty, at that offset (`truncateFullyAndStartAt`).
    FollowerTruncatedFully = "follower-truncated-fully",
    /// A follower told OFFSET_OUT_OF_RANGE found its log longer than its leader's and cut
    /// it to the leader's log end offset (`fetchOffsetAndTruncate`).
    TruncatedToLeaderLogEnd = "truncated-to-leader-log-end",
    /// A DeleteRecords request waited in the leader's purgatory for its replicas' log start
    /// offsets (Kafka's `DelayedDeleteRecords`).
    DeleteRecordsDelayed = "delete-records-delayed",
    /// A delayed DeleteRecords was answered once the low watermark reached its offset.
    DeleteRecordsLowWatermarkReached = "delete-records-low-watermark-reached",
    /// A delayed DeleteRecords ran out of time: answered REQUEST_TIMED_OUT.
    DeleteRecordsTimedOut = "delete-records-timed-out",
    /// Before KAFKA-7128 (`isr-join-below-leader-epoch-start`): a leader proposed a follower
    /// for the ISR at its high watermark but below the start offset of its own epoch.
    IsrJoinProposedBelowLeaderEpochStart = "isr-join-proposed-below-leader-epoch-start",
    /// KAFKA-13141 (`divergent-fetch-counts-as-progress`): a leader answered a follower's fetch
    /// with a diverging epoch and still took its fetch offset as the follower's log end offset.
    DivergentFetchCountedAsProgress = "divergent-fetch-counted-as-progress",
    /// The epoch-lookup-without-epoch bug switch took the end offset an OffsetsForLeaderEpoch
    /// answer gave without its epoch (pre-KIP-279), where comparing the epochs would have cut
    /// the log further or asked again.
    TruncatedWithoutEpochCheck = "truncated-without-epoch-check",
    /// The no-truncation-when-leader-unchanged bug switch kept a follower fetching, without
    /// truncating, across a new leader epoch of the leader it already followed (pre-KAFKA-7164).
    BecomeFollowerSkippedLeaderUnchanged = "become-follower-skipped-leader-unchanged",
    /// The controller accepted an AlterPartition naming a fenced, shutting-down or
    /// unregistered replica, which KIP-841 refuses (switch `isr-accepts-fenced-replicas`).
    IsrAcceptedFencedReplica = "isr-accepted-fenced-replica",
    /// The controller accepted an AlterPartition naming a replica with a broker epoch other
    /// than its registration's, which KIP-903 refuses (switch
    /// `isr-accepts-stale-broker-epoch`).
    IsrAcceptedStaleBrokerEpoch = "isr-accepted-stale-broker-epoch",
    // ---- consumers before KIP-320's truncation detection (KAFKA-7747) ----
    /// Before Kafka 2.3 (`no-consumer-truncation-detection`): a consumer that had consumed
    /// records saw a newer leader epoch and kept fetching from its position, unvalidated.
    ConsumerTruncationDetectionSkipped = "consumer-truncation-detection-skipped",
    // ---- fetch from follower (KIP-392) ----
    /// A leader with the rack-aware replica selector answered a consumer's fetch with a
    /// preferred read replica in the consumer's rack, instead of records.
    PreferredReadReplicaChosen = "preferred-read-replica-chosen",
    /// A follower answered a consumer's fetch from its own log, below its own high
    /// watermark.
    FollowerServedConsumerFetch = "follower-served-consumer-fetch",
    /// A consumer dropped its preferred read replica after an error and went back to the
    /// leader (Kafka's `clearPreferredReadReplica`).
    PreferredReadReplicaCleared = "preferred-read-replica-cleared",
    /// KAFKA-14704 (`follower-high-watermark-before-truncation`): a follower answered with a
    /// diverging epoch took the leader's high watermark before truncating its log.
    HighWatermarkTakenBeforeTruncation = "high-watermark-taken-before-truncation",
    /// KAFKA-14704: a follower served a consumer records at or above the offset its pending
    /// truncation will cut to.
    FollowerServedRecordsAboutToBeCut = "follower-served-records-about-to-be-cut",
}

impl Ord for Mark {
    fn cmp(&self, other: &Mark) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

impl PartialOrd for Mark {
    fn partial_cmp(&self, other: &Mark) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Mark {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for Mark {
    type Err = String;

    /// Reads a mark's kebab-case name (or the snake_case of earlier files); an unknown name
    /// is refused with the closest correct one.
    fn from_str(name: &str) -> Result<Mark, String> {
        let normalised = name.replace('_', "-");
        Mark::ALL
            .iter()
            .copied()
            .find(|mark| mark.name() == normalised)
            .ok_or_else(|| {
                crate::spelling::unknown_name(
                    "coverage mark",
                    name,
                    Mark::ALL.iter().map(|mark| mark.name()),
                )
            })
    }
}

impl Serialize for Mark {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Mark {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Mark, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mark_reads_back_from_its_name_and_from_the_old_snake_case() {
        for mark in Mark::ALL {
            assert_eq!(mark.name().parse::<Mark>(), Ok(*mark));
            assert_eq!(mark.name().replace('-', "_").parse::<Mark>(), Ok(*mark));
            assert!(!mark.description().is_empty());
        }
    }

    #[test]
    fn a_misspelled_mark_is_refused_with_the_closest_name() {
        let error = "isr-shrank".parse::<Mark>().unwrap_err();
        assert!(
            error.contains("unknown coverage mark `isr-shrank`"),
            "{error}"
        );
        assert!(error.contains("did you mean `isr-shrunk`?"), "{error}");
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = Mark::ALL.iter().map(|mark| mark.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Mark::ALL.len());
    }
}
