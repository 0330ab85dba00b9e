//! The transaction coordinator's handler tests: a coordinator loaded for the one
//! `__transaction_state` partition, its appends committed or failed by hand, and the exact
//! answers, markers and state changes each request makes.

use super::*;
use crate::broker::producer_id_manager::ProducerIdContext;
use crate::ids::{ClientId, Offset, PartitionEpoch, PartitionId, ProducerEpoch};
use crate::log::record_batch::ControlRecordType;
use crate::metadata::PartitionState;
use crate::partition::LocalCompletion;
use crate::protocol::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, AllocateProducerIdsResponse, EndTxnRequest,
    InitProducerIdRequest, ProducerIdAndEpoch, ProducerIdBlock, WriteTxnMarkersResponse,
};
use crate::record::Record;
use crate::topic::TopicName;
use crate::transaction_state_topic::transaction_state_topic;

const PRODUCER: NodeId = NodeId::Producer(ClientId(1));
const LEADER: NodeId = NodeId::Broker(BrokerId(3));

fn events_partition(index: u32) -> TopicPartition {
    TopicPartition::new(TopicName::from_static("events"), PartitionId(index))
}

fn log_partition() -> TopicPartition {
    TopicPartition::new(transaction_state_topic(), PartitionId(0))
}

fn id() -> TransactionalId {
    TransactionalId("t".into())
}

/// A coordinator of partition 0 of a one-partition transaction log, with producer ids from
/// 1000, and `events-0` and `events-1` led by broker 3.
struct Harness {
    coordinator: TransactionCoordinator,
    config: BrokerConfig,
    bugs: BugSwitches,
    metadata: MetadataImage,
    producer_ids: ProducerIdManager,
    next_correlation: u64,
    timers: TimerTable<BrokerTimer>,
    now_ms: u64,
    /// Every record the coordinator's committed appends wrote, for a failover.
    log: Vec<Record>,
}

impl Harness {
    fn new(bugs: BugSwitches) -> Harness {
        let mut harness = Harness {
            coordinator: TransactionCoordinator::default(),
            config: BrokerConfig {
                transaction_state_log_num_partitions: 1,
                ..BrokerConfig::default()
            },
            bugs,
            metadata: MetadataImage::default(),
            producer_ids: ProducerIdManager::default(),
            next_correlation: 0,
            timers: TimerTable::default(),
            now_ms: 1_000,
            log: Vec::new(),
        };
        for index in 0..2 {
            harness.set_leader(events_partition(index), Some(3));
        }
        harness.prime_producer_ids();
        harness.run(|coordinator, context| {
            coordinator.load(context, log_partition(), LeaderEpoch(4), &[])
        });
        harness
    }

    fn set_leader(&mut self, partition: TopicPartition, leader: Option<u32>) {
        self.metadata.partitions.insert(
            partition,
            PartitionState {
                partition,
                replicas: vec![BrokerId(3)],
                leader: leader.map(BrokerId),
                leader_epoch: LeaderEpoch(1),
                isr: vec![BrokerId(3)],
                partition_epoch: PartitionEpoch(1),
                elr: Vec::new(),
                last_known_elr: Vec::new(),
            },
        );
    }

    /// Gives the producer-id manager a block starting at 1000.
    fn prime_producer_ids(&mut self) {
        let mut effects = Vec::new();
        let mut context = ProducerIdContext {
            now_ms: self.now_ms,
            broker: BrokerId(1),
            broker_epoch: Some(crate::ids::BrokerEpoch(1)),
            reconnect_backoff_ms: 50,
            next_correlation: &mut self.next_correlation,
            timers: &mut self.timers,
            effects: &mut effects,
        };
        let _ = self.producer_ids.generate_producer_id(&mut context);
        let correlation = CorrelationId(*context.next_correlation);
        self.producer_ids.on_allocate_producer_ids_response(
            &mut context,
            &AllocateProducerIdsResponse {
                correlation,
                result: Ok(ProducerIdBlock {
                    first: ProducerId(1000),
                    length: 1000,
                }),
            },
        );
    }

