//! A broker process (Kafka's `BrokerServer` + `ReplicaManager`, reduced): a host for the
//! replicas (and, later, the coordinators) it serves. It recovers its partitions' logs on
//! start, registers and heartbeats with the controller, applies metadata images
//! (`lifecycle.rs`), routes each request to what serves it (`routing.rs`), checkpoints high
//! watermarks (`high_watermark_checkpoint.rs`), hands out producer ids
//! (`producer_id_host.rs`, `producer_id_manager.rs`), and keeps one table of named timers
//! for itself and its partitions.
//!
//! Invariants, asserted after every `handle`: each log keeps
//! `log_start_offset ≤ high_watermark ≤ log_end_offset`, and every deadline the broker reports
//! after its timers fired is strictly after the time of that step (so timers always make
//! progress).

mod coordinator_host;
mod delete_records;
mod high_watermark_checkpoint;
mod lifecycle;
mod log_start_offset_checkpoint;
mod producer_id_host;
pub mod producer_id_manager;
mod routing;
mod shutdown;
#[cfg(test)]
mod tests;
mod transaction_coordinator_host;
pub mod transaction_verification;
mod txn_markers;

pub use high_watermark_checkpoint::HIGH_WATERMARK_CHECKPOINT_FILE;
pub use shutdown::{ShutdownState, CLEAN_SHUTDOWN_FILE};

use crate::actor::{Actor, Effect, Input, Timer};
use crate::bugs::BugSwitches;
use crate::config::{BrokerConfig, TopicConfig};
use crate::coordinator::{CoordinatorTimer, GroupCoordinator};
use crate::error::ErrorCode;
use crate::ids::{BrokerEpoch, BrokerId, NodeId};
use crate::mark::Mark;
use crate::metadata::MetadataImage;
use crate::partition::{Context, LocalCompletion, LocalWaiter, Partition, PartitionTimer};
use crate::record::ProducerRecord;
use crate::replica_view::ReplicaView;
use crate::storage::Storage;
use crate::timer::TimerTable;
use crate::topic::TopicName;
use crate::topic::TopicPartition;
use crate::transaction::{TransactionCoordinator, TransactionTimer};
use producer_id_manager::ProducerIdManager;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The broker's named deadlines, its partitions' included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum BrokerTimer {
    /// The next registration attempt (unregistered) or heartbeat (registered).
    ControllerContact,
    /// The next write of `replication-offset-checkpoint`.
    HighWatermarkCheckpoint,
    /// Kafka's ISR-expiration task, every `replica_lag_time_max_ms / 2`.
    IsrShrinkCheck,
    /// A controlled shutdown the controller has not let through by then stops anyway.
    ControlledShutdownTimeout,
    Partition(TopicPartition, PartitionTimer),
    /// A deadline of the group coordinator this broker hosts.
    Coordinator(CoordinatorTimer),
    /// The outstanding AllocateProducerIds is given up on, or the backoff after a refused
    /// or lost one ends: the request for the next producer-id block goes again.
    ProducerIdBlockRequest,
    /// A deadline of the transaction coordinator this broker hosts.
    Transaction(TransactionTimer),
    /// The transaction verification sent with this correlation id is given up on
    /// (`request.timeout.ms`) and its held request fails.
    TransactionVerificationTimeout(u64),
}

impl fmt::Display for BrokerTimer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerTimer::ControllerContact => formatter.write_str("controller-contact"),
            BrokerTimer::HighWatermarkCheckpoint => {
                formatter.write_str("high-watermark-checkpoint")
            }
            BrokerTimer::IsrShrinkCheck => formatter.write_str("isr-shrink-check"),
            BrokerTimer::ControlledShutdownTimeout => {
                formatter.write_str("controlled-shutdown-timeout")
            }
            BrokerTimer::Partition(partition, timer) => write!(formatter, "{partition} {timer}"),
            BrokerTimer::Coordinator(timer) => write!(formatter, "{timer}"),
            BrokerTimer::ProducerIdBlockRequest => formatter.write_str("producer-id-block-request"),
            BrokerTimer::Transaction(timer) => write!(formatter, "{timer}"),
            BrokerTimer::TransactionVerificationTimeout(correlation) => {
                write!(formatter, "transaction-verification-timeout-{correlation}")
            }
        }
    }
}

