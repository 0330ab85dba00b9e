//! The producer's connections (`connections.rs`): a closed connection fails what is in flight
//! on it as indefinite and asks for metadata; the broker is not ready again until a new
//! connection is established after the reconnect backoff, and batches wait meanwhile.

use super::test_support::*;
use super::*;
use crate::actor::fire_due_timers;
use crate::error::ErrorCode;
use crate::mark::Mark;
use crate::protocol::Acks;

fn closed(broker: u32) -> Input {
    Input::ConnectionClosed {
        peer: NodeId::Broker(b(broker)),
    }
}

fn established(broker: u32) -> Input {
    Input::ConnectionEstablished {
        peer: NodeId::Broker(b(broker)),
    }
}

fn connect(broker: u32) -> Effect {
    Effect::Connect {
        peer: NodeId::Broker(b(broker)),
    }
}

fn acks0_config() -> ProducerConfig {
    ProducerConfig {
        acks: Acks::None,
        ..config()
    }
}

#[test]
fn a_closed_connection_fails_requests_in_flight_as_indefinite_and_refreshes_metadata() {
    let config = ProducerConfig {
        retries: 0,
        ..config()
    };
    let mut producer = producer_with_metadata(config, &[1, 2], 1);
    assert_eq!(
        producer.send(10, 7, None),
        vec![produce(1, 2, Acks::Leader, &[7])]
    );
    assert_eq!(
        producer.handle(20, closed(1)),
        vec![
            mark(Mark::ProducerDisconnected),
            failed(7, ErrorCode::NetworkException, false),
            mark(Mark::ProducerGaveUp),
        ]
    );
    // The refresh waits out the metadata backoff and avoids the broker that went away.
    assert_eq!(
        fire_due_timers(&mut producer, 100),
        vec![metadata_request(2, 3)]
    );
}

#[test]
fn a_retried_batch_waits_for_the_reconnect_and_goes_once_the_connection_is_established() {
    let mut producer = producer_with_metadata(config(), &[1], 1);
    producer.send(10, 7, None);
    assert_eq!(
        producer.handle(20, closed(1)),
        vec![
            mark(Mark::ProducerDisconnected),
            mark(Mark::ProducerRetried)
        ]
    );
    // The retry backoff (120) ends after the reconnect backoff (70): the connection is
    // opened then, not before, and the batch leaves only once it is established.
    let mut effects = Vec::new();
    while let Some(at_ms) = producer.next_deadline_ms().filter(|&at_ms| at_ms <= 120) {
        effects.extend(fire_due_timers(&mut producer, at_ms));
    }
    assert!(effects.contains(&connect(1)), "{effects:?}");
    assert!(!effects.iter().any(|effect| matches!(
        effect,
        Effect::Send {
            message: Message::Produce(_),
            ..
        }
    )));
    let effects = producer.handle(125, established(1));
    assert_eq!(effects, vec![produce(1, 4, Acks::Leader, &[7])]);
}

#[test]
fn acks0_batches_wait_in_the_accumulator_while_the_leader_connection_is_not_ready() {
    let mut producer = producer_with_metadata(acks0_config(), &[1, 2], 1);
    assert_eq!(
        producer.handle(10, closed(1)),
        vec![mark(Mark::ProducerDisconnected)]
    );
    // Backing off: nothing goes on the wire, nothing is reported sent.
    assert_eq!(producer.send(20, 7, None), vec![]);
    assert_eq!(producer.send(30, 8, None), vec![]);
    assert_eq!(producer.unfinished_sends(), 2);
    // The backoff ends at 60: the producer connects; the connection is refused (the
    // leader's process is down), so it backs off twice as long.
    assert_eq!(fire_due_timers(&mut producer, 60), vec![connect(1)]);
    assert_eq!(
        producer.handle(61, closed(1)),
        vec![mark(Mark::ProducerDisconnected)]
    );
    assert_eq!(producer.next_deadline_ms(), Some(100));
    // Metadata (asked for at the first close) now names broker 2: the batch goes there.
    assert_eq!(
        fire_due_timers(&mut producer, 100),
        vec![metadata_request(2, 2)]
    );
    let effects = producer.handle(101, metadata_response(2, 2, image(2, 1, 2, 1)));
    assert_eq!(
        effects,
        vec![
            mark(Mark::ProducerMetadataRefreshed),
            produce(2, 3, Acks::None, &[7, 8]),
            completed(7, Ok(None)),
            completed(8, Ok(None)),
        ]
    );
}

#[test]
fn a_connection_attempt_without_answer_times_out_and_backs_off() {
    let config = ProducerConfig {
        socket_connection_setup_timeout_ms: 1_000,
        ..acks0_config()
    };
    let mut producer = producer_with_metadata(config.clone(), &[1], 1);
    producer.handle(10, closed(1));
    producer.send(20, 7, None);
    assert_eq!(fire_due_timers(&mut producer, 60), vec![connect(1)]);
    // Across a cut nothing answers: socket_connection_setup_timeout_ms later the attempt
    // fails like a close.
    let setup_timeout_ms = config.socket_connection_setup_timeout_ms;
    let mut effects = Vec::new();
    while let Some(at_ms) = producer
        .next_deadline_ms()
        .filter(|&at_ms| at_ms <= 60 + setup_timeout_ms)
    {
        effects.extend(fire_due_timers(&mut producer, at_ms));
    }
    assert!(
        effects.contains(&mark(Mark::ProducerDisconnected)),
        "{effects:?}"
    );
    assert_eq!(producer.unfinished_sends(), 1);
    // A late answer to the abandoned attempt does not make the broker ready.
    assert_eq!(
        producer.handle(60 + setup_timeout_ms + 1, established(1)),
        vec![]
    );
    assert_eq!(producer.unfinished_sends(), 1);
}
