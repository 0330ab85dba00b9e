//! What an exactly-once application asks of its group consumer (KIP-447): its group
//! metadata, which its transactional producer sends with the offsets it commits, and the
//! seek back to the committed offsets after it aborted a transaction (Kafka's
//! `consumer.seek(partition, consumer.committed(partition))` for every assigned partition,
//! as the documented consume-transform-produce loop does): the records of the aborted
//! transaction are read again, from the last offsets committed with a transaction.

use crate::consumer::fetcher::AssignedPartition;
use crate::consumer::Consumer;
use crate::protocol::ConsumerGroupMetadata;

impl Consumer {
    /// `consumer.groupMetadata()`: the group, generation and member id of the current
    /// generation; `None` outside a group or before the consumer joined one.
    pub fn group_metadata(&self) -> Option<ConsumerGroupMetadata> {
        let group = self.group.as_ref()?;
        if group.generation.0 < 0 {
            return None;
        }
        Some(ConsumerGroupMetadata {
            group: group.group.clone(),
            generation: group.generation,
            member: group.member_id.clone(),
            group_instance_id: self.config.group_instance_id.clone(),
        })
    }

    /// Seeks every assigned partition back to its committed offset: the buffered and
    /// in-flight records are dropped and the committed offsets fetched again, as for a
    /// newly assigned partition.
    pub fn rewind_to_committed(&mut self) {
        if self.group.is_none() {
            return;
        }
        let assigned: Vec<_> = self.partitions.keys().copied().collect();
        for partition in assigned {
            self.drop_partition(partition);
            self.partitions
                .insert(partition, AssignedPartition::awaiting_committed());
            if let Some(group) = self.group.as_mut() {
                group.awaiting_committed.insert(partition);
            }
        }
        self.sync_group_timers();
    }
}