/// One broker.
pub struct Broker {
    id: BrokerId,
    incarnation: u64,
    config: BrokerConfig,
    /// Every topic's settings, by name (Kafka brokers learn them from the metadata log;
    /// here they are the scenario's, fixed for the run).
    topics: BTreeMap<TopicName, TopicConfig>,
    bugs: BugSwitches,
    storage: Box<dyn Storage>,
    /// Whether `Input::Start` has come; nothing happens before it.
    started: bool,
    /// The epoch of the controller's latest accepted registration; `None` while registering.
    broker_epoch: Option<BrokerEpoch>,
    /// The epoch the previous process wrote into its clean-shutdown marker (`None` after an
    /// unclean shutdown), sent with every registration of this process (KIP-966).
    previous_broker_epoch: Option<BrokerEpoch>,
    /// Running, in a controlled shutdown, or stopped.
    shutdown: ShutdownState,
    metadata: MetadataImage,
    partitions: BTreeMap<TopicPartition, Partition>,
    timers: TimerTable<BrokerTimer>,
    next_correlation: u64,
    next_delayed_operation: u64,
    /// Local appends that completed and wait to be picked up by their waiter.
    local_completions: Vec<LocalCompletion>,
    /// The group coordinator for the offsets partitions this broker leads.
    coordinator: GroupCoordinator,
    /// The producer ids this process may hand out, from blocks the controller allocated.
    producer_ids: ProducerIdManager,
    /// WriteTxnMarkers requests waiting for their marker appends (`txn_markers.rs`).
    txn_marker_writes: txn_markers::TxnMarkerWrites,
    /// The transaction coordinator for the transaction log partitions this broker leads.
    transactions: TransactionCoordinator,
    /// Transactional requests held while the transaction coordinator verifies them
    /// (`transaction_verification.rs`).
    transaction_verifications: transaction_verification::TransactionVerifications,
    /// Counts the moments a replica may have become or stopped being leader, or taken a new
    /// leader epoch as leader (`Partition::make_leader`, `make_follower`, the replicas
    /// cleared at start). The coordinator hosts re-derive which internal partitions they
    /// lead only when it moved: deriving it after every step was a tenth of a
    /// consumer-group run (issue 13's profile).
    leadership_changes: u64,
    /// `leadership_changes` when the group coordinator host last synced its partitions.
    group_coordinator_synced_at: Option<u64>,
    /// `leadership_changes` when the transaction coordinator host last synced.
    transaction_coordinator_synced_at: Option<u64>,
}

impl Broker {
    /// `incarnation` increases on every process start (used in BrokerRegistration).
    pub fn new(
        broker: BrokerId,
        incarnation: u64,
        config: BrokerConfig,
        topics: Vec<TopicConfig>,
        bugs: BugSwitches,
        storage: Box<dyn Storage>,
    ) -> Broker {
        Broker {
            id: broker,
            incarnation,
            config,
            topics: topics
                .into_iter()
                .map(|topic| (topic.name, topic))
                .collect(),
            bugs,
            storage,
            started: false,
            broker_epoch: None,
            previous_broker_epoch: None,
            shutdown: ShutdownState::Running,
            metadata: MetadataImage::default(),
            partitions: BTreeMap::new(),
            timers: TimerTable::default(),
            next_correlation: 0,
            next_delayed_operation: 0,
            local_completions: Vec::new(),
            coordinator: GroupCoordinator::default(),
            producer_ids: ProducerIdManager::default(),
            txn_marker_writes: txn_markers::TxnMarkerWrites::default(),
            transactions: TransactionCoordinator::default(),
            transaction_verifications: Default::default(),
            leadership_changes: 0,
            group_coordinator_synced_at: None,
            transaction_coordinator_synced_at: None,
        }
    }

    pub fn broker_id(&self) -> BrokerId {
        self.id
    }

