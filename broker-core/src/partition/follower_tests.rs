//! The follower's handlers on the OffsetsForLeaderEpoch path, driven on one `Partition`:
//! what it does with the handshake's answer (KIP-279, and without the epoch before it) and
//! with a new epoch of the leader it already follows (KAFKA-7164, and before it).

use super::super::{Context, Partition, PartitionTimer};
use crate::actor::Effect;
use crate::broker::BrokerTimer;
use crate::bugs::BugSwitches;
use crate::config::{BrokerConfig, TopicConfig};
use crate::event::{Event, TruncationReason};
use crate::ids::{
    BrokerEpoch, BrokerId, CorrelationId, LeaderEpoch, NodeId, Offset, PartitionEpoch,
};
use crate::log::Log;
use crate::mark::Mark;
use crate::metadata::PartitionState;
use crate::partition::LocalCompletion;
use crate::protocol::{
    EpochEndOffset, FetchRequest, Message, OffsetsForLeaderEpochRequest,
    OffsetsForLeaderEpochResponse,
};
use crate::record::Record;
use crate::storage::MemoryStorage;
use crate::timer::TimerTable;
use crate::topic::TopicPartition;

const P0: TopicPartition = TopicPartition::of_default_topic(0);
const LEADER: BrokerId = BrokerId(1);
const LOCAL: BrokerId = BrokerId(3);

/// Broker 3's replica of p0, its disk and the broker-side state a step needs.
struct Follower {
    partition: Partition,
    storage: MemoryStorage,
    config: BrokerConfig,
    bugs: BugSwitches,
    next_correlation: u64,
    next_delayed_operation: u64,
    timers: TimerTable<BrokerTimer>,
}

impl Follower {
    /// A replica whose log holds `runs` of (leader epoch, record count), from offset 0.
    fn with_log(runs: &[(u32, u64)], bugs: BugSwitches) -> Follower {
        let mut storage = MemoryStorage::default();
        let (mut log, _) = Log::recover(P0, &mut storage, None, None);
        let mut offset = 0;
        for &(epoch, count) in runs {
            for _ in 0..count {
                let record = Record {
                    offset: Offset(offset),
                    leader_epoch: LeaderEpoch(epoch),
                    value: Some(crate::record::application_bytes(1_000 + offset)),
                    key: None,
                    producer_stamp: None,
                    headers: Vec::new(),
                    is_transactional: false,
                    is_control: false,
                };
                log.append_as_follower(&mut storage, vec![record]).unwrap();
                offset += 1;
            }
        }
        Follower {
            partition: Partition::new(log, TopicConfig::default()),
            storage,
            config: BrokerConfig::default(),
            bugs,
            next_correlation: 0,
            next_delayed_operation: 0,
            timers: TimerTable::default(),
        }
    }

    /// Runs one handler at `now_ms` and returns its effects.
    fn step(
        &mut self,
        now_ms: u64,
        act: impl FnOnce(&mut Partition, &mut Context<'_>),
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut local_completions: Vec<LocalCompletion> = Vec::new();
        let mut context = Context {
            now_ms,
            local: LOCAL,
            broker_epoch: Some(BrokerEpoch(7)),
            config: &self.config,
            bugs: self.bugs,
            live_brokers: &[],
            broker_racks: &std::collections::BTreeMap::new(),
            storage: &mut self.storage,
            next_correlation: &mut self.next_correlation,
            next_delayed_operation: &mut self.next_delayed_operation,
            timers: &mut self.timers,
            effects: &mut effects,
            local_completions: &mut local_completions,
            leadership_changes: &mut 0,
        };
        act(&mut self.partition, &mut context);
        effects
    }

    /// The metadata image says broker 1 leads p0 in `leader_epoch`.
    fn led_by_broker_1_in(&mut self, now_ms: u64, leader_epoch: u32) -> Vec<Effect> {
        let state = PartitionState {
            partition: P0,
            replicas: vec![BrokerId(1), BrokerId(2), LOCAL],
            leader: Some(LEADER),
            leader_epoch: LeaderEpoch(leader_epoch),
            isr: vec![BrokerId(1), BrokerId(2)],
            partition_epoch: PartitionEpoch(leader_epoch),
            elr: Vec::new(),
            last_known_elr: Vec::new(),
        };
        self.step(now_ms, |partition, context| {
            partition.apply_partition_state(context, &state)
        })
    }

    /// The leader answers the outstanding handshake request with `answer`.
    fn answered(&mut self, now_ms: u64, request: &Message, answer: EpochEndOffset) -> Vec<Effect> {
        let Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest { correlation, .. }) =
            request
        else {
            panic!("expected OffsetsForLeaderEpoch, got {request:?}");
        };
        let response = OffsetsForLeaderEpochResponse {
            correlation: *correlation,
            partition: P0,
            result: Ok(answer),
        };
        self.step(now_ms, |partition, context| {
            partition.handle_offsets_for_leader_epoch_response(
                context,
                NodeId::Broker(LEADER),
                &response,
            )
        })
    }

