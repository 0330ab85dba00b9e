//! Unit tests of the idempotent producer's sequence bookkeeping, batch by batch.

use super::*;
use crate::ids::ProducerId;

const P0: TopicPartition = TopicPartition::of_default_topic(0);
const P1: TopicPartition = TopicPartition::of_default_topic(1);

fn producer(epoch: u16) -> ProducerIdAndEpoch {
    ProducerIdAndEpoch {
        producer_id: ProducerId(7),
        epoch: ProducerEpoch(epoch),
    }
}

fn with_id() -> Idempotence {
    let mut idempotence = Idempotence::default();
    idempotence.set_producer(producer(0));
    idempotence
}

#[test]
fn nothing_drains_before_the_producer_has_an_id() {
    let idempotence = Idempotence::default();
    assert!(!idempotence.may_drain(P0, BatchId(0)));
    assert!(with_id().may_drain(P0, BatchId(0)));
}

#[test]
fn batches_take_consecutive_sequences_per_partition() {
    let mut idempotence = with_id();
    assert_eq!(
        idempotence.assign(P0, BatchId(0), 3).base_sequence,
        Sequence(0)
    );
    assert_eq!(
        idempotence.assign(P0, BatchId(1), 2).base_sequence,
        Sequence(3)
    );
    assert_eq!(
        idempotence.assign(P1, BatchId(2), 4).base_sequence,
        Sequence(0)
    );
    assert_eq!(
        idempotence
            .sequenced(P0, BatchId(1))
            .unwrap()
            .last_sequence(),
        Sequence(4)
    );
    idempotence.check_invariants();
}

#[test]
fn a_retry_drains_only_as_the_first_batch_in_flight() {
    let mut idempotence = with_id();
    idempotence.assign(P0, BatchId(0), 1);
    idempotence.assign(P0, BatchId(1), 1);
    assert!(idempotence.may_drain(P0, BatchId(0)));
    assert!(!idempotence.may_drain(P0, BatchId(1)));
    idempotence.on_acknowledged(P0, BatchId(0));
    assert!(idempotence.may_drain(P0, BatchId(1)));
}

#[test]
fn an_out_of_order_batch_that_follows_the_last_ack_bumps_the_epoch_and_renumbers() {
    let mut idempotence = with_id();
    idempotence.assign(P0, BatchId(0), 2);
    idempotence.assign(P0, BatchId(1), 2);
    idempotence.on_acknowledged(P0, BatchId(0));
    let second = idempotence.sequenced(P0, BatchId(1)).unwrap();
    // Sequence 2 follows the acknowledged 1: the gap is real.
    assert_eq!(
        idempotence.on_out_of_order(P0, second),
        SequenceErrorOutcome::RetryAfterEpochBump
    );
    assert_eq!(
        idempotence.maybe_bump_epoch().map(|bump| bump.producer),
        Some(producer(1))
    );
    let renumbered = idempotence.sequenced(P0, BatchId(1)).unwrap();
    assert_eq!(renumbered.base_sequence, Sequence(0));
    assert!(renumbered.sequence_reset);
    assert_eq!(idempotence.partition_producer(P0), Some(producer(1)));
    idempotence.check_invariants();
}

#[test]
fn an_out_of_order_batch_behind_another_failure_is_retried_without_a_bump() {
    let mut idempotence = with_id();
    idempotence.assign(P0, BatchId(0), 2);
    idempotence.assign(P0, BatchId(1), 2);
    let second = idempotence.sequenced(P0, BatchId(1)).unwrap();
    // Batch 0 is not acknowledged yet: batch 1's gap is batch 0's, which will be retried.
    assert_eq!(
        idempotence.on_out_of_order(P0, second),
        SequenceErrorOutcome::Retry
    );
    assert!(idempotence.maybe_bump_epoch().is_none());
}

#[test]
fn a_batch_that_expired_after_it_was_sent_holds_new_batches_until_resolved() {
    let mut idempotence = with_id();
    idempotence.assign(P0, BatchId(0), 1);
    idempotence.assign(P0, BatchId(1), 1);
    idempotence.on_failed(P0, BatchId(0), FailedBatch::ExpiredAfterSend);
    assert!(!idempotence.may_drain(P0, BatchId(9)), "unresolved");
    // Batch 1 comes back acknowledged: sequence 1 acked means 0 was written too.
    idempotence.on_acknowledged(P0, BatchId(1));
    idempotence.maybe_resolve_sequences();
    assert!(idempotence.maybe_bump_epoch().is_none());
    assert!(idempotence.may_drain(P0, BatchId(9)));
}

