//! Scenarios as TOML files. Keys mirror the [`Scenario`] fields and Kafka's configuration
//! names in snake_case; unknown keys are errors, so a typo never falls back to a default.
//!
//! Every refusal is one line, `FILE:LINE: KEY: what is wrong; allowed: ...` (without
//! `LINE` when the key is not written in the file, without `KEY` for the file as a whole).
//! A file with several problems reports the first in file order: one line, so it stays
//! readable after the CLI's `error:` prefix and fixes go top to bottom.

pub mod document;
pub mod message;
mod narrow;

use document::Document;
use toml_edit::ImDocument;
use watermark_broker_core::kafka_version::KafkaVersion;
use watermark_sim::kafka_profile::apply_kafka_version;
use watermark_sim::scenario::Scenario;
use watermark_sim::scenario_validation::Problem;

/// Parses a scenario from TOML text. `origin` names the source in error messages.
pub fn parse_toml(text: &str, origin: &str) -> Result<Scenario, String> {
    parse_toml_as(text, origin, None)
}

/// Parses a scenario from TOML text and applies its Kafka version profile: `kafka`, or
/// else the file's own `kafka_version`. The profile's defaults go to the settings the file
/// does not write.
pub fn parse_toml_as(
    text: &str,
    origin: &str,
    kafka: Option<KafkaVersion>,
) -> Result<Scenario, String> {
    if text.trim_start().starts_with('{') {
        return Err(format!(
            "{origin}: not a TOML scenario: it reads as JSON; a scenario is a TOML file, as in examples/"
        ));
    }
    let parsed = ImDocument::parse(text).map_err(|error| {
        let line = error
            .span()
            .map(|span| document::Lines::new(text).line_of(span.start));
        let message = error.message().trim().replace('\n', "; ");
        at(origin, line, None, &format!("not valid TOML: {message}"))
    })?;
    if parsed.as_table().is_empty() {
        return Err(format!(
            "{origin}: empty file: a scenario needs at least `name`"
        ));
    }
    let document = Document::new(text, &parsed);
    let mut scenario: Scenario = toml::from_str(text).map_err(|error| {
        let offset = error.span().map(|span| span.start);
        let table = offset.and_then(|offset| document.path_at(offset));
        let path = table
            .and_then(|table| narrow::narrow(text, &document, table, error.message()))
            .or(table.map(str::to_string));
        let line = match &path {
            Some(path) => document.line_of_path(path),
            None => offset.map(|offset| document.line_of(offset)),
        };
        let sentence = message::translate(error.message(), path.as_deref());
        at(origin, line, path.as_deref(), &sentence)
    })?;
    scenario
        .take_legacy_topic()
        .map_err(|problem| refusal(origin, &document, &Problem::new("topic", problem)))?;
    if let Some(version) = kafka.or(scenario.kafka_version) {
        apply_kafka_version(&mut scenario, version, &document).map_err(|problem| {
            refusal(origin, &document, &Problem::new("kafka_version", problem))
        })?;
    }
    let problems = scenario.problems();
    match first_in_file_order(&document, &problems) {
        Some(problem) => Err(refusal(origin, &document, problem)),
        None => Ok(scenario),
    }
}

/// Writes a scenario as a TOML file's text, the form [`parse_toml`] reads back.
pub fn to_toml(scenario: &Scenario) -> Result<String, String> {
    toml::to_string(scenario).map_err(|error| {
        format!(
            "scenario `{}` cannot be written as TOML: {error}",
            scenario.name
        )
    })
}

/// Reads and parses a scenario file.
pub fn load_file(path: &std::path::Path) -> Result<Scenario, String> {
    load_file_as(path, None)
}

/// Reads and parses a scenario file with a Kafka version profile (see [`parse_toml_as`]).
pub fn load_file_as(
    path: &std::path::Path,
    kafka: Option<KafkaVersion>,
) -> Result<Scenario, String> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|error| format!("{origin}: cannot read the scenario file: {error}"))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{origin}: not a TOML scenario: the file is not UTF-8 text"))?;
    parse_toml_as(&text, &origin, kafka)
}

/// The problem a reader meets first: by line, then problems of keys the file does not write
/// (often a consequence of a written one: `brokers = 0` makes the default topic's
/// replication factor too high); ties keep the validation's order.
fn first_in_file_order<'a>(document: &Document, problems: &'a [Problem]) -> Option<&'a Problem> {
    problems
        .iter()
        .enumerate()
        .min_by_key(|(index, problem)| {
            let line = document.line_of_path(&problem.key);
            (line.is_none(), line, *index)
        })
        .map(|(_, problem)| problem)
}

fn refusal(origin: &str, document: &Document, problem: &Problem) -> String {
    let key = document.written_path(&problem.key);
    at(
        origin,
        document.line_of_path(&problem.key),
        Some(&key),
        &problem.message,
    )
}

/// `FILE:LINE: KEY: sentence`, leaving out what is unknown.
fn at(origin: &str, line: Option<usize>, key: Option<&str>, sentence: &str) -> String {
    let place = match line {
        Some(line) => format!("{origin}:{line}"),
        None => origin.to_string(),
    };
    let sentence = sentence.replace(['\r', '\n'], " ");
    match key {
        Some(key) => format!("{place}: {key}: {sentence}"),
        None => format!("{place}: {sentence}"),
    }
}
