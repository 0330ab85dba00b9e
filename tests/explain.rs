//! `watermark explain`: the run as a story with a reason for every replica-state change.
//! The catalogue test holds the promise over every scenario; the snapshots pin the two
//! runs the issue names (text, markdown, mermaid); the rest checks determinism, each filter
//! and bad input.

mod cli_support;

use cli_support::{stderr, stdout, watermark};
use watermark_sim::runner::{run, RunOptions};
use watermark_sim::teaching::explain_story::Story;

const SLOW_FOLLOWER: &str = "slow-follower-leaves-and-rejoins-isr";
const ACKS1_CRASH: &str = "acks1-leader-crash-loses-acked-write";

fn explain(args: &[&str]) -> String {
    let mut all = vec!["explain"];
    all.extend_from_slice(args);
    let output = watermark(&all);
    assert!(
        output.status.code().is_some_and(|code| code < 2),
        "{all:?}: {}",
        stderr(&output)
    );
    stdout(&output)
}

#[test]
fn every_isr_high_watermark_leader_and_truncation_change_in_the_catalogue_has_a_reason() {
    let mut changes = 0_u64;
    for name in watermark_scenarios::names() {
        let scenario = watermark_scenarios::find(&name).expect("a catalogue scenario");
        for seed in 0..3 {
            let options = RunOptions {
                keep_records: true,
                ..RunOptions::default()
            };
            let report = run(&scenario, seed, options);
            let story = Story::from_records(&report.records);
            for (step, line) in story.changes() {
                changes += 1;
                assert!(
                    line.why.is_some(),
                    "{name} seed {seed} at {} ms on {:?}: `{}` has no reason",
                    step.time_ms,
                    step.node,
                    line.what
                );
            }
        }
    }
    assert!(changes > 1_000, "the catalogue made only {changes} changes");
}

#[test]
fn slow_follower_story_explains_the_isr_shrink_and_expand_with_numbers() {
    let text = explain(&[SLOW_FOLLOWER, "--seed", "0"]);
    assert!(!text.contains("(no reason recorded)"));
    assert!(
        text.contains("b3 left the ISR: it last caught up at"),
        "{text}"
    );
    assert!(text.contains("`replica_lag_time_max_ms` is 5,000"));
    assert!(text.contains("b3 rejoins the ISR: its log end offset"));
    assert!(text.contains("the lowest among the leader b1 and its ISR"));
    insta::assert_snapshot!("slow_follower_text", text);
}

#[test]
fn acks1_crash_story_explains_the_election_truncation_and_the_lost_write() {
    let text = explain(&[ACKS1_CRASH, "--seed", "0"]);
    assert!(!text.contains("(no reason recorded)"));
    assert!(text.contains("b1, the leader, was fenced: its last heartbeat reached the controller"));
    assert!(text.contains("`broker_session_timeout_ms` is 9,000"));
    assert!(text.contains("b2 is the first replica of the assignment {1,2,3} in the ISR {2,3}"));
    assert!(text.contains("answered its fetch with a diverging epoch (KIP-595)"));
    assert!(text.contains("v21 is lost: offset 20 was never below the high watermark"));
    assert!(text.contains("b2, elected at 11.019 s (e2) with log end offset 20, never had it"));
    // The producer's silent 9 s: reconnects, metadata refreshes and the resent batches.
    assert!(text.contains("prod0: timer connection-b1 fired; connects to b1"));
    assert!(text.contains("marks producer-metadata-refreshed"));
    insta::assert_snapshot!("acks1_crash_text", text);
}

#[test]
fn markdown_and_mermaid_renderings_of_both_stories() {
    for (name, scenario) in [
        ("slow_follower", SLOW_FOLLOWER),
        (("acks1_crash"), ACKS1_CRASH),
    ] {
        let markdown = explain(&[scenario, "--seed", "0", "--markdown"]);
        assert!(markdown.starts_with("# `watermark explain"));
        assert!(markdown.contains("| replica | role | leo | hw |"));
        assert!(!markdown.contains("(no reason recorded)"));
        insta::assert_snapshot!(format!("{name}_markdown"), markdown);
        let mermaid = explain(&[scenario, "--seed", "0", "--mermaid"]);
        assert!(mermaid.starts_with("sequenceDiagram\n    participant ctl\n"));
        let arrows = mermaid
            .lines()
            .filter(|line| line.contains("->>") || line.contains("-x"))
            .count();
        assert!(arrows <= 400, "{arrows} arrows");
        insta::assert_snapshot!(format!("{name}_mermaid"), mermaid);
    }
}

