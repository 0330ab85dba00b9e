//! The idempotent producer's half of the catalogue (KIP-98): the faults that make a producer
//! without idempotence duplicate and reorder (`retry-after-lost-ack-duplicates`,
//! `in-flight-retries-reorder`), run with Kafka's default, idempotence on, where the
//! leader's per-producer sequence check keeps one copy of each record, in send order.

use crate::builder::ScenarioBuilder;
use watermark_broker_core::ids::{Offset, PartitionId};
use watermark_broker_core::mark::Mark;
use watermark_broker_core::protocol::Acks;
use watermark_sim::checkers::Checker;
use watermark_sim::fault::{Condition, Fault, PartitionRef, Target};
use watermark_sim::scenario::Scenario;
use watermark_sim::verdict::{Guarantee, OrderingVerdict};

const P0: PartitionRef = PartitionRef::Index(PartitionId(0));

/// The leader's answers to the producer are lost from the moment it acknowledges offset 10
/// until `heal_after_ms` later: the producer cannot tell its requests were written.
pub(crate) fn lose_leader_answers(
    scenario: ScenarioBuilder,
    heal_after_ms: u64,
) -> ScenarioBuilder {
    let acked = || Condition::LeaderAcked {
        partition: P0,
        offset_at_least: Offset(10),
    };
    scenario
        .trigger(
            acked(),
            0,
            vec![Fault::CutOneWay {
                from: Target::EventSource,
                to: Target::Producer(0),
            }],
        )
        .trigger(acked(), heal_after_ms, vec![Fault::HealAll])
}

/// For 30 ms from 2 s the producer's requests to the leader are lost; later batches, sent in
/// the other in-flight slots, reach it first.
pub(crate) fn lose_requests_for_30_ms(scenario: ScenarioBuilder) -> ScenarioBuilder {
    scenario
        .fault_at(
            2_000,
            Fault::CutOneWay {
                from: Target::Producer(0),
                to: Target::Leader(P0),
            },
        )
        .fault_at(2_030, Fault::HealAll)
}

pub(crate) fn idempotent_retry_no_duplicate() -> Result<Scenario, String> {
    let scenario = ScenarioBuilder::new("idempotent-retry-no-duplicate")
        .summary("the produce response is lost and the batch is retried: the leader keeps one copy")
        .explanation(
            "The faults of retry-after-lost-ack-duplicates with Kafka's default producer, \
             idempotence on. The leader appends and commits a batch, the response to the \
             producer is lost, and after request_timeout_ms the producer sends the batch again. \
             This time the batch carries the producer id, epoch and sequence numbers it got the \
             first time: the leader finds them among the last five batches it keeps for that \
             producer and answers with the first append's offset instead of appending again. \
             Exactly one copy, and the producer learns where it is.",
        )
        .acks(Acks::All)
        .producer_config(|producer| producer.request_timeout_ms = 5_000);
    lose_leader_answers(scenario, 1_000)
        .expect(Guarantee::ExactlyOnce)
        .expect_ordering(OrderingVerdict::Preserved)
        .expect_mark(Mark::ProducerIdAssigned)
        .expect_mark(Mark::ProducerRequestTimedOut)
        .expect_mark(Mark::ProducerRetried)
        .expect_mark(Mark::DuplicateBatchAnswered)
        .build()
}

/// KAFKA-14034, open in Kafka 4.x: the idempotent producer is not exactly once on its own.
pub(crate) fn idempotent_epoch_bump_duplicates() -> Result<Scenario, String> {
    let scenario = ScenarioBuilder::new("idempotent-epoch-bump-duplicates")
        .summary(
            "KAFKA-14034: a batch that gives up bumps the epoch and renumbers one the leader has",
        )
        .explanation(
            "Idempotence on, two requests in flight, and delivery_timeout_ms equal to \
             linger_ms + request_timeout_ms, the smallest Kafka accepts, and a 10 ms retry \
             backoff. The leader appends two \
             batches, but its answers to the producer are lost. The first request times out at \
             the very moment its batch's delivery time runs out: it fails for good with retries \
             left, and Kafka's producer bumps its epoch at once and numbers the batches still \
             in flight from sequence 0 again (TransactionManager.handleFailedBatch). The second \
             batch, already in the log under the old epoch, goes out again as a new batch of \
             the new epoch, and the leader, which recognises retries only within an epoch, \
             appends it a second time. The fix proposed for KAFKA-14034 waits for the batches \
             in flight before bumping; it is not in Kafka, so the model does what Kafka does.",
        )
        .acks(Acks::All)
        .producer_config(|producer| {
            producer.request_timeout_ms = 1_000;
            producer.linger_ms = 0;
            producer.delivery_timeout_ms = 1_000;
            // The second batch is retried before its own delivery time runs out.
            producer.retry_backoff_ms = 10;
            producer.max_in_flight_requests_per_connection = 2;
            producer.batch_size_records = 1;
        });
    lose_leader_answers(scenario, 3_000)
        .expect(Guarantee::AtLeastOnce)
        .expect_anomaly(Checker::Duplicate)
        .expect_mark(Mark::ProducerRenumberedSentBatches)
        .expect_mark(Mark::ProducerEpochBumped)
        .build()
}

pub(crate) fn idempotent_in_flight_keeps_order() -> Result<Scenario, String> {
    let scenario = ScenarioBuilder::new("idempotent-in-flight-keeps-order")
        .summary("five requests in flight, some lost and retried: the log keeps send order")
        .explanation(
            "The faults of in-flight-retries-reorder with idempotence on. For 30 ms the \
             producer's requests to the leader are lost; later batches, sent in the other \
             in-flight slots, reach the leader first. Their sequences leave a gap, so the \
             leader refuses them (OUT_OF_ORDER_SEQUENCE_NUMBER) instead of appending them ahead \
             of the lost ones. The producer puts every retry back in its queue in sequence \
             order and sends a retry only when it is the first batch in flight, so once the \
             lost requests time out the batches are appended in the order the application \
             sent them.",
        )
        .acks(Acks::All)
        .records(300, 10)
        .producer_config(|producer| {
            producer.max_in_flight_requests_per_connection = 5;
            producer.request_timeout_ms = 3_000;
        });
    lose_requests_for_30_ms(scenario)
        .expect(Guarantee::ExactlyOnce)
        .expect_ordering(OrderingVerdict::Preserved)
        .expect_mark(Mark::ProducerRetried)
        .expect_mark(Mark::OutOfOrderSequenceRefused)
        .expect_mark(Mark::ProducerOutOfOrderSequenceRetried)
        .build()
}
