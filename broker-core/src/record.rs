//! A record as stored in a partition's log. Every value a workload produces is unique within a
//! run, which is what lets the checkers recognise a record wherever it turns up.

use crate::ids::{LeaderEpoch, Offset, ProducerId};
use serde::{Deserialize, Serialize};

/// The identity of a record from an idempotent producer: its producer id, epoch and the
/// per-partition sequence number of the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProducerStamp {
    pub producer_id: ProducerId,
    pub producer_epoch: u16,
    pub sequence: u32,
}

/// What a producer sends: the record before the leader gives it an offset and epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerRecord {
    /// The workload's value, unique within a run.
    pub value: u64,
    /// The key the partitioner hashed, if any.
    pub key: Option<u64>,
    /// Set only by an idempotent producer.
    pub producer_stamp: Option<ProducerStamp>,
}

/// A record in a log: a producer record stamped by the leader that appended it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub offset: Offset,
    /// The leader epoch of the leader that first appended this record.
    pub leader_epoch: LeaderEpoch,
    pub value: u64,
    pub key: Option<u64>,
    pub producer_stamp: Option<ProducerStamp>,
}
