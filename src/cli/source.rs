//! Where a scenario comes from: a catalogue name, or a TOML file (a path ending in `.toml`),
//! with the `--bug` switches of the command line OR-ed into the scenario's own. Every way
//! this can go wrong is a [`BadInput`] with a message that says what to type instead.

use crate::cli::exit::BadInput;
use std::path::Path;
use std::str::FromStr;
use watermark_broker_core::bugs::BugSwitch;
use watermark_sim::scenario::Scenario;

/// A scenario ready to run, and how to name it in a replay command.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub scenario: Scenario,
    /// What to pass to `watermark run` to get this scenario again: its catalogue name or the
    /// file path as given.
    pub target: String,
    /// The switches given on the command line (the scenario's own are part of it already).
    pub extra_bugs: Vec<BugSwitch>,
}

/// Parses `--bug` values with [`BugSwitch`]'s own message for an unknown name. Duplicates
/// collapse and the order is fixed, so replay commands come out the same however the user
/// wrote them.
pub fn parse_bugs(names: &[String]) -> Result<Vec<BugSwitch>, BadInput> {
    let mut switches = names
        .iter()
        .map(|name| BugSwitch::from_str(name.trim()).map_err(BadInput))
        .collect::<Result<Vec<_>, _>>()?;
    switches.sort();
    switches.dedup();
    Ok(switches)
}

/// The known catalogue names, for error messages.
pub fn known_names() -> String {
    let names = watermark_scenarios::names();
    if names.is_empty() {
        "none: the catalogue is empty".to_string()
    } else {
        names.join(", ")
    }
}

/// Finds `target` (a catalogue name, or a path ending in `.toml`), turns on `extra_bugs`
/// and checks that the result can run.
pub fn resolve(target: &str, extra_bugs: &[BugSwitch]) -> Result<Resolved, BadInput> {
    let mut scenario = if target.ends_with(".toml") {
        watermark_scenarios::load_file(Path::new(target)).map_err(BadInput)?
    } else {
        watermark_scenarios::find(target).ok_or_else(|| {
            BadInput(format!(
                "unknown scenario `{target}` (known: {}; or give a file ending in .toml)",
                known_names()
            ))
        })?
    };
    for switch in extra_bugs {
        scenario.bugs.enable(*switch);
    }
    // load_file validates already; catalogue entries are validated again because a scenario
    // that cannot run must be an error line, never a panic inside the simulator.
    let problems = scenario.validate();
    if !problems.is_empty() {
        return Err(BadInput(format!(
            "{target}: impossible scenario: {}",
            problems.join("; ")
        )));
    }
    Ok(Resolved {
        scenario,
        target: target.to_string(),
        extra_bugs: extra_bugs.to_vec(),
    })
}

/// Every catalogue scenario, resolved with `extra_bugs`.
pub fn resolve_catalogue(extra_bugs: &[BugSwitch]) -> Result<Vec<Resolved>, BadInput> {
    watermark_scenarios::names()
        .iter()
        .map(|name| resolve(name, extra_bugs))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bug_names_parse_dedup_and_sort() {
        let names = vec![
            "ack-before-isr".to_string(),
            "truncate-to-high-watermark".to_string(),
            "ack-before-isr".to_string(),
        ];
        assert_eq!(
            parse_bugs(&names),
            Ok(vec![
                BugSwitch::TruncateToHighWatermark,
                BugSwitch::AckBeforeIsr
            ])
        );
    }

    #[test]
    fn an_unknown_bug_keeps_the_switchs_own_message() {
        let error = parse_bugs(&["nope".to_string()]).unwrap_err();
        assert!(error.0.contains("unknown bug switch `nope`"), "{}", error.0);
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let error = resolve("no-such-scenario", &[]).unwrap_err();
        assert!(error.0.contains("unknown scenario `no-such-scenario`"));
        assert!(error.0.contains("known:"));
    }
}
