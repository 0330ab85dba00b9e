//! The controller's handler tests: exact effects for registration, fencing, elections,
//! AlterPartition and recovery.

use super::*;
use crate::actor::fire_due_timers;
use crate::ids::PartitionEpoch;
use crate::mark::Mark;
use crate::metadata::PartitionState;
use crate::protocol::MetadataRequest;
use crate::protocol::{AlterPartitionRequest, BrokerHeartbeatRequest, BrokerRegistrationRequest};
use crate::storage::MemoryStorage;
use crate::topic::TopicPartition;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const SESSION_TIMEOUT_MS: u64 = 9_000;
const P0: TopicPartition = TopicPartition::of_default_topic(0);

/// A disk the test keeps a handle on, so it can read sync counts and restart the
/// controller over a copy of what was written.
#[derive(Clone, Default)]
struct SharedStorage(Arc<Mutex<MemoryStorage>>);

impl SharedStorage {
    fn snapshot(&self) -> MemoryStorage {
        self.0.lock().unwrap().clone()
    }

    fn sync_count(&self) -> u64 {
        let disk = self.0.lock().unwrap();
        disk.sync_counts
            .get(CONTROLLER_STATE_FILE)
            .copied()
            .unwrap_or(0)
    }
}

impl Storage for SharedStorage {
    fn append(&mut self, file: &str, bytes: &[u8]) {
        self.0.lock().unwrap().append(file, bytes);
    }
    fn truncate(&mut self, file: &str, length_bytes: u64) {
        self.0.lock().unwrap().truncate(file, length_bytes);
    }
    fn replace(&mut self, file: &str, bytes: &[u8]) {
        self.0.lock().unwrap().replace(file, bytes);
    }
    fn read(&self, file: &str) -> Vec<u8> {
        self.0.lock().unwrap().read(file)
    }
    fn sync(&mut self, file: &str) {
        self.0.lock().unwrap().sync(file);
    }
}

fn b(id: u32) -> BrokerId {
    BrokerId(id)
}

fn brokers(ids: &[u32]) -> Vec<BrokerId> {
    ids.iter().copied().map(BrokerId).collect()
}

fn topic(partitions: u32, replication_factor: u32, unclean: bool) -> TopicConfig {
    TopicConfig {
        partitions,
        replication_factor,
        unclean_leader_election_enable: unclean,
        ..TopicConfig::default()
    }
}

fn config() -> ControllerConfig {
    ControllerConfig {
        broker_session_timeout_ms: SESSION_TIMEOUT_MS,
    }
}

/// A controller over `broker_count` brokers, started at time 0 on an empty disk.
fn started(topic: TopicConfig, broker_count: u32) -> (Controller, SharedStorage) {
    let disk = SharedStorage::default();
    // Given unsorted on purpose: the controller sorts.
    let ids: Vec<BrokerId> = (1..=broker_count).rev().map(BrokerId).collect();
    let mut controller = Controller::new(config(), vec![topic], ids, Box::new(disk.clone()));
    assert_eq!(controller.next_deadline_ms(), None);
    assert_eq!(controller.handle(0, Input::Start), vec![]);
    assert_eq!(disk.sync_count(), 1, "the created topic is persisted");
    (controller, disk)
}

fn message(broker: BrokerId, message: Message) -> Input {
    Input::Message {
        from: NodeId::Broker(broker),
        message,
    }
}

fn register(
    controller: &mut Controller,
    now_ms: u64,
    broker: BrokerId,
    incarnation: u64,
) -> Vec<Effect> {
    controller.handle(
        now_ms,
        message(
            broker,
            Message::BrokerRegistration(BrokerRegistrationRequest {
                broker,
                incarnation,
            }),
        ),
    )
}

fn heartbeat(
    controller: &mut Controller,
    now_ms: u64,
    broker: BrokerId,
    broker_epoch: BrokerEpoch,
    metadata_version: u64,
) -> Vec<Effect> {
    controller.handle(
        now_ms,
        message(
            broker,
            Message::BrokerHeartbeat(BrokerHeartbeatRequest {
                broker,
                broker_epoch,
                metadata_version,
            }),
        ),
    )
}

fn alter_partition(
    controller: &mut Controller,
    now_ms: u64,
    broker: BrokerId,
    broker_epoch: BrokerEpoch,
    leader_epoch: LeaderEpoch,
    partition_epoch: PartitionEpoch,
    new_isr: &[u32],
) -> Vec<Effect> {
    controller.handle(
        now_ms,
        message(
            broker,
            Message::AlterPartition(AlterPartitionRequest {
                broker,
                broker_epoch,
                partition: P0,
                leader_epoch,
                partition_epoch,
                new_isr: brokers(new_isr),
            }),
        ),
    )
}

fn broker_epoch(controller: &Controller, broker: BrokerId) -> BrokerEpoch {
    controller.state.brokers[&broker].broker_epoch
}

fn partition(controller: &Controller, partition: TopicPartition) -> PartitionState {
    controller.metadata().partitions[&partition].clone()
}

