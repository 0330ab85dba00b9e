//! The controller state's tests: placement, clamping and the persisted encoding.
use super::*;
use crate::topic::TopicName;

/// One topic of the default name.
fn topic(partitions: u32, replication_factor: u32) -> Vec<TopicConfig> {
    vec![TopicConfig {
        partitions,
        replication_factor,
        ..TopicConfig::default()
    }]
}

fn p(index: u32) -> TopicPartition {
    TopicPartition::of_default_topic(index)
}

#[test]
fn topic_places_partition_p_on_brokers_p_plus_i_modulo_n() {
    let state = ControllerState::new_topics(&topic(3, 2), &[BrokerId(3), BrokerId(1), BrokerId(2)]);
    let replicas: Vec<Vec<BrokerId>> = state
        .image
        .partitions
        .values()
        .map(|partition| partition.replicas.clone())
        .collect();
    assert_eq!(
        replicas,
        vec![
            vec![BrokerId(1), BrokerId(2)],
            vec![BrokerId(2), BrokerId(3)],
            vec![BrokerId(3), BrokerId(1)],
        ]
    );
    let third = &state.image.partitions[&p(2)];
    assert_eq!(third.isr, vec![BrokerId(1), BrokerId(3)]);
    assert_eq!(third.leader, None);
    assert_eq!(state.image.version, 1);
}

#[test]
fn replication_factor_is_clamped_to_the_broker_count_and_at_least_one() {
    let too_many = ControllerState::new_topics(&topic(1, 5), &[BrokerId(1), BrokerId(2)]);
    assert_eq!(
        too_many.image.partitions[&p(0)].replicas,
        vec![BrokerId(1), BrokerId(2)]
    );
    let zero = ControllerState::new_topics(&topic(1, 0), &[BrokerId(1), BrokerId(2)]);
    assert_eq!(zero.image.partitions[&p(0)].replicas, vec![BrokerId(1)]);
    zero.assert_invariants(true);
    let no_brokers = ControllerState::new_topics(&topic(2, 3), &[]);
    assert!(no_brokers.image.partitions.is_empty());
}

#[test]
fn placement_continues_across_topics() {
    let topics = vec![
        TopicConfig {
            name: TopicName::new("first"),
            partitions: 2,
            replication_factor: 1,
            ..TopicConfig::default()
        },
        TopicConfig {
            name: TopicName::new("second"),
            partitions: 2,
            replication_factor: 2,
            ..TopicConfig::default()
        },
    ];
    let state = ControllerState::new_topics(&topics, &[BrokerId(1), BrokerId(2), BrokerId(3)]);
    let placed: Vec<(String, Vec<BrokerId>)> = state
        .image
        .partitions
        .values()
        .map(|state| (state.partition.directory(), state.replicas.clone()))
        .collect();
    assert_eq!(
        placed,
        vec![
            ("first-0".to_string(), vec![BrokerId(1)]),
            ("first-1".to_string(), vec![BrokerId(2)]),
            ("second-0".to_string(), vec![BrokerId(3), BrokerId(1)]),
            ("second-1".to_string(), vec![BrokerId(1), BrokerId(2)]),
        ]
    );
}

#[test]
fn encoded_state_decodes_to_the_same_state() {
    let mut state =
        ControllerState::new_topics(&topic(2, 3), &[BrokerId(1), BrokerId(2), BrokerId(3)]);
    state.brokers.insert(
        BrokerId(2),
        BrokerRegistrationState {
            rack: None,
            broker: BrokerId(2),
            incarnation: 4,
            broker_epoch: BrokerEpoch(7),
            fenced: false,
            in_controlled_shutdown: true,
            registered_at_version: 3,
        },
    );
    state.next_broker_epoch = BrokerEpoch(8);
    state.refresh_live_brokers();
    let decoded = ControllerState::decode(&state.encode()).unwrap();
    assert_eq!(decoded, Some(state));
    assert_eq!(ControllerState::decode(&[]), Ok(None));
    assert!(ControllerState::decode(b"{not json").is_err());
}

#[test]
fn the_next_producer_id_is_persisted_once_a_block_was_handed_out() {
    let mut state = ControllerState::new_topics(&topic(1, 1), &[BrokerId(1)]);
    // Before any block the encoding is the one written before producer ids existed, so
    // runs without idempotent producers write the same bytes (and keep their trace hashes).
    let before = String::from_utf8(state.encode()).unwrap();
    assert!(!before.contains("next_producer_id"), "{before}");
    assert_eq!(
        ControllerState::decode(before.as_bytes()).unwrap(),
        Some(state.clone())
    );
    state.next_producer_id = crate::ids::ProducerId(3_000);
    let decoded = ControllerState::decode(&state.encode()).unwrap();
    assert_eq!(
        decoded.map(|state| state.next_producer_id),
        Some(state.next_producer_id)
    );
}

#[test]
#[should_panic(expected = "not at a block boundary")]
fn a_next_producer_id_inside_a_block_breaks_an_invariant() {
    let mut state = ControllerState::new_topics(&topic(1, 1), &[BrokerId(1)]);
    state.next_producer_id = crate::ids::ProducerId(1_500);
    state.assert_invariants(false);
}
