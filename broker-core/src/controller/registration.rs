//! Broker registration, heartbeats and fencing (`ClusterControlManager`,
//! `BrokerHeartbeatManager`, `ReplicationControlManager.handleBrokerFenced`).

use super::state::BrokerRegistrationState;
use super::{Controller, ControllerTimer, Reply, Step};
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{BrokerEpoch, BrokerId};
use crate::mark::Mark;
use crate::protocol::{BrokerHeartbeatRequest, BrokerRegistrationRequest};
use crate::topic::TopicPartition;

impl Controller {
    /// A (re)registration (`ClusterControlManager.registerBroker`): a new broker epoch,
    /// after fencing a previous incarnation that is still unfenced.
    pub(super) fn handle_registration(
        &mut self,
        now_ms: u64,
        request: &BrokerRegistrationRequest,
        step: &mut Step,
    ) -> Option<Reply> {
        let BrokerRegistrationRequest {
            broker,
            incarnation,
        } = *request;
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
        self.timers.set(
            ControllerTimer::BrokerSession(broker),
            now_ms.saturating_add(self.session_timeout_ms()),
        );
        step.event(Event::BrokerRegistered {
            broker,
            broker_epoch,
        });
        step.mark(Mark::BrokerRegistered);
        Some(Reply::Registration {
            broker,
            broker_epoch,
        })
    }

    /// A heartbeat renews the session of an unfenced broker with the current epoch. Anything
    /// else (unknown broker, older epoch, fenced) is told `StaleBrokerEpoch` and registers
    /// again: a fenced broker returns only through a registration, which re-runs elections.
    pub(super) fn handle_heartbeat(
        &mut self,
        now_ms: u64,
        request: &BrokerHeartbeatRequest,
    ) -> Reply {
        let BrokerHeartbeatRequest {
            broker,
            broker_epoch,
            metadata_version,
        } = *request;
        let current = self.state.brokers.get(&broker).is_some_and(|registration| {
            !registration.fenced && registration.broker_epoch == broker_epoch
        });
        let result = if current {
            self.timers.set(
                ControllerTimer::BrokerSession(broker),
                now_ms.saturating_add(self.session_timeout_ms()),
            );
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

    /// Fences `broker` (`ReplicationControlManager.handleBrokerFenced`): it leaves every ISR
    /// except where it is the last member (so a clean election can still happen when it
    /// returns), and every partition it led elects a new leader or goes offline.
    pub(super) fn fence_broker(&mut self, broker: BrokerId, step: &mut Step) {
        let Some(registration) = self.state.brokers.get_mut(&broker) else {
            return;
        };
        if registration.fenced {
            return;
        }
        registration.fenced = true;
        self.timers.cancel(ControllerTimer::BrokerSession(broker));
        self.state.refresh_live_brokers();
        step.image_changed = true;
        step.state_changed = true;
        step.event(Event::BrokerFenced { broker });
        step.mark(Mark::BrokerFenced);

        let partitions: Vec<TopicPartition> = self.state.image.partitions.keys().copied().collect();
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
                match self.choose_leader(partition, &current.replicas, &isr) {
                    Some(choice) => self.elect(partition, choice, isr, step),
                    None => self.apply_partition_change(partition, None, isr, false, step),
                }
            } else {
                self.apply_partition_change(partition, current.leader, isr, false, step);
            }
            if isr_shrunk {
                step.mark(Mark::IsrShrunkByController);
            }
        }
    }
}
