//! Older Kafka behaviour and planted bugs behind explicit switches, all off by default. The
//! model follows Kafka 4.1+; a switch turns one faithful code path into an older (or a
//! planted, wrong) one and changes nothing else, so a sweep with a switch on shows what the
//! change was for. Each switch says what it is ([`SwitchKind`]), the KIP or JIRA that changed
//! the behaviour and the first Kafka release without it; the command line accepts either
//! its name or that KIP/JIRA.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One historical bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BugSwitch {
    /// Before KIP-101 a restarted or demoted follower truncated its log to its own high
    /// watermark before fetching, which can cut committed records a new leader then lacks,
    /// or let replicas diverge at the same offset.
    TruncateToHighWatermark,
    /// The leader answers acks=all as soon as it has appended, before the ISR has the record:
    /// acks=all degrades to acks=1.
    AckBeforeIsr,
    /// Before KAFKA-15583 (Kafka 3.7) a leader advanced its high watermark while the ISR was
    /// smaller than min.insync.replicas, so records became committed (and readable) on fewer
    /// replicas than the topic asks for.
    HwAdvancesUnderMinIsr,
    /// Before KIP-595's truncation on fetch (inter-broker protocol 2.7, the only path of
    /// Kafka on KRaft) a follower found where its log diverged with the OffsetsForLeaderEpoch
    /// handshake (KIP-101, KIP-279) before every (re)start of fetching, and its fetches
    /// carried no last fetched epoch.
    OffsetsForLeaderEpochTruncation,
    /// The group coordinator accepts offset commits whatever their generation and member,
    /// so a zombie member's late commit can move a group's committed offset backwards.
    NoGenerationFencing,
    /// The transaction coordinator answers InitProducerId for a known transactional id with
    /// the same producer id and epoch: the previous instance is not fenced, its open
    /// transaction is not aborted, and a zombie keeps writing (planted: no Kafka release
    /// with transactions lacked fencing).
    NoProducerFencing,
    /// Transactions version 1 (Kafka before 4.0, KIP-890 part 2 absent): the epoch is not
    /// bumped when a transaction ends, so a late EndTxn of one transaction can commit or
    /// abort the next one (KAFKA-17754, as Jepsen found it in 2024).
    NoEpochBumpPerTransaction,
    /// Before KIP-890 part 1 (Kafka 3.6) a partition leader appended the first transactional
    /// batch of a producer without asking the transaction coordinator whether its
    /// transaction was ongoing, so a produce delayed past its transaction's abort opened a
    /// transaction no marker would end (the last stable offset stuck) or joined the
    /// producer's next one (KAFKA-14402, the hanging transaction).
    NoTransactionVerification,
    /// Before KIP-360 (Kafka 2.5) a broker forgot a producer once DeleteRecords or retention
    /// moved the log start offset past all its batches and answered its next batch
    /// UNKNOWN_PRODUCER_ID; the producer, seeing its last acknowledged offset below the log
    /// start offset, numbered its batches from sequence 0 again and resent them, so a batch
    /// whose first attempt was written (its answer lost) was written twice (KAFKA-7190).
    ResetSequenceOnUnknownProducer,
    /// Before KAFKA-7128 (fixed in 2.0.1 and 2.1.0) a leader proposed a follower for the ISR
    /// once its log end offset reached the leader's high watermark, even when that high
    /// watermark still lagged behind the previous leader's (a new leader learns it only on its
    /// followers' next fetches, and commits nothing before a record of its own epoch), so a
    /// follower lacking committed records could join the ISR, be elected cleanly and lose
    /// them. Since the fix it must also have reached the start offset of the leader's epoch.
    IsrJoinBelowLeaderEpochStart,
    /// Kafka 2.7.0 to 2.8.0 (KAFKA-13141, fixed in 2.7.2, 2.8.1 and 3.0.0): a leader that
    /// answered a follower's fetch with a diverging epoch (KIP-595) still took the fetch
    /// offset as the follower's log end offset, so the follower counted as caught up and the
    /// high watermark could pass records the follower does not have.
    DivergentFetchCountsAsProgress,
    /// Before KIP-279 (Kafka 2.0, KAFKA-6361) OffsetsForLeaderEpoch answered an end offset
    /// alone: where the leader lacked the follower's latest epoch, the start of its next
    /// higher epoch. The follower cut its log there (or kept it, when shorter) in one round,
    /// without checking that the two logs agree below that offset, so after fast leader
    /// changes replicas keep different records at the same offsets for good. Refines the
    /// handshake path: it implies `offsets-for-leader-epoch-truncation`.
    EpochLookupWithoutEpoch,
    /// Before KAFKA-7164 (Kafka 2.0.1) a follower told of a new leader epoch whose leader it
    /// already followed skipped the become-follower steps (`Partition.makeFollower` answered
    /// false and `ReplicaManager.makeFollowers` left its fetcher alone): no truncation, so a
    /// follower that missed the leader changes in between kept records its leader had since
    /// replaced. Refines the handshake path: it implies `offsets-for-leader-epoch-truncation`.
    NoTruncationWhenLeaderUnchanged,
    /// Before KIP-841 (Kafka 3.3, KAFKA-13916) the KRaft controller accepted an
    /// AlterPartition whose new ISR named a fenced replica, one in controlled shutdown or
    /// one not registered at all: it checked only that the members were replicas of the
    /// partition and trusted the leader. A replica fenced while the leader's proposal was on
    /// its way (it lost power, say) joined the ISR; when it came back with a shorter log it
    /// was still an ISR member and could be elected.
    IsrAcceptsFencedReplicas,
    /// Before KIP-903 (Kafka 3.5, KAFKA-14139/KAFKA-14617) AlterPartition named the new
    /// ISR's members without their broker epochs, so the controller could not tell which
    /// incarnation of a replica had caught up: a proposal built on the fetches of a replica
    /// that then lost power was accepted after it had registered again with an empty log,
    /// and that replica could be elected.
    IsrAcceptsStaleBrokerEpoch,
    /// Before KIP-320's consumer side (KAFKA-7747, Kafka 2.3) a consumer kept its fetch
    /// position across a leader change without checking it against the new leader. After an
    /// unclean election the new leader's log can be shorter than the position: the consumer
    /// is told OFFSET_OUT_OF_RANGE and resets by `auto.offset.reset`, or, once the new
    /// leader's log has grown past the position again, it fetches on from there and never
    /// reads the records the new leader wrote below it.
    NoConsumerTruncationDetection,
    /// Kafka 2.7.0 to 3.4.0 (KAFKA-14704, fixed in 3.5.0 and backported to 3.4.1, 3.3.3
    /// and 3.2 and earlier branches): a follower handed a fetch answer with a diverging
    /// epoch first processed its partition data, taking the leader's high watermark bounded
    /// only by its own, still diverged, log end offset, and truncated afterwards. Until the
    /// truncation a consumer fetching from that follower (KIP-392) could read records that
    /// were never committed and were about to be cut.
    FollowerHighWatermarkBeforeTruncation,
}

