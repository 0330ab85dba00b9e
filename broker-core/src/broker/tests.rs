//! The broker's handler tests: exact effects for produce, fetch, replication, the ISR, the
//! high watermark, truncation, recovery and the checkpoints. The replica fetch path as
//! Kafka 4.x runs it (diverging epochs, the follower's high watermark, the leader's follower
//! state) is in `tests/replica_fetch.rs`.

mod coordinator_hosting;
mod delete_records;
mod fetch_from_follower;
mod high_watermark_hold;
mod leader_bug_switches;
mod producer_ids;
mod producer_state;
mod replica_fetch;
mod transaction_hosting;
mod transaction_verification;
mod transactions;

use super::*;
use crate::actor::fire_due_timers;
use crate::actor::Timer;
use crate::error::ErrorCode;
use crate::event::RecordSummary;
use crate::event::{Event, TruncationReason};
use crate::ids::{ClientId, LeaderEpoch, PartitionEpoch};
use crate::ids::{CorrelationId, NodeId, Offset};
use crate::log::Log;
use crate::mark::Mark;
use crate::metadata::PartitionState;
use crate::partition::{LocalCompletion, LocalWaiter, PartitionTimer};
use crate::protocol::{
    Acks, AlterPartitionResponse, BrokerHeartbeatRequest, BrokerHeartbeatResponse,
    BrokerRegistrationRequest, BrokerRegistrationResponse, FetchRequest, FetchResponse,
    ListOffsetsRequest, ListOffsetsResponse, Message, MetadataUpdate, OffsetsForLeaderEpochRequest,
    OffsetsForLeaderEpochResponse, ProduceRequest,
};
use crate::protocol::{AlterPartitionRequest, BrokerState, ProduceResponse};
use crate::reason::{Divergence, FollowerProgress, HighWatermarkBasis};

/// An AlterPartition ISR: each member with the broker epoch the leader saw.
fn isr_with_epochs(members: &[(u32, Option<u64>)]) -> Vec<BrokerState> {
    members
        .iter()
        .map(|&(broker, epoch)| BrokerState {
            broker_id: BrokerId(broker),
            broker_epoch: epoch.map(BrokerEpoch),
        })
        .collect()
}
use crate::protocol::{EpochEndOffset, FetchData, OffsetSpec};
use crate::record::{ProducerRecord, Record};
use crate::storage::MemoryStorage;
use crate::topic::TopicPartition;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

const P0: TopicPartition = TopicPartition::of_default_topic(0);
const PRODUCER: NodeId = NodeId::Producer(ClientId(1));
const CONSUMER: NodeId = NodeId::Consumer(ClientId(1));

/// A disk the test can still read after handing it to a broker, and hand to the next
/// incarnation of that broker.
#[derive(Clone, Default)]
struct SharedStorage(Arc<Mutex<MemoryStorage>>);

impl SharedStorage {
    fn file(&self, name: &str) -> Vec<u8> {
        self.0.lock().unwrap().read(name)
    }
    fn sync_count(&self, name: &str) -> u64 {
        let storage = self.0.lock().unwrap();
        storage.sync_counts.get(name).copied().unwrap_or(0)
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

fn topic() -> TopicConfig {
    TopicConfig {
        name: crate::topic::TopicName::default(),
        partitions: 1,
        replication_factor: 3,
        min_insync_replicas: 2,
        unclean_leader_election_enable: false,
        flush_interval_messages: None,
    }
}

fn config() -> BrokerConfig {
    BrokerConfig {
        replica_lag_time_max_ms: 10_000,
        ..BrokerConfig::default()
    }
}

fn brokers(ids: &[u32]) -> Vec<BrokerId> {
    ids.iter().copied().map(BrokerId).collect()
}

fn state(
    leader: Option<u32>,
    leader_epoch: u32,
    isr: &[u32],
    partition_epoch: u32,
) -> PartitionState {
    PartitionState {
        partition: P0,
        replicas: brokers(&[1, 2, 3]),
        leader: leader.map(BrokerId),
        leader_epoch: LeaderEpoch(leader_epoch),
        isr: brokers(isr),
        partition_epoch: PartitionEpoch(partition_epoch),
        elr: Vec::new(),
        last_known_elr: Vec::new(),
    }
}

fn image(version: u64, state: PartitionState) -> MetadataImage {
    MetadataImage {
        broker_racks: Default::default(),
        version,
        live_brokers: brokers(&[1, 2, 3]),
        partitions: BTreeMap::from([(state.partition, state)]),
    }
}

fn controller(message: Message) -> Input {
    Input::Message {
        from: NodeId::Controller,
        message,
    }
}

/// A broker started at t=0 and registered with broker epoch 7 and this image. The
/// heartbeat it sends at once after registering is left out of the effects.
fn started(
    id: u32,
    storage: &SharedStorage,
    bugs: BugSwitches,
    metadata: MetadataImage,
) -> (Broker, Vec<Effect>) {
    let mut broker = Broker::new(
        BrokerId(id),
        1,
        config(),
        vec![topic()],
        bugs,
        Box::new(storage.clone()),
    );
    let effects = register(&mut broker, metadata);
    (broker, effects)
}

/// Starts `broker` at t=0 and registers it with broker epoch 7 and this image.
fn register(broker: &mut Broker, metadata: MetadataImage) -> Vec<Effect> {
    let mut effects = broker.handle(0, Input::Start);
    effects.extend(broker.handle(
        0,
        controller(Message::BrokerRegistrationResponse(
            BrokerRegistrationResponse {
                result: Ok(BrokerEpoch(7)),
                metadata: Some(metadata),
            },
        )),
    ));
    effects.retain(|effect| {
        !matches!(
            effect,
            Effect::Send {
                message: Message::BrokerHeartbeat(_),
                ..
            }
        )
    });
    effects
}

/// The older truncation path: the OffsetsForLeaderEpoch handshake before fetching.
fn handshake() -> BugSwitches {
    BugSwitches {
        offsets_for_leader_epoch_truncation: true,
        ..BugSwitches::default()
    }
}

/// Broker 1 leading p0 in epoch 1 with this ISR.
fn leader(isr: &[u32], bugs: BugSwitches) -> (Broker, SharedStorage) {
    let storage = SharedStorage::default();
    let (broker, _) = started(1, &storage, bugs, image(1, state(Some(1), 1, isr, 1)));
    (broker, storage)
}

fn values(values: &[u64]) -> Vec<ProducerRecord> {
    values
        .iter()
        .map(|&value| ProducerRecord {
            value: Some(crate::record::application_bytes(value)),
            key: None,
            producer_stamp: None,
            headers: Vec::new(),
        })
        .collect()
}

fn produce(correlation: u64, acks: Acks, record_values: &[u64]) -> Input {
    Input::Message {
        from: PRODUCER,
        message: Message::Produce(ProduceRequest {
            correlation: CorrelationId(correlation),
            partition: P0,
            acks,
            timeout_ms: 1_000,
            records: values(record_values),
            transactional_id: None,
            transaction_version: crate::protocol::TransactionVersion::V2,
        }),
    }
}

fn fetch(from: NodeId, replica: Option<u32>, epoch: u32, offset: u64, max_wait_ms: u64) -> Input {
    Input::Message {
        from,
        message: Message::Fetch(FetchRequest {
            rack_id: None,
            correlation: CorrelationId(offset + 100),
            partition: P0,
            replica: replica.map(BrokerId),
            // Every other broker of these tests registered with epoch 8.
            replica_epoch: replica.map(|_| BrokerEpoch(8)),
            current_leader_epoch: LeaderEpoch(epoch),
            fetch_offset: Offset(offset),
            last_fetched_epoch: None,
            max_records: 500,
            max_wait_ms,
            isolation_level: crate::protocol::IsolationLevel::ReadUncommitted,
            log_start_offset: None,
        }),
    }
}

fn follower_fetch(follower: u32, offset: u64) -> Input {
    fetch(
        NodeId::Broker(BrokerId(follower)),
        Some(follower),
        1,
        offset,
        0,
    )
}

fn sends(effects: &[Effect]) -> Vec<(NodeId, Message)> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Send { to, message } => Some((*to, message.clone())),
            _ => None,
        })
        .collect()
}

fn marks(effects: &[Effect]) -> Vec<Mark> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Mark(mark) => Some(*mark),
            _ => None,
        })
        .collect()
}

fn events(effects: &[Effect]) -> Vec<Event> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Event(event) => Some(event.clone()),
            _ => None,
        })
        .collect()
}

fn produce_responses(effects: &[Effect]) -> Vec<(CorrelationId, Result<Offset, ErrorCode>)> {
    sends(effects)
        .into_iter()
        .filter_map(|(_, message)| match message {
            Message::ProduceResponse(ProduceResponse {
                correlation,
                result,
                ..
            }) => Some((correlation, result)),
            _ => None,
        })
        .collect()
}

