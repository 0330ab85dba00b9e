//! TxnOffsetCommit (KIP-98, with KIP-447's generation fencing): Kafka's
//! `OffsetMetadataManager.commitTransactionalOffset` and `validateTransactionalOffsetCommit`
//! over `ClassicGroup.validateOffsetCommit` with `isTransactional`. A commit is validated
//! against the group, written as offset commit records in one transactional batch of the
//! producer (acks=all), and answered once committed; its offsets are then *pending* for the
//! producer until its marker reaches the offsets partition ([`GroupCoordinator::on_txn_marker`]).

use super::commit::group_for_commit;
use super::group::{ClassicGroup, Reply};
use super::offsets::EndedOffset;
use super::rebalance::validate_member;
use super::records::CoordinatorRecord;
use super::{CoordinatorContext, GroupCoordinator, GroupState, PendingWrite};
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{GenerationId, GroupId, MemberId, NodeId, Offset, ProducerId};
use crate::log::record_batch::ControlRecordType;
use crate::mark::Mark;
use crate::partition::LocalWaiter;
use crate::protocol::{
    Message, OffsetAndMetadata, ProducerIdAndEpoch, TxnOffsetCommitRequest, TxnOffsetCommitResponse,
};
use crate::record::{ProducerRecord, ProducerStamp};
use crate::topic::TopicPartition;

/// `ClassicGroup.validateOffsetCommit` for a transactional commit: as for OffsetCommit, but
/// a request without member id and generation is accepted whatever the group's state (old
/// versions of TxnOffsetCommit carry neither), and the group may be completing a rebalance
/// (Kafka does not enforce the group's state for transactional offsets).
pub(super) fn validate_txn_offset_commit(
    group: &ClassicGroup,
    generation: GenerationId,
    member: &MemberId,
    group_instance_id: &Option<String>,
) -> Result<(), ErrorCode> {
    if group.state == GroupState::Dead {
        return Err(ErrorCode::CoordinatorNotAvailable);
    }
    if generation.0 < 0 && group.state == GroupState::Empty {
        return Ok(());
    }
    if generation.0 >= 0 || !member.is_unknown() || group_instance_id.is_some() {
        validate_member(group, member, group_instance_id)?;
        if generation != group.generation {
            return Err(ErrorCode::IllegalGeneration);
        }
    }
    Ok(())
}

/// A TxnOffsetCommit with what the coordinator knew of its group when it validated it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ValidatedTxnCommit {
    pub group: GroupId,
    pub member: MemberId,
    pub group_instance_id: Option<String>,
    pub producer: ProducerIdAndEpoch,
    pub request_generation: GenerationId,
    pub group_generation: GenerationId,
    pub group_state: GroupState,
    pub member_in_group: bool,
    pub offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
}

impl ValidatedTxnCommit {
    /// The request as validated against `group` (`None`: the coordinator has no such group,
    /// which Kafka treats as an empty one).
    fn new(group: Option<&ClassicGroup>, request: &TxnOffsetCommitRequest) -> Self {
        let mut commit = ValidatedTxnCommit {
            group: request.group.clone(),
            member: request.member.clone(),
            group_instance_id: request.group_instance_id.clone(),
            producer: request.producer,
            request_generation: request.generation,
            group_generation: GenerationId::NONE,
            group_state: GroupState::Empty,
            member_in_group: false,
            offsets: request.offsets.clone(),
        };
        if let Some(group) = group {
            commit.seen_as(GroupView::of(group, &request.member));
        }
        commit
    }

    fn seen_as(&mut self, view: GroupView) {
        self.group_generation = view.generation;
        self.group_state = view.state;
        self.member_in_group = view.member_in_group;
    }
}

/// What a group says of a commit when it is validated: its generation and state, and
/// whether the committing member belongs to it.
#[derive(Clone, Copy, Debug)]
struct GroupView {
    generation: GenerationId,
    state: GroupState,
    member_in_group: bool,
}

impl GroupView {
    fn of(group: &ClassicGroup, member: &MemberId) -> GroupView {
        GroupView {
            generation: group.generation,
            state: group.state,
            member_in_group: group.members.contains_key(member),
        }
    }
}

