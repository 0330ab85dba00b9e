//! Broker registration, heartbeats, fencing and controlled shutdown
//! (`ClusterControlManager.registerBroker`, `BrokerHeartbeatManager.calculateNextBrokerState`,
//! `ReplicationControlManager.handleBrokerFenced`, `handleBrokerUnfenced`,
//! `handleBrokerInControlledShutdown`, `handleBrokerUncleanShutdown`).
//!
//! A broker's life as the controller sees it: registered (fenced) → unfenced once a
//! heartbeat shows it has applied the image of its registration → optionally in controlled
//! shutdown (KIP-841) → fenced again (session expired, or shut down). A new incarnation is
//! refused while the previous one's session is valid.

use super::election::PartitionChange;
use super::state::BrokerRegistrationState;
use super::{Controller, ControllerTimer, Reply, Step};
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{BrokerEpoch, BrokerId};
use crate::mark::Mark;
use crate::protocol::{BrokerHeartbeatRequest, BrokerRegistrationRequest};
use crate::reason::{FenceReason, PartitionChangeCause};
use crate::topic::TopicPartition;

/// Where a heartbeat takes a broker (`BrokerControlState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BrokerControlState {
    Fenced,
    Unfenced,
    ControlledShutdown,
    ShutdownNow,
}

impl Controller {
    /// A (re)registration (`ClusterControlManager.registerBroker`). The same incarnation
    /// registering again (its answer was lost) keeps its epoch and state. A new incarnation
    /// is refused with `DuplicateBrokerRegistration` while the previous one's session is
    /// valid; otherwise it gets a new broker epoch and starts fenced. A restart that does not
    /// name the previous epoch (no clean-shutdown marker) is an unclean shutdown: with
    /// eligible leader replicas the broker leaves every ISR and ELR (KIP-966).
    pub(super) fn handle_registration(
        &mut self,
        request: &BrokerRegistrationRequest,
        step: &mut Step,
    ) -> Option<Reply> {
        let BrokerRegistrationRequest {
            broker,
            incarnation,
            previous_broker_epoch,
            ..
        } = *request;
        if !self.cluster_brokers.contains(&broker) {
            return None;
        }
        let existing = self.state.brokers.get(&broker).cloned();
        if let Some(existing) = &existing {
            // Incarnations increase with every restart, so a lower one is a late message
            // from a process that is gone: it must not unseat its successor.
            if incarnation < existing.incarnation {
                return None;
            }
            if incarnation == existing.incarnation {
                return Some(Reply::Registration {
                    broker,
                    result: Ok(existing.broker_epoch),
                });
            }
            // An unfenced registration always has a running session (an expired one has
            // been fenced by its timer before this input), so unfenced means valid.
            if !existing.fenced {
                step.mark(Mark::DuplicateBrokerRegistrationRefused);
                return Some(Reply::Registration {
                    broker,
                    result: Err(ErrorCode::DuplicateBrokerRegistration),
                });
            }
        }
        let broker_epoch = self.state.next_broker_epoch;
        self.state.next_broker_epoch = BrokerEpoch(broker_epoch.0 + 1);
        self.state.brokers.insert(
            broker,
            BrokerRegistrationState {
                broker,
                incarnation,
                broker_epoch,
                fenced: true,
                in_controlled_shutdown: false,
                registered_at_version: self.state.image.version,
                rack: request.rack.clone(),
            },
        );
        step.state_changed = true;
        step.event(Event::BrokerRegistered {
            broker,
            broker_epoch,
        });
        step.mark(Mark::BrokerRegistered);
        let restarted = existing.is_some();
        let clean =
            existing.is_some_and(|existing| previous_broker_epoch == Some(existing.broker_epoch));
        if restarted && !clean {
            self.handle_unclean_shutdown(broker, step);
        }
        Some(Reply::Registration {
            broker,
            result: Ok(broker_epoch),
        })
    }

