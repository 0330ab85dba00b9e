//! How a broker hosts its group coordinator (Kafka's `GroupCoordinatorService` on top of the
//! `CoordinatorRuntime`): FindCoordinator answered from the metadata image, group requests
//! handed to the coordinator, its timers fired, and after every step the coordinator kept
//! in line with the broker's leaderships: it loads an offsets partition this broker now
//! leads and unloads one it no longer leads, its appends are made through
//! [`Broker::append_local`], their completions handed back, and the high watermarks of its
//! partitions passed on.

use super::transaction_verification::{AfterVerification, VerificationRequest};
use super::Broker;
use crate::actor::Effect;
use crate::config::BrokerConfig;
use crate::coordinator::{
    CoordinatorAppend, CoordinatorContext, CoordinatorTimer, GroupCoordinator,
};
use crate::error::ErrorCode;
use crate::ids::{NodeId, Offset, ProducerId};
use crate::log::record_batch::ControlRecordType;
use crate::offsets_topic::{consumer_offsets_topic, group_partition, CONSUMER_OFFSETS_TOPIC};
use crate::partition::LocalCompletion;
use crate::protocol::{CoordinatorKey, FindCoordinatorResponse, Message};
use crate::topic::TopicPartition;
use crate::transaction_state_topic::transaction_partition;

impl Broker {
    /// The coordinator with the parts of the broker it may use.
    fn with_coordinator<T>(
        &mut self,
        now_ms: u64,
        effects: &mut Vec<Effect>,
        act: impl FnOnce(&mut GroupCoordinator, &mut CoordinatorContext<'_>) -> T,
    ) -> T {
        let mut context = CoordinatorContext {
            now_ms,
            broker: self.id,
            incarnation: self.incarnation,
            config: &self.config,
            bugs: self.bugs,
            timers: &mut self.timers,
            effects,
        };
        act(&mut self.coordinator, &mut context)
    }

    pub(super) fn on_coordinator_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        message: Message,
        effects: &mut Vec<Effect>,
    ) {
        if let Message::FindCoordinator(request) = message {
            // Any broker answers from its metadata image: the leader of the key's partition
            // (of `__consumer_offsets` for a group, of `__transaction_state` for a
            // transactional id), or COORDINATOR_NOT_AVAILABLE while it has none (Kafka's
            // answer too while it creates a missing internal topic).
            let partition = coordinator_partition(&request.key, &self.config);
            let result = self
                .metadata
                .partition(partition)
                .and_then(|state| state.leader)
                .ok_or(ErrorCode::CoordinatorNotAvailable);
            effects.push(Effect::Send {
                to: from,
                message: Message::FindCoordinatorResponse(FindCoordinatorResponse {
                    correlation: request.correlation,
                    key: request.key,
                    result,
                }),
            });
            return;
        }
        self.with_coordinator(now_ms, effects, |coordinator, context| {
            coordinator.handle_request(context, from, message)
        });
    }

    pub(super) fn on_coordinator_timer(
        &mut self,
        now_ms: u64,
        timer: CoordinatorTimer,
        effects: &mut Vec<Effect>,
    ) {
        self.with_coordinator(now_ms, effects, |coordinator, context| {
            coordinator.on_timer(context, timer)
        });
    }

    /// Keeps the coordinator in line with this step: loads and unloads, appends, their
    /// completions and high watermarks. Each round either makes appends or hands back
    /// completions, and a completion never asks for more than one append per answered
    /// request, so the loop ends.
    pub(super) fn drive_coordinator(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        self.sync_coordinator_leadership(now_ms, effects);
        loop {
            for append in self.coordinator.take_appends() {
                let timeout_ms = self.config.offsets_commit_timeout_ms;
                if append.is_transactional() {
                    self.verify_then_append_transactional(now_ms, append, timeout_ms, effects);
                    continue;
                }
                effects.extend(self.append_local(
                    now_ms,
                    append.partition,
                    append.waiter,
                    &append.records,
                    timeout_ms,
                ));
            }
            let high_watermarks = Self::replicas_in(&self.partitions, consumer_offsets_topic())
                .map(|(partition, replica)| (*partition, replica.log().high_watermark()));
            self.coordinator.on_high_watermarks(high_watermarks);
            let mine = self.take_local_completions_owned_by(GroupCoordinator::owns);
            if mine.is_empty() {
                return;
            }
            self.with_coordinator(now_ms, effects, |coordinator, context| {
                for completion in mine {
                    coordinator.on_append_completed(context, completion);
                }
            });
        }
    }

