//! JSON Schemas of the scenario-file types whose serde impls are written by hand (topic
//! names, coverage marks) or accept more spellings than derive can say (`acks`). The
//! scenario schema (`watermark schema`, docs/scenario.schema.json) is generated from the
//! Rust types; these impls are the parts of it a derive cannot produce. Each must describe
//! exactly what the matching `Deserialize` accepts.

use crate::mark::Mark;
use crate::protocol::Acks;
use crate::topic::TopicName;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use std::borrow::Cow;

impl JsonSchema for TopicName {
    fn schema_name() -> Cow<'static, str> {
        "TopicName".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A topic's name, as producers, consumers and partition references \
                            write it.",
            "type": "string",
            "minLength": 1,
        })
    }
}

impl JsonSchema for Mark {
    fn schema_name() -> Cow<'static, str> {
        "Mark".into()
    }

    /// Every mark by its kebab-case name, with its description; the snake_case spelling of
    /// earlier files is still read, so it is accepted too (marked deprecated).
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let mut alternatives: Vec<serde_json::Value> = Mark::ALL
            .iter()
            .map(|mark| {
                serde_json::json!({
                    "const": mark.name(),
                    "description": mark.description(),
                })
            })
            .collect();
        let older: Vec<String> = Mark::ALL
            .iter()
            .map(|mark| mark.name().replace('-', "_"))
            .filter(|snake| snake.contains('_'))
            .collect();
        alternatives.push(serde_json::json!({
            "description": "The snake_case spelling of earlier files.",
            "deprecated": true,
            "enum": older,
        }));
        json_schema!({
            "description": "A coverage mark: a moment of the protocol a run must reach.",
            "type": "string",
            "anyOf": alternatives,
        })
    }
}

impl JsonSchema for Acks {
    fn schema_name() -> Cow<'static, str> {
        "Acks".into()
    }

    /// Kafka's `acks` as a Kafka user writes it: the number or its string, and `"all"`.
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "`acks`: how many replicas must have a record before the producer \
                            hears back.",
            "anyOf": [
                {
                    "description": "acks=all (-1): every ISR member, and at least \
                                    min_insync_replicas.",
                    "enum": ["all", -1, "-1"],
                },
                {
                    "description": "acks=1: the leader's own append is enough.",
                    "enum": [1, "1"],
                },
                {
                    "description": "acks=0: the producer does not wait for any response.",
                    "enum": [0, "0"],
                },
            ],
        })
    }
}

/// Adds each switch's kebab-case name (`ack-before-isr`) beside its snake_case key in the
/// derived schema of `[bugs]`: the table reads both spellings.
pub fn add_bug_switch_spellings(schema: &mut Schema) {
    let Some(properties) = schema
        .get_mut("properties")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    let snake: Vec<(String, serde_json::Value)> = properties
        .iter()
        .filter(|(key, _)| key.contains('_'))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    for (key, mut value) in snake {
        // Marked, so that the reference lists each switch once.
        if let Some(object) = value.as_object_mut() {
            object.insert(
                "x-spelling-of".to_string(),
                serde_json::Value::String(key.clone()),
            );
        }
        properties.insert(key.replace('_', "-"), value);
    }
}
