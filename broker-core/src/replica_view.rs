//! A read-only view of one replica of one partition, for the simulator's replica-state
//! checkers and the trace. It exposes what the broker holds, not what it has told anyone.

use crate::ids::{BrokerId, LeaderEpoch, Offset};
use crate::record::Record;

/// Whether a broker leads or follows a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaRole {
    Leader,
    Follower,
    /// Assigned, but no metadata yet says what to do.
    Unassigned,
}

/// One replica's state.
#[derive(Clone, Copy, Debug)]
pub struct ReplicaView<'a> {
    pub role: ReplicaRole,
    /// The leader epoch this replica acts in (its own as leader, the leader's as follower).
    pub leader_epoch: LeaderEpoch,
    pub high_watermark: Offset,
    pub log_start_offset: Offset,
    pub log_end_offset: Offset,
    /// The ISR as this replica believes it (meaningful for a leader).
    pub isr: &'a [BrokerId],
    /// Every record from `log_start_offset` to `log_end_offset`, in offset order.
    pub records: &'a [Record],
}
