//! Two bugs of the partition leader's bookkeeping of its followers, each caught by
//! `NoCommittedRecordLost` and `final-log-loss`:
//!
//! - KAFKA-7128 (`isr-join-below-leader-epoch-start`, fixed in 2.0.1 and 2.1.0): a new
//!   leader's high watermark can lag the old leader's, and before the fix a follower that
//!   reached it joined the ISR although it lacked records the old leader had committed.
//! - KAFKA-13141 (`divergent-fetch-counts-as-progress`, Kafka 2.7.0 to 2.8.0): a fetch the
//!   leader answered with a diverging epoch still counted as the follower's progress, so the
//!   high watermark passed records the follower did not have.
//!
//! Both stories end the same way: the leader that misjudged its follower is cut off and
//! crashed at the moment it acts on the misjudgement (its ISR grows, or it acknowledges a
//! write), and the follower, elected cleanly, lacks committed records. With the switches off
//! the same faults hit the leader at the same moment of the faithful run, and nothing is lost.

use crate::builder::ScenarioBuilder;
use watermark_broker_core::bugs::BugSwitch;
use watermark_broker_core::ids::{BrokerId, Offset, PartitionId};
use watermark_broker_core::mark::Mark;
use watermark_broker_core::protocol::Acks;
use watermark_sim::checkers::Checker;
use watermark_sim::fault::{Condition, Fault, PartitionRef, ScriptedFault, Target, Trigger};
use watermark_sim::scenario::{BrokerOverride, Scenario};
use watermark_sim::verdict::Guarantee;

const P0: PartitionRef = PartitionRef::Index(PartitionId(0));

/// The scenarios of this file, in teaching order.
pub(crate) fn catalogue() -> [Result<Scenario, String>; 2] {
    [
        isr_join_at_lagging_high_watermark_loses_committed(),
        diverging_fetch_counted_as_progress_loses_committed(),
    ]
}

fn broker(id: u32) -> Target {
    Target::Broker(BrokerId(id))
}

/// A trigger armed from `after_ms` on, applying `then` `delay_ms` after its event.
fn armed(condition: Condition, after_ms: u64, delay_ms: u64, then: Vec<Fault>) -> Trigger {
    Trigger {
        condition,
        then,
        delay_ms,
        after_ms,
        label: None,
        later: Vec::new(),
        optional: false,
    }
}

/// The leader whose event fired the trigger is cut off from everyone — dropping what it
/// had on the wire — and killed, before anything else runs.
fn isolate_and_crash_the_event_source() -> Vec<Fault> {
    vec![
        Fault::Isolate {
            target: Target::EventSource,
        },
        Fault::Crash {
            target: Target::EventSource,
        },
    ]
}

/// Builds, then gives `overrides` their brokers' settings, and checks the result again.
fn build_with_overrides(
    builder: ScenarioBuilder,
    overrides: Vec<BrokerOverride>,
) -> Result<Scenario, String> {
    let mut scenario = builder.build()?;
    scenario.broker_overrides.extend(overrides);
    let problems = scenario.validate();
    if problems.is_empty() {
        Ok(scenario)
    } else {
        Err(format!(
            "scenario `{}` is impossible: {}",
            scenario.name,
            problems.join("; ")
        ))
    }
}

/// When broker 3 is cut from the first leader (broker 1), leaving the ISR.
const KAFKA_7128_CUT_MS: u64 = 2_000;
/// The first acknowledgement from this time on kills the first leader: broker 3 has left
/// the ISR by then.
const KAFKA_7128_CRASH_ARMED_MS: u64 = 6_000;
/// The first ISR expansion from this time on kills the leader that made it: the second
/// leader's (broker 2's), long after the first leader's crash.
const KAFKA_7128_EXPANSION_ARMED_MS: u64 = 8_000;

