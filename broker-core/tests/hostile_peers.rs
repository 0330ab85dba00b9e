//! Nothing a peer sends may crash an actor: errors a peer can cause are values (docs/STYLE.md,
//! rule 7), and the internal assertions must hold whatever arrives. These properties feed
//! each actor random, mutually inconsistent messages — records at wrong offsets, epochs from
//! the past and the future, images naming unknown brokers, responses to requests never
//! sent — from random senders, with ticks in between, and require only that it survives and
//! that its deadlines stay in the future after a tick.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::actor::{fire_due_timers, Actor, Effect, Input};
use watermark_broker_core::broker::Broker;
use watermark_broker_core::bugs::{BugSwitch, BugSwitches};
use watermark_broker_core::config::{
    BrokerConfig, ConsumerConfig, ControllerConfig, ProducerConfig, TopicConfig,
};
use watermark_broker_core::consumer::Consumer;
use watermark_broker_core::controller::Controller;
use watermark_broker_core::error::ErrorCode;
use watermark_broker_core::ids::*;
use watermark_broker_core::mark::Mark;
use watermark_broker_core::metadata::{MetadataImage, PartitionState};
use watermark_broker_core::producer::Producer;
use watermark_broker_core::protocol::{Acks, EpochEndOffset, FetchData, Message, OffsetSpec};
use watermark_broker_core::protocol::{
    AlterPartitionRequest, AlterPartitionResponse, BrokerHeartbeatRequest, BrokerHeartbeatResponse,
    BrokerRegistrationRequest, BrokerRegistrationResponse, BrokerState, FetchRequest,
    FetchResponse, ListOffsetsRequest, ListOffsetsResponse, MetadataRequest, MetadataResponse,
    MetadataUpdate, OffsetsForLeaderEpochRequest, OffsetsForLeaderEpochResponse, ProduceRequest,
    ProduceResponse,
};
use watermark_broker_core::record::{ProducerRecord, Record};
use watermark_broker_core::storage::MemoryStorage;
use watermark_broker_core::topic::{TopicName, TopicPartition};

fn broker_id() -> impl Strategy<Value = BrokerId> {
    (0u32..5).prop_map(BrokerId)
}

/// Partitions of the configured topic, and of a topic no one declared.
fn partition() -> impl Strategy<Value = TopicPartition> {
    (
        prop_oneof![9 => Just("events"), 1 => Just("stranger")],
        0u32..3,
    )
        .prop_map(|(topic, index)| TopicPartition::new(TopicName::new(topic), PartitionId(index)))
}

fn offset() -> impl Strategy<Value = Offset> {
    prop_oneof![(0u64..40).prop_map(Offset), Just(Offset(u64::MAX / 2))]
}

fn epoch() -> impl Strategy<Value = LeaderEpoch> {
    (0u32..6).prop_map(LeaderEpoch)
}

fn error() -> impl Strategy<Value = ErrorCode> {
    prop_oneof![
        Just(ErrorCode::NotLeaderOrFollower),
        Just(ErrorCode::NotEnoughReplicas),
        Just(ErrorCode::FencedLeaderEpoch),
        Just(ErrorCode::UnknownLeaderEpoch),
        Just(ErrorCode::OffsetOutOfRange),
        Just(ErrorCode::StaleBrokerEpoch),
        Just(ErrorCode::InvalidUpdateVersion),
        Just(ErrorCode::RequestTimedOut),
    ]
}

fn partition_state() -> impl Strategy<Value = PartitionState> {
    (
        partition(),
        prop::collection::vec(broker_id(), 0..4),
        prop::option::of(broker_id()),
        epoch(),
        prop::collection::vec(broker_id(), 0..4),
        0u32..6,
        prop::bool::weighted(0.25),
    )
        .prop_map(
            |(partition, replicas, leader, leader_epoch, isr, partition_epoch, lone_leader)| {
                // A quarter of the states make broker 1 the leader and its ISR's only member:
                // a state a leader really reaches, which random lists almost never give, and
                // under strict min ISR (KAFKA-15583) the way a lone leader's high watermark
                // can move at all.
                let (leader, isr) = if lone_leader {
                    (Some(BrokerId(1)), vec![BrokerId(1)])
                } else {
                    (leader, isr)
                };
                PartitionState {
                    partition,
                    replicas,
                    leader,
                    leader_epoch,
                    isr,
                    partition_epoch: PartitionEpoch(partition_epoch),
                    elr: Vec::new(),
                    last_known_elr: Vec::new(),
                }
            },
        )
}

