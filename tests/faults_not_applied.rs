//! Every kind of fault that cannot apply is listed with its reason and fails the run, unless
//! the fault (or its trigger) is marked `optional = true`: then it is still listed and the
//! run passes. One small scenario per kind, built with the builder.

use watermark::scenarios::builder::ScenarioBuilder;
use watermark::sim::failure::Failure;
use watermark::sim::fault::{Condition, Fault, PartitionRef, ScriptedFault, Target};
use watermark::sim::not_applied::{FaultSource, NodeState, NotAppliedReason};
use watermark::sim::runner::{run, RunOptions, RunReport};
use watermark::sim::scenario::Scenario;
use watermark_broker_core::ids::{BrokerId, NodeId, Offset, PartitionId};

const B2: Target = Target::Broker(BrokerId(2));
const P0: PartitionRef = PartitionRef::Index(PartitionId(0));

/// A quiet cluster: 3 brokers, 40 records, a 10 s safety phase.
fn quiet(name: &str) -> ScenarioBuilder {
    ScenarioBuilder::new(name)
        .records(40, 50)
        .phases(10_000, 60_000)
}

fn run_seed_1(scenario: &Scenario) -> RunReport {
    run(scenario, 1, RunOptions::default())
}

fn b2() -> NodeId {
    NodeId::Broker(BrokerId(2))
}

/// Runs `scenario`: exactly one record, with `reason` and `source`, failing the run with a
/// failure grouped as `fault not applied: {kind}`. Then runs it again with `make_optional`
/// applied: the record is still listed, marked optional, and the run passes.
fn assert_not_applied(
    scenario: Scenario,
    source: FaultSource,
    reason: NotAppliedReason,
    kind: &str,
    make_optional: impl FnOnce(&mut Scenario),
) {
    let report = run_seed_1(&scenario);
    assert_eq!(
        report.faults_not_applied.len(),
        1,
        "{:#?}",
        report.faults_not_applied
    );
    let record = &report.faults_not_applied[0];
    assert_eq!(record.reason, reason, "{record}");
    assert_eq!(record.source, source, "{record}");
    assert!(!record.optional);
    assert_eq!(record.kind(), kind);
    assert!(!report.passed, "{:?}", report.failures);
    assert_eq!(
        report.failures,
        vec![Failure::FaultNotApplied(record.clone())],
        "the fault is the only reason the run fails"
    );
    assert_eq!(
        report.failures[0].reason(),
        format!("fault not applied: {kind}")
    );
    let json = serde_json::to_value(&report).expect("a report serialises");
    assert_eq!(json["faults_not_applied"][0]["optional"], false);
    assert!(json["faults_not_applied"][0]["reason_text"].is_string());

    let mut optional = scenario;
    make_optional(&mut optional);
    let report = run_seed_1(&optional);
    assert_eq!(report.faults_not_applied.len(), 1);
    assert!(report.faults_not_applied[0].optional);
    assert_eq!(report.faults_not_applied[0].reason, reason);
    assert!(report.passed, "{:?}", report.failures);
}

/// Marks every scripted fault optional.
fn scripted_optional(scenario: &mut Scenario) {
    for fault in &mut scenario.faults.scripted {
        fault.optional = true;
    }
}

/// Marks every trigger optional.
fn triggers_optional(scenario: &mut Scenario) {
    for trigger in &mut scenario.faults.triggers {
        trigger.optional = true;
    }
}

#[test]
fn a_restart_of_a_node_that_is_up_is_not_applied() {
    let scenario = quiet("restart-up")
        .fault_at(3_000, Fault::Restart { target: B2 })
        .build()
        .unwrap();
    assert_not_applied(
        scenario,
        FaultSource::Scripted,
        NotAppliedReason::NodesRefused {
            nodes: vec![(b2(), NodeState::Up)],
        },
        "restart: the node was already up",
        scripted_optional,
    );
}

#[test]
fn a_crash_of_a_node_that_is_down_is_not_applied() {
    let scenario = quiet("crash-down")
        .fault_at(3_000, Fault::Crash { target: B2 })
        .fault_at(4_000, Fault::Crash { target: B2 })
        .fault_at(6_000, Fault::Restart { target: B2 })
        .build()
        .unwrap();
    assert_not_applied(
        scenario,
        FaultSource::Scripted,
        NotAppliedReason::NodesRefused {
            nodes: vec![(b2(), NodeState::Down)],
        },
        "crash: the node was down",
        |scenario| scenario.faults.scripted[1].optional = true,
    );
}

