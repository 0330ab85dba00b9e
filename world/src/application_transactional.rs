//! The transactional producer workload: Kafka's transactional producer loop. It calls
//! `initTransactions`, then, until its values run out, begins a transaction, sends
//! `transaction_records` values one every `interval_ms`, and commits it (or aborts it, every
//! `abort_every`-th). After an abortable error (a send or the commit failed) it aborts and
//! goes on; after a fatal one (fenced) it stops, as Kafka says to close the producer. A
//! process restart loses the open transaction, and the new instance calls
//! `initTransactions` again, fencing the old one, and goes on with new values.
//!
//! History (world/src/history.rs, `OpBody::Transaction`): the transaction's `Invoke` when
//! it begins; its completion once it ends: `Ok` when the commit was acknowledged, `Fail`
//! when it certainly did not commit (aborted, or the commit was never asked for or refused
//! before it could be written), `Info` when the commit may have been written (the producer
//! was fenced or crashed after asking for it). Each send is invoked when sent and completes
//! with the transaction, with the transaction's type (`Fail` if its own batch failed
//! definitely).

use crate::history::{OpBody, OpType, TransactionalSend};
use crate::transactional_send_outcome::transactional_send_outcome;
use std::collections::BTreeMap;
use watermark_broker_core::actor::Effect;
use watermark_broker_core::error::ErrorCode;
use watermark_broker_core::event::SendFailure;
use watermark_broker_core::ids::{Offset, TransactionalId};
use watermark_broker_core::producer::{Producer, TransactionOperation, TransactionState};
use watermark_broker_core::topic::TopicPartition;

/// Where the application is in its loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// A new producer instance: `initTransactions` is to be called.
    NeedsInit,
    /// Waiting for an operation to complete.
    Waiting(TransactionOperation),
    /// Between transactions.
    Ready,
    /// In a transaction, sending its values.
    Sending,
    /// A fatal error: the producer is closed, nothing more is sent.
    Stopped,
}

/// How one send of the open transaction ended, from its `SendCompleted`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SendOutcome {
    partition: TopicPartition,
    result: Result<Option<Offset>, SendFailure>,
}

/// The transaction in progress.
#[derive(Clone, Debug)]
struct OpenTransaction {
    number: u64,
    /// Values in send order.
    values: Vec<u64>,
    outcomes: BTreeMap<u64, SendOutcome>,
    /// The application asked to commit it (it may have aborted it afterwards).
    commit_asked: bool,
    /// The first error that made it fail.
    error: Option<ErrorCode>,
}

/// One entry for the history, pushed by the world with the client and the time.
pub type HistoryEntry = (OpType, OpBody);

/// What one step of the application did.
#[derive(Debug, Default)]
pub struct TransactionalWork {
    pub effects: Vec<Effect>,
    pub history: Vec<HistoryEntry>,
    /// The value it sent, if it sent one (the world numbers values).
    pub sent_value: Option<u64>,
    /// A line for the trace.
    pub note: Option<String>,
}

/// The transactional producer's application state; it survives process restarts.
#[derive(Clone, Debug)]
pub struct TransactionalApplication {
    transactional_id: TransactionalId,
    records_per_transaction: u64,
    abort_every: u64,
    phase: Phase,
    /// Transactions begun so far, across restarts.
    transactions_begun: u64,
    open: Option<OpenTransaction>,
    /// When the application next acts.
    pub next_action_ms: u64,
}

impl TransactionalApplication {
    pub fn new(
        transactional_id: String,
        records_per_transaction: u64,
        abort_every: u64,
        start_ms: u64,
    ) -> TransactionalApplication {
        TransactionalApplication {
            transactional_id: TransactionalId(transactional_id),
            records_per_transaction: records_per_transaction.max(1),
            abort_every,
            phase: Phase::NeedsInit,
            transactions_begun: 0,
            open: None,
            next_action_ms: start_ms,
        }
    }

    /// When it next has work of its own, with `remaining` values left to send.
    pub fn next_wake_ms(&self, remaining: u64) -> Option<u64> {
        match self.phase {
            Phase::NeedsInit | Phase::Sending => Some(self.next_action_ms),
            Phase::Ready if remaining > 0 => Some(self.next_action_ms),
            Phase::Ready | Phase::Waiting(_) | Phase::Stopped => None,
        }
    }