    /// `ReplicationControlManager.handleBrokerUncleanShutdown`: a broker that may have lost
    /// unflushed records leaves every ISR and ELR, so it cannot be elected as if it still
    /// held everything committed. Only with eligible leader replicas, as in Kafka.
    fn handle_unclean_shutdown(&mut self, broker: BrokerId, step: &mut Step) {
        if !self.config.eligible_leader_replicas_enable {
            return;
        }
        for partition in self
            .partitions_where(|state| state.isr.contains(&broker) || state.elr.contains(&broker))
        {
            let current = self.state.image.partitions[&partition].clone();
            let change = PartitionChange {
                unclean_shutdown_replica: Some(broker),
                ..PartitionChange::new(
                    PartitionChangeCause::UncleanShutdown { broker },
                    without(&current.isr, broker),
                )
            };
            self.change_partition(partition, change, step);
            if current.elr.contains(&broker) {
                step.mark(Mark::RemovedFromElrAfterUncleanShutdown);
            }
        }
    }

    /// A heartbeat from the current epoch renews the session and moves the broker through
    /// `BrokerHeartbeatManager.calculateNextBrokerState`; any other epoch is told
    /// `StaleBrokerEpoch` and registers again.
    pub(super) fn handle_heartbeat(
        &mut self,
        now_ms: u64,
        request: &BrokerHeartbeatRequest,
        step: &mut Step,
    ) -> Reply {
        let broker = request.broker;
        let Some(registration) = self
            .state
            .brokers
            .get(&broker)
            .filter(|registration| registration.broker_epoch == request.broker_epoch)
            .cloned()
        else {
            return Reply::Heartbeat {
                broker,
                result: Err(ErrorCode::StaleBrokerEpoch),
                metadata_version: request.metadata_version,
                is_fenced: true,
                should_shut_down: false,
            };
        };
        let next = self.next_broker_state(&registration, request);
        match next {
            BrokerControlState::Unfenced if registration.fenced => {
                self.unfence_broker(broker, step)
            }
            BrokerControlState::ControlledShutdown if !registration.in_controlled_shutdown => {
                self.begin_controlled_shutdown(broker, step)
            }
            BrokerControlState::Fenced => {
                self.fence_broker(broker, FenceReason::AskedToBeFenced, step)
            }
            BrokerControlState::ShutdownNow => {
                self.fence_broker(broker, FenceReason::ShutdownNow, step)
            }
            _ => {}
        }
        if !matches!(
            next,
            BrokerControlState::Fenced | BrokerControlState::ShutdownNow
        ) {
            self.timers.set(
                ControllerTimer::BrokerSession(broker),
                now_ms.saturating_add(self.session_timeout_ms()),
            );
        }
        Reply::Heartbeat {
            broker,
            result: Ok(()),
            metadata_version: request.metadata_version,
            is_fenced: matches!(
                next,
                BrokerControlState::Fenced | BrokerControlState::ShutdownNow
            ),
            should_shut_down: next == BrokerControlState::ShutdownNow,
        }
    }

    /// Kafka's `calculateNextBrokerState`. A fenced broker is unfenced once it does not ask
    /// to stay fenced and has applied the image its registration was recorded in; an
    /// unfenced broker asking to shut down enters controlled shutdown while it leads
    /// something and is let go at once otherwise; a broker in controlled shutdown is let go
    /// once it leads nothing.
    fn next_broker_state(
        &self,
        registration: &BrokerRegistrationState,
        request: &BrokerHeartbeatRequest,
    ) -> BrokerControlState {
        let leads = self.has_leaderships(registration.broker);
        if registration.fenced {
            return if request.want_shut_down {
                BrokerControlState::ShutdownNow
            } else if !request.want_fence
                && request.metadata_version >= registration.registered_at_version
            {
                BrokerControlState::Unfenced
            } else {
                BrokerControlState::Fenced
            };
        }
        if registration.in_controlled_shutdown {
            return if leads {
                BrokerControlState::ControlledShutdown
            } else {
                BrokerControlState::ShutdownNow
            };
        }
        match (request.want_fence, request.want_shut_down) {
            (true, true) => BrokerControlState::ShutdownNow,
            (true, false) => BrokerControlState::Fenced,
            (false, true) if leads => BrokerControlState::ControlledShutdown,
            (false, true) => BrokerControlState::ShutdownNow,
            (false, false) => BrokerControlState::Unfenced,
        }
    }

