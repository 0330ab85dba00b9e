//! The transaction bugs of older Kafka, each caught by a checker: a produce handled after its
//! transaction's abort (KAFKA-14402, the hanging transaction, closed by KIP-890 part 1 in
//! 3.6) and an EndTxn handled after its transaction's end (KAFKA-17754, closed by KIP-890
//! part 2's epoch bump in 4.0). Both use the `hold-requests` fault: the broker reads the
//! request but handles it after the client's `request.timeout.ms` has given up on it.

use crate::builder::ScenarioBuilder;
use crate::catalogue_transactions::reader;
use watermark_broker_core::bugs::BugSwitch;
use watermark_broker_core::ids::{Offset, PartitionId};
use watermark_broker_core::mark::Mark;
use watermark_broker_core::protocol::{Acks, IsolationLevel};
use watermark_broker_core::topic::TopicName;
use watermark_sim::checkers::Checker;
use watermark_sim::fault::{Condition, Fault, PartitionRef, Target};
use watermark_sim::held_requests::HeldApi;
use watermark_sim::scenario::{ProducerWorkload, Scenario};
use watermark_sim::verdict::Guarantee;

const EVENTS: TopicName = TopicName::from_static("events");
const P0: PartitionRef = PartitionRef::Index(PartitionId(0));

/// How late the leader handles a held produce: past the client's request timeout and its
/// abort, before its next transaction writes to the partition.
const HANGING_PRODUCE_DELAY_MS: u64 = REQUEST_TIMEOUT_MS + 100;

/// How late the coordinator handles a held EndTxn: past the client's request timeout and
/// its retry, while the next transaction is being written.
const LATE_END_TXN_DELAY_MS: u64 = REQUEST_TIMEOUT_MS + 250;

/// The producer's request timeout: short, so that a held request outlives it within the
/// first seconds of the run (Kafka's default is 30 s; only the ratio to the hold matters).
const REQUEST_TIMEOUT_MS: u64 = 2_000;

/// A transactional producer (acks=all, `payments`) of `records` values, four per
/// transaction, aborting every `abort_every`-th.
fn transactional_producer(records: u64, abort_every: Option<u64>) -> ProducerWorkload {
    let mut producer = ProducerWorkload {
        records,
        interval_ms: 50,
        transaction_records: Some(4),
        abort_every,
        ..ProducerWorkload::default()
    };
    producer.config.transactional_id = Some("payments".to_string());
    producer.config.acks = Acks::All;
    producer.config.request_timeout_ms = REQUEST_TIMEOUT_MS;
    producer
}

/// `api` requests of the producer are held `delay_ms` by `to` from `from_ms` until
/// `until_ms` (a `heal-all`).
fn hold(
    builder: ScenarioBuilder,
    to: Target,
    api: HeldApi,
    delay_ms: u64,
    (from_ms, until_ms): (u64, u64),
) -> ScenarioBuilder {
    builder
        .fault_at(
            from_ms,
            Fault::HoldRequests {
                from: Target::Producer(0),
                to,
                api,
                delay_ms,
            },
        )
        .fault_at(until_ms, Fault::HealAll)
}

/// The story of `hanging-transaction-without-verification`, with or without its switches:
/// once the first transaction's second value on partition 0 (offset 1) is acknowledged,
/// the leader of partition 0 holds the producer's produce requests for 1.5 s, so the
/// second transaction's (which the application aborts) are handled late.
fn hanging_transaction_story(name: &str) -> ScenarioBuilder {
    let first_transaction_written = Condition::LeaderAcked {
        partition: P0,
        offset_at_least: Offset(1),
    };
    ScenarioBuilder::new(name)
        .partitions(2)
        .min_insync_replicas(2)
        .producers(vec![transactional_producer(120, Some(2))])
        .consumers(vec![reader(EVENTS, IsolationLevel::ReadCommitted)])
        .trigger(
            first_transaction_written.clone(),
            0,
            vec![Fault::HoldRequests {
                from: Target::Producer(0),
                to: Target::Leader(P0),
                api: HeldApi::Produce,
                delay_ms: HANGING_PRODUCE_DELAY_MS,
            }],
        )
        .trigger(first_transaction_written, 1_500, vec![Fault::HealAll])
}

