//! The catalogue: one scenario per documented Kafka guarantee (docs/ARCHITECTURE.md, "Scenarios and the catalogue"), each with
//! the expectation it must meet on every seed, the coverage marks it relies on, and an
//! explanation of why the guarantee holds or breaks.
//!
//! Timing uses Kafka's defaults (a 9 s broker session, 2 s heartbeats, 30 s request
//! timeout) unless a scenario's story needs another value, which it then says.

use crate::builder::ScenarioBuilder;
use crate::catalogue_idempotence;
use watermark_broker_core::ids::{BrokerId, Offset, PartitionId};
use watermark_broker_core::mark::Mark;
use watermark_broker_core::protocol::Acks;
use watermark_sim::checkers::Checker;
use watermark_sim::configuration::{ConfigurationSpace, Range, Values};
use watermark_sim::fault::{Condition, Fault, FaultKind, PartitionRef, Swarm, Target};
use watermark_sim::scenario::Scenario;
use watermark_sim::verdict::{Guarantee, OrderingVerdict};

const P0: PartitionRef = PartitionRef::Index(PartitionId(0));

fn leader() -> Target {
    Target::Leader(P0)
}

fn followers() -> Target {
    Target::Followers(P0)
}

/// Every catalogue scenario, in teaching order.
pub fn catalogue() -> Vec<Scenario> {
    [
        acks0_fire_and_forget(),
        acks1_leader_crash_loses_acked_write(),
        acks_all_leader_crash_no_loss(),
        min_insync_rejects_when_isr_shrinks(),
        hw_held_below_min_isr(),
        isr_shrunk_to_leader_unclean_loses_writes(),
        unclean_election_loses_committed(),
        last_replica_standing_loses_committed(),
        eligible_leader_replicas_keep_acked_writes(),
        rolling_restart_no_loss(),
        double_power_loss_divergence(),
        zombie_leader_acks1_loses_writes(),
        retry_after_lost_ack_duplicates(),
        in_flight_retries_reorder(),
        catalogue_idempotence::idempotent_retry_no_duplicate(),
        catalogue_idempotence::idempotent_in_flight_keeps_order(),
        catalogue_idempotence::idempotent_epoch_bump_duplicates(),
        power_loss_without_fsync_loses_acked(),
        power_loss_with_fsync_no_loss(),
        slow_follower_leaves_and_rejoins_isr(),
        safe_acks_all_swarm(),
    ]
    .into_iter()
    .chain(crate::catalogue_groups::group_catalogue())
    .chain([crate::catalogue_group_swarm::safe_consumer_group_swarm()])
    .chain([
        crate::catalogue_transactions::read_committed_hides_aborted(),
        crate::catalogue_transactions::read_uncommitted_sees_aborted(),
        crate::catalogue_transactions::exactly_once_pipeline_swarm(),
    ])
    .chain(crate::catalogue_transaction_bugs::catalogue())
    .chain(crate::catalogue_delete_records::delete_records_catalogue())
    .chain(crate::catalogue_transaction_faults::transaction_fault_catalogue())
    .chain(crate::catalogue_leader_bugs::catalogue())
    .chain(crate::catalogue_follower_bugs::catalogue())
    .chain(crate::catalogue_controller_bugs::catalogue())
    .chain(crate::catalogue_consumer_truncation::catalogue())
    .chain(crate::catalogue_fetch_from_follower::catalogue())
    .map(|built| built.unwrap_or_else(|problem| panic!("catalogue scenario is invalid: {problem}")))
    .collect()
}

/// The names of every catalogue scenario.
pub fn names() -> Vec<String> {
    catalogue()
        .into_iter()
        .map(|scenario| scenario.name)
        .collect()
}

/// The catalogue scenario with this name.
pub fn find(name: &str) -> Option<Scenario> {
    catalogue()
        .into_iter()
        .find(|scenario| scenario.name == name)
}

