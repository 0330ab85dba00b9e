//! The runner executes a scenario end to end and reports.

use watermark_sim::runner::{run, RunOptions};
use watermark_sim::scenario::Scenario;
use watermark_sim::trace::TraceMode;

#[test]
fn a_quiet_run_converges_with_exactly_once() {
    let scenario = Scenario {
        name: "smoke".to_string(),
        ..Scenario::default()
    };
    let report = run(
        &scenario,
        3,
        RunOptions {
            trace_mode: TraceMode::Text,
            keep_records: false,
        },
    );
    if std::env::var("SMOKE_PRINT").is_ok() {
        for line in &report.trace {
            println!("{line}");
        }
        println!("{:#?}", report.violations);
    }
    assert_eq!(report.seed, 3);
    assert!(report.panic.is_none(), "{:?}", report.panic);
    assert_eq!(report.trace_hash.len(), 16);
    assert!(report.converged, "{:?}", report.failures);
    assert!(report.passed, "{:?}", report.failures);
    assert_eq!(report.counters.sends_ok, 200);
}

/// A scenario with no broker at all (which `Scenario::validate` refuses) does not crash the
/// simulator: it runs, nothing can be written, and the run fails its liveness phase.
#[test]
fn a_scenario_without_brokers_fails_liveness_instead_of_panicking() {
    let broken = Scenario {
        name: "broken".to_string(),
        brokers: 0,
        ..Scenario::default()
    };
    assert!(!broken.validate().is_empty());
    let report = run(&broken, 4, RunOptions::default());
    assert!(report.panic.is_none(), "{:?}", report.panic);
    assert!(!report.passed);
    assert!(report
        .violations
        .iter()
        .any(|violation| violation.checker.name() == "liveness"));
}
