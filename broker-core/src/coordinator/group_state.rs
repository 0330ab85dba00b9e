//! A classic group's states (Kafka's `ClassicGroupState`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a group is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GroupState {
    /// No members; committed offsets may remain.
    Empty,
    /// A rebalance started: the coordinator waits for members to (re)join.
    PreparingRebalance,
    /// Every member joined; the coordinator waits for the leader's assignment (SyncGroup).
    CompletingRebalance,
    /// Members have their assignment and heartbeat.
    Stable,
    /// The group was removed (or its partition unloaded).
    Dead,
}

impl fmt::Display for GroupState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        })
    }
}
