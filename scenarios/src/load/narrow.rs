//! Pointing an error inside a fault at its key. serde reads a scripted fault or a trigger
//! through `#[serde(flatten)]`, which buffers the table, so toml can only say which table
//! an error came from. The key is found again here: the target, partition or API whose value,
//! read alone, fails with the same sentence, or the `fault`/`when` naming the unknown kind.

use crate::load::document::Document;
use serde::Deserialize;
use watermark_sim::fault::{PartitionRef, Target};
use watermark_sim::held_requests::HeldApi;

#[derive(Deserialize)]
struct One<T> {
    #[allow(dead_code)]
    value: T,
}

/// The error `T` reports for `value_text` read alone, if any.
fn error_of<T: for<'de> Deserialize<'de>>(value_text: &str) -> Option<String> {
    toml::from_str::<One<T>>(&format!("value = {value_text}"))
        .err()
        .map(|error| error.message().to_string())
}

/// The key inside the table at `path` that `message` is about, if one can be found.
pub fn narrow(text: &str, document: &Document, path: &str, message: &str) -> Option<String> {
    let unknown_kind = message
        .strip_prefix("unknown variant `")
        .and_then(|rest| rest.split('`').next());
    document
        .entries_under(path)
        .find(|entry| {
            let value_text = &text[entry.value.clone()];
            let key = entry.path.rsplit('.').next().unwrap_or_default();
            let is_element = key.ends_with(']');
            if let Some(kind) = unknown_kind {
                return matches!(key, "fault" | "when")
                    && value_text.trim_matches(['"', '\'']) == kind;
            }
            match key {
                "target" | "from" | "to" => {
                    error_of::<Target>(value_text).as_deref() == Some(message)
                }
                "partition" => error_of::<PartitionRef>(value_text).as_deref() == Some(message),
                "api" => error_of::<HeldApi>(value_text).as_deref() == Some(message),
                _ if is_element && key.starts_with("side[") => {
                    error_of::<Target>(value_text).as_deref() == Some(message)
                }
                _ => false,
            }
        })
        .map(|entry| entry.path.clone())
}
