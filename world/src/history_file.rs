//! Client histories as files, for `watermark run --history-out` and `watermark
//! check-history`: Watermark's own JSON lines format, written and read here, and the import
//! of Jepsen's Kafka workload EDN history (`history_edn.rs`). An imported history is judged
//! by the same client-history checkers a simulated run uses ([`check_history_selected`]);
//! the checkers that need what a history file cannot carry (the replicas' state as the run
//! went, the liveness phase) are reported as not run, never silently skipped.
//!
//! # The JSON lines format, `watermark-history` version 1
//!
//! The first line is a header object:
//!
//! ```json
//! {"format":"watermark-history","version":1,"scenario":"NAME","seed":7,
//!  "expect":{"guarantee":"at-least-once","anomalies":[],...},"final_state":{...}}
//! ```
//!
//! - `format` and `version` are required; everything else is optional.
//! - `scenario`, `seed`: where the history came from (shown in the report).
//! - `expect`: the scenario's expectation (the same keys as a scenario file's `[expect]`),
//!   which the verdict judges against; absent, exactly-once with ordering preserved: any
//!   finding fails the check.
//! - `final_state`: what the checkers read besides the operations, as the simulator saw it
//!   at the end of the run: the final committed logs (`logs`, per partition `[offset,
//!   value]` pairs), their transaction markers (`transactions`), the `read_committed`
//!   consumers, the partitions some consumer was assigned, each group's subscription, the
//!   offset commits the coordinators accepted, and the log start offsets DeleteRecords
//!   moved. Absent (a history recorded elsewhere), the checkers that need the final logs or
//!   the coordinators' commits are not run, and the assigned partitions are taken to be
//!   every partition the history names.
//!
//! Every other line is one [`Operation`], as `serde_json` writes it: `{"index":0,
//! "time_ms":12,"client":0,"op_type":"invoke","body":{"Send":{"value":1,...}}}`, `index`
//! counting from 0 in file order. Blank lines are ignored.

use crate::checkers::{
    check_history_selected, AcceptedCommit, Checker, CheckerKind, FinalState, FinalTransactions,
    GroupReads, CLIENT_CHECKERS, GROUP_COMMIT_CHECKERS,
};
use crate::history::{History, OpBody, Operation};
use crate::scenario::Expectation;
use crate::verdict::{Guarantee, OrderingVerdict};
use crate::violation::Violation;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::{ClientId, GroupId, Offset};
use watermark_broker_core::topic::TopicPartition;

/// The format name of the JSON lines header.
pub const FORMAT: &str = "watermark-history";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

/// The first line of a JSON lines history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scenario: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expectation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_state: Option<FinalStateFile>,
}

/// [`FinalState`] in a form JSON can hold (maps keyed by partition become lists of pairs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FinalStateFile {
    pub time_ms: u64,
    pub logs: Vec<(TopicPartition, Vec<(Offset, u64)>)>,
    pub transactions: Vec<(TopicPartition, FinalTransactions)>,
    pub read_committed_consumers: BTreeSet<ClientId>,
    pub assigned_partitions: BTreeSet<TopicPartition>,
    pub groups: BTreeMap<GroupId, GroupReads>,
    pub accepted_commits: Vec<AcceptedCommit>,
    pub log_start_offsets: Vec<(TopicPartition, Offset)>,
}

impl From<&FinalState> for FinalStateFile {
    fn from(state: &FinalState) -> Self {
        FinalStateFile {
            time_ms: state.time_ms,
            logs: state
                .logs
                .iter()
                .map(|(partition, log)| (*partition, log.clone()))
                .collect(),
            transactions: state
                .transactions
                .iter()
                .map(|(partition, found)| (*partition, found.clone()))
                .collect(),
            read_committed_consumers: state.read_committed_consumers.clone(),
            assigned_partitions: state.assigned_partitions.clone(),
            groups: state.groups.clone(),
            accepted_commits: state.accepted_commits.clone(),
            log_start_offsets: state
                .log_start_offsets
                .iter()
                .map(|(partition, offset)| (*partition, *offset))
                .collect(),
        }
    }
}