/// What turning a switch on does to a run's guarantees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SwitchKind {
    /// A defect (historical or planted): the safe swarm's checkers must catch it.
    Bug,
    /// Behaviour an older Kafka had on purpose: weaker or different, but not a checker
    /// violation under the settings the safe swarm uses.
    OlderBehaviour,
}

impl BugSwitch {
    /// Every switch, in a fixed order.
    pub const ALL: [BugSwitch; 17] = [
        BugSwitch::TruncateToHighWatermark,
        BugSwitch::AckBeforeIsr,
        BugSwitch::HwAdvancesUnderMinIsr,
        BugSwitch::OffsetsForLeaderEpochTruncation,
        BugSwitch::NoGenerationFencing,
        BugSwitch::NoProducerFencing,
        BugSwitch::NoEpochBumpPerTransaction,
        BugSwitch::NoTransactionVerification,
        BugSwitch::ResetSequenceOnUnknownProducer,
        BugSwitch::IsrJoinBelowLeaderEpochStart,
        BugSwitch::DivergentFetchCountsAsProgress,
        BugSwitch::EpochLookupWithoutEpoch,
        BugSwitch::NoTruncationWhenLeaderUnchanged,
        BugSwitch::IsrAcceptsFencedReplicas,
        BugSwitch::IsrAcceptsStaleBrokerEpoch,
        BugSwitch::NoConsumerTruncationDetection,
        BugSwitch::FollowerHighWatermarkBeforeTruncation,
    ];

