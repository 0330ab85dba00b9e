//! Transactions under faults (KIP-98, KIP-890): a producer stalled past its transaction
//! timeout, a transaction coordinator that dies between PrepareCommit and its markers, and a
//! zombie instance of a transactional id. Each is exact on every seed: the faults are fired
//! by the transaction coordinator's own writes (`transaction-state` triggers).

use crate::builder::ScenarioBuilder;
use crate::catalogue_transactions::reader;
use watermark_broker_core::mark::Mark;
use watermark_broker_core::protocol::{Acks, IsolationLevel};
use watermark_broker_core::topic::TopicName;
use watermark_sim::fault::{Condition, Fault, Target, TransactionStep};
use watermark_sim::scenario::{ConsumerWorkload, ProducerWorkload, Scenario};
use watermark_sim::verdict::Guarantee;

const EVENTS: TopicName = TopicName::from_static("events");
const PAYMENTS: &str = "payments";

/// The transaction timeout of the stalled producer: short, so the story fits the run
/// (Kafka's default is 60 s; any value up to `transaction.max.timeout.ms`, 15 min, is
/// allowed).
const TRANSACTION_TIMEOUT_MS: u64 = 10_000;
/// How long the stalled producer is paused: past its timeout plus one period of the
/// coordinator's timeout check (`transaction.abort.timed.out.transaction.cleanup.interval.ms`,
/// 10 s by default), so the coordinator has aborted the transaction when it wakes.
const STALL_MS: u64 = 25_000;
/// The safety phase of the stalled producer's story: long enough for the restarted
/// instance to finish its values before the liveness phase.
const SAFETY_MS: u64 = 45_000;
const LIVENESS_MS_MAX: u64 = 120_000;
/// How long the crashed transaction coordinator stays down: past the 9 s broker session,
/// so the controller moves its `__transaction_state` partition to another replica.
const COORDINATOR_DOWN_MS: u64 = 20_000;

/// Every transactions-under-faults scenario, in teaching order.
pub(crate) fn transaction_fault_catalogue() -> Vec<Result<Scenario, String>> {
    vec![
        transaction_timeout_aborts(),
        coordinator_failover_completes_commit(),
        zombie_producer_fenced(),
    ]
}

/// The transactional producer `payments`: 60 values to `events`, four per transaction.
fn payments_producer() -> ProducerWorkload {
    let mut producer = ProducerWorkload {
        records: 60,
        interval_ms: 50,
        transaction_records: Some(4),
        ..ProducerWorkload::default()
    };
    producer.config.transactional_id = Some(PAYMENTS.to_string());
    producer.config.acks = Acks::All;
    producer
}

/// Fires when the coordinator of `payments` has written its transaction's move to `state`.
fn payments_reached(state: TransactionStep) -> Condition {
    Condition::TransactionState {
        transactional_id: PAYMENTS.to_string(),
        state,
    }
}

