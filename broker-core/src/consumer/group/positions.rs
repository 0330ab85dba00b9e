//! Positions of newly assigned partitions (Kafka's `refreshCommittedOffsetsIfNeeded`:
//! OffsetFetch, else `auto_offset_reset`), and the records a poll hands to the application.

use super::{GroupRequestKind, GroupTimer};
use crate::actor::Effect;
use crate::consumer::{Consumer, ConsumerRecord};
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::NodeId;
use crate::protocol::{IsolationLevel, Message, OffsetFetchRequest, OffsetFetchResponse};
use crate::topic::TopicPartition;

impl Consumer {
    /// Sends the OffsetFetch for the partitions awaiting their committed offset.
    pub(in crate::consumer) fn maybe_fetch_committed(
        &mut self,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) {
        if !self.group_timer_due(GroupTimer::OffsetFetch, now_ms) {
            return;
        }
        let correlation = self.next_correlation_id();
        let timeout_ms = self.config.request_timeout_ms;
        let Some(group) = self.group.as_ref() else {
            return;
        };
        let Some(coordinator) = group.coordinator else {
            return;
        };
        let request = OffsetFetchRequest {
            correlation,
            group: group.group.clone(),
            partitions: group.awaiting_committed.iter().copied().collect(),
            // KIP-447: a read_committed consumer must not start from an offset a pending
            // transaction may still replace (Kafka's `ConsumerCoordinator` sets
            // `requireStable` from the isolation level).
            require_stable: self.config.isolation_level == IsolationLevel::ReadCommitted,
        };
        self.track_group_request(
            now_ms,
            correlation,
            coordinator,
            GroupRequestKind::OffsetFetch,
            timeout_ms,
        );
        effects.push(Effect::Send {
            to: NodeId::Broker(coordinator),
            message: Message::OffsetFetch(request),
        });
    }

    pub(in crate::consumer) fn on_offset_fetch_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        response: &OffsetFetchResponse,
        effects: &mut Vec<Effect>,
    ) {
        let taken = self.take_group_request(from, response.correlation, |kind| {
            *kind == GroupRequestKind::OffsetFetch
        });
        if taken.is_none() {
            return;
        }
        match response.error {
            None => {}
            Some(error @ (ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable)) => {
                return self.mark_coordinator_unknown(now_ms, error, effects);
            }
            Some(_) => {
                let backoff_until_ms = now_ms.saturating_add(self.config.retry_backoff_ms);
                if let Some(group) = self.group.as_mut() {
                    group.offset_fetch_at_ms = backoff_until_ms;
                }
                return;
            }
        }
        let Some(group) = self.group.as_mut() else {
            return;
        };
        // A partition with pending transactional offsets (UNSTABLE_OFFSET_COMMIT) fails the
        // whole fetch, which goes again after `retry_backoff_ms` (Kafka's
        // `OffsetFetchResponseHandler` raises `UnstableOffsetCommitException`, a retriable
        // error `fetchCommittedOffsets` retries): no partition takes a position from it.
        if response.offsets.iter().any(|(_, answer)| answer.is_err()) {
            group.offset_fetch_at_ms = now_ms.saturating_add(self.config.retry_backoff_ms);
            return;
        }
        let group_id = group.group.clone();
        for (partition, answer) in &response.offsets {
            let Ok(committed) = answer else {
                continue;
            };
            if !group.awaiting_committed.remove(partition) {
                continue;
            }
            let Some(assigned) = self.partitions.get_mut(partition) else {
                continue;
            };
            assigned.position_from_committed(*committed);
            effects.push(Effect::Event(Event::PositionFromCommitted {
                group: group_id.clone(),
                partition: *partition,
                committed: committed.map(|committed| committed.offset),
            }));
        }
    }

    /// Takes up to `max_poll_records` buffered records of owned partitions, in partition
    /// order, moving each partition's consumed position past them (`Event::Polled` per
    /// partition).
    pub(in crate::consumer) fn take_records(
        &mut self,
        effects: &mut Vec<Effect>,
    ) -> Vec<ConsumerRecord> {
        let mut budget = self.config.max_poll_records as usize;
        let mut records = Vec::new();
        for (partition, assigned) in self.partitions.iter_mut() {
            if budget == 0 {
                break;
            }
            let taken = assigned.take_buffered(budget);
            if taken.is_empty() {
                continue;
            }
            budget -= taken.len();
            effects.push(Effect::Event(Event::Polled {
                partition: *partition,
                records: taken
                    .iter()
                    .map(|record| (record.offset, record.value))
                    .collect(),
            }));
            records.extend(taken);
        }
        records
    }

    /// Drops a partition the member no longer owns: its buffered records, its request in
    /// flight and its timers go with it.
    pub(crate) fn drop_partition(&mut self, partition: TopicPartition) {
        if let Some(assigned) = self.partitions.remove(&partition) {
            if let Some(correlation) = assigned.in_flight_request() {
                self.end_request(correlation);
            }
        }
        self.timers
            .cancel(crate::consumer::ConsumerTimer::RetryBackoff(partition));
        if let Some(group) = self.group.as_mut() {
            group.awaiting_committed.remove(&partition);
        }
    }
}
