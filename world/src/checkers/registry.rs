//! The registry of checkers: every property Watermark judges, with the name its source gives
//! it, where the definition comes from, its file and what it reads. Reports print the
//! source's spelling (`lost-write`, `LeaderInIsr`), so results compare with Jepsen's and
//! Kafka's; scenario files write the kebab-case name (`leader-in-isr`) or the source's
//! spelling, and a misspelled name is refused at load with the closest correct one.
//! `watermark checkers` prints this table.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// What a checker reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckerKind {
    /// The client history (Jepsen style) and the final logs, once the run is over.
    ClientHistory,
    /// Every broker and controller event as it happens, and the replicas' logs then.
    ReplicaState,
    /// The offset commits the group coordinators accepted, and the client history, once the
    /// run is over. Like replica-state findings these are invariants of the brokers.
    GroupCommits,
    /// Whether the cluster converged in the liveness phase.
    Liveness,
}

/// What a finding does to the observed delivery guarantee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuaranteeEffect {
    /// Something acknowledged is gone: at-least-once is broken.
    Loss,
    /// Something was stored or processed twice: at-most-once is broken.
    Duplication,
    /// The log itself cannot be trusted (two values at one offset, a definitely failed write
    /// made visible): at-least-once, and so exactly-once, is broken.
    Integrity,
    /// Records were written or read out of order: the ordering verdict is `violated`; the
    /// delivery guarantee is untouched.
    Ordering,
    /// Reported, judged by the scenario's expectation, but not part of the guarantee.
    None,
}

/// One registry entry.
#[derive(Clone, Copy, Debug)]
pub struct CheckerInfo {
    pub checker: Checker,
    /// The name as the source spells it, as reports print it.
    pub name: &'static str,
    /// The kebab-case name scenario files use.
    pub file_name: &'static str,
    pub kind: CheckerKind,
    /// Where the definition comes from.
    pub source: &'static str,
    /// The source file of the implementation, from the repository root.
    pub file: &'static str,
    /// Informational findings never fail a run on their own.
    pub informational: bool,
    pub effect: GuaranteeEffect,
    /// One sentence: what a finding means.
    pub definition: &'static str,
}

macro_rules! checkers {
    ($($variant:ident {
        name: $name:literal, file_name: $file_name:literal, kind: $kind:ident,
        source: $source:literal, file: $file:literal, informational: $informational:literal,
        effect: $effect:ident, definition: $definition:literal $(,)?
    },)+) => {
        /// Every checker, in the order they run and report.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Checker {
            $($variant,)+
        }

        /// The registry, in report order.
        pub const REGISTRY: &[CheckerInfo] = &[$(CheckerInfo {
            checker: Checker::$variant,
            name: $name,
            file_name: $file_name,
            kind: CheckerKind::$kind,
            source: $source,
            file: $file,
            informational: $informational,
            effect: GuaranteeEffect::$effect,
            definition: $definition,
        },)+];
    };
}