/// The story of `isr-join-at-lagging-high-watermark-loses-committed`, with or without its
/// switch.
fn kafka_7128_story(name: &str) -> ScenarioBuilder {
    let acked = || Condition::LeaderAcked {
        partition: P0,
        offset_at_least: Offset(0),
    };
    let crash_first_leader = Trigger {
        later: vec![
            ScriptedFault::at(
                20,
                Fault::Crash {
                    target: Target::EventSource,
                },
            ),
            ScriptedFault::at(100, Fault::HealAll),
            ScriptedFault::at(
                150,
                Fault::SlowLinks {
                    target: broker(3),
                    latency_ms: 30,
                },
            ),
        ],
        ..armed(
            acked(),
            KAFKA_7128_CRASH_ARMED_MS,
            0,
            vec![Fault::CutOneWay {
                from: Target::EventSource,
                to: Target::Followers(P0),
            }],
        )
    };
    ScenarioBuilder::new(name)
        .acks(Acks::All)
        .min_insync_replicas(2)
        // One record per batch: a fetch returns whole batches, and broker 3's one-record
        // fetches must be able to stop at every offset.
        .producer_config(|producer| producer.batch_size_records = 1)
        .broker_config(|broker| broker.replica_lag_time_max_ms = 2_000)
        .cut_between(KAFKA_7128_CUT_MS, broker(3), broker(1))
        .trigger_with(crash_first_leader)
        .trigger_with(armed(
            Condition::IsrExpanded { partition: P0 },
            KAFKA_7128_EXPANSION_ARMED_MS,
            0,
            isolate_and_crash_the_event_source(),
        ))
        .phases(45_000, 60_000)
}

/// Broker 3 fetches one record at a time, so its fetches step through every offset of the
/// new leader's log.
fn one_record_fetches_for_broker_3() -> Vec<BrokerOverride> {
    vec![BrokerOverride {
        broker_rack: None,
        broker: BrokerId(3),
        flush: None,
        replica_fetch_max_records: Some(1),
    }]
}

pub(crate) fn isr_join_at_lagging_high_watermark_loses_committed() -> Result<Scenario, String> {
    let builder = kafka_7128_story("isr-join-at-lagging-high-watermark-loses-committed")
        .summary("Kafka before 2.0.1/2.1.0: a follower joins the ISR at the new leader's lagging high watermark, is elected, and committed records are lost")
        .explanation(
            "acks=all, min.insync.replicas=2, replica.lag.time.max.ms=2000. At 2 s broker 3 \
             is cut from the leader (broker 1) and leaves the ISR, {1,2}. From 6 s on, the \
             first time broker 1 acknowledges a write its links to the followers are cut — \
             dropping the fetch response that would have told broker 2 the high watermark \
             that acknowledgement rests on — and 20 ms later it crashes. Broker 2 has the \
             acknowledged records but an older high watermark: a follower learns the high \
             watermark one fetch late. When broker 1's session ends the controller elects \
             broker 2 (epoch 2, ISR {2}); its high watermark stays where broker 2 last heard \
             it, below records broker 1 committed, since nothing is committed while the ISR \
             is below min.insync. Broker 3, healed, with a slow link and fetching one record \
             at a time, catches up from broker 2. Before KAFKA-7128's fix (Kafka 2.0.1 and \
             2.1.0; the switch isr-join-below-leader-epoch-start) the leader adds a follower \
             to the ISR as soon as its log end offset reaches the leader's high watermark: \
             broker 3 joins while it still lacks the records between that stale high \
             watermark and the start of broker 2's epoch. At that moment broker 2 is cut \
             off and crashes; broker 3, the only ISR member left, is elected cleanly without \
             records broker 1 had committed and acknowledged. NoCommittedRecordLost reports \
             them missing from the new leader and final-log-loss from the final log. Since \
             the fix a follower must also reach the start offset of the leader's epoch, \
             below which every record the previous leader may have committed lies: broker 3 \
             joins only with all of them, and the same faults lose nothing.",
        )
        .bug(BugSwitch::IsrJoinBelowLeaderEpochStart)
        .expect(Guarantee::None)
        .expect_anomaly(Checker::NoCommittedRecordLost)
        .expect_anomaly(Checker::FinalLogLoss)
        .expect_mark(Mark::IsrJoinProposedBelowLeaderEpochStart)
        .expect_mark(Mark::CleanElection);
    build_with_overrides(builder, one_record_fetches_for_broker_3())
}

/// When broker 2 is cut from the first leader (broker 1): it stops receiving records but
/// stays in the ISR, holding the high watermark.
const KAFKA_13141_CUT_MS: u64 = 3_000;
/// When broker 1 crashes, with records only broker 3 fetched.
const KAFKA_13141_CRASH_MS: u64 = 4_000;
/// From this time on, the first acknowledgement cuts the leader that made it from broker 3
/// and kills it 20 ms later, once the acknowledgement has reached the producer: the second
/// leader's (broker 2's), the first leader having crashed.
const KAFKA_13141_ACK_ARMED_MS: u64 = 5_000;