impl ValidatedTxnCommit {
    /// The offset commit records, as one transactional batch of the producer. Sequences
    /// number the batch's records from 0: a coordinator's batch is not checked for them.
    fn records(&self) -> Vec<ProducerRecord> {
        self.offsets
            .iter()
            .enumerate()
            .map(|(index, (partition, value))| {
                let record = CoordinatorRecord::OffsetCommit {
                    group: self.group.clone(),
                    partition: *partition,
                    value: Some(*value),
                };
                ProducerRecord {
                    producer_stamp: Some(ProducerStamp {
                        producer_id: self.producer.producer_id,
                        producer_epoch: self.producer.epoch.0,
                        sequence: index as u32,
                        base_sequence: 0,
                    }),
                    ..record.encode()
                }
            })
            .collect()
    }
}

fn send_txn_commit(
    context: &mut CoordinatorContext<'_>,
    reply: Reply,
    offsets: &[(TopicPartition, OffsetAndMetadata)],
    result: Result<(), ErrorCode>,
) {
    context.send(
        reply,
        Message::TxnOffsetCommitResponse(TxnOffsetCommitResponse {
            correlation: reply.correlation,
            partitions: offsets
                .iter()
                .map(|(partition, _)| (*partition, result))
                .collect(),
        }),
    );
}

/// Answers a validated transactional commit, with its event.
pub(super) fn txn_commit_answered(
    context: &mut CoordinatorContext<'_>,
    reply: Reply,
    commit: ValidatedTxnCommit,
    result: Result<(), ErrorCode>,
) {
    send_txn_commit(context, reply, &commit.offsets, result);
    context.event(Event::TxnOffsetCommitAnswered {
        group: commit.group,
        member: commit.member,
        producer: commit.producer.producer_id,
        producer_epoch: commit.producer.epoch,
        request_generation: commit.request_generation,
        group_generation: commit.group_generation,
        group_state: commit.group_state,
        member_in_group: commit.member_in_group,
        offsets: commit
            .offsets
            .iter()
            .map(|(partition, value)| (*partition, value.offset))
            .collect(),
        result,
    });
}

impl GroupCoordinator {
    /// Kafka validates a transactional offset commit against its group in the callback of
    /// its transaction's verification, just before the write (`handleTxnCommitOffsets`
    /// runs `doTxnCommitOffsets` once verified): a member removed, or a generation that
    /// ended, while the broker asked the transaction coordinator is refused then and
    /// nothing is written. Returns whether the append `waiter` may go ahead; if not, the
    /// producer is answered and the write forgotten.
    pub fn revalidate_txn_commit(
        &mut self,
        context: &mut CoordinatorContext<'_>,
        waiter: LocalWaiter,
    ) -> bool {
        let Some((_, PendingWrite::TxnOffsetCommit { commit, .. })) =
            self.shared.pending_writes.get(&waiter.token)
        else {
            return true;
        };
        let (group_id, generation) = (commit.group.clone(), commit.request_generation);
        let (member, instance) = (commit.member.clone(), commit.group_instance_id.clone());
        let mut seen: Option<GroupView> = None;
        let refusal = match self.serving(context, &group_id) {
            Err(error) => Some((error, GenerationId::NONE)),
            Ok((loaded, shared)) => match group_for_commit(loaded, shared, &group_id, generation) {
                None => Some((ErrorCode::IllegalGeneration, GenerationId::NONE)),
                Some(group) => {
                    seen = Some(GroupView::of(group, &member));
                    validate_txn_offset_commit(group, generation, &member, &instance)
                        .err()
                        .map(|error| (error, group.generation))
                }
            },
        };
        let Some((error, group_generation)) = refusal else {
            // Accepted: the answer will report the group as it was at this validation.
            if let (Some(view), Some((_, PendingWrite::TxnOffsetCommit { commit, .. }))) =
                (seen, self.shared.pending_writes.get_mut(&waiter.token))
            {
                commit.seen_as(view);
            }
            return true;
        };
        let Some((_, PendingWrite::TxnOffsetCommit { reply, mut commit })) =
            self.shared.pending_writes.remove(&waiter.token)
        else {
            unreachable!("looked up above");
        };
        commit.group_generation = group_generation;
        context.mark(Mark::TxnOffsetCommitFenced);
        context.mark(Mark::TxnOffsetCommitRefusedAfterVerification);
        txn_commit_answered(context, reply, commit, Err(error));
        false
    }

