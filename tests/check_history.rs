//! `watermark check-history`: the client-history checkers on a history written to a file.
//!
//! - Every catalogue scenario's run, exported as `watermark-history` JSON lines and read
//!   back, gets the same client-history and group-commit violations, the same observed
//!   guarantee and ordering from them, and the same verdict as the simulated run judged on
//!   what a history can show: it fails exactly when, and for the same reasons (run in
//!   process, on seeds 0 and 1 unless `WATERMARK_SEEDS` says otherwise).
//! - Hand-written Jepsen EDN histories after the anomaly examples of Jepsen's own Kafka
//!   tests (`tests/check_history_data/`) each show their anomaly; a clean one shows none.
//! - Bad input exits 2 with one `error:` line naming the line at fault.

mod cli_support;
mod common;

use cli_support::{assert_bad_input, stdout, temp_dir, watermark, write};
use std::collections::BTreeMap;
use std::path::Path;
use watermark::cli::check_history::{
    history_jsonl, judge_imported, judgeable_expectation, read_history,
};
use watermark::sim::checkers::{Checker, CheckerKind};
use watermark::sim::history_file::read_jsonl;
use watermark::sim::runner::judge;
use watermark::sim::runner::{run, RunOptions};
use watermark::sim::scenario::Scenario;
use watermark::sim::trace::TraceMode;
use watermark::sim::verdict::{observed_guarantee, observed_ordering, Guarantee};
use watermark::sim::violation::Violation;

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/check_history_data")
        .join(name)
        .to_str()
        .expect("a UTF-8 path")
        .to_string()
}

/// The checkers whose violations a history file can reproduce.
fn judged_on_history(violation: &Violation) -> bool {
    matches!(
        violation.checker.kind(),
        CheckerKind::ClientHistory | CheckerKind::GroupCommits
    )
}

#[test]
fn every_catalogue_scenario_checks_the_same_from_its_exported_history() {
    let options = RunOptions {
        trace_mode: TraceMode::HashOnly,
        keep_records: true,
    };
    let mut with_violations = 0;
    let mut failing_verdicts = 0;
    for scenario in watermark::scenarios::catalogue() {
        for seed in common::seeds(0..2) {
            let report = run(&scenario, seed, options);
            assert!(report.panic.is_none(), "{}", common::explain(&report));
            let text = history_jsonl(&report, &scenario).expect("a kept history");
            let imported = read_jsonl(&text).expect("the export reads back");
            assert_eq!(imported.history, report.history, "{} {seed}", scenario.name);
            let checked = judge_imported(&imported);
            let simulated: Vec<Violation> = report
                .violations
                .iter()
                .filter(|violation| judged_on_history(violation))
                .cloned()
                .collect();
            let context = format!("{} seed {seed}", scenario.name);
            assert_eq!(checked.report.violations, simulated, "{context}");
            assert_eq!(
                checked.report.observed,
                observed_guarantee(&simulated),
                "{context}"
            );
            assert_eq!(
                checked.report.ordering,
                observed_ordering(&simulated),
                "{context}"
            );
            // The same verdict both ways: the simulated run judged on what a history can
            // show (its history checkers' findings, its expectation without marks) fails
            // exactly when, and for exactly the reasons, the re-check does; under the
            // scenario's own expectation and under exactly-once, which the runs with
            // findings fail.
            let mut strict = imported.clone();
            strict.expect.guarantee = Guarantee::ExactlyOnce;
            for (expectation, rechecked) in [
                (&imported.expect, &checked),
                (&strict.expect, &judge_imported(&strict)),
            ] {
                let judgeable = Scenario {
                    expect: judgeable_expectation(expectation, imported.has_final_state),
                    ..scenario.clone()
                };
                let simulated_failures = judge(
                    &judgeable,
                    observed_guarantee(&simulated),
                    observed_ordering(&simulated),
                    &simulated,
                    &BTreeMap::new(),
                );
                assert_eq!(rechecked.report.failures, simulated_failures, "{context}");
                assert_eq!(rechecked.report.passed, simulated_failures.is_empty());
                failing_verdicts += usize::from(!rechecked.report.passed);
            }
            if report.passed {
                assert!(
                    checked.report.passed,
                    "{context}: {:?}",
                    checked.report.failures
                );
            }
            with_violations += usize::from(!simulated.is_empty());
        }
    }
    // The round trip must carry findings, not only clean runs.
    assert!(
        with_violations >= 5,
        "only {with_violations} runs found anything"
    );
    // ... and failing verdicts, so the verdict comparison is not only over passes.
    assert!(failing_verdicts >= 1, "no re-check failed its expectation");
}

/// The checkers an EDN fixture's violations came from.
fn found(name: &str) -> Vec<Checker> {
    let imported = read_history(&data(name), None).unwrap_or_else(|error| panic!("{error:?}"));
    let checked = judge_imported(&imported);
    let mut checkers: Vec<Checker> = checked
        .report
        .violations
        .iter()
        .map(|violation| violation.checker)
        .collect();
    checkers.dedup();
    checkers
}

#[test]
fn jepsens_lost_write_example_is_a_lost_write_of_a_and_b() {
    let imported = read_history(&data("lost-write.edn"), None).unwrap();
    let checked = judge_imported(&imported);
    let lost: Vec<&[u64]> = checked
        .report
        .violations
        .iter()
        .filter(|violation| violation.checker == Checker::LostWrite)
        .map(|violation| violation.values.as_slice())
        .collect();
    assert_eq!(
        lost,
        vec![&[1][..], &[2][..]],
        "{:?}",
        checked.report.violations
    );
    assert!(!checked.report.passed);
    assert_eq!(checked.report.observed, Guarantee::AtMostOnce);
}