    /// The name used on the command line and in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            BugSwitch::TruncateToHighWatermark => "truncate-to-high-watermark",
            BugSwitch::AckBeforeIsr => "ack-before-isr",
            BugSwitch::HwAdvancesUnderMinIsr => "hw-advances-under-min-isr",
            BugSwitch::OffsetsForLeaderEpochTruncation => "offsets-for-leader-epoch-truncation",
            BugSwitch::NoGenerationFencing => "no-generation-fencing",
            BugSwitch::NoProducerFencing => "no-producer-fencing",
            BugSwitch::NoEpochBumpPerTransaction => "no-epoch-bump-per-transaction",
            BugSwitch::NoTransactionVerification => "no-transaction-verification",
            BugSwitch::ResetSequenceOnUnknownProducer => "reset-sequence-on-unknown-producer",
            BugSwitch::IsrJoinBelowLeaderEpochStart => "isr-join-below-leader-epoch-start",
            BugSwitch::DivergentFetchCountsAsProgress => "divergent-fetch-counts-as-progress",
            BugSwitch::EpochLookupWithoutEpoch => "epoch-lookup-without-epoch",
            BugSwitch::NoTruncationWhenLeaderUnchanged => "no-truncation-when-leader-unchanged",
            BugSwitch::IsrAcceptsFencedReplicas => "isr-accepts-fenced-replicas",
            BugSwitch::IsrAcceptsStaleBrokerEpoch => "isr-accepts-stale-broker-epoch",
            BugSwitch::NoConsumerTruncationDetection => "no-consumer-truncation-detection",
            BugSwitch::FollowerHighWatermarkBeforeTruncation => {
                "follower-high-watermark-before-truncation"
            }
        }
    }

    /// Whether the switch plants a defect or restores older, intended behaviour.
    pub fn kind(self) -> SwitchKind {
        match self {
            // Transactions version 1 was Kafka's design before 4.0, but its missing epoch
            // bump is what lets a late EndTxn end the next transaction (KAFKA-17754), which
            // `late-end-txn-tears-next-transaction` catches; a missing verification lets a
            // late produce open a hanging transaction (KAFKA-14402), which
            // `hanging-transaction-without-verification` catches; `no-producer-fencing` is
            // caught by `zombie-producer-fenced`, whose zombie's writes are committed. The
            // two ISR eligibility switches let a replica that lost records join the ISR and
            // be elected cleanly: `NoCommittedRecordLost` catches the loss. A consumer without truncation detection misses records the new leader holds
            // (`unseen`), which `consumer-misses-records-without-truncation-detection`
            // catches. A follower that takes the high watermark before truncating serves a
            // consumer records that are then cut (`inconsistent-offsets`).
            BugSwitch::TruncateToHighWatermark
            | BugSwitch::AckBeforeIsr
            | BugSwitch::NoGenerationFencing
            | BugSwitch::NoProducerFencing
            | BugSwitch::NoEpochBumpPerTransaction
            | BugSwitch::NoTransactionVerification
            | BugSwitch::ResetSequenceOnUnknownProducer
            | BugSwitch::IsrJoinBelowLeaderEpochStart
            | BugSwitch::DivergentFetchCountsAsProgress
            | BugSwitch::EpochLookupWithoutEpoch
            | BugSwitch::NoTruncationWhenLeaderUnchanged
            | BugSwitch::IsrAcceptsFencedReplicas
            | BugSwitch::IsrAcceptsStaleBrokerEpoch
            | BugSwitch::NoConsumerTruncationDetection
            | BugSwitch::FollowerHighWatermarkBeforeTruncation => SwitchKind::Bug,
            BugSwitch::HwAdvancesUnderMinIsr | BugSwitch::OffsetsForLeaderEpochTruncation => {
                SwitchKind::OlderBehaviour
            }
        }
    }

    /// The KIP or JIRA that changed the behaviour; `None` for a bug planted here that no
    /// Kafka release had.
    pub fn changed_by(self) -> Option<&'static str> {
        match self {
            BugSwitch::TruncateToHighWatermark => Some("KIP-101"),
            BugSwitch::AckBeforeIsr
            | BugSwitch::NoGenerationFencing
            | BugSwitch::NoProducerFencing => None,
            BugSwitch::HwAdvancesUnderMinIsr => Some("KAFKA-15583"),
            BugSwitch::OffsetsForLeaderEpochTruncation => Some("KIP-595"),
            BugSwitch::NoEpochBumpPerTransaction => Some("KAFKA-17754"),
            BugSwitch::NoTransactionVerification => Some("KAFKA-14402"),
            BugSwitch::ResetSequenceOnUnknownProducer => Some("KIP-360"),
            BugSwitch::IsrJoinBelowLeaderEpochStart => Some("KAFKA-7128"),
            BugSwitch::DivergentFetchCountsAsProgress => Some("KAFKA-13141"),
            BugSwitch::EpochLookupWithoutEpoch => Some("KIP-279"),
            BugSwitch::NoTruncationWhenLeaderUnchanged => Some("KAFKA-7164"),
            BugSwitch::IsrAcceptsFencedReplicas => Some("KIP-841"),
            BugSwitch::IsrAcceptsStaleBrokerEpoch => Some("KIP-903"),
            // KIP-320's consumer half; its broker half (fetch fencing by the current leader
            // epoch) came in 2.1, so the JIRA names the change this switch undoes.
            BugSwitch::NoConsumerTruncationDetection => Some("KAFKA-7747"),
            BugSwitch::FollowerHighWatermarkBeforeTruncation => Some("KAFKA-14704"),
        }
    }

    /// The first Kafka release with the change (`None` with [`BugSwitch::changed_by`]).
    pub fn fixed_in(self) -> Option<&'static str> {
        match self {
            BugSwitch::TruncateToHighWatermark => Some("0.11.0"),
            BugSwitch::AckBeforeIsr
            | BugSwitch::NoGenerationFencing
            | BugSwitch::NoProducerFencing => None,
            BugSwitch::HwAdvancesUnderMinIsr => Some("3.7.0"),
            BugSwitch::OffsetsForLeaderEpochTruncation => Some("2.7.0"),
            BugSwitch::NoEpochBumpPerTransaction => Some("4.0.0"),
            BugSwitch::NoTransactionVerification => Some("3.6.0"),
            BugSwitch::ResetSequenceOnUnknownProducer => Some("2.5.0"),
            // The lowest release with the fix; the fix also shipped in 2.1.0 (docs/DECISIONS.md).
            BugSwitch::IsrJoinBelowLeaderEpochStart => Some("2.0.1"),
            // The main line's first release with the fix; it was backported to 2.7.2 and
            // 2.8.1, which no profile models (docs/DECISIONS.md).
            BugSwitch::DivergentFetchCountsAsProgress => Some("3.0.0"),
            // KAFKA-6361's fix (commit 9679c44) is first tagged 2.0.0.
            BugSwitch::EpochLookupWithoutEpoch => Some("2.0.0"),
            // KAFKA-7164's fix (#5436) went to the 1.1, 2.0 and 2.1 branches; 2.0.1 is the
            // first release with it (no 1.1.x release followed 1.1.1).
            BugSwitch::NoTruncationWhenLeaderUnchanged => Some("2.0.1"),
            BugSwitch::IsrAcceptsFencedReplicas => Some("3.3.0"),
            BugSwitch::IsrAcceptsStaleBrokerEpoch => Some("3.5.0"),
            BugSwitch::NoConsumerTruncationDetection => Some("2.3.0"),
            // KAFKA-14704's fix (#13230, commit bd32d98) is first tagged 3.5.0 on the main
            // line; #13245 took it to the 3.2 and older branches, and 3.3.3 and 3.4.1 carry
            // it too, releases no profile models.
            BugSwitch::FollowerHighWatermarkBeforeTruncation => Some("3.5.0"),
        }
    }

    /// The switches a sweep of the safe swarm must catch.
    pub fn bugs() -> impl Iterator<Item = BugSwitch> {
        BugSwitch::ALL
            .into_iter()
            .filter(|switch| switch.kind() == SwitchKind::Bug)
    }

    /// The catalogue scenario whose sweep must catch this bug: a safe swarm, or the
    /// demonstration built for it (one that holds the one request the bug mishandles,
    /// issues the DeleteRecords no swarm issues, meets two instances of one
    /// transactional id, or keeps a consumer away across an unclean election).
    pub fn catching_swarm(self) -> &'static str {
        match self {
            BugSwitch::NoGenerationFencing => "safe-consumer-group-swarm",
            BugSwitch::NoProducerFencing => "zombie-producer-fenced",
            BugSwitch::NoEpochBumpPerTransaction => "late-end-txn-tears-next-transaction",
            BugSwitch::NoTransactionVerification => "hanging-transaction-without-verification",
            BugSwitch::ResetSequenceOnUnknownProducer => {
                "unknown-producer-resets-sequence-duplicates"
            }
            // The safe swarm catches `epoch-lookup-without-epoch` too, but rarely (seed 1251
            // of the first 2,000, docs/DECISIONS.md), and `no-truncation-when-leader-unchanged`
            // not at all: a follower must miss two leader changes that end where they began.
            BugSwitch::EpochLookupWithoutEpoch => "fast-failover-without-epoch-check-diverges",
            BugSwitch::NoTruncationWhenLeaderUnchanged => "missed-epochs-same-leader-diverges",
            BugSwitch::IsrAcceptsFencedReplicas => "fenced-replica-joins-isr-loses-committed",
            BugSwitch::IsrAcceptsStaleBrokerEpoch => "stale-broker-epoch-joins-isr-loses-committed",
            BugSwitch::NoConsumerTruncationDetection => {
                "consumer-misses-records-without-truncation-detection"
            }
            BugSwitch::FollowerHighWatermarkBeforeTruncation => {
                "follower-exposes-diverged-records-before-truncating"
            }
            BugSwitch::TruncateToHighWatermark
            | BugSwitch::AckBeforeIsr
            | BugSwitch::HwAdvancesUnderMinIsr
            | BugSwitch::OffsetsForLeaderEpochTruncation
            | BugSwitch::IsrJoinBelowLeaderEpochStart
            | BugSwitch::DivergentFetchCountsAsProgress => "safe-acks-all-swarm",
        }
    }

    /// One line on what the switch does.
    pub fn description(self) -> &'static str {
        match self {
            BugSwitch::TruncateToHighWatermark => {
                "followers truncate to their high watermark on restart or demotion (pre-KIP-101)"
            }
            BugSwitch::AckBeforeIsr => "acks=all is answered once the leader alone has appended",
            BugSwitch::HwAdvancesUnderMinIsr => {
                "the high watermark advances while the ISR is below min.insync.replicas (pre-KAFKA-15583)"
            }
            BugSwitch::OffsetsForLeaderEpochTruncation => {
                "followers truncate through the OffsetsForLeaderEpoch handshake (KIP-101/KIP-279) \
                 instead of the fetch's diverging epoch (KIP-595, Kafka 2.7 IBP)"
            }
            BugSwitch::NoGenerationFencing => {
                "the group coordinator accepts offset commits from any generation and member"
            }
            BugSwitch::NoProducerFencing => {
                "InitProducerId for a known transactional id keeps its epoch: the previous \
                 instance is not fenced"
            }
            BugSwitch::NoEpochBumpPerTransaction => {
                "transactions version 1: EndTxn does not bump the epoch, so a late EndTxn can \
                 end the next transaction (KAFKA-17754, fixed by KIP-890 part 2 in 4.0)"
            }
            BugSwitch::NoTransactionVerification => {
                "partition leaders append a producer's first transactional batch without asking \
                 the transaction coordinator: a late produce opens a hanging transaction \
                 (KAFKA-14402, fixed by KIP-890 part 1 in 3.6)"
            }
            BugSwitch::ResetSequenceOnUnknownProducer => {
                "brokers forget a producer whose records are all deleted and answer \
                 UNKNOWN_PRODUCER_ID; the producer resets its sequence to 0 and writes a retried \
                 batch twice (pre-KIP-360, fixed in 2.5)"
            }
            BugSwitch::IsrJoinBelowLeaderEpochStart => {
                "a leader adds a follower to the ISR once it reaches the leader's high watermark, \
                 even below the start of the leader's epoch while that high watermark lags: it can \
                 be elected without committed records (KAFKA-7128, fixed in 2.0.1 and 2.1.0)"
            }
            BugSwitch::DivergentFetchCountsAsProgress => {
                "a leader answering a fetch with a diverging epoch still takes its fetch offset as \
                 the follower's log end offset: the high watermark can pass records the follower \
                 lacks (KAFKA-13141, Kafka 2.7.0-2.8.0, fixed in 2.7.2, 2.8.1 and 3.0.0)"
            }
            BugSwitch::EpochLookupWithoutEpoch => {
                "followers truncate to the end offset OffsetsForLeaderEpoch answers without \
                 comparing epochs, in one round (pre-KIP-279, KAFKA-6361, fixed in 2.0); \
                 implies offsets-for-leader-epoch-truncation"
            }
            BugSwitch::NoTruncationWhenLeaderUnchanged => {
                "a follower whose leader is unchanged across a leader epoch change keeps \
                 fetching without truncating (KAFKA-7164, fixed in 2.0.1); implies \
                 offsets-for-leader-epoch-truncation"
            }
            BugSwitch::IsrAcceptsFencedReplicas => {
                "the controller accepts an AlterPartition whose ISR names a fenced, shutting-down \
                 or unregistered replica (pre-KIP-841, fixed in 3.3)"
            }
            BugSwitch::IsrAcceptsStaleBrokerEpoch => {
                "the controller ignores the broker epochs in an AlterPartition: a replica that \
                 restarted joins the ISR on its previous incarnation's fetches (pre-KIP-903, \
                 fixed in 3.5)"
            }
            BugSwitch::NoConsumerTruncationDetection => {
                "consumers keep their position across a leader change without validating it \
                 (OffsetsForLeaderEpoch): after an unclean election they skip the new leader's \
                 records below it (pre-KIP-320 consumer, KAFKA-7747, fixed in 2.3)"
            }
            BugSwitch::FollowerHighWatermarkBeforeTruncation => {
                "a follower answered with a diverging epoch takes the leader's high watermark \
                 before it truncates: for a moment it serves consumers (KIP-392) records that \
                 are about to be cut (KAFKA-14704, Kafka 2.7.0-3.4.0, fixed in 3.5.0)"
            }
        }
    }
}

