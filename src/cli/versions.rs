//! `watermark versions <SCENARIO>`: one scenario over seeds under every Kafka version
//! profile, and a table of which versions lose, duplicate or diverge, and why. The
//! scenario's own historical switches are set aside, so each column runs exactly the
//! switches its release had (plus `--bug`, in every column); its settings stay, and the
//! defaults it leaves out follow each release (see `watermark_sim::kafka_profile`).
//!
//! Exit codes: 0 once the table is printed (a version that loses data is the answer, not
//! a failure), 2 bad input, 3 if a run panicked.

use crate::cli::args::VersionsArgs;
use crate::cli::exit::{BadInput, Exit};
use crate::cli::outcomes::{checkers_reporting, runs_panicked, runs_showing, Outcome};
use crate::cli::source::{parse_bugs, resolve, Choice};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use watermark_broker_core::bugs::{BugSwitch, BugSwitches};
use watermark_broker_core::kafka_version::KafkaVersion;
use watermark_broker_core::protocol::Acks;
use watermark_sim::kafka_profile::missing_feature;
use watermark_sim::runner::{RunOptions, RunReport};
use watermark_sim::scenario::Scenario;
use watermark_sim::sweep::sweep;

/// What one version did with the scenario.
#[derive(Clone, Debug, Serialize)]
pub struct VersionRow {
    pub kafka: String,
    /// Why the version cannot run the scenario (it lacks a feature the scenario uses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    pub runs: usize,
    /// Runs where something acknowledged or committed was lost.
    pub lost: usize,
    /// Runs where something was stored or processed twice.
    pub duplicated: usize,
    /// Runs where replicas ended with different records at one offset.
    pub diverged: usize,
    pub panicked: usize,
    /// The checkers that reported, by the name their source gives them.
    pub checkers: Vec<String>,
    /// The release's historical switches that were on.
    pub switches: Vec<String>,
    /// The defaults of the release that differ from Kafka 4.1's in this scenario.
    pub defaults: Vec<String>,
    /// The checkers behind each outcome, for the explanation.
    #[serde(skip)]
    outcome_checkers: Vec<(Outcome, Vec<String>)>,
}

pub fn versions_command(args: &VersionsArgs) -> Result<Exit, BadInput> {
    let extra_bugs = parse_bugs(&args.bugs)?;
    let seeds: Vec<u64> = crate::cli::seed_range(&args.seeds)?.collect();
    let jobs = crate::cli::jobs(args.jobs);
    // Resolving without a profile first makes a misspelled name or file an error before
    // any run.
    let current = resolve(&args.scenario, &Choice::default())?;
    let base = &current.scenario;
    let newest = resolve_as(&args.scenario, base, KafkaVersion::V4_1, &extra_bugs)?
        .map_err(|refusal| BadInput(format!("{}: {refusal}", args.scenario)))?;
    let mut rows = Vec::new();
    for version in KafkaVersion::ALL {
        let row = match resolve_as(&args.scenario, base, *version, &extra_bugs)? {
            Err(refusal) => VersionRow::refused(*version, refusal),
            Ok(scenario) => {
                let reports = sweep(&scenario, &seeds, jobs, RunOptions::default(), |_| {});
                VersionRow::from_runs(*version, &scenario, &newest, &reports)
            }
        };
        rows.push(row);
    }
    let out = if args.json {
        rows.iter()
            .map(|row| serde_json::to_string(row).unwrap_or_default() + "\n")
            .collect()
    } else {
        table(&current.scenario.name, &args.seeds, &rows)
    };
    crate::cli::print(&out);
    Ok(if rows.iter().any(|row| row.panicked > 0) {
        Exit::Panicked
    } else {
        Exit::Met
    })
}

/// `target` as `version` runs it: the profile applied, the scenario's own historical
/// switches the release did not have set aside, `extra_bugs` on. The inner error is the
/// release lacking a feature the scenario's clients use.
fn resolve_as(
    target: &str,
    base: &Scenario,
    version: KafkaVersion,
    extra_bugs: &[BugSwitch],
) -> Result<Result<Scenario, String>, BadInput> {
    if let Some(refusal) = missing_feature(base, version) {
        return Ok(Err(refusal));
    }
    let choice = Choice {
        kafka: Some(version),
        ..Choice::default()
    };
    let mut scenario = resolve(target, &choice)?.scenario;
    let mut kept = BugSwitches::default();
    for switch in scenario.bugs.enabled() {
        if switch.affected_since().is_none() || version.has(switch) {
            kept.enable(switch);
        }
    }
    for switch in extra_bugs {
        kept.enable(*switch);
    }
    scenario.bugs = kept;
    Ok(Ok(scenario))
}