fn pushes(controller: &Controller, to: &[u32]) -> Vec<Effect> {
    to.iter()
        .map(|broker| Effect::Send {
            to: NodeId::Broker(b(*broker)),
            message: Message::MetadataUpdate(MetadataUpdate {
                metadata: controller.metadata().clone(),
            }),
        })
        .collect()
}

fn registration_response(
    controller: &Controller,
    broker: BrokerId,
    broker_epoch: BrokerEpoch,
) -> Effect {
    Effect::Send {
        to: NodeId::Broker(broker),
        message: Message::BrokerRegistrationResponse(BrokerRegistrationResponse {
            broker_epoch,
            metadata: controller.metadata().clone(),
        }),
    }
}

fn registered(broker: u32, epoch: u64) -> Vec<Effect> {
    vec![
        Effect::Event(Event::BrokerRegistered {
            broker: b(broker),
            broker_epoch: BrokerEpoch(epoch),
        }),
        Effect::Mark(Mark::BrokerRegistered),
    ]
}

fn fenced(broker: u32) -> Vec<Effect> {
    vec![
        Effect::Event(Event::BrokerFenced { broker: b(broker) }),
        Effect::Mark(Mark::BrokerFenced),
    ]
}

fn elected(
    leader: Option<u32>,
    leader_epoch: u32,
    isr: &[u32],
    partition_epoch: u32,
    unclean: bool,
) -> Effect {
    Effect::Event(Event::LeaderElected {
        partition: P0,
        leader: leader.map(BrokerId),
        leader_epoch: LeaderEpoch(leader_epoch),
        isr: brokers(isr),
        partition_epoch: PartitionEpoch(partition_epoch),
        unclean,
    })
}

fn alter_response(broker: u32, result: Result<PartitionState, ErrorCode>) -> Effect {
    Effect::Send {
        to: NodeId::Broker(b(broker)),
        message: Message::AlterPartitionResponse(AlterPartitionResponse {
            partition: P0,
            result,
        }),
    }
}

fn concat(parts: Vec<Vec<Effect>>) -> Vec<Effect> {
    parts.into_iter().flatten().collect()
}

/// Registers brokers 1..=n at time 0, in order; broker `i` gets epoch `i`.
fn register_all(controller: &mut Controller, broker_count: u32) {
    for broker in 1..=broker_count {
        register(controller, 0, b(broker), 1);
    }
}

#[test]
fn first_election_picks_preferred_replica_once_registered() {
    let (mut controller, disk) = started(topic(1, 3, false), 3);
    assert_eq!(controller.next_deadline_ms(), Some(SESSION_TIMEOUT_MS));

    // A non-preferred replica registers first: the partition waits for broker 1.
    let effects = register(&mut controller, 10, b(2), 1);
    assert_eq!(controller.metadata().version, 2);
    assert_eq!(controller.metadata().live_brokers, brokers(&[2]));
    assert_eq!(partition(&controller, P0).leader, None);
    assert_eq!(
        effects,
        concat(vec![
            registered(2, 1),
            vec![registration_response(&controller, b(2), BrokerEpoch(1))],
            pushes(&controller, &[2]),
        ])
    );

    let effects = register(&mut controller, 20, b(1), 1);
    assert_eq!(
        partition(&controller, P0),
        PartitionState {
            partition: P0,
            replicas: brokers(&[1, 2, 3]),
            leader: Some(b(1)),
            leader_epoch: LeaderEpoch(1),
            isr: brokers(&[1, 2, 3]),
            partition_epoch: PartitionEpoch(1),
        }
    );
    assert_eq!(controller.metadata().version, 3);
    assert_eq!(
        effects,
        concat(vec![
            registered(1, 2),
            vec![
                elected(Some(1), 1, &[1, 2, 3], 1, false),
                Effect::Mark(Mark::CleanElection),
                registration_response(&controller, b(1), BrokerEpoch(2)),
            ],
            pushes(&controller, &[1, 2]),
        ])
    );
    assert_eq!(disk.sync_count(), 3, "every change is synced");
    // No partition waits for a first election any more: only the sessions remain.
    assert_eq!(controller.next_deadline_ms(), Some(10 + SESSION_TIMEOUT_MS));
}

#[test]
fn first_election_falls_back_to_any_isr_member_after_session_timeout() {
    let (mut controller, _disk) = started(topic(1, 3, false), 3);
    register(&mut controller, 10, b(2), 1);
    heartbeat(&mut controller, 5_000, b(2), BrokerEpoch(1), 2);
    assert_eq!(controller.next_deadline_ms(), Some(SESSION_TIMEOUT_MS));

    let effects = fire_due_timers(&mut controller, SESSION_TIMEOUT_MS);
    assert_eq!(
        effects,
        concat(vec![
            vec![
                elected(Some(2), 1, &[1, 2, 3], 1, false),
                Effect::Mark(Mark::CleanElection),
            ],
            pushes(&controller, &[2]),
        ])
    );
    assert_eq!(
        controller.next_deadline_ms(),
        Some(5_000 + SESSION_TIMEOUT_MS)
    );
}

