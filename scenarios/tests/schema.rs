//! The scenario schema and the generated reference agree with the code: the checked-in
//! files equal what the generators print, every scenario the loader accepts validates
//! against the schema, and wrong files do not.

use std::path::{Path, PathBuf};
use watermark_scenarios::{catalogue, parse_toml, scenario_docs, schema};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&schema::scenario_schema()).expect("the schema is a valid schema")
}

fn toml_as_json(text: &str) -> serde_json::Value {
    let value: toml::Value = toml::from_str(text).expect("TOML");
    serde_json::to_value(value).expect("TOML converts to JSON")
}

/// Every `.toml` file under `dir`, recursively.
fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(toml_files(&path));
        } else if path
            .extension()
            .is_some_and(|extension| extension == "toml")
        {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn schema_errors(text: &str) -> Vec<String> {
    validator()
        .iter_errors(&toml_as_json(text))
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect()
}

#[test]
fn the_checked_in_schema_is_the_generated_one() {
    let checked_in =
        std::fs::read_to_string(repository().join(schema::SCHEMA_PATH)).unwrap_or_default();
    assert!(
        checked_in == schema::scenario_schema_text(),
        "{} differs from the scenario types; regenerate it with `{}`",
        schema::SCHEMA_PATH,
        schema::REGENERATE
    );
}

#[test]
fn the_checked_in_reference_is_the_generated_one() {
    let checked_in =
        std::fs::read_to_string(repository().join(scenario_docs::DOCS_PATH)).unwrap_or_default();
    assert!(
        checked_in == scenario_docs::scenarios_markdown(),
        "{} differs from the scenario types or its generator; regenerate it with `{}`",
        scenario_docs::DOCS_PATH,
        scenario_docs::REGENERATE
    );
}

#[test]
fn every_catalogue_scenario_validates_against_the_schema() {
    let validator = validator();
    for scenario in catalogue() {
        let value = serde_json::to_value(&scenario).expect("a scenario serializes");
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|error| format!("{error} at {}", error.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", scenario.name);
    }
}

#[test]
fn every_file_the_loader_accepts_validates_against_the_schema() {
    let root = repository();
    let mut files = toml_files(&root.join("examples"));
    files.extend(toml_files(&root.join("tests")));
    files.extend(toml_files(&root.join("scenarios/tests")));
    assert!(files.len() >= 4, "the examples are found: {files:?}");
    let mut checked = 0;
    for file in files {
        // A file that is not UTF-8 (a refused-input test) is not a scenario at all.
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if parse_toml(&text, &file.display().to_string()).is_err() {
            continue;
        }
        checked += 1;
        let errors = schema_errors(&text);
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
    }
    assert!(checked >= 4, "only {checked} files loaded");
}

#[test]
fn every_example_of_the_reference_loads_and_validates() {
    for (what, text) in scenario_docs::examples() {
        if let Err(error) = parse_toml(&text, &what) {
            panic!("{what}: {error}\n{text}");
        }
        let errors = schema_errors(&text);
        assert!(errors.is_empty(), "{what}: {errors:?}\n{text}");
    }
}

#[test]
fn every_key_of_the_schema_has_a_kafka_name_and_every_name_a_key() {
    let schema = schema::scenario_schema();
    let mut keys = Vec::new();
    collect_keys(&schema, &schema, "", &mut keys, 0);
    keys.sort();
    let mut named: Vec<String> = scenario_docs::KAFKA_NAMES
        .iter()
        .map(|(path, _)| path.to_string())
        .collect();
    named.sort();
    assert_eq!(
        keys, named,
        "scenario_docs::KAFKA_NAMES must list every key of the schema, with its Kafka name"
    );
}

/// The dotted path of every key under tables, through `$ref`s, arrays and options.
fn collect_keys(
    schema: &serde_json::Value,
    node: &serde_json::Value,
    prefix: &str,
    keys: &mut Vec<String>,
    depth: usize,
) {
    let node = follow(schema, node);
    let Some(properties) = node["properties"].as_object() else {
        return;
    };
    for (key, property) in properties {
        if property.get("x-spelling-of").is_some() {
            continue;
        }
        let path = format!("{prefix}{key}");
        keys.push(path.clone());
        // Faults, triggers and targets are documented by their own sections, the legacy
        // `[topic]` is `[[topics]]`, and a range's `min`/`max` are not settings.
        let is_values = property.to_string().contains("#/$defs/Values");
        let own_section = matches!(
            path.as_str(),
            "faults.scripted" | "faults.triggers" | "topic"
        );
        if !own_section && !is_values && depth < 6 {
            collect_keys(schema, property, &format!("{path}."), keys, depth + 1);
        }
    }
}

fn follow<'a>(schema: &'a serde_json::Value, node: &'a serde_json::Value) -> &'a serde_json::Value {
    if let Some(reference) = node["$ref"].as_str() {
        return follow(
            schema,
            &schema["$defs"][reference.trim_start_matches("#/$defs/")],
        );
    }
    if node["type"] == "array" {
        return follow(schema, &node["items"]);
    }
    if let Some(alternatives) = node["anyOf"].as_array() {
        if let Some(present) = alternatives
            .iter()
            .find(|alternative| alternative["type"] != "null")
        {
            return follow(schema, present);
        }
    }
    node
}

const VALID: &str = "name = \"valid\"\n[[faults.scripted]]\nat_ms = 1000\nfault = \"crash\"\ntarget = { broker = 1 }\n";

#[test]
fn the_base_of_the_wrong_files_is_valid() {
    assert!(parse_toml(VALID, "valid").is_ok());
    assert_eq!(schema_errors(VALID), Vec::<String>::new());
}

#[test]
fn wrong_files_do_not_validate() {
    let wrong = [
        (
            "an unknown top-level key",
            format!("{VALID}colour = \"blue\"\n"),
        ),
        (
            "an unknown key in a table",
            "name = \"x\"\n[broker]\nreplica_lag_time_ms = 5\n".to_string(),
        ),
        (
            "an unknown key in a scripted fault",
            VALID.replace("target =", "colour = 1\ntarget ="),
        ),
        (
            "a wrong type",
            "name = \"x\"\nbrokers = \"three\"\n".to_string(),
        ),
        (
            "an unknown fault kind",
            VALID.replace("\"crash\"", "\"explode\""),
        ),
        (
            "an unknown swarm kind",
            "name = \"x\"\n[faults.swarm]\nkinds = [\"meteor\"]\n".to_string(),
        ),
        (
            "an unknown mark",
            "name = \"x\"\n[expect]\nmarks = [\"isr-shrank\"]\n".to_string(),
        ),
        (
            "an unknown acks",
            "name = \"x\"\n[[producers]]\n[producers.config]\nacks = 2\n".to_string(),
        ),
        (
            "a fault without its time",
            VALID.replace("at_ms = 1000\n", ""),
        ),
    ];
    for (what, text) in wrong {
        assert!(
            !schema_errors(&text).is_empty(),
            "{what} validated:\n{text}"
        );
    }
}

#[test]
fn kafka_spellings_of_acks_and_scripted_fault_names_in_the_swarm_validate() {
    for acks in ["1", "-1", "0", "\"all\"", "\"1\"", "\"-1\"", "\"0\""] {
        let text = format!("name = \"x\"\n[[producers]]\n[producers.config]\nacks = {acks}\n");
        assert_eq!(schema_errors(&text), Vec::<String>::new(), "acks = {acks}");
    }
    let text = "name = \"x\"\n[faults.swarm]\nkinds = [\"cut-one-way\", \"slow-links\", \"partition-away\", \"one-way-cut\"]\n";
    assert_eq!(schema_errors(text), Vec::<String>::new());
    let text = "name = \"x\"\n[bugs]\nack-before-isr = true\ntruncate_to_high_watermark = true\n";
    assert_eq!(
        schema_errors(text),
        Vec::<String>::new(),
        "[bugs] in both spellings"
    );
    let text = "name = \"x\"\n[bugs]\nack-before-is = true\n";
    assert!(
        !schema_errors(text).is_empty(),
        "an unknown switch validated"
    );
}
