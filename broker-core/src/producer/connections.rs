//! The producer's connections to brokers: the part of Kafka's `NetworkClient` and
//! `ClusterConnectionStates` that decides whether a broker is *ready* to take a produce
//! request. The sender sends a batch to its leader only over a ready connection; while the
//! leader's connection is being set up, refused or backing off, the batch waits in the
//! accumulator (Kafka's `Sender.sendProducerData` drops the nodes `NetworkClient.ready`
//! refuses from the drain). So a producer whose leader died sends nothing to it: the
//! connection closes, every reconnect is refused, and the batches wait until metadata names
//! a leader that accepts the connection.
//!
//! Per broker: *ready* until the first close (the model opens a producer's first connection
//! to a broker implicitly, with its first request, where Kafka waits one round trip for it),
//! *idle* (no connection; one is opened when a batch is ready for it),
//! *connecting* (`Effect::Connect` sent, waiting for the answer or
//! `socket_connection_setup_timeout_ms`), *ready*, or *backing off* after a close (no new
//! attempt for `reconnect_backoff_ms`, doubled for each consecutive failure up to
//! `reconnect_backoff_max_ms`, as `ClusterConnectionStates.updateReconnectBackoff` does,
//! without its jitter).
//!
//! Invariant: the timer [`ProducerTimer::Connection`] of a broker is set exactly while its
//! connection is connecting (the setup deadline) or backing off (the end of the backoff).

use super::{Producer, ProducerTimer};
use crate::actor::Effect;
use crate::config::ProducerConfig;
use crate::ids::{BrokerId, NodeId};
use crate::timer::TimerTable;
use std::collections::BTreeMap;

/// Where the producer's connection to one broker stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ConnectionState {
    /// No connection: one may be opened now.
    Idle,
    /// `Effect::Connect` sent; the answer or the setup timeout is awaited.
    Connecting { deadline_ms: u64 },
    /// Requests may go.
    Ready,
    /// Closed; no new attempt before `until_ms`.
    BackingOff { until_ms: u64 },
}

/// One broker's connection and its consecutive failures.
#[derive(Clone, Copy, Debug)]
struct BrokerConnection {
    state: ConnectionState,
    failures: u32,
}

/// Every broker connection of a producer (Kafka's `ClusterConnectionStates`).
#[derive(Clone, Debug)]
pub(super) struct ClusterConnectionStates {
    connections: BTreeMap<BrokerId, BrokerConnection>,
    reconnect_backoff_ms: u64,
    reconnect_backoff_max_ms: u64,
    setup_timeout_ms: u64,
}

impl ClusterConnectionStates {
    pub(super) fn new(config: &ProducerConfig) -> ClusterConnectionStates {
        ClusterConnectionStates {
            connections: BTreeMap::new(),
            // A zero backoff or timeout would retry at the same instant forever.
            reconnect_backoff_ms: config.reconnect_backoff_ms.max(1),
            reconnect_backoff_max_ms: config
                .reconnect_backoff_max_ms
                .max(config.reconnect_backoff_ms.max(1)),
            setup_timeout_ms: config.socket_connection_setup_timeout_ms.max(1),
        }
    }

    pub(super) fn state(&self, broker: BrokerId) -> ConnectionState {
        self.connections
            .get(&broker)
            .map_or(ConnectionState::Ready, |connection| connection.state)
    }

    /// Whether a batch for `broker` may leave now or once a connection is opened: the
    /// connection is ready or idle. While it connects or backs off, batches wait.
    pub(super) fn may_send_or_connect(&self, broker: BrokerId) -> bool {
        matches!(
            self.state(broker),
            ConnectionState::Idle | ConnectionState::Ready
        )
    }

