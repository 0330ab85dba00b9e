//! Run reports made by hand, for the tests of what the command line prints about them.

use std::collections::BTreeMap;
use watermark_sim::failure::Failure;
use watermark_sim::runner::RunReport;
use watermark_sim::verdict::{Guarantee, OrderingVerdict};
use watermark_sim::violation::Violation;

/// A report of seed `seed` that failed for `failures` (passed when there are none), an
/// exactly-once observation against an at-least-once expectation, and one violation per
/// name in `checkers`.
pub fn report(seed: u64, failures: Vec<Failure>, checkers: &[&str]) -> RunReport {
    RunReport {
        scenario: "s".to_string(),
        seed,
        trace_hash: String::new(),
        observed: Guarantee::ExactlyOnce,
        expected: Guarantee::AtLeastOnce,
        ordering: OrderingVerdict::Preserved,
        expected_ordering: None,
        passed: failures.is_empty(),
        panic: failures.iter().find_map(|failure| match failure {
            Failure::Panic(message) => Some(message.clone()),
            _ => None,
        }),
        failures,
        faults_not_applied: vec![],
        violations: checkers
            .iter()
            .map(|checker| Violation {
                checker: checker.parse().expect("a registered checker"),
                partition: None,
                offsets: vec![],
                values: vec![],
                time_ms: 0,
                description: String::new(),
            })
            .collect(),
        sim_time_ms: 0,
        wall_ms: 0,
        converged: true,
        marks: BTreeMap::new(),
        bugs: vec![],
        counters: Default::default(),
        lag: vec![],
        sink: vec![],
        configuration: None,
        trace: vec![],
        records: vec![],
        history: Default::default(),
        final_state: None,
    }
}
