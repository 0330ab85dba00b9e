//! Unit tests of [`ClientMetadata`]: where its requests go and how its two timers move.

use super::*;

fn image(version: u64) -> MetadataImage {
    MetadataImage {
        version,
        ..MetadataImage::default()
    }
}

fn response(correlation: u64, version: u64) -> MetadataResponse {
    MetadataResponse {
        correlation: CorrelationId(correlation),
        metadata: image(version),
    }
}

fn tracker(timers: &mut TimerTable<MetadataTimer>) -> ClientMetadata {
    ClientMetadata::new(vec![BrokerId(1), BrokerId(2)], 100, 10, 1_000, timers)
}

#[test]
fn metadata_request_rotates_to_next_bootstrap_broker_on_timeout() {
    let mut timers = TimerTable::default();
    let mut metadata = tracker(&mut timers);
    let mut correlation = 1;
    assert_eq!(
        metadata.maybe_send_request(0, &mut correlation, &mut timers),
        Some(Effect::Send {
            to: NodeId::Broker(BrokerId(1)),
            message: Message::Metadata(MetadataRequest {
                correlation: CorrelationId(1)
            }),
        })
    );
    assert_eq!(timers.next_deadline_ms(), Some(100));
    assert_eq!(metadata.on_request_timeout(99, &mut timers), None);
    assert_eq!(
        metadata.on_request_timeout(100, &mut timers),
        Some(BrokerId(1))
    );
    assert_eq!(
        metadata.maybe_send_request(100, &mut correlation, &mut timers),
        Some(Effect::Send {
            to: NodeId::Broker(BrokerId(2)),
            message: Message::Metadata(MetadataRequest {
                correlation: CorrelationId(2)
            }),
        })
    );
    metadata.check_timers(&timers);
}

#[test]
fn stale_image_is_not_applied_and_next_broker_is_asked_after_backoff() {
    let mut timers = TimerTable::default();
    let mut metadata = tracker(&mut timers);
    let mut correlation = 1;
    metadata.maybe_send_request(0, &mut correlation, &mut timers);
    let from = NodeId::Broker(BrokerId(1));
    assert_eq!(
        metadata.on_response(5, from, &response(1, 7), &mut timers),
        MetadataApplied::Applied { refreshed: false }
    );
    assert_eq!(timers.next_deadline_ms(), Some(1_005));
    metadata.request_update(6, &mut timers);
    assert_eq!(timers.next_deadline_ms(), Some(10));
    assert_eq!(
        metadata.maybe_send_request(6, &mut correlation, &mut timers),
        None
    );
    metadata.maybe_send_request(10, &mut correlation, &mut timers);
    assert_eq!(
        metadata.on_response(12, from, &response(2, 6), &mut timers),
        MetadataApplied::Stale
    );
    assert_eq!(timers.next_deadline_ms(), Some(20));
    assert_eq!(
        metadata.maybe_send_request(20, &mut correlation, &mut timers),
        Some(Effect::Send {
            to: NodeId::Broker(BrokerId(2)),
            message: Message::Metadata(MetadataRequest {
                correlation: CorrelationId(3)
            }),
        })
    );
    metadata.check_timers(&timers);
}

#[test]
fn a_new_tracker_wants_metadata_at_once_unless_it_has_no_bootstrap_broker() {
    let mut timers = TimerTable::default();
    let metadata = tracker(&mut timers);
    assert_eq!(
        timers.iter().collect::<Vec<_>>(),
        [(MetadataTimer::Refresh, 0)]
    );
    metadata.check_timers(&timers);

    let mut timers = TimerTable::<MetadataTimer>::default();
    let metadata = ClientMetadata::new(Vec::new(), 100, 10, 1_000, &mut timers);
    assert!(timers.is_empty());
    metadata.check_timers(&timers);
}

#[test]
fn sending_a_request_swaps_the_refresh_timer_for_the_request_timeout() {
    let mut timers = TimerTable::default();
    let mut metadata = tracker(&mut timers);
    let mut correlation = 1;
    metadata.maybe_send_request(0, &mut correlation, &mut timers);
    assert_eq!(
        timers.iter().collect::<Vec<_>>(),
        [(MetadataTimer::RequestTimeout, 100)]
    );
    metadata.check_timers(&timers);
}

