//! The oracle behind the `hanging-transaction-opened` mark (KAFKA-14402). A partition
//! leader cannot know what the transaction coordinator knows; the simulator can. When a
//! leader opens a transaction without verification (`no-transaction-verification`), the
//! coordinator that serves the transactional id at the newest coordinator epoch is asked
//! whether that producer's transaction is ongoing with this partition in it. If not, no
//! marker is coming for what was just opened (or the next transaction's marker will end it),
//! which is the hanging transaction Kafka 3.6 closed with KIP-890 part 1.

use watermark_broker_core::broker::Broker;
use watermark_broker_core::event::Event;
use watermark_broker_core::transaction::TransactionState;

/// Whether `event` opened a transaction its coordinator knows nothing of. `false` for any
/// other event, and when no broker coordinates the transactional id right now (nothing to
/// compare against).
pub(crate) fn opens_hanging_transaction<'a>(
    brokers: impl Iterator<Item = &'a Broker>,
    event: &Event,
) -> bool {
    let Event::TransactionOpenedWithoutVerification {
        partition,
        transactional_id,
        producer,
        producer_epoch,
        ..
    } = event
    else {
        return false;
    };
    let newest = brokers
        .filter_map(|broker| broker.coordinated_transaction(transactional_id))
        .max_by_key(|(coordinator_epoch, _)| *coordinator_epoch);
    let Some((_, metadata)) = newest else {
        return false;
    };
    let ongoing_here = metadata.state == TransactionState::Ongoing
        && metadata.producer_id == *producer
        && metadata.producer_epoch == Some(*producer_epoch)
        && metadata.partitions.contains(partition);
    !ongoing_here
}

#[cfg(test)]
mod tests {
    use super::*;
    use watermark_broker_core::ids::{
        Offset, PartitionId, ProducerEpoch, ProducerId, TransactionalId,
    };
    use watermark_broker_core::topic::{TopicName, TopicPartition};

    #[test]
    fn without_a_coordinator_to_ask_nothing_is_called_hanging() {
        let event = Event::TransactionOpenedWithoutVerification {
            partition: TopicPartition::new(TopicName::from_static("events"), PartitionId(0)),
            transactional_id: TransactionalId("t".into()),
            producer: ProducerId(1000),
            producer_epoch: ProducerEpoch(0),
            offset: Offset(3),
        };
        assert!(!opens_hanging_transaction(std::iter::empty(), &event));
    }
}
