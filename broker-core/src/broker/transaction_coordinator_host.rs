//! How a broker hosts its transaction coordinator (Kafka's `TransactionCoordinator` as
//! `BrokerServer` wires it): transaction requests and marker answers handed to it, its
//! timers fired, lost broker connections reported, and after every step the coordinator
//! kept in line with the broker's leaderships: it loads a `__transaction_state` partition
//! this broker now leads (again, if its leader epoch changed) and unloads one it no longer
//! leads; its appends are made through [`Broker::append_local`] and their completions
//! handed back.

use super::Broker;
use crate::actor::Effect;
use crate::ids::{BrokerId, LeaderEpoch, NodeId, TransactionalId};
use crate::protocol::Message;
use crate::topic::TopicPartition;
use crate::transaction::{
    TransactionContext, TransactionCoordinator, TransactionMetadata, TransactionTimer,
};
use crate::transaction_state_topic::{transaction_partition, transaction_state_topic};

impl Broker {
    /// The transaction coordinator with the parts of the broker it may use.
    fn with_transactions<T>(
        &mut self,
        now_ms: u64,
        effects: &mut Vec<Effect>,
        act: impl FnOnce(&mut TransactionCoordinator, &mut TransactionContext<'_>) -> T,
    ) -> T {
        let mut context = TransactionContext {
            now_ms,
            broker: self.id,
            broker_epoch: self.broker_epoch,
            config: &self.config,
            bugs: self.bugs,
            metadata: &self.metadata,
            producer_ids: &mut self.producer_ids,
            next_correlation: &mut self.next_correlation,
            timers: &mut self.timers,
            effects,
        };
        act(&mut self.transactions, &mut context)
    }

    /// What this broker's transaction coordinator holds for `transactional_id`, with the
    /// coordinator epoch of its partition, while that partition is loaded here (for tools
    /// and the simulator's oracles; a broker coordinating a partition it no longer leads
    /// has an older epoch than its successor).
    pub fn coordinated_transaction(
        &self,
        transactional_id: &TransactionalId,
    ) -> Option<(LeaderEpoch, &TransactionMetadata)> {
        let partition = transaction_partition(
            transactional_id,
            self.config.transaction_state_log_num_partitions,
        );
        let (_, epoch) = self
            .transactions
            .loaded_partitions()
            .into_iter()
            .find(|(loaded, _)| *loaded == partition)?;
        Some((epoch, self.transactions.transaction(transactional_id)?))
    }

    /// A request for the transaction coordinator, or a leader's answer to its markers.
    pub(super) fn on_transaction_request(
        &mut self,
        now_ms: u64,
        from: NodeId,
        message: Message,
        effects: &mut Vec<Effect>,
    ) {
        self.with_transactions(now_ms, effects, |coordinator, context| {
            coordinator.handle_request(context, from, message)
        });
    }

    pub(super) fn on_transaction_timer(
        &mut self,
        now_ms: u64,
        timer: TransactionTimer,
        effects: &mut Vec<Effect>,
    ) {
        self.with_transactions(now_ms, effects, |coordinator, context| {
            coordinator.on_timer(context, timer)
        });
    }

    pub(super) fn on_transaction_broker_connection_closed(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        effects: &mut Vec<Effect>,
    ) {
        self.with_transactions(now_ms, effects, |coordinator, context| {
            coordinator.on_broker_connection_closed(context, broker)
        });
    }

    /// Keeps the transaction coordinator in line with this step: loads and unloads, appends
    /// and their completions. Each round either makes appends or hands back completions, and
    /// a completion asks for at most one append (the Complete state after the last marker),
    /// so the loop ends.
    pub(super) fn drive_transaction_coordinator(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        self.sync_transaction_leadership(now_ms, effects);
        loop {
            for (append, timeout_ms) in self.transactions.take_appends() {
                effects.extend(self.append_local(
                    now_ms,
                    append.partition,
                    append.waiter,
                    &append.records,
                    timeout_ms,
                ));
            }
            let mine = self.take_local_completions_owned_by(TransactionCoordinator::owns);
            if mine.is_empty() {
                return;
            }
            self.with_transactions(now_ms, effects, |coordinator, context| {
                for completion in mine {
                    coordinator.on_append_completed(context, completion);
                }
            });
        }
    }

    /// Loads every transaction log partition this broker leads and the coordinator does not
    /// serve at its current leader epoch, and unloads every one it serves but no longer
    /// leads at that epoch.
    fn sync_transaction_leadership(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        if self.transaction_coordinator_synced_at == Some(self.leadership_changes) {
            // No replica's leadership moved since the last sync, which left loaded = led.
            debug_assert_eq!(
                self.led_transaction_partitions(),
                self.transactions.loaded_partitions()
            );
            return;
        }
        self.transaction_coordinator_synced_at = Some(self.leadership_changes);
        let led = self.led_transaction_partitions();
        let loaded = self.transactions.loaded_partitions();
        // Both lists are sorted by partition (map order), and usually the same.
        if led == loaded {
            return;
        }
        for (partition, _) in Broker::missing_from(&loaded, &led) {
            self.with_transactions(now_ms, effects, |coordinator, context| {
                coordinator.unload(context, *partition)
            });
        }
        for (partition, epoch) in Broker::missing_from(&led, &loaded) {
            let records = self.partitions[partition].log().records().to_vec();
            self.with_transactions(now_ms, effects, |coordinator, context| {
                coordinator.load(context, *partition, *epoch, &records)
            });
        }
    }

    /// The transaction log partitions this broker leads, with their leader epochs, in
    /// partition order.
    fn led_transaction_partitions(&self) -> Vec<(TopicPartition, LeaderEpoch)> {
        self.replicas_of_topic(transaction_state_topic())
            .filter(|(_, replica)| replica.is_leader())
            .filter_map(|(partition, replica)| Some((*partition, replica.leader_epoch()?)))
            .collect()
    }
}
