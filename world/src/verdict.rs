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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

/// The guarantee the violations leave standing: a finding of a checker whose registry entry
/// says `Loss` breaks at-least-once, one that says `Duplication` breaks at-most-once.
pub fn observed_guarantee(violations: &[Violation]) -> Guarantee {
    let breaks = |effect: GuaranteeEffect| {
        violations
            .iter()
            .any(|violation| violation.checker.info().effect == effect)
    };
    let lost = breaks(GuaranteeEffect::Loss);
    let duplicated = breaks(GuaranteeEffect::Duplication);
    Guarantee::from_anomalies(lost, duplicated)
}
