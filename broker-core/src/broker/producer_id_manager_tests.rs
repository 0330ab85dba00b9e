//! The producer-id manager's handler tests: exact effects for each call, answer and timer.

use super::*;
use crate::protocol::ProducerIdBlock;

const BROKER: BrokerId = BrokerId(2);
const EPOCH: BrokerEpoch = BrokerEpoch(7);
const RECONNECT_BACKOFF_MS: u64 = 80;

/// A manager with the broker parts it uses, at a settable time.
struct Harness {
    manager: ProducerIdManager,
    now_ms: u64,
    broker_epoch: Option<BrokerEpoch>,
    next_correlation: u64,
    timers: TimerTable<BrokerTimer>,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            manager: ProducerIdManager::default(),
            now_ms: 1_000,
            broker_epoch: Some(EPOCH),
            next_correlation: 0,
            timers: TimerTable::default(),
        }
    }

    fn run<T>(
        &mut self,
        act: impl FnOnce(&mut ProducerIdManager, &mut ProducerIdContext<'_>) -> T,
    ) -> (T, Vec<Effect>) {
        let mut effects = Vec::new();
        let mut context = ProducerIdContext {
            now_ms: self.now_ms,
            broker: BROKER,
            broker_epoch: self.broker_epoch,
            reconnect_backoff_ms: RECONNECT_BACKOFF_MS,
            next_correlation: &mut self.next_correlation,
            timers: &mut self.timers,
            effects: &mut effects,
        };
        let result = act(&mut self.manager, &mut context);
        (result, effects)
    }

    fn generate(&mut self) -> (Result<ProducerId, ErrorCode>, Vec<Effect>) {
        self.run(|manager, context| manager.generate_producer_id(context))
    }

    /// A call whose answer the test does not look at; its effects.
    fn ask(&mut self) -> Vec<Effect> {
        self.generate().1
    }

    /// Hands out `count` ids and returns them; none of the calls may send anything.
    fn generate_quietly(&mut self, count: u64) -> Vec<ProducerId> {
        (0..count)
            .map(|_| {
                let (result, effects) = self.generate();
                assert_eq!(effects, vec![], "before {result:?}");
                result.expect("an id")
            })
            .collect()
    }

    fn answer(
        &mut self,
        correlation: u64,
        result: Result<ProducerIdBlock, ErrorCode>,
    ) -> Vec<Effect> {
        let response = AllocateProducerIdsResponse {
            correlation: CorrelationId(correlation),
            result,
        };
        self.run(|manager, context| manager.on_allocate_producer_ids_response(context, &response))
            .1
    }

    /// Fires the block-request timer at its deadline.
    fn fire_timer(&mut self) -> Vec<Effect> {
        self.now_ms = self.deadline_ms().expect("the timer is set");
        self.timers.cancel(BrokerTimer::ProducerIdBlockRequest);
        self.run(|manager, context| manager.on_timer(context)).1
    }

    fn deadline_ms(&self) -> Option<u64> {
        self.timers.deadline_ms(BrokerTimer::ProducerIdBlockRequest)
    }

    /// A manager that asked once and got the block starting at `first`.
    fn holding(first: u64) -> Harness {
        let mut harness = Harness::new();
        harness.ask();
        harness.answer(1, block(first));
        harness
    }
}

fn block(first: u64) -> Result<ProducerIdBlock, ErrorCode> {
    Ok(ProducerIdBlock {
        first: ProducerId(first),
        length: 1_000,
    })
}

fn request(correlation: u64) -> Effect {
    Effect::Send {
        to: NodeId::Controller,
        message: Message::AllocateProducerIds(AllocateProducerIdsRequest {
            correlation: CorrelationId(correlation),
            broker: BROKER,
            broker_epoch: EPOCH,
        }),
    }
}

fn received(first: u64) -> Effect {
    Effect::Event(Event::ProducerIdBlockReceived {
        broker: BROKER,
        first: ProducerId(first),
        length: 1_000,
    })
}

fn ids(range: std::ops::Range<u64>) -> Vec<ProducerId> {
    range.map(ProducerId).collect()
}

#[test]
fn a_new_manager_asks_for_nothing_until_an_id_is_wanted() {
    let harness = Harness::new();
    assert_eq!(harness.deadline_ms(), None);
    assert_eq!(harness.manager.request, BlockRequest::Idle);
}

#[test]
fn the_first_id_wanted_is_answered_load_in_progress_and_asks_for_a_block() {
    let mut harness = Harness::new();
    let (result, effects) = harness.generate();
    assert_eq!(result, Err(ErrorCode::CoordinatorLoadInProgress));
    assert_eq!(
        effects,
        vec![request(1), Effect::Mark(Mark::InitProducerIdLoadInProgress)]
    );
    assert_eq!(
        harness.deadline_ms(),
        Some(1_000 + CONTROLLER_REQUEST_TIMEOUT_MS)
    );
    // One request outstanding at a time: asking again sends nothing more.
    let (result, effects) = harness.generate();
    assert_eq!(result, Err(ErrorCode::CoordinatorLoadInProgress));
    assert_eq!(
        effects,
        vec![Effect::Mark(Mark::InitProducerIdLoadInProgress)]
    );
}

#[test]
fn a_received_block_is_reported_and_hands_out_its_ids_in_order() {
    let mut harness = Harness::new();
    harness.ask();
    assert_eq!(harness.answer(1, block(3_000)), vec![received(3_000)]);
    assert_eq!(harness.deadline_ms(), None, "nothing outstanding");
    assert_eq!(harness.generate_quietly(3), ids(3_000..3_003));
}