#[test]
fn session_expiry_fences_broker_and_elects_from_isr() {
    let (mut controller, _disk) = started(topic(1, 3, false), 3);
    register_all(&mut controller, 3);
    assert_eq!(partition(&controller, P0).leader, Some(b(1)));
    heartbeat(&mut controller, 5_000, b(2), BrokerEpoch(2), 0);
    heartbeat(&mut controller, 5_000, b(3), BrokerEpoch(3), 0);
    assert_eq!(controller.next_deadline_ms(), Some(SESSION_TIMEOUT_MS));
    assert_eq!(
        fire_due_timers(&mut controller, SESSION_TIMEOUT_MS - 1),
        vec![]
    );

    let effects = fire_due_timers(&mut controller, SESSION_TIMEOUT_MS);
    assert_eq!(
        effects,
        concat(vec![
            fenced(1),
            vec![
                elected(Some(2), 2, &[2, 3], 2, false),
                Effect::Mark(Mark::CleanElection),
                Effect::Mark(Mark::IsrShrunkByController),
            ],
            pushes(&controller, &[2, 3]),
        ])
    );
    assert_eq!(controller.metadata().live_brokers, brokers(&[2, 3]));
    assert_eq!(
        controller.next_deadline_ms(),
        Some(5_000 + SESSION_TIMEOUT_MS)
    );
    // The fenced broker's heartbeats are refused until it registers again.
    assert_eq!(
        heartbeat(
            &mut controller,
            SESSION_TIMEOUT_MS + 1,
            b(1),
            BrokerEpoch(1),
            0
        ),
        vec![Effect::Send {
            to: NodeId::Broker(b(1)),
            message: Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
                result: Err(ErrorCode::StaleBrokerEpoch),
                metadata: None,
            }),
        }]
    );
}

#[test]
fn fencing_a_follower_shrinks_isr_without_a_leader_change() {
    let (mut controller, _disk) = three_registered();
    heartbeat(&mut controller, 5_000, b(1), BrokerEpoch(1), 0);
    heartbeat(&mut controller, 5_000, b(2), BrokerEpoch(2), 0);
    let effects = fire_due_timers(&mut controller, SESSION_TIMEOUT_MS);
    assert_eq!(
        effects,
        concat(vec![
            fenced(3),
            vec![
                Effect::Event(Event::IsrAltered {
                    partition: P0,
                    isr: brokers(&[1, 2]),
                    partition_epoch: PartitionEpoch(2),
                }),
                Effect::Mark(Mark::IsrShrunkByController),
            ],
            pushes(&controller, &[1, 2]),
        ])
    );
    assert_eq!(partition(&controller, P0).leader_epoch, LeaderEpoch(1));
}

/// Two brokers; broker 1 leads and shrinks the ISR to itself; broker 2 keeps
/// heartbeating while broker 1 goes silent until its session expires at 9 s.
fn leader_alone_in_isr_then_silent(unclean: bool) -> (Controller, Vec<Effect>) {
    let (mut controller, _disk) = started(topic(1, 2, unclean), 2);
    register_all(&mut controller, 2);
    alter_partition(
        &mut controller,
        100,
        b(1),
        BrokerEpoch(1),
        LeaderEpoch(1),
        PartitionEpoch(1),
        &[1],
    );
    heartbeat(&mut controller, 5_000, b(2), BrokerEpoch(2), 0);
    let effects = fire_due_timers(&mut controller, SESSION_TIMEOUT_MS);
    (controller, effects)
}

#[test]
fn fencing_last_isr_member_leaves_partition_offline_and_keeps_isr() {
    let (controller, effects) = leader_alone_in_isr_then_silent(false);
    assert_eq!(
        partition(&controller, P0),
        PartitionState {
            partition: P0,
            replicas: brokers(&[1, 2]),
            leader: None,
            leader_epoch: LeaderEpoch(2),
            isr: brokers(&[1]),
            partition_epoch: PartitionEpoch(3),
        }
    );
    assert_eq!(
        effects,
        concat(vec![
            fenced(1),
            vec![
                elected(None, 2, &[1], 3, false),
                Effect::Mark(Mark::PartitionOffline),
            ],
            pushes(&controller, &[2]),
        ])
    );
}

#[test]
fn unclean_election_picks_out_of_sync_replica_when_enabled() {
    let (controller, effects) = leader_alone_in_isr_then_silent(true);
    assert_eq!(partition(&controller, P0).leader, Some(b(2)));
    assert_eq!(partition(&controller, P0).isr, brokers(&[2]));
    assert_eq!(
        effects,
        concat(vec![
            fenced(1),
            vec![
                elected(Some(2), 2, &[2], 3, true),
                Effect::Mark(Mark::UncleanElection),
            ],
            pushes(&controller, &[2]),
        ])
    );
}

