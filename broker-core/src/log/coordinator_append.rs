//! A transactional batch appended by a coordinator hosted on this broker (Kafka's
//! `appendAsLeader` with origin COORDINATOR, which the group coordinator uses for the offsets
//! of a TxnOffsetCommit, KIP-98). The batch carries its producer's id and epoch, so it opens
//! or joins the producer's transaction on the offsets partition and its marker ends it; but
//! unlike a client's batch it is not checked for sequence or duplicates (Kafka's
//! `ProducerAppendInfo` checks sequences only for origin CLIENT): only an older producer
//! epoch is refused, INVALID_PRODUCER_EPOCH.

use super::producer_state::producer_batch_of_request;
use super::Log;
use crate::error::ErrorCode;
use crate::ids::{LeaderEpoch, Offset};
use crate::record::{ProducerRecord, Record};
use crate::storage::Storage;

impl Log {
    /// Appends `records` (every one stamped by the same producer and epoch) as one
    /// transactional batch at the log end offset, in `leader_epoch`. Returns its base and
    /// last offsets, `None` for an empty batch.
    pub fn append_coordinator_batch_as_leader(
        &mut self,
        storage: &mut dyn Storage,
        leader_epoch: LeaderEpoch,
        records: &[ProducerRecord],
    ) -> Result<Option<(Offset, Offset)>, ErrorCode> {
        self.changed_since_check = true;
        let base_offset = self.log_end_offset();
        let Some(batch) = producer_batch_of_request(records, base_offset, true)? else {
            return Ok(None);
        };
        if let Some(entry) = self.producer_state.entry(batch.producer_id) {
            if batch.producer_epoch < entry.producer_epoch {
                return Err(ErrorCode::InvalidProducerEpoch);
            }
        }
        if let Some(last_epoch) = self.last_record_epoch() {
            assert!(
                leader_epoch >= last_epoch,
                "{}: coordinator append in {leader_epoch} after a record of {last_epoch}",
                self.file_name
            );
        }
        let stamped: Vec<Record> = records
            .iter()
            .enumerate()
            .map(|(index, record)| Record {
                is_transactional: true,
                ..Record::stamped(record, Offset(base_offset.0 + index as u64), leader_epoch)
            })
            .collect();
        self.epoch_cache.assign(storage, leader_epoch, base_offset);
        self.producer_state.append_data_batch(&batch);
        self.write_records(storage, stamped);
        Ok(Some((base_offset, batch.last_offset)))
    }
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorCode;
    use crate::ids::{LeaderEpoch, Offset, PartitionId, ProducerId};
    use crate::log::Log;
    use crate::record::{ProducerRecord, ProducerStamp};
    use crate::storage::MemoryStorage;
    use crate::topic::{TopicName, TopicPartition};

    fn batch(producer_epoch: u16) -> Vec<ProducerRecord> {
        let stamp = ProducerStamp {
            producer_id: ProducerId(7),
            producer_epoch,
            sequence: 0,
            base_sequence: 0,
        };
        vec![ProducerRecord {
            producer_stamp: Some(stamp),
            ..ProducerRecord::application(1, None)
        }]
    }

    #[test]
    fn coordinator_batches_of_one_epoch_are_all_appended_and_an_older_epoch_is_refused() {
        let partition =
            TopicPartition::new(TopicName::from_static("__consumer_offsets"), PartitionId(0));
        let mut storage = MemoryStorage::default();
        let (mut log, _) = Log::recover(partition, &mut storage, None, None);
        let epoch = LeaderEpoch(0);
        // The same sequence twice: a client's retry would be a duplicate, a coordinator's
        // batch is not checked for it.
        let first = log.append_coordinator_batch_as_leader(&mut storage, epoch, &batch(3));
        let second = log.append_coordinator_batch_as_leader(&mut storage, epoch, &batch(3));
        assert_eq!(first, Ok(Some((Offset(0), Offset(0)))));
        assert_eq!(second, Ok(Some((Offset(1), Offset(1)))));
        assert!(log.records().iter().all(|record| record.is_transactional));
        assert_eq!(
            log.append_coordinator_batch_as_leader(&mut storage, epoch, &batch(2)),
            Err(ErrorCode::InvalidProducerEpoch)
        );
    }
}
