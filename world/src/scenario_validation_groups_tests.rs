use crate::processing::ProcessingMode;
use crate::scenario::Scenario;
use watermark_broker_core::ids::PartitionId;
use watermark_broker_core::offsets_topic::CONSUMER_OFFSETS_TOPIC;

/// A runnable scenario whose consumer is in group `g` with `mode`.
fn grouped(mode: ProcessingMode) -> Scenario {
    let mut scenario = Scenario {
        name: "x".to_string(),
        ..Scenario::default()
    };
    let consumer = &mut scenario.consumers[0];
    consumer.config.group_id = Some("g".into());
    consumer.processing = Some(mode);
    consumer.config.enable_auto_commit = mode.uses_auto_commit();
    scenario
}

fn only_problem(scenario: &Scenario) -> String {
    let problems = scenario.validate();
    assert_eq!(problems.len(), 1, "{problems:?}");
    problems[0].clone()
}

#[test]
fn every_mode_with_its_auto_commit_setting_is_accepted() {
    for mode in [
        ProcessingMode::CommitThenProcess,
        ProcessingMode::ProcessThenCommit,
        ProcessingMode::AutoCommit,
        ProcessingMode::AutoCommitWorker,
    ] {
        assert_eq!(grouped(mode).validate(), Vec::<String>::new(), "{mode:?}");
    }
}

#[test]
fn a_manual_mode_with_kafkas_default_auto_commit_is_refused() {
    let mut scenario = grouped(ProcessingMode::ProcessThenCommit);
    scenario.consumers[0].config.enable_auto_commit = true;
    let problem = only_problem(&scenario);
    assert!(
        problem.starts_with(
            "consumers[0].config.enable_auto_commit: processing = \"process-then-commit\""
        ),
        "{problem}"
    );
    assert!(problem.contains("(Kafka's default)"), "{problem}");
    assert!(
        problem.contains("allowed: enable_auto_commit = false"),
        "{problem}"
    );
}

#[test]
fn an_auto_commit_mode_without_auto_commit_is_refused_even_when_implied() {
    let mut scenario = grouped(ProcessingMode::AutoCommit);
    scenario.consumers[0].processing = None;
    scenario.consumers[0].config.enable_auto_commit = false;
    let problem = only_problem(&scenario);
    assert!(
        problem.contains("processing (absent: \"auto-commit\") relies on auto-commit"),
        "{problem}"
    );
}

#[test]
fn application_keys_without_a_group_are_refused_each() {
    let mut scenario = grouped(ProcessingMode::AutoCommit);
    let consumer = &mut scenario.consumers[0];
    consumer.config.group_id = None;
    consumer.processing_ms = Some(5);
    let problems = scenario.validate();
    assert_eq!(
        problems,
        vec![
            "consumers[0].processing: processing applies to group consumers only and \
             consumers[0] has no config.group_id; allowed: set config.group_id, or remove \
             processing",
            "consumers[0].processing_ms: processing_ms applies to group consumers only and \
             consumers[0] has no config.group_id; allowed: set config.group_id, or remove \
             processing_ms",
        ]
    );
}

#[test]
fn a_group_consumer_with_partitions_is_refused() {
    let mut scenario = grouped(ProcessingMode::AutoCommit);
    scenario.consumers[0].partitions = vec![PartitionId(0)];
    assert!(only_problem(&scenario).starts_with("consumers[0].partitions: "));
}

#[test]
fn group_timeouts_kafka_refuses_are_refused() {
    let mut scenario = grouped(ProcessingMode::AutoCommit);
    scenario.consumers[0].config.heartbeat_interval_ms = 45_000;
    assert!(only_problem(&scenario).starts_with("consumers[0].config.heartbeat_interval_ms: "));
    let mut scenario = grouped(ProcessingMode::AutoCommit);
    scenario.consumers[0].config.session_timeout_ms = 5_000;
    scenario.consumers[0].config.heartbeat_interval_ms = 1_000;
    let problem = only_problem(&scenario);
    assert!(problem.ends_with("allowed: 6000..=1800000"), "{problem}");
}

#[test]
fn a_shared_instance_id_and_an_empty_poll_timeout_are_refused() {
    let mut scenario = grouped(ProcessingMode::AutoCommit);
    scenario.consumers[0].config.group_instance_id = Some("i".into());
    scenario.consumers.push(scenario.consumers[0].clone());
    assert!(only_problem(&scenario).starts_with("consumers[1].config.group_instance_id: "));
    let mut scenario = grouped(ProcessingMode::AutoCommit);
    scenario.consumers[0].poll_timeout_ms = Some(0);
    assert!(only_problem(&scenario).starts_with("consumers[0].poll_timeout_ms: "));
}

#[test]
fn the_offsets_topic_must_fit_the_cluster_only_with_a_group() {
    let mut scenario = grouped(ProcessingMode::AutoCommit);
    scenario.brokers = 1;
    for topic in &mut scenario.topics {
        topic.replication_factor = 1;
        topic.min_insync_replicas = 1;
    }
    let problem = only_problem(&scenario);
    assert!(
        problem.starts_with("broker.offsets_topic_replication_factor: offsets_topic_replication_factor = 3 is more than brokers = 1"),
        "{problem}"
    );
    scenario.consumers[0].config.group_id = None;
    scenario.consumers[0].processing = None;
    assert_eq!(scenario.validate(), Vec::<String>::new());
}

#[test]
fn the_cluster_gets_the_offsets_topic_only_with_a_group() {
    let grouped = grouped(ProcessingMode::AutoCommit);
    let names: Vec<String> = grouped
        .cluster_topics()
        .iter()
        .map(|topic| topic.name.to_string())
        .collect();
    assert_eq!(
        names,
        vec!["events".to_string(), CONSUMER_OFFSETS_TOPIC.to_string()]
    );
    let plain = Scenario::default();
    assert_eq!(plain.cluster_topics(), plain.topics);
    assert!(grouped.consumer_assignment(0).is_empty());
    assert_eq!(grouped.subscribed_partitions(0).len(), 1);
}