    fn run<T>(
        &mut self,
        act: impl FnOnce(&mut TransactionCoordinator, &mut TransactionContext<'_>) -> T,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut context = TransactionContext {
            now_ms: self.now_ms,
            broker: BrokerId(1),
            broker_epoch: Some(crate::ids::BrokerEpoch(1)),
            config: &self.config,
            bugs: self.bugs,
            metadata: &self.metadata,
            producer_ids: &mut self.producer_ids,
            next_correlation: &mut self.next_correlation,
            timers: &mut self.timers,
            effects: &mut effects,
        };
        act(&mut self.coordinator, &mut context);
        effects
    }

    fn request(&mut self, from: NodeId, message: Message) -> Vec<Effect> {
        self.run(|coordinator, context| coordinator.handle_request(context, from, message))
    }

    /// Ends every append asked for with `result`, in order; the effects of all.
    fn end_appends(&mut self, result: Result<(), ErrorCode>) -> Vec<Effect> {
        let mut effects = Vec::new();
        loop {
            let appends = self.coordinator.take_appends();
            if appends.is_empty() {
                return effects;
            }
            for (append, _) in appends {
                let offset = Offset(self.log.len() as u64);
                if result.is_ok() {
                    for record in &append.records {
                        self.log
                            .push(Record::stamped(record, offset, LeaderEpoch(4)));
                    }
                }
                let completion = LocalCompletion {
                    partition: append.partition,
                    waiter: append.waiter,
                    result: result.map(|()| offset),
                };
                effects.extend(self.run(|coordinator, context| {
                    coordinator.on_append_completed(context, completion)
                }));
            }
            if result.is_err() {
                return effects;
            }
        }
    }

    fn commit_appends(&mut self) -> Vec<Effect> {
        self.end_appends(Ok(()))
    }

    fn init(&mut self, current: Option<ProducerIdAndEpoch>) -> Vec<Effect> {
        self.request(
            PRODUCER,
            Message::InitProducerId(InitProducerIdRequest {
                correlation: CorrelationId(1),
                transactional_id: Some("t".into()),
                transaction_timeout_ms: 60_000,
                current,
            }),
        )
    }

    /// InitProducerId committed: the id and epoch handed out.
    fn initialised(&mut self) -> ProducerIdAndEpoch {
        self.init(None);
        let effects = self.commit_appends();
        match &sent(&effects)[..] {
            [(_, Message::InitProducerIdResponse(response))] => response.result.unwrap(),
            other => panic!("{other:?}"),
        }
    }

    fn add(&mut self, producer: ProducerIdAndEpoch, partitions: &[TopicPartition]) -> Vec<Effect> {
        self.request(
            PRODUCER,
            Message::AddPartitionsToTxn(AddPartitionsToTxnRequest {
                correlation: CorrelationId(2),
                transactional_id: id(),
                producer,
                partitions: partitions.to_vec(),
                verify_only: false,
            }),
        )
    }

    fn verify(&mut self, producer: ProducerIdAndEpoch, partition: TopicPartition) -> Vec<Effect> {
        self.request(
            LEADER,
            Message::AddPartitionsToTxn(AddPartitionsToTxnRequest {
                correlation: CorrelationId(5),
                transactional_id: id(),
                producer,
                partitions: vec![partition],
                verify_only: true,
            }),
        )
    }

    fn end(&mut self, producer: ProducerIdAndEpoch, committed: bool) -> Vec<Effect> {
        self.request(
            PRODUCER,
            Message::EndTxn(EndTxnRequest {
                correlation: CorrelationId(3),
                transactional_id: id(),
                producer,
                committed,
            }),
        )
    }

    /// A transaction open on `events-0` and `events-1`.
    fn ongoing(&mut self) -> ProducerIdAndEpoch {
        let producer = self.initialised();
        self.add(producer, &[events_partition(0), events_partition(1)]);
        self.commit_appends();
        producer
    }

    fn state(&self) -> TransactionState {
        self.coordinator.transaction(&id()).unwrap().state
    }

    fn answer_markers(
        &mut self,
        request: &WriteTxnMarkersRequest,
        result: Result<(), ErrorCode>,
    ) -> Vec<Effect> {
        let response = WriteTxnMarkersResponse {
            correlation: request.correlation,
            markers: request
                .markers
                .iter()
                .map(|marker| {
                    (
                        marker.producer_id,
                        marker
                            .partitions
                            .iter()
                            .map(|partition| (*partition, result))
                            .collect(),
                    )
                })
                .collect(),
        };
        self.request(LEADER, Message::WriteTxnMarkersResponse(response))
    }

