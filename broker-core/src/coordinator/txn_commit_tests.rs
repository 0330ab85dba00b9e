//! Handler tests for transactional offsets (KIP-98, KIP-447): TxnOffsetCommit's fencing, its
//! offsets pending until the producer's marker, markers ending them, OffsetFetch with
//! `require_stable`, interleaving with plain commits, and replay after failover.

use super::tests::{
    commit, commit_result, fetched, group, has_mark, offsets_partition, topic_partition, Harness,
};
use super::*;
use crate::error::ErrorCode;
use crate::ids::{CorrelationId, LeaderEpoch, Offset, ProducerEpoch, ProducerId, TransactionalId};
use crate::log::record_batch::{ControlMarker, ControlRecordType};
use crate::protocol::{
    OffsetAndMetadata, OffsetFetchRequest, ProducerIdAndEpoch, TxnOffsetCommitRequest,
};
use crate::record::Record;
use records::CoordinatorRecord;

const PRODUCER: ProducerId = ProducerId(7);

fn txn_commit(member: MemberId, generation: GenerationId, offset: u64) -> Message {
    Message::TxnOffsetCommit(TxnOffsetCommitRequest {
        correlation: CorrelationId(8),
        transactional_id: TransactionalId("t1".into()),
        group: group(),
        producer: ProducerIdAndEpoch {
            producer_id: PRODUCER,
            epoch: ProducerEpoch(3),
        },
        generation,
        member,
        group_instance_id: None,
        offsets: vec![(
            topic_partition(),
            OffsetAndMetadata {
                offset: Offset(offset),
                leader_epoch: Some(LeaderEpoch(0)),
            },
        )],
        transaction_version: crate::protocol::TransactionVersion::V2,
    })
}

fn txn_commit_result(effects: &[Effect]) -> Result<(), ErrorCode> {
    effects
        .iter()
        .find_map(|effect| match effect {
            Effect::Send {
                message: Message::TxnOffsetCommitResponse(response),
                ..
            } => Some(response.partitions[0].1),
            _ => None,
        })
        .expect("a TxnOffsetCommit response")
}

/// OffsetFetch with `require_stable`: the partition's answer.
fn fetched_stable(harness: &mut Harness) -> Result<Option<Offset>, ErrorCode> {
    let effects = harness.request(Message::OffsetFetch(OffsetFetchRequest {
        correlation: CorrelationId(4),
        group: group(),
        partitions: vec![topic_partition()],
        require_stable: true,
    }));
    effects
        .iter()
        .find_map(|effect| match effect {
            Effect::Send {
                message: Message::OffsetFetchResponse(response),
                ..
            } => Some(
                response.offsets[0]
                    .1
                    .map(|value| value.map(|value| value.offset)),
            ),
            _ => None,
        })
        .expect("an OffsetFetch response")
}

fn marker(harness: &mut Harness, result: ControlRecordType, at: u64) -> Vec<Effect> {
    harness.run(|coordinator, context| {
        coordinator.on_txn_marker(context, offsets_partition(), PRODUCER, result, Offset(at))
    })
}

/// A Stable member's transactional commit of `offset`, committed in the offsets partition
/// at `record_offset`: pending.
fn pending_commit(harness: &mut Harness, member: &MemberId, offset: u64, record_offset: u64) {
    harness.request(txn_commit(member.clone(), GenerationId(1), offset));
    let effects = harness.complete_appends(Ok(Offset(record_offset)));
    assert_eq!(txn_commit_result(&effects), Ok(()));
    assert!(has_mark(&effects, Mark::TxnOffsetsPending));
}

#[test]
fn a_txn_offset_commit_is_written_as_the_producers_transactional_batch_and_answered_once_committed()
{
    let mut harness = Harness::new();
    let member = harness.stable_member();
    let effects = harness.request(txn_commit(member, GenerationId(1), 5));
    assert!(effects.is_empty(), "{effects:?}");
    let appends = harness.coordinator.take_appends();
    assert_eq!(appends.len(), 1);
    assert!(appends[0].is_transactional());
    let stamp = appends[0].records[0].producer_stamp.expect("stamped");
    assert_eq!((stamp.producer_id, stamp.producer_epoch), (PRODUCER, 3));
    assert!(matches!(
        CoordinatorRecord::decode(&Record::stamped(&appends[0].records[0], Offset(0), LeaderEpoch(0))),
        Some(CoordinatorRecord::OffsetCommit { value: Some(value), .. }) if value.offset == Offset(5)
    ));
}

