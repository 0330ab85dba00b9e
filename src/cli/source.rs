//! Where a scenario comes from: a catalogue name, or a TOML file (a path ending in `.toml`),
//! with the command line's `--kafka` profile applied and its `--bug` switches OR-ed into the
//! scenario's own. Every way this can go wrong is a [`BadInput`] with a message that says
//! what to type instead.

use crate::cli::args::SwitchArgs;
use crate::cli::exit::BadInput;
use std::path::Path;
use std::str::FromStr;
use watermark_broker_core::bugs::BugSwitch;
use watermark_broker_core::kafka_version::KafkaVersion;
use watermark_broker_core::spelling::closest;
use watermark_sim::cell_settings::{apply_settings, Setting};
use watermark_sim::kafka_profile::{apply_kafka_version, missing_feature, CatalogueSettings};
use watermark_sim::scenario::Scenario;

/// A scenario ready to run, and how to name it in a replay command.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub scenario: Scenario,
    /// What to pass to `watermark run` to get this scenario again: its catalogue name or the
    /// file path as given.
    pub target: String,
    /// What the command line chose (the scenario's own switches are part of it already).
    pub choice: Choice,
}

/// The code a run executes, as the command line chose it: `--kafka`, `--bug` and `--set`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Choice {
    pub kafka: Option<KafkaVersion>,
    pub bugs: Vec<BugSwitch>,
    /// Delivery settings stated over the scenario's own (`--set acks=1`, a cell of
    /// `watermark matrix`), in axis order.
    pub settings: Vec<Setting>,
}

impl Choice {
    /// Parses `--kafka` and `--bug`, each with its own message for an unknown name.
    pub fn parse(args: &SwitchArgs) -> Result<Choice, BadInput> {
        let kafka = args
            .kafka
            .as_deref()
            .map(|text| {
                KafkaVersion::from_str(text).map_err(|error| BadInput(format!("--kafka: {error}")))
            })
            .transpose()?;
        Ok(Choice {
            kafka,
            bugs: parse_bugs(&args.bugs)?,
            settings: parse_settings(&args.settings)?,
        })
    }
}

/// Parses `--set AXIS=VALUE` values; one value per axis, kept in axis order so replay
/// commands come out the same however the user wrote them.
pub fn parse_settings(assignments: &[String]) -> Result<Vec<Setting>, BadInput> {
    let mut settings: Vec<Setting> = Vec::new();
    for assignment in assignments {
        let setting = Setting::parse_assignment(assignment).map_err(BadInput)?;
        if let Some(earlier) = settings
            .iter()
            .find(|earlier| earlier.axis() == setting.axis())
        {
            return Err(BadInput(format!(
                "--set {setting}: {} is set twice (also {earlier})",
                setting.axis().name()
            )));
        }
        settings.push(setting);
    }
    settings.sort_by_key(|setting| setting.axis());
    Ok(settings)
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

/// Finds `target` (a catalogue name, or a path ending in `.toml`), applies the chosen Kafka
/// version, turns on the chosen switches and checks that the result can run.
pub fn resolve(target: &str, choice: &Choice) -> Result<Resolved, BadInput> {
    let mut scenario = if target.ends_with(".toml") {
        if !Path::new(target).exists() {
            return Err(BadInput(format!("scenario file `{target}` does not exist")));
        }
        watermark_scenarios::load_file_as(Path::new(target), choice.kafka).map_err(BadInput)?
    } else {
        let mut scenario =
            watermark_scenarios::find(target).ok_or_else(|| unknown_scenario(target))?;
        if let Some(version) = choice.kafka {
            apply_kafka_version(&mut scenario, version, &CatalogueSettings)
                .map_err(|error| BadInput(format!("{target}: --kafka {version}: {error}")))?;
        }
        scenario
    };
    for switch in &choice.bugs {
        scenario.bugs.enable(*switch);
    }
    if !choice.settings.is_empty() {
        apply_settings(&mut scenario, &choice.settings)
            .map_err(|error| BadInput(format!("{target}: --set {error}")))?;
        // A stated setting may use what the chosen release lacks (read_committed before
        // 0.11).
        if let Some(refusal) = choice
            .kafka
            .and_then(|version| missing_feature(&scenario, version))
        {
            return Err(BadInput(format!("{target}: {refusal}")));
        }
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
        choice: choice.clone(),
    })
}