    fn fire(&mut self, timer: TransactionTimer) -> Vec<Effect> {
        self.now_ms = self
            .timers
            .deadline_ms(BrokerTimer::Transaction(timer))
            .expect("timer set");
        self.timers.cancel(BrokerTimer::Transaction(timer));
        self.run(|coordinator, context| coordinator.on_timer(context, timer))
    }
}

use crate::protocol::WriteTxnMarkersRequest;

fn sent(effects: &[Effect]) -> Vec<(NodeId, Message)> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Send { to, message } => Some((*to, message.clone())),
            _ => None,
        })
        .collect()
}

fn marks(effects: &[Effect]) -> Vec<Mark> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Mark(mark) => Some(*mark),
            _ => None,
        })
        .collect()
}

fn marker_requests(effects: &[Effect]) -> Vec<WriteTxnMarkersRequest> {
    sent(effects)
        .into_iter()
        .filter_map(|(_, message)| match message {
            Message::WriteTxnMarkers(request) => Some(request),
            _ => None,
        })
        .collect()
}

fn end_result(effects: &[Effect]) -> Result<ProducerIdAndEpoch, ErrorCode> {
    sent(effects)
        .into_iter()
        .find_map(|(_, message)| match message {
            Message::EndTxnResponse(response) => Some(response.result),
            _ => None,
        })
        .expect("an EndTxn answer")
}

fn init_result(effects: &[Effect]) -> Result<ProducerIdAndEpoch, ErrorCode> {
    sent(effects)
        .into_iter()
        .find_map(|(_, message)| match message {
            Message::InitProducerIdResponse(response) => Some(response.result),
            _ => None,
        })
        .expect("an InitProducerId answer")
}

fn add_error(effects: &[Effect]) -> Option<ErrorCode> {
    sent(effects)
        .into_iter()
        .find_map(|(_, message)| match message {
            Message::AddPartitionsToTxnResponse(response) => Some(response.error),
            _ => None,
        })
        .expect("an AddPartitionsToTxn answer")
}

fn epoch(producer: ProducerIdAndEpoch, epoch: u16) -> ProducerIdAndEpoch {
    ProducerIdAndEpoch {
        epoch: ProducerEpoch(epoch),
        ..producer
    }
}

#[test]
fn a_new_transactional_id_gets_a_fresh_producer_id_at_epoch_zero_once_it_is_written() {
    let mut harness = Harness::new(BugSwitches::default());
    let effects = harness.init(None);
    assert!(sent(&effects).is_empty(), "answered only once written");
    let effects = harness.commit_appends();
    assert_eq!(
        init_result(&effects),
        Ok(ProducerIdAndEpoch {
            producer_id: ProducerId(1000),
            epoch: ProducerEpoch(0)
        })
    );
    assert_eq!(harness.state(), TransactionState::Empty);
}

#[test]
fn a_known_transactional_id_keeps_its_producer_id_and_bumps_its_epoch() {
    let mut harness = Harness::new(BugSwitches::default());
    let first = harness.initialised();
    let second = harness.initialised();
    assert_eq!(second, epoch(first, 1));
    // The first instance is fenced.
    let effects = harness.add(first, &[events_partition(0)]);
    assert_eq!(add_error(&effects), Some(ErrorCode::ProducerFenced));
}

#[test]
fn a_transaction_timeout_above_the_maximum_is_refused() {
    let mut harness = Harness::new(BugSwitches::default());
    let effects = harness.request(
        PRODUCER,
        Message::InitProducerId(InitProducerIdRequest {
            correlation: CorrelationId(1),
            transactional_id: Some("t".into()),
            transaction_timeout_ms: 900_001,
            current: None,
        }),
    );
    assert_eq!(
        init_result(&effects),
        Err(ErrorCode::InvalidTransactionTimeout)
    );
}

