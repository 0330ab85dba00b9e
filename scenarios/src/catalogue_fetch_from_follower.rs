//! Fetch from follower (KIP-392, Kafka 2.4), fault-free: brokers 1, 2 and 3 sit in racks a,
//! b and b, every broker runs the rack-aware replica selector, and the consumer is in rack b.
//! Broker 1 leads, so it answers the consumer's first fetch with a preferred read replica in
//! rack b, and the consumer reads the rest of the partition from that follower, which hands
//! out only what lies below its own high watermark. Nothing is lost, duplicated or read
//! before it was committed.

use crate::builder::ScenarioBuilder;
use watermark_broker_core::bugs::BugSwitch;
use watermark_broker_core::config::ReplicaSelectorClass;
use watermark_broker_core::ids::{BrokerId, PartitionId};
use watermark_broker_core::mark::Mark;
use watermark_broker_core::protocol::Acks;
use watermark_sim::checkers::Checker;
use watermark_sim::fault::{Condition, Fault, PartitionRef, Target};
use watermark_sim::scenario::{ConsumerWorkload, ProducerWorkload, Scenario};
use watermark_sim::verdict::Guarantee;

const P0: PartitionRef = PartitionRef::Index(PartitionId(0));

/// The scenarios of this file, in teaching order.
pub(crate) fn catalogue() -> Vec<Result<Scenario, String>> {
    vec![
        consumer_reads_from_follower_in_its_rack(),
        follower_truncates_before_taking_the_high_watermark(),
        follower_exposes_diverged_records_before_truncating(),
    ]
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

/// The metadata age of the consumers (Kafka's `metadata.max.age.ms`), which is also the
/// lease of a preferred read replica: long enough that the periodic refresh, not the lease's
/// end, is what tells them of the new leader epoch.
const CONSUMER_METADATA_MAX_AGE_MS: u64 = 25_000;

/// KAFKA-14704's setting, shared by the fixed and the buggy scenario: broker 3 (rack b)
/// holds records of epoch 1 that broker 2, elected in epoch 2, lacks; it is cut off from the
/// controller's updates while its consumers learn of epoch 2 from broker 2 and keep their
/// lease on it; it hears of epoch 2 only after broker 2 has dropped it from the ISR and
/// committed new records past the divergence.
fn diverged_follower_serving_its_rack(name: &str) -> ScenarioBuilder {
    let mut producer = ProducerWorkload {
        records: 300,
        start_ms: 1_000,
        interval_ms: 100,
        ..ProducerWorkload::default()
    };
    producer.config.request_timeout_ms = 3_000;
    // The batches broker 1 holds when it is cut off expire rather than being written again
    // in epoch 2, so the records there differ from the diverged ones.
    producer.config.delivery_timeout_ms = 5_000;
    let consumers = (0..4)
        .map(|_| {
            let mut consumer = ConsumerWorkload::default();
            consumer.config.client_rack = Some("b".to_string());
            consumer.config.metadata_max_age_ms = CONSUMER_METADATA_MAX_AGE_MS;
            consumer.config.request_timeout_ms = 1_000;
            consumer.config.retry_backoff_ms = 10;
            consumer
        })
        .collect();
    let cut_controller_from_broker_3 = Fault::CutOneWay {
        from: Target::Controller,
        to: Target::Broker(BrokerId(3)),
    };
    ScenarioBuilder::new(name)
        .producers(vec![producer])
        .consumers(consumers)
        .acks(Acks::All)
        .min_insync_replicas(1)
        .broker_config(|broker| {
            broker.replica_selector_class = ReplicaSelectorClass::RackAware;
            broker.replica_lag_time_max_ms = 6_000;
        })
        .broker_rack(BrokerId(1), "a")
        .broker_rack(BrokerId(2), "c")
        .broker_rack(BrokerId(3), "b")
        // Broker 3's links are slow for the first 4 s, so the leader names it to the
        // consumers only once it has caught up: their lease outlives their next metadata
        // refresh.
        .fault_at(
            0,
            Fault::SlowLinks {
                target: Target::Broker(BrokerId(3)),
                latency_ms: 1_500,
            },
        )
        .fault_at(4_000, Fault::HealAll)
        .fault_at(
            4_000,
            Fault::SlowLinks {
                target: Target::Broker(BrokerId(2)),
                latency_ms: 150,
            },
        )
        // Broker 1 is cut off from the controller and the other brokers, not from the
        // clients, and broker 3 stops hearing the controller.
        .fault_at(7_000, Fault::HealAll)
        .cut_between(7_000, Target::Broker(BrokerId(1)), Target::Controller)
        .cut_between(
            7_000,
            Target::Broker(BrokerId(1)),
            Target::Broker(BrokerId(2)),
        )
        .cut_between(
            7_000,
            Target::Broker(BrokerId(1)),
            Target::Broker(BrokerId(3)),
        )
        .fault_at(7_000, cut_controller_from_broker_3)
        // After broker 2's election (about 16 s) broker 1 crashes: the consumers' connection
        // to it closes, and the metadata they ask for next comes from broker 2, with epoch 2.
        .fault_at(
            18_000,
            Fault::Crash {
                target: Target::Broker(BrokerId(1)),
            },
        )
        .trigger(
            Condition::IsrShrunkTo {
                partition: P0,
                size: 1,
            },
            2_000,
            vec![Fault::HealAll],
        )
        .phases(40_000, 120_000)
}

/// Kafka 3.5+: the diverging answer is only truncated by; the high watermark waits for the
/// next fetch.
fn follower_truncates_before_taking_the_high_watermark() -> Result<Scenario, String> {
    diverged_follower_serving_its_rack("follower-truncates-before-taking-the-high-watermark")
        .summary(
            "fetch from follower across a leader change: a follower that diverged truncates \
             before it takes the new leader's high watermark, so its consumers never read the \
             diverged records",
        )
        .explanation(&format!(
            "{STORY} Since Kafka 3.5 (KAFKA-14704) a follower handed a diverging epoch only \
             truncates by it; the high watermark waits for the next fetch, by which time the \
             diverged records are gone. The consumers read from broker 3 only records that \
             broker 2 holds too: nothing read was ever uncommitted.",
        ))
        .expect(Guarantee::AtLeastOnce)
        .expect_mark(Mark::FollowerServedConsumerFetch)
        .expect_mark(Mark::TruncatedByDivergingEpoch)
        .build()
}

/// KAFKA-14704 (Kafka 2.7.0 to 3.4.0, fixed in 3.5.0).
fn follower_exposes_diverged_records_before_truncating() -> Result<Scenario, String> {
    diverged_follower_serving_its_rack("follower-exposes-diverged-records-before-truncating")
        .summary(
            "KAFKA-14704: a follower that diverged takes the new leader's high watermark before \
             truncating, and for a moment serves its rack's consumers records that were never \
             committed",
        )
        .explanation(&format!(
            "{STORY} From Kafka 2.7, when fetches began to carry diverging epochs, until 3.5 \
             (KAFKA-14704, follower-high-watermark-before-truncation), the follower processed \
             the answer's partition data first: it took broker 2's high watermark, bounded only \
             by its own log end offset, so its high watermark covered its diverged records, and \
             truncated afterwards. In Kafka the gap is the rest of the fetcher thread's pass; \
             the model makes it a fetcher step 5 ms later. A consumer fetching from broker 3 in \
             that gap reads records that were never committed; the truncation then cuts them. \
             Its history shows two values at those offsets (inconsistent-offsets) and values \
             read that no replica holds in the end (final-log-loss).",
        ))
        .bug(BugSwitch::FollowerHighWatermarkBeforeTruncation)
        .expect(Guarantee::AtMostOnce)
        .expect_anomaly(Checker::InconsistentOffsets)
        .expect_anomaly(Checker::FinalLogLoss)
        .expect_mark(Mark::HighWatermarkTakenBeforeTruncation)
        .expect_mark(Mark::FollowerServedRecordsAboutToBeCut)
        .build()
}

/// What both KAFKA-14704 scenarios share, up to the moment they part.
const STORY: &str = "Brokers 1, 2 and 3 sit in racks a, c and b and run the rack-aware \
    replica selector (KIP-392); four consumers in rack b read the partition. Broker 3's links \
    are slow for the first 4 s, so only then does the leader, broker 1, send the consumers to \
    it (their lease lasts metadata.max.age.ms, 25 s here). From 4 s broker 2's links are slow \
    instead: broker 3 holds records broker 2 has not yet fetched, which are not committed. At \
    7 s broker 1 is cut off from the controller and the other brokers (not from the clients), \
    and broker 3 stops hearing the controller, though its heartbeats still arrive. When broker \
    1's session expires the controller elects broker 2 in epoch 2; broker 3 does not hear of \
    it. At 18 s broker 1 crashes, the consumers' metadata comes from broker 2 and names epoch \
    2, and broker 3 answers their fetches UNKNOWN_LEADER_EPOCH, which keeps the lease. Broker 2 \
    drops broker 3 from the ISR (replica.lag.time.max.ms, 6 s here) and, with \
    min.insync.replicas=1, commits the producer's new records at the offsets where broker 3 \
    holds its old ones. 2 s later broker 3 hears of epoch 2 and fetches from broker 2, which \
    answers with a diverging epoch and its high watermark, past the divergence.";
