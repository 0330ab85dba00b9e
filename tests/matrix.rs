//! `watermark matrix`: every documented row of Kafka's guarantees reproduced on its
//! catalogue scenarios (one test per row), a grid's shape and marks, cells whose stated
//! settings must change what is observed, the HTML page holding the same cells as the JSON,
//! bad input, and docs/MATRIX.md being the command's own output.

mod cli_support;
use cli_support::*;
use regex::Regex;
use serde_json::Value;
use std::process::{Command, Output};
use watermark::cli::invocation::Invocation;
use watermark::cli::matrix::{run_cell, run_documented_row, Agreement};
use watermark_broker_core::protocol::Acks;
use watermark_sim::cell_settings::Setting;
use watermark_sim::documented_guarantees::{documented_row, DOCUMENTED_ROWS};

/// Few seeds: each row's scenarios demonstrate it on every seed.
const ROW_SEEDS: std::ops::Range<u64> = 0..3;

fn matrix(args: &[&str]) -> Output {
    Command::new(WATERMARK)
        .arg("matrix")
        .args(args)
        .output()
        .expect("the watermark binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs one documented row on its scenarios and requires the observation to be the
/// documented one on every aspect the row speaks to.
fn row_reproduces(id: &str) {
    let row = documented_row(id).unwrap_or_else(|| panic!("no documented row `{id}`"));
    let seeds: Vec<u64> = ROW_SEEDS.collect();
    let result = run_documented_row(row, &seeds, common_jobs(), &Invocation::current())
        .expect("the row's scenarios exist");
    let judgement = &result.judgement;
    assert_eq!(
        judgement.agreement,
        Agreement::Agrees,
        "{id}: observed {:?}, documented {} ({:?}); weaker {:?}, stronger {:?}, replay {:?}",
        judgement.observed,
        row.guarantee,
        judgement.documented,
        judgement.weaker,
        judgement.stronger,
        result.replay
    );
    assert_eq!(judgement.documented_guarantee, row.guarantee, "{id}");
    assert_eq!(
        judgement.runs,
        seeds.len() * row.scenarios.len(),
        "{id}: every scenario ran every seed"
    );
}

fn common_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| cores.get().min(2))
}

#[test]
fn every_documented_row_has_a_test_here() {
    let source = include_str!("matrix.rs");
    for row in DOCUMENTED_ROWS {
        assert!(
            source.contains(&format!("row_reproduces(\"{}\")", row.id)),
            "documented row `{}` has no test in tests/matrix.rs",
            row.id
        );
        for scenario in row.scenarios {
            assert!(
                watermark_scenarios::find(scenario).is_some(),
                "{}: no catalogue scenario `{scenario}`",
                row.id
            );
        }
    }
}

#[test]
fn acks_0_is_at_most_once() {
    row_reproduces("acks-0");
}

#[test]
fn acks_1_loses_an_acked_write_when_the_leader_dies_first() {
    row_reproduces("acks-1");
}

#[test]
fn acks_all_with_min_insync_1_loses_writes_once_the_isr_is_the_leader() {
    row_reproduces("acks-all-min-insync-1");
}

#[test]
fn acks_all_with_min_insync_n_loses_nothing_acked() {
    row_reproduces("acks-all-min-insync-n");
}

#[test]
fn unclean_election_loses_committed_records() {
    row_reproduces("unclean-election");
}

#[test]
fn retries_without_idempotence_duplicate_and_reorder() {
    row_reproduces("retries-no-idempotence");
}

#[test]
fn idempotence_writes_one_copy_in_order() {
    row_reproduces("idempotence");
}

#[test]
fn transactions_read_committed_with_offsets_are_exactly_once() {
    row_reproduces("transactions-read-committed");
}

#[test]
fn commit_then_process_is_at_most_once() {
    row_reproduces("commit-then-process");
}

#[test]
fn process_then_commit_is_at_least_once() {
    row_reproduces("process-then-commit");
}

#[test]
fn no_fsync_and_power_loss_of_every_replica_loses_acked_writes() {
    row_reproduces("no-fsync-power-loss");
}

#[test]
fn without_eligible_leader_replicas_the_last_replica_standing_loses_committed_records() {
    row_reproduces("elr-off-last-replica-standing");
}

