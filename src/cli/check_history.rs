//! `watermark check-history FILE`: the client-history checkers on a history recorded
//! elsewhere — Watermark's own JSON lines (`run --history-out`) or a Jepsen Kafka workload
//! `history.edn` — with the verdict and violations printed as `watermark run` prints them
//! (the same [`verdict_lines`], the same `judge`). The checkers that need what a file
//! cannot carry are listed as not run, with the reason.

use crate::cli::args::CheckHistoryArgs;
use crate::cli::exit::{BadInput, Exit};
use crate::cli::output::verdict_lines;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use watermark_sim::history_edn::read_edn;
use watermark_sim::history_file::{
    check_imported, header_for_run, not_run, read_jsonl, to_jsonl, HistoryFormat, ImportedHistory,
    NotRun,
};
use watermark_sim::runner::{judge, RunReport};
use watermark_sim::scenario::{Expectation, Scenario};
use watermark_sim::verdict::{observed_guarantee, observed_ordering, Guarantee};

/// An imported history judged: a report shaped like a run's (no trace, marks or counters)
/// and the checkers that did not run.
#[derive(Clone, Debug)]
pub struct CheckedHistory {
    pub report: RunReport,
    pub not_run: Vec<NotRun>,
    pub operations: usize,
}

/// The part of an expectation a history can be judged on: no coverage marks (a file has
/// none), and an anomaly is required only of a checker that can run on it.
pub fn judgeable_expectation(expect: &Expectation, has_final_state: bool) -> Expectation {
    let skipped = not_run(has_final_state);
    let mut expect = expect.clone();
    expect.marks.clear();
    expect
        .anomalies
        .retain(|anomaly| !skipped.iter().any(|entry| entry.checker == *anomaly));
    expect
}

/// Judges an imported history the way a run's end does: its checkers' violations, the
/// observed guarantee and ordering from them, and `judge` against the file's expectation.
/// Coverage marks are never judged (a file has none), and a required anomaly is required
/// only of a checker that ran.
pub fn judge_imported(imported: &ImportedHistory) -> CheckedHistory {
    let violations = check_imported(imported);
    let scenario = Scenario {
        name: imported.scenario.clone(),
        expect: judgeable_expectation(&imported.expect, imported.has_final_state),
        ..Scenario::default()
    };
    let observed = observed_guarantee(&violations);
    let ordering = observed_ordering(&violations);
    let failures = judge(&scenario, observed, ordering, &violations, &BTreeMap::new());
    let report = RunReport {
        scenario: imported.scenario.clone(),
        seed: imported.seed.unwrap_or(0),
        trace_hash: String::new(),
        observed,
        expected: scenario.expect.guarantee,
        ordering,
        expected_ordering: scenario.expect.ordering,
        passed: failures.is_empty(),
        failures,
        faults_not_applied: Vec::new(),
        violations,
        sim_time_ms: imported.final_state.time_ms,
        wall_ms: 0,
        converged: true,
        marks: BTreeMap::new(),
        bugs: Vec::new(),
        counters: Default::default(),
        lag: Vec::new(),
        configuration: None,
        panic: None,
        sink: Vec::new(),
        trace: Vec::new(),
        records: Vec::new(),
        history: Default::default(),
        final_state: None,
    };
    CheckedHistory {
        report,
        not_run: not_run(imported.has_final_state),
        operations: imported.history.operations.len(),
    }
}

/// A run's client history as `watermark-history` JSON lines (the run must have kept its
/// records, which keep the history and the final state).
pub fn history_jsonl(report: &RunReport, scenario: &Scenario) -> Result<String, String> {
    let final_state = report.final_state.as_ref().ok_or_else(|| {
        "the run kept no history (it panicked, or ran without keeping records)".to_string()
    })?;
    let header = header_for_run(&report.scenario, report.seed, &scenario.expect, final_state);
    to_jsonl(&header, &report.history)
}

/// Writes a run's history for `run --history-out`. A run that panicked has none: that is
/// said on stderr and nothing is written, so the run's own exit code stands.
pub fn write_history(path: &str, report: &RunReport, scenario: &Scenario) -> Result<(), BadInput> {
    if report.panic.is_some() {
        eprintln!("note: the run panicked, so it has no history to write to {path}");
        return Ok(());
    }
    let text = history_jsonl(report, scenario).map_err(BadInput)?;
    std::fs::write(path, text)
        .map_err(|error| BadInput(format!("cannot write the history to {path}: {error}")))
}

