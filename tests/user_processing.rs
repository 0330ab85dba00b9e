//! Testing your own processing logic under failover, as a user of the library would: a
//! `RecordProcessor` that keeps the sink idempotent (it skips a value the sink already
//! holds), plugged in through the scenarios builder, run with a broker crash (which may be
//! the group's coordinator or a partition leader) in the middle of an at-least-once
//! (process-then-commit) group, and judged with the library's checkers and the sink.
//! Copy this file and replace `SkipWhatTheSinkHolds` with your own processing step.

use std::collections::BTreeMap;
use watermark_broker_core::consumer::ConsumerRecord;
use watermark_scenarios::builder::ScenarioBuilder;
use watermark_sim::fault::{Fault, Target};
use watermark_sim::processing::{Processed, ProcessingMode, RecordProcessor, WriteEveryRecord};
use watermark_sim::runner::RunOptions;
use watermark_sim::scenario::ConsumerWorkload;
use watermark_sim::sink::Sink;

/// Writes a record only if the sink does not hold its value yet: redelivered records
/// (after the crash, the group resumes from the last commit) are processed again but
/// written once.
struct SkipWhatTheSinkHolds;

impl RecordProcessor for SkipWhatTheSinkHolds {
    fn process(
        &mut self,
        group: &str,
        record: &ConsumerRecord,
        sink: &Sink,
        processing_ms: u64,
    ) -> Processed {
        Processed {
            duration_ms: processing_ms,
            writes: !sink.holds(group, record.value),
        }
    }
}

fn group_consumer() -> ConsumerWorkload {
    let mut consumer = ConsumerWorkload {
        processing: Some(ProcessingMode::ProcessThenCommit),
        processing_ms: Some(20),
        ..ConsumerWorkload::default()
    };
    consumer.config.group_id = Some("billing".into());
    consumer.config.enable_auto_commit = false;
    consumer
}

/// The same group, with the consumer crashed while it processes (after some commits, before
/// the last) and restarted a second later: the restarted consumer resumes from the last
/// commit, so some records are processed twice.
fn crashed_mid_processing(name: &str) -> ScenarioBuilder {
    let consumer = Target::Consumer(0);
    ScenarioBuilder::new(name)
        .records(100, 20)
        .consumers(vec![group_consumer()])
        .fault_at(
            5_000,
            Fault::Crash {
                target: consumer.clone(),
            },
        )
        .fault_at(6_000, Fault::Restart { target: consumer })
}

fn writes_per_value(sink: &[watermark_sim::sink::SinkEntry]) -> BTreeMap<u64, usize> {
    let mut writes: BTreeMap<u64, usize> = BTreeMap::new();
    for entry in sink {
        *writes.entry(entry.value).or_default() += 1;
    }
    writes
}

#[test]
fn an_idempotent_sink_writes_every_value_once_through_a_consumer_crash() {
    let scenario = crashed_mid_processing("my-idempotent-sink")
        .processor(|_client| SkipWhatTheSinkHolds)
        .build_with_processor()
        .expect("a runnable scenario");
    let report = scenario.run(1, RunOptions::default());
    assert!(report.passed, "{:?}", report.failures);
    let writes = writes_per_value(&report.sink);
    assert_eq!(writes.len(), 100, "every value written");
    assert!(writes.values().all(|count| *count == 1), "{writes:?}");
    assert!(
        report.lag.iter().all(|lag| lag.lag == Some(0)),
        "{:?}",
        report.lag
    );
}

/// Without the check (the built-in processing step, which writes every record), the same
/// crash writes some values twice: the test above would catch a processor that forgot it.
#[test]
fn without_the_check_the_crash_writes_some_values_twice() {
    let scenario = crashed_mid_processing("plain-sink")
        .processor(|_client| WriteEveryRecord)
        .build_with_processor()
        .expect("a runnable scenario");
    let report = scenario.run(1, RunOptions::default());
    let writes = writes_per_value(&report.sink);
    assert_eq!(writes.len(), 100, "every value written");
    assert!(writes.values().any(|count| *count > 1), "{writes:?}");
}
