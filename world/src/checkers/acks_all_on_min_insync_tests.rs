use crate::checkers::test_support::*;
use crate::checkers::ReplicaCheckers;
use crate::violation::Violation;
use watermark_broker_core::error::ErrorCode;
use watermark_broker_core::event::{Event, RecordSummary, TruncationReason};
use watermark_broker_core::ids::NodeId;
use watermark_broker_core::protocol::Acks;

fn appended(records: &[(u64, u32, u64)]) -> Event {
    Event::RecordsAppended {
        partition: p(0),
        as_leader: false,
        records: records
            .iter()
            .map(|(offset, epoch, value)| RecordSummary {
                offset: o(*offset),
                leader_epoch: e(*epoch),
                value: *value,
            })
            .collect(),
    }
}

fn answered(acks: Acks, base: u64, last: u64, result: Result<(), ErrorCode>) -> Event {
    Event::ProduceAnswered {
        partition: p(0),
        acks,
        base_offset: Some(o(base)),
        last_offset: Some(o(last)),
        result,
    }
}

fn cut(to: u64, reason: TruncationReason) -> Event {
    Event::LogTruncated {
        partition: p(0),
        from_log_end_offset: o(2),
        to_offset: o(to),
        reason,
    }
}

/// Three replicas, min.insync.replicas 2; the leader (broker 1) appended offsets 0 and 1.
fn setup() -> (FakeCluster, ReplicaCheckers) {
    let mut cluster = FakeCluster::new(&[1, 2, 3]);
    cluster.min_insync_replicas = 2;
    let mut checkers = ReplicaCheckers::new();
    let leader = appended(&[(0, 1, 10), (1, 1, 11)]);
    assert!(checkers
        .observe(1, NodeId::Broker(b(1)), &leader, &cluster)
        .is_empty());
    (cluster, checkers)
}

fn acks_all_findings(
    checkers: &mut ReplicaCheckers,
    cluster: &FakeCluster,
    event: &Event,
) -> Vec<Violation> {
    only(
        &checkers.observe(10, NodeId::Broker(b(1)), event, cluster),
        "AcksAllOnMinInsync",
    )
}

#[test]
fn an_acks_all_answer_before_any_follower_holds_the_batch_is_caught() {
    let (cluster, mut checkers) = setup();
    let found = acks_all_findings(&mut checkers, &cluster, &answered(Acks::All, 0, 1, Ok(())));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].offsets, vec![o(0)]);
    assert_eq!(found[0].values, vec![10]);
    assert!(found[0].description.contains("{1}"), "{}", found[0]);
}

#[test]
fn a_batch_on_min_insync_replicas_passes_and_acks_1_or_failures_are_not_judged() {
    let (cluster, mut checkers) = setup();
    checkers.observe(
        5,
        NodeId::Broker(b(2)),
        &appended(&[(0, 1, 10), (1, 1, 11)]),
        &cluster,
    );
    assert!(
        acks_all_findings(&mut checkers, &cluster, &answered(Acks::All, 0, 1, Ok(()))).is_empty()
    );
    let (cluster, mut checkers) = setup();
    assert!(acks_all_findings(
        &mut checkers,
        &cluster,
        &answered(Acks::Leader, 0, 1, Ok(()))
    )
    .is_empty());
    let failed = answered(Acks::All, 0, 1, Err(ErrorCode::NotEnoughReplicas));
    assert!(acks_all_findings(&mut checkers, &cluster, &failed).is_empty());
}

#[test]
fn a_follower_holding_another_record_at_the_offset_does_not_count() {
    let (cluster, mut checkers) = setup();
    checkers.observe(
        5,
        NodeId::Broker(b(2)),
        &appended(&[(0, 1, 10), (1, 0, 99)]),
        &cluster,
    );
    let found = acks_all_findings(&mut checkers, &cluster, &answered(Acks::All, 0, 1, Ok(())));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].offsets, vec![o(1)]);
}