    /// The deadline [`ProducerTimer::Connection`] of `broker` should have.
    pub(super) fn wanted_timer_ms(&self, broker: BrokerId) -> Option<u64> {
        match self.state(broker) {
            ConnectionState::Connecting { deadline_ms } => Some(deadline_ms),
            ConnectionState::BackingOff { until_ms } => Some(until_ms),
            ConnectionState::Idle | ConnectionState::Ready => None,
        }
    }

    /// Every broker whose connection has closed at least once, in id order.
    pub(super) fn brokers(&self) -> impl Iterator<Item = BrokerId> + '_ {
        self.connections.keys().copied()
    }

    fn set(
        &mut self,
        broker: BrokerId,
        state: ConnectionState,
        timers: &mut TimerTable<ProducerTimer>,
    ) {
        let connection = self
            .connections
            .entry(broker)
            .or_insert(BrokerConnection { state, failures: 0 });
        connection.state = state;
        if state == ConnectionState::Ready {
            connection.failures = 0;
        }
        match self.wanted_timer_ms(broker) {
            Some(at_ms) => timers.set(ProducerTimer::Connection(broker), at_ms),
            None => {
                timers.cancel(ProducerTimer::Connection(broker));
            }
        }
    }

    /// Opens a connection to an idle broker (Kafka's `NetworkClient.initiateConnect`).
    pub(super) fn connect(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        timers: &mut TimerTable<ProducerTimer>,
    ) -> Effect {
        let deadline_ms = now_ms.saturating_add(self.setup_timeout_ms);
        self.set(broker, ConnectionState::Connecting { deadline_ms }, timers);
        Effect::Connect {
            peer: NodeId::Broker(broker),
        }
    }

    /// The connection asked for is established. An answer nobody waits for (the attempt
    /// timed out meanwhile) changes nothing: Kafka would have closed that socket.
    pub(super) fn on_established(
        &mut self,
        broker: BrokerId,
        timers: &mut TimerTable<ProducerTimer>,
    ) {
        if matches!(self.state(broker), ConnectionState::Connecting { .. }) {
            self.set(broker, ConnectionState::Ready, timers);
        }
    }

    /// The connection closed (or an attempt failed): back off before the next attempt.
    pub(super) fn on_closed(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        timers: &mut TimerTable<ProducerTimer>,
    ) {
        let failures = self
            .connections
            .get(&broker)
            .map_or(0, |connection| connection.failures);
        let backoff_ms = self
            .reconnect_backoff_ms
            .saturating_mul(1u64 << failures.min(20))
            .min(self.reconnect_backoff_max_ms);
        let until_ms = now_ms.saturating_add(backoff_ms);
        self.set(broker, ConnectionState::BackingOff { until_ms }, timers);
        if let Some(connection) = self.connections.get_mut(&broker) {
            connection.failures = failures.saturating_add(1);
        }
    }

    /// [`ProducerTimer::Connection`] of `broker` is due: a connection attempt timed out
    /// (returns true: the caller treats it as a close), or a backoff ended (idle again).
    pub(super) fn on_timer(
        &mut self,
        broker: BrokerId,
        timers: &mut TimerTable<ProducerTimer>,
    ) -> bool {
        match self.state(broker) {
            ConnectionState::Connecting { .. } => true,
            ConnectionState::BackingOff { .. } => {
                self.set(broker, ConnectionState::Idle, timers);
                false
            }
            ConnectionState::Idle | ConnectionState::Ready => false,
        }
    }
}

impl Producer {
    /// Handles every due [`ProducerTimer::Connection`], in broker order: a setup that timed
    /// out closes the connection attempt, a backoff that ended lets the broker be connected
    /// again.
    pub(super) fn handle_connection_timers(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        let due: Vec<BrokerId> = self
            .timers
            .due(now_ms)
            .filter_map(|timer| match timer {
                ProducerTimer::Connection(broker) => Some(broker),
                _ => None,
            })
            .collect();
        for broker in due {
            if self.connections.on_timer(broker, &mut self.timers) {
                self.on_disconnect(now_ms, broker, effects);
            }
        }
    }
}
