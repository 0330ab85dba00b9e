//! The simulator: node shells over madsim, the network and disk models, the nemesis, the
//! client history, the checkers, the trace and the runner (one seed → one `RunReport`).

#[cfg(not(madsim))]
compile_error!(
    "watermark-sim must be built with `--cfg madsim`. The workspace's .cargo/config.toml sets \
     it; a RUSTFLAGS environment variable replaces that setting. Unset RUSTFLAGS, or add \
     `--cfg madsim` to it (RUSTFLAGS=\"--cfg madsim ...\")."
);

pub mod checkers;
pub mod convergence;
pub mod disk;
pub mod fault;
pub mod history;
pub mod nemesis;
pub mod network;
pub mod node;
pub mod runner;
pub mod scenario;
pub mod sweep;
pub mod trace;
pub mod trigger;
pub mod verdict;
pub mod violation;
pub mod world;