#[test]
fn accepted_transactional_offsets_stay_pending_and_invisible_until_a_commit_marker() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    pending_commit(&mut harness, &member, 5, 1);
    assert_eq!(fetched(&mut harness), None);
    assert_eq!(
        fetched_stable(&mut harness),
        Err(ErrorCode::UnstableOffsetCommit)
    );
    let effects = marker(&mut harness, ControlRecordType::Commit, 2);
    assert!(has_mark(&effects, Mark::TxnOffsetsCommittedByMarker));
    assert!(
        effects.contains(&Effect::Event(Event::TxnOffsetsCommittedByMarker {
            partition: offsets_partition(),
            producer: PRODUCER,
            offsets: vec![(group(), topic_partition(), Offset(5), true)],
        }))
    );
    assert_eq!(fetched(&mut harness), Some(Offset(5)));
    assert_eq!(fetched_stable(&mut harness), Ok(Some(Offset(5))));
}

#[test]
fn an_abort_marker_discards_the_pending_offsets() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    pending_commit(&mut harness, &member, 5, 1);
    let effects = marker(&mut harness, ControlRecordType::Abort, 2);
    assert!(has_mark(&effects, Mark::TxnOffsetsAbortedByMarker));
    assert_eq!(fetched(&mut harness), None);
    assert_eq!(fetched_stable(&mut harness), Ok(None));
}

#[test]
fn a_marker_ends_only_the_offsets_its_producer_wrote_before_it() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    pending_commit(&mut harness, &member, 5, 4);
    // The previous transaction's marker, below the next transaction's offsets.
    let effects = marker(&mut harness, ControlRecordType::Commit, 3);
    assert!(!has_mark(&effects, Mark::TxnOffsetsCommittedByMarker));
    assert_eq!(
        fetched_stable(&mut harness),
        Err(ErrorCode::UnstableOffsetCommit)
    );
}

#[test]
fn a_txn_offset_commit_from_a_stale_generation_or_an_unknown_member_is_fenced() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    let effects = harness.request(txn_commit(member, GenerationId(0), 5));
    assert_eq!(
        txn_commit_result(&effects),
        Err(ErrorCode::IllegalGeneration)
    );
    assert!(has_mark(&effects, Mark::TxnOffsetCommitFenced));
    let effects = harness.request(txn_commit(MemberId("zombie".into()), GenerationId(1), 5));
    assert_eq!(txn_commit_result(&effects), Err(ErrorCode::UnknownMemberId));
    assert!(has_mark(&effects, Mark::TxnOffsetCommitFenced));
    assert!(harness.coordinator.take_appends().is_empty());
}

#[test]
fn a_txn_offset_commit_for_an_unknown_group_with_a_generation_is_illegal_generation() {
    let mut harness = Harness::new();
    let effects = harness.request(txn_commit(MemberId("m".into()), GenerationId(1), 5));
    assert_eq!(
        txn_commit_result(&effects),
        Err(ErrorCode::IllegalGeneration)
    );
}

#[test]
fn a_txn_offset_commit_is_accepted_while_the_group_awaits_its_assignment() {
    // Unlike OffsetCommit (REBALANCE_IN_PROGRESS), Kafka does not enforce the group's state
    // for transactional offsets.
    let mut harness = Harness::new();
    let member = harness.joined_member();
    harness.request(txn_commit(member, GenerationId(1), 5));
    assert_eq!(harness.coordinator.take_appends().len(), 1);
}

#[test]
fn a_txn_offset_commit_to_an_unloaded_partition_is_answered_not_coordinator() {
    let mut harness = Harness::new();
    harness.run(|coordinator, context| coordinator.unload(context, offsets_partition()));
    let effects = harness.request(txn_commit(MemberId("m".into()), GenerationId(1), 5));
    assert_eq!(txn_commit_result(&effects), Err(ErrorCode::NotCoordinator));
}

#[test]
fn unloading_answers_a_pending_txn_offset_commit_not_coordinator() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    harness.request(txn_commit(member, GenerationId(1), 5));
    let effects =
        harness.run(|coordinator, context| coordinator.unload(context, offsets_partition()));
    assert_eq!(txn_commit_result(&effects), Err(ErrorCode::NotCoordinator));
}

#[test]
fn a_committed_transaction_does_not_replace_a_later_plain_commit_of_the_partition() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    pending_commit(&mut harness, &member, 5, 1);
    harness.request(commit(member.clone(), GenerationId(1), 7));
    assert_eq!(
        commit_result(&harness.complete_appends(Ok(Offset(2)))),
        Ok(())
    );
    assert_eq!(fetched(&mut harness), Some(Offset(7)));
    let effects = marker(&mut harness, ControlRecordType::Commit, 3);
    assert!(
        effects.contains(&Effect::Event(Event::TxnOffsetsCommittedByMarker {
            partition: offsets_partition(),
            producer: PRODUCER,
            offsets: vec![(group(), topic_partition(), Offset(5), false)],
        }))
    );
    assert_eq!(fetched(&mut harness), Some(Offset(7)));
}