/// The crash used by the leader-crash demonstrations: the moment the leader acknowledges the
/// batch reaching offset 20, its links to the followers are cut (dropping the fetch
/// responses already on the wire), and 20 ms later — time enough for the acknowledgement to
/// reach the producer — the leader dies. What the followers have at that moment is exactly
/// what the acks setting guaranteed.
fn crash_leader_right_after_ack(builder: ScenarioBuilder) -> ScenarioBuilder {
    let acked = Condition::LeaderAcked {
        partition: P0,
        offset_at_least: Offset(20),
    };
    builder
        .trigger(
            acked.clone(),
            0,
            vec![Fault::CutOneWay {
                from: Target::EventSource,
                to: followers(),
            }],
        )
        .trigger(
            acked,
            20,
            vec![Fault::Crash {
                target: Target::EventSource,
            }],
        )
}

fn acks0_fire_and_forget() -> Result<Scenario, String> {
    crash_leader_right_after_ack(
        ScenarioBuilder::new("acks0-fire-and-forget")
            .summary(
                "acks=0: the producer never hears back; what the dead leader had not replicated vanishes",
            )
            .explanation(
                "With acks=0 the producer counts a record as sent the moment it is on the \
                 wire. The leader appends records that no follower has fetched yet, then \
                 dies: those records, and any still on the wire, are gone, and the producer \
                 never learns it: at most once. The crash closes the producer's connection, \
                 so from then on its batches wait in the accumulator until metadata names \
                 the new leader (Kafka's NetworkClient is not ready for a broker it cannot \
                 connect to); only what was unreplicated or on the wire is lost. Nothing is \
                 ever written twice, because nothing is ever retried.",
            )
            .acks(Acks::None)
            .records(200, 50),
    )
    .fault_at(
        20_000,
        Fault::Restart {
            target: Target::AllBrokers,
        },
    )
    .expect(Guarantee::AtMostOnce)
    .expect_anomaly(Checker::FinalLogLoss)
    .expect_mark(Mark::CleanElection)
    .expect_mark(Mark::ProducerDisconnected)
    .build()
}

fn acks1_leader_crash_loses_acked_write() -> Result<Scenario, String> {
    crash_leader_right_after_ack(
        ScenarioBuilder::new("acks1-leader-crash-loses-acked-write")
            .summary("acks=1: the leader acks, then dies before any follower fetched the record")
            .explanation(
                "acks=1 means only the leader has the record when the producer hears ok. The \
                 leader dies before a follower fetches it; the controller elects a follower \
                 that never had it (a clean election: it was in the ISR), and when the old \
                 leader returns, the new leader answers its first fetch with the epoch where \
                 their logs diverge and it truncates there (KIP-595). The acknowledged record \
                 is gone: lost-write, on every seed.",
            )
            .acks(Acks::Leader),
    )
    .expect(Guarantee::AtMostOnce)
    .expect_anomaly(Checker::LostWrite)
    .expect_mark(Mark::CleanElection)
    .expect_mark(Mark::TruncatedByDivergingEpoch)
    .build()
}

fn acks_all_leader_crash_no_loss() -> Result<Scenario, String> {
    crash_leader_right_after_ack(
        ScenarioBuilder::new("acks-all-leader-crash-no-loss")
            .summary("acks=all, min.insync=2: the same crash right after an ack loses nothing")
            .explanation(
                "With acks=all the leader answers only once the high watermark has passed the \
                 batch, that is once every ISR member has fetched it. The same crash right \
                 after the acknowledgement therefore leaves the record on the follower the \
                 controller elects. Retries of requests that were in flight may duplicate \
                 records (at least once), but nothing acknowledged is lost.",
            )
            .acks(Acks::All)
            .min_insync_replicas(2),
    )
    .expect(Guarantee::AtLeastOnce)
    .expect_mark(Mark::CleanElection)
    .build()
}

