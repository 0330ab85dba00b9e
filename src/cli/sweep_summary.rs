//! What a sweep found: how many seeds passed, failed and panicked, and the failing seeds
//! grouped by reason, each group with its count and its first seed (with the command that
//! replays it), so a thousand seeds failing for two reasons read as two lines. Runs are
//! counted in scenario order, then seed order, so every "first" is the same whatever the
//! number of jobs.

use crate::cli::output::{seconds, table};
use crate::cli::progress::rate_text;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use watermark_sim::failure::{breaks_expectation, Failure};
use watermark_sim::runner::RunReport;

/// The first failing run of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FirstFailure {
    pub scenario: String,
    pub seed: u64,
    pub failures: Vec<String>,
    pub replay: String,
}

/// Failing seeds that share one reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureGroup {
    /// [`Failure::reason`] of a failure, or `checker NAME` for a checker that reported on
    /// a failing run.
    pub reason: String,
    /// How many failing runs had this reason.
    pub seeds: u64,
    pub first_scenario: String,
    pub first_seed: u64,
    /// The command that replays the first seed.
    pub replay: String,
}

/// Where a sweep stopped early (`--fail-fast`, `--max-failures`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stop {
    /// The failure count that stopped the sweep.
    pub failures: u64,
    pub scenario: String,
    pub seed: u64,
    /// The sentence the text summary prints.
    pub text: String,
}

/// What a sweep found, as printed in text and as the last JSON line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Always `sweep-summary`, so the line can be told from the run lines before it.
    pub kind: String,
    pub scenarios: Vec<String>,
    pub seeds: String,
    pub shard: String,
    pub jobs: usize,
    /// The switches given with `--bug`.
    pub bugs: Vec<String>,
    /// The Kafka version profile given with `--kafka`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<String>,
    pub runs: u64,
    pub passed: u64,
    /// Failed without panicking.
    pub failed: u64,
    pub panicked: u64,
    /// Failing (and panicked) runs grouped by reason, most seeds first. One run counts in
    /// every group it has a reason for, so the counts can add up to more than the failures.
    pub failure_groups: Vec<FailureGroup>,
    /// For each checker, how many runs of all it reported on, passing ones included (a
    /// scenario that demonstrates an anomaly passes *because* its checker fires).
    pub violations_by_checker: BTreeMap<String, u64>,
    /// How many runs (panicked ones aside) observed each ordering verdict.
    pub ordering: BTreeMap<String, u64>,
    pub first_failure: Option<FirstFailure>,
    /// Set when `--fail-fast` or `--max-failures` ended the sweep before its last seed.
    pub stopped: Option<Stop>,
    pub seeds_per_s: f64,
    pub wall_ms: u64,
}

impl Summary {
    /// An empty summary.
    pub fn new() -> Summary {
        Summary {
            kind: "sweep-summary".to_string(),
            scenarios: Vec::new(),
            seeds: String::new(),
            shard: String::new(),
            jobs: 0,
            bugs: Vec::new(),
            kafka: None,
            runs: 0,
            passed: 0,
            failed: 0,
            panicked: 0,
            failure_groups: Vec::new(),
            violations_by_checker: BTreeMap::new(),
            ordering: BTreeMap::new(),
            first_failure: None,
            stopped: None,
            seeds_per_s: 0.0,
            wall_ms: 0,
        }
    }

    /// Failing and panicked runs so far.
    pub fn failures(&self) -> u64 {
        self.failed + self.panicked
    }

