//! serde's and toml's wording turned into sentences a scenario author can act on. serde
//! reports what its derive code expected ("invalid type: string \"three\", expected u32",
//! "unknown variant `x`, expected one of ...", "missing field `x`"); each pattern here
//! becomes "what is wrong; allowed: ...", with the closest known name for a misspelling.
//! Leaf types with several forms (acks, targets, partitions) already say so themselves.

use watermark_broker_core::spelling::closest;

/// Phrases of serde's that never reach a user: a message still holding one after
/// translation is replaced by a plain sentence.
pub const JARGON: [&str; 9] = [
    "invalid type",
    "invalid value",
    "unknown variant",
    "unknown field",
    "missing field",
    "newtype variant",
    "unit variant",
    "wanted string or table",
    "did not match any variant",
];

/// The sentence for serde's `message` about the key at `path` (as written; `None` for the
/// whole file).
pub fn translate(message: &str, path: Option<&str>) -> String {
    let message = message.trim().replace('\n', " ");
    let last_key = path.map(last_key).unwrap_or_default();
    let sentence = if let Some(rest) = message.strip_prefix("unknown field ") {
        unknown_key(rest, path)
    } else if let Some(rest) = message.strip_prefix("unknown variant ") {
        unknown_value(rest)
    } else if let Some(rest) = message.strip_prefix("missing field ") {
        format!("missing key {}; it is required here", rest.trim())
    } else if let Some(forms) = forms_of(last_key).filter(|_| is_shape_error(&message)) {
        format!("this is not {forms}")
    } else if let Some(rest) = message.strip_prefix("invalid type: ") {
        wrong_type(rest)
    } else if let Some(rest) = message.strip_prefix("invalid value: ") {
        wrong_value(rest)
    } else {
        message.clone()
    };
    if JARGON.iter().any(|phrase| sentence.contains(phrase)) {
        format!(
            "this value has the wrong form for `{last_key}`; see docs/SCENARIOS.md or the examples"
        )
    } else {
        sentence
    }
}

fn last_key(path: &str) -> &str {
    let path =
        path.trim_end_matches(|character: char| character == ']' || character.is_ascii_digit());
    let path = path.trim_end_matches('[');
    path.rsplit('.').next().unwrap_or(path)
}

fn is_shape_error(message: &str) -> bool {
    [
        "wanted string or table",
        "newtype variant",
        "unit variant",
        "did not match any variant",
        "invalid type",
    ]
    .iter()
    .any(|phrase| message.contains(phrase))
}

/// The accepted forms of keys whose types serde reads as enums or untagged unions.
fn forms_of(key: &str) -> Option<String> {
    let values = "a range { min = 1, max = 10 } or a list [1, 2, 3]";
    Some(match key {
        "partitioner" => {
            "a partitioner; allowed: \"round-robin\", \"key-hash\" or { explicit = 0 }".to_string()
        }
        "replica_fetch_max_records"
        | "request_timeout_ms"
        | "delivery_timeout_ms"
        | "retries"
        | "linger_ms"
        | "max_in_flight_requests_per_connection"
        | "batch_size_records"
        | "max_poll_records" => format!("a set of values to draw from; allowed: {values}"),
        _ => return None,
    })
}

/// "`x`, expected one of `a`, `b`" into (`x`, [a, b]).
fn name_and_known(rest: &str) -> (String, Vec<String>) {
    let mut parts = rest.splitn(2, ", ");
    let name = parts
        .next()
        .unwrap_or_default()
        .trim_matches('`')
        .to_string();
    let known = parts
        .next()
        .unwrap_or_default()
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    (name, known)
}

