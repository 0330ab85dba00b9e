//! A consumer across an unclean election, with and without KIP-320's truncation detection
//! (its consumer half, KAFKA-7747, Kafka 2.3). The consumer has read committed records from
//! the old leader up to offset 20; an out-of-sync replica holding only offsets 0..5 is
//! elected uncleanly and a second producer writes 30 new records there, at offsets 5..35,
//! while the consumer is paused. When it resumes, Kafka 2.3+ asks the new leader where the
//! epoch of its last consumed record ends (5), goes back there and reads every new record;
//! a consumer before 2.3 (`no-consumer-truncation-detection`) fetches on from offset 20 and
//! never reads the new records at offsets 5..20.
//!
//! What the unclean election itself costs is the same in both: the records committed on the
//! old leader at offsets 5..20 are not in the final log (`final-log-loss`), two values were
//! seen at each of those offsets (`inconsistent-offsets`) and the new leader lacks records an
//! earlier leader committed (`NoCommittedRecordLost`, allowed). Only the consumer's missed
//! records (`unseen`, and `lost-write`: it read past them) tell the two apart.

use crate::builder::ScenarioBuilder;
use watermark_broker_core::bugs::BugSwitch;
use watermark_broker_core::ids::{BrokerId, Offset, PartitionId};
use watermark_broker_core::mark::Mark;
use watermark_broker_core::protocol::Acks;
use watermark_sim::checkers::Checker;
use watermark_sim::fault::{Condition, Fault, PartitionRef, ScriptedFault, Target, Trigger};
use watermark_sim::scenario::{ConsumerWorkload, ProducerWorkload, Scenario};
use watermark_sim::verdict::Guarantee;

const P0: PartitionRef = PartitionRef::Index(PartitionId(0));

/// Clients' `request.timeout.ms` after the crash: a fresh producer's first metadata request,
/// or the resumed consumer's, may go to a broker that is down, where it is dropped unanswered;
/// 3 s (Kafka's default is 30 s) lets them find the new leader inside the safety phase.
const REQUEST_TIMEOUT_MS: u64 = 3_000;

/// How long the consumer is paused, from the crash of the ISR: past the broker session
/// timeout (9 s, after which the controller elects broker 3) and the second producer's
/// writes (from 20 s), so the new leader's log has grown past the consumer's position.
const CONSUMER_PAUSE_MS: u64 = 20_000;

/// The scenarios of this file, in teaching order.
pub(crate) fn catalogue() -> Vec<Result<Scenario, String>> {
    vec![
        consumer_detects_truncation_after_unclean_election(),
        consumer_misses_records_without_truncation_detection(),
    ]
}

/// The faults and workload both scenarios share.
fn paused_consumer_across_unclean_election(name: &str) -> ScenarioBuilder {
    let before = ProducerWorkload {
        records: 20,
        start_ms: 1_000,
        interval_ms: 100,
        ..ProducerWorkload::default()
    };
    let mut after = ProducerWorkload {
        records: 30,
        start_ms: 20_000,
        interval_ms: 100,
        ..ProducerWorkload::default()
    };
    after.config.request_timeout_ms = REQUEST_TIMEOUT_MS;
    let mut consumer = ConsumerWorkload::default();
    consumer.config.request_timeout_ms = REQUEST_TIMEOUT_MS;
    let cut_broker_3 = vec![
        Fault::CutOneWay {
            from: Target::Broker(BrokerId(1)),
            to: Target::Broker(BrokerId(3)),
        },
        Fault::CutOneWay {
            from: Target::Broker(BrokerId(3)),
            to: Target::Broker(BrokerId(1)),
        },
    ];
    let crash_isr_and_pause_consumer = Trigger {
        condition: Condition::IsrShrunkTo {
            partition: P0,
            size: 2,
        },
        then: vec![
            Fault::Crash {
                target: Target::Broker(BrokerId(1)),
            },
            Fault::Crash {
                target: Target::Broker(BrokerId(2)),
            },
            Fault::Pause {
                target: Target::Consumer(0),
            },
        ],
        delay_ms: 2_000,
        after_ms: 0,
        label: None,
        later: vec![ScriptedFault::at(
            CONSUMER_PAUSE_MS,
            Fault::Resume {
                target: Target::Consumer(0),
            },
        )],
        optional: false,
    };
    ScenarioBuilder::new(name)
        .producers(vec![before, after])
        .consumers(vec![consumer])
        .acks(Acks::All)
        .min_insync_replicas(1)
        .unclean_leader_election_enable(true)
        .broker_config(|broker| broker.replica_lag_time_max_ms = 5_000)
        .trigger(
            Condition::HighWatermarkReached {
                partition: P0,
                offset: Offset(5),
            },
            0,
            cut_broker_3,
        )
        .trigger_with(crash_isr_and_pause_consumer)
        .phases(40_000, 120_000)
        .expect(Guarantee::AtMostOnce)
        .expect_anomaly(Checker::FinalLogLoss)
        .allow_invariant_violation(Checker::NoCommittedRecordLost)
        .expect_mark(Mark::UncleanElection)
        .expect_mark(Mark::ConsumerLeaderChanged)
}

