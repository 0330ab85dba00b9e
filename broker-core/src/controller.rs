//! The controller: KRaft's active controller reduced to one topic (`QuorumController`,
//! `ReplicationControlManager`, `ClusterControlManager`, `BrokerHeartbeatManager`,
//! `PartitionChangeBuilder`).
//!
//! It registers brokers and hands out broker epochs, keeps a session per unfenced broker,
//! fences brokers whose session expires (or whose process restarted), elects partition
//! leaders, validates the leaders' AlterPartition proposals, and publishes every change as a
//! new [`MetadataImage`].
//!
//! Invariants, asserted after every input (see `controller_state.rs`): a partition's leader
//! is an unfenced ISR member; an ISR is never empty; `leader_epoch` bumps on every leader
//! change (including to no leader); `partition_epoch` bumps on every partition change; the
//! image version bumps with every published image; nothing is sent before the change it
//! reports is persisted (KRaft commits to its fsynced log before it answers).
//!
//! Timing: a session expires when `now_ms ≥ last heartbeat + broker_session_timeout_ms`
//! (`BrokerHeartbeatManager`: the session is valid while `last contact + timeout > now`).
//! Expiries and the end of the first-election grace are applied at the start of *every*
//! input, not only on `Tick`, so the outcome does not depend on whether a message or the
//! tick for the same instant is delivered first.

use crate::actor::{Actor, Effect, Input};
use crate::config::{ControllerConfig, TopicConfig};
use crate::controller_state::{BrokerRegistrationState, ControllerState, CONTROLLER_STATE_FILE};
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{BrokerEpoch, BrokerId, LeaderEpoch, NodeId, PartitionEpoch, PartitionId};
use crate::metadata::MetadataImage;
use crate::protocol::Message;
use crate::storage::Storage;
use std::collections::{BTreeMap, BTreeSet};

/// The KRaft-style active controller of the simulated cluster.
pub struct Controller {
    config: ControllerConfig,
    topic: TopicConfig,
    /// Every broker id of the cluster. Registrations from other ids are ignored: they could
    /// never be a replica.
    cluster_brokers: BTreeSet<BrokerId>,
    storage: Box<dyn Storage>,
    state: ControllerState,
    /// When each unfenced broker's session expires (its last heartbeat or registration plus
    /// `broker_session_timeout_ms`). Not persisted: a restarted controller gives every
    /// registered broker a fresh session, as a new KRaft leader does.
    session_expiry_ms: BTreeMap<BrokerId, u64>,
    /// Until this time, a partition that never had a leader waits for its preferred replica.
    /// `None` once the grace has passed (or before `Start`).
    first_election_grace_end_ms: Option<u64>,
    /// Set by `Input::Start`; inputs before it are ignored (the shell always starts with it).
    started: bool,
}

/// What one input changed, and what it produced so far.
#[derive(Default)]
struct Step {
    effects: Vec<Effect>,
    /// The image changed: bump its version, persist, push it to every unfenced broker.
    image_changed: bool,
    /// Something durable changed (a broker epoch, a partition, the image): persist.
    state_changed: bool,
}

impl Step {
    fn event(&mut self, event: Event) {
        self.effects.push(Effect::Event(event));
    }

    fn mark(&mut self, name: &'static str) {
        self.effects.push(Effect::Mark(name));
    }
}

/// The answer to the request being handled. It is built after the change is committed, so a
/// registration or heartbeat reply carries the image with its final version.
enum Reply {
    Registration {
        broker: BrokerId,
        broker_epoch: BrokerEpoch,
    },
    Heartbeat {
        broker: BrokerId,
        result: Result<(), ErrorCode>,
        metadata_version: u64,
    },
    AlterPartition {
        broker: BrokerId,
        partition: PartitionId,
        result: Result<(), ErrorCode>,
    },
}

/// A leader choice (`PartitionChangeBuilder.BestLeader`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LeaderChoice {
    leader: BrokerId,
    /// Chosen from outside the ISR.
    unclean: bool,
}

impl Controller {
    /// `brokers`: every broker id in the cluster (sorted or not; sorted internally).
    pub fn new(
        config: ControllerConfig,
        topic: TopicConfig,
        brokers: Vec<BrokerId>,
        storage: Box<dyn Storage>,
    ) -> Controller {
        let cluster_brokers: BTreeSet<BrokerId> = brokers.into_iter().collect();
        let sorted: Vec<BrokerId> = cluster_brokers.iter().copied().collect();
        let state = ControllerState::new_topic(topic.partitions, topic.replication_factor, &sorted);
        Controller {
            config,
            topic,
            cluster_brokers,
            storage,
            state,
            session_expiry_ms: BTreeMap::new(),
            first_election_grace_end_ms: None,
            started: false,
        }
    }

