//! The nemesis: applies faults — scripted at times, drawn by the seeded swarm, or fired by
//! triggers on protocol events — and, at the end of the safety phase, repairs everything for
//! the liveness phase. It runs in the supervisor task, never inside a node, so it can kill
//! the very node whose event fired a trigger.

use crate::fault::{Fault, ScriptedFault, Target};
use crate::node::{now_ms, sleep_until_ms};
use crate::step_record::NemesisAction;
pub use crate::swarm::swarm_schedule;
use crate::world::{broker_ids, PendingFault, SharedWorld, World};
use futures::channel::mpsc;
use futures::future::{select, Either};
use futures::StreamExt;
use std::collections::BTreeMap;
use watermark_broker_core::ids::{ClientId, NodeId};

/// Applies faults to one run.
pub struct Nemesis {
    world: SharedWorld,
    start: madsim::time::Instant,
    handle: madsim::runtime::Handle,
    madsim_nodes: BTreeMap<NodeId, madsim::task::NodeId>,
    /// Scripted and swarm faults not applied yet, ordered by time.
    schedule: Vec<ScriptedFault>,
    wakeups: mpsc::UnboundedReceiver<()>,
    /// The nodes each labelled fault or trigger hit, for `Target::Struck`.
    struck: BTreeMap<String, Vec<NodeId>>,
}

impl Nemesis {
    pub fn new(
        world: SharedWorld,
        start: madsim::time::Instant,
        madsim_nodes: BTreeMap<NodeId, madsim::task::NodeId>,
    ) -> Nemesis {
        let (waker, wakeups) = mpsc::unbounded();
        let schedule = {
            let mut locked = world.lock();
            locked.nemesis_waker = Some(Box::new(move || {
                let _ = waker.unbounded_send(());
            }));
            let scenario = std::sync::Arc::clone(&locked.scenario);
            let mut schedule = scenario.faults.scripted.clone();
            if let Some(swarm) = &scenario.faults.swarm {
                let plan = swarm_schedule(swarm, &scenario, locked.seed);
                schedule.extend(plan.scripted);
                locked
                    .triggers
                    .extend(plan.triggers.into_iter().map(|trigger| (trigger, false)));
            }
            // Stable: faults at the same time keep their written order.
            schedule.sort_by_key(|fault| fault.at_ms);
            schedule
        };
        Nemesis {
            world,
            start,
            handle: madsim::runtime::Handle::current(),
            madsim_nodes,
            schedule,
            wakeups,
            struck: BTreeMap::new(),
        }
    }