#[test]
fn with_eligible_leader_replicas_nothing_acknowledged_is_lost() {
    row_reproduces("elr-on");
}

#[test]
fn read_uncommitted_reads_aborted_transactions() {
    row_reproduces("read-uncommitted-transactions");
}

/// The same swarm seeds with acks=0 and with acks=all: if the cell's setting were ignored
/// (or the swarm's draw overrode it), both would observe the same.
#[test]
fn a_cells_stated_setting_decides_what_is_observed() {
    let seeds: Vec<u64> = (0..6).collect();
    let invocation = Invocation::current();
    let cell = |acks: Acks| {
        run_cell(
            "safe-acks-all-swarm",
            &[Setting::Acks(acks), Setting::MinInsync(2)],
            None,
            &[],
            &seeds,
            common_jobs(),
            &invocation,
        )
        .expect("the swarm exists")
        .judgement
        .expect("the cell ran")
    };
    let fire_and_forget = cell(Acks::None);
    let safe = cell(Acks::All);
    assert!(fire_and_forget.lost > 0, "{fire_and_forget:?}");
    assert_eq!(safe.lost, 0, "{safe:?}");
    assert_eq!(fire_and_forget.documented.rows, vec!["acks-0"]);
    assert!(safe.documented.rows.contains(&"acks-all-min-insync-n"));
    assert_eq!(fire_and_forget.agreement, Agreement::Agrees);
    assert_eq!(safe.agreement, Agreement::Agrees);
}