fn transaction_timeout_aborts() -> Result<Scenario, String> {
    let mut producer = payments_producer();
    producer.config.transaction_timeout_ms = TRANSACTION_TIMEOUT_MS;
    let opened = payments_reached(TransactionStep::Ongoing);
    ScenarioBuilder::new("transaction-timeout-aborts")
        .summary("a producer stalls inside its transaction past transaction.timeout.ms: the coordinator aborts it and fences the producer")
        .explanation(
            "The transactional producer `payments` (transaction.timeout.ms = 10 s) is paused \
             (a 25 s GC pause) the moment its first transaction opens, when the transaction \
             coordinator writes it Ongoing. Every 10 s \
             (transaction.abort.timed.out.transaction.cleanup.interval.ms) the coordinator \
             looks for transactions open longer than their timeout; within 20 s it finds \
             this one, bumps the producer's epoch (fencing the stalled instance) and writes \
             PrepareAbort, sends ABORT markers to the partitions the transaction wrote, and \
             writes CompleteAbort. When the producer wakes, the partition leaders and the \
             coordinator know only the bumped epoch: its next send or its commit is refused \
             (INVALID_PRODUCER_EPOCH or PRODUCER_FENCED), the application learns the \
             transaction failed and the history records it as failed. The producer's client \
             treats the fencing as fatal, so the application closes it and exits; its \
             supervisor starts a new instance 3 s later, whose InitProducerId takes the \
             next epoch, and it sends the remaining values. A read_committed consumer drops \
             the aborted records, so no read sees them: every committed value is read once, \
             exactly once.",
        )
        .partitions(2)
        .min_insync_replicas(2)
        .producers(vec![producer])
        .consumers(vec![reader(EVENTS, IsolationLevel::ReadCommitted)])
        .trigger(
            opened.clone(),
            0,
            vec![Fault::Pause {
                target: Target::Producer(0),
            }],
        )
        .trigger(
            opened.clone(),
            STALL_MS,
            vec![Fault::Resume {
                target: Target::Producer(0),
            }],
        )
        // The fenced process has closed its producer and exited; its supervisor starts a
        // new one.
        .trigger(
            opened.clone(),
            STALL_MS + 2_000,
            vec![Fault::Crash {
                target: Target::Producer(0),
            }],
        )
        .trigger(
            opened,
            STALL_MS + 3_000,
            vec![Fault::Restart {
                target: Target::Producer(0),
            }],
        )
        .phases(SAFETY_MS, LIVENESS_MS_MAX)
        .expect(Guarantee::ExactlyOnce)
        .expect_mark(Mark::TransactionTimedOutAborted)
        .expect_mark(Mark::TxnMarkerAppended)
        .expect_mark(Mark::AbortedRecordsSkipped)
        .expect_mark(Mark::TransactionVerificationRefused)
        .build()
}

fn coordinator_failover_completes_commit() -> Result<Scenario, String> {
    let prepared = payments_reached(TransactionStep::PrepareCommit);
    let coordinator = Target::TransactionCoordinator(PAYMENTS.to_string());
    ScenarioBuilder::new("coordinator-failover-completes-commit")
        .summary("the transaction coordinator dies between PrepareCommit and its markers: the next one completes the commit")
        .explanation(
            "The transaction coordinator of `payments` (the leader of its \
             __transaction_state partition) crashes the moment its PrepareCommit for the \
             first transaction is written with acks=all: the COMMIT markers and the EndTxn \
             answer it just sent die with it. The transaction's records sit in the log \
             undecided, holding the last stable offset of their partitions back, so \
             read_committed readers wait. After the 9 s broker session the controller \
             makes another replica of that partition its leader; the new coordinator \
             replays the partition, finds the transaction in PrepareCommit and completes \
             it: it writes the COMMIT markers and then CompleteCommit. The producer, whose \
             EndTxn went unanswered, finds the new coordinator and retries it, and is told \
             the commit succeeded. The records become visible to read_committed readers \
             once each: nothing lost, nothing duplicated, exactly once.",
        )
        .partitions(2)
        .min_insync_replicas(2)
        .producers(vec![payments_producer()])
        .consumers(vec![reader(EVENTS, IsolationLevel::ReadCommitted)])
        .trigger(
            prepared.clone(),
            0,
            vec![Fault::Crash {
                target: coordinator,
            }],
        )
        .trigger(
            prepared,
            COORDINATOR_DOWN_MS,
            vec![Fault::Restart {
                target: Target::AllBrokers,
            }],
        )
        .expect(Guarantee::ExactlyOnce)
        .expect_mark(Mark::TransactionsLoadedFromLog)
        .expect_mark(Mark::TransactionCompletedAfterLoad)
        .expect_mark(Mark::TxnMarkerAppended)
        .build()
}

const INPUT: TopicName = TopicName::from_static("input");
const OUTPUT: TopicName = TopicName::from_static("output");
const GROUP: &str = "transformers";
/// The transactional id both instances of the transformer are configured with.
const TRANSFORMER: &str = "transformer";
/// The zombie's pause is armed from this time on: the group is stable and the transformer
/// is in the middle of its input.
const ZOMBIE_PAUSE_AFTER_MS: u64 = 12_000;
/// When the successor instance starts: after the zombie's 6 s session has expired.
const SUCCESSOR_START_MS: u64 = 22_000;
/// How long the zombie is paused: it wakes long after its successor took over.
const ZOMBIE_PAUSE_MS: u64 = 25_000;

