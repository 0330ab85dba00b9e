//! DeleteRecords under a producer's lost answers (scenarios/src/catalogue_delete_records.rs):
//! Kafka 4.x keeps the producer's state and the retries stay duplicates; before KIP-360
//! (`reset-sequence-on-unknown-producer`) the producer resets its sequence and the retried
//! batches are written twice. 2,000 of 2,000 seeds each way (BENCHMARKS.md has the sweep).

mod common;

use watermark_broker_core::bugs::BugSwitch;
use watermark_scenarios::find;
use watermark_sim::runner::{RunOptions, RunReport};
use watermark_sim::sweep::sweep;

fn runs(name: &str, seeds: &[u64]) -> Vec<RunReport> {
    let scenario = find(name).unwrap();
    sweep(
        &scenario,
        seeds,
        common::jobs(),
        RunOptions::default(),
        |_| {},
    )
}

fn reported(report: &RunReport, checker: &str) -> bool {
    report
        .violations
        .iter()
        .any(|violation| violation.checker.name() == checker)
}

/// Seeds 0, 1 and 2 (every seed of the first 2,000 catches it).
#[test]
fn before_kip_360_the_retried_batches_are_written_twice_on_pinned_seeds() {
    for report in runs("unknown-producer-resets-sequence-duplicates", &[0, 1, 2]) {
        assert!(report.passed, "{}", common::explain(&report));
        assert!(
            reported(&report, "duplicate"),
            "{}",
            common::explain(&report)
        );
    }
}

#[test]
fn kafka_4_keeps_the_producer_state_and_writes_every_record_once_on_pinned_seeds() {
    for report in runs("delete-records-keeps-producer-state", &[0, 1, 2]) {
        assert!(report.passed, "{}", common::explain(&report));
        assert!(report.violations.is_empty(), "{}", common::explain(&report));
    }
}

#[test]
fn the_two_scenarios_differ_only_in_the_switch() {
    let mut with_switch = find("unknown-producer-resets-sequence-duplicates").unwrap();
    let without = find("delete-records-keeps-producer-state").unwrap();
    assert_eq!(
        with_switch.bugs.enabled(),
        vec![BugSwitch::ResetSequenceOnUnknownProducer]
    );
    with_switch.bugs = without.bugs;
    assert_eq!(with_switch.faults, without.faults);
    assert_eq!(with_switch.producers, without.producers);
}
