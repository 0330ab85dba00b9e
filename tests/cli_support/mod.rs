//! Shared by the tests that run the `watermark` binary: starting it, reading what it printed,
//! scratch directories and the smallest scenario file.

#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const WATERMARK: &str = env!("CARGO_BIN_EXE_watermark");

/// One broker, replication factor 1, five records, short phases: a run takes milliseconds.
pub const SMALL_SCENARIO: &str = r#"
name = "small-one-broker"
summary = "one broker, five records"
brokers = 1

[topic]
replication_factor = 1
min_insync_replicas = 1

[[producers]]
records = 5
interval_ms = 10

[phases]
safety_ms = 3000
liveness_ms_max = 5000
"#;

/// A directory of this test's own, emptied first. Each test binary is its own process, so
/// the process id keeps two binaries' tests of the same name apart.
pub fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("watermark-test-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

/// Writes `text` to `dir/name` and returns the path as an argument.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a scenario file");
    path.to_str().expect("a UTF-8 temp path").to_string()
}

/// The files directly in the repository's `directory` whose names end in `.extension`,
/// sorted by path.
pub fn files_with_extension(directory: &str, extension: &str) -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join(directory);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|found| found == extension))
        .collect();
    paths.sort();
    paths
}

/// Runs the binary with `args`, in cargo's environment (as `cargo test` started it).
pub fn watermark(args: &[&str]) -> Output {
    Command::new(WATERMARK)
        .args(args)
        .output()
        .expect("the watermark binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every line of stdout as JSON.
pub fn json_lines(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .collect()
}

/// Asserts exit code 2 and a single `error:` line on stderr containing `needle`.
pub fn assert_bad_input(output: &Output, needle: &str) {
    let stderr = stderr(output);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(needle), "`{needle}` missing from: {stderr}");
}