checkers! {
    LostWrite {
        name: "lost-write", file_name: "lost-write", kind: ClientHistory,
        source: "Jepsen, jepsen.tests.kafka lost-write-cases",
        file: "world/src/checkers/lost_write.rs", informational: false, effect: Loss,
        definition: "a committed value below the highest offset some poll reached was never \
                     read by any poll",
    },
    Duplicate {
        name: "duplicate", file_name: "duplicate", kind: ClientHistory,
        source: "Jepsen, jepsen.tests.kafka duplicate-cases",
        file: "world/src/checkers/duplicate.rs", informational: false, effect: Duplication,
        definition: "one value at more than one offset of a partition's version order",
    },
    InconsistentOffsets {
        name: "inconsistent-offsets", file_name: "inconsistent-offsets", kind: ClientHistory,
        source: "Jepsen, jepsen.tests.kafka version-orders :errors",
        file: "world/src/checkers/inconsistent_offsets.rs", informational: false,
        effect: Integrity,
        definition: "one offset of a partition's version order bound to two or more values",
    },
    Unseen {
        name: "unseen", file_name: "unseen", kind: ClientHistory,
        source: "Jepsen, jepsen.tests.kafka unseen",
        file: "world/src/checkers/unseen.rs", informational: false, effect: Loss,
        definition: "an acknowledged value that no poll ever read by the end of the history \
                     (for a simulated run, after its liveness phase)",
    },
    NonmonotonicSend {
        name: "nonmonotonic-send", file_name: "nonmonotonic-send", kind: ClientHistory,
        source: "Jepsen, jepsen.tests.kafka nonmonotonic-send-cases",
        file: "world/src/checkers/nonmonotonic_send.rs", informational: false,
        effect: Ordering,
        definition: "a producer's send landed at or before its previous send to the partition",
    },
    PollSkip {
        name: "poll-skip", file_name: "poll-skip", kind: ClientHistory,
        source: "Jepsen, jepsen.tests.kafka poll-skip+nonmonotonic-cases",
        file: "world/src/checkers/poll_skip.rs", informational: false, effect: Ordering,
        definition: "a consumer's next poll started past records that exist after its last one",
    },
    NonmonotonicPoll {
        name: "nonmonotonic-poll", file_name: "nonmonotonic-poll", kind: ClientHistory,
        source: "Jepsen, jepsen.tests.kafka poll-skip+nonmonotonic-cases",
        file: "world/src/checkers/nonmonotonic_poll.rs", informational: false,
        effect: Ordering,
        definition: "a consumer's next poll started at or before where its last one ended",
    },
    DuplicateConsume {
        name: "duplicate-consume", file_name: "duplicate-consume", kind: ClientHistory,
        source: "Watermark's own: end-to-end processing counts (KIP-98's exactly once)",
        file: "world/src/checkers/duplicate_consume.rs", informational: false,
        effect: Duplication,
        definition: "the application was handed the same value more than once",
    },
    FinalLogLoss {
        name: "final-log-loss", file_name: "final-log-loss", kind: ClientHistory,
        source: "Watermark's own: the final logs after the liveness phase",
        file: "world/src/checkers/final_log_loss.rs", informational: false, effect: Loss,
        definition: "an acknowledged or polled value is missing from the final log",
    },
    G1a {
        name: "G1a", file_name: "aborted-read", kind: ClientHistory,
        source: "Jepsen, jepsen.tests.kafka g1a-cases (Adya's G1a, aborted read)",
        file: "world/src/checkers/aborted_read.rs", informational: false, effect: Integrity,
        definition: "a send reported as a definite failure became visible in a poll or a \
                     final log",
    },
    IntPollSkip {
        name: "int-poll-skip", file_name: "int-poll-skip", kind: ClientHistory,
        source: "Jepsen, jepsen.tests.kafka int-poll-skip+nonmonotonic-cases",
        file: "world/src/checkers/int_poll_skip.rs", informational: false, effect: Ordering,
        definition: "inside one poll, two consecutive records skip records that exist",
    },
    IntNonmonotonicPoll {
        name: "int-nonmonotonic-poll", file_name: "int-nonmonotonic-poll", kind: ClientHistory,
        source: "Jepsen, jepsen.tests.kafka int-poll-skip+nonmonotonic-cases",
        file: "world/src/checkers/int_nonmonotonic_poll.rs", informational: false, effect: Ordering,
        definition: "inside one poll, a record at or before the record handed over before it",
    },
    Unprocessed {
        name: "unprocessed", file_name: "unprocessed", kind: ClientHistory,
        source: "Watermark's own: end-to-end processing counts per group",
        file: "world/src/checkers/unprocessed.rs", informational: false, effect: Loss,
        definition: "an acknowledged value of a topic a group reads that the group's \
                     application never processed",
    },
    DuplicateProcess {
        name: "duplicate-process", file_name: "duplicate-process", kind: ClientHistory,
        source: "Watermark's own: end-to-end processing counts per group",
        file: "world/src/checkers/duplicate_process.rs", informational: false,
        effect: Duplication,
        definition: "a group's application processed the same value more than once",
    },
    PrecommittedRead {
        name: "precommitted-read", file_name: "precommitted-read", kind: ClientHistory,
        source: "Jepsen, jepsen.tests.kafka precommitted-read-cases",
        file: "world/src/checkers/precommitted_read.rs", informational: false,
        effect: Integrity,
        definition: "a transaction polled a value it sent itself, which no reader may see \
                     before the transaction commits",
    },
    IntSendSkip {
        name: "int-send-skip", file_name: "int-send-skip", kind: ClientHistory,
        source: "Jepsen, jepsen.tests.kafka int-send-skip+nonmonotonic-cases",
        file: "world/src/checkers/int_send_skip.rs", informational: true, effect: None,
        definition: "inside one transaction, two consecutive sends to a partition landed with \
                     records between them (normal: transactions interleave; Jepsen allows it)",
    },
    IntNonmonotonicSend {
        name: "int-nonmonotonic-send", file_name: "int-nonmonotonic-send", kind: ClientHistory,
        source: "Jepsen, jepsen.tests.kafka int-send-skip+nonmonotonic-cases",
        file: "world/src/checkers/int_nonmonotonic_send.rs", informational: false,
        effect: Ordering,
        definition: "inside one transaction, a send landed at or before the transaction's \
                     previous send to the partition",
    },
    TransactionAtomicity {
        name: "transaction-atomicity", file_name: "transaction-atomicity", kind: ClientHistory,
        source: "Watermark's own: KIP-98's atomic writes as read_committed readers see them",
        file: "world/src/checkers/transaction_atomicity.rs", informational: false,
        effect: Integrity,
        definition: "a read_committed reader or the final logs showed part of a transaction's \
                     writes, or any write of an aborted one",
    },
    PipelineMissingOutput {
        name: "pipeline-missing-output", file_name: "pipeline-missing-output",
        kind: ClientHistory,
        source: "Watermark's own: end-to-end exactly-once of consume-transform-produce \
                 (KIP-98, KIP-447)",
        file: "world/src/checkers/pipeline_exactly_once.rs", informational: false,
        effect: Loss,
        definition: "a committed input value has no output visible to read_committed in the \
                     final logs",
    },
    PipelineDuplicateOutput {
        name: "pipeline-duplicate-output", file_name: "pipeline-duplicate-output",
        kind: ClientHistory,
        source: "Watermark's own: end-to-end exactly-once of consume-transform-produce \
                 (KIP-98, KIP-447)",
        file: "world/src/checkers/pipeline_exactly_once.rs", informational: false,
        effect: Duplication,
        definition: "a committed input value has more than one output visible to \
                     read_committed in the final logs",
    },
    PipelineOutputWithoutOffsets {
        name: "pipeline-output-without-offsets", file_name: "pipeline-output-without-offsets",
        kind: ClientHistory,
        source: "Watermark's own: end-to-end exactly-once of consume-transform-produce \
                 (KIP-447, offsets committed in the transaction)",
        file: "world/src/checkers/pipeline_exactly_once.rs", informational: false,
        effect: Duplication,
        definition: "an input value's output was committed by a transaction that did not \
                     commit the input position past it",
    },
    CommittedOffsetBackwards {
        name: "committed-offset-backwards", file_name: "committed-offset-backwards",
        kind: GroupCommits,
        source: "Watermark's own: committed offsets only move forward without a reset",
        file: "world/src/checkers/committed_offset_backwards.rs", informational: false,
        effect: None,
        definition: "a group's accepted committed offset of a partition went below an earlier \
                     accepted one",
    },
    CommitPastProcessed {
        name: "commit-past-processed", file_name: "commit-past-processed", kind: GroupCommits,
        source: "Kafka consumer documentation, at-least-once: process, then commit",
        file: "world/src/checkers/commit_past_processed.rs", informational: false,
        effect: None,
        definition: "an at-least-once group's accepted commit passed a record the group had \
                     not processed yet",
    },
    FencedCommitAccepted {
        name: "fenced-commit-accepted", file_name: "fenced-commit-accepted", kind: GroupCommits,
        source: "Kafka ClassicGroup.validateOffsetCommit (ILLEGAL_GENERATION, \
                 UNKNOWN_MEMBER_ID)",
        file: "world/src/checkers/fenced_commit_accepted.rs", informational: false,
        effect: None,
        definition: "a coordinator accepted a commit from a stale generation or from a member \
                     not in the group",
    },
    LeaderInIsr {
        name: "LeaderInIsr", file_name: "leader-in-isr", kind: ReplicaState,
        source: "TLA+, hachikuji/kafka-specification KafkaReplication.tla LeaderInIsr",
        file: "world/src/checkers/leader_in_isr.rs", informational: false, effect: None,
        definition: "a partition's leader is always a member of its ISR",
    },
    SingleLeaderPerEpoch {
        name: "SingleLeaderPerEpoch", file_name: "single-leader-per-epoch", kind: ReplicaState,
        source: "Kafka RaftEventSimulationTest SingleLeader, for partition leader epochs",
        file: "world/src/checkers/single_leader_per_epoch.rs", informational: false,
        effect: None,
        definition: "no two brokers lead the same partition in the same leader epoch",
    },
    MonotonicHighWatermark {
        name: "MonotonicHighWatermark", file_name: "monotonic-high-watermark",
        kind: ReplicaState,
        source: "Kafka RaftEventSimulationTest MonotonicHighWatermark",
        file: "world/src/checkers/monotonic_high_watermark.rs", informational: false,
        effect: None,
        definition: "a replica's high watermark never goes backwards",
    },
    LogMatching {
        name: "LogMatching", file_name: "log-matching", kind: ReplicaState,
        source: "Raft Log Matching (Ongaro 5.3) over KIP-101 leader epochs; \
                 RaftEventSimulationTest ConsistentCommittedData",
        file: "world/src/checkers/log_matching.rs", informational: false, effect: None,
        definition: "two replicas never hold different values at one offset and leader epoch",
    },
    StrongIsr {
        name: "StrongIsr", file_name: "strong-isr", kind: ReplicaState,
        source: "TLA+, hachikuji/kafka-specification KafkaReplication.tla StrongIsr",
        file: "world/src/checkers/strong_isr.rs", informational: false, effect: None,
        definition: "everything below a leader's high watermark is on every ISR member",
    },
    NoCommittedRecordLost {
        name: "NoCommittedRecordLost", file_name: "no-committed-record-lost",
        kind: ReplicaState,
        source: "TLA+, hachikuji/kafka-specification KafkaReplication.tla durability; \
                 KIP-101, KIP-279",
        file: "world/src/checkers/no_committed_record_lost.rs", informational: false,
        effect: None,
        definition: "a record below a leader's high watermark is never missing from a later leader",
    },
    WeakIsr {
        name: "WeakIsr", file_name: "weak-isr", kind: ReplicaState,
        source: "TLA+, hachikuji/kafka-specification KafkaReplication.tla WeakIsr",
        file: "world/src/checkers/weak_isr.rs", informational: false, effect: None,
        definition: "everything below a leader's high watermark is on every member of its own \
                     view of the ISR",
    },
    ReplicaDivergence {
        name: "ReplicaDivergence", file_name: "replica-divergence", kind: ReplicaState,
        source: "Watermark's own: replicas converge by content",
        file: "world/src/checkers/replica_divergence.rs", informational: false,
        effect: Integrity,
        definition: "after the liveness phase a replica holds a different record than the \
                     leader at an offset both hold",
    },
    AcksAllOnMinInsync {
        name: "AcksAllOnMinInsync", file_name: "acks-all-on-min-insync", kind: ReplicaState,
        source: "Kafka documentation, producer acks and min.insync.replicas; KAFKA-15583",
        file: "world/src/checkers/acks_all_on_min_insync.rs", informational: false,
        effect: None,
        definition: "an acks=all write was acknowledged while fewer than min.insync.replicas \
                     replicas held it",
    },
    HighWatermarkCommitted {
        name: "HighWatermarkCommitted", file_name: "high-watermark-committed",
        kind: ReplicaState,
        source: "Kafka documentation, Replication (committed = on every ISR member); \
                 KAFKA-15583",
        file: "world/src/checkers/high_watermark_committed.rs", informational: false,
        effect: None,
        definition: "a replica's high watermark rose above what the partition had committed",
    },
    Liveness {
        name: "liveness", file_name: "liveness", kind: Liveness,
        source: "Watermark's own: the liveness phase (TigerBeetle's VOPR)",
        file: "world/src/convergence.rs", informational: false, effect: None,
        definition: "after healing every fault the cluster did not converge within the bound",
    },
}