#[test]
fn an_unresolved_partition_whose_batches_all_failed_bumps_the_epoch() {
    let mut idempotence = with_id();
    idempotence.assign(P0, BatchId(0), 1);
    idempotence.on_failed(P0, BatchId(0), FailedBatch::ExpiredAfterSend);
    idempotence.maybe_resolve_sequences();
    assert_eq!(
        idempotence.maybe_bump_epoch().map(|bump| bump.producer),
        Some(producer(1))
    );
    // The partition's numbering belonged to epoch 0; with nothing in flight it restarts.
    idempotence.refresh_partition(P0);
    assert_eq!(idempotence.partition_producer(P0), Some(producer(1)));
    assert_eq!(
        idempotence.assign(P0, BatchId(1), 1).base_sequence,
        Sequence(0)
    );
}

#[test]
fn a_partition_of_an_older_epoch_takes_no_new_batch_while_it_has_batches_in_flight() {
    let mut idempotence = with_id();
    idempotence.assign(P0, BatchId(0), 1);
    idempotence.assign(P1, BatchId(1), 1);
    idempotence.on_failed(P1, BatchId(1), FailedBatch::Refused { retries_left: true });
    assert_eq!(
        idempotence.maybe_bump_epoch().map(|bump| bump.producer),
        Some(producer(1))
    );
    // P0 still numbers under epoch 0 and batch 0 is out: a new batch would start epoch 1 at
    // 0 ahead of it.
    idempotence.refresh_partition(P0);
    assert!(!idempotence.may_drain(P0, BatchId(5)));
    idempotence.on_acknowledged(P0, BatchId(0));
    idempotence.refresh_partition(P0);
    assert!(idempotence.may_drain(P0, BatchId(5)));
    assert_eq!(
        idempotence.assign(P0, BatchId(5), 1).base_sequence,
        Sequence(0)
    );
}

#[test]
fn a_batch_refused_with_no_retries_left_changes_no_numbering() {
    let mut idempotence = with_id();
    idempotence.assign(P0, BatchId(0), 1);
    idempotence.on_failed(
        P0,
        BatchId(0),
        FailedBatch::Refused {
            retries_left: false,
        },
    );
    assert!(idempotence.maybe_bump_epoch().is_none());
}

#[test]
fn the_epoch_runs_out_at_the_int16_maximum_and_the_id_is_dropped() {
    let mut idempotence = Idempotence::default();
    idempotence.set_producer(producer(MAX_PRODUCER_EPOCH));
    idempotence.on_unknown_producer(P0);
    assert!(idempotence.maybe_bump_epoch().is_none());
    assert_eq!(idempotence.producer(), None);
}

#[test]
fn sequences_wrap_at_the_int32_maximum() {
    assert_eq!(add_sequence(i32::MAX as u32, 1), 0);
    assert!(sequence_after(0, i32::MAX as u32));
    assert!(!sequence_after(i32::MAX as u32, 0));
}

#[test]
fn a_bump_counts_the_batches_already_sent_that_it_numbers_anew() {
    // KAFKA-14034: batch 0 is being retried (it may be in the log) when batch 1 fails for
    // good; the bump gives batch 0 new sequences under the new epoch.
    let mut idempotence = with_id();
    idempotence.assign(P0, BatchId(0), 1);
    idempotence.assign(P0, BatchId(1), 1);
    idempotence.on_failed(P0, BatchId(1), FailedBatch::Refused { retries_left: true });
    let bump = idempotence.maybe_bump_epoch().unwrap();
    assert_eq!(bump.renumbered_sent_batches, 1);
    assert_eq!(
        idempotence.sequenced(P0, BatchId(0)).unwrap().base_sequence,
        Sequence(0)
    );
}

#[test]
fn a_higher_batch_acknowledged_before_a_lower_one_leaves_a_gap_the_invariants_allow() {
    let mut idempotence = with_id();
    idempotence.assign(P0, BatchId(0), 1);
    idempotence.assign(P0, BatchId(1), 2);
    // Batch 0 was refused with a retriable error and waits to be retried; batch 1, written
    // as an unknown producer's first batch, is acknowledged.
    idempotence.on_acknowledged(P0, BatchId(1));
    idempotence.check_invariants();
    assert!(
        idempotence.may_drain(P0, BatchId(0)),
        "the retry goes first"
    );
    assert_eq!(
        idempotence.assign(P0, BatchId(2), 1).base_sequence,
        Sequence(3),
        "new batches keep numbering after the acknowledged one"
    );
    idempotence.check_invariants();
}

#[test]
#[should_panic(expected = "sequences in flight overlap or are out of order")]
fn batches_in_flight_that_overlap_break_the_invariants() {
    let mut idempotence = with_id();
    idempotence.assign(P0, BatchId(0), 2);
    idempotence.assign(P0, BatchId(1), 1);
    idempotence.partitions.get_mut(&P0).unwrap().in_flight[1].base_sequence = Sequence(1);
    idempotence.check_invariants();
}

#[test]
#[should_panic(expected = "batches in flight run past the next sequence")]
fn batches_in_flight_past_the_next_sequence_break_the_invariants() {
    let mut idempotence = with_id();
    idempotence.assign(P0, BatchId(0), 2);
    idempotence.partitions.get_mut(&P0).unwrap().next_sequence = 1;
    idempotence.check_invariants();
}
