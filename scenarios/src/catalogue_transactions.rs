//! The transactions half of the catalogue (KIP-98, KIP-890): a transactional producer's
//! aborted writes as each isolation level reads them.

use crate::builder::ScenarioBuilder;
use crate::catalogue::safe_swarm;
use watermark_broker_core::config::{ConsumerConfig, TopicConfig};
use watermark_broker_core::mark::Mark;
use watermark_broker_core::protocol::{Acks, IsolationLevel};
use watermark_broker_core::topic::TopicName;
use watermark_sim::checkers::Checker;
use watermark_sim::configuration::Values;
use watermark_sim::fault::Swarm;
use watermark_sim::processing::ProcessingMode;
use watermark_sim::scenario::{ConsumerWorkload, ProducerWorkload, Scenario};
use watermark_sim::verdict::Guarantee;

const INPUT: TopicName = TopicName::from_static("events");
const OUTPUT: TopicName = TopicName::from_static("enriched");

/// A transactional producer that writes 60 values to `events`, four per transaction, and
/// aborts every third transaction.
fn aborting_producer() -> ProducerWorkload {
    let mut producer = ProducerWorkload {
        records: 60,
        interval_ms: 50,
        transaction_records: Some(4),
        abort_every: Some(3),
        ..ProducerWorkload::default()
    };
    producer.config.transactional_id = Some("payments".to_string());
    producer.config.acks = Acks::All;
    producer
}

/// An assign-mode consumer of `topic` reading at `isolation_level`.
pub(crate) fn reader(topic: TopicName, isolation_level: IsolationLevel) -> ConsumerWorkload {
    ConsumerWorkload {
        topics: vec![topic],
        config: ConsumerConfig {
            isolation_level,
            ..ConsumerConfig::default()
        },
        ..ConsumerWorkload::default()
    }
}

fn aborted_transactions(name: &str, isolation_level: IsolationLevel) -> ScenarioBuilder {
    ScenarioBuilder::new(name)
        .partitions(2)
        .min_insync_replicas(2)
        .producers(vec![aborting_producer()])
        .consumers(vec![reader(INPUT, isolation_level)])
}

pub(crate) fn read_committed_hides_aborted() -> Result<Scenario, String> {
    aborted_transactions("read-committed-hides-aborted", IsolationLevel::ReadCommitted)
        .summary("a transactional producer aborts every third transaction: read_committed never sees those records")
        .explanation(
            "A transactional producer (Kafka's default idempotence, acks=all) sends four \
             values per transaction and the application aborts every third transaction. \
             The aborted records are written to the log like any others; the transaction \
             coordinator then writes ABORT markers to both partitions, the leaders record \
             the aborted transaction in their aborted-transaction index, and the last stable \
             offset moves past the marker. A read_committed consumer fetches only up to the \
             last stable offset and gets the list of aborted transactions with each fetch, \
             so it drops those records and the control records: it reads each committed \
             value once and no aborted one. The history records an aborted transaction's \
             sends as failed writes, so reading one would be an aborted read (G1a).",
        )
        .expect(Guarantee::ExactlyOnce)
        .expect_mark(Mark::TxnMarkerAppended)
        .expect_mark(Mark::LastStableOffsetAdvanced)
        .expect_mark(Mark::AbortedRecordsSkipped)
        .build()
}

pub(crate) fn read_uncommitted_sees_aborted() -> Result<Scenario, String> {
    aborted_transactions(
        "read-uncommitted-sees-aborted",
        IsolationLevel::ReadUncommitted,
    )
    .summary("the same aborted transactions read with Kafka's default read_uncommitted: the aborted records are read")
    .explanation(
        "The producer of read-committed-hides-aborted, read with Kafka's default \
         isolation level, read_uncommitted. The consumer fetches up to the high watermark \
         and gets no aborted-transaction list, so it hands the application the records of \
         aborted transactions too: values the producer was told were never committed. \
         Jepsen calls such a read of a failed write an aborted read (G1a). Nothing is \
         wrong with the broker: exactly-once needs isolation.level=read_committed on \
         every reader.",
    )
    .expect(Guarantee::AtMostOnce)
    .expect_anomaly(Checker::G1a)
    .expect_mark(Mark::TxnMarkerAppended)
    .build()
}

