//! Replica state replayed from the step records: per partition, per broker, its role, log
//! end offset, high watermark, leader epoch, the ISR it holds as leader and its log's
//! records; per partition, the controller's leader, epoch, ISR and eligible leader replicas.
//! Only what the records say is applied (every value comes from an event or a process
//! start or crash), so the table can never disagree with the trace. The teaching views
//! (`explain`, the HTML report) render it; nothing here formats text.

use crate::step_record::{NemesisAction, Record, StepInput, StepRecord};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::event::{Event, RecordSummary};
use watermark_broker_core::ids::{BrokerId, LeaderEpoch, NodeId, Offset};
use watermark_broker_core::topic::TopicPartition;

/// A replica's role as its broker last reported it, or `Offline` while the process is down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Leader,
    Follower,
    Offline,
}

/// One broker's replica of one partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Replica {
    pub role: Role,
    pub log_end_offset: Offset,
    pub high_watermark: Offset,
    /// The leader epoch it last became leader or follower in.
    pub leader_epoch: Option<LeaderEpoch>,
    /// The leader it follows (as a follower).
    pub leader: Option<BrokerId>,
    /// The ISR it holds while it leads.
    pub leader_isr: Option<Vec<BrokerId>>,
    /// Its log's records as far as the records tell: every append, cut at every truncation
    /// and recovery.
    pub log: Vec<RecordSummary>,
    /// How many times its log was cut.
    pub truncations: u64,
}

impl Replica {
    fn new() -> Replica {
        Replica {
            role: Role::Follower,
            log_end_offset: Offset(0),
            high_watermark: Offset(0),
            leader_epoch: None,
            leader: None,
            leader_isr: None,
            log: Vec::new(),
            truncations: 0,
        }
    }

    /// The last `count` records of its log.
    pub fn last_records(&self, count: usize) -> &[RecordSummary] {
        &self.log[self.log.len().saturating_sub(count)..]
    }

    /// The record it holds at `offset`, if the records showed it.
    pub fn record_at(&self, offset: Offset) -> Option<&RecordSummary> {
        self.log.iter().rev().find(|record| record.offset == offset)
    }

    /// Cuts its log copy to end before `offset`.
    fn cut_to(&mut self, offset: Offset) {
        self.log.retain(|record| record.offset < offset);
        self.log_end_offset = offset;
        // The log keeps its high watermark at or below its end (`Log::truncate_to`).
        self.high_watermark = self.high_watermark.min(offset);
    }
}

/// The controller's record of one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ControllerPartition {
    pub leader: Option<BrokerId>,
    pub leader_epoch: Option<LeaderEpoch>,
    pub isr: Vec<BrokerId>,
    /// Eligible leader replicas (KIP-966), as the controller's last change reported them.
    pub elr: Vec<BrokerId>,
    /// The assignment, once a change reported it.
    pub replicas: Vec<BrokerId>,
}

/// One partition: every replica seen so far and the controller's view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PartitionState {
    pub replicas: BTreeMap<BrokerId, Replica>,
    pub controller: ControllerPartition,
}

/// The whole cluster's replica state at one moment of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReplicaState {
    pub partitions: BTreeMap<TopicPartition, PartitionState>,
    /// Brokers whose process is down (crashed or lost power, not restarted yet).
    pub down: BTreeSet<BrokerId>,
}

impl ReplicaState {
    pub fn new() -> ReplicaState {
        ReplicaState::default()
    }

    /// Replays one record. Returns the partitions whose replica state it changed.
    pub fn apply(&mut self, record: &Record) -> BTreeSet<TopicPartition> {
        match record {
            Record::Step(step) => self.apply_step(step),
            Record::Nemesis { action, .. } => self.apply_nemesis(action),
            Record::Dropped { .. } | Record::Finding { .. } => BTreeSet::new(),
        }
    }

    /// The replica of `broker` for `partition`, if the records showed one.
    pub fn replica(&self, partition: TopicPartition, broker: BrokerId) -> Option<&Replica> {
        self.partitions.get(&partition)?.replicas.get(&broker)
    }

    fn apply_step(&mut self, step: &StepRecord) -> BTreeSet<TopicPartition> {
        let mut changed = BTreeSet::new();
        if let (NodeId::Broker(broker), StepInput::Start { .. }) = (step.node, &step.input) {
            if self.down.remove(&broker) {
                changed.extend(self.set_role_everywhere(broker, Role::Follower));
            }
        }
        for event in &step.events {
            let partition = match step.node {
                NodeId::Broker(broker) => self.apply_broker_event(broker, event),
                NodeId::Controller => self.apply_controller_event(event),
                _ => None,
            };
            changed.extend(partition);
        }
        changed
    }

    fn apply_nemesis(&mut self, action: &NemesisAction) -> BTreeSet<TopicPartition> {
        match action {
            NemesisAction::Crash {
                node: NodeId::Broker(broker),
            }
            | NemesisAction::PowerLoss {
                node: NodeId::Broker(broker),
            } => {
                self.down.insert(*broker);
                self.set_role_everywhere(*broker, Role::Offline)
            }
            _ => BTreeSet::new(),
        }
    }