fn min_insync_rejects_when_isr_shrinks() -> Result<Scenario, String> {
    ScenarioBuilder::new("min-insync-rejects-when-isr-shrinks")
        .summary("followers fall out of the ISR: acks=all writes wait, then get NotEnoughReplicas")
        .explanation(
            "The followers are cut off from the leader (not from the controller), so after \
             replica_lag_time_max_ms the leader shrinks the ISR to itself. Since Kafka 3.7 \
             (KAFKA-15583) the high watermark does not move while the ISR is smaller than \
             min.insync.replicas=2: the acks=all writes already appended wait in the \
             purgatory and time out (an indefinite failure: they may still commit), and every \
             later write is refused with NotEnoughReplicas before it is appended (a definite \
             failure). Nothing is acknowledged that one disk failure could erase. After the \
             heal the followers catch up, rejoin the ISR, the held high watermark moves, and \
             writes are accepted again; nothing acknowledged is lost.",
        )
        .acks(Acks::All)
        .min_insync_replicas(2)
        .broker_config(|broker| broker.replica_lag_time_max_ms = 5_000)
        .producer_config(|producer| {
            producer.retries = 3;
            producer.retry_backoff_ms = 1_000;
            // Short enough that the writes held in the purgatory give up and are retried
            // into the NotEnoughReplicas check before the heal.
            producer.request_timeout_ms = 4_000;
        })
        .cut_between(3_000, leader(), followers())
        .fault_at(22_000, Fault::HealAll)
        .expect(Guarantee::AtLeastOnce)
        .expect_mark(Mark::IsrShrunk)
        .expect_mark(Mark::HighWatermarkHeldUnderMinIsr)
        .expect_mark(Mark::ProducePurgatoryTimedOut)
        .expect_mark(Mark::ProduceRejectedNotEnoughReplicas)
        .expect_mark(Mark::IsrExpanded)
        .build()
}

fn hw_held_below_min_isr() -> Result<Scenario, String> {
    ScenarioBuilder::new("hw-held-below-min-isr")
        .summary("acks=1 under min.insync=2: the leader acks alone, but nothing is readable")
        .explanation(
            "acks=1 writes go on while both followers are cut off from the leader. After \
             replica_lag_time_max_ms the leader shrinks the ISR to itself; from then on it \
             still appends and acknowledges every acks=1 write, but since Kafka 3.7 \
             (KAFKA-15583) its high watermark does not move while the ISR is smaller than \
             min.insync.replicas=2, so the consumer reads none of those records: they are \
             not committed. After the heal the followers catch up, rejoin the ISR, and the \
             high watermark jumps over everything they copied. Before 3.7 (switch \
             hw-advances-under-min-isr) the high watermark followed the leader alone, and \
             consumers read records that one disk held.",
        )
        .acks(Acks::Leader)
        .min_insync_replicas(2)
        .broker_config(|broker| broker.replica_lag_time_max_ms = 5_000)
        .cut_between(3_000, leader(), followers())
        .fault_at(20_000, Fault::HealAll)
        .expect(Guarantee::AtLeastOnce)
        .expect_mark(Mark::IsrShrunk)
        .expect_mark(Mark::HighWatermarkHeldUnderMinIsr)
        .expect_mark(Mark::IsrExpanded)
        .build()
}

fn isr_shrunk_to_leader_unclean_loses_writes() -> Result<Scenario, String> {
    ScenarioBuilder::new("isr-shrunk-to-leader-unclean-loses-writes")
        .summary("acks=all, min.insync=1, unclean on: the ISR shrinks to the leader, which dies")
        .explanation(
            "This is Jepsen's 2013 finding. With min.insync.replicas=1, acks=all only waits \
             for the ISR, and the ISR may be the leader alone. The followers are cut off, the \
             ISR shrinks to the leader, the leader keeps acknowledging writes nobody else has, \
             then dies. With unclean leader election enabled, the controller elects a stale \
             follower, and everything the leader acknowledged alone is lost.",
        )
        .acks(Acks::All)
        .min_insync_replicas(1)
        .unclean_leader_election_enable(true)
        .broker_config(|broker| broker.replica_lag_time_max_ms = 5_000)
        .cut_between(3_000, leader(), followers())
        .trigger(
            Condition::IsrShrunkTo {
                partition: P0,
                size: 1,
            },
            2_000,
            vec![Fault::Crash {
                target: Target::EventSource,
            }],
        )
        .expect(Guarantee::AtMostOnce)
        .expect_anomaly(Checker::FinalLogLoss)
        .allow_invariant_violation(Checker::NoCommittedRecordLost)
        .expect_mark(Mark::IsrShrunk)
        .expect_mark(Mark::UncleanElection)
        .build()
}