    /// Applies faults until `until_ms`.
    pub async fn run_safety_phase(&mut self, until_ms: u64) {
        let mut next_scheduled = 0;
        loop {
            let now = now_ms(self.start);
            while next_scheduled < self.schedule.len() && self.schedule[next_scheduled].at_ms <= now
            {
                let scheduled = self.schedule[next_scheduled].clone();
                self.apply_labelled(&scheduled.fault, None, scheduled.label);
                next_scheduled += 1;
            }
            self.apply_due_trigger_faults(now);
            if now >= until_ms {
                return;
            }
            let next_pending = self
                .world
                .lock()
                .pending_faults
                .iter()
                .map(|pending| pending.due_ms)
                .min();
            let next_ms = [
                self.schedule.get(next_scheduled).map(|fault| fault.at_ms),
                next_pending,
                Some(until_ms),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(until_ms)
            .max(now + 1);
            let sleep = Box::pin(sleep_until_ms(self.start, next_ms));
            if let Either::Right((Some(()), _)) = select(sleep, self.wakeups.next()).await {
                while self.wakeups.try_recv().is_ok() {}
            }
        }
    }

    fn apply_due_trigger_faults(&mut self, now: u64) {
        let due: Vec<PendingFault> = {
            let mut world = self.world.lock();
            let (due, later) = std::mem::take(&mut world.pending_faults)
                .into_iter()
                .partition(|pending| pending.due_ms <= now);
            world.pending_faults = later;
            due
        };
        let mut sources = Vec::new();
        for pending in due {
            self.apply_labelled(&pending.fault, Some(pending.source), pending.label);
            sources.push(pending.source);
        }
        let mut world = self.world.lock();
        for source in sources {
            world.unfreeze(source);
        }
    }

    /// Repairs everything for the liveness phase: no more triggers, links healed, disks
    /// normal, paused nodes resumed, dead nodes restarted (the controller first).
    pub fn repair_everything(&mut self) {
        let paused_or_down: Vec<(NodeId, bool)> = {
            let mut world = self.world.lock();
            world.triggers_armed = false;
            world.pending_faults.clear();
            let now = now_ms(self.start);
            world.record_nemesis(now, NemesisAction::LivenessPhase);
            world
                .nodes
                .iter()
                .map(|(node, slot)| (*node, slot.paused))
                .filter(|(node, paused)| *paused || !world.is_up(*node))
                .collect()
        };
        self.apply(&Fault::HealAll, None);
        let shutting_down: Vec<NodeId> = {
            let world = self.world.lock();
            world
                .nodes
                .keys()
                .copied()
                .filter(|node| world.is_shutting_down(*node))
                .collect()
        };
        for node in shutting_down {
            self.cut_shutdown_short(node);
        }
        for (node, paused) in paused_or_down {
            if paused {
                self.resume(node);
            }
        }
        let down: Vec<NodeId> = {
            let world = self.world.lock();
            world
                .nodes
                .keys()
                .copied()
                .filter(|node| !world.is_up(*node))
                .collect()
        };
        for node in down {
            self.restart(node);
        }
        let mut world = self.world.lock();
        let frozen: Vec<NodeId> = world
            .nodes
            .iter()
            .filter(|(_, slot)| slot.frozen)
            .map(|(node, _)| *node)
            .collect();
        for node in frozen {
            world.unfreeze(node);
        }
    }

    fn resolve(&self, target: &Target, source: Option<NodeId>) -> Vec<NodeId> {
        let world = self.world.lock();
        let default_topic = world.scenario.default_topic();
        match target {
            Target::Broker(broker) => vec![NodeId::Broker(*broker)],
            Target::Controller => vec![NodeId::Controller],
            Target::Leader(partition) => world
                .leader_of(partition.resolve(default_topic))
                .map(|leader| vec![NodeId::Broker(leader)])
                .unwrap_or_default(),
            Target::Followers(partition) => {
                let partition = partition.resolve(default_topic);
                let leader = world.leader_of(partition);
                world
                    .replicas_of(partition)
                    .into_iter()
                    .filter(|replica| Some(*replica) != leader)
                    .map(NodeId::Broker)
                    .collect()
            }
            Target::AllBrokers => broker_ids(&world.scenario)
                .into_iter()
                .map(NodeId::Broker)
                .collect(),
            Target::EventSource => source.into_iter().collect(),
            Target::NewestIsrMember(partition) => world
                .newest_isr_member
                .get(&partition.resolve(default_topic))
                .map(|broker| vec![NodeId::Broker(*broker)])
                .unwrap_or_default(),
            Target::LaggingFollower(partition) => world
                .lagging_follower(partition.resolve(default_topic))
                .map(|broker| vec![NodeId::Broker(broker)])
                .unwrap_or_default(),
            Target::Struck(label) => self.struck.get(label).cloned().unwrap_or_default(),
            Target::Producer(index) => vec![NodeId::Producer(ClientId(*index))],
            Target::Consumer(index) => vec![NodeId::Consumer(ClientId(*index))],
        }
        .into_iter()
        .filter(|node| world.nodes.contains_key(node))
        .collect()
    }

    fn act(&self, action: NemesisAction) {
        let mut world = self.world.lock();
        self.act_locked(&mut world, action);
    }

    /// Records a nemesis action (its trace line included), for callers already holding the
    /// world.
    fn act_locked(&self, world: &mut World, action: NemesisAction) {
        world.record_nemesis(now_ms(self.start), action);
    }

    /// Applies one fault now, first remembering under `label` the nodes it hits.
    pub fn apply_labelled(&mut self, fault: &Fault, source: Option<NodeId>, label: Option<String>) {
        if let Some(label) = label {
            let mut hit: Vec<NodeId> = fault
                .targets()
                .into_iter()
                .flat_map(|target| self.resolve(target, source))
                .collect();
            hit.sort();
            hit.dedup();
            self.struck.insert(label, hit);
        }
        self.apply(fault, source);
    }

    /// Applies one fault now.
    pub fn apply(&mut self, fault: &Fault, source: Option<NodeId>) {
        match fault {
            Fault::Crash { target } => {
                for node in self.resolve(target, source) {
                    if self.world.lock().is_up(node) {
                        self.act(NemesisAction::Crash { node });
                        self.kill(node);
                    }
                }
            }
            Fault::PowerLoss { target } => {
                for node in self.resolve(target, source) {
                    self.act(NemesisAction::PowerLoss { node });
                    {
                        let mut world = self.world.lock();
                        let torn_writes = world.scenario.disk.torn_writes;
                        if let Some(disk) = world.disks.get(&node).cloned() {
                            disk.power_loss(&mut world.random, torn_writes);
                        }
                    }
                    if self.world.lock().is_up(node) {
                        self.kill(node);
                    }
                }
            }
            Fault::Shutdown { target } => {
                for node in self.resolve(target, source) {
                    let mut world = self.world.lock();
                    if world.is_up(node) && matches!(node, NodeId::Broker(_)) {
                        self.act_locked(&mut world, NemesisAction::Shutdown { node });
                        let now = now_ms(self.start);
                        world.begin_controlled_shutdown(node, now);
                    }
                }
            }
            Fault::Restart { target } => {
                for node in self.resolve(target, source) {
                    self.cut_shutdown_short(node);
                    self.restart(node);
                }
            }
            Fault::Pause { target } => {
                for node in self.resolve(target, source) {
                    let mut world = self.world.lock();
                    if world.is_up(node) && !world.nodes[&node].paused {
                        if let Some(slot) = world.nodes.get_mut(&node) {
                            slot.paused = true;
                        }
                        self.act_locked(&mut world, NemesisAction::Pause { node });
                        drop(world);
                        self.handle.pause(self.madsim_nodes[&node]);
                    }
                }
            }
            Fault::Resume { target } => {
                for node in self.resolve(target, source) {
                    self.resume(node);
                }
            }
            Fault::Isolate { target } => {
                let isolated = self.resolve(target, source);
                let mut world = self.world.lock();
                let all: Vec<NodeId> = world.nodes.keys().copied().collect();
                cut_both_ways(&mut world, &isolated, &all);
                self.act_locked(&mut world, NemesisAction::Isolate { nodes: isolated });
            }
            Fault::PartitionAway { side } => {
                let side_nodes: Vec<NodeId> = side
                    .iter()
                    .flat_map(|target| self.resolve(target, source))
                    .collect();
                let mut world = self.world.lock();
                let others: Vec<NodeId> = world
                    .nodes
                    .keys()
                    .copied()
                    .filter(|node| !side_nodes.contains(node))
                    .collect();
                cut_both_ways(&mut world, &side_nodes, &others);
                self.act_locked(&mut world, NemesisAction::Partition { side: side_nodes });
            }
            Fault::CutOneWay { from, to } => {
                let from_nodes = self.resolve(from, source);
                let to_nodes = self.resolve(to, source);
                let mut world = self.world.lock();
                for sender in &from_nodes {
                    for receiver in &to_nodes {
                        world.network.cut(*sender, *receiver);
                    }
                }
                self.act_locked(
                    &mut world,
                    NemesisAction::CutOneWay {
                        from: from_nodes,
                        to: to_nodes,
                    },
                );
            }
            Fault::SlowLinks { target, latency_ms } => {
                let nodes = self.resolve(target, source);
                let mut world = self.world.lock();
                for node in &nodes {
                    world.network.set_slow(*node, *latency_ms);
                }
                self.act_locked(
                    &mut world,
                    NemesisAction::SlowLinks {
                        nodes,
                        latency_ms: *latency_ms,
                    },
                );
            }
            Fault::SlowDisk {
                target,
                fsync_latency_ms,
            } => {
                let nodes = self.resolve(target, source);
                let world = self.world.lock();
                for node in &nodes {
                    if let Some(disk) = world.disks.get(node) {
                        disk.set_fsync_latency_ms(*fsync_latency_ms);
                    }
                }
                drop(world);
                self.act(NemesisAction::SlowDisk {
                    nodes,
                    fsync_latency_ms: *fsync_latency_ms,
                });
            }
            Fault::HealAll => {
                let mut world = self.world.lock();
                world.network.heal_all();
                let fsync_latency_ms = world.scenario.disk.fsync_latency_ms;
                for disk in world.disks.values() {
                    disk.set_fsync_latency_ms(fsync_latency_ms);
                }
                self.act_locked(&mut world, NemesisAction::HealAll);
                world.wake_all();
            }
        }
    }

    fn kill(&mut self, node: NodeId) {
        self.handle.kill(self.madsim_nodes[&node]);
        let mut world = self.world.lock();
        let now = now_ms(self.start);
        world.stop_node(node, now);
        world.record_network_drops(now);
    }

    /// A broker still waiting for its controlled shutdown stops now (so that it can be
    /// restarted): the operator stopped waiting.
    fn cut_shutdown_short(&mut self, node: NodeId) {
        let mut world = self.world.lock();
        if world.is_shutting_down(node) {
            self.act_locked(&mut world, NemesisAction::ShutdownCutShort { node });
            let now = now_ms(self.start);
            world.cut_shutdown_short(node, now);
        }
    }

    fn restart(&mut self, node: NodeId) {
        if self.world.lock().is_up(node) {
            return;
        }
        self.act(NemesisAction::Restart { node });
        // Kill first: madsim's restart keeps what the old incarnation left behind otherwise.
        self.handle.kill(self.madsim_nodes[&node]);
        self.handle.restart(self.madsim_nodes[&node]);
    }

    fn resume(&mut self, node: NodeId) {
        let mut world = self.world.lock();
        if world.nodes.get(&node).is_some_and(|slot| slot.paused) {
            if let Some(slot) = world.nodes.get_mut(&node) {
                slot.paused = false;
            }
            self.act_locked(&mut world, NemesisAction::Resume { node });
            drop(world);
            self.handle.resume(self.madsim_nodes[&node]);
            self.world.lock().wake_all();
        }
    }
}

/// Cuts every link between a node of `side` and a node of `others`, in both directions.
fn cut_both_ways(world: &mut World, side: &[NodeId], others: &[NodeId]) {
    for node in side {
        for other in others {
            world.network.cut(*node, *other);
            world.network.cut(*other, *node);
        }
    }
}