    /// The current image (what it would push now).
    pub fn metadata(&self) -> &MetadataImage {
        &self.state.image
    }

    fn session_timeout_ms(&self) -> u64 {
        self.config.broker_session_timeout_ms
    }

    /// Loads the state from storage, or persists a freshly created topic on a first start.
    /// Every registered, unfenced broker gets a fresh session (KRaft's new active controller
    /// does the same: it cannot know when brokers last heartbeated its predecessor).
    fn start(&mut self, now_ms: u64, step: &mut Step) {
        self.started = true;
        self.session_expiry_ms.clear();
        let bytes = self.storage.read(CONTROLLER_STATE_FILE);
        // `replace` is atomic (old or new content, never a mix), so a file that does not
        // decode means the disk model broke its contract: an invariant, not an input.
        match ControllerState::decode(&bytes) {
            Ok(Some(state)) => {
                self.state = state;
                let expiry_ms = now_ms.saturating_add(self.session_timeout_ms());
                for registration in self.state.brokers.values() {
                    if !registration.fenced {
                        self.session_expiry_ms
                            .insert(registration.broker, expiry_ms);
                    }
                }
                step.mark("controller_recovered");
            }
            Ok(None) => step.state_changed = true,
            Err(error) => panic!("controller cannot recover: {error}"),
        }
        self.first_election_grace_end_ms = Some(now_ms.saturating_add(self.session_timeout_ms()));
    }

    /// Fences every broker whose session has expired by `now_ms`, in broker order.
    fn maybe_fence_expired_brokers(&mut self, now_ms: u64, step: &mut Step) {
        let expired: Vec<BrokerId> = self
            .session_expiry_ms
            .iter()
            .filter(|(_, expiry_ms)| **expiry_ms <= now_ms)
            .map(|(broker, _)| *broker)
            .collect();
        for broker in expired {
            self.fence_broker(broker, step);
        }
    }

    fn maybe_end_first_election_grace(&mut self, now_ms: u64) {
        if self
            .first_election_grace_end_ms
            .is_some_and(|grace_end_ms| grace_end_ms <= now_ms)
        {
            self.first_election_grace_end_ms = None;
        }
    }

    /// Fences `broker` (`ReplicationControlManager.handleBrokerFenced`): it leaves every ISR
    /// except where it is the last member (so a clean election can still happen when it
    /// returns), and every partition it led elects a new leader or goes offline.
    fn fence_broker(&mut self, broker: BrokerId, step: &mut Step) {
        let Some(registration) = self.state.brokers.get_mut(&broker) else {
            return;
        };
        if registration.fenced {
            return;
        }
        registration.fenced = true;
        self.session_expiry_ms.remove(&broker);
        self.state.refresh_live_brokers();
        step.image_changed = true;
        step.state_changed = true;
        step.event(Event::BrokerFenced { broker });
        step.mark("broker_fenced");

        let partitions: Vec<PartitionId> = self.state.image.partitions.keys().copied().collect();
        for partition in partitions {
            let current = self.state.image.partitions[&partition].clone();
            let leads = current.leader == Some(broker);
            if !leads && !current.isr.contains(&broker) {
                continue;
            }
            let mut isr: Vec<BrokerId> = current
                .isr
                .iter()
                .copied()
                .filter(|member| *member != broker)
                .collect();
            if isr.is_empty() {
                isr = current.isr.clone();
            }
            let isr_shrunk = isr.len() < current.isr.len();
            if leads {
                match self.choose_leader(&current.replicas, &isr) {
                    Some(choice) => self.elect(partition, choice, isr, step),
                    None => self.apply_partition_change(partition, None, isr, false, step),
                }
            } else {
                self.apply_partition_change(partition, current.leader, isr, false, step);
            }
            if isr_shrunk {
                step.mark("isr_shrunk_by_controller");
            }
        }
    }

    /// The best leader from `isr` and the unfenced replicas, in replica order: the first
    /// unfenced ISR member (clean), else, when `unclean_leader_election_enable`, the first
    /// unfenced replica (unclean), else none (`PartitionChangeBuilder.BestLeader`).
    fn choose_leader(&self, replicas: &[BrokerId], isr: &[BrokerId]) -> Option<LeaderChoice> {
        let clean = replicas
            .iter()
            .find(|replica| isr.contains(replica) && self.state.is_unfenced(**replica));
        if let Some(leader) = clean {
            return Some(LeaderChoice {
                leader: *leader,
                unclean: false,
            });
        }
        if !self.topic.unclean_leader_election_enable {
            return None;
        }
        replicas
            .iter()
            .find(|replica| self.state.is_unfenced(**replica))
            .map(|leader| LeaderChoice {
                leader: *leader,
                unclean: true,
            })
    }