#[test]
fn offline_partition_is_elected_when_isr_member_returns() {
    let (mut controller, _effects) = leader_alone_in_isr_then_silent(false);
    // Broker 2 is alive but out of sync: with unclean election off it cannot lead.
    heartbeat(&mut controller, 10_000, b(2), BrokerEpoch(2), 0);
    assert_eq!(partition(&controller, P0).leader, None);

    let effects = register(&mut controller, 10_000, b(1), 1);
    assert_eq!(
        effects,
        concat(vec![
            registered(1, 3),
            vec![
                elected(Some(1), 3, &[1], 4, false),
                Effect::Mark(Mark::CleanElection),
                registration_response(&controller, b(1), BrokerEpoch(3)),
            ],
            pushes(&controller, &[1, 2]),
        ])
    );
}

#[test]
fn offline_partition_is_elected_unclean_when_a_replica_returns_and_unclean_is_enabled() {
    // Broker 1 leads alone; broker 2 is fenced first (at 9 s), then broker 1 (at 9.1 s),
    // which leaves no unfenced replica: offline.
    let (mut controller, _disk) = started(topic(1, 2, true), 2);
    register_all(&mut controller, 2);
    alter_partition(
        &mut controller,
        100,
        b(1),
        BrokerEpoch(1),
        LeaderEpoch(1),
        PartitionEpoch(1),
        &[1],
    );
    heartbeat(&mut controller, 100, b(1), BrokerEpoch(1), 0);
    fire_due_timers(&mut controller, SESSION_TIMEOUT_MS);
    assert_eq!(partition(&controller, P0).leader, Some(b(1)));
    fire_due_timers(&mut controller, 100 + SESSION_TIMEOUT_MS);
    assert_eq!(partition(&controller, P0).leader, None);
    assert_eq!(partition(&controller, P0).isr, brokers(&[1]));

    let effects = register(&mut controller, 20_000, b(2), 1);
    assert_eq!(
        effects,
        concat(vec![
            registered(2, 3),
            vec![
                elected(Some(2), 3, &[2], 4, true),
                Effect::Mark(Mark::UncleanElection),
                registration_response(&controller, b(2), BrokerEpoch(3)),
            ],
            pushes(&controller, &[2]),
        ])
    );
}

/// Three brokers registered at 0; broker 1 leads p0 in epoch 1, partition epoch 1.
fn three_registered() -> (Controller, SharedStorage) {
    let (mut controller, disk) = started(topic(1, 3, false), 3);
    register_all(&mut controller, 3);
    (controller, disk)
}

fn assert_rejected(
    controller: &mut Controller,
    disk: &SharedStorage,
    effects_of: impl FnOnce(&mut Controller) -> Vec<Effect>,
    sender: u32,
    error: ErrorCode,
) {
    let before = controller.metadata().clone();
    let syncs_before = disk.sync_count();
    let effects = effects_of(controller);
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::AlterPartitionRejected),
            alter_response(sender, Err(error)),
        ]
    );
    assert_eq!(
        *controller.metadata(),
        before,
        "a rejection changes nothing"
    );
    assert_eq!(
        disk.sync_count(),
        syncs_before,
        "a rejection persists nothing"
    );
}

#[test]
fn alter_partition_rejects_stale_partition_epoch() {
    let (mut controller, disk) = three_registered();
    assert_rejected(
        &mut controller,
        &disk,
        |controller| {
            alter_partition(
                controller,
                100,
                b(1),
                BrokerEpoch(1),
                LeaderEpoch(1),
                PartitionEpoch(0),
                &[1, 2],
            )
        },
        1,
        ErrorCode::InvalidUpdateVersion,
    );
}

#[test]
fn alter_partition_rejects_stale_broker_epoch() {
    let (mut controller, disk) = three_registered();
    let stale = |controller: &mut Controller| {
        alter_partition(
            controller,
            100,
            b(1),
            BrokerEpoch(7),
            LeaderEpoch(1),
            PartitionEpoch(1),
            &[1, 2],
        )
    };
    assert_rejected(
        &mut controller,
        &disk,
        stale,
        1,
        ErrorCode::StaleBrokerEpoch,
    );
    // A broker the cluster does not have is answered the same way.
    let unknown = |controller: &mut Controller| {
        alter_partition(
            controller,
            100,
            b(9),
            BrokerEpoch(1),
            LeaderEpoch(1),
            PartitionEpoch(1),
            &[9],
        )
    };
    assert_rejected(
        &mut controller,
        &disk,
        unknown,
        9,
        ErrorCode::StaleBrokerEpoch,
    );
}

#[test]
fn alter_partition_rejects_fenced_leader_epoch() {
    let (mut controller, disk) = three_registered();
    let old_epoch = |controller: &mut Controller| {
        alter_partition(
            controller,
            100,
            b(1),
            BrokerEpoch(1),
            LeaderEpoch(0),
            PartitionEpoch(1),
            &[1, 2],
        )
    };
    assert_rejected(
        &mut controller,
        &disk,
        old_epoch,
        1,
        ErrorCode::FencedLeaderEpoch,
    );
    // A follower proposing an ISR is not the leader, whatever epochs it sends.
    let not_leader = |controller: &mut Controller| {
        alter_partition(
            controller,
            100,
            b(2),
            BrokerEpoch(2),
            LeaderEpoch(1),
            PartitionEpoch(1),
            &[1, 2],
        )
    };
    assert_rejected(
        &mut controller,
        &disk,
        not_leader,
        2,
        ErrorCode::FencedLeaderEpoch,
    );
}

