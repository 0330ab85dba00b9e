use super::*;
use watermark_broker_core::ids::{GenerationId, LeaderEpoch, MemberId, PartitionId};
use watermark_broker_core::topic::TopicName;

/// Scripted clients: batches to poll, and a log of every call the loop makes.
#[derive(Default)]
struct ScriptedClients {
    batches: Vec<Vec<ConsumerRecord>>,
    calls: Vec<String>,
    joined: bool,
    begin_fails: bool,
}

impl PipelineClients for ScriptedClients {
    fn poll(&mut self, now_ms: u64) -> PollOutcome {
        self.calls.push(format!("poll@{now_ms}"));
        PollOutcome {
            records: if self.batches.is_empty() {
                Vec::new()
            } else {
                self.batches.remove(0)
            },
            effects: Vec::new(),
        }
    }
    fn has_records_for_poll(&self) -> bool {
        !self.batches.is_empty()
    }
    fn group_metadata(&self) -> Option<ConsumerGroupMetadata> {
        self.joined.then(|| ConsumerGroupMetadata {
            group: GroupId("g".into()),
            generation: GenerationId(3),
            member: MemberId("m".into()),
            group_instance_id: None,
        })
    }
    fn rewind_to_committed(&mut self) {
        self.calls.push("rewind".into());
    }
    fn init_transactions(&mut self, now_ms: u64) -> Vec<Effect> {
        self.calls.push(format!("init@{now_ms}"));
        Vec::new()
    }
    fn replace_producer(&mut self, now_ms: u64) -> Vec<Effect> {
        self.calls.push(format!("new producer@{now_ms}"));
        Vec::new()
    }
    fn begin_transaction(&mut self) -> Result<(), ErrorCode> {
        self.calls.push("begin".into());
        if self.begin_fails {
            Err(ErrorCode::ProducerFenced)
        } else {
            Ok(())
        }
    }
    fn send(&mut self, now_ms: u64, value: u64, key: Option<u64>) -> Vec<Effect> {
        self.calls
            .push(format!("send {value} key {key:?}@{now_ms}"));
        Vec::new()
    }
    fn send_offsets_to_transaction(
        &mut self,
        now_ms: u64,
        offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
        group: ConsumerGroupMetadata,
    ) -> Vec<Effect> {
        let offsets: Vec<String> = offsets
            .iter()
            .map(|(partition, position)| format!("{partition}={}", position.offset.0))
            .collect();
        self.calls.push(format!(
            "offsets {} gen {}@{now_ms}",
            offsets.join(","),
            group.generation.0
        ));
        Vec::new()
    }
    fn commit_transaction(&mut self, now_ms: u64) -> Vec<Effect> {
        self.calls.push(format!("commit@{now_ms}"));
        Vec::new()
    }
    fn abort_transaction(&mut self, now_ms: u64) -> Vec<Effect> {
        self.calls.push(format!("abort@{now_ms}"));
        Vec::new()
    }
}

fn input(partition: u32, offset: u64, value: u64) -> ConsumerRecord {
    ConsumerRecord {
        partition: TopicPartition::new(TopicName::from_static("in"), PartitionId(partition)),
        offset: Offset(offset),
        leader_epoch: LeaderEpoch(2),
        key: Some(value % 3),
        value,
    }
}

fn application() -> PipelineApplication {
    PipelineApplication::new(GroupId("g".into()), TransactionalId("t".into()), 10, 100, 0)
}

/// Runs everything due at `now_ms`; returns the history entries.
fn run_at(
    app: &mut PipelineApplication,
    clients: &mut ScriptedClients,
    now_ms: u64,
    next_value: &mut u64,
) -> Vec<PipelineHistory> {
    let mut history = Vec::new();
    let mut steps = 0;
    while let Some(work) = app.run(now_ms, clients, next_value) {
        history.extend(work.history);
        steps += 1;
        assert!(steps < 100, "the loop spins at {now_ms}");
    }
    history
}

/// Starts the loop and completes initTransactions at `at_ms`.
fn started(clients: &mut ScriptedClients, at_ms: u64) -> PipelineApplication {
    let mut app = application();
    app.start(0, clients);
    let work = app.operation_completed(
        at_ms,
        TransactionOperation::InitTransactions,
        Ok(()),
        clients,
    );
    assert!(work.history.is_empty());
    app
}

