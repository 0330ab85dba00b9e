//! `watermark versions` and `--kafka`: one scenario under every Kafka version profile. The
//! tables must match the switches' affected versions (`watermark switches`): the KIP-101
//! scenario diverges exactly where followers truncated to their high watermark (before
//! 0.11), the last-replica-standing scenario loses committed records exactly where eligible
//! leader replicas are not on by default (before 4.1), and the KIP-279 scenario diverges
//! where either of the two truncation bugs was (before 2.0).

mod cli_support;
use cli_support::*;
use serde_json::Value;
use std::process::Command;
use watermark_broker_core::bugs::BugSwitch;
use watermark_broker_core::kafka_version::KafkaVersion;

/// The JSON rows of `watermark versions SCENARIO --seeds SEEDS --json`, one per profile.
fn version_rows(scenario: &str, seeds: &str) -> Vec<Value> {
    let output = Command::new(WATERMARK)
        .args(["versions", scenario, "--seeds", seeds, "--json"])
        .output()
        .expect("the watermark binary runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON row"))
        .collect();
    let names: Vec<&str> = rows
        .iter()
        .map(|row| row["kafka"].as_str().unwrap())
        .collect();
    let profiles: Vec<&str> = KafkaVersion::ALL.iter().map(|v| v.name()).collect();
    assert_eq!(names, profiles);
    rows
}

fn count(row: &Value, column: &str) -> u64 {
    row[column]
        .as_u64()
        .unwrap_or_else(|| panic!("{column} in {row}"))
}

#[test]
fn the_kip_101_scenario_diverges_on_exactly_the_versions_before_kip_101() {
    let rows = version_rows("double-power-loss-divergence", "0..4");
    for (row, version) in rows.iter().zip(KafkaVersion::ALL) {
        let affected = version.has(BugSwitch::TruncateToHighWatermark);
        assert_eq!(count(row, "runs"), 4, "{row}");
        if affected {
            assert_eq!(count(row, "diverged"), 4, "Kafka {version}: {row}");
        } else {
            assert_eq!(count(row, "diverged"), 0, "Kafka {version}: {row}");
        }
    }
}

/// KIP-279's demonstration diverges where the epoch lookup answered without an epoch (0.11,
/// before 2.0) and where followers truncated to their high watermark (before 0.11); the text
/// names both switches, each with the versions it explains.
#[test]
fn the_kip_279_scenario_diverges_on_exactly_the_versions_with_either_truncation_bug() {
    let scenario = "fast-failover-without-epoch-check-diverges";
    let rows = version_rows(scenario, "0..4");
    for (row, version) in rows.iter().zip(KafkaVersion::ALL) {
        let affected = version.has(BugSwitch::EpochLookupWithoutEpoch)
            || version.has(BugSwitch::TruncateToHighWatermark);
        let expected = if affected { 4 } else { 0 };
        assert_eq!(count(row, "diverged"), expected, "Kafka {version}: {row}");
    }
    assert!(KafkaVersion::V0_11.has(BugSwitch::EpochLookupWithoutEpoch));
    assert!(!KafkaVersion::V2_0.has(BugSwitch::EpochLookupWithoutEpoch));
    let output = Command::new(WATERMARK)
        .args(["versions", scenario, "--seeds", "0..2"])
        .output()
        .expect("the watermark binary runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("  - in 0.8, 0.10.2: truncate-to-high-watermark (KIP-101")
            && text.contains("  - in 0.11: epoch-lookup-without-epoch (KIP-279"),
        "{text}"
    );
}

#[test]
fn the_last_replica_standing_loses_committed_records_on_every_version_before_4_1() {
    let rows = version_rows("last-replica-standing-loses-committed", "0..4");
    for (row, version) in rows.iter().zip(KafkaVersion::ALL) {
        let expected = if version.eligible_leader_replicas_by_default() {
            0
        } else {
            4
        };
        assert_eq!(count(row, "lost"), expected, "Kafka {version}: {row}");
    }
}

#[test]
fn versions_that_lack_a_feature_the_scenario_uses_are_marked_not_run() {
    let rows = version_rows("zombie-producer-fenced", "0");
    for (row, version) in rows.iter().zip(KafkaVersion::ALL) {
        let refused = row.get("refused").and_then(Value::as_str);
        if version.has_idempotence() {
            assert_eq!(refused, None, "{row}");
        } else {
            assert_eq!(
                refused,
                Some(
                    format!(
                        "Kafka {version} cannot run this scenario: it uses transactions (KIP-98), which came in 0.11.0"
                    )
                    .as_str()
                ),
                "{row}"
            );
        }
    }
}

#[test]
fn the_table_names_the_switch_behind_each_outcome() {
    let output = Command::new(WATERMARK)
        .args([
            "versions",
            "double-power-loss-divergence",
            "--seeds",
            "0..2",
        ])
        .output()
        .expect("the watermark binary runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(
            "diverged: Kafka 0.8, 0.10.2 (LogMatching, ReplicaDivergence). What those versions \
             have and the others do not:\n  - truncate-to-high-watermark (KIP-101, fixed in 0.11.0)"
        ),
        "{text}"
    );
    // Which client checkers also see the loss depends on the consumer: before 2.3 it does
    // not detect truncation (KIP-320) and reads differently, so only the log's checker is
    // pinned.
    let lost = text
        .lines()
        .find(|line| line.starts_with("lost: "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        lost.starts_with("lost: Kafka 0.8, 0.10.2, 0.11, 2.0, 2.1, 2.8, 3.0, 3.6, 3.7, 4.0, 4.1 (")
            && lost.contains("final-log-loss")
            && lost.contains("). Every version"),
        "{text}"
    );
}

#[test]
fn a_run_under_a_profile_has_its_switches_and_replays_with_it() {
    let output = Command::new(WATERMARK)
        .args([
            "run",
            "double-power-loss-divergence",
            "--seed",
            "1",
            "--kafka",
            "0.10.2",
            "--json",
        ])
        .output()
        .expect("the watermark binary runs");
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    let bugs: Vec<&str> = report["bugs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bug| bug.as_str().unwrap())
        .collect();
    assert!(bugs.contains(&"truncate-to-high-watermark"), "{report}");
    let replay = report["replay"].as_str().unwrap_or_default();
    assert!(replay.ends_with("--seed 1 --kafka 0.10.2"), "{report}");
}

#[test]
fn a_file_takes_its_versions_defaults_only_where_it_is_silent() {
    let dir = temp_dir("kafka-version-defaults");
    let silent = write(
        &dir,
        "silent.toml",
        "name = \"silent\"\nkafka_version = \"2.0\"\n\n[[producers]]\nrecords = 5\n",
    );
    let stated = write(
        &dir,
        "stated.toml",
        "name = \"stated\"\nkafka_version = \"2.0\"\n\n[[producers]]\nrecords = 5\n\n[producers.config]\nacks = \"all\"\n",
    );
    let settings = |file: &str| {
        let output = Command::new(WATERMARK)
            .args(["run", file, "--seed", "0"])
            .output()
            .expect("the watermark binary runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let silent = settings(&silent);
    assert!(silent.contains("acks 1 idempotence false"), "{silent}");
    assert!(
        silent.contains("offsets-for-leader-epoch-truncation"),
        "{silent}"
    );
    let stated = settings(&stated);
    assert!(stated.contains("acks all idempotence false"), "{stated}");
}