#[test]
fn alter_partition_rejects_ineligible_replica() {
    let (mut controller, disk) = started(topic(1, 3, false), 4);
    register_all(&mut controller, 4);
    // Shrink to {1, 2}, then let broker 3 be fenced.
    alter_partition(
        &mut controller,
        100,
        b(1),
        BrokerEpoch(1),
        LeaderEpoch(1),
        PartitionEpoch(1),
        &[1, 2],
    );
    for broker in [1, 2, 4] {
        heartbeat(
            &mut controller,
            5_000,
            b(broker),
            BrokerEpoch(u64::from(broker)),
            0,
        );
    }
    fire_due_timers(&mut controller, SESSION_TIMEOUT_MS);
    assert!(!controller.metadata().live_brokers.contains(&b(3)));
    let partition_epoch = partition(&controller, P0).partition_epoch;
    assert_eq!(partition_epoch, PartitionEpoch(2));

    for new_isr in [&[1, 2, 3][..], &[2][..], &[1, 2, 4][..], &[][..]] {
        let propose = |controller: &mut Controller| {
            alter_partition(
                controller,
                SESSION_TIMEOUT_MS + 1,
                b(1),
                BrokerEpoch(1),
                LeaderEpoch(1),
                partition_epoch,
                new_isr,
            )
        };
        assert_rejected(
            &mut controller,
            &disk,
            propose,
            1,
            ErrorCode::IneligibleReplica,
        );
    }
}

#[test]
fn alter_partition_accepted_bumps_partition_epoch_and_pushes_metadata() {
    let (mut controller, disk) = three_registered();
    let version_before = controller.metadata().version;
    let syncs_before = disk.sync_count();
    let effects = alter_partition(
        &mut controller,
        100,
        b(1),
        BrokerEpoch(1),
        LeaderEpoch(1),
        PartitionEpoch(1),
        &[2, 1, 2],
    );
    let expected_state = PartitionState {
        partition: P0,
        replicas: brokers(&[1, 2, 3]),
        leader: Some(b(1)),
        leader_epoch: LeaderEpoch(1),
        isr: brokers(&[1, 2]),
        partition_epoch: PartitionEpoch(2),
    };
    assert_eq!(partition(&controller, P0), expected_state);
    assert_eq!(controller.metadata().version, version_before + 1);
    assert_eq!(disk.sync_count(), syncs_before + 1);
    assert_eq!(
        effects,
        concat(vec![
            vec![
                Effect::Event(Event::IsrAltered {
                    partition: P0,
                    isr: brokers(&[1, 2]),
                    partition_epoch: PartitionEpoch(2),
                }),
                Effect::Mark(Mark::AlterPartitionAccepted),
                alter_response(1, Ok(expected_state.clone())),
            ],
            pushes(&controller, &[1, 2, 3]),
        ])
    );

    // The leader may bring broker 3 back: it is registered and unfenced.
    let effects = alter_partition(
        &mut controller,
        200,
        b(1),
        BrokerEpoch(1),
        LeaderEpoch(1),
        PartitionEpoch(2),
        &[1, 2, 3],
    );
    assert_eq!(partition(&controller, P0).isr, brokers(&[1, 2, 3]));
    assert_eq!(
        partition(&controller, P0).partition_epoch,
        PartitionEpoch(3)
    );
    assert!(effects.contains(&Effect::Mark(Mark::AlterPartitionAccepted)));
}

#[test]
fn reregistration_with_new_incarnation_fences_old_one() {
    let (mut controller, _disk) = three_registered();
    let effects = register(&mut controller, 1_000, b(1), 2);
    assert_eq!(
        effects,
        concat(vec![
            fenced(1),
            vec![
                elected(Some(2), 2, &[2, 3], 2, false),
                Effect::Mark(Mark::CleanElection),
                Effect::Mark(Mark::IsrShrunkByController),
            ],
            registered(1, 4),
            vec![registration_response(&controller, b(1), BrokerEpoch(4))],
            pushes(&controller, &[1, 2, 3]),
        ])
    );
    assert_eq!(controller.metadata().live_brokers, brokers(&[1, 2, 3]));
    // The old incarnation's epoch is dead; the new one's is live.
    let stale = heartbeat(&mut controller, 1_001, b(1), BrokerEpoch(1), 0);
    assert!(matches!(
        &stale[..],
        [Effect::Send {
            message: Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
                result: Err(ErrorCode::StaleBrokerEpoch),
                ..
            }),
            ..
        }]
    ));
    let version = controller.metadata().version;
    let live = heartbeat(&mut controller, 1_001, b(1), BrokerEpoch(4), version);
    assert!(matches!(
        &live[..],
        [Effect::Send {
            message: Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
                result: Ok(()),
                ..
            }),
            ..
        }]
    ));
    // A late registration from the old incarnation is ignored.
    assert_eq!(register(&mut controller, 1_002, b(1), 1), vec![]);
    assert_eq!(broker_epoch(&controller, b(1)), BrokerEpoch(4));
}

