//! The test suite split across machines: .github/workflows/tests.yml runs one
//! `cargo nextest run --partition count:K/N` per matrix job. This test parses the workflow
//! and checks that its partitions are exactly 1..=N for the N it declares, that each job
//! runs the suite's partition with the browser required, and that the checks .ci/run makes
//! before the suite (formatting, lints, the core without the simulator, doctests, which
//! nextest does not run) are there. That the partitions are disjoint and cover the suite
//! is nextest's hashing; docs/DECISIONS.md records it measured on this workspace.

use std::path::PathBuf;
use yaml_rust2::{Yaml, YamlLoader};

fn workflow() -> Yaml {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".github/workflows/tests.yml");
    let text = std::fs::read_to_string(path).expect("the workflow is in the repository");
    let mut documents = YamlLoader::load_from_str(&text).expect("valid YAML");
    assert_eq!(documents.len(), 1, "one document");
    documents.remove(0)
}

/// Every `run:` line of a job's steps, in order.
fn runs(job: &Yaml) -> Vec<String> {
    job["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .filter_map(|step| step["run"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn the_partitions_are_one_to_the_declared_count_and_each_runs_its_share() {
    let workflow = workflow();
    let count: u64 = workflow["env"]["PARTITION_COUNT"]
        .as_str()
        .expect("PARTITION_COUNT is a string")
        .parse()
        .expect("PARTITION_COUNT is a number");
    assert!(count >= 2, "a split needs two partitions or more");
    let job = &workflow["jobs"]["partition"];
    let partitions: Vec<i64> = job["strategy"]["matrix"]["partition"]
        .as_vec()
        .expect("a partition list")
        .iter()
        .map(|partition| partition.as_i64().expect("a partition number"))
        .collect();
    let expected: Vec<i64> = (1..=count as i64).collect();
    assert_eq!(
        partitions, expected,
        "the matrix must list 1..={count} once each"
    );
    assert_eq!(
        job["strategy"]["fail-fast"].as_bool(),
        Some(false),
        "one failing partition must not cancel the others' results"
    );
    let suite: Vec<String> = runs(job)
        .into_iter()
        .filter(|run| run.contains("cargo nextest run"))
        .collect();
    assert_eq!(suite.len(), 1, "one nextest run per job: {suite:?}");
    assert!(
        suite[0].contains("--partition count:${{ matrix.partition }}/${{ env.PARTITION_COUNT }}"),
        "{}",
        suite[0]
    );
    let browser_required = job["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .any(|step| step["env"]["WATERMARK_REQUIRE_BROWSER"].as_str() == Some("1"));
    assert!(
        browser_required,
        "the report's browser tests must fail, not skip"
    );
    assert!(
        runs(job)
            .iter()
            .any(|run| run.contains("install") && run.contains("chromium")),
        "chromium is installed for the browser tests"
    );
}

#[test]
fn the_checks_before_the_suite_are_the_ones_ci_runs() {
    let workflow = workflow();
    let checks = runs(&workflow["jobs"]["checks"]);
    let ci = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".ci/run"))
        .expect(".ci/run is in the repository");
    for (what, needle) in [
        ("formatting", "cargo fmt --all -- --check"),
        (
            "lints",
            "cargo clippy --all-targets --locked -- -D warnings",
        ),
        ("planted bugs", "git apply --check"),
        (
            "the core without the simulator",
            "cargo test --locked -p watermark-broker-core -p watermark-world",
        ),
    ] {
        assert!(
            ci.contains(needle),
            ".ci/run no longer runs {what} as `{needle}`"
        );
        assert!(
            checks.iter().any(|run| run.contains(needle)),
            "the workflow's checks job does not run {what} (`{needle}`): {checks:?}"
        );
    }
    assert!(
        checks
            .iter()
            .any(|run| run.contains("cargo test --locked --doc")),
        "nextest runs no doctests, so the checks job must: {checks:?}"
    );
}
