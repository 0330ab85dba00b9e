//! docs/TUTORIAL.md read the way its tests need it: every command it tells a student to
//! type, the output excerpts it shows under them, and the report screenshot of each lesson.
//! tests/tutorial.rs runs the commands and checks the excerpts; tests/report_browser.rs
//! writes the screenshots. Both read the markdown through this one parser, so the page
//! cannot show a command, an excerpt or an image the tests do not know about.
//!
//! The conventions the markdown follows (a line-based reading, no markdown library):
//!
//! - A `## ` heading starts a section (a lesson). Everything below belongs to it until the
//!   next `## ` heading.
//! - A ```` ```console ```` block holds commands, one per line, each `$ watermark ARGS…`
//!   (arguments split on spaces; no quoting). A `# exit N` line right after a command says
//!   the command exits with N (a lesson that shows a failing run); without it the exit code
//!   must be 0. Blank lines are allowed; anything else in a console block is an error, so
//!   no command on the page escapes the test.
//! - A ```` ```text ```` block is an excerpt of what the last command of the section's
//!   latest console block printed. Its non-empty lines must appear in that output in the
//!   same order, each equal to an output line once trailing whitespace is trimmed, but not
//!   necessarily next to each other: `explain` may gain sentences between the lines quoted
//!   here without breaking the page. Two abbreviations: a line that is only `…` marks lines
//!   left out (it matches nothing), and a line ending in ` …` matches an output line that
//!   starts with the text before it (for a line too long to quote whole).
//! - `watermark report … -o NAME.html` names a plain file (no directory): the tests run
//!   every command in a scratch directory, so a report lands there, never in docs/.
//! - An image `![…](images/tutorial/NAME.png)` is the screenshot of the section's one
//!   `report` command. A comment `<!-- screenshot: 2.007s -->` (or `2007ms`) in the section
//!   says which moment of the run it shows (the last step at or before that simulated time,
//!   as the report's time slider picks it); without one it shows the last step. A CSS
//!   selector after the time (`<!-- screenshot: 4.368s #history -->`) names the part of the
//!   page to scroll to the top; the space-time diagram (`#space-time`) otherwise.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The tutorial, relative to the repository root.
pub const TUTORIAL_PATH: &str = "docs/TUTORIAL.md";

/// A command the page tells the reader to type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TutorialCommand {
    /// The markdown line it is on (from 1), for messages.
    pub line: usize,
    /// The `## ` heading of its section.
    pub section: String,
    /// What follows `watermark`.
    pub args: Vec<String>,
    pub exit_code: i32,
    pub excerpts: Vec<Excerpt>,
}

/// Lines of a command's output the page quotes: each non-empty line of the text block with
/// its markdown line number, trailing whitespace trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Excerpt {
    pub lines: Vec<(usize, String)>,
}

/// A lesson's report screenshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Screenshot {
    pub line: usize,
    pub section: String,
    /// The image's path relative to docs/, e.g. `images/tutorial/acks.png`.
    pub image: String,
    /// Index into [`Tutorial::commands`] of the section's `report` command.
    pub report: usize,
    /// The simulated time to show; `None` is the run's last step.
    pub moment_ms: Option<u64>,
    /// The CSS selector of the part of the page to show at the top.
    pub view: String,
}

/// What a screenshot shows at the top when its comment names no part of the page.
pub const DEFAULT_VIEW: &str = "#space-time";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tutorial {
    pub commands: Vec<TutorialCommand>,
    pub screenshots: Vec<Screenshot>,
}

impl TutorialCommand {
    /// `watermark ARGS`, as the page shows it.
    pub fn display(&self) -> String {
        format!("watermark {}", self.args.join(" "))
    }

    pub fn is_report(&self) -> bool {
        self.args.first().map(String::as_str) == Some("report")
    }

    /// The file a `report` command writes (its `-o`/`--output`).
    pub fn report_output(&self) -> Option<&str> {
        self.args
            .windows(2)
            .find(|pair| pair[0] == "-o" || pair[0] == "--output")
            .map(|pair| pair[1].as_str())
    }

    /// Runs the command with the built binary inside `dir`, so the relative `-o` file of a
    /// report lands there.
    pub fn run_in(&self, dir: &Path) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_watermark"))
            .args(&self.args)
            .current_dir(dir)
            .output()
            .expect("the watermark binary runs")
    }
}

/// The tutorial as checked in.
pub fn load() -> Tutorial {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(TUTORIAL_PATH);
    let markdown = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    parse(&markdown).unwrap_or_else(|error| panic!("{TUTORIAL_PATH}: {error}"))
}