#[test]
fn same_incarnation_registering_again_gets_a_new_epoch_and_keeps_its_leadership() {
    let (mut controller, disk) = three_registered();
    let version = controller.metadata().version;
    let syncs_before = disk.sync_count();
    let effects = register(&mut controller, 1_000, b(1), 1);
    assert_eq!(
        effects,
        concat(vec![
            registered(1, 4),
            vec![registration_response(&controller, b(1), BrokerEpoch(4))],
        ])
    );
    assert_eq!(
        controller.metadata().version,
        version,
        "the image is unchanged"
    );
    assert_eq!(
        disk.sync_count(),
        syncs_before + 1,
        "the new epoch is durable"
    );
    assert_eq!(partition(&controller, P0).leader, Some(b(1)));
}

#[test]
fn controller_recovers_state_after_restart() {
    let (mut controller, disk) = three_registered();
    alter_partition(
        &mut controller,
        100,
        b(1),
        BrokerEpoch(1),
        LeaderEpoch(1),
        PartitionEpoch(1),
        &[1, 2],
    );
    let image = controller.metadata().clone();

    let restarted_disk = SharedStorage(Arc::new(Mutex::new(disk.snapshot())));
    let mut restarted = Controller::new(
        config(),
        vec![topic(1, 3, false)],
        brokers(&[1, 2, 3]),
        Box::new(restarted_disk.clone()),
    );
    assert_eq!(
        restarted.handle(20_000, Input::Start),
        vec![Effect::Mark(Mark::ControllerRecovered)]
    );
    assert_eq!(*restarted.metadata(), image);
    // Every registered broker has a fresh session from the restart.
    assert_eq!(
        restarted.next_deadline_ms(),
        Some(20_000 + SESSION_TIMEOUT_MS)
    );
    // Brokers keep their epochs; broker epochs are never reused.
    let effects = heartbeat(&mut restarted, 20_001, b(2), BrokerEpoch(2), image.version);
    assert_eq!(
        effects,
        vec![Effect::Send {
            to: NodeId::Broker(b(2)),
            message: Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
                result: Ok(()),
                metadata: None,
            }),
        }]
    );
    let effects = register(&mut restarted, 20_002, b(3), 2);
    assert!(effects.contains(&Effect::Event(Event::BrokerRegistered {
        broker: b(3),
        broker_epoch: BrokerEpoch(4),
    })));
    // Brokers that stay silent after the restart are fenced a session later.
    heartbeat(&mut restarted, 25_000, b(2), BrokerEpoch(2), 0);
    heartbeat(&mut restarted, 25_000, b(3), BrokerEpoch(4), 0);
    let effects = fire_due_timers(&mut restarted, 20_000 + SESSION_TIMEOUT_MS);
    assert_eq!(&effects[..2], &fenced(1)[..]);
    assert_eq!(partition(&restarted, P0).leader, Some(b(2)));
}

#[test]
fn heartbeat_response_carries_image_only_when_broker_is_behind() {
    let (mut controller, _disk) = three_registered();
    let version = controller.metadata().version;
    let response = |metadata: Option<MetadataImage>| {
        vec![Effect::Send {
            to: NodeId::Broker(b(2)),
            message: Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
                result: Ok(()),
                metadata,
            }),
        }]
    };
    assert_eq!(
        heartbeat(&mut controller, 100, b(2), BrokerEpoch(2), version - 1),
        response(Some(controller.metadata().clone()))
    );
    assert_eq!(
        heartbeat(&mut controller, 100, b(2), BrokerEpoch(2), version),
        response(None)
    );
    // A heartbeat only renews the session: broker 2 now expires last.
    assert_eq!(controller.next_deadline_ms(), Some(SESSION_TIMEOUT_MS));
    heartbeat(&mut controller, 100, b(1), BrokerEpoch(1), version);
    heartbeat(&mut controller, 100, b(3), BrokerEpoch(3), version);
    assert_eq!(
        controller.next_deadline_ms(),
        Some(100 + SESSION_TIMEOUT_MS)
    );
}

