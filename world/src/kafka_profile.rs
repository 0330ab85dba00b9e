//! Applying a Kafka version profile ([`KafkaVersion`]) to a scenario: what `--kafka VERSION`
//! and a file's `kafka_version` do.
//!
//! - The release's historical switches are turned on, in addition to the scenario's own
//!   (a scenario or `--bug` may add one a release did not have: a what-if).
//! - Settings whose defaults changed since the release (acks, retries, enable.idempotence,
//!   unclean.leader.election.enable, eligible leader replicas) take the release's default
//!   where the scenario does not state them; a stated setting is kept, as it would be in
//!   that release's configuration file.
//! - A scenario using what the release did not have (transactions before 0.11, static
//!   membership before 2.3, ...) is refused with the release that brought it.

use crate::processing::ProcessingMode;
use crate::scenario::Scenario;
use watermark_broker_core::config::{Assignor, ProducerConfig};
use watermark_broker_core::kafka_version::{Feature, KafkaVersion};
use watermark_broker_core::protocol::IsolationLevel;

/// Which settings the scenario states, by their path in a scenario file
/// (`producers[0].config.acks`, `topics[1].unclean_leader_election_enable`,
/// `eligible_leader_replicas_enable`).
pub trait StatedSettings {
    fn states(&self, path: &str) -> bool;
}

/// A catalogue scenario states every setting it has, except the cluster's feature levels:
/// its story is told with the settings it chose, on whichever release runs it.
pub struct CatalogueSettings;

impl StatedSettings for CatalogueSettings {
    fn states(&self, path: &str) -> bool {
        path != "eligible_leader_replicas_enable"
    }
}

/// The first feature the scenario's clients use that `version` lacks, with the release it
/// came in, as a one-line refusal. (Eligible leader replicas, a cluster feature, follow the
/// release unless a file states them: [`apply_kafka_version`] judges those.)
pub fn missing_feature(scenario: &Scenario, version: KafkaVersion) -> Option<String> {
    let used = features_used(scenario);
    used.into_iter().find_map(|feature| {
        version.lacks(feature).map(|since| {
            format!(
                "Kafka {version} cannot run this scenario: it uses {}, which came in {since}",
                feature.description()
            )
        })
    })
}

/// Every feature with a release of its own that the scenario uses.
fn features_used(scenario: &Scenario) -> Vec<Feature> {
    let mut used = Vec::new();
    let producer_configs = scenario
        .producers
        .iter()
        .map(|producer| &producer.config)
        .chain(
            scenario
                .consumers
                .iter()
                .filter_map(|consumer| consumer.producer.as_ref()),
        );
    for config in producer_configs {
        if config.transactional_id.is_some() {
            used.push(Feature::TransactionalProducer);
        }
        if config.enable_idempotence == Some(true) {
            used.push(Feature::IdempotentProducer);
        }
    }
    for consumer in &scenario.consumers {
        if consumer.processing == Some(ProcessingMode::ConsumeTransformProduce) {
            used.push(Feature::TransactionalProducer);
        }
        if consumer.config.isolation_level == IsolationLevel::ReadCommitted {
            used.push(Feature::ReadCommitted);
        }
        if consumer.config.group_id.is_some() {
            used.push(Feature::ConsumerGroups);
        }
        if consumer.config.group_instance_id.is_some() {
            used.push(Feature::StaticMembership);
        }
        if consumer.config.client_rack.is_some() {
            used.push(Feature::FetchFromFollower);
        }
        // A group uses the first assignor of the list every member supports: the default
        // list, [range, cooperative-sticky], rebalances eagerly with range.
        if consumer.config.group_id.is_some()
            && consumer.config.partition_assignment_strategy.first()
                == Some(&Assignor::CooperativeSticky)
        {
            used.push(Feature::CooperativeRebalancing);
        }
    }
    if !scenario.broker.replica_selector_class.is_leader() {
        used.push(Feature::FetchFromFollower);
    }
    used
}

/// Applies `version` to `scenario`, reading which settings it states from `stated`.
pub fn apply_kafka_version(
    scenario: &mut Scenario,
    version: KafkaVersion,
    stated: &dyn StatedSettings,
) -> Result<(), String> {
    if let Some(refusal) = missing_feature(scenario, version) {
        return Err(refusal);
    }
    if !stated.states("eligible_leader_replicas_enable") {
        scenario.eligible_leader_replicas_enable = version.eligible_leader_replicas_by_default();
    } else if let (true, Some(since)) = (
        scenario.eligible_leader_replicas_enable,
        version.lacks(Feature::EligibleLeaderReplicas),
    ) {
        return Err(format!(
            "Kafka {version} cannot run this scenario: it turns on {}, which came in {since}",
            Feature::EligibleLeaderReplicas.description()
        ));
    }
    for switch in version.switch_list() {
        scenario.bugs.enable(switch);
    }
    for (index, producer) in scenario.producers.iter_mut().enumerate() {
        apply_producer_defaults(
            &mut producer.config,
            version,
            &format!("producers[{index}].config"),
            stated,
        );
    }
    for (index, consumer) in scenario.consumers.iter_mut().enumerate() {
        // A consume-transform-produce pipeline's producer is transactional: the pipeline
        // gives it its transactional.id when it starts.
        if consumer.processing == Some(ProcessingMode::ConsumeTransformProduce) {
            continue;
        }
        if let Some(config) = consumer.producer.as_mut() {
            apply_producer_defaults(
                config,
                version,
                &format!("consumers[{index}].producer"),
                stated,
            );
        }
    }
    for (index, topic) in scenario.topics.iter_mut().enumerate() {
        if !stated.states(&format!("topics[{index}].unclean_leader_election_enable")) {
            topic.unclean_leader_election_enable = version.unclean_leader_election_by_default();
        }
    }
    scenario.kafka_version = Some(version);
    Ok(())
}

/// The producer defaults that changed since `version`, where the scenario does not state
/// them.
fn apply_producer_defaults(
    config: &mut ProducerConfig,
    version: KafkaVersion,
    path: &str,
    stated: &dyn StatedSettings,
) {
    if !stated.states(&format!("{path}.acks")) {
        config.acks = version.default_acks();
    }
    if !stated.states(&format!("{path}.retries")) {
        config.retries = version.default_retries();
    }
    // An unset enable.idempotence means "on unless the settings conflict" from 3.0
    // (KIP-679), which the producer resolves; before 3.0 it means off, except that a
    // transactional.id has always implied idempotence.
    if config.enable_idempotence.is_none()
        && config.transactional_id.is_none()
        && !version.idempotence_by_default()
    {
        config.enable_idempotence = Some(false);
    }
}

#[cfg(test)]
#[path = "kafka_profile_tests.rs"]
mod tests;
