use super::*;
use crate::step_record::{StepInput, StepRecord};
use watermark_broker_core::event::{Event, TruncationReason};
use watermark_broker_core::ids::{LeaderEpoch, NodeId, Offset, PartitionId};
use watermark_broker_core::topic::TopicName;

fn partition() -> TopicPartition {
    TopicPartition::new(TopicName::new("events"), PartitionId(0))
}

fn step(events: Vec<Event>) -> Record {
    Record::Step(StepRecord {
        time_ms: 1,
        node: NodeId::Broker(BrokerId(1)),
        input: StepInput::ApplicationStep,
        sent: Vec::new(),
        closed: Vec::new(),
        connects: Vec::new(),
        events,
        marks: Vec::new(),
    })
}

fn summary(offset: u64, value: u64) -> RecordSummary {
    RecordSummary {
        offset: Offset(offset),
        leader_epoch: LeaderEpoch(1),
        value,
    }
}

#[test]
fn each_changing_step_has_a_frame_and_logs_are_kept_as_appends_and_cuts() {
    let records = vec![
        step(vec![Event::RecordsAppended {
            partition: partition(),
            as_leader: true,
            records: vec![summary(0, 10), summary(1, 11), summary(2, 12)],
        }]),
        step(vec![Event::HighWatermarkUpdated {
            partition: partition(),
            from: Offset(0),
            to: Offset(2),
        }]),
        step(vec![Event::LogTruncated {
            partition: partition(),
            from_log_end_offset: Offset(3),
            to_offset: Offset(2),
            reason: TruncationReason::DivergingEpoch,
        }]),
    ];
    let views = ReplicaViews::build(&records);
    assert_eq!(views.partitions, vec!["events-0".to_string()]);
    let frames: Vec<(usize, u64, u64, u64)> = views
        .frames
        .iter()
        .map(|frame| {
            let row = &frame.rows[0];
            (
                frame.step,
                row.log_end_offset,
                row.high_watermark,
                row.truncations,
            )
        })
        .collect();
    assert_eq!(frames, vec![(0, 3, 0, 0), (1, 3, 2, 0), (2, 2, 2, 1)]);
    let changes: Vec<(usize, Option<u64>, usize)> = views
        .log_changes
        .iter()
        .map(|change| (change.step, change.cut_to, change.appended.len()))
        .collect();
    // The high-watermark step leaves the log alone: no change for it.
    assert_eq!(changes, vec![(0, None, 3), (2, Some(2), 0)]);
    assert_eq!(views.log_changes[0].appended[1], (1, 1, Some(11)));
}

/// A transaction marker holds no workload value: it is sent as `None`, not as a number the
/// page's JSON would round.
#[test]
fn a_record_without_a_workload_value_is_sent_as_none() {
    let before = Vec::new();
    let after = vec![RecordSummary {
        offset: watermark_broker_core::ids::Offset(4),
        leader_epoch: watermark_broker_core::ids::LeaderEpoch(1),
        value: NOT_A_WORKLOAD_VALUE,
    }];
    let change = log_change(&before, &after).expect("a change");
    assert_eq!(change.appended, vec![(4, 1, None)]);
}