#[test]
fn messages_from_unknown_or_mismatched_senders_never_panic() {
    let (mut controller, _disk) = three_registered();
    let before = controller.metadata().clone();
    assert_eq!(register(&mut controller, 1, b(9), 1), vec![]);
    let spoofed = Input::Message {
        from: NodeId::Broker(b(2)),
        message: Message::BrokerRegistration(BrokerRegistrationRequest {
            broker: b(1),
            incarnation: 5,
        }),
    };
    assert_eq!(controller.handle(1, spoofed), vec![]);
    let client = Input::Message {
        from: NodeId::Producer(crate::ids::ClientId(1)),
        message: Message::Metadata(MetadataRequest {
            correlation: crate::ids::CorrelationId(1),
        }),
    };
    assert_eq!(controller.handle(1, client), vec![]);
    let unknown_heartbeat = heartbeat(&mut controller, 1, b(9), BrokerEpoch(1), 0);
    assert_eq!(
        unknown_heartbeat,
        vec![Effect::Send {
            to: NodeId::Broker(b(9)),
            message: Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
                result: Err(ErrorCode::StaleBrokerEpoch),
                metadata: None,
            }),
        }]
    );
    assert_eq!(*controller.metadata(), before);
}

#[test]
fn inputs_before_start_are_ignored() {
    let mut controller = Controller::new(
        config(),
        vec![topic(1, 3, false)],
        brokers(&[1, 2, 3]),
        Box::new(MemoryStorage::default()),
    );
    assert_eq!(register(&mut controller, 0, b(1), 1), vec![]);
    assert_eq!(fire_due_timers(&mut controller, 0), vec![]);
    assert_eq!(controller.next_deadline_ms(), None);
    assert_eq!(controller.metadata().version, 1);
}

/// One step of the random walk in `leader_is_always_in_isr`.
#[derive(Clone, Debug)]
enum WalkStep {
    Register {
        broker: u32,
        restart: bool,
    },
    Heartbeat {
        broker: u32,
    },
    Advance {
        elapsed_ms: u64,
    },
    TickAtDeadline,
    AlterPartition {
        broker: u32,
        partition: u32,
        isr_mask: u8,
        /// Send from the current leader (if any) instead of `broker`.
        from_leader: bool,
        stale_leader_epoch: bool,
        stale_partition_epoch: bool,
    },
    RestartController,
}

const WALK_BROKERS: u32 = 4;
const WALK_PARTITIONS: u32 = 3;

fn walk_step() -> impl Strategy<Value = WalkStep> {
    prop_oneof![
        1 => (1..=WALK_BROKERS, any::<bool>())
            .prop_map(|(broker, restart)| WalkStep::Register { broker, restart }),
        3 => (1..=WALK_BROKERS).prop_map(|broker| WalkStep::Heartbeat { broker }),
        2 => (0u64..6_000).prop_map(|elapsed_ms| WalkStep::Advance { elapsed_ms }),
        1 => Just(WalkStep::TickAtDeadline),
        3 => (
            1..=WALK_BROKERS,
            0..WALK_PARTITIONS,
            any::<u8>(),
            prop::bool::weighted(0.8),
            prop::bool::weighted(0.1),
            prop::bool::weighted(0.1),
        )
            .prop_map(
                |(
                    broker,
                    partition,
                    isr_mask,
                    from_leader,
                    stale_leader_epoch,
                    stale_partition_epoch,
                )| {
                    WalkStep::AlterPartition {
                        broker,
                        partition,
                        isr_mask,
                        from_leader,
                        stale_leader_epoch,
                        stale_partition_epoch,
                    }
                }
            ),
        1 => Just(WalkStep::RestartController),
    ]
}

