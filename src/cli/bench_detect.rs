//! `watermark bench --detect`: time to detect each bug. For every bug switch, a sweep of its
//! catching scenario (a safe swarm, or the demonstration built for it) with the switch on,
//! started at several seed offsets, stops at the first seed a checker fails; the figure is
//! the median wall time to that seed, on one job and on every core (issue 13's target:
//! under 5 s each). A sweep that finds nothing within the seed bound counts as missed; its
//! wall time is the whole bound's.

use crate::cli::args::BenchArgs;
use crate::cli::bench::median;
use crate::cli::exit::{BadInput, Exit};
use crate::cli::output::table;
use crate::cli::source::parse_bugs;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};
use watermark_broker_core::bugs::BugSwitch;
use watermark_sim::runner::RunOptions;
use watermark_sim::scenario::Scenario;
use watermark_sim::sweep::sweep_until;

/// The goal per switch, in wall seconds to the first failing seed.
pub const DETECT_TARGET_S: f64 = 5.0;
/// Offsets are this far apart, so no two searches share a seed.
const OFFSET_SPACING: u64 = 100_000;

/// One search: from `offset`, how many seeds ran until a checker failed, and how long.
#[derive(Clone, Debug)]
pub struct Search {
    pub offset: u64,
    /// Seeds run up to and including the first failing one; `None` if none failed.
    pub seeds_to_first: Option<u64>,
    pub wall: Duration,
    pub panicked: bool,
}

/// Sweeps `seeds_max` seeds from `offset` on `jobs` workers until the first caught run.
pub fn search(scenario: &Scenario, offset: u64, seeds_max: u64, jobs: usize) -> Search {
    let mut ran = 0;
    let mut found = None;
    let mut panicked = false;
    let started = Instant::now();
    sweep_until(
        scenario,
        offset..offset + seeds_max,
        jobs,
        RunOptions::default(),
        |report| {
            ran += 1;
            panicked |= report.panic.is_some();
            if report.caught_by_a_checker() {
                found = Some(ran);
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    );
    Search {
        offset,
        seeds_to_first: found,
        wall: started.elapsed(),
        panicked,
    }
}

/// One switch's searches on one job and on every core.
struct Row {
    switch: BugSwitch,
    one_job: Vec<Search>,
    all_jobs: Vec<Search>,
}

impl Row {
    fn found(&self) -> usize {
        self.one_job
            .iter()
            .filter(|search| search.seeds_to_first.is_some())
            .count()
    }

    fn median_seeds(&self) -> Option<f64> {
        let seeds: Vec<f64> = self
            .one_job
            .iter()
            .filter_map(|search| search.seeds_to_first.map(|seeds| seeds as f64))
            .collect();
        (!seeds.is_empty()).then(|| median(seeds.into_iter()))
    }

    fn median_wall_s(searches: &[Search]) -> f64 {
        median(searches.iter().map(|search| search.wall.as_secs_f64()))
    }
}

pub fn detect_command(args: &BenchArgs, all_cores: usize) -> Result<Exit, BadInput> {
    let offsets = args
        .detect_offsets
        .unwrap_or(if args.quick { 1 } else { 5 });
    let seeds_max = args.detect_seeds_max;
    let chosen = parse_bugs(&args.detect_bugs)?;
    let switches: Vec<BugSwitch> = if chosen.is_empty() {
        BugSwitch::bugs().collect()
    } else {
        chosen
    };
    let mut rows = Vec::new();
    for switch in switches {
        let mut scenario = watermark_scenarios::find(switch.catching_swarm()).ok_or_else(|| {
            BadInput(format!(
                "{switch}: its catching scenario `{}` is not in the catalogue",
                switch.catching_swarm()
            ))
        })?;
        scenario.bugs.enable(switch);
        let mut row = Row {
            switch,
            one_job: Vec::new(),
            all_jobs: Vec::new(),
        };
        for index in 0..offsets {
            let offset = index * OFFSET_SPACING;
            eprintln!("bench --detect: {switch} from seed {offset}…");
            row.one_job.push(search(&scenario, offset, seeds_max, 1));
            row.all_jobs
                .push(search(&scenario, offset, seeds_max, all_cores));
        }
        rows.push(row);
    }
    crate::cli::print(&render(&rows, offsets, seeds_max, all_cores));
    let panicked = rows
        .iter()
        .flat_map(|row| row.one_job.iter().chain(&row.all_jobs))
        .any(|search| search.panicked);
    Ok(if panicked { Exit::Panicked } else { Exit::Met })
}

fn render(rows: &[Row], offsets: u64, seeds_max: u64, all_cores: usize) -> String {
    let all_jobs = format!("median s, {all_cores} jobs");
    let target = format!("< {DETECT_TARGET_S} s");
    let header = [
        "switch",
        "catching scenario",
        "found",
        "median seeds",
        "median s, 1 job",
        all_jobs.as_str(),
        target.as_str(),
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let one = Row::median_wall_s(&row.one_job);
            let all = Row::median_wall_s(&row.all_jobs);
            let met = row.found() as u64 == offsets && one.min(all) < DETECT_TARGET_S;
            vec![
                row.switch.name().to_string(),
                row.switch.catching_swarm().to_string(),
                format!("{} of {offsets}", row.found()),
                row.median_seeds()
                    .map_or_else(|| "–".to_string(), |seeds| format!("{seeds:.0}")),
                format!("{one:.2}"),
                format!("{all:.2}"),
                if met { "yes" } else { "no" }.to_string(),
            ]
        })
        .collect();
    format!(
        "time to detect: each bug switch's catching scenario with the switch on, {offsets} \
         search(es) from seeds 0, {OFFSET_SPACING}, … (at most {seeds_max} seeds each), \
         stopping at the first seed a checker fails\n\n{}",
        table(&header, &body)
    )
}
