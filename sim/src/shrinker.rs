//! `watermark shrink`'s search: from a failing run (a scenario and a seed) to a smaller
//! scenario whose run with the same seed still fails with the same checker.
//!
//! Every candidate is one simulated run with the original seed; determinism makes the
//! search sound (the same candidate always fails or always passes). The steps, in the order
//! their savings are valued:
//!
//! 1. the swarm written out ([`Shrinkable::materialise`]), once, checked to fail as the
//!    original did;
//! 2. fewer faults: delta debugging ([`ddmin`]) over the fault units;
//! 3. shorter faults: each fault's repair brought forward by half, again while it fails;
//! 4. triggers replaced by scheduled faults at the moment each fired (one run with records
//!    says when);
//! 5. fewer records: each producer's count halved while it fails;
//! 6. fewer clients: each producer, then each consumer, removed if it still fails;
//! 7. fewer brokers, while every topic keeps its replication factor.
//!
//! The steps repeat while a round made the scenario smaller. A bound on runs stops the
//! search early with the smallest failing scenario found so far. "The same violation" is
//! the same checker among those failing the run ([`failing_checkers`]); a candidate that
//! panics, passes or fails only for other reasons is not kept.

use crate::checkers::Checker;
use crate::ddmin::{ddmin, Outcome};
use crate::failure::{failing_checkers, Failure};
use crate::runner::{run, RunOptions, RunReport};
use crate::scenario::Scenario;
use crate::shrink::{FaultUnit, Shrinkable, Size};
use std::collections::BTreeMap;
use std::fmt;

/// Runs a search may make, when the caller does not say.
pub const RUNS_MAX_DEFAULT: usize = 300;

/// What the search may do.
#[derive(Clone, Debug)]
pub struct ShrinkOptions {
    /// Candidate runs at most (the two runs that check the original and its written-out
    /// form are not counted).
    pub runs_max: usize,
    /// The checker whose violation the shrunk scenario must keep; `None`: the first of the
    /// original run's failing checkers.
    pub checker: Option<Checker>,
}

impl Default for ShrinkOptions {
    fn default() -> Self {
        ShrinkOptions {
            runs_max: RUNS_MAX_DEFAULT,
            checker: None,
        }
    }
}

/// A step of the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Faults,
    Durations,
    Triggers,
    Records,
    Clients,
    Brokers,
}

impl Step {
    const ALL: [Step; 6] = [
        Step::Faults,
        Step::Durations,
        Step::Triggers,
        Step::Records,
        Step::Clients,
        Step::Brokers,
    ];
}

impl fmt::Display for Step {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Step::Faults => "faults",
            Step::Durations => "durations",
            Step::Triggers => "triggers",
            Step::Records => "records",
            Step::Clients => "clients",
            Step::Brokers => "brokers",
        })
    }
}

/// One candidate run, for progress reports.
#[derive(Clone, Debug)]
pub struct Tried {
    /// Runs so far, this one included.
    pub run: usize,
    pub runs_max: usize,
    pub step: Step,
    /// What the candidate changed, in a few words.
    pub change: String,
    /// It failed with the same checker (and was kept).
    pub reproduced: bool,
    /// The smallest failing scenario so far, this candidate included.
    pub best: Size,
}

/// A scenario's size and how many of its faults applied in its run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Measured {
    #[serde(flatten)]
    pub size: Size,
    pub faults_applied: usize,
}

/// What the search found.
#[derive(Clone, Debug)]
pub struct Shrunk {
    pub checker: Checker,
    /// The original, with the swarm written out.
    pub original: Measured,
    pub shrunk: Measured,
    /// The smallest failing scenario, as `prepare` made it (what a file would load as).
    pub scenario: Scenario,
    /// Its run (made once more at the end): it fails with `checker`.
    pub report: RunReport,
    /// Candidate runs made.
    pub runs: usize,
    pub runs_max: usize,
    /// The bound on runs ended the search before every step was done.
    pub stopped: bool,
}

