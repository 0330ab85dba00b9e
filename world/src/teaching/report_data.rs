//! The data of `watermark report`: one JSON object embedded in the HTML page, which the
//! page's script draws and steps through. Everything in it is derived from one run's step
//! records, client history and violations; the page computes nothing the records do not
//! say. A *step* is one entry of the run's record ([`Record`]): the page's step control moves
//! over them, and every view shows the run as it stood after that step.
//!
//! The per-replica log strips and the ISR and leader timeline are drawn from `replicas`, the
//! replica state `explain` replays, recorded compactly ([`ReplicaViews`]).

use super::report_history::operations;
use super::report_replicas::ReplicaViews;
use super::report_violations::violation_views;
use super::space_time::SpaceTime;
use crate::history::History;
use crate::step_record::Record;
use crate::violation::Violation;
use serde::{Deserialize, Serialize};

/// What the page's header says about the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunHeader {
    pub scenario: String,
    pub summary: String,
    pub seed: u64,
    pub passed: bool,
    /// The verdict as `watermark run` prints it: PASS or FAIL, and why.
    pub verdict: String,
    pub trace_hash: String,
    /// The command that replays the run.
    pub replay: String,
}

/// One entry of the run's record, as the step control shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepView {
    pub time_ms: u64,
    /// The lane of the node that took the step, the sender of a dropped message or the node
    /// a fault hit; `None` for what belongs to no node (a heal, a checker's finding).
    pub lane: Option<usize>,
    pub kind: StepKind,
    /// One line: what the node was fed, or what happened.
    pub text: String,
    /// The messages sent, events and marks of a node's step, one line each.
    pub details: Vec<String>,
}

/// Which kind of record a step is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    Step,
    Dropped,
    Nemesis,
    Finding,
}

/// One message, from its send to its delivery or its drop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: u64,
    pub kind: String,
    pub from_lane: usize,
    pub to_lane: usize,
    pub send_ms: u64,
    /// The step that sent it.
    pub send_step: usize,
    /// When and in which step it arrived or was dropped; `None`: still in flight at the end.
    pub end_ms: Option<u64>,
    pub end_step: Option<usize>,
    pub outcome: MessageOutcome,
}

/// Where a message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageOutcome {
    Delivered,
    Dropped,
    /// Neither delivered nor dropped when the run ended.
    InFlight,
}

/// A fault shaded on one lane from when the nemesis applied it until it ended (a restart,
/// a resume, a heal, or the end of the run).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultView {
    pub lane: usize,
    pub start_ms: u64,
    pub end_ms: u64,
    /// The step that applied it.
    pub start_step: usize,
    pub label: String,
}

/// A moment the page marks with a line: a heal, the liveness phase, a trigger that fired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkerView {
    pub time_ms: u64,
    pub step: usize,
    /// The lane it concerns (a trigger's source, a DeleteRecords' leader); `None`: all.
    pub lane: Option<usize>,
    pub label: String,
}

/// Jepsen's completions: ok, a definite failure, or indefinite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OperationOutcome {
    Ok,
    /// Certainly did not take effect.
    Fail,
    /// May or may not have taken effect (including an operation never completed).
    Info,
}

/// One client operation, from its invocation to its completion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationView {
    pub client: String,
    /// `send`, `poll`, `process`, `commit`, `assign` or `transaction`.
    pub kind: String,
    pub text: String,
    pub invoke_ms: u64,
    /// `None`: invoked, never completed (counted as indefinite).
    pub complete_ms: Option<u64>,
    pub outcome: OperationOutcome,
    /// The values it wrote or read, for linking violations to it.
    pub values: Vec<u64>,
}

/// A step a violation concerns, as a link the page can follow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MomentView {
    pub step: usize,
    pub time_ms: u64,
    pub text: String,
}

/// One violation, with the moment it happened and the records it concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationView {
    pub checker: String,
    pub partition: Option<String>,
    pub time_ms: u64,
    pub description: String,
    /// The last step at or before `time_ms`: where clicking the violation moves the page.
    pub step: usize,
    /// The steps whose events touch the violation's values or offsets, in order, at most
    /// [`super::report_violations::MOMENTS_MAX`].
    pub moments: Vec<MomentView>,
    /// How many more such steps there were.
    pub moments_left_off: usize,
    /// Indexes into [`ReportData::operations`] of the operations on its values.
    pub operations: Vec<usize>,
    /// The offsets it names on its partition, and the values it names anywhere: the records
    /// the page marks in the replicas' log strips.
    pub offsets: Vec<u64>,
    pub values: Vec<u64>,
}

/// Everything the page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportData {
    pub header: RunHeader,
    pub sim_time_ms: u64,
    /// Node names, one lane each, in the order drawn.
    pub lanes: Vec<String>,
    pub steps: Vec<StepView>,
    pub messages: Vec<MessageView>,
    pub faults: Vec<FaultView>,
    pub markers: Vec<MarkerView>,
    pub operations: Vec<OperationView>,
    pub violations: Vec<ViolationView>,
    pub replicas: ReplicaViews,
}

impl ReportData {
    /// Builds the page's data from one run kept with `keep_records`.
    pub fn build(
        header: RunHeader,
        sim_time_ms: u64,
        records: &[Record],
        history: &History,
        violations: &[Violation],
    ) -> ReportData {
        let space_time = SpaceTime::build(records, sim_time_ms);
        let operations = operations(history);
        let violations = violation_views(records, &space_time, &operations, violations);
        ReportData {
            header,
            sim_time_ms,
            lanes: space_time.lanes,
            steps: space_time.steps,
            messages: space_time.messages,
            faults: space_time.faults,
            markers: space_time.markers,
            operations,
            violations,
            replicas: ReplicaViews::build(records),
        }
    }

    /// The JSON text to embed in a `<script type="application/json">` element. JSON has no
    /// `<`, `>` or `&` outside strings, and inside strings `\u003c` means the same, so
    /// escaping them keeps a description like `</script>` from ending the element early.
    pub fn to_embedded_json(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_else(|error| {
            // Every field is a plain string, number, list or enum: encoding cannot fail.
            panic!("report data is always encodable as JSON: {error}")
        });
        json.replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
    }
}

#[cfg(test)]
#[path = "report_data_tests.rs"]
mod tests;
