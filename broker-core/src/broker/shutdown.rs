//! Controlled shutdown (KIP-841, KRaft's `BrokerLifecycleManager.beginControlledShutdown`)
//! and the clean-shutdown marker (Kafka's `.kafka_cleanshutdown`, `CleanShutdownFileHandler`).
//!
//! A broker asked to stop heartbeats with `want_shut_down`; the controller moves its
//! leaderships away and takes it out of every ISR, and answers `should_shut_down` once it
//! leads nothing. The broker then flushes every log, writes its high-watermark checkpoint
//! and a marker holding its broker epoch, and stops. If the controller does not let it go
//! within `controlled_shutdown_timeout_ms` (Kafka's shutdown deadline), it stops anyway, as
//! `BrokerServer.shutdown` does after its wait times out: the logs are still closed cleanly.
//!
//! On the next start the marker proves the logs were flushed: the broker deletes it (so a
//! crash during start-up is unclean again, KAFKA-10471) and registers with the epoch it
//! holds as `previous_broker_epoch`, which the controller takes as a clean shutdown
//! (KIP-966: the broker may stay an eligible leader replica).

use super::{Broker, BrokerTimer};
use crate::actor::Effect;
use crate::ids::BrokerEpoch;
use crate::log::Log;
use crate::mark::Mark;
use serde::{Deserialize, Serialize};

/// The marker's file name, as Kafka names it in each log directory.
pub const CLEAN_SHUTDOWN_FILE: &str = ".kafka_cleanshutdown";

/// How long the broker waits between heartbeats after the first answer that does not yet
/// let it go (`BrokerLifecycleManager` asks again after 50 ms, then at the usual interval).
const FIRST_PENDING_SHUTDOWN_HEARTBEAT_MS: u64 = 50;

/// The marker's content (Kafka writes `{"version":0,"brokerEpoch":N}`).
#[derive(Serialize, Deserialize)]
struct CleanShutdownMarker {
    version: u32,
    broker_epoch: Option<BrokerEpoch>,
}

/// Where the broker is in stopping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ShutdownState {
    #[default]
    Running,
    /// Heartbeating with `want_shut_down`; `answered` once the controller said "not yet".
    PendingControlledShutdown { answered: bool },
    /// Flushed, marked and stopped: the process exits.
    Stopped,
}

impl Broker {
    /// Starts a controlled shutdown: the next heartbeat, sent now, asks to shut down. A
    /// broker that never registered has nothing to hand over and stops at once.
    pub fn begin_controlled_shutdown(&mut self, now_ms: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        if !self.started || self.shutdown != ShutdownState::Running {
            return effects;
        }
        if self.broker_epoch.is_none() {
            self.finish_shutdown(&mut effects, Mark::ControlledShutdownCompleted);
            return effects;
        }
        self.shutdown = ShutdownState::PendingControlledShutdown { answered: false };
        let timeout_ms = self.config.controlled_shutdown_timeout_ms;
        self.timers.set(
            BrokerTimer::ControlledShutdownTimeout,
            now_ms.saturating_add(timeout_ms.max(1)),
        );
        self.contact_controller(now_ms, &mut effects);
        self.check_invariants(now_ms, false);
        effects
    }

    /// Whether the process has stopped after a (controlled or timed-out) shutdown.
    pub fn has_shut_down(&self) -> bool {
        self.shutdown == ShutdownState::Stopped
    }

    /// Whether a controlled shutdown is waiting for the controller's go-ahead.
    pub fn is_shutting_down(&self) -> bool {
        self.wants_shut_down()
    }

    /// Stops now, without the controller's go-ahead, closing the logs cleanly (what the
    /// timeout does, brought forward: the simulated operator stops waiting).
    pub fn cut_shutdown_short(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.on_controlled_shutdown_timeout(&mut effects);
        effects
    }

    pub(super) fn wants_shut_down(&self) -> bool {
        matches!(
            self.shutdown,
            ShutdownState::PendingControlledShutdown { .. }
        )
    }

    /// A heartbeat answer during a controlled shutdown: stop when let go, else ask again
    /// soon after the first refusal and at the usual interval after that.
    pub(super) fn on_shutdown_heartbeat_answer(
        &mut self,
        now_ms: u64,
        should_shut_down: bool,
        effects: &mut Vec<Effect>,
    ) {
        let ShutdownState::PendingControlledShutdown { answered } = self.shutdown else {
            return;
        };
        if should_shut_down {
            self.finish_shutdown(effects, Mark::ControlledShutdownCompleted);
            return;
        }
        if !answered {
            self.shutdown = ShutdownState::PendingControlledShutdown { answered: true };
            self.timers.set(
                BrokerTimer::ControllerContact,
                now_ms + FIRST_PENDING_SHUTDOWN_HEARTBEAT_MS,
            );
        }
    }

    /// The controller did not let the broker go in time: it stops anyway.
    pub(super) fn on_controlled_shutdown_timeout(&mut self, effects: &mut Vec<Effect>) {
        if self.wants_shut_down() {
            self.finish_shutdown(effects, Mark::ControlledShutdownTimedOut);
        }
    }

    /// `LogManager.shutdown`: flush every log and snapshot its producer state (a partition
    /// that never had a producer id has none to write), checkpoint the high watermarks and
    /// the log start offsets,
    /// write the marker with the current broker epoch, and stop.
    fn finish_shutdown(&mut self, effects: &mut Vec<Effect>, mark: Mark) {
        for (partition, replica) in &mut self.partitions {
            self.storage.sync(&Log::file_name(*partition));
            replica.write_producer_snapshot(self.storage.as_mut());
        }
        self.write_high_watermark_checkpoint();
        self.write_log_start_offset_checkpoint();
        let marker = CleanShutdownMarker {
            version: 0,
            broker_epoch: self.broker_epoch,
        };
        // Serialising plain data with derived impls into memory cannot fail.
        let bytes = serde_json::to_vec(&marker).expect("the marker serialises to JSON");
        self.storage.replace(CLEAN_SHUTDOWN_FILE, &bytes);
        self.storage.sync(CLEAN_SHUTDOWN_FILE);
        self.timers.clear();
        self.shutdown = ShutdownState::Stopped;
        effects.push(Effect::Mark(mark));
    }

    /// Reads and deletes the marker at start (`LogManager.loadLogs`): `Some(epoch)` when the
    /// previous process shut down cleanly, with the epoch it held (`None` inside if it never
    /// registered). A marker that does not parse counts as absent, as Kafka's reader falls
    /// back to -1.
    pub(super) fn take_clean_shutdown_marker(&mut self) -> Option<Option<BrokerEpoch>> {
        let bytes = self.storage.read(CLEAN_SHUTDOWN_FILE);
        if bytes.is_empty() {
            return None;
        }
        self.storage.replace(CLEAN_SHUTDOWN_FILE, &[]);
        self.storage.sync(CLEAN_SHUTDOWN_FILE);
        serde_json::from_slice::<CleanShutdownMarker>(&bytes)
            .ok()
            .map(|marker| marker.broker_epoch)
    }
}