    fn log_end_offset(&self) -> Offset {
        self.partition.log().log_end_offset()
    }
}

fn handshake() -> BugSwitches {
    BugSwitches {
        offsets_for_leader_epoch_truncation: true,
        ..BugSwitches::default()
    }
}

fn without_epoch() -> BugSwitches {
    BugSwitches {
        epoch_lookup_without_epoch: true,
        ..BugSwitches::default()
    }
}

fn leader_unchanged_skips() -> BugSwitches {
    BugSwitches {
        no_truncation_when_leader_unchanged: true,
        ..BugSwitches::default()
    }
}

fn end(epoch: u32, offset: u64) -> EpochEndOffset {
    EpochEndOffset {
        leader_epoch: LeaderEpoch(epoch),
        end_offset: Offset(offset),
    }
}

/// The one message sent to the leader, if exactly one was.
fn sent(effects: &[Effect]) -> Message {
    let sends: Vec<&Message> = effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Send {
                to: NodeId::Broker(LEADER),
                message,
            } => Some(message),
            _ => None,
        })
        .collect();
    match sends[..] {
        [message] => message.clone(),
        _ => panic!("expected one message to the leader, got {effects:?}"),
    }
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

fn truncations(effects: &[Effect]) -> Vec<(Offset, TruncationReason)> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Event(Event::LogTruncated {
                to_offset, reason, ..
            }) => Some((*to_offset, *reason)),
            _ => None,
        })
        .collect()
}

fn fetch_offset(message: &Message) -> Offset {
    match message {
        Message::Fetch(FetchRequest { fetch_offset, .. }) => *fetch_offset,
        other => panic!("expected Fetch, got {other:?}"),
    }
}

fn asked_epoch(message: &Message) -> (LeaderEpoch, LeaderEpoch) {
    match message {
        Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
            leader_epoch,
            current_leader_epoch,
            ..
        }) => (*leader_epoch, *current_leader_epoch),
        other => panic!("expected OffsetsForLeaderEpoch, got {other:?}"),
    }
}

/// KAFKA-6361's case: this replica wrote epoch 2 at [3, 6) over offsets where the leader
/// kept epoch 1 up to 5. Asked about epoch 2, the leader answers that its epoch 1 ends at 5.
/// KIP-279's follower sees that its own epoch 1 ends at 3 and cuts there; the follower
/// without the epoch takes offset 5 and keeps its epoch-2 records at 3 and 4.
#[test]
fn without_the_epoch_a_follower_keeps_records_below_the_leaders_end_offset() {
    for (bugs, kept, reason, marked) in [
        (
            handshake(),
            3,
            TruncationReason::LeaderEpochDivergence,
            false,
        ),
        (
            without_epoch(),
            5,
            TruncationReason::EpochEndOffsetWithoutEpoch,
            true,
        ),
    ] {
        let mut follower = Follower::with_log(&[(1, 3), (2, 3)], bugs);
        let request = sent(&follower.led_by_broker_1_in(0, 3));
        assert_eq!(asked_epoch(&request), (LeaderEpoch(2), LeaderEpoch(3)));
        let effects = follower.answered(5, &request, end(1, 5));
        assert_eq!(truncations(&effects), vec![(Offset(kept), reason)]);
        assert_eq!(follower.log_end_offset(), Offset(kept));
        assert_eq!(fetch_offset(&sent(&effects)), Offset(kept));
        assert_eq!(
            marks(&effects).contains(&Mark::TruncatedWithoutEpochCheck),
            marked,
            "{bugs:?}"
        );
    }
}

/// The leader answers an epoch this replica lacks, ending past its log end: KIP-279's
/// follower cuts to the end of its own largest epoch below it and asks again; without the
/// epoch the answer is past the log end, so nothing is cut and fetching starts at once.
#[test]
fn without_the_epoch_a_follower_does_not_ask_again_for_an_epoch_it_lacks() {
    let mut follower = Follower::with_log(&[(1, 3), (3, 2)], handshake());
    let request = sent(&follower.led_by_broker_1_in(0, 4));
    let effects = follower.answered(5, &request, end(2, 6));
    assert_eq!(follower.log_end_offset(), Offset(3));
    assert_eq!(
        asked_epoch(&sent(&effects)),
        (LeaderEpoch(1), LeaderEpoch(4))
    );

    let mut follower = Follower::with_log(&[(1, 3), (3, 2)], without_epoch());
    let request = sent(&follower.led_by_broker_1_in(0, 4));
    let effects = follower.answered(5, &request, end(2, 6));
    assert_eq!(truncations(&effects), vec![]);
    assert_eq!(follower.log_end_offset(), Offset(5));
    assert_eq!(fetch_offset(&sent(&effects)), Offset(5));
    assert_eq!(marks(&effects), vec![Mark::TruncatedWithoutEpochCheck]);
}