/// A small grid: the markdown table has a column per axis, a row per cell, and a stated
/// weakness the seeds did not show is marked stronger (exit 0).
#[test]
fn a_grid_prints_one_row_per_cell_and_marks_a_weakness_not_exercised() {
    let output = matrix(&[
        "--acks",
        "0,all",
        "--unclean",
        "on",
        "--flush",
        "every-message",
        "--seeds",
        "0..3",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let text = stdout(&output);
    let table: Vec<&str> = text.lines().filter(|line| line.starts_with('|')).collect();
    assert_eq!(table.len(), 4, "header, rule, two cells:\n{text}");
    assert!(
        table[0].starts_with("| acks | unclean | flush | runs |"),
        "{}",
        table[0]
    );
    assert!(
        table[2].starts_with("| 0 | on | every-message | 3 |"),
        "{}",
        table[2]
    );
    assert!(table[2].ends_with("| ✓ |"), "{}", table[2]);
    // acks=all with unclean election on may lose committed records; three seeds of the safe
    // swarm with every message synced do not.
    assert!(table[3].ends_with("| △ stronger |"), "{}", table[3]);
    assert!(text.contains("## Disagreements"));
    assert!(text.contains("acks=all unclean=on flush=every-message: △ stronger"));
    assert!(text.contains("## Legend"));
}

/// A bug switch that breaks acks=all: the grid marks the cell weaker, exits 1, and the
/// replay line reruns the cell's first weaker seed with its settings and the switch.
#[test]
fn a_broken_promise_is_marked_weaker_with_its_replay_line() {
    let output = matrix(&[
        "--acks",
        "all",
        "--min-insync",
        "2",
        "--bug",
        "ack-before-isr",
        "--seeds",
        "0..3",
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("| ✗ weaker |"), "{text}");
    let replay = Regex::new(r"first seed (\d+): `([^`]+)`")
        .unwrap()
        .captures(&text)
        .unwrap_or_else(|| panic!("no replay line:\n{text}"));
    assert!(
        replay[2].ends_with(&format!(
            "run safe-acks-all-swarm --seed {} --bug ack-before-isr --set acks=all --set min-insync=2",
            &replay[1]
        )),
        "{}",
        &replay[2]
    );
}

/// The HTML page parses (every element closed in order) and holds the JSON's cells, each
/// with its agreement.
#[test]
fn the_html_page_holds_the_same_cells_as_the_json() {
    let args = ["--acks", "0,1,all", "--min-insync", "2", "--seeds", "0..2"];
    let html_output = matrix(&[&args[..], &["--format", "html"]].concat());
    let json_output = matrix(&[&args[..], &["--json"]].concat());
    assert_eq!(html_output.status.code(), json_output.status.code());
    let html = stdout(&html_output);
    let json: Value = serde_json::from_str(&stdout(&json_output)).expect("one JSON object");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
    assert_balanced(&html);
    let body = &html[html.find("<tbody>").unwrap()..html.find("</tbody>").unwrap()];
    let row_pattern = Regex::new(r#"<tr class="([a-z-]+)">(.*?)</tr>"#).unwrap();
    let cell_pattern = Regex::new(r"<td[^>]*>(.*?)</td>").unwrap();
    let rows: Vec<(String, Vec<String>)> = row_pattern
        .captures_iter(body)
        .map(|row| {
            let cells = cell_pattern
                .captures_iter(&row[2])
                .map(|cell| cell[1].to_string())
                .collect();
            (row[1].to_string(), cells)
        })
        .collect();
    let cells = json["cells"].as_array().expect("cells");
    assert_eq!(rows.len(), cells.len());
    assert_eq!(rows.len(), 3);
    for ((class, columns), cell) in rows.iter().zip(cells) {
        assert_eq!(class, cell["agreement"].as_str().unwrap(), "{cell}");
        let settings: Vec<&str> = cell["settings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|setting| setting.as_str().unwrap())
            .collect();
        assert_eq!(settings[0], format!("acks={}", columns[0]));
        assert_eq!(settings[1], format!("min-insync={}", columns[1]));
        assert_eq!(columns[2], cell["runs"].to_string());
        assert_eq!(columns[3], cell["lost"].to_string());
        assert_eq!(columns[7], cell["observed"].as_str().unwrap());
        assert_eq!(columns[8], cell["documented_guarantee"].as_str().unwrap());
    }
}

/// Every element the page opens is closed, in order (void elements aside).
fn assert_balanced(html: &str) {
    let tag = Regex::new(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>").unwrap();
    let void = ["meta", "br", "hr", "img", "input", "link"];
    let mut open: Vec<String> = Vec::new();
    for captures in tag.captures_iter(html) {
        let name = captures[2].to_lowercase();
        if void.contains(&name.as_str()) || &captures[3] == "/" {
            continue;
        }
        if &captures[1] == "/" {
            assert_eq!(
                open.pop().as_deref(),
                Some(name.as_str()),
                "</{name}> closes nothing open"
            );
        } else {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "never closed: {open:?}");
}

#[test]
fn bad_input_is_one_line_naming_what_is_allowed() {
    for (args, expected) in [
        (
            vec!["--acks", "0,2"],
            "error: --acks: unknown value `2` for acks; allowed: 0, 1, all\n",
        ),
        (
            vec!["--unclean", ""],
            "error: --unclean: an empty list; allowed: one or more of off, on, separated by commas\n",
        ),
        (
            vec!["--kafka", "4.1,9.9"],
            "error: --kafka: unknown version `9.9`; allowed: 0.8, 0.10.2, 0.11, 2.0, 2.1, 2.8, 3.0, 3.6, 3.7, 4.0, 4.1\n",
        ),
        (
            vec!["--format", "pdf"],
            "error: --format: unknown format `pdf`; allowed: markdown, html, json\n",
        ),
        (
            vec!["--documented", "--acks", "1"],
            "error: --documented runs the documented rows on their own scenarios; --acks belongs to a grid (leave out --documented)\n",
        ),
        (
            vec!["--commit", "process-then-commit", "--isolation", "read_committed"],
            "error: --commit needs safe-consumer-group-swarm and --isolation needs exactly-once-pipeline-swarm; give one of them, or --swarm with a scenario that has both\n",
        ),
    ] {
        let output = matrix(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), expected, "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    let output = Command::new(WATERMARK)
        .args(["run", "safe-acks-all-swarm", "--set", "acks=5"])
        .output()
        .expect("the watermark binary runs");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: --set acks=5: unknown value `5` for acks; allowed: 0, 1, all\n"
    );
}

/// docs/MATRIX.md is `watermark matrix --documented` as it prints today.
#[test]
fn docs_matrix_is_the_documented_tables_output() {
    let output = matrix(&["--documented"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let checked_in = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/MATRIX.md"),
    )
    .expect("docs/MATRIX.md");
    assert!(
        checked_in == stdout(&output),
        "docs/MATRIX.md is out of date: regenerate it with \
         `cargo run --release -- matrix --documented > docs/MATRIX.md`"
    );
}