fn unclean_election_loses_committed() -> Result<Scenario, String> {
    ScenarioBuilder::new("unclean-election-loses-committed")
        .summary("min.insync=2 does not help once an out-of-sync replica is elected uncleanly")
        .explanation(
            "Broker 3 is cut off from the leader and leaves the ISR; writes go on, committed \
             on brokers 1 and 2 (min.insync.replicas=2 is met). Then both die. With unclean \
             leader election enabled, the controller elects broker 3, which never had the \
             records committed after it fell behind. Committed records — ones consumers may \
             already have read — are lost: unclean election trades durability for \
             availability, whatever min.insync.replicas says.",
        )
        .acks(Acks::All)
        .min_insync_replicas(2)
        .unclean_leader_election_enable(true)
        .broker_config(|broker| broker.replica_lag_time_max_ms = 5_000)
        .cut_between(
            3_000,
            Target::Broker(BrokerId(1)),
            Target::Broker(BrokerId(3)),
        )
        .trigger(
            Condition::IsrShrunkTo {
                partition: P0,
                size: 2,
            },
            2_000,
            vec![
                Fault::Crash {
                    target: Target::Broker(BrokerId(1)),
                },
                Fault::Crash {
                    target: Target::Broker(BrokerId(2)),
                },
            ],
        )
        .expect(Guarantee::AtMostOnce)
        .expect_anomaly(Checker::FinalLogLoss)
        .allow_invariant_violation(Checker::NoCommittedRecordLost)
        .expect_mark(Mark::IsrShrunk)
        .expect_mark(Mark::UncleanElection)
        .build()
}

/// The faults both eligible-leader-replica scenarios share: the followers are cut off from
/// the leader until the ISR is the leader alone, then the leader loses power (nothing was
/// fsynced, and no torn write keeps part of it: its log is gone) and comes back after the
/// heal.
fn lone_leader_loses_power(builder: ScenarioBuilder) -> ScenarioBuilder {
    builder
        .torn_writes(false)
        .acks(Acks::All)
        .min_insync_replicas(2)
        .broker_config(|broker| broker.replica_lag_time_max_ms = 5_000)
        .cut_between(3_000, leader(), followers())
        .trigger(
            Condition::IsrShrunkTo {
                partition: P0,
                size: 1,
            },
            2_000,
            vec![Fault::PowerLoss {
                target: Target::EventSource,
            }],
        )
        .fault_at(14_000, Fault::HealAll)
        .fault_at(
            15_000,
            Fault::Restart {
                target: Target::Broker(BrokerId(1)),
            },
        )
}

fn last_replica_standing_loses_committed() -> Result<Scenario, String> {
    lone_leader_loses_power(
        ScenarioBuilder::new("last-replica-standing-loses-committed")
            .summary("ELR off: the ISR's last member loses power, returns empty and is re-elected")
            .explanation(
                "Without eligible leader replicas (clusters before Kafka 4.1): both followers \
                 are cut off from the leader, which shrinks the ISR to itself; with \
                 min.insync.replicas=2 nothing more is committed. Then the leader loses power \
                 with nothing fsynced (Kafka's default), so its log is gone. The controller \
                 keeps the last ISR member in the ISR when it fences it, so the partition \
                 waits for it; it comes back with an empty log, is the only clean choice, \
                 and is elected. The followers, which hold every committed record, truncate \
                 to its empty log: committed, acknowledged records are lost without any \
                 unclean election. KIP-966's eligible leader replicas close this hole.",
            )
            .eligible_leader_replicas_enable(false),
    )
    .expect(Guarantee::AtMostOnce)
    .expect_anomaly(Checker::FinalLogLoss)
    .allow_invariant_violation(Checker::NoCommittedRecordLost)
    .expect_mark(Mark::IsrShrunk)
    .expect_mark(Mark::CleanElection)
    .build()
}