#[test]
fn jepsens_anomaly_examples_are_each_found() {
    for (file, checker) in [
        ("duplicate.edn", Checker::Duplicate),
        ("poll-skip.edn", Checker::PollSkip),
        ("nonmonotonic-poll.edn", Checker::NonmonotonicPoll),
        ("inconsistent-offsets.edn", Checker::InconsistentOffsets),
        ("g1a.edn", Checker::G1a),
        ("txn-abort-no-rewind.edn", Checker::PollSkip),
    ] {
        let checkers = found(file);
        assert!(checkers.contains(&checker), "{file}: {checkers:?}");
    }
}

#[test]
fn a_clean_jepsen_history_shows_nothing() {
    let imported = read_history(&data("clean.edn"), None).unwrap();
    let checked = judge_imported(&imported);
    assert_eq!(checked.report.violations, vec![], "clean.edn");
    assert!(checked.report.passed);
    assert_eq!(checked.report.observed, Guarantee::ExactlyOnce);
    // What an EDN history cannot show is listed, never silently skipped.
    for checker in [Checker::StrongIsr, Checker::FinalLogLoss, Checker::Liveness] {
        assert!(
            checked.not_run.iter().any(|entry| entry.checker == checker),
            "{checker} not listed"
        );
    }
}

#[test]
fn a_transaction_that_did_not_commit_rewinds_its_consumer_as_jepsen_says() {
    assert_eq!(found("txn-abort-rewinds.edn"), vec![]);
}

#[test]
fn the_command_line_checks_an_exported_run_and_a_jepsen_history() {
    let dir = temp_dir("check-history-cli");
    let path = dir.join("run.jsonl");
    let path = path.to_str().unwrap();
    let ran = watermark(&[
        "run",
        "acks1-leader-crash-loses-acked-write",
        "--seed",
        "7",
        "--history-out",
        path,
    ]);
    assert_eq!(ran.status.code(), Some(0));
    let checked = watermark(&["check-history", path]);
    assert_eq!(checked.status.code(), Some(0), "{}", stdout(&checked));
    let verdict = |text: &str| {
        text.lines()
            .find(|line| line.starts_with("verdict"))
            .map(str::to_string)
    };
    let text = stdout(&checked);
    assert_eq!(verdict(&text), verdict(&stdout(&ran)), "{text}");
    assert!(
        text.contains("not run     needs replica state: LeaderInIsr"),
        "{text}"
    );

    let edn = watermark(&["check-history", &data("lost-write.edn"), "--json"]);
    assert_eq!(edn.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(stdout(&edn).trim()).unwrap();
    assert_eq!(json["kind"], "check-history");
    assert_eq!(json["format"], "edn");
    assert_eq!(json["observed"], "at-most-once");
    assert!(json["violations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|violation| violation["checker"] == "lost-write"));
    let clean = watermark(&["check-history", &data("clean.edn"), "--format", "edn"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
}

#[test]
fn bad_histories_exit_2_naming_what_is_wrong() {
    let dir = temp_dir("check-history-bad");
    let garbage = dir.join("garbage.bin");
    std::fs::write(&garbage, [0xff, 0xfe, 0x00, 0x81, 0x13]).unwrap();
    assert_bad_input(
        &watermark(&["check-history", garbage.to_str().unwrap()]),
        "not UTF-8",
    );
    let unknown = write(&dir, "unknown.txt", "hello\n");
    assert_bad_input(
        &watermark(&["check-history", &unknown]),
        "--format jsonl|edn",
    );
    let header = "{\"format\":\"watermark-history\",\"version\":1}\n";
    let truncated = write(
        &dir,
        "truncated.jsonl",
        &format!("{header}{{\"index\":0,\"time_ms\":1,\"client\":0,\"op_type\":\"inv"),
    );
    assert_bad_input(
        &watermark(&["check-history", &truncated]),
        "line 2: not a history operation",
    );
    let bad_type = write(
        &dir,
        "bad-type.jsonl",
        &format!(
            "{header}{{\"index\":0,\"time_ms\":1,\"client\":0,\"op_type\":\"maybe\",\
             \"body\":{{\"Poll\":{{\"partition\":{{\"topic\":\"events\",\"partition\":0}},\
             \"records\":[]}}}}}}\n"
        ),
    );
    assert_bad_input(
        &watermark(&["check-history", &bad_type]),
        "line 2: not a history operation (unknown variant `maybe`",
    );
    let edn = write(
        &dir,
        "unknown-type.edn",
        "{:type :invoke, :f :poll, :process 0}\n{:type :maybe, :f :poll, :process 0}\n",
    );
    assert_bad_input(
        &watermark(&["check-history", &edn]),
        "line 2: unknown operation type :maybe: :type must be :invoke, :ok, :fail or :info",
    );
    let unclosed = write(
        &dir,
        "unclosed.edn",
        "{:type :invoke, :f :poll,\n :process [0\n",
    );
    assert_bad_input(
        &watermark(&["check-history", &unclosed]),
        "the input ends inside a collection",
    );
    assert_bad_input(
        &watermark(&["check-history", &data("clean.edn"), "--expect", "twice"]),
        "unknown guarantee `twice`",
    );
}
