//! A broker process (Kafka's `BrokerServer` + `ReplicaManager`, reduced): it recovers its
//! partitions' logs on start, registers and heartbeats with the controller, applies metadata
//! images, routes requests to its [`Partition`]s, and runs the broker-wide timers (controller
//! contact, the high-watermark checkpoint, the ISR shrink check).
//!
//! Invariants, asserted after every `handle`: each log keeps
//! `log_start_offset ≤ high_watermark ≤ log_end_offset`, and every deadline the broker reports
//! is strictly after the time of the step that produced it (so a Tick always makes progress).

use crate::actor::{Actor, Effect, Input};
use crate::bugs::BugSwitches;
use crate::config::{BrokerConfig, TopicConfig};
use crate::error::ErrorCode;
use crate::event::{Event, TruncationReason};
use crate::ids::{BrokerEpoch, BrokerId, CorrelationId, NodeId, Offset, PartitionId};
use crate::leader_epoch::LeaderEpochCache;
use crate::log::Log;
use crate::metadata::MetadataImage;
use crate::partition::{answer_produce, Context, Partition};
use crate::protocol::{Acks, Message};
use crate::replica_view::ReplicaView;
use crate::storage::Storage;
use std::collections::BTreeMap;

/// The file holding every partition's high watermark (Kafka's
/// `replication-offset-checkpoint`), replaced and synced every
/// `high_watermark_checkpoint_interval_ms`.
pub const HIGH_WATERMARK_CHECKPOINT_FILE: &str = "replication-offset-checkpoint";

/// One broker.
pub struct Broker {
    id: BrokerId,
    incarnation: u64,
    config: BrokerConfig,
    topic: TopicConfig,
    bugs: BugSwitches,
    storage: Box<dyn Storage>,
    /// Whether `Input::Start` has come; nothing happens before it.
    started: bool,
    /// The epoch of the controller's latest accepted registration; `None` while registering.
    broker_epoch: Option<BrokerEpoch>,
    /// When to send the next registration (unregistered) or heartbeat (registered).
    next_controller_contact_ms: u64,
    metadata: MetadataImage,
    partitions: BTreeMap<PartitionId, Partition>,
    next_correlation: u64,
    next_high_watermark_checkpoint_ms: u64,
    next_isr_shrink_check_ms: u64,
}

impl Broker {
    /// `incarnation` increases on every process start (used in BrokerRegistration).
    pub fn new(
        broker: BrokerId,
        incarnation: u64,
        config: BrokerConfig,
        topic: TopicConfig,
        bugs: BugSwitches,
        storage: Box<dyn Storage>,
    ) -> Broker {
        Broker {
            id: broker,
            incarnation,
            config,
            topic,
            bugs,
            storage,
            started: false,
            broker_epoch: None,
            next_controller_contact_ms: 0,
            metadata: MetadataImage::default(),
            partitions: BTreeMap::new(),
            next_correlation: 0,
            next_high_watermark_checkpoint_ms: 0,
            next_isr_shrink_check_ms: 0,
        }
    }

    pub fn broker_id(&self) -> BrokerId {
        self.id
    }

