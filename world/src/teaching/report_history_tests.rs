use super::*;
use crate::history::{History, OpBody, OpType};
use crate::teaching::report_test_support::partition;
use watermark_broker_core::ids::{ClientId, GroupId, Offset};

fn send(value: u64, offset: Option<u64>) -> OpBody {
    OpBody::Send {
        value,
        partition: offset.map(|_| partition()),
        offset: offset.map(Offset),
        error: None,
    }
}

#[test]
fn a_send_is_paired_with_its_completion_by_value() {
    let mut history = History::default();
    history.push(10, ClientId(0), OpType::Invoke, send(1, None));
    history.push(11, ClientId(0), OpType::Invoke, send(2, None));
    history.push(20, ClientId(0), OpType::Ok, send(2, Some(0)));
    history.push(25, ClientId(0), OpType::Fail, send(1, None));
    let views = operations(&history);
    assert_eq!(views.len(), 2);
    assert_eq!(views[0].text, "send v1");
    assert_eq!(
        (views[0].invoke_ms, views[0].complete_ms, views[0].outcome),
        (10, Some(25), OperationOutcome::Fail)
    );
    assert_eq!(views[1].text, "send v2 at events-0 offset 0");
    assert_eq!(
        (views[1].invoke_ms, views[1].complete_ms, views[1].outcome),
        (11, Some(20), OperationOutcome::Ok)
    );
    assert_eq!(views[1].client, "prod0");
}

#[test]
fn an_invocation_never_completed_is_indefinite() {
    let mut history = History::default();
    history.push(10, ClientId(0), OpType::Invoke, send(1, None));
    let views = operations(&history);
    assert_eq!(views[0].complete_ms, None);
    assert_eq!(views[0].outcome, OperationOutcome::Info);
}

#[test]
fn a_groups_commits_pair_in_order_and_a_poll_is_complete_at_once() {
    let commit = |offset: u64| OpBody::Commit {
        group: GroupId("g".to_string()),
        offsets: vec![(partition(), Offset(offset))],
        automatic: false,
        error: None,
    };
    let mut history = History::default();
    history.push(5, ClientId(1), OpType::Invoke, commit(3));
    history.push(6, ClientId(1), OpType::Invoke, commit(4));
    history.push(
        7,
        ClientId(1),
        OpType::Ok,
        OpBody::Poll {
            partition: partition(),
            records: vec![(Offset(4), 5)],
        },
    );
    history.push(8, ClientId(1), OpType::Info, commit(3));
    history.push(9, ClientId(1), OpType::Ok, commit(4));
    let views = operations(&history);
    let summary: Vec<(&str, u64, Option<u64>, OperationOutcome)> = views
        .iter()
        .map(|view| {
            (
                view.kind.as_str(),
                view.invoke_ms,
                view.complete_ms,
                view.outcome,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("commit", 5, Some(8), OperationOutcome::Info),
            ("commit", 6, Some(9), OperationOutcome::Ok),
            ("poll", 7, Some(7), OperationOutcome::Ok),
        ]
    );
    assert_eq!(views[2].text, "poll events-0: 4:v5");
    assert_eq!(views[2].values, vec![5]);
    assert_eq!(views[0].client, "cons1");
}