#[test]
fn a_protocol_truncation_removes_records_but_a_recovery_after_power_loss_does_not() {
    let (cluster, mut checkers) = setup();
    checkers.observe(
        5,
        NodeId::Broker(b(2)),
        &appended(&[(0, 1, 10), (1, 1, 11)]),
        &cluster,
    );
    checkers.observe(
        6,
        NodeId::Broker(b(2)),
        &cut(1, TruncationReason::Recovery),
        &cluster,
    );
    assert!(
        acks_all_findings(&mut checkers, &cluster, &answered(Acks::All, 0, 1, Ok(()))).is_empty()
    );
    checkers.observe(
        7,
        NodeId::Broker(b(2)),
        &cut(1, TruncationReason::HighWatermark),
        &cluster,
    );
    let found = acks_all_findings(&mut checkers, &cluster, &answered(Acks::All, 1, 1, Ok(())));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].offsets, vec![o(1)]);
}

#[test]
fn writing_over_records_a_power_loss_took_replaces_them() {
    let (cluster, mut checkers) = setup();
    checkers.observe(
        5,
        NodeId::Broker(b(2)),
        &appended(&[(0, 1, 10), (1, 1, 11)]),
        &cluster,
    );
    // Broker 2 lost offset 1 to a power loss (no protocol cut) and now writes epoch 2 there.
    checkers.observe(6, NodeId::Broker(b(2)), &appended(&[(1, 2, 21)]), &cluster);
    let found = acks_all_findings(&mut checkers, &cluster, &answered(Acks::All, 1, 1, Ok(())));
    assert_eq!(found.len(), 1, "{found:?}");
}

fn recovered(log_end_offset: u64, records: &[(u64, u32, u64)]) -> Event {
    let Event::RecordsAppended { records, .. } = appended(records) else {
        unreachable!("appended builds RecordsAppended")
    };
    Event::LogRecovered {
        partition: p(0),
        log_end_offset: o(log_end_offset),
        high_watermark: o(0),
        latest_epoch: Some(e(1)),
        records,
    }
}

/// The seeds 6756529025730185434 and 7225695610357499811 of the safe-shape property: a
/// follower cut offset 1 on a diverging epoch, a power loss undid the unsynced cut, and the
/// restarted replica, elected leader, answered a retried batch as a duplicate at offset 1.
#[test]
fn records_a_power_loss_brought_back_are_held_again() {
    let (cluster, mut checkers) = setup();
    let leader = NodeId::Broker(b(1));
    checkers.observe(
        2,
        leader,
        &cut(1, TruncationReason::DivergingEpoch),
        &cluster,
    );
    checkers.observe(
        3,
        leader,
        &recovered(2, &[(0, 1, 10), (1, 1, 11)]),
        &cluster,
    );
    checkers.observe(
        5,
        NodeId::Broker(b(2)),
        &appended(&[(0, 1, 10), (1, 1, 11)]),
        &cluster,
    );
    assert!(
        acks_all_findings(&mut checkers, &cluster, &answered(Acks::All, 1, 1, Ok(()))).is_empty()
    );
}

#[test]
fn a_recovery_replaces_what_it_found_and_keeps_what_a_power_loss_took() {
    let (cluster, mut checkers) = setup();
    let follower = NodeId::Broker(b(2));
    checkers.observe(5, follower, &appended(&[(0, 1, 10), (1, 1, 11)]), &cluster);
    // Recovery found a different record at offset 0 and lost offset 1: offset 0 is no
    // longer the leader's record there, offset 1 still counts.
    checkers.observe(6, follower, &recovered(1, &[(0, 0, 99)]), &cluster);
    let found = acks_all_findings(&mut checkers, &cluster, &answered(Acks::All, 0, 1, Ok(())));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].offsets, vec![o(0)]);
    let (cluster, mut checkers) = setup();
    checkers.observe(5, follower, &appended(&[(0, 1, 10), (1, 1, 11)]), &cluster);
    checkers.observe(6, follower, &recovered(1, &[(0, 1, 10)]), &cluster);
    assert!(
        acks_all_findings(&mut checkers, &cluster, &answered(Acks::All, 0, 1, Ok(()))).is_empty()
    );
}