    /// None if this broker holds no replica of the partition (no log and no metadata for it).
    pub fn replica_view(&self, partition: TopicPartition) -> Option<ReplicaView<'_>> {
        self.partitions.get(&partition).map(Partition::view)
    }

    /// The partition's replica, for tests and tools that need more than the view.
    pub fn partition(&self, partition: TopicPartition) -> Option<&Partition> {
        self.partitions.get(&partition)
    }

    /// The broker epoch of the accepted registration, if any.
    pub fn broker_epoch(&self) -> Option<BrokerEpoch> {
        self.broker_epoch
    }

    /// The newest metadata image applied.
    pub fn metadata(&self) -> &MetadataImage {
        &self.metadata
    }

    /// The broker's disk.
    pub fn storage(&self) -> &dyn Storage {
        self.storage.as_ref()
    }

    /// Splits the broker into a partition context and the partitions, so a partition can act
    /// while the broker's other fields are borrowed for it.
    fn split<'a>(
        &'a mut self,
        now_ms: u64,
        effects: &'a mut Vec<Effect>,
    ) -> (Context<'a>, &'a mut BTreeMap<TopicPartition, Partition>) {
        let Broker {
            id,
            config,
            bugs,
            storage,
            broker_epoch,
            metadata,
            partitions,
            timers,
            next_correlation,
            next_delayed_operation,
            local_completions,
            leadership_changes,
            ..
        } = self;
        let context = Context {
            now_ms,
            local: *id,
            broker_epoch: *broker_epoch,
            config,
            bugs: *bugs,
            live_brokers: &metadata.live_brokers,
            broker_racks: &metadata.broker_racks,
            storage: &mut **storage,
            next_correlation,
            next_delayed_operation,
            timers,
            effects,
            local_completions,
            leadership_changes,
        };
        (context, partitions)
    }

    /// Handles the due timers in a fixed order: controller contact, the high-watermark
    /// checkpoint, then every partition in turn (its ISR shrink check when that timer fired,
    /// then its own timers), the coordinator's timers, and the producer-id block request.
    fn on_timers(&mut self, now_ms: u64, fired: &[BrokerTimer], effects: &mut Vec<Effect>) {
        // A fired timer is done; whatever still needs a deadline sets a new one.
        for timer in fired {
            self.timers.cancel(*timer);
        }
        if fired.contains(&BrokerTimer::ControlledShutdownTimeout) {
            self.on_controlled_shutdown_timeout(effects);
            if self.has_shut_down() {
                return;
            }
        }
        if fired.contains(&BrokerTimer::ControllerContact) {
            self.contact_controller(now_ms, effects);
        }
        if fired.contains(&BrokerTimer::HighWatermarkCheckpoint) {
            self.write_high_watermark_checkpoint();
            self.write_log_start_offset_checkpoint();
            self.timers.set(
                BrokerTimer::HighWatermarkCheckpoint,
                now_ms + self.config.high_watermark_checkpoint_interval_ms.max(1),
            );
        }
        let shrink_check = fired.contains(&BrokerTimer::IsrShrinkCheck);
        if shrink_check {
            self.timers.set(
                BrokerTimer::IsrShrinkCheck,
                now_ms + self.isr_shrink_check_interval_ms(),
            );
        }
        let (mut context, partitions) = self.split(now_ms, effects);
        for (id, replica) in partitions.iter_mut() {
            if shrink_check {
                replica.maybe_shrink_isr(&mut context);
            }
            let partition_fired: Vec<PartitionTimer> = fired
                .iter()
                .filter_map(|timer| match timer {
                    BrokerTimer::Partition(partition, timer) if partition == id => Some(*timer),
                    _ => None,
                })
                .collect();
            replica.on_timers(&mut context, &partition_fired);
        }
        for timer in fired {
            if let BrokerTimer::Coordinator(timer) = timer {
                self.on_coordinator_timer(now_ms, *timer, effects);
            }
        }
        if fired.contains(&BrokerTimer::ProducerIdBlockRequest) {
            self.on_producer_id_timer(now_ms, effects);
        }
        for timer in fired {
            if let BrokerTimer::Transaction(timer) = timer {
                self.on_transaction_timer(now_ms, *timer, effects);
            }
        }
        for timer in fired {
            if let BrokerTimer::TransactionVerificationTimeout(correlation) = timer {
                self.on_verification_timeout(now_ms, *correlation, effects);
            }
        }
    }

    /// The settings of `partition`'s topic; a topic the scenario did not declare (only a
    /// hostile peer names one) gets the defaults.
    /// The topic's settings as this broker applies them: a topic that does not set
    /// `flush.messages` takes the broker's `log.flush.interval.messages`, as Kafka's
    /// `LogConfig` resolves a topic config through its server synonym
    /// (`ServerTopicConfigSynonyms`).
    fn topic_config(&self, partition: TopicPartition) -> TopicConfig {
        let mut topic = self
            .topics
            .get(&partition.topic)
            .cloned()
            .unwrap_or_else(|| TopicConfig {
                name: partition.topic,
                ..TopicConfig::default()
            });
        topic.flush_interval_messages = topic
            .flush_interval_messages
            .or(self.config.log_flush_interval_messages);
        topic
    }

    /// Kafka runs its ISR-expiration task every `replica.lag.time.max.ms / 2`.
    fn isr_shrink_check_interval_ms(&self) -> u64 {
        (self.config.replica_lag_time_max_ms / 2).max(1)
    }

    /// Appends `records` to a partition this broker leads on behalf of something the broker
    /// hosts (a coordinator writing its internal topic). The outcome comes back through
    /// [`Broker::take_local_completions`] once the append is committed (the high watermark
    /// passed it), failed (not the leader, too few in-sync replicas, leadership lost) or
    /// timed out after `timeout_ms`.
    pub fn append_local(
        &mut self,
        now_ms: u64,
        partition: TopicPartition,
        waiter: LocalWaiter,
        records: &[ProducerRecord],
        timeout_ms: u64,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let (mut context, partitions) = self.split(now_ms, &mut effects);
        match partitions.get_mut(&partition) {
            Some(replica) => replica.append_local(&mut context, waiter, records, timeout_ms),
            None => context.local_completions.push(LocalCompletion {
                partition,
                waiter,
                result: Err(ErrorCode::NotLeaderOrFollower),
            }),
        }
        self.check_invariants(now_ms, false);
        effects
    }

    /// Local appends whose wait ended since the last call, for the coordinator that made
    /// them.
    pub fn take_local_completions(&mut self) -> Vec<LocalCompletion> {
        std::mem::take(&mut self.local_completions)
    }

    /// Takes the local completions whose waiter `owns` claims (each appender tags its
    /// waiters' tokens with a bit of its own), leaving the others for their owners.
    fn take_local_completions_owned_by(
        &mut self,
        owns: impl Fn(LocalWaiter) -> bool,
    ) -> Vec<LocalCompletion> {
        let (mine, others) = std::mem::take(&mut self.local_completions)
            .into_iter()
            .partition(|completion| owns(completion.waiter));
        self.local_completions = others;
        mine
    }

    /// The connection with `peer` closed. The controller's: the registration or heartbeat on
    /// it is lost, so contact the controller again after `reconnect_backoff_ms` (Kafka's
    /// `NodeToControllerRequestThread` puts a disconnected request back at the head of its
    /// queue and sends it once it reaches a controller again). A leader's: its followers
    /// here back off and fetch again. Clients' connections carry nothing the broker waits
    /// for.
    fn on_connection_closed(&mut self, now_ms: u64, peer: NodeId, effects: &mut Vec<Effect>) {
        match peer {
            NodeId::Controller => {
                effects.push(Effect::Mark(Mark::BrokerControllerConnectionClosed));
                self.on_producer_id_controller_connection_closed(now_ms, effects);
                let retry_ms = now_ms + self.config.reconnect_backoff_ms.max(1);
                let next_ms = self
                    .timers
                    .deadline_ms(BrokerTimer::ControllerContact)
                    .map_or(retry_ms, |at_ms| at_ms.min(retry_ms));
                self.timers.set(BrokerTimer::ControllerContact, next_ms);
            }
            NodeId::Broker(leader) => {
                let (mut context, partitions) = self.split(now_ms, effects);
                for replica in partitions.values_mut() {
                    replica.on_leader_connection_closed(&mut context, leader);
                }
                self.on_transaction_broker_connection_closed(now_ms, leader, effects);
                self.on_verification_connection_closed(now_ms, leader, effects);
            }
            NodeId::Producer(_) | NodeId::Consumer(_) => {}
        }
    }

    /// This broker's replicas of `topic`, in partition order. A range of the map, not a scan:
    /// the coordinators look up their internal topic's replicas after every step, and a scan
    /// of every replica was a tenth of a consumer-group run (issue 13's profile).
    fn replicas_of_topic(
        &self,
        topic: TopicName,
    ) -> std::collections::btree_map::Range<'_, TopicPartition, Partition> {
        Self::replicas_in(&self.partitions, topic)
    }

    /// [`Broker::replicas_of_topic`] of the replica map alone, so that the caller may borrow
    /// another field mutably meanwhile.
    fn replicas_in(
        partitions: &BTreeMap<TopicPartition, Partition>,
        topic: TopicName,
    ) -> std::collections::btree_map::Range<'_, TopicPartition, Partition> {
        let first = TopicPartition::new(topic, crate::ids::PartitionId(0));
        let last = TopicPartition::new(topic, crate::ids::PartitionId(u32::MAX));
        partitions.range(first..=last)
    }

    /// The items of `these` that `those` lacks, in order; both sorted (as a map's keys are),
    /// which makes each test a binary search. What the coordinator hosts load and unload.
    fn missing_from<'a, T: Ord>(these: &'a [T], those: &'a [T]) -> impl Iterator<Item = &'a T> {
        these
            .iter()
            .filter(move |item| those.binary_search(item).is_err())
    }

    fn check_invariants(&mut self, now_ms: u64, after_timers: bool) {
        for replica in self.partitions.values_mut() {
            replica.check_log_invariants();
        }
        // A message may arrive after a deadline passed and before its timers fire, so only fired timers
        // must leave every deadline in the future.
        if let Some(deadline_ms) = self.next_deadline_ms().filter(|_| after_timers) {
            assert!(
                deadline_ms > now_ms,
                "{}: next deadline {deadline_ms} is not after now {now_ms}: its timers would spin",
                self.id
            );
        }
    }
}