fn image() -> impl Strategy<Value = MetadataImage> {
    (
        0u64..8,
        prop::collection::vec(broker_id(), 0..5),
        prop::collection::vec(partition_state(), 0..3),
    )
        .prop_map(|(version, live_brokers, states)| MetadataImage {
            broker_racks: Default::default(),
            version,
            live_brokers,
            partitions: states
                .into_iter()
                .map(|state| (state.partition, state))
                .collect::<BTreeMap<_, _>>(),
        })
}

fn records() -> impl Strategy<Value = Vec<Record>> {
    prop::collection::vec((offset(), epoch(), 0u64..1000), 0..5).prop_map(|fields| {
        fields
            .into_iter()
            .map(|(offset, leader_epoch, value)| Record {
                offset,
                leader_epoch,
                value: Some(watermark_broker_core::record::application_bytes(value)),
                key: None,
                producer_stamp: None,
                headers: Vec::new(),
                is_transactional: false,
                is_control: false,
            })
            .collect()
    })
}

fn correlation() -> impl Strategy<Value = CorrelationId> {
    (0u64..12).prop_map(CorrelationId)
}

fn acks() -> impl Strategy<Value = Acks> {
    prop_oneof![Just(Acks::None), Just(Acks::Leader), Just(Acks::All)]
}