    /// Counts one run.
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
        for reason in reasons(report) {
            self.count_reason(reason, report, replay);
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

    fn count_reason(&mut self, reason: String, report: &RunReport, replay: &str) {
        match self
            .failure_groups
            .iter_mut()
            .find(|group| group.reason == reason)
        {
            Some(group) => group.seeds += 1,
            None => self.failure_groups.push(FailureGroup {
                reason,
                seeds: 1,
                first_scenario: report.scenario.clone(),
                first_seed: report.seed,
                replay: replay.to_string(),
            }),
        }
        // Most seeds first; ties by name, so the order never depends on arrival.
        self.failure_groups.sort_by(|left, right| {
            right
                .seeds
                .cmp(&left.seeds)
                .then_with(|| left.reason.cmp(&right.reason))
        });
    }
}

impl Default for Summary {
    fn default() -> Self {
        Summary::new()
    }
}

/// Every reason a failing run counts under, once each: the reason of each of its failures
/// (whatever kinds of failure exist: grouping needs only [`Failure::reason`]), and
/// `checker NAME` for each checker whose findings fail the run's guarantee or ordering
/// expectation, since a guarantee failure says what broke and the checkers say how. A
/// checker the expectation allows (a duplicate under at-least-once) is not a reason, and a
/// checker whose failure is an invariant violation is named by that failure already.
fn reasons(report: &RunReport) -> BTreeSet<String> {
    let mut reasons: BTreeSet<String> = report.failures.iter().map(Failure::reason).collect();
    for violation in &report.violations {
        if breaks_expectation(&report.failures, violation) {
            reasons.insert(format!("checker {}", violation.checker.name()));
        }
    }
    reasons
}

/// The text form of a summary.
pub fn summary_text(summary: &Summary) -> String {
    let mut out = String::new();
    let mut line = |label: &str, text: &str| {
        let _ = writeln!(out, "{label:<14}{text}");
    };
    line("sweep", &heading(summary));
    line("seeds run", &summary.runs.to_string());
    if let Some(stop) = &summary.stopped {
        line("stopped", &stop.text);
    }
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
    if summary.violations_by_checker.is_empty() {
        line("checkers", "none fired");
    } else {
        let fired: Vec<String> = summary
            .violations_by_checker
            .iter()
            .map(|(checker, runs)| format!("{checker} ×{runs}"))
            .collect();
        line(
            "checkers",
            &format!("seeds reported on: {}", fired.join(", ")),
        );
    }
    if summary.failure_groups.is_empty() {
        line("failures", "none");
    } else {
        line(
            "failures",
            "failing seeds by reason, with the first of each:",
        );
        for text in groups_text(summary).lines() {
            line("", text);
        }
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
            "{}, wall {}",
            rate_text(summary.seeds_per_s),
            seconds(summary.wall_ms)
        ),
    );
    out
}

/// `safe-acks-all-swarm seeds 0..100 shard 1/1 jobs 2 bugs none` (and ` kafka 2.8` with a
/// version profile).
fn heading(summary: &Summary) -> String {
    format!(
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
    ) + &summary
        .kafka
        .as_ref()
        .map(|version| format!(" kafka {version}"))
        .unwrap_or_default()
}