/// Where the leader has this replica's epoch, the two rules agree, and no mark says
/// otherwise.
#[test]
fn without_the_epoch_an_answer_for_a_shared_epoch_truncates_as_kip_279_does() {
    let mut follower = Follower::with_log(&[(1, 3), (2, 3)], without_epoch());
    let request = sent(&follower.led_by_broker_1_in(0, 3));
    let effects = follower.answered(5, &request, end(2, 4));
    assert_eq!(
        truncations(&effects),
        vec![(Offset(4), TruncationReason::EpochEndOffsetWithoutEpoch)]
    );
    assert_eq!(marks(&effects), vec![Mark::TruncatedByLeaderEpoch]);
    assert_eq!(fetch_offset(&sent(&effects)), Offset(4));
}

/// A follower of broker 1 in epoch 1, fetching at its log end offset 5 (the handshake found
/// nothing to cut).
fn fetching_from_broker_1(bugs: BugSwitches) -> Follower {
    let mut follower = Follower::with_log(&[(1, 5)], bugs);
    let request = sent(&follower.led_by_broker_1_in(0, 1));
    assert_eq!(asked_epoch(&request), (LeaderEpoch(1), LeaderEpoch(1)));
    let effects = follower.answered(5, &request, end(1, 5));
    assert_eq!(fetch_offset(&sent(&effects)), Offset(5));
    follower
}

/// Since KAFKA-7164 (and KIP-320's rule since 2.1) any new epoch restarts the truncation,
/// even when the leader is the one the follower already fetches from: it asks where its
/// epoch 1 ends, in the new epoch.
#[test]
fn a_new_epoch_of_the_same_leader_restarts_the_handshake() {
    let mut follower = fetching_from_broker_1(handshake());
    let effects = follower.led_by_broker_1_in(10, 3);
    assert_eq!(
        asked_epoch(&sent(&effects)),
        (LeaderEpoch(1), LeaderEpoch(3))
    );
    assert_eq!(marks(&effects), vec![Mark::BecameFollower]);
}

/// Before KAFKA-7164 the same leader meant no become-follower steps: the replica takes the
/// new epoch and sends nothing; its fetch goes on, from its log end offset, in the new
/// epoch, without any truncation.
#[test]
fn before_kafka_7164_a_new_epoch_of_the_same_leader_keeps_the_fetch_going() {
    let mut follower = fetching_from_broker_1(leader_unchanged_skips());
    let effects = follower.led_by_broker_1_in(10, 3);
    assert!(
        !effects
            .iter()
            .any(|effect| matches!(effect, Effect::Send { .. })),
        "{effects:?}"
    );
    assert_eq!(
        marks(&effects),
        vec![Mark::BecomeFollowerSkippedLeaderUnchanged]
    );
    assert!(effects.contains(&Effect::Event(Event::BecameFollower {
        partition: P0,
        leader_epoch: LeaderEpoch(3),
        leader: Some(LEADER),
    })));
    assert_eq!(follower.partition.leader_epoch(), Some(LeaderEpoch(3)));
    // The outstanding fetch times out and is sent again as it was, in the new epoch.
    let effects = follower.step(10 + 30_000, |partition, context| {
        partition.on_timers(context, &[PartitionTimer::FetcherRequestTimeout])
    });
    match sent(&effects) {
        Message::Fetch(FetchRequest {
            fetch_offset,
            current_leader_epoch,
            last_fetched_epoch,
            ..
        }) => assert_eq!(
            (fetch_offset, current_leader_epoch, last_fetched_epoch),
            (Offset(5), LeaderEpoch(3), None)
        ),
        other => panic!("expected Fetch, got {other:?}"),
    }
}

/// The switch skips only a new epoch of the same leader: a new leader still starts the
/// handshake, so the switch implies the handshake path even on its own.
#[test]
fn before_kafka_7164_a_new_leader_still_starts_the_handshake() {
    let mut follower = fetching_from_broker_1(leader_unchanged_skips());
    let state = PartitionState {
        partition: P0,
        replicas: vec![BrokerId(1), BrokerId(2), LOCAL],
        leader: Some(BrokerId(2)),
        leader_epoch: LeaderEpoch(2),
        isr: vec![BrokerId(2), LOCAL],
        partition_epoch: PartitionEpoch(2),
        elr: Vec::new(),
        last_known_elr: Vec::new(),
    };
    let effects = follower.step(10, |partition, context| {
        partition.apply_partition_state(context, &state)
    });
    assert_eq!(marks(&effects), vec![Mark::BecameFollower]);
    assert!(effects.iter().any(|effect| matches!(
        effect,
        Effect::Send {
            to: NodeId::Broker(BrokerId(2)),
            message: Message::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
                leader_epoch: LeaderEpoch(1),
                current_leader_epoch: LeaderEpoch(2),
                correlation: CorrelationId(_),
                ..
            }),
        }
    )));
}

#[path = "high_watermark_before_truncation_tests.rs"]
mod high_watermark_before_truncation;
