//! The group member's metadata watch: a subscribed topic the image does not know is asked
//! about again, and a leader that assigned without seeing a topic's partitions asks for a
//! rebalance once it sees them (Kafka's `assignmentSnapshot`).

use super::test_support::*;
use crate::actor::{fire_due_timers, Actor, Effect, Input};
use crate::config::Assignor;
use crate::consumer::test_support::{b, message_from, metadata_response};
use crate::consumer::Consumer;
use crate::ids::{CorrelationId, GenerationId, MemberId};
use crate::mark::Mark;
use crate::metadata::MetadataImage;
use crate::protocol::{Assignment, JoinGroupResponse, Message};

/// A broker that answered before it caught up: it knows no partition.
fn empty_image() -> MetadataImage {
    MetadataImage {
        broker_racks: Default::default(),
        version: 1,
        live_brokers: vec![b(1), b(2), b(3)],
        partitions: Default::default(),
    }
}

fn metadata_requests(effects: &[Effect]) -> usize {
    sent(effects)
        .iter()
        .filter(|message| matches!(message, Message::Metadata(_)))
        .count()
}

/// A subscribed consumer whose first metadata answer knew no partition; its coordinator is
/// found, the next correlation id is 3.
fn with_an_empty_image() -> Consumer {
    let mut consumer = Consumer::subscribed(CLIENT, group_config(), vec![b(1)], vec![T0.topic]);
    consumer.handle(0, Input::Start);
    consumer.handle(1, metadata_response(1, 1, empty_image()));
    consumer.handle(2, coordinator_found(1, 2, COORDINATOR));
    consumer
}

/// Lets the metadata backoff pass and answers the request it sends with both partitions.
fn learn_both_partitions(consumer: &mut Consumer) {
    let effects = fire_due_timers(consumer, 1 + group_config().retry_backoff_ms);
    let Some(Message::Metadata(request)) = sent(&effects)
        .into_iter()
        .find(|message| matches!(message, Message::Metadata(_)))
    else {
        panic!("no metadata request: {effects:?}");
    };
    consumer.handle(
        200,
        metadata_response(1, request.correlation.0, two_partition_image()),
    );
}

/// The only member, leader of generation 1, assigned nothing: its image knew no partition
/// of the topic. Returns the consumer at time 10.
fn leader_that_saw_no_partitions() -> Consumer {
    let config = group_config();
    let mut consumer = with_an_empty_image();
    let outcome = consumer.poll(10);
    assert_eq!(
        sent(&outcome.effects),
        sent(&[join(
            &config,
            3,
            MemberId::unknown(),
            &[],
            GenerationId::NONE,
            ""
        )])
    );
    let effects = consumer.handle(
        10,
        joined_as_leader(3, 1, Assignor::Range, &[], GenerationId::NONE),
    );
    let nothing = vec![(member(), Assignment { partitions: vec![] })];
    assert_eq!(effects, vec![sync(4, 1, Assignor::Range, nothing)]);
    consumer.handle(10, synced(4, &[]));
    consumer
}

#[test]
fn a_subscribed_topic_missing_from_the_image_is_asked_about_again_after_the_backoff() {
    let mut consumer = leader_that_saw_no_partitions();
    let backoff_ms = group_config().retry_backoff_ms;
    let effects = fire_due_timers(&mut consumer, 1 + backoff_ms);
    assert_eq!(metadata_requests(&effects), 1, "{effects:?}");
}

#[test]
fn a_leader_that_assigned_without_the_partitions_rebalances_once_it_sees_them() {
    let mut consumer = leader_that_saw_no_partitions();
    let outcome = consumer.poll(20);
    assert!(!outcome
        .effects
        .contains(&Effect::Mark(Mark::ConsumerAssignmentMetadataChanged)));
    learn_both_partitions(&mut consumer);
    let outcome = consumer.poll(210);
    assert!(
        outcome
            .effects
            .contains(&Effect::Mark(Mark::ConsumerAssignmentMetadataChanged)),
        "{:?}",
        outcome.effects
    );
    assert!(
        sent(&outcome.effects)
            .iter()
            .any(|message| matches!(message, Message::JoinGroup(_))),
        "{:?}",
        outcome.effects
    );
}

#[test]
fn a_member_that_did_not_lead_does_not_watch_the_metadata() {
    let mut consumer = with_an_empty_image();
    consumer.poll(10);
    let follower = message_from(
        COORDINATOR,
        Message::JoinGroupResponse(JoinGroupResponse {
            correlation: CorrelationId(3),
            error: None,
            generation: GenerationId(1),
            protocol_name: Some(Assignor::Range.protocol_name().to_string()),
            leader: MemberId("the-leader".to_string()),
            member_id: member(),
            members: Vec::new(),
            skip_assignment: false,
        }),
    );
    consumer.handle(10, follower);
    consumer.handle(10, synced(4, &[]));
    learn_both_partitions(&mut consumer);
    let outcome = consumer.poll(210);
    assert!(!outcome
        .effects
        .contains(&Effect::Mark(Mark::ConsumerAssignmentMetadataChanged)));
}
