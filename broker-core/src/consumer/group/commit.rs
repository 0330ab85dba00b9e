//! Offset commits (Kafka's `ConsumerCoordinator.commitOffsetsSync`/`commitOffsetsAsync`,
//! `sendOffsetCommitRequest` and `OffsetCommitResponseHandler`) and auto-commit.
//!
//! A commit outside a stable generation fails before any request (REBALANCE_IN_PROGRESS
//! while a rebalance is under way, else COMMIT_FAILED, as Kafka's client). A synchronous
//! commit retries retriable errors after `retry_backoff_ms` until its deadline; an
//! asynchronous one is sent once. A refusal for a stale generation or an unknown member
//! (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID) resets the generation; REBALANCE_IN_PROGRESS asks
//! for a rejoin; none of them is retried.

use super::{GroupRequestKind, GroupTimer, MemberState, PendingCommit};
use crate::actor::Effect;
use crate::consumer::{CommitKind, Consumer};
use crate::error::ErrorCode;
use crate::event::{CommitId, Event};
use crate::ids::{NodeId, Offset};
use crate::mark::Mark;
use crate::protocol::{Message, OffsetAndMetadata, OffsetCommitRequest, OffsetCommitResponse};
use crate::topic::TopicPartition;

impl Consumer {
    /// The positions of everything earlier polls returned (Kafka's
    /// `SubscriptionState.allConsumed`), for owned partitions with a position.
    pub(in crate::consumer) fn consumed_positions(
        &self,
    ) -> Vec<(TopicPartition, OffsetAndMetadata)> {
        self.partitions
            .iter()
            .filter_map(|(partition, assigned)| Some((*partition, assigned.consumed()?)))
            .collect()
    }

    /// Starts a commit of `offsets` (`None`: the consumed positions); `deadline_ms` bounds
    /// a synchronous one. Returns its id; a commit that fails at once or has nothing to
    /// commit is completed in `effects`.
    pub(in crate::consumer) fn start_commit(
        &mut self,
        now_ms: u64,
        offsets: Option<Vec<(TopicPartition, Offset)>>,
        kind: CommitKind,
        automatic: bool,
        deadline_ms: u64,
        effects: &mut Vec<Effect>,
    ) -> CommitId {
        let offsets = match offsets {
            Some(offsets) => offsets
                .into_iter()
                .map(|(partition, offset)| {
                    let epoch = self
                        .partitions
                        .get(&partition)
                        .and_then(|assigned| assigned.consumed())
                        .filter(|consumed| consumed.offset == offset)
                        .and_then(|consumed| consumed.leader_epoch);
                    (
                        partition,
                        OffsetAndMetadata {
                            offset,
                            leader_epoch: epoch,
                        },
                    )
                })
                .collect(),
            None => self.consumed_positions(),
        };
        let Some(group) = self.group.as_mut() else {
            // Assign mode has no group to commit to.
            let id = CommitId(0);
            effects.push(completed(
                Default::default(),
                id,
                &offsets,
                Err(ErrorCode::CommitFailed),
            ));
            return id;
        };
        let id = group.new_commit_id();
        if group.state != MemberState::Stable {
            let error = if group.joining || group.state != MemberState::Unjoined {
                ErrorCode::RebalanceInProgress
            } else {
                ErrorCode::CommitFailed
            };
            effects.push(Effect::Mark(Mark::ConsumerCommitOutsideGeneration));
            effects.push(completed(group.group.clone(), id, &offsets, Err(error)));
            return id;
        }
        if offsets.is_empty() {
            // Kafka completes an empty commit at once, without a request.
            effects.push(completed(group.group.clone(), id, &offsets, Ok(())));
            return id;
        }
        group.commits.insert(
            id,
            PendingCommit {
                offsets,
                kind,
                automatic,
                deadline_ms: (kind == CommitKind::Sync).then_some(deadline_ms),
                retry_at_ms: now_ms,
                in_flight: None,
                started: false,
            },
        );
        self.sync_group_timers();
        self.send_due_commits(now_ms, effects);
        id
    }

    /// Auto-commit from inside poll (Kafka's `maybeAutoCommitOffsetsAsync`): every
    /// `auto_commit_interval_ms`, an asynchronous commit of the consumed positions, sent
    /// only while in a stable generation.
    pub(in crate::consumer) fn maybe_auto_commit(
        &mut self,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) {
        if !self.config.enable_auto_commit {
            return;
        }
        let interval_ms = self.config.auto_commit_interval_ms;
        let Some(group) = self.group.as_mut() else {
            return;
        };
        if now_ms < group.next_auto_commit_ms {
            return;
        }
        group.next_auto_commit_ms = now_ms.saturating_add(interval_ms);
        if group.state == MemberState::Stable && !self.consumed_positions().is_empty() {
            self.start_commit(now_ms, None, CommitKind::Async, true, now_ms, effects);
        }
    }