impl fmt::Display for BugSwitch {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for BugSwitch {
    type Err = String;

    /// A switch's name, or the KIP/JIRA that changed it when exactly one switch names it
    /// (`KAFKA-15583`, any case).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if let Some(switch) = BugSwitch::ALL
            .into_iter()
            .find(|switch| switch.name() == name)
        {
            return Ok(switch);
        }
        let by_change: Vec<BugSwitch> = BugSwitch::ALL
            .into_iter()
            .filter(|switch| {
                switch
                    .changed_by()
                    .is_some_and(|change| change.eq_ignore_ascii_case(name))
            })
            .collect();
        if let [switch] = by_change[..] {
            return Ok(switch);
        }
        let known: Vec<&str> = BugSwitch::ALL.iter().map(|switch| switch.name()).collect();
        Err(format!(
            "unknown bug switch `{name}` (known: {}; a KIP or JIRA that names one switch is also accepted)",
            known.join(", ")
        ))
    }
}

/// The set of switches turned on for a run. A scenario's `[bugs]` table names any subset
/// (the rest stay off), in snake_case or by the switch's own kebab-case name; an unknown
/// name is refused.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(default, deny_unknown_fields)]
#[schemars(transform = crate::json_schema::add_bug_switch_spellings)]
pub struct BugSwitches {
    #[serde(alias = "truncate-to-high-watermark")]
    pub truncate_to_high_watermark: bool,
    #[serde(alias = "ack-before-isr")]
    pub ack_before_isr: bool,
    #[serde(alias = "hw-advances-under-min-isr")]
    pub hw_advances_under_min_isr: bool,
    #[serde(alias = "offsets-for-leader-epoch-truncation")]
    pub offsets_for_leader_epoch_truncation: bool,
    #[serde(alias = "no-generation-fencing")]
    pub no_generation_fencing: bool,
    #[serde(alias = "no-producer-fencing")]
    pub no_producer_fencing: bool,
    #[serde(alias = "no-epoch-bump-per-transaction")]
    pub no_epoch_bump_per_transaction: bool,
    #[serde(alias = "no-transaction-verification")]
    pub no_transaction_verification: bool,
    #[serde(alias = "reset-sequence-on-unknown-producer")]
    pub reset_sequence_on_unknown_producer: bool,
    #[serde(alias = "isr-join-below-leader-epoch-start")]
    pub isr_join_below_leader_epoch_start: bool,
    #[serde(alias = "divergent-fetch-counts-as-progress")]
    pub divergent_fetch_counts_as_progress: bool,
    #[serde(alias = "epoch-lookup-without-epoch")]
    pub epoch_lookup_without_epoch: bool,
    #[serde(alias = "no-truncation-when-leader-unchanged")]
    pub no_truncation_when_leader_unchanged: bool,
    #[serde(alias = "isr-accepts-fenced-replicas")]
    pub isr_accepts_fenced_replicas: bool,
    #[serde(alias = "isr-accepts-stale-broker-epoch")]
    pub isr_accepts_stale_broker_epoch: bool,
    #[serde(alias = "no-consumer-truncation-detection")]
    pub no_consumer_truncation_detection: bool,
    #[serde(alias = "follower-high-watermark-before-truncation")]
    pub follower_high_watermark_before_truncation: bool,
}

