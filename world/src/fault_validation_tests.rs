//! The group faults' validation: a coordinator target, the group trigger conditions and
//! slow-processing. (The refusals' exact lines are tests/refused/ files.)

use crate::fault::{Condition, Fault, ScriptedFault, Target, Trigger};
use crate::scenario::{ConsumerWorkload, Scenario};

/// Two consumers: 0 in group "orders", 1 in assign mode.
fn with_group() -> Scenario {
    let mut grouped = ConsumerWorkload::default();
    grouped.config.group_id = Some("orders".to_string());
    Scenario {
        name: "x".to_string(),
        consumers: vec![grouped, ConsumerWorkload::default()],
        ..Scenario::default()
    }
}

/// The fault-schedule problems of `scenario` (the keys under `faults.`), leaving out the
/// rest of the scenario's.
fn fault_problems(scenario: &Scenario) -> Vec<String> {
    let mut problems = Vec::new();
    super::validate_faults(scenario, &mut problems);
    problems.iter().map(ToString::to_string).collect()
}

fn scripted(fault: Fault) -> Scenario {
    let mut scenario = with_group();
    scenario
        .faults
        .scripted
        .push(ScriptedFault::at(5_000, fault));
    scenario
}

fn triggered(condition: Condition) -> Scenario {
    let mut scenario = with_group();
    scenario.faults.triggers.push(Trigger {
        condition,
        then: vec![Fault::Crash {
            target: Target::EventSource,
        }],
        delay_ms: 0,
        after_ms: 0,
        label: None,
        later: Vec::new(),
        optional: false,
    });
    scenario
}

#[test]
fn a_coordinator_target_must_name_a_group_of_the_scenario() {
    let crash = |group: &str| {
        scripted(Fault::Crash {
            target: Target::Coordinator(group.to_string()),
        })
    };
    assert_eq!(fault_problems(&crash("orders")), Vec::<String>::new());
    let problems = fault_problems(&crash("order"));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("group \"order\" does not exist")
            && problems[0].contains("allowed: \"orders\""),
        "{problems:?}"
    );
}

#[test]
fn group_conditions_must_name_a_group_member_or_a_group() {
    let committed = |consumer| triggered(Condition::MemberCommitted { consumer });
    assert_eq!(fault_problems(&committed(0)), Vec::<String>::new());
    assert!(fault_problems(&committed(1))[0].contains("it has no group_id"));
    assert!(fault_problems(&committed(2))[0].contains("consumer 2 does not exist"));
    let rebalance = |group: &str| {
        triggered(Condition::RebalanceStarted {
            group: group.to_string(),
        })
    };
    assert_eq!(fault_problems(&rebalance("orders")), Vec::<String>::new());
    let problems = fault_problems(&rebalance("billing"));
    assert!(
        problems.len() == 1 && problems[0].starts_with("faults.triggers[0].group"),
        "{problems:?}"
    );
}

#[test]
fn slow_processing_needs_a_consumer_and_durations() {
    let slow = |target, processing_ms, duration_ms| {
        fault_problems(&scripted(Fault::SlowProcessing {
            target,
            processing_ms,
            duration_ms,
        }))
    };
    assert_eq!(
        slow(Target::Consumer(0), 400_000, 10_000),
        Vec::<String>::new()
    );
    assert_eq!(slow(Target::Consumer(0), 0, 0).len(), 2);
    assert!(slow(Target::Controller, 1, 1)[0].contains("slows a consumer's application"));
}

#[test]
fn a_swarm_lists_slow_processing_only_when_a_consumer_is_in_a_group() {
    use crate::fault::{FaultKind, Swarm};
    let mut without_groups = Scenario {
        name: "x".to_string(),
        ..Scenario::default()
    };
    without_groups.faults.swarm = Some(Swarm {
        kinds: vec![FaultKind::Crash, FaultKind::SlowProcessing],
        ..Swarm::default()
    });
    let problems = fault_problems(&without_groups);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with(
            "faults.swarm.kinds: faults.swarm.kinds has slow-processing, which hits group \
             members, but no consumer has a group_id; allowed without groups: crash,"
        ),
        "{}",
        problems[0]
    );
    // The default list means "every kind that applies".
    without_groups.faults.swarm = Some(Swarm::default());
    assert!(fault_problems(&without_groups).is_empty());
    let mut grouped = with_group();
    grouped.faults.swarm = Some(Swarm {
        kinds: vec![FaultKind::SlowProcessing],
        ..Swarm::default()
    });
    assert!(fault_problems(&grouped).is_empty());
}

#[test]
fn delete_records_needs_an_existing_partition_and_an_offset_past_zero() {
    use crate::fault::PartitionRef;
    use watermark_broker_core::ids::{Offset, PartitionId};
    let delete = |partition, before_offset| {
        fault_problems(&scripted(Fault::DeleteRecords {
            partition: PartitionRef::Index(PartitionId(partition)),
            before_offset,
        }))
    };
    assert_eq!(delete(0, None), Vec::<String>::new());
    assert_eq!(delete(0, Some(Offset(5))), Vec::<String>::new());
    let zero = delete(0, Some(Offset(0)));
    assert_eq!(zero.len(), 1, "{zero:?}");
    assert!(zero[0].contains("before_offset") && zero[0].contains("deletes nothing"));
    let missing = delete(7, None);
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(missing[0].contains(".partition"), "{missing:?}");
}

/// A scenario with a transactional producer `payments` and a consume-transform-produce
/// consumer of group `orders` with the default transactional id.
fn with_transactional_ids() -> Scenario {
    let mut scenario = with_group();
    let mut producer = crate::scenario::ProducerWorkload::default();
    producer.config.transactional_id = Some("payments".to_string());
    scenario.producers = vec![producer];
    scenario.consumers[0].processing =
        Some(crate::processing::ProcessingMode::ConsumeTransformProduce);
    scenario
}

#[test]
fn transaction_targets_and_conditions_must_name_a_transactional_id_of_the_scenario() {
    let problems = |id: &str| {
        let mut scenario = with_transactional_ids();
        scenario.faults.scripted.push(ScriptedFault::at(
            5_000,
            Fault::Crash {
                target: Target::TransactionCoordinator(id.to_string()),
            },
        ));
        scenario.faults.triggers.push(Trigger {
            condition: Condition::TransactionState {
                transactional_id: id.to_string(),
                state: crate::fault::TransactionStep::PrepareCommit,
            },
            then: vec![Fault::Crash {
                target: Target::EventSource,
            }],
            delay_ms: 0,
            after_ms: 0,
            label: None,
            later: Vec::new(),
            optional: false,
        });
        fault_problems(&scenario)
    };
    assert_eq!(problems("payments"), Vec::<String>::new());
    assert_eq!(problems("orders-transformer-0"), Vec::<String>::new());
    let refused = problems("payment");
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused[0].starts_with("faults.scripted[0].target")
            && refused[1].starts_with("faults.triggers[0].transactional_id"),
        "{refused:?}"
    );
    assert!(
        refused.iter().all(|problem| problem
            .contains("transactional id \"payment\" does not exist; allowed: \"orders-transformer-0\", \"payments\"")),
        "{refused:?}"
    );
    let none = fault_problems(&{
        let mut scenario = triggered(Condition::TransactionState {
            transactional_id: "payments".to_string(),
            state: crate::fault::TransactionStep::Ongoing,
        });
        scenario.consumers.truncate(0);
        scenario
    });
    assert!(
        none.len() == 1 && none[0].contains("no producer of the scenario is transactional"),
        "{none:?}"
    );
}