#[test]
fn a_pause_of_a_paused_node_is_not_applied() {
    let scenario = quiet("pause-paused")
        .fault_at(3_000, Fault::Pause { target: B2 })
        .fault_at(4_000, Fault::Pause { target: B2 })
        .fault_at(6_000, Fault::Resume { target: B2 })
        .build()
        .unwrap();
    assert_not_applied(
        scenario,
        FaultSource::Scripted,
        NotAppliedReason::NodesRefused {
            nodes: vec![(b2(), NodeState::Paused)],
        },
        "pause: the node was already paused",
        |scenario| scenario.faults.scripted[1].optional = true,
    );
}

#[test]
fn a_pause_of_a_node_that_is_down_is_not_applied() {
    let scenario = quiet("pause-down")
        .fault_at(3_000, Fault::Crash { target: B2 })
        .fault_at(4_000, Fault::Pause { target: B2 })
        .fault_at(6_000, Fault::Restart { target: B2 })
        .build()
        .unwrap();
    assert_not_applied(
        scenario,
        FaultSource::Scripted,
        NotAppliedReason::NodesRefused {
            nodes: vec![(b2(), NodeState::Down)],
        },
        "pause: the node was down",
        |scenario| scenario.faults.scripted[1].optional = true,
    );
}

#[test]
fn a_resume_of_a_node_that_is_not_paused_is_not_applied() {
    let scenario = quiet("resume-running")
        .fault_at(3_000, Fault::Resume { target: B2 })
        .build()
        .unwrap();
    assert_not_applied(
        scenario,
        FaultSource::Scripted,
        NotAppliedReason::NodesRefused {
            nodes: vec![(b2(), NodeState::NotPaused)],
        },
        "resume: the node was not paused",
        scripted_optional,
    );
}

#[test]
fn a_target_that_names_no_node_is_not_applied() {
    // Nobody has joined the ISR yet: the newest ISR member is nobody.
    let scenario = quiet("no-target")
        .fault_at(
            3_000,
            Fault::Crash {
                target: Target::NewestIsrMember(P0),
            },
        )
        .build()
        .unwrap();
    assert_not_applied(
        scenario,
        FaultSource::Scripted,
        NotAppliedReason::NoTarget,
        "crash: its target named no node",
        scripted_optional,
    );
}

#[test]
fn a_struck_label_that_hit_nothing_names_no_node() {
    let mut scenario = quiet("struck-nothing")
        .fault_at(
            3_000,
            Fault::Crash {
                target: Target::NewestIsrMember(P0),
            },
        )
        .build()
        .unwrap();
    scenario.faults.scripted[0].label = Some("gone".to_string());
    // The labelled crash is optional: only the restart of what it struck is judged.
    scenario.faults.scripted[0].optional = true;
    scenario.faults.scripted.push(ScriptedFault::at(
        5_000,
        Fault::Restart {
            target: Target::Struck("gone".to_string()),
        },
    ));
    let report = run_seed_1(&scenario);
    let restart = &report.faults_not_applied[1];
    assert_eq!(restart.reason, NotAppliedReason::NoTarget);
    assert_eq!(restart.kind(), "restart: its target named no node");
    assert_eq!(
        report.failures,
        vec![Failure::FaultNotApplied(restart.clone())]
    );
}

#[test]
fn a_shutdown_of_a_node_that_is_not_a_broker_is_not_applied() {
    let scenario = quiet("shutdown-controller")
        .fault_at(
            3_000,
            Fault::Shutdown {
                target: Target::Controller,
            },
        )
        .build()
        .unwrap();
    assert_not_applied(
        scenario,
        FaultSource::Scripted,
        NotAppliedReason::NodesRefused {
            nodes: vec![(NodeId::Controller, NodeState::NotABroker)],
        },
        "shutdown: the node was not a broker",
        scripted_optional,
    );
}

