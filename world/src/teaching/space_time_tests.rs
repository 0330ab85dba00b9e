use super::*;
use crate::teaching::report_data::MessageOutcome;
use crate::teaching::report_test_support::*;

#[test]
fn a_message_runs_from_its_send_to_its_delivery() {
    let records = vec![
        step(
            10,
            PRODUCER,
            StepInput::ApplicationSend { value: 1 },
            &[(7, B1, 13)],
        ),
        step(13, B1, receive(7, PRODUCER), &[]),
    ];
    let space_time = SpaceTime::build(&records, 20);
    assert_eq!(space_time.lanes, vec!["b1", "prod0"]);
    let message = &space_time.messages[0];
    assert_eq!((message.from_lane, message.to_lane), (1, 0));
    assert_eq!((message.send_ms, message.send_step), (10, 0));
    assert_eq!((message.end_ms, message.end_step), (Some(13), Some(1)));
    assert_eq!(message.outcome, MessageOutcome::Delivered);
    assert_eq!(
        space_time.steps[1].text,
        "b1 receives m7 Produce from prod0"
    );
}

#[test]
fn a_message_dropped_in_flight_ends_at_its_drop_and_one_never_ended_stays_in_flight() {
    let records = vec![
        step(
            10,
            PRODUCER,
            StepInput::ApplicationStep,
            &[(7, B1, 13), (8, B2, 14)],
        ),
        dropped(12, 7, PRODUCER, B1),
    ];
    let space_time = SpaceTime::build(&records, 20);
    assert_eq!(space_time.messages[0].outcome, MessageOutcome::Dropped);
    assert_eq!(space_time.messages[0].end_step, Some(1));
    assert_eq!(space_time.messages[1].outcome, MessageOutcome::InFlight);
    assert_eq!(space_time.messages[1].end_ms, None);
    assert_eq!(space_time.steps[1].text, "m7 prod0→b1 dropped: link-cut");
}

#[test]
fn a_crash_is_shaded_until_the_restart_and_a_cut_until_the_heal() {
    let records = vec![
        step(0, B1, StepInput::Start { incarnation: 1 }, &[]),
        nemesis(100, NemesisAction::Crash { node: B1 }),
        nemesis(
            150,
            NemesisAction::CutOneWay {
                from: vec![PRODUCER],
                to: vec![B2],
            },
        ),
        nemesis(200, NemesisAction::Restart { node: B1 }),
        nemesis(300, NemesisAction::HealAll),
    ];
    let space_time = SpaceTime::build(&records, 1000);
    let spans: Vec<(String, u64, u64)> = space_time
        .faults
        .iter()
        .map(|fault| {
            (
                space_time.lanes[fault.lane].clone(),
                fault.start_ms,
                fault.end_ms,
            )
        })
        .collect();
    assert_eq!(
        spans,
        vec![
            ("b1".to_string(), 100, 200),
            ("b2".to_string(), 150, 300),
            ("prod0".to_string(), 150, 300),
        ]
    );
    assert_eq!(space_time.markers.len(), 2, "the restart and the heal");
    assert_eq!(space_time.markers[1].lane, None);
}

#[test]
fn a_fault_never_ended_lasts_until_the_end_of_the_run() {
    let records = vec![nemesis(100, NemesisAction::Pause { node: B2 })];
    let space_time = SpaceTime::build(&records, 1000);
    assert_eq!(space_time.faults[0].end_ms, 1000);
}

#[test]
fn step_at_finds_the_last_step_at_or_before_a_time() {
    let records = vec![
        step(0, B1, StepInput::Start { incarnation: 1 }, &[]),
        step(10, B1, StepInput::ApplicationStep, &[]),
        step(10, B2, StepInput::ApplicationStep, &[]),
        step(20, B1, StepInput::ApplicationStep, &[]),
    ];
    let space_time = SpaceTime::build(&records, 30);
    assert_eq!(space_time.step_at(0), 0);
    assert_eq!(space_time.step_at(15), 2);
    assert_eq!(space_time.step_at(25), 3);
}
