//! Sweeps: many seeds of one scenario, in parallel on `jobs` worker threads (each run still
//! gets its own fresh thread, so results do not depend on which worker ran it), optionally
//! one shard of the range so several machines can split a sweep. Results come back in seed
//! order whatever the number of jobs.

use crate::runner::{run, RunOptions, RunReport};
use crate::scenario::Scenario;
use crate::seed_set::SeedSet;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    /// so a seed belongs to the same shard whatever range it is swept in. Computed as they
    /// run, never listed.
    pub fn seeds(&self, range: std::ops::Range<u64>) -> SeedSet {
        SeedSet::Range {
            range,
            shard: *self,
        }
    }
}

/// The forms a seed set may take, as error messages list them.
pub const SEED_FORMS: &str = "`N` (one seed), `A..B` (B excluded) or `A..=B` (B included)";

/// Parses the seeds a user writes: `N` (one seed), `A..B` (B excluded) or `A..=B` (B
/// included), as the half-open range the sweep runs. Every error names what was written and
/// the three forms, so a user never has to guess which one the tool wanted.
pub fn parse_seed_range(text: &str) -> Result<std::ops::Range<u64>, String> {
    let bad = |why: &str| format!("seeds `{text}`: {why}; write {SEED_FORMS}");
    let parse = |part: &str| match part.trim() {
        "" => Err(bad("a number is missing")),
        part => part
            .parse::<u64>()
            .map_err(|_| bad(&format!("`{part}` is not a whole number"))),
    };
    let (start, end) = if let Some((start, last)) = text.split_once("..=") {
        let (start, last) = (parse(start)?, parse(last)?);
        let end = last
            .checked_add(1)
            .ok_or_else(|| bad("the last seed is too large"))?;
        (start, end)
    } else if let Some((start, end)) = text.split_once("..") {
        (parse(start)?, parse(end)?)
    } else {
        let seed = parse(text)?;
        let end = seed
            .checked_add(1)
            .ok_or_else(|| bad("the seed is too large"))?;
        (seed, end)
    };
    if start >= end {
        return Err(bad("the range is empty"));
    }
    Ok(start..end)
}

/// Runs every seed on `jobs` workers and hands each report to `on_report` in seed order,
/// keeping none: a report that finishes early waits in a reorder buffer no larger than the
/// number of workers (seeds are handed out in order), so memory stays flat however many
/// seeds a sweep has.
pub fn sweep_each(
    scenario: &Scenario,
    seeds: impl Into<SeedSet>,
    jobs: usize,
    options: RunOptions,
    mut on_report: impl FnMut(RunReport),
) {
    sweep_until(scenario, seeds, jobs, options, |report| {
        on_report(report);
        ControlFlow::Continue(())
    });
}

/// As [`sweep_each`], until `on_report` breaks. Reports are delivered in seed order, so
/// where a sweep stops depends only on the reports, never on the number of workers: the
/// seeds after the one that broke may have run on other workers, but their reports are
/// discarded unseen and no new seed starts.
pub fn sweep_until(
    scenario: &Scenario,
    seeds: impl Into<SeedSet>,
    jobs: usize,
    options: RunOptions,
    mut on_report: impl FnMut(RunReport) -> ControlFlow<()>,
) {
    let seeds: Arc<SeedSet> = Arc::new(seeds.into());
    let jobs = jobs.clamp(1, seeds.len().max(1));
    let scenario = Arc::new(scenario.clone());
    let next = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicBool::new(false));
    let (sender, receiver) = mpsc::channel::<(usize, RunReport)>();
    let workers: Vec<_> = (0..jobs)
        .map(|_| {
            let scenario = Arc::clone(&scenario);
            let seeds = Arc::clone(&seeds);
            let next = Arc::clone(&next);
            let stopped = Arc::clone(&stopped);
            let sender = sender.clone();
            std::thread::spawn(move || loop {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(seed) = seeds.get(index) else {
                    break;
                };
                let report = run(&scenario, seed, options);
                if sender.send((index, report)).is_err() {
                    break;
                }
            })
        })
        .collect();
    drop(sender);
    let mut waiting: BTreeMap<usize, RunReport> = BTreeMap::new();
    let mut next_to_deliver = 0;
    'delivery: for (index, report) in receiver.iter() {
        waiting.insert(index, report);
        while let Some(report) = waiting.remove(&next_to_deliver) {
            next_to_deliver += 1;
            if on_report(report).is_break() {
                stopped.store(true, Ordering::Relaxed);
                break 'delivery;
            }
        }
    }
    // Dropping the receiver makes a worker's next send fail, so one still running a seed
    // past the stop ends as soon as that run does.
    drop(receiver);
    for worker in workers {
        let _ = worker.join();
    }
}

/// Runs every seed on `jobs` workers and returns the reports in seed order. `on_report`
/// sees each one as it is delivered (for progress). Keeps every report: for very large
/// sweeps prefer [`sweep_each`].
pub fn sweep(
    scenario: &Scenario,
    seeds: impl Into<SeedSet>,
    jobs: usize,
    options: RunOptions,
    mut on_report: impl FnMut(&RunReport),
) -> Vec<RunReport> {
    let seeds = seeds.into();
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
        let scenario = tiny_scenario();
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
            .flat_map(|index| {
                Shard { index, count: 3 }
                    .seeds(10..20)
                    .iter()
                    .collect::<Vec<_>>()
            })
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
    }

    #[test]
    fn seeds_are_one_seed_a_half_open_range_or_an_inclusive_one() {
        assert_eq!(parse_seed_range("7"), Ok(7..8));
        assert_eq!(parse_seed_range("0..2000"), Ok(0..2000));
        assert_eq!(parse_seed_range("3..=5"), Ok(3..6));
        assert_eq!(parse_seed_range("5..=5"), Ok(5..6));
        assert_eq!(parse_seed_range(" 1 .. 4 "), Ok(1..4));
    }

    #[test]
    fn bad_seeds_name_what_was_written_and_the_three_forms() {
        for (text, why) in [
            ("5..5", "empty"),
            ("9..2", "empty"),
            ("6..=5", "empty"),
            ("a..5", "`a` is not a whole number"),
            ("1..=b", "`b` is not a whole number"),
            ("", "a number is missing"),
            ("1..", "a number is missing"),
            ("..=4", "a number is missing"),
            ("-3", "`-3` is not a whole number"),
            ("18446744073709551615", "too large"),
            ("0..=18446744073709551615", "too large"),
        ] {
            let error = parse_seed_range(text).unwrap_err();
            assert!(error.starts_with(&format!("seeds `{text}`: ")), "{error}");
            assert!(error.contains(why), "{text}: {error}");
            assert!(error.ends_with(SEED_FORMS), "{error}");
        }
    }

    fn tiny_scenario() -> Scenario {
        Scenario {
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
        }
    }

    #[test]
    fn sweep_until_stops_at_the_breaking_seed_whatever_the_jobs() {
        let seeds: Vec<u64> = (0..20).collect();
        for jobs in [1, 2, 4] {
            let mut delivered = Vec::new();
            sweep_until(
                &tiny_scenario(),
                &seeds,
                jobs,
                RunOptions::default(),
                |report| {
                    delivered.push(report.seed);
                    if report.seed == 6 {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                },
            );
            assert_eq!(delivered, (0..=6).collect::<Vec<_>>(), "jobs {jobs}");
        }
    }
}
