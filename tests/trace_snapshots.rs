//! The story of a pinned run, as a teacher would walk through it: faults, elections, ISR
//! changes, high-watermark moves of the leader, truncations and checker findings. A change
//! to the protocol that alters the story shows up here as a snapshot diff to review.

use watermark_scenarios::find;
use watermark_sim::runner::{run, RunOptions};
use watermark_sim::trace::TraceMode;

fn story(name: &str, seed: u64) -> String {
    let scenario = find(name).unwrap();
    let report = run(
        &scenario,
        seed,
        RunOptions {
            trace_mode: TraceMode::Text,
            keep_records: false,
        },
    );
    assert!(report.passed, "{:?}", report.failures);
    let keep = [
        "nemesis",
        "elect",
        "fenced",
        "registered",
        " isr ",
        "truncate",
        "leader e",
        "recovered",
        "checker",
        " sim ",
    ];
    let lines: Vec<&str> = report
        .trace
        .iter()
        .map(String::as_str)
        .filter(|line| keep.iter().any(|word| line.contains(word)))
        .collect();
    format!("trace_hash {}\n{}", report.trace_hash, lines.join("\n"))
}

#[test]
fn acks1_leader_crash_story_at_seed_7() {
    insta::assert_snapshot!(story("acks1-leader-crash-loses-acked-write", 7));
}

#[test]
fn slow_follower_story_at_seed_7() {
    insta::assert_snapshot!(story("slow-follower-leaves-and-rejoins-isr", 7));
}
