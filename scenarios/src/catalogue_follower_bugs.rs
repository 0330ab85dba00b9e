//! Two follower-truncation bugs of the OffsetsForLeaderEpoch era (Kafka 0.11 to 2.0), each
//! caught by the content checkers (`ReplicaDivergence`, `LogMatching`): a follower that read
//! the handshake's answer without its epoch (KAFKA-6361, closed by KIP-279 in 2.0.0) and a
//! follower that skipped truncation when a new leader epoch kept its leader (KAFKA-7164,
//! closed in 2.0.1). Both bugs live on the handshake path, so each scenario turns on
//! `offsets-for-leader-epoch-truncation` with its switch (the switches imply it anyway:
//! `BugSwitches::offsets_for_leader_epoch_handshake`).

use crate::builder::ScenarioBuilder;
use watermark_broker_core::bugs::BugSwitch;
use watermark_broker_core::ids::{BrokerId, Offset, PartitionId};
use watermark_broker_core::mark::Mark;
use watermark_broker_core::protocol::Acks;
use watermark_sim::checkers::Checker;
use watermark_sim::fault::{Condition, Fault, PartitionRef, Target};
use watermark_sim::scenario::{ProducerWorkload, Scenario};
use watermark_sim::verdict::Guarantee;

const P0: PartitionRef = PartitionRef::Index(PartitionId(0));

fn broker(id: u32) -> Target {
    Target::Broker(BrokerId(id))
}

/// The moment every story starts from: the leader (broker 1) has acknowledged the batch
/// reaching offset 20, so every replica holds the first 21 records.
fn first_records_acknowledged() -> Condition {
    Condition::LeaderAcked {
        partition: P0,
        offset_at_least: Offset(20),
    }
}

/// A producer of `records` values, one every 50 ms from `start_ms`.
fn producer(records: u64, start_ms: u64) -> ProducerWorkload {
    ProducerWorkload {
        records,
        start_ms,
        interval_ms: 50,
        ..ProducerWorkload::default()
    }
}

/// KAFKA-6361's story, with or without its switch (the test of KIP-279's fix,
/// `EpochDrivenReplicationProtocolAcceptanceTest.logsShouldNotDivergeOnUncleanLeaderElections`,
/// runs the same kind of cluster: two brokers, acks=1, min.insync.replicas=1, unclean
/// election on). Times are after the first 21 records are acknowledged.
fn fast_failover_story(name: &str) -> ScenarioBuilder {
    let start = first_records_acknowledged();
    ScenarioBuilder::new(name)
        .brokers(2)
        .replication_factor(2)
        .min_insync_replicas(1)
        // The first producer writes through the first two leaderships; the second starts
        // once broker 1 leads again, so that epoch 3 has records for broker 2 to copy. No
        // retries: acks=1 without them is at most once, whatever the leader changes do.
        .producers(vec![producer(500, 1_000), producer(200, 30_000)])
        .acks(Acks::Leader)
        .producer_config(|config| config.retries = 0)
        .unclean_leader_election_enable(true)
        // The story predates eligible leader replicas (KIP-966): with them the ISR's last
        // member, broker 2, would stay the only candidate and broker 1 would not be elected.
        .eligible_leader_replicas_enable(false)
        .phases(40_000, 120_000)
        .bug(BugSwitch::OffsetsForLeaderEpochTruncation)
        // Broker 2 stops getting broker 1's records; 1 s later broker 1 dies with records
        // (epoch 1) that broker 2 never had.
        .trigger(
            start.clone(),
            0,
            vec![
                Fault::CutOneWay {
                    from: broker(1),
                    to: broker(2),
                },
                Fault::CutOneWay {
                    from: broker(2),
                    to: broker(1),
                },
            ],
        )
        .trigger(
            start.clone(),
            1_000,
            vec![Fault::Crash { target: broker(1) }],
        )
        // Broker 2, elected when broker 1's session ends, writes the waiting records in
        // epoch 2 over the offsets broker 1 had written, then dies.
        .trigger(start.clone(), 13_000, vec![Fault::HealAll])
        .trigger(
            start.clone(),
            16_000,
            vec![Fault::Crash { target: broker(2) }],
        )
        // Broker 1 comes back while broker 2's session still counts: it follows broker 2,
        // which is down, so it truncates nothing before it is elected uncleanly (epoch 3).
        .trigger(
            start.clone(),
            17_000,
            vec![Fault::Restart { target: broker(1) }],
        )
        // Broker 2 comes back and follows broker 1: the handshake decides what it keeps.
        .trigger(start, 30_000, vec![Fault::Restart { target: broker(2) }])
}

