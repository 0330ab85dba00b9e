//! The broker's life cycle: recovery on start, registration and heartbeats with the
//! controller (KRaft's `BrokerLifecycleManager`), and applying the metadata images it pushes.

use super::{Broker, BrokerTimer, ShutdownState};
use crate::actor::Effect;
use crate::error::ErrorCode;
use crate::event::{Event, TruncationReason};
use crate::ids::{NodeId, PartitionId};
use crate::log::leader_epoch::LeaderEpochCache;
use crate::log::{Checkpoints, Log};
use crate::mark::Mark;
use crate::metadata::MetadataImage;
use crate::partition::{summaries, Partition};
use crate::protocol::{BrokerHeartbeatRequest, BrokerRegistrationRequest, Message};
use crate::topic::TopicPartition;

impl Broker {
    pub(super) fn start(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        self.started = true;
        self.broker_epoch = None;
        self.shutdown = ShutdownState::Running;
        self.metadata = MetadataImage::default();
        self.partitions.clear();
        self.leadership_changes += 1;
        self.timers.clear();
        self.coordinator = crate::coordinator::GroupCoordinator::default();
        // In memory only: a new process asks for a new block, and the ids left in the old
        // one are never handed out (the controller has moved past them).
        self.producer_ids = super::producer_id_manager::ProducerIdManager::default();
        let marker = self.take_clean_shutdown_marker();
        if marker.is_some() {
            effects.push(Effect::Mark(Mark::CleanShutdownRecoverySkipped));
        }
        self.previous_broker_epoch = marker.flatten();
        let checkpoint = self.read_high_watermark_checkpoint();
        let log_start_offsets = self.read_log_start_offset_checkpoint();
        let configured: Vec<TopicPartition> = self
            .topics
            .values()
            .flat_map(|topic| {
                (0..topic.partitions)
                    .map(|index| TopicPartition::new(topic.name, PartitionId(index)))
            })
            .collect();
        let candidates = configured.into_iter().chain(checkpoint.keys().copied());
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
            let topic = self.topic_config(partition);
            let checkpoints = Checkpoints {
                high_watermark: checkpoint.get(&partition).copied(),
                log_start_offset: log_start_offsets.get(&partition).copied(),
            };
            let (mut log, truncation) = Log::recover_from_checkpoints(
                partition,
                self.storage.as_mut(),
                checkpoints,
                topic.flush_interval_messages,
            );
            if self.bugs.reset_sequence_on_unknown_producer {
                log.set_pre_kip_360_producer_state(true);
            }
            if let Some(truncation) = truncation {
                effects.push(Effect::Event(Event::LogTruncated {
                    partition,
                    from_log_end_offset: truncation.from_log_end_offset,
                    to_offset: truncation.to_offset,
                    reason: TruncationReason::Recovery,
                }));
                effects.push(Effect::Mark(Mark::TruncatedOnRecovery));
            }
            effects.push(Effect::Event(Event::LogRecovered {
                partition,
                log_end_offset: log.log_end_offset(),
                high_watermark: log.high_watermark(),
                latest_epoch: log.latest_epoch(),
                records: summaries(log.records()),
            }));
            self.partitions
                .insert(partition, Partition::new(log, topic));
        }
        self.send_registration(effects);
        self.timers.set(
            BrokerTimer::ControllerContact,
            now_ms + self.heartbeat_interval_ms(),
        );
        self.timers.set(
            BrokerTimer::HighWatermarkCheckpoint,
            now_ms + self.config.high_watermark_checkpoint_interval_ms.max(1),
        );
        self.timers.set(
            BrokerTimer::IsrShrinkCheck,
            now_ms + self.isr_shrink_check_interval_ms(),
        );
    }

    pub(super) fn heartbeat_interval_ms(&self) -> u64 {
        self.config.broker_heartbeat_interval_ms.max(1)
    }

    pub(super) fn send_registration(&mut self, effects: &mut Vec<Effect>) {
        effects.push(Effect::Send {
            to: NodeId::Controller,
            message: Message::BrokerRegistration(BrokerRegistrationRequest {
                broker: self.id,
                incarnation: self.incarnation,
                previous_broker_epoch: self.previous_broker_epoch,
                rack: self.config.broker_rack.clone(),
            }),
        });
    }

    pub(super) fn contact_controller(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        match self.broker_epoch {
            None => self.send_registration(effects),
            Some(broker_epoch) => effects.push(Effect::Send {
                to: NodeId::Controller,
                message: Message::BrokerHeartbeat(BrokerHeartbeatRequest {
                    broker: self.id,
                    broker_epoch,
                    metadata_version: self.metadata.version,
                    // Log recovery is done by the time the broker registers, so it never
                    // asks to stay fenced; the controller still waits until it has applied
                    // the image of its registration.
                    want_fence: false,
                    want_shut_down: self.wants_shut_down(),
                }),
            }),
        }
        self.timers.set(
            BrokerTimer::ControllerContact,
            now_ms + self.heartbeat_interval_ms(),
        );
    }

    /// Applies a metadata image if it is newer than the one applied, partition by partition.
    pub(super) fn apply_metadata(
        &mut self,
        now_ms: u64,
        image: MetadataImage,
        effects: &mut Vec<Effect>,
    ) {
        if image.version <= self.metadata.version && self.metadata.version > 0 {
            return;
        }
        let local = self.id;
        let states: Vec<_> = image
            .partitions
            .values()
            .filter(|state| state.replicas.contains(&local))
            .map(|state| (state.clone(), self.topic_config(state.partition)))
            .collect();
        self.metadata = image;
        let (mut context, partitions) = self.split(now_ms, effects);
        for (state, topic) in states {
            let replica = partitions.entry(state.partition).or_insert_with(|| {
                let flush_interval_messages = topic.flush_interval_messages;
                let (mut log, _) = Log::recover(
                    state.partition,
                    context.storage,
                    None,
                    flush_interval_messages,
                );
                if context.bugs.reset_sequence_on_unknown_producer {
                    log.set_pre_kip_360_producer_state(true);
                }
                Partition::new(log, topic)
            });
            replica.apply_partition_state(&mut context, &state);
        }
    }

    /// Registration and heartbeat answers and metadata pushes from the controller.
    pub(super) fn on_controller_message(
        &mut self,
        now_ms: u64,
        message: Message,
        effects: &mut Vec<Effect>,
    ) {
        match message {
            Message::BrokerRegistrationResponse(response) => {
                // A refused registration (DuplicateBrokerRegistration: the previous
                // incarnation's session is still valid) is retried when the contact timer
                // fires again.
                let Ok(broker_epoch) = response.result else {
                    return;
                };
                self.broker_epoch = Some(broker_epoch);
                if let Some(metadata) = response.metadata {
                    self.apply_metadata(now_ms, metadata, effects);
                }
                // Kafka's `BrokerLifecycleManager` heartbeats at once after registering, so
                // the controller can unfence the broker as soon as it has caught up.
                self.contact_controller(now_ms, effects);
            }
            Message::BrokerHeartbeatResponse(response) => {
                if response.result == Err(ErrorCode::StaleBrokerEpoch) {
                    self.broker_epoch = None;
                    self.contact_controller(now_ms, effects);
                    return;
                }
                if let Some(metadata) = response.metadata {
                    self.apply_metadata(now_ms, metadata, effects);
                }
                if response.result.is_ok() {
                    self.on_shutdown_heartbeat_answer(now_ms, response.should_shut_down, effects);
                }
            }
            // Until this incarnation's registration is accepted the controller's pushes are
            // meant for the previous one (whose session it still honours): Kafka's broker
            // publishes no metadata to its replica manager before it has registered and
            // caught up, so a restarted broker cannot act on its predecessor's leaderships.
            Message::MetadataUpdate(update) if self.broker_epoch.is_some() => {
                self.apply_metadata(now_ms, update.metadata, effects)
            }
            _ => {}
        }
    }
}
