//! Handler tests of KIP-447 on the group consumer: a read_committed consumer fetches its
//! committed offsets with `require_stable` and retries UNSTABLE_OFFSET_COMMIT after
//! `retry_backoff_ms` (Kafka's `ConsumerCoordinator.fetchCommittedOffsets`), and
//! `group_metadata` hands a transactional producer the last completed join.

use super::test_support::*;
use super::GroupTimer;
use crate::actor::{fire_due_timers, Actor, Effect};
use crate::config::ConsumerConfig;
use crate::event::Event;
use crate::ids::{ClientId, GenerationId, MemberId, Offset};
use crate::protocol::{ConsumerGroupMetadata, IsolationLevel};

fn read_committed_config() -> ConsumerConfig {
    ConsumerConfig {
        isolation_level: IsolationLevel::ReadCommitted,
        ..group_config()
    }
}

/// A read_committed consumer through its first join (as `stable_consumer`): its OffsetFetch
/// (correlation 5) requires stable offsets.
fn stable_read_committed_consumer() -> crate::consumer::Consumer {
    let config = read_committed_config();
    let protocol = config.partition_assignment_strategy[0];
    let mut consumer = consumer_with_coordinator(config);
    consumer.poll(10);
    consumer.handle(
        10,
        joined_as_leader(3, 1, protocol, &[], GenerationId::NONE),
    );
    let effects = consumer.handle(10, synced(4, &[T0, T1]));
    assert_eq!(sent(&effects), sent(&[offset_fetch_stable(5, &[T0, T1])]));
    consumer
}

#[test]
fn a_read_committed_consumer_retries_unstable_offsets_after_the_backoff_then_proceeds() {
    let mut consumer = stable_read_committed_consumer();
    let effects = consumer.handle(11, unstable_offsets(5, &[T0, T1], T0));
    // No partition takes a position from a fetch with an unstable partition, not even t1.
    assert_eq!(effects, vec![]);
    assert_eq!(consumer.position(T1), None);
    assert_eq!(
        timer_deadline(&consumer, GroupTimer::OffsetFetch),
        Some(111)
    );
    assert_eq!(fire_due_timers(&mut consumer, 110), vec![]);
    assert_eq!(
        sent(&fire_due_timers(&mut consumer, 111)),
        sent(&[offset_fetch_stable(6, &[T0, T1])])
    );
    let effects = consumer.handle(112, committed_offsets(6, &[(T0, Some(5)), (T1, None)]));
    assert!(
        effects.contains(&Effect::Event(Event::PositionFromCommitted {
            group: group(),
            partition: T0,
            committed: Some(Offset(5)),
        }))
    );
    assert_eq!(consumer.position(T0), Some(Offset(5)));
}

#[test]
fn group_metadata_is_none_before_the_first_join_and_then_the_joined_generation() {
    let consumer = consumer_with_coordinator(group_config());
    assert_eq!(consumer.group_metadata(), None);
    let consumer = stable_consumer(group_config());
    assert_eq!(
        consumer.group_metadata(),
        Some(ConsumerGroupMetadata {
            group: group(),
            generation: GenerationId(1),
            member: member(),
            group_instance_id: None,
        })
    );
}

#[test]
fn group_metadata_keeps_the_last_join_through_a_reset_as_kafka_does() {
    let mut consumer = stable_consumer(group_config());
    consumer.reset_generation(true, "test");
    let metadata = consumer.group_metadata().expect("kept");
    assert_eq!(metadata.generation, GenerationId(1));
    assert_ne!(metadata.member, MemberId::unknown());
}

#[test]
fn an_assigning_consumer_has_no_group_metadata() {
    let consumer = crate::consumer::Consumer::new(
        ClientId(1),
        ConsumerConfig::default(),
        Vec::new(),
        vec![T0],
    );
    assert_eq!(consumer.group_metadata(), None);
}
