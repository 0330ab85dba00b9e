use super::*;
use crate::step_record::{NemesisAction, StepInput};
use crate::teaching::report_test_support::*;
use watermark_broker_core::event::TruncationReason;

#[test]
fn a_lost_write_links_its_append_its_acknowledgement_its_truncation_and_its_finding() {
    let violation = lost_write(21, 20, 30);
    let truncated = Event::LogTruncated {
        partition: partition(),
        from_log_end_offset: Offset(21),
        to_offset: Offset(20),
        reason: TruncationReason::DivergingEpoch,
    };
    let records = vec![
        with_events(
            step(10, B1, StepInput::ApplicationStep, &[]),
            vec![appended(20, 21), appended(21, 99)],
        ),
        with_events(
            step(12, PRODUCER, StepInput::ApplicationStep, &[]),
            vec![acknowledged(21, 20)],
        ),
        with_events(
            step(20, B2, StepInput::ApplicationStep, &[]),
            vec![appended(19, 19)],
        ),
        nemesis(25, NemesisAction::Crash { node: B1 }),
        with_events(
            step(40, B1, StepInput::ApplicationStep, &[]),
            vec![truncated],
        ),
        Record::Finding {
            time_ms: 50,
            violation: violation.clone(),
        },
    ];
    let space_time = SpaceTime::build(&records, 50);
    let views = violation_views(&records, &space_time, &[], &[violation]);
    let view = &views[0];
    assert_eq!(view.checker, "lost-write");
    assert_eq!(view.step, 3, "the last step at or before t=30ms");
    let steps: Vec<usize> = view.moments.iter().map(|moment| moment.step).collect();
    assert_eq!(steps, vec![0, 1, 4, 5]);
    assert_eq!(view.moments[0].text, "b1 events-0 append e1 [20:v21]");
    assert_eq!(view.moments_left_off, 0);
    // The page marks these records in the log strips.
    assert_eq!(
        (view.offsets.clone(), view.values.clone()),
        (vec![20], vec![21])
    );
}

#[test]
fn a_violation_over_many_values_keeps_the_first_moments_and_counts_the_rest() {
    let mut violation = lost_write(0, 0, 0);
    violation.values = (0..100).collect();
    let records: Vec<Record> = (0..100)
        .map(|value| {
            with_events(
                step(value, B1, StepInput::ApplicationStep, &[]),
                vec![appended(value + 1000, value)],
            )
        })
        .collect();
    let space_time = SpaceTime::build(&records, 100);
    let views = violation_views(&records, &space_time, &[], &[violation]);
    assert_eq!(views[0].moments.len(), MOMENTS_MAX);
    assert_eq!(views[0].moments_left_off, 100 - MOMENTS_MAX);
}
