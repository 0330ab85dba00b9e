//! Fetch from follower (KIP-392, Kafka 2.4), fault-free: brokers 1, 2 and 3 sit in racks a,
//! b and b, every broker runs the rack-aware replica selector, and the consumer is in rack b.
//! Broker 1 leads, so it answers the consumer's first fetch with a preferred read replica in
//! rack b, and the consumer reads the rest of the partition from that follower, which hands
//! out only what lies below its own high watermark. Nothing is lost, duplicated or read
//! before it was committed.

use crate::builder::ScenarioBuilder;
use watermark_broker_core::config::ReplicaSelectorClass;
use watermark_broker_core::ids::BrokerId;
use watermark_broker_core::mark::Mark;
use watermark_broker_core::protocol::Acks;
use watermark_sim::scenario::{ConsumerWorkload, Scenario};
use watermark_sim::verdict::Guarantee;

/// The scenarios of this file, in teaching order.
pub(crate) fn catalogue() -> Vec<Result<Scenario, String>> {
    vec![consumer_reads_from_follower_in_its_rack()]
}

/// KIP-392's happy path.
fn consumer_reads_from_follower_in_its_rack() -> Result<Scenario, String> {
    let mut consumer = ConsumerWorkload::default();
    consumer.config.client_rack = Some("b".to_string());
    ScenarioBuilder::new("consumer-reads-from-follower-in-its-rack")
        .summary(
            "fetch from follower (KIP-392): the leader sends a consumer to an in-sync replica \
             in its rack, which serves it below its own high watermark",
        )
        .explanation(
            "Brokers 1, 2 and 3 are in racks a, b and b (broker.rack) and run the rack-aware \
             replica selector (replica.selector.class=RackAwareReplicaSelector, KIP-392, Kafka \
             2.4+; Kafka's default selector keeps every read on the leader). The consumer sets \
             client.rack=b. Broker 1 leads the partition and is not in rack b, so it answers the \
             consumer's fetch with no records and a preferred read replica: the in-sync follower \
             of rack b whose log reaches furthest. The consumer fetches from that follower from \
             then on (until an error or metadata.max.age.ms ends the lease). A follower serves a \
             consumer only below its own high watermark, which it learns from the leader's fetch \
             responses, so the consumer reads every record, late by a replication round trip, \
             and never one that was not committed.",
        )
        .consumers(vec![consumer])
        .acks(Acks::All)
        .broker_config(|broker| broker.replica_selector_class = ReplicaSelectorClass::RackAware)
        .broker_rack(BrokerId(1), "a")
        .broker_rack(BrokerId(2), "b")
        .broker_rack(BrokerId(3), "b")
        .phases(10_000, 60_000)
        .expect(Guarantee::ExactlyOnce)
        .expect_mark(Mark::PreferredReadReplicaChosen)
        .expect_mark(Mark::FollowerServedConsumerFetch)
        .build()
}