/// Scripted clients with one batch of one record (value 40) to poll, in a joined group.
fn one_record() -> ScriptedClients {
    ScriptedClients {
        batches: vec![vec![input(0, 0, 40)]],
        joined: true,
        ..ScriptedClients::default()
    }
}

/// Starts the loop, polls the batch at 0 and transforms it (records every 10 ms), up to
/// `sendOffsetsToTransaction`.
fn transformed(clients: &mut ScriptedClients, until_ms: u64) -> PipelineApplication {
    let mut app = started(clients, 0);
    let mut next_value = 1;
    for now_ms in (0..=until_ms).step_by(10) {
        run_at(&mut app, clients, now_ms, &mut next_value);
    }
    app
}

/// As [`transformed`], with the offsets accepted at 25: the commit is asked for.
fn committing(clients: &mut ScriptedClients) -> PipelineApplication {
    let mut app = transformed(clients, 20);
    app.operation_completed(
        25,
        TransactionOperation::SendOffsetsToTransaction,
        Ok(()),
        clients,
    );
    app
}

fn ended(history: &[PipelineHistory]) -> &EndedTransaction {
    history
        .iter()
        .find_map(|entry| match entry {
            PipelineHistory::Ended(ended) => Some(ended),
            _ => None,
        })
        .expect("the transaction ended")
}

#[test]
fn a_polled_batch_is_transformed_offset_committed_and_committed_in_one_transaction() {
    let mut clients = ScriptedClients {
        batches: vec![vec![input(0, 4, 40), input(1, 7, 41), input(0, 5, 42)]],
        joined: true,
        ..ScriptedClients::default()
    };
    let mut app = started(&mut clients, 5);
    assert_eq!(app.next_wake_ms(), Some(5), "it polls once initialised");
    let mut next_value = 1000;
    let mut history = run_at(&mut app, &mut clients, 5, &mut next_value);
    for now_ms in [15, 25, 35, 45] {
        history.extend(run_at(&mut app, &mut clients, now_ms, &mut next_value));
    }
    assert_eq!(
        clients.calls,
        [
            "init@0",
            "poll@5",
            "begin",
            "send 1000 key Some(1)@15",
            "send 1001 key Some(2)@25",
            "send 1002 key Some(0)@35",
            "offsets in-0=6,in-1=8 gen 3@45",
        ]
    );
    assert_eq!(
        app.next_wake_ms(),
        None,
        "blocked in sendOffsetsToTransaction"
    );
    let work = app.operation_completed(
        50,
        TransactionOperation::SendOffsetsToTransaction,
        Ok(()),
        &mut clients,
    );
    assert!(work.history.is_empty());
    assert_eq!(clients.calls.last().unwrap(), "commit@50");
    app.send_completed(1000, input(0, 0, 0).partition, Ok(Some(Offset(9))));
    let work = app.operation_completed(
        60,
        TransactionOperation::CommitTransaction,
        Ok(()),
        &mut clients,
    );
    history.extend(work.history);
    assert_eq!(history[0], PipelineHistory::Began { number: 1 });
    assert_eq!(history[1], PipelineHistory::SendInvoked { value: 1000 });
    let ended = ended(&history);
    assert_eq!(ended.op_type, OpType::Ok);
    assert!(ended.commit);
    assert_eq!(
        ended
            .sends
            .iter()
            .map(|send| (send.value, send.source))
            .collect::<Vec<_>>(),
        [(1000, Some(40)), (1001, Some(41)), (1002, Some(42))]
    );
    assert_eq!(ended.sends[0].offset, Some(Offset(9)));
    assert_eq!(ended.send_outcomes, vec![(OpType::Ok, None); 3]);
    let offsets = ended.offsets.as_ref().expect("offsets committed with it");
    assert_eq!(offsets.generation, GenerationId(3));
    assert_eq!(offsets.offsets.len(), 2);
    assert_eq!(ended.polls.len(), 2, "polls grouped per partition");
    assert_eq!(ended.polls[0].1, vec![(Offset(4), 40), (Offset(5), 42)]);
    assert_eq!(app.next_wake_ms(), Some(60), "it polls on");
}

