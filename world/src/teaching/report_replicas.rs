//! The report's replica views: per partition, each broker's replica (role, log end offset,
//! high watermark, leader epoch, the ISR it holds as leader, its log) and the controller's
//! leader, ISR and eligible leader replicas, at every step. The replica state is the one
//! `explain` replays ([`ReplicaState`]); this file only records it compactly for the page:
//! a frame of a partition's table at each step that changed it, and each replica's log as
//! the changes that made it (records appended, a cut), so a 10,000-step run stays small and
//! the page rebuilds any step by replaying up to it.

use super::replica_state::{ReplicaState, Role};
use crate::step_record::Record;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use watermark_broker_core::event::RecordSummary;
use watermark_broker_core::ids::BrokerId;
use watermark_broker_core::record::NOT_A_WORKLOAD_VALUE;
use watermark_broker_core::topic::TopicPartition;

/// One broker's replica of one partition after a step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaRow {
    pub broker: u32,
    /// `leader`, `follower` or `offline`.
    pub role: String,
    pub log_end_offset: u64,
    pub high_watermark: u64,
    pub leader_epoch: Option<u32>,
    /// The ISR it holds while it leads.
    pub leader_isr: Option<Vec<u32>>,
    /// How many times its log was cut so far.
    pub truncations: u64,
}

/// A partition's table after a step that changed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaFrame {
    pub step: usize,
    /// Index into [`ReplicaViews::partitions`].
    pub partition: usize,
    pub rows: Vec<ReplicaRow>,
    pub controller_leader: Option<u32>,
    pub controller_epoch: Option<u32>,
    pub controller_isr: Vec<u32>,
    pub elr: Vec<u32>,
}

/// How one step changed one replica's log: cut to end before `cut_to` (when set), then
/// `appended` (offset, leader epoch, value) added; the value is `None` for a record that
/// holds no workload value (JSON would round `u64::MAX`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogChange {
    pub step: usize,
    pub partition: usize,
    pub broker: u32,
    pub cut_to: Option<u64>,
    pub appended: Vec<(u64, u32, Option<u64>)>,
}

/// Everything the page's replica views draw.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaViews {
    /// Partition names (`events-0`), in order.
    pub partitions: Vec<String>,
    /// Frames in step order.
    pub frames: Vec<ReplicaFrame>,
    /// Log changes in step order.
    pub log_changes: Vec<LogChange>,
}

impl ReplicaViews {
    /// Replays `records` and keeps what each step changed.
    pub fn build(records: &[Record]) -> ReplicaViews {
        let mut state = ReplicaState::new();
        let mut views = ReplicaViews::default();
        let mut indexes: BTreeMap<TopicPartition, usize> = BTreeMap::new();
        let mut logs: BTreeMap<(TopicPartition, BrokerId), Vec<RecordSummary>> = BTreeMap::new();
        for (step, record) in records.iter().enumerate() {
            for partition in state.apply(record) {
                let Some(partition_state) = state.partitions.get(&partition) else {
                    continue;
                };
                let next = indexes.len();
                let index = *indexes.entry(partition).or_insert(next);
                if index == views.partitions.len() {
                    views.partitions.push(partition.to_string());
                }
                let mut rows = Vec::new();
                for (broker, replica) in &partition_state.replicas {
                    rows.push(ReplicaRow {
                        broker: broker.0,
                        role: role_name(replica.role).to_string(),
                        log_end_offset: replica.log_end_offset.0,
                        high_watermark: replica.high_watermark.0,
                        leader_epoch: replica.leader_epoch.map(|epoch| epoch.0),
                        leader_isr: replica
                            .leader_isr
                            .as_ref()
                            .map(|isr| isr.iter().map(|broker| broker.0).collect()),
                        truncations: replica.truncations,
                    });
                    let before = logs.entry((partition, *broker)).or_default();
                    if let Some(change) = log_change(before, &replica.log) {
                        views.log_changes.push(LogChange {
                            step,
                            partition: index,
                            broker: broker.0,
                            ..change
                        });
                        before.clone_from(&replica.log);
                    }
                }
                let controller = &partition_state.controller;
                views.frames.push(ReplicaFrame {
                    step,
                    partition: index,
                    rows,
                    controller_leader: controller.leader.map(|broker| broker.0),
                    controller_epoch: controller.leader_epoch.map(|epoch| epoch.0),
                    controller_isr: controller.isr.iter().map(|broker| broker.0).collect(),
                    elr: controller.elr.iter().map(|broker| broker.0).collect(),
                });
            }
        }
        views
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Leader => "leader",
        Role::Follower => "follower",
        Role::Offline => "offline",
    }
}

/// What turns log `before` into `after`: a cut where they first differ, then the rest of
/// `after`. `None` when they are the same. Step, partition and broker are left for the
/// caller.
fn log_change(before: &[RecordSummary], after: &[RecordSummary]) -> Option<LogChange> {
    let common = before
        .iter()
        .zip(after)
        .take_while(|(old, new)| old == new)
        .count();
    if common == before.len() && common == after.len() {
        return None;
    }
    Some(LogChange {
        step: 0,
        partition: 0,
        broker: 0,
        cut_to: before.get(common).map(|record| record.offset.0),
        appended: after[common..]
            .iter()
            .map(|record| {
                let value = (record.value != NOT_A_WORKLOAD_VALUE).then_some(record.value);
                (record.offset.0, record.leader_epoch.0, value)
            })
            .collect(),
    })
}

#[cfg(test)]
#[path = "report_replicas_tests.rs"]
mod tests;