/// Any message of the protocol, with fields drawn from small ranges so that they collide
/// with the actor's real state often.
fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (broker_id(), 0u64..4, prop::option::of(0u64..6)).prop_map(
            |(broker, incarnation, previous)| Message::BrokerRegistration(
                BrokerRegistrationRequest {
                    rack: None,
                    broker,
                    incarnation,
                    previous_broker_epoch: previous.map(BrokerEpoch),
                }
            )
        ),
        (0u64..6, image()).prop_map(|(epoch, metadata)| Message::BrokerRegistrationResponse(
            BrokerRegistrationResponse {
                result: Ok(BrokerEpoch(epoch)),
                metadata: Some(metadata),
            }
        )),
        (broker_id(), 0u64..6, 0u64..8, any::<bool>(), any::<bool>()).prop_map(
            |(broker, epoch, metadata_version, want_fence, want_shut_down)| {
                Message::BrokerHeartbeat(BrokerHeartbeatRequest {
                    broker,
                    broker_epoch: BrokerEpoch(epoch),
                    metadata_version,
                    want_fence,
                    want_shut_down,
                })
            }
        ),
        (
            prop::option::of(error()),
            prop::option::of(image()),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(error, metadata, is_fenced, should_shut_down)| {
                Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
                    result: error.map_or(Ok(()), Err),
                    metadata,
                    is_fenced,
                    should_shut_down,
                })
            }),
        (
            broker_id(),
            0u64..6,
            partition(),
            epoch(),
            0u32..6,
            prop::collection::vec(broker_id(), 0..4)
        )
            .prop_map(
                |(broker, broker_epoch, partition, leader_epoch, partition_epoch, new_isr)| {
                    Message::AlterPartition(AlterPartitionRequest {
                        broker,
                        broker_epoch: BrokerEpoch(broker_epoch),
                        partition,
                        leader_epoch,
                        partition_epoch: PartitionEpoch(partition_epoch),
                        new_isr_with_epochs: new_isr
                            .into_iter()
                            .map(|broker_id| BrokerState {
                                broker_id,
                                broker_epoch: Some(BrokerEpoch(broker_epoch)),
                            })
                            .collect(),
                    })
                }
            ),
        (
            partition(),
            prop::result::maybe_ok(partition_state(), error())
        )
            .prop_map(|(partition, result)| Message::AlterPartitionResponse(
                AlterPartitionResponse { partition, result }
            )),
        image().prop_map(|metadata| Message::MetadataUpdate(MetadataUpdate { metadata })),
        correlation().prop_map(|correlation| Message::Metadata(MetadataRequest { correlation })),
        (correlation(), image()).prop_map(|(correlation, metadata)| Message::MetadataResponse(
            MetadataResponse {
                correlation,
                metadata
            }
        )),
        (
            correlation(),
            partition(),
            acks(),
            0u64..100,
            prop::collection::vec(0u64..1000, 0..4)
        )
            .prop_map(|(correlation, partition, acks, timeout_ms, values)| {
                Message::Produce(ProduceRequest {
                    correlation,
                    partition,
                    acks,
                    timeout_ms,
                    records: values
                        .into_iter()
                        .map(|value| ProducerRecord {
                            value: Some(watermark_broker_core::record::application_bytes(value)),
                            key: Some(watermark_broker_core::record::application_bytes(value)),
                            producer_stamp: None,
                            headers: Vec::new(),
                        })
                        .collect(),
                    transactional_id: None,
                    transaction_version: watermark_broker_core::protocol::TransactionVersion::V2,
                })
            }),
        (
            correlation(),
            partition(),
            prop::result::maybe_ok(offset(), error())
        )
            .prop_map(|(correlation, partition, result)| Message::ProduceResponse(
                ProduceResponse {
                    correlation,
                    partition,
                    result,
                    log_start_offset: None,
                }
            )),
        (correlation(), partition(), any::<bool>()).prop_map(|(correlation, partition, latest)| {
            Message::ListOffsets(ListOffsetsRequest {
                correlation,
                partition,
                spec: if latest {
                    OffsetSpec::Latest
                } else {
                    OffsetSpec::Earliest
                },
                isolation_level: watermark_broker_core::protocol::IsolationLevel::ReadUncommitted,
                replica: None,
            })
        }),
        (
            correlation(),
            partition(),
            prop::result::maybe_ok(offset(), error())
        )
            .prop_map(
                |(correlation, partition, result)| Message::ListOffsetsResponse(
                    ListOffsetsResponse {
                        correlation,
                        partition,
                        result,
                    }
                )
            ),
        (
            correlation(),
            partition(),
            prop::option::of(broker_id()),
            epoch(),
            offset(),
            prop::option::of(epoch()),
            0u64..600
        )
            .prop_map(
                |(
                    correlation,
                    partition,
                    replica,
                    current_leader_epoch,
                    fetch_offset,
                    last,
                    wait,
                )| {
                    Message::Fetch(FetchRequest {
                        rack_id: None,
                        correlation,
                        partition,
                        replica,
                        replica_epoch: None,
                        current_leader_epoch,
                        fetch_offset,
                        last_fetched_epoch: last,
                        max_records: 10,
                        max_wait_ms: wait,
                        isolation_level:
                            watermark_broker_core::protocol::IsolationLevel::ReadUncommitted,
                        log_start_offset: None,
                    })
                }
            ),
        (
            correlation(),
            partition(),
            prop::result::maybe_ok(
                (
                    records(),
                    offset(),
                    offset(),
                    prop::option::of((epoch(), offset()))
                ),
                error()
            )
        )
            .prop_map(|(correlation, partition, result)| Message::FetchResponse(
                FetchResponse {
                    correlation,
                    partition,
                    result: result.map(|(records, high_watermark, log_end_offset, diverging)| {
                        FetchData {
                            preferred_read_replica: None,
                            records,
                            high_watermark,
                            log_start_offset: Offset(0),
                            log_end_offset,
                            diverging_epoch: diverging.map(|(leader_epoch, end_offset)| {
                                EpochEndOffset {
                                    leader_epoch,
                                    end_offset,
                                }
                            }),
                            last_stable_offset: high_watermark,
                            aborted_transactions: Vec::new(),
                        }
                    }),
                }
            )),
        (
            correlation(),
            partition(),
            prop::option::of(broker_id()),
            epoch(),
            epoch()
        )
            .prop_map(
                |(correlation, partition, replica, current_leader_epoch, leader_epoch)| {
                    Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
                        correlation,
                        partition,
                        replica,
                        current_leader_epoch,
                        leader_epoch,
                    })
                }
            ),
        (
            correlation(),
            partition(),
            prop::result::maybe_ok((epoch(), offset()), error())
        )
            .prop_map(|(correlation, partition, result)| {
                Message::OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse {
                    correlation,
                    partition,
                    result: result.map(|(leader_epoch, end_offset)| EpochEndOffset {
                        leader_epoch,
                        end_offset,
                    }),
                })
            }),
    ]
}

fn sender() -> impl Strategy<Value = NodeId> {
    prop_oneof![
        Just(NodeId::Controller),
        broker_id().prop_map(NodeId::Broker),
        (0u32..2).prop_map(|client| NodeId::Producer(ClientId(client))),
        (0u32..2).prop_map(|client| NodeId::Consumer(ClientId(client))),
    ]
}

/// A step: a message from someone, or the passing of time followed by a tick.
#[derive(Clone, Debug)]
enum Step {
    Deliver(NodeId, Message),
    Wait(u64),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            4 => (sender(), message()).prop_map(|(from, message)| Step::Deliver(from, message)),
            1 => (1u64..3_000).prop_map(Step::Wait),
        ],
        1..60,
    )
}

