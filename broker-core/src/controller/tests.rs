//! The controller's handler tests: exact effects for registration, fencing, elections,
//! AlterPartition and recovery. Producer-id blocks are in `tests/producer_ids.rs`.

mod isr_eligibility;
mod producer_ids;

use super::*;
use crate::actor::fire_due_timers;
use crate::ids::PartitionEpoch;
use crate::mark::Mark;
use crate::metadata::PartitionState;
use crate::protocol::MetadataRequest;
use crate::protocol::{
    AlterPartitionRequest, BrokerHeartbeatRequest, BrokerRegistrationRequest, BrokerState,
};
use crate::reason::{LeaderRule, PartitionChangeCause};
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
        eligible_leader_replicas_enable: false,
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

/// Registers a broker (it starts fenced) and sends the heartbeat its broker would send at
/// once, caught up with the image of the reply, which unfences it. Returns the effects of
/// both.
fn register(
    controller: &mut Controller,
    now_ms: u64,
    broker: BrokerId,
    incarnation: u64,
) -> Vec<Effect> {
    let mut effects = register_only(controller, now_ms, broker, incarnation, None);
    let Some(Message::BrokerRegistrationResponse(BrokerRegistrationResponse {
        result: Ok(broker_epoch),
        metadata: Some(metadata),
    })) = effects.iter().find_map(|effect| match effect {
        Effect::Send {
            to: NodeId::Broker(to),
            message: message @ Message::BrokerRegistrationResponse(_),
        } if *to == broker => Some(message.clone()),
        _ => None,
    })
    else {
        return effects;
    };
    effects.extend(heartbeat(
        controller,
        now_ms,
        broker,
        broker_epoch,
        metadata.version,
    ));
    effects
}

/// Only the registration request, with the epoch a clean-shutdown marker held.
fn register_only(
    controller: &mut Controller,
    now_ms: u64,
    broker: BrokerId,
    incarnation: u64,
    previous_broker_epoch: Option<BrokerEpoch>,
) -> Vec<Effect> {
    controller.handle(
        now_ms,
        message(
            broker,
            Message::BrokerRegistration(BrokerRegistrationRequest {
                rack: None,
                broker,
                incarnation,
                previous_broker_epoch,
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
                want_fence: false,
                want_shut_down: false,
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
                new_isr_with_epochs: unknown_epochs(new_isr),
            }),
        ),
    )
}

/// An AlterPartition ISR whose members' broker epochs the leader does not know (Kafka's -1:
/// not checked).
fn unknown_epochs(members: &[u32]) -> Vec<BrokerState> {
    members
        .iter()
        .map(|&broker| BrokerState {
            broker_id: b(broker),
            broker_epoch: None,
        })
        .collect()
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
            result: Ok(broker_epoch),
            metadata: Some(controller.metadata().clone()),
        }),
    }
}

/// The effects of fencing `broker` because its session, last renewed at
/// `last_heartbeat_ms`, expired.
fn fenced(broker: u32, last_heartbeat_ms: u64) -> Vec<Effect> {
    vec![
        Effect::Event(Event::BrokerFenceReasoned {
            broker: b(broker),
            reason: FenceReason::SessionExpired {
                last_heartbeat_ms,
                broker_session_timeout_ms: SESSION_TIMEOUT_MS,
            },
        }),
        Effect::Event(Event::BrokerFenced { broker: b(broker) }),
        Effect::Mark(Mark::BrokerFenced),
    ]
}

