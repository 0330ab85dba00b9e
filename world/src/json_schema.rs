//! JSON Schemas of the scenario-file types whose serde impls are written by hand (checker
//! names) or whose accepted spellings a derive cannot list (the swarm's fault kinds). Each
//! must describe exactly what the matching `Deserialize` accepts; the scenario schema test
//! (scenarios/tests/schema.rs) validates every catalogue scenario and example against it.

use crate::checkers::{Checker, REGISTRY};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use std::borrow::Cow;

impl JsonSchema for Checker {
    fn schema_name() -> Cow<'static, str> {
        "Checker".into()
    }

    /// Every checker by the name reports print, with its definition; the kebab-case file
    /// name is read too.
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let alternatives: Vec<serde_json::Value> = REGISTRY
            .iter()
            .map(|info| {
                let names: std::collections::BTreeSet<&str> =
                    [info.name, info.file_name].into_iter().collect();
                serde_json::json!({
                    "enum": names,
                    "description": info.definition,
                })
            })
            .collect();
        json_schema!({
            "description": "A checker, by its name (`watermark checkers` lists them).",
            "type": "string",
            "anyOf": alternatives,
        })
    }
}

/// Adds the swarm's older names (as the loader reads them, `fault_shape`) to the derived
/// schema of `FaultKind`, beside the names derive lists (the scripted faults' names), marked
/// deprecated.
pub fn add_fault_kind_spellings(schema: &mut Schema) {
    let listed = serde_json::to_string(&*schema).unwrap_or_default();
    let Some(alternatives) = schema
        .get_mut("oneOf")
        .and_then(serde_json::Value::as_array_mut)
    else {
        return;
    };
    for (older, name) in crate::fault_shape::fault_kind_older_names() {
        if !listed.contains(&format!("\"{older}\"")) {
            alternatives.push(serde_json::json!({
                "type": "string",
                "const": older,
                "deprecated": true,
                "description": format!("The swarm's older name of `{name}`, still read."),
            }));
        }
    }
}
