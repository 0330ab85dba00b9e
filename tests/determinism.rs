//! Determinism is the product: the same seed gives the same trace hash, run after run and
//! whatever the number of worker threads.

mod common;

use watermark_scenarios::find;
use watermark_sim::runner::{run, RunOptions};
use watermark_sim::sweep::sweep;
use watermark_sim::trace::TraceMode;

#[test]
fn the_same_seed_gives_the_same_trace_hash_twice() {
    for name in [
        "acks1-leader-crash-loses-acked-write",
        "safe-acks-all-swarm",
    ] {
        let scenario = find(name).unwrap();
        for seed in [0, 7, 4242] {
            let first = run(&scenario, seed, RunOptions::default());
            let second = run(&scenario, seed, RunOptions::default());
            assert!(first.panic.is_none(), "{}", common::explain(&first));
            assert_eq!(first.trace_hash, second.trace_hash, "{name} seed {seed}");
            assert_eq!(first.sim_time_ms, second.sim_time_ms, "{name} seed {seed}");
            assert_eq!(first.violations, second.violations, "{name} seed {seed}");
        }
    }
}

#[test]
fn keeping_the_trace_does_not_change_its_hash() {
    let scenario = find("safe-acks-all-swarm").unwrap();
    let hashed = run(&scenario, 11, RunOptions::default());
    let kept = run(
        &scenario,
        11,
        RunOptions {
            trace_mode: TraceMode::Text,
            keep_records: false,
        },
    );
    let as_json = run(
        &scenario,
        11,
        RunOptions {
            trace_mode: TraceMode::Json,
            keep_records: false,
        },
    );
    assert_eq!(hashed.trace_hash, kept.trace_hash);
    assert_eq!(hashed.trace_hash, as_json.trace_hash);
    assert!(kept.trace.len() > 10);
}

#[test]
fn different_seeds_take_different_paths() {
    let scenario = find("safe-acks-all-swarm").unwrap();
    let hashes: std::collections::BTreeSet<String> = (0..8)
        .map(|seed| run(&scenario, seed, RunOptions::default()).trace_hash)
        .collect();
    assert!(
        hashes.len() >= 7,
        "only {} distinct hashes for 8 seeds",
        hashes.len()
    );
}

#[test]
fn a_sweep_on_one_job_and_on_two_jobs_gives_the_same_hash_per_seed() {
    let scenario = find("safe-acks-all-swarm").unwrap();
    let seeds: Vec<u64> = (100..116).collect();
    let one_job = sweep(&scenario, &seeds, 1, RunOptions::default(), |_| {});
    let two_jobs = sweep(&scenario, &seeds, 2, RunOptions::default(), |_| {});
    let hashes = |reports: &[watermark_sim::runner::RunReport]| -> Vec<(u64, String)> {
        reports
            .iter()
            .map(|report| (report.seed, report.trace_hash.clone()))
            .collect()
    };
    assert_eq!(hashes(&one_job), hashes(&two_jobs));
}