pub(crate) fn fast_failover_without_epoch_check_diverges() -> Result<Scenario, String> {
    fast_failover_story("fast-failover-without-epoch-check-diverges")
        .summary("Kafka before 2.0 (KAFKA-6361): after two fast leader changes a follower takes the leader's end offset without its epoch and keeps records the leader never had")
        .explanation(
            "Two brokers, acks=1 without retries, min.insync.replicas=1, unclean leader \
             election on, and followers that truncate through the OffsetsForLeaderEpoch \
             handshake as every Kafka from 0.11 to 2.6 did. Once the first 21 records are acknowledged, broker \
             2 stops getting broker 1's fetch answers; broker 1 goes on writing in epoch 1 \
             for a second, then dies. When its session ends broker 2 (still in the ISR) is \
             elected in epoch 2 and writes the records that waited, from the offset where \
             its copy stopped: the same offsets now hold epoch-1 records on broker 1 and \
             epoch-2 records on broker 2. Broker 2 dies; broker 1 comes back before \
             broker 2's session ends, so it follows a leader that is down and truncates \
             nothing, and is then elected uncleanly in epoch 3 with its epoch-1 records; a \
             second producer writes to it. Broker 2 comes back and asks broker 1 where its latest epoch, 2, ends. Broker 1 \
             never had epoch 2: its epoch 1 ends where its epoch 3 starts. Before KIP-279 \
             (Kafka 0.11 to 1.1; KAFKA-6361, fixed in 2.0.0) the answer was that offset \
             alone, and broker 2, whose log is longer, cut its log there and fetched on: \
             its epoch-2 records stay below that offset where broker 1 has epoch-1 records, \
             and the logs never converge (LogMatching as soon as they agree on a later \
             offset, ReplicaDivergence at the end). Since KIP-279 the answer names epoch 1, \
             broker 2 sees that its own epoch 1 ends earlier, cuts there and copies broker \
             1's records: without the switch the same run converges. The acknowledged \
             epoch-2 records are lost either way: that is the unclean election.",
        )
        .bug(BugSwitch::EpochLookupWithoutEpoch)
        .expect(Guarantee::AtMostOnce)
        .expect_anomaly(Checker::FinalLogLoss)
        .expect_anomaly(Checker::ReplicaDivergence)
        .expect_anomaly(Checker::LogMatching)
        .expect_anomaly(Checker::StrongIsr)
        .allow_invariant_violation(Checker::WeakIsr)
        .allow_invariant_violation(Checker::NoCommittedRecordLost)
        .expect_mark(Mark::UncleanElection)
        .expect_mark(Mark::TruncatedWithoutEpochCheck)
        .build()
}

