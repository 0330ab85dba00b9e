//! OffsetCommit and OffsetFetch (Kafka's `OffsetMetadataManager.commitOffset` and
//! `fetchOffsets`, with `ClassicGroup.validateOffsetCommit`). A commit is validated against
//! the group's latest state, written as offset commit records, and answered once they are
//! committed; a fetch reads only committed offsets, and one that requires stable offsets
//! (KIP-447) is told which partitions have transactional offsets still pending.

use super::group::{ClassicGroup, Reply};
use super::rebalance::validate_member;
use super::records::CoordinatorRecord;
use super::{
    normalize_append_error, CoordinatorContext, GroupCoordinator, GroupState, LoadedPartition,
    PendingWrite, Shared,
};
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{GenerationId, GroupId, MemberId, NodeId};
use crate::mark::Mark;
use crate::protocol::{
    Message, OffsetAndMetadata, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest,
    OffsetFetchResponse,
};
use crate::topic::TopicPartition;

/// Kafka's `ClassicGroup.validateOffsetCommit`, in its order: a Dead group is not
/// available; generation -1 commits only into an Empty group (a consumer that assigns its
/// own partitions); otherwise the member must be known, its instance id its own, its
/// generation current, and the group not waiting for the leader's assignment.
pub(super) fn validate_offset_commit(
    group: &ClassicGroup,
    request: &OffsetCommitRequest,
) -> Result<(), ErrorCode> {
    if group.state == GroupState::Dead {
        return Err(ErrorCode::CoordinatorNotAvailable);
    }
    if request.generation.0 < 0 && group.state == GroupState::Empty {
        return Ok(());
    }
    if request.generation.0 >= 0
        || !request.member_id.is_unknown()
        || request.group_instance_id.is_some()
    {
        validate_member(group, &request.member_id, &request.group_instance_id)?;
        if request.generation != group.generation {
            return Err(ErrorCode::IllegalGeneration);
        }
    } else if group.state != GroupState::Empty {
        return Err(ErrorCode::UnknownMemberId);
    }
    if group.state == GroupState::CompletingRebalance {
        return Err(ErrorCode::RebalanceInProgress);
    }
    Ok(())
}

fn refusal_mark(error: ErrorCode) -> Option<Mark> {
    match error {
        ErrorCode::IllegalGeneration => Some(Mark::CommitRefusedIllegalGeneration),
        ErrorCode::UnknownMemberId => Some(Mark::CommitRefusedUnknownMember),
        ErrorCode::RebalanceInProgress => Some(Mark::CommitRefusedRebalanceInProgress),
        _ => None,
    }
}

fn send_commit(
    context: &mut CoordinatorContext<'_>,
    reply: Reply,
    offsets: &[(TopicPartition, OffsetAndMetadata)],
    result: Result<(), ErrorCode>,
) {
    context.send(
        reply,
        Message::OffsetCommitResponse(OffsetCommitResponse {
            correlation: reply.correlation,
            results: offsets
                .iter()
                .map(|(partition, _)| (*partition, result))
                .collect(),
        }),
    );
}

/// An OffsetCommit with what the coordinator knew of its group when it validated it: the
/// commit is answered (and judged) against that, even if the group changes while the
/// commit's record replicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ValidatedCommit {
    pub group: GroupId,
    pub member: MemberId,
    pub request_generation: GenerationId,
    pub group_generation: GenerationId,
    pub group_state: GroupState,
    pub member_in_group: bool,
    pub offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
}

impl ValidatedCommit {
    fn new(group: &ClassicGroup, request: &OffsetCommitRequest) -> ValidatedCommit {
        ValidatedCommit {
            group: request.group.clone(),
            member: request.member_id.clone(),
            request_generation: request.generation,
            group_generation: group.generation,
            group_state: group.state,
            member_in_group: group.members.contains_key(&request.member_id),
            offsets: request.offsets.clone(),
        }
    }
}