fn fetch_data(effects: &[Effect]) -> Vec<Result<FetchData, ErrorCode>> {
    sends(effects)
        .into_iter()
        .filter_map(|(_, message)| match message {
            Message::FetchResponse(FetchResponse { result, .. }) => Some(result),
            _ => None,
        })
        .collect()
}

fn summary(offset: u64, epoch: u32, value: u64) -> RecordSummary {
    RecordSummary {
        offset: Offset(offset),
        leader_epoch: LeaderEpoch(epoch),
        value,
    }
}

/// Ticks the broker at each of its deadlines up to `until_ms`.
fn run_until(broker: &mut Broker, until_ms: u64) -> Vec<Effect> {
    let mut effects = Vec::new();
    while let Some(deadline_ms) = broker.next_deadline_ms().filter(|&due| due <= until_ms) {
        effects.extend(fire_due_timers(broker, deadline_ms));
    }
    effects
}

/// A disk holding a log of records in the given (epoch, count) runs, written as a follower
/// would have, and optionally a checkpointed high watermark.
fn disk_with(runs: &[(u32, u64)], checkpointed_high_watermark: Option<u64>) -> SharedStorage {
    let mut storage = SharedStorage::default();
    let (mut log, _) = Log::recover(P0, &mut storage, None, None);
    let mut offset = 0;
    for &(epoch, count) in runs {
        let records: Vec<Record> = (0..count)
            .map(|index| Record {
                offset: Offset(offset + index),
                leader_epoch: LeaderEpoch(epoch),
                value: Some(crate::record::application_bytes(1_000 + offset + index)),
                key: None,
                producer_stamp: None,
                headers: Vec::new(),
                is_transactional: false,
                is_control: false,
            })
            .collect();
        offset += count;
        // One record at a time, so each record is a batch of its own and a torn write
        // loses the last record only.
        for record in records {
            log.append_as_follower(&mut storage, vec![record]).unwrap();
        }
    }
    if let Some(high_watermark) = checkpointed_high_watermark {
        storage.replace(
            HIGH_WATERMARK_CHECKPOINT_FILE,
            format!("0\n1\nevents 0 {high_watermark}\n").as_bytes(),
        );
    }
    storage
}

#[test]
fn broker_registers_on_start_then_heartbeats_and_registers_again_on_stale_epoch() {
    let storage = SharedStorage::default();
    let mut broker = Broker::new(
        BrokerId(2),
        5,
        config(),
        vec![topic()],
        BugSwitches::default(),
        Box::new(storage),
    );
    assert_eq!(broker.next_deadline_ms(), None);
    let registration = Message::BrokerRegistration(BrokerRegistrationRequest {
        rack: None,
        broker: BrokerId(2),
        incarnation: 5,
        previous_broker_epoch: None,
    });
    assert_eq!(
        broker.handle(0, Input::Start),
        vec![Effect::Send {
            to: NodeId::Controller,
            message: registration.clone()
        }]
    );
    // Unanswered: registration again after the heartbeat interval.
    assert_eq!(
        sends(&run_until(&mut broker, 2_000)),
        vec![(NodeId::Controller, registration.clone())]
    );
    broker.handle(
        2_001,
        controller(Message::BrokerRegistrationResponse(
            BrokerRegistrationResponse {
                result: Ok(BrokerEpoch(9)),
                metadata: Some(MetadataImage::default()),
            },
        )),
    );
    assert_eq!(
        sends(&run_until(&mut broker, 4_001)),
        vec![(
            NodeId::Controller,
            Message::BrokerHeartbeat(BrokerHeartbeatRequest {
                broker: BrokerId(2),
                broker_epoch: BrokerEpoch(9),
                metadata_version: 0,
                want_fence: false,
                want_shut_down: false,
            })
        )]
    );
    let effects = broker.handle(
        4_002,
        controller(Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
            result: Err(ErrorCode::StaleBrokerEpoch),
            metadata: None,
            is_fenced: false,
            should_shut_down: false,
        })),
    );
    assert_eq!(sends(&effects), vec![(NodeId::Controller, registration)]);
    assert_eq!(broker.broker_epoch(), None);
}

#[test]
fn leader_answers_acks1_after_append() {
    let (mut broker, _) = leader(&[1, 2, 3], BugSwitches::default());
    let effects = broker.handle(10, produce(1, Acks::Leader, &[500, 501]));
    assert_eq!(
        effects,
        vec![
            Effect::Event(Event::RecordsAppended {
                partition: P0,
                as_leader: true,
                records: vec![summary(0, 1, 500), summary(1, 1, 501)],
            }),
            Effect::Send {
                to: PRODUCER,
                message: Message::ProduceResponse(ProduceResponse {
                    correlation: CorrelationId(1),
                    partition: P0,
                    result: Ok(Offset(0)),
                    log_start_offset: None,
                }),
            },
            Effect::Event(Event::ProduceAnswered {
                partition: P0,
                acks: Acks::Leader,
                base_offset: Some(Offset(0)),
                last_offset: Some(Offset(1)),
                result: Ok(()),
            }),
        ]
    );
    let view = broker.replica_view(P0).unwrap();
    assert_eq!(
        (view.log_end_offset, view.high_watermark),
        (Offset(2), Offset(0))
    );
}

#[test]
fn acks0_appends_without_a_response_but_reports_the_append() {
    let (mut broker, _) = leader(&[1, 2, 3], BugSwitches::default());
    let effects = broker.handle(10, produce(1, Acks::None, &[500]));
    assert!(sends(&effects).is_empty());
    assert!(events(&effects).contains(&Event::ProduceAnswered {
        partition: P0,
        acks: Acks::None,
        base_offset: Some(Offset(0)),
        last_offset: Some(Offset(0)),
        result: Ok(()),
    }));
}

#[test]
fn acks_all_waits_for_isr_then_answers() {
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    let effects = broker.handle(10, produce(1, Acks::All, &[500, 501]));
    assert!(produce_responses(&effects).is_empty());
    assert_eq!(broker.partition(P0).unwrap().purgatory_len(), 1);
    // The follower fetches the records: its log end offset is still 0.
    let effects = broker.handle(11, follower_fetch(2, 0));
    assert!(produce_responses(&effects).is_empty());
    assert_eq!(fetch_data(&effects)[0].as_ref().unwrap().records.len(), 2);
    // Its next fetch shows it has them: the high watermark passes the batch.
    let effects = broker.handle(12, follower_fetch(2, 2));
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Ok(Offset(0)))]
    );
    assert!(events(&effects).contains(&Event::HighWatermarkUpdated {
        partition: P0,
        from: Offset(0),
        to: Offset(2)
    }));
    assert!(marks(&effects).contains(&Mark::HighWatermarkAdvanced));
    assert_eq!(broker.partition(P0).unwrap().purgatory_len(), 0);
}

#[test]
fn acks_all_times_out_with_request_timed_out() {
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    broker.handle(10, produce(1, Acks::All, &[500]));
    assert!(produce_responses(&run_until(&mut broker, 1_009)).is_empty());
    let effects = run_until(&mut broker, 1_010);
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Err(ErrorCode::RequestTimedOut))]
    );
    assert!(marks(&effects).contains(&Mark::ProducePurgatoryTimedOut));
}

#[test]
fn produce_with_isr_below_min_insync_is_rejected_with_not_enough_replicas() {
    let (mut broker, _) = leader(&[1], BugSwitches::default());
    let effects = broker.handle(10, produce(1, Acks::All, &[500]));
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Err(ErrorCode::NotEnoughReplicas))]
    );
    assert!(marks(&effects).contains(&Mark::ProduceRejectedNotEnoughReplicas));
    assert_eq!(broker.replica_view(P0).unwrap().log_end_offset, Offset(0));
    // acks=1 is not subject to min.insync.replicas.
    let effects = broker.handle(11, produce(2, Acks::Leader, &[501]));
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(2), Ok(Offset(0)))]
    );
}

/// The controller fences broker 2 and shrinks the ISR to the leader while an acks=all append
/// waits for broker 2 (a fenced replica is not about to rejoin the ISR, so it holds nothing).
fn shrink_to_leader_alone(broker: &mut Broker, now_ms: u64) -> Vec<Effect> {
    let fenced = MetadataImage {
        live_brokers: brokers(&[1, 3]),
        ..image(2, state(Some(1), 1, &[1], 2))
    };
    broker.handle(
        now_ms,
        controller(Message::MetadataUpdate(MetadataUpdate { metadata: fenced })),
    )
}

/// KAFKA-15583 (Kafka 3.7): with the ISR below min.insync.replicas the high watermark stays,
/// so the waiting append is neither committed nor answered until its timeout.
#[test]
fn strict_min_isr_holds_the_high_watermark_and_the_append_waits_for_its_timeout() {
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    broker.handle(10, produce(1, Acks::All, &[500]));
    let effects = shrink_to_leader_alone(&mut broker, 20);
    assert!(produce_responses(&effects).is_empty());
    assert!(marks(&effects).contains(&Mark::HighWatermarkHeldUnderMinIsr));
    assert!(broker.partition(P0).unwrap().is_under_min_isr());
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(0));
    // acks=1 appends too, but nothing becomes readable.
    broker.handle(30, produce(2, Acks::Leader, &[501]));
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(0));
    let effects = run_until(&mut broker, 1_010);
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Err(ErrorCode::RequestTimedOut))]
    );
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(0));
}

