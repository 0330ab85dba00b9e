//! The runner executes a scenario end to end and reports, whatever the actors do.

use watermark_sim::runner::{run, RunOptions};
use watermark_sim::scenario::Scenario;
use watermark_sim::trace::TraceMode;

#[test]
fn a_run_reports_its_seed_and_a_trace_hash() {
    let scenario = Scenario {
        name: "smoke".to_string(),
        ..Scenario::default()
    };
    let report = run(
        &scenario,
        3,
        RunOptions {
            trace_mode: TraceMode::Text,
        },
    );
    assert_eq!(report.seed, 3);
    assert!(report.panic.is_none(), "{:?}", report.panic);
    assert_eq!(report.trace_hash.len(), 16);
    assert!(!report.trace.is_empty());
    println!("{report:#?}");
}
