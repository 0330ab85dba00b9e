//! Scenario files with one value broken the way a hand-edit breaks it — a wrong type, a
//! negative number, an unknown name, a string for a table, a misspelled key — are either
//! loaded (and then run to a verdict) or refused with one line naming the place, never
//! with serde's wording and never with a panic. The files mutated are the examples and
//! every catalogue scenario written as TOML.

use proptest::prelude::*;
use watermark::scenarios::load::document::Document;
use watermark::scenarios::load::message::JARGON;
use watermark::scenarios::parse_toml;

/// The texts mutated: every example file and every catalogue scenario as TOML.
fn sources() -> Vec<String> {
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut paths: Vec<_> = std::fs::read_dir(directory)
        .expect("examples/")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    paths.sort();
    let examples = paths
        .iter()
        .map(|path| std::fs::read_to_string(path).expect("a readable example"));
    let catalogue = watermark::scenarios::catalogue()
        .into_iter()
        .map(|scenario| toml::to_string(&scenario).expect("a catalogue scenario as TOML"));
    examples.chain(catalogue).collect()
}

/// What a careless edit puts in place of a value.
const REPLACEMENTS: [&str; 11] = [
    "\"nonsense-value\"",
    "-1",
    "0",
    "99999999999999",
    "1.5",
    "true",
    "{ }",
    "{ broker = 2 }",
    "[1, \"x\"]",
    "\"3\"",
    "{ nonsense = 1 }",
];

/// `text` with the value of its `entry`-th key replaced, or the key misspelled.
fn mutate(text: &str, entry: usize, replacement: usize) -> String {
    let parsed = toml_edit::ImDocument::parse(text).expect("the source parses");
    let document = Document::new(text, &parsed);
    let entries = document.entries();
    let chosen = &entries[entry % entries.len()];
    if replacement == REPLACEMENTS.len() {
        // Misspell the key itself: its first character doubled.
        let start = chosen.span.start;
        let first = &text[start..=start];
        return format!("{}{first}{}", &text[..start], &text[start..]);
    }
    format!(
        "{}{}{}",
        &text[..chosen.value.start],
        REPLACEMENTS[replacement],
        &text[chosen.value.end..]
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn a_mutated_scenario_loads_or_is_refused_with_one_plain_line(
        source in any::<prop::sample::Index>(),
        entry in 0usize..10_000,
        replacement in 0..=REPLACEMENTS.len(),
    ) {
        let sources = sources();
        let text = mutate(&sources[source.index(sources.len())], entry, replacement);
        match parse_toml(&text, "mutated.toml") {
            Ok(scenario) => {
                // Loaded means runnable: the run reaches a verdict (exit 0 or 1), no panic.
                prop_assert!(scenario.problems().is_empty());
                let report = watermark::sim::runner::run(&scenario, 0, Default::default());
                prop_assert!(report.panic.is_none(), "{:?}\n{text}", report.panic);
            }
            Err(line) => {
                prop_assert!(line.starts_with("mutated.toml"), "{line}");
                prop_assert!(!line.contains('\n'), "{line}");
                for phrase in JARGON {
                    prop_assert!(!line.contains(phrase), "serde's `{phrase}` in: {line}\n{text}");
                }
            }
        }
    }
}
