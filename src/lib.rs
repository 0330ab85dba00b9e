//! Watermark facade: the three workspace crates under short names, plus the `watermark`
//! command line ([`cli`]) and the bare madsim message pump the benchmark compares against
//! ([`bench::pump`]).

pub use watermark_broker_core as broker_core;
pub use watermark_scenarios as scenarios;
pub use watermark_sim as sim;

pub mod cli;

/// Benchmark baselines.
pub mod bench {
    pub mod pump;
}
