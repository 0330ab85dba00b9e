//! The random swarm's fault schedule: drawn from the seed alone, before the run starts, so
//! the schedule does not shift when traffic changes.

use crate::fault::{Fault, FaultKind, ScriptedFault, Swarm, Target};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use watermark_broker_core::ids::{BrokerId, NodeId};

/// Draws the swarm's fault schedule for the safety phase from the seed. The seed first
/// picks which of the enabled kinds this run uses and how dense they are, so different seeds
/// explore different mixes, then draws each fault, its target and its duration.
pub fn swarm_schedule(
    swarm: &Swarm,
    brokers: &[BrokerId],
    seed: u64,
    safety_ms: u64,
) -> Vec<ScriptedFault> {
    let mut random = StdRng::seed_from_u64(seed ^ 0x7377_6172_6d00_0000);
    let mut kinds: Vec<FaultKind> = swarm
        .kinds
        .iter()
        .copied()
        .filter(|_| random.gen_bool(0.6))
        .collect();
    if kinds.is_empty() {
        if let Some(kind) = swarm.kinds.choose(&mut random) {
            kinds.push(*kind);
        }
    }
    let mut nodes: Vec<NodeId> = brokers
        .iter()
        .map(|broker| NodeId::Broker(*broker))
        .collect();
    nodes.push(NodeId::Controller);
    let target_of = |node: NodeId| match node {
        NodeId::Broker(broker) => Target::Broker(broker),
        _ => Target::Controller,
    };
    let interval_ms_max = random.gen_range(swarm.interval_ms_min..=swarm.interval_ms_max);
    let mut schedule = Vec::new();
    let mut at_ms = 1_500;
    while at_ms < safety_ms && !kinds.is_empty() {
        let kind = kinds[random.gen_range(0..kinds.len())];
        let duration_ms = random.gen_range(swarm.duration_ms_min..=swarm.duration_ms_max);
        let node = nodes[random.gen_range(0..nodes.len())];
        let end_ms = (at_ms + duration_ms).min(safety_ms);
        let (fault, repair) = match kind {
            FaultKind::Crash => (
                Fault::Crash {
                    target: target_of(node),
                },
                Fault::Restart {
                    target: target_of(node),
                },
            ),
            FaultKind::PowerLoss => {
                // A fifth of power losses take every broker down at once: a rack or a data
                // centre losing power, where replication is no help without fsync.
                let target = if random.gen_bool(0.2) {
                    Target::AllBrokers
                } else {
                    target_of(node)
                };
                (
                    Fault::PowerLoss {
                        target: target.clone(),
                    },
                    Fault::Restart { target },
                )
            }
            // Only brokers shut down gracefully; drawn on the controller it is a no-op.
            FaultKind::Shutdown => (
                Fault::Shutdown {
                    target: target_of(node),
                },
                Fault::Restart {
                    target: target_of(node),
                },
            ),
            FaultKind::Pause => (
                Fault::Pause {
                    target: target_of(node),
                },
                Fault::Resume {
                    target: target_of(node),
                },
            ),
            FaultKind::Partition => {
                let mut side: Vec<NodeId> = nodes.clone();
                side.shuffle(&mut random);
                side.truncate(random.gen_range(1..nodes.len().max(2)));
                (
                    Fault::PartitionAway {
                        side: side.into_iter().map(target_of).collect(),
                    },
                    Fault::HealAll,
                )
            }
            FaultKind::OneWayCut => {
                let mut pair = nodes.clone();
                pair.shuffle(&mut random);
                (
                    Fault::CutOneWay {
                        from: target_of(pair[0]),
                        to: target_of(pair[1 % pair.len()]),
                    },
                    Fault::HealAll,
                )
            }
            FaultKind::SlowFollower => (
                Fault::SlowLinks {
                    target: target_of(node),
                    latency_ms: random.gen_range(50..=3_000),
                },
                Fault::HealAll,
            ),
            FaultKind::SlowDisk => (
                Fault::SlowDisk {
                    target: target_of(node),
                    fsync_latency_ms: random.gen_range(50..=2_000),
                },
                Fault::HealAll,
            ),
        };
        schedule.push(ScriptedFault { at_ms, fault });
        schedule.push(ScriptedFault {
            at_ms: end_ms,
            fault: repair,
        });
        at_ms +=
            random.gen_range(swarm.interval_ms_min..=interval_ms_max.max(swarm.interval_ms_min));
    }
    schedule
}