impl From<FinalStateFile> for FinalState {
    fn from(file: FinalStateFile) -> Self {
        FinalState {
            logs: file.logs.into_iter().collect(),
            transactions: file.transactions.into_iter().collect(),
            read_committed_consumers: file.read_committed_consumers,
            assigned_partitions: file.assigned_partitions,
            time_ms: file.time_ms,
            groups: file.groups,
            accepted_commits: file.accepted_commits,
            log_start_offsets: file.log_start_offsets.into_iter().collect(),
        }
    }
}

/// The formats `check-history` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryFormat {
    /// Watermark's own JSON lines (this file).
    Jsonl,
    /// Jepsen's Kafka workload history (`history_edn.rs`).
    Edn,
}

impl HistoryFormat {
    pub fn name(self) -> &'static str {
        match self {
            HistoryFormat::Jsonl => "jsonl",
            HistoryFormat::Edn => "edn",
        }
    }

    /// The format a file's name or first bytes say: `.jsonl`/`.json` or a first `{"`-line
    /// naming [`FORMAT`] is JSON lines, `.edn` or a first `{:`/`[` is EDN.
    pub fn detect(path: &str, text: &str) -> Option<HistoryFormat> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".jsonl") || lower.ends_with(".json") {
            return Some(HistoryFormat::Jsonl);
        }
        if lower.ends_with(".edn") {
            return Some(HistoryFormat::Edn);
        }
        let start = text.trim_start();
        if start.starts_with("{\"") {
            Some(HistoryFormat::Jsonl)
        } else if start.starts_with("{:")
            || start.starts_with('[')
            || start.starts_with('(')
            || start.starts_with('#')
            || start.starts_with(';')
        {
            Some(HistoryFormat::Edn)
        } else {
            None
        }
    }
}

/// A history read from a file, with what the verdict needs.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedHistory {
    pub format: HistoryFormat,
    /// Where it came from, when the file says.
    pub scenario: String,
    pub seed: Option<u64>,
    /// What the verdict judges against.
    pub expect: Expectation,
    pub history: History,
    /// The final state the file carried, or one made from the history alone.
    pub final_state: FinalState,
    /// Whether the file carried the simulator's final state.
    pub has_final_state: bool,
}

/// The expectation a history without one is judged against: every finding fails it.
pub fn strictest_expectation() -> Expectation {
    Expectation {
        guarantee: Guarantee::ExactlyOnce,
        ordering: Some(OrderingVerdict::Preserved),
        ..Expectation::default()
    }
}

/// A checker that did not run on an imported history, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotRun {
    pub checker: Checker,
    pub reason: &'static str,
}

/// Why `checker` cannot run on a history (with the simulator's final state or without), or
/// `None` when it runs.
pub fn missing_evidence(checker: Checker, has_final_state: bool) -> Option<&'static str> {
    match checker.kind() {
        CheckerKind::ReplicaState => return Some("needs replica state"),
        CheckerKind::Liveness => return Some("needs the simulator's liveness phase"),
        CheckerKind::GroupCommits if !has_final_state => {
            return Some("needs the offset commits the coordinators accepted")
        }
        _ => {}
    }
    if has_final_state {
        return None;
    }
    match checker {
        Checker::FinalLogLoss
        | Checker::PipelineMissingOutput
        | Checker::PipelineDuplicateOutput
        | Checker::PipelineOutputWithoutOffsets => Some("needs the final logs"),
        Checker::Unprocessed | Checker::DuplicateProcess => {
            Some("needs each consumer group's subscription")
        }
        _ => None,
    }
}

/// Every checker that does not run on `imported`, in registry order.
pub fn not_run(has_final_state: bool) -> Vec<NotRun> {
    crate::checkers::REGISTRY
        .iter()
        .filter_map(|info| {
            missing_evidence(info.checker, has_final_state).map(|reason| NotRun {
                checker: info.checker,
                reason,
            })
        })
        .collect()
}

/// Runs every client-history and group-commit checker the imported history has the
/// evidence for, the way a simulated run's end does.
pub fn check_imported(imported: &ImportedHistory) -> Vec<Violation> {
    let has_final_state = imported.has_final_state;
    debug_assert!(CLIENT_CHECKERS
        .iter()
        .chain(&GROUP_COMMIT_CHECKERS)
        .all(|checker| checker.kind() != CheckerKind::ReplicaState));
    check_history_selected(&imported.history, &imported.final_state, |checker| {
        missing_evidence(checker, has_final_state).is_none()
    })
}