#[test]
fn the_same_seed_explains_the_same_story_byte_for_byte() {
    let first = explain(&[ACKS1_CRASH, "--seed", "3"]);
    let second = explain(&[ACKS1_CRASH, "--seed", "3"]);
    assert_eq!(first, second);
}

/// The step headers of a text story: `t=… node`.
fn headers(text: &str) -> Vec<&str> {
    text.lines().filter(|line| line.starts_with("t=")).collect()
}

#[test]
fn node_filter_keeps_that_nodes_steps_and_the_faults_naming_it() {
    let text = explain(&[ACKS1_CRASH, "--node", "b2"]);
    let headers = headers(&text);
    assert!(headers.iter().any(|line| line.ends_with("  b2")));
    assert!(
        headers
            .iter()
            .all(|line| line.ends_with("  b2") || line.ends_with("  nemesis")),
        "{headers:?}"
    );
    assert!(text.contains("fault: cut {b1} -> {b2,b3}"));
    assert!(!text.contains("fault: crash b1"));
}

#[test]
fn time_window_keeps_only_steps_inside_it() {
    let text = explain(&[ACKS1_CRASH, "--from", "11s", "--to", "11020ms"]);
    let headers = headers(&text);
    assert_eq!(
        headers,
        vec!["t=11.014 s  ctl", "t=11.017 s  b3", "t=11.019 s  b2"],
        "{text}"
    );
}

#[test]
fn only_keeps_the_kinds_asked_for() {
    let text = explain(&[SLOW_FOLLOWER, "--only", "isr"]);
    assert!(text.contains("'s ISR {1,2,3} → {1,2}"));
    assert!(!text.contains("'s high watermark "), "{text}");
    assert!(!text.contains(" appends "));
    assert!(!text.contains("prod0:"));
    let clients = explain(&[SLOW_FOLLOWER, "--only", "client"]);
    assert!(clients.contains("prod0: "));
    assert!(!clients.contains("'s ISR"));
}

#[test]
fn partition_filter_keeps_that_partitions_changes_and_tables() {
    let text = explain(&[ACKS1_CRASH, "--partition", "events-0", "--only", "leader"]);
    assert!(text.contains("the controller elects b2 at e2"));
    assert!(text.contains("\n  events-0 (controller: leader b2 e2, ISR {2,3})\n"));
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let cases: [(&[&str], &str); 8] = [
        (&["no-such-scenario"], "no-such-scenario"),
        (
            &[ACKS1_CRASH, "--from", "2.5"],
            "--from `2.5`: expected a simulated time",
        ),
        (&[ACKS1_CRASH, "--to", "soon"], "--to `soon`"),
        (
            &[ACKS1_CRASH, "--from", "3s", "--to", "2s"],
            "--from 3000ms is after --to 2000ms",
        ),
        (
            &[ACKS1_CRASH, "--only", "isr,lag"],
            "--only `lag`: unknown kind; the kinds are isr, hw",
        ),
        (
            &[ACKS1_CRASH, "--partition", "events-9"],
            "--partition `events-9`: not a partition of this run; it has events-0",
        ),
        (
            &[ACKS1_CRASH, "--node", "b9"],
            "--node `b9`: not a node of this run; it has ctl, b1, b2, b3",
        ),
        (&[ACKS1_CRASH, "--bug", "no-such-bug"], "no-such-bug"),
    ];
    for (args, expected) in cases {
        let mut all = vec!["explain"];
        all.extend_from_slice(args);
        let output = watermark(&all);
        let error = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{all:?}: {error}");
        assert_eq!(error.lines().count(), 1, "{all:?}: {error}");
        assert!(
            error.starts_with("error: ") && error.contains(expected),
            "{all:?}: {error}"
        );
        assert!(stdout(&output).is_empty(), "{all:?}");
    }
    let output = watermark(&["explain", ACKS1_CRASH, "--seed", "abc"]);
    assert_eq!(output.status.code(), Some(2));
    let output = watermark(&["explain", ACKS1_CRASH, "--markdown", "--mermaid"]);
    assert_eq!(output.status.code(), Some(2));
}