    /// Makes `choice` the leader. An unclean leader's ISR becomes just itself: the others
    /// may hold records it lacks, and it cannot know which (this is where data is lost).
    fn elect(
        &mut self,
        partition: PartitionId,
        choice: LeaderChoice,
        isr: Vec<BrokerId>,
        step: &mut Step,
    ) {
        let isr = if choice.unclean {
            vec![choice.leader]
        } else {
            isr
        };
        self.apply_partition_change(partition, Some(choice.leader), isr, choice.unclean, step);
    }

    /// Elects a leader for every partition that has none and can get one. A partition that
    /// never had a leader waits for its preferred replica until the first-election grace
    /// has passed; after that, and for every partition that lost its leader, the usual rule
    /// applies (clean from the ISR, else unclean if enabled).
    fn maybe_elect_offline_partitions(&mut self, step: &mut Step) {
        let partitions: Vec<PartitionId> = self.state.image.partitions.keys().copied().collect();
        for partition in partitions {
            let current = self.state.image.partitions[&partition].clone();
            if current.leader.is_some() {
                continue;
            }
            let never_elected = current.leader_epoch == LeaderEpoch(0);
            let choice = if never_elected && self.first_election_grace_end_ms.is_some() {
                current
                    .replicas
                    .first()
                    .filter(|preferred| {
                        current.isr.contains(preferred) && self.state.is_unfenced(**preferred)
                    })
                    .map(|preferred| LeaderChoice {
                        leader: *preferred,
                        unclean: false,
                    })
            } else {
                self.choose_leader(&current.replicas, &current.isr)
            };
            if let Some(choice) = choice {
                self.elect(partition, choice, current.isr.clone(), step);
            }
        }
    }

    /// Applies one partition change (`PartitionChangeRecord`): bumps the leader epoch if the
    /// leader changes and the partition epoch if anything changes; reports it with
    /// `LeaderElected` (leader changed) or `IsrAltered` (ISR only). No change, no effect.
    fn apply_partition_change(
        &mut self,
        partition: PartitionId,
        leader: Option<BrokerId>,
        isr: Vec<BrokerId>,
        unclean: bool,
        step: &mut Step,
    ) {
        let Some(state) = self.state.image.partitions.get_mut(&partition) else {
            return;
        };
        let leader_changed = state.leader != leader;
        if !leader_changed && state.isr == isr {
            return;
        }
        if leader_changed {
            state.leader_epoch = state.leader_epoch.next();
        }
        state.leader = leader;
        state.isr = isr;
        state.partition_epoch = PartitionEpoch(state.partition_epoch.0 + 1);
        assert!(
            state
                .leader
                .into_iter()
                .all(|leader| state.isr.contains(&leader)),
            "leader not in ISR after a change: {state:?}"
        );
        assert!(!state.isr.is_empty(), "empty ISR after a change: {state:?}");
        let (leader_epoch, isr, partition_epoch) =
            (state.leader_epoch, state.isr.clone(), state.partition_epoch);
        step.image_changed = true;
        step.state_changed = true;
        if leader_changed {
            step.event(Event::LeaderElected {
                partition,
                leader,
                leader_epoch,
                isr,
                partition_epoch,
                unclean,
            });
            step.mark(match (leader, unclean) {
                (None, _) => "partition_offline",
                (Some(_), false) => "clean_election",
                (Some(_), true) => "unclean_election",
            });
        } else {
            step.event(Event::IsrAltered {
                partition,
                isr,
                partition_epoch,
            });
        }
    }

