//! The random swarm's fault plan: drawn from the seed alone, before the run starts, so the
//! plan does not shift when traffic changes. What the plan cannot know in advance it leaves
//! to the moment a fault fires: a fault may aim at a protocol role (the leader, the newest
//! ISR member, the controller, the follower furthest behind), resolved by the nemesis from
//! the world's state then, and may wait for a protocol event (an ISR expansion, a leader
//! change, a fetch that truncates) instead of a time.

use crate::fault::{
    Condition, Fault, FaultKind, PartitionRef, ScriptedFault, Swarm, Target, Trigger,
};
use crate::scenario::Scenario;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use watermark_broker_core::ids::{BrokerId, NodeId};

/// The swarm's faults: at fixed times, and armed on protocol events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SwarmPlan {
    pub scripted: Vec<ScriptedFault>,
    pub triggers: Vec<Trigger>,
}

/// A fault and how it is undone.
struct Drawn {
    fault: Fault,
    /// None for a fault that ends by itself (slow processing lasts its own duration).
    repair: Option<Fault>,
    /// How long after the fault the repair comes.
    duration_ms: u64,
}

/// Every number one fault draws, drawn in the same order whatever the fault's kind, so
/// that adding a kind or a target does not shift the faults after it.
struct Dice {
    kind: FaultKind,
    duration_ms: u64,
    node: NodeId,
    partition: PartitionRef,
    aim: u32,
    on_event: bool,
    event: u32,
    event_delay_ms: u64,
    coin: bool,
    pick: usize,
    quick_down_ms: u64,
    /// Drawn only when the scenario has consumer groups, after every other number, so a
    /// swarm without groups draws exactly what it drew before consumers could be hit.
    client: Option<ClientDice>,
}

/// The numbers a fault draws in a scenario with consumer groups.
struct ClientDice {
    /// 0..=2: the fault hits a group member; 3..=4: its group's coordinator; else as drawn.
    hit: u32,
    member: usize,
    /// 3: right after the member's commit; 4: when its group starts a rebalance; else the
    /// replica event drawn.
    event: u32,
}

/// A consumer in a group, which the swarm may hit.
struct Member {
    consumer: u32,
    group: String,
    max_poll_interval_ms: u64,
}

/// The brokers that do not sync every message of the scenario's first topic: the ones a
/// power loss can cost acknowledged records.
pub fn unsynced_brokers(scenario: &Scenario) -> Vec<BrokerId> {
    let topic_flush = scenario
        .topic_config(scenario.default_topic())
        .and_then(|topic| topic.flush_interval_messages);
    (1..=scenario.brokers)
        .map(BrokerId)
        .filter(|broker| {
            topic_flush.or(scenario.broker_config(*broker).log_flush_interval_messages) != Some(1)
        })
        .collect()
}

/// Draws the swarm's plan for the safety phase from the seed. The seed first picks which of
/// the enabled kinds this run uses and how dense they are, so different seeds explore
/// different mixes, then draws each fault, its target, its timing and its duration.
pub fn swarm_schedule(swarm: &Swarm, scenario: &Scenario, seed: u64) -> SwarmPlan {
    let mut random = StdRng::seed_from_u64(seed ^ 0x7377_6172_6d00_0000);
    // Kinds with nothing to hit (slow processing without a group) are left out before any
    // draw, so the default list draws for a scenario without groups as it always did.
    let applicable: Vec<FaultKind> = swarm
        .kinds
        .iter()
        .copied()
        .filter(|kind| scenario.has_groups() || !kind.needs_groups())
        .collect();
    let mut kinds: Vec<FaultKind> = applicable
        .iter()
        .copied()
        .filter(|_| random.gen_bool(0.6))
        .collect();
    if kinds.is_empty() {
        if let Some(kind) = applicable.choose(&mut random) {
            kinds.push(*kind);
        }
    }
    let safety_ms = scenario.phases.safety_ms;
    let context = Context::new(scenario);
    let interval_ms_max = random.gen_range(swarm.interval_ms_min..=swarm.interval_ms_max);
    let mut plan = SwarmPlan::default();
    let mut at_ms = 1_500;
    let mut index = 0;
    while at_ms < safety_ms && !kinds.is_empty() {
        let dice = context.roll(&mut random, swarm, &kinds);
        let label = format!("swarm-{index}");
        let drawn = context.fault(&dice, &label, &mut random);
        if dice.on_event {
            plan.triggers.push(Trigger {
                condition: context.condition(&dice),
                then: vec![drawn.fault],
                delay_ms: dice.event_delay_ms,
                after_ms: at_ms,
                label: Some(label.clone()),
                later: drawn
                    .repair
                    .into_iter()
                    .map(|repair| {
                        ScriptedFault::at(dice.event_delay_ms + drawn.duration_ms, repair)
                    })
                    .collect(),
                // Optional by construction: a random schedule often aims at a node that is
                // already down (the nemesis treats every swarm fault so, whatever this says).
                optional: true,
            });
        } else {
            plan.scripted.push(ScriptedFault {
                at_ms,
                fault: drawn.fault,
                label: Some(label),
                optional: true,
            });
            if let Some(repair) = drawn.repair {
                plan.scripted.push(ScriptedFault::at(
                    (at_ms + drawn.duration_ms).min(safety_ms),
                    repair,
                ));
            }
        }
        index += 1;
        at_ms +=
            random.gen_range(swarm.interval_ms_min..=interval_ms_max.max(swarm.interval_ms_min));
    }
    plan
}

