//! `watermark shrink`: from a failing run, a smaller scenario that fails the same way,
//! written as a TOML file that fails on its own (`watermark run FILE --seed N`, exit 1, the
//! same checker). The search is `watermark_sim::shrinker`; this file resolves the input,
//! prints progress on stderr, writes the file, runs it once more from disk to check it, and
//! prints the sizes before and after.
//!
//! Exit codes: 0 written and checked; 1 the written file, run on its own, did not fail with
//! the checker (a determinism bug: it should never happen); 2 bad input, including a run
//! that passes or fails without a checker's violation (nothing to shrink); 3 the original
//! run panicked.

use crate::cli::args::ShrinkArgs;
use crate::cli::exit::{BadInput, Exit};
use crate::cli::invocation::Invocation;
use crate::cli::output::{choice_options, replay_command, seconds, shell_quote, table};
use crate::cli::source::{resolve, Choice};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;
use watermark_sim::checkers::Checker;
use watermark_sim::failure::failing_checkers;
use watermark_sim::runner::{run, RunOptions, RunReport};
use watermark_sim::scenario::Scenario;
use watermark_sim::shrinker::{
    reproduces, shrink, Measured, Refusal, ShrinkOptions, Shrunk, Tried,
};

pub fn shrink_command(args: &ShrinkArgs) -> Result<Exit, BadInput> {
    let choice = Choice::parse(&args.switches)?;
    let resolved = resolve(&args.scenario, &choice)?;
    let checker = args
        .checker
        .as_deref()
        .map(|name| name.trim().parse::<Checker>().map_err(BadInput))
        .transpose()?;
    let out = match &args.out {
        Some(out) => out.clone(),
        None => format!("{}-seed-{}-shrunk.toml", resolved.scenario.name, args.seed),
    };
    check_out_path(&out)?;
    let command = shrink_command_line(args, &resolved.target, &resolved.choice);
    let options = ShrinkOptions {
        runs_max: usize::try_from(args.max_runs).unwrap_or(usize::MAX),
        checker,
    };
    // Each candidate is written and read back as the file will be, so what runs is what
    // the file says; a candidate the loader would refuse never runs.
    let prepare = |candidate: &Scenario| {
        let text = watermark_scenarios::to_toml(candidate)?;
        watermark_scenarios::parse_toml(&text, &out)
    };
    let quiet = args.quiet;
    let mut progress = |tried: &Tried| {
        if !quiet {
            eprintln!("{}", progress_line(tried));
        }
    };
    let started = Instant::now();
    let shrunk = match shrink(
        &resolved.scenario,
        args.seed,
        &options,
        &prepare,
        &mut progress,
    ) {
        Ok(shrunk) => shrunk,
        Err(Refusal::Panicked(message)) => {
            eprintln!(
                "{}",
                BadInput(format!(
                    "{command}: {}; replay it with {}",
                    Refusal::Panicked(message),
                    replay_command(
                        &Invocation::current(),
                        &resolved.target,
                        args.seed,
                        &resolved.choice
                    )
                ))
                .line()
            );
            return Ok(Exit::Panicked);
        }
        Err(refusal) => return Err(BadInput(format!("{command}: {refusal}"))),
    };
    let search_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let written = described(&shrunk, &resolved.scenario, &command);
    let body = watermark_scenarios::to_toml(&written).map_err(BadInput)?;
    let replay = replay_command(&Invocation::current(), &out, args.seed, &Choice::default());
    let text = format!(
        "# Written by `{command}`.\n# It fails on its own with the same seed and checker \
         ({}):\n#   {replay}\n\n{body}",
        shrunk.checker
    );
    std::fs::write(&out, text)
        .map_err(|error| BadInput(format!("--out `{out}`: cannot write the file: {error}")))?;
    // The check reads the file from disk as `watermark run` does, without `--bug` or
    // `--kafka`: the file states both.
    let from_file = resolve(&out, &Choice::default())?;
    let check = run(&from_file.scenario, args.seed, RunOptions::default());
    let reproduced = reproduces(&check, shrunk.checker);
    let summary = Summary {
        command: &command,
        shrunk: &shrunk,
        out: &out,
        replay: &replay,
        check: &check,
        reproduced,
        search_ms,
    };
    if args.json {
        crate::cli::print(&format!("{}\n", summary.json()));
    } else {
        crate::cli::print(&summary.text());
    }
    Ok(if reproduced { Exit::Met } else { Exit::NotMet })
}

/// A path `watermark run` will read as a scenario file, in a directory that exists.
fn check_out_path(out: &str) -> Result<(), BadInput> {
    if !out.ends_with(".toml") {
        return Err(BadInput(format!(
            "--out `{out}`: a scenario file's name must end in .toml (`watermark run` reads \
             it as a file only then)"
        )));
    }
    let directory = Path::new(out)
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !directory.is_dir() {
        return Err(BadInput(format!(
            "--out `{out}`: the directory `{}` does not exist",
            directory.display()
        )));
    }
    Ok(())
}

/// `watermark shrink TARGET --seed N --bug ...`, with every option that changes what it
/// writes, as the user would type it again.
fn shrink_command_line(args: &ShrinkArgs, target: &str, choice: &Choice) -> String {
    let mut line = format!(
        "watermark shrink {} --seed {}",
        shell_quote(target),
        args.seed
    );
    line.push_str(&choice_options(choice));
    if let Some(checker) = &args.checker {
        let _ = write!(line, " --checker {}", shell_quote(checker.trim()));
    }
    if args.max_runs != watermark_sim::shrinker::RUNS_MAX_DEFAULT as u64 {
        let _ = write!(line, " --max-runs {}", args.max_runs);
    }
    line
}