/// Once the ISR is back at min.insync.replicas the held high watermark moves at once.
#[test]
fn the_held_high_watermark_moves_when_the_isr_reaches_min_insync_again() {
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    broker.handle(10, produce(1, Acks::All, &[500]));
    shrink_to_leader_alone(&mut broker, 20);
    broker.handle(30, follower_fetch(2, 1));
    broker.handle(
        40,
        controller(Message::MetadataUpdate(MetadataUpdate {
            metadata: image(3, state(Some(1), 1, &[1, 2], 3)),
        })),
    );
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(1));
}

/// The old behaviour behind `hw-advances-under-min-isr`: the high watermark passes the record
/// on the leader alone, and the append is answered NotEnoughReplicasAfterAppend.
#[test]
fn hw_advances_under_min_isr_switch_answers_not_enough_replicas_after_append() {
    let bugs = BugSwitches {
        hw_advances_under_min_isr: true,
        ..BugSwitches::default()
    };
    let (mut broker, _) = leader(&[1, 2], bugs);
    broker.handle(10, produce(1, Acks::All, &[500]));
    let effects = shrink_to_leader_alone(&mut broker, 20);
    assert_eq!(
        produce_responses(&effects),
        vec![(
            CorrelationId(1),
            Err(ErrorCode::NotEnoughReplicasAfterAppend)
        )]
    );
    assert!(marks(&effects).contains(&Mark::NotEnoughReplicasAfterAppend));
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(1));
}

/// Kafka's `effectiveMinIsr`: min.insync.replicas above the replication factor counts as the
/// replication factor, so such a topic still takes acks=all writes with a full ISR.
#[test]
fn min_insync_above_the_replication_factor_counts_as_the_replication_factor() {
    let storage = SharedStorage::default();
    let mut topic = topic();
    topic.min_insync_replicas = 5;
    let mut broker = Broker::new(
        BrokerId(1),
        1,
        config(),
        vec![topic],
        BugSwitches::default(),
        Box::new(storage.clone()),
    );
    register(&mut broker, image(1, state(Some(1), 1, &[1, 2, 3], 1)));
    let effects = broker.handle(10, produce(1, Acks::All, &[500]));
    assert!(
        produce_responses(&effects).is_empty(),
        "appended and waiting"
    );
    broker.handle(20, follower_fetch(2, 1));
    let effects = broker.handle(30, follower_fetch(3, 1));
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Ok(Offset(0)))]
    );
}

#[test]
fn ack_before_isr_switch_answers_acks_all_at_once() {
    let bugs = BugSwitches {
        ack_before_isr: true,
        ..BugSwitches::default()
    };
    let (mut broker, _) = leader(&[1, 2], bugs);
    let effects = broker.handle(10, produce(1, Acks::All, &[500]));
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Ok(Offset(0)))]
    );
    assert!(marks(&effects).contains(&Mark::AcksAllAnsweredBeforeIsr));
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(0));
}

#[test]
fn high_watermark_is_min_leo_over_isr() {
    let (mut broker, _) = leader(&[1, 2, 3], BugSwitches::default());
    broker.handle(10, produce(1, Acks::Leader, &[1, 2, 3, 4, 5]));
    broker.handle(11, follower_fetch(2, 5));
    // Broker 3 has not fetched: its log end offset is unknown, the high watermark waits.
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(0));
    broker.handle(12, follower_fetch(3, 3));
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(3));
    broker.handle(13, follower_fetch(3, 5));
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(5));
}

#[test]
fn consumer_fetch_returns_only_records_below_high_watermark() {
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    broker.handle(10, produce(1, Acks::Leader, &[500, 501, 502]));
    broker.handle(11, follower_fetch(2, 2));
    let effects = broker.handle(12, fetch(CONSUMER, None, 1, 0, 0));
    let data = fetch_data(&effects).remove(0).unwrap();
    let offsets: Vec<Offset> = data.records.iter().map(|record| record.offset).collect();
    assert_eq!(offsets, vec![Offset(0), Offset(1)]);
    assert_eq!(
        (data.high_watermark, data.log_end_offset),
        (Offset(2), Offset(3))
    );
    // At the high watermark a consumer with max_wait parks until it moves.
    let effects = broker.handle(13, fetch(CONSUMER, None, 1, 2, 500));
    assert_eq!(marks(&effects), vec![Mark::FetchParked]);
    let effects = broker.handle(14, follower_fetch(2, 3));
    let data: Vec<_> = fetch_data(&effects)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(data
        .iter()
        .any(|data| data.records.len() == 1 && data.records[0].application_value() == Some(502)));
}

#[test]
fn list_offsets_answers_log_start_and_high_watermark() {
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    broker.handle(10, produce(1, Acks::Leader, &[500, 501]));
    broker.handle(11, follower_fetch(2, 1));
    let list = |spec| Input::Message {
        from: CONSUMER,
        message: Message::ListOffsets(ListOffsetsRequest {
            correlation: CorrelationId(3),
            partition: P0,
            spec,
            isolation_level: crate::protocol::IsolationLevel::ReadUncommitted,
            replica: None,
        }),
    };
    let answers: Vec<_> = [OffsetSpec::Earliest, OffsetSpec::Latest]
        .into_iter()
        .flat_map(|spec| sends(&broker.handle(12, list(spec))))
        .map(|(_, message)| message)
        .collect();
    let result = |message: &Message| match message {
        Message::ListOffsetsResponse(ListOffsetsResponse { result, .. }) => *result,
        _ => panic!("unexpected {message:?}"),
    };
    assert_eq!(result(&answers[0]), Ok(Offset(0)));
    assert_eq!(result(&answers[1]), Ok(Offset(1)));
}

#[test]
fn leader_answers_offsets_for_leader_epoch_with_the_largest_epoch_at_or_below() {
    let storage = disk_with(&[(1, 3), (3, 2)], None);
    let (mut broker, _) = started(
        1,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(1), 4, &[1, 2], 1)),
    );
    let ask = |leader_epoch| Input::Message {
        from: NodeId::Broker(BrokerId(2)),
        message: Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
            correlation: CorrelationId(1),
            partition: P0,
            replica: Some(BrokerId(2)),
            current_leader_epoch: LeaderEpoch(4),
            leader_epoch: LeaderEpoch(leader_epoch),
        }),
    };
    let answer = |effects: Vec<Effect>| match sends(&effects).pop() {
        Some((
            _,
            Message::OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse {
                result, ..
            }),
        )) => result,
        other => panic!("unexpected {other:?}"),
    };
    let end = |epoch, offset| {
        Ok(EpochEndOffset {
            leader_epoch: LeaderEpoch(epoch),
            end_offset: Offset(offset),
        })
    };
    assert_eq!(answer(broker.handle(1, ask(2))), end(1, 3));
    assert_eq!(answer(broker.handle(2, ask(3))), end(3, 5));
    assert_eq!(answer(broker.handle(3, ask(4))), end(4, 5));
}

#[test]
fn fenced_leader_epoch_rejected() {
    let storage = SharedStorage::default();
    let (mut broker, _) = started(
        1,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(1), 2, &[1, 2], 1)),
    );
    let effects = broker.handle(10, fetch(NodeId::Broker(BrokerId(2)), Some(2), 1, 0, 0));
    assert_eq!(
        fetch_data(&effects),
        vec![Err(ErrorCode::FencedLeaderEpoch)]
    );
    assert_eq!(marks(&effects), vec![Mark::FencedLeaderEpochRejected]);
    let effects = broker.handle(11, fetch(NodeId::Broker(BrokerId(2)), Some(2), 3, 0, 0));
    assert_eq!(
        fetch_data(&effects),
        vec![Err(ErrorCode::UnknownLeaderEpoch)]
    );
    let effects = broker.handle(12, fetch(NodeId::Broker(BrokerId(2)), Some(2), 2, 1, 0));
    assert_eq!(fetch_data(&effects), vec![Err(ErrorCode::OffsetOutOfRange)]);
}

