//! The observed delivery guarantee, derived from the checkers, and the comparison with what a
//! scenario expects.
//!
//! Guarantees form a small lattice: exactly-once is stronger than both at-least-once (no
//! loss) and at-most-once (no duplicates), which are both stronger than none. A scenario's
//! expected guarantee is a floor: a run that happened to lose nothing still satisfies an
//! at-most-once expectation. What a scenario must *demonstrate* (a loss, a duplicate) it
//! lists as required anomalies instead.

use crate::checkers::GuaranteeEffect;
use crate::violation::Violation;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A delivery guarantee.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Guarantee {
    ExactlyOnce,
    AtLeastOnce,
    AtMostOnce,
    None,
}

impl Guarantee {
    /// Every guarantee, strongest first.
    pub const ALL: [Guarantee; 4] = [
        Guarantee::ExactlyOnce,
        Guarantee::AtLeastOnce,
        Guarantee::AtMostOnce,
        Guarantee::None,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Guarantee::ExactlyOnce => "exactly-once",
            Guarantee::AtLeastOnce => "at-least-once",
            Guarantee::AtMostOnce => "at-most-once",
            Guarantee::None => "none",
        }
    }

    /// Whether a run observed to give `self` meets an expectation of `expected`.
    pub fn satisfies(self, expected: Guarantee) -> bool {
        let no_loss = |guarantee: Guarantee| {
            matches!(guarantee, Guarantee::ExactlyOnce | Guarantee::AtLeastOnce)
        };
        let no_duplicates = |guarantee: Guarantee| {
            matches!(guarantee, Guarantee::ExactlyOnce | Guarantee::AtMostOnce)
        };
        (!no_loss(expected) || no_loss(self)) && (!no_duplicates(expected) || no_duplicates(self))
    }

    /// The guarantee a run gave, from what it lost and what it duplicated.
    pub fn from_anomalies(lost: bool, duplicated: bool) -> Guarantee {
        match (lost, duplicated) {
            (false, false) => Guarantee::ExactlyOnce,
            (false, true) => Guarantee::AtLeastOnce,
            (true, false) => Guarantee::AtMostOnce,
            (true, true) => Guarantee::None,
        }
    }
}

impl fmt::Display for Guarantee {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for Guarantee {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Guarantee::ALL
            .into_iter()
            .find(|guarantee| guarantee.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown guarantee `{name}` (known: exactly-once, at-least-once, at-most-once, none)"
                )
            })
    }
}

/// Whether any violation comes from a checker whose registry entry has `effect`.
fn any_with_effect(violations: &[Violation], effect: GuaranteeEffect) -> bool {
    violations
        .iter()
        .any(|violation| violation.checker.info().effect == effect)
}

/// The guarantee the violations leave standing: a finding of a checker whose registry entry
/// says `Loss` breaks at-least-once, one that says `Duplication` breaks at-most-once, and one
/// that says `Integrity` (inconsistent offsets, an aborted read, diverged replicas) breaks
/// at-least-once too: a log that told clients two different things, or showed a write they
/// were told failed, keeps no end-to-end promise, so the run is never exactly-once or
/// at-least-once. `Ordering` findings go to [`observed_ordering`] instead.
pub fn observed_guarantee(violations: &[Violation]) -> Guarantee {
    let lost = any_with_effect(violations, GuaranteeEffect::Loss)
        || any_with_effect(violations, GuaranteeEffect::Integrity);
    let duplicated = any_with_effect(violations, GuaranteeEffect::Duplication);
    Guarantee::from_anomalies(lost, duplicated)
}

/// Whether records stayed in order: a verdict line of its own, beside the delivery guarantee.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum OrderingVerdict {
    /// No checker with the `Ordering` effect fired.
    Preserved,
    /// Some producer's records landed out of send order, or some consumer went back or
    /// skipped (`nonmonotonic-send`, `poll-skip`, `nonmonotonic-poll`, their `int-` variants).
    Violated,
}

impl OrderingVerdict {
    pub fn name(self) -> &'static str {
        match self {
            OrderingVerdict::Preserved => "preserved",
            OrderingVerdict::Violated => "violated",
        }
    }
}

impl fmt::Display for OrderingVerdict {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// The ordering verdict the violations leave: `violated` if any checker whose registry entry
/// says `Ordering` reported anything.
pub fn observed_ordering(violations: &[Violation]) -> OrderingVerdict {
    if any_with_effect(violations, GuaranteeEffect::Ordering) {
        OrderingVerdict::Violated
    } else {
        OrderingVerdict::Preserved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::Checker;

    fn finding(checker: Checker) -> Violation {
        Violation {
            checker,
            partition: None,
            offsets: Vec::new(),
            values: Vec::new(),
            time_ms: 0,
            description: String::new(),
        }
    }

    #[test]
    fn an_integrity_finding_is_never_exactly_once_or_at_least_once() {
        for checker in [Checker::InconsistentOffsets, Checker::G1a] {
            assert_eq!(
                observed_guarantee(&[finding(checker)]),
                Guarantee::AtMostOnce
            );
            assert_eq!(
                observed_guarantee(&[finding(checker), finding(Checker::Duplicate)]),
                Guarantee::None
            );
        }
    }

    #[test]
    fn ordering_findings_decide_the_ordering_verdict_and_leave_the_guarantee() {
        assert_eq!(observed_ordering(&[]), OrderingVerdict::Preserved);
        for checker in [
            Checker::NonmonotonicSend,
            Checker::PollSkip,
            Checker::NonmonotonicPoll,
            Checker::IntPollSkip,
            Checker::IntNonmonotonicPoll,
        ] {
            assert_eq!(
                observed_ordering(&[finding(checker)]),
                OrderingVerdict::Violated
            );
            assert_eq!(
                observed_guarantee(&[finding(checker)]),
                Guarantee::ExactlyOnce
            );
        }
        assert_eq!(
            observed_ordering(&[finding(Checker::Duplicate), finding(Checker::Unseen)]),
            OrderingVerdict::Preserved
        );
    }

    #[test]
    fn the_ordering_verdict_reads_back_its_two_names_and_refuses_others() {
        #[derive(Deserialize)]
        struct File {
            ordering: OrderingVerdict,
        }
        let read = |name: &str| {
            serde_json::from_str::<File>(&format!("{{\"ordering\":\"{name}\"}}"))
                .map(|file| file.ordering)
        };
        assert_eq!(read("preserved").unwrap(), OrderingVerdict::Preserved);
        assert_eq!(read("violated").unwrap(), OrderingVerdict::Violated);
        let error = read("kept").unwrap_err().to_string();
        assert!(
            error.contains("`preserved`") && error.contains("`violated`"),
            "{error}"
        );
    }
}