/// Why there is nothing to shrink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The original run meets its expectation.
    Passes,
    /// The original run panicked: no checker ran.
    Panicked(String),
    /// The original run fails, but no checker's findings fail it (a missing mark or
    /// anomaly, a fault not applied).
    NoFailingChecker(Vec<Failure>),
    /// The checker asked for does not fail the original run.
    CheckerNotFailing {
        checker: Checker,
        failing: Vec<Checker>,
    },
    /// The scenario with its swarm written out cannot be written (`prepare` refused it).
    Unwritable(String),
    /// The scenario with its swarm written out does not fail with the checker (its run
    /// fails with these instead).
    NotReproducedWrittenOut { failing: Vec<Checker> },
}

impl fmt::Display for Refusal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |checkers: &[Checker]| {
            if checkers.is_empty() {
                "none".to_string()
            } else {
                checkers
                    .iter()
                    .map(|checker| checker.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        match self {
            Refusal::Passes => write!(
                formatter,
                "the run meets its expectation: there is no failure to shrink"
            ),
            Refusal::Panicked(message) => write!(
                formatter,
                "the run panicked ({message}): shrink keeps a checker's violation, and a \
                 panicked run has none"
            ),
            Refusal::NoFailingChecker(failures) => {
                let failures: Vec<String> = failures.iter().map(ToString::to_string).collect();
                write!(
                    formatter,
                    "the run fails, but not because of a checker ({}): shrink keeps a \
                     checker's violation",
                    failures.join("; ")
                )
            }
            Refusal::CheckerNotFailing { checker, failing } => write!(
                formatter,
                "checker {checker} does not fail this run; failing checkers: {}",
                names(failing)
            ),
            Refusal::Unwritable(problem) => write!(
                formatter,
                "the scenario with its swarm written out cannot be written: {problem}"
            ),
            Refusal::NotReproducedWrittenOut { failing } => write!(
                formatter,
                "the scenario with its swarm written out as scheduled faults does not fail \
                 the same way (failing checkers: {})",
                names(failing)
            ),
        }
    }
}

/// Whether a run fails with `checker` among its failing checkers.
pub fn reproduces(report: &RunReport, checker: Checker) -> bool {
    report.panic.is_none()
        && !report.passed
        && failing_checkers(&report.failures, &report.violations).contains(&checker)
}

/// Turns a candidate into the scenario that runs: the shrinker's caller writes it as a file
/// would be written and reads it back, so that what runs is what the file will say; an
/// `Err` (the file would be refused) skips the candidate without a run.
pub type Prepare<'a> = &'a dyn Fn(&Scenario) -> Result<Scenario, String>;

/// Shrinks the failing run of `scenario` with `seed`. `progress` hears of every candidate
/// run.
pub fn shrink(
    scenario: &Scenario,
    seed: u64,
    options: &ShrinkOptions,
    prepare: Prepare<'_>,
    progress: &mut dyn FnMut(&Tried),
) -> Result<Shrunk, Refusal> {
    let original_report = run(scenario, seed, RunOptions::default());
    if let Some(message) = &original_report.panic {
        return Err(Refusal::Panicked(message.clone()));
    }
    if original_report.passed {
        return Err(Refusal::Passes);
    }
    let failing = failing_checkers(&original_report.failures, &original_report.violations);
    let checker = match options.checker {
        Some(checker) if failing.contains(&checker) => checker,
        Some(checker) => return Err(Refusal::CheckerNotFailing { checker, failing }),
        None => *failing
            .first()
            .ok_or_else(|| Refusal::NoFailingChecker(original_report.failures.clone()))?,
    };
    let written_out = Shrinkable::materialise(scenario, seed);
    let prepared = prepare(&written_out.scenario()).map_err(Refusal::Unwritable)?;
    let written_report = run(&prepared, seed, RunOptions::default());
    if !reproduces(&written_report, checker) {
        return Err(Refusal::NotReproducedWrittenOut {
            failing: failing_checkers(&written_report.failures, &written_report.violations),
        });
    }
    let original = Measured {
        size: written_out.size(),
        faults_applied: written_out.applied_faults(&original_report.faults_not_applied),
    };
    let mut search = Search {
        seed,
        checker,
        runs: 0,
        runs_max: options.runs_max,
        prepare,
        progress,
        tried: BTreeMap::new(),
        best: written_out,
    };
    let stopped = search.all_steps().is_err();
    // Every kept candidate was prepared and ran before; its report is made again here
    // rather than kept from every candidate.
    let best = search.best;
    let scenario = prepare(&best.scenario()).map_err(Refusal::Unwritable)?;
    let report = run(&scenario, seed, RunOptions::default());
    Ok(Shrunk {
        checker,
        original,
        shrunk: Measured {
            size: best.size(),
            faults_applied: best.applied_faults(&report.faults_not_applied),
        },
        scenario,
        report,
        runs: search.runs,
        runs_max: search.runs_max,
        stopped,
    })
}

/// The bound on runs is reached.
struct Spent;

struct Search<'a> {
    seed: u64,
    checker: Checker,
    runs: usize,
    runs_max: usize,
    prepare: Prepare<'a>,
    progress: &'a mut dyn FnMut(&Tried),
    /// Every candidate run so far (as JSON) and whether it reproduced: the same candidate
    /// met again, in another step or round, is not run twice.
    tried: BTreeMap<String, bool>,
    /// The smallest scenario found so far that fails with the checker.
    best: Shrinkable,
}

