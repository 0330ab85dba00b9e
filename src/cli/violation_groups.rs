//! Violations as the text report shows them: one line per checker and partition, its
//! offsets folded into ranges (`lost-write test-0 offsets 20..81 (62 values)`), so a run
//! that lost a thousand records reads in one line. `--json` keeps every violation.

use crate::cli::output::plural;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use watermark_sim::checkers::Checker;
use watermark_sim::violation::Violation;

/// The violations of one checker on one partition (or on none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViolationGroup {
    pub checker: Checker,
    /// `None`: about no single partition (liveness, a replica comparison).
    pub partition: Option<String>,
    pub violations: usize,
    pub offsets: BTreeSet<u64>,
    pub values: BTreeSet<u64>,
    /// When the first of them happened or was detected.
    pub first_time_ms: u64,
    /// The first one's sentence.
    pub first_description: String,
}

/// Groups violations by (checker, partition), in the order their first violation appears.
pub fn group_violations(violations: &[Violation]) -> Vec<ViolationGroup> {
    let mut order: Vec<(Checker, Option<String>)> = Vec::new();
    let mut groups: BTreeMap<(Checker, Option<String>), ViolationGroup> = BTreeMap::new();
    for violation in violations {
        let partition = violation.partition.map(|partition| partition.to_string());
        let key = (violation.checker, partition.clone());
        let group = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            ViolationGroup {
                checker: violation.checker,
                partition,
                violations: 0,
                offsets: BTreeSet::new(),
                values: BTreeSet::new(),
                first_time_ms: violation.time_ms,
                first_description: violation.description.clone(),
            }
        });
        group.violations += 1;
        group
            .offsets
            .extend(violation.offsets.iter().map(|offset| offset.0));
        group.values.extend(violation.values.iter().copied());
        if violation.time_ms < group.first_time_ms {
            group.first_time_ms = violation.time_ms;
            group.first_description = violation.description.clone();
        }
    }
    order
        .into_iter()
        .filter_map(|key| groups.remove(&key))
        .collect()
}

/// Consecutive numbers folded into inclusive ranges: `3, 20..81, 90`.
pub fn ranges(numbers: &BTreeSet<u64>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut numbers = numbers.iter().copied().peekable();
    while let Some(start) = numbers.next() {
        let mut end = start;
        while numbers.peek() == Some(&(end + 1)) {
            end += 1;
            numbers.next();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}..{end}")
        });
    }
    parts.join(", ")
}

/// `test-0 offsets 20..81 (62 values)`, then how many violations and the first one's
/// sentence; the checker is the line's label.
impl fmt::Display for ViolationGroup {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.partition.as_deref().unwrap_or("-"))?;
        if !self.offsets.is_empty() {
            write!(formatter, " offsets {}", ranges(&self.offsets))?;
        }
        if self.values.is_empty() {
            write!(
                formatter,
                " ({})",
                plural(self.violations as u64, "violation")
            )?;
        } else {
            write!(
                formatter,
                " ({}, {})",
                plural(self.values.len() as u64, "value"),
                plural(self.violations as u64, "violation")
            )?;
            if self.offsets.is_empty() {
                write!(formatter, " values {}", ranges(&self.values))?;
            }
        }
        write!(
            formatter,
            "; first at t={}: {}",
            crate::cli::output::seconds(self.first_time_ms),
            self.first_description
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watermark_broker_core::ids::Offset;
    use watermark_broker_core::topic::TopicPartition;

    fn lost(offset: u64, value: u64) -> Violation {
        Violation {
            checker: "lost-write".parse().expect("a checker"),
            partition: Some(TopicPartition::of_default_topic(0)),
            offsets: vec![Offset(offset)],
            values: vec![value],
            time_ms: 4_000 + offset,
            description: format!("value {value} at offset {offset} was lost"),
        }
    }

    #[test]
    fn consecutive_numbers_fold_into_inclusive_ranges() {
        let numbers: BTreeSet<u64> = [3, 20, 21, 22, 90, 91].into_iter().collect();
        assert_eq!(ranges(&numbers), "3, 20..22, 90..91");
        assert_eq!(ranges(&BTreeSet::new()), "");
    }

    #[test]
    fn violations_of_one_checker_on_one_partition_read_as_one_line() {
        let violations: Vec<Violation> =
            (20..=81).map(|offset| lost(offset, offset + 100)).collect();
        let groups = group_violations(&violations);
        assert_eq!(groups.len(), 1);
        let partition = TopicPartition::of_default_topic(0);
        assert_eq!(
            groups[0].to_string(),
            format!(
                "{partition} offsets 20..81 (62 values, 62 violations); first at t=4.020 s: \
                 value 120 at offset 20 was lost"
            )
        );
    }

    #[test]
    fn each_checker_and_partition_is_its_own_group_in_first_seen_order() {
        let mut other = lost(5, 7);
        other.checker = "duplicate".parse().expect("a checker");
        other.partition = None;
        other.offsets.clear();
        let groups = group_violations(&[lost(1, 1), other, lost(2, 2)]);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].violations, 2);
        assert_eq!(groups[1].partition, None);
        assert!(
            groups[1]
                .to_string()
                .starts_with("- (1 value, 1 violation) values 7;"),
            "{}",
            groups[1]
        );
    }
}
