//! The controller's ISR eligibility bugs of older KRaft releases, each caught by a checker:
//! an AlterPartition that names a fenced replica (accepted before KIP-841, Kafka 3.3) and
//! one that names a replica by its previous incarnation (accepted before KIP-903, Kafka 3.5).
//!
//! Both scenarios tell one story, KAFKA-14139's: broker 2 falls out of the ISR, catches up,
//! and the leader (broker 1) proposes adding it back; the controller reads that
//! AlterPartition but handles it late (the `hold-requests` fault with `alter-partition`: a
//! request waiting in KRaft's single event queue). Meanwhile broker 2 loses power with
//! nothing fsynced, so its log is gone, and its session ends. When the controller finally
//! handles the proposal, broker 2 is either still fenced (KIP-841's case) or registered
//! again as a new, empty incarnation (KIP-903's case). Then the leader crashes; the
//! controller elects the first live ISR member in replica order.

use crate::builder::ScenarioBuilder;
use watermark_broker_core::bugs::BugSwitch;
use watermark_broker_core::ids::{BrokerId, PartitionId};
use watermark_broker_core::mark::Mark;
use watermark_broker_core::protocol::Acks;
use watermark_sim::checkers::Checker;
use watermark_sim::fault::{Condition, Fault, PartitionRef, ScriptedFault, Target, Trigger};
use watermark_sim::held_requests::HeldApi;
use watermark_sim::scenario::Scenario;
use watermark_sim::verdict::Guarantee;

const P0: PartitionRef = PartitionRef::Index(PartitionId(0));

/// The leader, broker 1 (the preferred replica, elected first).
const LEADER: Target = Target::Broker(BrokerId(1));

/// The replica that falls behind, catches up, loses power and comes back empty.
const RETURNING: Target = Target::Broker(BrokerId(2));

/// How late the controller handles the leader's AlterPartitions: past the returning
/// replica's session (9 s after its last heartbeat) and the registration retry that
/// follows it (up to 2 s later), so the proposal meets the new incarnation.
const HOLD_MS: u64 = 13_000;

/// After the ISR shrinks: the returning replica's pause ends and it catches up at once.
const RESUME_MS: u64 = 500;

/// After the ISR shrinks: the returning replica loses power, and its links to the leader
/// are cut so the new incarnation cannot catch up from it.
const POWER_LOSS_MS: u64 = 1_500;

/// After the ISR shrinks: the leader crashes, a second after the controller handled the
/// held proposal (sent at about `RESUME_MS`, handled `HOLD_MS` later).
const LEADER_CRASH_MS: u64 = RESUME_MS + HOLD_MS + 1_000;

/// After the ISR shrinks: the leader's session has ended and a new leader leads; the links
/// heal and the old leader restarts.
const REPAIR_MS: u64 = LEADER_CRASH_MS + 11_500;

/// The shared story; `restart_ms` is when (after the ISR shrinks) the returning replica
/// restarts: before its proposal is handled (KIP-903's case) or after (KIP-841's).
fn returning_replica_story(name: &str, restart_ms: u64) -> ScenarioBuilder {
    let later = |at_ms: u64, fault: Fault| ScriptedFault::at(at_ms, fault);
    ScenarioBuilder::new(name)
        .acks(Acks::All)
        .min_insync_replicas(2)
        .torn_writes(false)
        .broker_config(|broker| broker.replica_lag_time_max_ms = 3_000)
        .phases(40_000, 120_000)
        .fault_at(3_000, Fault::Pause { target: RETURNING })
        .trigger_with(Trigger {
            condition: Condition::IsrShrunkTo {
                partition: P0,
                size: 2,
            },
            then: vec![Fault::HoldRequests {
                from: LEADER,
                to: Target::Controller,
                api: HeldApi::AlterPartition,
                delay_ms: HOLD_MS,
            }],
            delay_ms: 0,
            after_ms: 0,
            label: None,
            later: vec![
                later(RESUME_MS, Fault::Resume { target: RETURNING }),
                later(POWER_LOSS_MS, Fault::PowerLoss { target: RETURNING }),
                later(
                    POWER_LOSS_MS,
                    Fault::CutOneWay {
                        from: LEADER,
                        to: RETURNING,
                    },
                ),
                later(
                    POWER_LOSS_MS,
                    Fault::CutOneWay {
                        from: RETURNING,
                        to: LEADER,
                    },
                ),
                later(restart_ms, Fault::Restart { target: RETURNING }),
                later(LEADER_CRASH_MS, Fault::Crash { target: LEADER }),
                later(REPAIR_MS, Fault::HealAll),
                later(REPAIR_MS, Fault::Restart { target: LEADER }),
            ],
            optional: false,
        })
}

/// `fenced-replica-joins-isr-loses-committed`, with or without its switch.
pub(crate) fn fenced_replica_story(name: &str) -> ScenarioBuilder {
    returning_replica_story(name, LEADER_CRASH_MS + 500)
        // Since KIP-966 (on in 4.1) a broker that registers after an unclean shutdown
        // leaves every ISR, which would take the fenced replica out again before it could
        // be elected; the clusters this bug lived in (before 3.3) had no ELR.
        .eligible_leader_replicas_enable(false)
}

