//! Why a run failed its scenario's expectation, as data: the run report prints each as a
//! sentence, and sweeps group failing seeds by [`Failure::reason`] so that a thousand seeds
//! failing for two reasons read as two lines.

use crate::checkers::Checker;
use crate::not_applied::NotApplied;
use crate::verdict::{observed_guarantee, observed_ordering, Guarantee, OrderingVerdict};
use crate::violation::Violation;
use serde::{Serialize, Serializer};
use std::fmt;
use watermark_broker_core::mark::Mark;

/// One way a run did not meet its expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The observed guarantee is weaker than the expected one.
    Guarantee {
        expected: Guarantee,
        observed: Guarantee,
    },
    /// The ordering verdict is not the expected one.
    Ordering {
        expected: OrderingVerdict,
        observed: OrderingVerdict,
    },
    /// A checker the scenario demonstrates never fired.
    MissingAnomaly(Checker),
    /// A replica or protocol invariant the scenario does not allow fired.
    Invariant(Checker),
    /// A coverage mark the scenario relies on was never reached.
    MissingMark(Mark),
    /// The run panicked (a model assertion or a bug in the simulator).
    Panic(String),
    /// A fault or trigger not marked `optional` did not apply: the run did not exercise
    /// what the scenario says it does.
    FaultNotApplied(NotApplied),
}

impl Failure {
    /// The group a sweep counts this failure under: the same for every seed that failed
    /// the same way, whatever the details (a panic's message is a detail).
    pub fn reason(&self) -> String {
        match self {
            Failure::Guarantee { expected, observed } => {
                format!("guarantee: expected {expected}, observed {observed}")
            }
            Failure::Ordering { expected, observed } => {
                format!("ordering: expected {expected}, observed {observed}")
            }
            Failure::MissingAnomaly(checker) => format!("missing anomaly {checker}"),
            Failure::Invariant(checker) => format!("invariant {checker}"),
            Failure::MissingMark(mark) => format!("missing mark {mark}"),
            Failure::Panic(_) => "panic".to_string(),
            Failure::FaultNotApplied(not_applied) => {
                format!("fault not applied: {}", not_applied.kind())
            }
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Guarantee { expected, observed } => {
                write!(formatter, "expected {expected}, observed {observed}")
            }
            Failure::Ordering { expected, observed } => write!(
                formatter,
                "expected ordering {expected}, observed ordering {observed}"
            ),
            Failure::MissingAnomaly(checker) => {
                write!(formatter, "expected anomaly {checker} was not observed")
            }
            Failure::Invariant(checker) => write!(formatter, "invariant {checker} violated"),
            Failure::MissingMark(mark) => {
                write!(formatter, "coverage mark {mark} was never reached")
            }
            Failure::Panic(message) => write!(formatter, "the run panicked: {message}"),
            Failure::FaultNotApplied(not_applied) => {
                write!(formatter, "fault not applied: {not_applied}")
            }
        }
    }
}

/// Whether `violation` on its own fails one of the run's guarantee or ordering failures
/// (`failures`): a loss under at-least-once does, a duplicate under at-least-once does not.
pub fn breaks_expectation(failures: &[Failure], violation: &Violation) -> bool {
    let alone = std::slice::from_ref(violation);
    failures.iter().any(|failure| match failure {
        Failure::Guarantee { expected, .. } => !observed_guarantee(alone).satisfies(*expected),
        Failure::Ordering { observed, .. } => {
            *observed == OrderingVerdict::Violated
                && observed_ordering(alone) == OrderingVerdict::Violated
        }
        _ => false,
    })
}

/// The checkers whose findings fail the run, each once: every invariant the expectation
/// does not allow, in the order of `failures`, then every checker with a violation that on
/// its own breaks the expected guarantee or ordering, in the order of `violations`.
pub fn failing_checkers(failures: &[Failure], violations: &[Violation]) -> Vec<Checker> {
    let mut checkers: Vec<Checker> = Vec::new();
    let invariants = failures.iter().filter_map(|failure| match failure {
        Failure::Invariant(checker) => Some(*checker),
        _ => None,
    });
    let breaking = violations
        .iter()
        .filter(|violation| breaks_expectation(failures, violation))
        .map(|violation| violation.checker);
    for checker in invariants.chain(breaking) {
        if !checkers.contains(&checker) {
            checkers.push(checker);
        }
    }
    checkers
}

/// In JSON a failure is its sentence, as before failures had a type; sweeps add the reason.
impl Serialize for Failure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reads_as_its_sentence_and_groups_by_its_reason() {
        let panic = Failure::Panic("index out of bounds".to_string());
        assert_eq!(panic.to_string(), "the run panicked: index out of bounds");
        assert_eq!(panic.reason(), "panic");
        assert_eq!(Failure::Panic("other".to_string()).reason(), panic.reason());
        let mark = Failure::MissingMark(Mark::LastKnownLeaderElected);
        assert_eq!(
            mark.reason(),
            format!("missing mark {}", Mark::LastKnownLeaderElected)
        );
        assert_eq!(
            serde_json::to_value(&mark).unwrap(),
            serde_json::json!(mark.to_string())
        );
    }

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
    fn failing_checkers_are_the_invariants_then_the_checkers_that_break_the_guarantee() {
        let failures = vec![
            Failure::Guarantee {
                expected: Guarantee::AtLeastOnce,
                observed: Guarantee::None,
            },
            Failure::Invariant(Checker::NoCommittedRecordLost),
        ];
        let violations = vec![
            finding(Checker::Duplicate),
            finding(Checker::FinalLogLoss),
            finding(Checker::NoCommittedRecordLost),
            finding(Checker::FinalLogLoss),
        ];
        assert_eq!(
            failing_checkers(&failures, &violations),
            vec![Checker::NoCommittedRecordLost, Checker::FinalLogLoss]
        );
        assert!(!breaks_expectation(&failures, &violations[0]));
        assert!(failing_checkers(&[], &violations).is_empty());
    }
}
