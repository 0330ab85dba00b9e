//! The controller: KRaft's active controller (`QuorumController`,
//! `ReplicationControlManager`, `ClusterControlManager`, `BrokerHeartbeatManager`,
//! `PartitionChangeBuilder`), reduced to what replication and delivery depend on.
//!
//! It registers brokers and hands out broker epochs, keeps a session per unfenced broker,
//! fences brokers whose session expires (or whose process restarted), elects partition
//! leaders, validates the leaders' AlterPartition proposals, and publishes every change as a
//! new [`MetadataImage`]. Each concern has its file: `registration.rs` (registration,
//! heartbeats, sessions, fencing), `election.rs` (leader choice and partition changes),
//! `alter_partition.rs` (ISR proposals), `producer_ids.rs` (producer-id blocks, KIP-730),
//! `state.rs` (what is persisted).
//!
//! Invariants, asserted after every input (see `state.rs`): a partition's leader is an
//! unfenced ISR member; an ISR is empty only with eligible leader replicas on and no leader;
//! the ELR is disjoint from the ISR; `leader_epoch` bumps on every leader change
//! (including to no leader); `partition_epoch` bumps on every partition change; the image
//! version bumps with every published image; nothing is sent before the change it reports is
//! persisted (KRaft commits to its fsynced log before it answers).
//!
//! Timing: a session expires when `now_ms ≥ last heartbeat + broker_session_timeout_ms`
//! (`BrokerHeartbeatManager`: the session is valid while `last contact + timeout > now`).
//! Due timers are applied at the start of *every* input, not only on [`Input::Timers`], so
//! the outcome does not depend on whether a message or the timer for the same instant is
//! delivered first.

mod alter_partition;
mod election;
mod producer_ids;
mod registration;
pub mod state;
pub use producer_ids::PRODUCER_ID_BLOCK_SIZE;
#[cfg(test)]
mod tests;

use crate::actor::{Actor, Effect, Input, Timer};
use crate::bugs::BugSwitches;
use crate::config::{ControllerConfig, TopicConfig};
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{BrokerEpoch, BrokerId, CorrelationId, LeaderEpoch, NodeId};
use crate::mark::Mark;
use crate::metadata::MetadataImage;
use crate::protocol::{
    AllocateProducerIdsResponse, AlterPartitionResponse, BrokerHeartbeatResponse,
    BrokerRegistrationResponse, Message, MetadataUpdate, ProducerIdBlock,
};
use crate::reason::FenceReason;
use crate::storage::Storage;
use crate::timer::TimerTable;
use crate::topic::{TopicName, TopicPartition};
use serde::{Deserialize, Serialize};
use state::{ControllerState, CONTROLLER_STATE_FILE};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The controller's named deadlines. Their order is the order due timers are applied in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ControllerTimer {
    /// The broker's session runs out unless it heartbeats first.
    BrokerSession(BrokerId),
    /// Until then, a partition that never had a leader waits for its preferred replica.
    /// Cancelled once no partition waits for a first leader.
    FirstElectionGrace,
}

impl fmt::Display for ControllerTimer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControllerTimer::BrokerSession(broker) => write!(formatter, "session-{broker}"),
            ControllerTimer::FirstElectionGrace => formatter.write_str("first-election-grace"),
        }
    }
}

/// The KRaft-style active controller of the simulated cluster.
pub struct Controller {
    config: ControllerConfig,
    /// Every topic's settings, by name.
    topics: BTreeMap<TopicName, TopicConfig>,
    /// Every broker id of the cluster. Registrations from other ids are ignored: they could
    /// never be a replica.
    cluster_brokers: BTreeSet<BrokerId>,
    storage: Box<dyn Storage>,
    state: ControllerState,
    /// Broker sessions and the first-election grace. Not persisted: a restarted controller
    /// gives every registered broker a fresh session, as a new KRaft leader does.
    timers: TimerTable<ControllerTimer>,
    /// Set by `Input::Start`; inputs before it are ignored (the shell always starts with it).
    started: bool,
    /// Older Kafka behaviour turned on for this run (`alter_partition.rs` reads the ISR
    /// eligibility switches, KIP-841 and KIP-903).
    bugs: BugSwitches,
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

