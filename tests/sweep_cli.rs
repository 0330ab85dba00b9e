//! `watermark sweep` from the outside: failing seeds grouped by reason, `--fail-fast` and
//! `--max-failures` (the same output whatever `--jobs`), the three seed forms, replay lines
//! that match how the binary was started, and "did you mean" for scenario names.

mod cli_support;
use cli_support::*;
use serde_json::Value;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Output};

/// Two switches that break the safe swarm on different seeds: the high watermark advancing
/// under min.insync (KAFKA-15583) first fails seed 1, truncation to the high watermark
/// (pre-KIP-101) first fails seed 2.
const TWO_BUGS: [&str; 4] = [
    "--bug",
    "hw-advances-under-min-isr",
    "--bug",
    "truncate-to-high-watermark",
];

fn small_scenario(test: &str) -> String {
    let path = temp_dir(test).join("small.toml");
    std::fs::write(&path, SMALL_SCENARIO).expect("write a scenario file");
    path.to_str().expect("a UTF-8 temp path").to_string()
}

/// The binary as a shell would start it: without cargo's environment.
fn from_a_shell(argv0: &str, args: &[&str]) -> Output {
    Command::new(WATERMARK)
        .arg0(argv0)
        .args(args)
        .env_remove("CARGO")
        .env_remove("CARGO_MANIFEST_DIR")
        .output()
        .expect("the watermark binary runs")
}

fn swarm_sweep(seeds: &str, extra: &[&str]) -> Output {
    let mut args = vec!["sweep", "safe-acks-all-swarm", "--seeds", seeds];
    args.extend_from_slice(&TWO_BUGS);
    args.extend_from_slice(extra);
    watermark(&args)
}

/// (reason, seeds, first seed) of each failure group of a JSON summary.
fn groups(summary: &Value) -> Vec<(String, u64, u64)> {
    summary["failure_groups"]
        .as_array()
        .expect("a list of groups")
        .iter()
        .map(|group| {
            (
                group["reason"].as_str().expect("a reason").to_string(),
                group["seeds"].as_u64().expect("a count"),
                group["first_seed"].as_u64().expect("a seed"),
            )
        })
        .collect()
}

