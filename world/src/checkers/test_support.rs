//! Builders for the checkers' unit tests: hand-made client histories, final states and a fake
//! cluster whose replicas are plain vectors of records.

use super::ClusterView;
pub use super::FinalState;
use crate::history::{History, OpBody, OpType};
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::error::ErrorCode;
use watermark_broker_core::ids::{
    BrokerId, ClientId, GenerationId, GroupId, LeaderEpoch, MemberId, Offset,
};
use watermark_broker_core::record::Record;
use watermark_broker_core::replica_view::{ReplicaRole, ReplicaView};
use watermark_broker_core::topic::TopicPartition;

pub fn p(partition: u32) -> TopicPartition {
    TopicPartition::of_default_topic(partition)
}

pub fn o(offset: u64) -> Offset {
    Offset(offset)
}

pub fn b(broker: u32) -> BrokerId {
    BrokerId(broker)
}

pub fn e(epoch: u32) -> LeaderEpoch {
    LeaderEpoch(epoch)
}

/// The consumer group of the group checkers' tests.
pub fn g() -> GroupId {
    GroupId("g".to_string())
}

/// Marks group `g` as reading `partitions`, promising at-least-once or not.
pub fn reads(final_state: &mut FinalState, partitions: &[u32], at_least_once: bool) {
    final_state.groups.insert(
        g(),
        super::GroupReads {
            partitions: partitions.iter().map(|partition| p(*partition)).collect(),
            at_least_once,
        },
    );
}

/// A commit group `g`'s coordinator accepted from member `m{member}` in generation
/// `request_generation` while the group was Stable in `group_generation`.
pub fn accepted(
    time_ms: u64,
    member: u32,
    request_generation: i32,
    group_generation: i32,
    member_in_group: bool,
    offsets: &[(u32, u64)],
) -> super::AcceptedCommit {
    super::AcceptedCommit {
        time_ms,
        group: g(),
        member: MemberId(format!("m{member}")),
        request_generation: GenerationId(request_generation),
        group_generation: GenerationId(group_generation),
        group_state: watermark_broker_core::coordinator::GroupState::Stable,
        member_in_group,
        offsets: offsets
            .iter()
            .map(|(partition, offset)| (p(*partition), Offset(*offset)))
            .collect(),
        transactional: false,
    }
}

/// The violations of one checker.
pub fn only(violations: &[Violation], checker: &str) -> Vec<Violation> {
    violations
        .iter()
        .filter(|violation| violation.checker.name() == checker)
        .cloned()
        .collect()
}

/// The names of the checkers that reported anything, in report order, without repeats.
pub fn checkers_reporting(violations: &[Violation]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for violation in violations {
        if names.last() != Some(&violation.checker.name()) {
            names.push(violation.checker.name());
        }
    }
    names
}

/// A client history written line by line.
#[derive(Default)]
pub struct HistoryBuilder {
    pub(super) history: History,
}

