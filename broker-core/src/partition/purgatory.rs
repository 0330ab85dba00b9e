//! The leader's purgatories (Kafka's `DelayedProduce` and `DelayedFetch` in
//! `ReplicaManager`): acks=all appends wait until the high watermark passes them, fetches
//! with nothing to return wait for data, a high-watermark change or their `max_wait_ms`.
//!
//! A completed append either answers a remote client or continues inside the broker
//! ([`Completion`]): a coordinator that appends to its own internal partition waits for that
//! append to be committed exactly as a producer with acks=all does.
//!
//! Invariant: every waiting operation has its expiry timer set in the broker's table, and
//! the timer is cancelled when the operation completes.

use super::{Context, Partition, PartitionTimer, Role};
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{BrokerId, CorrelationId, NodeId, Offset};
use crate::mark::Mark;
use crate::protocol::{Acks, FetchResponse, IsolationLevel, Message, ProduceResponse};
use crate::topic::TopicPartition;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Names one waiting operation within a broker, so its expiry timer can be named.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct DelayedOperationId(pub u64);

impl fmt::Display for DelayedOperationId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

/// Who waits inside the broker for a local append, and the token it gave to recognise it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LocalWaiter {
    pub token: u64,
}

/// A local append's outcome, handed back to its waiter by the broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalCompletion {
    pub partition: TopicPartition,
    pub waiter: LocalWaiter,
    /// The base offset once committed, or why the append may not be.
    pub result: Result<Offset, ErrorCode>,
}

/// What happens when a delayed append completes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Answer a remote client's produce request.
    Reply {
        to: NodeId,
        correlation: CorrelationId,
        acks: Acks,
    },
    /// Continue inside the broker.
    Local(LocalWaiter),
}

/// An acks=all append waiting for the high watermark to pass its last offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct DelayedProduce {
    pub(super) id: DelayedOperationId,
    pub(super) completion: Completion,
    pub(super) base_offset: Offset,
    pub(super) last_offset: Offset,
}

/// A fetch with nothing to return yet, held until data arrives or its wait runs out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct DelayedFetch {
    pub(super) id: DelayedOperationId,
    pub(super) from: NodeId,
    pub(super) correlation: CorrelationId,
    pub(super) replica: Option<BrokerId>,
    pub(super) fetch_offset: Offset,
    pub(super) max_records: u32,
    pub(super) isolation_level: IsolationLevel,
}

/// Why parked fetches are re-examined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WakeReason {
    NewData,
    HighWatermark,
    /// These fetches' waits ran out.
    Expiry,
}

/// Completes an append: answers a produce request (no response for acks=0) and reports it
/// with `ProduceAnswered`, or hands a local append's outcome to its waiter.
pub(crate) fn complete(
    context: &mut Context<'_>,
    partition: TopicPartition,
    completion: &Completion,
    offsets: Option<(Offset, Offset)>,
    result: Result<Offset, ErrorCode>,
) {
    complete_with_log_start(context, partition, completion, offsets, result, None);
}

/// [`complete`], with the leader's log start offset in the response (Kafka's
/// `ProduceResponse.logStartOffset`; the model fills it where the producer reads it, a
/// refusal by the producer state).
pub(crate) fn complete_with_log_start(
    context: &mut Context<'_>,
    partition: TopicPartition,
    completion: &Completion,
    offsets: Option<(Offset, Offset)>,
    result: Result<Offset, ErrorCode>,
    log_start_offset: Option<Offset>,
) {
    match *completion {
        Completion::Reply {
            to,
            correlation,
            acks,
        } => {
            if acks != Acks::None {
                context.send(
                    to,
                    Message::ProduceResponse(ProduceResponse {
                        correlation,
                        partition,
                        result,
                        log_start_offset,
                    }),
                );
            }
            context.event(Event::ProduceAnswered {
                partition,
                acks,
                base_offset: offsets.map(|(base, _)| base),
                last_offset: offsets.map(|(_, last)| last),
                result: result.map(|_| ()),
            });
        }
        Completion::Local(waiter) => context.local_completions.push(LocalCompletion {
            partition,
            waiter,
            result,
        }),
    }
}

/// Refuses an append before anything was written. An acks=0 produce has no response to
/// carry the error, so the broker closes the client's connection instead, as Kafka's
/// `KafkaApis.handleProduceRequest` does ("closing connection due to error during produce
/// request with acks=0"): the producer sees the disconnect and refreshes its metadata.
pub(crate) fn refuse(
    context: &mut Context<'_>,
    partition: TopicPartition,
    completion: &Completion,
    error: ErrorCode,
) {
    match *completion {
        Completion::Reply {
            to,
            acks: Acks::None,
            ..
        } => {
            context.mark(Mark::Acks0ErrorClosedConnection);
            context
                .effects
                .push(crate::actor::Effect::CloseConnection { peer: to });
        }
        _ => complete(context, partition, completion, None, Err(error)),
    }
}

impl Partition {
    /// Puts an appended batch in the purgatory until the high watermark passes it or
    /// `timeout_ms` runs out.
    pub(super) fn delay_produce(
        &mut self,
        context: &mut Context<'_>,
        completion: Completion,
        (base_offset, last_offset): (Offset, Offset),
        timeout_ms: u64,
    ) {
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let id = context.delayed_operation();
        let deadline_ms = context.now_ms.saturating_add(timeout_ms);
        context.set_timer(self.id, PartitionTimer::DelayedProduce(id), deadline_ms);
        state.purgatory.push(DelayedProduce {
            id,
            completion,
            base_offset,
            last_offset,
        });
    }

