//! `watermark merge` on real shard outputs: a sweep split into two shards and merged reports
//! what the same sweep run whole reports (counts, failure groups with their first seeds and
//! replay lines, checkers, ordering, first failure, exit code), and shards that cannot be
//! merged are refused with one line and exit code 2.

mod cli_support;
use cli_support::*;
use serde_json::Value;

/// The safe swarm with two switches that break it on different seeds, so the sweep has
/// several failure groups whose first seeds fall in different shards.
fn sweep(extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "sweep",
        "safe-acks-all-swarm",
        "--seeds",
        "0..16",
        "--jobs",
        "2",
        "--json",
        "--bug",
        "hw-advances-under-min-isr",
        "--bug",
        "truncate-to-high-watermark",
    ];
    args.extend_from_slice(extra);
    watermark(&args)
}

/// The fields of a summary that do not depend on how it was run (jobs, wall time, speed).
fn judged(summary: &Value) -> Value {
    let mut summary = summary.clone();
    for field in ["jobs", "wall_ms", "seeds_per_s", "shard"] {
        summary.as_object_mut().expect("an object").remove(field);
    }
    summary
}

#[test]
fn two_merged_shards_report_what_the_whole_sweep_reports() {
    let dir = temp_dir("merge-two-shards");
    let whole = sweep(&[]);
    let whole_summary = json_lines(&whole).pop().expect("a summary line");
    assert!(
        whole_summary["failed"].as_u64().unwrap() > 0,
        "the switches must fail some seeds for the test to mean anything"
    );
    let mut files = Vec::new();
    for shard in ["1/2", "2/2"] {
        let output = sweep(&["--shard", shard]);
        let name = format!("shard-{}.jsonl", &shard[..1]);
        files.push(write(&dir, &name, &stdout(&output)));
    }
    let merged = watermark(&["merge", &files[0], &files[1], "--json"]);
    assert_eq!(
        merged.status.code(),
        whole.status.code(),
        "{}",
        stderr(&merged)
    );
    let merged_summary = json_lines(&merged).pop().expect("a merged summary");
    assert_eq!(judged(&merged_summary), judged(&whole_summary));
    assert_eq!(merged_summary["shard"], "1-2/2");

    let text = watermark(&["merge", &files[1], &files[0]]);
    assert!(
        stdout(&text).contains("seeds run     16"),
        "{}",
        stdout(&text)
    );
}

#[test]
fn shards_that_cannot_be_merged_are_refused() {
    let dir = temp_dir("merge-refused");
    let shard = sweep(&["--shard", "1/2"]);
    let one = write(&dir, "one.jsonl", &stdout(&shard));
    assert_bad_input(
        &watermark(&["merge", &one]),
        "error: shard(s) 2/2 missing: a merge of part of a sweep would under-count it",
    );
    let not_json = write(&dir, "notes.txt", "hello\n");
    assert_bad_input(
        &watermark(&["merge", &not_json]),
        "notes.txt: its last line is not a sweep summary",
    );
    let missing = dir.join("absent.jsonl");
    assert_bad_input(
        &watermark(&["merge", missing.to_str().unwrap()]),
        "absent.jsonl: cannot read it",
    );
}