#[test]
fn a_sweep_with_two_bug_switches_groups_failing_seeds_by_reason() {
    // Seeds 0..100: the first that loses committed records with the truncation switch is 93
    // (issue 10's idempotent producer moved it from seed 2 to 77, issue 13's schedule epoch
    // to 93).
    let output = swarm_sweep("0..100", &["--jobs", "2", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let lines = json_lines(&output);
    let summary = lines.last().expect("a summary line");
    assert_eq!(
        groups(summary),
        vec![
            ("invariant HighWatermarkCommitted".to_string(), 30, 1),
            ("checker final-log-loss".to_string(), 1, 93),
            (
                "guarantee: expected at-least-once, observed at-most-once".to_string(),
                1,
                93
            ),
            ("invariant NoCommittedRecordLost".to_string(), 1, 93),
        ]
    );
    assert_eq!(
        (summary["failed"].as_u64(), summary["passed"].as_u64()),
        (Some(31), Some(69))
    );
    let replay = summary["failure_groups"][1]["replay"]
        .as_str()
        .expect("a replay");
    assert!(
        replay.ends_with(
            "run safe-acks-all-swarm --seed 93 --bug truncate-to-high-watermark \
             --bug hw-advances-under-min-isr"
        ),
        "{replay}"
    );

    // The text summary carries the same groups, each with the line that replays its first
    // seed.
    let text = stdout(&swarm_sweep("0..100", &["--jobs", "2"]));
    let row = |reason: &str| {
        text.lines()
            .find(|line| line.contains(reason))
            .unwrap_or_else(|| panic!("no `{reason}` row in:\n{text}"))
            .split_whitespace()
            .rev()
            .take(2)
            .collect::<Vec<_>>()
    };
    assert_eq!(row("invariant HighWatermarkCommitted"), ["1", "30"]);
    assert_eq!(row("invariant NoCommittedRecordLost"), ["93", "1"]);
    assert!(
        text.contains("replay: ") && text.contains("run safe-acks-all-swarm --seed 93 --bug"),
        "{text}"
    );
}

/// The sweep's output without what depends on the machine: the heading (it names the
/// jobs) and the speed line.
fn deterministic_part(output: &Output) -> String {
    stdout(output)
        .lines()
        .filter(|line| !line.starts_with("sweep ") && !line.starts_with("speed "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn max_failures_stops_at_the_nth_failing_seed_whatever_the_jobs() {
    let whole = json_lines(&swarm_sweep("0..30", &["--json", "--jobs", "2"]));
    let failing: Vec<u64> = whole
        .iter()
        .filter(|line| line["kind"] == "run" && line["passed"] == false)
        .map(|line| line["seed"].as_u64().expect("a seed"))
        .collect();
    let third = failing[2];

    let one_job = swarm_sweep("0..30", &["--max-failures", "3", "--jobs", "1"]);
    let two_jobs = swarm_sweep("0..30", &["--max-failures", "3", "--jobs", "2"]);
    assert_eq!(one_job.status.code(), Some(1));
    assert_eq!(deterministic_part(&one_job), deterministic_part(&two_jobs));
    let text = stdout(&one_job);
    assert!(
        text.contains(&format!(
            "stopped       stopped after 3 failures at seed {third}; seeds 0..={third} ran"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("seeds run     {}", third + 1)),
        "{text}"
    );

    for jobs in ["1", "2"] {
        let lines = json_lines(&swarm_sweep(
            "0..30",
            &["--max-failures", "3", "--json", "--jobs", jobs],
        ));
        let (summary, runs) = lines.split_last().expect("lines");
        let seeds: Vec<u64> = runs.iter().filter_map(|run| run["seed"].as_u64()).collect();
        assert_eq!(seeds, (0..=third).collect::<Vec<_>>(), "jobs {jobs}");
        assert_eq!(summary["runs"].as_u64(), Some(third + 1));
        assert_eq!(summary["stopped"]["seed"].as_u64(), Some(third));
        assert_eq!(summary["stopped"]["failures"].as_u64(), Some(3));
    }
}

#[test]
fn fail_fast_stops_at_the_first_failing_seed() {
    let output = swarm_sweep("0..30", &["--fail-fast", "--jobs", "2"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("stopped after 1 failure at seed 1; seeds 0..=1 ran"),
        "{text}"
    );
    assert!(text.contains("seeds run     2"), "{text}");
    // Without a failure nothing stops, and the summary says nothing about stopping.
    let path = small_scenario("fail-fast");
    let passing = watermark(&["sweep", &path, "--seeds", "0..3", "--fail-fast"]);
    assert!(
        !stdout(&passing).contains("stopped"),
        "{}",
        stdout(&passing)
    );
}

#[test]
fn bad_failure_limits_exit_2() {
    let path = small_scenario("limits");
    for args in [
        vec!["sweep", path.as_str(), "--max-failures", "0"],
        vec!["sweep", path.as_str(), "--max-failures", "x"],
        vec!["sweep", path.as_str(), "--fail-fast", "--max-failures", "2"],
    ] {
        let output = watermark(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(stderr(&output).starts_with("error: "), "{args:?}");
    }
}

fn swept_seeds(args: &[&str]) -> Vec<u64> {
    let output = watermark(args);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        stderr(&output)
    );
    json_lines(&output)
        .iter()
        .filter(|line| line["kind"] == "run")
        .filter_map(|line| line["seed"].as_u64())
        .collect()
}

#[test]
fn seeds_take_one_seed_a_half_open_range_or_an_inclusive_one() {
    let path = small_scenario("seed-forms");
    let sweep = |seeds: &str, extra: &[&str]| {
        let mut args = vec!["sweep", path.as_str(), "--seeds", seeds, "--json"];
        args.extend_from_slice(extra);
        swept_seeds(&args)
    };
    assert_eq!(sweep("4", &[]), [4]);
    assert_eq!(sweep("2..5", &[]), [2, 3, 4]);
    assert_eq!(sweep("2..=5", &[]), [2, 3, 4, 5]);
    assert_eq!(sweep("0..=5", &["--shard", "2/2"]), [1, 3, 5]);
}

#[test]
fn the_tour_takes_an_inclusive_range_and_rejects_bad_seeds() {
    let output = watermark(&["--seeds", "1..=1", "--jobs", "2"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("seeds 1..=1"), "{text}");
    let row = text
        .lines()
        .find(|line| line.starts_with("safe-acks-all-swarm "))
        .expect("a row");
    assert!(row.contains("×1"), "one seed per scenario: {row}");
    assert_bad_input(
        &watermark(&["--seeds", "3..=1"]),
        "seeds `3..=1`: the range is empty",
    );
}

#[test]
fn the_replay_line_names_the_binary_as_it_was_typed() {
    let path = small_scenario("replay");
    let replay = |output: &Output| {
        stdout(output)
            .lines()
            .find_map(|line| line.strip_prefix("replay"))
            .expect("a replay line")
            .trim()
            .to_string()
    };
    let output = from_a_shell(WATERMARK, &["run", &path, "--seed", "3"]);
    assert_eq!(replay(&output), format!("{WATERMARK} run {path} --seed 3"));
    let output = from_a_shell("./my build/watermark", &["run", &path, "--seed", "3"]);
    assert_eq!(
        replay(&output),
        format!("'./my build/watermark' run {path} --seed 3")
    );
    let output = from_a_shell(
        "./target/release/watermark",
        &["sweep", &path, "--seeds", "5", "--json"],
    );
    let lines = json_lines(&output);
    assert_eq!(
        lines[0]["replay"],
        format!("./target/release/watermark run {path} --seed 5")
    );
}

#[test]
fn through_cargo_the_replay_line_is_cargo_run_in_the_binarys_profile() {
    let path = small_scenario("replay-cargo");
    let output = Command::new(WATERMARK)
        .args(["run", &path, "--seed", "3", "--json"])
        .env("CARGO", "cargo")
        .env("CARGO_MANIFEST_DIR", env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the watermark binary runs");
    let report: Value = serde_json::from_str(stdout(&output).trim()).expect("JSON");
    let profile = Path::new(WATERMARK)
        .parent()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str());
    let cargo_run = match profile {
        Some("debug") => "cargo run --",
        Some("release") => "cargo run --release --",
        other => panic!("an unexpected build directory {other:?}"),
    };
    assert_eq!(report["replay"], format!("{cargo_run} run {path} --seed 3"));
}

#[test]
fn a_misspelled_scenario_name_gets_the_closest_one() {
    assert_bad_input(
        &watermark(&["run", "acks1-leader-crash-loses-aked-write"]),
        "unknown scenario `acks1-leader-crash-loses-aked-write`; did you mean \
         `acks1-leader-crash-loses-acked-write`?",
    );
    assert_bad_input(
        &watermark(&["sweep", "safe-acks-all-swarn", "--seeds", "0"]),
        "did you mean `safe-acks-all-swarm`?",
    );
}

#[test]
fn a_scenario_path_that_does_not_exist_says_so() {
    let dir = temp_dir("absent");
    let absent = dir.join("absent.toml");
    let absent = absent.to_str().expect("a UTF-8 path");
    assert_bad_input(
        &watermark(&["sweep", absent, "--seeds", "0"]),
        &format!("scenario file `{absent}` does not exist"),
    );
    let not_toml = dir.join("absent.tml");
    let not_toml = not_toml.to_str().expect("a UTF-8 path");
    assert_bad_input(
        &watermark(&["run", not_toml]),
        &format!("no file `{not_toml}` exists"),
    );
}
