//! Random schedules of answers, errors, leader changes, losses and time: the deadline is
//! always in the future, and the position moves only by consuming contiguous records or
//! by a reported `PositionReset`.

use super::test_support::*;
use super::*;
use crate::actor::fire_due_timers;
use crate::error::ErrorCode;
use crate::event::Event;
use crate::protocol::{
    EpochEndOffset, FetchData, FetchRequest, FetchResponse, ListOffsetsRequest,
    ListOffsetsResponse, MetadataRequest, OffsetsForLeaderEpochRequest,
    OffsetsForLeaderEpochResponse,
};
use crate::record::Record;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Step {
    Advance { ms: u64 },
    Answer { index: usize, choice: u8 },
    Lose { index: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u64..1_500).prop_map(|ms| Step::Advance { ms }),
        (0usize..4, 0u8..8).prop_map(|(index, choice)| Step::Answer { index, choice }),
        (0usize..4).prop_map(|index| Step::Lose { index }),
    ]
}

struct Harness {
    consumer: Consumer,
    now_ms: u64,
    wire: Vec<(u32, Message)>,
    position: Option<Offset>,
    version: u64,
    leader_epoch: u32,
}

impl Harness {
    fn apply(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Send {
                    to: NodeId::Broker(broker),
                    message,
                } => self.wire.push((broker.0, message)),
                Effect::Event(Event::PositionReset { to, .. }) => self.position = Some(to),
                Effect::Event(Event::Polled { records, .. }) => {
                    for (offset, _) in records {
                        let position = self.position.expect("polled without a position");
                        assert!(offset >= position, "polled {offset} below {position}");
                        self.position = Some(offset.next());
                    }
                }
                _ => {}
            }
        }
        assert_eq!(self.consumer.position(P0), self.position);
        if let Some(deadline_ms) = self.consumer.next_deadline_ms() {
            assert!(
                deadline_ms > self.now_ms,
                "deadline {deadline_ms} not after {}",
                self.now_ms
            );
        }
    }

    fn advance_to(&mut self, target_ms: u64) {
        let mut ticks = 0;
        while let Some(deadline_ms) = self.consumer.next_deadline_ms() {
            if deadline_ms > target_ms {
                break;
            }
            ticks += 1;
            assert!(ticks < 10_000, "consumer spins");
            self.now_ms = deadline_ms;
            let effects = fire_due_timers(&mut self.consumer, self.now_ms);
            self.apply(effects);
        }
        self.now_ms = self.now_ms.max(target_ms);
    }

    fn answer(&mut self, message: Message, choice: u8) -> Option<Message> {
        let error = match choice {
            5 => Some(ErrorCode::NotLeaderOrFollower),
            6 => Some(ErrorCode::FencedLeaderEpoch),
            7 => Some(ErrorCode::OffsetOutOfRange),
            _ => None,
        };
        Some(match message {
            Message::Metadata(MetadataRequest { correlation }) => {
                self.version += 1;
                if choice % 2 == 1 {
                    self.leader_epoch += 1;
                }
                let leader = 1 + self.leader_epoch % 3;
                Message::MetadataResponse(MetadataResponse {
                    correlation,
                    metadata: image(self.version, leader, self.leader_epoch),
                })
            }
            Message::ListOffsets(ListOffsetsRequest {
                correlation,
                partition,
                ..
            }) => Message::ListOffsetsResponse(ListOffsetsResponse {
                correlation,
                partition,
                result: error.map_or(Ok(Offset(u64::from(choice))), Err),
            }),
            Message::Fetch(FetchRequest {
                correlation,
                partition,
                fetch_offset,
                current_leader_epoch,
                ..
            }) => {
                let records = (0..u64::from(choice % 4))
                    .map(|index| Record {
                        offset: Offset(fetch_offset.0 + index),
                        leader_epoch: current_leader_epoch,
                        value: Some(crate::record::application_bytes(fetch_offset.0 + index)),
                        key: None,
                        producer_stamp: None,
                        headers: Vec::new(),
                        is_transactional: false,
                        is_control: false,
                    })
                    .collect();
                let data = FetchData {
                    preferred_read_replica: None,
                    records,
                    high_watermark: fetch_offset,
                    log_start_offset: Offset(0),
                    log_end_offset: fetch_offset,
                    diverging_epoch: None,
                    last_stable_offset: fetch_offset,
                    aborted_transactions: Vec::new(),
                };
                Message::FetchResponse(FetchResponse {
                    correlation,
                    partition,
                    result: error.map_or(Ok(data), Err),
                })
            }
            Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
                correlation,
                partition,
                leader_epoch,
                ..
            }) => Message::OffsetsForLeaderEpochResponse(OffsetsForLeaderEpochResponse {
                correlation,
                partition,
                result: error.map_or(
                    Ok(EpochEndOffset {
                        leader_epoch,
                        end_offset: Offset(u64::from(choice) * 2),
                    }),
                    Err,
                ),
            }),
            _ => return None,
        })
    }
}

proptest! {
    #[test]
    fn deadlines_are_in_the_future_and_position_moves_only_visibly(
        steps in proptest::collection::vec(step(), 1..100),
    ) {
        let mut harness = Harness {
            consumer: Consumer::new(CLIENT, config(), vec![b(1), b(2)], vec![P0]),
            now_ms: 0,
            wire: Vec::new(),
            position: None,
            version: 0,
            leader_epoch: 0,
        };
        let effects = harness.consumer.handle(0, Input::Start);
        harness.apply(effects);
        for step in steps {
            match step {
                Step::Advance { ms } => harness.advance_to(harness.now_ms + ms),
                Step::Answer { index, choice } => {
                    if index < harness.wire.len() {
                        let (to, request) = harness.wire.remove(index);
                        if let Some(response) = harness.answer(request, choice) {
                            let effects = harness.consumer.handle(harness.now_ms, message_from(to, response));
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
    }
}
