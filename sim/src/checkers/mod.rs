//! The checkers, one file per property. Client-history checkers read the [`History`] and the
//! final state of the replicas; replica-state checkers watch every broker and controller
//! event as it happens and look at the replicas' logs through a [`ClusterView`].

use crate::history::History;
use crate::violation::Violation;
use std::collections::BTreeMap;
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{BrokerId, Offset, PartitionId};
use watermark_broker_core::replica_view::ReplicaView;

/// What the replicas hold at the end of the run, after the liveness phase.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FinalState {
    /// Per partition, the committed log of the final leader: every record below its high
    /// watermark, in offset order, as (offset, value).
    pub logs: BTreeMap<PartitionId, Vec<(Offset, u64)>>,
    /// The simulated time the final state was read.
    pub time_ms: u64,
}

/// Read access to every live replica, for replica-state checkers.
pub trait ClusterView {
    /// Brokers whose process is up, ascending.
    fn live_brokers(&self) -> Vec<BrokerId>;
    /// The state of `broker`'s replica of `partition`, if the broker is up and hosts it.
    fn replica(&self, broker: BrokerId, partition: PartitionId) -> Option<ReplicaView<'_>>;
}

// ---- temporary stubs, replaced by the checkers work ----
use watermark_broker_core::ids::NodeId as StubNodeId;
pub const CLIENT_CHECKERS: [&str; 8] = [
    "lost-write",
    "duplicate",
    "inconsistent-offsets",
    "unseen",
    "nonmonotonic-send",
    "poll-skip",
    "nonmonotonic-poll",
    "duplicate-consume",
];
pub const REPLICA_CHECKERS: [&str; 6] = [
    "LeaderInIsr",
    "SingleLeaderPerEpoch",
    "MonotonicHighWatermark",
    "LogMatching",
    "StrongIsr",
    "NoCommittedRecordLost",
];
pub const INFORMATIONAL_CHECKERS: [&str; 1] = ["unseen"];
pub fn check_history(_history: &History, _final_state: &FinalState) -> Vec<Violation> {
    Vec::new()
}
#[derive(Default)]
pub struct ReplicaCheckers;
impl ReplicaCheckers {
    pub fn new() -> Self {
        ReplicaCheckers
    }
    pub fn observe(
        &mut self,
        _time_ms: u64,
        _node: StubNodeId,
        _event: &Event,
        _cluster: &dyn ClusterView,
    ) -> Vec<Violation> {
        Vec::new()
    }
    pub fn broker_stopped(&mut self, _broker: BrokerId) {}
    pub fn finish(&mut self, _time_ms: u64, _cluster: &dyn ClusterView) -> Vec<Violation> {
        Vec::new()
    }
}
