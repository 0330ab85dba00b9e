use super::*;
use crate::history::{OpBody, OpType};
use crate::step_record::StepInput;
use crate::teaching::report_test_support::*;
use watermark_broker_core::ids::ClientId;

fn header() -> RunHeader {
    RunHeader {
        scenario: "lost</script><script>alert(1)".to_string(),
        summary: "a & b > c".to_string(),
        seed: 7,
        passed: true,
        verdict: "PASS: observed at-most-once (expected at-most-once)".to_string(),
        trace_hash: "0123456789abcdef".to_string(),
        replay: "watermark run x --seed 7".to_string(),
    }
}

fn small_run() -> ReportData {
    let records = vec![
        step(
            10,
            PRODUCER,
            StepInput::ApplicationSend { value: 21 },
            &[(1, B1, 12)],
        ),
        with_events(
            step(12, B1, receive(1, PRODUCER), &[]),
            vec![appended(20, 21)],
        ),
        with_events(
            step(14, PRODUCER, StepInput::ApplicationStep, &[]),
            vec![acknowledged(21, 20)],
        ),
    ];
    let mut history = History::default();
    history.push(
        10,
        ClientId(0),
        OpType::Invoke,
        OpBody::Send {
            value: 21,
            partition: None,
            offset: None,
            error: None,
        },
    );
    history.push(
        14,
        ClientId(0),
        OpType::Ok,
        OpBody::Send {
            value: 21,
            partition: Some(partition()),
            offset: Some(watermark_broker_core::ids::Offset(20)),
            error: None,
        },
    );
    ReportData::build(header(), 20, &records, &history, &[lost_write(21, 20, 14)])
}

#[test]
fn the_report_gathers_lanes_steps_messages_operations_and_violations() {
    let data = small_run();
    assert_eq!(data.lanes, vec!["b1", "prod0"]);
    assert_eq!(data.steps.len(), 3);
    assert_eq!(data.messages.len(), 1);
    assert_eq!(data.operations.len(), 1);
    assert_eq!(data.operations[0].outcome, OperationOutcome::Ok);
    assert_eq!(data.violations[0].operations, vec![0]);
    assert_eq!(data.violations[0].step, 2);
}

#[test]
fn the_embedded_json_has_no_markup_and_reads_back_the_same() {
    let data = small_run();
    let json = data.to_embedded_json();
    assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'));
    let read_back: ReportData = serde_json::from_str(&json).expect("the embedded JSON parses");
    assert_eq!(read_back, data);
}