/// A member of group `transformers` running Kafka's exactly-once loop: it reads `events`
/// with read_committed and writes one `enriched` value per record in the transaction that
/// commits the record's position. Timeouts are short enough that the swarm's pauses and
/// cuts outlast them.
fn transformer() -> ConsumerWorkload {
    let mut consumer = ConsumerWorkload {
        topics: vec![INPUT],
        processing: Some(ProcessingMode::ConsumeTransformProduce),
        processing_ms: Some(5),
        output_topic: Some(OUTPUT),
        ..ConsumerWorkload::default()
    };
    consumer.config.group_id = Some("transformers".to_string());
    consumer.config.enable_auto_commit = false;
    consumer.config.isolation_level = IsolationLevel::ReadCommitted;
    consumer.config.session_timeout_ms = 6_000;
    consumer.config.heartbeat_interval_ms = 2_000;
    consumer.config.max_poll_interval_ms = 10_000;
    consumer
}

/// The safe swarm for a transactional producer: Kafka refuses a transactional id with
/// `retries = 0` (it needs idempotence), so the drawn retries start at 1.
fn transactional_swarm() -> Swarm {
    let mut swarm = safe_swarm();
    if let Some(space) = swarm.configuration.as_mut() {
        space.retries = Some(Values::Choices(vec![1, 3, 2_147_483_647]));
    }
    swarm
}

pub(crate) fn exactly_once_pipeline_swarm() -> Result<Scenario, String> {
    let output = TopicConfig {
        name: OUTPUT,
        partitions: 3,
        replication_factor: 3,
        min_insync_replicas: 2,
        flush_interval_messages: Some(1),
        ..TopicConfig::default()
    };
    ScenarioBuilder::new("exactly-once-pipeline-swarm")
        .summary("consume-transform-produce under random broker and client faults: every input record has exactly one output")
        .explanation(
            "Three members of group transformers run Kafka's exactly-once loop: poll \
             `events` with read_committed, send one derived value per record to `enriched`, \
             send the batch's positions to the transaction (TxnOffsetCommit, fenced by the \
             group generation, KIP-447) and commit; after an abortable error they abort and \
             seek back to the committed offsets. A read_committed reader follows \
             `enriched`. The seed draws every broker fault of the acks-all swarm and faults \
             aimed at the members: crashes and restarts (a new process initialises its \
             transactional id again and fences its predecessor), pauses past the session \
             (a zombie whose offsets the group coordinator refuses), cuts and slow links; \
             and the transaction and group coordinators crash, pause or lose leadership, \
             so both reload their state from __transaction_state and __consumer_offsets. \
             Whatever happens, each input record must appear exactly once in `enriched` as \
             read_committed sees it, in the transaction that committed its input position.",
        )
        .partitions(3)
        .min_insync_replicas(2)
        .flush_interval_messages(Some(1))
        .add_topic(output)
        .records(300, 40)
        .acks(Acks::All)
        .producer_config(|producer| producer.transactional_id = Some("events-writer".to_string()))
        .broker_config(|broker| {
            broker.replica_lag_time_max_ms = 10_000;
            broker.log_flush_interval_messages = Some(1);
            broker.offsets_topic_min_insync_replicas = 2;
            // Five partitions for each coordinator topic instead of Kafka's 50: a broker
            // that takes over every coordinator partition at once fsyncs each one's
            // leader-epoch checkpoint, and under a slow disk the model holds the whole
            // broker (heartbeats too) for all of them (docs/DECISIONS.md).
            broker.offsets_topic_num_partitions = 5;
            broker.transaction_state_log_num_partitions = 5;
        })
        .consumers(vec![
            transformer(),
            transformer(),
            transformer(),
            reader(OUTPUT, IsolationLevel::ReadCommitted),
        ])
        .swarm(transactional_swarm())
        .expect(Guarantee::ExactlyOnce)
        .expect_mark(Mark::TransactionVerificationSent)
        .expect_mark(Mark::TxnOffsetsPending)
        .expect_mark(Mark::TxnOffsetsCommittedByMarker)
        .expect_mark(Mark::TxnMarkerAppended)
        .expect_mark(Mark::LastStableOffsetAdvanced)
        .build()
}
