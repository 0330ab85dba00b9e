use super::*;
use crate::cli::sweep_summary::{FailureGroup, FirstFailure};

fn group(reason: &str, seeds: u64, scenario: &str, seed: u64) -> FailureGroup {
    FailureGroup {
        reason: reason.to_string(),
        seeds,
        first_scenario: scenario.to_string(),
        first_seed: seed,
        replay: format!("watermark run {scenario} --seed {seed}"),
    }
}

/// A shard of a sweep of scenarios `a` then `b` over seeds 0..10.
fn shard(index: u64, groups: Vec<FailureGroup>, first: Option<(&str, u64)>) -> (String, Summary) {
    let failed: u64 = groups.iter().map(|group| group.seeds).max().unwrap_or(0);
    let summary = Summary {
        scenarios: vec!["a".to_string(), "b".to_string()],
        seeds: "0..10".to_string(),
        shard: format!("{index}/2"),
        jobs: 2,
        runs: 10,
        passed: 10 - failed,
        failed,
        failure_groups: groups,
        violations_by_checker: [("lost-write".to_string(), failed)].into(),
        ordering: [("preserved".to_string(), 10)].into(),
        first_failure: first.map(|(scenario, seed)| FirstFailure {
            scenario: scenario.to_string(),
            seed,
            failures: vec!["guarantee".to_string()],
            replay: format!("watermark run {scenario} --seed {seed}"),
        }),
        seeds_per_s: 5.0,
        wall_ms: 2_000,
        ..Summary::new()
    };
    (format!("shard-{index}.jsonl"), summary)
}

#[test]
fn counts_add_up_and_each_first_is_the_first_in_scenario_then_seed_order() {
    let one = shard(
        1,
        vec![
            group("checker lost-write", 2, "b", 0),
            group("liveness", 1, "b", 4),
        ],
        Some(("b", 0)),
    );
    let two = shard(
        2,
        vec![group("checker lost-write", 3, "a", 7)],
        Some(("a", 7)),
    );
    let merged = merge(&[one, two]).unwrap();
    assert_eq!((merged.runs, merged.passed, merged.failed), (20, 15, 5));
    assert_eq!(merged.shard, "1-2/2");
    assert_eq!(merged.violations_by_checker["lost-write"], 5);
    assert_eq!(merged.ordering["preserved"], 20);
    let groups: Vec<(&str, u64, &str, u64)> = merged
        .failure_groups
        .iter()
        .map(|group| {
            (
                group.reason.as_str(),
                group.seeds,
                group.first_scenario.as_str(),
                group.first_seed,
            )
        })
        .collect();
    // Scenario `a` comes before `b` in the sweep, so a's seed 7 is first, not b's seed 0.
    assert_eq!(
        groups,
        vec![("checker lost-write", 5, "a", 7), ("liveness", 1, "b", 4)]
    );
    let first = merged.first_failure.unwrap();
    assert_eq!((first.scenario.as_str(), first.seed), ("a", 7));
    assert_eq!(
        exit_for(&merge(&[shard(1, vec![], None), shard(2, vec![], None)]).unwrap()),
        Exit::Met
    );
}

#[test]
fn the_order_of_the_files_does_not_change_the_merge() {
    let one = shard(1, vec![group("liveness", 1, "b", 3)], Some(("b", 3)));
    let two = shard(2, vec![group("liveness", 2, "b", 1)], Some(("b", 1)));
    let forward = merge(&[one.clone(), two.clone()]).unwrap();
    let backward = merge(&[two, one]).unwrap();
    assert_eq!(forward, backward);
    assert_eq!(forward.failure_groups[0].first_seed, 1);
}

#[test]
fn a_missing_or_repeated_shard_is_refused() {
    let error = merge(&[shard(1, vec![], None)]).unwrap_err();
    assert_eq!(
        error.line(),
        "error: shard(s) 2/2 missing: a merge of part of a sweep would under-count it"
    );
    let error = merge(&[shard(1, vec![], None), shard(1, vec![], None)]).unwrap_err();
    assert!(
        error.line().contains("are both shard 1/2"),
        "{}",
        error.line()
    );
}

#[test]
fn a_shard_of_another_sweep_is_refused() {
    let (name, mut other) = shard(2, vec![], None);
    other.seeds = "0..20".to_string();
    let error = merge(&[shard(1, vec![], None), (name, other)]).unwrap_err();
    assert_eq!(
        error.line(),
        "error: shard-2.jsonl is not a shard of the sweep shard-1.jsonl is: its seed range is 0..20, not 0..10"
    );
    let (name, mut other) = shard(2, vec![], None);
    other.bugs = vec!["ack-before-isr".to_string()];
    assert!(merge(&[shard(1, vec![], None), (name, other)]).is_err());
}
