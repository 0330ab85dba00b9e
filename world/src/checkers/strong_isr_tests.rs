use crate::checkers::test_support::*;
use crate::checkers::ReplicaCheckers;
use watermark_broker_core::event::{Event, TruncationReason};
use watermark_broker_core::ids::{NodeId, PartitionEpoch};
use watermark_broker_core::replica_view::ReplicaRole;

fn hw(from: u64, to: u64) -> Event {
    Event::HighWatermarkUpdated {
        partition: p(0),
        from: o(from),
        to: o(to),
    }
}

fn isr_altered(isr: &[u32]) -> Event {
    Event::IsrAltered {
        partition: p(0),
        isr: isr.iter().map(|broker| b(*broker)).collect(),
        partition_epoch: PartitionEpoch(1),
    }
}

fn follow(epoch: u32) -> Event {
    Event::BecameFollower {
        partition: p(0),
        leader_epoch: e(epoch),
        leader: Some(b(1)),
    }
}

fn strong(violations: &[crate::violation::Violation]) -> Vec<crate::violation::Violation> {
    only(violations, "StrongIsr")
}

/// Broker 1 leads over offsets 0 and 1 with high watermark 2; broker 2 holds both, broker 3
/// only offset 0. The leader's own view is {1,2}: `WeakIsr` has nothing to say.
fn cluster_with_member_behind(controller_isr: &[u32]) -> FakeCluster {
    let mut cluster = FakeCluster::new(&[1, 2, 3]);
    let log = [(0, 1, 10), (1, 1, 11)];
    cluster.set_replica(1, 0, ReplicaRole::Leader, 1, &[1, 2], &log);
    cluster.replica_mut(1, 0).high_watermark = o(2);
    cluster.set_replica(2, 0, ReplicaRole::Follower, 1, &[], &log);
    cluster.set_replica(3, 0, ReplicaRole::Follower, 1, &[], &[(0, 1, 10)]);
    cluster.set_controller_isr(0, controller_isr);
    cluster
}

#[test]
fn a_high_watermark_above_what_a_controller_isr_member_holds_is_caught() {
    let cluster = cluster_with_member_behind(&[1, 2, 3]);
    let mut checkers = ReplicaCheckers::new();
    let violations = checkers.observe(10, NodeId::Broker(b(1)), &hw(0, 2), &cluster);
    assert_eq!(
        checkers_reporting(&violations),
        vec!["StrongIsr"],
        "{violations:?}"
    );
    assert_eq!(violations[0].offsets, vec![o(1)]);
    assert_eq!(violations[0].values, vec![11]);
    assert!(
        violations[0].description.contains("b3"),
        "{}",
        violations[0]
    );
    assert!(
        violations[0].description.contains("{1,2,3}"),
        "{}",
        violations[0]
    );
}

#[test]
fn members_outside_the_controller_isr_and_followers_high_watermarks_are_not_judged() {
    let cluster = cluster_with_member_behind(&[1, 2]);
    let mut checkers = ReplicaCheckers::new();
    assert!(checkers
        .observe(10, NodeId::Broker(b(1)), &hw(0, 2), &cluster)
        .is_empty());
    assert!(checkers
        .observe(11, NodeId::Broker(b(3)), &hw(0, 1), &cluster)
        .is_empty());
}

#[test]
fn the_controller_adding_a_member_that_lacks_committed_records_is_caught() {
    let cluster = cluster_with_member_behind(&[1, 2, 3]);
    let mut checkers = ReplicaCheckers::new();
    assert!(
        strong(&checkers.observe(5, NodeId::Controller, &isr_altered(&[1, 2]), &cluster))
            .is_empty()
    );
    let violations = checkers.observe(6, NodeId::Controller, &isr_altered(&[1, 2, 3]), &cluster);
    let found = strong(&violations);
    assert_eq!(found.len(), 1, "{violations:?}");
    assert_eq!(found[0].offsets, vec![o(1)]);
}

#[test]
fn a_different_record_on_a_member_is_caught_with_both_values() {
    let mut cluster = cluster_with_member_behind(&[1, 3]);
    cluster.append(3, 0, &[(1, 1, 99)]);
    let mut checkers = ReplicaCheckers::new();
    let violations = strong(&checkers.observe(10, NodeId::Broker(b(1)), &hw(1, 2), &cluster));
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].values, vec![11, 99]);
}

#[test]
fn a_restarted_member_is_judged_once_it_is_back_in_service() {
    let mut cluster = cluster_with_member_behind(&[1, 2, 3]);
    cluster.restart_unregistered(3);
    let mut checkers = ReplicaCheckers::new();
    // Restarted and unregistered: it lost offset 1 to a power loss, not to the protocol.
    assert!(checkers
        .observe(10, NodeId::Broker(b(1)), &hw(0, 2), &cluster)
        .is_empty());
    // Registered, it applies its first image while still in the controller's ISR.
    cluster.unregistered.clear();
    let violations = strong(&checkers.observe(20, NodeId::Broker(b(3)), &follow(1), &cluster));
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].offsets, vec![o(1)]);
}

#[test]
fn a_member_cutting_its_log_below_a_leaders_high_watermark_is_caught() {
    let mut cluster = cluster_with_member_behind(&[1, 2, 3]);
    cluster.append(3, 0, &[(1, 1, 11)]);
    let mut checkers = ReplicaCheckers::new();
    assert!(checkers
        .observe(10, NodeId::Broker(b(1)), &hw(0, 2), &cluster)
        .is_empty());
    let cut = |to: u64| Event::LogTruncated {
        partition: p(0),
        from_log_end_offset: o(2),
        to_offset: o(to),
        reason: TruncationReason::LeaderEpochDivergence,
    };
    // Cutting at the high watermark loses nothing committed.
    assert!(checkers
        .observe(15, NodeId::Broker(b(3)), &cut(2), &cluster)
        .is_empty());
    cluster.truncate(3, 0, 1);
    let violations = strong(&checkers.observe(20, NodeId::Broker(b(3)), &cut(1), &cluster));
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].offsets, vec![o(1)]);
}

#[test]
fn a_new_leader_is_compared_with_every_member_below_its_high_watermark() {
    let mut cluster = cluster_with_member_behind(&[1, 2, 3]);
    // A superseded leader of an older epoch presumes leadership too (TLA+'s
    // `ReplicaPresumesLeadership`): it is judged like any other.
    cluster.replica_mut(2, 0).role = ReplicaRole::Leader;
    cluster.replica_mut(2, 0).high_watermark = o(1);
    let became_leader = Event::BecameLeader {
        partition: p(0),
        leader_epoch: e(1),
        isr: vec![b(1), b(2), b(3)],
        log_end_offset: o(2),
    };
    let mut checkers = ReplicaCheckers::new();
    let violations = strong(&checkers.observe(10, NodeId::Broker(b(1)), &became_leader, &cluster));
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0].description.contains("leader b1"),
        "{}",
        violations[0]
    );
}