#[test]
fn follower_truncates_to_epoch_end_offset_after_leader_change() {
    // Broker 2 holds epoch 1 at [0, 3) and epoch 2 at [3, 5); the new leader, broker 3,
    // says epoch 2 ended at 4. (The handshake path: offsets-for-leader-epoch-truncation.)
    let storage = disk_with(&[(1, 3), (2, 2)], None);
    let (mut broker, effects) = started(
        2,
        &storage,
        handshake(),
        image(1, state(Some(3), 3, &[2, 3], 1)),
    );
    assert!(marks(&effects).contains(&Mark::BecameFollower));
    let leader = NodeId::Broker(BrokerId(3));
    let (to, request) = sends(&effects).pop().unwrap();
    assert_eq!(to, leader);
    let Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
        correlation,
        leader_epoch,
        current_leader_epoch,
        ..
    }) = request
    else {
        panic!("expected OffsetsForLeaderEpoch, got {request:?}");
    };
    assert_eq!(
        (leader_epoch, current_leader_epoch),
        (LeaderEpoch(2), LeaderEpoch(3))
    );
    let effects = broker.handle(
        5,
        Input::Message {
            from: leader,
            message: Message::OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse {
                correlation,
                partition: P0,
                result: Ok(EpochEndOffset {
                    leader_epoch: LeaderEpoch(2),
                    end_offset: Offset(4),
                }),
            }),
        },
    );
    assert_eq!(
        events(&effects),
        vec![
            Event::DivergenceFound {
                partition: P0,
                divergence: Divergence {
                    leader_epoch: LeaderEpoch(2),
                    leader_end_offset: Offset(4),
                    local_epoch_end: Some((LeaderEpoch(2), Offset(5))),
                },
                truncate_to: Offset(4),
            },
            Event::LogTruncated {
                partition: P0,
                from_log_end_offset: Offset(5),
                to_offset: Offset(4),
                reason: TruncationReason::LeaderEpochDivergence,
            }
        ]
    );
    assert_eq!(marks(&effects), vec![Mark::TruncatedByLeaderEpoch]);
    let sent = sends(&effects);
    assert!(matches!(
        &sent[..],
        [(to, Message::Fetch(FetchRequest { fetch_offset: Offset(4), last_fetched_epoch: None, .. }))] if *to == leader
    ));
    assert_eq!(broker.replica_view(P0).unwrap().log_end_offset, Offset(4));
}

#[test]
fn follower_repeats_offsets_for_leader_epoch_until_epochs_agree() {
    // Broker 2 holds epoch 1 at [0, 3) and epoch 3 at [3, 5). The leader (epoch 4) has
    // epoch 1 at [0, 2) and epoch 2 from 2 to 6: it answers epoch 2 for the asked 3.
    let storage = disk_with(&[(1, 3), (3, 2)], None);
    let (mut broker, effects) = started(
        2,
        &storage,
        handshake(),
        image(1, state(Some(3), 4, &[2, 3], 1)),
    );
    let leader = NodeId::Broker(BrokerId(3));
    let answer = |broker: &mut Broker, effects: &[Effect], epoch: u32, end: u64| {
        let (_, request) = sends(effects).pop().unwrap();
        let Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
            correlation,
            leader_epoch,
            ..
        }) = request
        else {
            panic!("expected OffsetsForLeaderEpoch, got {request:?}");
        };
        let effects = broker.handle(
            5,
            Input::Message {
                from: leader,
                message: Message::OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse {
                    correlation,
                    partition: P0,
                    result: Ok(EpochEndOffset {
                        leader_epoch: LeaderEpoch(epoch),
                        end_offset: Offset(end),
                    }),
                }),
            },
        );
        (leader_epoch, effects)
    };
    let (asked, effects) = answer(&mut broker, &effects, 2, 6);
    assert_eq!(asked, LeaderEpoch(3));
    // It lacks epoch 2: cut to the end of its epoch 1 (offset 3) and ask about epoch 1.
    assert_eq!(broker.replica_view(P0).unwrap().log_end_offset, Offset(3));
    let (asked, effects) = answer(&mut broker, &effects, 1, 2);
    assert_eq!(asked, LeaderEpoch(1));
    assert_eq!(broker.replica_view(P0).unwrap().log_end_offset, Offset(2));
    assert!(matches!(
        &sends(&effects)[..],
        [(
            _,
            Message::Fetch(FetchRequest {
                fetch_offset: Offset(2),
                ..
            })
        )]
    ));
}

#[test]
fn follower_appends_fetched_records_and_follows_the_leader_high_watermark() {
    let storage = SharedStorage::default();
    let (mut broker, effects) = started(
        2,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(1), 1, &[1, 2], 1)),
    );
    // An empty log fetches at once.
    let (_, request) = sends(&effects).pop().unwrap();
    let Message::Fetch(FetchRequest {
        correlation,
        fetch_offset,
        ..
    }) = request
    else {
        panic!("expected Fetch, got {request:?}");
    };
    assert_eq!(fetch_offset, Offset(0));
    let records: Vec<Record> = (0..3)
        .map(|offset| Record {
            offset: Offset(offset),
            leader_epoch: LeaderEpoch(1),
            value: Some(crate::record::application_bytes(10 + offset)),
            key: None,
            producer_stamp: None,
            headers: Vec::new(),
            is_transactional: false,
            is_control: false,
        })
        .collect();
    let effects = broker.handle(
        3,
        Input::Message {
            from: NodeId::Broker(BrokerId(1)),
            message: Message::FetchResponse(FetchResponse {
                correlation,
                partition: P0,
                result: Ok(FetchData {
                    preferred_read_replica: None,
                    records,
                    high_watermark: Offset(2),
                    log_start_offset: Offset(0),
                    log_end_offset: Offset(3),
                    diverging_epoch: None,
                    last_stable_offset: Offset(2),
                    aborted_transactions: Vec::new(),
                }),
            }),
        },
    );
    let view = broker.replica_view(P0).unwrap();
    assert_eq!(
        (view.log_end_offset, view.high_watermark),
        (Offset(3), Offset(2))
    );
    assert!(events(&effects).contains(&Event::HighWatermarkUpdated {
        partition: P0,
        from: Offset(0),
        to: Offset(2)
    }));
    assert!(matches!(
        &sends(&effects)[..],
        [(
            _,
            Message::Fetch(FetchRequest {
                fetch_offset: Offset(3),
                ..
            })
        )]
    ));
    // Unanswered past replica_socket_timeout_ms: the fetch is sent again.
    let effects = run_until(&mut broker, 3 + config().replica_socket_timeout_ms);
    assert!(sends(&effects).iter().any(|(_, message)| matches!(
        message,
        Message::Fetch(FetchRequest {
            fetch_offset: Offset(3),
            ..
        })
    )));
}

#[test]
fn follower_backs_off_after_a_fetch_error_then_redoes_the_handshake() {
    let storage = disk_with(&[(1, 2)], None);
    let (mut broker, effects) = started(
        2,
        &storage,
        handshake(),
        image(1, state(Some(1), 1, &[1, 2], 1)),
    );
    let (_, Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest { correlation, .. })) =
        sends(&effects).pop().unwrap()
    else {
        panic!("expected OffsetsForLeaderEpoch");
    };
    let effects = broker.handle(
        1,
        Input::Message {
            from: NodeId::Broker(BrokerId(1)),
            message: Message::OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse {
                correlation,
                partition: P0,
                result: Err(ErrorCode::UnknownLeaderEpoch),
            }),
        },
    );
    assert!(sends(&effects).is_empty());
    let backoff_ms = config().replica_fetch_backoff_ms;
    let requests = |effects: &[Effect]| {
        sends(effects)
            .into_iter()
            .filter(|(_, message)| {
                matches!(
                    message,
                    Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest { .. })
                )
            })
            .count()
    };
    assert_eq!(requests(&run_until(&mut broker, backoff_ms)), 0);
    assert_eq!(requests(&run_until(&mut broker, 1 + backoff_ms)), 1);
}

#[test]
fn becoming_follower_fails_the_purgatory_with_not_leader_or_follower() {
    let (mut broker, _) = leader(&[1, 2, 3], BugSwitches::default());
    broker.handle(10, produce(1, Acks::All, &[500]));
    let effects = broker.handle(11, fetch(NodeId::Broker(BrokerId(2)), Some(2), 1, 1, 500));
    assert_eq!(marks(&effects), vec![Mark::FetchParked]);
    let effects = broker.handle(
        20,
        controller(Message::MetadataUpdate(MetadataUpdate {
            metadata: image(2, state(Some(2), 2, &[1, 2], 2)),
        })),
    );
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(1), Err(ErrorCode::NotLeaderOrFollower))]
    );
    assert!(marks(&effects).contains(&Mark::BecameFollower));
    let effects = broker.handle(21, produce(2, Acks::Leader, &[501]));
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(2), Err(ErrorCode::NotLeaderOrFollower))]
    );
}

#[test]
fn a_demoted_leader_answers_its_parked_fetches_not_leader_or_follower_at_once() {
    let (mut broker, _) = leader(&[1, 2, 3], BugSwitches::default());
    let effects = broker.handle(11, fetch(NodeId::Broker(BrokerId(2)), Some(2), 1, 0, 500));
    assert_eq!(marks(&effects), vec![Mark::FetchParked]);
    let effects = broker.handle(
        20,
        controller(Message::MetadataUpdate(MetadataUpdate {
            metadata: image(2, state(Some(2), 2, &[1, 2], 2)),
        })),
    );
    let answered: Vec<(NodeId, Message)> = sends(&effects)
        .into_iter()
        .filter(|(_, message)| matches!(message, Message::FetchResponse(_)))
        .collect();
    assert_eq!(
        answered,
        vec![(
            NodeId::Broker(BrokerId(2)),
            Message::FetchResponse(FetchResponse {
                correlation: CorrelationId(100),
                partition: P0,
                result: Err(ErrorCode::NotLeaderOrFollower),
            })
        )]
    );
    assert!(marks(&effects).contains(&Mark::ParkedFetchAnsweredNotLeader));
    // The parked fetch's expiry timer went with it: nothing is answered twice.
    assert!(fetch_data(&run_until(&mut broker, 1_000)).is_empty());
}