pub(crate) fn hanging_transaction_without_verification() -> Result<Scenario, String> {
    hanging_transaction_story("hanging-transaction-without-verification")
        .summary("Kafka before 3.6: a produce handled after its transaction's abort joins the producer's next transaction, which commits values the client saw aborted")
        .explanation(
            "A transactional producer (acks=all, request.timeout.ms=2000) sends four values \
             per transaction over two partitions, two to each, and aborts every second \
             transaction; transactions version 1 (before Kafka 4.0) and no transaction \
             verification (before 3.6, KIP-890 part 1). Once the first transaction's values \
             on partition 0 are acknowledged, that partition's leader reads the producer's \
             produce requests but handles each 2.1 s late (a request stuck in its queue) \
             for 1.5 s: the second transaction's batches. The application aborts that \
             transaction; the abort waits for the batches until their request times out \
             after 2 s, the client closes the connection and fails them, and the \
             coordinator writes ABORT markers. 0.1 s later the leader handles the old \
             produce: nothing asks the coordinator whether the transaction is ongoing, its \
             sequence follows the log's, so it is appended and opens a transaction the \
             coordinator does not know of (KAFKA-14402, the hanging transaction: the last \
             stable offset stays below it). The producer's next transaction on partition 0 \
             has the same producer id, and its COMMIT marker ends everything that producer \
             has open there: the late values, which the client was told were aborted, are \
             committed and read by the read_committed consumer. G1a reports the aborted \
             read and transaction-atomicity the aborted transaction made visible. Had no \
             later transaction written to partition 0, the stuck last stable offset would \
             have hidden every later record there, which unseen and transaction-atomicity \
             report. With verification (Kafka 3.6+) the leader asks the coordinator first \
             and refuses the late batch (INVALID_TXN_STATE), and with version 2 the abort \
             also bumped the epoch: the same run is clean.",
        )
        .bug(BugSwitch::NoTransactionVerification)
        .bug(BugSwitch::NoEpochBumpPerTransaction)
        .expect(Guarantee::AtMostOnce)
        .expect_anomaly(Checker::G1a)
        .expect_anomaly(Checker::TransactionAtomicity)
        .expect_mark(Mark::TransactionOpenedWithoutVerification)
        .expect_mark(Mark::HangingTransactionOpened)
        .build()
}

/// The story of `late-end-txn-tears-next-transaction`, with or without its switch.
fn late_end_txn_story(name: &str) -> ScenarioBuilder {
    let builder = ScenarioBuilder::new(name)
        .partitions(2)
        .min_insync_replicas(2)
        .producers(vec![transactional_producer(120, Some(2))])
        .consumers(vec![reader(EVENTS, IsolationLevel::ReadCommitted)]);
    hold(
        builder,
        Target::AllBrokers,
        HeldApi::EndTxn,
        LATE_END_TXN_DELAY_MS,
        (500, 1_800),
    )
}

pub(crate) fn late_end_txn_tears_next_transaction() -> Result<Scenario, String> {
    late_end_txn_story("late-end-txn-tears-next-transaction")
        .summary("Kafka before 4.0: an EndTxn handled after its transaction ended commits half of the next one, which the application aborts")
        .explanation(
            "A transactional producer (acks=all, request.timeout.ms=2000) sends four values \
             per transaction over two partitions and aborts every second transaction, with \
             transactions version 1 (before Kafka 4.0). Until 1.8 s the transaction \
             coordinator reads the producer's EndTxn requests but handles each 2.25 s late: \
             the first transaction's EndTxn(commit). After 2 s the client times out, closes \
             the connection, finds the coordinator again and sends the same EndTxn, which \
             commits the transaction; the producer begins the second with the same \
             producer id and epoch (version 1 bumps no epoch at a transaction's end). Then \
             the coordinator handles the old EndTxn(commit): its epoch is the current one \
             and a transaction is ongoing, so it commits that one, with the values sent so \
             far (KAFKA-17754, as Jepsen found it in 2024). The application meant to abort \
             the second transaction: its abort finds the transaction committed and fails \
             INVALID_TXN_STATE, fatal, so the producer stops, and the history records the \
             transaction as failed while its values are committed and read. G1a and \
             transaction-atomicity report it. With version 2 (4.0+) each EndTxn bumps the \
             epoch, the old EndTxn is one epoch behind and is refused: the same run is \
             clean.",
        )
        .bug(BugSwitch::NoEpochBumpPerTransaction)
        .expect(Guarantee::AtMostOnce)
        .expect_anomaly(Checker::G1a)
        .expect_anomaly(Checker::TransactionAtomicity)
        .expect_mark(Mark::ProducerRequestTimedOut)
        .expect_mark(Mark::ProducerTransactionFailed)
        .build()
}

/// This file's scenarios, in teaching order.
pub(crate) fn catalogue() -> [Result<Scenario, String>; 2] {
    [
        hanging_transaction_without_verification(),
        late_end_txn_tears_next_transaction(),
    ]
}
