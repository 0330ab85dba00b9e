//! What runs showed, counted the same way by every command that compares runs
//! (`watermark versions`, `watermark matrix`): runs that lost, duplicated or diverged, and the
//! checkers that said so.

use std::collections::BTreeSet;
use watermark_sim::checkers::{Checker, GuaranteeEffect};
use watermark_sim::runner::RunReport;

/// What a run can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Something acknowledged or committed is gone (a checker with the `Loss` effect).
    Lost,
    /// Something was stored or processed twice (the `Duplication` effect).
    Duplicated,
    /// Replicas hold different records at one offset (`ReplicaDivergence`, `LogMatching`).
    Diverged,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Lost, Outcome::Duplicated, Outcome::Diverged];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Lost => "lost",
            Outcome::Duplicated => "duplicated",
            Outcome::Diverged => "diverged",
        }
    }

    pub fn shown_by(self, checker: Checker) -> bool {
        match self {
            Outcome::Lost => checker.info().effect == GuaranteeEffect::Loss,
            Outcome::Duplicated => checker.info().effect == GuaranteeEffect::Duplication,
            Outcome::Diverged => {
                matches!(checker, Checker::ReplicaDivergence | Checker::LogMatching)
            }
        }
    }

    /// Whether `report` shows this outcome.
    pub fn shown_in(self, report: &RunReport) -> bool {
        report
            .violations
            .iter()
            .any(|violation| self.shown_by(violation.checker))
    }
}

/// How many of `reports` show `outcome`.
pub fn runs_showing(reports: &[RunReport], outcome: Outcome) -> usize {
    reports
        .iter()
        .filter(|report| outcome.shown_in(report))
        .count()
}

/// How many of `reports` panicked.
pub fn runs_panicked(reports: &[RunReport]) -> usize {
    reports
        .iter()
        .filter(|report| report.panic.is_some())
        .count()
}

/// The checkers (by their source's name, informational ones left out) that reported in
/// `reports`, only those showing `outcome` when one is given.
pub fn checkers_reporting(reports: &[RunReport], outcome: Option<Outcome>) -> Vec<String> {
    let names: BTreeSet<&str> = reports
        .iter()
        .flat_map(|report| &report.violations)
        .filter(|violation| !violation.checker.info().informational)
        .filter(|violation| outcome.is_none_or(|outcome| outcome.shown_by(violation.checker)))
        .map(|violation| violation.checker.name())
        .collect();
    names.into_iter().map(str::to_string).collect()
}