    /// Parks a fetch that has nothing to return for up to `max_wait_ms`.
    pub(super) fn delay_fetch(
        &mut self,
        context: &mut Context<'_>,
        mut fetch: DelayedFetch,
        max_wait_ms: u64,
    ) -> bool {
        let Role::Leader(state) = &mut self.role else {
            return false;
        };
        fetch.id = context.delayed_operation();
        let deadline_ms = context.now_ms.saturating_add(max_wait_ms);
        context.set_timer(self.id, PartitionTimer::DelayedFetch(fetch.id), deadline_ms);
        state.parked_fetches.push(fetch);
        true
    }

    /// Answers every acks=all append the high watermark has passed (Kafka's
    /// `checkEnoughReplicasReachOffset`): ok, or NotEnoughReplicasAfterAppend when the ISR
    /// (maximal, as Kafka counts it: current ∪ pending, KIP-497) is by now below the
    /// effective `min_insync_replicas`.
    pub(super) fn complete_purgatory(&mut self, context: &mut Context<'_>) {
        let high_watermark = self.log.high_watermark();
        let enough = self.maximal_isr().len() >= self.effective_min_insync_replicas();
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let (done, waiting): (Vec<DelayedProduce>, Vec<DelayedProduce>) = state
            .purgatory
            .drain(..)
            .partition(|delayed| delayed.last_offset < high_watermark);
        state.purgatory = waiting;
        for delayed in done {
            context.cancel_timer(self.id, PartitionTimer::DelayedProduce(delayed.id));
            let result = if enough {
                Ok(delayed.base_offset)
            } else {
                context.mark(Mark::NotEnoughReplicasAfterAppend);
                Err(ErrorCode::NotEnoughReplicasAfterAppend)
            };
            complete(
                context,
                self.id,
                &delayed.completion,
                Some((delayed.base_offset, delayed.last_offset)),
                result,
            );
        }
    }

    /// Answers, in arrival order, the appends whose wait ran out: RequestTimedOut, the
    /// record may still commit.
    pub(super) fn expire_purgatory(&mut self, context: &mut Context<'_>, fired: &[PartitionTimer]) {
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let (expired, waiting): (Vec<DelayedProduce>, Vec<DelayedProduce>) = state
            .purgatory
            .drain(..)
            .partition(|delayed| fired.contains(&PartitionTimer::DelayedProduce(delayed.id)));
        state.purgatory = waiting;
        for delayed in expired {
            context.cancel_timer(self.id, PartitionTimer::DelayedProduce(delayed.id));
            context.mark(Mark::ProducePurgatoryTimedOut);
            complete(
                context,
                self.id,
                &delayed.completion,
                Some((delayed.base_offset, delayed.last_offset)),
                Err(ErrorCode::RequestTimedOut),
            );
        }
    }

    /// Answers parked fetches: on new data those that can now read records, on a high
    /// watermark change all of them (followers learn the new high watermark, consumers may
    /// read further, and read_committed consumers past a last stable offset that moved with
    /// it), on expiry those whose wait ran out (`fired`).
    pub(super) fn wake_parked_fetches(
        &mut self,
        context: &mut Context<'_>,
        reason: WakeReason,
        fired: &[PartitionTimer],
    ) {
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let parked = std::mem::take(&mut state.parked_fetches);
        let mut still_parked = Vec::new();
        for fetch in parked {
            let data = self.read_for(
                fetch.replica,
                fetch.fetch_offset,
                fetch.max_records,
                fetch.isolation_level,
            );
            let answer = match reason {
                WakeReason::NewData => !data.records.is_empty(),
                WakeReason::HighWatermark => true,
                WakeReason::Expiry => fired.contains(&PartitionTimer::DelayedFetch(fetch.id)),
            };
            if answer {
                context.cancel_timer(self.id, PartitionTimer::DelayedFetch(fetch.id));
                context.send(
                    fetch.from,
                    Message::FetchResponse(FetchResponse {
                        correlation: fetch.correlation,
                        partition: self.id,
                        result: Ok(data),
                    }),
                );
            } else {
                still_parked.push(fetch);
            }
        }
        if let Role::Leader(state) = &mut self.role {
            state.parked_fetches = still_parked;
        }
    }

    /// Pending work a leader leaves behind when it becomes a follower: appends fail with
    /// NotLeaderOrFollower (they may still be committed by the new leader), and so do parked
    /// fetches, at once, so that followers and consumers go to the new leader instead of
    /// waiting out `max_wait_ms` (Kafka's `DelayedFetch.tryComplete` completes a fetch whose
    /// partition this broker no longer leads, and the answer carries NOT_LEADER_OR_FOLLOWER).
    /// Their timers go.
    pub(super) fn abandon_purgatory(
        &mut self,
        context: &mut Context<'_>,
        purgatory: Vec<DelayedProduce>,
        parked_fetches: Vec<DelayedFetch>,
    ) {
        for delayed in purgatory {
            context.cancel_timer(self.id, PartitionTimer::DelayedProduce(delayed.id));
            complete(
                context,
                self.id,
                &delayed.completion,
                Some((delayed.base_offset, delayed.last_offset)),
                Err(ErrorCode::NotLeaderOrFollower),
            );
        }
        for fetch in parked_fetches {
            context.cancel_timer(self.id, PartitionTimer::DelayedFetch(fetch.id));
            context.mark(Mark::ParkedFetchAnsweredNotLeader);
            context.send(
                fetch.from,
                Message::FetchResponse(FetchResponse {
                    correlation: fetch.correlation,
                    partition: self.id,
                    result: Err(ErrorCode::NotLeaderOrFollower),
                }),
            );
        }
    }
}
