//! Fuzzed inputs (issue 13): scenario files and history files (`check-history`'s Watermark
//! JSON lines and Jepsen EDN) of arbitrary bytes, valid files with bytes inserted, deleted
//! or flipped, and command lines drawn from the CLI's own words and arbitrary ones. Whatever comes in, `watermark` never panics: it exits 0 or 1 with a
//! verdict, or 2 with one line that names what is wrong. `tests/mutated_scenarios.rs`
//! covers the other kind of edit, one value replaced the way a hand-edit breaks it.
//!
//! The case counts are bounded so `cargo test` stays fast; `PROPTEST_CASES=N` raises them
//! (each proptest counts its own). Inputs that once broke a rule, or that sit on a parser's
//! edge (a nesting depth past the TOML reader's limit, an integer past `u64`, a byte-order
//! mark, a NUL), are kept in `tests/fuzz_corpus/` and replayed on every run.

mod cli_support;

use cli_support::{
    files_with_extension, stderr, temp_dir, watermark, write, SMALL_SCENARIO, WATERMARK,
};
use proptest::prelude::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use watermark::cli::check_history::judge_imported;
use watermark::scenarios::load::load_file;
use watermark::sim::history_edn::read_edn;
use watermark::sim::history_file::read_jsonl;

/// What a refusal must look like: one line, starting with `error: ` and the file it names
/// (when it names one), with no panic anywhere.
fn assert_one_line_refusal(stderr: &str, names: Option<&str>) -> Result<(), TestCaseError> {
    prop_assert!(!stderr.contains("panicked"), "{stderr}");
    let trimmed = stderr.trim_end();
    prop_assert!(!trimmed.is_empty(), "exit 2 without a message");
    prop_assert!(!trimmed.contains('\n'), "more than one line:\n{stderr}");
    prop_assert!(trimmed.starts_with("error: "), "{stderr}");
    if let Some(name) = names {
        prop_assert!(trimmed.contains(name), "{stderr} does not name {name}");
    }
    Ok(())
}

/// Loading `path` in-process: a scenario that is valid, or one line naming the file.
fn assert_loads_or_refuses(path: &Path) -> Result<(), TestCaseError> {
    let origin = path.display().to_string();
    match load_file(path) {
        Ok(scenario) => prop_assert!(scenario.problems().is_empty()),
        Err(line) => {
            prop_assert!(line.starts_with(&origin), "{line}");
            prop_assert!(!line.contains('\n'), "{line}");
        }
    }
    Ok(())
}

/// The valid files the byte edits start from: the smallest scenario and every example.
fn valid_files() -> Vec<Vec<u8>> {
    let paths = files_with_extension("examples", "toml");
    std::iter::once(SMALL_SCENARIO.as_bytes().to_vec())
        .chain(
            paths
                .iter()
                .map(|path| std::fs::read(path).expect("an example")),
        )
        .collect()
}

/// One byte edit: insert `byte` at `at`, delete the byte there, or replace it.
fn edit(mut bytes: Vec<u8>, kind: u8, at: prop::sample::Index, byte: u8) -> Vec<u8> {
    if bytes.is_empty() {
        return vec![byte];
    }
    let index = at.index(bytes.len());
    match kind % 3 {
        0 => bytes.insert(index, byte),
        1 => {
            bytes.remove(index);
        }
        _ => bytes[index] = byte,
    }
    bytes
}

/// Text that looks like TOML: the characters its grammar cares about, words and digits.
fn toml_like_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("=".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just("\"".to_string()),
            Just("\n".to_string()),
            Just(",".to_string()),
            Just(".".to_string()),
            Just("#".to_string()),
            Just("name".to_string()),
            Just("producers".to_string()),
            Just("records".to_string()),
            Just("faults".to_string()),
            "[a-z_]{1,12}",
            "-?[0-9]{1,25}",
            "\\PC{0,6}",
        ],
        0..80,
    )
    .prop_map(|parts| parts.concat())
}

