//! Drawing a configuration: deterministic per seed, one stream per option, applied to the
//! scenario, refused when the space is malformed.

use super::*;
use crate::fault::Swarm;

fn full_space() -> ConfigurationSpace {
    ConfigurationSpace {
        flush: Some(FlushSpace {
            choices: vec![FlushChoice::Never],
            every_n_max: 10,
            unsynced_brokers_max: 1,
        }),
        replica_fetch_max_records: Some(Values::Choices(vec![2])),
        request_timeout_ms: Some(Values::Choices(vec![300])),
        delivery_timeout_ms: Some(Values::Choices(vec![100])),
        retries: Some(Values::Choices(vec![0])),
        linger_ms: Some(Values::Choices(vec![5])),
        max_in_flight_requests_per_connection: Some(Values::Choices(vec![1])),
        batch_size_records: Some(Values::Choices(vec![3])),
        max_poll_records: Some(Values::Choices(vec![4])),
    }
}

fn scenario_with(space: ConfigurationSpace) -> Scenario {
    let mut scenario = Scenario {
        name: "drawn".to_string(),
        ..Scenario::default()
    };
    scenario.faults.swarm = Some(Swarm {
        configuration: Some(space),
        ..Swarm::default()
    });
    scenario
}

#[test]
fn every_drawn_option_lands_in_the_scenario_the_run_uses() {
    let scenario = scenario_with(full_space());
    let (applied, drawn) = draw_and_apply(&scenario, 7);
    let drawn = drawn.expect("a space draws");
    let producer = &applied.producers[0].config;
    assert_eq!(producer.request_timeout_ms, 300);
    // Raised to linger + request timeout, as Kafka's producer demands.
    assert_eq!(producer.delivery_timeout_ms, 305);
    assert_eq!(producer.retries, 0);
    assert_eq!(producer.linger_ms, 5);
    assert_eq!(producer.max_in_flight_requests_per_connection, 1);
    assert_eq!(producer.batch_size_records, 3);
    assert_eq!(applied.consumers[0].config.max_poll_records, 4);
    let fetch: Vec<u32> = (1..=3)
        .map(|broker| {
            applied
                .broker_config(BrokerId(broker))
                .replica_fetch_max_records
        })
        .collect();
    assert_eq!(fetch, vec![2, 2, 2]);
    // One broker at most goes without fsync; the others sync every message.
    let flushes: Vec<Option<u64>> = (1..=3)
        .map(|broker| {
            applied
                .broker_config(BrokerId(broker))
                .log_flush_interval_messages
        })
        .collect();
    assert_eq!(flushes.iter().filter(|flush| flush.is_none()).count(), 1);
    assert_eq!(flushes.iter().filter(|flush| **flush == Some(1)).count(), 2);
    assert_eq!(drawn.unsynced_brokers().len(), 1);
}

#[test]
fn no_space_draws_nothing_and_leaves_the_scenario_alone() {
    let scenario = Scenario {
        name: "fixed".to_string(),
        ..Scenario::default()
    };
    let (applied, drawn) = draw_and_apply(&scenario, 7);
    assert_eq!(drawn, None);
    assert_eq!(applied, scenario);
}

#[test]
fn the_same_seed_draws_the_same_configuration_and_seeds_differ() {
    let space = ConfigurationSpace {
        request_timeout_ms: Some(Values::Range(Range {
            min: 1,
            max: 1_000_000,
        })),
        ..ConfigurationSpace::default()
    };
    let scenario = scenario_with(space.clone());
    assert_eq!(draw(&space, &scenario, 3), draw(&space, &scenario, 3));
    let distinct: std::collections::BTreeSet<Option<u64>> = (0..20)
        .map(|seed| draw(&space, &scenario, seed).producers[0].request_timeout_ms)
        .collect();
    assert!(distinct.len() > 10);
}

#[test]
fn adding_an_option_does_not_shift_the_others() {
    let alone = ConfigurationSpace {
        linger_ms: Some(Values::Range(Range {
            min: 0,
            max: 1_000_000,
        })),
        ..ConfigurationSpace::default()
    };
    let with_more = ConfigurationSpace {
        retries: Some(Values::Range(Range {
            min: 0,
            max: 1_000_000,
        })),
        batch_size_records: Some(Values::Range(Range {
            min: 1,
            max: 1_000_000,
        })),
        ..alone.clone()
    };
    for seed in 0..20 {
        let scenario = scenario_with(alone.clone());
        assert_eq!(
            draw(&alone, &scenario, seed).producers[0].linger_ms,
            draw(&with_more, &scenario, seed).producers[0].linger_ms
        );
    }
}

fn problems(space: ConfigurationSpace) -> Vec<String> {
    scenario_with(space).validate()
}

#[test]
fn malformed_ranges_are_refused_naming_the_field_and_what_is_allowed() {
    let inverted = problems(ConfigurationSpace {
        linger_ms: Some(Values::Range(Range { min: 9, max: 1 })),
        ..ConfigurationSpace::default()
    });
    assert_eq!(inverted.len(), 1);
    assert!(inverted[0].starts_with("faults.swarm.configuration.linger_ms: min 9 is above max 1"));
    assert!(inverted[0].contains("allowed:"));
    let zero_in_flight = problems(ConfigurationSpace {
        max_in_flight_requests_per_connection: Some(Values::Choices(vec![0, 1])),
        ..ConfigurationSpace::default()
    });
    assert!(zero_in_flight[0].starts_with(
        "faults.swarm.configuration.max_in_flight_requests_per_connection: the values reach 0..=1"
    ));
    let empty = problems(ConfigurationSpace {
        max_poll_records: Some(Values::Choices(Vec::new())),
        ..ConfigurationSpace::default()
    });
    assert!(empty[0].contains("max_poll_records: an empty list"));
}

#[test]
fn a_flush_space_is_refused_when_a_topic_sets_its_own_flush_messages() {
    let mut scenario = scenario_with(full_space());
    scenario.topics[0].flush_interval_messages = Some(1);
    let found = scenario.validate();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("topic `events` sets its own flush_interval_messages"));
}

#[test]
fn a_flush_space_is_refused_when_it_cannot_be_drawn() {
    let found = problems(ConfigurationSpace {
        flush: Some(FlushSpace {
            choices: vec![FlushChoice::EveryN],
            every_n_max: 1,
            unsynced_brokers_max: 4,
        }),
        ..ConfigurationSpace::default()
    });
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("every_n_max = 1"));
    assert!(found[1].contains("unsynced_brokers_max = 4 is more than brokers = 3"));
}