/// Answers a validated commit, with its event.
pub(super) fn commit_answered(
    context: &mut CoordinatorContext<'_>,
    reply: Reply,
    commit: ValidatedCommit,
    result: Result<(), ErrorCode>,
) {
    send_commit(context, reply, &commit.offsets, result);
    context.event(Event::OffsetCommitAnswered {
        group: commit.group,
        member: commit.member,
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

/// The group an offset commit (plain or transactional) names. A commit carrying no
/// generation to an unknown group creates a simple group, as Kafka does; one carrying a
/// generation finds none (`None`: ILLEGAL_GENERATION).
pub(super) fn group_for_commit<'a>(
    loaded: &'a mut LoadedPartition,
    shared: &mut Shared,
    group: &GroupId,
    generation: GenerationId,
) -> Option<&'a ClassicGroup> {
    if !loaded.groups.contains_key(group) {
        if generation.0 >= 0 {
            return None;
        }
        let join_key = shared.key();
        loaded
            .groups
            .insert(group.clone(), ClassicGroup::new(group.clone(), join_key));
    }
    loaded.groups.get(group)
}

impl GroupCoordinator {
    pub(super) fn handle_offset_commit(
        &mut self,
        context: &mut CoordinatorContext<'_>,
        from: NodeId,
        request: &OffsetCommitRequest,
    ) {
        let reply = Reply {
            to: from,
            correlation: request.correlation,
        };
        let (loaded, shared) = match self.serving(context, &request.group) {
            Ok(serving) => serving,
            Err(error) => return send_commit(context, reply, &request.offsets, Err(error)),
        };
        let group = match group_for_commit(loaded, shared, &request.group, request.generation) {
            Some(group) => group,
            // Kafka's pre-v9 answer for an unknown group with a generation.
            None => {
                context.mark(Mark::CommitRefusedIllegalGeneration);
                return send_commit(
                    context,
                    reply,
                    &request.offsets,
                    Err(ErrorCode::IllegalGeneration),
                );
            }
        };
        let commit = ValidatedCommit::new(group, request);
        if let Err(error) = validate_offset_commit(group, request) {
            if context.bugs.no_generation_fencing && commit.group_state != GroupState::Dead {
                context.mark(Mark::CommitAcceptedWithoutFencing);
            } else {
                if let Some(mark) = refusal_mark(error) {
                    context.mark(mark);
                }
                return commit_answered(context, reply, commit, Err(error));
            }
        }
        let records = request
            .offsets
            .iter()
            .map(|(partition, value)| {
                CoordinatorRecord::OffsetCommit {
                    group: request.group.clone(),
                    partition: *partition,
                    value: Some(*value),
                }
                .encode()
            })
            .collect();
        shared.write(
            context.partition_of(&request.group),
            records,
            PendingWrite::OffsetCommit { reply, commit },
        );
    }

    /// OffsetFetch (Kafka's `fetchOffsets`): each partition's committed offset; with
    /// `require_stable` (KIP-447), UNSTABLE_OFFSET_COMMIT for a partition with pending
    /// transactional offsets.
    pub(super) fn handle_offset_fetch(
        &mut self,
        context: &mut CoordinatorContext<'_>,
        from: NodeId,
        request: &OffsetFetchRequest,
    ) {
        let (error, offsets) = match self.serving(context, &request.group) {
            Ok((loaded, _)) => (
                None,
                request
                    .partitions
                    .iter()
                    .map(|partition| {
                        let answer = if request.require_stable
                            && loaded.offsets.has_pending(&request.group, *partition)
                        {
                            Err(ErrorCode::UnstableOffsetCommit)
                        } else {
                            Ok(loaded.offsets.committed(&request.group, *partition))
                        };
                        (*partition, answer)
                    })
                    .collect::<Vec<_>>(),
            ),
            Err(error) => (
                Some(error),
                request
                    .partitions
                    .iter()
                    .map(|partition| (*partition, Ok(None)))
                    .collect(),
            ),
        };
        if offsets.iter().any(|(_, answer)| answer.is_err()) {
            context.mark(Mark::UnstableOffsetCommitAnswered);
        }
        context.effects.push(crate::actor::Effect::Send {
            to: from,
            message: Message::OffsetFetchResponse(OffsetFetchResponse {
                correlation: request.correlation,
                error,
                offsets,
            }),
        });
    }
}

/// Maps an append's outcome to what the committer is told.
pub(super) fn append_result(
    result: &Result<crate::ids::Offset, ErrorCode>,
) -> Result<(), ErrorCode> {
    result.map(|_| ()).map_err(normalize_append_error)
}