impl HistoryBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn build(&self) -> History {
        self.history.clone()
    }

    pub fn send_invoke(&mut self, client: u32, partition: u32, value: u64, time_ms: u64) {
        self.history.push(
            time_ms,
            ClientId(client),
            OpType::Invoke,
            OpBody::Send {
                value,
                partition: Some(p(partition)),
                offset: None,
                error: None,
            },
        );
    }

    pub fn send_complete_ok(
        &mut self,
        client: u32,
        partition: u32,
        value: u64,
        offset: Option<u64>,
        time_ms: u64,
    ) {
        self.history.push(
            time_ms,
            ClientId(client),
            OpType::Ok,
            OpBody::Send {
                value,
                partition: Some(p(partition)),
                offset: offset.map(Offset),
                error: None,
            },
        );
    }

    /// An invocation immediately followed by its `Ok` completion.
    pub fn send_ok(
        &mut self,
        client: u32,
        partition: u32,
        value: u64,
        offset: Option<u64>,
        time_ms: u64,
    ) {
        self.send_invoke(client, partition, value, time_ms);
        self.send_complete_ok(client, partition, value, offset, time_ms);
    }

    fn send_failed(
        &mut self,
        client: u32,
        partition: u32,
        value: u64,
        offset: Option<u64>,
        time_ms: u64,
        op_type: OpType,
    ) {
        self.send_invoke(client, partition, value, time_ms);
        self.history.push(
            time_ms,
            ClientId(client),
            op_type,
            OpBody::Send {
                value,
                partition: Some(p(partition)),
                offset: offset.map(Offset),
                error: Some(ErrorCode::NotLeaderOrFollower),
            },
        );
    }

    /// A send that failed definitely.
    pub fn send_fail(&mut self, client: u32, partition: u32, value: u64, time_ms: u64) {
        self.send_failed(client, partition, value, None, time_ms, OpType::Fail);
    }

    /// A definite failure that nonetheless names an offset (Jepsen's histories have them).
    pub fn send_fail_at(
        &mut self,
        client: u32,
        partition: u32,
        value: u64,
        offset: Option<u64>,
        time_ms: u64,
    ) {
        self.send_failed(client, partition, value, offset, time_ms, OpType::Fail);
    }

    /// An indefinite send.
    pub fn send_info(&mut self, client: u32, partition: u32, value: u64, time_ms: u64) {
        self.send_failed(client, partition, value, None, time_ms, OpType::Info);
    }

    /// An indefinite send that reports an offset (today's producer never does; Jepsen's
    /// transactional ones may).
    pub fn send_info_at(
        &mut self,
        client: u32,
        partition: u32,
        value: u64,
        offset: Option<u64>,
        time_ms: u64,
    ) {
        self.send_failed(client, partition, value, offset, time_ms, OpType::Info);
    }

    /// Group `g`'s application (of consumer `client`) processed one record.
    pub fn process(&mut self, client: u32, partition: u32, offset: u64, value: u64, time_ms: u64) {
        self.history.push(
            time_ms,
            ClientId(client),
            OpType::Ok,
            OpBody::Process {
                group: g(),
                partition: p(partition),
                offset: Offset(offset),
                value,
            },
        );
    }

    /// Consumer `client` of group `g` got `assignment` in `generation`, giving up `revoked`.
    pub fn assign(
        &mut self,
        client: u32,
        generation: i32,
        assignment: &[u32],
        revoked: &[u32],
        time_ms: u64,
    ) {
        self.history.push(
            time_ms,
            ClientId(client),
            OpType::Ok,
            OpBody::Assign {
                group: g(),
                generation: GenerationId(generation),
                assignment: assignment.iter().map(|partition| p(*partition)).collect(),
                revoked: revoked.iter().map(|partition| p(*partition)).collect(),
                lost: false,
            },
        );
    }

    pub fn poll(&mut self, client: u32, partition: u32, records: &[(u64, u64)], time_ms: u64) {
        self.history.push(
            time_ms,
            ClientId(client),
            OpType::Ok,
            OpBody::Poll {
                partition: p(partition),
                records: records
                    .iter()
                    .map(|(offset, value)| (Offset(*offset), *value))
                    .collect(),
            },
        );
    }
}

/// A final state from `(partition, [(offset, value)])`; every listed partition counts as
/// assigned to a consumer.
pub fn final_logs(logs: &[(u32, &[(u64, u64)])]) -> FinalState {
    FinalState {
        logs: logs
            .iter()
            .map(|(partition, log)| {
                (
                    p(*partition),
                    log.iter()
                        .map(|(offset, value)| (Offset(*offset), *value))
                        .collect(),
                )
            })
            .collect(),
        assigned_partitions: logs.iter().map(|(partition, _)| p(*partition)).collect(),
        time_ms: 10_000,
        ..FinalState::default()
    }
}

/// Two producers write three values each to two partitions; one consumer reads everything,
/// in order, exactly once; the final logs hold every value once.
pub fn clean_history() -> (History, FinalState) {
    let mut history = HistoryBuilder::new();
    history.send_invoke(1, 0, 100, 10);
    history.send_invoke(1, 0, 101, 11);
    history.send_complete_ok(1, 0, 100, Some(0), 20);
    history.send_complete_ok(1, 0, 101, Some(1), 21);
    history.send_ok(1, 0, 102, Some(2), 30);
    history.send_ok(2, 1, 200, Some(0), 12);
    history.send_ok(2, 1, 201, None, 13);
    history.send_ok(2, 1, 202, Some(2), 14);
    history.send_fail(2, 1, 203, 15);
    history.poll(3, 0, &[(0, 100), (1, 101)], 40);
    history.poll(3, 1, &[(0, 200), (1, 201), (2, 202)], 41);
    history.poll(3, 0, &[(2, 102)], 42);
    let final_state = final_logs(&[
        (0, &[(0, 100), (1, 101), (2, 102)]),
        (1, &[(0, 200), (1, 201), (2, 202)]),
    ]);
    (history.build(), final_state)
}

/// One replica in the fake cluster.
#[derive(Clone, Debug)]
pub struct FakeReplica {
    pub role: ReplicaRole,
    pub leader_epoch: LeaderEpoch,
    pub high_watermark: Offset,
    pub log_start_offset: Offset,
    pub isr: Vec<BrokerId>,
    pub records: Vec<Record>,
}

