//! `no-consumer-truncation-detection`: consumers before Kafka 2.3 (KIP-320's consumer side,
//! KAFKA-7747) kept their fetch position across a leader change without validating it.
//!
//! Seed 1 of `consumer-misses-records-without-truncation-detection`, step by step:
//! - t=1.411 s: the high watermark reaches 5 and broker 3 is cut off from the leader, b1;
//!   it holds offsets 0..5 (epoch e1);
//! - t=7.508 s: b3 leaves the ISR, the high watermark jumps to 20 on {b1, b2}, and the
//!   consumer reads v6..v20 at offsets 5..20 (position 20, last consumed epoch e1);
//! - t=9.508 s: b1 and b2 crash, the consumer pauses;
//! - t=17.015 s: their sessions expired, the controller elects b3 uncleanly (e3, log end 5);
//! - t=26.110 s: the second producer's v21..v50 are written at offsets 5..35, committed on
//!   b3 alone;
//! - t=27.508 s: the consumer resumes, learns of e3 and, without validation, fetches at 20:
//!   it reads v36..v50 and never v21..v35, which the final log holds at offsets 5..20
//!   (`unseen`, and `lost-write`: a poll read v50, after them).
//!
//! With the switch off (Kafka 2.3+) the consumer asks b3 where e1 ends (OffsetsForLeaderEpoch:
//! 5), goes back to 5 and reads v21..v50. What the unclean election itself loses is the same
//! either way (v6..v20, committed and read, are gone: `final-log-loss`,
//! `inconsistent-offsets`, `NoCommittedRecordLost`), so the clean comparison is: on the same
//! seeds, the run without the switch reports exactly the violations of the run with it,
//! less every `unseen` and `lost-write` one.

mod common;

use std::collections::BTreeSet;
use watermark_broker_core::bugs::BugSwitch;
use watermark_broker_core::ids::Offset;
use watermark_broker_core::mark::Mark;
use watermark_scenarios::find;
use watermark_sim::checkers::Checker;
use watermark_sim::runner::{RunOptions, RunReport};
use watermark_sim::scenario::Scenario;
use watermark_sim::sweep::sweep;

const WITHOUT_DETECTION: &str = "consumer-misses-records-without-truncation-detection";
const WITH_DETECTION: &str = "consumer-detects-truncation-after-unclean-election";

fn run(scenario: &Scenario, seeds: &[u64]) -> Vec<RunReport> {
    sweep(
        scenario,
        seeds,
        common::jobs(),
        RunOptions::default(),
        |_| {},
    )
}

/// A run's violations as (checker, offsets, values), ignoring when each was found.
fn findings(
    report: &RunReport,
    leave_out: &[Checker],
) -> BTreeSet<(String, Vec<Offset>, Vec<u64>)> {
    report
        .violations
        .iter()
        .filter(|violation| !leave_out.contains(&violation.checker))
        .map(|violation| {
            (
                violation.checker.name().to_string(),
                violation.offsets.clone(),
                violation.values.clone(),
            )
        })
        .collect()
}

fn values_of(report: &RunReport, checker: Checker) -> BTreeSet<u64> {
    report
        .violations
        .iter()
        .filter(|violation| violation.checker == checker)
        .flat_map(|violation| violation.values.clone())
        .collect()
}

/// Seed 1, the story above: the consumer misses exactly v21..v35, the new leader's records
/// at offsets 5..20, which no unclean-election loss explains (none of them is missing from
/// the final log).
#[test]
fn the_pre_2_3_consumer_misses_the_new_leaders_records_below_its_position_on_seed_1() {
    let scenario = find(WITHOUT_DETECTION).unwrap();
    let report = &run(&scenario, &[1])[0];
    assert!(report.passed, "{}", common::explain(report));
    assert_eq!(
        values_of(report, Checker::Unseen),
        (21..=35).collect(),
        "{}",
        common::explain(report)
    );
    assert_eq!(values_of(report, Checker::LostWrite), (21..=35).collect());
    assert_eq!(values_of(report, Checker::FinalLogLoss), (6..=20).collect());
    for violation in &report.violations {
        if violation.checker == Checker::Unseen {
            let offset = violation.offsets[0];
            assert!(Offset(5) <= offset && offset < Offset(20), "{violation}");
        }
    }
    assert!(report
        .marks
        .contains_key(&Mark::ConsumerTruncationDetectionSkipped));
    assert!(!report.marks.contains_key(&Mark::ConsumerTruncationDetected));
}

