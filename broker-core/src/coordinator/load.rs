//! Loading and unloading offsets partitions (Kafka's `CoordinatorRuntime` load/unload and
//! `GroupCoordinatorShard.replay`), and the end of the coordinator's writes. On becoming
//! leader the coordinator replays every record of the partition's local log: group metadata
//! takes effect at once (the latest record of a group wins), offsets once the high
//! watermark passes them (transactional ones become pending for their producer, and a
//! control batch's marker ends them). Members of a loaded Stable group get fresh session timers and
//! keep their generation. On losing leadership every group of the partition is dropped and
//! its pending writes are answered NOT_COORDINATOR.

use super::commit::{append_result, commit_answered};
use super::group::ClassicGroup;
use super::membership::complete_sync_assignment;
use super::offsets::Replayed;
use super::rebalance::complete_static_rejoin;
use super::records::CoordinatorRecord;
use super::txn_commit::txn_commit_answered;
use super::{
    CoordinatorContext, CoordinatorTimer, GroupCoordinator, LoadedPartition, PendingWrite,
};
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{GroupId, Offset};
use crate::mark::Mark;
use crate::partition::LocalCompletion;
use crate::protocol::OffsetAndMetadata;
use crate::record::Record;
use crate::topic::TopicPartition;

impl GroupCoordinator {
    /// This broker became leader of `partition`: replays `records` (its whole local log)
    /// and serves its groups.
    pub fn load(
        &mut self,
        context: &mut CoordinatorContext<'_>,
        partition: TopicPartition,
        records: &[Record],
        high_watermark: Offset,
    ) {
        let mut loaded = LoadedPartition::default();
        for record in records {
            match CoordinatorRecord::decode(record) {
                Some(CoordinatorRecord::OffsetCommit {
                    group,
                    partition: committed,
                    value,
                }) => loaded.offsets.replay(
                    record.offset,
                    replayed_offset(record, group, committed, value),
                ),
                Some(CoordinatorRecord::GroupMetadata { group, value }) => match value {
                    Some(value) => {
                        let shared = &mut self.shared;
                        let rebuilt =
                            ClassicGroup::from_metadata(group.clone(), &value, || shared.key());
                        loaded.groups.insert(group, rebuilt);
                    }
                    None => {
                        loaded.groups.remove(&group);
                    }
                },
                None => {
                    if let (Some(marker), Some(stamp)) =
                        (record.control_marker(), record.producer_stamp)
                    {
                        let replayed = Replayed::Marker(stamp.producer_id, marker.record_type);
                        loaded.offsets.replay(record.offset, replayed);
                    }
                }
            }
        }
        loaded.offsets.advance_to(high_watermark);
        for group in loaded.groups.values() {
            context.event(Event::GroupLoaded {
                group: group.id.clone(),
                state: group.state,
                generation: group.generation,
                members: group.members.keys().cloned().collect(),
            });
            for member in group.members.values() {
                context.set_timer(
                    CoordinatorTimer::Session(member.session_key),
                    context.now_ms + member.session_timeout_ms,
                );
            }
        }
        if !records.is_empty() {
            context.mark(Mark::GroupsLoadedFromLog);
        }
        context.event(Event::GroupsLoaded {
            partition,
            groups: loaded.group_ids(),
        });
        self.partitions.insert(partition, loaded);
    }

    /// This broker stopped leading `partition`: its groups are dropped, their timers
    /// cancelled, and pending writes answered NOT_COORDINATOR.
    pub fn unload(&mut self, context: &mut CoordinatorContext<'_>, partition: TopicPartition) {
        let Some(loaded) = self.partitions.remove(&partition) else {
            return;
        };
        let tokens: Vec<u64> = self
            .shared
            .pending_writes
            .iter()
            .filter(|(_, (written_to, _))| *written_to == partition)
            .map(|(token, _)| *token)
            .collect();
        for token in tokens {
            let (_, write) = self.shared.pending_writes.remove(&token).expect("listed");
            fail_unloaded_write(context, write);
        }
        for group in loaded.groups.values() {
            context.cancel_timer(CoordinatorTimer::Join(group.join_key));
            for member in group.members.values() {
                context.cancel_timer(CoordinatorTimer::Session(member.session_key));
                // Held JoinGroups and SyncGroups are answered: the member finds the new
                // coordinator and rejoins there.
                if let Some(reply) = member.awaiting_join {
                    super::rebalance::send_join_error(
                        context,
                        reply,
                        member.member_id.clone(),
                        ErrorCode::NotCoordinator,
                    );
                }
                if let Some(reply) = member.awaiting_sync {
                    super::membership::send_sync(context, reply, Err(ErrorCode::NotCoordinator));
                }
            }
            for session_key in group.pending_members.values() {
                context.cancel_timer(CoordinatorTimer::Session(*session_key));
            }
        }
        context.event(Event::GroupsUnloaded {
            partition,
            groups: loaded.group_ids(),
        });
    }

    /// The offsets partition's high watermark is `high_watermark`: replayed offsets below
    /// it become visible.
    pub fn on_high_watermark(&mut self, partition: TopicPartition, high_watermark: Offset) {
        if let Some(loaded) = self.partitions.get_mut(&partition) {
            loaded.offsets.advance_to(high_watermark);
        }
    }