/// The reason event of a partition change of P0.
fn change_started(
    cause: PartitionChangeCause,
    rule: LeaderRule,
    replicas: &[u32],
    isr: &[u32],
) -> Effect {
    Effect::Event(Event::PartitionChangeStarted {
        partition: P0,
        cause,
        rule,
        replicas: brokers(replicas),
        isr: brokers(isr),
        elr: Vec::new(),
    })
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

/// The marks among `effects`, in order.
fn marks(effects: &[Effect]) -> Vec<Mark> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Mark(mark) => Some(*mark),
            _ => None,
        })
        .collect()
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

    // A non-preferred replica registers first (fenced), is unfenced by its first heartbeat,
    // and the partition still waits for broker 1.
    let effects = register(&mut controller, 10, b(2), 1);
    assert_eq!(controller.metadata().version, 2);
    assert_eq!(controller.metadata().live_brokers, brokers(&[2]));
    assert_eq!(partition(&controller, P0).leader, None);
    assert_eq!(
        marks(&effects),
        vec![Mark::BrokerRegistered, Mark::BrokerUnfenced]
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
            elr: Vec::new(),
            last_known_elr: Vec::new(),
        }
    );
    assert_eq!(controller.metadata().version, 3);
    assert!(effects.contains(&elected(Some(1), 1, &[1, 2, 3], 1, false)));
    assert_eq!(
        marks(&effects),
        vec![
            Mark::BrokerRegistered,
            Mark::BrokerUnfenced,
            Mark::CleanElection
        ]
    );
    assert!(effects.ends_with(&pushes(&controller, &[1, 2])));
    assert_eq!(disk.sync_count(), 5, "every change is synced");
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
                change_started(
                    PartitionChangeCause::OfflinePartition,
                    LeaderRule::FirstInIsr,
                    &[1, 2, 3],
                    &[1, 2, 3],
                ),
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
            fenced(1, 0),
            vec![
                change_started(
                    PartitionChangeCause::BrokerFenced { broker: b(1) },
                    LeaderRule::FirstInIsr,
                    &[1, 2, 3],
                    &[2, 3],
                ),
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
    // The fenced broker keeps its epoch: a heartbeat that has not caught up leaves it
    // fenced; one that has unfences it, as `BrokerHeartbeatManager` does.
    let version = controller.metadata().version;
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
                result: Ok(()),
                metadata: Some(controller.metadata().clone()),
                is_fenced: true,
                should_shut_down: false,
            }),
        }]
    );
    let effects = heartbeat(
        &mut controller,
        SESSION_TIMEOUT_MS + 2,
        b(1),
        BrokerEpoch(1),
        version,
    );
    assert_eq!(marks(&effects), vec![Mark::BrokerUnfenced]);
    assert_eq!(controller.metadata().live_brokers, brokers(&[1, 2, 3]));
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
            fenced(3, 0),
            vec![
                change_started(
                    PartitionChangeCause::BrokerFenced { broker: b(3) },
                    LeaderRule::Kept,
                    &[1, 2, 3],
                    &[1, 2],
                ),
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
            elr: Vec::new(),
            last_known_elr: Vec::new(),
        }
    );
    assert_eq!(
        effects,
        concat(vec![
            fenced(1, 0),
            vec![
                change_started(
                    PartitionChangeCause::BrokerFenced { broker: b(1) },
                    LeaderRule::NoneEligible,
                    &[1, 2],
                    &[1],
                ),
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
            fenced(1, 0),
            vec![
                change_started(
                    PartitionChangeCause::BrokerFenced { broker: b(1) },
                    LeaderRule::Unclean,
                    &[1, 2],
                    &[2],
                ),
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

    // Broker 1 restarts: a new epoch, fenced until its heartbeat, then elected from the ISR.
    let effects = register(&mut controller, 10_000, b(1), 2);
    assert!(effects.contains(&elected(Some(1), 3, &[1], 4, false)));
    assert_eq!(
        marks(&effects),
        vec![
            Mark::BrokerRegistered,
            Mark::BrokerUnfenced,
            Mark::CleanElection
        ]
    );
    assert_eq!(broker_epoch(&controller, b(1)), BrokerEpoch(3));
    assert!(effects.ends_with(&pushes(&controller, &[1, 2])));
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

    let effects = register(&mut controller, 20_000, b(2), 2);
    assert!(effects.contains(&elected(Some(2), 3, &[2], 4, true)));
    assert_eq!(
        marks(&effects),
        vec![
            Mark::BrokerRegistered,
            Mark::BrokerUnfenced,
            Mark::UncleanElection
        ]
    );
    assert!(effects.ends_with(&pushes(&controller, &[2])));
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
        elr: Vec::new(),
        last_known_elr: Vec::new(),
    };
    assert_eq!(partition(&controller, P0), expected_state);
    assert_eq!(controller.metadata().version, version_before + 1);
    assert_eq!(disk.sync_count(), syncs_before + 1);
    assert_eq!(
        effects,
        concat(vec![
            vec![
                change_started(
                    PartitionChangeCause::AlterPartition { leader: b(1) },
                    LeaderRule::Kept,
                    &[1, 2, 3],
                    &[1, 2],
                ),
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
fn new_incarnation_is_refused_while_the_old_session_is_valid() {
    let (mut controller, _disk) = three_registered();
    // The restarted process registers while its predecessor's session still runs: refused
    // (Kafka's DuplicateBrokerRegistrationException), and nothing changes.
    let before = controller.metadata().clone();
    let effects = register(&mut controller, 1_000, b(1), 2);
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::DuplicateBrokerRegistrationRefused),
            Effect::Send {
                to: NodeId::Broker(b(1)),
                message: Message::BrokerRegistrationResponse(BrokerRegistrationResponse {
                    result: Err(ErrorCode::DuplicateBrokerRegistration),
                    metadata: None,
                }),
            },
        ]
    );
    assert_eq!(*controller.metadata(), before);
    // Once the old session has expired (and fenced broker 1), the retry is accepted with a
    // new epoch, fenced until its first caught-up heartbeat.
    heartbeat(&mut controller, 5_000, b(2), BrokerEpoch(2), 0);
    heartbeat(&mut controller, 5_000, b(3), BrokerEpoch(3), 0);
    fire_due_timers(&mut controller, SESSION_TIMEOUT_MS);
    assert_eq!(partition(&controller, P0).leader, Some(b(2)));
    let effects = register_only(&mut controller, 9_500, b(1), 2, None);
    assert_eq!(marks(&effects), vec![Mark::BrokerRegistered]);
    assert!(controller.state.brokers[&b(1)].fenced);
    assert_eq!(controller.metadata().live_brokers, brokers(&[2, 3]));
    let version = controller.metadata().version;
    let effects = heartbeat(&mut controller, 9_600, b(1), BrokerEpoch(4), version);
    assert_eq!(marks(&effects), vec![Mark::BrokerUnfenced]);
    assert_eq!(controller.metadata().live_brokers, brokers(&[1, 2, 3]));
    // The old incarnation's epoch is dead.
    let stale = heartbeat(&mut controller, 9_700, b(1), BrokerEpoch(1), 0);
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
    // A late registration from the old incarnation is ignored.
    assert_eq!(register(&mut controller, 9_800, b(1), 1), vec![]);
    assert_eq!(broker_epoch(&controller, b(1)), BrokerEpoch(4));
}

#[test]
fn same_incarnation_registering_again_keeps_its_epoch_and_leadership() {
    let (mut controller, disk) = three_registered();
    let version = controller.metadata().version;
    let syncs_before = disk.sync_count();
    // Kafka amends the registration: same epoch, same state, nothing written.
    let effects = register_only(&mut controller, 1_000, b(1), 1, None);
    assert_eq!(
        effects,
        vec![registration_response(&controller, b(1), BrokerEpoch(1))]
    );
    assert_eq!(
        controller.metadata().version,
        version,
        "the image is unchanged"
    );
    assert_eq!(disk.sync_count(), syncs_before);
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
                is_fenced: false,
                should_shut_down: false,
            }),
        }]
    );
    // The fresh sessions are valid sessions: a new incarnation is refused until they end.
    let effects = register(&mut restarted, 20_002, b(3), 2);
    assert_eq!(
        marks(&effects),
        vec![Mark::DuplicateBrokerRegistrationRefused]
    );
    // Brokers that stay silent after the restart are fenced a session later.
    heartbeat(&mut restarted, 25_000, b(2), BrokerEpoch(2), 0);
    heartbeat(&mut restarted, 25_000, b(3), BrokerEpoch(3), 0);
    let effects = fire_due_timers(&mut restarted, 20_000 + SESSION_TIMEOUT_MS);
    assert_eq!(&effects[..3], &fenced(1, 20_000)[..]);
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
                is_fenced: false,
                should_shut_down: false,
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
            rack: None,
            broker: b(1),
            incarnation: 5,
            previous_broker_epoch: None,
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
                is_fenced: true,
                should_shut_down: false,
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
                                new_isr_with_epochs: new_isr
                                    .into_iter()
                                    .map(|broker_id| BrokerState {
                                        broker_id,
                                        broker_epoch: None,
                                    })
                                    .collect(),
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
                        message: Message::BrokerRegistrationResponse(BrokerRegistrationResponse { result: Ok(broker_epoch), .. }),
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

// ---- KRaft lifecycle (KIP-841, KIP-903) and eligible leader replicas (KIP-966) ----

fn elr_config() -> ControllerConfig {
    ControllerConfig {
        eligible_leader_replicas_enable: true,
        ..config()
    }
}

/// A controller with eligible leader replicas on, over a topic with this replication factor
/// and min.insync, every broker registered and unfenced at time 0, broker 1 leading.
fn elr_cluster(replication_factor: u32, min_insync_replicas: u32) -> Controller {
    let topic = TopicConfig {
        min_insync_replicas,
        ..topic(1, replication_factor, false)
    };
    let ids: Vec<BrokerId> = (1..=replication_factor).map(BrokerId).collect();
    let mut controller = Controller::new(
        elr_config(),
        vec![topic],
        ids,
        Box::new(SharedStorage::default()),
    );
    controller.handle(0, Input::Start);
    register_all(&mut controller, replication_factor);
    assert_eq!(partition(&controller, P0).leader, Some(b(1)));
    controller
}

fn full_heartbeat(
    controller: &mut Controller,
    now_ms: u64,
    broker: u32,
    want_shut_down: bool,
) -> Vec<Effect> {
    let version = controller.metadata().version;
    let epoch = broker_epoch(controller, b(broker));
    controller.handle(
        now_ms,
        message(
            b(broker),
            Message::BrokerHeartbeat(BrokerHeartbeatRequest {
                broker: b(broker),
                broker_epoch: epoch,
                metadata_version: version,
                want_fence: false,
                want_shut_down,
            }),
        ),
    )
}

#[test]
fn registration_starts_fenced_until_a_heartbeat_shows_the_broker_caught_up() {
    let (mut controller, _disk) = started(topic(1, 3, false), 3);
    let effects = register_only(&mut controller, 10, b(1), 1, None);
    assert!(controller.state.brokers[&b(1)].fenced);
    assert_eq!(controller.metadata().live_brokers, vec![]);
    assert_eq!(
        partition(&controller, P0).leader,
        None,
        "a fenced broker cannot lead"
    );
    assert_eq!(marks(&effects), vec![Mark::BrokerRegistered]);
    let version = controller.metadata().version;
    // Behind the image of its registration: still fenced.
    heartbeat(&mut controller, 20, b(1), BrokerEpoch(1), version - 1);
    assert!(controller.state.brokers[&b(1)].fenced);
    let effects = heartbeat(&mut controller, 30, b(1), BrokerEpoch(1), version);
    assert_eq!(
        marks(&effects),
        vec![Mark::BrokerUnfenced, Mark::CleanElection]
    );
    assert_eq!(partition(&controller, P0).leader, Some(b(1)));
}

#[test]
fn alter_partition_refuses_a_member_named_with_an_old_broker_epoch() {
    let (mut controller, _disk) = three_registered();
    let stale_member = vec![
        BrokerState {
            broker_id: b(1),
            broker_epoch: Some(BrokerEpoch(1)),
        },
        BrokerState {
            broker_id: b(2),
            broker_epoch: Some(BrokerEpoch(99)),
        },
    ];
    let request = |members: Vec<BrokerState>| {
        message(
            b(1),
            Message::AlterPartition(AlterPartitionRequest {
                broker: b(1),
                broker_epoch: BrokerEpoch(1),
                partition: P0,
                leader_epoch: LeaderEpoch(1),
                partition_epoch: PartitionEpoch(1),
                new_isr_with_epochs: members,
            }),
        )
    };
    let effects = controller.handle(100, request(stale_member));
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::AlterPartitionRejected),
            alter_response(1, Err(ErrorCode::IneligibleReplica)),
        ]
    );
    let current = vec![
        BrokerState {
            broker_id: b(1),
            broker_epoch: Some(BrokerEpoch(1)),
        },
        BrokerState {
            broker_id: b(2),
            broker_epoch: Some(BrokerEpoch(2)),
        },
    ];
    controller.handle(101, request(current));
    assert_eq!(partition(&controller, P0).isr, brokers(&[1, 2]));
}

