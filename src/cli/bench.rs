//! `watermark bench`: the standard performance figures of BENCHMARKS.md, measured on the
//! catalogue scenario `safe-acks-all-swarm` (acks=all under a fault swarm: the workload the
//! sweeps spend their time on).
//!
//! Figures and targets:
//! - seeds/s on 1 job, 2 jobs and every core; 2 jobs ≥ 1.8x one job (runs share nothing);
//! - simulated:wall time ≥ 500x (an hour of faults in seconds);
//! - messages/s delivered;
//! - wall time per run ≤ 2x a bare madsim message pump with as many nodes and messages
//!   ([`crate::bench::pump`]): the simulator's own cost stays within the cost of madsim;
//! - peak memory flat from a 1,000-seed sweep to a 10,000-seed one (nothing leaks per seed).

use crate::bench::pump::pump;
use crate::cli::args::BenchArgs;
use crate::cli::exit::{BadInput, Exit};
use crate::cli::output::table;
use crate::cli::source::{known_names, resolve, Resolved};
use std::time::{Duration, Instant};
use watermark_sim::runner::{RunOptions, RunReport};
use watermark_sim::sweep::{sweep, sweep_each};
use watermark_sim::world::node_ids;

/// The scenario the standard figures are measured on.
pub const BENCH_SCENARIO: &str = "safe-acks-all-swarm";

const SIM_TO_WALL_TARGET: f64 = 500.0;
const TWO_JOBS_SPEEDUP_TARGET: f64 = 1.8;
const PUMP_RATIO_TARGET: f64 = 2.0;
/// Peak memory may grow this much from the small to the large memory sweep and still count
/// as flat: allocator slack, not per-seed growth.
const MEMORY_GROWTH_FLAT_MAX: f64 = 0.10;

/// One timed sweep.
struct Timed {
    reports: Vec<RunReport>,
    wall: Duration,
}

impl Timed {
    fn seeds_per_s(&self) -> f64 {
        per_second(self.reports.len() as f64, self.wall)
    }
}

fn per_second(count: f64, wall: Duration) -> f64 {
    if wall.as_secs_f64() > 0.0 {
        count / wall.as_secs_f64()
    } else {
        0.0
    }
}

fn timed_sweep(resolved: &Resolved, seeds: u64, jobs: usize, panicked: &mut u64) -> Timed {
    eprintln!("bench: {} seeds on {jobs} job(s)…", seeds);
    let seeds: Vec<u64> = (0..seeds).collect();
    let started = Instant::now();
    let reports = sweep(
        &resolved.scenario,
        &seeds,
        jobs,
        RunOptions::default(),
        |_| {},
    );
    let wall = started.elapsed();
    *panicked += reports
        .iter()
        .filter(|report| report.panic.is_some())
        .count() as u64;
    Timed { reports, wall }
}

/// A sweep as `watermark sweep` runs it: each report is looked at and dropped, so what the
/// peak memory measures is the simulator, not a growing list of reports.
fn streamed_sweep(resolved: &Resolved, seeds: u64, jobs: usize, panicked: &mut u64) {
    eprintln!("bench: {seeds} seeds on {jobs} job(s), reports dropped as they come…");
    let seeds: Vec<u64> = (0..seeds).collect();
    sweep_each(
        &resolved.scenario,
        &seeds,
        jobs,
        RunOptions::default(),
        |report| {
            if report.panic.is_some() {
                *panicked += 1;
            }
        },
    );
}

/// Peak resident memory of this process so far, in KiB (`VmHWM` in /proc/self/status).
pub fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn yes_no(met: bool) -> String {
    if met { "yes" } else { "NO" }.to_string()
}

