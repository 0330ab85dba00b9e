//! Each violation with the moment it happened and the steps it concerns: the steps whose
//! events touch its values (appended, acknowledged, polled) or its offsets on its partition
//! (appended, answered, committed by the high watermark, truncated), and the checker's
//! finding itself. The page turns each into a link that moves the step control there, and
//! marks the records it names (its offsets on its partition, its values anywhere) in the
//! replicas' log strips.

use super::report_data::{MomentView, OperationView, ViolationView};
use super::space_time::SpaceTime;
use crate::step_record::Record;
use crate::trace::describe_event;
use crate::violation::Violation;
use std::collections::BTreeSet;
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::Offset;
use watermark_broker_core::topic::TopicPartition;

/// Links kept per violation: a lost write's story fits well within it (appended, answered,
/// acknowledged, truncated, found), and a violation over many values stays readable.
pub const MOMENTS_MAX: usize = 24;
/// Operations linked per violation, for the same reason.
pub const OPERATIONS_MAX: usize = 24;

/// What a violation is about.
struct Concern<'a> {
    partition: Option<TopicPartition>,
    offsets: BTreeSet<Offset>,
    values: BTreeSet<u64>,
    violation: &'a Violation,
}

pub fn violation_views(
    records: &[Record],
    space_time: &SpaceTime,
    operations: &[OperationView],
    violations: &[Violation],
) -> Vec<ViolationView> {
    violations
        .iter()
        .map(|violation| {
            let concern = Concern {
                partition: violation.partition,
                offsets: violation.offsets.iter().copied().collect(),
                values: violation.values.iter().copied().collect(),
                violation,
            };
            let moments = moments(records, space_time, &concern);
            let moments_left_off = moments.len().saturating_sub(MOMENTS_MAX);
            ViolationView {
                checker: violation.checker.to_string(),
                partition: violation.partition.map(|partition| partition.to_string()),
                time_ms: violation.time_ms,
                description: violation.description.clone(),
                step: space_time.step_at(violation.time_ms),
                moments: moments.into_iter().take(MOMENTS_MAX).collect(),
                moments_left_off,
                operations: operations
                    .iter()
                    .enumerate()
                    .filter(|(_, operation)| {
                        operation
                            .values
                            .iter()
                            .any(|value| concern.values.contains(value))
                    })
                    .map(|(index, _)| index)
                    .take(OPERATIONS_MAX)
                    .collect(),
                offsets: concern.offsets.iter().map(|offset| offset.0).collect(),
                values: concern.values.iter().copied().collect(),
            }
        })
        .collect()
}

/// Every step the violation concerns, in order.
fn moments(records: &[Record], space_time: &SpaceTime, concern: &Concern<'_>) -> Vec<MomentView> {
    let mut moments = Vec::new();
    for (index, record) in records.iter().enumerate() {
        match record {
            Record::Step(step) => {
                for event in step.events.iter().filter(|event| concern.touches(event)) {
                    let mut text = format!("{} ", step.node);
                    describe_event(&mut text, event);
                    moments.push(MomentView {
                        step: index,
                        time_ms: step.time_ms,
                        text,
                    });
                }
            }
            Record::Finding { time_ms, violation } if violation == concern.violation => {
                moments.push(MomentView {
                    step: index,
                    time_ms: *time_ms,
                    text: space_time.steps[index].text.clone(),
                });
            }
            _ => {}
        }
    }
    moments
}

impl Concern<'_> {
    fn on_partition(&self, partition: &TopicPartition) -> bool {
        self.partition.is_some_and(|own| own == *partition)
    }

    fn has_offset_in(&self, from: Offset, to_inclusive: Offset) -> bool {
        self.offsets.range(from..=to_inclusive).next().is_some()
    }

    /// Whether an event touches the violation's values, or its offsets on its partition.
    fn touches(&self, event: &Event) -> bool {
        match event {
            Event::RecordsAppended {
                partition, records, ..
            } => records.iter().any(|record| {
                self.values.contains(&record.value)
                    || (self.on_partition(partition) && self.offsets.contains(&record.offset))
            }),
            Event::SendCompleted { value, .. } => self.values.contains(value),
            Event::Polled { partition, records } => records.iter().any(|(offset, value)| {
                self.values.contains(value)
                    || (self.on_partition(partition) && self.offsets.contains(offset))
            }),
            Event::ProduceAnswered {
                partition,
                base_offset: Some(base_offset),
                last_offset: Some(last_offset),
                ..
            } => self.on_partition(partition) && self.has_offset_in(*base_offset, *last_offset),
            Event::LogTruncated {
                partition,
                from_log_end_offset,
                to_offset,
                ..
            } => {
                self.on_partition(partition)
                    && *from_log_end_offset > *to_offset
                    && self.has_offset_in(*to_offset, Offset(from_log_end_offset.0 - 1))
            }
            Event::HighWatermarkUpdated {
                partition,
                from,
                to,
            } => {
                self.on_partition(partition)
                    && *to > *from
                    && self.has_offset_in(*from, Offset(to.0 - 1))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
#[path = "report_violations_tests.rs"]
mod tests;
