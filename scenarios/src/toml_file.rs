//! Scenarios as TOML files. Keys mirror the [`Scenario`] fields and Kafka's configuration
//! names in snake_case; unknown keys are errors, so a typo never falls back to a default.
//! Every error is one line naming the file, the line and the key or value at fault.

use watermark_sim::scenario::Scenario;

/// Parses a scenario from TOML text. `origin` names the source in error messages.
pub fn parse_toml(text: &str, origin: &str) -> Result<Scenario, String> {
    let mut scenario: Scenario = toml::from_str(text).map_err(|error| {
        let line = error
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        let message = error.message().replace('\n', " ");
        match line {
            Some(line) => format!("{origin}:{line}: {message}"),
            None => format!("{origin}: {message}"),
        }
    })?;
    scenario
        .take_legacy_topic()
        .map_err(|problem| format!("{origin}: {problem}"))?;
    let problems = scenario.validate();
    if problems.is_empty() {
        Ok(scenario)
    } else {
        Err(format!(
            "{origin}: impossible scenario: {}",
            problems.join("; ")
        ))
    }
}

/// Reads and parses a scenario file.
pub fn load_file(path: &std::path::Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("{}: cannot read the scenario file: {error}", path.display()))?;
    parse_toml(&text, &path.display().to_string())
}