#[test]
fn an_acks0_produce_to_a_replica_that_is_not_the_leader_closes_the_connection() {
    let storage = SharedStorage::default();
    let (mut broker, _) = started(
        1,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(2), 1, &[1, 2, 3], 1)),
    );
    let effects = broker.handle(10, produce(1, Acks::None, &[500]));
    assert_eq!(
        effects,
        vec![
            Effect::Mark(Mark::Acks0ErrorClosedConnection),
            Effect::CloseConnection { peer: PRODUCER },
        ]
    );
    // acks=1 gets its answer instead: the connection stays.
    let effects = broker.handle(11, produce(2, Acks::Leader, &[501]));
    assert_eq!(
        produce_responses(&effects),
        vec![(CorrelationId(2), Err(ErrorCode::NotLeaderOrFollower))]
    );
    assert!(!effects.contains(&Effect::CloseConnection { peer: PRODUCER }));
}

#[test]
fn an_acks0_produce_for_a_partition_not_hosted_closes_the_connection() {
    let (mut broker, _) = leader(&[1, 2, 3], BugSwitches::default());
    let mut request = produce(1, Acks::None, &[500]);
    if let Input::Message {
        message: Message::Produce(produce),
        ..
    } = &mut request
    {
        produce.partition = TopicPartition::of_default_topic(7);
    }
    assert_eq!(
        broker.handle(10, request),
        vec![
            Effect::Mark(Mark::Acks0ErrorClosedConnection),
            Effect::CloseConnection { peer: PRODUCER },
        ]
    );
}

#[test]
fn a_follower_whose_leader_connection_closes_backs_off_then_fetches_again() {
    let storage = SharedStorage::default();
    // Broker 1 follows broker 2 with an empty log: it fetches at once.
    let (mut broker, effects) = started(
        1,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(2), 1, &[1, 2, 3], 1)),
    );
    let fetches = |effects: &[Effect]| {
        sends(effects)
            .into_iter()
            .filter(|(to, message)| {
                *to == NodeId::Broker(BrokerId(2)) && matches!(message, Message::Fetch(_))
            })
            .count()
    };
    assert_eq!(fetches(&effects), 1);
    let effects = broker.handle(
        100,
        Input::ConnectionClosed {
            peer: NodeId::Broker(BrokerId(2)),
        },
    );
    assert_eq!(marks(&effects), vec![Mark::FollowerLeaderConnectionClosed]);
    assert_eq!(fetches(&effects), 0);
    let backoff_ms = config().replica_fetch_backoff_ms;
    assert_eq!(fetches(&run_until(&mut broker, 99 + backoff_ms)), 0);
    assert_eq!(fetches(&run_until(&mut broker, 100 + backoff_ms)), 1);
    // Another broker's connection closing changes nothing.
    let effects = broker.handle(
        100 + backoff_ms,
        Input::ConnectionClosed {
            peer: NodeId::Broker(BrokerId(3)),
        },
    );
    assert!(effects.is_empty());
}

#[test]
fn a_broker_whose_controller_connection_closes_contacts_the_controller_after_the_backoff() {
    let storage = SharedStorage::default();
    let (mut broker, _) = started(
        1,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(1), 1, &[1, 2, 3], 1)),
    );
    let effects = broker.handle(
        100,
        Input::ConnectionClosed {
            peer: NodeId::Controller,
        },
    );
    assert_eq!(
        marks(&effects),
        vec![Mark::BrokerControllerConnectionClosed]
    );
    let to_controller = |effects: &[Effect]| {
        sends(effects)
            .into_iter()
            .filter(|(to, _)| *to == NodeId::Controller)
            .count()
    };
    let backoff_ms = config().reconnect_backoff_ms;
    assert_eq!(to_controller(&run_until(&mut broker, 99 + backoff_ms)), 0);
    assert_eq!(to_controller(&run_until(&mut broker, 100 + backoff_ms)), 1);
}

#[test]
fn isr_shrinks_after_replica_lag_time_max_ms() {
    let (mut broker, _) = leader(&[1, 2, 3], BugSwitches::default());
    broker.handle(1, produce(1, Acks::Leader, &[500]));
    // Broker 2 keeps up; broker 3 never fetches.
    broker.handle(9_000, follower_fetch(2, 1));
    let effects = run_until(&mut broker, 10_000);
    assert!(!sends(&effects).iter().any(|(_, message)| matches!(
        message,
        Message::AlterPartition(AlterPartitionRequest { .. })
    )));
    broker.handle(14_000, follower_fetch(2, 1));
    let effects = run_until(&mut broker, 15_000);
    let alter = Message::AlterPartition(AlterPartitionRequest {
        broker: BrokerId(1),
        broker_epoch: BrokerEpoch(7),
        partition: P0,
        leader_epoch: LeaderEpoch(1),
        partition_epoch: PartitionEpoch(1),
        new_isr_with_epochs: isr_with_epochs(&[(1, Some(7)), (2, Some(8))]),
    });
    assert!(sends(&effects).contains(&(NodeId::Controller, alter.clone())));
    // The proposal says why: broker 3 never fetched, and was last caught up when broker 1
    // became leader, longer ago than replica_lag_time_max_ms.
    let proposals: Vec<Event> = events(&effects)
        .into_iter()
        .filter(|event| matches!(event, Event::IsrShrinkProposed { .. }))
        .collect();
    let [Event::IsrShrinkProposed {
        isr,
        proposed,
        leader_log_end_offset,
        replica_lag_time_max_ms,
        out_of_sync,
        ..
    }] = proposals.as_slice()
    else {
        panic!("one shrink proposal expected: {proposals:?}");
    };
    assert_eq!((isr, proposed), (&brokers(&[1, 2, 3]), &brokers(&[1, 2])));
    assert_eq!(*leader_log_end_offset, Offset(1));
    assert_eq!(*replica_lag_time_max_ms, config().replica_lag_time_max_ms);
    let [lagging] = out_of_sync.as_slice() else {
        panic!("one out-of-sync follower expected: {out_of_sync:?}");
    };
    assert_eq!(
        (lagging.broker, lagging.log_end_offset),
        (BrokerId(3), None)
    );
    assert!(lagging
        .last_caught_up_time_ms
        .is_some_and(|caught_up_ms| 15_000 - caught_up_ms > config().replica_lag_time_max_ms));
    assert_eq!(
        broker.partition(P0).unwrap().pending_isr(),
        Some(&brokers(&[1, 2])[..])
    );
    // Unanswered: sent again after the retry interval.
    let effects = run_until(&mut broker, 15_000 + config().broker_heartbeat_interval_ms);
    assert!(sends(&effects).contains(&(NodeId::Controller, alter)));
    let effects = broker.handle(
        17_500,
        controller(Message::AlterPartitionResponse(AlterPartitionResponse {
            partition: P0,
            result: Ok(state(Some(1), 1, &[1, 2], 2)),
        })),
    );
    assert!(events(&effects).contains(&Event::IsrUpdated {
        partition: P0,
        from: brokers(&[1, 2, 3]),
        to: brokers(&[1, 2]),
    }));
    assert!(marks(&effects).contains(&Mark::IsrShrunk));
    assert_eq!(broker.replica_view(P0).unwrap().isr, &brokers(&[1, 2])[..]);
}

#[test]
fn isr_expands_when_follower_catches_up() {
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    broker.handle(1, produce(1, Acks::Leader, &[500, 501]));
    broker.handle(2, follower_fetch(2, 2));
    // Broker 3 behind the high watermark: not yet.
    let effects = broker.handle(3, follower_fetch(3, 1));
    assert!(!sends(&effects).iter().any(|(_, message)| matches!(
        message,
        Message::AlterPartition(AlterPartitionRequest { .. })
    )));
    let effects = broker.handle(4, follower_fetch(3, 2));
    assert!(sends(&effects).contains(&(
        NodeId::Controller,
        Message::AlterPartition(AlterPartitionRequest {
            broker: BrokerId(1),
            broker_epoch: BrokerEpoch(7),
            partition: P0,
            leader_epoch: LeaderEpoch(1),
            partition_epoch: PartitionEpoch(1),
            new_isr_with_epochs: isr_with_epochs(&[(1, Some(7)), (2, Some(8)), (3, Some(8))]),
        })
    )));
    // The proposal says why: broker 3's fetch offset reached the high watermark (2) and the
    // start of broker 1's epoch (0).
    let proposal = events(&effects)
        .into_iter()
        .find(|event| matches!(event, Event::IsrExpandProposed { .. }));
    assert_eq!(
        proposal,
        Some(Event::IsrExpandProposed {
            partition: P0,
            isr: brokers(&[1, 2]),
            proposed: brokers(&[1, 2, 3]),
            follower: FollowerProgress {
                broker: BrokerId(3),
                log_end_offset: Some(Offset(2)),
                last_caught_up_time_ms: Some(4),
            },
            high_watermark: Offset(2),
            leader_epoch_start_offset: Offset(0),
        })
    );
    let effects = broker.handle(
        5,
        controller(Message::AlterPartitionResponse(AlterPartitionResponse {
            partition: P0,
            result: Ok(state(Some(1), 1, &[1, 2, 3], 2)),
        })),
    );
    assert!(marks(&effects).contains(&Mark::IsrExpanded));
    assert_eq!(
        broker.replica_view(P0).unwrap().isr,
        &brokers(&[1, 2, 3])[..]
    );
}

