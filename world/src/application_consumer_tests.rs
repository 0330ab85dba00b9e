use super::*;
use crate::processing::{Processed, WriteEveryRecord};
use watermark_broker_core::ids::{LeaderEpoch, PartitionId};
use watermark_broker_core::topic::TopicName;

/// A consumer that returns scripted batches and records every commit asked of it.
#[derive(Default)]
struct ScriptedConsumer {
    batches: VecDeque<Vec<ConsumerRecord>>,
    polls_ms: Vec<u64>,
    commits: Vec<Vec<(TopicPartition, Offset)>>,
    ready: bool,
}

impl GroupClient for ScriptedConsumer {
    fn poll(&mut self, now_ms: u64) -> PollOutcome {
        self.polls_ms.push(now_ms);
        PollOutcome {
            records: self.batches.pop_front().unwrap_or_default(),
            effects: Vec::new(),
        }
    }

    fn has_records_for_poll(&self) -> bool {
        self.ready
    }

    fn commit(
        &mut self,
        _now_ms: u64,
        offsets: Option<Vec<(TopicPartition, Offset)>>,
        kind: CommitKind,
    ) -> (CommitId, Vec<Effect>) {
        assert_eq!(
            kind,
            CommitKind::Sync,
            "the application commits synchronously"
        );
        self.commits
            .push(offsets.expect("the application names its offsets"));
        (CommitId(self.commits.len() as u64), Vec::new())
    }
}

fn record(partition: u32, offset: u64, value: u64) -> ConsumerRecord {
    ConsumerRecord {
        partition: TopicPartition::new(TopicName::from_static("events"), PartitionId(partition)),
        offset: Offset(offset),
        leader_epoch: LeaderEpoch(0),
        key: None,
        value,
    }
}

fn application(mode: ProcessingMode) -> ConsumerApplication {
    ConsumerApplication::new(
        GroupId("g".into()),
        mode,
        10,
        100,
        Box::new(WriteEveryRecord),
        0,
    )
}

/// Runs everything due at `now_ms`; returns the values written.
fn run_at(app: &mut ConsumerApplication, consumer: &mut ScriptedConsumer, now_ms: u64) -> Vec<u64> {
    let sink = Sink::default();
    let mut values = Vec::new();
    let mut steps = 0;
    while let Some(work) = app.run(now_ms, consumer, &sink) {
        values.extend(work.written.iter().map(|record| record.value));
        steps += 1;
        assert!(steps < 100, "the application spins at {now_ms}");
    }
    values
}

#[test]
fn process_then_commit_processes_each_record_for_its_time_then_commits_the_batch() {
    let mut app = application(ProcessingMode::ProcessThenCommit);
    let mut consumer = ScriptedConsumer::default();
    consumer
        .batches
        .push_back(vec![record(0, 4, 40), record(1, 2, 20)]);
    assert_eq!(run_at(&mut app, &mut consumer, 0), Vec::<u64>::new());
    assert_eq!(app.next_wake_ms(), Some(10));
    assert_eq!(run_at(&mut app, &mut consumer, 10), vec![40]);
    assert!(consumer.commits.is_empty(), "nothing committed mid-batch");
    assert_eq!(run_at(&mut app, &mut consumer, 20), vec![20]);
    let events = TopicName::from_static("events");
    assert_eq!(
        consumer.commits,
        vec![vec![
            (TopicPartition::new(events, PartitionId(0)), Offset(5)),
            (TopicPartition::new(events, PartitionId(1)), Offset(3)),
        ]]
    );
    // Blocked in commitSync: no poll until the outcome.
    assert_eq!(app.next_wake_ms(), None);
    assert_eq!(run_at(&mut app, &mut consumer, 500), Vec::<u64>::new());
    assert_eq!(consumer.polls_ms, vec![0]);
    app.commit_completed(CommitId(1), false, 500);
    run_at(&mut app, &mut consumer, 500);
    assert_eq!(
        consumer.polls_ms,
        vec![0, 500],
        "a failed commit still polls on"
    );
}

#[test]
fn commit_then_process_commits_before_processing_and_drops_a_batch_it_could_not_commit() {
    let mut app = application(ProcessingMode::CommitThenProcess);
    let mut consumer = ScriptedConsumer::default();
    consumer.batches.push_back(vec![record(0, 0, 1)]);
    consumer.batches.push_back(vec![record(0, 1, 2)]);
    run_at(&mut app, &mut consumer, 0);
    assert_eq!(consumer.commits.len(), 1);
    assert_eq!(run_at(&mut app, &mut consumer, 50), Vec::<u64>::new());
    app.commit_completed(CommitId(1), true, 50);
    run_at(&mut app, &mut consumer, 50);
    assert_eq!(run_at(&mut app, &mut consumer, 60), vec![1]);
    // The second batch's commit fails: it is never processed.
    assert_eq!(consumer.commits.len(), 2);
    app.commit_completed(CommitId(2), false, 70);
    run_at(&mut app, &mut consumer, 70);
    assert_eq!(run_at(&mut app, &mut consumer, 1_000), Vec::<u64>::new());
    assert!(app.is_idle());
}