#[test]
fn controlled_shutdown_moves_leadership_away_then_lets_the_broker_go() {
    let (mut controller, _disk) = three_registered();
    let effects = full_heartbeat(&mut controller, 100, 1, true);
    assert_eq!(
        marks(&effects),
        vec![
            Mark::ControlledShutdownStarted,
            Mark::CleanElection,
            Mark::IsrShrunkByController
        ]
    );
    let state = partition(&controller, P0);
    assert_eq!((state.leader, state.isr), (Some(b(2)), brokers(&[2, 3])));
    assert!(
        controller.metadata().live_brokers.contains(&b(1)),
        "it still gets metadata"
    );
    let answer = |effects: &[Effect]| {
        effects.iter().find_map(|effect| match effect {
            Effect::Send {
                message: Message::BrokerHeartbeatResponse(response),
                ..
            } => Some((response.is_fenced, response.should_shut_down)),
            _ => None,
        })
    };
    assert_eq!(answer(&effects), Some((false, false)));
    // Broker 1 may not rejoin the ISR while it shuts down.
    let rejoin = alter_partition(
        &mut controller,
        150,
        b(2),
        BrokerEpoch(2),
        LeaderEpoch(2),
        PartitionEpoch(2),
        &[1, 2, 3],
    );
    assert!(rejoin.contains(&alter_response(2, Err(ErrorCode::IneligibleReplica))));
    // It leads nothing now: the next heartbeat lets it go, fenced.
    let effects = full_heartbeat(&mut controller, 200, 1, true);
    assert_eq!(answer(&effects), Some((true, true)));
    assert!(controller.state.brokers[&b(1)].fenced);
}

