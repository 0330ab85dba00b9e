//! The broker as the group coordinator's host: FindCoordinator from the metadata image,
//! loading and unloading with leadership of an offsets partition, and commits answered
//! only once their acks=all append is committed.

use super::*;
use crate::offsets_topic::{group_partition, offsets_topic_config};
use crate::protocol::{
    FindCoordinatorRequest, FindCoordinatorResponse, OffsetAndMetadata, OffsetCommitRequest,
    OffsetFetchRequest,
};
use crate::{GenerationId, GroupId, MemberId};

const CONSUMER: NodeId = NodeId::Consumer(crate::ids::ClientId(9));

fn offsets_config() -> BrokerConfig {
    BrokerConfig {
        offsets_topic_num_partitions: 1,
        offsets_topic_replication_factor: 1,
        ..config()
    }
}

fn offsets_partition() -> TopicPartition {
    group_partition(&GroupId("g".into()), 1)
}

/// The offsets partition's state with `leader` and this ISR.
fn offsets_state(leader: Option<u32>, leader_epoch: u32, isr: &[u32]) -> PartitionState {
    PartitionState {
        partition: offsets_partition(),
        replicas: brokers(&[1, 2]),
        leader: leader.map(BrokerId),
        leader_epoch: LeaderEpoch(leader_epoch),
        isr: brokers(isr),
        partition_epoch: PartitionEpoch(leader_epoch),
        elr: Vec::new(),
        last_known_elr: Vec::new(),
    }
}

fn coordinator_broker(storage: &SharedStorage, state: PartitionState) -> (Broker, Vec<Effect>) {
    coordinator_broker_with(storage, image(1, state))
}

/// Broker 1, hosting the offsets topic, registered with `metadata`.
fn coordinator_broker_with(
    storage: &SharedStorage,
    metadata: MetadataImage,
) -> (Broker, Vec<Effect>) {
    let config = offsets_config();
    let mut broker = Broker::new(
        BrokerId(1),
        1,
        config.clone(),
        vec![offsets_topic_config(&config)],
        BugSwitches::default(),
        Box::new(storage.clone()),
    );
    let effects = register(&mut broker, metadata);
    (broker, effects)
}

fn commit(offset: u64) -> Input {
    Input::Message {
        from: CONSUMER,
        message: Message::OffsetCommit(OffsetCommitRequest {
            correlation: CorrelationId(offset),
            group: GroupId("g".into()),
            generation: GenerationId::NONE,
            member_id: MemberId::unknown(),
            group_instance_id: None,
            offsets: vec![(
                P0,
                OffsetAndMetadata {
                    offset: Offset(offset),
                    leader_epoch: None,
                },
            )],
        }),
    }
}

fn fetch_committed(broker: &mut Broker, now_ms: u64) -> Message {
    let effects = broker.handle(
        now_ms,
        Input::Message {
            from: CONSUMER,
            message: Message::OffsetFetch(OffsetFetchRequest {
                correlation: CorrelationId(50),
                group: GroupId("g".into()),
                partitions: vec![P0],
                require_stable: false,
            }),
        },
    );
    sends(&effects).pop().expect("an answer").1
}

#[test]
fn any_broker_names_the_leader_of_the_groups_offsets_partition_as_coordinator() {
    let storage = SharedStorage::default();
    let (mut broker, _) = coordinator_broker(&storage, offsets_state(Some(2), 1, &[2]));
    let find = |key: &str| Input::Message {
        from: CONSUMER,
        message: Message::FindCoordinator(FindCoordinatorRequest {
            correlation: CorrelationId(1),
            key: crate::protocol::CoordinatorKey::Group(GroupId(key.into())),
        }),
    };
    let effects = broker.handle(1, find("g"));
    assert_eq!(
        sends(&effects),
        vec![(
            CONSUMER,
            Message::FindCoordinatorResponse(FindCoordinatorResponse {
                correlation: CorrelationId(1),
                key: crate::protocol::CoordinatorKey::Group(GroupId("g".into())),
                result: Ok(BrokerId(2)),
            })
        )]
    );
    broker.handle(
        2,
        controller(Message::MetadataUpdate(crate::protocol::MetadataUpdate {
            metadata: image(2, offsets_state(None, 2, &[2])),
        })),
    );
    let effects = broker.handle(3, find("g"));
    assert!(
        matches!(&sends(&effects)[..], [(_, Message::FindCoordinatorResponse(response))]
        if response.result == Err(ErrorCode::CoordinatorNotAvailable))
    );
}

