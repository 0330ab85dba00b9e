//! `StrongIsr`, as the TLA+ specification of Kafka's replication protocol defines it
//! (`hachikuji/kafka-specification`, `KafkaReplication.tla`, `StrongIsr`): for every replica
//! that presumes leadership, every member of the *true* ISR — the controller's,
//! `quorumState.isr` — holds the same record as that leader at every offset below the
//! leader's high watermark. So whatever a consumer may have read survives on any broker the
//! controller may elect next.
//!
//! The specification has no crashes and no power loss. A broker that restarted may have lost
//! unflushed records and is not part of replication until its new process has registered and
//! acts on a metadata image it received since (then KIP-966, with eligible leader replicas,
//! has already taken it out of the ISR after an unclean shutdown); until then it is not
//! judged. Offsets below a member's log start offset are not judged either.
//!
//! Checked after every step where the property can change, each costing the records it
//! concerns: a presumed leader's high-watermark advance (`[from, to)` on every member); a
//! controller ISR change (`LeaderElected`, `IsrAltered`: the whole prefix below each presumed
//! leader's high watermark, for the members it added); a replica's role change
//! (`BecameLeader`: the new leader against every member; `BecameFollower`, which is also how a
//! restarted broker re-enters service: that member against every presumed leader); and a
//! member's truncation (`[cut, high watermark)` against every presumed leader). One
//! violation per (partition, member, offset); values are `[leader's]` or
//! `[leader's, member's]`.

use super::replica_compare::{presumed_leaders, IsrCheck, IsrContent};
use super::{is_leader, ClusterView};
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::BTreeMap;
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{BrokerId, NodeId, Offset};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::StrongIsr;

const ISR_NAME: &str = "the controller's ISR";

#[derive(Debug)]
pub(crate) struct StrongIsr {
    content: IsrContent,
    /// The controller's ISR as its last election or ISR change set it, to find added members.
    controller_isr: BTreeMap<TopicPartition, Vec<BrokerId>>,
}

impl Default for StrongIsr {
    fn default() -> Self {
        StrongIsr {
            content: IsrContent::new(NAME, ISR_NAME),
            controller_isr: BTreeMap::new(),
        }
    }
}

impl StrongIsr {
    pub fn observe(
        &mut self,
        time_ms: u64,
        node: NodeId,
        event: &Event,
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        match (node, event) {
            (
                NodeId::Broker(leader),
                Event::HighWatermarkUpdated {
                    partition,
                    from,
                    to,
                },
            ) if to > from && is_leader(cluster, leader, *partition) => {
                let isr = cluster.controller_isr(*partition).unwrap_or_default();
                let check = IsrCheck {
                    time_ms,
                    partition: *partition,
                    leader,
                    isr,
                    members: isr,
                    from: *from,
                    to: *to,
                    when: "high watermark advanced",
                };
                self.content.check(&check, cluster, out);
            }
            (
                NodeId::Controller,
                Event::LeaderElected { partition, isr, .. }
                | Event::IsrAltered { partition, isr, .. },
            ) => {
                let previous = self.controller_isr.insert(*partition, isr.clone());
                let added: Vec<BrokerId> = isr
                    .iter()
                    .filter(|member| !previous.as_ref().is_some_and(|old| old.contains(member)))
                    .copied()
                    .collect();
                self.against_presumed_leaders(time_ms, *partition, isr, &added, None, cluster, out);
            }
            (
                NodeId::Broker(broker),
                Event::BecameLeader { partition, .. } | Event::BecameFollower { partition, .. },
            ) => {
                let isr = cluster.controller_isr(*partition).unwrap_or_default();
                if is_leader(cluster, broker, *partition) {
                    self.check_prefix(time_ms, *partition, broker, isr, isr, None, cluster, out);
                }
                if isr.contains(&broker) {
                    self.against_presumed_leaders(
                        time_ms,
                        *partition,
                        isr,
                        &[broker],
                        None,
                        cluster,
                        out,
                    );
                }
            }
            (
                NodeId::Broker(member),
                Event::LogTruncated {
                    partition,
                    to_offset,
                    ..
                },
            ) => {
                let isr = cluster.controller_isr(*partition).unwrap_or_default();
                if isr.contains(&member) {
                    self.against_presumed_leaders(
                        time_ms,
                        *partition,
                        isr,
                        &[member],
                        Some(*to_offset),
                        cluster,
                        out,
                    );
                }
            }
            _ => {}
        }
    }

    /// Every presumed leader of `partition` against `members`, from `from` (the start when
    /// `None`) to that leader's high watermark.
    #[allow(clippy::too_many_arguments)]
    fn against_presumed_leaders(
        &mut self,
        time_ms: u64,
        partition: TopicPartition,
        isr: &[BrokerId],
        members: &[BrokerId],
        from: Option<Offset>,
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        if members.is_empty() {
            return;
        }
        for leader in presumed_leaders(cluster, partition) {
            self.check_prefix(time_ms, partition, leader, isr, members, from, cluster, out);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_prefix(
        &mut self,
        time_ms: u64,
        partition: TopicPartition,
        leader: BrokerId,
        isr: &[BrokerId],
        members: &[BrokerId],
        from: Option<Offset>,
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        let Some(leader_replica) = cluster.replica(leader, partition) else {
            return;
        };
        let (from, when) = match from {
            Some(cut) => (cut, "an ISR member cut its log"),
            None => (Offset(0), "ISR membership or leadership changed"),
        };
        let check = IsrCheck {
            time_ms,
            partition,
            leader,
            isr,
            members,
            from,
            to: leader_replica.high_watermark,
            when,
        };
        self.content.check(&check, cluster, out);
    }
}

#[cfg(test)]
#[path = "strong_isr_tests.rs"]
mod tests;