#[test]
fn an_abortable_commit_error_aborts_rewinds_and_records_a_failed_transaction() {
    let mut clients = one_record();
    let mut app = committing(&mut clients);
    let work = app.operation_completed(
        30,
        TransactionOperation::CommitTransaction,
        Err(OperationFailure::Abortable(ErrorCode::TransactionAbortable)),
        &mut clients,
    );
    assert!(work.history.is_empty(), "the outcome waits for the abort");
    assert_eq!(clients.calls.last().unwrap(), "abort@30");
    let work = app.operation_completed(
        40,
        TransactionOperation::AbortTransaction,
        Ok(()),
        &mut clients,
    );
    assert!(clients.calls.contains(&"rewind".to_string()));
    assert_eq!(work.history.last(), Some(&PipelineHistory::Rewound));
    let ended = ended(&work.history);
    assert_eq!(ended.op_type, OpType::Fail);
    assert_eq!(ended.error, Some(ErrorCode::TransactionAbortable));
    assert_eq!(ended.send_outcomes[0].0, OpType::Fail);
}

#[test]
fn a_fatal_error_after_the_commit_was_asked_for_is_indefinite_and_a_new_producer_starts_over() {
    let mut clients = one_record();
    let mut app = committing(&mut clients);
    let work = app.operation_completed(
        30,
        TransactionOperation::CommitTransaction,
        Err(OperationFailure::Fatal(ErrorCode::ProducerFenced)),
        &mut clients,
    );
    assert_eq!(ended(&work.history).op_type, OpType::Info);
    assert_eq!(work.history.last(), Some(&PipelineHistory::Rewound));
    assert!(!app.is_closed());
    assert_eq!(
        clients.calls[clients.calls.len() - 3..],
        ["rewind", "new producer@30", "init@30"]
    );
    // The new instance's initTransactions completes: the loop polls again.
    app.operation_completed(
        31,
        TransactionOperation::InitTransactions,
        Ok(()),
        &mut clients,
    );
    assert_eq!(app.next_wake_ms(), Some(31));
}

#[test]
fn a_fatal_error_before_the_commit_fails_the_transaction_definitely() {
    let mut clients = one_record();
    let mut app = transformed(&mut clients, 20);
    let work = app.operation_completed(
        25,
        TransactionOperation::SendOffsetsToTransaction,
        Err(OperationFailure::Fatal(ErrorCode::ProducerFenced)),
        &mut clients,
    );
    let ended = ended(&work.history);
    assert_eq!(ended.op_type, OpType::Fail);
    assert!(!ended.commit);
}

#[test]
fn a_process_stop_mid_transaction_fails_it_unless_its_commit_was_sent() {
    let mut clients = ScriptedClients {
        batches: vec![vec![input(0, 0, 40)], vec![input(0, 1, 41)]],
        joined: true,
        ..ScriptedClients::default()
    };
    let mut app = started(&mut clients, 0);
    let mut next_value = 1;
    run_at(&mut app, &mut clients, 0, &mut next_value);
    assert_eq!(ended(&app.end_unknown(5).history).op_type, OpType::Fail);

    let mut app = started(&mut clients, 0);
    for now_ms in [0, 10, 20] {
        run_at(&mut app, &mut clients, now_ms, &mut next_value);
    }
    app.operation_completed(
        25,
        TransactionOperation::SendOffsetsToTransaction,
        Ok(()),
        &mut clients,
    );
    assert_eq!(ended(&app.end_unknown(30).history).op_type, OpType::Info);
}

