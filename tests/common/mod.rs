//! Shared by the integration tests: seed ranges and report formatting.

#![allow(dead_code)]

use watermark_sim::runner::RunReport;
use watermark_sim::sweep::parse_seed_range;

/// The seeds a pinned test runs: `default` unless `WATERMARK_SEEDS=A..B` widens (or moves)
/// the range for exploration.
pub fn seeds(default: std::ops::Range<u64>) -> Vec<u64> {
    match std::env::var("WATERMARK_SEEDS") {
        Ok(text) => parse_seed_range(&text)
            .unwrap_or_else(|error| panic!("WATERMARK_SEEDS: {error}"))
            .collect(),
        Err(_) => default.collect(),
    }
}

/// Worker threads for sweeps inside tests.
pub fn jobs() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// A failing report as the command that replays it plus what went wrong.
pub fn explain(report: &RunReport) -> String {
    let bugs: String = report
        .bugs
        .iter()
        .map(|bug| format!(" --bug {bug}"))
        .collect();
    let violations: Vec<String> = report
        .violations
        .iter()
        .take(8)
        .map(|violation| format!("  {violation}"))
        .collect();
    format!(
        "replay: cargo run --release -- run {} --seed {}{bugs}\nobserved {} expected {}\nfailures: {:?}\npanic: {:?}\nviolations:\n{}",
        report.scenario,
        report.seed,
        report.observed,
        report.expected,
        report.failures,
        report.panic,
        violations.join("\n")
    )
}