    /// [`GroupCoordinator::on_high_watermark`] for every loaded partition among
    /// `high_watermarks`, which come in partition order (the host's replicas of the offsets
    /// topic): a merge of two sorted sequences rather than a look-up per partition, since the
    /// host runs it after every step (issue 13's profile).
    pub fn on_high_watermarks(
        &mut self,
        mut high_watermarks: impl Iterator<Item = (TopicPartition, Offset)>,
    ) {
        let mut next = high_watermarks.next();
        for (partition, loaded) in &mut self.partitions {
            while next.is_some_and(|(replica, _)| replica < *partition) {
                next = high_watermarks.next();
            }
            match next {
                Some((replica, high_watermark)) if replica == *partition => {
                    loaded.offsets.advance_to(high_watermark);
                }
                _ => {}
            }
        }
    }

    /// A coordinator timer fired.
    pub fn on_timer(&mut self, context: &mut CoordinatorContext<'_>, timer: CoordinatorTimer) {
        for loaded in self.partitions.values_mut() {
            for group in loaded.groups.values_mut() {
                let owns = match timer {
                    CoordinatorTimer::Join(key) => group.join_key == key,
                    CoordinatorTimer::Session(key) => {
                        group
                            .members
                            .values()
                            .any(|member| member.session_key == key)
                            || group
                                .pending_members
                                .values()
                                .any(|pending| *pending == key)
                    }
                };
                if !owns {
                    continue;
                }
                match timer {
                    CoordinatorTimer::Join(_) => {
                        super::rebalance::on_join_timer(group, &mut self.shared, context)
                    }
                    CoordinatorTimer::Session(key) => {
                        super::rebalance::on_session_timer(group, &mut self.shared, context, key)
                    }
                }
                return;
            }
        }
    }

    /// A local append of the coordinator ended.
    pub fn on_append_completed(
        &mut self,
        context: &mut CoordinatorContext<'_>,
        completion: LocalCompletion,
    ) {
        let Some((partition, write)) = self.shared.pending_writes.remove(&completion.waiter.token)
        else {
            return;
        };
        let result = append_result(&completion.result);
        let Some(loaded) = self.partitions.get_mut(&partition) else {
            return fail_unloaded_write(context, write);
        };
        match write {
            PendingWrite::OffsetCommit { reply, commit } => {
                if let Ok(base_offset) = completion.result {
                    for (index, (committed, value)) in commit.offsets.iter().enumerate() {
                        let record_offset = Offset(base_offset.0 + index as u64);
                        loaded.offsets.apply(
                            commit.group.clone(),
                            *committed,
                            Some(*value),
                            record_offset,
                        );
                    }
                }
                commit_answered(context, reply, commit, result);
            }
            PendingWrite::TxnOffsetCommit { reply, commit } => {
                if let Ok(base_offset) = completion.result {
                    for (index, (committed, value)) in commit.offsets.iter().enumerate() {
                        loaded.offsets.add_pending(
                            commit.producer.producer_id,
                            commit.group.clone(),
                            *committed,
                            *value,
                            Offset(base_offset.0 + index as u64),
                        );
                    }
                    context.mark(Mark::TxnOffsetsPending);
                }
                txn_commit_answered(context, reply, commit, result);
            }
            PendingWrite::SyncAssignment {
                group,
                generation,
                assignments,
            } => {
                if let Some(group) = loaded.groups.get_mut(&group) {
                    let shared = &mut self.shared;
                    complete_sync_assignment(
                        group,
                        shared,
                        context,
                        generation,
                        assignments,
                        result,
                    );
                }
            }
            PendingWrite::StaticRejoin(rejoin) => match loaded.groups.get_mut(&rejoin.group) {
                Some(group) => complete_static_rejoin(group, context, rejoin, result),
                None => fail_unloaded_write(context, PendingWrite::StaticRejoin(rejoin)),
            },
            PendingWrite::GroupMetadata => {}
        }
    }
}

/// Answers a write whose partition is no longer loaded here: NOT_COORDINATOR.
fn fail_unloaded_write(context: &mut CoordinatorContext<'_>, write: PendingWrite) {
    let error = ErrorCode::NotCoordinator;
    match write {
        PendingWrite::OffsetCommit { reply, commit } => {
            commit_answered(context, reply, commit, Err(error))
        }
        PendingWrite::TxnOffsetCommit { reply, commit } => {
            txn_commit_answered(context, reply, commit, Err(error))
        }
        PendingWrite::StaticRejoin(rejoin) => {
            super::rebalance::send_join_error(context, rejoin.reply, rejoin.new_member, error)
        }
        // Waiting SyncGroups lose their group; the members rejoin when they learn the
        // coordinator moved.
        PendingWrite::SyncAssignment { .. } | PendingWrite::GroupMetadata => {}
    }
}

/// An offset commit record as replay keeps it: transactional when its batch was (Kafka's
/// `replay` with the batch's producer id), plain otherwise.
fn replayed_offset(
    record: &Record,
    group: GroupId,
    partition: TopicPartition,
    value: Option<OffsetAndMetadata>,
) -> Replayed {
    match (record.is_transactional, record.producer_stamp, value) {
        (true, Some(stamp), Some(value)) => {
            Replayed::TxnOffset(stamp.producer_id, group, partition, value)
        }
        _ => Replayed::Offset((group, partition, value)),
    }
}