/// "`a`, `b` or `c`".
fn one_of(known: &[String]) -> String {
    let quoted: Vec<String> = known.iter().map(|name| format!("`{name}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

fn suggestion(name: &str, known: &[String]) -> String {
    closest(name, known.iter().map(String::as_str))
        .map(|close| format!(" did you mean `{close}`?"))
        .unwrap_or_default()
}

fn unknown_key(rest: &str, path: Option<&str>) -> String {
    let (name, known) = name_and_known(rest);
    let table = path
        .map(|path| path.strip_suffix(&format!(".{name}")).unwrap_or(path))
        .filter(|table| *table != name)
        .map_or("the top level".to_string(), |table| format!("[{table}]"));
    if known.is_empty() {
        return format!("unknown key `{name}` in {table}, which takes no keys");
    }
    format!(
        "unknown key `{name}` in {table};{} allowed: {}",
        suggestion(&name, &known),
        one_of(&known)
    )
}

fn unknown_value(rest: &str) -> String {
    let (name, known) = name_and_known(rest);
    format!(
        "unknown value `{name}`;{} allowed: {}",
        suggestion(&name, &known),
        one_of(&known)
    )
}

/// serde's name of an expected type in words.
fn expected_in_words(expected: &str) -> String {
    let expected = expected.trim();
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => {
            let max = match expected {
                "u8" => u64::from(u8::MAX),
                "u16" => u64::from(u16::MAX),
                "u32" => u64::from(u32::MAX),
                _ => u64::MAX,
            };
            format!("a whole number from 0 to {max}")
        }
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".to_string(),
        "a boolean" => "true or false".to_string(),
        "a string" => "a string in quotes".to_string(),
        "a sequence" => "a list [ ... ]".to_string(),
        other if other.starts_with("struct ") || other == "a map" => "a table".to_string(),
        other if other.starts_with("internally tagged enum ") => {
            "a table naming its kind (`fault = ...` or `when = ...`)".to_string()
        }
        other => other.to_string(),
    }
}

/// serde's description of a value it found, in the file's own spelling.
fn found_in_words(found: &str) -> String {
    let found = found.trim();
    for prefix in ["string ", "integer ", "floating point ", "boolean "] {
        if let Some(value) = found.strip_prefix(prefix) {
            return value.trim_matches('`').to_string();
        }
    }
    match found {
        "map" => "a table".to_string(),
        "sequence" => "a list".to_string(),
        other => other.to_string(),
    }
}

fn split_expected(rest: &str) -> (&str, &str) {
    match rest.rsplit_once(", expected ") {
        Some((found, expected)) => (found, expected),
        None => (rest, ""),
    }
}

fn wrong_type(rest: &str) -> String {
    let (found, expected) = split_expected(rest);
    format!(
        "{} is not {}",
        found_in_words(found),
        expected_in_words(expected)
    )
}

fn wrong_value(rest: &str) -> String {
    let (found, expected) = split_expected(rest);
    format!(
        "{} is out of range; allowed: {}",
        found_in_words(found),
        expected_in_words(expected)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serdes_wording_becomes_a_sentence_with_what_is_allowed() {
        assert_eq!(
            translate(
                "invalid type: string \"three\", expected u32",
                Some("brokers")
            ),
            "\"three\" is not a whole number from 0 to 4294967295"
        );
        assert_eq!(
            translate(
                "invalid value: integer `-1`, expected u64",
                Some("phases.safety_ms")
            ),
            "-1 is out of range; allowed: a whole number from 0 to 18446744073709551615"
        );
        assert_eq!(
            translate(
                "unknown field `replication_factr`, expected one of `name`, `replication_factor`",
                Some("topic.replication_factr")
            ),
            "unknown key `replication_factr` in [topic]; did you mean `replication_factor`? allowed: `name` or `replication_factor`"
        );
        assert_eq!(
            translate("unknown variant `at-most-twice`, expected one of `at-most-once`, `exactly-once`", Some("expect.guarantee")),
            "unknown value `at-most-twice`; did you mean `at-most-once`? allowed: `at-most-once` or `exactly-once`"
        );
        assert_eq!(
            translate("missing field `at_ms`", Some("faults.scripted[0]")),
            "missing key `at_ms`; it is required here"
        );
        assert_eq!(
            translate(
                "wanted string or table",
                Some("producers[0].config.partitioner")
            ),
            "this is not a partitioner; allowed: \"round-robin\", \"key-hash\" or { explicit = 0 }"
        );
    }

    #[test]
    fn a_message_that_would_still_hold_jargon_is_replaced() {
        let sentence = translate(
            "invalid type: unit variant, expected newtype variant",
            Some("x.flavour"),
        );
        assert!(
            JARGON.iter().all(|phrase| !sentence.contains(phrase)),
            "{sentence}"
        );
    }
}