/// A table of the failure groups, each followed by the command that replays its first seed.
fn groups_text(summary: &Summary) -> String {
    let several_scenarios = summary.scenarios.len() > 1;
    let rows: Vec<Vec<String>> = summary
        .failure_groups
        .iter()
        .map(|group| {
            vec![
                group.reason.clone(),
                group.seeds.to_string(),
                if several_scenarios {
                    format!("{} seed {}", group.first_scenario, group.first_seed)
                } else {
                    group.first_seed.to_string()
                },
            ]
        })
        .collect();
    let table = table(&["reason", "seeds", "first seed"], &rows);
    let mut out = String::new();
    let mut lines = table.lines();
    // The header and the rule, then each row with its replay line under it.
    for header in lines.by_ref().take(2) {
        let _ = writeln!(out, "{header}");
    }
    for (row, group) in lines.zip(&summary.failure_groups) {
        let _ = writeln!(out, "{row}\n  replay: {}", group.replay);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::test_support::report;
    use watermark_broker_core::mark::Mark;
    use watermark_sim::checkers::Checker;
    use watermark_sim::verdict::{Guarantee, OrderingVerdict};

    fn summarize(reports: &[RunReport]) -> Summary {
        let mut summary = Summary::new();
        for report in reports {
            summary.add(report, &format!("replay {}", report.seed));
        }
        summary
    }

    fn groups(summary: &Summary) -> Vec<(&str, u64, u64)> {
        summary
            .failure_groups
            .iter()
            .map(|group| (group.reason.as_str(), group.seeds, group.first_seed))
            .collect()
    }

    fn lost_writes() -> Failure {
        Failure::Guarantee {
            expected: Guarantee::ExactlyOnce,
            observed: Guarantee::AtMostOnce,
        }
    }

    #[test]
    fn failing_seeds_group_by_reason_with_a_count_and_the_first_seed() {
        let invariant = Failure::Invariant(Checker::StrongIsr);
        let summary = summarize(&[
            report(0, vec![], &["lost-write"]),
            report(1, vec![lost_writes()], &["lost-write", "lost-write"]),
            report(2, vec![Failure::Panic("boom".to_string())], &[]),
            report(3, vec![invariant.clone()], &["StrongIsr"]),
            report(
                4,
                vec![lost_writes(), invariant],
                &["lost-write", "StrongIsr"],
            ),
            report(
                5,
                vec![Failure::MissingMark(Mark::IsrShrunk)],
                &["duplicate"],
            ),
            report(6, vec![Failure::Panic("other".to_string())], &[]),
        ]);
        assert_eq!(
            (summary.passed, summary.failed, summary.panicked),
            (1, 4, 2)
        );
        let guarantee = lost_writes().reason();
        let missing = Failure::MissingMark(Mark::IsrShrunk).reason();
        let mut expected = vec![
            ("checker lost-write", 2, 1),
            (guarantee.as_str(), 2, 1),
            ("invariant StrongIsr", 2, 3),
            ("panic", 2, 2),
            (missing.as_str(), 1, 5),
        ];
        expected.sort_by(|left, right| right.1.cmp(&left.1).then(left.0.cmp(right.0)));
        assert_eq!(groups(&summary), expected);
        let panic = &summary.failure_groups[expected
            .iter()
            .position(|group| group.0 == "panic")
            .expect("a panic group")];
        assert_eq!(panic.replay, "replay 2");
        assert_eq!(summary.violations_by_checker["lost-write"], 3);
        let first = summary.first_failure.expect("seed 1 failed");
        assert_eq!((first.seed, first.replay.as_str()), (1, "replay 1"));
    }

    #[test]
    fn a_checker_counts_as_a_reason_only_when_the_expectation_forbids_its_findings() {
        let loss_under_at_least_once = Failure::Guarantee {
            expected: Guarantee::AtLeastOnce,
            observed: Guarantee::None,
        };
        let reordered = Failure::Ordering {
            expected: OrderingVerdict::Preserved,
            observed: OrderingVerdict::Violated,
        };
        let summary = summarize(&[
            report(
                0,
                vec![loss_under_at_least_once.clone()],
                &["duplicate", "lost-write"],
            ),
            report(
                1,
                vec![reordered.clone()],
                &["nonmonotonic-send", "lost-write"],
            ),
        ]);
        let reasons: Vec<&str> = groups(&summary).iter().map(|group| group.0).collect();
        let mut expected = vec![
            "checker lost-write".to_string(),
            "checker nonmonotonic-send".to_string(),
            loss_under_at_least_once.reason(),
            reordered.reason(),
        ];
        expected.sort();
        assert_eq!(reasons, expected);
    }

    #[test]
    fn the_text_lists_each_group_with_its_replay_line() {
        let summary = summarize(&[
            report(4, vec![lost_writes()], &["lost-write"]),
            report(9, vec![lost_writes()], &["lost-write"]),
        ]);
        let text = summary_text(&summary);
        assert!(
            text.contains("failures      failing seeds by reason, with the first of each:"),
            "{text}"
        );
        let row = text
            .lines()
            .find(|line| line.contains("checker lost-write"))
            .expect("a checker row");
        assert!(row.trim_end().ends_with("2      4"), "{row}");
        assert!(text.contains("  replay: replay 4"), "{text}");
        assert!(!text.contains("replay 9"), "{text}");
    }

    #[test]
    fn the_summary_counts_ordering_verdicts_of_runs_that_did_not_panic() {
        let mut runs = vec![
            report(0, vec![], &[]),
            report(1, vec![], &["nonmonotonic-send"]),
            report(2, vec![Failure::Panic("boom".to_string())], &[]),
        ];
        runs[1].ordering = OrderingVerdict::Violated;
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

    #[test]
    fn the_speed_line_rounds_the_rate() {
        let mut summary = Summary::new();
        summary.seeds_per_s = 183.4127;
        summary.wall_ms = 1500;
        assert!(
            summary_text(&summary).contains("speed         183 seeds/s, wall 1.500 s"),
            "{}",
            summary_text(&summary)
        );
    }
}
