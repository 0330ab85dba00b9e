use super::*;
use crate::checkers::CoordinatorLog;
use watermark_broker_core::coordinator::GroupState;
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{GenerationId, MemberId, PartitionId, ProducerEpoch, ProducerId};
use watermark_broker_core::topic::TopicName;

fn p(index: u32) -> TopicPartition {
    TopicPartition::new(TopicName::from_static("events"), PartitionId(index))
}

fn plain(group: &str, offset: u64) -> Event {
    Event::OffsetCommitAnswered {
        group: GroupId(group.into()),
        member: MemberId("m".into()),
        request_generation: GenerationId(1),
        group_generation: GenerationId(1),
        group_state: GroupState::Stable,
        member_in_group: true,
        offsets: vec![(p(0), Offset(offset))],
        result: Ok(()),
    }
}

#[test]
fn the_last_accepted_commit_counts_even_when_it_went_backwards() {
    let mut log = CoordinatorLog::new();
    log.observe(1, &plain("a", 7));
    log.observe(3, &plain("b", 2));
    log.observe(4, &plain("a", 5));
    let committed = committed_offsets(&log.accepted);
    assert_eq!(committed[&(GroupId("a".into()), p(0))], Offset(5));
    assert_eq!(committed[&(GroupId("b".into()), p(0))], Offset(2));
}

/// A pipeline's offsets are TxnOffsetCommits: the group's once the COMMIT marker lands,
/// never while the transaction is open or after it aborted.
#[test]
fn a_transactional_commit_counts_once_its_marker_commits_it() {
    let txn = |producer: u64, offset: u64| Event::TxnOffsetCommitAnswered {
        group: GroupId("pipeline".into()),
        member: MemberId("m".into()),
        producer: ProducerId(producer),
        producer_epoch: ProducerEpoch(0),
        request_generation: GenerationId(1),
        group_generation: GenerationId(1),
        group_state: GroupState::Stable,
        member_in_group: true,
        offsets: vec![(p(1), Offset(offset))],
        result: Ok(()),
    };
    let mut log = CoordinatorLog::new();
    log.observe(1, &txn(1, 10));
    let key = (GroupId("pipeline".into()), p(1));
    assert!(!committed_offsets(&log.accepted).contains_key(&key), "open");
    log.observe(
        2,
        &Event::TxnOffsetsCommittedByMarker {
            partition: p(9),
            producer: ProducerId(1),
            offsets: vec![(GroupId("pipeline".into()), p(1), Offset(10), true)],
        },
    );
    assert_eq!(committed_offsets(&log.accepted)[&key], Offset(10));
    log.observe(3, &txn(2, 20));
    log.observe(
        4,
        &Event::TxnOffsetsAbortedByMarker {
            partition: p(9),
            producer: ProducerId(2),
            offsets: vec![(GroupId("pipeline".into()), p(1), Offset(20))],
        },
    );
    assert_eq!(
        committed_offsets(&log.accepted)[&key],
        Offset(10),
        "aborted"
    );
}
