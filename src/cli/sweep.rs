//! `watermark sweep`: many seeds of one scenario, or of every catalogue scenario, in
//! parallel, then a summary (see [`crate::cli::sweep_summary`]): how many passed, failed and
//! panicked, the failing seeds grouped by reason with the first of each and its replay
//! command, and the speed. `--fail-fast` and `--max-failures N` end the sweep at the N-th
//! failing seed in seed order, so where it stops does not depend on `--jobs`.

use crate::cli::args::SweepArgs;
use crate::cli::exit::{BadInput, Exit};
use crate::cli::invocation::Invocation;
use crate::cli::output::{plural, replay_command, report_json, table};
use crate::cli::source::{resolve, resolve_catalogue, Choice, Resolved};
use crate::cli::sweep_summary::{summary_text, Stop, Summary};
use std::ops::ControlFlow;
use std::time::Instant;
use watermark_sim::runner::RunOptions;
use watermark_sim::seed_set::SeedSet;
use watermark_sim::sweep::{sweep_until, Shard};

pub fn sweep_command(args: &SweepArgs) -> Result<Exit, BadInput> {
    let choice = Choice::parse(&args.switches)?;
    let range = crate::cli::seed_range(&args.seeds)?;
    let shard = match &args.shard {
        Some(text) => Shard::parse(text).map_err(BadInput)?,
        None => Shard::ALL,
    };
    let targets: Vec<Resolved> = match &args.scenario {
        Some(target) => vec![resolve(target, &choice)?],
        None => resolve_catalogue(&choice)?,
    };
    if targets.is_empty() {
        eprintln!("the catalogue is empty: nothing to sweep");
        return Ok(Exit::Met);
    }
    let seeds = shard.seeds(range);
    if seeds.is_empty() {
        eprintln!(
            "shard {}/{} of seeds {} holds no seed: nothing to run",
            shard.index, shard.count, args.seeds
        );
    }
    let jobs = crate::cli::jobs(args.jobs);
    let started = Instant::now();
    let swept = sweep_targets(args, &targets, &seeds, jobs);
    let wall = started.elapsed();
    let mut summary = swept.summary;
    summary.scenarios = targets
        .iter()
        .map(|target| target.scenario.name.clone())
        .collect();
    summary.seeds = args.seeds.clone();
    summary.shard = format!("{}/{}", shard.index, shard.count);
    summary.jobs = jobs;
    summary.bugs = choice
        .bugs
        .iter()
        .map(|switch| switch.name().to_string())
        .collect();
    summary.kafka = choice.kafka.map(|version| version.name().to_string());
    summary.wall_ms = u64::try_from(wall.as_millis()).unwrap_or(u64::MAX);
    summary.seeds_per_s = if wall.as_secs_f64() > 0.0 {
        summary.runs as f64 / wall.as_secs_f64()
    } else {
        0.0
    };
    if let Some(stop) = &mut summary.stopped {
        stop.text = stop_text(stop, &targets, &seeds, shard);
    }
    if args.json {
        let line = serde_json::to_string(&summary).unwrap_or_else(|error| {
            format!("{{\"kind\":\"sweep-summary\",\"error\":\"{error}\"}}")
        });
        crate::cli::print(&format!("{line}\n"));
    } else {
        let mut out = String::new();
        if targets.len() > 1 {
            out.push_str(&table(
                &["scenario", "runs", "passed", "failed", "panicked"],
                &swept.per_scenario_rows,
            ));
            out.push('\n');
        }
        out.push_str(&summary_text(&summary));
        crate::cli::print(&out);
    }
    Ok(swept.exit)
}

/// What the runs of a sweep add up to, before the heading fields are filled in.
struct Swept {
    summary: Summary,
    per_scenario_rows: Vec<Vec<String>>,
    exit: Exit,
}

/// The failing runs after which a sweep stops: `--max-failures N`, 1 with `--fail-fast`,
/// none otherwise.
fn failures_max(args: &SweepArgs) -> Option<u64> {
    if args.fail_fast {
        Some(1)
    } else {
        args.max_failures
    }
}

/// Runs every target over `seeds`, in scenario order then seed order, until the failure
/// limit. Nothing per seed is kept: each report is printed (with --json), counted and
/// dropped, so a sweep of millions of seeds runs in flat memory.
fn sweep_targets(args: &SweepArgs, targets: &[Resolved], seeds: &SeedSet, jobs: usize) -> Swept {
    let invocation = Invocation::current();
    let failures_max = failures_max(args);
    let bar = crate::cli::progress::bar((targets.len() * seeds.len()) as u64, !args.json);
    let mut summary = Summary::new();
    let mut exit = Exit::Met;
    let mut per_scenario_rows = Vec::new();
    for target in targets {
        if let Some(bar) = &bar {
            bar.set_message(target.scenario.name.clone());
        }
        let mut own = Summary::new();
        sweep_until(
            &target.scenario,
            seeds.clone(),
            jobs,
            RunOptions::default(),
            |report| {
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
                let replay =
                    replay_command(&invocation, &target.target, report.seed, &target.choice);
                if args.json {
                    crate::cli::print(&format!("{}\n", report_json(&report, &replay)));
                }
                own.add(&report, &replay);
                summary.add(&report, &replay);
                exit = exit.max(Exit::for_report(&report));
                match failures_max {
                    Some(limit) if !report.passed && summary.failures() >= limit => {
                        summary.stopped = Some(Stop {
                            failures: summary.failures(),
                            scenario: report.scenario.clone(),
                            seed: report.seed,
                            text: String::new(),
                        });
                        ControlFlow::Break(())
                    }
                    _ => ControlFlow::Continue(()),
                }
            },
        );
        per_scenario_rows.push(vec![
            target.scenario.name.clone(),
            own.runs.to_string(),
            own.passed.to_string(),
            own.failed.to_string(),
            own.panicked.to_string(),
        ]);
        if summary.stopped.is_some() {
            break;
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    Swept {
        summary,
        per_scenario_rows,
        exit,
    }
}

/// Where a sweep stopped and which seeds ran, e.g. `stopped after 3 failures at seed 1234;
/// seeds 0..=1234 ran`.
fn stop_text(stop: &Stop, targets: &[Resolved], seeds: &SeedSet, shard: Shard) -> String {
    let first = seeds.first().unwrap_or(stop.seed);
    let of_shard = if shard == Shard::ALL {
        String::new()
    } else {
        format!(" of shard {}/{}", shard.index, shard.count)
    };
    let failures = plural(stop.failures, "failure");
    if targets.len() == 1 {
        return format!(
            "stopped after {failures} at seed {}; seeds {first}..={}{of_shard} ran",
            stop.seed, stop.seed
        );
    }
    let position = targets
        .iter()
        .position(|target| target.scenario.name == stop.scenario)
        .unwrap_or(0);
    format!(
        "stopped after {failures} at {} seed {}; the {position} scenario(s) before it ran every \
         seed, it ran seeds {first}..={}{of_shard}, the {} after it did not run",
        stop.scenario,
        stop.seed,
        stop.seed,
        targets.len() - position - 1
    )
}
