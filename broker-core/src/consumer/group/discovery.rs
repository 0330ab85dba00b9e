//! Finding the group coordinator (FindCoordinator) and losing it (Kafka's
//! `AbstractCoordinator.lookupCoordinator` and `markCoordinatorUnknown`).

use super::{GroupRequestKind, GroupTimer, MemberState};
use crate::actor::Effect;
use crate::consumer::Consumer;
use crate::error::ErrorCode;
use crate::ids::{BrokerId, CorrelationId, NodeId};
use crate::mark::Mark;
use crate::protocol::{CoordinatorKey, FindCoordinatorRequest, FindCoordinatorResponse, Message};

impl Consumer {
    /// Sends FindCoordinator to the next bootstrap broker when its timer is due.
    pub(in crate::consumer) fn maybe_find_coordinator(
        &mut self,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) {
        if !self.group_timer_due(GroupTimer::FindCoordinator, now_ms) {
            return;
        }
        let Some(group) = self.group.as_ref() else {
            return;
        };
        let Some(broker) = group
            .bootstrap_brokers
            .get(group.next_bootstrap_index % group.bootstrap_brokers.len().max(1))
            .copied()
        else {
            return;
        };
        let key = group.group.clone();
        let correlation = self.next_correlation_id();
        let timeout_ms = self.config.request_timeout_ms;
        self.track_group_request(
            now_ms,
            correlation,
            broker,
            GroupRequestKind::FindCoordinator,
            timeout_ms,
        );
        effects.push(Effect::Send {
            to: NodeId::Broker(broker),
            message: Message::FindCoordinator(FindCoordinatorRequest {
                correlation,
                key: CoordinatorKey::Group(key),
            }),
        });
    }

    pub(in crate::consumer) fn on_find_coordinator_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        response: &FindCoordinatorResponse,
        effects: &mut Vec<Effect>,
    ) {
        let taken = self.take_group_request(from, response.correlation, |kind| {
            *kind == GroupRequestKind::FindCoordinator
        });
        if taken.is_none() {
            return;
        }
        let session_timeout_ms = self.config.session_timeout_ms;
        let Some(group) = self.group.as_mut() else {
            return;
        };
        match response.result {
            Ok(broker) => {
                if group.coordinator_lost {
                    effects.push(Effect::Mark(Mark::ConsumerCoordinatorRediscovered));
                }
                group.coordinator = Some(broker);
                // Kafka resets the session timer when it finds the coordinator, so the old
                // expiry does not fire again at once.
                group.session_deadline_ms = now_ms.saturating_add(session_timeout_ms);
            }
            Err(error) => self.on_lookup_failed(now_ms, error, effects),
        }
    }

    /// A lookup failed: try the next broker after the backoff, and fail the asynchronous
    /// commits that waited for a coordinator (Kafka fails them with a retriable error).
    fn on_lookup_failed(&mut self, now_ms: u64, error: ErrorCode, effects: &mut Vec<Effect>) {
        let backoff_ms = self.config.retry_backoff_ms;
        if let Some(group) = self.group.as_mut() {
            group.next_bootstrap_index += 1;
            group.lookup_at_ms = now_ms.saturating_add(backoff_ms);
        }
        self.fail_waiting_async_commits(now_ms, error, effects);
    }

    /// Kafka's `markCoordinatorUnknown`: forget the coordinator, fail the group's requests
    /// to it, and look it up again at once.
    pub(in crate::consumer) fn mark_coordinator_unknown(
        &mut self,
        now_ms: u64,
        error: ErrorCode,
        effects: &mut Vec<Effect>,
    ) {
        let Some(group) = self.group.as_mut() else {
            return;
        };
        let Some(broker) = group.coordinator.take() else {
            return;
        };
        group.coordinator_lost = true;
        group.lookup_at_ms = now_ms;
        self.fail_group_requests(now_ms, broker, error, effects);
    }

    /// The coordinator connection to `broker` failed (disconnect or a request timeout).
    pub(in crate::consumer) fn on_group_connection_failed(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        error: ErrorCode,
        effects: &mut Vec<Effect>,
    ) {
        let Some(group) = self.group.as_ref() else {
            return;
        };
        if group.coordinator == Some(broker) {
            self.mark_coordinator_unknown(now_ms, error, effects);
        } else {
            self.fail_group_requests(now_ms, broker, error, effects);
        }
    }

    /// Fails every group request in flight to `broker`, each as its own kind of failure.
    fn fail_group_requests(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        error: ErrorCode,
        effects: &mut Vec<Effect>,
    ) {
        let Some(group) = self.group.as_ref() else {
            return;
        };
        let failed: Vec<CorrelationId> = group
            .requests
            .iter()
            .filter(|(_, request)| request.broker == broker)
            .map(|(correlation, _)| *correlation)
            .collect();
        for correlation in failed {
            let kind = self.take_group_request(NodeId::Broker(broker), correlation, |_| true);
            if let Some(kind) = kind {
                self.on_group_request_failed(now_ms, kind, error, effects);
            }
        }
    }

    fn on_group_request_failed(
        &mut self,
        now_ms: u64,
        kind: GroupRequestKind,
        error: ErrorCode,
        effects: &mut Vec<Effect>,
    ) {
        let backoff_until_ms = now_ms.saturating_add(self.config.retry_backoff_ms);
        match kind {
            GroupRequestKind::FindCoordinator => self.on_lookup_failed(now_ms, error, effects),
            GroupRequestKind::Join | GroupRequestKind::Sync => {
                if let Some(group) = self.group.as_mut() {
                    if matches!(
                        group.state,
                        MemberState::PreparingRebalance | MemberState::CompletingRebalance
                    ) {
                        group.state = MemberState::Unjoined;
                        group.rejoin_needed = true;
                        group.join_at_ms = backoff_until_ms;
                    }
                }
            }
            GroupRequestKind::Heartbeat(..) => {
                if let Some(group) = self.group.as_mut() {
                    group.heartbeat_at_ms = backoff_until_ms;
                }
            }
            GroupRequestKind::Leave => {}
            GroupRequestKind::Commit(id) => self.on_commit_retriable(now_ms, id, error, effects),
            GroupRequestKind::OffsetFetch => {
                if let Some(group) = self.group.as_mut() {
                    group.offset_fetch_at_ms = backoff_until_ms;
                }
            }
        }
    }
}