    fn handle_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        message: Message,
        step: &mut Step,
    ) -> Option<Reply> {
        match message {
            Message::BrokerRegistration {
                broker,
                incarnation,
            } if from == NodeId::Broker(broker) => {
                self.handle_registration(now_ms, broker, incarnation, step)
            }
            Message::BrokerHeartbeat {
                broker,
                broker_epoch,
                metadata_version,
            } if from == NodeId::Broker(broker) => {
                Some(self.handle_heartbeat(now_ms, broker, broker_epoch, metadata_version))
            }
            Message::AlterPartition {
                broker,
                broker_epoch,
                partition,
                leader_epoch,
                partition_epoch,
                new_isr,
            } if from == NodeId::Broker(broker) => {
                let result = self.validate_alter_partition(
                    broker,
                    broker_epoch,
                    partition,
                    leader_epoch,
                    partition_epoch,
                    new_isr,
                );
                let result = match result {
                    Ok(isr) => {
                        self.apply_partition_change(partition, Some(broker), isr, false, step);
                        step.mark("alter_partition_accepted");
                        Ok(())
                    }
                    Err(error) => {
                        step.mark("alter_partition_rejected");
                        Err(error)
                    }
                };
                Some(Reply::AlterPartition {
                    broker,
                    partition,
                    result,
                })
            }
            // Requests naming another broker than their sender, responses and client traffic
            // are not for the controller: ignored, as a real controller would drop a request
            // it cannot route.
            _ => None,
        }
    }

    /// A (re)registration (`ClusterControlManager.registerBroker`): a new broker epoch,
    /// after fencing a previous incarnation that is still unfenced.
    fn handle_registration(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        incarnation: u64,
        step: &mut Step,
    ) -> Option<Reply> {
        if !self.cluster_brokers.contains(&broker) {
            return None;
        }
        if let Some(existing) = self.state.brokers.get(&broker) {
            // Incarnations increase with every restart, so a lower one is a late message
            // from a process that is gone: it must not unseat its successor.
            if incarnation < existing.incarnation {
                return None;
            }
            // A restarted process may have lost unsynced records: it must leave every ISR
            // and rejoin by catching up, which fencing does. The same incarnation
            // registering again (its response was lost) lost nothing.
            if incarnation != existing.incarnation {
                self.fence_broker(broker, step);
            }
        }
        let was_unfenced = self.state.is_unfenced(broker);
        let broker_epoch = self.state.next_broker_epoch;
        self.state.next_broker_epoch = BrokerEpoch(broker_epoch.0 + 1);
        self.state.brokers.insert(
            broker,
            BrokerRegistrationState {
                broker,
                incarnation,
                broker_epoch,
                fenced: false,
            },
        );
        if !was_unfenced {
            self.state.refresh_live_brokers();
            step.image_changed = true;
        }
        step.state_changed = true;
        self.session_expiry_ms
            .insert(broker, now_ms.saturating_add(self.session_timeout_ms()));
        step.event(Event::BrokerRegistered {
            broker,
            broker_epoch,
        });
        step.mark("broker_registered");
        Some(Reply::Registration {
            broker,
            broker_epoch,
        })
    }

    /// A heartbeat renews the session of an unfenced broker with the current epoch. Anything
    /// else (unknown broker, older epoch, fenced) is told `StaleBrokerEpoch` and registers
    /// again: a fenced broker returns only through a registration, which re-runs elections.
    fn handle_heartbeat(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        broker_epoch: BrokerEpoch,
        metadata_version: u64,
    ) -> Reply {
        let current = self.state.brokers.get(&broker).is_some_and(|registration| {
            !registration.fenced && registration.broker_epoch == broker_epoch
        });
        let result = if current {
            self.session_expiry_ms
                .insert(broker, now_ms.saturating_add(self.session_timeout_ms()));
            Ok(())
        } else {
            Err(ErrorCode::StaleBrokerEpoch)
        };
        Reply::Heartbeat {
            broker,
            result,
            metadata_version,
        }
    }

    /// AlterPartition validation, in `ReplicationControlManager.alterPartition`'s spirit and
    /// PROTOCOL.md's order. Returns the new ISR (sorted, deduplicated) when accepted.
    fn validate_alter_partition(
        &self,
        broker: BrokerId,
        broker_epoch: BrokerEpoch,
        partition: PartitionId,
        leader_epoch: LeaderEpoch,
        partition_epoch: PartitionEpoch,
        new_isr: Vec<BrokerId>,
    ) -> Result<Vec<BrokerId>, ErrorCode> {
        let current_epoch = self.state.brokers.get(&broker).is_some_and(|registration| {
            !registration.fenced && registration.broker_epoch == broker_epoch
        });
        if !current_epoch {
            return Err(ErrorCode::StaleBrokerEpoch);
        }
        // An unknown partition has no leader, so the sender is not its leader.
        let state = self
            .state
            .image
            .partition(partition)
            .ok_or(ErrorCode::FencedLeaderEpoch)?;
        if state.leader != Some(broker) || state.leader_epoch != leader_epoch {
            return Err(ErrorCode::FencedLeaderEpoch);
        }
        if state.partition_epoch != partition_epoch {
            return Err(ErrorCode::InvalidUpdateVersion);
        }
        let isr: Vec<BrokerId> = new_isr
            .into_iter()
            .collect::<BTreeSet<BrokerId>>()
            .into_iter()
            .collect();
        if !isr.contains(&broker) {
            return Err(ErrorCode::IneligibleReplica);
        }
        // Only additions are checked for liveness: a member already in the ISR may be a
        // broker that never registered (the ISR starts as every replica), and refusing a
        // shrink that keeps it would leave the leader unable to shrink anything.
        let ineligible = isr.iter().any(|member| {
            !state.replicas.contains(member)
                || (!state.isr.contains(member) && !self.state.is_unfenced(*member))
        });
        if ineligible {
            return Err(ErrorCode::IneligibleReplica);
        }
        Ok(isr)
    }

    /// Ends one input: bumps the image version, persists, then replies and pushes.
    fn commit(&mut self, mut step: Step, reply: Option<Reply>) -> Vec<Effect> {
        if step.image_changed {
            self.state.image.version += 1;
        }
        self.state.assert_invariants();
        if step.image_changed || step.state_changed {
            let bytes = self.state.encode();
            self.storage.replace(CONTROLLER_STATE_FILE, &bytes);
            self.storage.sync(CONTROLLER_STATE_FILE);
        }
        if let Some(reply) = reply {
            let (broker, message) = self.reply_message(reply);
            step.effects.push(Effect::Send {
                to: NodeId::Broker(broker),
                message,
            });
        }
        if step.image_changed {
            for broker in &self.state.image.live_brokers {
                step.effects.push(Effect::Send {
                    to: NodeId::Broker(*broker),
                    message: Message::MetadataUpdate {
                        metadata: self.state.image.clone(),
                    },
                });
            }
        }
        step.effects
    }

    fn reply_message(&self, reply: Reply) -> (BrokerId, Message) {
        match reply {
            Reply::Registration {
                broker,
                broker_epoch,
            } => (
                broker,
                Message::BrokerRegistrationResponse {
                    broker_epoch,
                    metadata: self.state.image.clone(),
                },
            ),
            Reply::Heartbeat {
                broker,
                result,
                metadata_version,
            } => {
                let behind = metadata_version < self.state.image.version;
                let metadata = (result.is_ok() && behind).then(|| self.state.image.clone());
                (
                    broker,
                    Message::BrokerHeartbeatResponse { result, metadata },
                )
            }
            Reply::AlterPartition {
                broker,
                partition,
                result,
            } => {
                // An accepted change names a partition that exists (validation checked).
                let result = result.and_then(|()| {
                    self.state
                        .image
                        .partition(partition)
                        .cloned()
                        .ok_or(ErrorCode::FencedLeaderEpoch)
                });
                (
                    broker,
                    Message::AlterPartitionResponse { partition, result },
                )
            }
        }
    }
}

