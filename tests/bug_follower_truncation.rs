//! Two follower-truncation bugs of the OffsetsForLeaderEpoch era, pinned to their catalogue
//! demonstrations: each diverges the replicas on every pinned seed with its switch, and the
//! same runs converge without it — on the handshake path the switch refines, and on Kafka
//! 4.x's fetch path. `WATERMARK_SEEDS=0..2000 cargo test --release --test
//! bug_follower_truncation` explores further.

mod common;

use std::collections::BTreeSet;
use watermark_broker_core::bugs::{BugSwitch, BugSwitches};
use watermark_broker_core::mark::Mark;
use watermark_scenarios::find;
use watermark_sim::checkers::Checker;
use watermark_sim::runner::{RunOptions, RunReport};
use watermark_sim::scenario::Scenario;
use watermark_sim::sweep::sweep;
use watermark_sim::verdict::Guarantee;

const FAST_FAILOVER: &str = "fast-failover-without-epoch-check-diverges";
const MISSED_EPOCHS: &str = "missed-epochs-same-leader-diverges";

/// The checkers that judge replicas by content and by the ISR's prefix: what the bugs
/// break, and nothing else may.
const DIVERGENCE_CHECKERS: [Checker; 4] = [
    Checker::ReplicaDivergence,
    Checker::LogMatching,
    Checker::StrongIsr,
    Checker::WeakIsr,
];

fn run(scenario: &Scenario, seeds: std::ops::Range<u64>) -> Vec<RunReport> {
    sweep(
        scenario,
        &common::seeds(seeds),
        common::jobs(),
        RunOptions::default(),
        |_| {},
    )
}

fn divergence_reported(report: &RunReport) -> BTreeSet<Checker> {
    report
        .violations
        .iter()
        .map(|violation| violation.checker)
        .filter(|checker| DIVERGENCE_CHECKERS.contains(checker))
        .collect()
}

/// The demonstration with its bug switch replaced by `bugs`, and the expectation it keeps
/// without the bug: no divergence anomaly, no bug mark.
fn without_the_bug(name: &str, bugs: BugSwitches) -> Scenario {
    let mut scenario = find(name).unwrap_or_else(|| panic!("{name} is not in the catalogue"));
    scenario.bugs = bugs;
    scenario
        .expect
        .anomalies
        .retain(|checker| !DIVERGENCE_CHECKERS.contains(checker));
    scenario
        .expect
        .allowed_invariant_violations
        .retain(|checker| !DIVERGENCE_CHECKERS.contains(checker));
    scenario.expect.marks.retain(|mark| {
        ![
            Mark::TruncatedWithoutEpochCheck,
            Mark::BecomeFollowerSkippedLeaderUnchanged,
        ]
        .contains(mark)
    });
    scenario
}

fn handshake_only() -> BugSwitches {
    BugSwitches {
        offsets_for_leader_epoch_truncation: true,
        ..BugSwitches::default()
    }
}

fn assert_demonstrated(name: &str, seeds: std::ops::Range<u64>) {
    let scenario = find(name).unwrap();
    for report in run(&scenario, seeds) {
        assert!(report.passed, "{}", common::explain(&report));
        let found = divergence_reported(&report);
        for checker in [
            Checker::ReplicaDivergence,
            Checker::LogMatching,
            Checker::StrongIsr,
        ] {
            assert!(
                found.contains(&checker),
                "seed {}: {checker} did not report the diverged replicas\n{}",
                report.seed,
                common::explain(&report)
            );
        }
    }
}

fn assert_clean(scenario: &Scenario, seeds: std::ops::Range<u64>, observed_at_least: Guarantee) {
    for report in run(scenario, seeds) {
        assert!(report.passed, "{}", common::explain(&report));
        assert!(
            divergence_reported(&report).is_empty(),
            "{}",
            common::explain(&report)
        );
        assert!(
            report.observed.satisfies(observed_at_least),
            "{}",
            common::explain(&report)
        );
    }
}

/// KAFKA-6361, before KIP-279 (Kafka 0.11 to 1.1; fixed in 2.0.0). Seeds 0..8: two brokers,
/// acks=1, unclean election on. Broker 2 stops getting broker 1's records at offset 20;
/// broker 1 writes offsets 20.. in epoch 1 and dies; broker 2 leads in epoch 2 and writes
/// the same offsets with other values, then dies; broker 1 returns, follows the dead broker 2
/// (so truncates nothing) and is elected uncleanly in epoch 3. Broker 2 returns and asks
/// where its epoch 2 ends: broker 1's answer is the end of its epoch 1, which without the
/// epoch broker 2 takes as it stands, keeping its epoch-2 records below it.
/// `ReplicaDivergence`, `LogMatching` and `StrongIsr` report it on every seed.
#[test]
fn without_the_epoch_in_the_answer_a_fast_failover_diverges_the_replicas() {
    assert_demonstrated(FAST_FAILOVER, 0..8);
}

/// The same runs with KIP-279's answer (the epoch compared, the handshake repeated) and
/// with Kafka 4.x's diverging epoch on fetch: broker 2 cuts to where its own epoch 1 ends and
/// the replicas converge. The unclean election still loses broker 2's acknowledged records.
#[test]
fn with_the_epoch_in_the_answer_the_same_fast_failover_converges() {
    for bugs in [handshake_only(), BugSwitches::default()] {
        assert_clean(
            &without_the_bug(FAST_FAILOVER, bugs),
            0..8,
            Guarantee::AtMostOnce,
        );
    }
}

/// KAFKA-7164, before Kafka 2.0.1. Seeds 0..8: three brokers, acks=all. Broker 2 pauses,
/// broker 3 copies broker 1's records past offset 20 and is cut off; broker 1 shuts down,
/// broker 2 leads in epoch 2 and writes those offsets anew; broker 1 returns, truncates,
/// and leads again in epoch 3. Broker 3 returns to find broker 1 leading — the leader it
/// followed — and, before the fix, keeps fetching without truncating.
#[test]
fn a_follower_that_missed_epochs_of_the_same_leader_keeps_its_diverged_records() {
    assert_demonstrated(MISSED_EPOCHS, 0..8);
}

/// Since KAFKA-7164 any new leader epoch restarts the follower's truncation: the same runs
/// are clean and at least once.
#[test]
fn truncating_after_every_new_epoch_keeps_the_follower_in_step() {
    for bugs in [handshake_only(), BugSwitches::default()] {
        assert_clean(
            &without_the_bug(MISSED_EPOCHS, bugs),
            0..8,
            Guarantee::AtLeastOnce,
        );
    }
}

/// A sweep turns on one switch only (`tests/bug_switches.rs`), so each switch implies the
/// handshake path it refines: alone, it still diverges the replicas.
#[test]
fn each_switch_alone_implies_the_handshake_path() {
    for (name, switch) in [
        (FAST_FAILOVER, BugSwitch::EpochLookupWithoutEpoch),
        (MISSED_EPOCHS, BugSwitch::NoTruncationWhenLeaderUnchanged),
    ] {
        let mut scenario = find(name).unwrap();
        scenario.bugs = BugSwitches::default();
        scenario.bugs.enable(switch);
        for report in run(&scenario, 0..4) {
            assert!(report.passed, "{}", common::explain(&report));
        }
    }
}