#[test]
fn a_new_instance_fences_the_open_transaction_aborts_it_and_retries_for_the_bumped_epoch() {
    let mut harness = Harness::new(BugSwitches::default());
    let zombie = harness.ongoing();
    let effects = harness.init(None);
    assert!(marks(&effects).contains(&Mark::TransactionProducerFenced));
    // The fencing's bump takes effect at once: the zombie is refused before anything is
    // written.
    let refused = harness.add(zombie, &[events_partition(0)]);
    assert_eq!(add_error(&refused), Some(ErrorCode::ProducerFenced));
    let effects = harness.commit_appends();
    assert_eq!(
        init_result(&effects),
        Err(ErrorCode::ConcurrentTransactions)
    );
    assert_eq!(harness.state(), TransactionState::PrepareAbort);
    // Fenced (+1), then the abort's own bump under transactions version 2 (+1).
    let requests = marker_requests(&effects);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].markers[0].result, ControlRecordType::Abort);
    assert_eq!(requests[0].markers[0].producer_epoch, ProducerEpoch(2));
    assert_eq!(requests[0].markers[0].coordinator_epoch, 4);
    // A retry while the markers go out is told to wait.
    assert_eq!(
        init_result(&harness.init(None)),
        Err(ErrorCode::ConcurrentTransactions)
    );
    harness.answer_markers(&requests[0], Ok(()));
    harness.commit_appends();
    assert_eq!(harness.state(), TransactionState::CompleteAbort);
    assert_eq!(harness.initialised(), epoch(zombie, 3));
}

#[test]
fn adding_partitions_opens_the_transaction_and_adding_offsets_adds_the_groups_offsets_partition() {
    let mut harness = Harness::new(BugSwitches::default());
    let producer = harness.initialised();
    harness.add(producer, &[events_partition(0)]);
    let effects = harness.commit_appends();
    assert_eq!(add_error(&effects), None);
    assert_eq!(harness.state(), TransactionState::Ongoing);
    // Already in the transaction: answered at once, nothing written.
    let effects = harness.add(producer, &[events_partition(0)]);
    assert_eq!(add_error(&effects), None);
    assert!(harness.coordinator.take_appends().is_empty());
    harness.request(
        PRODUCER,
        Message::AddOffsetsToTxn(AddOffsetsToTxnRequest {
            correlation: CorrelationId(4),
            transactional_id: id(),
            producer,
            group: crate::ids::GroupId("g".into()),
        }),
    );
    let effects = harness.commit_appends();
    assert!(matches!(&sent(&effects)[..],
        [(_, Message::AddOffsetsToTxnResponse(response))] if response.result == Ok(())));
    let offsets = crate::offsets_topic::group_partition(&crate::ids::GroupId("g".into()), 50);
    assert!(harness
        .coordinator
        .transaction(&id())
        .unwrap()
        .partitions
        .contains(&offsets));
}

#[test]
fn a_commit_is_answered_with_the_bumped_epoch_then_its_markers_complete_it() {
    let mut harness = Harness::new(BugSwitches::default());
    let producer = harness.ongoing();
    assert!(sent(&harness.end(producer, true)).is_empty());
    let effects = harness.commit_appends();
    assert_eq!(end_result(&effects), Ok(epoch(producer, 1)));
    assert_eq!(harness.state(), TransactionState::PrepareCommit);
    let requests = marker_requests(&effects);
    assert_eq!(requests.len(), 1, "one request per leader");
    assert_eq!(
        requests[0].markers[0].partitions,
        vec![events_partition(0), events_partition(1)]
    );
    assert_eq!(requests[0].markers[0].result, ControlRecordType::Commit);
    harness.answer_markers(&requests[0], Ok(()));
    harness.commit_appends();
    assert_eq!(harness.state(), TransactionState::CompleteCommit);
    // A retry of the EndTxn just completed carries the epoch before the bump: success.
    assert_eq!(
        end_result(&harness.end(producer, true)),
        Ok(epoch(producer, 1))
    );
    // An abort under that epoch does not fit the committed transaction (Kafka answers
    // INVALID_TXN_STATE), and the epoch after next is fenced.
    assert_eq!(
        end_result(&harness.end(producer, false)),
        Err(ErrorCode::InvalidTxnState)
    );
    assert_eq!(
        end_result(&harness.end(epoch(producer, 5), true)),
        Err(ErrorCode::ProducerFenced)
    );
}

#[test]
fn without_the_epoch_bump_per_transaction_the_epoch_stays_and_a_late_end_txn_ends_the_next_one() {
    let bugs = BugSwitches {
        no_epoch_bump_per_transaction: true,
        ..BugSwitches::default()
    };
    let mut harness = Harness::new(bugs);
    let producer = harness.ongoing();
    harness.end(producer, true);
    let effects = harness.commit_appends();
    assert_eq!(end_result(&effects), Ok(producer));
    harness.answer_markers(&marker_requests(&effects)[0], Ok(()));
    harness.commit_appends();
    // The next transaction opens under the same epoch...
    harness.add(producer, &[events_partition(0)]);
    harness.commit_appends();
    // ...and a late abort meant for the previous one ends it (KAFKA-17754).
    harness.end(producer, false);
    harness.commit_appends();
    assert_eq!(harness.state(), TransactionState::PrepareAbort);
}

