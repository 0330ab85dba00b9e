//! Random schedules of sends, answers, losses and time: the deadline is always in the
//! future, and every sent record gets exactly one `SendCompleted` within its delivery
//! timeout once the network goes quiet.

use super::test_support::*;
use super::*;
use crate::actor::fire_due_timers;
use crate::config::Partitioner as PartitionerConfig;
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::Offset;
use crate::protocol::{Acks, MetadataRequest, ProduceRequest, ProduceResponse};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
enum Step {
    Send { key: Option<u64> },
    Advance { ms: u64 },
    AnswerMetadata { index: usize, leader: u32 },
    AnswerProduce { index: usize, outcome: u8 },
    Lose { index: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        proptest::option::of(0u64..10).prop_map(|key| Step::Send { key }),
        (0u64..1_500).prop_map(|ms| Step::Advance { ms }),
        (0usize..4, 1u32..4).prop_map(|(index, leader)| Step::AnswerMetadata { index, leader }),
        (0usize..8, 0u8..6).prop_map(|(index, outcome)| Step::AnswerProduce { index, outcome }),
        (0usize..8).prop_map(|index| Step::Lose { index }),
    ]
}

struct Harness {
    producer: Producer,
    now_ms: u64,
    /// Requests on the wire: (to, message).
    wire: Vec<(u32, Message)>,
    completions: BTreeMap<u64, usize>,
    sent_at_ms: BTreeMap<u64, u64>,
    version: u64,
}

impl Harness {
    fn apply(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Send {
                    to: NodeId::Broker(broker),
                    message,
                } => {
                    self.wire.push((broker.0, message));
                }
                Effect::Event(Event::SendCompleted { value, .. }) => {
                    *self.completions.entry(value).or_default() += 1;
                    let sent_at_ms = self.sent_at_ms[&value];
                    assert!(
                        self.now_ms <= sent_at_ms + 3_000,
                        "value {value} completed late"
                    );
                }
                _ => {}
            }
        }
        if let Some(deadline_ms) = self.producer.next_deadline_ms() {
            assert!(
                deadline_ms > self.now_ms,
                "deadline {deadline_ms} not after {}",
                self.now_ms
            );
        }
    }

    fn advance_to(&mut self, target_ms: u64) {
        let mut ticks = 0;
        while let Some(deadline_ms) = self.producer.next_deadline_ms() {
            if deadline_ms > target_ms {
                break;
            }
            ticks += 1;
            assert!(ticks < 10_000, "producer spins");
            self.now_ms = deadline_ms;
            let effects = fire_due_timers(&mut self.producer, self.now_ms);
            self.apply(effects);
        }
        self.now_ms = self.now_ms.max(target_ms);
    }
}

proptest! {
    #[test]
    fn every_send_completes_once_and_deadlines_are_in_the_future(
        acks in prop_oneof![Just(Acks::None), Just(Acks::Leader), Just(Acks::All)],
        max_in_flight in 1u32..6,
        linger_ms in 0u64..100,
        steps in proptest::collection::vec(step(), 1..80),
    ) {
        let config = ProducerConfig {
            acks,
            retries: 5,
            delivery_timeout_ms: 3_000,
            max_in_flight_requests_per_connection: max_in_flight,
            linger_ms,
            batch_size_records: 3,
            partitioner: PartitionerConfig::KeyHash,
            ..config()
        };
        let mut harness = Harness {
            producer: Producer::new(CLIENT, config, vec![b(1), b(2)], crate::topic::TopicName::default(), 2),
            now_ms: 0,
            wire: Vec::new(),
            completions: BTreeMap::new(),
            sent_at_ms: BTreeMap::new(),
            version: 0,
        };
        let effects = harness.producer.handle(0, Input::Start);
        harness.apply(effects);
        let mut next_value = 0;
        for step in steps {
            match step {
                Step::Send { key } => {
                    harness.sent_at_ms.insert(next_value, harness.now_ms);
                    let effects = harness.producer.send(harness.now_ms, next_value, key);
                    harness.apply(effects);
                    next_value += 1;
                }
                Step::Advance { ms } => harness.advance_to(harness.now_ms + ms),
                Step::AnswerMetadata { index, leader } => {
                    let found = harness.wire.iter().enumerate()
                        .filter(|(_, (_, message))| matches!(message, Message::Metadata(MetadataRequest { .. })))
                        .map(|(position, _)| position)
                        .nth(index);
                    if let Some(position) = found {
                        let (to, message) = harness.wire.remove(position);
                        if let Message::Metadata(MetadataRequest { correlation }) = message {
                            harness.version += 1;
                            let input = metadata_response(to, correlation.0, image(harness.version, 2, leader, 0));
                            let effects = harness.producer.handle(harness.now_ms, input);
                            harness.apply(effects);
                        }
                    }
                }
                Step::AnswerProduce { index, outcome } => {
                    let found = harness.wire.iter().enumerate()
                        .filter(|(_, (_, message))| matches!(message, Message::Produce(ProduceRequest { .. })))
                        .map(|(position, _)| position)
                        .nth(index);
                    if let Some(position) = found {
                        let (to, message) = harness.wire.remove(position);
                        if let Message::Produce(ProduceRequest { correlation, partition, .. }) = message {
                            let result = match outcome {
                                0 | 1 => Ok(Offset(u64::from(outcome) * 10)),
                                2 => Err(ErrorCode::NotLeaderOrFollower),
                                3 => Err(ErrorCode::NotEnoughReplicas),
                                4 => Err(ErrorCode::NotEnoughReplicasAfterAppend),
                                _ => Err(ErrorCode::RequestTimedOut),
                            };
                            let input = Input::Message {
                                from: NodeId::Broker(b(to)),
                                message: Message::ProduceResponse(ProduceResponse { correlation, partition, result, log_start_offset: None }),
                            };
                            let effects = harness.producer.handle(harness.now_ms, input);
                            harness.apply(effects);
                        }
                    }
                }
                Step::Lose { index } => {
                    if index < harness.wire.len() {
                        harness.wire.remove(index);
                    }
                }
            }
        }
        // Quiet network: nothing more is answered.
        harness.wire.clear();
        let end_ms = harness.now_ms + 3_000;
        harness.advance_to(end_ms);
        prop_assert_eq!(harness.producer.unfinished_sends(), 0);
        for value in 0..next_value {
            prop_assert_eq!(harness.completions.get(&value).copied(), Some(1), "value {}", value);
        }
    }
}
