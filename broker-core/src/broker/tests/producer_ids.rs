//! Producer ids end to end on the broker: InitProducerId answered by brokers whose
//! producer-id managers get their blocks from a real controller, every message between them
//! delivered at once. Covers KIP-730's promises: disjoint blocks per broker, nothing asked
//! before a client wants an id, and no id reused after a broker restarts.

use super::*;
use crate::config::ControllerConfig;
use crate::controller::Controller;
use crate::ids::{ProducerEpoch, ProducerId};
use crate::protocol::{InitProducerIdRequest, InitProducerIdResponse, ProducerIdAndEpoch};
use std::collections::BTreeMap;

/// The most messages one delivery round may cause; a correct cluster settles far sooner.
const DELIVERIES_MAX: usize = 10_000;

/// A controller and brokers 1..=3 passing messages to each other without delay or loss.
struct Cluster {
    now_ms: u64,
    controller: Controller,
    brokers: BTreeMap<BrokerId, Broker>,
    /// Messages the cluster sent to clients, in order.
    to_clients: Vec<(NodeId, Message)>,
    /// Every effect of every broker, in order, with the broker.
    broker_effects: Vec<(BrokerId, Effect)>,
}

impl Cluster {
    fn new() -> Cluster {
        let ids = brokers(&[1, 2, 3]);
        let mut controller = Controller::new(
            ControllerConfig::default(),
            vec![topic()],
            ids.clone(),
            Box::new(MemoryStorage::default()),
        );
        let effects = controller.handle(0, Input::Start);
        let mut cluster = Cluster {
            now_ms: 0,
            controller,
            brokers: BTreeMap::new(),
            to_clients: Vec::new(),
            broker_effects: Vec::new(),
        };
        cluster.deliver(NodeId::Controller, effects);
        for id in ids {
            cluster.start_broker(id, 1);
        }
        cluster
    }

    /// Starts incarnation `incarnation` of broker `id` (on a fresh disk: producer ids live
    /// in memory only) and lets it register.
    fn start_broker(&mut self, id: BrokerId, incarnation: u64) {
        let mut broker = Broker::new(
            id,
            incarnation,
            config(),
            vec![topic()],
            BugSwitches::default(),
            Box::new(MemoryStorage::default()),
        );
        let effects = broker.handle(self.now_ms, Input::Start);
        self.brokers.insert(id, broker);
        self.deliver(NodeId::Broker(id), effects);
    }

    /// Delivers `effects` of `from` and everything they cause, breadth first.
    fn deliver(&mut self, from: NodeId, effects: Vec<Effect>) {
        let mut queue: VecDeque<(NodeId, Effect)> =
            effects.into_iter().map(|effect| (from, effect)).collect();
        let mut delivered = 0;
        while let Some((from, effect)) = queue.pop_front() {
            if let NodeId::Broker(id) = from {
                self.broker_effects.push((id, effect.clone()));
            }
            let Effect::Send { to, message } = effect else {
                continue;
            };
            delivered += 1;
            assert!(delivered < DELIVERIES_MAX, "the cluster does not settle");
            let input = Input::Message { from, message };
            let caused = match to {
                NodeId::Controller => self.controller.handle(self.now_ms, input),
                NodeId::Broker(id) => match self.brokers.get_mut(&id) {
                    Some(broker) => broker.handle(self.now_ms, input),
                    None => Vec::new(),
                },
                client => {
                    let Input::Message { message, .. } = input else {
                        unreachable!()
                    };
                    self.to_clients.push((client, message));
                    Vec::new()
                }
            };
            queue.extend(caused.into_iter().map(|effect| (to, effect)));
        }
    }

    /// A producer's InitProducerId to broker `id`, and the answer.
    fn init_producer_id(
        &mut self,
        id: u32,
        correlation: u64,
        transactional_id: Option<&str>,
    ) -> Result<ProducerIdAndEpoch, ErrorCode> {
        let request = InitProducerIdRequest {
            correlation: CorrelationId(correlation),
            transactional_id: transactional_id.map(str::to_string),
            transaction_timeout_ms: 60_000,
            current: None,
        };
        let effects = self.brokers.get_mut(&BrokerId(id)).unwrap().handle(
            self.now_ms,
            Input::Message {
                from: PRODUCER,
                message: Message::InitProducerId(request),
            },
        );
        self.deliver(NodeId::Broker(BrokerId(id)), effects);
        let answers: Vec<_> = self
            .to_clients
            .drain(..)
            .filter_map(|(to, message)| match message {
                Message::InitProducerIdResponse(InitProducerIdResponse {
                    correlation: answered,
                    result,
                }) if to == PRODUCER && answered == CorrelationId(correlation) => Some(result),
                _ => None,
            })
            .collect();
        assert_eq!(answers.len(), 1, "one answer to correlation {correlation}");
        answers[0]
    }