impl VersionRow {
    fn refused(version: KafkaVersion, refusal: String) -> VersionRow {
        VersionRow {
            kafka: version.name().to_string(),
            refused: Some(refusal),
            runs: 0,
            lost: 0,
            duplicated: 0,
            diverged: 0,
            panicked: 0,
            checkers: Vec::new(),
            switches: Vec::new(),
            defaults: Vec::new(),
            outcome_checkers: Vec::new(),
        }
    }

    fn from_runs(
        version: KafkaVersion,
        scenario: &Scenario,
        newest: &Scenario,
        reports: &[RunReport],
    ) -> VersionRow {
        VersionRow {
            kafka: version.name().to_string(),
            refused: None,
            runs: reports.len(),
            lost: runs_showing(reports, Outcome::Lost),
            duplicated: runs_showing(reports, Outcome::Duplicated),
            diverged: runs_showing(reports, Outcome::Diverged),
            panicked: runs_panicked(reports),
            checkers: checkers_reporting(reports, None),
            switches: scenario
                .bugs
                .enabled()
                .into_iter()
                .map(|switch| switch.name().to_string())
                .collect(),
            defaults: changed_defaults(scenario, newest),
            outcome_checkers: Outcome::ALL
                .into_iter()
                .map(|outcome| (outcome, checkers_reporting(reports, Some(outcome))))
                .collect(),
        }
    }

    fn runs_showing(&self, outcome: Outcome) -> usize {
        match outcome {
            Outcome::Lost => self.lost,
            Outcome::Duplicated => self.duplicated,
            Outcome::Diverged => self.diverged,
        }
    }

    /// The release's switches and changed defaults.
    fn differences(&self) -> Vec<&String> {
        self.switches.iter().chain(&self.defaults).collect()
    }
}

/// The settings `scenario` runs with that differ from the same scenario on Kafka 4.1.
fn changed_defaults(scenario: &Scenario, newest: &Scenario) -> Vec<String> {
    let mut changed = Vec::new();
    if scenario.eligible_leader_replicas_enable != newest.eligible_leader_replicas_enable {
        changed.push(if scenario.eligible_leader_replicas_enable {
            "eligible leader replicas on".to_string()
        } else {
            "no eligible leader replicas".to_string()
        });
    }
    let unclean = |scenario: &Scenario| {
        scenario
            .topics
            .iter()
            .any(|topic| topic.unclean_leader_election_enable)
    };
    if unclean(scenario) && !unclean(newest) {
        changed.push("unclean.leader.election.enable=true".to_string());
    }
    let producers = scenario.producers.iter().zip(&newest.producers);
    for (index, (old, new)) in producers.enumerate() {
        if old.config.acks != new.config.acks {
            let acks = match old.config.acks {
                Acks::None => "0",
                Acks::Leader => "1",
                Acks::All => "all",
            };
            changed.push(format!("producer {index}: acks={acks}"));
        }
        if old.config.retries != new.config.retries {
            changed.push(format!("producer {index}: retries={}", old.config.retries));
        }
        if old.config.enable_idempotence != new.config.enable_idempotence {
            changed.push(format!("producer {index}: not idempotent"));
        }
    }
    changed
}

/// The table, then for each outcome the versions that showed it and what they have in
/// common that the others lack.
fn table(name: &str, seeds: &str, rows: &[VersionRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{name}, seeds {seeds}: runs that lost, duplicated or diverged under each Kafka version\n"
    );
    let _ = writeln!(
        out,
        "{:<7} {:>5} {:>5} {:>10} {:>8}  switches and defaults of that release",
        "kafka", "runs", "lost", "duplicated", "diverged"
    );
    for row in rows {
        if let Some(refusal) = &row.refused {
            let _ = writeln!(out, "{:<7} n/a: {refusal}", row.kafka);
            continue;
        }
        let differences: Vec<&str> = row.differences().into_iter().map(String::as_str).collect();
        let differences = if differences.is_empty() {
            "–".to_string()
        } else {
            differences.join(", ")
        };
        let _ = writeln!(
            out,
            "{:<7} {:>5} {:>5} {:>10} {:>8}  {differences}",
            row.kafka, row.runs, row.lost, row.duplicated, row.diverged
        );
    }
    out.push('\n');
    for outcome in Outcome::ALL {
        out.push_str(&explain_outcome(outcome, rows));
    }
    out
}