impl BugSwitches {
    /// Turns one switch on.
    pub fn enable(&mut self, switch: BugSwitch) {
        match switch {
            BugSwitch::TruncateToHighWatermark => self.truncate_to_high_watermark = true,
            BugSwitch::AckBeforeIsr => self.ack_before_isr = true,
            BugSwitch::HwAdvancesUnderMinIsr => self.hw_advances_under_min_isr = true,
            BugSwitch::OffsetsForLeaderEpochTruncation => {
                self.offsets_for_leader_epoch_truncation = true
            }
            BugSwitch::NoGenerationFencing => self.no_generation_fencing = true,
            BugSwitch::NoProducerFencing => self.no_producer_fencing = true,
            BugSwitch::NoEpochBumpPerTransaction => self.no_epoch_bump_per_transaction = true,
            BugSwitch::NoTransactionVerification => self.no_transaction_verification = true,
            BugSwitch::ResetSequenceOnUnknownProducer => {
                self.reset_sequence_on_unknown_producer = true
            }
            BugSwitch::IsrJoinBelowLeaderEpochStart => {
                self.isr_join_below_leader_epoch_start = true
            }
            BugSwitch::DivergentFetchCountsAsProgress => {
                self.divergent_fetch_counts_as_progress = true
            }
            BugSwitch::EpochLookupWithoutEpoch => self.epoch_lookup_without_epoch = true,
            BugSwitch::NoTruncationWhenLeaderUnchanged => {
                self.no_truncation_when_leader_unchanged = true
            }
            BugSwitch::IsrAcceptsFencedReplicas => self.isr_accepts_fenced_replicas = true,
            BugSwitch::IsrAcceptsStaleBrokerEpoch => self.isr_accepts_stale_broker_epoch = true,
            BugSwitch::NoConsumerTruncationDetection => {
                self.no_consumer_truncation_detection = true
            }
            BugSwitch::FollowerHighWatermarkBeforeTruncation => {
                self.follower_high_watermark_before_truncation = true
            }
        }
    }