    /// Whether it stopped for good (fenced).
    pub fn stopped(&self) -> bool {
        self.phase == Phase::Stopped
    }

    /// Does the next piece of work due by `now_ms`, if any. `next_value` is the value a
    /// send would use; `remaining` how many the workload has left (decremented on a send).
    pub fn run(
        &mut self,
        now_ms: u64,
        producer: &mut Producer,
        next_value: u64,
        remaining: &mut u64,
        interval_ms: u64,
        key_space: Option<u64>,
    ) -> Option<TransactionalWork> {
        if self
            .next_wake_ms(*remaining)
            .is_none_or(|wake_ms| wake_ms > now_ms)
        {
            return None;
        }
        let mut work = TransactionalWork::default();
        match self.phase {
            Phase::NeedsInit => {
                self.phase = Phase::Waiting(TransactionOperation::InitTransactions);
                work.effects = producer.init_transactions(now_ms);
            }
            Phase::Ready => self.begin(producer, &mut work),
            Phase::Sending => {
                self.send_or_end(
                    now_ms,
                    producer,
                    next_value,
                    remaining,
                    interval_ms,
                    key_space,
                    &mut work,
                );
            }
            Phase::Waiting(_) | Phase::Stopped => return None,
        }
        Some(work)
    }

    fn begin(&mut self, producer: &mut Producer, work: &mut TransactionalWork) {
        if let Err(error) = producer.begin_transaction() {
            self.stop(error, work);
            return;
        }
        self.transactions_begun += 1;
        let number = self.transactions_begun;
        self.open = Some(OpenTransaction {
            number,
            values: Vec::new(),
            outcomes: BTreeMap::new(),
            commit_asked: false,
            error: None,
        });
        work.history
            .push((OpType::Invoke, self.transaction_body(self.open.as_ref())));
        self.phase = Phase::Sending;
    }

    #[allow(clippy::too_many_arguments)]
    fn send_or_end(
        &mut self,
        now_ms: u64,
        producer: &mut Producer,
        next_value: u64,
        remaining: &mut u64,
        interval_ms: u64,
        key_space: Option<u64>,
        work: &mut TransactionalWork,
    ) {
        let Some(open) = self.open.as_mut() else {
            self.phase = Phase::Ready;
            return;
        };
        match producer.transaction_state() {
            TransactionState::AbortableError => {
                self.phase = Phase::Waiting(TransactionOperation::AbortTransaction);
                work.effects = producer.abort_transaction(now_ms);
                return;
            }
            TransactionState::FatalError => {
                let error = open.error.unwrap_or(ErrorCode::ProducerFenced);
                self.stop(error, work);
                return;
            }
            _ => {}
        }
        let full = open.values.len() as u64 >= self.records_per_transaction;
        if full || *remaining == 0 {
            let abort = self.abort_every > 0 && open.number % self.abort_every == 0;
            if abort {
                self.phase = Phase::Waiting(TransactionOperation::AbortTransaction);
                work.effects = producer.abort_transaction(now_ms);
            } else {
                open.commit_asked = true;
                self.phase = Phase::Waiting(TransactionOperation::CommitTransaction);
                work.effects = producer.commit_transaction(now_ms);
            }
            return;
        }
        *remaining -= 1;
        open.values.push(next_value);
        let key = key_space.map(|key_space| next_value % key_space);
        work.effects = producer.send(now_ms, next_value, key);
        work.sent_value = Some(next_value);
        work.history.push((
            OpType::Invoke,
            OpBody::Send {
                value: next_value,
                partition: None,
                offset: None,
                error: None,
            },
        ));
        self.next_action_ms = now_ms + interval_ms.max(1);
    }

    /// A send of this producer completed (its batch did; the transaction decides later).
    pub fn on_send_completed(
        &mut self,
        value: u64,
        partition: TopicPartition,
        result: Result<Option<Offset>, SendFailure>,
    ) {
        if let Some(open) = self.open.as_mut() {
            if open.values.contains(&value) {
                if let Err(failure) = result {
                    open.error.get_or_insert(failure.error);
                }
                open.outcomes
                    .insert(value, SendOutcome { partition, result });
            }
        }
    }

