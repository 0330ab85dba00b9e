//! `watermark sweep`: many seeds of one scenario, or of every catalogue scenario, in
//! parallel, then a summary: how many passed, failed and panicked, which checkers fired, the
//! first failing seed with its replay command, and the speed.

use crate::cli::args::SweepArgs;
use crate::cli::exit::{BadInput, Exit};
use crate::cli::output::{replay_command, report_json, table};
use crate::cli::source::{parse_bugs, resolve, resolve_catalogue, Resolved};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Instant;
use watermark_sim::runner::{RunOptions, RunReport};
use watermark_sim::sweep::{sweep_each, Shard};

/// One finished run and the command that replays it.
#[derive(Clone, Debug)]
pub struct SweptRun {
    pub report: RunReport,
    pub replay: String,
}

/// The first failing run of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FirstFailure {
    pub scenario: String,
    pub seed: u64,
    pub failures: Vec<String>,
    pub replay: String,
}

/// What a sweep found, as printed in text and as the last JSON line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub kind: &'static str,
    pub scenarios: Vec<String>,
    pub seeds: String,
    pub shard: String,
    pub jobs: usize,
    /// The switches given with `--bug`.
    pub bugs: Vec<String>,
    pub runs: u64,
    pub passed: u64,
    /// Failed without panicking.
    pub failed: u64,
    pub panicked: u64,
    /// For each checker, how many failing (or panicked) runs it reported on.
    pub failures_by_checker: BTreeMap<String, u64>,
    /// For each checker, how many runs of all it reported on, passing ones included (a
    /// scenario that demonstrates an anomaly passes *because* its checker fires).
    pub violations_by_checker: BTreeMap<String, u64>,
    /// How many runs (panicked ones aside) observed each ordering verdict.
    pub ordering: BTreeMap<String, u64>,
    /// Failing runs no checker reported on (a missing coverage mark, an expected anomaly
    /// not seen, a panic).
    pub failing_without_violations: u64,
    pub first_failure: Option<FirstFailure>,
    pub seeds_per_s: f64,
    pub wall_ms: u64,
}

impl Summary {
    /// An empty summary.
    pub fn new() -> Summary {
        Summary {
            kind: "sweep-summary",
            scenarios: Vec::new(),
            seeds: String::new(),
            shard: String::new(),
            jobs: 0,
            bugs: Vec::new(),
            runs: 0,
            passed: 0,
            failed: 0,
            panicked: 0,
            failures_by_checker: BTreeMap::new(),
            violations_by_checker: BTreeMap::new(),
            ordering: BTreeMap::new(),
            failing_without_violations: 0,
            first_failure: None,
            seeds_per_s: 0.0,
            wall_ms: 0,
        }
    }

    /// Counts one run. Runs arrive in scenario order, then seed order, so the first failure
    /// is the same whatever the number of jobs.
    pub fn add(&mut self, report: &RunReport, replay: &str) {
        self.runs += 1;
        let checkers: BTreeSet<&str> = report
            .violations
            .iter()
            .map(|violation| violation.checker.name())
            .collect();
        for checker in &checkers {
            *self
                .violations_by_checker
                .entry((*checker).to_string())
                .or_default() += 1;
        }
        if report.panic.is_none() {
            *self
                .ordering
                .entry(report.ordering.to_string())
                .or_default() += 1;
        }
        if report.passed {
            self.passed += 1;
            return;
        }
        if report.panic.is_some() {
            self.panicked += 1;
        } else {
            self.failed += 1;
        }
        if checkers.is_empty() {
            self.failing_without_violations += 1;
        }
        for checker in &checkers {
            *self
                .failures_by_checker
                .entry((*checker).to_string())
                .or_default() += 1;
        }
        if self.first_failure.is_none() {
            self.first_failure = Some(FirstFailure {
                scenario: report.scenario.clone(),
                seed: report.seed,
                failures: report.failures.iter().map(ToString::to_string).collect(),
                replay: replay.to_string(),
            });
        }
    }
}

impl Default for Summary {
    fn default() -> Self {
        Summary::new()
    }
}

/// Counts what a sweep found.
pub fn summarize(runs: &[SweptRun]) -> Summary {
    let mut summary = Summary::new();
    for run in runs {
        summary.add(&run.report, &run.replay);
    }
    summary
}