#[test]
fn a_committed_transaction_replaces_an_earlier_plain_commit_of_the_partition() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    harness.request(commit(member.clone(), GenerationId(1), 7));
    harness.complete_appends(Ok(Offset(1)));
    pending_commit(&mut harness, &member, 5, 2);
    assert_eq!(fetched(&mut harness), Some(Offset(7)));
    marker(&mut harness, ControlRecordType::Commit, 3);
    assert_eq!(fetched(&mut harness), Some(Offset(5)));
}

/// The offsets partition after a group's metadata and one transactional commit of offset 5
/// (offsets 0 and 1), with the producer's marker at offset 2 when given.
fn transactional_log(marker: Option<ControlRecordType>) -> Vec<Record> {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    harness.request(txn_commit(member, GenerationId(1), 5));
    let appends = harness.coordinator.take_appends();
    let group_record = CoordinatorRecord::GroupMetadata {
        group: group(),
        value: Some(harness.group().metadata_value()),
    };
    let mut log = vec![
        Record::stamped(&group_record.encode(), Offset(0), LeaderEpoch(0)),
        Record {
            is_transactional: true,
            ..Record::stamped(&appends[0].records[0], Offset(1), LeaderEpoch(0))
        },
    ];
    if let Some(record_type) = marker {
        log.push(Record::control(
            Offset(2),
            LeaderEpoch(0),
            PRODUCER,
            3,
            ControlMarker {
                record_type,
                coordinator_epoch: 0,
            },
        ));
    }
    log
}

fn failover(log: &[Record], high_watermark: u64) -> Harness {
    let mut harness = Harness::new();
    harness.run(|coordinator, context| coordinator.unload(context, offsets_partition()));
    harness.run(|coordinator, context| {
        coordinator.load(context, offsets_partition(), log, Offset(high_watermark))
    });
    harness
}

#[test]
fn replay_with_the_commit_marker_restores_the_committed_offset() {
    let mut harness = failover(&transactional_log(Some(ControlRecordType::Commit)), 3);
    assert_eq!(fetched(&mut harness), Some(Offset(5)));
    assert_eq!(fetched_stable(&mut harness), Ok(Some(Offset(5))));
}

#[test]
fn replay_with_the_abort_marker_restores_nothing() {
    let mut harness = failover(&transactional_log(Some(ControlRecordType::Abort)), 3);
    assert_eq!(fetched_stable(&mut harness), Ok(None));
}

#[test]
fn replay_without_the_marker_keeps_the_offsets_pending_until_it_arrives() {
    let mut harness = failover(&transactional_log(None), 2);
    assert_eq!(fetched(&mut harness), None);
    assert_eq!(
        fetched_stable(&mut harness),
        Err(ErrorCode::UnstableOffsetCommit)
    );
    marker(&mut harness, ControlRecordType::Commit, 2);
    assert_eq!(fetched(&mut harness), Some(Offset(5)));
}

#[test]
fn a_replayed_marker_above_the_high_watermark_takes_effect_once_it_is_committed() {
    let mut harness = failover(&transactional_log(Some(ControlRecordType::Commit)), 2);
    assert_eq!(
        fetched_stable(&mut harness),
        Err(ErrorCode::UnstableOffsetCommit)
    );
    harness
        .coordinator
        .on_high_watermark(offsets_partition(), Offset(3));
    assert_eq!(fetched_stable(&mut harness), Ok(Some(Offset(5))));
}

#[test]
fn a_txn_offset_commit_is_checked_again_once_verified_and_refused_if_its_member_left_meanwhile() {
    let mut harness = Harness::new();
    let member = harness.stable_member();
    harness.request(txn_commit(member.clone(), GenerationId(1), 5));
    let append = harness.coordinator.take_appends().remove(0);
    // Verified while the member is still in its generation: the write goes ahead.
    let mut allowed = false;
    harness.run(|coordinator, context| {
        allowed = coordinator.revalidate_txn_commit(context, append.waiter);
    });
    assert!(allowed);
    // The member leaves while the broker asks the transaction coordinator: once verified,
    // the commit is refused and nothing is written for it.
    harness.request(Message::LeaveGroup(crate::protocol::LeaveGroupRequest {
        correlation: CorrelationId(6),
        group: group(),
        members: vec![crate::protocol::LeavingMember {
            member_id: member,
            group_instance_id: None,
            reason: "test".into(),
        }],
    }));
    harness.coordinator.take_appends();
    let mut allowed = true;
    let effects = harness.run(|coordinator, context| {
        allowed = coordinator.revalidate_txn_commit(context, append.waiter);
    });
    assert!(!allowed);
    assert_eq!(txn_commit_result(&effects), Err(ErrorCode::UnknownMemberId));
    assert!(has_mark(
        &effects,
        Mark::TxnOffsetCommitRefusedAfterVerification
    ));
    assert_eq!(fetched_stable(&mut harness), Ok(None));
}
