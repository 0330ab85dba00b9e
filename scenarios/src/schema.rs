//! The JSON Schema of scenario files, generated from the Rust types (`schemars`): doc
//! comments become descriptions and `Default` values become defaults. It is checked in at
//! docs/scenario.schema.json (a test fails when the two disagree) and printed by
//! `watermark schema`, so an editor's TOML language server can complete keys and underline
//! mistakes while a scenario is typed.

use watermark_sim::scenario::Scenario;

/// Where the schema is checked in, from the repository root.
pub const SCHEMA_PATH: &str = "docs/scenario.schema.json";

/// The command that rewrites the checked-in schema.
pub const REGENERATE: &str = "cargo run -- schema > docs/scenario.schema.json";

/// The scenario schema as a JSON value.
pub fn scenario_schema() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Scenario>();
    let mut value = schema.to_value();
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "title".to_string(),
            serde_json::Value::from("Watermark scenario file"),
        );
    }
    value
}

/// The schema as the checked-in file spells it: pretty JSON and a final newline.
pub fn scenario_schema_text() -> String {
    let mut text =
        serde_json::to_string_pretty(&scenario_schema()).expect("a JSON value always serializes");
    text.push('\n');
    text
}