    /// Gives up synchronous commits whose deadline passed, and sends every commit whose
    /// [`GroupTimer::CommitRetry`] is due.
    pub(in crate::consumer) fn run_commits(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        let Some(group) = self.group.as_ref() else {
            return;
        };
        let expired: Vec<CommitId> = group
            .commits
            .keys()
            .copied()
            .filter(|id| self.group_timer_due(GroupTimer::CommitDeadline(*id), now_ms))
            .collect();
        for id in expired {
            self.finish_commit(now_ms, id, Err(ErrorCode::ClientTimeout), effects);
        }
        self.send_due_commits(now_ms, effects);
    }

    fn send_due_commits(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        self.sync_group_timers();
        let Some(group) = self.group.as_ref() else {
            return;
        };
        let due: Vec<CommitId> = group
            .commits
            .keys()
            .copied()
            .filter(|id| self.group_timer_due(GroupTimer::CommitRetry(*id), now_ms))
            .collect();
        for id in due {
            self.send_commit(now_ms, id, effects);
        }
    }

    fn send_commit(&mut self, now_ms: u64, id: CommitId, effects: &mut Vec<Effect>) {
        let stable = self
            .group_ref()
            .is_some_and(|group| group.state == MemberState::Stable);
        if !stable {
            // A retry after the generation ended: Kafka's next attempt fails before sending.
            effects.push(Effect::Mark(Mark::ConsumerCommitOutsideGeneration));
            return self.finish_commit(now_ms, id, Err(ErrorCode::RebalanceInProgress), effects);
        }
        let correlation = self.next_correlation_id();
        let timeout_ms = self.config.request_timeout_ms;
        let instance = self.config.group_instance_id.clone();
        let Some(group) = self.group.as_mut() else {
            return;
        };
        let Some(coordinator) = group.coordinator else {
            return;
        };
        let (group_id, generation, member_id) = (
            group.group.clone(),
            group.generation,
            group.member_id.clone(),
        );
        let Some(commit) = group.commits.get_mut(&id) else {
            return;
        };
        commit.in_flight = Some(correlation);
        if !commit.started {
            commit.started = true;
            effects.push(Effect::Event(Event::OffsetCommitStarted {
                group: group_id.clone(),
                commit: id,
                generation,
                offsets: plain(&commit.offsets),
                automatic: commit.automatic,
            }));
        }
        let request = OffsetCommitRequest {
            correlation,
            group: group_id,
            generation,
            member_id,
            group_instance_id: instance,
            offsets: commit.offsets.clone(),
        };
        self.track_group_request(
            now_ms,
            correlation,
            coordinator,
            GroupRequestKind::Commit(id),
            timeout_ms,
        );
        effects.push(Effect::Send {
            to: NodeId::Broker(coordinator),
            message: Message::OffsetCommit(request),
        });
    }