/// An instance of the consume-transform-produce transformer: a member of `transformers`
/// reading `input` read_committed, writing `output` under the transactional id
/// `transformer`, with Kafka's smallest session (6 s, `group.min.session.timeout.ms`) so
/// the story fits the run. One record per poll, so a transaction holds one output batch.
fn transformer(start_ms: u64) -> ConsumerWorkload {
    let mut consumer = ConsumerWorkload {
        topics: vec![INPUT],
        start_ms,
        processing: Some(watermark_sim::processing::ProcessingMode::ConsumeTransformProduce),
        output_topic: Some(OUTPUT),
        ..ConsumerWorkload::default()
    };
    consumer.config.group_id = Some(GROUP.to_string());
    consumer.config.enable_auto_commit = false;
    consumer.config.isolation_level = IsolationLevel::ReadCommitted;
    consumer.config.session_timeout_ms = 6_000;
    consumer.config.max_poll_records = 1;
    consumer.producer = Some(watermark_broker_core::config::ProducerConfig {
        transactional_id: Some(TRANSFORMER.to_string()),
        acks: Acks::All,
        ..Default::default()
    });
    consumer
}

fn topic(name: TopicName) -> watermark_broker_core::config::TopicConfig {
    watermark_broker_core::config::TopicConfig {
        name,
        partitions: 2,
        min_insync_replicas: 2,
        ..Default::default()
    }
}

fn zombie_producer_fenced() -> Result<Scenario, String> {
    let input = ProducerWorkload {
        topic: Some(INPUT),
        records: 400,
        interval_ms: 50,
        ..ProducerWorkload::default()
    };
    let output_reader = reader(OUTPUT, IsolationLevel::ReadCommitted);
    let opened = Condition::TransactionState {
        transactional_id: TRANSFORMER.to_string(),
        state: TransactionStep::Ongoing,
    };
    let pause = watermark_sim::fault::Trigger {
        condition: opened,
        then: vec![Fault::Pause {
            target: Target::Consumer(0),
        }],
        delay_ms: 0,
        after_ms: ZOMBIE_PAUSE_AFTER_MS,
        label: None,
        later: vec![watermark_sim::fault::ScriptedFault::at(
            ZOMBIE_PAUSE_MS,
            Fault::Resume {
                target: Target::Consumer(0),
            },
        )],
        optional: false,
    };
    ScenarioBuilder::new("zombie-producer-fenced")
        .summary("a paused transformer's successor takes its transactional id: the zombie is fenced and nothing it wrote is read")
        .explanation(
            "Two instances of one consume-transform-produce application, both configured \
             with transactional.id = transformer, as a supervisor that believed the first \
             dead would start its replacement. The first reads both partitions of `input` \
             in group `transformers` and, per poll, writes one output per record and \
             commits its input offsets in one transaction. At 12 s or just after, the \
             moment its next transaction opens, it is paused (a 25 s GC pause): a zombie. \
             Its 6 s session expires and the group empties. At 22 s the replacement starts: \
             its InitProducerId finds the zombie's transaction Ongoing, bumps the epoch \
             (fencing the zombie) and aborts it, writing ABORT markers; then it joins the \
             group, fetches the committed offsets (stable now) and transforms the zombie's \
             batch again. When the zombie wakes its sends are refused by the partition \
             leaders, whose verification the coordinator answers PRODUCER_FENCED \
             (INVALID_PRODUCER_EPOCH to the producer): fatal, so its sendOffsetsToTransaction \
             fails at once, its loop closes and the process is done. \
             Nothing it wrote is read by read_committed readers: each input record has \
             exactly one output, exactly once. With no-producer-fencing the replacement is \
             handed the zombie's epoch and its transaction stays open: the replacement waits \
             for the zombie's pending offsets (require_stable), the zombie wakes and commits \
             25 s late, and its commit's epoch bump fences the replacement instead, leaving \
             the group without a working member (pipeline-missing-output, unprocessed).",
        )
        .add_topic(topic(INPUT))
        .add_topic(topic(OUTPUT))
        .producers(vec![input])
        .consumers(vec![transformer(0), transformer(SUCCESSOR_START_MS), output_reader])
        .trigger_with(pause)
        .phases(70_000, 120_000)
        .expect(Guarantee::ExactlyOnce)
        .expect_mark(Mark::TransactionProducerFenced)
        .expect_mark(Mark::TxnMarkerAppended)
        .expect_mark(Mark::TransactionVerificationRefused)
        .build()
}