    /// An operation of the producer completed. Returns what the history gets.
    pub fn on_operation_completed(
        &mut self,
        now_ms: u64,
        producer_state: TransactionState,
        operation: TransactionOperation,
        result: Result<(), ErrorCode>,
    ) -> TransactionalWork {
        let mut work = TransactionalWork::default();
        if self.phase != Phase::Waiting(operation) {
            return work;
        }
        self.next_action_ms = self.next_action_ms.max(now_ms);
        let fatal = producer_state == TransactionState::FatalError;
        match (operation, result) {
            (TransactionOperation::InitTransactions, Ok(())) => self.phase = Phase::Ready,
            (TransactionOperation::CommitTransaction, Ok(())) => {
                self.end_transaction(OpType::Ok, &mut work);
                self.phase = Phase::Ready;
            }
            (TransactionOperation::AbortTransaction, Ok(())) => {
                self.end_transaction(OpType::Fail, &mut work);
                self.phase = Phase::Ready;
            }
            (TransactionOperation::CommitTransaction, Err(error)) if !fatal => {
                // Abortable: the commit was refused before it could be written.
                if let Some(open) = self.open.as_mut() {
                    open.error.get_or_insert(error);
                }
                self.phase = Phase::Sending;
            }
            (_, Err(error)) => self.stop(error, &mut work),
            (TransactionOperation::SendOffsetsToTransaction, Ok(())) => {
                self.phase = Phase::Sending;
            }
        }
        work
    }

    /// The producer's process stopped: the open transaction is lost (the next instance's
    /// `initTransactions` aborts it) and a new instance must initialise.
    pub fn on_restart(&mut self, now_ms: u64) -> TransactionalWork {
        let mut work = TransactionalWork::default();
        // A new process is a new producer instance, even after the old one was fenced.
        self.end_lost_transaction(&mut work);
        self.phase = Phase::NeedsInit;
        self.next_action_ms = self.next_action_ms.max(now_ms);
        work
    }

    /// A fatal error: the open transaction ends as lost, and the application stops.
    fn stop(&mut self, error: ErrorCode, work: &mut TransactionalWork) {
        if let Some(open) = self.open.as_mut() {
            open.error.get_or_insert(error);
        }
        self.end_lost_transaction(work);
        self.phase = Phase::Stopped;
        work.note = Some(format!(
            "transactional producer {} stopped: {error}",
            self.transactional_id
        ));
    }

    /// The open transaction ends without an answer: it may have committed only if the
    /// commit was asked for.
    fn end_lost_transaction(&mut self, work: &mut TransactionalWork) {
        let commit_asked = self.open.as_ref().is_some_and(|open| open.commit_asked);
        let op_type = if commit_asked {
            OpType::Info
        } else {
            OpType::Fail
        };
        self.end_transaction(op_type, work);
    }

    /// Records the open transaction's completion and its sends' completions.
    fn end_transaction(&mut self, op_type: OpType, work: &mut TransactionalWork) {
        let Some(open) = self.open.take() else {
            return;
        };
        for value in &open.values {
            let outcome = open.outcomes.get(value);
            let failure = outcome.and_then(|outcome| outcome.result.err());
            let (send_type, error) = transactional_send_outcome(
                op_type,
                failure.map(|failure| (failure.error, failure.definite)),
                open.error,
            );
            let partition = outcome.map(|outcome| outcome.partition);
            let offset = outcome.and_then(|outcome| outcome.result.ok().flatten());
            work.history.push((
                send_type,
                OpBody::Send {
                    value: *value,
                    partition,
                    offset,
                    error,
                },
            ));
        }
        let body = self.transaction_body(Some(&open));
        work.history.push((op_type, body));
    }

    fn transaction_body(&self, open: Option<&OpenTransaction>) -> OpBody {
        let (number, sends, commit, error) = match open {
            Some(open) => (
                open.number,
                open.values
                    .iter()
                    .map(|value| {
                        let outcome = open.outcomes.get(value);
                        TransactionalSend {
                            value: *value,
                            source: None,
                            partition: outcome.map(|outcome| outcome.partition),
                            offset: outcome.and_then(|outcome| outcome.result.ok().flatten()),
                        }
                    })
                    .collect(),
                open.commit_asked,
                open.error,
            ),
            None => (0, Vec::new(), false, None),
        };
        OpBody::Transaction {
            transactional_id: self.transactional_id.clone(),
            number,
            sends,
            polls: Vec::new(),
            offsets: None,
            commit,
            error,
        }
    }
}