#[test]
fn isr_shrinking_below_min_insync_moves_the_removed_members_into_the_elr() {
    let mut controller = elr_cluster(3, 2);
    let effects = alter_partition(
        &mut controller,
        100,
        b(1),
        BrokerEpoch(1),
        LeaderEpoch(1),
        PartitionEpoch(1),
        &[1],
    );
    assert!(marks(&effects).contains(&Mark::ReplicaAddedToElr));
    let state = partition(&controller, P0);
    assert_eq!((state.isr, state.elr), (brokers(&[1]), brokers(&[2, 3])));
    // Back at min.insync, the ELR empties.
    alter_partition(
        &mut controller,
        200,
        b(1),
        BrokerEpoch(1),
        LeaderEpoch(1),
        PartitionEpoch(2),
        &[1, 2],
    );
    assert_eq!(partition(&controller, P0).elr, vec![]);
}

/// ISR {1} and ELR {2, 3} (min.insync 2), then the leader's session expires while 2 and 3
/// heartbeat.
fn leader_fenced_with_isr_below_min_insync(eligible_leader_replicas_enable: bool) -> Controller {
    let topic = TopicConfig {
        min_insync_replicas: 2,
        ..topic(1, 3, false)
    };
    let config = ControllerConfig {
        eligible_leader_replicas_enable,
        ..config()
    };
    let mut controller = Controller::new(
        config,
        vec![topic],
        brokers(&[1, 2, 3]),
        Box::new(SharedStorage::default()),
    );
    controller.handle(0, Input::Start);
    register_all(&mut controller, 3);
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
    heartbeat(&mut controller, 5_000, b(3), BrokerEpoch(3), 0);
    fire_due_timers(&mut controller, SESSION_TIMEOUT_MS);
    controller
}