/// The shrunk scenario with a name, summary and explanation that say where it came from.
fn described(shrunk: &Shrunk, original: &Scenario, command: &str) -> Scenario {
    let mut scenario = shrunk.scenario.clone();
    scenario.name = format!("{}-shrunk", original.name);
    scenario.summary = format!(
        "{} (shrunk: still fails with {})",
        original.summary, shrunk.checker
    );
    scenario.explanation = format!(
        "Written by `{command}`: the smallest scenario its search found whose run with the \
         same seed still fails with {checker}. Before: {before}. After: {after}. Faults the \
         swarm drew are written out as scheduled faults and triggers (their labels keep the \
         swarm's numbering), so the file does not depend on the swarm. Why the original \
         scenario should hold: {why}",
        checker = shrunk.checker,
        before = size_sentence(&shrunk.original),
        after = size_sentence(&shrunk.shrunk),
        why = original.explanation
    );
    scenario
}

fn size_sentence(measured: &Measured) -> String {
    let size = &measured.size;
    format!(
        "{} faults applied of {} written, lasting {} in all; {} records; {} producers, {} \
         consumers; {} brokers",
        measured.faults_applied,
        size.faults,
        seconds(size.fault_duration_ms),
        size.records,
        size.producers,
        size.consumers,
        size.brokers
    )
}

/// One progress line per candidate run, on stderr.
fn progress_line(tried: &Tried) -> String {
    let outcome = if tried.reproduced {
        "still fails: kept"
    } else {
        "does not fail the same way"
    };
    format!(
        "shrink run {}/{} {:<9} {}: {outcome} (best: {})",
        tried.run, tried.runs_max, tried.step, tried.change, tried.best
    )
}

/// What the command prints.
struct Summary<'a> {
    command: &'a str,
    shrunk: &'a Shrunk,
    out: &'a str,
    replay: &'a str,
    check: &'a RunReport,
    reproduced: bool,
    search_ms: u64,
}

impl Summary<'_> {
    fn check_text(&self) -> String {
        let failing = failing_checkers(&self.check.failures, &self.check.violations);
        let count = self
            .check
            .violations
            .iter()
            .filter(|violation| violation.checker == self.shrunk.checker)
            .count();
        if self.reproduced {
            format!(
                "{}: FAIL with {} ({count} violations)",
                self.replay, self.shrunk.checker
            )
        } else {
            let names: Vec<&str> = failing.iter().map(|checker| checker.name()).collect();
            format!(
                "{}: did NOT fail with {} ({}; failing checkers: [{}]): please report this \
                 as a determinism bug",
                self.replay,
                self.shrunk.checker,
                if self.check.passed { "PASS" } else { "FAIL" },
                names.join(", ")
            )
        }
    }

    fn text(&self) -> String {
        let shrunk = self.shrunk;
        let (before, after) = (&shrunk.original, &shrunk.shrunk);
        let search = format!(
            "{} candidate runs (at most {}), {}; {}",
            shrunk.runs,
            shrunk.runs_max,
            seconds(self.search_ms).replace(" s", " s wall"),
            if shrunk.stopped {
                "stopped at the bound on runs: a larger --max-runs may shrink further"
            } else {
                "finished"
            }
        );
        let row = |name: &str, before: String, after: String| vec![name.to_string(), before, after];
        let rows = vec![
            row(
                "faults applied",
                before.faults_applied.to_string(),
                after.faults_applied.to_string(),
            ),
            row(
                "faults written",
                before.size.faults.to_string(),
                after.size.faults.to_string(),
            ),
            row(
                "fault duration",
                seconds(before.size.fault_duration_ms),
                seconds(after.size.fault_duration_ms),
            ),
            row(
                "records",
                before.size.records.to_string(),
                after.size.records.to_string(),
            ),
            row(
                "producers",
                before.size.producers.to_string(),
                after.size.producers.to_string(),
            ),
            row(
                "consumers",
                before.size.consumers.to_string(),
                after.size.consumers.to_string(),
            ),
            row(
                "brokers",
                before.size.brokers.to_string(),
                after.size.brokers.to_string(),
            ),
        ];
        let mut out = String::new();
        let _ = writeln!(out, "shrink      {}", self.command);
        let _ = writeln!(out, "checker     {}", shrunk.checker);
        let _ = writeln!(out, "search      {search}");
        out.push('\n');
        out.push_str(&table(&["size", "before", "after"], &rows));
        out.push('\n');
        let _ = writeln!(out, "wrote       {}", self.out);
        let _ = writeln!(out, "check       {}", self.check_text());
        out
    }

    fn json(&self) -> serde_json::Value {
        let shrunk = self.shrunk;
        serde_json::json!({
            "command": self.command,
            "checker": shrunk.checker.name(),
            "runs": shrunk.runs,
            "runs_max": shrunk.runs_max,
            "stopped": shrunk.stopped,
            "wall_ms": self.search_ms,
            "before": shrunk.original,
            "after": shrunk.shrunk,
            "out": self.out,
            "replay": self.replay,
            "reproduced": self.reproduced,
            "check_passed": self.check.passed,
            "check_failing_checkers": failing_checkers(&self.check.failures, &self.check.violations)
                .iter()
                .map(|checker| checker.name())
                .collect::<Vec<_>>(),
        })
    }
}
