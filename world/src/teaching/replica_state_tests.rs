use super::*;
use crate::step_record::{StepInput, StepRecord};
use watermark_broker_core::ids::PartitionId;
use watermark_broker_core::topic::{TopicName, TopicPartition};

fn partition() -> TopicPartition {
    TopicPartition::new(TopicName::new("events"), PartitionId(0))
}

fn step(node: NodeId, events: Vec<Event>) -> Record {
    Record::Step(StepRecord {
        time_ms: 1,
        node,
        input: StepInput::ApplicationStep,
        sent: Vec::new(),
        closed: Vec::new(),
        connects: Vec::new(),
        events,
        marks: Vec::new(),
    })
}

fn record(offset: u64, value: u64) -> RecordSummary {
    RecordSummary {
        offset: Offset(offset),
        leader_epoch: LeaderEpoch(1),
        value,
    }
}

/// A follower's append of `records` to the partition.
fn appended(records: Vec<RecordSummary>) -> Event {
    Event::RecordsAppended {
        partition: partition(),
        as_leader: false,
        records,
    }
}

#[test]
fn a_truncation_cuts_the_log_copy_and_caps_the_high_watermark() {
    let mut state = ReplicaState::new();
    let b1 = NodeId::Broker(BrokerId(1));
    state.apply(&step(
        b1,
        vec![
            appended(vec![record(0, 1), record(1, 2), record(2, 3)]),
            Event::HighWatermarkUpdated {
                partition: partition(),
                from: Offset(0),
                to: Offset(3),
            },
        ],
    ));
    let changed = state.apply(&step(
        b1,
        vec![Event::LogTruncated {
            partition: partition(),
            from_log_end_offset: Offset(3),
            to_offset: Offset(1),
            reason: watermark_broker_core::event::TruncationReason::DivergingEpoch,
        }],
    ));
    assert!(changed.contains(&partition()));
    let replica = state.replica(partition(), BrokerId(1)).unwrap();
    assert_eq!(replica.log_end_offset, Offset(1));
    assert_eq!(replica.high_watermark, Offset(1));
    assert_eq!(replica.log, vec![record(0, 1)]);
    assert_eq!(replica.truncations, 1);
}

#[test]
fn a_full_truncation_empties_the_log_copy_and_starts_it_at_the_leaders_log_start() {
    let mut state = ReplicaState::new();
    let b1 = NodeId::Broker(BrokerId(1));
    state.apply(&step(b1, vec![appended(vec![record(0, 1), record(1, 2)])]));
    let changed = state.apply(&step(
        b1,
        vec![Event::LogTruncatedFully {
            partition: partition(),
            from_log_end_offset: Offset(2),
            start_offset: Offset(9),
        }],
    ));
    assert!(changed.contains(&partition()));
    let replica = state.replica(partition(), BrokerId(1)).unwrap();
    assert_eq!(replica.log, Vec::new());
    assert_eq!(
        (
            replica.log_end_offset,
            replica.high_watermark,
            replica.truncations
        ),
        (Offset(9), Offset(9), 1)
    );
}

#[test]
fn a_crash_takes_every_replica_of_the_broker_offline_until_it_starts() {
    let mut state = ReplicaState::new();
    let b2 = BrokerId(2);
    state.apply(&step(
        NodeId::Broker(b2),
        vec![Event::BecameLeader {
            partition: partition(),
            leader_epoch: LeaderEpoch(2),
            isr: vec![BrokerId(2), BrokerId(3)],
            log_end_offset: Offset(20),
        }],
    ));
    assert_eq!(state.replica(partition(), b2).unwrap().role, Role::Leader);
    state.apply(&Record::Nemesis {
        time_ms: 2,
        action: NemesisAction::Crash {
            node: NodeId::Broker(b2),
        },
    });
    let replica = state.replica(partition(), b2).unwrap();
    assert_eq!(replica.role, Role::Offline);
    assert_eq!(replica.leader_isr, None);
    state.apply(&Record::Step(StepRecord {
        time_ms: 3,
        node: NodeId::Broker(b2),
        input: StepInput::Start { incarnation: 2 },
        sent: Vec::new(),
        closed: Vec::new(),
        connects: Vec::new(),
        events: Vec::new(),
        marks: Vec::new(),
    }));
    assert_eq!(state.replica(partition(), b2).unwrap().role, Role::Follower);
}

#[test]
fn the_controller_columns_follow_elections_and_isr_changes() {
    let mut state = ReplicaState::new();
    state.apply(&step(
        NodeId::Controller,
        vec![
            Event::LeaderElected {
                partition: partition(),
                leader: Some(BrokerId(1)),
                leader_epoch: LeaderEpoch(1),
                isr: vec![BrokerId(1), BrokerId(2), BrokerId(3)],
                partition_epoch: watermark_broker_core::ids::PartitionEpoch(1),
                unclean: false,
            },
            Event::IsrAltered {
                partition: partition(),
                isr: vec![BrokerId(1), BrokerId(2)],
                partition_epoch: watermark_broker_core::ids::PartitionEpoch(2),
            },
        ],
    ));
    let controller = &state.partitions[&partition()].controller;
    assert_eq!(controller.leader, Some(BrokerId(1)));
    assert_eq!(controller.isr, vec![BrokerId(1), BrokerId(2)]);
}

/// A power loss undid an unsynced cut: the log is what recovery found, the record the cut
/// had taken back in it.
#[test]
fn a_recovery_sets_the_log_to_what_it_found() {
    let mut state = ReplicaState::new();
    let b1 = NodeId::Broker(BrokerId(1));
    state.apply(&step(
        b1,
        vec![
            appended(vec![record(0, 1), record(1, 2)]),
            Event::LogTruncated {
                partition: partition(),
                from_log_end_offset: Offset(2),
                to_offset: Offset(1),
                reason: watermark_broker_core::event::TruncationReason::DivergingEpoch,
            },
        ],
    ));
    state.apply(&step(
        b1,
        vec![Event::LogRecovered {
            partition: partition(),
            log_end_offset: Offset(2),
            high_watermark: Offset(0),
            latest_epoch: Some(LeaderEpoch(1)),
            records: vec![record(0, 1), record(1, 2)],
        }],
    ));
    let replica = state.replica(partition(), BrokerId(1)).unwrap();
    assert_eq!(replica.log, vec![record(0, 1), record(1, 2)]);
    assert_eq!(replica.log_end_offset, Offset(2));
}
