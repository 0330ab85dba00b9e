//! `watermark merge`: one summary from the `--json` outputs of a sweep split into shards
//! (`sweep --shard K/N` on N machines, as the CI matrix and the Kubernetes indexed Job in
//! `deploy/` run it). Each file's last line is its shard's summary; the merged summary has
//! the grouping a local sweep of the whole range would print: counts added, failure groups
//! added by reason, and every "first" the first in scenario order, then seed order, as a
//! local sweep counts them. The shards must be of one sweep (same scenarios, seeds, switches
//! and shard count), each exactly once and none missing, or nothing is merged.

use crate::cli::args::MergeArgs;
use crate::cli::exit::{BadInput, Exit};
use crate::cli::sweep_summary::{summary_text, Summary};
use std::collections::BTreeMap;
use std::path::Path;
use watermark_sim::sweep::Shard;

pub fn merge_command(args: &MergeArgs) -> Result<Exit, BadInput> {
    let mut shards = Vec::new();
    for path in &args.files {
        shards.push(read_summary(path)?);
    }
    let merged = merge(&shards)?;
    if args.json {
        let line = serde_json::to_string(&merged).map_err(|error| {
            BadInput(format!(
                "could not write the merged summary as JSON: {error}"
            ))
        })?;
        crate::cli::print(&format!("{line}\n"));
    } else {
        crate::cli::print(&summary_text(&merged));
    }
    Ok(exit_for(&merged))
}

/// A shard's summary: the last non-empty line of a `sweep --json` output.
fn read_summary(path: &Path) -> Result<(String, Summary), BadInput> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|error| BadInput(format!("{name}: cannot read it: {error}")))?;
    let last = text
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .ok_or_else(|| {
            BadInput(format!(
                "{name}: empty: expected the output of `watermark sweep --json`"
            ))
        })?;
    let summary: Summary = serde_json::from_str(last).map_err(|_| {
        BadInput(format!(
            "{name}: its last line is not a sweep summary: expected the output of `watermark sweep --json`"
        ))
    })?;
    if summary.kind != "sweep-summary" {
        return Err(BadInput(format!(
            "{name}: its last line is of kind `{}`, not `sweep-summary`",
            summary.kind
        )));
    }
    Ok((name, summary))
}

/// The summary of the whole sweep the shards split.
pub fn merge(shards: &[(String, Summary)]) -> Result<Summary, BadInput> {
    let Some((first_name, first)) = shards.first() else {
        return Err(BadInput(
            "merge needs at least one sweep output".to_string(),
        ));
    };
    let count = Shard::parse(&first.shard)
        .map_err(|error| BadInput(format!("{first_name}: {error}")))?
        .count;
    let mut seen: BTreeMap<u64, &str> = BTreeMap::new();
    for (name, summary) in shards {
        check_same_sweep(first_name, first, name, summary)?;
        let shard =
            Shard::parse(&summary.shard).map_err(|error| BadInput(format!("{name}: {error}")))?;
        if let Some(earlier) = seen.insert(shard.index, name) {
            return Err(BadInput(format!(
                "{name} and {earlier} are both shard {}: each shard may be merged once",
                summary.shard
            )));
        }
    }
    if seen.len() as u64 != count {
        let missing: Vec<String> = (1..=count)
            .filter(|index| !seen.contains_key(index))
            .take(10)
            .map(|index| format!("{index}/{count}"))
            .collect();
        return Err(BadInput(format!(
            "shard(s) {} missing: a merge of part of a sweep would under-count it",
            missing.join(", ")
        )));
    }
    let mut merged = Summary {
        scenarios: first.scenarios.clone(),
        seeds: first.seeds.clone(),
        shard: format!("1-{count}/{count}"),
        bugs: first.bugs.clone(),
        kafka: first.kafka.clone(),
        ..Summary::new()
    };
    for (_, summary) in shards {
        absorb(&mut merged, summary);
    }
    Ok(merged)
}

