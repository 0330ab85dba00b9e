//! `watermark report` in a real browser: Debian's chromium, headless, driven over the
//! DevTools protocol. The page must load without a console error, step forward and back
//! with the keys and buttons, and show at a chosen step the values the step records say;
//! a screenshot is written to docs/images/report.png for the README. A large swarm run is
//! loaded too, and its file size and load time printed. Each lesson of docs/TUTORIAL.md gets
//! its screenshot too (docs/images/tutorial/), from the report command the lesson shows, at
//! the moment it names.
//!
//! Where chromium is missing the tests print that they are skipped and why; with
//! `WATERMARK_REQUIRE_BROWSER=1` (set by .ci/run) they fail instead.

mod cli_support;
mod tutorial_support;
use cli_support::*;
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::protocol::cdp::Log::LogEntryLevel;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::protocol::cdp::Runtime::ConsoleAPICalledEventTypeOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SCENARIO: &str = "acks1-leader-crash-loses-acked-write";
const SEED: &str = "7";
/// A swarm seed with over 10,000 events (36,426 records, 31,367 messages).
const BIG_SCENARIO: &str = "exactly-once-pipeline-swarm";
const BIG_SEED: &str = "1";

/// Debian's package installs the browser here.
const CHROMIUM_PATHS: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/// The browser, or `None` after saying why the test is skipped (a failure when the
/// environment requires the browser).
fn chromium() -> Option<PathBuf> {
    if let Some(path) = CHROMIUM_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
    {
        return Some(path);
    }
    let reason = format!(
        "chromium is not installed (looked for {}); install it with `apt-get install chromium`",
        CHROMIUM_PATHS.join(", ")
    );
    assert!(
        std::env::var("WATERMARK_REQUIRE_BROWSER").as_deref() != Ok("1"),
        "WATERMARK_REQUIRE_BROWSER=1 but {reason}"
    );
    eprintln!("SKIPPED: the browser test did not run: {reason}");
    None
}

/// The window of the README's report tests.
const WINDOW: (u32, u32) = (1400, 1000);
/// The tutorial's screenshots: narrower, so nine of them stay small in the repository.
const TUTORIAL_WINDOW: (u32, u32) = (1200, 900);

/// Chromium without anything that reaches for a network: this machine's network is closed,
/// and a browser that phones home floods it.
fn launch(path: &Path, profile: &Path, window: (u32, u32)) -> Browser {
    let flags: Vec<&OsStr> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    let options = LaunchOptions {
        path: Some(path.to_path_buf()),
        headless: true,
        sandbox: false,
        enable_gpu: false,
        window_size: Some(window),
        user_data_dir: Some(profile.to_path_buf()),
        args: flags,
        idle_browser_timeout: Duration::from_secs(120),
        ..LaunchOptions::default()
    };
    Browser::new(options).expect("chromium starts")
}

/// Writes a report and returns its path.
fn write_report(dir: &Path, scenario: &str, seed: &str) -> PathBuf {
    let path = dir.join(format!("{scenario}-{seed}.html"));
    let output = watermark(&[
        "report",
        scenario,
        "--seed",
        seed,
        "-o",
        path.to_str().expect("a UTF-8 temp path"),
    ]);
    assert!(
        output.status.code().is_some_and(|code| code <= 1),
        "{}",
        stderr(&output)
    );
    path
}

/// Console errors, uncaught exceptions and error log entries, as they happen.
fn collect_errors(tab: &Tab) -> Arc<Mutex<Vec<String>>> {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&errors);
    tab.enable_runtime().expect("the Runtime domain");
    tab.enable_log().expect("the Log domain");
    tab.add_event_listener(Arc::new(move |event: &Event| {
        let error = match event {
            Event::RuntimeExceptionThrown(thrown) => {
                Some(format!("exception: {:?}", thrown.params.exception_details))
            }
            Event::RuntimeConsoleAPICalled(called)
                if matches!(
                    called.params.Type,
                    ConsoleAPICalledEventTypeOption::Error
                        | ConsoleAPICalledEventTypeOption::Assert
                ) =>
            {
                Some(format!("console: {:?}", called.params.args))
            }
            Event::LogEntryAdded(added) if added.params.entry.level == LogEntryLevel::Error => {
                Some(format!("log: {}", added.params.entry.text))
            }
            _ => None,
        };
        if let Some(error) = error {
            sink.lock().expect("the error list").push(error);
        }
    }))
    .expect("an event listener");
    errors
}