fn eligible_leader_replicas_keep_acked_writes() -> Result<Scenario, String> {
    lone_leader_loses_power(
        ScenarioBuilder::new("eligible-leader-replicas-keep-acked-writes")
            .summary("ELR on (Kafka 4.1+): the same faults, and nothing acknowledged is lost")
            .explanation(
                "The faults of last-replica-standing-loses-committed, with eligible leader \
                 replicas on, as Kafka 4.1 creates new clusters (KIP-966). When the leader \
                 shrinks the ISR below min.insync.replicas=2, the controller keeps the two \
                 followers as eligible leader replicas: strict min ISR (KAFKA-15583) stopped \
                 the high watermark there, so they hold every committed record. The leader \
                 loses power; when its session ends the ISR becomes empty and the controller \
                 elects a replica from the ELR. The old leader comes back after an unclean \
                 shutdown, leaves the ELR, and truncates to the new leader's log. Nothing \
                 acknowledged is lost.",
            )
            .eligible_leader_replicas_enable(true),
    )
    .expect(Guarantee::AtLeastOnce)
    .expect_mark(Mark::IsrShrunk)
    .expect_mark(Mark::ReplicaAddedToElr)
    .expect_mark(Mark::ElectionFromElr)
    .build()
}

fn rolling_restart_no_loss() -> Result<Scenario, String> {
    let mut builder = ScenarioBuilder::new("rolling-restart-no-loss")
        .summary("controlled shutdowns of every broker in turn: nothing lost, no unclean election")
        .explanation(
            "A rolling restart, as operators upgrade a cluster: each broker in turn shuts down \
             gracefully (KIP-841's controlled shutdown). The controller moves its \
             leaderships away and takes it out of the ISRs before letting it go; the broker \
             flushes its logs, writes its clean-shutdown marker and stops, and on restart \
             skips log recovery and catches up. With acks=all and min.insync.replicas=2 the \
             two remaining replicas keep committing writes, every election is clean, and \
             nothing acknowledged is lost.",
        )
        .acks(Acks::All)
        .min_insync_replicas(2);
    for (index, broker) in [1u32, 2, 3].into_iter().enumerate() {
        let start_ms = 2_000 + 8_000 * index as u64;
        builder = builder
            .fault_at(
                start_ms,
                Fault::Shutdown {
                    target: Target::Broker(BrokerId(broker)),
                },
            )
            .fault_at(
                start_ms + 4_000,
                Fault::Restart {
                    target: Target::Broker(BrokerId(broker)),
                },
            );
    }
    builder
        .expect(Guarantee::AtLeastOnce)
        .expect_mark(Mark::ControlledShutdownCompleted)
        .expect_mark(Mark::CleanShutdownRecoverySkipped)
        .expect_mark(Mark::CleanElection)
        .build()
}