/// `stale-broker-epoch-joins-isr-loses-committed`, with or without its switch.
pub(crate) fn stale_broker_epoch_story(name: &str) -> ScenarioBuilder {
    returning_replica_story(name, POWER_LOSS_MS + 1_500)
}

pub(crate) fn fenced_replica_joins_isr_loses_committed() -> Result<Scenario, String> {
    fenced_replica_story("fenced-replica-joins-isr-loses-committed")
        .summary("Kafka before 3.3: the controller adds a fenced replica to the ISR; it returns empty and is elected cleanly")
        .explanation(
            "acks=all, min.insync.replicas=2, replication factor 3, eligible leader replicas \
             off (clusters before 4.1). Broker 2 pauses, and the leader (broker 1) shrinks \
             the ISR to {1,3}. From then on the controller handles the leader's \
             AlterPartitions 13 s after reading them (a request waiting in its event queue). \
             Broker 2 resumes, catches up and the leader proposes the ISR {1,2,3}; a second \
             later broker 2 loses power with nothing fsynced (Kafka's default), so its log \
             is gone, and its session ends 9 s after its last heartbeat: the controller \
             fences it. Then the controller handles the proposal. Before KIP-841 (Kafka 3.3, \
             KAFKA-13916) it checked only that the members were replicas of the partition, \
             and trusted the leader: the fenced broker 2 joins the ISR. The leader crashes; \
             broker 2 restarts empty, registers and is unfenced, still an ISR member (KIP-966's \
             unclean-shutdown handling, part of eligible leader replicas, on by default \
             since 4.1, would remove it). When the \
             leader's session ends the controller elects the first live ISR member in \
             replica order, broker 2: a clean election of an empty log. Broker 3 truncates \
             to it, and every committed, acknowledged record is lost \
             (NoCommittedRecordLost, final-log-loss). Since 3.3 the controller refuses the \
             proposal with INELIGIBLE_REPLICA because broker 2 is fenced, broker 3 is \
             elected, and broker 2 catches up from it: the same run is clean.",
        )
        .bug(BugSwitch::IsrAcceptsFencedReplicas)
        .expect(Guarantee::AtMostOnce)
        .expect_anomaly(Checker::NoCommittedRecordLost)
        .expect_anomaly(Checker::FinalLogLoss)
        .allow_invariant_violation(Checker::NoCommittedRecordLost)
        .expect_mark(Mark::IsrAcceptedFencedReplica)
        .expect_mark(Mark::CleanElection)
        .build()
}

pub(crate) fn stale_broker_epoch_joins_isr_loses_committed() -> Result<Scenario, String> {
    stale_broker_epoch_story("stale-broker-epoch-joins-isr-loses-committed")
        .summary("Kafka before 3.5: a replica that lost power joins the ISR on its previous incarnation's fetches and is elected empty")
        .explanation(
            "KAFKA-14139's story, with Kafka 4.1's defaults otherwise: acks=all, \
             min.insync.replicas=2, replication factor 3, eligible leader replicas on. \
             Broker 2 pauses, and the leader (broker 1) shrinks the ISR to {1,3}. From then \
             on the controller handles the leader's AlterPartitions 13 s after reading them \
             (a request waiting in its event queue). Broker 2 resumes, catches up and the \
             leader proposes the ISR {1,2,3}; a second later broker 2 loses power with \
             nothing fsynced (Kafka's default), so its log is gone. It restarts at once, \
             cut off from the leader; once its old session has ended it registers again \
             with a new broker epoch and is unfenced. Then the controller handles the \
             proposal. Before KIP-903 (Kafka 3.5) AlterPartition carried only broker ids, \
             so the controller saw a registered, unfenced replica and accepted: the empty \
             broker 2 joins the ISR on the strength of fetches its previous incarnation \
             made. The leader crashes; when its session ends the controller elects the \
             first live ISR member in replica order, broker 2: a clean election of an \
             empty log. The ISR claimed a member holding none of the committed records \
             from the moment the proposal was accepted (StrongIsr, and WeakIsr in the \
             leader's view); broker 3 truncates to the new leader, and every committed, \
             acknowledged record is lost (NoCommittedRecordLost, final-log-loss). Since 3.5 the proposal names \
             broker 2 with the broker epoch of the fetches it was judged on, the \
             controller sees it is not the current registration's and refuses with \
             INELIGIBLE_REPLICA, broker 3 is elected, and the same run is clean.",
        )
        .bug(BugSwitch::IsrAcceptsStaleBrokerEpoch)
        .expect(Guarantee::AtMostOnce)
        .expect_anomaly(Checker::StrongIsr)
        .expect_anomaly(Checker::NoCommittedRecordLost)
        .expect_anomaly(Checker::FinalLogLoss)
        .allow_invariant_violation(Checker::StrongIsr)
        .allow_invariant_violation(Checker::WeakIsr)
        .allow_invariant_violation(Checker::NoCommittedRecordLost)
        .expect_mark(Mark::IsrAcceptedStaleBrokerEpoch)
        .expect_mark(Mark::CleanElection)
        .build()
}

/// This file's scenarios, in teaching order.
pub(crate) fn catalogue() -> [Result<Scenario, String>; 2] {
    [
        fenced_replica_joins_isr_loses_committed(),
        stale_broker_epoch_joins_isr_loses_committed(),
    ]
}