    /// An idempotent producer's InitProducerId, retried while the broker loads, as clients
    /// do; the id it gets.
    fn producer_id(&mut self, id: u32) -> ProducerId {
        for attempt in 0..2 {
            match self.init_producer_id(id, 100 + attempt, None) {
                Ok(ProducerIdAndEpoch { producer_id, epoch }) => {
                    assert_eq!(epoch, ProducerEpoch(0));
                    return producer_id;
                }
                Err(error) => assert_eq!(error, ErrorCode::CoordinatorLoadInProgress),
            }
        }
        panic!("b{id} has no producer id after its block request was answered");
    }

    /// The blocks each broker received, in order.
    fn blocks(&self) -> Vec<(BrokerId, u64)> {
        self.broker_effects
            .iter()
            .filter_map(|(id, effect)| match effect {
                Effect::Event(Event::ProducerIdBlockReceived { broker, first, .. }) => {
                    assert_eq!(broker, id);
                    Some((*broker, first.0))
                }
                _ => None,
            })
            .collect()
    }

    fn allocation_requests(&self) -> usize {
        self.broker_effects
            .iter()
            .filter(|(_, effect)| {
                matches!(
                    effect,
                    Effect::Send {
                        message: Message::AllocateProducerIds(_),
                        ..
                    }
                )
            })
            .count()
    }
}

#[test]
fn no_broker_asks_for_a_block_before_a_client_wants_a_producer_id() {
    let mut cluster = Cluster::new();
    for id in brokers(&[1, 2, 3]) {
        let broker = cluster.brokers.get_mut(&id).unwrap();
        let effects = run_until(broker, 120_000);
        assert!(
            !effects.iter().any(|effect| matches!(
                effect,
                Effect::Send {
                    message: Message::AllocateProducerIds(_),
                    ..
                }
            )),
            "{id}"
        );
    }
    assert_eq!(cluster.allocation_requests(), 0);
}

#[test]
fn a_broker_without_a_block_answers_load_in_progress_then_a_fresh_id_with_epoch_0() {
    let mut cluster = Cluster::new();
    assert_eq!(
        cluster.init_producer_id(1, 1, None),
        Err(ErrorCode::CoordinatorLoadInProgress)
    );
    let marks: Vec<Mark> = cluster
        .broker_effects
        .iter()
        .filter_map(|(_, effect)| match effect {
            Effect::Mark(mark) => Some(*mark),
            _ => None,
        })
        .collect();
    assert!(
        marks.contains(&Mark::InitProducerIdLoadInProgress),
        "{marks:?}"
    );
    assert_eq!(cluster.blocks(), vec![(BrokerId(1), 0)]);
    let fresh = |producer_id| {
        Ok(ProducerIdAndEpoch {
            producer_id: ProducerId(producer_id),
            epoch: ProducerEpoch(0),
        })
    };
    assert_eq!(cluster.init_producer_id(1, 2, None), fresh(0));
    assert_eq!(cluster.init_producer_id(1, 3, None), fresh(1));
    assert_eq!(cluster.allocation_requests(), 1);
}

#[test]
fn an_idempotent_producer_gets_a_fresh_id_whatever_id_and_epoch_it_names() {
    let mut cluster = Cluster::new();
    cluster.producer_id(1);
    let effects = cluster.brokers.get_mut(&BrokerId(1)).unwrap().handle(
        0,
        Input::Message {
            from: PRODUCER,
            message: Message::InitProducerId(InitProducerIdRequest {
                correlation: CorrelationId(7),
                transactional_id: None,
                transaction_timeout_ms: 60_000,
                current: Some(ProducerIdAndEpoch {
                    producer_id: ProducerId(0),
                    epoch: ProducerEpoch(4),
                }),
            }),
        },
    );
    assert_eq!(
        sends(&effects),
        vec![(
            PRODUCER,
            Message::InitProducerIdResponse(InitProducerIdResponse {
                correlation: CorrelationId(7),
                result: Ok(ProducerIdAndEpoch {
                    producer_id: ProducerId(1),
                    epoch: ProducerEpoch(0),
                }),
            })
        )]
    );
}

#[test]
fn two_brokers_hand_out_ids_from_disjoint_blocks() {
    let mut cluster = Cluster::new();
    assert_eq!(cluster.producer_id(2), ProducerId(0));
    assert_eq!(cluster.producer_id(1), ProducerId(1_000));
    assert_eq!(cluster.producer_id(2), ProducerId(1));
    assert_eq!(cluster.producer_id(3), ProducerId(2_000));
    assert_eq!(
        cluster.blocks(),
        vec![(BrokerId(2), 0), (BrokerId(1), 1_000), (BrokerId(3), 2_000)]
    );
}

#[test]
fn a_busy_broker_prefetches_and_moves_to_its_next_block_without_a_pause() {
    let mut cluster = Cluster::new();
    cluster.producer_id(1);
    cluster.producer_id(2);
    let handed_out: Vec<ProducerId> = (0..1_000)
        .map(|index| {
            let answer = cluster.init_producer_id(1, 1_000 + index, None);
            answer.expect("never load in progress").producer_id
        })
        .collect();
    assert_eq!(handed_out[998], ProducerId(999));
    // The 1001st id: the first of the block prefetched at 90%, after broker 2's.
    assert_eq!(handed_out[999], ProducerId(2_000));
    assert_eq!(
        cluster.blocks(),
        vec![(BrokerId(1), 0), (BrokerId(2), 1_000), (BrokerId(1), 2_000)]
    );
}