/// Seeds 0..16 of both catalogue scenarios meet their expectations (anomalies and marks on
/// every seed).
#[test]
fn both_catalogue_scenarios_meet_their_expectations() {
    for name in [WITHOUT_DETECTION, WITH_DETECTION] {
        let scenario = find(name).unwrap();
        for report in run(&scenario, &common::seeds(0..16)) {
            assert!(report.passed, "{}", common::explain(&report));
            for mark in &scenario.expect.marks {
                assert!(
                    report.marks.contains_key(mark),
                    "{name} seed {}: {mark}",
                    report.seed
                );
            }
            for anomaly in &scenario.expect.anomalies {
                assert!(
                    report.violations.iter().any(|v| v.checker == *anomaly),
                    "{name} seed {} did not show {anomaly}",
                    report.seed
                );
            }
        }
    }
}

/// The clean comparison, seed by seed: the same scenario with the switch off validates the
/// position (the mark), reports no `unseen` and no `lost-write`, and otherwise exactly the
/// findings of the run with the switch: the unclean election's own losses.
#[test]
fn with_truncation_detection_the_same_seeds_lose_only_what_the_unclean_election_lost() {
    let with_bug = find(WITHOUT_DETECTION).unwrap();
    let mut without_bug = with_bug.clone();
    without_bug.bugs = Default::default();
    let seeds = common::seeds(0..16);
    let buggy = run(&with_bug, &seeds);
    let fixed = run(&without_bug, &seeds);
    let consumer_checkers = [Checker::Unseen, Checker::LostWrite];
    for (buggy, fixed) in buggy.iter().zip(&fixed) {
        assert_eq!(buggy.seed, fixed.seed);
        assert!(
            !values_of(buggy, Checker::Unseen).is_empty(),
            "{}",
            common::explain(buggy)
        );
        assert!(
            values_of(fixed, Checker::Unseen).is_empty()
                && values_of(fixed, Checker::LostWrite).is_empty(),
            "{}",
            common::explain(fixed)
        );
        assert_eq!(
            findings(buggy, &consumer_checkers),
            findings(fixed, &[]),
            "seed {}",
            fixed.seed
        );
        assert!(fixed.marks.contains_key(&Mark::ConsumerTruncationDetected));
        assert!(!fixed
            .marks
            .contains_key(&Mark::ConsumerTruncationDetectionSkipped));
    }
}

/// The two catalogue scenarios run the same cluster, workload and faults: the switch alone
/// (and what each expects) tells them apart.
#[test]
fn the_two_scenarios_differ_only_in_the_switch_and_their_expectations() {
    let without = find(WITHOUT_DETECTION).unwrap();
    let with = find(WITH_DETECTION).unwrap();
    assert_eq!(
        without.bugs.enabled(),
        vec![BugSwitch::NoConsumerTruncationDetection]
    );
    assert!(with.bugs.enabled().is_empty());
    let normalised = |scenario: &Scenario| Scenario {
        name: String::new(),
        summary: String::new(),
        explanation: String::new(),
        bugs: Default::default(),
        expect: Default::default(),
        ..scenario.clone()
    };
    assert_eq!(normalised(&without), normalised(&with));
}

/// The switch's catching scenario is its demonstration, which turns it on itself.
#[test]
fn the_switch_names_its_demonstration_as_its_catching_scenario() {
    let switch = BugSwitch::NoConsumerTruncationDetection;
    assert_eq!(switch.catching_swarm(), WITHOUT_DETECTION);
    assert_eq!(switch.changed_by(), Some("KAFKA-7747"));
    assert_eq!(switch.fixed_in(), Some("2.3.0"));
    assert_eq!("kafka-7747".parse::<BugSwitch>(), Ok(switch));
}