/// A cluster whose replicas are vectors of records, edited directly by the tests.
#[derive(Clone, Debug, Default)]
pub struct FakeCluster {
    pub live: BTreeSet<BrokerId>,
    pub replicas: BTreeMap<(BrokerId, TopicPartition), FakeReplica>,
    /// The controller's ISR per partition (none set: the partition is unknown to it).
    pub controller_isr: BTreeMap<TopicPartition, Vec<BrokerId>>,
    /// The effective min.insync.replicas of every partition.
    pub min_insync_replicas: usize,
    /// Live brokers that have restarted and not yet registered.
    pub unregistered: BTreeSet<BrokerId>,
}

/// A record with the given offset, epoch and value.
pub fn record(offset: u64, epoch: u32, value: u64) -> Record {
    Record {
        offset: Offset(offset),
        leader_epoch: LeaderEpoch(epoch),
        value: Some(watermark_broker_core::record::application_bytes(value)),
        key: None,
        producer_stamp: None,
        headers: Vec::new(),
        is_transactional: false,
        is_control: false,
    }
}

impl FakeCluster {
    pub fn new(brokers: &[u32]) -> Self {
        FakeCluster {
            live: brokers.iter().map(|broker| b(*broker)).collect(),
            replicas: BTreeMap::new(),
            controller_isr: BTreeMap::new(),
            min_insync_replicas: 1,
            unregistered: BTreeSet::new(),
        }
    }

    /// Sets the controller's ISR of `partition`.
    pub fn set_controller_isr(&mut self, partition: u32, isr: &[u32]) {
        self.controller_isr
            .insert(p(partition), isr.iter().map(|broker| b(*broker)).collect());
    }

    /// Cuts `broker`'s log of `partition` at `offset` (keeps what is below).
    pub fn truncate(&mut self, broker: u32, partition: u32, offset: u64) {
        self.replica_mut(broker, partition)
            .records
            .retain(|record| record.offset.0 < offset);
    }

    /// Puts a replica on `broker` holding `records` as (offset, epoch, value).
    pub fn set_replica(
        &mut self,
        broker: u32,
        partition: u32,
        role: ReplicaRole,
        leader_epoch: u32,
        isr: &[u32],
        records: &[(u64, u32, u64)],
    ) {
        let replica = FakeReplica {
            role,
            leader_epoch: e(leader_epoch),
            high_watermark: o(0),
            log_start_offset: o(0),
            isr: isr.iter().map(|broker| b(*broker)).collect(),
            records: records
                .iter()
                .map(|(offset, epoch, value)| record(*offset, *epoch, *value))
                .collect(),
        };
        self.replicas.insert((b(broker), p(partition)), replica);
    }

    pub fn replica_mut(&mut self, broker: u32, partition: u32) -> &mut FakeReplica {
        self.replicas
            .get_mut(&(b(broker), p(partition)))
            .expect("the test set this replica up")
    }

    pub fn append(&mut self, broker: u32, partition: u32, records: &[(u64, u32, u64)]) {
        let replica = self.replica_mut(broker, partition);
        replica.records.extend(
            records
                .iter()
                .map(|(offset, epoch, value)| record(*offset, *epoch, *value)),
        );
    }

    pub fn stop(&mut self, broker: u32) {
        self.live.remove(&b(broker));
    }

    /// `broker` restarts: up again, not yet registered.
    pub fn restart_unregistered(&mut self, broker: u32) {
        self.live.insert(b(broker));
        self.unregistered.insert(b(broker));
    }
}

impl ClusterView for FakeCluster {
    fn live_brokers(&self) -> Vec<BrokerId> {
        self.live.iter().copied().collect()
    }

    fn replica(&self, broker: BrokerId, partition: TopicPartition) -> Option<ReplicaView<'_>> {
        if !self.live.contains(&broker) {
            return None;
        }
        let replica = self.replicas.get(&(broker, partition))?;
        let log_end_offset = replica
            .records
            .last()
            .map_or(replica.log_start_offset, |record| record.offset.next());
        Some(ReplicaView {
            role: replica.role,
            leader_epoch: replica.leader_epoch,
            high_watermark: replica.high_watermark,
            log_start_offset: replica.log_start_offset,
            log_end_offset,
            isr: &replica.isr,
            records: &replica.records,
        })
    }

    fn controller_isr(&self, partition: TopicPartition) -> Option<&[BrokerId]> {
        self.controller_isr.get(&partition).map(Vec::as_slice)
    }

    fn min_insync_replicas(&self, _partition: TopicPartition) -> Option<usize> {
        Some(self.min_insync_replicas)
    }

    fn is_in_service(&self, broker: BrokerId) -> bool {
        self.live.contains(&broker) && !self.unregistered.contains(&broker)
    }
}