pub fn sweep_command(args: &SweepArgs) -> Result<Exit, BadInput> {
    let bugs = parse_bugs(&args.bugs)?;
    let range = crate::cli::seed_range(&args.seeds)?;
    let shard = match &args.shard {
        Some(text) => Shard::parse(text).map_err(BadInput)?,
        None => Shard::ALL,
    };
    let targets: Vec<Resolved> = match &args.scenario {
        Some(target) => vec![resolve(target, &bugs)?],
        None => resolve_catalogue(&bugs)?,
    };
    if targets.is_empty() {
        eprintln!("the catalogue is empty: nothing to sweep");
        return Ok(Exit::Met);
    }
    let seeds = shard.seeds(range);
    if seeds.is_empty() {
        eprintln!(
            "shard {}/{} of seeds {} holds no seed: nothing to run",
            shard.index, shard.count, args.seeds
        );
    }
    let jobs = crate::cli::jobs(args.jobs);
    let total_runs = (targets.len() * seeds.len()) as u64;
    let bar = crate::cli::progress::bar(total_runs, !args.json);
    let started = Instant::now();
    // Nothing per seed is kept: each report is printed (with --json), counted and dropped,
    // so a sweep of millions of seeds runs in flat memory.
    let mut summary = Summary::new();
    let mut exit = Exit::Met;
    let mut per_scenario_rows = Vec::new();
    for target in &targets {
        if let Some(bar) = &bar {
            bar.set_message(target.scenario.name.clone());
        }
        let mut own = Summary::new();
        sweep_each(
            &target.scenario,
            &seeds,
            jobs,
            RunOptions::default(),
            |report| {
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
                let replay = replay_command(&target.target, report.seed, &target.extra_bugs);
                if args.json {
                    crate::cli::print(&format!("{}\n", report_json(&report, &replay)));
                }
                own.add(&report, &replay);
                summary.add(&report, &replay);
                exit = exit.max(Exit::for_report(&report));
            },
        );
        per_scenario_rows.push(vec![
            target.scenario.name.clone(),
            own.runs.to_string(),
            own.passed.to_string(),
            own.failed.to_string(),
            own.panicked.to_string(),
        ]);
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let wall = started.elapsed();
    summary.scenarios = targets
        .iter()
        .map(|target| target.scenario.name.clone())
        .collect();
    summary.seeds = args.seeds.clone();
    summary.shard = format!("{}/{}", shard.index, shard.count);
    summary.jobs = jobs;
    summary.bugs = bugs
        .iter()
        .map(|switch| switch.name().to_string())
        .collect();
    summary.wall_ms = u64::try_from(wall.as_millis()).unwrap_or(u64::MAX);
    summary.seeds_per_s = if wall.as_secs_f64() > 0.0 {
        summary.runs as f64 / wall.as_secs_f64()
    } else {
        0.0
    };
    if args.json {
        let line = serde_json::to_string(&summary).unwrap_or_else(|error| {
            format!("{{\"kind\":\"sweep-summary\",\"error\":\"{error}\"}}")
        });
        crate::cli::print(&format!("{line}\n"));
    } else {
        let mut out = String::new();
        if targets.len() > 1 {
            out.push_str(&table(
                &["scenario", "runs", "passed", "failed", "panicked"],
                &per_scenario_rows,
            ));
            out.push('\n');
        }
        out.push_str(&summary_text(&summary));
        crate::cli::print(&out);
    }
    Ok(exit)
}

/// The text form of a summary.
pub fn summary_text(summary: &Summary) -> String {
    let mut out = String::new();
    let mut line = |label: &str, text: &str| {
        let _ = writeln!(out, "{label:<14}{text}");
    };
    line(
        "sweep",
        &format!(
            "{} seeds {} shard {} jobs {} bugs {}",
            if summary.scenarios.len() == 1 {
                summary.scenarios[0].clone()
            } else {
                format!("{} scenarios", summary.scenarios.len())
            },
            summary.seeds,
            summary.shard,
            summary.jobs,
            if summary.bugs.is_empty() {
                "none".to_string()
            } else {
                summary.bugs.join(",")
            }
        ),
    );
    line("seeds run", &summary.runs.to_string());
    line("passed", &summary.passed.to_string());
    line("failed", &summary.failed.to_string());
    line("panicked", &summary.panicked.to_string());
    let ordering: Vec<String> = summary
        .ordering
        .iter()
        .map(|(verdict, runs)| format!("{verdict} ×{runs}"))
        .collect();
    line(
        "ordering",
        &if ordering.is_empty() {
            "-".to_string()
        } else {
            ordering.join(", ")
        },
    );
    let checkers: BTreeSet<&String> = summary
        .violations_by_checker
        .keys()
        .chain(summary.failures_by_checker.keys())
        .collect();
    if checkers.is_empty() {
        line("checkers", "none fired");
    } else {
        line("checkers", "seeds each checker reported on:");
        let rows: Vec<Vec<String>> = checkers
            .iter()
            .map(|checker| {
                vec![
                    (*checker).clone(),
                    summary
                        .failures_by_checker
                        .get(*checker)
                        .copied()
                        .unwrap_or(0)
                        .to_string(),
                    summary
                        .violations_by_checker
                        .get(*checker)
                        .copied()
                        .unwrap_or(0)
                        .to_string(),
                ]
            })
            .collect();
        for row in table(&["checker", "failing seeds", "all seeds"], &rows).lines() {
            line("", row);
        }
    }
    if summary.failing_without_violations > 0 {
        line(
            "",
            &format!(
                "{} failing seed(s) with no checker report (missing mark, absent anomaly or panic)",
                summary.failing_without_violations
            ),
        );
    }
    match &summary.first_failure {
        None => line("first failure", "none"),
        Some(first) => {
            line(
                "first failure",
                &format!(
                    "{} seed {}: {}",
                    first.scenario,
                    first.seed,
                    first.failures.join("; ")
                ),
            );
            line("replay", &first.replay);
        }
    }
    line(
        "speed",
        &format!(
            "{:.1} seeds/s, wall {}",
            summary.seeds_per_s,
            crate::cli::output::seconds(summary.wall_ms)
        ),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use watermark_sim::verdict::{Guarantee, OrderingVerdict};
    use watermark_sim::violation::Violation;

    fn report(seed: u64, passed: bool, checkers: &[&'static str], panicked: bool) -> SweptRun {
        SweptRun {
            report: RunReport {
                scenario: "s".to_string(),
                seed,
                trace_hash: String::new(),
                observed: Guarantee::ExactlyOnce,
                expected: Guarantee::AtLeastOnce,
                ordering: OrderingVerdict::Preserved,
                expected_ordering: None,
                passed,
                failures: if passed {
                    vec![]
                } else {
                    vec![watermark_sim::failure::Failure::Panic("why".to_string())]
                },
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
                configuration: None,
                panic: panicked.then(|| "boom".to_string()),
                trace: vec![],
                records: vec![],
            },
            replay: format!("replay {seed}"),
        }
    }

    #[test]
    fn checkers_count_seeds_not_violations_among_failing_and_all() {
        let runs = vec![
            report(0, true, &["lost-write"], false),
            report(
                1,
                false,
                &["lost-write", "lost-write", "LogMatching"],
                false,
            ),
            report(2, false, &[], true),
            report(3, false, &["LogMatching"], false),
        ];
        let summary = summarize(&runs);
        assert_eq!(
            (summary.passed, summary.failed, summary.panicked),
            (1, 2, 1)
        );
        assert_eq!(summary.failures_by_checker["lost-write"], 1);
        assert_eq!(summary.failures_by_checker["LogMatching"], 2);
        assert_eq!(summary.violations_by_checker["lost-write"], 2);
        assert_eq!(summary.failing_without_violations, 1);
        let first = summary.first_failure.expect("seed 1 failed");
        assert_eq!((first.seed, first.replay.as_str()), (1, "replay 1"));
    }

    #[test]
    fn the_summary_counts_ordering_verdicts_of_runs_that_did_not_panic() {
        let mut runs = vec![
            report(0, true, &[], false),
            report(1, true, &["nonmonotonic-send"], false),
            report(2, false, &[], true),
        ];
        runs[1].report.ordering = OrderingVerdict::Violated;
        let summary = summarize(&runs);
        let counts: Vec<(&str, u64)> = summary
            .ordering
            .iter()
            .map(|(verdict, runs)| (verdict.as_str(), *runs))
            .collect();
        assert_eq!(counts, vec![("preserved", 1), ("violated", 1)]);
        let text = summary_text(&summary);
        assert!(
            text.contains("ordering      preserved ×1, violated ×1"),
            "{text}"
        );
    }
}
