use super::*;
use crate::fault::{Condition, Fault, PartitionRef, ScriptedFault, Swarm, Target, Trigger};
use watermark_broker_core::ids::{BrokerId, Offset, PartitionId};
use watermark_broker_core::topic::TopicName;

fn scenario() -> Scenario {
    Scenario {
        name: "x".to_string(),
        ..Scenario::default()
    }
}

/// The one problem of `scenario`, as `key: message`.
fn only_problem(scenario: &Scenario) -> String {
    let problems = scenario.validate();
    assert_eq!(problems.len(), 1, "{problems:?}");
    problems[0].clone()
}

fn scripted(at_ms: u64, fault: Fault) -> Scenario {
    let mut scenario = scenario();
    scenario
        .faults
        .scripted
        .push(ScriptedFault::at(at_ms, fault));
    scenario
}

fn trigger(condition: Condition, then: Vec<Fault>) -> Trigger {
    Trigger {
        condition,
        then,
        delay_ms: 0,
        after_ms: 0,
        label: None,
        later: Vec::new(),
        optional: false,
    }
}

fn with_trigger(trigger: Trigger) -> Scenario {
    let mut scenario = scenario();
    scenario.faults.triggers.push(trigger);
    scenario
}

const P0: PartitionRef = PartitionRef::Index(PartitionId(0));

fn crash(target: Target) -> Fault {
    Fault::Crash { target }
}

#[test]
fn the_default_scenario_with_a_name_has_no_problem() {
    assert_eq!(scenario().problems(), Vec::new());
}

#[test]
fn a_broker_that_does_not_exist_says_brokers_are_numbered_from_one() {
    for broker in [0, 4] {
        let problem = only_problem(&scripted(10, crash(Target::Broker(BrokerId(broker)))));
        assert_eq!(
            problem,
            format!(
                "faults.scripted[0].target: broker {broker} does not exist: brokers are numbered \
                 from 1; allowed: 1..=3"
            )
        );
    }
}

#[test]
fn a_producer_or_consumer_that_does_not_exist_says_they_are_numbered_from_zero() {
    let problem = only_problem(&scripted(10, crash(Target::Producer(3))));
    assert!(
        problem.ends_with("producers are numbered from 0; allowed: 0..=0"),
        "{problem}"
    );
    let problem = only_problem(&scripted(
        10,
        Fault::Pause {
            target: Target::Consumer(1),
        },
    ));
    assert!(problem.contains("consumer 1 does not exist"), "{problem}");
}

#[test]
fn a_partition_beyond_the_topic_or_an_undeclared_topic_is_refused_with_the_closest_name() {
    let problem = only_problem(&scripted(
        10,
        crash(Target::Leader(PartitionRef::Index(PartitionId(5)))),
    ));
    assert!(
        problem.contains("partition 5 does not exist: topic `events` has 1 partition(s)"),
        "{problem}"
    );
    let named = PartitionRef::Named {
        topic: TopicName::new("evnets"),
        partition: PartitionId(0),
    };
    let problem = only_problem(&with_trigger(trigger(
        Condition::LeaderChanged { partition: named },
        vec![crash(Target::Controller)],
    )));
    assert!(
        problem.starts_with(
            "faults.triggers[0].partition: topic `evnets` is not declared; did you mean `events`?"
        ),
        "{problem}"
    );
}

#[test]
fn event_source_is_refused_outside_a_trigger_and_accepted_inside() {
    let problem = only_problem(&scripted(10, crash(Target::EventSource)));
    assert!(
        problem.contains("only in a trigger's `then` or `later`"),
        "{problem}"
    );
    let inside = with_trigger(trigger(
        Condition::LeaderChanged { partition: P0 },
        vec![crash(Target::EventSource)],
    ));
    assert_eq!(inside.problems(), Vec::new());
}

#[test]
fn faults_and_triggers_at_or_after_the_safety_phase_are_refused() {
    let problem = only_problem(&scripted(30_000, Fault::HealAll));
    assert!(
        problem.starts_with("faults.scripted[0].at_ms: at_ms = 30000 is at or after"),
        "{problem}"
    );
    assert!(problem.ends_with("allowed: 0..=29999"), "{problem}");
    let mut late = trigger(
        Condition::LeaderChanged { partition: P0 },
        vec![Fault::HealAll],
    );
    late.after_ms = 40_000;
    let problem = only_problem(&with_trigger(late));
    assert!(
        problem.starts_with("faults.triggers[0].after_ms:"),
        "{problem}"
    );
}

#[test]
fn trigger_conditions_no_run_can_meet_are_refused() {
    let acked = |offset| Condition::LeaderAcked {
        partition: P0,
        offset_at_least: Offset(offset),
    };
    assert_eq!(
        with_trigger(trigger(acked(199), vec![Fault::HealAll])).problems(),
        Vec::new()
    );
    let problem = only_problem(&with_trigger(trigger(acked(200), vec![Fault::HealAll])));
    assert!(
        problem.contains("the producers send 200 record(s)"),
        "{problem}"
    );
    let reached = |offset| Condition::HighWatermarkReached {
        partition: P0,
        offset: Offset(offset),
    };
    assert_eq!(
        with_trigger(trigger(reached(200), vec![Fault::HealAll])).problems(),
        Vec::new()
    );
    assert!(
        only_problem(&with_trigger(trigger(reached(201), vec![Fault::HealAll])))
            .contains("never reached")
    );
    for size in [0, 3] {
        let shrunk = Condition::IsrShrunkTo {
            partition: P0,
            size,
        };
        let problem = only_problem(&with_trigger(trigger(shrunk, vec![Fault::HealAll])));
        assert!(problem.ends_with("allowed: 1..=2"), "{problem}");
    }
    let idle = trigger(Condition::LeaderChanged { partition: P0 }, Vec::new());
    assert!(only_problem(&with_trigger(idle)).contains("the trigger applies no fault"));
}