/// One outcome: which versions showed it, by which checkers, and why — what every version
/// that showed it has and no version that ran clean of it has.
fn explain_outcome(outcome: Outcome, rows: &[VersionRow]) -> String {
    let ran: Vec<&VersionRow> = rows.iter().filter(|row| row.refused.is_none()).collect();
    let (showing, clean): (Vec<&VersionRow>, Vec<&VersionRow>) =
        ran.iter().partition(|row| row.runs_showing(outcome) > 0);
    if showing.is_empty() {
        return format!("{}: no version.\n", outcome.name());
    }
    let versions: Vec<&str> = showing.iter().map(|row| row.kafka.as_str()).collect();
    let checkers: BTreeSet<&String> = showing
        .iter()
        .flat_map(|row| &row.outcome_checkers)
        .filter(|(shown, _)| *shown == outcome)
        .flat_map(|(_, names)| names)
        .collect();
    let checkers: Vec<&str> = checkers.into_iter().map(String::as_str).collect();
    let mut out = format!(
        "{}: Kafka {} ({}).",
        outcome.name(),
        versions.join(", "),
        checkers.join(", ")
    );
    if clean.is_empty() {
        out.push_str(" Every version: the scenario's settings and faults decide, not a release.\n");
        return out;
    }
    let in_clean: BTreeSet<&String> = clean.iter().flat_map(|row| row.differences()).collect();
    let mut common: Vec<&String> = showing[0].differences();
    common.retain(|cause| {
        !in_clean.contains(cause) && showing.iter().all(|row| row.differences().contains(cause))
    });
    if common.is_empty() {
        return out + &explain_by_cover(&showing, &in_clean);
    }
    out.push_str(" What those versions have and the others do not:\n");
    for cause in common {
        let _ = writeln!(out, "  - {}", cause_line(cause));
    }
    out
}

/// When no single switch or default explains an outcome, the fewest that do together: each
/// version showing it has one of them, and no clean version has any (KIP-101's and
/// KIP-279's divergences, say, are different switches in different releases). Chosen
/// greedily, most versions first, ties to the earlier name.
fn explain_by_cover(showing: &[&VersionRow], in_clean: &BTreeSet<&String>) -> String {
    let candidates: BTreeSet<&String> = showing
        .iter()
        .flat_map(|row| row.differences())
        .filter(|cause| !in_clean.contains(cause))
        .collect();
    let mut uncovered: Vec<&VersionRow> = showing.to_vec();
    let mut cover: Vec<(&String, Vec<&str>)> = Vec::new();
    while !uncovered.is_empty() {
        let covers = |cause: &String| {
            uncovered
                .iter()
                .filter(|row| row.differences().contains(&cause))
                .count()
        };
        let Some(best) = candidates
            .iter()
            .copied()
            .max_by_key(|cause| (covers(cause), std::cmp::Reverse(*cause)))
            .filter(|cause| covers(cause) > 0)
        else {
            break;
        };
        let (covered, rest): (Vec<&VersionRow>, Vec<&VersionRow>) = uncovered
            .into_iter()
            .partition(|row| row.differences().contains(&best));
        cover.push((best, covered.iter().map(|row| row.kafka.as_str()).collect()));
        uncovered = rest;
    }
    if !uncovered.is_empty() {
        let versions: Vec<&str> = uncovered.iter().map(|row| row.kafka.as_str()).collect();
        return format!(
            " Kafka {} has no switch or default that every clean version lacks: the seeds, not \
             a release, decide there.\n",
            versions.join(", ")
        );
    }
    let mut out = String::from(
        " No one switch or default explains every version; each version showing it has one of \
         these, which no clean version has:\n",
    );
    for (cause, versions) in cover {
        let _ = writeln!(out, "  - in {}: {}", versions.join(", "), cause_line(cause));
    }
    out
}

/// A cause as the explanation prints it: a switch with its KIP or JIRA, fixed release and
/// description, or a changed default as it is.
fn cause_line(cause: &str) -> String {
    match cause.parse::<BugSwitch>() {
        Ok(switch) => format!(
            "{cause} ({}, fixed in {}): {}",
            switch.changed_by().unwrap_or("planted"),
            switch.fixed_in().unwrap_or("no release"),
            switch.description()
        ),
        Err(_) => cause.to_string(),
    }
}
