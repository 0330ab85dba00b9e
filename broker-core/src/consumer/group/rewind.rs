//! The seek back to the committed offsets an exactly-once application makes after it
//! aborted a transaction (Kafka's `consumer.seek(partition, consumer.committed(partition))`
//! for every assigned partition, as the documented consume-transform-produce loop does):
//! the records of the aborted transaction are read again, from the last offsets committed
//! with a transaction.

use crate::consumer::fetcher::AssignedPartition;
use crate::consumer::Consumer;

impl Consumer {
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