#[test]
fn a_leader_is_elected_from_the_elr_once_the_isr_is_empty() {
    let controller = leader_fenced_with_isr_below_min_insync(true);
    let state = partition(&controller, P0);
    assert_eq!(state.leader, Some(b(2)));
    assert_eq!(state.isr, brokers(&[2]));
    assert_eq!(state.elr, brokers(&[1, 3]));
}

#[test]
fn without_elr_the_last_replica_standing_keeps_the_partition_offline() {
    let controller = leader_fenced_with_isr_below_min_insync(false);
    let state = partition(&controller, P0);
    assert_eq!(state.leader, None);
    assert_eq!(state.isr, brokers(&[1]));
    assert_eq!(state.elr, vec![]);
}

#[test]
fn election_from_elr_is_marked() {
    let topic = TopicConfig {
        min_insync_replicas: 2,
        ..topic(1, 3, false)
    };
    let mut controller = Controller::new(
        elr_config(),
        vec![topic],
        brokers(&[1, 2, 3]),
        Box::new(SharedStorage::default()),
    );
    controller.handle(0, Input::Start);
    register_all(&mut controller, 3);
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
    heartbeat(&mut controller, 5_000, b(3), BrokerEpoch(3), 0);
    let effects = fire_due_timers(&mut controller, SESSION_TIMEOUT_MS);
    assert!(marks(&effects).contains(&Mark::ElectionFromElr));
}