/// Loads `path` (with `fragment` after `#`, when not empty) and waits for the page's script
/// to finish; the wall time it took.
fn open(tab: &Tab, path: &Path, fragment: &str) -> Duration {
    let started = Instant::now();
    let fragment = if fragment.is_empty() {
        String::new()
    } else {
        format!("#{fragment}")
    };
    tab.navigate_to(&format!("file://{}{fragment}", path.display()))
        .expect("navigate");
    tab.wait_until_navigated().expect("the page loads");
    tab.wait_for_element_with_custom_timeout("body[data-ready='true']", Duration::from_secs(60))
        .expect("the page's script ran to its end");
    started.elapsed()
}

/// A data attribute of the current-step panel.
fn state(tab: &Tab, name: &str) -> String {
    let value = tab
        .evaluate(
            &format!("document.getElementById('state').getAttribute('data-{name}')"),
            false,
        )
        .expect("evaluate")
        .value
        .unwrap_or(Value::Null);
    value.as_str().map(str::to_string).unwrap_or_default()
}

fn state_number(tab: &Tab, name: &str) -> u64 {
    state(tab, name)
        .parse()
        .unwrap_or_else(|_| panic!("data-{name} is a number"))
}

/// The run's records as `watermark run --records` prints them.
fn records(scenario: &str, seed: &str) -> Vec<Value> {
    let output = watermark(&["run", scenario, "--seed", seed, "--records"]);
    stdout(&output)
        .lines()
        .filter(|line| line.starts_with("{\"record\""))
        .map(|line| serde_json::from_str(line).expect("a record is JSON"))
        .collect()
}

/// Messages sent in records `0..=step`, counted from the records themselves.
fn sent_up_to(records: &[Value], step: usize) -> u64 {
    records[..=step]
        .iter()
        .map(|record| record["sent"].as_array().map_or(0, Vec::len) as u64)
        .sum()
}

/// The high watermark of `broker`'s replica of events-0 after records `0..=step`, from its
/// own `HighWatermarkUpdated` events.
fn high_watermark_up_to(records: &[Value], step: usize, broker: u64) -> u64 {
    let mut high_watermark = 0;
    for record in &records[..=step] {
        if record["node"]["Broker"].as_u64() != Some(broker) {
            continue;
        }
        for event in record["events"].as_array().into_iter().flatten() {
            let update = &event["HighWatermarkUpdated"];
            if update["partition"]["topic"] == "events" && update["partition"]["partition"] == 0 {
                high_watermark = update["to"].as_u64().expect("an offset");
            }
        }
    }
    high_watermark
}

fn embedded_data(path: &Path) -> Value {
    let html = std::fs::read_to_string(path).expect("the report");
    let start_tag = r#"<script type="application/json" id="report-data">"#;
    let start = html.find(start_tag).expect("the data element") + start_tag.len();
    let end = start + html[start..].find("</script>").expect("its end");
    serde_json::from_str(&html[start..end]).expect("JSON")
}

