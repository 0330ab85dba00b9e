//! `watermark report`: one scenario, one seed, written as one self-contained HTML page (a
//! space-time diagram, the client history, the violations and a step control; see
//! world/src/teaching/report_data.rs) or, with `--shiviz`, as a log ShiViz loads. The run
//! keeps its step records, which changes nothing about the run itself: the verdict, the
//! trace hash and the exit code are those of `watermark run` on the same seed.

use crate::cli::args::ReportArgs;
use crate::cli::exit::{BadInput, Exit};
use crate::cli::invocation::Invocation;
use crate::cli::output::{replay_command, verdict_text};
use crate::cli::report_html::report_html;
use crate::cli::source::{resolve, Choice};
use std::fs::File;
use std::io::Write as _;
use watermark_sim::runner::{run, RunOptions, RunReport};
use watermark_sim::teaching::report_data::{ReportData, RunHeader};
use watermark_sim::teaching::shiviz::shiviz_log;
use watermark_sim::trace::TraceMode;

pub fn report_command(args: &ReportArgs) -> Result<Exit, BadInput> {
    let choice = Choice::parse(&args.switches)?;
    let resolved = resolve(&args.scenario, &choice)?;
    // Opened before the run, so an unwritable path is reported at once, not after it.
    let mut file = File::create(&args.output).map_err(|error| {
        BadInput(format!(
            "--output `{}`: cannot write the file: {error}",
            args.output
        ))
    })?;
    let options = RunOptions {
        trace_mode: TraceMode::HashOnly,
        keep_records: true,
    };
    let report = run(&resolved.scenario, args.seed, options);
    let replay = replay_command(
        &Invocation::current(),
        &resolved.target,
        args.seed,
        &resolved.choice,
    );
    let text = if args.shiviz {
        shiviz_log(&report.records)
    } else {
        report_html(&report_data(&report, &resolved.scenario.summary, &replay))
    };
    file.write_all(text.as_bytes()).map_err(|error| {
        BadInput(format!(
            "--output `{}`: cannot write the file: {error}",
            args.output
        ))
    })?;
    crate::cli::print(&format!(
        "wrote {} ({} bytes, {} records): {} seed {}: {}\n",
        args.output,
        text.len(),
        report.records.len(),
        report.scenario,
        report.seed,
        verdict_text(&report)
    ));
    Ok(Exit::for_report(&report))
}

/// The page's data for a run kept with its records.
pub fn report_data(report: &RunReport, summary: &str, replay: &str) -> ReportData {
    let header = RunHeader {
        scenario: report.scenario.clone(),
        summary: summary.to_string(),
        seed: report.seed,
        passed: report.passed,
        verdict: verdict_text(report),
        trace_hash: report.trace_hash.clone(),
        replay: replay.to_string(),
    };
    ReportData::build(
        header,
        report.sim_time_ms,
        &report.records,
        &report.history,
        &report.violations,
    )
}