#[test]
fn a_restarted_broker_asks_for_a_new_block_and_never_hands_out_its_old_ids() {
    let mut cluster = Cluster::new();
    assert_eq!(cluster.producer_id(1), ProducerId(0));
    assert_eq!(cluster.producer_id(1), ProducerId(1));
    // Broker 1 crashes; once its session expired it registers again as a new process.
    cluster.brokers.remove(&BrokerId(1));
    cluster.now_ms = ControllerConfig::default().broker_session_timeout_ms;
    let effects = fire_due_timers(&mut cluster.controller, cluster.now_ms);
    cluster.deliver(NodeId::Controller, effects);
    cluster.start_broker(BrokerId(1), 2);
    assert!(cluster.brokers[&BrokerId(1)].broker_epoch().is_some());

    assert_eq!(
        cluster.init_producer_id(1, 1, None),
        Err(ErrorCode::CoordinatorLoadInProgress)
    );
    assert_eq!(cluster.producer_id(1), ProducerId(1_000));
    assert_eq!(
        cluster.blocks(),
        vec![(BrokerId(1), 0), (BrokerId(1), 1_000)]
    );
}

/// Pins the answer until the transaction coordinator (issue 10's next phase) serves
/// transactional ids: that phase must change this test.
#[test]
fn a_transactional_init_producer_id_to_a_broker_that_does_not_coordinate_the_id_is_answered_not_coordinator(
) {
    let mut cluster = Cluster::new();
    assert_eq!(
        cluster.init_producer_id(1, 1, Some("payments")),
        Err(ErrorCode::NotCoordinator)
    );
    assert_eq!(cluster.allocation_requests(), 0, "no id was generated");
}

/// The AllocateProducerIds requests among `effects`, by correlation.
fn allocations(effects: &[Effect]) -> Vec<CorrelationId> {
    sends(effects)
        .into_iter()
        .filter_map(|(to, message)| match message {
            Message::AllocateProducerIds(request) if to == NodeId::Controller => {
                assert_eq!(request.broker_epoch, BrokerEpoch(7));
                Some(request.correlation)
            }
            _ => None,
        })
        .collect()
}

/// Broker 1, registered with epoch 7, after one InitProducerId sent its first block request.
fn asking_broker() -> (Broker, CorrelationId) {
    let (mut broker, _) = leader(&[1, 2, 3], BugSwitches::default());
    let effects = broker.handle(
        100,
        Input::Message {
            from: PRODUCER,
            message: Message::InitProducerId(InitProducerIdRequest {
                correlation: CorrelationId(1),
                transactional_id: None,
                transaction_timeout_ms: 60_000,
                current: None,
            }),
        },
    );
    let asked = allocations(&effects);
    assert_eq!(asked.len(), 1);
    (broker, asked[0])
}

#[test]
fn a_refused_block_request_is_sent_again_by_the_brokers_timer_after_the_backoff() {
    use super::producer_id_manager::PRODUCER_ID_RETRY_BACKOFF_MS;
    let (mut broker, correlation) = asking_broker();
    broker.handle(
        110,
        controller(Message::AllocateProducerIdsResponse(
            crate::protocol::AllocateProducerIdsResponse {
                correlation,
                result: Err(ErrorCode::StaleBrokerEpoch),
            },
        )),
    );
    let retry_ms = 110 + PRODUCER_ID_RETRY_BACKOFF_MS;
    assert_eq!(allocations(&run_until(&mut broker, retry_ms - 1)), vec![]);
    let again = allocations(&run_until(&mut broker, retry_ms));
    assert_eq!(again.len(), 1);
    assert_ne!(again[0], correlation);
}

#[test]
fn a_block_request_lost_with_the_controller_connection_is_sent_again_after_the_reconnect_backoff() {
    let (mut broker, _) = asking_broker();
    broker.handle(
        120,
        Input::ConnectionClosed {
            peer: NodeId::Controller,
        },
    );
    let retry_ms = 120 + config().reconnect_backoff_ms;
    assert_eq!(allocations(&run_until(&mut broker, retry_ms - 1)), vec![]);
    assert_eq!(allocations(&run_until(&mut broker, retry_ms)).len(), 1);
}

#[test]
fn an_unanswered_block_request_is_sent_again_after_the_controller_request_timeout() {
    use super::producer_id_manager::CONTROLLER_REQUEST_TIMEOUT_MS;
    let (mut broker, _) = asking_broker();
    let retry_ms = 100 + CONTROLLER_REQUEST_TIMEOUT_MS;
    assert_eq!(allocations(&run_until(&mut broker, retry_ms - 1)), vec![]);
    assert_eq!(allocations(&run_until(&mut broker, retry_ms)).len(), 1);
}