#[test]
fn the_report_steps_in_a_real_browser_and_shows_each_steps_values() {
    let Some(chromium) = chromium() else { return };
    let dir = temp_dir("report-browser");
    let path = write_report(&dir, SCENARIO, SEED);
    let records = records(SCENARIO, SEED);
    let data = embedded_data(&path);
    let browser = launch(&chromium, &dir.join("profile"), WINDOW);
    let tab = browser.new_tab().expect("a tab");
    let errors = collect_errors(&tab);
    open(&tab, &path, "");
    assert_eq!(state_number(&tab, "step"), 0);

    // Forward and back with the keys, ten at a time with Shift, and with the buttons.
    for _ in 0..3 {
        tab.press_key("ArrowRight").expect("a key");
    }
    assert_eq!(state_number(&tab, "step"), 3);
    tab.press_key("ArrowLeft").expect("a key");
    assert_eq!(state_number(&tab, "step"), 2);
    tab.press_key_with_modifiers(
        "ArrowRight",
        Some(&[headless_chrome::browser::tab::ModifierKey::Shift]),
    )
    .expect("a key");
    assert_eq!(state_number(&tab, "step"), 12);
    tab.find_element("#step-back")
        .expect("the back button")
        .click()
        .expect("click");
    assert_eq!(state_number(&tab, "step"), 11);
    tab.press_key("End").expect("a key");
    assert_eq!(state_number(&tab, "step") as usize, records.len() - 1);

    // The lost write's violation moves every view to its moment.
    tab.find_element("#violation-list li[data-index='0'] .violation-head")
        .expect("the first violation")
        .click()
        .expect("click");
    let step = state_number(&tab, "step") as usize;
    assert_eq!(
        step as u64,
        data["violations"][0]["step"].as_u64().expect("a step")
    );
    assert!(
        step > 0 && step < records.len() - 1,
        "a moment inside the run: {step}"
    );
    let time_ms = records[step]["time_ms"].as_u64().expect("a time");
    assert_eq!(state_number(&tab, "time-ms"), time_ms);
    assert_eq!(
        state_number(&tab, "messages-sent"),
        sent_up_to(&records, step)
    );
    // The replica views at that step: b1's high watermark of events-0, as its own events
    // up to the step set it.
    assert_eq!(
        state_number(&tab, "high-watermark-events-0-b1"),
        high_watermark_up_to(&records, step, 1)
    );
    let slider_ms: u64 = tab
        .evaluate(
            "Number(document.getElementById('time-slider').value)",
            false,
        )
        .expect("evaluate")
        .value
        .and_then(|value| value.as_u64())
        .expect("the slider's value");
    assert_eq!(slider_ms, time_ms, "the time slider follows the step");
    let acknowledged = data["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .filter(|op| {
            op["outcome"] == "ok" && op["complete_ms"].as_u64().is_some_and(|t| t <= time_ms)
        })
        .count() as u64;
    assert_eq!(state_number(&tab, "operations-ok"), acknowledged);
    // The history shows the rows around the moment, each with its status then.
    let rows = tab
        .find_elements("#history-rows .operation")
        .expect("history rows");
    assert!(!rows.is_empty());
    for row in rows {
        let attributes = row
            .get_attributes()
            .expect("attributes")
            .unwrap_or_default();
        let attribute = |name: &str| {
            attributes
                .chunks(2)
                .find(|pair| pair[0] == name)
                .map(|pair| pair[1].clone())
                .expect("the attribute")
        };
        let op = &data["operations"][attribute("data-index").parse::<usize>().expect("an index")];
        let expected = if op["invoke_ms"].as_u64() > Some(time_ms) {
            "future".to_string()
        } else if op["complete_ms"].as_u64().is_none_or(|t| t > time_ms) {
            "pending".to_string()
        } else {
            op["outcome"].as_str().expect("an outcome").to_string()
        };
        assert_eq!(attribute("data-status"), expected, "{op}");
    }

    // The screenshot shows the acknowledgement of the write that is later lost: the cut
    // and the crash are on the lanes, the truncation ahead.
    tab.find_element("#violation-list li[data-index='0'] button.moment[data-step]:nth-of-type(3)")
        .expect("the lost write's acknowledgement")
        .click()
        .expect("click");
    let screenshot = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .expect("a screenshot");
    let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images");
    std::fs::create_dir_all(&images).expect("docs/images");
    std::fs::write(images.join("report.png"), screenshot).expect("write the screenshot");

    // An address with `#step=N` opens at that step.
    tab.navigate_to("about:blank").expect("navigate");
    tab.wait_until_navigated().expect("a blank page");
    open(&tab, &path, "step=120");
    assert_eq!(state_number(&tab, "step"), 120);

    // The moment b1 acknowledges v21 alone (acks=1): the replica views show b1 leading with
    // v21 at offset 20 above its high watermark of 20, the write the crash then loses.
    let acked = records
        .iter()
        .position(|record| {
            record["events"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|event| {
                    event["ProduceAnswered"]["base_offset"].as_u64() == Some(20)
                        && record["node"]["Broker"].as_u64() == Some(1)
                })
        })
        .expect("b1 answers the produce of offset 20");
    tab.navigate_to("about:blank").expect("navigate");
    tab.wait_until_navigated().expect("a blank page");
    open(&tab, &path, &format!("step={acked}"));
    assert_eq!(high_watermark_up_to(&records, acked, 1), 20);
    assert_eq!(state_number(&tab, "high-watermark-events-0-b1"), 20);
    assert_eq!(state_number(&tab, "log-end-offset-events-0-b1"), 21);
    assert_eq!(state(&tab, "role-events-0-b1"), "leader");
    let strip = tab
        .find_element(
            "#replica-partitions .replica-partition[data-partition='events-0'] \
             tr[data-broker='1'] .log-strip",
        )
        .expect("b1's log strip")
        .get_inner_text()
        .expect("its text");
    assert!(strip.contains("20:v21"), "{strip}");

    // The violation's mark button moves to its moment and outlines the records it names
    // (offset 20 of events-0, value 21) in the log strips; pressed again, the marks go.
    let focus_button = "#violation-list li[data-index='0'] button.focus-link";
    tab.find_element(focus_button)
        .expect("the violation's mark button")
        .click()
        .expect("click");
    assert_eq!(
        state_number(&tab, "step"),
        data["violations"][0]["step"].as_u64().expect("a step")
    );
    let marked: Vec<String> = tab
        .find_elements(".log-strip .record.focus")
        .expect("marked records")
        .iter()
        .map(|record| record.get_inner_text().expect("its text"))
        .collect();
    assert!(!marked.is_empty(), "no record marked");
    assert!(
        marked
            .iter()
            .all(|text| text.starts_with("20:") || text.ends_with(":v21")),
        "{marked:?}"
    );
    tab.find_element(focus_button)
        .expect("the violation's mark button")
        .click()
        .expect("click");
    let still_marked = tab
        .evaluate(
            "document.querySelectorAll('.log-strip .record.focus').length",
            false,
        )
        .expect("evaluate")
        .value
        .and_then(|value| value.as_u64());
    assert_eq!(still_marked, Some(0), "the marks are cleared");

    let errors = errors.lock().expect("the error list");
    assert!(errors.is_empty(), "console errors: {errors:?}");
}