    /// A coordinator's transactional append: verified with the transaction coordinator
    /// first (KIP-890, as Kafka's `handleTxnOffsetCommitRequest` does for the offsets
    /// partition), unless `no-transaction-verification` turns verification off.
    fn verify_then_append_transactional(
        &mut self,
        now_ms: u64,
        append: CoordinatorAppend,
        timeout_ms: u64,
        effects: &mut Vec<Effect>,
    ) {
        let verification = append
            .transaction
            .clone()
            .filter(|_| !self.bugs.no_transaction_verification);
        match verification {
            Some(transaction) => self.verify_transaction_then(
                now_ms,
                VerificationRequest {
                    transactional_id: transaction.transactional_id,
                    producer: transaction.producer,
                    transaction_version: transaction.transaction_version,
                },
                AfterVerification::CoordinatorAppend { append, timeout_ms },
                effects,
            ),
            None => self.append_local_transactional(now_ms, &append, timeout_ms, effects),
        }
    }

    /// A group coordinator's verified transactional append: its TxnOffsetCommit is checked
    /// against the group again before the write, as Kafka checks it in the verification's
    /// callback. Returns whether to append.
    pub(super) fn revalidate_coordinator_append(
        &mut self,
        now_ms: u64,
        append: &CoordinatorAppend,
        effects: &mut Vec<Effect>,
    ) -> bool {
        self.with_coordinator(now_ms, effects, |coordinator, context| {
            coordinator.revalidate_txn_commit(context, append.waiter)
        })
    }

    /// A coordinator's transactional append (a TxnOffsetCommit's records): as
    /// [`Broker::append_local`], as one transactional batch of the producer that stamped the
    /// records.
    pub(super) fn append_local_transactional(
        &mut self,
        now_ms: u64,
        append: &CoordinatorAppend,
        timeout_ms: u64,
        effects: &mut Vec<Effect>,
    ) {
        let (mut context, partitions) = self.split(now_ms, effects);
        match partitions.get_mut(&append.partition) {
            Some(replica) => replica.append_local_transactional(
                &mut context,
                append.waiter,
                &append.records,
                timeout_ms,
            ),
            None => context.local_completions.push(LocalCompletion {
                partition: append.partition,
                waiter: append.waiter,
                result: Err(ErrorCode::NotLeaderOrFollower),
            }),
        }
        self.check_invariants(now_ms, false);
    }

    /// A transaction marker of `producer` was committed at `marker_offset` on `partition`:
    /// the group coordinator learns of it when `partition` is an offsets partition it
    /// serves (Kafka's `KafkaApis.handleWriteTxnMarkersRequest` hands markers on
    /// `__consumer_offsets` to the group coordinator).
    pub(super) fn on_offsets_txn_marker(
        &mut self,
        now_ms: u64,
        partition: TopicPartition,
        (producer, result): (ProducerId, ControlRecordType),
        marker_offset: Offset,
        effects: &mut Vec<Effect>,
    ) {
        if partition.topic.as_str() != CONSUMER_OFFSETS_TOPIC {
            return;
        }
        self.with_coordinator(now_ms, effects, |coordinator, context| {
            coordinator.on_txn_marker(context, partition, producer, result, marker_offset)
        });
    }

    /// Loads every offsets partition this broker leads and the coordinator does not serve
    /// yet, and unloads every one it serves but no longer leads.
    fn sync_coordinator_leadership(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        if self.group_coordinator_synced_at == Some(self.leadership_changes) {
            // No replica's leadership moved since the last sync, which left loaded = led.
            debug_assert_eq!(
                self.led_offsets_partitions(),
                self.coordinator.loaded_partitions()
            );
            return;
        }
        self.group_coordinator_synced_at = Some(self.leadership_changes);
        let led = self.led_offsets_partitions();
        let loaded = self.coordinator.loaded_partitions();
        // Both lists are sorted (map order), and usually the same.
        if led == loaded {
            return;
        }
        for partition in Broker::missing_from(&loaded, &led) {
            self.with_coordinator(now_ms, effects, |coordinator, context| {
                coordinator.unload(context, *partition)
            });
        }
        for partition in Broker::missing_from(&led, &loaded) {
            let replica = &self.partitions[partition];
            let records = replica.log().records().to_vec();
            let high_watermark = replica.log().high_watermark();
            self.with_coordinator(now_ms, effects, |coordinator, context| {
                coordinator.load(context, *partition, &records, high_watermark)
            });
        }
    }

    /// The offsets partitions this broker leads, in partition order.
    fn led_offsets_partitions(&self) -> Vec<TopicPartition> {
        self.replicas_of_topic(consumer_offsets_topic())
            .filter(|(_, replica)| replica.is_leader())
            .map(|(partition, _)| *partition)
            .collect()
    }
}

/// The internal partition whose leader coordinates `key` (Kafka's `KafkaApis`
/// `handleFindCoordinator`: `partitionFor` of the group or of the transactional id).
fn coordinator_partition(key: &CoordinatorKey, config: &BrokerConfig) -> TopicPartition {
    match key {
        CoordinatorKey::Group(group) => group_partition(group, config.offsets_topic_num_partitions),
        CoordinatorKey::Transaction(transactional_id) => transaction_partition(
            transactional_id,
            config.transaction_state_log_num_partitions,
        ),
    }
}