fn double_power_loss_divergence() -> Result<Scenario, String> {
    ScenarioBuilder::new("double-power-loss-divergence")
        .summary("KIP-101's second scenario: both replicas lose power; truncation decides")
        .explanation(
            "Replication factor 2, logs fsynced every 50 records, the high watermark \
             checkpointed every 100 ms. Right after the leader (broker 1) has appended and \
             fsynced offset 99, both brokers lose power. The follower had fetched most of the \
             records after offset 49 but not fsynced them: it comes back first with 50 \
             records, is elected when the old leader's session ends (the old leader lost \
             the controller first), and writes new records from offset 50 in a new leader \
             epoch. The old leader comes back with 100 \
             records and a checkpointed high watermark near 99. Since Kafka 2.7 (KIP-595, \
             and KIP-101's epochs before it) it fetches with its last epoch, learns where \
             that epoch ends on the new leader, cuts its log to offset 50 and copies the new \
             records: the replicas agree. With --bug truncate-to-high-watermark (before \
             KIP-101) it keeps everything below its checkpointed high watermark and fetches \
             from there: offsets 50 and up hold different records on the two replicas, \
             which never converge (ReplicaDivergence and LogMatching say so). The acks=1 writes the follower never fsynced are lost \
             either way.",
        )
        .brokers(2)
        .replication_factor(2)
        .min_insync_replicas(1)
        .acks(Acks::Leader)
        // KIP-101's story predates eligible leader replicas; with them the follower, having
        // restarted uncleanly, would leave the ELR and the election would wait for the
        // last known leader instead.
        .eligible_leader_replicas_enable(false)
        .flush_interval_messages(Some(50))
        .torn_writes(false)
        .broker_config(|broker| broker.high_watermark_checkpoint_interval_ms = 100)
        // A metadata request sent to a broker that is down waits for its timeout; a short one
        // lets the producer find the new leader, which must have written past offset 98
        // before the old leader returns.
        .producer_config(|producer| producer.request_timeout_ms = 3_000)
        // The leader loses the controller first, so its session ends before the follower's
        // and the follower, not the leader, is the ISR's last member when both are fenced.
        .cut_between(3_000, Target::Broker(BrokerId(1)), Target::Controller)
        .trigger(
            Condition::LeaderAcked {
                partition: P0,
                offset_at_least: Offset(99),
            },
            0,
            vec![Fault::PowerLoss {
                target: Target::AllBrokers,
            }],
        )
        .fault_at(
            8_000,
            Fault::Restart {
                target: Target::Broker(BrokerId(2)),
            },
        )
        .fault_at(20_000, Fault::HealAll)
        .fault_at(
            24_000,
            Fault::Restart {
                target: Target::Broker(BrokerId(1)),
            },
        )
        .expect(Guarantee::AtMostOnce)
        .expect_anomaly(Checker::FinalLogLoss)
        .allow_invariant_violation(Checker::NoCommittedRecordLost)
        .expect_mark(Mark::TruncatedByDivergingEpoch)
        .build()
}

fn zombie_leader_acks1_loses_writes() -> Result<Scenario, String> {
    ScenarioBuilder::new("zombie-leader-acks1-loses-writes")
        .summary("the leader is cut off from the controller and followers, not from the producer")
        .explanation(
            "The leader loses the controller and its followers but still talks to the \
             producer. The controller fences it after the broker session timeout and elects a \
             follower, but nobody tells the old leader: it keeps acknowledging acks=1 writes \
             (a zombie). When the partition heals it learns the new leader epoch, becomes a \
             follower and truncates everything it accepted as a zombie.",
        )
        .acks(Acks::Leader)
        .cut_between(3_000, leader(), Target::Controller)
        .cut_between(3_000, leader(), followers())
        .fault_at(20_000, Fault::HealAll)
        .expect(Guarantee::AtMostOnce)
        .expect_anomaly(Checker::FinalLogLoss)
        .expect_mark(Mark::BrokerFenced)
        .expect_mark(Mark::TruncatedByDivergingEpoch)
        .build()
}

fn retry_after_lost_ack_duplicates() -> Result<Scenario, String> {
    let scenario = ScenarioBuilder::new("retry-after-lost-ack-duplicates")
        .summary("the produce response is lost, the producer retries: the record is written twice")
        .explanation(
            "The leader appends and commits a batch, but the link back to the producer fails \
             just as the response leaves. The producer cannot tell a lost request from a lost \
             response, so after request_timeout_ms it sends the batch again, and without \
             idempotence the broker appends it a second time: at least once, not exactly once. \
             Idempotence is turned off here on purpose (Kafka turns it on by default since \
             3.0); idempotent-retry-no-duplicate runs the same faults with it on.",
        )
        .acks(Acks::All)
        .producer_config(|producer| {
            producer.request_timeout_ms = 5_000;
            producer.enable_idempotence = Some(false);
        });
    catalogue_idempotence::lose_leader_answers(scenario, 1_000)
        .expect(Guarantee::AtLeastOnce)
        .expect_anomaly(Checker::Duplicate)
        .expect_mark(Mark::ProducerRequestTimedOut)
        .expect_mark(Mark::ProducerRetried)
        .build()
}

