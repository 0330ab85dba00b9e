//! docs/TUTORIAL.md cannot drift from the tool: every `$ watermark …` line in its console
//! blocks is run with the built binary, must exit as the page says (0, or the `# exit N`
//! written under it), and must print every excerpt the page quotes under it — the excerpt's
//! lines in order, not necessarily adjacent (tests/tutorial_support/mod.rs states the
//! conventions). Reports are written into a scratch directory; each lesson's screenshot
//! must exist (tests/report_browser.rs writes them).
//!
//! A failure names the markdown line: fix the page (a new seed, a new excerpt) or, if the
//! tool changed its words on purpose, quote the new ones.

mod tutorial_support;
use std::time::Instant;
use tutorial_support::*;

/// Where a fresh scratch directory lives for this test process.
fn scratch(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("watermark-test-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

#[test]
fn every_tutorial_command_exits_as_the_page_says_and_prints_its_excerpts() {
    let tutorial = load();
    let lessons: std::collections::BTreeSet<&str> = tutorial
        .commands
        .iter()
        .map(|command| command.section.as_str())
        .collect();
    assert!(
        lessons.len() >= 7,
        "the tutorial walks the catalogue in at least seven lessons: {lessons:?}"
    );
    let dir = scratch("tutorial");
    let started = Instant::now();
    let mut failures = Vec::new();
    for command in &tutorial.commands {
        let output = command.run_in(&dir);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let where_ = format!("{TUTORIAL_PATH}:{} `{}`", command.line, command.display());
        if output.status.code() != Some(command.exit_code) {
            failures.push(format!(
                "{where_}: exit code {:?}, the page says {}\nstderr: {}",
                output.status.code(),
                command.exit_code,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        for excerpt in &command.excerpts {
            if let Err(error) = check_excerpt(excerpt, &stdout) {
                failures.push(format!("{where_}: excerpt {error}"));
            }
        }
        if let Some(file) = command.report_output() {
            let written = dir.join(file);
            assert!(
                written.metadata().is_ok_and(|meta| meta.len() > 0),
                "{where_}: {} was not written",
                written.display()
            );
        }
    }
    eprintln!(
        "{} tutorial commands in {} lessons ran in {} ms",
        tutorial.commands.len(),
        lessons.len(),
        started.elapsed().as_millis()
    );
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn every_lesson_shows_a_screenshot_that_exists() {
    let tutorial = load();
    let lessons_with_reports: Vec<&str> = tutorial
        .commands
        .iter()
        .filter(|command| command.is_report())
        .map(|command| command.section.as_str())
        .collect();
    let shown: Vec<&str> = tutorial
        .screenshots
        .iter()
        .map(|shot| shot.section.as_str())
        .collect();
    assert_eq!(
        lessons_with_reports, shown,
        "each lesson with a report shows its screenshot"
    );
    for shot in &tutorial.screenshots {
        let path = image_path(shot);
        assert!(
            path.exists(),
            "{TUTORIAL_PATH}:{}: {} is missing; `cargo test --test report_browser` writes it",
            shot.line,
            path.display()
        );
    }
}

/// A page in miniature: two sections, a failing run with its exit code, an excerpt with
/// both abbreviations, a screenshot with its moment.
const SMALL_PAGE: &str = "\
# A tutorial

## Lesson one

```console
$ watermark run acks1-leader-crash-loses-acked-write --seed 7
# exit 1
```

```text
verdict     FAIL
…
  lost-write events-0 …
replay      watermark run
```

<!-- screenshot: 2.007s #history -->
![the report](images/tutorial/one.png)

```console
$ watermark report acks1-leader-crash-loses-acked-write --seed 7 -o one.html
```

## Lesson two

```console
$ watermark list
```
";

/// An output the excerpt of `SMALL_PAGE` matches.
const SMALL_OUTPUT: &str = "\
scenario    acks1
verdict     FAIL
violations  4
  lost-write events-0 offsets 20 (1 value, 1 violation)
replay      watermark run   \n";

#[test]
fn the_parser_reads_commands_exit_codes_excerpts_and_screenshots() {
    let tutorial = parse(SMALL_PAGE).expect("the small page parses");
    assert_eq!(tutorial.commands.len(), 3);
    let run = &tutorial.commands[0];
    assert_eq!(run.line, 6);
    assert_eq!(run.section, "Lesson one");
    assert_eq!(
        run.args,
        ["run", "acks1-leader-crash-loses-acked-write", "--seed", "7"]
    );
    assert_eq!(run.exit_code, 1);
    assert_eq!(run.excerpts.len(), 1);
    assert_eq!(
        run.excerpts[0].lines[0],
        (11, "verdict     FAIL".to_string())
    );
    assert_eq!(run.excerpts[0].lines.len(), 4);
    let report = &tutorial.commands[1];
    assert_eq!(report.exit_code, 0);
    assert_eq!(report.report_output(), Some("one.html"));
    assert_eq!(tutorial.commands[2].section, "Lesson two");
    assert_eq!(
        tutorial.screenshots,
        [Screenshot {
            line: 18,
            section: "Lesson one".to_string(),
            image: "images/tutorial/one.png".to_string(),
            report: 1,
            moment_ms: Some(2007),
            view: "#history".to_string(),
        }]
    );
    assert_eq!(check_excerpt(&run.excerpts[0], SMALL_OUTPUT), Ok(()));
}

#[test]
fn an_excerpt_that_drifted_from_the_output_is_reported_with_its_line() {
    let tutorial = parse(SMALL_PAGE).expect("the small page parses");
    let excerpt = &tutorial.commands[0].excerpts[0];

    // A planted mismatch: the tool now says PASS.
    let drifted = SMALL_OUTPUT.replace("verdict     FAIL", "verdict     PASS");
    let error = check_excerpt(excerpt, &drifted).expect_err("a drifted excerpt fails");
    assert!(
        error.starts_with("line 11: `verdict     FAIL` not found from the start")
            && error.ends_with("it is nowhere in the output"),
        "{error}"
    );

    // Lines present but in another order are a mismatch too, and say so.
    let reordered =
        "  lost-write events-0 offsets 20\nverdict     FAIL\nreplay      watermark run\n";
    let error = check_excerpt(excerpt, reordered).expect_err("order matters");
    assert!(
        error.starts_with("line 13: `  lost-write events-0 …` not found after output line 2")
            && error.contains("only before that point"),
        "{error}"
    );

    // Extra lines between the quoted ones are fine (a subsequence, not a block); a prefix
    // line (` …`) must still match a line's start, not its middle.
    let with_more = SMALL_OUTPUT.replace("violations  4\n", "violations  4\nnew sentence\n");
    assert_eq!(check_excerpt(excerpt, &with_more), Ok(()));
    let indented = SMALL_OUTPUT.replace("  lost-write", "    lost-write");
    assert!(check_excerpt(excerpt, &indented).is_err());
}

#[test]
fn the_parser_refuses_what_the_test_could_not_run_or_check() {
    let cases = [
        (
            "## L\n\n```text\nverdict\n```\n",
            "line 3: an excerpt with no command above it in its section",
        ),
        (
            "## L\n\n```console\n$ cargo run\n```\n",
            "line 4: `$ cargo run`: a console block holds",
        ),
        (
            "## L\n\n```console\n# exit 1\n```\n",
            "line 4: `# exit` belongs right after a command",
        ),
        (
            "## L\n\n```console\n$ watermark report x -o docs/x.html\n```\n",
            "line 4: `-o docs/x.html`: name a plain file",
        ),
        (
            "## L\n\n![r](images/tutorial/r.png)\n",
            "line 3: a screenshot in a section with no report command",
        ),
        (
            "## L\n\n```console\n$ watermark run x\n",
            "line 3: the block opened here is never closed",
        ),
        (
            "## L\n\n```console\n$ watermark run x\n```\n\n## M\n\n```text\nverdict\n```\n",
            "line 9: an excerpt with no command above it in its section",
        ),
    ];
    for (page, expected) in cases {
        let error = parse(page).expect_err(page);
        assert!(error.starts_with(expected), "{page:?}: {error}");
    }
}