    /// Sets every replica of `broker` to `role` (a crash takes them all offline; a restart
    /// brings them back as followers until the broker reports otherwise).
    fn set_role_everywhere(&mut self, broker: BrokerId, role: Role) -> BTreeSet<TopicPartition> {
        let mut changed = BTreeSet::new();
        for (partition, state) in &mut self.partitions {
            if let Some(replica) = state.replicas.get_mut(&broker) {
                replica.role = role;
                if role == Role::Offline {
                    replica.leader_isr = None;
                }
                changed.insert(*partition);
            }
        }
        changed
    }

    fn replica_mut(&mut self, partition: TopicPartition, broker: BrokerId) -> &mut Replica {
        self.partitions
            .entry(partition)
            .or_default()
            .replicas
            .entry(broker)
            .or_insert_with(Replica::new)
    }

    /// Applies a broker's event to its replica; returns the partition if its state changed.
    fn apply_broker_event(&mut self, broker: BrokerId, event: &Event) -> Option<TopicPartition> {
        match event {
            Event::LogRecovered {
                partition,
                log_end_offset,
                high_watermark,
                latest_epoch,
                records,
            } => {
                // The log is what recovery found: a power loss takes unsynced records and can
                // bring back records an unsynced cut had taken.
                let replica = self.replica_mut(*partition, broker);
                let start = records
                    .first()
                    .map_or(*log_end_offset, |record| record.offset);
                replica.log.retain(|record| record.offset < start);
                replica.log.extend(records.iter().copied());
                replica.log_end_offset = *log_end_offset;
                replica.high_watermark = *high_watermark;
                replica.leader_epoch = replica.leader_epoch.or(*latest_epoch);
                Some(*partition)
            }
            Event::BecameLeader {
                partition,
                leader_epoch,
                isr,
                log_end_offset,
            } => {
                let replica = self.replica_mut(*partition, broker);
                replica.role = Role::Leader;
                replica.leader_epoch = Some(*leader_epoch);
                replica.leader = Some(broker);
                replica.leader_isr = Some(isr.clone());
                replica.log_end_offset = *log_end_offset;
                Some(*partition)
            }
            Event::BecameFollower {
                partition,
                leader_epoch,
                leader,
            } => {
                let replica = self.replica_mut(*partition, broker);
                replica.role = Role::Follower;
                replica.leader_epoch = Some(*leader_epoch);
                replica.leader = *leader;
                replica.leader_isr = None;
                Some(*partition)
            }
            Event::RecordsAppended {
                partition, records, ..
            } => {
                let replica = self.replica_mut(*partition, broker);
                replica.log.extend(records.iter().copied());
                if let Some(last) = records.last() {
                    replica.log_end_offset = Offset(last.offset.0 + 1);
                }
                Some(*partition)
            }
            Event::TxnMarkerAppended {
                partition, offset, ..
            } => {
                // A control batch takes an offset but holds no application value.
                let replica = self.replica_mut(*partition, broker);
                replica.log_end_offset = replica.log_end_offset.max(Offset(offset.0 + 1));
                Some(*partition)
            }
            Event::LogTruncated {
                partition,
                to_offset,
                ..
            } => {
                let replica = self.replica_mut(*partition, broker);
                replica.cut_to(*to_offset);
                replica.truncations += 1;
                Some(*partition)
            }
            Event::LogTruncatedFully {
                partition,
                start_offset,
                ..
            } => {
                // Kafka's `truncateFullyAndStartAt`: no record left, the log starts, ends and
                // is committed at `start_offset`.
                let replica = self.replica_mut(*partition, broker);
                replica.log.clear();
                replica.log_end_offset = *start_offset;
                replica.high_watermark = *start_offset;
                replica.truncations += 1;
                Some(*partition)
            }
            Event::HighWatermarkUpdated { partition, to, .. } => {
                self.replica_mut(*partition, broker).high_watermark = *to;
                Some(*partition)
            }
            Event::IsrUpdated { partition, to, .. } => {
                self.replica_mut(*partition, broker).leader_isr = Some(to.clone());
                Some(*partition)
            }
            _ => None,
        }
    }

    /// Applies the controller's event to its record of the partition.
    fn apply_controller_event(&mut self, event: &Event) -> Option<TopicPartition> {
        match event {
            Event::PartitionChangeStarted {
                partition,
                replicas,
                elr,
                ..
            } => {
                let state = self.partitions.entry(*partition).or_default();
                state.controller.replicas = replicas.clone();
                state.controller.elr = elr.clone();
                Some(*partition)
            }
            Event::LeaderElected {
                partition,
                leader,
                leader_epoch,
                isr,
                ..
            } => {
                let controller = &mut self.partitions.entry(*partition).or_default().controller;
                controller.leader = *leader;
                controller.leader_epoch = Some(*leader_epoch);
                controller.isr = isr.clone();
                Some(*partition)
            }
            Event::IsrAltered { partition, isr, .. } => {
                self.partitions
                    .entry(*partition)
                    .or_default()
                    .controller
                    .isr = isr.clone();
                Some(*partition)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
#[path = "replica_state_tests.rs"]
mod tests;