    fn mark(&mut self, name: Mark) {
        self.effects.push(Effect::Mark(name));
    }
}

/// The answer to the request being handled. It is built after the change is committed, so a
/// registration or heartbeat reply carries the image with its final version.
enum Reply {
    Registration {
        broker: BrokerId,
        result: Result<BrokerEpoch, ErrorCode>,
    },
    Heartbeat {
        broker: BrokerId,
        result: Result<(), ErrorCode>,
        metadata_version: u64,
        is_fenced: bool,
        should_shut_down: bool,
    },
    AlterPartition {
        broker: BrokerId,
        partition: TopicPartition,
        result: Result<(), ErrorCode>,
    },
    AllocateProducerIds {
        broker: BrokerId,
        correlation: CorrelationId,
        result: Result<ProducerIdBlock, ErrorCode>,
    },
}

impl Controller {
    /// `brokers`: every broker id in the cluster (sorted or not; sorted internally).
    pub fn new(
        config: ControllerConfig,
        topics: Vec<TopicConfig>,
        brokers: Vec<BrokerId>,
        storage: Box<dyn Storage>,
    ) -> Controller {
        let cluster_brokers: BTreeSet<BrokerId> = brokers.into_iter().collect();
        let sorted: Vec<BrokerId> = cluster_brokers.iter().copied().collect();
        let state = ControllerState::new_topics(&topics, &sorted);
        Controller {
            config,
            topics: topics
                .into_iter()
                .map(|topic| (topic.name, topic))
                .collect(),
            cluster_brokers,
            storage,
            state,
            timers: TimerTable::default(),
            started: false,
            bugs: BugSwitches::default(),
        }
    }

    /// The same controller with these switches on (all off by default).
    pub fn with_bug_switches(mut self, bugs: BugSwitches) -> Controller {
        self.bugs = bugs;
        self
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
        self.timers.clear();
        let bytes = self.storage.read(CONTROLLER_STATE_FILE);
        // `replace` is atomic (old or new content, never a mix), so a file that does not
        // decode means the disk model broke its contract: an invariant, not an input.
        match ControllerState::decode(&bytes) {
            Ok(Some(state)) => {
                self.state = state;
                let expiry_ms = now_ms.saturating_add(self.session_timeout_ms());
                for registration in self.state.brokers.values() {
                    if !registration.fenced {
                        self.timers.set(
                            ControllerTimer::BrokerSession(registration.broker),
                            expiry_ms,
                        );
                    }
                }
                step.mark(Mark::ControllerRecovered);
            }
            Ok(None) => step.state_changed = true,
            Err(error) => panic!("controller cannot recover: {error}"),
        }
        self.timers.set(
            ControllerTimer::FirstElectionGrace,
            now_ms.saturating_add(self.session_timeout_ms()),
        );
    }

    /// Applies due timers in name order (sessions in broker order, then the grace): a
    /// broker whose session expired is fenced; the first-election grace ends.
    fn fire_timers(&mut self, timers: &[ControllerTimer], step: &mut Step) {
        let mut timers = timers.to_vec();
        timers.sort_unstable();
        for timer in timers {
            let deadline_ms = self.timers.deadline_ms(timer);
            self.timers.cancel(timer);
            match timer {
                ControllerTimer::BrokerSession(broker) => {
                    // The session deadline is the last heartbeat plus the timeout.
                    let broker_session_timeout_ms = self.session_timeout_ms();
                    let reason = FenceReason::SessionExpired {
                        last_heartbeat_ms: deadline_ms
                            .unwrap_or_default()
                            .saturating_sub(broker_session_timeout_ms),
                        broker_session_timeout_ms,
                    };
                    self.fence_broker(broker, reason, step)
                }
                ControllerTimer::FirstElectionGrace => {}
            }
        }
    }

    fn due(&self, now_ms: u64) -> Vec<ControllerTimer> {
        self.timers.due(now_ms).collect()
    }

    /// Whether some partition never had a leader yet.
    fn awaits_first_election(&self) -> bool {
        self.state
            .image
            .partitions
            .values()
            .any(|partition| partition.leader.is_none() && partition.leader_epoch == LeaderEpoch(0))
    }