    pub(in crate::consumer) fn on_offset_commit_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        response: &OffsetCommitResponse,
        effects: &mut Vec<Effect>,
    ) {
        let taken = self.take_group_request(from, response.correlation, |kind| {
            matches!(kind, GroupRequestKind::Commit(_))
        });
        let Some(GroupRequestKind::Commit(id)) = taken else {
            return;
        };
        if let Some(commit) = self
            .group
            .as_mut()
            .and_then(|group| group.commits.get_mut(&id))
        {
            commit.in_flight = None;
        }
        let error = response.results.iter().find_map(|(_, result)| result.err());
        match error {
            None => self.finish_commit(now_ms, id, Ok(()), effects),
            Some(error @ (ErrorCode::IllegalGeneration | ErrorCode::UnknownMemberId)) => {
                effects.push(Effect::Mark(Mark::ConsumerCommitRefused));
                self.reset_generation(error == ErrorCode::UnknownMemberId, "offset commit error");
                self.finish_commit(now_ms, id, Err(error), effects);
            }
            Some(ErrorCode::RebalanceInProgress) => {
                effects.push(Effect::Mark(Mark::ConsumerCommitRefused));
                if let Some(group) = self.group.as_mut() {
                    group.rejoin_needed = true;
                    group.rejoin_reason = "offset commit during a rebalance".to_string();
                }
                self.finish_commit(now_ms, id, Err(ErrorCode::RebalanceInProgress), effects);
            }
            Some(ErrorCode::FencedInstanceId) => {
                effects.push(Effect::Mark(Mark::ConsumerCommitRefused));
                self.fail_group(ErrorCode::FencedInstanceId);
                self.finish_commit(now_ms, id, Err(ErrorCode::FencedInstanceId), effects);
            }
            // Kafka's `OffsetCommitResponseHandler` looks the coordinator up again on these
            // three (REQUEST_TIMED_OUT included), then retries.
            Some(
                error @ (ErrorCode::NotCoordinator
                | ErrorCode::CoordinatorNotAvailable
                | ErrorCode::RequestTimedOut),
            ) => {
                self.mark_coordinator_unknown(now_ms, error, effects);
                self.on_commit_retriable(now_ms, id, error, effects);
            }
            Some(error) if is_retriable_commit_error(error) => {
                self.on_commit_retriable(now_ms, id, error, effects);
            }
            Some(error) => self.finish_commit(now_ms, id, Err(error), effects),
        }
    }

    /// A retriable failure: a synchronous commit tries again after the backoff (until its
    /// deadline); an asynchronous one ends with the error.
    pub(in crate::consumer) fn on_commit_retriable(
        &mut self,
        now_ms: u64,
        id: CommitId,
        error: ErrorCode,
        effects: &mut Vec<Effect>,
    ) {
        let backoff_until_ms = now_ms.saturating_add(self.config.retry_backoff_ms);
        let Some(commit) = self
            .group
            .as_mut()
            .and_then(|group| group.commits.get_mut(&id))
        else {
            return;
        };
        commit.in_flight = None;
        match commit.kind {
            CommitKind::Sync => commit.retry_at_ms = backoff_until_ms,
            CommitKind::Async => self.finish_commit(now_ms, id, Err(error), effects),
        }
    }

    /// Asynchronous commits still waiting for a coordinator fail with `error`.
    pub(in crate::consumer) fn fail_waiting_async_commits(
        &mut self,
        now_ms: u64,
        error: ErrorCode,
        effects: &mut Vec<Effect>,
    ) {
        let Some(group) = self.group.as_ref() else {
            return;
        };
        let waiting: Vec<CommitId> = group
            .commits
            .iter()
            .filter(|(_, commit)| commit.kind == CommitKind::Async && commit.in_flight.is_none())
            .map(|(id, _)| *id)
            .collect();
        for id in waiting {
            self.finish_commit(now_ms, id, Err(error), effects);
        }
    }

    /// Ends a commit: its outcome event, and onJoinPrepare continues if it waited for it.
    fn finish_commit(
        &mut self,
        _now_ms: u64,
        id: CommitId,
        result: Result<(), ErrorCode>,
        effects: &mut Vec<Effect>,
    ) {
        let Some(group) = self.group.as_mut() else {
            return;
        };
        let Some(commit) = group.commits.remove(&id) else {
            return;
        };
        if let Some(correlation) = commit.in_flight {
            group.requests.remove(&correlation);
            self.timers
                .cancel(crate::consumer::ConsumerTimer::RequestTimeout(correlation));
        }
        effects.push(completed(group.group.clone(), id, &commit.offsets, result));
        if group.prepare_commit == Some(id) {
            self.finish_join_prepare(effects);
        }
    }
}

/// Errors after which Kafka retries a synchronous commit.
fn is_retriable_commit_error(error: ErrorCode) -> bool {
    matches!(
        error,
        ErrorCode::CoordinatorLoadInProgress
            | ErrorCode::RequestTimedOut
            | ErrorCode::NotEnoughReplicas
            | ErrorCode::NotEnoughReplicasAfterAppend
            | ErrorCode::ClientTimeout
            | ErrorCode::NetworkException
    )
}

fn plain(offsets: &[(TopicPartition, OffsetAndMetadata)]) -> Vec<(TopicPartition, Offset)> {
    offsets
        .iter()
        .map(|(partition, committed)| (*partition, committed.offset))
        .collect()
}

fn completed(
    group: crate::ids::GroupId,
    commit: CommitId,
    offsets: &[(TopicPartition, OffsetAndMetadata)],
    result: Result<(), ErrorCode>,
) -> Effect {
    Effect::Event(Event::OffsetCommitCompleted {
        group,
        commit,
        offsets: plain(offsets),
        result,
    })
}
