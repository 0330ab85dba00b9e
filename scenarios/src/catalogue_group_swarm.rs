//! The consumer groups' random swarm: the safe application (process, then commit) under
//! every kind of broker and consumer fault at once.

use crate::builder::ScenarioBuilder;
use crate::catalogue::safe_swarm;
use watermark_broker_core::protocol::Acks;
use watermark_sim::processing::ProcessingMode;
use watermark_sim::scenario::{ConsumerWorkload, Scenario};
use watermark_sim::verdict::Guarantee;

/// A member of group `billing` that processes, then commits, with timeouts short enough
/// that the swarm's pauses, cuts and slow processing outlast them.
fn safe_member() -> ConsumerWorkload {
    let mut consumer = ConsumerWorkload {
        processing: Some(ProcessingMode::ProcessThenCommit),
        processing_ms: Some(5),
        ..ConsumerWorkload::default()
    };
    consumer.config.group_id = Some("billing".to_string());
    consumer.config.enable_auto_commit = false;
    consumer.config.session_timeout_ms = 6_000;
    consumer.config.heartbeat_interval_ms = 2_000;
    consumer.config.max_poll_interval_ms = 10_000;
    consumer
}

pub fn safe_consumer_group_swarm() -> Result<Scenario, String> {
    ScenarioBuilder::new("safe-consumer-group-swarm")
        .summary("process, then commit, under random broker and consumer faults: every record processed at least once")
        .explanation(
            "Three members of one group process each record, then commit its position, \
             reading a topic written with Kafka's most durable settings (acks=all, \
             min.insync.replicas=2 for the topic and for __consumer_offsets, every message \
             synced). The seed draws every broker fault of the acks-all swarm and, as often, \
             faults aimed at the group: a member crashed and restarted, paused past its 6 s \
             session (a zombie that wakes and commits), cut off from everyone or one way \
             from its coordinator, slowed on the network, or slowed in its processing past \
             max.poll.interval.ms; and the coordinator crashed, powered off, shut down or \
             paused, so the group fails over and is reloaded from __consumer_offsets. Some \
             faults wait for a member's commit or the start of a rebalance. Rebalances \
             process records twice; none may leave an acknowledged record unprocessed, no \
             committed offset may pass what the group processed or move back, and no \
             commit from a fenced generation may be accepted.",
        )
        .partitions(3)
        .records(600, 40)
        .acks(Acks::All)
        .min_insync_replicas(2)
        .broker_config(|broker| {
            broker.replica_lag_time_max_ms = 10_000;
            broker.log_flush_interval_messages = Some(1);
            broker.offsets_topic_min_insync_replicas = 2;
        })
        .consumers(vec![safe_member(), safe_member(), safe_member()])
        .swarm(safe_swarm())
        .expect(Guarantee::AtLeastOnce)
        .build()
}