/// Reads `path` in `format` (or the detected one).
pub fn read_history(path: &str, format: Option<&str>) -> Result<ImportedHistory, BadInput> {
    let bytes = std::fs::read(path).map_err(|error| BadInput(format!("{path}: {error}")))?;
    let text = String::from_utf8(bytes).map_err(|error| {
        BadInput(format!(
            "{path}: not UTF-8 text (invalid byte at {}): a history is JSON lines \
             (`watermark-history`) or a Jepsen EDN history",
            error.utf8_error().valid_up_to()
        ))
    })?;
    let format = match format {
        Some("jsonl") => HistoryFormat::Jsonl,
        Some("edn") => HistoryFormat::Edn,
        Some(other) => {
            return Err(BadInput(format!(
                "unknown history format `{other}` (known: jsonl, edn)"
            )))
        }
        None => HistoryFormat::detect(path, &text).ok_or_else(|| {
            BadInput(format!(
                "{path}: cannot tell the history's format: name it .jsonl or .edn, or pass \
                 --format jsonl|edn"
            ))
        })?,
    };
    let imported = match format {
        HistoryFormat::Jsonl => read_jsonl(&text),
        HistoryFormat::Edn => read_edn(&text),
    };
    imported.map_err(|message| BadInput(format!("{path}: {message}")))
}

pub fn check_history_command(args: &CheckHistoryArgs) -> Result<Exit, BadInput> {
    let mut imported = read_history(&args.file, args.format.as_deref())?;
    if let Some(expect) = &args.expect {
        imported.expect.guarantee = expect.parse::<Guarantee>().map_err(BadInput)?;
    }
    let checked = judge_imported(&imported);
    let out = if args.json {
        let mut text = check_json(&args.file, &imported, &checked).to_string();
        text.push('\n');
        text
    } else {
        check_text(&args.file, &imported, &checked)
    };
    crate::cli::print(&out);
    Ok(Exit::for_report(&checked.report))
}

/// The text report: where the history came from, then the verdict part of `run`'s report,
/// then the checkers that did not run, one line per reason.
pub fn check_text(path: &str, imported: &ImportedHistory, checked: &CheckedHistory) -> String {
    let mut out = String::new();
    let mut line = |label: &str, text: &str| {
        let _ = writeln!(out, "{label:<12}{text}");
    };
    line(
        "history",
        &format!(
            "{path} ({}, {} operations)",
            imported.format.name(),
            checked.operations
        ),
    );
    if !imported.scenario.is_empty() {
        line("scenario", &imported.scenario);
    }
    if let Some(seed) = imported.seed {
        line("seed", &seed.to_string());
    }
    verdict_lines(&checked.report, &mut line);
    let mut by_reason: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for entry in &checked.not_run {
        by_reason
            .entry(entry.reason)
            .or_default()
            .push(entry.checker.to_string());
    }
    for (index, (reason, checkers)) in by_reason.iter().enumerate() {
        line(
            if index == 0 { "not run" } else { "" },
            &format!("{reason}: {}", checkers.join(", ")),
        );
    }
    out
}

#[derive(Serialize)]
struct CheckJson<'a> {
    kind: &'static str,
    file: &'a str,
    format: &'static str,
    operations: usize,
    scenario: &'a str,
    seed: Option<u64>,
    expected: Guarantee,
    observed: Guarantee,
    ordering: watermark_sim::verdict::OrderingVerdict,
    expected_ordering: Option<watermark_sim::verdict::OrderingVerdict>,
    passed: bool,
    failures: &'a [watermark_sim::failure::Failure],
    violations: &'a [watermark_sim::violation::Violation],
    not_run: &'a [NotRun],
}

/// The JSON object `check-history --json` prints: the keys of `run --json` that an imported
/// history has, `kind: "check-history"`, and `not_run`.
pub fn check_json(
    path: &str,
    imported: &ImportedHistory,
    checked: &CheckedHistory,
) -> serde_json::Value {
    let report = &checked.report;
    let json = CheckJson {
        kind: "check-history",
        file: path,
        format: imported.format.name(),
        operations: checked.operations,
        scenario: &imported.scenario,
        seed: imported.seed,
        expected: report.expected,
        observed: report.observed,
        ordering: report.ordering,
        expected_ordering: report.expected_ordering,
        passed: report.passed,
        failures: &report.failures,
        violations: &report.violations,
        not_run: &checked.not_run,
    };
    serde_json::to_value(json).unwrap_or_else(|error| {
        serde_json::json!({
            "kind": "check-history",
            "file": path,
            "error": format!("could not serialise the verdict: {error}"),
        })
    })
}
