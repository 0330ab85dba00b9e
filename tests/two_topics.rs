//! Two topics with their own replication factor and min.insync.replicas run side by side:
//! each is placed, elected and judged with its own settings (examples/two-topics.toml).

use std::collections::BTreeMap;
use watermark::broker_core::event::Event;
use watermark::broker_core::topic::TopicName;
use watermark::scenarios::load_file;
use watermark::sim::runner::{run, RunOptions};
use watermark::sim::step_record::Record;
use watermark::sim::trace::TraceMode;

fn example() -> watermark::sim::scenario::Scenario {
    load_file(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/two-topics.toml"
    )))
    .expect("the example loads")
}

#[test]
fn each_topic_is_placed_and_elected_with_its_own_replication_factor() {
    let scenario = example();
    assert_eq!(scenario.topics.len(), 2);
    let report = run(
        &scenario,
        1,
        RunOptions {
            trace_mode: TraceMode::HashOnly,
            keep_records: true,
        },
    );
    assert!(report.passed, "{:?}", report.failures);
    // The ISR of every first election, per topic: every replica of the partition.
    let mut first_isr_sizes: BTreeMap<(TopicName, u32), usize> = BTreeMap::new();
    for record in &report.records {
        let Record::Step(step) = record else { continue };
        for event in &step.events {
            if let Event::LeaderElected { partition, isr, .. } = event {
                first_isr_sizes
                    .entry((partition.topic, partition.partition.0))
                    .or_insert(isr.len());
            }
        }
    }
    let orders = TopicName::new("orders");
    let clicks = TopicName::new("clicks");
    assert_eq!(
        first_isr_sizes.len(),
        5,
        "2 orders and 3 clicks partitions: {first_isr_sizes:?}"
    );
    for ((topic, _), size) in &first_isr_sizes {
        let expected = if *topic == orders { 3 } else { 1 };
        assert_eq!(*size, expected, "{topic}: {first_isr_sizes:?}");
    }
    assert!(first_isr_sizes.keys().any(|(topic, _)| *topic == clicks));
}

#[test]
fn both_topics_deliver_every_acknowledged_record_on_every_seed() {
    let scenario = example();
    for seed in 0..8 {
        let report = run(&scenario, seed, RunOptions::default());
        assert!(report.passed, "seed {seed}: {:?}", report.failures);
        assert_eq!(
            report.counters.sends_ok, 240,
            "seed {seed}: both producers finished"
        );
    }
}

#[test]
fn a_producer_naming_a_topic_no_one_declared_is_refused_at_load() {
    let text =
        "name = \"x\"\n\n[[topics]]\nname = \"orders\"\n\n[[producers]]\ntopic = \"ordres\"\n";
    let error = watermark::scenarios::parse_toml(text, "f.toml").unwrap_err();
    assert!(
        error
            .contains("producers[0] writes to topic `ordres`, which the scenario does not declare"),
        "{error}"
    );
    let both = "name = \"x\"\n[topic]\npartitions = 2\n\n[[topics]]\nname = \"orders\"\n";
    let error = watermark::scenarios::parse_toml(both, "f.toml").unwrap_err();
    assert!(
        error.contains("both a [topic] table and [[topics]]"),
        "{error}"
    );
}