/// Runs the binary with a deadline, in `dir` (so `new` and `report` write there). `None`
/// when a valid command (a long sweep, say) outlives the deadline; it is then killed.
fn run_with_deadline(dir: &Path, args: &[String], deadline: Duration) -> Option<(i32, String)> {
    let mut child = Command::new(WATERMARK)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the watermark binary starts");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait on watermark") {
            let mut text = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .expect("stderr piped")
                .read_to_string(&mut text)
                .expect("stderr is read");
            return Some((status.code().unwrap_or(-1), text));
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The valid history files the byte edits start from: the Jepsen EDN fixtures and one
/// exported Watermark history (run once, shared by every case).
fn valid_histories() -> &'static [(bool, Vec<u8>)] {
    static HISTORIES: std::sync::OnceLock<Vec<(bool, Vec<u8>)>> = std::sync::OnceLock::new();
    HISTORIES.get_or_init(read_valid_histories)
}

fn read_valid_histories() -> Vec<(bool, Vec<u8>)> {
    let paths = files_with_extension("tests/check_history_data", "edn");
    let scenario = watermark::scenarios::find("acks1-leader-crash-loses-acked-write")
        .expect("a catalogue scenario");
    let options = watermark::sim::runner::RunOptions {
        keep_records: true,
        ..Default::default()
    };
    let report = watermark::sim::runner::run(&scenario, 0, options);
    let exported = watermark::cli::check_history::history_jsonl(&report, &scenario)
        .expect("the run's history as JSON lines");
    paths
        .iter()
        .map(|path| (true, std::fs::read(path).expect("a fixture")))
        .chain(std::iter::once((false, exported.into_bytes())))
        .collect()
}

/// Reading a history file's text in-process: an imported history the checkers then judge
/// without panicking, or one line of refusal.
fn assert_history_reads_or_refuses(edn: bool, bytes: &[u8]) -> Result<(), TestCaseError> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(());
    };
    let read = if edn {
        read_edn(text)
    } else {
        read_jsonl(text)
    };
    match read {
        Ok(imported) => {
            let _ = judge_imported(&imported);
        }
        Err(line) => {
            prop_assert!(!line.trim_end().contains('\n'), "{line}");
            prop_assert!(!line.is_empty());
        }
    }
    Ok(())
}