impl Checker {
    /// This checker's registry entry.
    pub fn info(self) -> &'static CheckerInfo {
        &REGISTRY[self as usize]
    }

    /// The name as the source spells it.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn kind(self) -> CheckerKind {
        self.info().kind
    }

    /// Every checker of one kind, in report order.
    pub fn of_kind(kind: CheckerKind) -> impl Iterator<Item = Checker> {
        REGISTRY
            .iter()
            .filter(move |info| info.kind == kind)
            .map(|info| info.checker)
    }
}

impl fmt::Display for Checker {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for Checker {
    type Err = String;

    /// Reads the kebab-case name or the source's spelling; an unknown name is refused with
    /// the closest correct one.
    fn from_str(name: &str) -> Result<Checker, String> {
        REGISTRY
            .iter()
            .find(|info| info.file_name == name || info.name == name)
            .map(|info| info.checker)
            .ok_or_else(|| {
                watermark_broker_core::spelling::unknown_name(
                    "checker",
                    name,
                    REGISTRY.iter().map(|info| info.file_name),
                )
            })
    }
}

impl Serialize for Checker {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Checker {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Checker, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_in_declaration_order_and_every_name_reads_back() {
        for (index, info) in REGISTRY.iter().enumerate() {
            assert_eq!(info.checker as usize, index, "{}", info.name);
            assert_eq!(info.name.parse::<Checker>(), Ok(info.checker));
            assert_eq!(info.file_name.parse::<Checker>(), Ok(info.checker));
            assert!(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(info.file)
                .exists());
        }
    }

    #[test]
    fn a_misspelled_checker_is_refused_with_the_closest_name() {
        let error = "lost-writes".parse::<Checker>().unwrap_err();
        assert_eq!(
            error,
            "unknown checker `lost-writes`; did you mean `lost-write`?"
        );
        let error = "no-commited-record-lost".parse::<Checker>().unwrap_err();
        assert!(error.contains("`no-committed-record-lost`"), "{error}");
    }
}
