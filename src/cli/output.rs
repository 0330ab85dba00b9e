//! How runs are shown: the replay command, the derived options of a scenario, a run report
//! as text or as one JSON object, and plain text tables. TigerBeetle's rule applies: a run
//! prints its seed and every derived option, and a failure prints the command that replays
//! it.

use crate::cli::invocation::Invocation;
use crate::cli::source::Choice;
use crate::cli::violation_groups::group_violations;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use watermark_broker_core::config::TopicConfig;
use watermark_broker_core::protocol::Acks;
use watermark_sim::application_lag::GroupLag;
use watermark_sim::configuration;
use watermark_sim::runner::RunReport;
use watermark_sim::scenario::Scenario;
use watermark_sim::settings_diff::{non_default_settings, SettingChange};
use watermark_sim::verdict::Guarantee;

/// The one command that replays `seed` of `target` with the command line's choice of
/// version and switches, started the way the user started this process (see
/// [`Invocation`]).
pub fn replay_command(invocation: &Invocation, target: &str, seed: u64, choice: &Choice) -> String {
    let mut command = format!(
        "{} run {} --seed {seed}",
        invocation.program(),
        shell_quote(target)
    );
    command.push_str(&choice_options(choice));
    command
}

/// The options that give `choice` again on a command line: ` --kafka V --bug NAME … --set
/// AXIS=VALUE …`, empty for the default choice.
pub fn choice_options(choice: &Choice) -> String {
    let mut options = String::new();
    if let Some(version) = choice.kafka {
        let _ = write!(options, " --kafka {version}");
    }
    for switch in &choice.bugs {
        let _ = write!(options, " --bug {}", switch.name());
    }
    for setting in &choice.settings {
        let _ = write!(options, " --set {setting}");
    }
    options
}

/// Quotes a word for a POSIX shell when it needs it, so a file path with spaces still
/// replays when pasted.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=+,@%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Kafka's spelling of an acks setting.
pub fn acks_name(acks: Acks) -> &'static str {
    match acks {
        Acks::None => "0",
        Acks::Leader => "1",
        Acks::All => "all",
    }
}

/// Every option a run derives from its scenario, in Kafka's words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DerivedOptions {
    pub brokers: u32,
    /// Every topic's settings.
    pub topics: Vec<TopicConfig>,
    /// `partitions`, `replication_factor`, `min_insync_replicas`,
    /// `unclean_leader_election_enable` and `flush_interval_messages` are the first topic's:
    /// the only one in most scenarios.
    pub partitions: u32,
    pub replication_factor: u32,
    pub min_insync_replicas: u32,
    /// One entry per producer.
    pub acks: Vec<String>,
    pub enable_idempotence: Vec<bool>,
    pub max_in_flight_requests_per_connection: Vec<u32>,
    pub records: Vec<u64>,
    pub consumers: usize,
    pub unclean_leader_election_enable: bool,
    /// `None`: never fsync (Kafka's default).
    pub flush_interval_messages: Option<u64>,
    pub bugs: Vec<String>,
    pub scripted_faults: usize,
    pub triggers: usize,
    pub swarm: bool,
    pub safety_ms: u64,
    pub liveness_ms_max: u64,
}

pub fn derived_options(scenario: &Scenario) -> DerivedOptions {
    let producers = &scenario.producers;
    let first = scenario.topics.first().cloned().unwrap_or_default();
    DerivedOptions {
        brokers: scenario.brokers,
        topics: scenario.topics.clone(),
        partitions: first.partitions,
        replication_factor: first.replication_factor,
        min_insync_replicas: first.min_insync_replicas,
        acks: producers
            .iter()
            .map(|producer| acks_name(producer.config.acks).to_string())
            .collect(),
        enable_idempotence: producers
            .iter()
            .map(|producer| producer.config.idempotence_enabled())
            .collect(),
        max_in_flight_requests_per_connection: producers
            .iter()
            .map(|producer| producer.config.max_in_flight_requests_per_connection)
            .collect(),
        records: producers.iter().map(|producer| producer.records).collect(),
        consumers: scenario.consumers.len(),
        unclean_leader_election_enable: first.unclean_leader_election_enable,
        flush_interval_messages: first
            .flush_interval_messages
            .or(scenario.broker.log_flush_interval_messages),
        bugs: scenario
            .bugs
            .enabled()
            .iter()
            .map(|switch| switch.name().to_string())
            .collect(),
        scripted_faults: scenario.faults.scripted.len(),
        triggers: scenario.faults.triggers.len(),
        swarm: scenario.faults.swarm.is_some(),
        safety_ms: scenario.phases.safety_ms,
        liveness_ms_max: scenario.phases.liveness_ms_max,
    }
}