#[test]
fn a_leader_of_an_offsets_partition_loads_it_and_answers_a_commit_once_committed() {
    let storage = SharedStorage::default();
    let (mut broker, effects) = coordinator_broker(&storage, offsets_state(Some(1), 1, &[1, 2]));
    assert!(events(&effects).contains(&Event::GroupsLoaded {
        partition: offsets_partition(),
        groups: Vec::new(),
    }));
    // Two replicas in the ISR: the commit waits for the follower.
    let effects = broker.handle(1, commit(5));
    assert!(!sends(&effects)
        .iter()
        .any(|(_, message)| matches!(message, Message::OffsetCommitResponse(_))));
    let effects = broker.handle(
        2,
        Input::Message {
            from: NodeId::Broker(BrokerId(2)),
            message: Message::Fetch(crate::protocol::FetchRequest {
                rack_id: None,
                correlation: CorrelationId(7),
                partition: offsets_partition(),
                replica: Some(BrokerId(2)),
                current_leader_epoch: LeaderEpoch(1),
                fetch_offset: Offset(1),
                last_fetched_epoch: Some(LeaderEpoch(1)),
                replica_epoch: None,
                max_records: 500,
                max_wait_ms: 0,
                isolation_level: crate::protocol::IsolationLevel::ReadUncommitted,
                log_start_offset: None,
            }),
        },
    );
    assert!(sends(&effects).iter().any(|(to, message)| *to == CONSUMER
        && matches!(message, Message::OffsetCommitResponse(response)
            if response.results == vec![(P0, Ok(()))])));
    assert!(matches!(fetch_committed(&mut broker, 3),
        Message::OffsetFetchResponse(response)
            if response.offsets == vec![(P0, Ok(Some(OffsetAndMetadata { offset: Offset(5), leader_epoch: None })))]));
}

#[test]
fn a_broker_that_stops_leading_unloads_and_answers_not_coordinator() {
    let storage = SharedStorage::default();
    let (mut broker, _) = coordinator_broker(&storage, offsets_state(Some(1), 1, &[1]));
    let effects = broker.handle(
        1,
        controller(Message::MetadataUpdate(crate::protocol::MetadataUpdate {
            metadata: image(2, offsets_state(Some(2), 2, &[1, 2])),
        })),
    );
    assert!(events(&effects).contains(&Event::GroupsUnloaded {
        partition: offsets_partition(),
        groups: Vec::new(),
    }));
    let effects = broker.handle(2, commit(5));
    assert!(marks(&effects).contains(&Mark::CoordinatorAnsweredNotCoordinator));
    assert!(
        matches!(&sends(&effects)[..], [(_, Message::OffsetCommitResponse(response))]
        if response.results == vec![(P0, Err(ErrorCode::NotCoordinator))])
    );
}

#[test]
fn find_coordinator_for_a_transactional_id_names_the_leader_of_its_transaction_state_partition() {
    use crate::ids::TransactionalId;
    use crate::protocol::CoordinatorKey;
    use crate::transaction_state_topic::transaction_partition;
    let storage = SharedStorage::default();
    let (mut broker, _) = coordinator_broker(&storage, offsets_state(Some(1), 1, &[1, 2]));
    let transactional_id = TransactionalId("t".into());
    let partition = transaction_partition(&transactional_id, 50);
    let find = Input::Message {
        from: CONSUMER,
        message: Message::FindCoordinator(FindCoordinatorRequest {
            correlation: CorrelationId(1),
            key: CoordinatorKey::Transaction(transactional_id.clone()),
        }),
    };
    // No `__transaction_state` partition in the image yet: no coordinator.
    let effects = broker.handle(1, find.clone());
    assert!(
        matches!(&sends(&effects)[..], [(_, Message::FindCoordinatorResponse(response))]
        if response.result == Err(ErrorCode::CoordinatorNotAvailable))
    );
    let mut metadata = image(2, offsets_state(Some(1), 1, &[1, 2]));
    metadata.partitions.insert(
        partition,
        PartitionState {
            partition,
            leader: Some(BrokerId(2)),
            ..offsets_state(Some(2), 1, &[2])
        },
    );
    broker.handle(
        2,
        controller(Message::MetadataUpdate(crate::protocol::MetadataUpdate {
            metadata,
        })),
    );
    let effects = broker.handle(3, find);
    assert_eq!(
        sends(&effects),
        vec![(
            CONSUMER,
            Message::FindCoordinatorResponse(FindCoordinatorResponse {
                correlation: CorrelationId(1),
                key: CoordinatorKey::Transaction(transactional_id),
                result: Ok(BrokerId(2)),
            })
        )]
    );
}

fn txn_commit(offset: u64) -> Input {
    Input::Message {
        from: CONSUMER,
        message: Message::TxnOffsetCommit(crate::protocol::TxnOffsetCommitRequest {
            correlation: CorrelationId(offset),
            transactional_id: crate::ids::TransactionalId("t1".into()),
            group: GroupId("g".into()),
            producer: crate::protocol::ProducerIdAndEpoch {
                producer_id: crate::ids::ProducerId(7),
                epoch: crate::ids::ProducerEpoch(0),
            },
            generation: GenerationId::NONE,
            member: MemberId::unknown(),
            group_instance_id: None,
            offsets: vec![(
                P0,
                OffsetAndMetadata {
                    offset: Offset(offset),
                    leader_epoch: None,
                },
            )],
            transaction_version: crate::protocol::TransactionVersion::V2,
        }),
    }
}