/// What the walk's brokers believe: their incarnation and the epoch their last
/// registration was answered with.
#[derive(Default)]
struct WalkBroker {
    incarnation: u64,
    broker_epoch: Option<BrokerEpoch>,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn leader_is_always_in_isr(
        unclean in any::<bool>(),
        replication_factor in 1u32..=3,
        steps in prop::collection::vec(walk_step(), 1..80),
    ) {
        let topic = topic(WALK_PARTITIONS, replication_factor, unclean);
        let ids: Vec<BrokerId> = (1..=WALK_BROKERS).map(BrokerId).collect();
        let mut disk = SharedStorage::default();
        let mut controller =
            Controller::new(config(), vec![topic.clone()], ids.clone(), Box::new(disk.clone()));
        let mut now_ms = 0;
        controller.handle(now_ms, Input::Start);
        let mut walk_brokers: BTreeMap<u32, WalkBroker> =
            (1..=WALK_BROKERS).map(|broker| (broker, WalkBroker::default())).collect();
        let mut leaders_by_epoch: BTreeMap<(TopicPartition, LeaderEpoch), Option<BrokerId>> =
            BTreeMap::new();
        let mut last_epochs: BTreeMap<TopicPartition, (LeaderEpoch, PartitionEpoch)> =
            BTreeMap::new();
        let mut last_version = controller.metadata().version;

        for step in steps {
            let effects = match step.clone() {
                WalkStep::Register { broker, restart } => {
                    let walk_broker = walk_brokers.get_mut(&broker).unwrap();
                    if restart || walk_broker.incarnation == 0 {
                        walk_broker.incarnation += 1;
                    }
                    let incarnation = walk_broker.incarnation;
                    register(&mut controller, now_ms, b(broker), incarnation)
                }
                WalkStep::Heartbeat { broker } => {
                    let epoch = walk_brokers[&broker].broker_epoch.unwrap_or(BrokerEpoch(0));
                    heartbeat(&mut controller, now_ms, b(broker), epoch, 0)
                }
                WalkStep::Advance { elapsed_ms } => {
                    now_ms += elapsed_ms;
                    Vec::new()
                }
                WalkStep::TickAtDeadline => match controller.next_deadline_ms() {
                    Some(deadline_ms) => {
                        now_ms = now_ms.max(deadline_ms);
                        fire_due_timers(&mut controller, now_ms)
                    }
                    None => fire_due_timers(&mut controller, now_ms),
                },
                WalkStep::AlterPartition {
                    broker,
                    partition,
                    isr_mask,
                    from_leader,
                    stale_leader_epoch,
                    stale_partition_epoch,
                } => {
                    let current = controller.metadata().partitions[&TopicPartition::of_default_topic(partition)].clone();
                    let broker = match current.leader {
                        Some(leader) if from_leader => leader.0,
                        _ => broker,
                    };
                    // Mostly replicas of the partition (bits 1..=4); bit 5 adds a
                    // broker that is not one.
                    let mut new_isr: Vec<BrokerId> = current
                        .replicas
                        .iter()
                        .copied()
                        .filter(|member| isr_mask & (1 << member.0) != 0)
                        .collect();
                    if isr_mask & (1 << 5) != 0 {
                        new_isr.extend(
                            ids.iter().copied().filter(|id| !current.replicas.contains(id)),
                        );
                    }
                    if isr_mask & 1 != 0 {
                        new_isr.push(b(broker));
                    }
                    let leader_epoch = LeaderEpoch(
                        current.leader_epoch.0.saturating_sub(u32::from(stale_leader_epoch)),
                    );
                    let partition_epoch = PartitionEpoch(
                        current.partition_epoch.0.saturating_sub(u32::from(stale_partition_epoch)),
                    );
                    let epoch = walk_brokers[&broker].broker_epoch.unwrap_or(BrokerEpoch(0));
                    controller.handle(
                        now_ms,
                        message(
                            b(broker),
                            Message::AlterPartition(AlterPartitionRequest {
                                broker: b(broker),
                                broker_epoch: epoch,
                                partition: TopicPartition::of_default_topic(partition),
                                leader_epoch,
                                partition_epoch,
                                new_isr,
                            }),
                        ),
                    )
                }
                WalkStep::RestartController => {
                    disk = SharedStorage(Arc::new(Mutex::new(disk.snapshot())));
                    controller = Controller::new(
                        config(),
                        vec![topic.clone()],
                        ids.clone(),
                        Box::new(disk.clone()),
                    );
                    controller.handle(now_ms, Input::Start)
                }
            };

            for effect in &effects {
                match effect {
                    Effect::Send {
                        to: NodeId::Broker(broker),
                        message: Message::BrokerRegistrationResponse(BrokerRegistrationResponse { broker_epoch, .. }),
                    } => {
                        walk_brokers.get_mut(&broker.0).unwrap().broker_epoch =
                            Some(*broker_epoch);
                    }
                    Effect::Event(Event::LeaderElected {
                        partition,
                        leader,
                        leader_epoch,
                        ..
                    }) => {
                        let known = leaders_by_epoch
                            .entry((*partition, *leader_epoch))
                            .or_insert(*leader);
                        prop_assert_eq!(*known, *leader, "two leaders in one epoch");
                    }
                    _ => {}
                }
            }

            let image = controller.metadata();
            prop_assert!(image.version >= last_version, "image version went back");
            last_version = image.version;
            for (partition, state) in &image.partitions {
                if let Some(leader) = state.leader {
                    prop_assert!(
                        state.isr.contains(&leader),
                        "leader {} not in ISR {:?}", leader, state.isr
                    );
                    prop_assert!(image.live_brokers.contains(&leader));
                }
                prop_assert!(!state.isr.is_empty());
                let known = leaders_by_epoch
                    .entry((*partition, state.leader_epoch))
                    .or_insert(state.leader);
                prop_assert_eq!(*known, state.leader, "two leaders in one epoch");
                let epochs = (state.leader_epoch, state.partition_epoch);
                let previous = last_epochs.insert(*partition, epochs);
                if let Some((leader_epoch, partition_epoch)) = previous {
                    prop_assert!(state.leader_epoch >= leader_epoch, "leader epoch went back");
                    prop_assert!(
                        state.partition_epoch >= partition_epoch,
                        "partition epoch went back"
                    );
                    prop_assert!(
                        state.leader_epoch == leader_epoch
                            || state.partition_epoch > partition_epoch,
                        "leader changed without a partition epoch bump"
                    );
                }
            }
            // Only a handled input lets the controller see `now_ms`.
            let handled = !matches!(step, WalkStep::Advance { .. });
            if let Some(deadline_ms) = controller.next_deadline_ms().filter(|_| handled) {
                prop_assert!(deadline_ms > now_ms, "deadline {} not after now {}", deadline_ms, now_ms);
            }
        }
    }
}
