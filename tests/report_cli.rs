//! `watermark report`: one self-contained HTML file per run (no network: everything
//! inlined), the same bytes for the same seed, bad input as one error line, and the ShiViz
//! export, parsed back with its own regular expression and checked for causality.

mod cli_support;
use cli_support::*;
use serde_json::Value;
use std::collections::BTreeMap;

const SCENARIO: &str = "acks1-leader-crash-loses-acked-write";

/// Writes the report of `SCENARIO` at seed 7 into `dir` and returns the file's text.
fn report(dir: &std::path::Path, name: &str, extra: &[&str]) -> String {
    let path = dir.join(name);
    let path = path.to_str().expect("a UTF-8 temp path");
    let mut args = vec!["report", SCENARIO, "--seed", "7", "-o", path];
    args.extend_from_slice(extra);
    let output = watermark(&args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with(&format!("wrote {path} (")),
        "{}",
        stdout(&output)
    );
    std::fs::read_to_string(path).expect("the report was written")
}

/// The JSON object embedded in the page.
fn embedded_data(html: &str) -> Value {
    let start_tag = r#"<script type="application/json" id="report-data">"#;
    let start = html.find(start_tag).expect("the data element") + start_tag.len();
    let end = start + html[start..].find("</script>").expect("its end");
    serde_json::from_str(&html[start..end]).expect("the embedded data is JSON")
}

#[test]
fn a_report_is_one_file_that_loads_nothing_from_a_network() {
    let dir = temp_dir("report-offline");
    let html = report(&dir, "run.html", &[]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(
        !html.contains(" src=") && !html.contains("<link"),
        "nothing is fetched"
    );
    assert_eq!(
        html.matches("<script").count(),
        2,
        "the data and the inlined script"
    );
}

#[test]
fn the_embedded_data_holds_every_record_and_the_runs_violations() {
    let dir = temp_dir("report-data");
    let data = embedded_data(&report(&dir, "run.html", &[]));
    let records = watermark(&["run", SCENARIO, "--seed", "7", "--records"]);
    let record_count = stdout(&records)
        .lines()
        .filter(|line| line.starts_with("{\"record\""))
        .count();
    assert_eq!(data["steps"].as_array().map(Vec::len), Some(record_count));
    assert_eq!(
        data["lanes"],
        serde_json::json!(["ctl", "b1", "b2", "b3", "prod0", "cons0"])
    );
    let checkers: Vec<&str> = data["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .filter_map(|violation| violation["checker"].as_str())
        .collect();
    assert!(checkers.contains(&"lost-write"), "{checkers:?}");
    // The lost write's links include the truncation that removed it.
    let lost_write = &data["violations"][0];
    assert!(
        lost_write["moments"]
            .as_array()
            .expect("moments")
            .iter()
            .any(|moment| moment["text"]
                .as_str()
                .is_some_and(|text| text.contains("truncate"))),
        "{lost_write}"
    );
    let operations = data["operations"].as_array().expect("operations");
    assert!(operations.iter().any(|op| op["outcome"] == "ok"));
    assert_eq!(data["header"]["seed"], 7);
}

#[test]
fn the_same_seed_writes_the_same_bytes() {
    let dir = temp_dir("report-determinism");
    assert_eq!(report(&dir, "one.html", &[]), report(&dir, "two.html", &[]));
    assert_eq!(
        report(&dir, "one.log", &["--shiviz"]),
        report(&dir, "two.log", &["--shiviz"])
    );
}

#[test]
fn an_unwritable_output_is_one_error_line() {
    let output = watermark(&["report", SCENARIO, "-o", "/no-such-directory/run.html"]);
    assert_bad_input(
        &output,
        "--output `/no-such-directory/run.html`: cannot write the file",
    );
}

#[test]
fn an_unknown_scenario_or_bug_is_one_error_line() {
    let dir = temp_dir("report-bad-input");
    let path = dir.join("run.html");
    let path = path.to_str().expect("a UTF-8 temp path");
    assert_bad_input(
        &watermark(&["report", "no-such-scenario", "-o", path]),
        "unknown scenario `no-such-scenario`",
    );
    assert_bad_input(
        &watermark(&["report", SCENARIO, "--bug", "nope", "-o", path]),
        "unknown bug switch `nope`",
    );
    assert!(
        !dir.join("run.html").exists(),
        "nothing is written on bad input"
    );
}

#[test]
fn a_report_needs_an_output_file_and_a_numeric_seed() {
    let missing = watermark(&["report", SCENARIO]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("--output"),
        "{}",
        stderr(&missing)
    );
    let seed = watermark(&["report", SCENARIO, "--seed", "x", "-o", "run.html"]);
    assert_eq!(seed.status.code(), Some(2));
    assert!(stderr(&seed).contains("--seed"), "{}", stderr(&seed));
}

/// One parsed line of the ShiViz log.
struct Line {
    host: String,
    clock: BTreeMap<String, u64>,
    event: String,
}

/// Parses the log with the regular expression on its own first line, as ShiViz does.
fn parse_shiviz(log: &str) -> Vec<Line> {
    let mut lines = log.lines();
    let parser = regex::Regex::new(&format!("^{}$", lines.next().expect("the parser line")))
        .expect("the first line is a regular expression");
    for group in ["host", "clock", "event"] {
        assert!(
            parser.capture_names().flatten().any(|name| name == group),
            "ShiViz needs the named group `{group}`"
        );
    }
    assert_eq!(lines.next(), Some(""), "an empty delimiter: one execution");
    lines
        .map(|line| {
            let captures = parser
                .captures(line)
                .unwrap_or_else(|| panic!("the parser matches `{line}`"));
            Line {
                host: captures["host"].to_string(),
                clock: serde_json::from_str(&captures["clock"]).expect("the clock is JSON"),
                event: captures["event"].to_string(),
            }
        })
        .collect()
}

/// Every component of `later` at least that of `earlier`.
fn dominates(later: &BTreeMap<String, u64>, earlier: &BTreeMap<String, u64>) -> bool {
    earlier
        .iter()
        .all(|(host, count)| later.get(host).is_some_and(|later| later >= count))
}

#[test]
fn the_shiviz_log_parses_with_its_own_regex_and_its_clocks_follow_causality() {
    let dir = temp_dir("report-shiviz");
    let lines = parse_shiviz(&report(&dir, "run.log", &["--shiviz"]));
    assert!(lines.len() > 500, "{} lines", lines.len());
    let message_id = regex::Regex::new(r"(send|recv) (m\d+)").expect("a regex");
    let mut own_counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut send_clocks: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut receives = 0;
    for line in &lines {
        // ShiViz: a host's own entry is 1 at its first event and grows by exactly 1.
        let count = own_counts.entry(line.host.clone()).or_default();
        *count += 1;
        assert_eq!(line.clock.get(&line.host), Some(&*count), "{}", line.event);
        for captures in message_id.captures_iter(&line.event) {
            let id = captures[2].to_string();
            if &captures[1] == "send" {
                send_clocks.insert(id, line.clock.clone());
            } else {
                let sent = send_clocks.get(&id).expect("a receive follows its send");
                assert!(
                    dominates(&line.clock, sent),
                    "{id}: {:?} vs {sent:?}",
                    line.clock
                );
                assert!(line.clock[&line.host] > sent.get(&line.host).copied().unwrap_or(0));
                receives += 1;
            }
        }
    }
    assert!(receives > 400, "{receives} receives");
    assert!(
        own_counts.contains_key("nemesis"),
        "the crash is in the log"
    );
}
