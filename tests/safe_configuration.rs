//! Property: Kafka's safe configuration — acks=all, min.insync.replicas=2, unclean election
//! off, an fsync per message — keeps at least once under the random swarm, whatever the seed
//! and the cluster's shape (brokers, partitions, replication factor, producers).

mod common;

use proptest::prelude::*;
use watermark_broker_core::config::Partitioner;
use watermark_broker_core::protocol::Acks;
use watermark_scenarios::builder::ScenarioBuilder;
use watermark_sim::fault::{FaultKind, Swarm};
use watermark_sim::runner::{run, RunOptions};
use watermark_sim::scenario::ProducerWorkload;
use watermark_sim::verdict::Guarantee;

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_safe_configuration_never_loses_an_acknowledged_write(
        seed in any::<u64>(),
        brokers in 3u32..=5,
        partitions in 1u32..=3,
        extra_replicas in 0u32..=2,
        producers in 1usize..=2,
    ) {
        let replication_factor = (3 + extra_replicas).min(brokers);
        let workload = ProducerWorkload {
            records: 120,
            interval_ms: 40,
            ..ProducerWorkload::default()
        };
        let scenario = ScenarioBuilder::new("safe-shape-property")
            .brokers(brokers)
            .partitions(partitions)
            .replication_factor(replication_factor)
            .min_insync_replicas(2)
            .flush_interval_messages(Some(1))
            .producers(vec![workload; producers])
            .producer_config(|producer| producer.partitioner = Partitioner::RoundRobin)
            .acks(Acks::All)
            .broker_config(|broker| broker.replica_lag_time_max_ms = 10_000)
            .swarm(Swarm { kinds: FaultKind::ALL.to_vec(), ..Swarm::default() })
            .expect(Guarantee::AtLeastOnce)
            .build()
            .unwrap();
        let report = run(&scenario, seed, RunOptions::default());
        prop_assert!(
            report.passed,
            "brokers {brokers} partitions {partitions} rf {replication_factor} producers {producers}\n{}",
            common::explain(&report)
        );
    }
}
