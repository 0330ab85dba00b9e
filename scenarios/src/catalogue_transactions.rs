//! The transactions half of the catalogue (KIP-98, KIP-890): a transactional producer's
//! aborted writes as each isolation level reads them.

use crate::builder::ScenarioBuilder;
use watermark_broker_core::config::ConsumerConfig;
use watermark_broker_core::mark::Mark;
use watermark_broker_core::protocol::{Acks, IsolationLevel};
use watermark_broker_core::topic::TopicName;
use watermark_sim::checkers::Checker;
use watermark_sim::scenario::{ConsumerWorkload, ProducerWorkload, Scenario};
use watermark_sim::verdict::Guarantee;

const INPUT: TopicName = TopicName::from_static("events");

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
fn reader(topic: TopicName, isolation_level: IsolationLevel) -> ConsumerWorkload {
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
