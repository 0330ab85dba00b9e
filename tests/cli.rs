//! The `watermark` binary from the outside: exit codes, `error:` lines and output formats.
//! The actors are stubs on this branch, so runs use a tiny scenario file that fails to
//! converge quickly; the tests assert formats and exit codes, never a verdict.

mod cli_support;
use cli_support::*;
use serde_json::Value;
use std::path::Path;

/// How a replay line starts when cargo ran the tests: cargo's environment reaches the binary,
/// and the profile is the directory the binary was built into.
fn cargo_run() -> &'static str {
    let profile = Path::new(WATERMARK)
        .parent()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str());
    match profile {
        Some("debug") => "cargo run --",
        Some("release") => "cargo run --release --",
        other => panic!("the test binary is in an unexpected directory: {other:?}"),
    }
}

#[test]
fn list_prints_every_scenario() {
    let output = watermark(&["list"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    let names = watermark::scenarios::names();
    assert_eq!(text.lines().count(), names.len(), "{text}");
    for name in names {
        assert!(
            text.lines()
                .any(|line| line.starts_with(&format!("{name} "))),
            "{name} missing from: {text}"
        );
    }
}

#[test]
fn run_unknown_scenario_exits_2_and_lists_known_ones() {
    let output = watermark(&["run", "no-such-scenario"]);
    assert_bad_input(&output, "unknown scenario `no-such-scenario`");
    assert!(stderr(&output).contains("known:"));
    for name in watermark::scenarios::names() {
        assert!(stderr(&output).contains(&name), "{name} not listed");
    }
}

#[test]
fn run_malformed_toml_exits_2_with_line() {
    let dir = temp_dir("malformed");
    let path = write(
        &dir,
        "malformed.toml",
        "name = \"x\"\nbrokers = 3\n[topic]\nreplication_factor = \"three\"\n",
    );
    assert_bad_input(&watermark(&["run", &path]), &format!("{path}:4:"));
    let unreadable = dir.join("absent.toml");
    let unreadable = unreadable.to_str().expect("a UTF-8 temp path");
    assert_bad_input(
        &watermark(&["run", unreadable]),
        &format!("scenario file `{unreadable}` does not exist"),
    );
}

#[test]
fn rust_log_shows_the_step_records_as_tracing_events() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_watermark"))
        .args(["run", "acks1-leader-crash-loses-acked-write", "--seed", "7"])
        .env("RUST_LOG", "watermark::nemesis=info,watermark::step=debug")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let log = stderr(&output);
    assert!(log.contains("Crash"), "{log}");
    assert!(
        log.contains("node{node=b1 t_ms="),
        "one span per node: {log}"
    );
    assert!(log.contains("Timers"), "{log}");
    let quiet = watermark(&["run", "acks1-leader-crash-loses-acked-write", "--seed", "7"]);
    assert!(stderr(&quiet).is_empty(), "nothing without RUST_LOG");
}

#[test]
fn run_records_prints_one_json_record_per_line_before_the_report() {
    let output = watermark(&[
        "run",
        "acks1-leader-crash-loses-acked-write",
        "--seed",
        "7",
        "--records",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    let records: Vec<serde_json::Value> = text
        .lines()
        .take_while(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(records.len() > 100);
    for kind in ["step", "dropped", "nemesis", "finding"] {
        assert!(
            records.iter().any(|record| record["record"] == kind),
            "no {kind} record"
        );
    }
}

#[test]
fn a_misspelled_mark_exits_2_with_the_closest_name() {
    let dir = temp_dir("misspelled-mark");
    let path = write(
        &dir,
        "mark.toml",
        "name = \"x\"\n\n[expect]\nmarks = [\"isr-shrank\"]\n",
    );
    assert_bad_input(
        &watermark(&["run", &path]),
        "unknown coverage mark `isr-shrank`; did you mean `isr-shrunk`?",
    );
}

#[test]
fn an_unknown_ordering_expectation_exits_2_with_the_allowed_values() {
    let dir = temp_dir("unknown-ordering");
    let path = write(
        &dir,
        "ordering.toml",
        "name = \"x\"\n\n[expect]\nordering = \"kept\"\n",
    );
    assert_bad_input(&watermark(&["run", &path]), "`preserved` or `violated`");
}

#[test]
fn checkers_lists_every_checker_with_its_source_and_file_and_marks_lists_every_mark() {
    let output = watermark(&["checkers"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    for info in watermark::sim::checkers::REGISTRY {
        assert!(
            text.lines().any(|line| line.starts_with(info.name)),
            "{}",
            info.name
        );
        assert!(text.contains(info.source), "{}", info.source);
        assert!(text.contains(info.file), "{}", info.file);
    }
    let marks = stdout(&watermark(&["checkers", "--marks"]));
    for mark in watermark::broker_core::mark::Mark::ALL {
        assert!(
            marks.lines().any(|line| line.starts_with(mark.name())),
            "{mark}"
        );
    }
}

#[test]
fn switches_lists_every_switch_with_its_kind_and_origin_and_a_jira_selects_one() {
    let output = watermark(&["switches"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    for switch in watermark::broker_core::bugs::BugSwitch::ALL {
        assert!(
            text.lines().any(|line| line.starts_with(switch.name())),
            "{switch}"
        );
        if let Some(change) = switch.changed_by() {
            assert!(text.contains(change), "{change}");
        }
    }
    let output = watermark(&[
        "run",
        "hw-held-below-min-isr",
        "--seed",
        "1",
        "--bug",
        "KAFKA-15583",
    ]);
    assert!(
        stdout(&output).contains("bugs hw-advances-under-min-isr"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn run_impossible_config_exits_2() {
    let dir = temp_dir("impossible");
    let cases = [
        (
            "insync.toml",
            "name = \"x\"\n[topic]\nreplication_factor = 3\nmin_insync_replicas = 4\n",
            "min_insync_replicas = 4 is more than topic.replication_factor = 3",
        ),
        (
            "rf.toml",
            "name = \"x\"\nbrokers = 2\n[topic]\nreplication_factor = 3\n",
            "replication_factor = 3 is more than brokers = 2",
        ),
        (
            "zero.toml",
            "name = \"x\"\nbrokers = 0\n",
            "brokers must be at least 1",
        ),
    ];
    for (file, text, needle) in cases {
        let path = write(&dir, file, text);
        assert_bad_input(&watermark(&["run", &path]), needle);
        assert_bad_input(&watermark(&["sweep", &path, "--seeds", "0..2"]), needle);
    }
}

#[test]
fn sweep_bad_seed_range_exits_2() {
    let dir = temp_dir("seed-range");
    let path = write(&dir, "small.toml", SMALL_SCENARIO);
    for range in [
        "5..5", "9..2", "a..3", "1..b", "", "4..=3", "1..=x", "1...3", "x",
    ] {
        assert_bad_input(
            &watermark(&["sweep", &path, "--seeds", range]),
            &format!("seeds `{range}`: "),
        );
        assert_bad_input(
            &watermark(&["sweep", &path, "--seeds", range]),
            "write `N` (one seed), `A..B` (B excluded) or `A..=B` (B included)",
        );
        assert_bad_input(&watermark(&["--seeds", range]), "`A..=B`");
    }
}

#[test]
fn sweep_bad_shard_exits_2() {
    let dir = temp_dir("shard");
    let path = write(&dir, "small.toml", SMALL_SCENARIO);
    for shard in ["0/3", "4/3", "1/0", "x", "1/y"] {
        assert_bad_input(&watermark(&["sweep", &path, "--shard", shard]), "shard");
    }
}

#[test]
fn unknown_bug_switch_exits_2() {
    let dir = temp_dir("bug");
    let path = write(&dir, "small.toml", SMALL_SCENARIO);
    assert_bad_input(
        &watermark(&["run", &path, "--bug", "no-such-bug"]),
        "unknown bug switch `no-such-bug`",
    );
    assert_bad_input(
        &watermark(&["sweep", &path, "--bug", "no-such-bug"]),
        "unknown bug switch `no-such-bug`",
    );
}

#[test]
fn unknown_flag_exits_2() {
    for args in [
        vec!["run", "x", "--no-such-flag"],
        vec!["no-such-command"],
        vec!["sweep"],
        vec!["run", "x", "--seed", "seven"],
        vec!["sweep", "x", "--jobs", "0"],
        vec!["check-history"],
        vec!["check-history", "h.jsonl", "--format", "xml"],
        vec!["check-history", "no-such-history.jsonl"],
    ] {
        let output = watermark(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).starts_with("error: "), "{args:?}");
    }
    for args in [["--help"], ["--version"]] {
        assert_eq!(watermark(&args).status.code(), Some(0), "{args:?}");
    }
}

#[test]
fn run_json_has_the_documented_fields() {
    let dir = temp_dir("run-json");
    let path = write(&dir, "small.toml", SMALL_SCENARIO);
    let output = watermark(&[
        "run",
        &path,
        "--seed",
        "7",
        "--bug",
        "ack-before-isr",
        "--json",
    ]);
    let code = output.status.code();
    assert!(matches!(code, Some(0 | 1)), "{code:?}: {}", stderr(&output));
    let text = stdout(&output);
    assert_eq!(text.lines().count(), 1, "one object: {text}");
    let report: Value = serde_json::from_str(&text).expect("valid JSON");
    for field in [
        "scenario",
        "seed",
        "trace_hash",
        "observed",
        "expected",
        "ordering",
        "passed",
        "violations",
        "sim_time_ms",
        "wall_ms",
        "replay",
        "options",
        "counters",
    ] {
        assert!(report.get(field).is_some(), "no `{field}` in {report}");
    }
    assert_eq!(report["scenario"], "small-one-broker");
    assert_eq!(report["seed"], 7);
    assert_eq!(report["passed"].as_bool(), Some(code == Some(0)));
    for violation in report["violations"].as_array().expect("a list") {
        assert!(violation["checker"].is_string(), "{violation}");
    }
    assert_eq!(
        report["replay"],
        format!("{} run {path} --seed 7 --bug ack-before-isr", cargo_run())
    );
    assert_eq!(report["options"]["bugs"][0], "ack-before-isr");

    // The same seed gives the same trace hash, and --trace --json puts the trace first.
    let traced = watermark(&[
        "run",
        &path,
        "--seed",
        "7",
        "--bug",
        "ack-before-isr",
        "--json",
        "--trace",
    ]);
    let lines: Vec<Value> = stdout(&traced)
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .collect();
    let (last, trace) = lines.split_last().expect("a report line");
    assert!(!trace.is_empty(), "trace lines first");
    assert!(trace.iter().all(|line| line.get("t_ms").is_some()));
    assert_eq!(last["trace_hash"], report["trace_hash"]);
}

#[test]
fn run_text_prints_the_seed_options_and_replay_command() {
    let dir = temp_dir("run-text");
    let path = write(&dir, "small.toml", SMALL_SCENARIO);
    let output = watermark(&["run", &path, "--seed", "3"]);
    let text = stdout(&output);
    for needle in [
        "scenario    small-one-broker",
        "seed        3",
        "brokers 1",
        "rf 1",
        "min.insync 1",
        "acks all",
        "unclean false",
        "flush never",
        "bugs none",
        "expected",
        "observed",
        "ordering    preserved (not judged)",
        "trace hash",
        "sim time",
        "wall time",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    }
    if output.status.code() == Some(1) {
        assert!(text.contains(&format!("{} run {path} --seed 3", cargo_run())));
    }
}

#[test]
fn sweep_json_prints_one_line_per_seed_then_a_summary() {
    let dir = temp_dir("sweep-json");
    let path = write(&dir, "small.toml", SMALL_SCENARIO);
    let output = watermark(&["sweep", &path, "--seeds", "10..16", "--jobs", "2", "--json"]);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).is_empty(), "no progress bar with --json");
    let lines: Vec<Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .collect();
    assert_eq!(lines.len(), 7);
    let (summary, runs) = lines.split_last().expect("lines");
    let seeds: Vec<u64> = runs.iter().filter_map(|run| run["seed"].as_u64()).collect();
    assert_eq!(seeds, (10..16).collect::<Vec<_>>(), "seed order");
    for run in runs {
        assert_eq!(run["kind"], "run");
        assert!(run["trace_hash"].is_string());
        assert!(run["replay"].is_string());
    }
    assert_eq!(summary["kind"], "sweep-summary");
    assert_eq!(summary["runs"], 6);
    let counted = ["passed", "failed", "panicked"]
        .iter()
        .map(|field| summary[field].as_u64().expect("a count"))
        .sum::<u64>();
    assert_eq!(counted, 6);
    assert!(summary["failure_groups"].is_array());
    assert!(summary["seeds_per_s"].is_number());
    let expected_code = if summary["panicked"] != 0 {
        3
    } else if summary["failed"] != 0 {
        1
    } else {
        0
    };
    assert_eq!(output.status.code(), Some(expected_code));
}

#[test]
fn sweep_shards_split_the_seeds_and_give_the_same_hashes() {
    let dir = temp_dir("sweep-shard");
    let path = write(&dir, "small.toml", SMALL_SCENARIO);
    let hashes = |args: &[&str]| -> Vec<(u64, String)> {
        let mut all = vec!["sweep", path.as_str(), "--seeds", "0..6", "--json"];
        all.extend_from_slice(args);
        let output = watermark(&all);
        let text = stdout(&output);
        let lines: Vec<Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("JSON"))
            .collect();
        lines
            .iter()
            .filter(|line| line["kind"] == "run")
            .map(|line| {
                let seed = line["seed"].as_u64().expect("seed");
                (seed, line["trace_hash"].as_str().expect("hash").to_string())
            })
            .collect()
    };
    let whole = hashes(&["--jobs", "1"]);
    let mut sharded = hashes(&["--shard", "1/2", "--jobs", "2"]);
    sharded.extend(hashes(&["--shard", "2/2"]));
    sharded.sort();
    assert_eq!(whole, sharded);
}

#[test]
fn bench_quick_prints_every_figure_with_its_target() {
    let dir = temp_dir("bench");
    let path = write(&dir, "small.toml", SMALL_SCENARIO);
    let output = watermark(&["bench", "--quick", "--scenario", &path]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for needle in [
        "seeds/s, 1 job",
        "seeds/s, 2 jobs",
        "≥ 1.9x one job",
        "simulated:wall time",
        "≥ 10000x",
        "messages delivered/s",
        "bare pump",
        "≤ 1.5x",
        "peak memory",
        "flat",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    }
    assert_bad_input(
        &watermark(&["bench", "--quick", "--scenario", "no-such-scenario"]),
        "unknown scenario",
    );
}

/// Time to detect: a demonstration's bug is found on its first seed, a swarm's after some;
/// each row names the switch, its catching scenario and how many searches found it. An
/// unknown switch is bad input.
#[test]
fn bench_detect_times_the_search_for_each_chosen_switch() {
    let output = watermark(&[
        "bench",
        "--detect",
        "--detect-offsets",
        "2",
        "--detect-bug",
        "epoch-lookup-without-epoch",
        "--detect-bug",
        "ack-before-isr",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let row = |switch: &str| -> Vec<String> {
        text.lines()
            .find(|line| line.starts_with(switch))
            .unwrap_or_else(|| panic!("no row for {switch} in:\n{text}"))
            .split("  ")
            .map(str::trim)
            .filter(|cell| !cell.is_empty())
            .map(str::to_string)
            .collect()
    };
    let demonstration = row("epoch-lookup-without-epoch");
    assert_eq!(
        demonstration[1..4],
        ["fast-failover-without-epoch-check-diverges", "2 of 2", "1"],
        "{text}"
    );
    let swarm = row("ack-before-isr");
    assert_eq!(
        swarm[1..4],
        ["safe-acks-all-swarm", "2 of 2", "1"],
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|line| line.contains(" of 2 ")).count(),
        2,
        "{text}"
    );
    assert_bad_input(
        &watermark(&["bench", "--detect", "--detect-bug", "no-such-bug"]),
        "no-such-bug",
    );
}

/// The README's main command: the tour runs every catalogue scenario, prints the table and
/// exits 0 because every expectation holds.
#[test]
fn the_tour_passes_every_catalogue_scenario() {
    let output = watermark(&[]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}\n{}", stderr(&output));
    for name in watermark_scenarios::names() {
        let row = text
            .lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{text}"));
        assert!(row.trim_end().ends_with("PASS"), "{row}");
    }
}

/// The headline check, through the binary: acks=1 loses an acknowledged write at
/// seed 7, and that is exactly what the scenario expects.
#[test]
fn acks1_at_seed_7_reports_lost_write_and_passes() {
    let output = watermark(&[
        "run",
        "acks1-leader-crash-loses-acked-write",
        "--seed",
        "7",
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(report["observed"], "at-most-once");
    let checkers: Vec<&str> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|violation| violation["checker"].as_str())
        .collect();
    assert!(checkers.contains(&"lost-write"), "{checkers:?}");
}

/// A bug switch turns the safe swarm into a failing sweep: exit 1 and a replay command.
#[test]
fn a_sweep_with_a_bug_switch_fails_and_prints_the_replay_command() {
    let output = watermark(&[
        "sweep",
        "safe-acks-all-swarm",
        "--seeds",
        "0..40",
        "--bug",
        "ack-before-isr",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(
        text.contains(&format!("{} run safe-acks-all-swarm --seed ", cargo_run()))
            && text.contains("--bug ack-before-isr"),
        "{text}"
    );
}