    fn has_leaderships(&self, broker: BrokerId) -> bool {
        self.state
            .image
            .partitions
            .values()
            .any(|state| state.leader == Some(broker))
    }

    /// The partitions whose state matches, in order.
    fn partitions_where(
        &self,
        matches: impl Fn(&crate::metadata::PartitionState) -> bool,
    ) -> Vec<TopicPartition> {
        self.state
            .image
            .partitions
            .values()
            .filter(|state| matches(state))
            .map(|state| state.partition)
            .collect()
    }

    /// `handleBrokerUnfenced`: the broker may lead and join ISRs again; offline partitions
    /// it can lead are elected after the input (`maybe_elect_offline_partitions`).
    fn unfence_broker(&mut self, broker: BrokerId, step: &mut Step) {
        if let Some(registration) = self.state.brokers.get_mut(&broker) {
            registration.fenced = false;
        }
        self.state.refresh_live_brokers();
        step.image_changed = true;
        step.state_changed = true;
        step.mark(Mark::BrokerUnfenced);
    }

    /// `handleBrokerInControlledShutdown`: the broker stays registered and unfenced (it
    /// still receives metadata) but leaves every ISR, and every partition it leads elects
    /// another leader, or goes offline if none is eligible.
    fn begin_controlled_shutdown(&mut self, broker: BrokerId, step: &mut Step) {
        if let Some(registration) = self.state.brokers.get_mut(&broker) {
            registration.in_controlled_shutdown = true;
        }
        step.state_changed = true;
        step.mark(Mark::ControlledShutdownStarted);
        self.remove_from_isrs(
            broker,
            PartitionChangeCause::ControlledShutdown { broker },
            step,
        );
    }

    /// Fences `broker` (`ReplicationControlManager.handleBrokerFenced`): it leaves every ISR
    /// (with eligible leader replicas off, never the last member, so a clean election can
    /// still happen when it returns) and every partition it led elects a new leader or goes
    /// offline.
    pub(super) fn fence_broker(&mut self, broker: BrokerId, reason: FenceReason, step: &mut Step) {
        let Some(registration) = self.state.brokers.get_mut(&broker) else {
            return;
        };
        if registration.fenced {
            return;
        }
        registration.fenced = true;
        registration.in_controlled_shutdown = false;
        self.timers.cancel(ControllerTimer::BrokerSession(broker));
        self.state.refresh_live_brokers();
        step.image_changed = true;
        step.state_changed = true;
        step.event(Event::BrokerFenceReasoned { broker, reason });
        step.event(Event::BrokerFenced { broker });
        step.mark(Mark::BrokerFenced);
        self.remove_from_isrs(broker, PartitionChangeCause::BrokerFenced { broker }, step);
    }

    /// Kafka's `generateLeaderAndIsrUpdates` with `brokerToRemove`, over the partitions
    /// whose ISR holds the broker (a leader is always an ISR member).
    fn remove_from_isrs(&mut self, broker: BrokerId, cause: PartitionChangeCause, step: &mut Step) {
        for partition in self.partitions_where(|state| state.isr.contains(&broker)) {
            let current = self.state.image.partitions[&partition].clone();
            let change = PartitionChange {
                broker_to_remove: Some(broker),
                ..PartitionChange::new(cause, without(&current.isr, broker))
            };
            self.change_partition(partition, change, step);
            let shrunk = self.state.image.partitions[&partition].isr.len() < current.isr.len();
            if shrunk {
                step.mark(Mark::IsrShrunkByController);
            }
        }
    }
}

/// `members` without `broker`.
fn without(members: &[BrokerId], broker: BrokerId) -> Vec<BrokerId> {
    members
        .iter()
        .copied()
        .filter(|member| *member != broker)
        .collect()
}