impl Actor for Broker {
    fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Effect> {
        let mut effects = Vec::new();
        let after_timers = matches!(input, Input::Timers(_));
        match input {
            Input::Start => self.start(now_ms, &mut effects),
            _ if self.has_shut_down() => {}
            Input::Timers(fired) if self.started => {
                let fired: Vec<BrokerTimer> = fired
                    .into_iter()
                    .filter_map(|timer| match timer {
                        Timer::Broker(timer) => Some(timer),
                        _ => None,
                    })
                    .collect();
                self.on_timers(now_ms, &fired, &mut effects);
            }
            Input::Message { from, message } if self.started => {
                self.on_message(now_ms, from, message, &mut effects)
            }
            Input::ConnectionClosed { peer } if self.started => {
                self.on_connection_closed(now_ms, peer, &mut effects)
            }
            Input::Timers(_)
            | Input::Message { .. }
            | Input::ConnectionClosed { .. }
            | Input::ConnectionEstablished { .. } => {}
        }
        if self.started && !self.has_shut_down() {
            self.drive_coordinator(now_ms, &mut effects);
            self.answer_txn_markers(now_ms, &mut effects);
            self.drive_transaction_coordinator(now_ms, &mut effects);
        }
        self.check_invariants(now_ms, after_timers);
        effects
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        self.timers.next_deadline_ms()
    }

    fn due_timers(&self, now_ms: u64) -> Vec<Timer> {
        self.timers.due(now_ms).map(Timer::Broker).collect()
    }
}