/// A per-producer list, collapsed to one value when every producer agrees.
fn per_producer<T: ToString + PartialEq>(values: &[T]) -> String {
    match values.split_first() {
        None => "-".to_string(),
        Some((first, rest)) if rest.iter().all(|value| value == first) => first.to_string(),
        Some(_) => values
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// One line of derived options, e.g.
/// `brokers 3 rf 3 min.insync 2 acks all unclean false flush never bugs none`; a scenario
/// with several topics names each with its settings instead of the first's.
pub fn options_line(options: &DerivedOptions) -> String {
    if options.topics.len() > 1 {
        let topics: Vec<String> = options
            .topics
            .iter()
            .map(|topic| {
                format!(
                    "{} partitions {} rf {} min.insync {} unclean {} flush {}",
                    topic.name,
                    topic.partitions,
                    topic.replication_factor,
                    topic.min_insync_replicas,
                    topic.unclean_leader_election_enable,
                    topic
                        .flush_interval_messages
                        .map_or("never".to_string(), |every| format!(
                            "every {every} messages"
                        ))
                )
            })
            .collect();
        return format!(
            "brokers {} topics [{}] acks {} idempotence {} max.in.flight {} bugs {}",
            options.brokers,
            topics.join("; "),
            per_producer(&options.acks),
            per_producer(&options.enable_idempotence),
            per_producer(&options.max_in_flight_requests_per_connection),
            if options.bugs.is_empty() {
                "none".to_string()
            } else {
                options.bugs.join(",")
            },
        );
    }
    format!(
        "brokers {} partitions {} rf {} min.insync {} acks {} idempotence {} max.in.flight {} \
         unclean {} flush {} bugs {}",
        options.brokers,
        options.partitions,
        options.replication_factor,
        options.min_insync_replicas,
        per_producer(&options.acks),
        per_producer(&options.enable_idempotence),
        per_producer(&options.max_in_flight_requests_per_connection),
        options.unclean_leader_election_enable,
        options
            .flush_interval_messages
            .map_or("never".to_string(), |every| format!(
                "every {every} messages"
            )),
        if options.bugs.is_empty() {
            "none".to_string()
        } else {
            options.bugs.join(",")
        },
    )
}

/// A report as a JSON value, with `kind: "run"` and the `replay` command added.
pub fn report_json(report: &RunReport, replay: &str) -> serde_json::Value {
    let mut value = serde_json::to_value(report).unwrap_or_else(|error| {
        // Serialising plain data cannot fail today; if a future field breaks it, say so in
        // the output rather than losing the seed.
        serde_json::json!({
            "scenario": report.scenario,
            "seed": report.seed,
            "error": format!("could not serialise the report: {error}"),
        })
    });
    if let Some(object) = value.as_object_mut() {
        object.insert("kind".to_string(), "run".into());
        object.insert("replay".to_string(), replay.into());
    }
    value
}

/// The JSON object `watermark run --json` prints: the report, the replay command and every
/// derived option.
pub fn run_json(report: &RunReport, scenario: &Scenario, replay: &str) -> serde_json::Value {
    let mut value = report_json(report, replay);
    if let (Some(object), Ok(options)) = (
        value.as_object_mut(),
        serde_json::to_value(derived_options(scenario)),
    ) {
        object.insert("options".to_string(), options);
    }
    if let (Some(object), Ok(settings)) = (
        value.as_object_mut(),
        serde_json::to_value(run_settings(report, scenario)),
    ) {
        object.insert("non_default_settings".to_string(), settings);
    }
    value
}

/// Every setting the run used that differs from its default: the scenario with the
/// configuration the run reports it drew applied (no second draw).
pub fn run_settings(report: &RunReport, scenario: &Scenario) -> Vec<SettingChange> {
    match &report.configuration {
        Some(drawn) => non_default_settings(&configuration::apply(scenario, drawn), scenario),
        None => non_default_settings(scenario, scenario),
    }
}

/// `1 value`, `3 values`.
pub fn plural(count: u64, word: &str) -> String {
    if count == 1 {
        format!("1 {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// Splits text into lines of at most `width` characters at spaces (a longer word gets a line
/// of its own).
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// Simulated milliseconds as seconds with three decimals.
pub fn seconds(time_ms: u64) -> String {
    format!("{}.{:03} s", time_ms / 1000, time_ms % 1000)
}

/// The full text report of one run.
pub fn run_text(report: &RunReport, scenario: &Scenario, replay: &str) -> String {
    let mut out = String::new();
    let mut line = |label: &str, text: &str| {
        let _ = writeln!(out, "{label:<12}{text}");
    };
    if scenario.summary.is_empty() {
        line("scenario", &report.scenario);
    } else {
        line(
            "scenario",
            &format!("{} ({})", report.scenario, scenario.summary),
        );
    }
    line("seed", &report.seed.to_string());
    let options = derived_options(scenario);
    line("options", &options_line(&options));
    line(
        "workload",
        &format!(
            "{} producer(s), records {}, {} consumer(s)",
            scenario.producers.len(),
            per_producer(&options.records),
            options.consumers
        ),
    );
    line(
        "faults",
        &format!(
            "{} scripted, {} trigger(s), swarm {}; safety phase {} ms, liveness bound {} ms",
            options.scripted_faults,
            options.triggers,
            if options.swarm { "on" } else { "off" },
            options.safety_ms,
            options.liveness_ms_max
        ),
    );
    // The configuration this seed drew, one part per line: what the run really used.
    if let Some(drawn) = &report.configuration {
        let text = drawn.to_string();
        for (index, part) in text.split("; ").enumerate() {
            line(if index == 0 { "drawn" } else { "" }, part);
        }
    }
    // Every setting that is not Kafka's default, so the report needs no source to read.
    let settings = run_settings(report, scenario);
    if settings.is_empty() {
        line("settings", "all defaults");
    }
    for (index, setting) in settings.iter().enumerate() {
        line(
            if index == 0 { "settings" } else { "" },
            &setting.to_string(),
        );
    }
    // The scenario's explanation is the point for a student: why the guarantee holds or
    // breaks. Wrapped under its label so it reads as a paragraph.
    for (index, text) in wrap_words(&scenario.explanation, 80).iter().enumerate() {
        line(if index == 0 { "why" } else { "" }, text);
    }
    verdict_lines(report, &mut line);
    let marks: Vec<String> = report
        .marks
        .iter()
        .map(|(mark, count)| format!("{mark} ×{count}"))
        .collect();
    line(
        "marks",
        &if marks.is_empty() {
            "none reached".to_string()
        } else {
            marks.join(", ")
        },
    );
    for (index, lag) in report.lag.iter().enumerate() {
        line(if index == 0 { "lag" } else { "" }, &lag_text(lag));
    }
    let counters = &report.counters;
    line(
        "messages",
        &format!(
            "sent {}, delivered {}, dropped {}",
            counters.messages_sent, counters.messages_delivered, counters.messages_dropped
        ),
    );
    line(
        "sends",
        &format!(
            "ok {}, failed {}, indefinite {} (of {} history operations)",
            counters.sends_ok,
            counters.sends_failed,
            counters.sends_indefinite,
            counters.history_operations
        ),
    );
    line(
        "disk",
        &format!(
            "fsyncs {}, bytes lost to power loss {}, torn writes {}",
            counters.fsyncs, counters.bytes_lost_to_power_loss, counters.torn_writes
        ),
    );
    line(
        "events",
        &format!(
            "{} events, {} trace lines",
            counters.events, counters.trace_lines
        ),
    );
    if !counters.messages_per_link.is_empty() {
        let links: Vec<String> = counters
            .messages_per_link
            .iter()
            .map(|(link, sent)| format!("{link} {sent}"))
            .collect();
        line("links", &links.join(", "));
    }
    line(
        "trace hash",
        if report.trace_hash.is_empty() {
            "- (no trace: the run panicked)"
        } else {
            &report.trace_hash
        },
    );
    line("sim time", &seconds(report.sim_time_ms));
    line("wall time", &format!("{} ms", report.wall_ms));
    if let Some(panic) = &report.panic {
        line("panic", panic);
    }
    line("replay", replay);
    out
}

/// The verdict part of a run's text report, from `expected` to the violations grouped by
/// checker: what `watermark run` and `watermark check-history` both print.
pub fn verdict_lines(report: &RunReport, line: &mut impl FnMut(&str, &str)) {
    line("expected", &report.expected.to_string());
    line("observed", &report.observed.to_string());
    line("ordering", &ordering_text(report));
    line("verdict", &verdict_text(report));
    for failure in &report.failures {
        line("  failure", &failure.to_string());
    }
    faults_not_applied_lines(report, line);
    if report.violations.is_empty() {
        line("violations", "none");
    } else {
        line(
            "violations",
            &format!(
                "{} (grouped by checker and partition; --json lists each)",
                report.violations.len()
            ),
        );
    }
    for group in group_violations(&report.violations) {
        // Checker names can be longer than the label column; a space keeps them apart.
        line(&format!("  {} ", group.checker), &group.to_string());
    }
}

/// One group's lag on one partition, as `kafka-consumer-groups.sh` reads: `-` for what is
/// unknown.
pub fn lag_text(lag: &GroupLag) -> String {
    let known = |offset: Option<u64>| offset.map_or("-".to_string(), |offset| offset.to_string());
    format!(
        "group {} {}: log end {}, committed {}, lag {}",
        lag.group,
        lag.partition,
        known(lag.log_end_offset.map(|offset| offset.0)),
        known(lag.committed.map(|offset| offset.0)),
        known(lag.lag)
    )
}

/// The verdict in words: `FAIL`, `PASS`, or for a run that passes with anomalies its
/// expectation allows, what it observed and which were allowed, e.g. `PASS: observed
/// at-least-once (expected at-least-once); 3 duplicate violations allowed by the
/// expectation`.
pub fn verdict_text(report: &RunReport) -> String {
    if !report.passed {
        return if report.panic.is_some() {
            "FAIL (the run panicked)".to_string()
        } else {
            "FAIL".to_string()
        };
    }
    let mut per_checker: BTreeMap<String, usize> = BTreeMap::new();
    for violation in &report.violations {
        *per_checker
            .entry(violation.checker.to_string())
            .or_default() += 1;
    }
    if per_checker.is_empty() {
        return "PASS".to_string();
    }
    let allowed: Vec<String> = per_checker
        .iter()
        .map(|(checker, count)| plural(*count as u64, &format!("{checker} violation")))
        .collect();
    format!(
        "PASS: observed {} (expected {}); {} allowed by the expectation",
        report.observed,
        report.expected,
        join_with_and(&allowed)
    )
}

/// `a`, `a and b`, `a, b and c`.
fn join_with_and(parts: &[String]) -> String {
    match parts.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// The `faults not applied` section: a count (and how many were optional), then one line
/// each; nothing at all when every fault applied.
fn faults_not_applied_lines(report: &RunReport, line: &mut impl FnMut(&str, &str)) {
    let records = &report.faults_not_applied;
    if records.is_empty() {
        return;
    }
    let optional = records.iter().filter(|record| record.optional).count();
    line(
        "not applied",
        &format!(
            "{} fault(s) or trigger(s) did not apply ({optional} optional)",
            records.len()
        ),
    );
    for record in records {
        line("", &record.to_string());
    }
}

/// The ordering verdict and what the scenario expected of it, e.g. `violated (expected
/// violated)` or `preserved (not judged)`.
pub fn ordering_text(report: &RunReport) -> String {
    match report.expected_ordering {
        Some(expected) => format!("{} (expected {expected})", report.ordering),
        None => format!("{} (not judged)", report.ordering),
    }
}

/// How often each guarantee was observed, strongest first, e.g. `at-most-once ×3` or
/// `exactly-once ×2, at-most-once ×1`; panicked runs count apart because they observed
/// nothing.
pub fn observed_summary(reports: &[&RunReport]) -> String {
    let mut counts: BTreeMap<Guarantee, usize> = BTreeMap::new();
    let mut panicked = 0;
    for report in reports {
        if report.panic.is_some() {
            panicked += 1;
        } else {
            *counts.entry(report.observed).or_default() += 1;
        }
    }
    let mut parts: Vec<String> = counts
        .iter()
        .map(|(guarantee, count)| format!("{guarantee} ×{count}"))
        .collect();
    if panicked > 0 {
        parts.push(format!("panicked ×{panicked}"));
    }
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(", ")
    }
}

/// A plain text table with a header row and left-aligned columns.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers
        .iter()
        .map(|header| header.chars().count())
        .collect();
    for row in rows {
        for (column, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(column) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut write_row = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(out, "{}", padded.join("  ").trim_end());
    };
    write_row(headers.to_vec());
    write_row(
        widths
            .iter()
            .map(|width| "-".repeat(*width))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    );
    for row in rows {
        write_row(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use watermark_broker_core::bugs::BugSwitch;
    use watermark_broker_core::kafka_version::KafkaVersion;

    #[test]
    fn replay_commands_name_the_seed_and_the_extra_bugs() {
        let invocation = Invocation::detect(
            "target/release/watermark",
            std::path::Path::new("/w/target/release/watermark"),
            true,
        );
        assert_eq!(
            replay_command(
                &invocation,
                "acks1-leader-crash-loses-acked-write",
                7,
                &Choice {
                    bugs: vec![BugSwitch::AckBeforeIsr],
                    ..Choice::default()
                }
            ),
            "cargo run --release -- run acks1-leader-crash-loses-acked-write --seed 7 --bug ack-before-isr"
        );
        assert_eq!(
            replay_command(
                &invocation,
                "double-power-loss-divergence",
                3,
                &Choice {
                    kafka: Some(KafkaVersion::V0_10_2),
                    ..Choice::default()
                }
            ),
            "cargo run --release -- run double-power-loss-divergence --seed 3 --kafka 0.10.2"
        );
        assert_eq!(
            replay_command(
                &invocation,
                "safe-acks-all-swarm",
                4,
                &Choice {
                    kafka: Some(KafkaVersion::V3_0),
                    settings: vec![
                        watermark_sim::cell_settings::Setting::Acks(
                            watermark_broker_core::protocol::Acks::Leader
                        ),
                        watermark_sim::cell_settings::Setting::Unclean(true),
                    ],
                    ..Choice::default()
                }
            ),
            "cargo run --release -- run safe-acks-all-swarm --seed 4 --kafka 3.0 --set acks=1 --set unclean=on"
        );
    }

    #[test]
    fn paths_with_spaces_or_quotes_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("dir/a.toml"), "dir/a.toml");
        assert_eq!(shell_quote("my dir/a.toml"), "'my dir/a.toml'");
        assert_eq!(shell_quote("it's.toml"), r"'it'\''s.toml'");
    }

    #[test]
    fn tables_pad_columns_to_the_widest_cell() {
        let text = table(&["a", "bb"], &[vec!["xyz".to_string(), "1".to_string()]]);
        assert_eq!(text, "a    bb\n---  --\nxyz  1\n");
    }

    #[test]
    fn options_line_collapses_agreeing_producers() {
        let scenario = Scenario {
            name: "x".to_string(),
            ..Scenario::default()
        };
        let line = options_line(&derived_options(&scenario));
        assert!(line.contains("acks all"), "{line}");
        assert!(line.contains("flush never"), "{line}");
        assert!(line.contains("bugs none"), "{line}");
    }

    fn passed_report(observed: Guarantee, checkers: &[&str]) -> RunReport {
        RunReport {
            observed,
            ..crate::cli::test_support::report(1, vec![], checkers)
        }
    }

    #[test]
    fn a_pass_with_allowed_anomalies_says_which_in_words() {
        assert_eq!(
            verdict_text(&passed_report(Guarantee::ExactlyOnce, &[])),
            "PASS"
        );
        assert_eq!(
            verdict_text(&passed_report(
                Guarantee::AtLeastOnce,
                &["duplicate", "duplicate", "duplicate"]
            )),
            "PASS: observed at-least-once (expected at-least-once); 3 duplicate violations \
             allowed by the expectation"
        );
        assert_eq!(
            verdict_text(&passed_report(
                Guarantee::ExactlyOnce,
                &[
                    "nonmonotonic-send",
                    "duplicate-consume",
                    "duplicate-consume"
                ]
            )),
            "PASS: observed exactly-once (expected at-least-once); 2 duplicate-consume \
             violations and 1 nonmonotonic-send violation allowed by the expectation"
        );
        let mut failed = passed_report(Guarantee::AtMostOnce, &["lost-write"]);
        failed.passed = false;
        assert_eq!(verdict_text(&failed), "FAIL");
    }

    #[test]
    fn explanations_wrap_at_spaces_without_losing_words() {
        let text = "one two three four five six seven eight nine ten";
        let lines = super::wrap_words(text, 14);
        assert!(
            lines.iter().all(|line| line.chars().count() <= 14),
            "{lines:?}"
        );
        assert_eq!(lines.join(" "), text);
        assert!(super::wrap_words("", 10).is_empty());
    }
}