#[test]
fn a_definitely_failed_send_is_a_failed_write_even_in_an_indefinite_transaction() {
    let mut clients = ScriptedClients {
        batches: vec![vec![input(0, 0, 40), input(0, 1, 41)]],
        joined: true,
        ..ScriptedClients::default()
    };
    let mut app = started(&mut clients, 0);
    let mut next_value = 1;
    for now_ms in [0, 10, 20, 30] {
        run_at(&mut app, &mut clients, now_ms, &mut next_value);
    }
    let partition = input(0, 0, 0).partition;
    app.send_completed(1, partition, Err((ErrorCode::NotEnoughReplicas, true)));
    app.send_completed(2, partition, Err((ErrorCode::RequestTimedOut, false)));
    app.operation_completed(
        35,
        TransactionOperation::SendOffsetsToTransaction,
        Ok(()),
        &mut clients,
    );
    let ended = ended(&app.end_unknown(40).history).clone();
    assert_eq!(ended.op_type, OpType::Info);
    assert_eq!(
        ended.send_outcomes,
        [
            (OpType::Fail, Some(ErrorCode::NotEnoughReplicas)),
            (OpType::Info, Some(ErrorCode::RequestTimedOut))
        ]
    );
}

#[test]
fn without_a_generation_the_polled_batch_is_aborted_not_committed() {
    let mut clients = ScriptedClients {
        batches: vec![vec![input(0, 0, 40)]],
        joined: false,
        ..ScriptedClients::default()
    };
    let mut app = started(&mut clients, 0);
    let mut next_value = 1;
    for now_ms in [0, 10, 20] {
        run_at(&mut app, &mut clients, now_ms, &mut next_value);
    }
    assert_eq!(clients.calls.last().unwrap(), "abort@20");
}

#[test]
fn a_producer_that_cannot_begin_closes_the_loop() {
    let mut clients = ScriptedClients {
        batches: vec![vec![input(0, 0, 40)]],
        joined: true,
        begin_fails: true,
        ..ScriptedClients::default()
    };
    let mut app = started(&mut clients, 0);
    let history = run_at(&mut app, &mut clients, 0, &mut 1);
    assert!(history.is_empty());
    assert!(app.is_closed());
}

#[test]
fn a_completion_the_loop_does_not_wait_for_changes_nothing() {
    let mut clients = ScriptedClients::default();
    let mut app = started(&mut clients, 0);
    let work = app.operation_completed(
        1,
        TransactionOperation::CommitTransaction,
        Ok(()),
        &mut clients,
    );
    assert!(work.history.is_empty());
    assert_eq!(app.next_wake_ms(), Some(0), "still polling");
}

#[test]
fn an_empty_poll_waits_the_poll_timeout() {
    let mut clients = ScriptedClients::default();
    let mut app = started(&mut clients, 0);
    run_at(&mut app, &mut clients, 0, &mut 1);
    assert_eq!(app.next_wake_ms(), Some(100));
}

#[test]
fn a_failed_init_or_abort_that_leaves_the_producer_usable_is_called_again() {
    let mut clients = ScriptedClients {
        batches: vec![vec![input(0, 0, 40)]],
        joined: true,
        ..ScriptedClients::default()
    };
    let mut app = application();
    app.start(0, &mut clients);
    app.operation_completed(
        5,
        TransactionOperation::InitTransactions,
        Err(OperationFailure::Abortable(ErrorCode::RequestTimedOut)),
        &mut clients,
    );
    assert_eq!(clients.calls, ["init@0", "init@5"]);
    app.operation_completed(
        6,
        TransactionOperation::InitTransactions,
        Ok(()),
        &mut clients,
    );
    let mut next_value = 1;
    for now_ms in [6, 16, 26] {
        run_at(&mut app, &mut clients, now_ms, &mut next_value);
    }
    app.operation_completed(
        30,
        TransactionOperation::SendOffsetsToTransaction,
        Err(OperationFailure::Abortable(ErrorCode::IllegalGeneration)),
        &mut clients,
    );
    app.operation_completed(
        40,
        TransactionOperation::AbortTransaction,
        Err(OperationFailure::Abortable(ErrorCode::RequestTimedOut)),
        &mut clients,
    );
    assert_eq!(
        &clients.calls[clients.calls.len() - 2..],
        ["abort@30", "abort@40"]
    );
    let work = app.operation_completed(
        50,
        TransactionOperation::AbortTransaction,
        Ok(()),
        &mut clients,
    );
    let ended = ended(&work.history);
    assert_eq!(ended.op_type, OpType::Fail);
    assert_eq!(
        ended.error,
        Some(ErrorCode::IllegalGeneration),
        "the first error is kept"
    );
}
