//! The clients of one consume-transform-produce process: a group consumer and a
//! transactional producer on one node. In Kafka they are two clients of one process; here
//! they are one actor, so that a crash, a pause or a network cut strikes the process as a
//! whole, as it strikes a real one.
//!
//! The two share the node's connections (the network model has one per pair of nodes).
//! Answers are told apart by type, and the two types both clients ask for (Metadata and
//! FindCoordinator) by correlation id: the consumer numbers its requests from
//! [`CONSUMER_FIRST_CORRELATION`], far above anything the producer reaches. The clients
//! give up on a connection in their own bookkeeping only (neither asks the network to close
//! one), so one client's request timeout leaves the other's requests alone, as with two
//! sockets; a connection the network closes is news for both.

use watermark_broker_core::actor::{Actor, Effect, Input, Timer};
use watermark_broker_core::consumer::Consumer;
use watermark_broker_core::producer::Producer;
use watermark_broker_core::protocol::Message;

/// Where the consumer's correlation ids start.
pub const CONSUMER_FIRST_CORRELATION: u64 = 1 << 40;

/// How far apart the correlation ids of successive producer instances start: instance `k`
/// numbers its requests from `k << 32`, below the consumer's for the first 255.
const PRODUCER_INSTANCE_CORRELATION_SHIFT: u32 = 32;

/// Which of the two clients an input is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Consumer,
    Producer,
}

/// The consumer and the producer of one consume-transform-produce process.
#[derive(Clone, Debug)]
pub struct PipelineClient {
    pub consumer: Consumer,
    pub producer: Producer,
    /// The producer as the process first built it, before it started: a fenced producer is
    /// replaced by a copy of it.
    new_producer: Producer,
    /// Producer instances this process has made after its first.
    replaced_producers: u64,
}

impl PipelineClient {
    pub fn new(mut consumer: Consumer, producer: Producer) -> PipelineClient {
        consumer.set_first_correlation(CONSUMER_FIRST_CORRELATION);
        PipelineClient {
            consumer,
            new_producer: producer.clone(),
            producer,
            replaced_producers: 0,
        }
    }

    /// Closes the producer and starts a new instance with the same configuration and
    /// transactional id, as an application does after its producer was fenced (Kafka:
    /// "close the producer"; Kafka Streams then makes a new one). The old instance's
    /// answers still on their way are told apart by their correlation ids.
    pub fn replace_producer(&mut self, now_ms: u64) -> Vec<Effect> {
        self.replaced_producers += 1;
        let mut producer = self.new_producer.clone();
        producer
            .set_first_correlation(self.replaced_producers << PRODUCER_INSTANCE_CORRELATION_SHIFT);
        self.producer = producer;
        self.producer.handle(now_ms, Input::Start)
    }

    fn side(&mut self, side: Side) -> &mut dyn Actor {
        match side {
            Side::Consumer => &mut self.consumer,
            Side::Producer => &mut self.producer,
        }
    }
}

/// Which client an answer is for.
fn side_of(message: &Message) -> Side {
    let correlation = match message {
        Message::MetadataResponse(response) => response.correlation,
        Message::FindCoordinatorResponse(response) => response.correlation,
        Message::ProduceResponse(_)
        | Message::InitProducerIdResponse(_)
        | Message::AddPartitionsToTxnResponse(_)
        | Message::AddOffsetsToTxnResponse(_)
        | Message::EndTxnResponse(_)
        | Message::TxnOffsetCommitResponse(_) => return Side::Producer,
        _ => return Side::Consumer,
    };
    if correlation.0 >= CONSUMER_FIRST_CORRELATION {
        Side::Consumer
    } else {
        Side::Producer
    }
}

impl Actor for PipelineClient {
    fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Effect> {
        match input {
            Input::Message { from, message } => {
                let side = side_of(&message);
                self.side(side)
                    .handle(now_ms, Input::Message { from, message })
            }
            Input::Timers(timers) => {
                let (consumer, producer): (Vec<Timer>, Vec<Timer>) = timers
                    .into_iter()
                    .partition(|timer| matches!(timer, Timer::Consumer(_)));
                let mut effects = Vec::new();
                if !consumer.is_empty() {
                    effects.extend(
                        self.side(Side::Consumer)
                            .handle(now_ms, Input::Timers(consumer)),
                    );
                }
                if !producer.is_empty() {
                    effects.extend(
                        self.side(Side::Producer)
                            .handle(now_ms, Input::Timers(producer)),
                    );
                }
                effects
            }
            // Both clients start with the process and see every change of a shared
            // connection.
            other => {
                let mut effects = self.side(Side::Consumer).handle(now_ms, other.clone());
                effects.extend(self.side(Side::Producer).handle(now_ms, other));
                effects
            }
        }
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        [
            self.consumer.next_deadline_ms(),
            self.producer.next_deadline_ms(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn due_timers(&self, now_ms: u64) -> Vec<Timer> {
        let mut due = self.consumer.due_timers(now_ms);
        due.extend(self.producer.due_timers(now_ms));
        due
    }
}

#[cfg(test)]
#[path = "pipeline_client_tests.rs"]
mod tests;
