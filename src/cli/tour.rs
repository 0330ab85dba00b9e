//! The tour (`watermark` with no subcommand): every catalogue scenario over a few seeds, then
//! one table row per scenario with what it expects, what the seeds observed, and whether all
//! of them passed. The catalogue is a textbook; the tour is reading it aloud.

use crate::cli::args::TourArgs;
use crate::cli::exit::{BadInput, Exit};
use crate::cli::invocation::Invocation;
use crate::cli::output::{observed_summary, replay_command, table};
use crate::cli::source::{resolve_catalogue, Choice};
use std::fmt::Write as _;
use watermark_sim::runner::{RunOptions, RunReport};
use watermark_sim::sweep::sweep;

pub fn tour_command(args: &TourArgs) -> Result<Exit, BadInput> {
    let range = crate::cli::seed_range(&args.seeds)?;
    let seeds: Vec<u64> = range.collect();
    let targets = resolve_catalogue(&Choice::default())?;
    if targets.is_empty() {
        eprintln!("the catalogue is empty: nothing to tour");
        return Ok(Exit::Met);
    }
    let jobs = crate::cli::jobs(args.jobs);
    let invocation = Invocation::current();
    let bar = crate::cli::progress::bar((targets.len() * seeds.len()) as u64, true);
    let mut rows = Vec::new();
    let mut replays = String::new();
    let mut all_reports: Vec<RunReport> = Vec::new();
    for target in &targets {
        if let Some(bar) = &bar {
            bar.set_message(target.scenario.name.clone());
        }
        let reports = sweep(
            &target.scenario,
            &seeds,
            jobs,
            RunOptions::default(),
            |_| {
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
            },
        );
        let refs: Vec<&RunReport> = reports.iter().collect();
        let failing: Vec<&RunReport> = reports.iter().filter(|report| !report.passed).collect();
        rows.push(vec![
            target.scenario.name.clone(),
            target.scenario.expect.guarantee.to_string(),
            observed_summary(&refs),
            if failing.is_empty() {
                "PASS".to_string()
            } else {
                format!("FAIL {}/{}", failing.len(), reports.len())
            },
        ]);
        for report in failing {
            let _ = writeln!(
                replays,
                "{} seed {}: {}\n  {}",
                report.scenario,
                report.seed,
                report
                    .failures
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
                replay_command(&invocation, &target.target, report.seed, &target.choice)
            );
        }
        all_reports.extend(reports);
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let mut out = format!(
        "{} scenarios × seeds {} on {jobs} jobs\n\n",
        targets.len(),
        args.seeds
    );
    out.push_str(&table(&["scenario", "expected", "observed", "pass"], &rows));
    if !replays.is_empty() {
        out.push_str("\nfailing seeds and the commands that replay them:\n");
        out.push_str(&replays);
    }
    crate::cli::print(&out);
    Ok(Exit::for_reports(&all_reports))
}