/// Where a screenshot is written: docs/ plus the image's path.
pub fn image_path(screenshot: &Screenshot) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(&screenshot.image)
}

/// What a section has collected while it is read.
#[derive(Default)]
struct Section {
    heading: String,
    /// The latest console block's last command, which a text block quotes.
    quoted: Option<usize>,
    reports: Vec<usize>,
    image: Option<(usize, String)>,
    /// The comment's line, time and view.
    moment: Option<(usize, u64, String)>,
}

/// Reads the markdown; an error names the line and what is wrong with it.
pub fn parse(markdown: &str) -> Result<Tutorial, String> {
    let mut tutorial = Tutorial::default();
    let mut section = Section::default();
    let mut lines = markdown
        .lines()
        .enumerate()
        .map(|(index, text)| (index + 1, text));
    while let Some((number, text)) = lines.next() {
        if let Some(info) = text.strip_prefix("```") {
            let mut body = Vec::new();
            let mut closed = false;
            for (inner_number, inner) in lines.by_ref() {
                if inner.trim_end() == "```" {
                    closed = true;
                    break;
                }
                body.push((inner_number, inner));
            }
            if !closed {
                return Err(format!(
                    "line {number}: the block opened here is never closed"
                ));
            }
            match info.trim() {
                "console" => read_console(&mut tutorial, &mut section, &body)?,
                "text" => read_excerpt(&mut tutorial, &section, number, &body)?,
                _ => {}
            }
        } else if let Some(heading) = text.strip_prefix("## ") {
            finish_section(&mut tutorial, &section)?;
            section = Section {
                heading: heading.trim().to_string(),
                ..Section::default()
            };
        } else if let Some(comment) = screenshot_comment(text) {
            let (moment, view) = comment.split_once(' ').unwrap_or((comment, DEFAULT_VIEW));
            let moment_ms = parse_time(moment).ok_or_else(|| {
                format!("line {number}: `{moment}` is not a time like 2.007s or 2007ms")
            })?;
            let view = view.trim().to_string();
            if section.moment.replace((number, moment_ms, view)).is_some() {
                return Err(format!(
                    "line {number}: a second screenshot moment in one section"
                ));
            }
        } else if let Some(image) = tutorial_image(text) {
            if section.image.replace((number, image)).is_some() {
                return Err(format!("line {number}: a second screenshot in one section"));
            }
        }
    }
    finish_section(&mut tutorial, &section)?;
    Ok(tutorial)
}

fn read_console(
    tutorial: &mut Tutorial,
    section: &mut Section,
    body: &[(usize, &str)],
) -> Result<(), String> {
    let mut block_last = None;
    let mut exit_given = false;
    for &(number, text) in body {
        let text = text.trim_end();
        if text.is_empty() {
            continue;
        }
        if let Some(rest) = text.strip_prefix("$ watermark") {
            if !(rest.is_empty() || rest.starts_with(' ')) {
                return Err(format!(
                    "line {number}: `{text}` is not a watermark command"
                ));
            }
            if rest.contains('"') || rest.contains('\'') {
                return Err(format!(
                    "line {number}: quotes are not read; write arguments without spaces"
                ));
            }
            let command = TutorialCommand {
                line: number,
                section: section.heading.clone(),
                args: rest.split_whitespace().map(str::to_string).collect(),
                exit_code: 0,
                excerpts: Vec::new(),
            };
            if command.is_report() {
                match command.report_output() {
                    Some(file) if !file.contains('/') && !file.contains('\\') => {}
                    Some(file) => {
                        return Err(format!(
                            "line {number}: `-o {file}`: name a plain file; the tests write \
                             reports into a scratch directory"
                        ))
                    }
                    None => return Err(format!("line {number}: a report command without -o")),
                }
                section.reports.push(tutorial.commands.len());
            }
            block_last = Some(tutorial.commands.len());
            exit_given = false;
            tutorial.commands.push(command);
        } else if let Some(code) = text.strip_prefix("# exit ") {
            let index = block_last
                .filter(|_| !exit_given)
                .ok_or_else(|| format!("line {number}: `# exit` belongs right after a command"))?;
            tutorial.commands[index].exit_code = code
                .trim()
                .parse()
                .map_err(|_| format!("line {number}: `{text}`: the exit code is a number"))?;
            exit_given = true;
        } else {
            return Err(format!(
                "line {number}: `{text}`: a console block holds `$ watermark …` commands and \
                 `# exit N` lines only"
            ));
        }
    }
    if block_last.is_none() {
        let line = body.first().map_or(0, |(number, _)| *number);
        return Err(format!("line {line}: a console block without a command"));
    }
    section.quoted = block_last;
    Ok(())
}

