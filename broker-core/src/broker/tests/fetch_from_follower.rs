//! Fetch from follower (KIP-392): the rack-aware leader names a preferred read replica
//! (Kafka's `ReplicaManager.findPreferredReadReplica`, `RackAwareReplicaSelector`), and a
//! follower serves consumers below its own high watermark (`Partition.fetchRecords` with
//! `fetchOnlyFromLeader` false for consumers).

use super::*;
use crate::config::ReplicaSelectorClass;

/// Brokers 1, 2 and 3 in racks a, b and c.
fn racked_image(version: u64, state: PartitionState) -> MetadataImage {
    MetadataImage {
        broker_racks: BTreeMap::from([
            (BrokerId(1), "a".to_string()),
            (BrokerId(2), "b".to_string()),
            (BrokerId(3), "c".to_string()),
        ]),
        ..image(version, state)
    }
}

/// Broker 1 leading p0 in epoch 1 with ISR {1, 2, 3} and this replica selector, holding
/// offsets 0..3, with follower 2 at its log end and follower 3 at offset 2.
fn racked_leader(selector: ReplicaSelectorClass) -> Broker {
    let storage = SharedStorage::default();
    let mut broker = Broker::new(
        BrokerId(1),
        1,
        BrokerConfig {
            replica_selector_class: selector,
            broker_rack: Some("a".to_string()),
            ..config()
        },
        vec![topic()],
        BugSwitches::default(),
        Box::new(storage),
    );
    register(
        &mut broker,
        racked_image(1, state(Some(1), 1, &[1, 2, 3], 1)),
    );
    broker.handle(10, produce(1, Acks::Leader, &[500, 501, 502]));
    broker.handle(11, follower_fetch(2, 3));
    broker.handle(12, follower_fetch(3, 2));
    broker
}

/// A consumer's fetch in epoch `epoch` at `offset`, from rack `rack`.
fn consumer_fetch(epoch: u32, offset: u64, rack: Option<&str>) -> Input {
    let Input::Message {
        from,
        message: Message::Fetch(request),
    } = fetch(CONSUMER, None, epoch, offset, 0)
    else {
        unreachable!("fetch builds a Fetch");
    };
    Input::Message {
        from,
        message: Message::Fetch(FetchRequest {
            rack_id: rack.map(str::to_string),
            ..request
        }),
    }
}

fn only_answer(effects: &[Effect]) -> Result<FetchData, ErrorCode> {
    let mut answers = fetch_data(effects);
    assert_eq!(answers.len(), 1, "expected one fetch answer: {effects:?}");
    answers.remove(0)
}

#[test]
fn a_rack_aware_leader_sends_a_consumer_to_the_in_sync_replica_in_its_rack() {
    let mut broker = racked_leader(ReplicaSelectorClass::RackAware);
    let effects = broker.handle(20, consumer_fetch(1, 0, Some("b")));
    let data = only_answer(&effects).unwrap();
    assert_eq!(data.preferred_read_replica, Some(BrokerId(2)));
    assert!(data.records.is_empty(), "a redirect carries no records");
    assert_eq!(data.high_watermark, Offset(2));
    assert!(marks(&effects).contains(&Mark::PreferredReadReplicaChosen));
    // Follower 3's log ends at 2: it holds offset 2 (an empty read there), not offset 3,
    // so the leader serves that fetch itself.
    let data = only_answer(&broker.handle(21, consumer_fetch(1, 2, Some("c")))).unwrap();
    assert_eq!(data.preferred_read_replica, Some(BrokerId(3)));
    let data = only_answer(&broker.handle(22, consumer_fetch(1, 3, Some("c")))).unwrap();
    assert_eq!(data.preferred_read_replica, None);
}

#[test]
fn the_leader_serves_a_consumer_in_its_own_rack_or_in_no_known_rack() {
    let mut broker = racked_leader(ReplicaSelectorClass::RackAware);
    for rack in [Some("a"), Some("z"), None, Some("")] {
        let data = only_answer(&broker.handle(20, consumer_fetch(1, 0, rack))).unwrap();
        assert_eq!(data.preferred_read_replica, None, "rack {rack:?}");
        assert_eq!(
            data.records.len(),
            2,
            "rack {rack:?}: read below the high watermark"
        );
    }
}

