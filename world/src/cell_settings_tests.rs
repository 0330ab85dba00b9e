use super::*;
use crate::configuration::ConfigurationSpace;
use crate::fault::Swarm;

fn swarm_scenario() -> Scenario {
    let mut scenario = Scenario::default();
    scenario.broker.log_flush_interval_messages = Some(1);
    scenario.faults.swarm = Some(Swarm {
        configuration: Some(ConfigurationSpace {
            retries: Some(Values::Choices(vec![0, 1, 3])),
            max_in_flight_requests_per_connection: Some(Values::Range(Range { min: 1, max: 9 })),
            ..ConfigurationSpace::default()
        }),
        ..Swarm::default()
    });
    scenario
}

#[test]
fn values_parse_and_print_the_way_the_command_line_writes_them() {
    for (axis, text) in [
        (Axis::Acks, "0"),
        (Axis::Acks, "all"),
        (Axis::MinInsync, "2"),
        (Axis::Unclean, "on"),
        (Axis::Flush, "never"),
        (Axis::Flush, "every-message"),
        (Axis::Flush, "5"),
        (Axis::Idempotence, "off"),
        (Axis::Isolation, "read_committed"),
        (Axis::Commit, "process-then-commit"),
    ] {
        let setting = axis.parse(text).unwrap();
        assert_eq!(setting.value(), text);
        assert_eq!(setting.axis(), axis);
        assert_eq!(Setting::parse_assignment(&setting.to_string()), Ok(setting));
    }
}

#[test]
fn bad_values_name_the_axis_and_what_is_allowed() {
    assert_eq!(
        Axis::Acks.parse_list("1,2").unwrap_err(),
        "--acks: unknown value `2` for acks; allowed: 0, 1, all"
    );
    assert_eq!(
        Setting::parse_assignment("acks=5").unwrap_err(),
        "--set acks=5: unknown value `5` for acks; allowed: 0, 1, all"
    );
    assert!(Axis::Unclean
        .parse_list("")
        .unwrap_err()
        .contains("an empty list"));
    assert!(Axis::Unclean
        .parse_list("on,,off")
        .unwrap_err()
        .contains("an empty value"));
    assert!(Axis::Acks
        .parse_list("1,1")
        .unwrap_err()
        .contains("given twice"));
    assert!(Setting::parse_assignment("speed=9")
        .unwrap_err()
        .contains("unknown axis `speed`"));
}

#[test]
fn a_flush_policy_silences_the_swarms_draw_and_every_other_policy() {
    let mut scenario = swarm_scenario();
    scenario.topics[0].flush_interval_messages = Some(1);
    apply_settings(&mut scenario, &[Setting::Flush(FlushPolicy::Never)]).unwrap();
    assert_eq!(scenario.broker.log_flush_interval_messages, None);
    assert_eq!(scenario.topics[0].flush_interval_messages, None);
    let space = scenario.faults.swarm.unwrap().configuration.unwrap();
    assert_eq!(space.flush, None);
}

#[test]
fn idempotence_narrows_what_the_swarm_may_draw() {
    let mut scenario = swarm_scenario();
    apply_settings(&mut scenario, &[Setting::Idempotence(true)]).unwrap();
    assert_eq!(scenario.producers[0].config.enable_idempotence, Some(true));
    let space = scenario.faults.swarm.unwrap().configuration.unwrap();
    assert_eq!(space.retries, Some(Values::Choices(vec![1, 3])));
    assert_eq!(
        space.max_in_flight_requests_per_connection,
        Some(Values::Range(Range { min: 1, max: 5 }))
    );
}

#[test]
fn kafka_refuses_idempotence_without_acks_all() {
    let mut scenario = swarm_scenario();
    let error = apply_settings(
        &mut scenario,
        &[Setting::Acks(Acks::Leader), Setting::Idempotence(true)],
    )
    .unwrap_err();
    assert!(error.contains("needs acks=all"), "{error}");
}

#[test]
fn a_commit_mode_needs_a_consumer_that_commits() {
    let mut scenario = swarm_scenario();
    let error = apply_settings(
        &mut scenario,
        &[Setting::Commit(ProcessingMode::CommitThenProcess)],
    )
    .unwrap_err();
    assert!(error.contains("no group consumer"), "{error}");
}
