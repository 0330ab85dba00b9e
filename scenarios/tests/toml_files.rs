//! The TOML language describes exactly what the builder does: every catalogue scenario
//! survives a round trip through TOML, hand-written files load, and bad files fail with one
//! line that names the place.

use watermark_scenarios::{catalogue, find, parse_toml};

#[test]
fn every_catalogue_scenario_round_trips_through_toml() {
    for scenario in catalogue() {
        let text = toml::to_string(&scenario)
            .unwrap_or_else(|error| panic!("{}: cannot write TOML: {error}", scenario.name));
        let parsed = parse_toml(&text, &scenario.name)
            .unwrap_or_else(|error| panic!("{}: cannot read back: {error}\n{text}", scenario.name));
        assert_eq!(
            parsed, scenario,
            "{} changed in the round trip",
            scenario.name
        );
    }
}

#[test]
fn the_example_file_describes_the_acks1_catalogue_scenario() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/acks1-leader-crash.toml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let from_file = parse_toml(&text, path).unwrap();
    let catalogue_entry = find("acks1-leader-crash-loses-acked-write").unwrap();
    assert_eq!(from_file.topic, catalogue_entry.topic);
    assert_eq!(from_file.producers, catalogue_entry.producers);
    assert_eq!(from_file.faults, catalogue_entry.faults);
    assert_eq!(from_file.expect, catalogue_entry.expect);
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let error = parse_toml(
        "name = \"x\"\n\n[topic]\nreplication_factr = 3\n",
        "bad.toml",
    )
    .unwrap_err();
    assert!(error.starts_with("bad.toml:4:"), "{error}");
    assert!(error.contains("replication_factr"), "{error}");
    assert!(!error.contains('\n'), "{error}");
}

#[test]
fn a_wrong_type_is_reported_with_its_line() {
    let error = parse_toml("name = \"x\"\nbrokers = \"three\"\n", "bad.toml").unwrap_err();
    assert!(error.starts_with("bad.toml:2:"), "{error}");
}

#[test]
fn impossible_configurations_are_refused_with_the_reason() {
    let cases = [
        (
            "name = \"x\"\n[topic]\nmin_insync_replicas = 4\n",
            "min_insync_replicas = 4 is more than",
        ),
        (
            "name = \"x\"\nbrokers = 2\n",
            "replication_factor = 3 is more than brokers = 2",
        ),
        ("name = \"x\"\nbrokers = 0\n", "brokers must be at least 1"),
        (
            "name = \"x\"\n[[producers]]\nrecords = 1\n[producers.config]\nenable_idempotence = true\nacks = 1\n",
            "enable_idempotence = true needs acks = \"all\", retries above 0 and \
             max_in_flight_requests_per_connection at most 5: acks must be \"all\"",
        ),
        (
            "name = \"x\"\n[[producers]]\nrecords = 1\n[producers.config]\nenable_idempotence = true\nmax_in_flight_requests_per_connection = 6\n",
            "max_in_flight_requests_per_connection must be at most 5",
        ),
        (
            "name = \"x\"\n[[producers]]\nrecords = 1\n[producers.config]\nenable_idempotence = true\n[faults.swarm.configuration]\nretries = [0, 3]\n",
            "faults.swarm.configuration.retries may draw 0",
        ),
        (
            "name = \"x\"\n[[producers]]\nrecords = 1\n[producers.config]\ntransactional_id = \"t\"\n[faults.swarm.configuration]\nretries = [0, 3]\n",
            "faults.swarm.configuration.retries may draw 0, which a producer with a \
             transactional_id refuses",
        ),
    ];
    for (text, expected) in cases {
        let error = parse_toml(text, "bad.toml").unwrap_err();
        assert!(error.contains(expected), "{error}");
        // `FILE:LINE: KEY: what is wrong; allowed: ...`, one line.
        assert!(error.starts_with("bad.toml:"), "{error}");
        assert!(!error.contains('\n'), "{error}");
    }
}

#[test]
fn a_typo_inside_a_fault_is_refused() {
    let text = "name = \"x\"\n[[faults.scripted]]\nat_ms = 5\nfault = \"crash\"\ntarget = \"controller\"\ntargte = 1\n";
    let error = parse_toml(text, "bad.toml").unwrap_err();
    assert!(error.contains("targte"), "{error}");
}

