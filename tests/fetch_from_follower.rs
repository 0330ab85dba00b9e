//! Fetch from follower (KIP-392) and the historical bug on its path, each pinned by its
//! catalogue scenario.
//!
//! `consumer-reads-from-follower-in-its-rack`: without faults the leader sends the rack-b
//! consumer to the in-sync follower of rack b, which serves it below its own high watermark.
//!
//! **KAFKA-14704** (`follower-high-watermark-before-truncation`; Kafka 2.7.0 to 3.4.0, fixed
//! in 3.5.0): `follower-exposes-diverged-records-before-truncating`. Broker 3 (rack b) serves
//! four rack-b consumers and holds three records of epoch 1 that broker 2 never fetched. It
//! stops hearing the controller while broker 2 is elected, drops it from the ISR and commits
//! other records at those offsets; the consumers learn of epoch 2 from broker 2 and keep
//! their lease on broker 3 (UNKNOWN_LEADER_EPOCH keeps it). When broker 3 hears of epoch 2,
//! its first fetch is answered with a diverging epoch and broker 2's high watermark. With
//! the switch broker 3 takes that high watermark before truncating, and a consumer reads
//! the three diverged records in the gap: `inconsistent-offsets` (two values at each of those
//! offsets) and `final-log-loss` (values read that no replica holds). Without it,
//! `follower-truncates-before-taking-the-high-watermark`, the same faults expose nothing.
//!
//! `WATERMARK_SEEDS=0..500 cargo test --release --test fetch_from_follower` explores more
//! seeds; of seeds 0..40, 38 catch the bug (`watermark sweep
//! follower-exposes-diverged-records-before-truncating --seeds 0..40`): on the other two no
//! consumer fetch lands in the gap.

mod common;

use watermark_broker_core::bugs::BugSwitch;
use watermark_broker_core::mark::Mark;
use watermark_scenarios::find;
use watermark_sim::checkers::Checker;
use watermark_sim::runner::{RunOptions, RunReport};
use watermark_sim::scenario::Scenario;
use watermark_sim::sweep::sweep;

const HAPPY_PATH: &str = "consumer-reads-from-follower-in-its-rack";
const KAFKA_14704: &str = "follower-exposes-diverged-records-before-truncating";
const KAFKA_14704_FIXED: &str = "follower-truncates-before-taking-the-high-watermark";

fn scenario(name: &str) -> Scenario {
    find(name).unwrap_or_else(|| panic!("{name} is not in the catalogue"))
}

fn run_on_pinned_seeds(scenario: &Scenario) -> Vec<RunReport> {
    sweep(
        scenario,
        &common::seeds(0..8),
        common::jobs(),
        RunOptions::default(),
        |_| {},
    )
}

fn assert_marks_reached(name: &str, report: &RunReport, marks: &[Mark]) {
    for mark in marks {
        assert!(
            report.marks.contains_key(mark),
            "{name} seed {} never reached {mark}\n{}",
            report.seed,
            common::explain(report)
        );
    }
}

#[test]
fn a_consumer_reads_from_the_in_sync_follower_of_its_rack() {
    let scenario = scenario(HAPPY_PATH);
    for report in run_on_pinned_seeds(&scenario) {
        assert!(report.passed, "{}", common::explain(&report));
        assert!(report.violations.is_empty(), "{}", common::explain(&report));
        assert_marks_reached(
            HAPPY_PATH,
            &report,
            &[
                Mark::PreferredReadReplicaChosen,
                Mark::FollowerServedConsumerFetch,
            ],
        );
    }
}

/// Seeds 0..8: a consumer reads the diverged records in the gap between the high watermark
/// and the truncation, and the client checkers see it.
#[test]
fn a_follower_taking_the_high_watermark_before_truncating_exposes_uncommitted_records() {
    let scenario = scenario(KAFKA_14704);
    assert_eq!(
        scenario.bugs.enabled(),
        vec![BugSwitch::FollowerHighWatermarkBeforeTruncation]
    );
    for report in run_on_pinned_seeds(&scenario) {
        assert!(report.passed, "{}", common::explain(&report));
        assert_marks_reached(
            KAFKA_14704,
            &report,
            &[
                Mark::HighWatermarkTakenBeforeTruncation,
                Mark::FollowerServedRecordsAboutToBeCut,
            ],
        );
        for checker in [Checker::InconsistentOffsets, Checker::FinalLogLoss] {
            assert!(
                report
                    .violations
                    .iter()
                    .any(|violation| violation.checker == checker),
                "{KAFKA_14704} seed {} did not show {checker}\n{}",
                report.seed,
                common::explain(&report)
            );
        }
    }
}

/// The same faults with the switch off, on the same seeds: every fault applied, the
/// divergence found and truncated by, consumers served by the follower, and nothing
/// exposed.
#[test]
fn a_follower_that_truncates_first_exposes_nothing() {
    let mut scenario = scenario(KAFKA_14704);
    scenario.bugs = Default::default();
    scenario.expect = Default::default();
    for report in run_on_pinned_seeds(&scenario) {
        assert!(
            report.passed && report.violations.is_empty() && report.faults_not_applied.is_empty(),
            "{KAFKA_14704} without its switch, seed {}:\nnot applied: {:?}\n{}",
            report.seed,
            report.faults_not_applied,
            common::explain(&report)
        );
        assert!(!report
            .marks
            .contains_key(&Mark::HighWatermarkTakenBeforeTruncation));
        assert_marks_reached(
            KAFKA_14704,
            &report,
            &[
                Mark::FollowerServedConsumerFetch,
                Mark::FetchDivergingEpoch,
                Mark::TruncatedByDivergingEpoch,
            ],
        );
    }
}

/// The fixed scenario is the buggy one without its switch: same faults, clients and
/// settings.
#[test]
fn the_two_kafka_14704_scenarios_differ_only_in_the_switch() {
    let buggy = scenario(KAFKA_14704);
    let mut fixed = scenario(KAFKA_14704_FIXED);
    for report in run_on_pinned_seeds(&fixed) {
        assert!(report.passed, "{}", common::explain(&report));
    }
    fixed.name = buggy.name.clone();
    fixed.summary = buggy.summary.clone();
    fixed.explanation = buggy.explanation.clone();
    fixed.expect = buggy.expect.clone();
    fixed.bugs = buggy.bugs;
    assert_eq!(format!("{fixed:?}"), format!("{buggy:?}"));
}

/// The switch names the releases Kafka's history gives: the diverging-epoch fetch (2.7)
/// up to the fix in 3.5.0, and its catching scenario is the demonstration.
#[test]
fn the_switch_names_its_releases_and_demonstration() {
    let switch = BugSwitch::FollowerHighWatermarkBeforeTruncation;
    assert_eq!(switch.changed_by(), Some("KAFKA-14704"));
    assert_eq!(switch.fixed_in(), Some("3.5.0"));
    assert_eq!(switch.catching_swarm(), KAFKA_14704);
}
