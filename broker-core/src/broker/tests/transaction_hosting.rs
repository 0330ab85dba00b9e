//! The broker as the transaction coordinator's host: loading and unloading with leadership
//! of a `__transaction_state` partition, producer ids from the broker's manager, and a
//! transactional InitProducerId answered once its state record is committed.

use super::*;
use crate::protocol::ProducerIdBlock;
use crate::protocol::{AllocateProducerIdsResponse, InitProducerIdRequest, ProducerIdAndEpoch};
use crate::transaction_state_topic::{transaction_state_topic, transaction_state_topic_config};
use crate::{ProducerEpoch, ProducerId};

fn transactions_config() -> BrokerConfig {
    BrokerConfig {
        transaction_state_log_num_partitions: 1,
        transaction_state_log_replication_factor: 1,
        transaction_state_log_min_isr: 1,
        ..config()
    }
}

fn log_partition() -> TopicPartition {
    TopicPartition::new(transaction_state_topic(), crate::ids::PartitionId(0))
}

fn log_state(leader: u32, leader_epoch: u32) -> PartitionState {
    PartitionState {
        partition: log_partition(),
        replicas: brokers(&[leader]),
        leader: Some(BrokerId(leader)),
        leader_epoch: LeaderEpoch(leader_epoch),
        isr: brokers(&[leader]),
        partition_epoch: PartitionEpoch(leader_epoch),
        elr: Vec::new(),
        last_known_elr: Vec::new(),
    }
}

fn init_producer_id(correlation: u64) -> Input {
    Input::Message {
        from: PRODUCER,
        message: Message::InitProducerId(InitProducerIdRequest {
            correlation: CorrelationId(correlation),
            transactional_id: Some("t".into()),
            transaction_timeout_ms: 60_000,
            current: None,
        }),
    }
}

fn init_answer(effects: &[Effect]) -> Result<ProducerIdAndEpoch, ErrorCode> {
    match &sends(effects)[..] {
        [.., (_, Message::InitProducerIdResponse(response))] => response.result,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_leader_of_a_transaction_log_partition_loads_it_and_answers_init_producer_id_once_written() {
    let storage = SharedStorage::default();
    let config = transactions_config();
    let mut broker = Broker::new(
        BrokerId(1),
        1,
        config.clone(),
        vec![transaction_state_topic_config(&config)],
        BugSwitches::default(),
        Box::new(storage.clone()),
    );
    let effects = register(&mut broker, image(1, log_state(1, 3)));
    assert!(events(&effects).contains(&Event::TransactionsLoaded {
        partition: log_partition(),
        coordinator_epoch: LeaderEpoch(3),
        transactions: Vec::new(),
    }));
    // No producer-id block yet: the broker asks the controller and the client retries.
    let effects = broker.handle(1, init_producer_id(1));
    assert_eq!(
        init_answer(&effects),
        Err(ErrorCode::CoordinatorLoadInProgress)
    );
    let correlation = sends(&effects)
        .into_iter()
        .find_map(|(_, message)| match message {
            Message::AllocateProducerIds(request) => Some(request.correlation),
            _ => None,
        })
        .expect("a block request");
    broker.handle(
        2,
        controller(Message::AllocateProducerIdsResponse(
            AllocateProducerIdsResponse {
                correlation,
                result: Ok(ProducerIdBlock {
                    first: ProducerId(1000),
                    length: 1000,
                }),
            },
        )),
    );
    // The only in-sync replica appends: the state record commits in the same step.
    let effects = broker.handle(3, init_producer_id(2));
    assert_eq!(
        init_answer(&effects),
        Ok(ProducerIdAndEpoch {
            producer_id: ProducerId(1000),
            epoch: ProducerEpoch(0)
        })
    );
    assert_eq!(
        broker
            .partition(log_partition())
            .unwrap()
            .log()
            .log_end_offset(),
        Offset(1)
    );
    // Leadership moves away: unloaded, and the id is no longer served here.
    let effects = broker.handle(
        4,
        controller(Message::MetadataUpdate(crate::protocol::MetadataUpdate {
            metadata: image(
                2,
                PartitionState {
                    leader: Some(BrokerId(2)),
                    replicas: brokers(&[1, 2]),
                    isr: brokers(&[2]),
                    ..log_state(1, 4)
                },
            ),
        })),
    );
    assert!(events(&effects)
        .iter()
        .any(|event| matches!(event, Event::TransactionsUnloaded { .. })));
    assert_eq!(
        init_answer(&broker.handle(5, init_producer_id(3))),
        Err(ErrorCode::NotCoordinator)
    );
}
