//! The nemesis: applies faults — scripted at times, drawn by the seeded swarm, or fired by
//! triggers on protocol events — and, at the end of the safety phase, repairs everything for
//! the liveness phase. It runs in the supervisor task, never inside a node, so it can kill
//! the very node whose event fired a trigger.

use crate::fault::{Fault, PartitionRef, ScriptedFault, Target};
use crate::node::{now_ms, sleep_until_ms};
use crate::not_applied::{FaultSource, NodeState, NotApplied, NotAppliedReason};
use crate::step_record::NemesisAction;
pub use crate::swarm::swarm_schedule;
use crate::world::{broker_ids, ArmedTrigger, PendingFault, SharedWorld, World};
use futures::channel::mpsc;
use futures::future::{select, Either};
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::{ClientId, GroupId, NodeId, Offset, TransactionalId};
use watermark_broker_core::offsets_topic::group_partition;
use watermark_broker_core::protocol::{
    DeleteRecordsOffset, DeleteRecordsRequest, DELETE_RECORDS_DEFAULT_TIMEOUT_MS,
};
use watermark_broker_core::transaction_state_topic::transaction_partition;

/// Whether a fault applied, and why not when it did not.
pub type Applied = Result<(), NotAppliedReason>;

/// Applies faults to one run.
pub struct Nemesis {
    world: SharedWorld,
    start: madsim::time::Instant,
    handle: madsim::runtime::Handle,
    madsim_nodes: BTreeMap<NodeId, madsim::task::NodeId>,
    /// Scripted and swarm faults, ordered by time, each with where it came from.
    schedule: Vec<(ScriptedFault, FaultSource)>,
    /// How many of `schedule` are due and done.
    next_scheduled: usize,
    wakeups: mpsc::UnboundedReceiver<()>,
    /// The nodes each labelled fault or trigger hit, for `Target::Struck`.
    struck: BTreeMap<String, Vec<NodeId>>,
    /// Brokers told to shut down while paused. A stopped process acts on its SIGTERM only
    /// once it runs again, so the controlled shutdown begins when the broker resumes (if it
    /// is not killed first). Before, a paused broker began it at once and asked the
    /// controller to move its leaders away while paused, which a real one cannot do.
    shutdown_on_resume: BTreeSet<NodeId>,
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
            let mut schedule: Vec<(ScriptedFault, FaultSource)> = scenario
                .faults
                .scripted
                .iter()
                .cloned()
                .map(|fault| (fault, FaultSource::Scripted))
                .collect();
            if let Some(swarm) = &scenario.faults.swarm {
                let plan = swarm_schedule(swarm, &scenario, locked.seed);
                schedule.extend(
                    plan.scripted
                        .into_iter()
                        .map(|fault| (fault, FaultSource::Swarm)),
                );
                locked
                    .triggers
                    .extend(plan.triggers.into_iter().map(|trigger| ArmedTrigger {
                        trigger,
                        fired: false,
                        origin: FaultSource::Swarm,
                    }));
            }
            // Stable: faults at the same time keep their written order.
            schedule.sort_by_key(|(fault, _)| fault.at_ms);
            schedule
        };
        Nemesis {
            world,
            start,
            handle: madsim::runtime::Handle::current(),
            madsim_nodes,
            schedule,
            next_scheduled: 0,
            wakeups,
            struck: BTreeMap::new(),
            shutdown_on_resume: BTreeSet::new(),
        }
    }

    /// Applies faults until `until_ms`.
    pub async fn run_safety_phase(&mut self, until_ms: u64) {
        loop {
            let now = now_ms(self.start);
            while let Some((scheduled, origin)) = self
                .schedule
                .get(self.next_scheduled)
                .filter(|(scheduled, _)| scheduled.at_ms <= now)
                .cloned()
            {
                self.next_scheduled += 1;
                let applied = self.apply_labelled(&scheduled.fault, None, scheduled.label.clone());
                if let Err(reason) = applied {
                    self.record_not_applied(NotApplied {
                        time_ms: now,
                        source: origin,
                        fault: Some(scheduled.fault),
                        trigger: None,
                        reason,
                        optional: scheduled.optional,
                    });
                }
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
                self.schedule
                    .get(self.next_scheduled)
                    .map(|(fault, _)| fault.at_ms),
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
            let applied =
                self.apply_labelled(&pending.fault, Some(pending.source), pending.label.clone());
            if let Err(reason) = applied {
                self.record_not_applied(NotApplied {
                    time_ms: now,
                    source: pending.origin,
                    fault: Some(pending.fault),
                    trigger: Some(pending.trigger),
                    reason,
                    optional: pending.optional,
                });
            }
            sources.push(pending.source);
        }
        let mut world = self.world.lock();
        for source in sources {
            world.unfreeze(source);
        }
    }

    /// Records what the safety phase left undone: triggers that never fired, trigger faults
    /// not yet due, scheduled faults not yet due. Triggers are disarmed first.
    fn record_left_undone(&mut self) {
        let now = now_ms(self.start);
        let mut world = self.world.lock();
        world.triggers_armed = false;
        let default_topic = world.scenario.default_topic();
        let never_fired: Vec<NotApplied> = world
            .triggers
            .iter()
            .filter(|armed| !armed.fired)
            .map(|armed| NotApplied {
                time_ms: now,
                source: armed.origin,
                fault: None,
                trigger: Some(crate::trigger::describe_condition(
                    &armed.trigger.condition,
                    default_topic,
                )),
                reason: NotAppliedReason::TriggerNeverFired,
                optional: armed.trigger.optional,
            })
            .collect();
        let dropped = std::mem::take(&mut world.pending_faults)
            .into_iter()
            .map(|pending| NotApplied {
                time_ms: now,
                source: pending.origin,
                fault: Some(pending.fault),
                trigger: Some(pending.trigger),
                reason: NotAppliedReason::SafetyPhaseEnded {
                    due_ms: pending.due_ms,
                },
                optional: pending.optional,
            });
        let unscheduled = self.schedule[self.next_scheduled..]
            .iter()
            .map(|(scheduled, origin)| NotApplied {
                time_ms: now,
                source: *origin,
                fault: Some(scheduled.fault.clone()),
                trigger: None,
                reason: NotAppliedReason::SafetyPhaseEnded {
                    due_ms: scheduled.at_ms,
                },
                optional: scheduled.optional,
            });
        let left_undone: Vec<NotApplied> = never_fired
            .into_iter()
            .chain(dropped)
            .chain(unscheduled)
            .collect();
        self.next_scheduled = self.schedule.len();
        drop(world);
        for not_applied in left_undone {
            self.record_not_applied(not_applied);
        }
    }

    /// Keeps a fault or trigger that did not apply for the report. A swarm fault is always
    /// optional: a random schedule often aims at a node that is already down.
    fn record_not_applied(&self, mut not_applied: NotApplied) {
        not_applied.optional |= not_applied.source == FaultSource::Swarm;
        self.world.lock().record_not_applied(not_applied);
    }

    /// Repairs everything for the liveness phase: no more triggers, links healed, disks
    /// normal, paused nodes resumed, dead nodes restarted (the controller first). What the
    /// safety phase left undone is recorded first; the repair itself never counts as a
    /// fault, applied or not.
    pub fn repair_everything(&mut self) {
        self.record_left_undone();
        // The repair resumes every paused node to bring the cluster back, not to stop it.
        self.shutdown_on_resume.clear();
        let paused_or_down: Vec<(NodeId, bool)> = {
            let mut world = self.world.lock();
            let now = now_ms(self.start);
            world.record_nemesis(now, NemesisAction::LivenessPhase);
            world
                .nodes
                .iter()
                .map(|(node, slot)| (*node, slot.paused))
                .filter(|(node, paused)| *paused || !world.is_up(*node))
                .collect()
        };
        self.heal_all();
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
                let _resumed = self.resume(node);
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
            let _restarted = self.restart(node);
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
            Target::Coordinator(group) => {
                let partitions = world.scenario.broker.offsets_topic_num_partitions;
                let partition = group_partition(&GroupId(group.clone()), partitions);
                world
                    .leader_of(partition)
                    .map(|leader| vec![NodeId::Broker(leader)])
                    .unwrap_or_default()
            }
            Target::TransactionCoordinator(id) => {
                let partitions = world.scenario.broker.transaction_state_log_num_partitions;
                let partition = transaction_partition(&TransactionalId(id.clone()), partitions);
                world
                    .leader_of(partition)
                    .map(|leader| vec![NodeId::Broker(leader)])
                    .unwrap_or_default()
            }
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
    pub fn apply_labelled(
        &mut self,
        fault: &Fault,
        source: Option<NodeId>,
        label: Option<String>,
    ) -> Applied {
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
        self.apply(fault, source)
    }

    /// Applies one fault now; says why not when it reached none of its nodes or links.
    pub fn apply(&mut self, fault: &Fault, source: Option<NodeId>) -> Applied {
        match fault {
            Fault::Crash { target } => self.for_each_node(target, source, |nemesis, node| {
                if !nemesis.world.lock().is_up(node) {
                    return Err(NodeState::Down);
                }
                nemesis.act(NemesisAction::Crash { node });
                nemesis.kill(node);
                Ok(())
            }),
            // A power loss of a node that is down still costs its page cache: it applies.
            Fault::PowerLoss { target } => self.for_each_node(target, source, |nemesis, node| {
                nemesis.power_loss(node);
                Ok(())
            }),
            Fault::Shutdown { target } => self.for_each_node(target, source, |nemesis, node| {
                let mut world = nemesis.world.lock();
                if !matches!(node, NodeId::Broker(_)) {
                    return Err(NodeState::NotABroker);
                }
                if !world.is_up(node) {
                    return Err(NodeState::Down);
                }
                nemesis.act_locked(&mut world, NemesisAction::Shutdown { node });
                if world.nodes[&node].paused {
                    nemesis.shutdown_on_resume.insert(node);
                    return Ok(());
                }
                let now = now_ms(nemesis.start);
                world.begin_controlled_shutdown(node, now);
                Ok(())
            }),
            Fault::Restart { target } => self.for_each_node(target, source, |nemesis, node| {
                nemesis.cut_shutdown_short(node);
                nemesis.restart(node)
            }),
            Fault::Pause { target } => {
                self.for_each_node(target, source, |nemesis, node| nemesis.pause(node))
            }
            Fault::Resume { target } => {
                self.for_each_node(target, source, |nemesis, node| nemesis.resume(node))
            }
            Fault::Isolate { target } => {
                let isolated = self.resolve(target, source);
                let all: Vec<NodeId> = self.world.lock().nodes.keys().copied().collect();
                self.cut(
                    &both_ways(&isolated, &all),
                    isolated.is_empty(),
                    NemesisAction::Isolate {
                        nodes: isolated.clone(),
                    },
                )
            }
            Fault::PartitionAway { side } => {
                let side_nodes: Vec<NodeId> = side
                    .iter()
                    .flat_map(|target| self.resolve(target, source))
                    .collect();
                let others: Vec<NodeId> = self
                    .world
                    .lock()
                    .nodes
                    .keys()
                    .copied()
                    .filter(|node| !side_nodes.contains(node))
                    .collect();
                self.cut(
                    &both_ways(&side_nodes, &others),
                    side_nodes.is_empty(),
                    NemesisAction::Partition {
                        side: side_nodes.clone(),
                    },
                )
            }
            Fault::CutOneWay { from, to } => {
                let from_nodes = self.resolve(from, source);
                let to_nodes = self.resolve(to, source);
                let links: Vec<(NodeId, NodeId)> = from_nodes
                    .iter()
                    .flat_map(|sender| to_nodes.iter().map(move |receiver| (*sender, *receiver)))
                    .filter(|(sender, receiver)| sender != receiver)
                    .collect();
                let no_target = from_nodes.is_empty() || to_nodes.is_empty();
                self.cut(
                    &links,
                    no_target,
                    NemesisAction::CutOneWay {
                        from: from_nodes,
                        to: to_nodes,
                    },
                )
            }
            Fault::SlowLinks { target, latency_ms } => {
                let nodes = self.resolve(target, source);
                if nodes.is_empty() {
                    return Err(NotAppliedReason::NoTarget);
                }
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
                Ok(())
            }
            Fault::SlowDisk {
                target,
                fsync_latency_ms,
            } => {
                let nodes = self.resolve(target, source);
                if nodes.is_empty() {
                    return Err(NotAppliedReason::NoTarget);
                }
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
                Ok(())
            }
            Fault::SlowProcessing {
                target,
                processing_ms,
                duration_ms,
            } => self.for_each_node(target, source, |nemesis, node| {
                let NodeId::Consumer(consumer) = node else {
                    return Err(NodeState::NotAConsumer);
                };
                let mut world = nemesis.world.lock();
                let until_ms = now_ms(nemesis.start) + duration_ms;
                if !world.slow_processing(consumer, *processing_ms, until_ms) {
                    return Err(NodeState::NoApplication);
                }
                nemesis.act_locked(
                    &mut world,
                    NemesisAction::SlowProcessing {
                        node,
                        processing_ms: *processing_ms,
                        until_ms,
                    },
                );
                Ok(())
            }),
            Fault::HealAll => {
                self.heal_all();
                Ok(())
            }
            Fault::HoldRequests {
                from,
                to,
                api,
                delay_ms,
            } => {
                let from_nodes = self.resolve(from, source);
                let to_nodes = self.resolve(to, source);
                if from_nodes.is_empty() || to_nodes.is_empty() {
                    return Err(NotAppliedReason::NoTarget);
                }
                let mut world = self.world.lock();
                for sender in &from_nodes {
                    for receiver in to_nodes.iter().filter(|receiver| *receiver != sender) {
                        world
                            .network
                            .hold_requests(*sender, *receiver, *api, *delay_ms);
                    }
                }
                self.act_locked(
                    &mut world,
                    NemesisAction::HoldRequests {
                        from: from_nodes,
                        to: to_nodes,
                        api: *api,
                        delay_ms: *delay_ms,
                    },
                );
                Ok(())
            }
            Fault::DeleteRecords {
                partition,
                before_offset,
            } => self.delete_records(*partition, *before_offset, source),
        }
    }

    /// The `delete-records` fault: the partition's leader, resolved now, gets the request.
    /// It does not apply when there is no leader, the leader is down, or it refuses. Once
    /// accepted it applied: the answer (the low watermark, or REQUEST_TIMED_OUT) comes later
    /// as the leader's `DeleteRecordsAnswered` event in the trace.
    fn delete_records(
        &mut self,
        partition: PartitionRef,
        before_offset: Option<Offset>,
        source: Option<NodeId>,
    ) -> Applied {
        let leader = self.resolve(&Target::Leader(partition), source);
        let Some(&node) = leader.first() else {
            return Err(NotAppliedReason::NoTarget);
        };
        let mut world = self.world.lock();
        let request = DeleteRecordsRequest {
            partition: partition.resolve(world.scenario.default_topic()),
            offset: before_offset.map_or(DeleteRecordsOffset::HighWatermark, |offset| {
                DeleteRecordsOffset::Before(offset)
            }),
            timeout_ms: DELETE_RECORDS_DEFAULT_TIMEOUT_MS,
        };
        let now = now_ms(self.start);
        let refused = |state| NotAppliedReason::NodesRefused {
            nodes: vec![(node, state)],
        };
        let Some(response) = world.delete_records(node, &request, now) else {
            return Err(refused(NodeState::Down));
        };
        let log_start_offset = response
            .result
            .map_err(|error| refused(NodeState::RefusedDeleteRecords(error)))?;
        self.act_locked(
            &mut world,
            NemesisAction::DeleteRecords {
                node,
                partition: request.partition,
                log_start_offset,
            },
        );
        Ok(())
    }

    /// Applies `apply` to each node `target` names. The fault applies if one node took it;
    /// it did not if the target named none, or if every node refused it (their states say
    /// why).
    fn for_each_node(
        &mut self,
        target: &Target,
        source: Option<NodeId>,
        mut apply: impl FnMut(&mut Nemesis, NodeId) -> Result<(), NodeState>,
    ) -> Applied {
        let nodes = self.resolve(target, source);
        if nodes.is_empty() {
            return Err(NotAppliedReason::NoTarget);
        }
        let mut refused = Vec::new();
        for node in &nodes {
            if let Err(state) = apply(self, *node) {
                refused.push((*node, state));
            }
        }
        if refused.len() == nodes.len() {
            Err(NotAppliedReason::NodesRefused { nodes: refused })
        } else {
            Ok(())
        }
    }

    /// Cuts `links` (sender, receiver) and records `action`; it does not apply when its
    /// target named no node, when it names no link, or when every link was cut already.
    fn cut(
        &mut self,
        links: &[(NodeId, NodeId)],
        no_target: bool,
        action: NemesisAction,
    ) -> Applied {
        if no_target {
            return Err(NotAppliedReason::NoTarget);
        }
        if links.is_empty() {
            return Err(NotAppliedReason::NoLink);
        }
        let mut world = self.world.lock();
        if links
            .iter()
            .all(|(sender, receiver)| world.network.is_cut(*sender, *receiver))
        {
            return Err(NotAppliedReason::LinksAlreadyCut);
        }
        for (sender, receiver) in links {
            world.network.cut(*sender, *receiver);
        }
        self.act_locked(&mut world, action);
        Ok(())
    }

    fn power_loss(&mut self, node: NodeId) {
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

    fn pause(&mut self, node: NodeId) -> Result<(), NodeState> {
        let mut world = self.world.lock();
        if !world.is_up(node) {
            return Err(NodeState::Down);
        }
        if world.nodes[&node].paused {
            return Err(NodeState::Paused);
        }
        if let Some(slot) = world.nodes.get_mut(&node) {
            slot.paused = true;
        }
        self.act_locked(&mut world, NemesisAction::Pause { node });
        drop(world);
        self.handle.pause(self.madsim_nodes[&node]);
        Ok(())
    }

    /// Repairs every cut link, slow link and slow disk.
    fn heal_all(&mut self) {
        let mut world = self.world.lock();
        world.network.heal_all();
        let fsync_latency_ms = world.scenario.disk.fsync_latency_ms;
        for disk in world.disks.values() {
            disk.set_fsync_latency_ms(fsync_latency_ms);
        }
        self.act_locked(&mut world, NemesisAction::HealAll);
        world.wake_all();
    }

    fn kill(&mut self, node: NodeId) {
        // A killed process never sees the shutdown it was signalled while paused.
        self.shutdown_on_resume.remove(&node);
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

    fn restart(&mut self, node: NodeId) -> Result<(), NodeState> {
        if self.world.lock().is_up(node) {
            return Err(NodeState::Up);
        }
        self.act(NemesisAction::Restart { node });
        // Kill first: madsim's restart keeps what the old incarnation left behind otherwise.
        self.handle.kill(self.madsim_nodes[&node]);
        self.handle.restart(self.madsim_nodes[&node]);
        Ok(())
    }

    fn resume(&mut self, node: NodeId) -> Result<(), NodeState> {
        let mut world = self.world.lock();
        if !world.nodes.get(&node).is_some_and(|slot| slot.paused) {
            return Err(NodeState::NotPaused);
        }
        if let Some(slot) = world.nodes.get_mut(&node) {
            slot.paused = false;
        }
        self.act_locked(&mut world, NemesisAction::Resume { node });
        drop(world);
        self.handle.resume(self.madsim_nodes[&node]);
        let mut world = self.world.lock();
        if self.shutdown_on_resume.remove(&node) {
            let now = now_ms(self.start);
            world.trace.note(
                now,
                &node.to_string(),
                "controlled shutdown begins (signalled while paused)",
            );
            world.begin_controlled_shutdown(node, now);
        }
        world.wake_all();
        Ok(())
    }
}

/// Every link between a node of `side` and a node of `others`, in both directions, in the
/// order they are cut (a node is never cut from itself).
fn both_ways(side: &[NodeId], others: &[NodeId]) -> Vec<(NodeId, NodeId)> {
    side.iter()
        .flat_map(|node| {
            others
                .iter()
                .flat_map(move |other| [(*node, *other), (*other, *node)])
        })
        .filter(|(sender, receiver)| sender != receiver)
        .collect()
}