#[test]
fn high_watermark_counts_a_proposed_member_while_the_alter_partition_is_pending() {
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    broker.handle(1, produce(1, Acks::Leader, &[500, 501]));
    let effects = broker.handle(2, follower_fetch(2, 1));
    // The high watermark says what it was computed from: the leader at 2, broker 2 at 1.
    assert_eq!(
        events(&effects)[..2],
        [
            Event::HighWatermarkComputed {
                partition: P0,
                basis: HighWatermarkBasis::Leader {
                    log_end_offsets: vec![(BrokerId(1), Offset(2)), (BrokerId(2), Offset(1))],
                    joining: Vec::new(),
                },
            },
            Event::HighWatermarkUpdated {
                partition: P0,
                from: Offset(0),
                to: Offset(1),
            },
        ]
    );
    broker.handle(3, follower_fetch(3, 1));
    assert_eq!(
        broker.partition(P0).unwrap().pending_isr(),
        Some(&brokers(&[1, 2, 3])[..])
    );
    // Broker 2 catches up fully, broker 3 (proposed) does not: the maximal ISR holds the
    // high watermark at broker 3's log end offset.
    broker.handle(4, follower_fetch(2, 2));
    assert_eq!(broker.replica_view(P0).unwrap().high_watermark, Offset(1));
}

#[test]
fn recovery_drops_torn_tail() {
    let storage = disk_with(&[(1, 3)], Some(3));
    let file = Log::file_name(P0);
    let length = storage.file(&file).len() as u64;
    storage.clone().truncate(&file, length - 3);
    let mut broker = Broker::new(
        BrokerId(1),
        2,
        config(),
        vec![topic()],
        BugSwitches::default(),
        Box::new(storage.clone()),
    );
    let effects = broker.handle(0, Input::Start);
    assert_eq!(
        events(&effects),
        vec![
            Event::LogTruncated {
                partition: P0,
                from_log_end_offset: Offset(3),
                to_offset: Offset(2),
                reason: TruncationReason::Recovery,
            },
            Event::LogRecovered {
                partition: P0,
                log_end_offset: Offset(2),
                high_watermark: Offset(2),
                latest_epoch: Some(LeaderEpoch(1)),
                records: vec![summary(0, 1, 1_000), summary(1, 1, 1_001)],
            },
        ]
    );
    assert_eq!(marks(&effects), vec![Mark::TruncatedOnRecovery]);
    let decoded = crate::log::batch_file::decode(&storage.file(&file), Offset(0));
    assert_eq!(decoded.valid_length_bytes, storage.file(&file).len() as u64);
    assert_eq!(decoded.records.len(), 2);
}

#[test]
fn truncate_to_high_watermark_switch_truncates_to_checkpointed_hw() {
    let bugs = BugSwitches {
        truncate_to_high_watermark: true,
        ..BugSwitches::default()
    };
    let storage = disk_with(&[(1, 5)], Some(2));
    let (_, effects) = started(2, &storage, bugs, image(1, state(Some(3), 2, &[2, 3], 1)));
    assert!(events(&effects).contains(&Event::LogTruncated {
        partition: P0,
        from_log_end_offset: Offset(5),
        to_offset: Offset(2),
        reason: TruncationReason::HighWatermark,
    }));
    assert!(marks(&effects).contains(&Mark::TruncatedToHighWatermark));
    assert!(matches!(
        &sends(&effects)[..],
        [
            _,
            (
                _,
                Message::Fetch(FetchRequest {
                    fetch_offset: Offset(2),
                    ..
                })
            )
        ]
    ));
    // Without the switch the same replica keeps its log and fetches from its end, naming
    // its latest epoch for the leader to check.
    let storage = disk_with(&[(1, 5)], Some(2));
    let (broker, effects) = started(
        2,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(3), 2, &[2, 3], 1)),
    );
    assert!(matches!(
        &sends(&effects)[..],
        [
            _,
            (
                _,
                Message::Fetch(FetchRequest {
                    fetch_offset: Offset(5),
                    last_fetched_epoch: Some(LeaderEpoch(1)),
                    ..
                })
            )
        ]
    ));
    assert_eq!(broker.replica_view(P0).unwrap().log_end_offset, Offset(5));
}

#[test]
fn flush_interval_messages_syncs_the_log_every_n_records() {
    let storage = SharedStorage::default();
    let topic = TopicConfig {
        flush_interval_messages: Some(2),
        ..topic()
    };
    let mut broker = Broker::new(
        BrokerId(1),
        1,
        config(),
        vec![topic],
        BugSwitches::default(),
        Box::new(storage.clone()),
    );
    broker.handle(0, Input::Start);
    broker.handle(
        0,
        controller(Message::BrokerRegistrationResponse(
            BrokerRegistrationResponse {
                result: Ok(BrokerEpoch(7)),
                metadata: Some(image(1, state(Some(1), 1, &[1, 2], 1))),
            },
        )),
    );
    let file = Log::file_name(P0);
    broker.handle(1, produce(1, Acks::Leader, &[1]));
    assert_eq!(storage.sync_count(&file), 0);
    broker.handle(2, produce(2, Acks::Leader, &[2]));
    assert_eq!(storage.sync_count(&file), 1);
    broker.handle(3, produce(3, Acks::Leader, &[3, 4, 5]));
    assert_eq!(storage.sync_count(&file), 2);
}

/// A broker that syncs after `broker_flush` messages, leading a topic whose own
/// `flush.messages` is `topic_flush`; returns the sync count of the log after each of two
/// single-record produces.
fn syncs_after_two_produces(topic_flush: Option<u64>, broker_flush: Option<u64>) -> [u64; 2] {
    let storage = SharedStorage::default();
    let topic = TopicConfig {
        flush_interval_messages: topic_flush,
        ..topic()
    };
    let broker_config = BrokerConfig {
        log_flush_interval_messages: broker_flush,
        ..config()
    };
    let mut broker = Broker::new(
        BrokerId(1),
        1,
        broker_config,
        vec![topic],
        BugSwitches::default(),
        Box::new(storage.clone()),
    );
    broker.handle(0, Input::Start);
    broker.handle(
        0,
        controller(Message::BrokerRegistrationResponse(
            BrokerRegistrationResponse {
                result: Ok(BrokerEpoch(7)),
                metadata: Some(image(1, state(Some(1), 1, &[1, 2], 1))),
            },
        )),
    );
    let file = Log::file_name(P0);
    broker.handle(1, produce(1, Acks::Leader, &[1]));
    let first = storage.sync_count(&file);
    broker.handle(2, produce(2, Acks::Leader, &[2]));
    [first, storage.sync_count(&file)]
}

#[test]
fn a_topic_without_flush_messages_takes_the_brokers_log_flush_interval_messages() {
    assert_eq!(syncs_after_two_produces(None, Some(1)), [1, 2]);
    assert_eq!(syncs_after_two_produces(None, Some(2)), [0, 1]);
    assert_eq!(syncs_after_two_produces(None, None), [0, 0]);
}

#[test]
fn a_topics_own_flush_messages_overrides_the_broker_default() {
    assert_eq!(syncs_after_two_produces(Some(1), None), [1, 2]);
    assert_eq!(syncs_after_two_produces(Some(2), Some(1)), [0, 1]);
}

#[test]
fn high_watermark_checkpoint_is_written_every_interval() {
    let (mut broker, storage) = leader(&[1, 2], BugSwitches::default());
    broker.handle(1, produce(1, Acks::Leader, &[1, 2]));
    broker.handle(2, follower_fetch(2, 2));
    let interval_ms = config().high_watermark_checkpoint_interval_ms;
    run_until(&mut broker, interval_ms - 1);
    assert!(storage.file(HIGH_WATERMARK_CHECKPOINT_FILE).is_empty());
    run_until(&mut broker, interval_ms);
    assert_eq!(
        storage.file(HIGH_WATERMARK_CHECKPOINT_FILE),
        b"0\n1\nevents 0 2\n",
        "Kafka's checkpoint format: version, count, then topic partition offset"
    );
    assert_eq!(storage.sync_count(HIGH_WATERMARK_CHECKPOINT_FILE), 1);
}

