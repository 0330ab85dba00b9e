//! A checker's finding: which property broke, where, and when.

use crate::checkers::Checker;
use serde::Serialize;
use std::fmt;
use watermark_broker_core::ids::Offset;
use watermark_broker_core::topic::TopicPartition;

/// One anomaly or invariant violation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The checker, printed as its source names it, e.g. `lost-write` or `LogMatching`
    /// (names from Jepsen and Kafka's KRaft simulation test, so results compare with theirs).
    pub checker: Checker,
    pub partition: Option<TopicPartition>,
    pub offsets: Vec<Offset>,
    pub values: Vec<u64>,
    /// When the violation happened or was detected, in simulated milliseconds.
    pub time_ms: u64,
    /// One sentence a person can read.
    pub description: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} at t={}ms", self.checker, self.time_ms)?;
        if let Some(partition) = self.partition {
            write!(formatter, " {partition}")?;
        }
        write!(formatter, ": {}", self.description)
    }
}
