//! Who may join an ISR through AlterPartition (`ineligibleReplicasForIsr`): refused when
//! fenced, in controlled shutdown or unregistered (KIP-841) or named with a stale broker
//! epoch (KIP-903), and what each switch lets back in.

use super::*;
use crate::bugs::{BugSwitch, BugSwitches};

/// Three registered brokers (broker `i` has epoch `i`), broker 1 leading P0 with ISR
/// {1,2,3}, and the switches on.
fn cluster(switches: &[BugSwitch]) -> Controller {
    let (controller, _disk) = three_registered();
    let mut bugs = BugSwitches::default();
    for switch in switches {
        bugs.enable(*switch);
    }
    controller.with_bug_switches(bugs)
}

/// Broker 3's session runs out (1 and 2 heartbeat at 5 s): it is fenced and leaves the
/// ISR, which becomes {1,2} at partition epoch 2.
fn fence_broker_3(controller: &mut Controller) {
    heartbeat(controller, 5_000, b(1), BrokerEpoch(1), 0);
    heartbeat(controller, 5_000, b(2), BrokerEpoch(2), 0);
    fire_due_timers(controller, SESSION_TIMEOUT_MS);
    let state = partition(controller, P0);
    assert_eq!(
        (state.isr, state.partition_epoch),
        (brokers(&[1, 2]), PartitionEpoch(2))
    );
    assert!(controller.state.brokers[&b(3)].fenced);
}

/// Broker 3, fenced, registers again as a new incarnation (epoch 4) and is unfenced.
fn restart_broker_3(controller: &mut Controller) {
    register(controller, SESSION_TIMEOUT_MS + 1, b(3), 2);
    assert_eq!(broker_epoch(controller, b(3)), BrokerEpoch(4));
    assert!(!controller.state.brokers[&b(3)].fenced);
}

/// At `now_ms`, leader `leader` (with its own broker epoch) proposes `members` with these
/// broker epochs at the partition's current epochs; returns the marks of the answer.
fn propose(
    controller: &mut Controller,
    now_ms: u64,
    leader: u32,
    members: &[(u32, Option<u64>)],
) -> Vec<Mark> {
    let state = partition(controller, P0);
    let leader_epoch_of_broker = broker_epoch(controller, b(leader));
    let effects = controller.handle(
        now_ms,
        message(
            b(leader),
            Message::AlterPartition(AlterPartitionRequest {
                broker: b(leader),
                broker_epoch: leader_epoch_of_broker,
                partition: P0,
                leader_epoch: state.leader_epoch,
                partition_epoch: state.partition_epoch,
                new_isr_with_epochs: members
                    .iter()
                    .map(|&(broker, epoch)| BrokerState {
                        broker_id: b(broker),
                        broker_epoch: epoch.map(BrokerEpoch),
                    })
                    .collect(),
            }),
        ),
    );
    marks(&effects)
}

/// After [`fence_broker_3`] (and [`restart_broker_3`]), while brokers 1 and 2 are in session.
const AFTER_FENCE_MS: u64 = SESSION_TIMEOUT_MS + 2;

const FENCED: BugSwitch = BugSwitch::IsrAcceptsFencedReplicas;
const STALE: BugSwitch = BugSwitch::IsrAcceptsStaleBrokerEpoch;

#[test]
fn a_fenced_replica_is_refused_unless_isr_accepts_fenced_replicas() {
    let proposal = [(1, Some(1)), (2, Some(2)), (3, Some(3))];
    for switches in [&[][..], &[STALE][..]] {
        let mut controller = cluster(switches);
        fence_broker_3(&mut controller);
        assert_eq!(
            propose(&mut controller, AFTER_FENCE_MS, 1, &proposal),
            vec![Mark::AlterPartitionRejected],
            "{switches:?}"
        );
        assert_eq!(partition(&controller, P0).isr, brokers(&[1, 2]));
    }
    let mut controller = cluster(&[FENCED]);
    fence_broker_3(&mut controller);
    assert_eq!(
        propose(&mut controller, AFTER_FENCE_MS, 1, &proposal),
        vec![Mark::AlterPartitionAccepted, Mark::IsrAcceptedFencedReplica]
    );
    let state = partition(&controller, P0);
    assert_eq!(
        (state.isr, state.partition_epoch),
        (brokers(&[1, 2, 3]), PartitionEpoch(3))
    );
}

#[test]
fn a_replica_in_controlled_shutdown_is_refused_unless_isr_accepts_fenced_replicas() {
    for (switches, accepted) in [(&[][..], false), (&[FENCED][..], true)] {
        let mut controller = cluster(switches);
        // Broker 1 asks to shut down while leading P0: it enters controlled shutdown,
        // leaves the ISR and broker 2 leads.
        full_heartbeat(&mut controller, 100, 1, true);
        assert!(controller.state.brokers[&b(1)].in_controlled_shutdown);
        assert_eq!(partition(&controller, P0).leader, Some(b(2)));
        let marks = propose(
            &mut controller,
            200,
            2,
            &[(1, Some(1)), (2, Some(2)), (3, Some(3))],
        );
        let expected = if accepted {
            vec![Mark::AlterPartitionAccepted, Mark::IsrAcceptedFencedReplica]
        } else {
            vec![Mark::AlterPartitionRejected]
        };
        assert_eq!(marks, expected, "{switches:?}");
        assert_eq!(partition(&controller, P0).isr.contains(&b(1)), accepted);
    }
}