/// A refresh asked for while a request is outstanding must not wake the client: it waits
/// for the request to end, and the answer replaces it with the periodic refresh.
#[test]
fn a_refresh_asked_for_while_a_request_is_outstanding_sets_no_timer() {
    let mut timers = TimerTable::default();
    let mut metadata = tracker(&mut timers);
    let mut correlation = 1;
    metadata.maybe_send_request(0, &mut correlation, &mut timers);
    metadata.request_update(20, &mut timers);
    assert_eq!(
        timers.iter().collect::<Vec<_>>(),
        [(MetadataTimer::RequestTimeout, 100)]
    );
    let from = NodeId::Broker(BrokerId(1));
    metadata.on_response(30, from, &response(1, 1), &mut timers);
    assert_eq!(
        timers.iter().collect::<Vec<_>>(),
        [(MetadataTimer::Refresh, 1_030)]
    );
    metadata.check_timers(&timers);
}

#[test]
fn an_answer_from_another_broker_or_to_another_request_leaves_the_timers_alone() {
    let mut timers = TimerTable::default();
    let mut metadata = tracker(&mut timers);
    let mut correlation = 1;
    metadata.maybe_send_request(0, &mut correlation, &mut timers);
    let before: Vec<_> = timers.iter().collect();
    let other_broker = NodeId::Broker(BrokerId(2));
    assert_eq!(
        metadata.on_response(5, other_broker, &response(1, 1), &mut timers),
        MetadataApplied::Ignored
    );
    let same_broker = NodeId::Broker(BrokerId(1));
    assert_eq!(
        metadata.on_response(6, same_broker, &response(9, 1), &mut timers),
        MetadataApplied::Ignored
    );
    assert_eq!(timers.iter().collect::<Vec<_>>(), before);
}

#[test]
fn a_closed_connection_cancels_the_request_timeout_and_asks_the_next_broker_at_once() {
    let mut timers = TimerTable::default();
    let mut metadata = tracker(&mut timers);
    let mut correlation = 1;
    metadata.maybe_send_request(0, &mut correlation, &mut timers);
    metadata.on_connection_closed(40, BrokerId(1), &mut timers);
    assert_eq!(
        timers.iter().collect::<Vec<_>>(),
        [(MetadataTimer::Refresh, 40)]
    );
    assert_eq!(
        metadata.maybe_send_request(40, &mut correlation, &mut timers),
        Some(Effect::Send {
            to: NodeId::Broker(BrokerId(2)),
            message: Message::Metadata(MetadataRequest {
                correlation: CorrelationId(2)
            }),
        })
    );
    metadata.check_timers(&timers);
}

#[test]
fn a_topics_partition_count_leaves_out_every_other_topic() {
    use crate::ids::{LeaderEpoch, PartitionEpoch, PartitionId};
    use crate::metadata::PartitionState;
    use crate::topic::TopicName;
    let (events, offsets, zeta) = (
        TopicName::from_static("events"),
        TopicName::from_static("__consumer_offsets"),
        TopicName::from_static("zeta"),
    );
    let partitions = [(events, 3), (offsets, 50), (zeta, 2)]
        .into_iter()
        .flat_map(|(topic, count)| (0..count).map(move |index| (topic, index)))
        .map(|(topic, index)| {
            let partition = TopicPartition::new(topic, PartitionId(index));
            let state = PartitionState {
                partition,
                replicas: vec![BrokerId(1)],
                leader: Some(BrokerId(1)),
                leader_epoch: LeaderEpoch(0),
                isr: vec![BrokerId(1)],
                partition_epoch: PartitionEpoch(0),
                elr: Vec::new(),
                last_known_elr: Vec::new(),
            };
            (partition, state)
        })
        .collect();
    let mut timers = TimerTable::default();
    let mut metadata = tracker(&mut timers);
    let mut correlation = 1;
    metadata.maybe_send_request(0, &mut correlation, &mut timers);
    let answer = MetadataResponse {
        correlation: CorrelationId(1),
        metadata: MetadataImage {
            broker_racks: Default::default(),
            version: 1,
            live_brokers: vec![BrokerId(1)],
            partitions,
        },
    };
    metadata.on_response(1, NodeId::Broker(BrokerId(1)), &answer, &mut timers);
    assert_eq!(metadata.partition_count(events), 3);
    assert_eq!(metadata.partition_count(offsets), 50);
    assert_eq!(metadata.partition_count(zeta), 2);
    assert_eq!(
        metadata.partition_count(TopicName::from_static("absent")),
        0
    );
}
