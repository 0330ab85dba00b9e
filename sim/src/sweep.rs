//! Sweeps: many seeds of one scenario, in parallel on `jobs` worker threads (each run still
//! gets its own fresh thread, so results do not depend on which worker ran it), optionally
//! one shard of the range so several machines can split a sweep. Results come back in seed
//! order whatever the number of jobs.

use crate::runner::{run, RunOptions, RunReport};
use crate::scenario::Scenario;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

/// Which part of a seed range this machine runs: shard `index` (1-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// The whole range.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Parses `K/N` with 1 ≤ K ≤ N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("shard `{text}` is not of the form K/N"))?;
        let index: u64 = index
            .trim()
            .parse()
            .map_err(|_| format!("shard `{text}`: K is not a whole number"))?;
        let count: u64 = count
            .trim()
            .parse()
            .map_err(|_| format!("shard `{text}`: N is not a whole number"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("shard `{text}` needs 1 <= K <= N"));
        }
        Ok(Shard { index, count })
    }

    /// The seeds of `range` that belong to this shard: those whose number modulo N is K−1,
    /// so a seed belongs to the same shard whatever range it is swept in.
    pub fn seeds(&self, range: std::ops::Range<u64>) -> Vec<u64> {
        range
            .filter(|seed| seed % self.count == self.index - 1)
            .collect()
    }
}

/// Parses a seed range `A..B` (B excluded), or a single seed `A`.
pub fn parse_seed_range(text: &str) -> Result<std::ops::Range<u64>, String> {
    let parse = |part: &str| {
        part.trim()
            .parse::<u64>()
            .map_err(|_| format!("seed range `{text}`: `{part}` is not a whole number"))
    };
    match text.split_once("..") {
        Some((start, end)) => {
            let (start, end) = (parse(start)?, parse(end)?);
            if start >= end {
                return Err(format!("seed range `{text}` is empty (it needs A < B)"));
            }
            Ok(start..end)
        }
        None => {
            let seed = parse(text)?;
            Ok(seed..seed.saturating_add(1))
        }
    }
}

/// Runs every seed on `jobs` workers and hands each report to `on_report` in seed order,
/// keeping none: a report that finishes early waits in a reorder buffer no larger than the
/// number of workers (seeds are handed out in order), so memory stays flat however many
/// seeds a sweep has.
pub fn sweep_each(
    scenario: &Scenario,
    seeds: &[u64],
    jobs: usize,
    options: RunOptions,
    mut on_report: impl FnMut(RunReport),
) {
    let jobs = jobs.clamp(1, seeds.len().max(1));
    let scenario = Arc::new(scenario.clone());
    let seeds: Arc<Vec<u64>> = Arc::new(seeds.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let (sender, receiver) = mpsc::channel::<(usize, RunReport)>();
    let workers: Vec<_> = (0..jobs)
        .map(|_| {
            let scenario = Arc::clone(&scenario);
            let seeds = Arc::clone(&seeds);
            let next = Arc::clone(&next);
            let sender = sender.clone();
            std::thread::spawn(move || loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(seed) = seeds.get(index) else {
                    break;
                };
                let report = run(&scenario, *seed, options);
                if sender.send((index, report)).is_err() {
                    break;
                }
            })
        })
        .collect();
    drop(sender);
    let mut waiting: BTreeMap<usize, RunReport> = BTreeMap::new();
    let mut next_to_deliver = 0;
    for (index, report) in receiver {
        waiting.insert(index, report);
        while let Some(report) = waiting.remove(&next_to_deliver) {
            on_report(report);
            next_to_deliver += 1;
        }
    }
    for worker in workers {
        let _ = worker.join();
    }
}

/// Runs every seed on `jobs` workers and returns the reports in seed order. `on_report`
/// sees each one as it is delivered (for progress). Keeps every report: for very large
/// sweeps prefer [`sweep_each`].
pub fn sweep(
    scenario: &Scenario,
    seeds: &[u64],
    jobs: usize,
    options: RunOptions,
    mut on_report: impl FnMut(&RunReport),
) -> Vec<RunReport> {
    let mut reports = Vec::with_capacity(seeds.len());
    sweep_each(scenario, seeds, jobs, options, |report| {
        on_report(&report);
        reports.push(report);
    });
    reports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_each_delivers_in_seed_order_whatever_the_jobs() {
        let scenario = Scenario {
            name: "order".to_string(),
            producers: Vec::new(),
            consumers: Vec::new(),
            brokers: 1,
            topics: vec![watermark_broker_core::config::TopicConfig {
                replication_factor: 1,
                ..Default::default()
            }],
            phases: crate::scenario::Phases {
                safety_ms: 100,
                liveness_ms_max: 100,
                ..Default::default()
            },
            ..Scenario::default()
        };
        let seeds: Vec<u64> = (0..12).rev().collect();
        let mut delivered = Vec::new();
        sweep_each(&scenario, &seeds, 3, RunOptions::default(), |report| {
            delivered.push(report.seed)
        });
        assert_eq!(delivered, seeds);
    }

    #[test]
    fn shards_split_a_range_without_overlap_or_gap() {
        let mut all: Vec<u64> = (1..=3)
            .flat_map(|index| Shard { index, count: 3 }.seeds(10..20))
            .collect();
        all.sort();
        assert_eq!(all, (10..20).collect::<Vec<_>>());
    }

    #[test]
    fn bad_shards_and_ranges_are_rejected_with_a_reason() {
        assert!(Shard::parse("0/3").is_err());
        assert!(Shard::parse("4/3").is_err());
        assert!(Shard::parse("x").is_err());
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        assert!(parse_seed_range("5..5").unwrap_err().contains("empty"));
        assert!(parse_seed_range("a..5").is_err());
        assert_eq!(parse_seed_range("0..2000"), Ok(0..2000));
        assert_eq!(parse_seed_range("7"), Ok(7..8));
    }
}
