use crate::processing::ProcessingMode;
use crate::scenario::Scenario;
use watermark_broker_core::config::TopicConfig;
use watermark_broker_core::topic::TopicName;

const INPUT: TopicName = TopicName::from_static("in");
const OUTPUT: TopicName = TopicName::from_static("out");

/// A runnable scenario whose consumer transforms `in` into `out` in group `g`.
fn pipeline() -> Scenario {
    let mut scenario = Scenario {
        name: "x".to_string(),
        ..Scenario::default()
    };
    let template = scenario.topics[0].clone();
    scenario.topics = vec![
        TopicConfig {
            name: INPUT,
            ..template.clone()
        },
        TopicConfig {
            name: OUTPUT,
            ..template
        },
    ];
    scenario.producers[0].topic = Some(INPUT);
    let consumer = &mut scenario.consumers[0];
    consumer.config.group_id = Some("g".into());
    consumer.config.enable_auto_commit = false;
    consumer.processing = Some(ProcessingMode::ConsumeTransformProduce);
    consumer.topics = vec![INPUT];
    consumer.output_topic = Some(OUTPUT);
    scenario
}

fn only_problem(scenario: &Scenario) -> String {
    let problems = scenario.validate();
    assert_eq!(problems.len(), 1, "{problems:?}");
    problems[0].clone()
}

#[test]
fn a_pipeline_reading_one_topic_and_writing_another_is_accepted() {
    assert_eq!(pipeline().validate(), Vec::<String>::new());
}

#[test]
fn a_pipeline_needs_an_output_topic() {
    let mut scenario = pipeline();
    scenario.consumers[0].output_topic = None;
    let problem = only_problem(&scenario);
    assert!(
        problem.starts_with("consumers[0].output_topic:"),
        "{problem}"
    );
    assert!(problem.contains("allowed: one of in, out"), "{problem}");
}

#[test]
fn an_unknown_output_topic_is_refused_with_the_known_ones() {
    let mut scenario = pipeline();
    scenario.consumers[0].output_topic = Some(TopicName::from_static("nowhere"));
    let problem = only_problem(&scenario);
    assert!(problem.contains("\"nowhere\" is not a topic"), "{problem}");
}

#[test]
fn a_pipeline_may_not_read_its_own_output() {
    let mut scenario = pipeline();
    scenario.consumers[0].topics = Vec::new();
    let problem = only_problem(&scenario);
    assert!(problem.contains("also a topic it reads"), "{problem}");
}

#[test]
fn pipeline_keys_without_the_pipeline_mode_are_refused() {
    let mut scenario = pipeline();
    scenario.consumers[0].processing = Some(ProcessingMode::ProcessThenCommit);
    scenario.consumers[0].producer = Some(Default::default());
    let problems = scenario.validate();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("output_topic applies to processing"));
    assert!(problems[1].contains("producer applies to processing"));
}

#[test]
fn pipeline_keys_without_a_group_are_refused() {
    let mut scenario = pipeline();
    scenario.consumers[0].config.group_id = None;
    scenario.consumers[0].processing = None;
    scenario.consumers[0].config.enable_auto_commit = true;
    let problems = scenario.validate();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("output_topic applies to group consumers only")),
        "{problems:?}"
    );
}
