use super::*;
use crate::fault::{FaultKind, PartitionRef, Swarm};
use crate::not_applied::FaultSource;
use crate::scenario::ConsumerWorkload;
use watermark_broker_core::ids::{NodeId, PartitionId};

const P0: PartitionRef = PartitionRef::Index(PartitionId(0));

fn swarm_scenario() -> Scenario {
    let mut scenario = Scenario {
        name: "swarm".to_string(),
        ..Scenario::default()
    };
    scenario.faults.swarm = Some(Swarm::default());
    scenario
}

fn crash(at_ms: u64, broker: u32, label: &str) -> ScriptedFault {
    ScriptedFault {
        at_ms,
        fault: Fault::Crash {
            target: Target::Broker(BrokerId(broker)),
        },
        label: Some(label.to_string()),
        optional: false,
    }
}

fn restart(at_ms: u64, label: &str) -> ScriptedFault {
    ScriptedFault::at(
        at_ms,
        Fault::Restart {
            target: Target::Struck(label.to_string()),
        },
    )
}

fn leader_crash_on_change(after_ms: u64, down_ms: u64) -> Trigger {
    Trigger {
        condition: Condition::LeaderChanged { partition: P0 },
        then: vec![Fault::Crash {
            target: Target::Leader(P0),
        }],
        delay_ms: 10,
        after_ms,
        label: Some("t".to_string()),
        later: vec![restart(10 + down_ms, "t")],
        optional: false,
    }
}

fn scripted(shrinkable: &Shrinkable) -> Vec<(u64, Fault)> {
    shrinkable
        .scenario()
        .faults
        .scripted
        .into_iter()
        .map(|scripted| (scripted.at_ms, scripted.fault))
        .collect()
}

#[test]
fn the_swarm_written_out_is_the_plan_the_nemesis_would_run() {
    let scenario = swarm_scenario();
    for seed in 0..20 {
        let shrinkable = Shrinkable::materialise(&scenario, seed);
        let written = shrinkable.scenario();
        assert_eq!(written.faults.swarm, None);
        let plan = swarm_schedule(scenario.faults.swarm.as_ref().unwrap(), &scenario, seed);
        // The nemesis sorts its schedule by time, stably.
        let mut expected: Vec<ScriptedFault> = plan
            .scripted
            .iter()
            .filter(|fault| fault.at_ms < scenario.phases.safety_ms)
            .cloned()
            .map(|fault| ScriptedFault {
                optional: true,
                ..fault
            })
            .collect();
        expected.sort_by_key(|fault| fault.at_ms);
        assert_eq!(written.faults.scripted, expected, "seed {seed}");
        assert_eq!(written.faults.triggers.len(), plan.triggers.len());
        assert!(written
            .faults
            .triggers
            .iter()
            .all(|trigger| trigger.optional));
        let labelled = plan
            .scripted
            .iter()
            .filter(|fault| fault.label.is_some())
            .count();
        assert_eq!(shrinkable.units.len(), labelled + plan.triggers.len());
        assert!(
            written.problems().is_empty(),
            "seed {seed}: {:?}",
            written.validate()
        );
    }
}

#[test]
fn each_swarm_fault_is_one_unit_with_its_repair() {
    let shrinkable = Shrinkable::materialise(&swarm_scenario(), 3);
    for unit in shrinkable
        .units
        .iter()
        .filter(|unit| unit.trigger.is_none())
    {
        let label = unit.scheduled[0].scripted.label.clone().expect("a label");
        assert!(unit.scheduled[1..]
            .iter()
            .all(|repair| repair.scripted.label.is_none()));
        for repair in &unit.scheduled[1..] {
            match &repair.scripted.fault {
                Fault::Restart { target } | Fault::Resume { target } => {
                    assert_eq!(*target, Target::Struck(label.clone()));
                }
                Fault::HealAll => {}
                other => panic!("{other:?} is not a repair"),
            }
        }
    }
}