    /// Whether followers find their divergence through the OffsetsForLeaderEpoch handshake
    /// before fetching (KIP-101, KIP-279) rather than on the fetch (KIP-595). The
    /// `offsets-for-leader-epoch-truncation` switch says so, and so does every switch that
    /// plants a bug of that era's path, which therefore implies it:
    /// `epoch-lookup-without-epoch` changes how the handshake's answer is read, and
    /// `no-truncation-when-leader-unchanged` skips the handshake a new epoch would start
    /// (on the KIP-595 path the next fetch's last fetched epoch would find the divergence
    /// anyway). The switches themselves stay separate: `enabled()` lists what was asked for.
    pub fn offsets_for_leader_epoch_handshake(&self) -> bool {
        self.offsets_for_leader_epoch_truncation
            || self.epoch_lookup_without_epoch
            || self.no_truncation_when_leader_unchanged
    }

    /// The switches that are on, in a fixed order.
    pub fn enabled(&self) -> Vec<BugSwitch> {
        BugSwitch::ALL
            .into_iter()
            .filter(|switch| match switch {
                BugSwitch::TruncateToHighWatermark => self.truncate_to_high_watermark,
                BugSwitch::AckBeforeIsr => self.ack_before_isr,
                BugSwitch::HwAdvancesUnderMinIsr => self.hw_advances_under_min_isr,
                BugSwitch::OffsetsForLeaderEpochTruncation => {
                    self.offsets_for_leader_epoch_truncation
                }
                BugSwitch::NoGenerationFencing => self.no_generation_fencing,
                BugSwitch::NoProducerFencing => self.no_producer_fencing,
                BugSwitch::NoEpochBumpPerTransaction => self.no_epoch_bump_per_transaction,
                BugSwitch::NoTransactionVerification => self.no_transaction_verification,
                BugSwitch::ResetSequenceOnUnknownProducer => {
                    self.reset_sequence_on_unknown_producer
                }
                BugSwitch::IsrJoinBelowLeaderEpochStart => self.isr_join_below_leader_epoch_start,
                BugSwitch::DivergentFetchCountsAsProgress => {
                    self.divergent_fetch_counts_as_progress
                }
                BugSwitch::EpochLookupWithoutEpoch => self.epoch_lookup_without_epoch,
                BugSwitch::NoTruncationWhenLeaderUnchanged => {
                    self.no_truncation_when_leader_unchanged
                }
                BugSwitch::IsrAcceptsFencedReplicas => self.isr_accepts_fenced_replicas,
                BugSwitch::IsrAcceptsStaleBrokerEpoch => self.isr_accepts_stale_broker_epoch,
                BugSwitch::NoConsumerTruncationDetection => self.no_consumer_truncation_detection,
                BugSwitch::FollowerHighWatermarkBeforeTruncation => {
                    self.follower_high_watermark_before_truncation
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_switch_reads_back_from_its_name_and_turns_on_alone() {
        for switch in BugSwitch::ALL {
            assert_eq!(switch.name().parse::<BugSwitch>(), Ok(switch));
            let mut switches = BugSwitches::default();
            switches.enable(switch);
            assert_eq!(switches.enabled(), vec![switch]);
            assert_eq!(switch.changed_by().is_some(), switch.fixed_in().is_some());
        }
    }

    #[test]
    fn a_bugs_table_takes_any_subset_by_either_spelling_and_refuses_unknown_names() {
        let one: BugSwitches = serde_json::from_str(r#"{"ack_before_isr": true}"#).unwrap();
        assert_eq!(one.enabled(), vec![BugSwitch::AckBeforeIsr]);
        let kebab: BugSwitches =
            serde_json::from_str(r#"{"hw-advances-under-min-isr": true}"#).unwrap();
        assert_eq!(kebab.enabled(), vec![BugSwitch::HwAdvancesUnderMinIsr]);
        let error = serde_json::from_str::<BugSwitches>(r#"{"ack_befor_isr": true}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown field `ack_befor_isr`"), "{error}");
    }

    #[test]
    fn the_handshake_era_bugs_imply_the_handshake_path() {
        assert!(!BugSwitches::default().offsets_for_leader_epoch_handshake());
        for switch in [
            BugSwitch::OffsetsForLeaderEpochTruncation,
            BugSwitch::EpochLookupWithoutEpoch,
            BugSwitch::NoTruncationWhenLeaderUnchanged,
        ] {
            let mut switches = BugSwitches::default();
            switches.enable(switch);
            assert!(switches.offsets_for_leader_epoch_handshake(), "{switch}");
        }
        let mut pre_kip_101 = BugSwitches::default();
        pre_kip_101.enable(BugSwitch::TruncateToHighWatermark);
        assert!(!pre_kip_101.offsets_for_leader_epoch_handshake());
    }

    #[test]
    fn a_jira_names_its_switch_and_an_unknown_name_lists_the_known_ones() {
        assert_eq!(
            "kafka-15583".parse::<BugSwitch>(),
            Ok(BugSwitch::HwAdvancesUnderMinIsr)
        );
        let error = "kafka-1".parse::<BugSwitch>().unwrap_err();
        assert!(error.contains("hw-advances-under-min-isr"), "{error}");
    }
}
