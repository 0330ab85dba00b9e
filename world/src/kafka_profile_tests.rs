//! Profiles on hand-built scenarios; each test changes a default scenario a field at a time.
#![allow(clippy::field_reassign_with_default)]

use super::*;
use crate::scenario::ConsumerWorkload;
use watermark_broker_core::bugs::BugSwitch;
use watermark_broker_core::protocol::Acks;

/// A file that writes only what its paths name.
struct Writes(&'static [&'static str]);

impl StatedSettings for Writes {
    fn states(&self, path: &str) -> bool {
        self.0.contains(&path)
    }
}

#[test]
fn a_profile_turns_on_its_releases_switches_beside_the_scenarios_own() {
    let mut scenario = Scenario::default();
    scenario.bugs.enable(BugSwitch::AckBeforeIsr);
    apply_kafka_version(&mut scenario, KafkaVersion::V0_10_2, &CatalogueSettings).unwrap();
    assert_eq!(
        scenario.bugs.enabled(),
        vec![
            BugSwitch::TruncateToHighWatermark,
            BugSwitch::AckBeforeIsr,
            BugSwitch::HwAdvancesUnderMinIsr,
            BugSwitch::IsrJoinBelowLeaderEpochStart,
            BugSwitch::IsrAcceptsFencedReplicas,
            BugSwitch::IsrAcceptsStaleBrokerEpoch,
            BugSwitch::NoConsumerTruncationDetection
        ]
    );
    assert_eq!(scenario.kafka_version, Some(KafkaVersion::V0_10_2));
}

#[test]
fn defaults_change_only_where_the_scenario_is_silent() {
    let mut scenario = Scenario::default();
    scenario.consumers = Vec::new();
    let stated = Writes(&["topics[0].unclean_leader_election_enable"]);
    apply_kafka_version(&mut scenario, KafkaVersion::V0_10_2, &stated).unwrap();
    let producer = &scenario.producers[0].config;
    assert_eq!(producer.acks, Acks::Leader);
    assert_eq!(producer.retries, 0);
    assert_eq!(producer.enable_idempotence, Some(false));
    assert!(!scenario.topics[0].unclean_leader_election_enable);
    assert!(!scenario.eligible_leader_replicas_enable);

    let mut scenario = Scenario::default();
    let stated = Writes(&["producers[0].config.acks"]);
    apply_kafka_version(&mut scenario, KafkaVersion::V2_8, &stated).unwrap();
    assert_eq!(scenario.producers[0].config.acks, Acks::All);
    assert_eq!(scenario.producers[0].config.retries, u32::MAX);

    let mut scenario = Scenario::default();
    apply_kafka_version(&mut scenario, KafkaVersion::V4_1, &Writes(&[])).unwrap();
    assert_eq!(scenario, {
        let mut expected = Scenario::default();
        expected.kafka_version = Some(KafkaVersion::V4_1);
        expected
    });
}

#[test]
fn a_catalogue_scenario_keeps_its_settings_but_not_its_feature_levels() {
    let mut scenario = Scenario::default();
    scenario.producers[0].config.acks = Acks::All;
    scenario.eligible_leader_replicas_enable = false;
    apply_kafka_version(&mut scenario, KafkaVersion::V4_1, &CatalogueSettings).unwrap();
    assert!(scenario.eligible_leader_replicas_enable);
    apply_kafka_version(&mut scenario, KafkaVersion::V2_0, &CatalogueSettings).unwrap();
    assert!(!scenario.eligible_leader_replicas_enable);
    assert_eq!(scenario.producers[0].config.acks, Acks::All);
}

#[test]
fn what_a_release_lacked_is_refused_with_the_release_that_brought_it() {
    let mut scenario = Scenario::default();
    scenario.producers[0].config.transactional_id = Some("payments".to_string());
    let error =
        apply_kafka_version(&mut scenario, KafkaVersion::V0_10_2, &CatalogueSettings).unwrap_err();
    assert_eq!(
        error,
        "Kafka 0.10.2 cannot run this scenario: it uses transactions (KIP-98), which came in 0.11.0"
    );

    let mut scenario = Scenario::default();
    scenario.consumers = vec![ConsumerWorkload::default()];
    scenario.consumers[0].config.group_id = Some("g".to_string());
    scenario.consumers[0].config.group_instance_id = Some("one".to_string());
    let error =
        apply_kafka_version(&mut scenario, KafkaVersion::V2_1, &CatalogueSettings).unwrap_err();
    assert!(
        error.contains("static group membership (KIP-345), which came in 2.3.0"),
        "{error}"
    );

    let mut scenario = Scenario::default();
    let stated = Writes(&["eligible_leader_replicas_enable"]);
    let error = apply_kafka_version(&mut scenario, KafkaVersion::V3_7, &stated).unwrap_err();
    assert!(
        error.contains("eligible leader replicas (KIP-966), which came in 4.0.0"),
        "{error}"
    );
}

#[test]
fn fetch_from_follower_is_refused_before_2_4() {
    use watermark_broker_core::config::ReplicaSelectorClass;
    let mut scenario = Scenario::default();
    scenario.broker.replica_selector_class = ReplicaSelectorClass::RackAware;
    let error =
        apply_kafka_version(&mut scenario, KafkaVersion::V2_1, &CatalogueSettings).unwrap_err();
    assert!(
        error.contains("fetch from follower: replica.selector.class and client.rack (KIP-392), which came in 2.4.0"),
        "{error}"
    );

    let mut scenario = Scenario::default();
    scenario.consumers = vec![ConsumerWorkload::default()];
    scenario.consumers[0].config.client_rack = Some("b".to_string());
    assert!(apply_kafka_version(&mut scenario, KafkaVersion::V2_1, &CatalogueSettings).is_err());
    let mut scenario = Scenario::default();
    scenario.consumers = vec![ConsumerWorkload::default()];
    scenario.consumers[0].config.client_rack = Some("b".to_string());
    assert!(apply_kafka_version(&mut scenario, KafkaVersion::V2_8, &CatalogueSettings).is_ok());
}