impl Actor for Controller {
    fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Effect> {
        let mut step = Step::default();
        match input {
            Input::Start => {
                self.start(now_ms, &mut step);
                self.maybe_end_first_election_grace(now_ms);
                self.maybe_elect_offline_partitions(&mut step);
                self.commit(step, None)
            }
            _ if !self.started => Vec::new(),
            Input::Tick => {
                self.maybe_fence_expired_brokers(now_ms, &mut step);
                self.maybe_end_first_election_grace(now_ms);
                self.maybe_elect_offline_partitions(&mut step);
                self.commit(step, None)
            }
            Input::Message { from, message } => {
                self.maybe_fence_expired_brokers(now_ms, &mut step);
                self.maybe_end_first_election_grace(now_ms);
                let reply = self.handle_message(now_ms, from, message, &mut step);
                self.maybe_elect_offline_partitions(&mut step);
                self.commit(step, reply)
            }
        }
    }

    /// The earliest session expiry, and the end of the first-election grace while a
    /// partition still waits for its first leader.
    fn next_deadline_ms(&self) -> Option<u64> {
        if !self.started {
            return None;
        }
        let session_expiry_ms = self.session_expiry_ms.values().min().copied();
        let awaiting_first_election = self.state.image.partitions.values().any(|partition| {
            partition.leader.is_none() && partition.leader_epoch == LeaderEpoch(0)
        });
        let grace_end_ms = self
            .first_election_grace_end_ms
            .filter(|_| awaiting_first_election);
        match (session_expiry_ms, grace_end_ms) {
            (Some(session), Some(grace)) => Some(session.min(grace)),
            (session, grace) => session.or(grace),
        }
    }
}