#[test]
fn a_swarm_run_of_over_ten_thousand_events_loads_and_scrolls_in_the_browser() {
    let Some(chromium) = chromium() else { return };
    let dir = temp_dir("report-browser-big");
    let path = write_report(&dir, BIG_SCENARIO, BIG_SEED);
    let bytes = std::fs::metadata(&path).expect("the report").len();
    let browser = launch(&chromium, &dir.join("profile"), WINDOW);
    let tab = browser.new_tab().expect("a tab");
    let errors = collect_errors(&tab);
    let load = open(&tab, &path, "");
    // Scroll the diagram across the whole run and the history to its end, a step forward
    // at each of 60 animation frames, and time the frames in the page.
    let frames = tab
        .evaluate(
            r#"new Promise(function (resolve) {
                 var scroller = document.getElementById('space-time-scroll');
                 var history = document.getElementById('history-scroll');
                 var frame = 0, started = performance.now(), last = started, worst = 0;
                 function next() {
                   var now = performance.now();
                   worst = Math.max(worst, now - last);
                   last = now;
                   if (frame === 60) {
                     resolve(JSON.stringify({ total_ms: now - started, worst_ms: worst }));
                     return;
                   }
                   frame++;
                   scroller.scrollLeft = scroller.scrollWidth * frame / 60;
                   history.scrollTop = history.scrollHeight * frame / 60;
                   document.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight' }));
                   requestAnimationFrame(next);
                 }
                 requestAnimationFrame(next);
               })"#,
            true,
        )
        .expect("evaluate")
        .value
        .and_then(|value| value.as_str().map(str::to_string))
        .expect("the frame times");
    let frames: Value = serde_json::from_str(&frames).expect("JSON");
    let worst_frame_ms = frames["worst_ms"].as_f64().expect("a time");
    let steps = state_number(&tab, "step");
    eprintln!(
        "big report {BIG_SCENARIO} seed {BIG_SEED}: {bytes} bytes, loaded in {} ms; 60 frames \
         of scrolling and stepping in {:.0} ms, the slowest {worst_frame_ms:.0} ms",
        load.as_millis(),
        frames["total_ms"].as_f64().unwrap_or_default()
    );
    assert_eq!(steps, 60);
    assert!(worst_frame_ms < 1000.0, "a frame took {worst_frame_ms} ms");
    assert!(load < Duration::from_secs(20), "load took {load:?}");
    let errors = errors.lock().expect("the error list");
    assert!(errors.is_empty(), "console errors: {errors:?}");
}