/// What the draws need to know about the scenario.
struct Context {
    nodes: Vec<NodeId>,
    partitions: Vec<PartitionRef>,
    unsynced: Vec<BrokerId>,
    /// A quick restart stays below a third of the session timeout: back before the
    /// controller fences the broker.
    quick_down_ms_max: u64,
    members: Vec<Member>,
}

impl Context {
    fn new(scenario: &Scenario) -> Context {
        let mut nodes: Vec<NodeId> = (1..=scenario.brokers)
            .map(|broker| NodeId::Broker(BrokerId(broker)))
            .collect();
        nodes.push(NodeId::Controller);
        Context {
            nodes,
            partitions: scenario
                .all_partitions()
                .into_iter()
                .map(PartitionRef::from)
                .collect(),
            unsynced: unsynced_brokers(scenario),
            quick_down_ms_max: (scenario.controller.broker_session_timeout_ms / 3).clamp(20, 2_000),
            members: scenario
                .consumers
                .iter()
                .enumerate()
                .filter_map(|(index, consumer)| {
                    Some(Member {
                        consumer: index as u32,
                        group: consumer.config.group_id.clone()?,
                        max_poll_interval_ms: consumer.config.max_poll_interval_ms,
                    })
                })
                .collect(),
        }
    }

    fn roll(&self, random: &mut StdRng, swarm: &Swarm, kinds: &[FaultKind]) -> Dice {
        Dice {
            kind: kinds[random.gen_range(0..kinds.len())],
            duration_ms: random.gen_range(swarm.duration_ms_min..=swarm.duration_ms_max),
            node: self.nodes[random.gen_range(0..self.nodes.len())],
            partition: self.partitions[random.gen_range(0..self.partitions.len())],
            aim: random.gen_range(0..10),
            on_event: random.gen_bool(0.3),
            event: random.gen_range(0..3),
            event_delay_ms: random.gen_range(0..=100),
            coin: random.gen_bool(0.5),
            pick: random.gen_range(0..1_000_000),
            quick_down_ms: random.gen_range(20..=self.quick_down_ms_max),
            client: (!self.members.is_empty()).then(|| ClientDice {
                hit: random.gen_range(0..10),
                member: random.gen_range(0..self.members.len()),
                event: random.gen_range(0..5),
            }),
        }
    }

    /// Half the faults hit a node drawn now; the others a role resolved when they fire.
    fn aimed(&self, dice: &Dice) -> Target {
        if let Some(client) = dice
            .client
            .as_ref()
            .filter(|client| (3..=4).contains(&client.hit))
        {
            return Target::Coordinator(self.members[client.member].group.clone());
        }
        match dice.aim {
            5 | 6 => Target::Leader(dice.partition),
            7 => Target::NewestIsrMember(dice.partition),
            8 => Target::LaggingFollower(dice.partition),
            9 => Target::Controller,
            _ => target_of(dice.node),
        }
    }

    /// A broker drawn from the dice, for a fault only brokers can take.
    fn some_broker(&self, dice: &Dice) -> Target {
        let brokers = self
            .nodes
            .iter()
            .filter(|node| matches!(node, NodeId::Broker(_)))
            .count()
            .max(1);
        Target::Broker(BrokerId(1 + (dice.pick % brokers) as u32))
    }

