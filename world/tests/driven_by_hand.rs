//! The world needs no executor: a plain loop that always steps the node with the earliest
//! wake-up (ties in node order) runs a whole scenario, as an exhaustive explorer would drive
//! it one step at a time. No madsim, no threads, no clock.

use std::collections::BTreeMap;
use std::sync::Arc;
use watermark_broker_core::ids::NodeId;
use watermark_world::checkers::{check_history, FinalState};
use watermark_world::scenario::Scenario;
use watermark_world::trace::TraceMode;
use watermark_world::world::{node_ids, World};

/// Runs `scenario` until `until_ms` by stepping nodes in wake-up order; returns the world.
fn drive(scenario: Scenario, seed: u64, until_ms: u64) -> World {
    let start_ms: BTreeMap<NodeId, u64> = node_ids(&scenario)
        .into_iter()
        .map(|node| {
            let start = match node {
                NodeId::Producer(client) => scenario.producers[client.0 as usize].start_ms,
                NodeId::Consumer(client) => scenario.consumers[client.0 as usize].start_ms,
                _ => 0,
            };
            (node, start)
        })
        .collect();
    let mut world = World::new(Arc::new(scenario), seed, TraceMode::HashOnly);
    // Nodes not yet started wake at their start time; started nodes at what `step` says.
    let mut wake_ms: BTreeMap<NodeId, Option<u64>> = start_ms
        .iter()
        .map(|(node, at)| (*node, Some(*at)))
        .collect();
    let mut started = BTreeMap::new();
    loop {
        // Wake-ups a step caused on other nodes (a message delivered) show in their plans.
        for (node, slot) in &world.nodes {
            if started.contains_key(node) {
                wake_ms.insert(*node, slot.planned_wake_ms);
            }
        }
        let Some((node, now_ms)) = wake_ms
            .iter()
            .filter_map(|(node, at)| at.map(|at| (*node, at)))
            .min_by_key(|(node, at)| (*at, *node))
        else {
            break;
        };
        if now_ms > until_ms {
            break;
        }
        if started.insert(node, ()).is_none() {
            world.start_node(node, now_ms, Box::new(|| {}));
        }
        let next = world.step(node, now_ms);
        wake_ms.insert(node, next);
    }
    world
}

#[test]
fn a_quiet_scenario_runs_to_completion_without_an_executor() {
    let scenario = Scenario {
        name: "by-hand".to_string(),
        ..Scenario::default()
    };
    let records = scenario.producers[0].records;
    let assigned_partitions = (0..scenario.consumers.len())
        .flat_map(|index| scenario.consumer_assignment(index))
        .collect();
    let world = drive(scenario, 7, 40_000);
    assert_eq!(world.convergence_gap(), None, "the cluster converged");
    let final_state = FinalState {
        logs: world.final_logs(),
        assigned_partitions,
        time_ms: 40_000,
        ..FinalState::default()
    };
    assert_eq!(
        final_state.logs.values().map(Vec::len).sum::<usize>() as u64,
        records
    );
    let violations = check_history(&world.history, &final_state);
    assert!(violations.is_empty(), "{violations:?}");
    assert!(world.violations.is_empty(), "{:?}", world.violations);
}

#[test]
fn the_same_seed_drives_the_same_trace() {
    let scenario = || Scenario {
        name: "by-hand".to_string(),
        ..Scenario::default()
    };
    let first = drive(scenario(), 3, 20_000).trace.hash_hex();
    let second = drive(scenario(), 3, 20_000).trace.hash_hex();
    assert_eq!(first, second);
}

#[test]
fn a_stopped_broker_closes_its_connections_and_its_peers_are_told_at_once() {
    use watermark_broker_core::ids::BrokerId;
    use watermark_world::step_record::{Record, StepInput};
    let scenario = Scenario {
        name: "by-hand".to_string(),
        ..Scenario::default()
    };
    let mut world = drive(scenario, 7, 2_000);
    world.records = Some(Vec::new());
    let stopped = NodeId::Broker(BrokerId(1));
    world.stop_node(stopped, 2_000);
    let peers: Vec<NodeId> = world
        .nodes
        .keys()
        .copied()
        .filter(|node| *node != stopped)
        .collect();
    for node in &peers {
        world.step(*node, 2_000);
    }
    let told: Vec<NodeId> = world
        .records
        .take()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|record| match record {
            Record::Step(step) => match step.input {
                StepInput::ConnectionClosed { peer, .. } if peer == stopped => {
                    assert_eq!(step.time_ms, 2_000, "told at the moment of the stop");
                    Some(step.node)
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    // The controller (heartbeats), the other brokers (replication) and the producer
    // (bootstrap metadata, produce) all had a connection with broker 1.
    let mut once = told.clone();
    once.dedup();
    assert_eq!(once, told, "each peer is told once");
    assert!(told.contains(&NodeId::Controller), "{told:?}");
    assert!(
        told.iter().any(|node| matches!(node, NodeId::Producer(_))),
        "{told:?}"
    );
}