#[test]
fn zero_sizes_and_latencies_are_refused() {
    let slow = Fault::SlowLinks {
        target: Target::Broker(BrokerId(1)),
        latency_ms: 0,
    };
    assert!(only_problem(&scripted(10, slow))
        .starts_with("faults.scripted[0].latency_ms: latency_ms = 0"));
    let disk = Fault::SlowDisk {
        target: Target::Broker(BrokerId(1)),
        fsync_latency_ms: 0,
    };
    assert!(only_problem(&scripted(10, disk)).starts_with("faults.scripted[0].fsync_latency_ms:"));
    let away = Fault::PartitionAway { side: Vec::new() };
    assert!(only_problem(&scripted(10, away)).starts_with("faults.scripted[0].side:"));
    let mut silent = scenario();
    silent.producers[0].records = 0;
    assert!(only_problem(&silent).starts_with("producers[0].records: records = 0"));
    let mut swarm = scenario();
    swarm.faults.swarm = Some(Swarm {
        duration_ms_min: 0,
        ..Swarm::default()
    });
    assert!(only_problem(&swarm).starts_with("faults.swarm.duration_ms_min:"));
    let mut heartbeat = scenario();
    heartbeat.broker.broker_heartbeat_interval_ms = 0;
    assert!(only_problem(&heartbeat).starts_with("broker.broker_heartbeat_interval_ms:"));
    let mut cleanup = scenario();
    cleanup
        .broker
        .transaction_abort_timed_out_transaction_cleanup_interval_ms = 0;
    assert!(only_problem(&cleanup)
        .starts_with("broker.transaction_abort_timed_out_transaction_cleanup_interval_ms:"));
    let mut markers = scenario();
    markers.broker.request_timeout_ms = 0;
    assert!(only_problem(&markers).starts_with("broker.request_timeout_ms:"));
}

#[test]
fn a_run_longer_than_a_simulated_day_is_refused_unless_the_bound_is_raised() {
    let mut long = scenario();
    long.phases.safety_ms = 100_000_000_000;
    let problem = only_problem(&long);
    assert!(problem.starts_with("phases.safety_ms: safety_ms + liveness_ms_max = 100000120000 ms is more than phases.run_ms_max = 86400000"), "{problem}");
    long.phases.run_ms_max = 200_000_000_000;
    assert_eq!(long.problems(), Vec::new());
}

#[test]
fn a_struck_label_no_fault_defines_gets_the_closest_label() {
    let mut labelled = scripted(10, crash(Target::Leader(P0)));
    labelled.faults.scripted[0].label = Some("crashed".to_string());
    labelled.faults.scripted.push(ScriptedFault::at(
        20,
        Fault::Restart {
            target: Target::Struck("crashd".to_string()),
        },
    ));
    let problem = only_problem(&labelled);
    assert!(problem.starts_with("faults.scripted[1]: "), "{problem}");
    assert!(problem.ends_with("did you mean `crashed`?"), "{problem}");
}

fn transactional_scenario() -> Scenario {
    let mut scenario = scenario();
    scenario.producers[0].config.transactional_id = Some("tx".to_string());
    scenario
}

#[test]
fn a_transactional_producer_with_idempotence_off_is_refused_as_kafka_does() {
    assert_eq!(transactional_scenario().problems(), Vec::new());
    let mut explicit = transactional_scenario();
    explicit.producers[0].config.enable_idempotence = Some(false);
    assert_eq!(
        only_problem(&explicit),
        "producers[0].config.transactional_id: a transactional_id needs idempotence: \
         enable_idempotence must not be false; allowed: a transactional producer with \
         idempotence on"
    );
    // Unset, idempotence is turned off quietly by acks=1; a transactional id refuses that.
    let mut quiet = transactional_scenario();
    quiet.producers[0].config.acks = watermark_broker_core::protocol::Acks::Leader;
    assert!(only_problem(&quiet).starts_with(
        "producers[0].config.transactional_id: a transactional_id needs idempotence, which is \
         off because acks must be \"all\""
    ));
}

#[test]
fn transaction_keys_need_a_transactional_id_and_at_least_one_record() {
    let mut plain = scenario();
    plain.producers[0].abort_every = Some(2);
    assert_eq!(
        only_problem(&plain),
        "producers[0].abort_every: abort_every needs config.transactional_id; allowed: only on \
         a transactional producer"
    );
    let mut empty = transactional_scenario();
    empty.producers[0].transaction_records = Some(0);
    assert!(only_problem(&empty).starts_with("producers[0].transaction_records: "));
}

#[test]
fn a_transactional_producer_brings_the_transaction_state_topic() {
    let names = |scenario: &Scenario| -> Vec<String> {
        scenario
            .cluster_topics()
            .iter()
            .map(|topic| topic.name.to_string())
            .collect()
    };
    assert!(!names(&scenario()).contains(&"__transaction_state".to_string()));
    assert!(names(&transactional_scenario()).contains(&"__transaction_state".to_string()));
}