    pub(super) fn handle_txn_offset_commit(
        &mut self,
        context: &mut CoordinatorContext<'_>,
        from: NodeId,
        request: &TxnOffsetCommitRequest,
    ) {
        let reply = Reply {
            to: from,
            correlation: request.correlation,
        };
        let (loaded, shared) = match self.serving(context, &request.group) {
            Ok(serving) => serving,
            Err(error) => return send_txn_commit(context, reply, &request.offsets, Err(error)),
        };
        let group = match group_for_commit(loaded, shared, &request.group, request.generation) {
            Some(group) => group,
            // As for OffsetCommit: an unknown group with a generation is ILLEGAL_GENERATION.
            None => {
                context.mark(Mark::TxnOffsetCommitFenced);
                let commit = ValidatedTxnCommit::new(None, request);
                return txn_commit_answered(
                    context,
                    reply,
                    commit,
                    Err(ErrorCode::IllegalGeneration),
                );
            }
        };
        let commit = ValidatedTxnCommit::new(Some(group), request);
        if let Err(error) = validate_txn_offset_commit(
            group,
            request.generation,
            &request.member,
            &request.group_instance_id,
        ) {
            if matches!(
                error,
                ErrorCode::IllegalGeneration
                    | ErrorCode::UnknownMemberId
                    | ErrorCode::FencedInstanceId
            ) {
                context.mark(Mark::TxnOffsetCommitFenced);
            }
            return txn_commit_answered(context, reply, commit, Err(error));
        }
        let partition = context.partition_of(&request.group);
        let records = commit.records();
        Self::verify_then_append_txn_offsets(shared, partition, records, (reply, commit), request);
    }

    /// Writes the offsets as the producer's transactional batch. The broker first verifies
    /// the transaction with its coordinator (KIP-890, `broker/transaction_verification.rs`):
    /// with transactions version 2 it adds the offsets partition to the transaction
    /// (TxnOffsetCommit version 5 carries no AddOffsetsToTxn before it), with version 1 it
    /// checks that AddOffsetsToTxn added it.
    fn verify_then_append_txn_offsets(
        shared: &mut super::Shared,
        partition: TopicPartition,
        records: Vec<ProducerRecord>,
        (reply, commit): (Reply, ValidatedTxnCommit),
        request: &TxnOffsetCommitRequest,
    ) {
        let transaction = super::AppendTransaction {
            transactional_id: request.transactional_id.clone(),
            producer: request.producer,
            transaction_version: request.transaction_version,
        };
        shared.write_in(
            partition,
            records,
            PendingWrite::TxnOffsetCommit { reply, commit },
            Some(transaction),
        );
    }

    /// A transaction marker of `producer` was committed at `marker_offset` on the offsets
    /// partition `partition` (the leader's append completed): its pending offsets written
    /// before the marker are materialised (COMMIT) or discarded (ABORT).
    pub fn on_txn_marker(
        &mut self,
        context: &mut CoordinatorContext<'_>,
        partition: TopicPartition,
        producer: ProducerId,
        result: ControlRecordType,
        marker_offset: Offset,
    ) {
        let Some(loaded) = self.partitions.get_mut(&partition) else {
            return;
        };
        let ended = loaded
            .offsets
            .end_transaction(producer, result, marker_offset);
        if ended.is_empty() {
            return;
        }
        report_ended(context, partition, producer, result, ended);
    }
}

/// The event and mark of a marker that ended pending offsets.
fn report_ended(
    context: &mut CoordinatorContext<'_>,
    partition: TopicPartition,
    producer: ProducerId,
    result: ControlRecordType,
    ended: Vec<EndedOffset>,
) {
    match result {
        ControlRecordType::Commit => {
            context.mark(Mark::TxnOffsetsCommittedByMarker);
            context.event(Event::TxnOffsetsCommittedByMarker {
                partition,
                producer,
                offsets: ended
                    .into_iter()
                    .map(|ended| {
                        (
                            ended.group,
                            ended.partition,
                            ended.offset,
                            ended.materialised,
                        )
                    })
                    .collect(),
            });
        }
        ControlRecordType::Abort => {
            context.mark(Mark::TxnOffsetsAbortedByMarker);
            context.event(Event::TxnOffsetsAbortedByMarker {
                partition,
                producer,
                offsets: ended
                    .into_iter()
                    .map(|ended| (ended.group, ended.partition, ended.offset))
                    .collect(),
            });
        }
    }
}