#[test]
fn every_tick_moves_every_deadline_past_now() {
    let (mut broker, _) = leader(&[1, 2, 3], BugSwitches::default());
    broker.handle(1, produce(1, Acks::All, &[1]));
    broker.handle(2, fetch(CONSUMER, None, 1, 0, 700));
    let mut ticks = 0;
    while let Some(deadline_ms) = broker.next_deadline_ms().filter(|&due| due <= 60_000) {
        fire_due_timers(&mut broker, deadline_ms);
        assert!(broker.next_deadline_ms().unwrap() > deadline_ms);
        ticks += 1;
    }
    assert!(ticks < 200, "{ticks} ticks in one simulated minute");
}

/// A leader and a follower wired together: every Send between them is delivered in order,
/// one millisecond later; what goes elsewhere is collected.
#[test]
fn leader_and_follower_replicate_end_to_end_and_the_high_watermark_advances() {
    let two = |leader_epoch| PartitionState {
        partition: P0,
        replicas: brokers(&[1, 2]),
        leader: Some(BrokerId(1)),
        leader_epoch: LeaderEpoch(leader_epoch),
        isr: brokers(&[1, 2]),
        partition_epoch: PartitionEpoch(1),
        elr: Vec::new(),
        last_known_elr: Vec::new(),
    };
    let leader_storage = SharedStorage::default();
    let follower_storage = SharedStorage::default();
    let (leader, _) = started(1, &leader_storage, BugSwitches::default(), image(1, two(1)));
    let (follower, first) = started(
        2,
        &follower_storage,
        BugSwitches::default(),
        image(1, two(1)),
    );
    let mut nodes = [leader, follower];
    let mut now_ms = 1;
    let mut queue: VecDeque<(NodeId, NodeId, Message)> = VecDeque::new();
    let mut elsewhere: Vec<(NodeId, Message)> = Vec::new();
    let route =
        |from: NodeId, effects: Vec<Effect>, queue: &mut VecDeque<_>, elsewhere: &mut Vec<_>| {
            for (to, message) in sends(&effects) {
                match to {
                    NodeId::Broker(_) => queue.push_back((from, to, message)),
                    _ => elsewhere.push((to, message)),
                }
            }
        };
    let pump = |nodes: &mut [Broker; 2],
                now_ms: &mut u64,
                queue: &mut VecDeque<(NodeId, NodeId, Message)>,
                elsewhere: &mut Vec<(NodeId, Message)>| {
        let mut delivered = 0;
        while let Some((from, to, message)) = queue.pop_front() {
            *now_ms += 1;
            let NodeId::Broker(BrokerId(id)) = to else {
                unreachable!()
            };
            let effects = nodes[id as usize - 1].handle(*now_ms, Input::Message { from, message });
            route(to, effects, queue, elsewhere);
            delivered += 1;
            assert!(delivered < 1_000, "the pump does not quiesce");
        }
    };
    route(
        NodeId::Broker(BrokerId(2)),
        first,
        &mut queue,
        &mut elsewhere,
    );
    pump(&mut nodes, &mut now_ms, &mut queue, &mut elsewhere);
    // The follower's fetch is parked on the leader: nothing moves.
    assert!(queue.is_empty());
    let effects = nodes[0].handle(now_ms, produce(1, Acks::All, &[700, 701, 702]));
    route(
        NodeId::Broker(BrokerId(1)),
        effects,
        &mut queue,
        &mut elsewhere,
    );
    pump(&mut nodes, &mut now_ms, &mut queue, &mut elsewhere);
    let answers: Vec<_> = elsewhere
        .iter()
        .filter_map(|(to, message)| match message {
            Message::ProduceResponse(ProduceResponse { result, .. }) if *to == PRODUCER => {
                Some(*result)
            }
            _ => None,
        })
        .collect();
    assert_eq!(answers, vec![Ok(Offset(0))]);
    let leader_view = nodes[0].replica_view(P0).unwrap();
    let follower_view = nodes[1].replica_view(P0).unwrap();
    assert_eq!(leader_view.records, follower_view.records);
    assert_eq!(leader_view.high_watermark, Offset(3));
    assert_eq!(follower_view.high_watermark, Offset(3));
    assert_eq!(follower_view.log_end_offset, Offset(3));

    // The leader changes to broker 2 in epoch 2: broker 1 follows, fetches from its log end
    // naming epoch 1, which broker 2 finds consistent, keeps its records, and fetches what
    // broker 2 appends.
    let metadata = image(
        2,
        PartitionState {
            leader: Some(BrokerId(2)),
            leader_epoch: LeaderEpoch(2),
            partition_epoch: PartitionEpoch(2),
            ..two(1)
        },
    );
    for (index, node) in nodes.iter_mut().enumerate() {
        let effects = node.handle(
            now_ms,
            controller(Message::MetadataUpdate(MetadataUpdate {
                metadata: metadata.clone(),
            })),
        );
        route(
            NodeId::Broker(BrokerId(index as u32 + 1)),
            effects,
            &mut queue,
            &mut elsewhere,
        );
    }
    pump(&mut nodes, &mut now_ms, &mut queue, &mut elsewhere);
    let effects = nodes[1].handle(now_ms, produce(2, Acks::All, &[703]));
    route(
        NodeId::Broker(BrokerId(2)),
        effects,
        &mut queue,
        &mut elsewhere,
    );
    pump(&mut nodes, &mut now_ms, &mut queue, &mut elsewhere);
    let leader_view = nodes[1].replica_view(P0).unwrap();
    let follower_view = nodes[0].replica_view(P0).unwrap();
    assert_eq!(leader_view.records, follower_view.records);
    assert_eq!(leader_view.records.len(), 4);
    assert_eq!(leader_view.records[3].leader_epoch, LeaderEpoch(2));
    assert_eq!(
        (leader_view.high_watermark, follower_view.high_watermark),
        (Offset(4), Offset(4))
    );
}

// ---- local appends: a coordinator's write to its own partition, continued in the broker ----

const WAITER: LocalWaiter = LocalWaiter { token: 42 };

#[test]
fn a_local_append_completes_once_the_high_watermark_passes_it() {
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    let effects = broker.append_local(10, P0, WAITER, &values(&[500, 501]), 1_000);
    assert!(
        produce_responses(&effects).is_empty(),
        "no client is answered"
    );
    assert_eq!(broker.take_local_completions(), vec![]);
    broker.handle(11, follower_fetch(2, 1));
    assert_eq!(
        broker.take_local_completions(),
        vec![],
        "offset 1 is not committed yet"
    );
    broker.handle(12, follower_fetch(2, 2));
    assert_eq!(
        broker.take_local_completions(),
        vec![LocalCompletion {
            partition: P0,
            waiter: WAITER,
            result: Ok(Offset(0)),
        }]
    );
    assert_eq!(broker.take_local_completions(), vec![], "handed over once");
}

#[test]
fn a_local_append_fails_with_not_leader_when_leadership_moves_away() {
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    broker.append_local(10, P0, WAITER, &values(&[500]), 1_000);
    broker.handle(
        11,
        controller(Message::MetadataUpdate(MetadataUpdate {
            metadata: image(2, state(Some(2), 2, &[2], 2)),
        })),
    );
    assert_eq!(
        broker.take_local_completions(),
        vec![LocalCompletion {
            partition: P0,
            waiter: WAITER,
            result: Err(ErrorCode::NotLeaderOrFollower),
        }]
    );
}

#[test]
fn a_local_append_times_out_like_an_acks_all_produce() {
    let (mut broker, _) = leader(&[1, 2], BugSwitches::default());
    broker.append_local(10, P0, WAITER, &values(&[500]), 300);
    assert!(broker.due_timers(310).iter().any(|timer| matches!(
        timer,
        Timer::Broker(BrokerTimer::Partition(_, PartitionTimer::DelayedProduce(_)))
    )));
    run_until(&mut broker, 310);
    assert_eq!(
        broker.take_local_completions(),
        vec![LocalCompletion {
            partition: P0,
            waiter: WAITER,
            result: Err(ErrorCode::RequestTimedOut),
        }]
    );
}

#[test]
fn a_local_append_is_refused_below_min_insync_and_for_a_partition_not_hosted() {
    let (mut broker, _) = leader(&[1], BugSwitches::default());
    broker.append_local(10, P0, WAITER, &values(&[500]), 1_000);
    broker.append_local(
        10,
        TopicPartition::of_default_topic(9),
        WAITER,
        &values(&[501]),
        1_000,
    );
    let results: Vec<_> = broker
        .take_local_completions()
        .into_iter()
        .map(|completion| (completion.partition, completion.result))
        .collect();
    assert_eq!(
        results,
        vec![
            (P0, Err(ErrorCode::NotEnoughReplicas)),
            (
                TopicPartition::of_default_topic(9),
                Err(ErrorCode::NotLeaderOrFollower)
            ),
        ]
    );
    assert_eq!(
        broker.partition(P0).unwrap().log().log_end_offset(),
        Offset(0)
    );
}

