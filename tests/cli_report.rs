//! What `watermark run` reports beyond the verdict: every setting that is not its default,
//! the faults that did not apply, and `optional = true` read from a scenario file.

mod cli_support;
use cli_support::*;
use serde_json::Value;
use std::path::PathBuf;

/// The JSON object `run --json` printed last.
fn run_json(args: &[&str]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let output = watermark(&with_json);
    let text = stdout(&output);
    let last = text.lines().last().expect("a JSON line");
    serde_json::from_str(last).expect("run --json prints JSON")
}

fn examples() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"))
            .expect("the examples directory")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| {
                path.extension()
                    .is_some_and(|extension| extension == "toml")
            })
            .collect();
    paths.sort();
    paths
}

#[test]
fn run_on_each_example_prints_its_non_default_settings() {
    let examples = examples();
    assert!(examples.len() >= 4, "{examples:?}");
    for example in examples {
        let path = example.to_str().expect("a UTF-8 path");
        let text = stdout(&watermark(&["run", path, "--seed", "0"]));
        let json = run_json(&["run", path, "--seed", "0"]);
        let settings = json["non_default_settings"]
            .as_array()
            .expect("non_default_settings is a list");
        assert!(!settings.is_empty(), "{path} changes no setting?");
        assert!(
            text.lines().any(|line| line.starts_with("settings ")),
            "{path}:\n{text}"
        );
        for setting in settings {
            let key = setting["key"].as_str().expect("a key");
            let line = format!("{key} = ");
            assert!(
                text.contains(&line) && text.contains("(default "),
                "{path}: `{line}` missing from\n{text}"
            );
        }
    }
}

#[test]
fn the_slow_follower_example_shows_its_replica_lag_time() {
    let text = stdout(&watermark(&[
        "run",
        "examples/slow-follower.toml",
        "--seed",
        "0",
    ]));
    assert!(
        text.contains("broker.replica_lag_time_max_ms = 5000 (default 30000)"),
        "{text}"
    );
}

/// One broker, a restart of that broker while it is up at 1 s.
fn restart_while_up(optional: bool) -> String {
    format!(
        r#"
name = "restart-while-up"
brokers = 1

[topic]
replication_factor = 1
min_insync_replicas = 1

[[producers]]
records = 5
interval_ms = 10

[[faults.scripted]]
at_ms = 1000
fault = "restart"
target = {{ broker = 1 }}
optional = {optional}

[phases]
safety_ms = 3000
liveness_ms_max = 5000
"#
    )
}

fn scenario_file(test: &str, text: &str) -> String {
    write(&temp_dir(test), "scenario.toml", text)
}

#[test]
fn a_fault_that_did_not_apply_is_listed_and_fails_the_run_unless_optional() {
    let path = scenario_file("required", &restart_while_up(false));
    let output = watermark(&["run", &path]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("not applied 1 fault(s) or trigger(s) did not apply (0 optional)"),
        "{text}"
    );
    assert!(
        text.contains("restart target = { broker = 1 } at t=1000ms (scripted): b1 was already up"),
        "{text}"
    );
    assert!(
        text.contains("failure   fault not applied: restart"),
        "{text}"
    );
    let json = run_json(&["run", &path]);
    assert_eq!(json["faults_not_applied"][0]["source"], "scripted");
    assert_eq!(json["faults_not_applied"][0]["fault"]["fault"], "restart");
    assert_eq!(
        json["faults_not_applied"][0]["reason"]["kind"],
        "nodes-refused"
    );

    let path = scenario_file("optional", &restart_while_up(true));
    let output = watermark(&["run", &path]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("(1 optional)"), "{text}");
    assert!(text.contains("(scripted, optional)"), "{text}");
}