/// The CLI's own words, and values that sit on the edges of what they take. The scenario
/// named is a fast one and `--all` is left out, so a valid command ends within the deadline
/// and is judged too.
const WORDS: &[&str] = &[
    "run",
    "sweep",
    "list",
    "checkers",
    "switches",
    "versions",
    "matrix",
    "merge",
    "schema",
    "new",
    "report",
    "shrink",
    "explain",
    "help",
    "--seed",
    "--seeds",
    "--jobs",
    "--bug",
    "--kafka",
    "--set",
    "--shard",
    "--json",
    "--trace",
    "--records",
    "--fail-fast",
    "--max-failures",
    "--markdown",
    "--only",
    "--documented",
    "--help",
    "-h",
    "acks1-leader-crash-loses-acked-write",
    "ack-before-isr",
    "KAFKA-15583",
    "2.8",
    "acks=all",
    "min-insync=0",
    "flush=every-message",
    "0",
    "1",
    "-1",
    "0..2",
    "2..0",
    "0..=1",
    "1/2",
    "0/0",
    "3/2",
    "18446744073709551616",
    "",
    "=",
    "..",
    "x.toml",
    "--",
    "\u{feff}",
    "é",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any bytes as a scenario file: loaded only if valid, else refused in one line that
    /// names the file.
    #[test]
    fn arbitrary_bytes_as_a_scenario_file_are_loaded_or_refused_in_one_line(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let dir = temp_dir("fuzz-bytes");
        let path = dir.join("fuzzed.toml");
        std::fs::write(&path, &bytes).expect("write the fuzzed file");
        assert_loads_or_refuses(&path)?;
    }

    /// Text shaped like TOML, the same rule.
    #[test]
    fn toml_like_text_as_a_scenario_file_is_loaded_or_refused_in_one_line(
        text in toml_like_text(),
    ) {
        let dir = temp_dir("fuzz-text");
        let path = dir.join("fuzzed.toml");
        std::fs::write(&path, text.as_bytes()).expect("write the fuzzed file");
        assert_loads_or_refuses(&path)?;
    }

    /// A valid file with up to four bytes inserted, deleted or replaced.
    #[test]
    fn a_valid_file_with_bytes_edited_is_loaded_or_refused_in_one_line(
        source in any::<prop::sample::Index>(),
        edits in prop::collection::vec(
            (any::<u8>(), any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let files = valid_files();
        let mut bytes = files[source.index(files.len())].clone();
        for (kind, at, byte) in edits {
            bytes = edit(bytes, kind, at, byte);
        }
        let dir = temp_dir("fuzz-edits");
        let path = dir.join("edited.toml");
        std::fs::write(&path, &bytes).expect("write the edited file");
        assert_loads_or_refuses(&path)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any bytes as a history of either format: read and judged, or refused in one line.
    #[test]
    fn arbitrary_bytes_as_a_history_are_judged_or_refused(
        edn in any::<bool>(),
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        assert_history_reads_or_refuses(edn, &bytes)?;
    }

    /// A valid history (a Jepsen fixture or an exported run) with up to four bytes edited.
    #[test]
    fn a_valid_history_with_bytes_edited_is_judged_or_refused(
        source in any::<prop::sample::Index>(),
        edits in prop::collection::vec(
            (any::<u8>(), any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let histories = valid_histories();
        let (edn, mut bytes) = histories[source.index(histories.len())].clone();
        for (kind, at, byte) in edits {
            bytes = edit(bytes, kind, at, byte);
        }
        assert_history_reads_or_refuses(edn, &bytes)?;
    }
}

proptest! {
    // Each case starts the binary: fewer cases, each with a deadline.
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Command lines from the CLI's words and arbitrary strings: exit 0 or 1, or 2 with one
    /// line; never a panic (exit 101) or a signal.
    #[test]
    fn any_command_line_exits_0_1_or_2_with_a_message(
        words in prop::collection::vec(
            prop_oneof![
                4 => prop::sample::select(WORDS).prop_map(str::to_string),
                1 => "\\PC{0,10}",
            ],
            0..6,
        ),
    ) {
        let dir = temp_dir("fuzz-cli");
        let Some((code, text)) = run_with_deadline(&dir, &words, Duration::from_secs(10)) else {
            // A valid command that outlives the deadline (`versions`, `shrink`): not judged.
            return Ok(());
        };
        prop_assert!([0, 1, 2].contains(&code), "exit {code} for {words:?}:\n{text}");
        prop_assert!(!text.contains("panicked"), "{words:?}:\n{text}");
        if code == 2 {
            // clap's usage errors add a usage block after the error line; the line itself
            // comes first and says what is wrong.
            let first = text.lines().next().unwrap_or_default();
            prop_assert!(first.starts_with("error: "), "{words:?}:\n{text}");
        }
    }
}

/// Every file of the regression corpus is refused in one line naming it, by the binary
/// (exit 2) as in-process.
#[test]
fn the_regression_corpus_is_refused_in_one_line() {
    let paths = files_with_extension("tests/fuzz_corpus", "toml");
    assert!(paths.len() >= 6, "the corpus lost files: {paths:?}");
    for path in paths {
        let argument = path.to_str().expect("a UTF-8 path");
        let output = watermark(&["run", argument]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{argument}: {}",
            stderr(&output)
        );
        assert_one_line_refusal(&stderr(&output), Some(argument))
            .unwrap_or_else(|error| panic!("{argument}: {error}"));
        assert!(load_file(&path).is_err(), "{argument} loaded");
    }
}

/// The smallest valid scenario still runs through the same door the fuzzed files take, so
/// the refusals above are not a door that refuses everything.
#[test]
fn a_valid_file_passes_the_same_door() {
    let dir = temp_dir("fuzz-valid");
    let path = write(&dir, "small.toml", SMALL_SCENARIO);
    assert!(load_file(Path::new(&path)).is_ok());
    let output = watermark(&["run", &path]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}