    /// None if this broker holds no replica of the partition (no log and no metadata for it).
    pub fn replica_view(&self, partition: PartitionId) -> Option<ReplicaView<'_>> {
        self.partitions.get(&partition).map(Partition::view)
    }

    /// The partition's replica, for tests and tools that need more than the view.
    pub fn partition(&self, partition: PartitionId) -> Option<&Partition> {
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
    ) -> (Context<'a>, &'a mut BTreeMap<PartitionId, Partition>) {
        let Broker {
            id,
            config,
            topic,
            bugs,
            storage,
            broker_epoch,
            metadata,
            partitions,
            next_correlation,
            ..
        } = self;
        let context = Context {
            now_ms,
            local: *id,
            broker_epoch: *broker_epoch,
            config,
            topic,
            bugs: *bugs,
            live_brokers: &metadata.live_brokers,
            storage: &mut **storage,
            next_correlation,
            effects,
        };
        (context, partitions)
    }

    // ---------------------------------------------------------------------------------------
    // Start and recovery
    // ---------------------------------------------------------------------------------------

    fn start(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        self.started = true;
        self.broker_epoch = None;
        self.metadata = MetadataImage::default();
        self.partitions.clear();
        let checkpoint = self.read_high_watermark_checkpoint();
        let candidates = (0..self.topic.partitions)
            .map(PartitionId)
            .chain(checkpoint.keys().copied());
        let flush_interval_messages = self.topic.flush_interval_messages;
        for partition in candidates {
            if self.partitions.contains_key(&partition) {
                continue;
            }
            let has_files = !self.storage.read(&Log::file_name(partition)).is_empty()
                || !self
                    .storage
                    .read(&LeaderEpochCache::file_name(partition))
                    .is_empty()
                || checkpoint.contains_key(&partition);
            if !has_files {
                continue;
            }
            let (log, truncation) = Log::recover(
                partition,
                self.storage.as_mut(),
                checkpoint.get(&partition).copied(),
                flush_interval_messages,
            );
            if let Some(truncation) = truncation {
                effects.push(Effect::Event(Event::LogTruncated {
                    partition,
                    from_log_end_offset: truncation.from_log_end_offset,
                    to_offset: truncation.to_offset,
                    reason: TruncationReason::Recovery,
                }));
                effects.push(Effect::Mark("truncated_on_recovery"));
            }
            effects.push(Effect::Event(Event::LogRecovered {
                partition,
                log_end_offset: log.log_end_offset(),
                high_watermark: log.high_watermark(),
                latest_epoch: log.latest_epoch(),
            }));
            self.partitions.insert(partition, Partition::new(log));
        }
        self.send_registration(effects);
        self.next_controller_contact_ms = now_ms + self.heartbeat_interval_ms();
        self.next_high_watermark_checkpoint_ms =
            now_ms + self.config.high_watermark_checkpoint_interval_ms.max(1);
        self.next_isr_shrink_check_ms = now_ms + self.isr_shrink_check_interval_ms();
    }

    fn read_high_watermark_checkpoint(&self) -> BTreeMap<PartitionId, Offset> {
        let bytes = self.storage.read(HIGH_WATERMARK_CHECKPOINT_FILE);
        let stored: BTreeMap<u32, u64> = if bytes.is_empty() {
            BTreeMap::new()
        } else {
            serde_json::from_slice(&bytes).unwrap_or_default()
        };
        stored
            .into_iter()
            .map(|(partition, offset)| (PartitionId(partition), Offset(offset)))
            .collect()
    }

    fn write_high_watermark_checkpoint(&mut self) {
        let stored: BTreeMap<u32, u64> = self
            .partitions
            .iter()
            .map(|(partition, replica)| (partition.0, replica.log().high_watermark().0))
            .collect();
        let bytes = serde_json::to_vec(&stored).expect("a map of integers serialises");
        self.storage.replace(HIGH_WATERMARK_CHECKPOINT_FILE, &bytes);
        self.storage.sync(HIGH_WATERMARK_CHECKPOINT_FILE);
    }

    fn heartbeat_interval_ms(&self) -> u64 {
        self.config.broker_heartbeat_interval_ms.max(1)
    }

    /// Kafka runs its ISR-expiration task every `replica.lag.time.max.ms / 2`.
    fn isr_shrink_check_interval_ms(&self) -> u64 {
        (self.config.replica_lag_time_max_ms / 2).max(1)
    }

    // ---------------------------------------------------------------------------------------
    // Controller
    // ---------------------------------------------------------------------------------------

    fn send_registration(&mut self, effects: &mut Vec<Effect>) {
        effects.push(Effect::Send {
            to: NodeId::Controller,
            message: Message::BrokerRegistration {
                broker: self.id,
                incarnation: self.incarnation,
            },
        });
    }

    fn contact_controller(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        match self.broker_epoch {
            None => self.send_registration(effects),
            Some(broker_epoch) => effects.push(Effect::Send {
                to: NodeId::Controller,
                message: Message::BrokerHeartbeat {
                    broker: self.id,
                    broker_epoch,
                    metadata_version: self.metadata.version,
                },
            }),
        }
        self.next_controller_contact_ms = now_ms + self.heartbeat_interval_ms();
    }

    /// Applies a metadata image if it is newer than the one applied, partition by partition.
    fn apply_metadata(&mut self, now_ms: u64, image: MetadataImage, effects: &mut Vec<Effect>) {
        if image.version <= self.metadata.version && self.metadata.version > 0 {
            return;
        }
        let local = self.id;
        let flush_interval_messages = self.topic.flush_interval_messages;
        let states: Vec<_> = image
            .partitions
            .values()
            .filter(|state| state.replicas.contains(&local))
            .cloned()
            .collect();
        self.metadata = image;
        let (mut context, partitions) = self.split(now_ms, effects);
        for state in states {
            let replica = partitions.entry(state.partition).or_insert_with(|| {
                let (log, _) =
                    Log::recover(state.partition, context.storage, None, flush_interval_messages);
                Partition::new(log)
            });
            replica.apply_partition_state(&mut context, &state);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Messages
    // ---------------------------------------------------------------------------------------

    fn on_message(&mut self, now_ms: u64, from: NodeId, message: Message, effects: &mut Vec<Effect>) {
        let from_controller = from == NodeId::Controller;
        match message {
            Message::BrokerRegistrationResponse {
                broker_epoch,
                metadata,
            } if from_controller => {
                self.broker_epoch = Some(broker_epoch);
                self.next_controller_contact_ms = now_ms + self.heartbeat_interval_ms();
                self.apply_metadata(now_ms, metadata, effects);
            }
            Message::BrokerHeartbeatResponse { result, metadata } if from_controller => {
                if result == Err(ErrorCode::StaleBrokerEpoch) {
                    self.broker_epoch = None;
                    self.contact_controller(now_ms, effects);
                } else if let Some(metadata) = metadata {
                    self.apply_metadata(now_ms, metadata, effects);
                }
            }
            Message::MetadataUpdate { metadata } if from_controller => {
                self.apply_metadata(now_ms, metadata, effects);
            }
            Message::AlterPartitionResponse { partition, result } if from_controller => {
                let (mut context, partitions) = self.split(now_ms, effects);
                if let Some(replica) = partitions.get_mut(&partition) {
                    replica.handle_alter_partition_response(&mut context, result);
                }
            }
            Message::MetadataRequest { correlation } => {
                effects.push(Effect::Send {
                    to: from,
                    message: Message::MetadataResponse {
                        correlation,
                        metadata: self.metadata.clone(),
                    },
                });
            }
            Message::ProduceRequest {
                correlation,
                partition,
                acks,
                timeout_ms,
                records,
            } => {
                let (mut context, partitions) = self.split(now_ms, effects);
                match partitions.get_mut(&partition) {
                    Some(replica) => replica.handle_produce(
                        &mut context,
                        from,
                        correlation,
                        acks,
                        timeout_ms,
                        &records,
                    ),
                    None if acks != Acks::None => answer_produce(
                        &mut context,
                        partition,
                        from,
                        correlation,
                        acks,
                        None,
                        Err(ErrorCode::NotLeaderOrFollower),
                    ),
                    None => {}
                }
            }
            Message::ListOffsetsRequest {
                correlation,
                partition,
                spec,
            } => {
                let result = match self.partitions.get(&partition) {
                    Some(replica) => replica.handle_list_offsets(spec),
                    None => Err(ErrorCode::NotLeaderOrFollower),
                };
                effects.push(Effect::Send {
                    to: from,
                    message: Message::ListOffsetsResponse {
                        correlation,
                        partition,
                        result,
                    },
                });
            }
            Message::FetchRequest {
                correlation,
                partition,
                replica,
                current_leader_epoch,
                fetch_offset,
                last_fetched_epoch: _,
                max_records,
                max_wait_ms,
            } => {
                let (mut context, partitions) = self.split(now_ms, effects);
                match partitions.get_mut(&partition) {
                    Some(local) => local.handle_fetch(
                        &mut context,
                        from,
                        correlation,
                        replica,
                        current_leader_epoch,
                        fetch_offset,
                        max_records,
                        max_wait_ms,
                    ),
                    None => effects.push(Effect::Send {
                        to: from,
                        message: Message::FetchResponse {
                            correlation,
                            partition,
                            result: Err(ErrorCode::NotLeaderOrFollower),
                        },
                    }),
                }
            }
            Message::FetchResponse {
                correlation,
                partition,
                result,
            } => {
                let (mut context, partitions) = self.split(now_ms, effects);
                if let Some(replica) = partitions.get_mut(&partition) {
                    replica.handle_fetch_response(&mut context, from, correlation, result);
                }
            }
            Message::OffsetsForLeaderEpochRequest {
                correlation,
                partition,
                replica: _,
                current_leader_epoch,
                leader_epoch,
            } => {
                let (mut context, partitions) = self.split(now_ms, effects);
                let result = match partitions.get(&partition) {
                    Some(replica) => replica.handle_offsets_for_leader_epoch(
                        &mut context,
                        current_leader_epoch,
                        leader_epoch,
                    ),
                    None => Err(ErrorCode::NotLeaderOrFollower),
                };
                respond(effects, from, correlation, partition, result);
            }
            Message::OffsetsForLeaderEpochResponse {
                correlation,
                partition,
                result,
            } => {
                let (mut context, partitions) = self.split(now_ms, effects);
                if let Some(replica) = partitions.get_mut(&partition) {
                    replica.handle_offsets_for_leader_epoch_response(
                        &mut context,
                        from,
                        correlation,
                        result,
                    );
                }
            }
            // Requests only the controller serves, responses only clients expect, and
            // controller messages from anyone but the controller: ignored.
            _ => {}
        }
    }

    // ---------------------------------------------------------------------------------------
    // Timers
    // ---------------------------------------------------------------------------------------

    fn on_tick(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        if now_ms >= self.next_controller_contact_ms {
            self.contact_controller(now_ms, effects);
        }
        if now_ms >= self.next_high_watermark_checkpoint_ms {
            self.write_high_watermark_checkpoint();
            self.next_high_watermark_checkpoint_ms =
                now_ms + self.config.high_watermark_checkpoint_interval_ms.max(1);
        }
        let shrink_check = now_ms >= self.next_isr_shrink_check_ms;
        if shrink_check {
            self.next_isr_shrink_check_ms = now_ms + self.isr_shrink_check_interval_ms();
        }
        let (mut context, partitions) = self.split(now_ms, effects);
        for replica in partitions.values_mut() {
            if shrink_check {
                replica.maybe_shrink_isr(&mut context);
            }
            replica.on_timers(&mut context);
        }
    }

    fn check_invariants(&self, now_ms: u64, after_tick: bool) {
        for replica in self.partitions.values() {
            replica.log().check_invariants();
        }
        // A message may arrive after a deadline passed and before its Tick, so only a Tick
        // must leave every deadline in the future.
        if let Some(deadline_ms) = self.next_deadline_ms().filter(|_| after_tick) {
            assert!(
                deadline_ms > now_ms,
                "{}: next deadline {deadline_ms} is not after now {now_ms}: a Tick would spin",
                self.id
            );
        }
    }
}

fn respond(
    effects: &mut Vec<Effect>,
    to: NodeId,
    correlation: CorrelationId,
    partition: PartitionId,
    result: Result<crate::protocol::EpochEndOffset, ErrorCode>,
) {
    effects.push(Effect::Send {
        to,
        message: Message::OffsetsForLeaderEpochResponse {
            correlation,
            partition,
            result,
        },
    });
}

impl Actor for Broker {
    fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Effect> {
        let mut effects = Vec::new();
        let after_tick = input == Input::Tick;
        match input {
            Input::Start => self.start(now_ms, &mut effects),
            Input::Tick if self.started => self.on_tick(now_ms, &mut effects),
            Input::Message { from, message } if self.started => {
                self.on_message(now_ms, from, message, &mut effects)
            }
            Input::Tick | Input::Message { .. } => {}
        }
        self.check_invariants(now_ms, after_tick);
        effects
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        if !self.started {
            return None;
        }
        let broker_timers = [
            self.next_controller_contact_ms,
            self.next_high_watermark_checkpoint_ms,
            self.next_isr_shrink_check_ms,
        ];
        let partition_timers = self
            .partitions
            .values()
            .filter_map(|replica| replica.next_deadline_ms(&self.config));
        broker_timers.into_iter().chain(partition_timers).min()
    }
}