pub fn bench_command(args: &BenchArgs) -> Result<Exit, BadInput> {
    let resolved = resolve(&args.scenario, &[]).map_err(|error| {
        if args.scenario == BENCH_SCENARIO {
            BadInput(format!(
                "the catalogue has no scenario `{BENCH_SCENARIO}`, which bench measures \
                 (known: {}; or pass --scenario)",
                known_names()
            ))
        } else {
            error
        }
    })?;
    let throughput_seeds = args.seeds.unwrap_or(if args.quick { 4 } else { 200 });
    let memory_seeds_large = args
        .memory_seeds
        .unwrap_or(if args.quick { 40 } else { 10_000 });
    let memory_seeds_small = memory_seeds_large / 10;
    let cores = crate::cli::jobs(None);
    let mut panicked = 0;

    let one_job = timed_sweep(&resolved, throughput_seeds, 1, &mut panicked);
    let two_jobs = timed_sweep(&resolved, throughput_seeds, 2, &mut panicked);
    let all_cores =
        (cores > 2).then(|| timed_sweep(&resolved, throughput_seeds, cores, &mut panicked));

    // Simulated time over the wall time of the single-job sweep: with one job nothing else
    // competes for the core, and the thread start of each run is counted, as users see it.
    let sim_time_ms: u64 = one_job
        .reports
        .iter()
        .map(|report| report.sim_time_ms)
        .sum();
    let sim_to_wall =
        sim_time_ms as f64 / (one_job.wall.as_secs_f64() * 1000.0).max(f64::MIN_POSITIVE);
    let delivered: u64 = one_job
        .reports
        .iter()
        .map(|report| report.counters.messages_delivered)
        .sum();
    let messages_per_s = per_second(delivered as f64, one_job.wall);
    let run_count = one_job.reports.len().max(1) as u64;
    let mean_delivered = delivered / run_count;
    let run_wall = one_job.wall / u32::try_from(run_count).unwrap_or(u32::MAX);
    let nodes = node_ids(&resolved.scenario).len();

    let pump_outcome = if mean_delivered == 0 {
        Err("n/a: the scenario delivered no messages".to_string())
    } else {
        eprintln!(
            "bench: {run_count} bare pumps of {mean_delivered} messages between {nodes} nodes…"
        );
        let mut pump_wall = Duration::ZERO;
        let mut outcome = Ok(());
        for seed in 0..run_count {
            match pump(nodes, mean_delivered, seed) {
                Ok(report) => pump_wall += report.wall,
                Err(error) => {
                    outcome = Err(format!("n/a: {error}"));
                    break;
                }
            }
        }
        outcome.map(|()| pump_wall / u32::try_from(run_count).unwrap_or(u32::MAX))
    };

    // The throughput sweeps' reports are not needed any more; free them so the memory
    // sweeps start from the scenario's own footprint.
    let one_job_rate = one_job.seeds_per_s();
    let two_jobs_rate = two_jobs.seeds_per_s();
    let all_cores_rate = all_cores.as_ref().map(Timed::seeds_per_s);
    drop((one_job, two_jobs, all_cores));
    let memory_small_kib = {
        streamed_sweep(&resolved, memory_seeds_small, cores, &mut panicked);
        peak_memory_kib()
    };
    let memory_large_kib = {
        streamed_sweep(&resolved, memory_seeds_large, cores, &mut panicked);
        peak_memory_kib()
    };

    let speedup = two_jobs_rate / one_job_rate.max(f64::MIN_POSITIVE);
    let mut rows = vec![
        vec![
            "seeds/s, 1 job".to_string(),
            format!("{one_job_rate:.1}"),
            "-".to_string(),
            "-".to_string(),
        ],
        vec![
            "seeds/s, 2 jobs".to_string(),
            format!("{two_jobs_rate:.1} ({speedup:.2}x one job)"),
            format!("≥ {TWO_JOBS_SPEEDUP_TARGET}x one job"),
            if cores < 2 {
                "n/a (1 core)".to_string()
            } else {
                yes_no(speedup >= TWO_JOBS_SPEEDUP_TARGET)
            },
        ],
    ];
    if let Some(all_cores_rate) = all_cores_rate {
        rows.push(vec![
            format!("seeds/s, {cores} jobs"),
            format!(
                "{all_cores_rate:.1} ({:.2}x one job)",
                all_cores_rate / one_job_rate.max(f64::MIN_POSITIVE)
            ),
            "-".to_string(),
            "-".to_string(),
        ]);
    }
    rows.push(vec![
        "simulated:wall time".to_string(),
        format!("{sim_to_wall:.0}x"),
        format!("≥ {SIM_TO_WALL_TARGET:.0}x"),
        yes_no(sim_to_wall >= SIM_TO_WALL_TARGET),
    ]);
    rows.push(vec![
        "messages delivered/s".to_string(),
        format!("{messages_per_s:.0} (mean {mean_delivered} per run)"),
        "-".to_string(),
        "-".to_string(),
    ]);
    match &pump_outcome {
        Ok(pump_wall) => {
            let ratio = run_wall.as_secs_f64() / pump_wall.as_secs_f64().max(f64::MIN_POSITIVE);
            rows.push(vec![
                "wall per run / bare pump".to_string(),
                format!(
                    "{ratio:.2}x ({:.2} ms vs {:.2} ms, {nodes} nodes)",
                    run_wall.as_secs_f64() * 1000.0,
                    pump_wall.as_secs_f64() * 1000.0
                ),
                format!("≤ {PUMP_RATIO_TARGET}x"),
                yes_no(ratio <= PUMP_RATIO_TARGET),
            ]);
        }
        Err(reason) => rows.push(vec![
            "wall per run / bare pump".to_string(),
            reason.clone(),
            format!("≤ {PUMP_RATIO_TARGET}x"),
            "n/a".to_string(),
        ]),
    }
    match (memory_small_kib, memory_large_kib) {
        (Some(small), Some(large)) => {
            let growth = large.saturating_sub(small) as f64 / (small.max(1)) as f64;
            rows.push(vec![
                format!("peak memory, {memory_seeds_small} seeds"),
                mib(small),
                "-".to_string(),
                "-".to_string(),
            ]);
            rows.push(vec![
                format!("peak memory, {memory_seeds_large} seeds"),
                format!("{} (+{:.1}%)", mib(large), growth * 100.0),
                format!("flat (≤ +{:.0}%)", MEMORY_GROWTH_FLAT_MAX * 100.0),
                if growth <= MEMORY_GROWTH_FLAT_MAX {
                    "yes, flat".to_string()
                } else {
                    "NO, grows".to_string()
                },
            ]);
        }
        _ => rows.push(vec![
            "peak memory".to_string(),
            "n/a (no /proc/self/status)".to_string(),
            "flat".to_string(),
            "n/a".to_string(),
        ]),
    }

    let mut out = format!(
        "bench {} ({nodes} nodes), {throughput_seeds} seeds per throughput figure, \
         memory sweeps of {memory_seeds_small} then {memory_seeds_large} seeds, {cores} cores{}\n\n",
        resolved.scenario.name,
        if args.quick { ", quick" } else { "" }
    );
    out.push_str(&table(&["figure", "measured", "target", "met"], &rows));
    if panicked > 0 {
        out.push_str(&format!(
            "\n{panicked} run(s) panicked: the figures above are not representative\n"
        ));
    }
    crate::cli::print(&out);
    Ok(if panicked > 0 {
        Exit::Panicked
    } else {
        Exit::Met
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_memory_is_read_from_proc() {
        let kib = peak_memory_kib().expect("Linux has /proc/self/status");
        assert!(kib > 0);
    }
}
