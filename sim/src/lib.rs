//! The simulator: node shells over madsim, the nemesis that kills, restarts and pauses
//! them, the runner (one seed → one `RunReport`) and sweeps, driving the madsim-free world
//! of `watermark-world`.

#[cfg(not(madsim))]
compile_error!(
    "watermark-sim must be built with `--cfg madsim`. The workspace's .cargo/config.toml sets \
     it; a RUSTFLAGS environment variable replaces that setting. Unset RUSTFLAGS, or add \
     `--cfg madsim` to it (RUSTFLAGS=\"--cfg madsim ...\")."
);

// The world's modules keep their paths under `watermark_sim::`: the world is the part of the
// simulator that does not need madsim.
pub use watermark_world::{
    application, application_consumer, application_history, application_lag, cell_settings,
    checkers, configuration, convergence, ddmin, disk, documented_guarantees, fault, fault_shape,
    held_requests, history, history_edn, history_file, kafka_profile, network, not_applied,
    processing, scenario, scenario_validation, settings_diff, shrink, sink, step_record, swarm,
    teaching, trace, trigger, verdict, violation, world,
};

pub mod failure;
pub mod nemesis;
pub mod node;
pub mod runner;
pub mod seed_set;
pub mod shrinker;
pub mod sweep;