#[test]
fn markers_refused_lost_or_unanswered_go_again_until_every_partition_answered() {
    let mut harness = Harness::new(BugSwitches::default());
    let producer = harness.ongoing();
    harness.end(producer, false);
    let effects = harness.commit_appends();
    let first = marker_requests(&effects).remove(0);
    // NOT_LEADER_OR_FOLLOWER: sent again after the backoff.
    let effects = harness.answer_markers(&first, Err(ErrorCode::NotLeaderOrFollower));
    assert!(marks(&effects).contains(&Mark::TransactionMarkersRetried));
    let second = marker_requests(&harness.fire(TransactionTimer::MarkerRetry)).remove(0);
    assert_ne!(second.correlation, first.correlation);
    // The connection closes: sent again.
    let effects = harness
        .run(|coordinator, context| coordinator.on_broker_connection_closed(context, BrokerId(3)));
    assert!(marks(&effects).contains(&Mark::TransactionMarkersRetried));
    let third = marker_requests(&harness.fire(TransactionTimer::MarkerRetry)).remove(0);
    // No answer within request.timeout.ms: sent again.
    harness.fire(TransactionTimer::MarkerRequestTimeout(third.correlation.0));
    let fourth = marker_requests(&harness.fire(TransactionTimer::MarkerRetry)).remove(0);
    assert_eq!(harness.state(), TransactionState::PrepareAbort);
    // A late answer to a request given up on changes nothing.
    harness.answer_markers(&third, Ok(()));
    assert!(harness.coordinator.take_appends().is_empty());
    harness.answer_markers(&fourth, Ok(()));
    harness.commit_appends();
    assert_eq!(harness.state(), TransactionState::CompleteAbort);
}

#[test]
fn a_partition_without_a_leader_gets_its_marker_once_it_has_one() {
    let mut harness = Harness::new(BugSwitches::default());
    let producer = harness.ongoing();
    harness.set_leader(events_partition(1), None);
    harness.end(producer, true);
    let effects = harness.commit_appends();
    let first = marker_requests(&effects).remove(0);
    assert_eq!(first.markers[0].partitions, vec![events_partition(0)]);
    harness.answer_markers(&first, Ok(()));
    assert!(
        harness.coordinator.take_appends().is_empty(),
        "not complete yet"
    );
    harness.set_leader(events_partition(1), Some(3));
    let second = marker_requests(&harness.fire(TransactionTimer::MarkerRetry)).remove(0);
    assert_eq!(second.markers[0].partitions, vec![events_partition(1)]);
    harness.answer_markers(&second, Ok(()));
    harness.commit_appends();
    assert_eq!(harness.state(), TransactionState::CompleteCommit);
}

#[test]
fn a_transaction_open_past_its_timeout_is_aborted_with_an_epoch_bump() {
    let mut harness = Harness::new(BugSwitches::default());
    let producer = harness.ongoing();
    // The first cleanup comes before the 60 s timeout: nothing.
    let effects = harness.fire(TransactionTimer::AbortTimedOutTransactions);
    assert!(harness.coordinator.take_appends().is_empty(), "{effects:?}");
    // The cleanup runs every 10 s; the transaction started at 1 s with a 60 s timeout.
    let mut cleanups = 1;
    loop {
        let effects = harness.fire(TransactionTimer::AbortTimedOutTransactions);
        cleanups += 1;
        if marks(&effects).contains(&Mark::TransactionTimedOutAborted) {
            break;
        }
        assert!(harness.coordinator.take_appends().is_empty());
        assert!(cleanups < 10, "never aborted");
    }
    assert_eq!((cleanups, harness.now_ms), (7, 71_000));
    let effects = harness.commit_appends();
    assert_eq!(harness.state(), TransactionState::PrepareAbort);
    assert_eq!(
        marker_requests(&effects)[0].markers[0].producer_epoch,
        epoch(producer, 2).epoch
    );
    // The producer that left it open is told to wait while the abort's markers go out
    // (KAFKA-18464), then fenced.
    assert_eq!(
        end_result(&harness.end(producer, true)),
        Err(ErrorCode::ConcurrentTransactions)
    );
    harness.answer_markers(&marker_requests(&effects)[0], Ok(()));
    harness.commit_appends();
    assert_eq!(
        end_result(&harness.end(producer, true)),
        Err(ErrorCode::ProducerFenced)
    );
}

