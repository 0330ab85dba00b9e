//! The client history as the report lists it: each operation once, from its invocation to
//! its completion (Jepsen's ok, fail or info). The history records an invocation and its
//! completion as two entries; they are paired here by what names the operation: a send by
//! its value, a transaction by its number, a group's commits in order. Polls, processed
//! records and assignments are recorded complete (`Ok` only).

use super::report_data::{OperationOutcome, OperationView};
use crate::history::{History, OpBody, OpType, Operation};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

/// Values listed in one operation's text before "…".
const VALUES_SHOWN_MAX: usize = 8;

/// What pairs an invocation with its completion.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum OperationKey {
    Send { client: u32, value: u64 },
    Commit { client: u32, group: String },
    Transaction { client: u32, number: u64 },
}

fn key(operation: &Operation) -> Option<OperationKey> {
    let client = operation.client.0;
    match &operation.body {
        OpBody::Send { value, .. } => Some(OperationKey::Send {
            client,
            value: *value,
        }),
        OpBody::Commit { group, .. } => Some(OperationKey::Commit {
            client,
            group: group.to_string(),
        }),
        OpBody::Transaction { number, .. } => Some(OperationKey::Transaction {
            client,
            number: *number,
        }),
        OpBody::Poll { .. } | OpBody::Process { .. } | OpBody::Assign { .. } => None,
    }
}

/// Every operation of the history, in the order they were invoked.
pub fn operations(history: &History) -> Vec<OperationView> {
    let mut views: Vec<OperationView> = Vec::new();
    let mut open: BTreeMap<OperationKey, VecDeque<usize>> = BTreeMap::new();
    for operation in &history.operations {
        let key = key(operation);
        if operation.op_type == OpType::Invoke {
            if let Some(key) = key {
                open.entry(key).or_default().push_back(views.len());
            }
            views.push(view(operation, None));
            continue;
        }
        let invoked = key.and_then(|key| open.get_mut(&key).and_then(VecDeque::pop_front));
        match invoked {
            Some(position) => views[position] = view(operation, Some(views[position].invoke_ms)),
            None => views.push(view(operation, Some(operation.time_ms))),
        }
    }
    views
}

/// The view of an invocation (`invoke_ms` `None`: `operation` is the invocation) or of a
/// completion invoked at `invoke_ms`.
fn view(operation: &Operation, invoke_ms: Option<u64>) -> OperationView {
    let (complete_ms, outcome) = match operation.op_type {
        OpType::Invoke => (None, OperationOutcome::Info),
        OpType::Ok => (Some(operation.time_ms), OperationOutcome::Ok),
        OpType::Fail => (Some(operation.time_ms), OperationOutcome::Fail),
        OpType::Info => (Some(operation.time_ms), OperationOutcome::Info),
    };
    let (client, kind, text, values) = describe(&operation.body);
    OperationView {
        client: format!("{client}{}", operation.client.0),
        kind: kind.to_string(),
        text,
        invoke_ms: invoke_ms.unwrap_or(operation.time_ms),
        complete_ms,
        outcome,
        values,
    }
}

/// The client's kind of node (`prod`, `cons`), the operation's kind, its text and values.
fn describe(body: &OpBody) -> (&'static str, &'static str, String, Vec<u64>) {
    match body {
        OpBody::Send {
            value,
            partition,
            offset,
            error,
        } => {
            let mut text = format!("send v{value}");
            match (partition, offset) {
                (Some(partition), Some(offset)) => {
                    let _ = write!(text, " at {partition} offset {offset}");
                }
                (Some(partition), None) => {
                    let _ = write!(text, " to {partition}");
                }
                _ => {}
            }
            if let Some(error) = error {
                let _ = write!(text, ": {error}");
            }
            ("prod", "send", text, vec![*value])
        }
        OpBody::Poll { partition, records } => {
            let values: Vec<u64> = records.iter().map(|(_, value)| *value).collect();
            let shown: Vec<String> = records
                .iter()
                .take(VALUES_SHOWN_MAX)
                .map(|(offset, value)| format!("{offset}:v{value}"))
                .collect();
            let more = if records.len() > VALUES_SHOWN_MAX {
                " …"
            } else {
                ""
            };
            let text = format!("poll {partition}: {}{more}", shown.join(" "));
            ("cons", "poll", text, values)
        }
        OpBody::Process {
            group,
            partition,
            offset,
            value,
        } => (
            "cons",
            "process",
            format!("process v{value} of {partition} offset {offset} (group {group})"),
            vec![*value],
        ),
        OpBody::Commit {
            group,
            offsets,
            automatic,
            error,
        } => {
            let positions: Vec<String> = offsets
                .iter()
                .map(|(partition, offset)| format!("{partition}@{offset}"))
                .collect();
            let mut text = format!("commit {group}: {}", positions.join(" "));
            if *automatic {
                text.push_str(" (auto)");
            }
            if let Some(error) = error {
                let _ = write!(text, ": {error}");
            }
            ("cons", "commit", text, Vec::new())
        }
        OpBody::Assign {
            group,
            generation,
            assignment,
            revoked,
            lost,
        } => {
            let names = |partitions: &[_]| -> String {
                let names: Vec<String> = partitions
                    .iter()
                    .map(|partition: &watermark_broker_core::topic::TopicPartition| {
                        partition.to_string()
                    })
                    .collect();
                names.join(" ")
            };
            let mut text = format!("assigned in {group} {generation}: [{}]", names(assignment));
            if !revoked.is_empty() {
                let verb = if *lost { "lost" } else { "revoked" };
                let _ = write!(text, ", {verb} [{}]", names(revoked));
            }
            ("cons", "assign", text, Vec::new())
        }
        OpBody::Transaction {
            transactional_id,
            number,
            sends,
            commit,
            error,
            ..
        } => {
            let values: Vec<u64> = sends.iter().map(|send| send.value).collect();
            let verb = if *commit { "commit" } else { "abort" };
            let mut text = format!(
                "transaction {number} of {transactional_id} ({verb}, {} sends)",
                values.len()
            );
            if let Some(error) = error {
                let _ = write!(text, ": {error}");
            }
            ("prod", "transaction", text, values)
        }
    }
}

#[cfg(test)]
#[path = "report_history_tests.rs"]
mod tests;