#[test]
fn every_message_kind_is_routed_to_what_serves_it() {
    use super::routing::{route, Route};
    let producer_request = produce(1, Acks::All, &[1]);
    let Input::Message { message, .. } = producer_request else {
        unreachable!()
    };
    assert_eq!(route(PRODUCER, &message), Route::Partition(P0));
    let update = Message::MetadataUpdate(MetadataUpdate {
        metadata: image(1, state(Some(1), 1, &[1], 1)),
    });
    assert_eq!(route(NodeId::Controller, &update), Route::Lifecycle);
    assert_eq!(
        route(PRODUCER, &update),
        Route::Nowhere,
        "only from the controller"
    );
    let metadata = Message::Metadata(crate::protocol::MetadataRequest {
        correlation: CorrelationId(1),
    });
    assert_eq!(route(CONSUMER, &metadata), Route::MetadataCache);
}

// ---- KRaft lifecycle: registration, controlled shutdown, clean-shutdown marker ----

fn heartbeat_answer(should_shut_down: bool) -> Input {
    controller(Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
        result: Ok(()),
        metadata: None,
        is_fenced: should_shut_down,
        should_shut_down,
    }))
}

#[test]
fn broker_heartbeats_at_once_after_registering_and_fetches_with_its_broker_epoch() {
    let storage = SharedStorage::default();
    let mut broker = Broker::new(
        BrokerId(2),
        1,
        config(),
        vec![topic()],
        BugSwitches::default(),
        Box::new(storage.clone()),
    );
    broker.handle(0, Input::Start);
    let effects = broker.handle(
        0,
        controller(Message::BrokerRegistrationResponse(
            BrokerRegistrationResponse {
                result: Ok(BrokerEpoch(7)),
                metadata: Some(image(1, state(Some(1), 1, &[1, 2, 3], 1))),
            },
        )),
    );
    let sent = sends(&effects);
    assert!(sent.contains(&(
        NodeId::Controller,
        Message::BrokerHeartbeat(BrokerHeartbeatRequest {
            broker: BrokerId(2),
            broker_epoch: BrokerEpoch(7),
            metadata_version: 1,
            want_fence: false,
            want_shut_down: false,
        })
    )));
    // KIP-903: an empty follower fetches at once, naming its broker epoch.
    assert!(sent.iter().any(|(_, message)| matches!(
        message,
        Message::Fetch(FetchRequest {
            replica_epoch: Some(BrokerEpoch(7)),
            ..
        })
    )));
}

#[test]
fn duplicate_registration_is_retried_after_the_heartbeat_interval() {
    let storage = SharedStorage::default();
    let mut broker = Broker::new(
        BrokerId(1),
        2,
        config(),
        vec![topic()],
        BugSwitches::default(),
        Box::new(storage.clone()),
    );
    broker.handle(0, Input::Start);
    let refused = broker.handle(
        5,
        controller(Message::BrokerRegistrationResponse(
            BrokerRegistrationResponse {
                result: Err(ErrorCode::DuplicateBrokerRegistration),
                metadata: None,
            },
        )),
    );
    assert_eq!(refused, vec![]);
    assert_eq!(broker.broker_epoch(), None);
    let interval_ms = BrokerConfig::default().broker_heartbeat_interval_ms;
    let retry = run_until(&mut broker, interval_ms);
    assert!(sends(&retry)
        .iter()
        .any(|(to, message)| *to == NodeId::Controller
            && matches!(message, Message::BrokerRegistration(_))));
}

#[test]
fn leader_records_each_followers_broker_epoch_for_alter_partition() {
    let (mut broker, _storage) = leader(&[1, 2, 3], BugSwitches::default());
    broker.handle(100, follower_fetch(2, 0));
    assert_eq!(
        broker
            .partition(P0)
            .unwrap()
            .follower_replica(BrokerId(2))
            .unwrap()
            .broker_epoch,
        Some(BrokerEpoch(8))
    );
    assert_eq!(
        broker
            .partition(P0)
            .unwrap()
            .follower_replica(BrokerId(3))
            .unwrap()
            .broker_epoch,
        None
    );
}

#[test]
fn controlled_shutdown_flushes_writes_the_marker_and_the_restart_registers_clean() {
    let (mut broker, storage) = leader(&[1, 2, 3], BugSwitches::default());
    broker.handle(10, produce(1, Acks::Leader, &[1, 2]));
    let effects = broker.begin_controlled_shutdown(20);
    assert_eq!(
        sends(&effects),
        vec![(
            NodeId::Controller,
            Message::BrokerHeartbeat(BrokerHeartbeatRequest {
                broker: BrokerId(1),
                broker_epoch: BrokerEpoch(7),
                metadata_version: 1,
                want_fence: false,
                want_shut_down: true,
            })
        )]
    );
    // The controller is still moving leaderships: ask again after 50 ms.
    broker.handle(25, heartbeat_answer(false));
    assert_eq!(broker.next_deadline_ms(), Some(75));
    assert!(!broker.has_shut_down());
    let log_syncs = storage.sync_count(&Log::file_name(P0));
    let effects = broker.handle(80, heartbeat_answer(true));
    assert_eq!(marks(&effects), vec![Mark::ControlledShutdownCompleted]);
    assert!(broker.has_shut_down());
    assert_eq!(broker.next_deadline_ms(), None);
    assert!(
        storage.sync_count(&Log::file_name(P0)) > log_syncs,
        "the log is flushed"
    );
    assert!(!storage.file(CLEAN_SHUTDOWN_FILE).is_empty());
    // A stopped broker does nothing more.
    assert_eq!(broker.handle(90, produce(2, Acks::Leader, &[3])), vec![]);

    let mut restarted = Broker::new(
        BrokerId(1),
        2,
        config(),
        vec![topic()],
        BugSwitches::default(),
        Box::new(storage.clone()),
    );
    let effects = restarted.handle(100, Input::Start);
    assert!(marks(&effects).contains(&Mark::CleanShutdownRecoverySkipped));
    assert!(!marks(&effects).contains(&Mark::TruncatedOnRecovery));
    assert!(sends(&effects).contains(&(
        NodeId::Controller,
        Message::BrokerRegistration(BrokerRegistrationRequest {
            rack: None,
            broker: BrokerId(1),
            incarnation: 2,
            previous_broker_epoch: Some(BrokerEpoch(7)),
        })
    )));
    // The marker is gone: a crash from here on is unclean again (KAFKA-10471).
    assert!(storage.file(CLEAN_SHUTDOWN_FILE).is_empty());
    let mut crashed_again = Broker::new(
        BrokerId(1),
        3,
        config(),
        vec![topic()],
        BugSwitches::default(),
        Box::new(storage.clone()),
    );
    let effects = crashed_again.handle(200, Input::Start);
    assert!(sends(&effects).iter().any(|(_, message)| matches!(
        message,
        Message::BrokerRegistration(BrokerRegistrationRequest {
            previous_broker_epoch: None,
            ..
        })
    )));
}

#[test]
fn controlled_shutdown_stops_hard_when_the_controller_never_lets_it_go() {
    let (mut broker, storage) = leader(&[1, 2, 3], BugSwitches::default());
    broker.begin_controlled_shutdown(0);
    let timeout_ms = config().controlled_shutdown_timeout_ms;
    let effects = run_until(&mut broker, timeout_ms);
    assert!(marks(&effects).contains(&Mark::ControlledShutdownTimedOut));
    assert!(broker.has_shut_down());
    // Kafka still closes its logs cleanly after the wait times out.
    assert!(!storage.file(CLEAN_SHUTDOWN_FILE).is_empty());
}

/// A restarted broker whose registration is not accepted yet (the controller still honours
/// its predecessor's session) must not act on the images pushed to that predecessor: it would
/// lead an epoch it led before the restart with a log that lost records, and write different
/// records at the same offsets in the same epoch.
#[test]
fn metadata_pushed_before_the_registration_is_accepted_is_ignored() {
    let storage = SharedStorage::default();
    let mut broker = Broker::new(
        BrokerId(1),
        2,
        config(),
        vec![topic()],
        BugSwitches::default(),
        Box::new(storage.clone()),
    );
    broker.handle(0, Input::Start);
    let effects = broker.handle(
        1,
        controller(Message::MetadataUpdate(MetadataUpdate {
            metadata: image(5, state(Some(1), 1, &[1, 2, 3], 1)),
        })),
    );
    assert!(!marks(&effects).contains(&Mark::BecameLeader));
    assert!(!broker
        .partition(P0)
        .is_some_and(|partition| partition.is_leader()));
    let effects = register(&mut broker, image(6, state(Some(1), 1, &[1, 2, 3], 1)));
    assert!(marks(&effects).contains(&Mark::BecameLeader));
}
