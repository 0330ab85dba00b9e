//! Sweeps across machines: the GitHub Actions matrix (.github/workflows/sweep.yml) and the
//! Kubernetes indexed Job (deploy/kubernetes/sweep-job.yaml) both run scripts/sweep-shard
//! once per shard. This test parses both files, checks that their shard counts agree with
//! their matrices and completions, then runs the script exactly as each one would (every
//! shard, with the file's own environment, a small seed range) and merges the outputs:
//! the merged summary must be the one the whole sweep prints.

mod cli_support;
use cli_support::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use yaml_rust2::{Yaml, YamlLoader};

const SEEDS: &str = "0..24";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(path: &str) -> Yaml {
    let text = std::fs::read_to_string(root().join(path)).expect("the file is in the repository");
    let mut documents = YamlLoader::load_from_str(&text).expect("valid YAML");
    assert_eq!(documents.len(), 1, "{path}: one document");
    documents.remove(0)
}

fn string(yaml: &Yaml) -> String {
    match yaml {
        Yaml::String(text) => text.clone(),
        Yaml::Integer(number) => number.to_string(),
        other => panic!("expected a string, found {other:?}"),
    }
}

/// Runs scripts/sweep-shard with `environment` (the file's own, then the test's overrides).
fn run_shard(environment: &BTreeMap<String, String>) {
    let output = Command::new(root().join("scripts/sweep-shard"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(environment)
        .output()
        .expect("bash runs the script");
    assert!(
        output.status.success(),
        "sweep-shard failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The merged summary of every shard file in `dir`, against the whole sweep's.
fn assert_merge_matches_whole_sweep(dir: &Path, scenario: &str, shards: usize) {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("the output directory")
        .map(|entry| entry.expect("an entry").path().display().to_string())
        .filter(|path| path.ends_with(".jsonl"))
        .collect();
    files.sort();
    assert_eq!(files.len(), shards, "one output per shard: {files:?}");
    let mut args = vec!["merge", "--json"];
    args.extend(files.iter().map(String::as_str));
    let merged = watermark(&args);
    assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
    let merged: Value = json_lines(&merged).pop().expect("a merged summary");
    let whole = watermark(&["sweep", scenario, "--seeds", SEEDS, "--json"]);
    let whole: Value = json_lines(&whole).pop().expect("a summary");
    for field in [
        "scenarios",
        "seeds",
        "runs",
        "passed",
        "failed",
        "failure_groups",
        "ordering",
    ] {
        assert_eq!(merged[field], whole[field], "field {field}");
    }
    assert_eq!(merged["runs"].as_u64(), Some(24));
}

#[test]
fn the_github_actions_matrix_runs_every_shard_once_and_merges_them() {
    let workflow = load(".github/workflows/sweep.yml");
    let triggers: Vec<String> = workflow["on"]
        .as_hash()
        .expect("triggers")
        .keys()
        .map(string)
        .collect();
    assert_eq!(triggers, vec!["workflow_dispatch"], "started by hand only");
    let count: usize = string(&workflow["env"]["SHARD_COUNT"])
        .parse()
        .expect("a count");
    let shard_job = &workflow["jobs"]["shard"];
    let matrix: Vec<i64> = shard_job["strategy"]["matrix"]["shard"]
        .as_vec()
        .expect("a shard list")
        .iter()
        .map(|shard| shard.as_i64().expect("a shard number"))
        .collect();
    assert_eq!(
        matrix,
        (1..=count as i64).collect::<Vec<_>>(),
        "shards 1..=SHARD_COUNT"
    );
    let step = shard_job["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .find(|step| step["run"].as_str() == Some("scripts/sweep-shard"))
        .expect("a step runs scripts/sweep-shard");
    let merge_job = &workflow["jobs"]["merge"];
    assert_eq!(string(&merge_job["needs"]), "shard");
    assert!(merge_job["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .any(|step| step["run"]
            .as_str()
            .is_some_and(|run| run.contains("watermark merge shards/shard-*.jsonl"))));

    let dir = temp_dir("github-actions-shards");
    let scenario = "acks1-leader-crash-loses-acked-write";
    for shard in matrix {
        let mut environment = BTreeMap::new();
        for (key, value) in step["env"].as_hash().expect("the step's env") {
            environment.insert(string(key), string(value));
        }
        environment.insert("SHARD_COUNT".into(), count.to_string());
        environment.insert("SHARD_INDEX".into(), shard.to_string());
        // The inputs, the directory and the binary as this test has them.
        environment.insert("SCENARIO".into(), scenario.into());
        environment.insert("SEEDS".into(), SEEDS.into());
        environment.insert("BUGS".into(), String::new());
        environment.insert("OUT_DIR".into(), dir.display().to_string());
        environment.insert("WATERMARK".into(), WATERMARK.into());
        run_shard(&environment);
    }
    assert_merge_matches_whole_sweep(&dir, scenario, count);
}

#[test]
fn the_kubernetes_indexed_job_runs_every_shard_once_and_merges_them() {
    let job = load("deploy/kubernetes/sweep-job.yaml");
    assert_eq!(job["kind"].as_str(), Some("Job"));
    assert_eq!(job["spec"]["completionMode"].as_str(), Some("Indexed"));
    let completions = job["spec"]["completions"].as_i64().expect("completions");
    assert_eq!(job["spec"]["parallelism"].as_i64(), Some(completions));
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["command"][0].as_str(),
        Some("/usr/local/bin/sweep-shard")
    );
    let mut environment = BTreeMap::new();
    for variable in container["env"].as_vec().expect("an env list") {
        environment.insert(string(&variable["name"]), string(&variable["value"]));
    }
    assert_eq!(environment["SHARD_COUNT"], completions.to_string());
    assert!(root().join("deploy/Dockerfile").is_file());

    let dir = temp_dir("kubernetes-shards");
    let scenario = environment["SCENARIO"].clone();
    environment.insert("SEEDS".into(), SEEDS.into());
    environment.insert("OUT_DIR".into(), dir.display().to_string());
    environment.insert("WATERMARK".into(), WATERMARK.into());
    for index in 0..completions {
        // What Kubernetes sets in pod `index` of an indexed Job.
        environment.insert("JOB_COMPLETION_INDEX".into(), index.to_string());
        run_shard(&environment);
    }
    assert_merge_matches_whole_sweep(&dir, &scenario, completions as usize);
}

#[test]
fn the_shard_script_refuses_a_missing_setting() {
    let output = Command::new(root().join("scripts/sweep-shard"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SCENARIO", "safe-acks-all-swarm")
        .env("SEEDS", "0..4")
        .output()
        .expect("bash runs the script");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: SHARD_COUNT is not set: the number of shards\n"
    );
}