#[test]
fn the_default_leader_selector_never_names_a_read_replica() {
    let mut broker = racked_leader(ReplicaSelectorClass::Leader);
    let data = only_answer(&broker.handle(20, consumer_fetch(1, 0, Some("b")))).unwrap();
    assert_eq!(data.preferred_read_replica, None);
    assert_eq!(data.records.len(), 2);
}

#[test]
fn a_replica_out_of_the_isr_is_never_preferred() {
    let mut broker = racked_leader(ReplicaSelectorClass::RackAware);
    broker.handle(
        30,
        controller(Message::MetadataUpdate(MetadataUpdate {
            metadata: racked_image(2, state(Some(1), 1, &[1, 3], 2)),
        })),
    );
    let data = only_answer(&broker.handle(31, consumer_fetch(1, 0, Some("b")))).unwrap();
    assert_eq!(data.preferred_read_replica, None);
}

/// Broker 2 following broker 1 in epoch 1, holding offsets 0..3 with high watermark 2.
fn follower_with_high_watermark_2() -> Broker {
    let storage = SharedStorage::default();
    let (mut broker, effects) = started(
        2,
        &storage,
        BugSwitches::default(),
        image(1, state(Some(1), 1, &[1, 2], 1)),
    );
    let (_, request) = sends(&effects).pop().unwrap();
    let Message::Fetch(FetchRequest { correlation, .. }) = request else {
        panic!("expected Fetch, got {request:?}");
    };
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
    broker.handle(
        3,
        Input::Message {
            from: NodeId::Broker(BrokerId(1)),
            message: Message::FetchResponse(FetchResponse {
                correlation,
                partition: P0,
                result: Ok(FetchData {
                    records,
                    high_watermark: Offset(2),
                    log_start_offset: Offset(0),
                    log_end_offset: Offset(3),
                    diverging_epoch: None,
                    last_stable_offset: Offset(2),
                    aborted_transactions: Vec::new(),
                    preferred_read_replica: None,
                }),
            }),
        },
    );
    let view = broker.replica_view(P0).unwrap();
    assert_eq!(
        (view.log_end_offset, view.high_watermark),
        (Offset(3), Offset(2))
    );
    broker
}

#[test]
fn a_follower_serves_a_consumer_only_below_its_own_high_watermark() {
    let mut broker = follower_with_high_watermark_2();
    let effects = broker.handle(10, consumer_fetch(1, 0, Some("b")));
    let data = only_answer(&effects).unwrap();
    let offsets: Vec<Offset> = data.records.iter().map(|record| record.offset).collect();
    assert_eq!(offsets, vec![Offset(0), Offset(1)]);
    assert_eq!(data.high_watermark, Offset(2));
    assert!(marks(&effects).contains(&Mark::FollowerServedConsumerFetch));
    // Between its high watermark and its log end offset: nothing yet, answered at once.
    let data = only_answer(&broker.handle(11, consumer_fetch(1, 2, Some("b")))).unwrap();
    assert!(data.records.is_empty());
    let data = only_answer(&broker.handle(12, consumer_fetch(1, 3, Some("b")))).unwrap();
    assert!(data.records.is_empty());
}

#[test]
fn a_follower_answers_out_of_range_past_its_log_and_refuses_stale_or_replica_fetches() {
    let mut broker = follower_with_high_watermark_2();
    let answer = only_answer(&broker.handle(10, consumer_fetch(1, 4, Some("b"))));
    assert_eq!(answer, Err(ErrorCode::OffsetOutOfRange));
    let answer = only_answer(&broker.handle(11, consumer_fetch(0, 0, Some("b"))));
    assert_eq!(answer, Err(ErrorCode::FencedLeaderEpoch));
    let answer = only_answer(&broker.handle(12, consumer_fetch(2, 0, Some("b"))));
    assert_eq!(answer, Err(ErrorCode::UnknownLeaderEpoch));
    // Replication stays leader-only.
    let answer = only_answer(&broker.handle(13, follower_fetch(3, 0)));
    assert_eq!(answer, Err(ErrorCode::NotLeaderOrFollower));
}
