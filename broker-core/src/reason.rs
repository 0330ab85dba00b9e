//! Why a replica-state change happened, in the facts only the deciding actor knows (issue
//! 11's teaching views): the follower progress a leader judged when it proposed an ISR
//! change, the log end offsets a high watermark was computed from, the rule a controller
//! elected a leader by and what started the change, why a broker was fenced, and where a
//! follower's log diverged. Each is reported in an event right before the change it explains
//! (or, for an ISR proposal, when the AlterPartition is sent), so a view never has to
//! re-derive a broker rule to say why.

use crate::ids::{BrokerId, LeaderEpoch, Offset};
use serde::Serialize;

/// A follower as its leader saw it when it judged the follower's place in the ISR (Kafka's
/// `ReplicaState`, the fields `Partition.maybeShrinkIsr` logs for an out-of-sync replica).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FollowerProgress {
    pub broker: BrokerId,
    /// The offset of its last fetch from this leader; `None` if it never fetched.
    pub log_end_offset: Option<Offset>,
    /// The last time it was caught up to the leader's log end offset; `None` if never in
    /// this leadership.
    pub last_caught_up_time_ms: Option<u64>,
}

/// What a high watermark was set from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum HighWatermarkBasis {
    /// A leader's `maybeIncrementLeaderHW`: the smallest log end offset among the leader, the
    /// maximal ISR (KIP-497) and the followers about to join it, each as the leader sees it.
    Leader {
        /// Every replica counted, with its log end offset, in broker order.
        log_end_offsets: Vec<(BrokerId, Offset)>,
        /// Counted because they are caught up and about to rejoin the ISR, not as members.
        joining: Vec<BrokerId>,
    },
    /// A follower takes the high watermark of its leader's fetch response, bounded by its own
    /// log end offset (`ReplicaFetcherThread.processPartitionData`).
    Follower {
        leader_high_watermark: Offset,
        log_end_offset: Offset,
    },
}

/// What made the controller change a partition (the caller of Kafka's
/// `PartitionChangeBuilder`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum PartitionChangeCause {
    /// The leader's AlterPartition was accepted (KIP-497).
    AlterPartition { leader: BrokerId },
    /// The broker was fenced (`handleBrokerFenced`).
    BrokerFenced { broker: BrokerId },
    /// The broker began a controlled shutdown (`handleBrokerInControlledShutdown`).
    ControlledShutdown { broker: BrokerId },
    /// The broker registered again after an unclean shutdown (KIP-966).
    UncleanShutdown { broker: BrokerId },
    /// The partition had no leader and the controller looked for one (first election, or
    /// after a broker was unfenced).
    OfflinePartition,
}

/// Why a leader's high watermark stays below its log end offset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum HighWatermarkHold {
    /// The ISR is smaller than the effective min.insync.replicas: nothing becomes committed
    /// (KAFKA-15583), though the ISR's log end offsets alone would put it at `would_be`.
    UnderMinIsr {
        isr: Vec<BrokerId>,
        min_insync_replicas: usize,
        would_be: Offset,
    },
    /// Counted replicas (the maximal ISR, and caught-up followers about to join it) whose
    /// log end offset is the high watermark, and one of them has not caught up for longer
    /// than `replica_fetch_wait_max_ms`: more than a fetch in flight.
    Replicas {
        holding: Vec<FollowerProgress>,
        /// Which of them count as about to rejoin the ISR rather than as members.
        joining: Vec<BrokerId>,
        replica_lag_time_max_ms: u64,
    },
}

/// The rule that chose the leader (Kafka's `electAnyLeader` and KIP-966's last resort).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LeaderRule {
    /// The current leader is still in the ISR and active: it stays.
    Kept,
    /// The first replica, in assignment order, that is in the target ISR and active.
    FirstInIsr,
    /// The ISR is empty: the first replica, in assignment order, that is an eligible leader
    /// replica and active (KIP-966).
    FirstInElr,
    /// Inside the first-election grace only the preferred (first) replica may lead.
    Preferred,
    /// ISR and ELR empty: the last known leader, back (KIP-966).
    LastKnownLeader,
    /// No ISR or ELR member is active and `unclean_leader_election_enable` is on: the first
    /// active replica in assignment order.
    Unclean,
    /// No replica could lead: the partition is offline.
    NoneEligible,
}

/// Why the controller fenced a broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum FenceReason {
    /// No heartbeat within `broker_session_timeout_ms` (`BrokerHeartbeatManager`'s
    /// session expiry).
    SessionExpired {
        /// The last heartbeat, or the controller's start if none came since (a starting
        /// controller gives every broker a fresh session, as KRaft's does).
        last_heartbeat_ms: u64,
        broker_session_timeout_ms: u64,
    },
    /// Its heartbeat asked to be fenced (`want_fence`).
    AskedToBeFenced,
    /// It may shut down now: it asked to and leads nothing (`ShutdownNow`).
    ShutdownNow,
}

/// Where a leader said a follower's epoch ends, and what the follower had for it: the
/// inputs of `AbstractFetcherThread.getOffsetTruncationState` (KIP-101/279, KIP-595).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Divergence {
    /// The epoch the leader answered with, and where it ends in the leader's log.
    pub leader_epoch: LeaderEpoch,
    pub leader_end_offset: Offset,
    /// The follower's largest epoch at or below it and where that ends in its own log.
    pub local_epoch_end: Option<(LeaderEpoch, Offset)>,
}
