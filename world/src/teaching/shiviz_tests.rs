use super::*;
use crate::step_record::{NemesisAction, StepInput};
use crate::teaching::report_test_support::*;

fn clock(entries: &[(&str, u64)]) -> VectorClock {
    entries
        .iter()
        .map(|(host, count)| (host.to_string(), *count))
        .collect()
}

#[test]
fn a_receive_merges_the_clock_its_sender_had_when_sending() {
    let records = vec![
        step(0, B1, StepInput::Start { incarnation: 1 }, &[]),
        step(1, PRODUCER, StepInput::Start { incarnation: 1 }, &[]),
        step(
            2,
            PRODUCER,
            StepInput::ApplicationSend { value: 1 },
            &[(5, B1, 4)],
        ),
        step(3, PRODUCER, StepInput::ApplicationStep, &[]),
        step(4, B1, receive(5, PRODUCER), &[(6, PRODUCER, 6)]),
        step(6, PRODUCER, receive(6, B1), &[]),
    ];
    let events = shiviz_events(&records);
    let clocks: Vec<VectorClock> = events.iter().map(|event| event.clock.clone()).collect();
    assert_eq!(
        clocks,
        vec![
            clock(&[("b1", 1)]),
            clock(&[("prod0", 1)]),
            clock(&[("prod0", 2)]),
            clock(&[("prod0", 3)]),
            // The send happened at prod0's second event, not its third.
            clock(&[("b1", 2), ("prod0", 2)]),
            clock(&[("b1", 2), ("prod0", 4)]),
        ]
    );
    assert_eq!(
        events[4].text,
        "t=4ms | recv m5 Produce from prod0 | send m6 Produce to prod0"
    );
}

#[test]
fn the_nemesis_is_a_host_and_drops_are_noted_on_their_send() {
    let records = vec![
        step(0, PRODUCER, StepInput::ApplicationStep, &[(5, B1, 4)]),
        nemesis(1, NemesisAction::Crash { node: B1 }),
        dropped(1, 5, PRODUCER, B1),
    ];
    let events = shiviz_events(&records);
    assert_eq!(events.len(), 2, "a drop is not an event of a host");
    assert!(
        events[0]
            .text
            .ends_with("send m5 Produce to b1 (dropped later: link-cut)"),
        "{}",
        events[0].text
    );
    assert_eq!(events[1].host, "nemesis");
    assert_eq!(events[1].clock, clock(&[("nemesis", 1)]));
}

#[test]
fn the_log_starts_with_the_parser_then_an_empty_delimiter_line() {
    let records = vec![step(0, B1, StepInput::Start { incarnation: 1 }, &[])];
    let log = shiviz_log(&records);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines[0], SHIVIZ_REGEX);
    assert_eq!(lines[1], "");
    assert_eq!(lines[2], r#"b1 {"b1":1} t=0ms | start incarnation 1"#);
    assert_eq!(lines.len(), 3);
}