/// Writes a history as JSON lines: the header, then one operation per line.
pub fn to_jsonl(header: &Header, history: &History) -> Result<String, String> {
    let mut out = serde_json::to_string(header).map_err(|error| error.to_string())?;
    out.push('\n');
    for operation in &history.operations {
        out.push_str(&serde_json::to_string(operation).map_err(|error| error.to_string())?);
        out.push('\n');
    }
    Ok(out)
}

/// The header `watermark run --history-out` writes for a run.
pub fn header_for_run(
    scenario: &str,
    seed: u64,
    expect: &Expectation,
    final_state: &FinalState,
) -> Header {
    Header {
        format: FORMAT.to_string(),
        version: VERSION,
        scenario: scenario.to_string(),
        seed: Some(seed),
        expect: Some(expect.clone()),
        final_state: Some(FinalStateFile::from(final_state)),
    }
}

/// Every partition a history names: where its sends went, what its polls read, what its
/// consumers were assigned. The partitions a history recorded elsewhere expects read.
pub fn named_partitions(history: &History) -> BTreeSet<TopicPartition> {
    let mut partitions = BTreeSet::new();
    for operation in &history.operations {
        match &operation.body {
            OpBody::Send { partition, .. } => partitions.extend(*partition),
            OpBody::Poll { partition, .. } | OpBody::Process { partition, .. } => {
                partitions.insert(*partition);
            }
            OpBody::Commit { offsets, .. } => {
                partitions.extend(offsets.iter().map(|(partition, _)| *partition));
            }
            OpBody::Assign { assignment, .. } => partitions.extend(assignment.iter().copied()),
            OpBody::Transaction { sends, polls, .. } => {
                partitions.extend(sends.iter().filter_map(|send| send.partition));
                partitions.extend(polls.iter().map(|(partition, _)| *partition));
            }
        }
    }
    partitions
}

/// The final state of a history that carries none: nothing but the partitions it names,
/// taken as the partitions its consumers read.
pub fn final_state_from_history(history: &History) -> FinalState {
    let time_ms = history
        .operations
        .iter()
        .map(|operation| operation.time_ms)
        .max()
        .unwrap_or(0);
    FinalState {
        assigned_partitions: named_partitions(history),
        time_ms,
        ..FinalState::default()
    }
}

/// Reads a JSON lines history. Errors name the line (from 1) and what is wrong.
pub fn read_jsonl(text: &str) -> Result<ImportedHistory, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .filter(|(_, line)| !line.trim().is_empty());
    let Some((header_line, header_text)) = lines.next() else {
        return Err(format!(
            "the history is empty: a {FORMAT} file starts with a header line \
             {{\"format\":\"{FORMAT}\",\"version\":{VERSION}}}"
        ));
    };
    let header = read_header(header_line, header_text)?;
    let mut history = History::default();
    for (line_number, line) in lines {
        let operation: Operation = serde_json::from_str(line).map_err(|error| {
            format!(
                "line {line_number}: not a history operation ({error}); each line after the \
                 header is one operation {{\"index\",\"time_ms\",\"client\",\"op_type\",\"body\"}} \
                 with op_type invoke, ok, fail or info and body one of Send, Poll, Process, \
                 Commit, Assign, Transaction"
            )
        })?;
        let expected = history.operations.len();
        if operation.index != expected {
            return Err(format!(
                "line {line_number}: operation index {} where {expected} was expected \
                 (operations are numbered from 0 in file order)",
                operation.index
            ));
        }
        history.operations.push(operation);
    }
    let has_final_state = header.final_state.is_some();
    let final_state = match header.final_state {
        Some(file) => FinalState::from(file),
        None => final_state_from_history(&history),
    };
    Ok(ImportedHistory {
        format: HistoryFormat::Jsonl,
        scenario: header.scenario,
        seed: header.seed,
        expect: header.expect.unwrap_or_else(strictest_expectation),
        history,
        final_state,
        has_final_state,
    })
}