    fn handle_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        message: Message,
        step: &mut Step,
    ) -> Option<Reply> {
        match message {
            Message::BrokerRegistration(request) if from == NodeId::Broker(request.broker) => {
                self.handle_registration(&request, step)
            }
            Message::BrokerHeartbeat(request) if from == NodeId::Broker(request.broker) => {
                Some(self.handle_heartbeat(now_ms, &request, step))
            }
            Message::AlterPartition(request) if from == NodeId::Broker(request.broker) => {
                Some(self.handle_alter_partition(&request, step))
            }
            Message::AllocateProducerIds(request) if from == NodeId::Broker(request.broker) => {
                Some(self.handle_allocate_producer_ids(&request, step))
            }
            // Requests naming another broker than their sender, responses and client traffic
            // are not for the controller: ignored, as a real controller would drop a request
            // it cannot route.
            _ => None,
        }
    }

    /// Ends one input: bumps the image version, persists, then replies and pushes.
    fn commit(&mut self, mut step: Step, reply: Option<Reply>) -> Vec<Effect> {
        if step.image_changed {
            self.state.image.version += 1;
        }
        self.state
            .assert_invariants(self.config.eligible_leader_replicas_enable);
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
                    message: Message::MetadataUpdate(MetadataUpdate {
                        metadata: self.state.image.clone(),
                    }),
                });
            }
        }
        step.effects
    }

    fn reply_message(&self, reply: Reply) -> (BrokerId, Message) {
        match reply {
            Reply::Registration { broker, result } => (
                broker,
                Message::BrokerRegistrationResponse(BrokerRegistrationResponse {
                    result,
                    metadata: result.is_ok().then(|| self.state.image.clone()),
                }),
            ),
            Reply::Heartbeat {
                broker,
                result,
                metadata_version,
                is_fenced,
                should_shut_down,
            } => {
                let behind = metadata_version < self.state.image.version;
                let metadata = (result.is_ok() && behind).then(|| self.state.image.clone());
                (
                    broker,
                    Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
                        result,
                        metadata,
                        is_fenced,
                        should_shut_down,
                    }),
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
                    Message::AlterPartitionResponse(AlterPartitionResponse { partition, result }),
                )
            }
            Reply::AllocateProducerIds {
                broker,
                correlation,
                result,
            } => (
                broker,
                Message::AllocateProducerIdsResponse(AllocateProducerIdsResponse {
                    correlation,
                    result,
                }),
            ),
        }
    }
}

impl Actor for Controller {
    fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Effect> {
        let mut step = Step::default();
        let effects = match input {
            Input::Start => {
                self.start(now_ms, &mut step);
                let due = self.due(now_ms);
                self.fire_timers(&due, &mut step);
                self.maybe_elect_offline_partitions(&mut step);
                self.commit(step, None)
            }
            _ if !self.started => return Vec::new(),
            Input::Timers(fired) => {
                let fired: Vec<ControllerTimer> = fired
                    .into_iter()
                    .filter_map(|timer| match timer {
                        Timer::Controller(timer) => Some(timer),
                        _ => None,
                    })
                    .collect();
                self.fire_timers(&fired, &mut step);
                self.maybe_elect_offline_partitions(&mut step);
                self.commit(step, None)
            }
            // KRaft's controller judges brokers by their heartbeats (the session), never by
            // their connections.
            Input::ConnectionClosed { .. } | Input::ConnectionEstablished { .. } => {
                return Vec::new()
            }
            Input::Message { from, message } => {
                let due = self.due(now_ms);
                self.fire_timers(&due, &mut step);
                let reply = self.handle_message(now_ms, from, message, &mut step);
                self.maybe_elect_offline_partitions(&mut step);
                self.commit(step, reply)
            }
        };
        // The grace only matters to partitions that never had a leader; none can appear
        // later, so once every partition has had one the timer goes.
        if !self.awaits_first_election() {
            self.timers.cancel(ControllerTimer::FirstElectionGrace);
        }
        self.timers.check_invariants();
        effects
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        if !self.started {
            return None;
        }
        self.timers.next_deadline_ms()
    }

    fn due_timers(&self, now_ms: u64) -> Vec<Timer> {
        self.timers.due(now_ms).map(Timer::Controller).collect()
    }
}