#[test]
fn a_scenarios_own_faults_join_the_unit_whose_label_they_name() {
    let mut scenario = Scenario::default();
    scenario.faults.scripted = vec![
        crash(2_000, 1, "first"),
        crash(3_000, 2, "second"),
        restart(5_000, "first"),
        ScriptedFault::at(6_000, Fault::HealAll),
        restart(7_000, "second"),
    ];
    scenario.faults.triggers = vec![leader_crash_on_change(1_000, 500)];
    let shrinkable = Shrinkable::materialise(&scenario, 0);
    let shapes: Vec<(bool, Vec<u64>)> = shrinkable
        .units
        .iter()
        .map(|unit| {
            (
                unit.trigger.is_some(),
                unit.scheduled
                    .iter()
                    .map(|timed| timed.scripted.at_ms)
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        shapes,
        vec![
            (true, vec![]),
            (false, vec![2_000, 5_000]),
            (false, vec![3_000, 7_000]),
            (false, vec![6_000]),
        ]
    );
    assert_eq!(shrinkable.scenario().faults, scenario.faults);
    let without_first = shrinkable.with_units(shrinkable.units[2..].to_vec());
    assert_eq!(
        scripted(&without_first),
        vec![
            (3_000, crash(0, 2, "").fault),
            (6_000, Fault::HealAll),
            (7_000, restart(0, "second").fault),
        ]
    );
}

#[test]
fn sizes_count_units_durations_records_clients_and_brokers() {
    let mut scenario = Scenario::default();
    scenario.faults.scripted = vec![
        crash(2_000, 1, "first"),
        restart(5_000, "first"),
        // Never restarted: down to the end of the safety phase (30 s).
        crash(10_000, 2, "second"),
    ];
    scenario.faults.triggers = vec![leader_crash_on_change(1_000, 500)];
    let size = Shrinkable::materialise(&scenario, 0).size();
    assert_eq!(
        size,
        Size {
            faults: 3,
            fault_duration_ms: 500 + 3_000 + 20_000,
            records: 200,
            producers: 1,
            consumers: 1,
            brokers: 3,
        }
    );
}

#[test]
fn halving_brings_the_repair_forward_until_a_millisecond_is_left() {
    let mut scenario = Scenario::default();
    scenario.faults.scripted = vec![crash(2_000, 1, "first"), restart(6_000, "first")];
    let mut shrinkable = Shrinkable::materialise(&scenario, 0);
    let mut repairs = Vec::new();
    while let Some(shorter) = shrinkable.halved(0) {
        shrinkable = shorter;
        repairs.push(scripted(&shrinkable)[1].0);
    }
    assert_eq!(
        repairs,
        vec![4_000, 3_000, 2_500, 2_250, 2_125, 2_062, 2_031, 2_015, 2_007, 2_003, 2_001]
    );
    assert_eq!(shrinkable.size().fault_duration_ms, 1);
}

#[test]
fn a_repair_due_after_the_safety_phase_is_not_written_until_halving_brings_it_in() {
    let mut scenario = Scenario::default();
    scenario.phases.safety_ms = 10_000;
    let mut shrinkable = Shrinkable::materialise(&scenario, 0);
    shrinkable.units = vec![FaultUnit {
        trigger: None,
        scheduled: vec![
            Timed {
                scripted: crash(6_000, 1, "late"),
                order: 0,
            },
            Timed {
                scripted: restart(10_000, "late"),
                order: 1,
            },
        ],
    }];
    assert_eq!(scripted(&shrinkable).len(), 1);
    let shorter = shrinkable.halved(0).expect("a shorter fault");
    assert_eq!(scripted(&shorter)[1], (8_000, restart(0, "late").fault));
}

#[test]
fn a_triggers_repairs_are_halved_from_the_event_and_slow_processing_by_its_duration() {
    let mut scenario = Scenario::default();
    scenario.faults.triggers = vec![leader_crash_on_change(1_000, 4_000)];
    scenario.faults.scripted = vec![ScriptedFault::at(
        3_000,
        Fault::SlowProcessing {
            target: Target::Consumer(0),
            processing_ms: 100,
            duration_ms: 8_000,
        },
    )];
    let shrinkable = Shrinkable::materialise(&scenario, 0);
    let shorter = shrinkable.halved(0).unwrap().halved(1).unwrap();
    let written = shorter.scenario();
    assert_eq!(written.faults.triggers[0].later[0].at_ms, 10 + 2_000);
    assert!(matches!(
        written.faults.scripted[0].fault,
        Fault::SlowProcessing {
            duration_ms: 4_000,
            ..
        }
    ));
}

#[test]
fn a_trigger_replaced_by_its_firing_moment_schedules_its_faults_then() {
    let mut scenario = Scenario::default();
    scenario.faults.triggers = vec![leader_crash_on_change(1_000, 500)];
    let shrinkable = Shrinkable::materialise(&scenario, 0);
    let replaced = shrinkable.trigger_replaced(0, 7_000).expect("replaceable");
    let written = replaced.scenario();
    assert!(written.faults.triggers.is_empty());
    assert_eq!(
        written.faults.scripted,
        vec![
            ScriptedFault {
                at_ms: 7_010,
                fault: Fault::Crash {
                    target: Target::Leader(P0)
                },
                label: Some("t".to_string()),
                optional: false,
            },
            restart(7_510, "t"),
        ]
    );
    assert_eq!(shrinkable.trigger_replaced(0, 29_995), None);
    let mut from_source = scenario.clone();
    from_source.faults.triggers[0].then = vec![Fault::Crash {
        target: Target::EventSource,
    }];
    assert_eq!(
        Shrinkable::materialise(&from_source, 0).trigger_replaced(0, 7_000),
        None
    );
}

#[test]
fn removing_a_consumer_drops_the_faults_aimed_at_it_and_renumbers_the_others() {
    let mut scenario = Scenario {
        consumers: vec![ConsumerWorkload::default(); 3],
        ..Scenario::default()
    };
    let pause = |consumer: u32, at_ms: u64| ScriptedFault {
        at_ms,
        fault: Fault::Pause {
            target: Target::Consumer(consumer),
        },
        label: Some(format!("pause-{consumer}")),
        optional: false,
    };
    scenario.faults.scripted = vec![pause(1, 2_000), pause(2, 3_000)];
    scenario.faults.triggers = vec![Trigger {
        condition: Condition::MemberCommitted { consumer: 2 },
        ..leader_crash_on_change(0, 100)
    }];
    let shrinkable = Shrinkable::materialise(&scenario, 0);
    let fewer = shrinkable.without_consumer(1).expect("a consumer fewer");
    let written = fewer.scenario();
    assert_eq!(written.consumers.len(), 2);
    assert_eq!(
        written.faults.scripted,
        vec![ScriptedFault {
            label: Some("pause-2".to_string()),
            ..pause(1, 3_000)
        }]
    );
    assert_eq!(
        written.faults.triggers[0].condition,
        Condition::MemberCommitted { consumer: 1 }
    );
    let none_left = fewer.without_consumer(1).unwrap();
    assert!(none_left.units.iter().all(|unit| unit.trigger.is_none()));
    assert_eq!(shrinkable.without_consumer(3), None);
}

#[test]
fn removing_a_producer_renumbers_faults_aimed_at_later_ones() {
    let mut scenario = Scenario {
        producers: vec![crate::scenario::ProducerWorkload::default(); 2],
        ..Scenario::default()
    };
    scenario.faults.scripted = vec![ScriptedFault::at(
        2_000,
        Fault::Pause {
            target: Target::Producer(1),
        },
    )];
    let shrinkable = Shrinkable::materialise(&scenario, 0);
    assert_eq!(
        scripted(&shrinkable.without_producer(0).unwrap()),
        vec![(
            2_000,
            Fault::Pause {
                target: Target::Producer(0)
            }
        )]
    );
    assert!(shrinkable.without_producer(1).unwrap().units.is_empty());
}

#[test]
fn a_broker_goes_only_while_every_topic_keeps_its_replication_factor() {
    let mut scenario = Scenario::default();
    assert_eq!(
        Shrinkable::materialise(&scenario, 0).without_last_broker(),
        None
    );
    scenario.brokers = 5;
    scenario.faults.scripted = vec![crash(2_000, 5, "five"), crash(3_000, 1, "one")];
    scenario.broker_overrides = vec![crate::scenario::BrokerOverride {
        broker_rack: None,
        broker: BrokerId(5),
        flush: None,
        replica_fetch_max_records: Some(2),
    }];
    let four = Shrinkable::materialise(&scenario, 0)
        .without_last_broker()
        .unwrap();
    assert_eq!(four.base.brokers, 4);
    assert!(four.base.broker_overrides.is_empty());
    assert_eq!(scripted(&four), vec![(3_000, crash(0, 1, "").fault)]);
    let three = four.without_last_broker().unwrap();
    assert_eq!(three.without_last_broker(), None);
}

#[test]
fn records_shrink_per_producer_but_never_to_zero() {
    let shrinkable = Shrinkable::materialise(&Scenario::default(), 0);
    let fewer = shrinkable.with_records(0, 50).unwrap();
    assert_eq!(fewer.size().records, 50);
    assert_eq!(shrinkable.with_records(0, 0), None);
    assert_eq!(shrinkable.with_records(0, 200), None);
    assert_eq!(shrinkable.with_records(1, 10), None);
}

fn not_applied(
    time_ms: u64,
    fault: Option<Fault>,
    trigger: Option<&str>,
    reason: NotAppliedReason,
) -> NotApplied {
    NotApplied {
        time_ms,
        source: FaultSource::Scripted,
        fault,
        trigger: trigger.map(str::to_string),
        reason,
        optional: true,
    }
}

#[test]
fn a_unit_applied_unless_its_trigger_never_fired_or_its_first_fault_is_listed() {
    let mut scenario = Scenario::default();
    scenario.faults.scripted = vec![
        crash(2_000, 1, "a"),
        restart(4_000, "a"),
        crash(5_000, 1, "b"),
        restart(6_000, "b"),
        crash(8_000, 2, "c"),
    ];
    scenario.faults.triggers = vec![leader_crash_on_change(1_000, 100)];
    let shrinkable = Shrinkable::materialise(&scenario, 0);
    assert_eq!(shrinkable.applied_faults(&[]), 4);
    let crash_b1 = crash(0, 1, "").fault;
    let refused = || NotAppliedReason::NodesRefused { nodes: Vec::new() };
    let listed = vec![
        // The crash of b1 at 5 s found it down; its restart then found it up (a repair
        // does not count).
        not_applied(5_000, Some(crash_b1), None, refused()),
        not_applied(6_000, Some(restart(0, "b").fault), None, refused()),
        not_applied(
            30_000,
            None,
            Some("leader-changed events-0"),
            NotAppliedReason::TriggerNeverFired,
        ),
    ];
    assert_eq!(shrinkable.applied_faults(&listed), 2);
}

#[test]
fn each_triggered_unit_gets_the_moment_its_trigger_first_fired() {
    let mut scenario = Scenario::default();
    scenario.faults.triggers = vec![
        leader_crash_on_change(5_000, 100),
        leader_crash_on_change(1_000, 100),
        Trigger {
            condition: Condition::IsrExpanded { partition: P0 },
            ..leader_crash_on_change(0, 100)
        },
    ];
    let shrinkable = Shrinkable::materialise(&scenario, 0);
    let fired = |time_ms: u64, condition: &str| Record::Nemesis {
        time_ms,
        action: NemesisAction::TriggerFired {
            condition: condition.to_string(),
            source: NodeId::Controller,
        },
    };
    let records = vec![
        fired(3_000, "leader-changed events-0"),
        fired(9_000, "leader-changed events-0"),
        fired(9_500, "leader-changed events-0"),
    ];
    assert_eq!(
        shrinkable.trigger_fire_times(&records),
        vec![Some(9_000), Some(3_000), None]
    );
}

#[test]
fn group_kinds_are_drawn_and_written_for_a_group_scenario() {
    let mut scenario = swarm_scenario();
    let mut member = ConsumerWorkload::default();
    member.config.group_id = Some("g".to_string());
    scenario.consumers = vec![member.clone(), member];
    scenario.faults.swarm = Some(Swarm {
        kinds: vec![FaultKind::SlowProcessing, FaultKind::Crash],
        ..Swarm::default()
    });
    for seed in 0..10 {
        let written = Shrinkable::materialise(&scenario, seed).scenario();
        assert!(
            written.problems().is_empty(),
            "seed {seed}: {:?}",
            written.validate()
        );
    }
}