fn in_flight_retries_reorder() -> Result<Scenario, String> {
    let scenario = ScenarioBuilder::new("in-flight-retries-reorder")
        .summary("max.in.flight=5 without idempotence: a retried batch lands behind a later one")
        .explanation(
            "For 30 ms the producer's requests to the leader are lost. The batches sent in that \
             window wait for request_timeout_ms, while later batches use the other in-flight \
             slots and are written. When the lost ones time out they are retried and land \
             behind records the application sent after them: the log no longer has a \
             producer's records in send order (nonmonotonic-send). Idempotence, with its \
             sequence numbers, is what fixes this in Kafka: it is turned off here on purpose \
             (Kafka's default is on), and idempotent-in-flight-keeps-order runs the same \
             faults with it on.",
        )
        .acks(Acks::All)
        .records(300, 10)
        .producer_config(|producer| {
            producer.max_in_flight_requests_per_connection = 5;
            producer.request_timeout_ms = 3_000;
            producer.enable_idempotence = Some(false);
        });
    catalogue_idempotence::lose_requests_for_30_ms(scenario)
        .expect(Guarantee::AtLeastOnce)
        .expect_anomaly(Checker::NonmonotonicSend)
        .expect_ordering(OrderingVerdict::Violated)
        .expect_mark(Mark::ProducerRetried)
        .build()
}

fn power_loss_without_fsync_loses_acked() -> Result<Scenario, String> {
    ScenarioBuilder::new("power-loss-without-fsync-loses-acked")
        .summary("every replica loses power at once with Kafka's default never-fsync policy")
        .explanation(
            "Kafka does not fsync by default (flush.messages is unbounded): an acknowledged \
             write sits in the page cache of every ISR member. A process crash keeps the page \
             cache; a power loss does not. When all replicas lose power together, records \
             acknowledged with acks=all and min.insync.replicas=2 are gone from every disk. \
             Kafka's durability is replication across failure domains, not fsync.",
        )
        .acks(Acks::All)
        .min_insync_replicas(2)
        .fault_at(
            6_000,
            Fault::PowerLoss {
                target: Target::AllBrokers,
            },
        )
        .fault_at(
            8_000,
            Fault::Restart {
                target: Target::AllBrokers,
            },
        )
        .expect(Guarantee::AtMostOnce)
        .expect_anomaly(Checker::FinalLogLoss)
        .allow_invariant_violation(Checker::NoCommittedRecordLost)
        .expect_mark(Mark::BrokerFenced)
        .build()
}

fn power_loss_with_fsync_no_loss() -> Result<Scenario, String> {
    ScenarioBuilder::new("power-loss-with-fsync-no-loss")
        .summary("the same power loss with flush_interval_messages = 1 loses nothing acked")
        .explanation(
            "With flush.messages=1 every replica fsyncs each append before it counts: the \
             leader before answering, a follower before its next fetch reports the new log \
             end offset. Everything below the high watermark is therefore on the platter of \
             every ISR member when the power goes, and survives it.",
        )
        .acks(Acks::All)
        .min_insync_replicas(2)
        .flush_interval_messages(Some(1))
        .fault_at(
            6_000,
            Fault::PowerLoss {
                target: Target::AllBrokers,
            },
        )
        .fault_at(
            8_000,
            Fault::Restart {
                target: Target::AllBrokers,
            },
        )
        .expect(Guarantee::AtLeastOnce)
        .build()
}

