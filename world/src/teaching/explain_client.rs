//! Client steps in words: what a producer or consumer was fed (an application send, a
//! response, a timer, a closed connection), what it learned (acknowledgements, failures,
//! polls, commits) and what it sent (produce requests, retries, metadata refreshes), all
//! read from the step record, so a producer that is silent for 30 s in the trace shows
//! every timeout, reconnect and retry here.

use crate::step_record::{StepInput, StepRecord};
use crate::trace::describe_event;
use std::collections::BTreeMap;
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::NodeId;

/// The sentences of a client's step; empty for brokers and the controller.
pub fn client_sentences(step: &StepRecord) -> Vec<String> {
    if matches!(step.node, NodeId::Broker(_) | NodeId::Controller) {
        return Vec::new();
    }
    let mut parts = vec![input_words(&step.input)];
    parts.extend(step.events.iter().map(event_words));
    parts.extend(sent_words(step));
    for peer in &step.connects {
        parts.push(format!("connects to {peer}"));
    }
    for peer in &step.closed {
        parts.push(format!("closes its connection to {peer}"));
    }
    if !step.marks.is_empty() {
        let marks: Vec<String> = step.marks.iter().map(ToString::to_string).collect();
        parts.push(format!("marks {}", marks.join(", ")));
    }
    vec![format!("{}: {}", step.node, parts.join("; "))]
}

fn input_words(input: &StepInput) -> String {
    match input {
        StepInput::Start { incarnation } => format!("starts (incarnation {incarnation})"),
        StepInput::Message { from, kind, .. } => format!("{kind} from {from}"),
        StepInput::Timers { fired } => {
            let names: Vec<String> = fired.iter().map(ToString::to_string).collect();
            format!("timer {} fired", names.join(", "))
        }
        StepInput::ApplicationSend { value } => format!("the application sends v{value}"),
        StepInput::ApplicationStep => "the application steps".to_string(),
        StepInput::ConnectionClosed { peer, .. } => format!("its connection to {peer} closed"),
        StepInput::ConnectionEstablished { peer, .. } => format!("connected to {peer}"),
        StepInput::ControlledShutdown => "asked to shut down".to_string(),
        StepInput::DeleteRecords => "handed a DeleteRecords".to_string(),
    }
}

fn event_words(event: &Event) -> String {
    match event {
        Event::SendCompleted {
            value,
            partition,
            result,
        } => match result {
            Ok(Some(offset)) => format!("v{value} acknowledged at {partition} offset {offset}"),
            Ok(None) => format!("v{value} sent with acks=0: never acknowledged"),
            Err(failure) if failure.definite => format!(
                "v{value} failed with {}: definitely not written",
                failure.error
            ),
            Err(failure) => format!(
                "v{value} failed with {}: indefinite, it may have been written",
                failure.error
            ),
        },
        other => {
            let mut out = String::new();
            describe_event(&mut out, other);
            out
        }
    }
}

/// `sends Produce to b2`, `sends Fetch ×2 to b1`, with drops said.
fn sent_words(step: &StepRecord) -> Vec<String> {
    let mut grouped: BTreeMap<(NodeId, &str), (u64, u64)> = BTreeMap::new();
    for sent in &step.sent {
        let entry = grouped.entry((sent.to, sent.kind)).or_default();
        entry.0 += 1;
        if matches!(
            sent.outcome,
            crate::step_record::SendOutcome::Dropped { .. }
        ) {
            entry.1 += 1;
        }
    }
    grouped
        .into_iter()
        .map(|((to, kind), (count, dropped))| {
            let times = if count > 1 {
                format!(" ×{count}")
            } else {
                String::new()
            };
            let lost = if dropped > 0 {
                format!(" ({dropped} dropped at once)")
            } else {
                String::new()
            };
            format!("sends {kind}{times} to {to}{lost}")
        })
        .collect()
}