#[test]
fn a_broker_restarting_after_an_unclean_shutdown_leaves_the_elr() {
    for (previous_broker_epoch, stays) in [(None, false), (Some(BrokerEpoch(3)), true)] {
        let mut controller = elr_cluster(3, 2);
        alter_partition(
            &mut controller,
            100,
            b(1),
            BrokerEpoch(1),
            LeaderEpoch(1),
            PartitionEpoch(1),
            &[1],
        );
        // Broker 3's session expires; 1 and 2 heartbeat.
        heartbeat(&mut controller, 5_000, b(1), BrokerEpoch(1), 0);
        heartbeat(&mut controller, 5_000, b(2), BrokerEpoch(2), 0);
        fire_due_timers(&mut controller, SESSION_TIMEOUT_MS);
        assert_eq!(partition(&controller, P0).elr, brokers(&[2, 3]));
        let effects = register_only(&mut controller, 9_500, b(3), 2, previous_broker_epoch);
        let removed = marks(&effects).contains(&Mark::RemovedFromElrAfterUncleanShutdown);
        assert_eq!(removed, !stays);
        let expected = if stays {
            brokers(&[2, 3])
        } else {
            brokers(&[2])
        };
        assert_eq!(partition(&controller, P0).elr, expected);
    }
}

#[test]
fn the_last_known_leader_is_elected_when_isr_and_elr_are_empty() {
    let mut controller = elr_cluster(2, 1);
    // Broker 2 goes first (ISR {1}), then broker 1: the ISR empties, 1 is remembered.
    heartbeat(&mut controller, 5_000, b(1), BrokerEpoch(1), 0);
    fire_due_timers(&mut controller, SESSION_TIMEOUT_MS);
    fire_due_timers(&mut controller, 5_000 + SESSION_TIMEOUT_MS);
    let state = partition(&controller, P0);
    assert_eq!(state.leader, None);
    assert_eq!(state.isr, vec![]);
    assert_eq!(state.last_known_elr, brokers(&[1]));
    // Broker 1 restarts uncleanly: it leaves the ELR, but is still the last known leader.
    register_only(&mut controller, 20_000, b(1), 2, None);
    assert_eq!(partition(&controller, P0).elr, vec![]);
    let effects = full_heartbeat(&mut controller, 20_001, 1, false);
    assert!(marks(&effects).contains(&Mark::LastKnownLeaderElected));
    let state = partition(&controller, P0);
    assert_eq!((state.leader, state.isr), (Some(b(1)), brokers(&[1])));
    assert_eq!(state.last_known_elr, vec![]);
}
