//! The end of a run: when the cluster counts as converged after the liveness phase (every
//! node up, every partition led with a full ISR, every replica equal to the leader, producers
//! done, consumers caught up), and what the replicas hold then, for the checkers.

use crate::application::Application;
use crate::application_transactional::TransactionalApplication;
use crate::checkers::{ClusterView, FinalTransactions};
use crate::world::{NodeActor, World};
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::{ClientId, GroupId, NodeId, Offset};
use watermark_broker_core::record::Record;
use watermark_broker_core::replica_view::ReplicaRole;
use watermark_broker_core::topic::TopicPartition;

impl World {
    /// Why the cluster has not converged yet, or `None` once it has: every node up, every
    /// partition led with a full ISR, every replica equal to the leader up to its high
    /// watermark, producers done, consumers caught up.
    pub fn convergence_gap(&self) -> Option<String> {
        for (node, slot) in &self.nodes {
            if slot.actor.is_none() {
                return Some(format!("{node} is down"));
            }
            if slot.paused {
                return Some(format!("{node} is paused"));
            }
        }
        let Some(NodeActor::Controller(controller)) =
            self.nodes[&NodeId::Controller].actor.as_ref()
        else {
            return Some("controller is down".to_string());
        };
        let image = controller.metadata();
        let view = self.cluster_view();
        for partition in self.scenario.all_partitions() {
            let Some(state) = image.partition(partition) else {
                return Some(format!("{partition} does not exist yet"));
            };
            let Some(leader) = state.leader else {
                return Some(format!("{partition} has no leader"));
            };
            let mut isr = state.isr.clone();
            isr.sort();
            let mut replicas = state.replicas.clone();
            replicas.sort();
            if isr != replicas {
                return Some(format!("{partition} isr {:?} is not all replicas", isr));
            }
            let Some(leader_view) = view.replica(leader, partition) else {
                return Some(format!("{partition} leader {leader} has no replica"));
            };
            if leader_view.role != ReplicaRole::Leader {
                return Some(format!(
                    "{partition} leader {leader} does not act as leader yet"
                ));
            }
            if leader_view.high_watermark != leader_view.log_end_offset {
                return Some(format!("{partition} leader hw is below its log end"));
            }
            for replica in &state.replicas {
                let Some(replica_view) = view.replica(*replica, partition) else {
                    return Some(format!("{partition} replica {replica} missing"));
                };
                if replica_view.log_end_offset != leader_view.log_end_offset
                    || replica_view.high_watermark != leader_view.high_watermark
                {
                    return Some(format!("{partition} replica {replica} is behind"));
                }
            }
            for (node, slot) in &self.nodes {
                if self.closed_pipeline(*node) {
                    continue;
                }
                if let (NodeId::Consumer(_), Some(consumer)) =
                    (node, slot.actor.as_ref().and_then(NodeActor::consumer))
                {
                    if let Some(position) = consumer.position(partition) {
                        if position < leader_view.high_watermark {
                            return Some(format!("{node} has not consumed {partition} to the end"));
                        }
                    } else if self.consumer_assigned(*node, partition)
                        || consumer.assignment().contains(&partition)
                    {
                        return Some(format!("{node} has no position on {partition}"));
                    }
                }
            }
        }
        for (node, slot) in &self.nodes {
            if let Some(producer) = slot.actor.as_ref().and_then(NodeActor::producer) {
                // A transactional producer stopped by a fatal error is closed, as Kafka says
                // to: the values it had left are never sent.
                let unsent = slot
                    .application
                    .as_ref()
                    .and_then(Application::producer)
                    .filter(|application| {
                        !application
                            .transactional
                            .as_ref()
                            .is_some_and(TransactionalApplication::stopped)
                    })
                    .map_or(0, |application| application.remaining);
                if unsent > 0 || producer.unfinished_sends() > 0 {
                    return Some(format!("{node} still has records to deliver"));
                }
            }
        }
        self.group_convergence_gap()
    }