    fn condition(&self, dice: &Dice) -> Condition {
        if let Some(client) = &dice.client {
            let member = &self.members[client.member];
            match client.event {
                3 => {
                    return Condition::MemberCommitted {
                        consumer: member.consumer,
                    }
                }
                4 => {
                    return Condition::RebalanceStarted {
                        group: member.group.clone(),
                    }
                }
                _ => {}
            }
        }
        let partition = dice.partition;
        match dice.event {
            0 => Condition::IsrExpanded { partition },
            1 => Condition::LeaderChanged { partition },
            _ => Condition::FetchTruncated { partition },
        }
    }

    fn fault(&self, dice: &Dice, label: &str, random: &mut StdRng) -> Drawn {
        if let Some(drawn) = self.member_fault(dice, label) {
            return drawn;
        }
        let target = self.aimed(dice);
        let undo = |fault: Fault, repair: Fault| Drawn {
            fault,
            repair: Some(repair),
            duration_ms: dice.duration_ms,
        };
        let restart = Fault::Restart {
            target: Target::Struck(label.to_string()),
        };
        match dice.kind {
            FaultKind::Crash => undo(Fault::Crash { target }, restart),
            FaultKind::PowerLoss => {
                // A fifth of power losses take every broker down at once: a rack or a data
                // centre losing power, where replication is no help without fsync.
                let target = if dice.pick.is_multiple_of(5) {
                    Target::AllBrokers
                } else {
                    target
                };
                undo(Fault::PowerLoss { target }, restart)
            }
            // Only brokers shut down gracefully (KIP-841's controlled shutdown): a shutdown
            // aimed at the controller would never apply, so it goes to a broker instead.
            FaultKind::Shutdown => {
                let target = match target {
                    Target::Controller => self.some_broker(dice),
                    target => target,
                };
                undo(Fault::Shutdown { target }, restart)
            }
            FaultKind::Pause => undo(
                Fault::Pause { target },
                Fault::Resume {
                    target: Target::Struck(label.to_string()),
                },
            ),
            FaultKind::Partition => {
                undo(self.partition_fault(dice, target, random), Fault::HealAll)
            }
            FaultKind::OneWayCut => undo(self.one_way_cut(dice, target, random), Fault::HealAll),
            FaultKind::SlowFollower => undo(
                Fault::SlowLinks {
                    target,
                    latency_ms: 50 + dice.pick as u64 % 2_951,
                },
                Fault::HealAll,
            ),
            FaultKind::SlowDisk => undo(
                Fault::SlowDisk {
                    target,
                    fsync_latency_ms: 50 + dice.pick as u64 % 1_951,
                },
                Fault::HealAll,
            ),
            FaultKind::QuickLeaderRestart => {
                let target = Target::Leader(dice.partition);
                let fault = if dice.coin {
                    Fault::Crash { target }
                } else {
                    Fault::PowerLoss { target }
                };
                Drawn {
                    fault,
                    repair: Some(restart),
                    duration_ms: dice.quick_down_ms,
                }
            }
            FaultKind::UnsyncedPowerLoss => {
                let broker = if self.unsynced.is_empty() {
                    BrokerId(1 + (dice.pick % (self.nodes.len() - 1)) as u32)
                } else {
                    self.unsynced[dice.pick % self.unsynced.len()]
                };
                undo(
                    Fault::PowerLoss {
                        target: Target::Broker(broker),
                    },
                    restart,
                )
            }
            // Only drawn with groups, and always aimed at a member (`member_fault`).
            FaultKind::SlowProcessing => unreachable!("slow processing is a member fault"),
        }
    }