/// The story of `diverging-fetch-counted-as-progress-loses-committed`, with or without its
/// switch.
fn kafka_13141_story(name: &str) -> ScenarioBuilder {
    let acked = || Condition::LeaderAcked {
        partition: P0,
        offset_at_least: Offset(0),
    };
    ScenarioBuilder::new(name)
        .acks(Acks::All)
        .min_insync_replicas(2)
        .producer_config(|producer| {
            producer.request_timeout_ms = 1_000;
            producer.delivery_timeout_ms = 3_000;
            // One record per batch, so a high watermark that passes one record acknowledges
            // it.
            producer.batch_size_records = 1;
        })
        .cut_between(KAFKA_13141_CUT_MS, broker(1), broker(2))
        .fault_at(KAFKA_13141_CRASH_MS, Fault::Crash { target: broker(1) })
        .fault_at(
            KAFKA_13141_CRASH_MS,
            Fault::SlowLinks {
                target: broker(3),
                latency_ms: 300,
            },
        )
        .trigger_with(armed(
            acked(),
            KAFKA_13141_ACK_ARMED_MS,
            0,
            vec![Fault::CutOneWay {
                from: Target::EventSource,
                to: broker(3),
            }],
        ))
        .trigger_with(armed(
            acked(),
            KAFKA_13141_ACK_ARMED_MS,
            20,
            vec![Fault::Crash {
                target: Target::EventSource,
            }],
        ))
        .phases(35_000, 60_000)
}

pub(crate) fn diverging_fetch_counted_as_progress_loses_committed() -> Result<Scenario, String> {
    kafka_13141_story("diverging-fetch-counted-as-progress-loses-committed")
        .summary("Kafka 2.7.0-2.8.0: a fetch answered with a diverging epoch counts as the follower's progress, the high watermark passes records it lacks, and they are lost")
        .explanation(
            "acks=all, min.insync.replicas=2; the producer gives a batch up after 3 s. At 3 s \
             broker 2 is cut from the leader (broker 1) and stops receiving records, but \
             stays in the ISR {1,2,3} and holds the high watermark: broker 1 appends the \
             next batches, broker 3 copies them, nobody acknowledges them. At 4 s broker 1 \
             crashes and broker 3's links become slow (300 ms); the producer gives those \
             batches up. When broker 1's session ends the controller elects broker 2, the \
             first ISR member, in epoch 2 (ISR {2,3}); the producer sends its next batches \
             there, and they wait for broker 3. Broker 3's first fetch from broker 2 names \
             its log end offset and epoch 1, which ends earlier on broker 2: broker 2 \
             answers with the diverging epoch (KIP-595, fetch-time truncation since Kafka \
             2.7). In Kafka 2.7.0 to 2.8.0 (KAFKA-13141, fixed in 2.7.2, 2.8.1 and 3.0.0; \
             the switch divergent-fetch-counts-as-progress) the leader still took that fetch \
             offset as broker 3's log end offset, so the high watermark rose over broker 2's \
             new records, which broker 3 does not have (it holds epoch 1's records there), \
             and the producer's writes were acknowledged. At that first acknowledgement \
             broker 2 is cut from broker 3 — the diverging answer is lost on the wire — and \
             20 ms later, the acknowledgement delivered, it crashes; broker 3 is elected \
             cleanly with epoch 1's records where the committed ones were. StrongIsr and \
             WeakIsr report the high watermark passing a record an ISR member does not \
             hold, AcksAllOnMinInsync the acknowledgement of a record on one replica only. NoCommittedRecordLost reports the committed records \
             replaced on the new leader and final-log-loss the acknowledged values missing. \
             Since the fix a diverging fetch is no progress: the high watermark rises only \
             once broker 3 has truncated and copied the records, and the same faults lose \
             nothing. On some seeds the bug strikes a second time once every fault is \
             healed: broker 2, back as a follower of broker 3, is answered with a diverging \
             epoch and counted as caught up, which HighWatermarkCommitted reports.",
        )
        .bug(BugSwitch::DivergentFetchCountsAsProgress)
        .expect(Guarantee::None)
        .expect_anomaly(Checker::StrongIsr)
        .expect_anomaly(Checker::WeakIsr)
        .expect_anomaly(Checker::AcksAllOnMinInsync)
        .expect_anomaly(Checker::NoCommittedRecordLost)
        .expect_anomaly(Checker::FinalLogLoss)
        // The bug's second strike, after the election (seed 249): allowed, not required.
        .allow_invariant_violation(Checker::HighWatermarkCommitted)
        .expect_mark(Mark::DivergentFetchCountedAsProgress)
        .expect_mark(Mark::CleanElection)
        .build()
}