fn read_header(line_number: usize, text: &str) -> Result<Header, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|error| {
        format!(
            "line {line_number}: the header is not JSON ({error}); a {FORMAT} file starts with \
             {{\"format\":\"{FORMAT}\",\"version\":{VERSION}}}"
        )
    })?;
    match value.get("format").and_then(serde_json::Value::as_str) {
        Some(FORMAT) => {}
        other => {
            return Err(format!(
                "line {line_number}: the header's format is {}, not \"{FORMAT}\" (a {FORMAT} \
                 file starts with {{\"format\":\"{FORMAT}\",\"version\":{VERSION}}})",
                other.map_or("missing".to_string(), |name| format!("\"{name}\""))
            ))
        }
    }
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(version) if version == u64::from(VERSION) => {}
        other => {
            return Err(format!(
                "line {line_number}: {FORMAT} version {} is not supported (this build reads \
                 version {VERSION})",
                other.map_or("missing".to_string(), |version| version.to_string())
            ))
        }
    }
    serde_json::from_value(value)
        .map_err(|error| format!("line {line_number}: bad header: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::OpType;
    use watermark_broker_core::ids::PartitionId;
    use watermark_broker_core::topic::TopicName;

    fn p(partition: u32) -> TopicPartition {
        TopicPartition::new(TopicName::from_static("events"), PartitionId(partition))
    }

    fn sample() -> History {
        let mut history = History::default();
        let send = |offset| OpBody::Send {
            value: 7,
            partition: Some(p(0)),
            offset,
            error: None,
        };
        history.push(1, ClientId(0), OpType::Invoke, send(None));
        history.push(5, ClientId(0), OpType::Ok, send(Some(Offset(0))));
        history.push(
            9,
            ClientId(1),
            OpType::Ok,
            OpBody::Poll {
                partition: p(0),
                records: vec![(Offset(0), 7)],
            },
        );
        history
    }

    #[test]
    fn a_written_history_reads_back_the_same() {
        let mut final_state = final_state_from_history(&sample());
        final_state.logs.insert(p(0), vec![(Offset(0), 7)]);
        let header = header_for_run("s", 3, &Expectation::default(), &final_state);
        let text = to_jsonl(&header, &sample()).unwrap();
        assert!(text.starts_with("{\"format\":\"watermark-history\",\"version\":1,"));
        let imported = read_jsonl(&text).unwrap();
        assert_eq!(imported.history, sample());
        assert_eq!(imported.final_state, final_state);
        assert_eq!(imported.seed, Some(3));
        assert!(imported.has_final_state);
    }

    #[test]
    fn bad_lines_are_refused_with_their_line_number() {
        let header = format!("{{\"format\":\"{FORMAT}\",\"version\":1}}\n");
        let error = read_jsonl(&format!("{header}{{\"index\":0,\"time_")).unwrap_err();
        assert!(
            error.starts_with("line 2: not a history operation"),
            "{error}"
        );
        let error = read_jsonl("{\"format\":\"other\",\"version\":1}").unwrap_err();
        assert!(error.contains("not \"watermark-history\""), "{error}");
        let error = read_jsonl(&format!("{{\"format\":\"{FORMAT}\",\"version\":9}}")).unwrap_err();
        assert!(error.contains("version 9 is not supported"), "{error}");
        let error = read_jsonl("").unwrap_err();
        assert!(error.contains("empty"), "{error}");
    }

    #[test]
    fn replica_checkers_never_run_on_a_file_and_final_log_ones_need_the_final_state() {
        assert_eq!(
            missing_evidence(Checker::StrongIsr, true),
            Some("needs replica state")
        );
        assert_eq!(missing_evidence(Checker::FinalLogLoss, true), None);
        assert_eq!(
            missing_evidence(Checker::FinalLogLoss, false),
            Some("needs the final logs")
        );
        assert_eq!(missing_evidence(Checker::LostWrite, false), None);
        let skipped = not_run(false);
        assert!(skipped
            .iter()
            .any(|entry| entry.checker == Checker::CommittedOffsetBackwards));
    }

    #[test]
    fn formats_are_told_by_extension_then_content() {
        assert_eq!(
            HistoryFormat::detect("h.jsonl", ""),
            Some(HistoryFormat::Jsonl)
        );
        assert_eq!(HistoryFormat::detect("h.edn", ""), Some(HistoryFormat::Edn));
        assert_eq!(
            HistoryFormat::detect("h", "{:type :invoke}"),
            Some(HistoryFormat::Edn)
        );
        assert_eq!(
            HistoryFormat::detect("h", "{\"format\":1}"),
            Some(HistoryFormat::Jsonl)
        );
        assert_eq!(HistoryFormat::detect("h", "garbage"), None);
    }
}