#[test]
fn a_cut_of_a_link_already_cut_is_not_applied() {
    let cut = Fault::CutOneWay {
        from: Target::Broker(BrokerId(1)),
        to: B2,
    };
    let scenario = quiet("cut-twice")
        .fault_at(3_000, cut.clone())
        .fault_at(4_000, cut)
        .fault_at(6_000, Fault::HealAll)
        .build()
        .unwrap();
    assert_not_applied(
        scenario,
        FaultSource::Scripted,
        NotAppliedReason::LinksAlreadyCut,
        "cut-one-way: its links were already cut",
        |scenario| scenario.faults.scripted[1].optional = true,
    );
}

#[test]
fn a_trigger_that_never_fires_is_not_applied() {
    // No fault ever moves the leadership: the trigger waits in vain.
    let scenario = quiet("never-fires")
        .trigger(
            Condition::LeaderChanged { partition: P0 },
            0,
            vec![Fault::Crash { target: B2 }],
        )
        .build()
        .unwrap();
    assert_not_applied(
        scenario,
        FaultSource::Trigger,
        NotAppliedReason::TriggerNeverFired,
        "the trigger never fired",
        triggers_optional,
    );
}

#[test]
fn a_trigger_fault_due_after_the_safety_phase_is_not_applied() {
    let mut scenario = quiet("due-too-late")
        .trigger(
            Condition::HighWatermarkReached {
                partition: P0,
                offset: Offset(5),
            },
            0,
            vec![Fault::Crash { target: B2 }],
        )
        .build()
        .unwrap();
    // The repair comes long after the safety phase: the liveness phase restarts b2 instead.
    scenario.faults.triggers[0]
        .later
        .push(ScriptedFault::at(60_000, Fault::Restart { target: B2 }));
    let report = run_seed_1(&scenario);
    let record = &report.faults_not_applied[0];
    let NotAppliedReason::SafetyPhaseEnded { due_ms } = record.reason else {
        panic!("{record}");
    };
    assert!(due_ms > 60_000, "{record}");
    assert_not_applied(
        scenario,
        FaultSource::Trigger,
        NotAppliedReason::SafetyPhaseEnded { due_ms },
        "restart: the safety phase ended before it was due",
        |scenario| scenario.faults.triggers[0].later[0].optional = true,
    );
}

#[test]
fn a_crash_of_every_broker_with_one_down_applies_to_the_others() {
    // Partially applied counts as applied: "all brokers" is every one that can take it.
    let scenario = quiet("crash-all-one-down")
        .fault_at(3_000, Fault::Crash { target: B2 })
        .fault_at(
            4_000,
            Fault::Crash {
                target: Target::AllBrokers,
            },
        )
        .fault_at(
            6_000,
            Fault::Restart {
                target: Target::AllBrokers,
            },
        )
        .build()
        .unwrap();
    let report = run_seed_1(&scenario);
    assert!(
        report.faults_not_applied.is_empty(),
        "{:#?}",
        report.faults_not_applied
    );
}

#[test]
fn swarm_faults_that_do_not_apply_are_listed_as_optional() {
    let scenario = watermark::scenarios::find("safe-acks-all-swarm").expect("in the catalogue");
    let listed = (0..20)
        .map(|seed| run(&scenario, seed, RunOptions::default()))
        .flat_map(|report| report.faults_not_applied)
        .filter(|record| record.source == FaultSource::Swarm)
        .collect::<Vec<_>>();
    assert!(!listed.is_empty(), "20 swarm seeds hit no down node at all");
    assert!(listed.iter().all(|record| record.optional));
}

#[test]
fn a_cut_of_a_node_from_itself_names_no_link() {
    let scenario = quiet("cut-self")
        .fault_at(3_000, Fault::CutOneWay { from: B2, to: B2 })
        .build()
        .unwrap();
    assert_not_applied(
        scenario,
        FaultSource::Scripted,
        NotAppliedReason::NoLink,
        "cut-one-way: it names no link",
        scripted_optional,
    );
}

#[test]
fn an_isolation_of_a_node_already_cut_off_is_not_applied() {
    let isolate = Fault::Isolate { target: B2 };
    let scenario = quiet("isolate-twice")
        .fault_at(3_000, isolate.clone())
        .fault_at(4_000, isolate)
        .fault_at(6_000, Fault::HealAll)
        .build()
        .unwrap();
    assert_not_applied(
        scenario,
        FaultSource::Scripted,
        NotAppliedReason::LinksAlreadyCut,
        "isolate: its links were already cut",
        |scenario| scenario.faults.scripted[1].optional = true,
    );
}