#[test]
fn the_prefetch_request_leaves_with_the_901st_id_of_the_block() {
    let mut harness = Harness::holding(0);
    assert_eq!(harness.generate_quietly(900), ids(0..900));
    let (result, effects) = harness.generate();
    assert_eq!(result, Ok(ProducerId(900)));
    assert_eq!(
        effects,
        vec![Effect::Mark(Mark::ProducerIdBlockPrefetched), request(2)]
    );
    // Still one request at a time.
    assert_eq!(harness.generate_quietly(5), ids(901..906));
}

#[test]
fn the_1001st_id_comes_from_the_next_block() {
    let mut harness = Harness::holding(0);
    harness.generate_quietly(900);
    harness.ask();
    assert_eq!(harness.answer(2, block(4_000)), vec![received(4_000)]);
    assert_eq!(harness.generate_quietly(99), ids(901..1_000));
    assert_eq!(harness.generate_quietly(1), ids(4_000..4_001));
}

#[test]
fn a_used_up_block_without_a_next_one_answers_load_in_progress_until_it_arrives() {
    let mut harness = Harness::holding(0);
    harness.generate_quietly(900);
    harness.ask(); // the prefetch (correlation 2) goes unanswered so far
    harness.generate_quietly(99);
    let (result, effects) = harness.generate();
    assert_eq!(result, Err(ErrorCode::CoordinatorLoadInProgress));
    assert_eq!(
        effects,
        vec![Effect::Mark(Mark::InitProducerIdLoadInProgress)]
    );
    harness.answer(2, block(1_000));
    assert_eq!(harness.generate_quietly(1), ids(1_000..1_001));
}

#[test]
fn a_refused_request_is_sent_again_after_the_backoff() {
    let mut harness = Harness::new();
    harness.ask();
    harness.now_ms = 1_010;
    assert_eq!(harness.answer(1, Err(ErrorCode::StaleBrokerEpoch)), vec![]);
    assert_eq!(
        harness.deadline_ms(),
        Some(1_010 + PRODUCER_ID_RETRY_BACKOFF_MS)
    );
    // Waiting out the backoff, a client's request sends nothing.
    let (_, effects) = harness.generate();
    assert_eq!(
        effects,
        vec![Effect::Mark(Mark::InitProducerIdLoadInProgress)]
    );
    assert_eq!(harness.fire_timer(), vec![request(2)]);
    assert_eq!(harness.answer(2, block(0)), vec![received(0)]);
    assert_eq!(harness.generate_quietly(1), ids(0..1));
}

#[test]
fn an_unanswered_request_is_given_up_on_and_sent_again_after_the_request_timeout() {
    let mut harness = Harness::new();
    harness.ask();
    assert_eq!(harness.fire_timer(), vec![request(2)]);
    assert_eq!(harness.now_ms, 1_000 + CONTROLLER_REQUEST_TIMEOUT_MS);
    // A late answer to the request given up on is dropped; the new one's counts.
    assert_eq!(harness.answer(1, block(0)), vec![]);
    assert_eq!(harness.answer(2, block(1_000)), vec![received(1_000)]);
    assert_eq!(harness.generate_quietly(1), ids(1_000..1_001));
}

#[test]
fn a_request_lost_with_the_controller_connection_is_sent_again_after_the_reconnect_backoff() {
    let mut harness = Harness::new();
    harness.ask();
    harness.now_ms = 1_200;
    let (_, effects) =
        harness.run(|manager, context| manager.on_controller_connection_closed(context));
    assert_eq!(effects, vec![]);
    assert_eq!(harness.deadline_ms(), Some(1_200 + RECONNECT_BACKOFF_MS));
    assert_eq!(harness.fire_timer(), vec![request(2)]);
}

#[test]
fn a_closed_controller_connection_with_nothing_outstanding_changes_nothing() {
    let mut harness = Harness::holding(0);
    let (_, effects) =
        harness.run(|manager, context| manager.on_controller_connection_closed(context));
    assert_eq!(effects, vec![]);
    assert_eq!(harness.deadline_ms(), None);
}

#[test]
fn a_block_below_the_one_in_use_is_refused_and_asked_for_again() {
    let mut harness = Harness::holding(5_000);
    harness.generate_quietly(900);
    harness.ask();
    assert_eq!(harness.answer(2, block(4_000)), vec![]);
    assert_eq!(
        harness.deadline_ms(),
        Some(harness.now_ms + PRODUCER_ID_RETRY_BACKOFF_MS)
    );
    assert_eq!(harness.fire_timer(), vec![request(3)]);
    assert_eq!(harness.answer(3, block(6_000)), vec![received(6_000)]);
}

#[test]
fn an_empty_block_is_refused() {
    let mut harness = Harness::new();
    harness.ask();
    let empty = Ok(ProducerIdBlock {
        first: ProducerId(0),
        length: 0,
    });
    assert_eq!(harness.answer(1, empty), vec![]);
    assert_eq!(harness.manager.request, BlockRequest::BackingOff);
}

#[test]
fn without_a_broker_epoch_the_request_waits_for_a_registration() {
    let mut harness = Harness::new();
    harness.broker_epoch = None;
    let (result, effects) = harness.generate();
    assert_eq!(result, Err(ErrorCode::CoordinatorLoadInProgress));
    assert_eq!(
        effects,
        vec![Effect::Mark(Mark::InitProducerIdLoadInProgress)]
    );
    assert_eq!(
        harness.deadline_ms(),
        Some(1_000 + PRODUCER_ID_RETRY_BACKOFF_MS)
    );
    assert_eq!(harness.fire_timer(), vec![], "still unregistered");
    harness.broker_epoch = Some(EPOCH);
    assert_eq!(harness.fire_timer(), vec![request(1)]);
}
