use crate::checkers::test_support::*;
use crate::checkers::Checker;
use crate::checkers::ReplicaCheckers;
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::NodeId;
use watermark_broker_core::replica_view::ReplicaRole;

fn hw(from: u64, to: u64) -> Event {
    Event::HighWatermarkUpdated {
        partition: p(0),
        from: o(from),
        to: o(to),
    }
}

fn isr_grew(from: &[u32], to: &[u32]) -> Event {
    Event::IsrUpdated {
        partition: p(0),
        from: from.iter().map(|broker| b(*broker)).collect(),
        to: to.iter().map(|broker| b(*broker)).collect(),
    }
}

/// Broker 1 leads with ISR view {1,2,3} over offsets 0 and 1; broker 2 has both, broker 3
/// only offset 0.
fn leader_and_a_member_behind() -> FakeCluster {
    let mut cluster = FakeCluster::new(&[1, 2, 3]);
    let log = [(0, 1, 10), (1, 1, 11)];
    cluster.set_replica(1, 0, ReplicaRole::Leader, 1, &[1, 2, 3], &log);
    cluster.set_replica(2, 0, ReplicaRole::Follower, 1, &[], &log);
    cluster.set_replica(3, 0, ReplicaRole::Follower, 1, &[], &[(0, 1, 10)]);
    cluster
}

#[test]
fn high_watermark_advancing_past_a_record_an_isr_member_lacks_is_caught() {
    let cluster = leader_and_a_member_behind();
    let mut checkers = ReplicaCheckers::new();
    let violations = only(
        &checkers.observe(10, NodeId::Broker(b(1)), &hw(0, 2), &cluster),
        "WeakIsr",
    );
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].checker, Checker::WeakIsr);
    assert_eq!(violations[0].partition, Some(p(0)));
    assert_eq!(violations[0].offsets, vec![o(1)]);
    assert_eq!(violations[0].values, vec![11]);
    assert!(
        violations[0].description.contains("b3"),
        "{}",
        violations[0]
    );
}

#[test]
fn isr_member_with_a_different_record_is_caught() {
    let mut cluster = FakeCluster::new(&[1, 2]);
    cluster.set_replica(
        1,
        0,
        ReplicaRole::Leader,
        2,
        &[1, 2],
        &[(0, 1, 10), (1, 2, 11)],
    );
    cluster.set_replica(
        2,
        0,
        ReplicaRole::Follower,
        2,
        &[],
        &[(0, 1, 10), (1, 1, 99)],
    );
    let mut checkers = ReplicaCheckers::new();
    let violations = checkers.observe(10, NodeId::Broker(b(1)), &hw(1, 2), &cluster);
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].values, vec![11, 99]);
}

#[test]
fn replicated_records_dead_members_and_followers_pass() {
    let mut cluster = FakeCluster::new(&[1, 2, 3]);
    let log = [(0, 1, 10), (1, 1, 11)];
    cluster.set_replica(1, 0, ReplicaRole::Leader, 1, &[1, 2, 3], &log);
    cluster.set_replica(2, 0, ReplicaRole::Follower, 1, &[1, 2], &log);
    cluster.set_replica(3, 0, ReplicaRole::Follower, 1, &[], &[]);
    cluster.stop(3);
    let mut checkers = ReplicaCheckers::new();
    assert!(checkers
        .observe(10, NodeId::Broker(b(1)), &hw(0, 2), &cluster)
        .is_empty());
    // A follower's high watermark is not a commitment.
    assert!(checkers
        .observe(11, NodeId::Broker(b(2)), &hw(0, 2), &cluster)
        .is_empty());
}

#[test]
fn a_restarted_member_is_not_judged_before_it_is_back_in_service() {
    let mut cluster = leader_and_a_member_behind();
    cluster.restart_unregistered(3);
    let mut checkers = ReplicaCheckers::new();
    assert!(checkers
        .observe(10, NodeId::Broker(b(1)), &hw(0, 2), &cluster)
        .is_empty());
}

#[test]
fn a_member_added_to_the_leaders_view_must_hold_the_whole_committed_prefix() {
    let mut cluster = leader_and_a_member_behind();
    cluster.replica_mut(1, 0).isr = vec![b(1), b(2)];
    cluster.replica_mut(1, 0).high_watermark = o(2);
    let mut checkers = ReplicaCheckers::new();
    // Broker 2 joins: it holds everything.
    assert!(checkers
        .observe(10, NodeId::Broker(b(1)), &isr_grew(&[1], &[1, 2]), &cluster)
        .is_empty());
    // Broker 3 joins without offset 1, which is below the high watermark.
    cluster.replica_mut(1, 0).isr = vec![b(1), b(2), b(3)];
    let violations = checkers.observe(
        20,
        NodeId::Broker(b(1)),
        &isr_grew(&[1, 2], &[1, 2, 3]),
        &cluster,
    );
    let weak = only(&violations, "WeakIsr");
    assert_eq!(weak.len(), 1, "{violations:?}");
    assert_eq!(weak[0].offsets, vec![o(1)]);
    assert!(weak[0].description.contains("b3"), "{}", weak[0]);
}