    /// A fault aimed at a group member, when the dice say so: a crash (restarted), a pause
    /// (a zombie when longer than the session timeout), the member cut off (from everyone,
    /// or one way from or to its coordinator), slow links, slow processing.
    fn member_fault(&self, dice: &Dice, label: &str) -> Option<Drawn> {
        let client = dice.client.as_ref()?;
        let member = &self.members[client.member];
        let consumer = Target::Consumer(member.consumer);
        let coordinator = Target::Coordinator(member.group.clone());
        let struck = Target::Struck(label.to_string());
        let hits_member = client.hit <= 2;
        let (fault, repair) = match dice.kind {
            FaultKind::SlowProcessing => {
                // Up to half the poll interval per record: a batch of a few records
                // outlasts max.poll.interval.ms and the member is rebalanced away.
                let per_record_ms_max = (member.max_poll_interval_ms / 2).clamp(1, 30_000);
                let fault = Fault::SlowProcessing {
                    target: consumer,
                    processing_ms: 1 + dice.pick as u64 % per_record_ms_max,
                    duration_ms: dice.duration_ms,
                };
                (fault, None)
            }
            FaultKind::Crash if hits_member => (
                Fault::Crash { target: consumer },
                Some(Fault::Restart { target: struck }),
            ),
            FaultKind::Pause if hits_member => (
                Fault::Pause { target: consumer },
                Some(Fault::Resume { target: struck }),
            ),
            FaultKind::Partition if hits_member => (
                Fault::PartitionAway {
                    side: vec![consumer],
                },
                Some(Fault::HealAll),
            ),
            FaultKind::OneWayCut if hits_member => {
                let (from, to) = if dice.coin {
                    (consumer, coordinator)
                } else {
                    (coordinator, consumer)
                };
                (Fault::CutOneWay { from, to }, Some(Fault::HealAll))
            }
            FaultKind::SlowFollower if hits_member => (
                Fault::SlowLinks {
                    target: consumer,
                    latency_ms: 50 + dice.pick as u64 % 2_951,
                },
                Some(Fault::HealAll),
            ),
            _ => return None,
        };
        Some(Drawn {
            fault,
            repair,
            duration_ms: dice.duration_ms,
        })
    }

    /// A random side, or the aimed role alone.
    fn partition_fault(&self, dice: &Dice, target: Target, random: &mut StdRng) -> Fault {
        if !is_role(&target) {
            let mut side: Vec<NodeId> = self.nodes.clone();
            side.shuffle(random);
            side.truncate(1 + dice.pick % (self.nodes.len() - 1).max(1));
            return Fault::PartitionAway {
                side: side.into_iter().map(target_of).collect(),
            };
        }
        Fault::PartitionAway { side: vec![target] }
    }

    /// Between two random nodes; or, aimed at a role, the leader's traffic to its
    /// followers (aimed at the leader) or the role's traffic to the leader.
    fn one_way_cut(&self, dice: &Dice, target: Target, random: &mut StdRng) -> Fault {
        if !is_role(&target) {
            let mut pair = self.nodes.clone();
            pair.shuffle(random);
            return Fault::CutOneWay {
                from: target_of(pair[0]),
                to: target_of(pair[1 % pair.len()]),
            };
        }
        match target {
            Target::Leader(partition) => Fault::CutOneWay {
                from: Target::Leader(partition),
                to: Target::Followers(partition),
            },
            other => Fault::CutOneWay {
                from: other,
                to: Target::Leader(dice.partition),
            },
        }
    }
}

fn is_role(target: &Target) -> bool {
    !matches!(target, Target::Broker(_))
}

