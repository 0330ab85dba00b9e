use super::*;
use crate::step_record::{Record, StepInput};
use crate::teaching::report_test_support::{partition, step as support_step, with_events};
use watermark_broker_core::event::RecordSummary;
use watermark_broker_core::ids::{LeaderEpoch, Offset};
use watermark_broker_core::record::NOT_A_WORKLOAD_VALUE;

fn step(events: Vec<Event>) -> StepRecord {
    let Record::Step(step) = with_events(
        support_step(
            1,
            NodeId::Broker(BrokerId(3)),
            StepInput::ApplicationStep,
            &[],
        ),
        events,
    ) else {
        unreachable!("the support builds a step")
    };
    step
}

fn summary(offset: u64, value: u64) -> RecordSummary {
    RecordSummary {
        offset: Offset(offset),
        leader_epoch: LeaderEpoch(1),
        value,
    }
}

/// A restart's recovery cuts a torn record (log end offset 1 → 0); the records the power
/// loss took past it were never the cut's, and the sentence names only what it removed.
#[test]
fn a_recovery_cut_names_only_the_records_it_removed() {
    let mut before = ReplicaState::new();
    before.apply(&Record::Step(step(vec![Event::RecordsAppended {
        partition: partition(),
        as_leader: false,
        records: (0..5).map(|offset| summary(offset, offset + 1)).collect(),
    }])));
    let cut = step(vec![Event::LogTruncated {
        partition: partition(),
        from_log_end_offset: Offset(1),
        to_offset: Offset(0),
        reason: TruncationReason::Recovery,
    }]);
    let changes = ChangeExplainer::new().explain_step(&cut, &before);
    let [change] = changes.as_slice() else {
        panic!("one change: {changes:?}");
    };
    assert_eq!(
        change.what,
        "b3 truncates its log 1 → 0, removing v1 (offset 0, e1)"
    );
}

/// A transaction marker holds no workload value: it is `–`, not u64::MAX.
#[test]
fn a_marker_is_named_without_a_value() {
    let mut before = ReplicaState::new();
    before.apply(&Record::Step(step(vec![Event::RecordsAppended {
        partition: partition(),
        as_leader: false,
        records: vec![summary(0, 1), summary(1, NOT_A_WORKLOAD_VALUE)],
    }])));
    let cut = step(vec![Event::LogTruncated {
        partition: partition(),
        from_log_end_offset: Offset(2),
        to_offset: Offset(1),
        reason: TruncationReason::DivergingEpoch,
    }]);
    let changes = ChangeExplainer::new().explain_step(&cut, &before);
    assert!(
        changes[0].what.ends_with("removing – (offset 1, e1)"),
        "{changes:?}"
    );
}