/// Drives an actor through the steps; any panic fails the property. Returns the coverage
/// marks it reached, so a test can show the sequences are not vacuous.
fn survive(actor: &mut dyn Actor, steps: Vec<Step>) -> BTreeSet<Mark> {
    let mut marks = BTreeSet::new();
    let mut note = |effects: Vec<Effect>| {
        for effect in effects {
            if let Effect::Mark(mark) = effect {
                marks.insert(mark);
            }
        }
    };
    let mut now_ms = 0;
    note(actor.handle(now_ms, Input::Start));
    for step in steps {
        match step {
            Step::Deliver(from, message) => {
                note(actor.handle(now_ms, Input::Message { from, message }));
            }
            Step::Wait(duration_ms) => {
                now_ms += duration_ms;
                // Tick as the shell would: while a deadline is due.
                for _ in 0..100 {
                    match actor.next_deadline_ms() {
                        Some(deadline_ms) if deadline_ms <= now_ms => {
                            note(fire_due_timers(actor, now_ms));
                        }
                        _ => break,
                    }
                }
                if let Some(deadline_ms) = actor.next_deadline_ms() {
                    assert!(deadline_ms > now_ms, "a deadline stayed due after ticking");
                }
            }
        }
    }
    marks
}

fn new_broker(switches: BugSwitches, flush: bool, min_insync_replicas: u32) -> Broker {
    Broker::new(
        BrokerId(1),
        1,
        BrokerConfig::default(),
        vec![TopicConfig {
            flush_interval_messages: flush.then_some(1),
            min_insync_replicas,
            ..topic()
        }],
        switches,
        Box::new(MemoryStorage::default()),
    )
}

/// "Sometimes" (after stateright): the random sequences do drive a broker into the states
/// the survival property is about — leading, following, truncating, shrinking its ISR —
/// so that property is not passing vacuously.
#[test]
fn hostile_sequences_reach_the_interesting_broker_states() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = steps();
    let mut reached = BTreeSet::new();
    // Random images rarely give a leader a second ISR member that then fetches, so under
    // strict min ISR (KAFKA-15583) a min.insync of 2 would almost never let the high
    // watermark move: half the sequences run with min.insync 1.
    for round in 0..2_000 {
        let sequence = strategy.new_tree(&mut runner).unwrap().current();
        let min_insync_replicas = if round % 2 == 0 { 1 } else { 2 };
        reached.extend(survive(
            &mut new_broker(BugSwitches::default(), false, min_insync_replicas),
            sequence,
        ));
    }
    for mark in [
        Mark::BecameLeader,
        Mark::BecameFollower,
        Mark::HighWatermarkAdvanced,
        Mark::FencedLeaderEpochRejected,
        Mark::HighWatermarkHeldUnderMinIsr,
    ] {
        assert!(reached.contains(&mark), "never reached {mark}: {reached:?}");
    }
}

fn topic() -> TopicConfig {
    TopicConfig {
        partitions: 3,
        replication_factor: 3,
        min_insync_replicas: 2,
        ..TopicConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_broker_survives_any_sequence_of_messages(steps in steps(), flush in any::<bool>(), bugs in proptest::collection::vec(any::<bool>(), BugSwitch::ALL.len())) {
        let mut switches = BugSwitches::default();
        for (switch, on) in BugSwitch::ALL.into_iter().zip(bugs) {
            if on {
                switches.enable(switch);
            }
        }
        survive(&mut new_broker(switches, flush, 2), steps);
    }

    #[test]
    fn a_controller_survives_any_sequence_of_messages(steps in steps()) {
        let mut controller = Controller::new(
            ControllerConfig::default(),
            vec![topic()],
            vec![BrokerId(1), BrokerId(2), BrokerId(3)],
            Box::new(MemoryStorage::default()),
        );
        survive(&mut controller, steps);
    }

    #[test]
    fn a_producer_survives_any_sequence_of_messages(steps in steps(), acks in acks()) {
        let config = ProducerConfig { acks, ..ProducerConfig::default() };
        let mut producer = Producer::new(
            ClientId(0),
            config,
            vec![BrokerId(1), BrokerId(2)],
            TopicName::default(),
            3,
        );
        for value in 0..5 {
            producer.send(0, value, Some(value));
        }
        survive(&mut producer, steps);
    }

    #[test]
    fn a_consumer_survives_any_sequence_of_messages(steps in steps()) {
        let mut consumer = Consumer::new(
            ClientId(0),
            ConsumerConfig::default(),
            vec![BrokerId(1), BrokerId(2)],
            vec![TopicPartition::of_default_topic(0), TopicPartition::of_default_topic(1)],
        );
        survive(&mut consumer, steps);
    }
}
