//! `watermark schema` and `watermark new` from the outside.

mod cli_support;
use cli_support::*;
use std::process::{Command, Output};

const WATERMARK: &str = env!("CARGO_BIN_EXE_watermark");

fn watermark(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(WATERMARK)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the watermark binary runs")
}

#[test]
fn schema_prints_the_checked_in_schema() {
    let output = watermark(&["schema"], &std::env::temp_dir());
    assert_eq!(output.status.code(), Some(0));
    let checked_in = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario.schema.json"),
    )
    .expect("the checked-in schema");
    assert_eq!(String::from_utf8_lossy(&output.stdout), checked_in);
}

#[test]
fn new_writes_a_starter_that_runs_as_written_and_passes() {
    let dir = temp_dir("runs");
    let output = watermark(&["new", "my-first"], &dir);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let text = std::fs::read_to_string(dir.join("my-first.toml")).expect("written");
    assert!(text.contains("name = \"my-first\""), "{text}");
    let run = watermark(&["run", "my-first.toml", "--seed", "0"], &dir);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("PASS"), "{stdout}");
}

#[test]
fn new_writes_where_output_says() {
    let dir = temp_dir("output");
    let output = watermark(&["new", "leader-crash", "-o", "elsewhere.toml"], &dir);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(dir.join("elsewhere.toml").exists());
    assert!(!dir.join("leader-crash.toml").exists());
}

#[test]
fn new_refuses_to_overwrite_a_file() {
    let dir = temp_dir("overwrite");
    std::fs::write(dir.join("mine.toml"), "keep me").expect("write");
    let output = watermark(&["new", "mine"], &dir);
    assert_bad_input(&output, "mine.toml already exists");
    assert_eq!(
        std::fs::read_to_string(dir.join("mine.toml")).unwrap(),
        "keep me"
    );
}

#[test]
fn new_refuses_a_bad_name() {
    let dir = temp_dir("bad-name");
    let output = watermark(&["new", "My Scenario"], &dir);
    assert_bad_input(
        &output,
        "scenario name `My Scenario` is not allowed; allowed: ",
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}
