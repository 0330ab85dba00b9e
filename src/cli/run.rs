//! `watermark run`: one scenario, one seed, everything about the run: the derived options,
//! the verdict, the violations, marks, counters, trace hash and times, and the command that
//! replays it (`--history-out`: and the client history as a file for `check-history`).

use crate::cli::args::RunArgs;
use crate::cli::check_history::write_history;
use crate::cli::exit::{BadInput, Exit};
use crate::cli::invocation::Invocation;
use crate::cli::output::{replay_command, run_json, run_text};
use crate::cli::source::{resolve, Choice};
use watermark_sim::runner::{run, RunOptions};
use watermark_sim::trace::TraceMode;

pub fn run_command(args: &RunArgs) -> Result<Exit, BadInput> {
    let choice = Choice::parse(&args.switches)?;
    let resolved = resolve(&args.scenario, &choice)?;
    let trace_mode = match (args.trace, args.json) {
        (false, _) => TraceMode::HashOnly,
        (true, false) => TraceMode::Text,
        (true, true) => TraceMode::Json,
    };
    let options = RunOptions {
        trace_mode,
        // The history and the final state are kept with the records.
        keep_records: args.records || args.history_out.is_some(),
    };
    let report = run(&resolved.scenario, args.seed, options);
    if let Some(path) = &args.history_out {
        write_history(path, &report, &resolved.scenario)?;
    }
    let replay = replay_command(
        &Invocation::current(),
        &resolved.target,
        args.seed,
        &resolved.choice,
    );
    let mut out = String::new();
    let records: &[_] = if args.records { &report.records } else { &[] };
    for record in records {
        match serde_json::to_string(record) {
            Ok(line) => out.push_str(&line),
            Err(error) => out.push_str(&format!("{{\"error\":\"{error}\"}}")),
        }
        out.push('\n');
    }
    for line in &report.trace {
        out.push_str(line);
        out.push('\n');
    }
    if args.json {
        out.push_str(&run_json(&report, &resolved.scenario, &replay).to_string());
        out.push('\n');
    } else {
        if !report.trace.is_empty() {
            out.push('\n');
        }
        out.push_str(&run_text(&report, &resolved.scenario, &replay));
    }
    crate::cli::print(&out);
    Ok(Exit::for_report(&report))
}
