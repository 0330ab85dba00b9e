//! Fetch from follower (KIP-392, Kafka 2.4): which replica a consumer reads from, and how a
//! follower serves it.
//!
//! - A leader whose broker runs the rack-aware replica selector (`replica.selector.class`)
//!   answers a consumer's fetch that carries a rack with a *preferred read replica* when an
//!   in-sync follower in that rack has the fetch offset and the leader is not in the rack
//!   itself (Kafka's `ReplicaManager.findPreferredReadReplica` and
//!   `RackAwareReplicaSelector`). That answer carries no records.
//! - A follower serves a consumer's fetch from its own log, below its *own* high watermark
//!   (Kafka's `Partition.fetchRecords` with `fetchOnlyFromLeader` false for consumers): a
//!   fetch offset past its log end offset is OFFSET_OUT_OF_RANGE, one between its high
//!   watermark and its log end offset gets no records. Follower fetches stay leader-only.
//!
//! Invariant: a follower never hands a consumer a record at or above its high watermark.

use super::{Context, Partition, Role};
use crate::error::ErrorCode;
use crate::ids::{BrokerId, LeaderEpoch, Offset};
use crate::mark::Mark;
use crate::protocol::{FetchData, FetchRequest};

/// What the rack-aware selector weighs for one candidate (Kafka's `ReplicaView`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Candidate {
    broker: BrokerId,
    log_end_offset: Offset,
    time_since_last_caught_up_ms: u64,
}

impl Partition {
    /// The epoch check of a read (Kafka's `Partition.localLogWithEpochOrThrow`): an older
    /// epoch is fenced, a newer one unknown; a replica with no role is not a replica; and
    /// only a leader may serve `fetch_only_from_leader` (a follower's fetch).
    pub(super) fn check_read_epoch(
        &self,
        context: &mut Context<'_>,
        requested: LeaderEpoch,
        fetch_only_from_leader: bool,
    ) -> Result<(), ErrorCode> {
        if fetch_only_from_leader || matches!(self.role, Role::Unassigned) {
            return self.check_leader_epoch(context, requested);
        }
        self.compare_leader_epoch(context, requested)
    }

    /// Kafka's `ReplicaManager.findPreferredReadReplica` with the `RackAwareReplicaSelector`:
    /// `None` unless this replica leads, the selector is rack-aware, the fetch is a
    /// consumer's with a rack, and an in-sync follower in that rack holds `fetch_offset`
    /// while the leader is not in the rack. Among such followers, the one with the highest
    /// log end offset, then the most recently caught up, then the highest id (Kafka's
    /// `ReplicaView.comparator`).
    pub(super) fn preferred_read_replica(
        &self,
        context: &Context<'_>,
        request: &FetchRequest,
    ) -> Option<BrokerId> {
        let Role::Leader(state) = &self.role else {
            return None;
        };
        if request.replica.is_some()
            || context.config.replica_selector_class.is_leader()
            || request.rack_id.as_deref().is_none_or(str::is_empty)
        {
            return None;
        }
        let client_rack = request.rack_id.as_deref();
        let in_rack =
            |broker: BrokerId| context.broker_racks.get(&broker).map(String::as_str) == client_rack;
        if in_rack(context.local) {
            return None;
        }
        let fetch_offset = request.fetch_offset;
        state
            .followers
            .iter()
            .filter(|(broker, _)| self.isr.contains(broker) && in_rack(**broker))
            .filter_map(|(&broker, follower)| {
                let log_end_offset = follower.log_end_offset?;
                let log_start_offset = follower.log_start_offset.unwrap_or_default();
                if log_end_offset < fetch_offset || log_start_offset > fetch_offset {
                    return None;
                }
                let time_since_last_caught_up_ms = follower
                    .last_caught_up_time_ms
                    .map_or(u64::MAX, |at_ms| context.now_ms.saturating_sub(at_ms));
                Some(Candidate {
                    broker,
                    log_end_offset,
                    time_since_last_caught_up_ms,
                })
            })
            .max_by(|left, right| {
                left.log_end_offset
                    .cmp(&right.log_end_offset)
                    .then(
                        right
                            .time_since_last_caught_up_ms
                            .cmp(&left.time_since_last_caught_up_ms),
                    )
                    .then(left.broker.cmp(&right.broker))
            })
            .map(|candidate| candidate.broker)
    }

    /// The answer that sends a consumer to `preferred`: no records, this leader's positions
    /// (Kafka skips the read when a preferred read replica is set).
    pub(super) fn redirect_to_read_replica(
        &self,
        context: &mut Context<'_>,
        preferred: BrokerId,
    ) -> FetchData {
        context.mark(Mark::PreferredReadReplicaChosen);
        FetchData {
            preferred_read_replica: Some(preferred),
            ..self.read_for(None, self.log.log_end_offset(), 0, Default::default())
        }
    }

    /// A consumer's fetch served by this follower: OFFSET_OUT_OF_RANGE outside its log,
    /// otherwise what lies below its own high watermark (or last stable offset), at once.
    /// Kafka would park an empty read in the purgatory; this model answers it empty (see
    /// DECISIONS, "Fetch from follower").
    pub(super) fn read_as_follower(
        &self,
        context: &mut Context<'_>,
        request: &FetchRequest,
    ) -> Result<FetchData, ErrorCode> {
        let fetch_offset = request.fetch_offset;
        if fetch_offset < self.log.log_start_offset() || fetch_offset > self.log.log_end_offset() {
            return Err(ErrorCode::OffsetOutOfRange);
        }
        context.mark(Mark::FollowerServedConsumerFetch);
        let data = self.read_for(
            None,
            fetch_offset,
            request.max_records,
            request.isolation_level,
        );
        if let Some(cut_to) = self.pending_truncation_offset() {
            if data.records.iter().any(|record| record.offset >= cut_to) {
                context.mark(Mark::FollowerServedRecordsAboutToBeCut);
            }
        }
        Ok(data)
    }
}
