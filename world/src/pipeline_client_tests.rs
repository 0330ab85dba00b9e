use super::*;
use watermark_broker_core::config::{ConsumerConfig, ProducerConfig};
use watermark_broker_core::ids::{BrokerId, ClientId, NodeId};
use watermark_broker_core::topic::TopicName;

fn pipeline() -> PipelineClient {
    let consumer_config = ConsumerConfig {
        group_id: Some("g".into()),
        ..ConsumerConfig::default()
    };
    let consumer = Consumer::subscribed(
        ClientId(0),
        consumer_config,
        vec![BrokerId(1)],
        vec![TopicName::from_static("in")],
    );
    let producer = Producer::new(
        ClientId(0),
        ProducerConfig::default(),
        vec![BrokerId(1)],
        TopicName::from_static("out"),
        1,
    );
    PipelineClient::new(consumer, producer)
}

/// The correlation ids of the Metadata requests among `effects`.
fn metadata_correlations(effects: &[Effect]) -> Vec<u64> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Send {
                message: Message::Metadata(request),
                ..
            } => Some(request.correlation.0),
            _ => None,
        })
        .collect()
}

/// Starts the process and establishes its connection to broker 1.
fn connected(client: &mut PipelineClient) -> Vec<Effect> {
    let mut effects = client.handle(0, Input::Start);
    effects.extend(client.handle(
        1,
        Input::ConnectionEstablished {
            peer: NodeId::Broker(BrokerId(1)),
        },
    ));
    effects
}

#[test]
fn both_clients_start_and_number_their_requests_apart() {
    let mut client = pipeline();
    let effects = connected(&mut client);
    let correlations = metadata_correlations(&effects);
    assert_eq!(
        correlations.len(),
        2,
        "each client asks for metadata: {effects:?}"
    );
    assert!(correlations
        .iter()
        .any(|c| *c >= CONSUMER_FIRST_CORRELATION));
    assert!(correlations.iter().any(|c| *c < CONSUMER_FIRST_CORRELATION));
}

#[test]
fn answers_of_a_shared_type_go_to_the_client_that_asked() {
    assert_eq!(
        side_of(&Message::MetadataResponse(
            watermark_broker_core::protocol::MetadataResponse {
                correlation: watermark_broker_core::ids::CorrelationId(CONSUMER_FIRST_CORRELATION),
                metadata: Default::default(),
            }
        )),
        Side::Consumer
    );
    assert_eq!(
        side_of(&Message::MetadataResponse(
            watermark_broker_core::protocol::MetadataResponse {
                correlation: watermark_broker_core::ids::CorrelationId(3),
                metadata: Default::default(),
            }
        )),
        Side::Producer
    );
}

#[test]
fn the_deadline_and_due_timers_are_both_clients() {
    let mut client = pipeline();
    connected(&mut client);
    let deadline = client.next_deadline_ms().expect("timers are set");
    let due = client.due_timers(deadline.max(60_000));
    assert!(due.iter().any(|timer| matches!(timer, Timer::Consumer(_))));
    assert!(due.iter().any(|timer| matches!(timer, Timer::Producer(_))));
}

#[test]
fn a_closed_connection_is_news_for_both_clients() {
    let mut client = pipeline();
    connected(&mut client);
    let effects = client.handle(
        5,
        Input::ConnectionClosed {
            peer: NodeId::Broker(BrokerId(1)),
        },
    );
    let before = (
        client.consumer.next_deadline_ms(),
        client.producer.next_deadline_ms(),
    );
    // Each client lost its metadata request on the connection and plans to reconnect:
    // neither still waits for its request timeout (30 s).
    assert!(
        before.0.is_some_and(|deadline| deadline < 30_000),
        "{before:?} {effects:?}"
    );
    assert!(
        before.1.is_some_and(|deadline| deadline < 30_000),
        "{before:?} {effects:?}"
    );
}

#[test]
fn a_replaced_producer_starts_afresh_and_numbers_its_requests_past_the_old_ones() {
    let mut client = pipeline();
    connected(&mut client);
    let mut effects = client.replace_producer(2);
    effects.extend(client.handle(
        3,
        Input::ConnectionEstablished {
            peer: NodeId::Broker(BrokerId(1)),
        },
    ));
    let correlations = metadata_correlations(&effects);
    assert!(
        !correlations.is_empty()
            && correlations
                .iter()
                .all(|c| *c >= 1 << 32 && *c < CONSUMER_FIRST_CORRELATION),
        "{correlations:?}"
    );
}