fn slow_follower_leaves_and_rejoins_isr() -> Result<Scenario, String> {
    ScenarioBuilder::new("slow-follower-leaves-and-rejoins-isr")
        .summary("a slow link pushes a follower out of the ISR; it catches up and rejoins")
        .explanation(
            "Broker 3's links get 4 s of latency, so its fetches cannot keep up and the leader \
             removes it from the ISR after replica_lag_time_max_ms. The high watermark then \
             advances on the two remaining replicas — acks=all does not wait for a replica \
             outside the ISR. When the link recovers, broker 3 catches up to the high \
             watermark and the leader adds it back. Nothing is lost or duplicated, and no \
             produce request fails, so no retry overtakes a later batch: the records stay in \
             send order even with five requests in flight.",
        )
        .acks(Acks::All)
        .min_insync_replicas(2)
        .broker_config(|broker| broker.replica_lag_time_max_ms = 5_000)
        .fault_at(
            3_000,
            Fault::SlowLinks {
                target: Target::Broker(BrokerId(3)),
                latency_ms: 4_000,
            },
        )
        .fault_at(20_000, Fault::HealAll)
        .expect(Guarantee::AtLeastOnce)
        .expect_ordering(OrderingVerdict::Preserved)
        .expect_mark(Mark::IsrShrunk)
        .expect_mark(Mark::IsrExpanded)
        .build()
}

fn safe_acks_all_swarm() -> Result<Scenario, String> {
    ScenarioBuilder::new("safe-acks-all-swarm")
        .summary("the safe configuration under random faults and configurations: at least once")
        .explanation(
            "acks=all, min.insync.replicas=2, replication factor 3, unclean election off and \
             log.flush.interval.messages=1: Kafka's most durable settings. The seed draws \
             crashes, power losses (sometimes of every broker at once), quick leader restarts, \
             pauses, partitions, one-way cuts, slow followers and slow disks, aimed at random \
             nodes or at the leader, the newest ISR member, the controller or the follower \
             furthest behind, at random times or on an ISR expansion, a leader change or a \
             truncating fetch. It also draws the configuration: fetch sizes down to two records, \
             producer timeouts short enough that batches give up, retries, linger, in-flight \
             requests, batch and poll sizes. Every broker syncs every message: a broker that \
             lost unsynced records stays in the ISR until it registers again and may be elected \
             as the last known leader (docs/DECISIONS.md). Nothing acknowledged may be \
             lost on any seed; retries may duplicate.",
        )
        .acks(Acks::All)
        .min_insync_replicas(2)
        .broker_config(|broker| {
            broker.replica_lag_time_max_ms = 10_000;
            broker.log_flush_interval_messages = Some(1);
        })
        .swarm(safe_swarm())
        .expect(Guarantee::AtLeastOnce)
        .build()
}

/// Every fault kind, with a safe configuration drawn per seed: the swarm of the safe
/// scenarios.
pub(crate) fn safe_swarm() -> Swarm {
    Swarm {
        kinds: FaultKind::ALL.to_vec(),
        configuration: Some(safe_configuration_space()),
        ..Swarm::default()
    }
}

/// What the safe swarm lets each seed vary. Every choice keeps the configuration safe.
pub(crate) fn safe_configuration_space() -> ConfigurationSpace {
    ConfigurationSpace {
        // No broker may go without fsync here: see DECISIONS.md, "An aiming swarm". The
        // unsynced-broker-swarm scenario draws one.
        flush: None,
        replica_fetch_max_records: Some(Values::Choices(vec![2, 3, 5, 500])),
        request_timeout_ms: Some(Values::Choices(vec![300, 1_000, 5_000, 30_000])),
        delivery_timeout_ms: Some(Values::Choices(vec![500, 2_000, 10_000, 120_000])),
        retries: Some(Values::Choices(vec![0, 1, 3, 2_147_483_647])),
        linger_ms: Some(Values::Choices(vec![0, 5, 50])),
        max_in_flight_requests_per_connection: Some(Values::Range(Range { min: 1, max: 5 })),
        batch_size_records: Some(Values::Choices(vec![1, 4, 16])),
        max_poll_records: Some(Values::Choices(vec![1, 3, 500])),
    }
}