fn write_marker(result: crate::log::record_batch::ControlRecordType) -> Input {
    Input::Message {
        from: NodeId::Broker(BrokerId(2)),
        message: Message::WriteTxnMarkers(crate::protocol::WriteTxnMarkersRequest {
            correlation: CorrelationId(70),
            markers: vec![crate::protocol::TxnMarker {
                producer_id: crate::ids::ProducerId(7),
                producer_epoch: crate::ids::ProducerEpoch(0),
                result,
                partitions: vec![offsets_partition()],
                coordinator_epoch: 0,
            }],
        }),
    }
}

fn committed_offset(broker: &mut Broker, now_ms: u64) -> Option<Offset> {
    match fetch_committed(broker, now_ms) {
        Message::OffsetFetchResponse(response) => response.offsets[0]
            .1
            .expect("no partition error")
            .map(|value| value.offset),
        other => panic!("unexpected {other:?}"),
    }
}

/// The coordinator broker, with `t1`'s transaction coordinator on broker 3 in its image.
fn txn_coordinator_broker(storage: &SharedStorage) -> Broker {
    let config = offsets_config();
    let mut metadata = image(1, offsets_state(Some(1), 1, &[1]));
    let log = crate::transaction_state_topic::transaction_partition(
        &crate::ids::TransactionalId("t1".into()),
        config.transaction_state_log_num_partitions,
    );
    metadata.partitions.insert(
        log,
        PartitionState {
            partition: log,
            replicas: brokers(&[3]),
            leader: Some(BrokerId(3)),
            leader_epoch: LeaderEpoch(1),
            isr: brokers(&[3]),
            partition_epoch: PartitionEpoch(1),
            elr: Vec::new(),
            last_known_elr: Vec::new(),
        },
    );
    coordinator_broker_with(storage, metadata).0
}

/// Hands the broker a TxnOffsetCommit of offset 5 and answers the verification it asks
/// its transaction coordinator (adding the offsets partition, transactions version 2)
/// with `result`.
fn txn_commit_verified(
    broker: &mut Broker,
    now_ms: u64,
    result: Result<(), ErrorCode>,
) -> Vec<Effect> {
    let mut effects = broker.handle(now_ms, txn_commit(5));
    let asked = super::transactions::verifications(&effects);
    assert_eq!(asked.len(), 1, "one verification: {effects:?}");
    assert_eq!(asked[0].partitions, vec![offsets_partition()]);
    assert!(
        !asked[0].verify_only,
        "version 2 adds the offsets partition"
    );
    assert!(
        broker.partitions[&offsets_partition()]
            .log()
            .records()
            .is_empty(),
        "nothing is written before the coordinator answers"
    );
    effects.extend(broker.handle(
        now_ms,
        super::transactions::verification_answer(&asked[0], result),
    ));
    effects
}

#[test]
fn a_refused_verification_answers_the_txn_offset_commit_and_writes_nothing() {
    let storage = SharedStorage::default();
    let mut broker = txn_coordinator_broker(&storage);
    let effects = txn_commit_verified(&mut broker, 1, Err(ErrorCode::InvalidTxnState));
    assert!(sends(&effects).iter().any(|(to, message)| *to == CONSUMER
        && matches!(message, Message::TxnOffsetCommitResponse(response)
            if response.partitions == vec![(P0, Err(ErrorCode::InvalidTxnState))])));
    assert!(broker.partitions[&offsets_partition()]
        .log()
        .records()
        .is_empty());
}

#[test]
fn a_txn_offset_commit_is_a_transactional_batch_whose_commit_marker_makes_it_visible() {
    let storage = SharedStorage::default();
    let mut broker = txn_coordinator_broker(&storage);
    let effects = txn_commit_verified(&mut broker, 1, Ok(()));
    assert!(sends(&effects).iter().any(|(to, message)| *to == CONSUMER
        && matches!(message, Message::TxnOffsetCommitResponse(response)
            if response.partitions == vec![(P0, Ok(()))])));
    let log = broker.partitions[&offsets_partition()]
        .log()
        .records()
        .to_vec();
    assert!(log.last().is_some_and(|record| record.is_transactional));
    assert_eq!(committed_offset(&mut broker, 2), None);
    let effects = broker.handle(
        3,
        write_marker(crate::log::record_batch::ControlRecordType::Commit),
    );
    assert!(effects.contains(&Effect::Mark(Mark::TxnOffsetsCommittedByMarker)));
    assert!(sends(&effects)
        .iter()
        .any(|(_, message)| matches!(message, Message::WriteTxnMarkersResponse(_))));
    assert_eq!(committed_offset(&mut broker, 4), Some(Offset(5)));
}

#[test]
fn an_abort_marker_on_the_offsets_partition_discards_the_pending_offsets() {
    let storage = SharedStorage::default();
    let mut broker = txn_coordinator_broker(&storage);
    txn_commit_verified(&mut broker, 1, Ok(()));
    let effects = broker.handle(
        2,
        write_marker(crate::log::record_batch::ControlRecordType::Abort),
    );
    assert!(effects.contains(&Effect::Mark(Mark::TxnOffsetsAbortedByMarker)));
    assert_eq!(committed_offset(&mut broker, 3), None);
}
