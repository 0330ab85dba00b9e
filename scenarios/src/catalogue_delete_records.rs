//! DeleteRecords (KIP-107) and the producer state it deletes (KIP-360): the leader's
//! answers to the producer are lost, the administrator deletes every committed record, and
//! the producer retries batches the leader had already written. Kafka 4.x keeps the
//! producer's state and answers the retries as duplicates; before KIP-360
//! (`reset-sequence-on-unknown-producer`) the leader has forgotten the producer, the
//! producer starts its sequence again at 0, and the batches are written twice.

use crate::builder::ScenarioBuilder;
use watermark_broker_core::bugs::BugSwitch;
use watermark_broker_core::ids::{Offset, PartitionId};
use watermark_broker_core::mark::Mark;
use watermark_broker_core::protocol::Acks;
use watermark_sim::checkers::Checker;
use watermark_sim::fault::{Condition, Fault, PartitionRef, Target};
use watermark_sim::scenario::Scenario;
use watermark_sim::verdict::{Guarantee, OrderingVerdict};

const P0: PartitionRef = PartitionRef::Index(PartitionId(0));

/// The DeleteRecords scenarios of the catalogue.
pub(crate) fn delete_records_catalogue() -> Vec<Result<Scenario, String>> {
    vec![
        delete_records_keeps_producer_state(),
        unknown_producer_resets_sequence_duplicates(),
    ]
}

/// From the moment the leader acknowledges offset 10 its answers to the producer are lost;
/// 1 s later every committed record is deleted; 2 s later the links heal. The producer's
/// requests time out after 5 s and it retries batches the leader wrote and then deleted.
fn lose_answers_then_delete(scenario: ScenarioBuilder) -> ScenarioBuilder {
    let acked = || Condition::LeaderAcked {
        partition: P0,
        offset_at_least: Offset(10),
    };
    scenario
        .acks(Acks::All)
        .producer_config(|producer| producer.request_timeout_ms = 5_000)
        .trigger(
            acked(),
            0,
            vec![Fault::CutOneWay {
                from: Target::EventSource,
                to: Target::Producer(0),
            }],
        )
        .trigger(
            acked(),
            1_000,
            vec![Fault::DeleteRecords {
                partition: P0,
                before_offset: None,
            }],
        )
        .trigger(acked(), 2_000, vec![Fault::HealAll])
}

pub(crate) fn delete_records_keeps_producer_state() -> Result<Scenario, String> {
    let scenario = ScenarioBuilder::new("delete-records-keeps-producer-state")
        .summary("records are deleted under a producer's lost answers: its retries stay duplicates")
        .explanation(
            "The leader appends and commits the producer's batches, but its answers are lost. \
             An administrator then deletes every committed record (DeleteRecords up to the high \
             watermark): the leader's log start offset moves past the batches, and consumers \
             that were behind are told OFFSET_OUT_OF_RANGE and start again from the new log \
             start (auto_offset_reset = earliest). When the producer's requests time out it \
             sends the batches again. Kafka 4.x (KIP-360) keeps a producer's state when its \
             records are deleted, so the leader still knows the batches' sequences and answers \
             each retry with the offsets it was first written at: one copy of every record, \
             though deleted ones are no longer readable, which the checkers do not count as \
             lost.",
        );
    lose_answers_then_delete(scenario)
        .expect(Guarantee::ExactlyOnce)
        .expect_ordering(OrderingVerdict::Preserved)
        .expect_mark(Mark::RecordsDeleted)
        .expect_mark(Mark::FollowerLogStartOffsetIncremented)
        .expect_mark(Mark::ProducerRequestTimedOut)
        .expect_mark(Mark::DuplicateBatchAnswered)
        .build()
}

/// KAFKA-7190, fixed by KIP-360 in Kafka 2.5.
pub(crate) fn unknown_producer_resets_sequence_duplicates() -> Result<Scenario, String> {
    let scenario = ScenarioBuilder::new("unknown-producer-resets-sequence-duplicates")
        .summary(
            "before KIP-360: deleted records take the producer's state, and its retries are \
             written twice",
        )
        .explanation(
            "The faults of delete-records-keeps-producer-state on Kafka before 2.5 \
             (reset-sequence-on-unknown-producer). When DeleteRecords moves the log start \
             offset past every batch of the producer, the leader forgets the producer. The \
             producer's retried batch, whose first attempt the leader had written and a \
             consumer had read, does not start at sequence 0, so the leader answers \
             UNKNOWN_PRODUCER_ID with its log start offset. The producer sees that offset past \
             the last offset it had acknowledged, concludes the head of the log was removed, \
             numbers its batches in flight from sequence 0 again in the same epoch and resends \
             them; the leader, knowing no such producer, appends them. The consumer reads the \
             same values a second time at new offsets: duplicate. KIP-360 keeps the producer's \
             state until its id expires, so the retries are recognised (KAFKA-7190).",
        )
        .bug(BugSwitch::ResetSequenceOnUnknownProducer);
    lose_answers_then_delete(scenario)
        .expect(Guarantee::AtLeastOnce)
        .expect_anomaly(Checker::Duplicate)
        .expect_mark(Mark::RecordsDeleted)
        .expect_mark(Mark::ProducerStateForgotten)
        .expect_mark(Mark::UnknownProducerIdRefused)
        .expect_mark(Mark::ProducerSequenceReset)
        .build()
}