fn target_of(node: NodeId) -> Target {
    match node {
        NodeId::Broker(broker) => Target::Broker(broker),
        _ => Target::Controller,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        let mut scenario = Scenario {
            name: "plan".to_string(),
            ..Scenario::default()
        };
        scenario.faults.swarm = Some(Swarm::default());
        scenario
    }

    fn plans(seeds: std::ops::Range<u64>) -> Vec<SwarmPlan> {
        let scenario = scenario();
        let swarm = scenario.faults.swarm.clone().unwrap();
        seeds
            .map(|seed| swarm_schedule(&swarm, &scenario, seed))
            .collect()
    }

    /// Two members of group "orders" (a 10 s poll interval) and an assign-mode consumer.
    fn with_groups() -> Scenario {
        let mut scenario = scenario();
        let mut member = crate::scenario::ConsumerWorkload::default();
        member.config.group_id = Some("orders".to_string());
        member.config.max_poll_interval_ms = 10_000;
        scenario.consumers = vec![
            member.clone(),
            member,
            crate::scenario::ConsumerWorkload::default(),
        ];
        scenario
    }

    fn faults(plan: &SwarmPlan) -> Vec<&Fault> {
        plan.scripted
            .iter()
            .map(|scripted| &scripted.fault)
            .chain(plan.triggers.iter().flat_map(|trigger| &trigger.then))
            .collect()
    }

    #[test]
    fn with_groups_the_swarm_hits_members_and_coordinators_and_waits_for_group_events() {
        let scenario = with_groups();
        let swarm = scenario.faults.swarm.clone().unwrap();
        let plans: Vec<SwarmPlan> = (0..100)
            .map(|seed| swarm_schedule(&swarm, &scenario, seed))
            .collect();
        let all: Vec<&Fault> = plans.iter().flat_map(faults).collect();
        let member = |fault: &&Fault| {
            fault
                .targets()
                .iter()
                .any(|target| matches!(target, Target::Consumer(0 | 1)))
        };
        for (name, drawn) in [
            ("crash", all.iter().any(|f| member(f) && matches!(f, Fault::Crash { .. }))),
            ("pause", all.iter().any(|f| member(f) && matches!(f, Fault::Pause { .. }))),
            ("isolation", all.iter().any(|f| member(f) && matches!(f, Fault::PartitionAway { .. }))),
            ("cut from coordinator", all.iter().any(|f| member(f) && matches!(f, Fault::CutOneWay { .. }))),
            ("slow links", all.iter().any(|f| member(f) && matches!(f, Fault::SlowLinks { .. }))),
            ("slow processing", all.iter().any(|f| member(f) && matches!(f, Fault::SlowProcessing { .. }))),
            ("coordinator failover", all.iter().any(|f| matches!(f, Fault::Crash { target: Target::Coordinator(group) } if group == "orders"))),
        ] {
            assert!(drawn, "no member {name} drawn");
        }
        assert!(
            !all.iter()
                .any(|f| f.targets().contains(&&Target::Consumer(2))),
            "the assign-mode consumer is not a group member"
        );
        let conditions: Vec<&Condition> = plans
            .iter()
            .flat_map(|plan| plan.triggers.iter().map(|trigger| &trigger.condition))
            .collect();
        assert!(conditions.contains(&&Condition::MemberCommitted { consumer: 1 }));
        assert!(conditions.contains(&&Condition::RebalanceStarted {
            group: "orders".to_string()
        }));
    }

    #[test]
    fn slow_processing_ends_by_itself_and_stays_under_half_the_poll_interval_per_record() {
        let mut scenario = with_groups();
        let swarm = Swarm {
            kinds: vec![FaultKind::SlowProcessing],
            ..Swarm::default()
        };
        scenario.faults.swarm = Some(swarm.clone());
        for seed in 0..20 {
            let plan = swarm_schedule(&swarm, &scenario, seed);
            assert!(!plan.scripted.is_empty() || !plan.triggers.is_empty());
            for fault in faults(&plan) {
                let Fault::SlowProcessing { processing_ms, .. } = fault else {
                    panic!("seed {seed}: {fault:?} is not slow processing");
                };
                assert!((1..=5_000).contains(processing_ms), "{processing_ms}");
            }
            assert!(plan.triggers.iter().all(|trigger| trigger.later.is_empty()));
        }
    }

    #[test]
    fn without_groups_the_default_kinds_never_draw_a_member_fault() {
        let scenario = scenario();
        let swarm = scenario.faults.swarm.clone().unwrap();
        assert!(swarm.kinds.contains(&FaultKind::SlowProcessing));
        for seed in 0..200 {
            for fault in faults(&swarm_schedule(&swarm, &scenario, seed)) {
                assert!(
                    !fault.targets().iter().any(|target| matches!(
                        target,
                        Target::Consumer(_) | Target::Coordinator(_)
                    )),
                    "seed {seed}: {fault:?}"
                );
                assert!(!matches!(fault, Fault::SlowProcessing { .. }));
            }
        }
    }

    #[test]
    fn the_same_seed_draws_the_same_plan() {
        assert_eq!(plans(0..5), plans(0..5));
        assert_ne!(plans(0..1), plans(1..2));
    }

    #[test]
    fn the_plans_aim_at_roles_and_wait_for_each_protocol_event() {
        let plans = plans(0..50);
        let targets: Vec<&Target> = plans
            .iter()
            .flat_map(|plan| {
                plan.scripted
                    .iter()
                    .map(|scripted| &scripted.fault)
                    .chain(plan.triggers.iter().flat_map(|trigger| &trigger.then))
            })
            .flat_map(Fault::targets)
            .collect();
        let p0 = PartitionRef::from(scenario().all_partitions()[0]);
        for role in [
            Target::Leader(p0),
            Target::NewestIsrMember(p0),
            Target::LaggingFollower(p0),
            Target::Controller,
        ] {
            assert!(targets.contains(&&role), "no fault aimed at {role:?}");
        }
        let conditions: Vec<&Condition> = plans
            .iter()
            .flat_map(|plan| plan.triggers.iter().map(|trigger| &trigger.condition))
            .collect();
        for condition in [
            Condition::IsrExpanded { partition: p0 },
            Condition::LeaderChanged { partition: p0 },
            Condition::FetchTruncated { partition: p0 },
        ] {
            assert!(
                conditions.contains(&&condition),
                "no fault on {condition:?}"
            );
        }
    }

    #[test]
    fn a_repair_restarts_what_its_fault_struck() {
        for plan in plans(0..20) {
            for trigger in &plan.triggers {
                let label = trigger.label.clone().expect("swarm triggers are labelled");
                let repair = &trigger.later[0].fault;
                if let Fault::Restart { target } | Fault::Resume { target } = repair {
                    assert_eq!(*target, Target::Struck(label));
                }
            }
        }
    }

    #[test]
    fn quick_leader_restarts_come_back_within_a_third_of_the_session_timeout() {
        let mut scenario = scenario();
        let swarm = Swarm {
            kinds: vec![FaultKind::QuickLeaderRestart],
            ..Swarm::default()
        };
        scenario.faults.swarm = Some(swarm.clone());
        let third_ms = scenario.controller.broker_session_timeout_ms / 3;
        for seed in 0..20 {
            let plan = swarm_schedule(&swarm, &scenario, seed);
            for pair in plan.scripted.chunks(2) {
                assert!(matches!(
                    pair[0].fault,
                    Fault::Crash {
                        target: Target::Leader(_)
                    } | Fault::PowerLoss {
                        target: Target::Leader(_)
                    }
                ));
                let down_ms = pair[1].at_ms - pair[0].at_ms;
                assert!(down_ms <= third_ms, "down {down_ms} ms");
            }
        }
    }

    #[test]
    fn unsynced_power_losses_hit_the_broker_without_fsync() {
        let mut scenario = scenario();
        scenario.broker.log_flush_interval_messages = Some(1);
        scenario
            .broker_overrides
            .push(crate::scenario::BrokerOverride {
                broker_rack: None,
                broker: BrokerId(2),
                flush: Some(crate::scenario::FlushPolicy::Never),
                replica_fetch_max_records: None,
            });
        assert_eq!(unsynced_brokers(&scenario), vec![BrokerId(2)]);
        let swarm = Swarm {
            kinds: vec![FaultKind::UnsyncedPowerLoss],
            ..Swarm::default()
        };
        let plan = swarm_schedule(&swarm, &scenario, 4);
        let faults: Vec<&Fault> = plan
            .scripted
            .iter()
            .map(|scripted| &scripted.fault)
            .chain(plan.triggers.iter().flat_map(|trigger| &trigger.then))
            .filter(|fault| matches!(fault, Fault::PowerLoss { .. }))
            .collect();
        assert!(!faults.is_empty());
        for fault in faults {
            assert_eq!(
                *fault,
                Fault::PowerLoss {
                    target: Target::Broker(BrokerId(2))
                }
            );
        }
    }

    #[test]
    fn shutdowns_aim_only_at_brokers_or_roles_brokers_hold() {
        let mut scenario = scenario();
        let swarm = Swarm {
            kinds: vec![FaultKind::Shutdown],
            ..Swarm::default()
        };
        scenario.faults.swarm = Some(swarm.clone());
        let mut shutdowns = 0;
        for seed in 0..100 {
            let plan = swarm_schedule(&swarm, &scenario, seed);
            let faults = plan
                .scripted
                .iter()
                .map(|scripted| &scripted.fault)
                .chain(plan.triggers.iter().flat_map(|trigger| &trigger.then));
            for fault in faults {
                if let Fault::Shutdown { target } = fault {
                    shutdowns += 1;
                    assert!(
                        !matches!(
                            target,
                            Target::Controller | Target::Producer(_) | Target::Consumer(_)
                        ),
                        "seed {seed}: a shutdown aimed at {target:?} never applies"
                    );
                }
            }
        }
        assert!(shutdowns > 100, "only {shutdowns} shutdowns drawn");
    }
}
