//! With Kafka's default producer (idempotent since 3.0) the safe swarm's log holds a record
//! twice, or out of send order, only through KAFKA-14034, still open in Kafka 4.x: an epoch
//! bump that gives batches already sent new sequences (`producer-renumbered-sent-batches`).
//! Every other retry is recognised by the leader. A seed with a `duplicate` or
//! `nonmonotonic-send` finding and no such bump would be a defect of the model's idempotence.

mod common;

use watermark_broker_core::mark::Mark;
use watermark_scenarios::find;
use watermark_sim::runner::{RunOptions, RunReport};
use watermark_sim::sweep::sweep;

fn runs(scenario: &str, seeds: std::ops::Range<u64>) -> Vec<RunReport> {
    let scenario = find(scenario).unwrap();
    let seeds: Vec<u64> = seeds.collect();
    sweep(
        &scenario,
        &seeds,
        common::jobs(),
        RunOptions::default(),
        |_| {},
    )
}

/// The seeds whose log shows a duplicate or a reordering without a KAFKA-14034 bump.
fn unexplained(reports: &[RunReport]) -> Vec<u64> {
    reports
        .iter()
        .filter(|report| {
            report.violations.iter().any(|violation| {
                matches!(violation.checker.name(), "duplicate" | "nonmonotonic-send")
            })
        })
        .filter(|report| {
            !report
                .marks
                .contains_key(&Mark::ProducerRenumberedSentBatches)
        })
        .map(|report| report.seed)
        .collect()
}

#[test]
fn the_safe_swarm_duplicates_only_through_kafka_14034() {
    let reports = runs("safe-acks-all-swarm", 0..400);
    // The swarm does reach KAFKA-14034 in this range, so the filter above is exercised.
    assert!(
        reports.iter().any(|report| report
            .marks
            .contains_key(&Mark::ProducerRenumberedSentBatches)),
        "no seed of 0..400 bumped an epoch over batches already sent"
    );
    assert_eq!(unexplained(&reports), Vec::<u64>::new());
}

#[test]
fn the_consumer_group_swarm_duplicates_only_through_kafka_14034() {
    assert_eq!(
        unexplained(&runs("safe-consumer-group-swarm", 0..60)),
        Vec::<u64>::new()
    );
}
