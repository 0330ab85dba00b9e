//! Producer-id blocks (KIP-730): exact answers, what is persisted, and what is refused.

use super::*;
use crate::ids::ProducerId;
use crate::protocol::{AllocateProducerIdsRequest, AllocateProducerIdsResponse, ProducerIdBlock};

fn allocate(
    controller: &mut Controller,
    now_ms: u64,
    broker: BrokerId,
    broker_epoch: BrokerEpoch,
    correlation: u64,
) -> Vec<Effect> {
    allocate_from(
        controller,
        now_ms,
        NodeId::Broker(broker),
        broker,
        broker_epoch,
        correlation,
    )
}

fn allocate_from(
    controller: &mut Controller,
    now_ms: u64,
    from: NodeId,
    broker: BrokerId,
    broker_epoch: BrokerEpoch,
    correlation: u64,
) -> Vec<Effect> {
    controller.handle(
        now_ms,
        Input::Message {
            from,
            message: Message::AllocateProducerIds(AllocateProducerIdsRequest {
                correlation: CorrelationId(correlation),
                broker,
                broker_epoch,
            }),
        },
    )
}

/// The one effect an allocation has: the answer to its broker.
fn answer(
    broker: u32,
    correlation: u64,
    result: Result<ProducerIdBlock, ErrorCode>,
) -> Vec<Effect> {
    vec![Effect::Send {
        to: NodeId::Broker(b(broker)),
        message: Message::AllocateProducerIdsResponse(AllocateProducerIdsResponse {
            correlation: CorrelationId(correlation),
            result,
        }),
    }]
}

fn block(first: u64) -> Result<ProducerIdBlock, ErrorCode> {
    Ok(ProducerIdBlock {
        first: ProducerId(first),
        length: PRODUCER_ID_BLOCK_SIZE,
    })
}

/// The next block start the controller's disk holds.
fn persisted_next_producer_id(disk: &SharedStorage) -> ProducerId {
    ControllerState::decode(&disk.snapshot().read(CONTROLLER_STATE_FILE))
        .expect("the state decodes")
        .expect("the state was written")
        .next_producer_id
}

#[test]
fn two_brokers_get_disjoint_consecutive_blocks_each_persisted_before_its_answer() {
    let (mut controller, disk) = three_registered();
    let syncs_before = disk.sync_count();

    let effects = allocate(&mut controller, 100, b(1), BrokerEpoch(1), 5);
    assert_eq!(effects, answer(1, 5, block(0)));
    assert_eq!(disk.sync_count(), syncs_before + 1);
    assert_eq!(persisted_next_producer_id(&disk), ProducerId(1_000));

    let effects = allocate(&mut controller, 101, b(2), BrokerEpoch(2), 9);
    assert_eq!(effects, answer(2, 9, block(1_000)));
    assert_eq!(disk.sync_count(), syncs_before + 2);
    assert_eq!(persisted_next_producer_id(&disk), ProducerId(2_000));

    // The same broker asking again (a prefetch) gets the block after, never its old one.
    let effects = allocate(&mut controller, 102, b(1), BrokerEpoch(1), 6);
    assert_eq!(effects, answer(1, 6, block(2_000)));
}

#[test]
fn a_restarted_controller_hands_out_the_block_after_the_last_one_it_answered() {
    let (mut controller, disk) = three_registered();
    allocate(&mut controller, 100, b(1), BrokerEpoch(1), 1);
    allocate(&mut controller, 100, b(2), BrokerEpoch(2), 1);

    let restarted_disk = SharedStorage(Arc::new(Mutex::new(disk.snapshot())));
    let mut restarted = Controller::new(
        config(),
        vec![topic(1, 3, false)],
        brokers(&[1, 2, 3]),
        Box::new(restarted_disk.clone()),
    );
    assert_eq!(
        restarted.handle(20_000, Input::Start),
        vec![Effect::Mark(Mark::ControllerRecovered)]
    );
    let effects = allocate(&mut restarted, 20_001, b(3), BrokerEpoch(3), 4);
    assert_eq!(effects, answer(3, 4, block(2_000)));
    assert_eq!(
        persisted_next_producer_id(&restarted_disk),
        ProducerId(3_000)
    );
}

#[test]
fn a_stale_broker_epoch_is_refused_and_uses_up_no_ids() {
    let (mut controller, disk) = three_registered();
    let syncs_before = disk.sync_count();
    let effects = allocate(&mut controller, 100, b(1), BrokerEpoch(99), 3);
    assert_eq!(effects, answer(1, 3, Err(ErrorCode::StaleBrokerEpoch)));
    assert_eq!(
        disk.sync_count(),
        syncs_before,
        "nothing changed, nothing written"
    );
    let effects = allocate(&mut controller, 101, b(1), BrokerEpoch(1), 4);
    assert_eq!(effects, answer(1, 4, block(0)));
}

#[test]
fn an_unregistered_broker_is_refused_with_stale_broker_epoch() {
    // Kafka's `checkBrokerEpoch` answers an unknown broker id with STALE_BROKER_EPOCH too.
    let (mut controller, disk) = started(topic(1, 3, false), 3);
    let effects = allocate(&mut controller, 100, b(2), BrokerEpoch(1), 3);
    assert_eq!(effects, answer(2, 3, Err(ErrorCode::StaleBrokerEpoch)));
    assert_eq!(persisted_next_producer_id(&disk), ProducerId(0));
}

#[test]
fn a_fenced_broker_with_its_current_epoch_still_gets_a_block() {
    // `checkBrokerEpoch` looks at the registration only: a broker whose session expired
    // keeps its epoch until it registers again, and its transaction coordinator keeps
    // serving (as in Kafka).
    let (mut controller, _disk) = three_registered();
    fire_due_timers(&mut controller, SESSION_TIMEOUT_MS);
    assert!(!controller.state.is_unfenced(b(1)));
    let effects = allocate(&mut controller, SESSION_TIMEOUT_MS, b(1), BrokerEpoch(1), 2);
    assert_eq!(effects, answer(1, 2, block(0)));
}

#[test]
fn a_request_naming_another_broker_than_its_sender_is_ignored() {
    let (mut controller, disk) = three_registered();
    let syncs_before = disk.sync_count();
    let effects = allocate_from(
        &mut controller,
        100,
        NodeId::Broker(b(2)),
        b(1),
        BrokerEpoch(1),
        3,
    );
    assert_eq!(effects, vec![]);
    assert_eq!(disk.sync_count(), syncs_before);
}