/// KAFKA-7164's story, with or without its switch. Times are after the first 21 records
/// are acknowledged.
fn missed_epochs_story(name: &str) -> ScenarioBuilder {
    let start = first_records_acknowledged();
    ScenarioBuilder::new(name)
        .min_insync_replicas(2)
        // Two producers, 25 ms apart: when broker 1 shuts down, each retries its own
        // batches on broker 2, so the offsets broker 3 holds from broker 1 get other values
        // there, not only another epoch.
        .producers(vec![producer(300, 1_000), producer(300, 1_025)])
        .acks(Acks::All)
        .phases(30_000, 120_000)
        .bug(BugSwitch::OffsetsForLeaderEpochTruncation)
        // Broker 2 stops (a long pause, shorter than its session): broker 1 goes on
        // appending, and only broker 3 copies it. Then broker 3 is cut off from everyone.
        .trigger(start.clone(), 0, vec![Fault::Pause { target: broker(2) }])
        .trigger(
            start.clone(),
            500,
            vec![Fault::Isolate { target: broker(3) }],
        )
        // Broker 1 shuts down: broker 2, still in the ISR, is elected in epoch 2 and, once
        // it runs again, writes over the offsets only broker 3 holds from broker 1.
        .trigger(
            start.clone(),
            700,
            vec![Fault::Shutdown { target: broker(1) }],
        )
        .trigger(
            start.clone(),
            4_000,
            vec![Fault::Resume { target: broker(2) }],
        )
        // Broker 1 returns, follows broker 2 (truncating its own extra records) and rejoins
        // the ISR; then broker 2 shuts down and broker 1 leads again, in epoch 3.
        .trigger(
            start.clone(),
            6_000,
            vec![Fault::Restart { target: broker(1) }],
        )
        .trigger(
            start.clone(),
            14_000,
            vec![Fault::Shutdown { target: broker(2) }],
        )
        .trigger(
            start.clone(),
            17_000,
            vec![Fault::Restart { target: broker(2) }],
        )
        // Broker 3 is back and learns that broker 1 leads, in epoch 3.
        .trigger(start, 19_000, vec![Fault::HealAll])
}

pub(crate) fn missed_epochs_same_leader_diverges() -> Result<Scenario, String> {
    missed_epochs_story("missed-epochs-same-leader-diverges")
        .summary("Kafka before 2.0.1 (KAFKA-7164): a follower cut off through two leader changes sees its old leader again and keeps fetching without truncating")
        .explanation(
            "Three brokers, acks=all, min.insync.replicas=2, and followers that truncate \
             through the OffsetsForLeaderEpoch handshake, as Kafka before 2.7 did. Once the \
             first 21 records are acknowledged, broker 2 pauses (shorter than its session): \
             broker 1 keeps appending, broker 3 copies those records, and nothing more is \
             committed. Broker 3 is then cut off from everyone, broker 1 shuts down, and \
             broker 2 (still in the ISR) is elected in epoch 2: when it runs again it writes \
             the waiting records over the offsets only broker 3 holds from broker 1. Broker \
             1 returns, follows broker 2 (cutting its own extra records), rejoins the ISR, \
             and leads again in epoch 3 when broker 2 shuts down. Broker 3 missed all of \
             it. When the cut heals it learns that broker 1 leads in epoch 3 — the leader it \
             was already following. Before KAFKA-7164 (Kafka 0.11 to 2.0.0, fixed in 2.0.1) \
             Partition.makeFollower compared only the leader's id: the same leader meant no \
             become-follower steps, no truncation, and the fetcher went on from its log end \
             offset. Broker 3 keeps broker 1's old epoch-1 records below offsets where \
             broker 1 now has broker 2's epoch-2 records, copies what follows and rejoins \
             the ISR with a log the leader never had (LogMatching, ReplicaDivergence, \
             StrongIsr). Since the fix a new epoch always restarts the truncation: without \
             the switch broker 3 asks where its epoch 1 ends, cuts there and converges.",
        )
        .bug(BugSwitch::NoTruncationWhenLeaderUnchanged)
        // `ReplicaDivergence` breaks integrity, so the observed guarantee falls to at most
        // once; without the switch the same run is at least once.
        .expect(Guarantee::AtMostOnce)
        .expect_anomaly(Checker::ReplicaDivergence)
        .expect_anomaly(Checker::LogMatching)
        .expect_anomaly(Checker::StrongIsr)
        .allow_invariant_violation(Checker::WeakIsr)
        .expect_mark(Mark::BecomeFollowerSkippedLeaderUnchanged)
        .build()
}

pub(crate) fn catalogue() -> [Result<Scenario, String>; 2] {
    [
        fast_failover_without_epoch_check_diverges(),
        missed_epochs_same_leader_diverges(),
    ]
}