    /// Groups have converged when every partition their members subscribe to is owned by a
    /// member (whose position the check above holds to the end) and every member's
    /// application has processed all it polled.
    fn group_convergence_gap(&self) -> Option<String> {
        let mut groups: BTreeMap<GroupId, BTreeSet<TopicPartition>> = BTreeMap::new();
        let mut owned: BTreeMap<GroupId, BTreeSet<TopicPartition>> = BTreeMap::new();
        for (index, workload) in self.scenario.consumers.iter().enumerate() {
            let Some(group) = workload.group() else {
                continue;
            };
            let node = NodeId::Consumer(ClientId(index as u32));
            let slot = &self.nodes[&node];
            if self.closed_pipeline(node) {
                // It reads, processes and owns nothing any more: its partitions must have
                // gone to a live member.
                groups
                    .entry(group)
                    .or_default()
                    .extend(self.scenario.subscribed_partitions(index));
                continue;
            }
            // Records fetched but not yet returned by a poll are not processed either.
            let busy = slot
                .application
                .as_ref()
                .is_some_and(|application| !application.is_idle())
                || slot
                    .actor
                    .as_ref()
                    .and_then(NodeActor::consumer)
                    .is_some_and(watermark_broker_core::consumer::Consumer::has_records_for_poll);
            if busy {
                return Some(format!("{node} has not processed all it polled"));
            }
            if let Some(consumer) = slot.actor.as_ref().and_then(NodeActor::consumer) {
                owned
                    .entry(group.clone())
                    .or_default()
                    .extend(consumer.assignment());
            }
            groups
                .entry(group)
                .or_default()
                .extend(self.scenario.subscribed_partitions(index));
        }
        for (group, partitions) in &groups {
            let owned = owned.get(group);
            if let Some(partition) = partitions
                .iter()
                .find(|partition| !owned.is_some_and(|owned| owned.contains(partition)))
            {
                return Some(format!("group {group} has no member owning {partition}"));
            }
        }
        None
    }

    /// Whether `node` is a consume-transform-produce process whose loop a fatal error
    /// (its producer fenced) closed: Kafka's loop closes its clients and the process is
    /// done, so it is not waited for.
    fn closed_pipeline(&self, node: NodeId) -> bool {
        matches!(
            self.nodes.get(&node).and_then(|slot| slot.application.as_ref()),
            Some(Application::Pipeline(pipeline)) if pipeline.is_closed()
        )
    }

    fn consumer_assigned(&self, node: NodeId, partition: TopicPartition) -> bool {
        let NodeId::Consumer(client) = node else {
            return false;
        };
        self.scenario
            .consumer_assignment(client.0 as usize)
            .contains(&partition)
    }

    /// What the replicas hold at the end: per partition, the data records below the high
    /// watermark of the leader (or, without one, of the live replica with the highest high
    /// watermark). Control records (transaction markers) are left out: no consumer is
    /// handed them, and `final_transactions` lists them.
    pub fn final_logs(&self) -> BTreeMap<TopicPartition, Vec<(Offset, u64)>> {
        self.read_final_logs(crate::checkers::final_data_records)
    }

    /// Per partition of the final logs that holds a transactional record, its markers and
    /// the records a read_committed reader never sees (`checkers/final_transactions.rs`).
    pub fn final_transactions(&self) -> BTreeMap<TopicPartition, FinalTransactions> {
        self.read_final_logs(|records| {
            if records.iter().any(|record| record.is_transactional) {
                Some(FinalTransactions::from_records(records))
            } else {
                None
            }
        })
        .into_iter()
        .filter_map(|(partition, transactions)| Some((partition, transactions?)))
        .collect()
    }

    /// Per partition whose records were deleted (DeleteRecords), the largest log start
    /// offset of any live replica: the records below it were deleted on purpose.
    pub fn final_log_start_offsets(&self) -> BTreeMap<TopicPartition, Offset> {
        let view = self.cluster_view();
        self.scenario
            .all_partitions()
            .into_iter()
            .filter_map(|partition| {
                let deleted_before = view
                    .live_brokers()
                    .into_iter()
                    .filter_map(|broker| view.replica(broker, partition))
                    .map(|replica| replica.log_start_offset)
                    .max()?;
                (deleted_before > Offset(0)).then_some((partition, deleted_before))
            })
            .collect()
    }

    /// `read` applied to each partition's final committed records (see `final_logs`).
    fn read_final_logs<T: Default>(
        &self,
        read: impl Fn(&[Record]) -> T,
    ) -> BTreeMap<TopicPartition, T> {
        let view = self.cluster_view();
        let mut logs = BTreeMap::new();
        for partition in self.scenario.all_partitions() {
            let leader = self
                .leader_of(partition)
                .filter(|leader| view.replica(*leader, partition).is_some());
            let chosen = leader.or_else(|| {
                view.live_brokers()
                    .into_iter()
                    .filter_map(|broker| {
                        view.replica(broker, partition)
                            .map(|replica| (replica.high_watermark, broker))
                    })
                    .max()
                    .map(|(_, broker)| broker)
            });
            let read = chosen
                .and_then(|broker| view.replica(broker, partition))
                .map(|replica| {
                    let committed = replica
                        .records
                        .partition_point(|record| record.offset < replica.high_watermark);
                    read(&replica.records[..committed])
                })
                .unwrap_or_default();
            logs.insert(partition, read);
        }
        logs
    }
}
