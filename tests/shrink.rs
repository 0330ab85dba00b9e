//! `watermark shrink`: swarm failures, each planted by a bug switch, shrunk to files that
//! fail on their own (`watermark run FILE --seed N`, exit 1, the same checker) with far
//! fewer faults than the swarm applied. Three, each a different switch, keep at most a fifth
//! of the faults (`truncate-to-high-watermark` 15 to 2, `no-producer-fencing` 13 to 1,
//! `ack-before-isr` 15 to 0); two more show where a fifth is out of reach and why. Also: the
//! bound on runs; the same file from the same input; bad input as one `error:` line with
//! exit code 2.
//!
//! The fault counts compared are units (a fault with its repair counts once); "before" is
//! the number of faults the swarm applied in the original run (drawn faults that could not
//! apply, or whose trigger never fired, are not counted). Figures for these cases are in
//! BENCHMARKS.md ("Shrinking failing runs").

mod cli_support;
use cli_support::*;
use serde_json::Value;
use std::path::Path;

/// Runs `watermark shrink` with `args` writing into `dir`; returns its JSON outcome and the
/// written file's path.
fn shrink(dir: &Path, name: &str, args: &[&str]) -> (Value, String) {
    let out = dir.join(format!("{name}.toml"));
    let out = out.to_str().expect("a UTF-8 temp path").to_string();
    let mut all = vec!["shrink"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", &out, "--json", "--quiet"]);
    let output = watermark(&all);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{all:?}\nstdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    let outcome: Value = serde_json::from_str(stdout(&output).trim()).expect("one JSON object");
    (outcome, out)
}

/// Checks that `watermark run FILE --seed N` fails on its own (exit 1, no `--bug`) with
/// `checker` among the checkers whose violations fail it, and that the file names no swarm.
fn fails_on_its_own(file: &str, seed: &str, checker: &str) {
    let text = std::fs::read_to_string(file).expect("the shrunk file");
    assert!(!text.contains("[faults.swarm]"), "{text}");
    let output = watermark(&["run", file, "--seed", seed, "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: Value = serde_json::from_str(stdout(&output).trim()).expect("a JSON report");
    assert_eq!(report["passed"], false);
    let checkers: Vec<&str> = report["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .filter_map(|violation| violation["checker"].as_str())
        .collect();
    assert!(checkers.contains(&checker), "{checker} not in {checkers:?}");
}

/// The original run still fails, as the catalogue and the switch make it.
fn fails_before(args: &[&str]) {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    let output = watermark(&all);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{args:?}: {}",
        stdout(&output)
    );
}

fn count(outcome: &Value, side: &str, key: &str) -> u64 {
    outcome[side][key]
        .as_u64()
        .unwrap_or_else(|| panic!("{side}.{key} in {outcome}"))
}

/// Asserts the shrunk scenario has at most a fifth of the faults the swarm applied.
fn at_least_five_times_fewer_faults(outcome: &Value) {
    let applied = count(outcome, "before", "faults_applied");
    let after = count(outcome, "after", "faults");
    assert!(
        after * 5 <= applied,
        "{after} faults left of {applied} applied: {outcome}"
    );
}

/// KIP-101's bug in the safe swarm: seed 93 loses value 11 at offset 10, committed by b1 in
/// epoch 1, once b3 leads in epoch 3 (`NoCommittedRecordLost`). The swarm applied 10 faults;
/// the search keeps 3 (b3's slow links, b1's power loss with its restart, b2's power loss)
/// and a twentieth of the fault time. (Seed 77, which kept 4 of 12, showed this before
/// issue 13's schedule epoch; docs/DECISIONS.md.) Three times fewer is what this case
/// asserts: removing an early fault moves every later one onto another moment of the
/// protocol, so the swarm's own faults are not always five times reducible.
#[test]
fn truncate_to_high_watermark_seed_93_shrinks_ten_faults_to_three() {
    let args = [
        "safe-acks-all-swarm",
        "--bug",
        "truncate-to-high-watermark",
        "--seed",
        "93",
    ];
    fails_before(&args);
    let dir = temp_dir("shrink-93");
    let mut with_bound = args.to_vec();
    with_bound.extend_from_slice(&["--max-runs", "200"]);
    let (outcome, file) = shrink(&dir, "seed-93", &with_bound);
    assert_eq!(outcome["checker"], "NoCommittedRecordLost");
    assert_eq!(outcome["reproduced"], true);
    assert_eq!(count(&outcome, "before", "faults_applied"), 10);
    let after = count(&outcome, "after", "faults");
    assert!(after * 3 <= 10, "{outcome}");
    assert!(
        count(&outcome, "after", "fault_duration_ms") * 5
            <= count(&outcome, "before", "fault_duration_ms"),
        "{outcome}"
    );
    fails_on_its_own(&file, "93", "NoCommittedRecordLost");
}

/// KIP-101's bug again, on a seed where the swarm applied fifteen faults: two are left (the
/// search's figures are in BENCHMARKS.md), and the file still loses committed records.
#[test]
fn truncate_to_high_watermark_seed_306_shrinks_fifteen_faults_to_two() {
    let args = [
        "safe-acks-all-swarm",
        "--bug",
        "truncate-to-high-watermark",
        "--seed",
        "306",
    ];
    fails_before(&args);
    let dir = temp_dir("shrink-306");
    let (outcome, file) = shrink(&dir, "seed-306", &args);
    assert_eq!(outcome["checker"], "NoCommittedRecordLost");
    assert_eq!(outcome["reproduced"], true);
    assert_eq!(count(&outcome, "before", "faults_applied"), 15);
    assert!(count(&outcome, "after", "faults") <= 2, "{outcome}");
    at_least_five_times_fewer_faults(&outcome);
    fails_on_its_own(&file, "306", "NoCommittedRecordLost");
}

/// `no-producer-fencing` in the exactly-once pipeline's swarm: seed 30 applied seven faults;
/// the zombie transformer's writes get through with one (a consumer crash and its restart a
/// millisecond later, one unit). The file loses a write (`lost-write`). (Seed 95 showed this
/// before issue 13's schedule epoch; docs/DECISIONS.md.)
#[test]
fn no_producer_fencing_seed_30_shrinks_seven_faults_to_one() {
    let args = [
        "exactly-once-pipeline-swarm",
        "--bug",
        "no-producer-fencing",
        "--seed",
        "30",
    ];
    fails_before(&args);
    let dir = temp_dir("shrink-pipeline-30");
    let (outcome, file) = shrink(&dir, "pipeline-30", &args);
    assert_eq!(outcome["checker"], "lost-write");
    assert_eq!(outcome["reproduced"], true);
    assert_eq!(count(&outcome, "before", "faults_applied"), 7);
    assert_eq!(count(&outcome, "after", "faults"), 1, "{outcome}");
    at_least_five_times_fewer_faults(&outcome);
    fails_on_its_own(&file, "30", "lost-write");
}

/// `ack-before-isr` answers acks=all as soon as the leader appended: every acknowledged
/// produce breaks `AcksAllOnMinInsync`, without any fault. The shrunk file has none, one
/// record, no consumer. Asked to keep `final-log-loss` instead (an acknowledged record
/// missing from the final log needs the leader to fail), it keeps a fifth of the faults or
/// fewer.
#[test]
fn ack_before_isr_seed_1_shrinks_to_no_fault_or_to_the_few_that_lose_a_record() {
    let args = [
        "safe-acks-all-swarm",
        "--bug",
        "ack-before-isr",
        "--seed",
        "1",
    ];
    fails_before(&args);
    let dir = temp_dir("shrink-1");
    let (outcome, file) = shrink(&dir, "seed-1", &args);
    assert_eq!(outcome["checker"], "AcksAllOnMinInsync");
    assert_eq!(count(&outcome, "after", "faults"), 0);
    assert_eq!(count(&outcome, "after", "records"), 1);
    at_least_five_times_fewer_faults(&outcome);
    fails_on_its_own(&file, "1", "AcksAllOnMinInsync");

    let mut final_log = args.to_vec();
    final_log.extend_from_slice(&["--checker", "final-log-loss", "--max-runs", "150"]);
    let (outcome, file) = shrink(&dir, "seed-1-final-log", &final_log);
    assert_eq!(outcome["checker"], "final-log-loss");
    at_least_five_times_fewer_faults(&outcome);
    fails_on_its_own(&file, "1", "final-log-loss");
}

/// `no-generation-fencing` in the group swarm: seed 0's coordinator accepts a commit from
/// a stale generation (`fenced-commit-accepted`). The swarm applied four faults (two slow
/// processings, a power loss of b2, a power loss of every broker); one is left, a power
/// loss of every broker restarted a millisecond later, with one consumer instead of three.
/// Five times fewer would be no fault at all, and the run without faults passes (the
/// search's first candidate), so a quarter is the floor here.
#[test]
fn no_generation_fencing_seed_0_shrinks_to_one_fault_and_one_consumer() {
    let args = [
        "safe-consumer-group-swarm",
        "--bug",
        "no-generation-fencing",
        "--seed",
        "0",
    ];
    fails_before(&args);
    let dir = temp_dir("shrink-group-0");
    let mut with_bound = args.to_vec();
    with_bound.extend_from_slice(&["--max-runs", "60"]);
    let (outcome, file) = shrink(&dir, "group-0", &with_bound);
    assert_eq!(outcome["checker"], "fenced-commit-accepted");
    assert_eq!(count(&outcome, "before", "faults_applied"), 4);
    assert_eq!(count(&outcome, "after", "faults"), 1);
    assert!(count(&outcome, "after", "consumers") < count(&outcome, "before", "consumers"));
    fails_on_its_own(&file, "0", "fenced-commit-accepted");
}

#[test]
fn the_same_input_writes_the_same_file_and_the_bound_on_runs_is_kept() {
    let dir = temp_dir("shrink-determinism");
    let args = [
        "safe-acks-all-swarm",
        "--bug",
        "ack-before-isr",
        "--seed",
        "1",
    ];
    let (_, first) = shrink(&dir, "first", &args);
    let (_, second) = shrink(&dir, "second", &args);
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .expect("a shrunk file")
            .replace(path, "FILE")
    };
    assert_eq!(read(&first), read(&second));

    let mut bounded = vec![
        "safe-acks-all-swarm",
        "--bug",
        "truncate-to-high-watermark",
        "--seed",
        "93",
    ];
    bounded.extend_from_slice(&["--max-runs", "3"]);
    let (outcome, file) = shrink(&dir, "bounded", &bounded);
    assert_eq!(outcome["runs"], 3);
    assert_eq!(outcome["stopped"], true);
    fails_on_its_own(&file, "93", "NoCommittedRecordLost");
}

#[test]
fn text_output_shows_the_sizes_before_and_after_and_progress_goes_to_stderr() {
    let dir = temp_dir("shrink-text");
    let out = dir.join("text.toml");
    let out = out.to_str().expect("a UTF-8 path");
    let output = watermark(&[
        "shrink",
        "safe-acks-all-swarm",
        "--bug",
        "ack-before-isr",
        "--seed",
        "1",
        "--out",
        out,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for row in [
        "checker     AcksAllOnMinInsync",
        "faults applied  15",
        "records         200",
        "brokers         3",
        "wrote       ",
        "FAIL with AcksAllOnMinInsync",
    ] {
        assert!(text.contains(row), "no `{row}` in\n{text}");
    }
    assert!(
        stderr(&output).contains("shrink run 1/300 faults"),
        "{}",
        stderr(&output)
    );
    let written = std::fs::read_to_string(out).expect("the file");
    assert!(written.starts_with(
        "# Written by `watermark shrink safe-acks-all-swarm --seed 1 --bug ack-before-isr`."
    ));
    assert!(written.contains("name = \"safe-acks-all-swarm-shrunk\""));
}

#[test]
fn bad_input_is_one_error_line_with_exit_code_two() {
    let dir = temp_dir("shrink-bad");
    let out = dir.join("x.toml");
    let out = out.to_str().expect("a UTF-8 path");
    for (args, expected) in [
        (
            vec!["shrink", "no-such-scenario", "--out", out],
            "unknown scenario `no-such-scenario`",
        ),
        (
            vec![
                "shrink",
                "acks-all-leader-crash-no-loss",
                "--seed",
                "0",
                "--out",
                out,
            ],
            "the run meets its expectation: there is no failure to shrink",
        ),
        (
            vec![
                "shrink",
                "safe-acks-all-swarm",
                "--bug",
                "ack-before-isr",
                "--seed",
                "1",
                "--checker",
                "duplicate",
                "--out",
                out,
            ],
            "checker duplicate does not fail this run; failing checkers: AcksAllOnMinInsync",
        ),
        (
            vec![
                "shrink",
                "safe-acks-all-swarm",
                "--checker",
                "lost-writ",
                "--out",
                out,
            ],
            "did you mean",
        ),
        (
            vec!["shrink", "safe-acks-all-swarm", "--out", "x.txt"],
            "must end in .toml",
        ),
        (
            vec![
                "shrink",
                "safe-acks-all-swarm",
                "--out",
                "/no/such/dir/x.toml",
            ],
            "does not exist",
        ),
    ] {
        let output = watermark(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stdout(&output)
        );
        let error = stderr(&output);
        assert_eq!(error.lines().count(), 1, "{args:?}: {error}");
        assert!(error.starts_with("error: "), "{error}");
        assert!(error.contains(expected), "{args:?}: {error}");
    }
    assert!(!Path::new(out).exists(), "nothing is written on bad input");
}

/// The swarm written out as scheduled faults and triggers runs as the swarm does: the same
/// violations and verdict, seed by seed, and the same safety phase. The trace's wording
/// differs (no swarm, no drawn configuration, faults listed as scripted), and so may the
/// liveness phase's order when the swarm put a repair exactly at the end of the safety
/// phase, which a file cannot say (docs/DECISIONS.md); counters then differ by a few
/// messages (seed 1).
#[test]
fn the_swarm_written_out_runs_exactly_as_the_swarm() {
    use watermark::sim::runner::{run, RunOptions};
    use watermark::sim::shrink::Shrinkable;
    let cases: [(&str, std::ops::Range<u64>); 2] = [
        ("safe-acks-all-swarm", 0..40),
        ("safe-consumer-group-swarm", 0..2),
    ];
    for (name, seeds) in cases {
        let scenario = watermark::scenarios::find(name).expect("a catalogue scenario");
        for seed in seeds {
            let original = run(&scenario, seed, RunOptions::default());
            let written = Shrinkable::materialise(&scenario, seed).scenario();
            assert!(written.faults.swarm.is_none());
            let text = watermark::scenarios::to_toml(&written).expect("TOML");
            let loaded = watermark::scenarios::parse_toml(&text, name).expect("it loads");
            let again = run(&loaded, seed, RunOptions::default());
            assert_eq!(again.violations, original.violations, "{name} seed {seed}");
            assert_eq!(again.failures, original.failures, "{name} seed {seed}");
            assert_eq!(again.passed, original.passed, "{name} seed {seed}");
        }
    }
}