/// The story both explanations share.
const STORY: &str = "Once the high watermark reaches 5, broker 3 is cut off from the leader, \
    broker 1; it leaves the ISR 5 s later (replica.lag.time.max.ms) holding offsets 0..5 only. \
    The first producer's 20 records are committed on brokers 1 and 2 (acks=all, \
    min.insync.replicas=1) and the consumer reads all of them, up to position 20. 2 s after \
    the ISR shrank, brokers 1 and 2 crash and the consumer pauses (a 20 s stop, as a long GC \
    pause would). When their sessions expire the controller elects broker 3 uncleanly \
    (unclean.leader.election.enable=true), in a new epoch: records 5..20, committed and read, \
    are gone. From 20 s a second producer writes 30 records there, at offsets 5..35, \
    committed on broker 3 alone.";

/// Kafka 2.3+ (KIP-320): the consumer validates its position after the leader change.
fn consumer_detects_truncation_after_unclean_election() -> Result<Scenario, String> {
    paused_consumer_across_unclean_election("consumer-detects-truncation-after-unclean-election")
        .summary(
            "after an unclean election the consumer asks the new leader where its epoch ends, \
             goes back there and reads every new record",
        )
        .explanation(&format!(
            "{STORY} When the consumer resumes it learns of the new leader epoch and, before \
             fetching, validates its position (KIP-320, Kafka 2.3+): OffsetsForLeaderEpoch for \
             the epoch of the last record it consumed answers that this epoch ends at offset 5 \
             on broker 3, below its position 20. The log was truncated under it, so it goes \
             back to 5 and reads the new records 5..35. The unclean election still lost the \
             committed records 5..20 (final-log-loss), and the consumer saw two values at each \
             of those offsets (inconsistent-offsets), but it missed nothing the final log holds.",
        ))
        .expect_anomaly(Checker::InconsistentOffsets)
        .expect_mark(Mark::ConsumerTruncationDetected)
        .build()
}

/// KAFKA-7747, fixed in Kafka 2.3: the consumer before KIP-320's validation.
fn consumer_misses_records_without_truncation_detection() -> Result<Scenario, String> {
    paused_consumer_across_unclean_election("consumer-misses-records-without-truncation-detection")
        .summary(
            "before KIP-320's consumer side (Kafka 2.3): after an unclean election the consumer \
             fetches on from its old position and never reads the new leader's records below it",
        )
        .explanation(&format!(
            "{STORY} Consumers before Kafka 2.3 (no-consumer-truncation-detection; KIP-320's \
             consumer side came with KAFKA-7747) kept their fetch position across a leader \
             change without checking it. Had the consumer fetched while broker 3's log still \
             ended at 5, it would have been told OFFSET_OUT_OF_RANGE and reset by \
             auto.offset.reset; but the second producer has grown the log past 20 by the time \
             it resumes, so its fetch at 20 succeeds and it goes on from there. The 15 records \
             the new leader wrote at offsets 5..20 are committed and in the final log, yet the \
             consumer never reads them (unseen), though it read records after them (Jepsen's \
             lost-write): the silent skip KIP-320's motivation describes. The unclean election's own losses are those of \
             consumer-detects-truncation-after-unclean-election.",
        ))
        .bug(BugSwitch::NoConsumerTruncationDetection)
        .expect_anomaly(Checker::Unseen)
        .expect_anomaly(Checker::LostWrite)
        .expect_mark(Mark::ConsumerTruncationDetectionSkipped)
        .build()
}