fn read_excerpt(
    tutorial: &mut Tutorial,
    section: &Section,
    number: usize,
    body: &[(usize, &str)],
) -> Result<(), String> {
    let index = section.quoted.ok_or_else(|| {
        format!("line {number}: an excerpt with no command above it in its section")
    })?;
    let lines: Vec<(usize, String)> = body
        .iter()
        .map(|(line, text)| (*line, text.trim_end().to_string()))
        .filter(|(_, text)| !text.is_empty())
        .collect();
    if lines.iter().all(|(_, text)| text == "…") {
        return Err(format!("line {number}: an empty excerpt"));
    }
    tutorial.commands[index].excerpts.push(Excerpt { lines });
    Ok(())
}

fn finish_section(tutorial: &mut Tutorial, section: &Section) -> Result<(), String> {
    let Some((line, image)) = section.image.clone() else {
        if let Some((line, _, _)) = section.moment {
            return Err(format!("line {line}: a screenshot moment without an image"));
        }
        return Ok(());
    };
    let report = match section.reports.as_slice() {
        [report] => *report,
        [] => {
            return Err(format!(
                "line {line}: a screenshot in a section with no report command"
            ))
        }
        _ => {
            return Err(format!(
                "line {line}: a screenshot in a section with several report commands"
            ))
        }
    };
    tutorial.screenshots.push(Screenshot {
        line,
        section: section.heading.clone(),
        image,
        report,
        moment_ms: section.moment.as_ref().map(|(_, moment_ms, _)| *moment_ms),
        view: section
            .moment
            .as_ref()
            .map_or(DEFAULT_VIEW.to_string(), |(_, _, view)| view.clone()),
    });
    Ok(())
}

/// `<!-- screenshot: 2.007s -->` → `2.007s`.
fn screenshot_comment(text: &str) -> Option<&str> {
    text.trim()
        .strip_prefix("<!-- screenshot:")?
        .strip_suffix("-->")
        .map(str::trim)
}

/// `![…](images/tutorial/NAME.png)` → `images/tutorial/NAME.png`.
fn tutorial_image(text: &str) -> Option<String> {
    let start = text.find("](images/tutorial/")? + 2;
    let end = start + text[start..].find(')')?;
    text.trim_start()
        .starts_with("![")
        .then(|| text[start..end].to_string())
}

/// `2.5s` or `2500ms`, as `explain --from` reads them.
pub fn parse_time(text: &str) -> Option<u64> {
    if let Some(millis) = text.strip_suffix("ms") {
        return millis.parse().ok();
    }
    let seconds = text.strip_suffix('s')?;
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
    if whole.is_empty() || fraction.len() > 3 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let fraction_ms: u64 = format!("{fraction:0<3}").parse().ok()?;
    whole.checked_mul(1000)?.checked_add(fraction_ms)
}

/// Whether `wanted` (an excerpt line) matches `line` (an output line, trailing whitespace
/// trimmed): equal, or a prefix when `wanted` ends in ` …`.
fn line_matches(wanted: &str, line: &str) -> bool {
    match wanted.strip_suffix(" …") {
        Some(prefix) => line.starts_with(prefix),
        None => line == wanted,
    }
}

/// Checks that the excerpt's lines appear in `output` in order (a subsequence of its lines);
/// the error names the first excerpt line that does not and says whether it is anywhere in
/// the output at all.
pub fn check_excerpt(excerpt: &Excerpt, output: &str) -> Result<(), String> {
    let output: Vec<&str> = output.lines().map(str::trim_end).collect();
    let mut next = 0;
    let mut previous: Option<(usize, &str)> = None;
    for (line, wanted) in &excerpt.lines {
        if wanted == "…" {
            continue;
        }
        match output[next..]
            .iter()
            .position(|candidate| line_matches(wanted, candidate))
        {
            Some(found) => {
                previous = Some((next + found, output[next + found]));
                next += found + 1;
            }
            None => {
                let anywhere = output
                    .iter()
                    .any(|candidate| line_matches(wanted, candidate));
                let after = previous.map_or("from the start".to_string(), |(at, text)| {
                    format!("after output line {} (`{text}`)", at + 1)
                });
                let hint = if anywhere {
                    "it is in the output, but only before that point: the excerpt's order differs"
                } else {
                    "it is nowhere in the output"
                };
                return Err(format!("line {line}: `{wanted}` not found {after}: {hint}"));
            }
        }
    }
    Ok(())
}