#[test]
fn an_unregistered_replica_is_refused_unless_isr_accepts_fenced_replicas() {
    // Four replicas, four brokers, and broker 4 never registers: the controller created
    // the partition with all four in the ISR and removes nobody who never registered, so
    // a shrink that keeps broker 4 names an unregistered replica.
    for (switches, accepted) in [(&[][..], false), (&[FENCED][..], true)] {
        let (mut controller, _disk) = started(topic(1, 4, false), 4);
        // Broker 1, the preferred replica, is elected as soon as it registers.
        for broker in 1..=3 {
            register(&mut controller, 0, b(broker), 1);
        }
        assert_eq!(partition(&controller, P0).leader, Some(b(1)));
        let mut bugs = BugSwitches::default();
        for switch in switches {
            bugs.enable(*switch);
        }
        let mut controller = controller.with_bug_switches(bugs);
        assert!(!controller.state.brokers.contains_key(&b(4)));
        let marks = propose(
            &mut controller,
            100,
            1,
            &[(1, Some(1)), (2, Some(2)), (4, None)],
        );
        assert_eq!(
            marks.contains(&Mark::AlterPartitionAccepted),
            accepted,
            "{marks:?}"
        );
        assert_eq!(marks.contains(&Mark::IsrAcceptedFencedReplica), accepted);
    }
}

#[test]
fn a_member_named_with_its_previous_incarnations_epoch_is_refused_unless_the_switch_is_on() {
    // Broker 3 is fenced, registers again (epoch 4), and the leader still names it with
    // the epoch of the fetches it judged it on: 3.
    let proposal = [(1, Some(1)), (2, Some(2)), (3, Some(3))];
    for switches in [&[][..], &[FENCED][..]] {
        let mut controller = cluster(switches);
        fence_broker_3(&mut controller);
        restart_broker_3(&mut controller);
        assert_eq!(
            propose(&mut controller, AFTER_FENCE_MS, 1, &proposal),
            vec![Mark::AlterPartitionRejected],
            "{switches:?}"
        );
        assert_eq!(partition(&controller, P0).isr, brokers(&[1, 2]));
    }
    let mut controller = cluster(&[STALE]);
    fence_broker_3(&mut controller);
    restart_broker_3(&mut controller);
    assert_eq!(
        propose(&mut controller, AFTER_FENCE_MS, 1, &proposal),
        vec![
            Mark::AlterPartitionAccepted,
            Mark::IsrAcceptedStaleBrokerEpoch
        ]
    );
    assert_eq!(partition(&controller, P0).isr, brokers(&[1, 2, 3]));
    // With the current epoch the member is accepted without any switch, and no mark says
    // a switch was needed.
    let mut controller = cluster(&[]);
    fence_broker_3(&mut controller);
    restart_broker_3(&mut controller);
    assert_eq!(
        propose(
            &mut controller,
            AFTER_FENCE_MS,
            1,
            &[(1, Some(1)), (2, Some(2)), (3, Some(4))]
        ),
        vec![Mark::AlterPartitionAccepted]
    );
}

#[test]
fn a_fenced_member_with_a_stale_epoch_needs_both_switches() {
    // Broker 3 is fenced and named with an epoch it never had: either check refuses it.
    let proposal = [(1, Some(1)), (2, Some(2)), (3, Some(99))];
    for switches in [&[][..], &[FENCED][..], &[STALE][..]] {
        let mut controller = cluster(switches);
        fence_broker_3(&mut controller);
        assert_eq!(
            propose(&mut controller, AFTER_FENCE_MS, 1, &proposal),
            vec![Mark::AlterPartitionRejected],
            "{switches:?}"
        );
    }
    let mut controller = cluster(&[FENCED, STALE]);
    fence_broker_3(&mut controller);
    assert_eq!(
        propose(&mut controller, AFTER_FENCE_MS, 1, &proposal),
        vec![
            Mark::AlterPartitionAccepted,
            Mark::IsrAcceptedFencedReplica,
            Mark::IsrAcceptedStaleBrokerEpoch
        ]
    );
}

#[test]
fn the_switches_leave_the_other_checks_alone() {
    // A member outside the replicas, a stale partition epoch and a stale sender epoch are
    // refused with both switches on, as before the KIPs.
    let mut controller = cluster(&[FENCED, STALE]);
    assert_eq!(
        propose(&mut controller, 100, 1, &[(1, Some(1)), (9, None)]),
        vec![Mark::AlterPartitionRejected]
    );
    let effects = alter_partition(
        &mut controller,
        100,
        b(1),
        BrokerEpoch(1),
        LeaderEpoch(1),
        PartitionEpoch(0),
        &[1, 2],
    );
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::AlterPartitionRejected),
            alter_response(1, Err(ErrorCode::InvalidUpdateVersion)),
        ]
    );
    let effects = alter_partition(
        &mut controller,
        100,
        b(1),
        BrokerEpoch(7),
        LeaderEpoch(1),
        PartitionEpoch(1),
        &[1, 2],
    );
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::AlterPartitionRejected),
            alter_response(1, Err(ErrorCode::StaleBrokerEpoch)),
        ]
    );
}
