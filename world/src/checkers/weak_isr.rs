//! `WeakIsr`, as the TLA+ specification of Kafka's replication protocol defines it
//! (`hachikuji/kafka-specification`, `KafkaReplication.tla`, `WeakIsr`): for every replica
//! that presumes leadership, every member of the ISR *as that leader sees it* holds the same
//! record as the leader at every offset below the leader's high watermark. The specification
//! calls it weak because leaders are elected from the controller's ISR, not the leader's
//! view (`StrongIsr` judges that one).
//!
//! Members are judged as in `StrongIsr`: only while their current process is in service
//! (registered and acting on a metadata image of its own); offsets below a member's log
//! start offset are not judged. Checked when it can change, at the cost of the records
//! concerned: when a presumed leader's high watermark advances from `a` to `b`, `[a, b)` on
//! every member of its view; when its view grows (`IsrUpdated`), the whole prefix below its
//! high watermark on the members added. One violation per (partition, member, offset);
//! values are `[leader's]` or `[leader's, member's]`.

use super::replica_compare::{IsrCheck, IsrContent};
use super::{is_leader, ClusterView};
use crate::checkers::registry::Checker;
use crate::violation::Violation;
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{BrokerId, NodeId, Offset};

pub const NAME: Checker = Checker::WeakIsr;

#[derive(Debug)]
pub(crate) struct WeakIsr {
    content: IsrContent,
}

impl Default for WeakIsr {
    fn default() -> Self {
        WeakIsr {
            content: IsrContent::new(NAME, "its own ISR"),
        }
    }
}

impl WeakIsr {
    pub fn observe(
        &mut self,
        time_ms: u64,
        node: NodeId,
        event: &Event,
        cluster: &dyn ClusterView,
        out: &mut Vec<Violation>,
    ) {
        let NodeId::Broker(leader) = node else { return };
        let (partition, members, from, to, when) = match event {
            Event::HighWatermarkUpdated {
                partition,
                from,
                to,
            } if to > from => (*partition, None, *from, *to, "high watermark advanced"),
            Event::IsrUpdated {
                partition,
                from: previous,
                to: isr,
            } => {
                let added: Vec<BrokerId> = isr
                    .iter()
                    .filter(|member| !previous.contains(member))
                    .copied()
                    .collect();
                let Some(replica) = cluster.replica(leader, *partition) else {
                    return;
                };
                (
                    *partition,
                    Some(added),
                    Offset(0),
                    replica.high_watermark,
                    "the leader's ISR grew",
                )
            }
            _ => return,
        };
        if !is_leader(cluster, leader, partition) {
            return;
        }
        let Some(replica) = cluster.replica(leader, partition) else {
            return;
        };
        let check = IsrCheck {
            time_ms,
            partition,
            leader,
            isr: replica.isr,
            members: members.as_deref().unwrap_or(replica.isr),
            from,
            to,
            when,
        };
        self.content.check(&check, cluster, out);
    }
}

#[cfg(test)]
#[path = "weak_isr_tests.rs"]
mod tests;