/// Moves the page to the last step at or before `time_ms`, as dragging the time slider
/// there does.
fn move_slider_to(tab: &Tab, time_ms: u64) {
    tab.evaluate(
        &format!(
            "(function () {{ var slider = document.getElementById('time-slider'); \
             slider.value = '{time_ms}'; slider.dispatchEvent(new Event('input')); }}())"
        ),
        false,
    )
    .expect("evaluate");
}

/// Scrolls the element `selector` names to the top of the window, just below the step
/// control, which stays pinned there and shows the time and step.
fn scroll_to_top(tab: &Tab, selector: &str, lesson: &str) {
    let selector = serde_json::to_string(selector).expect("a JSON string");
    let found = tab
        .evaluate(
            &format!(
                "(function () {{ var target = document.querySelector({selector}); \
                 if (!target) return false; \
                 var controls = document.getElementById('controls').offsetHeight; \
                 window.scrollTo(0, target.getBoundingClientRect().top + window.scrollY \
                 - controls - 8); return true; }}())"
            ),
            false,
        )
        .expect("evaluate")
        .value;
    assert_eq!(
        found,
        Some(Value::Bool(true)),
        "{lesson}: no element matches {selector}"
    );
}

#[test]
fn each_tutorial_lesson_gets_a_screenshot_of_its_report_at_its_moment() {
    let Some(chromium) = chromium() else { return };
    let tutorial = tutorial_support::load();
    assert!(
        !tutorial.screenshots.is_empty(),
        "docs/TUTORIAL.md shows no screenshot"
    );
    let dir = temp_dir("report-browser-tutorial");
    // One browser and one tab for every lesson: each report is opened in turn.
    let browser = launch(&chromium, &dir.join("profile"), TUTORIAL_WINDOW);
    let tab = browser.new_tab().expect("a tab");
    let errors = collect_errors(&tab);
    for shot in &tutorial.screenshots {
        let command = &tutorial.commands[shot.report];
        let lesson = format!(
            "{}:{} ({})",
            tutorial_support::TUTORIAL_PATH,
            shot.line,
            shot.section
        );
        let started = Instant::now();
        let output = command.run_in(&dir);
        assert_eq!(
            output.status.code(),
            Some(command.exit_code),
            "{lesson}: `{}`: {}",
            command.display(),
            stderr(&output)
        );
        let report = dir.join(command.report_output().expect("a report names its file"));
        let written_ms = started.elapsed().as_millis();
        tab.navigate_to("about:blank").expect("navigate");
        tab.wait_until_navigated().expect("a blank page");
        let load = open(&tab, &report, "");
        match shot.moment_ms {
            Some(time_ms) => {
                move_slider_to(&tab, time_ms);
                let shown_ms = state_number(&tab, "time-ms");
                assert!(
                    shown_ms <= time_ms && state_number(&tab, "step") > 0,
                    "{lesson}: the slider at {time_ms} ms shows step {} at {shown_ms} ms",
                    state_number(&tab, "step")
                );
            }
            None => {
                tab.press_key("End").expect("a key");
            }
        }
        scroll_to_top(&tab, &shot.view, &lesson);
        let screenshot = tab
            .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
            .expect("a screenshot");
        let path = tutorial_support::image_path(shot);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("docs/images/tutorial");
        std::fs::write(&path, screenshot).expect("write the screenshot");
        eprintln!(
            "{lesson}: wrote {} (report written in {written_ms} ms, loaded in {} ms, {} ms \
             in all)",
            path.display(),
            load.as_millis(),
            started.elapsed().as_millis()
        );
    }
    let errors = errors.lock().expect("the error list");
    assert!(errors.is_empty(), "console errors: {errors:?}");
}