/// Refuses a shard of another sweep.
fn check_same_sweep(
    first_name: &str,
    first: &Summary,
    name: &str,
    summary: &Summary,
) -> Result<(), BadInput> {
    let count = |summary: &Summary| {
        summary
            .shard
            .split_once('/')
            .map(|(_, count)| count.to_string())
    };
    let differs = |what: &str, left: String, right: String| {
        BadInput(format!(
            "{name} is not a shard of the sweep {first_name} is: its {what} is {right}, not {left}"
        ))
    };
    if summary.scenarios != first.scenarios {
        return Err(differs(
            "scenario list",
            first.scenarios.join(","),
            summary.scenarios.join(","),
        ));
    }
    if summary.seeds != first.seeds {
        return Err(differs(
            "seed range",
            first.seeds.clone(),
            summary.seeds.clone(),
        ));
    }
    if summary.bugs != first.bugs {
        return Err(differs(
            "switch list",
            first.bugs.join(","),
            summary.bugs.join(","),
        ));
    }
    if summary.kafka != first.kafka {
        return Err(differs(
            "Kafka version",
            first.kafka.clone().unwrap_or_else(|| "4.1".to_string()),
            summary.kafka.clone().unwrap_or_else(|| "4.1".to_string()),
        ));
    }
    if count(summary) != count(first) {
        return Err(differs("shard", first.shard.clone(), summary.shard.clone()));
    }
    Ok(())
}

/// Adds one shard's summary to `merged`.
fn absorb(merged: &mut Summary, shard: &Summary) {
    let order = |scenario: &str, seed: u64| {
        let position = merged.scenarios.iter().position(|name| name == scenario);
        (position.unwrap_or(usize::MAX), seed)
    };
    merged.runs += shard.runs;
    merged.passed += shard.passed;
    merged.failed += shard.failed;
    merged.panicked += shard.panicked;
    merged.jobs += shard.jobs;
    merged.wall_ms = merged.wall_ms.max(shard.wall_ms);
    merged.seeds_per_s += shard.seeds_per_s;
    for (checker, runs) in &shard.violations_by_checker {
        *merged
            .violations_by_checker
            .entry(checker.clone())
            .or_default() += runs;
    }
    for (verdict, runs) in &shard.ordering {
        *merged.ordering.entry(verdict.clone()).or_default() += runs;
    }
    for group in &shard.failure_groups {
        match merged
            .failure_groups
            .iter_mut()
            .find(|merged_group| merged_group.reason == group.reason)
        {
            Some(merged_group) => {
                merged_group.seeds += group.seeds;
                if order(&group.first_scenario, group.first_seed)
                    < order(&merged_group.first_scenario, merged_group.first_seed)
                {
                    merged_group.first_scenario = group.first_scenario.clone();
                    merged_group.first_seed = group.first_seed;
                    merged_group.replay = group.replay.clone();
                }
            }
            None => merged.failure_groups.push(group.clone()),
        }
    }
    // As a local sweep orders them: most seeds first, ties by name.
    merged.failure_groups.sort_by(|left, right| {
        right
            .seeds
            .cmp(&left.seeds)
            .then_with(|| left.reason.cmp(&right.reason))
    });
    if let Some(failure) = &shard.first_failure {
        let earlier = merged.first_failure.as_ref().is_some_and(|current| {
            order(&current.scenario, current.seed) < order(&failure.scenario, failure.seed)
        });
        if !earlier {
            merged.first_failure = Some(failure.clone());
        }
    }
    if let Some(stop) = &shard.stopped {
        let earlier = merged.stopped.as_ref().is_some_and(|current| {
            order(&current.scenario, current.seed) < order(&stop.scenario, stop.seed)
        });
        if !earlier {
            let mut stop = stop.clone();
            stop.text = format!("shard {} {}", shard.shard, stop.text);
            merged.stopped = Some(stop);
        }
    }
}

/// 3 if a run panicked, else 1 if one failed, else 0: a local sweep's exit.
fn exit_for(summary: &Summary) -> Exit {
    if summary.panicked > 0 {
        Exit::Panicked
    } else if summary.failed > 0 {
        Exit::NotMet
    } else {
        Exit::Met
    }
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