#[test]
fn a_coordinator_that_loads_a_prepared_commit_writes_its_markers_and_completes_it() {
    let mut old = Harness::new(BugSwitches::default());
    let producer = old.ongoing();
    old.end(producer, true);
    old.commit_appends();
    assert_eq!(old.state(), TransactionState::PrepareCommit);
    // The old coordinator fails before any marker is acknowledged; a new one loads the log.
    let mut new = Harness::new(BugSwitches::default());
    new.coordinator = TransactionCoordinator::default();
    let log = old.log.clone();
    let effects = new.run(|coordinator, context| {
        coordinator.load(context, log_partition(), LeaderEpoch(5), &log)
    });
    assert!(marks(&effects).contains(&Mark::TransactionsLoadedFromLog));
    assert!(marks(&effects).contains(&Mark::TransactionCompletedAfterLoad));
    let requests = marker_requests(&effects);
    assert_eq!(requests[0].markers[0].result, ControlRecordType::Commit);
    assert_eq!(requests[0].markers[0].coordinator_epoch, 5);
    new.answer_markers(&requests[0], Ok(()));
    new.commit_appends();
    assert_eq!(new.state(), TransactionState::CompleteCommit);
}

#[test]
fn a_leaders_verification_answers_per_partition_whether_the_transaction_holds_it() {
    let mut harness = Harness::new(BugSwitches::default());
    let producer = harness.initialised();
    harness.add(producer, &[events_partition(0)]);
    harness.commit_appends();
    let answer = |effects: &[Effect]| match &sent(effects)[..] {
        [(to, Message::AddPartitionsToTxnResponse(response))] => {
            assert_eq!(*to, LEADER);
            (response.error, response.partitions.clone())
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        answer(&harness.verify(producer, events_partition(0))),
        (None, vec![(events_partition(0), Ok(()))])
    );
    assert_eq!(
        answer(&harness.verify(producer, events_partition(1))),
        (
            None,
            vec![(events_partition(1), Err(ErrorCode::TransactionAbortable))]
        )
    );
    assert_eq!(
        answer(&harness.verify(epoch(producer, 7), events_partition(0))),
        (Some(ErrorCode::ProducerFenced), Vec::new())
    );
    assert!(
        harness.coordinator.take_appends().is_empty(),
        "nothing written"
    );
}

#[test]
fn without_producer_fencing_a_new_instance_gets_the_same_epoch_and_the_zombie_keeps_writing() {
    let bugs = BugSwitches {
        no_producer_fencing: true,
        ..BugSwitches::default()
    };
    let mut harness = Harness::new(bugs);
    let zombie = harness.ongoing();
    let effects = harness.init(None);
    assert_eq!(init_result(&effects), Ok(zombie));
    assert_eq!(harness.state(), TransactionState::Ongoing);
    let effects = harness.add(zombie, &[events_partition(1)]);
    assert_eq!(add_error(&effects), None);
}

#[test]
fn a_failed_state_write_is_answered_and_leaves_the_state_as_it_was() {
    let mut harness = Harness::new(BugSwitches::default());
    let producer = harness.initialised();
    harness.add(producer, &[events_partition(0)]);
    let effects = harness.end_appends(Err(ErrorCode::NotEnoughReplicas));
    assert_eq!(
        add_error(&effects),
        Some(ErrorCode::CoordinatorNotAvailable)
    );
    assert_eq!(harness.state(), TransactionState::Empty);
    harness.add(producer, &[events_partition(0)]);
    harness.commit_appends();
    assert_eq!(harness.state(), TransactionState::Ongoing);
}

#[test]
fn unloading_answers_pending_writes_not_coordinator_and_stops_serving() {
    let mut harness = Harness::new(BugSwitches::default());
    harness.init(None);
    let effects = harness.run(|coordinator, context| coordinator.unload(context, log_partition()));
    assert_eq!(init_result(&effects), Err(ErrorCode::NotCoordinator));
    assert_eq!(
        init_result(&harness.init(None)),
        Err(ErrorCode::NotCoordinator)
    );
}

#[test]
fn a_partition_leaders_add_without_verify_only_adds_the_partition_under_transactions_version_2() {
    let mut harness = Harness::new(BugSwitches::default());
    let producer = harness.initialised();
    harness.request(
        LEADER,
        Message::AddPartitionsToTxn(AddPartitionsToTxnRequest {
            correlation: CorrelationId(6),
            transactional_id: id(),
            producer,
            partitions: vec![events_partition(1)],
            verify_only: false,
        }),
    );
    let effects = harness.commit_appends();
    assert!(matches!(&sent(&effects)[..],
        [(to, Message::AddPartitionsToTxnResponse(response))]
            if *to == LEADER && response.partitions == vec![(events_partition(1), Ok(()))]));
    assert_eq!(harness.state(), TransactionState::Ongoing);
}

#[test]
fn kip_360_a_producer_naming_its_current_epoch_bumps_it_a_retry_gets_it_again_and_a_stranger_is_fenced(
) {
    let mut harness = Harness::new(BugSwitches::default());
    let first = harness.initialised();
    harness.init(Some(first));
    let bumped = init_result(&harness.commit_appends());
    assert_eq!(bumped, Ok(epoch(first, 1)));
    // The answer was lost: the retry still names epoch 0, the last epoch, and gets epoch 1
    // again without another bump.
    harness.init(Some(first));
    assert_eq!(init_result(&harness.commit_appends()), Ok(epoch(first, 1)));
    // Another producer id is fenced.
    let stranger = ProducerIdAndEpoch {
        producer_id: ProducerId(7),
        epoch: ProducerEpoch(0),
    };
    assert_eq!(
        init_result(&harness.init(Some(stranger))),
        Err(ErrorCode::ProducerFenced)
    );
}

#[test]
fn version_2_an_abort_at_the_current_epoch_with_no_transaction_ongoing_bumps_the_epoch() {
    let mut harness = Harness::new(BugSwitches::default());
    let producer = harness.ongoing();
    harness.end(producer, true);
    let effects = harness.commit_appends();
    harness.answer_markers(&marker_requests(&effects)[0], Ok(()));
    harness.commit_appends();
    assert_eq!(harness.state(), TransactionState::CompleteCommit);
    let current = epoch(producer, 1);
    // The next transaction's first write never reached the coordinator (its leader or the
    // coordinator failed): the producer aborts at the current epoch. Kafka 4.x writes an
    // empty PrepareAbort and bumps the epoch; no marker is needed.
    assert_eq!(
        end_result(&harness.end(current, true)),
        Err(ErrorCode::InvalidTxnState),
        "a commit of nothing is refused"
    );
    assert!(sent(&harness.end(current, false)).is_empty());
    let effects = harness.commit_appends();
    assert_eq!(end_result(&effects), Ok(epoch(producer, 2)));
    assert!(marker_requests(&effects).is_empty());
    harness.commit_appends();
    assert_eq!(harness.state(), TransactionState::CompleteAbort);
    // Its retry is answered as it was; a commit under that epoch is refused.
    assert_eq!(
        end_result(&harness.end(current, false)),
        Ok(epoch(producer, 2))
    );
    assert_eq!(
        end_result(&harness.end(current, true)),
        Err(ErrorCode::InvalidTxnState)
    );
}

#[test]
fn version_2_an_end_while_the_previous_ends_markers_go_out_waits_instead_of_being_fenced() {
    let mut harness = Harness::new(BugSwitches::default());
    let producer = harness.ongoing();
    harness.end(producer, false);
    let effects = harness.commit_appends();
    assert_eq!(end_result(&effects), Ok(epoch(producer, 1)));
    assert_eq!(harness.state(), TransactionState::PrepareAbort);
    // The producer's next transaction fails before its markers are written: its abort, at
    // the epoch it was just given, is told to wait rather than fenced.
    assert_eq!(
        end_result(&harness.end(epoch(producer, 1), false)),
        Err(ErrorCode::ConcurrentTransactions)
    );
    harness.answer_markers(&marker_requests(&effects)[0], Ok(()));
    harness.commit_appends();
    assert_eq!(harness.state(), TransactionState::CompleteAbort);
    harness.end(epoch(producer, 1), false);
    assert_eq!(
        end_result(&harness.commit_appends()),
        Ok(epoch(producer, 2))
    );
}
