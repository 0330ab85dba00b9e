//! DeleteRecords (KIP-107) and the producer state it deletes (KIP-360): the leader's
//! answers to the producer are lost, the administrator deletes every committed record, and
//! the producer retries batches the leader had already written. Kafka 4.x keeps the
//! producer's state and answers the retries as duplicates; before KIP-360
//! (`reset-sequence-on-unknown-producer`) the leader has forgotten the producer, the
//! producer starts its sequence again at 0, and the batches are written twice. And a
//! follower that was down while the leader deleted past its log end comes back, is told
//! OFFSET_OUT_OF_RANGE, and starts its log again at the leader's log start offset.

use crate::builder::ScenarioBuilder;
use watermark_broker_core::bugs::BugSwitch;
use watermark_broker_core::ids::{Offset, PartitionId};
use watermark_broker_core::mark::Mark;
use watermark_broker_core::protocol::Acks;
use watermark_sim::checkers::Checker;
use watermark_sim::fault::{Condition, Fault, PartitionRef, ScriptedFault, Target, Trigger};
use watermark_sim::scenario::Scenario;
use watermark_sim::verdict::{Guarantee, OrderingVerdict};

const P0: PartitionRef = PartitionRef::Index(PartitionId(0));

/// The DeleteRecords scenarios of the catalogue.
pub(crate) fn delete_records_catalogue() -> Vec<Result<Scenario, String>> {
    vec![
        delete_records_keeps_producer_state(),
        unknown_producer_resets_sequence_duplicates(),
        follower_below_log_start_truncates_fully(),
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

/// KIP-107's follower path (`truncateFullyAndStartAt`): a follower down while the leader
/// deleted records past its log end.
pub(crate) fn follower_below_log_start_truncates_fully() -> Result<Scenario, String> {
    let acked = || Condition::LeaderAcked {
        partition: P0,
        offset_at_least: Offset(10),
    };
    let crash_and_restart = Trigger {
        condition: acked(),
        then: vec![Fault::Crash {
            target: Target::LaggingFollower(P0),
        }],
        delay_ms: 0,
        after_ms: 0,
        label: Some("down".to_string()),
        later: vec![ScriptedFault {
            at_ms: 20_000,
            fault: Fault::Restart {
                target: Target::Struck("down".to_string()),
            },
            label: None,
            optional: false,
        }],
        optional: false,
    };
    ScenarioBuilder::new("follower-below-log-start-truncates-fully")
        .summary(
            "a follower down while the leader deleted past its log end starts its log again \
             at the leader's log start offset",
        )
        .explanation(
            "Once the leader has acknowledged offset 10, the follower furthest behind crashes. \
             Its session expires and the controller fences it and takes it out of the ISR. 12 s \
             after the crash an administrator deletes every committed record (DeleteRecords up \
             to the high watermark): the leader's log start offset moves past the crashed \
             follower's log end, and the request is answered once the live follower has moved \
             its own log start offset too (the low watermark counts only live brokers). 20 s \
             after the crash the follower restarts and fetches from its log end: OFFSET_OUT_OF_RANGE. \
             As Kafka's fetcher does, it asks the leader where its log ends and where it starts, \
             finds its own log ending below the start, removes every record and starts its log \
             empty at the leader's log start offset (truncateFullyAndStartAt), then fetches from \
             there, catches up and rejoins the ISR. The deleted records are not lost.",
        )
        .acks(Acks::All)
        .trigger_with(crash_and_restart)
        .trigger(
            acked(),
            12_000,
            vec![Fault::DeleteRecords {
                partition: P0,
                before_offset: None,
            }],
        )
        .expect(Guarantee::ExactlyOnce)
        .expect_ordering(OrderingVerdict::Preserved)
        .expect_mark(Mark::RecordsDeleted)
        .expect_mark(Mark::DeleteRecordsLowWatermarkReached)
        .expect_mark(Mark::FollowerTruncatedFully)
        .build()
}
