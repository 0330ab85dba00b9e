//! The simulator: node shell, network, disk, nemesis, history, checkers, trace, runner.

pub mod checkers;
pub mod history;
pub mod verdict;
pub mod violation;