impl Search<'_> {
    /// Every step, in rounds, until a round changes nothing.
    fn all_steps(&mut self) -> Result<(), Spent> {
        loop {
            let before = self.best.clone();
            for step in Step::ALL {
                match step {
                    Step::Faults => self.fewer_faults()?,
                    Step::Durations => self.shorter_faults()?,
                    Step::Triggers => self.triggers_at_their_moments()?,
                    Step::Records => self.fewer_records()?,
                    Step::Clients => self.fewer_clients()?,
                    Step::Brokers => self.fewer_brokers()?,
                }
            }
            if self.best == before {
                return Ok(());
            }
        }
    }

    /// Runs `candidate` (unless it ran before) and says whether it fails with the checker;
    /// one that does becomes the best (every step keeps what fails: ddmin narrows to it, the
    /// others adopt it).
    fn attempt(&mut self, candidate: &Shrinkable, step: Step, change: &str) -> Outcome {
        let Ok(scenario) = (self.prepare)(&candidate.scenario()) else {
            return Outcome::Passes;
        };
        let key = serde_json::to_string(&scenario).unwrap_or_default();
        if let Some(reproduced) = self.tried.get(&key) {
            return if *reproduced {
                self.best = candidate.clone();
                Outcome::Fails
            } else {
                Outcome::Passes
            };
        }
        if self.runs >= self.runs_max {
            return Outcome::Stop;
        }
        self.runs += 1;
        let report = run(&scenario, self.seed, RunOptions::default());
        let reproduced = reproduces(&report, self.checker);
        self.tried.insert(key, reproduced);
        if reproduced {
            self.best = candidate.clone();
        }
        (self.progress)(&Tried {
            run: self.runs,
            runs_max: self.runs_max,
            step,
            change: change.to_string(),
            reproduced,
            best: self.best.size(),
        });
        if reproduced {
            Outcome::Fails
        } else {
            Outcome::Passes
        }
    }

    /// Tries `candidate` and says whether it was kept.
    fn keep(&mut self, candidate: Shrinkable, step: Step, change: &str) -> Result<bool, Spent> {
        match self.attempt(&candidate, step, change) {
            Outcome::Fails => Ok(true),
            Outcome::Passes => Ok(false),
            Outcome::Stop => Err(Spent),
        }
    }

    fn fewer_faults(&mut self) -> Result<(), Spent> {
        let start = self.best.clone();
        let total = start.units.len();
        let minimised = ddmin(&start.units, |kept: &[FaultUnit]| {
            let candidate = start.with_units(kept.to_vec());
            let change = format!("{} of {total} faults: {}", kept.len(), unit_names(kept));
            self.attempt(&candidate, Step::Faults, &change)
        });
        self.best = start.with_units(minimised.items);
        if minimised.stopped {
            Err(Spent)
        } else {
            Ok(())
        }
    }

    fn shorter_faults(&mut self) -> Result<(), Spent> {
        for index in 0..self.best.units.len() {
            while let Some(shorter) = self.best.halved(index) {
                let safety_ms = shorter.base.phases.safety_ms;
                let unit = &shorter.units[index];
                let change = format!(
                    "{} lasting {} ms",
                    unit_name(unit),
                    unit.duration_ms(safety_ms)
                );
                if !self.keep(shorter, Step::Durations, &change)? {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Each trigger that fired replaced by its faults at that moment. The moments come from
    /// one run of the best scenario with its records.
    fn triggers_at_their_moments(&mut self) -> Result<(), Spent> {
        if self.best.units.iter().all(|unit| unit.trigger.is_none()) {
            return Ok(());
        }
        if self.runs >= self.runs_max {
            return Err(Spent);
        }
        let Ok(scenario) = (self.prepare)(&self.best.scenario()) else {
            return Ok(());
        };
        self.runs += 1;
        let with_records = RunOptions {
            keep_records: true,
            ..RunOptions::default()
        };
        let report = run(&scenario, self.seed, with_records);
        let fired = self.best.trigger_fire_times(&report.records);
        for (index, fired_ms) in fired.into_iter().enumerate() {
            let Some(fired_ms) = fired_ms else {
                continue;
            };
            let Some(replaced) = self.best.trigger_replaced(index, fired_ms) else {
                continue;
            };
            let change = format!(
                "{} scheduled at {fired_ms} ms, when it fired",
                unit_name(&self.best.units[index])
            );
            self.keep(replaced, Step::Triggers, &change)?;
        }
        Ok(())
    }

    fn fewer_records(&mut self) -> Result<(), Spent> {
        for producer in 0..self.best.base.producers.len() {
            loop {
                let records = self.best.base.producers[producer].records / 2;
                let Some(fewer) = self.best.with_records(producer, records) else {
                    break;
                };
                let change = format!("producer {producer} sending {records} records");
                if !self.keep(fewer, Step::Records, &change)? {
                    break;
                }
            }
        }
        Ok(())
    }

    fn fewer_clients(&mut self) -> Result<(), Spent> {
        for producer in (0..self.best.base.producers.len()).rev() {
            if let Some(fewer) = self.best.without_producer(producer) {
                self.keep(
                    fewer,
                    Step::Clients,
                    &format!("without producer {producer}"),
                )?;
            }
        }
        for consumer in (0..self.best.base.consumers.len()).rev() {
            if let Some(fewer) = self.best.without_consumer(consumer) {
                self.keep(
                    fewer,
                    Step::Clients,
                    &format!("without consumer {consumer}"),
                )?;
            }
        }
        Ok(())
    }

    fn fewer_brokers(&mut self) -> Result<(), Spent> {
        while let Some(fewer) = self.best.without_last_broker() {
            let change = format!("{} brokers", fewer.base.brokers);
            if !self.keep(fewer, Step::Brokers, &change)? {
                break;
            }
        }
        Ok(())
    }
}

/// A unit as progress lines name it: its label, else its first fault's time.
fn unit_name(unit: &FaultUnit) -> String {
    let label = unit
        .trigger
        .as_ref()
        .and_then(|trigger| trigger.label.clone())
        .or_else(|| {
            unit.scheduled
                .first()
                .and_then(|timed| timed.scripted.label.clone())
        });
    match (label, unit.scheduled.first()) {
        (Some(label), _) => label,
        (None, Some(timed)) => format!("the fault at {} ms", timed.scripted.at_ms),
        (None, None) => "a trigger".to_string(),
    }
}

/// Up to four units by name, else how many.
fn unit_names(units: &[FaultUnit]) -> String {
    match units.len() {
        0 => "none".to_string(),
        1..=4 => units.iter().map(unit_name).collect::<Vec<_>>().join(", "),
        _ => format!(
            "{}, ... ({} more)",
            units[..3]
                .iter()
                .map(unit_name)
                .collect::<Vec<_>>()
                .join(", "),
            units.len() - 3
        ),
    }
}