/// Catalogue names are kebab-case words; a separator or a dot means the user meant a file.
fn looks_like_a_path(target: &str) -> bool {
    target.contains(['/', '\\', '.'])
}

/// The error for a target that is neither a catalogue name nor a `.toml` path: the closest
/// catalogue name when one is close, and for what looks like a path, whether that file
/// exists (a scenario file must end in `.toml` to be read as one).
fn unknown_scenario(target: &str) -> BadInput {
    let names = watermark_scenarios::names();
    if looks_like_a_path(target) {
        return BadInput(if Path::new(target).exists() {
            format!(
                "`{target}` is not a catalogue scenario, and a scenario file's name must end \
                 in .toml"
            )
        } else {
            format!(
                "no catalogue scenario is named `{target}`, and no file `{target}` exists \
                 (a scenario file's name ends in .toml; `watermark list` shows the catalogue)"
            )
        });
    }
    match suggestion(target, &names) {
        Some(name) => BadInput(format!(
            "unknown scenario `{target}`; did you mean `{name}`? (`watermark list` shows \
             every scenario; a scenario file's name ends in .toml)"
        )),
        None => BadInput(format!(
            "unknown scenario `{target}` (known: {}; or give a file ending in .toml)",
            known_names()
        )),
    }
}

/// The catalogue name a user most likely meant: the closest by edit distance, or else the
/// only name containing what was typed (names are long, so a fragment like `unclean` is a
/// common way to ask for one).
fn suggestion<'a>(target: &str, names: &'a [String]) -> Option<&'a str> {
    let close = closest(target, names.iter().map(String::as_str));
    if close.is_some() || target.is_empty() {
        return close;
    }
    let mut containing = names
        .iter()
        .filter(|name| name.contains(target))
        .map(String::as_str);
    match (containing.next(), containing.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// Every catalogue scenario, resolved with `choice`.
pub fn resolve_catalogue(choice: &Choice) -> Result<Vec<Resolved>, BadInput> {
    watermark_scenarios::names()
        .iter()
        .map(|name| resolve(name, choice))
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
    fn a_misspelled_name_gets_the_closest_catalogue_name() {
        let error = resolve("acks1-leader-crash-loses-aked-write", &Choice::default()).unwrap_err();
        assert!(
            error
                .0
                .contains("did you mean `acks1-leader-crash-loses-acked-write`?"),
            "{}",
            error.0
        );
    }

    #[test]
    fn a_fragment_of_one_name_suggests_that_name() {
        let names = vec!["safe-acks-all-swarm".to_string(), "kip-101".to_string()];
        assert_eq!(suggestion("swarm", &names), Some("safe-acks-all-swarm"));
        assert_eq!(suggestion("-", &names), None);
        assert_eq!(suggestion("", &names), None);
    }

    #[test]
    fn a_path_that_does_not_exist_says_so() {
        let error = resolve("examples/no-such-file.toml", &Choice::default()).unwrap_err();
        assert_eq!(
            error.0,
            "scenario file `examples/no-such-file.toml` does not exist"
        );
        let error = resolve("examples/no-such-file.tml", &Choice::default()).unwrap_err();
        assert!(
            error
                .0
                .contains("no file `examples/no-such-file.tml` exists"),
            "{}",
            error.0
        );
        let error = resolve("Cargo.lock", &Choice::default()).unwrap_err();
        assert!(error.0.contains("must end in .toml"), "{}", error.0);
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let error = resolve("no-such-scenario", &Choice::default()).unwrap_err();
        assert!(error.0.contains("unknown scenario `no-such-scenario`"));
        assert!(error.0.contains("known:"));
    }
}
