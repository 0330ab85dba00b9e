//! Kafka's exactly-once consume-transform-produce loop end to end, against the real group
//! and transaction coordinators and partition leaders: a producer writes `input`, a group
//! member transforms each record into one `output` value in the transaction that commits
//! its input position (TxnOffsetCommit, markers on `__consumer_offsets`), and a
//! read_committed reader follows `output`. The run is judged exactly-once by the checkers
//! (`pipeline-missing-output`, `pipeline-duplicate-output`, `unprocessed` among them), the
//! output partitions are verified with the transaction coordinator (KIP-890) and the
//! group's offsets are committed by transaction markers.

use watermark::broker_core::mark::Mark;
use watermark::scenarios::parse_toml;
use watermark::sim::runner::{run, RunOptions};
use watermark::sim::trace::TraceMode;
use watermark::sim::verdict::Guarantee;

const PIPELINE: &str = r#"
name = "pipeline-end-to-end"
summary = "consume-transform-produce without faults"
explanation = "test"
brokers = 3

[[topics]]
name = "input"
partitions = 2
replication_factor = 3
min_insync_replicas = 2

[[topics]]
name = "output"
partitions = 2
replication_factor = 3
min_insync_replicas = 2

[[producers]]
topic = "input"
records = 40
interval_ms = 100

[[consumers]]
topics = ["input"]
processing = "consume-transform-produce"
output_topic = "output"

[consumers.config]
group_id = "transformers"
enable_auto_commit = false
isolation_level = "read_committed"

[[consumers]]
topics = ["output"]

[consumers.config]
isolation_level = "read_committed"

[expect]
guarantee = "exactly-once"
"#;

#[test]
fn every_input_value_is_transformed_once_in_the_transaction_that_commits_its_offset() {
    let scenario = parse_toml(PIPELINE, "pipeline").expect("the scenario loads");
    for seed in 0..3 {
        let report = run(
            &scenario,
            seed,
            RunOptions {
                trace_mode: TraceMode::HashOnly,
                keep_records: false,
            },
        );
        assert!(report.panic.is_none(), "seed {seed}: {:?}", report.panic);
        assert!(
            report.violations.is_empty(),
            "seed {seed}: {:?}",
            report.violations
        );
        assert_eq!(report.observed, Guarantee::ExactlyOnce, "seed {seed}");
        assert!(report.passed, "seed {seed}: {:?}", report.failures);
        for mark in [
            Mark::TxnOffsetsPending,
            Mark::TxnOffsetsCommittedByMarker,
            Mark::TransactionVerificationSent,
            Mark::TxnMarkerAppended,
        ] {
            assert!(report.marks.contains_key(&mark), "seed {seed}: no {mark:?}");
        }
        // The lag table reads the group's transactional commits: every input partition has
        // a committed offset, at most one behind its end (the last transaction's marker
        // takes an offset no consumer is handed, as in Kafka's consumer-groups tool).
        assert!(!report.lag.is_empty(), "seed {seed}: no lag rows");
        for lag in &report.lag {
            assert!(
                lag.committed.is_some() && lag.lag.is_some_and(|behind| behind <= 1),
                "seed {seed}: {lag:?}"
            );
        }
    }
}