#[test]
fn an_unknown_fault_kind_is_refused() {
    let text = "name = \"x\"\n[[faults.scripted]]\nat_ms = 5\nfault = \"explode\"\ntarget = \"controller\"\n";
    let error = parse_toml(text, "bad.toml").unwrap_err();
    assert!(error.contains("explode"), "{error}");
}

/// Every example file in `examples/` loads and meets its own expectation on a few seeds, so
/// the files a user copies from are known to work.
#[test]
fn every_example_file_loads_and_meets_its_expectation() {
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    let mut paths: Vec<_> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    paths.sort();
    assert!(paths.len() >= 3, "{paths:?}");
    for path in paths {
        let scenario = watermark_scenarios::load_file(&path).unwrap();
        for seed in 0..3 {
            let report = watermark_sim::runner::run(&scenario, seed, Default::default());
            assert!(
                report.passed,
                "{} seed {seed}: {:?} {:?}",
                path.display(),
                report.failures,
                report.violations.first()
            );
        }
    }
}

#[test]
fn a_misspelled_mark_checker_or_allowed_invariant_is_refused_with_the_closest_name() {
    let cases = [
        (
            "[expect]\nmarks = [\"isr-shrank\"]\n",
            "unknown coverage mark `isr-shrank`; did you mean `isr-shrunk`?",
        ),
        (
            "[expect]\nanomalies = [\"lost-writes\"]\n",
            "unknown checker `lost-writes`; did you mean `lost-write`?",
        ),
        (
            "[expect]\nallowed_invariant_violations = [\"no-committed-records-lost\"]\n",
            "did you mean `no-committed-record-lost`?",
        ),
    ];
    for (expect, message) in cases {
        let text = format!("name = \"x\"\n\n{expect}");
        let error = parse_toml(&text, "f.toml").unwrap_err();
        assert!(error.starts_with("f.toml:4: "), "{error}");
        assert!(error.contains(message), "{error}");
        assert!(!error.contains('\n'), "one line: {error}");
    }
}

#[test]
fn marks_and_checkers_read_in_kebab_case_in_the_sources_spelling_and_the_old_snake_case() {
    let text = "name = \"x\"\n\n[expect]\nmarks = [\"isr-shrunk\", \"isr_expanded\"]\n\
                allowed_invariant_violations = [\"NoCommittedRecordLost\", \"log-matching\"]\n";
    let scenario = parse_toml(text, "f.toml").unwrap();
    let marks: Vec<&str> = scenario
        .expect
        .marks
        .iter()
        .map(|mark| mark.name())
        .collect();
    assert_eq!(marks, ["isr-shrunk", "isr-expanded"]);
    let allowed: Vec<&str> = scenario
        .expect
        .allowed_invariant_violations
        .iter()
        .map(|checker| checker.name())
        .collect();
    assert_eq!(allowed, ["NoCommittedRecordLost", "LogMatching"]);
}

/// A rolling restart written as a file: the leader shuts down gracefully (KIP-841) and is
/// restarted later, and eligible leader replicas are named at the top level. The shutdown
/// completes, the restart skips recovery, and nothing acknowledged is lost.
#[test]
fn a_shutdown_fault_in_a_file_stops_the_broker_cleanly_and_its_restart_skips_recovery() {
    let text = r#"
name = "graceful-leader-shutdown"
summary = "the leader shuts down gracefully and comes back"
explanation = "A controlled shutdown moves leadership away before the broker stops."
brokers = 3
eligible_leader_replicas_enable = true

[[topics]]
name = "events"
min_insync_replicas = 2

[[producers]]
records = 100
start_ms = 1000
interval_ms = 50

[[consumers]]

[[faults.scripted]]
at_ms = 3000
fault = "shutdown"
target = { leader = 0 }

[[faults.scripted]]
at_ms = 6000
fault = "restart"
target = "all-brokers"

[expect]
guarantee = "at-least-once"
marks = ["controlled-shutdown-started", "controlled-shutdown-completed", "clean-shutdown-recovery-skipped"]
"#;
    let scenario = parse_toml(text, "graceful.toml").unwrap();
    assert!(scenario.eligible_leader_replicas_enable);
    for seed in 1..=3 {
        let report = watermark_sim::runner::run(&scenario, seed, Default::default());
        assert!(report.passed, "seed {seed}: {:?}", report.failures);
        assert!(!report
            .marks
            .contains_key(&watermark_broker_core::mark::Mark::UncleanElection));
    }
}
