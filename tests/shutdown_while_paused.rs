//! A broker told to shut down while paused begins its controlled shutdown when it resumes:
//! a stopped process acts on its SIGTERM only once it runs again, so the controller moves
//! nothing away from it before the resume. (Before, the paused broker asked the controller at
//! once. On seed 4350 of the consumer-group swarm its offsets partitions moved to other
//! coordinators while it slept; on resuming it answered a commit it had received before the
//! pause, after the new coordinator had accepted higher offsets, and
//! `committed-offset-backwards` reported the group's offset going back: a false alarm of the
//! soundness sweep.)

use watermark::scenarios::builder::ScenarioBuilder;
use watermark::sim::fault::{Fault, Target};
use watermark::sim::runner::{run, RunOptions};
use watermark::sim::trace::TraceMode;
use watermark_broker_core::ids::BrokerId;

const B2: Target = Target::Broker(BrokerId(2));

/// The simulated second of a trace line (`t=6.002s …`).
fn line_time_ms(line: &str) -> u64 {
    let seconds: f64 = line
        .strip_prefix("t=")
        .and_then(|rest| rest.split('s').next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("not a trace line: {line}"));
    (seconds * 1000.0).round() as u64
}

#[test]
fn a_shutdown_signalled_while_paused_begins_at_the_resume() {
    let scenario = ScenarioBuilder::new("shutdown-while-paused")
        .records(40, 50)
        .phases(10_000, 60_000)
        .fault_at(3_000, Fault::Pause { target: B2 })
        .fault_at(4_000, Fault::Shutdown { target: B2 })
        .fault_at(6_000, Fault::Resume { target: B2 })
        .build()
        .unwrap();
    let options = RunOptions {
        trace_mode: TraceMode::Text,
        ..RunOptions::default()
    };
    let report = run(&scenario, 1, options);
    assert!(report.passed, "{:?}", report.failures);
    assert!(report.faults_not_applied.is_empty());
    // b2 leads nothing here, so the controller answers its request with a fence.
    let answered = report
        .trace
        .iter()
        .find(|line| line.contains("ctl fence b2: shutdown now"))
        .expect("the controller acts on b2's controlled shutdown");
    assert!(
        (6_000..6_100).contains(&line_time_ms(answered)),
        "the controller acted on b2's shutdown before b2 resumed: {answered}"
    );
    let begins = report
        .trace
        .iter()
        .find(|line| line.contains("controlled shutdown begins (signalled while paused)"))
        .expect("the trace says when the shutdown began");
    assert_eq!(line_time_ms(begins), 6_000, "{begins}");
    assert!(report
        .trace
        .iter()
        .any(|line| line.contains("b2 stopped after controlled shutdown")));
}

#[test]
fn the_consumer_group_swarm_seed_that_raised_the_false_alarm_passes() {
    let scenario = watermark_scenarios::find("safe-consumer-group-swarm").unwrap();
    let report = run(&scenario, 4350, RunOptions::default());
    assert!(report.passed, "{:?}", report.failures);
}