#[test]
fn an_unrelated_commit_outcome_does_not_unblock_the_loop() {
    let mut app = application(ProcessingMode::CommitThenProcess);
    let mut consumer = ScriptedConsumer::default();
    consumer.batches.push_back(vec![record(0, 0, 1)]);
    run_at(&mut app, &mut consumer, 0);
    app.commit_completed(CommitId(99), true, 5);
    assert_eq!(run_at(&mut app, &mut consumer, 100), Vec::<u64>::new());
    assert!(!app.is_idle());
}

#[test]
fn auto_commit_processes_in_the_loop_and_never_commits_by_hand() {
    let mut app = application(ProcessingMode::AutoCommit);
    let mut consumer = ScriptedConsumer::default();
    consumer
        .batches
        .push_back(vec![record(0, 0, 1), record(0, 1, 2)]);
    run_at(&mut app, &mut consumer, 0);
    assert_eq!(run_at(&mut app, &mut consumer, 10), vec![1]);
    assert_eq!(run_at(&mut app, &mut consumer, 20), vec![2]);
    assert_eq!(
        consumer.polls_ms,
        vec![0, 20],
        "polls again once the batch is done"
    );
    assert!(consumer.commits.is_empty());
    // An empty poll waits poll_timeout_ms.
    assert_eq!(app.next_wake_ms(), Some(120));
}

#[test]
fn the_worker_processes_while_the_loop_polls_on() {
    let mut app = application(ProcessingMode::AutoCommitWorker);
    let mut consumer = ScriptedConsumer::default();
    consumer
        .batches
        .push_back(vec![record(0, 0, 1), record(0, 1, 2)]);
    consumer.batches.push_back(vec![record(0, 2, 3)]);
    run_at(&mut app, &mut consumer, 0);
    assert_eq!(
        consumer.polls_ms,
        vec![0, 0, 0],
        "three polls before any processing ends"
    );
    assert_eq!(run_at(&mut app, &mut consumer, 10), vec![1]);
    assert_eq!(run_at(&mut app, &mut consumer, 20), vec![2]);
    assert!(!app.is_idle());
    assert_eq!(run_at(&mut app, &mut consumer, 30), vec![3]);
    assert!(app.is_idle());
}

#[test]
fn records_ready_wake_a_waiting_poll_once_per_millisecond() {
    let mut app = application(ProcessingMode::AutoCommit);
    let mut consumer = ScriptedConsumer::default();
    run_at(&mut app, &mut consumer, 0);
    consumer.ready = true;
    run_at(&mut app, &mut consumer, 30);
    assert_eq!(consumer.polls_ms, vec![0, 30]);
}

#[test]
fn slow_processing_applies_to_records_started_before_its_end() {
    let mut app = application(ProcessingMode::AutoCommit);
    app.slow_down(1_000, 5);
    let mut consumer = ScriptedConsumer::default();
    consumer
        .batches
        .push_back(vec![record(0, 0, 1), record(0, 1, 2)]);
    run_at(&mut app, &mut consumer, 0);
    assert_eq!(app.next_wake_ms(), Some(1_000));
    assert_eq!(run_at(&mut app, &mut consumer, 1_000), vec![1]);
    assert_eq!(
        app.next_wake_ms(),
        Some(1_010),
        "the next record is back to normal"
    );
}

/// Writes only even values.
struct WriteEvenValues;

impl RecordProcessor for WriteEvenValues {
    fn process(
        &mut self,
        _group: &str,
        record: &ConsumerRecord,
        _sink: &Sink,
        processing_ms: u64,
    ) -> Processed {
        Processed {
            duration_ms: processing_ms,
            writes: record.value.is_multiple_of(2),
        }
    }
}

#[test]
fn the_processor_decides_what_is_written() {
    let mut app = ConsumerApplication::new(
        GroupId("g".into()),
        ProcessingMode::AutoCommit,
        0,
        100,
        Box::new(WriteEvenValues),
        0,
    );
    let mut consumer = ScriptedConsumer::default();
    consumer
        .batches
        .push_back(vec![record(0, 0, 1), record(0, 1, 2)]);
    assert_eq!(run_at(&mut app, &mut consumer, 0), vec![2]);
}
