//! A group consumer's application: the poll loop of one processing mode, the worker of
//! `auto-commit-worker`, and the processing of each record for its simulated time. It is a
//! state machine the world steps like an actor: `run` does the next piece of work that is
//! due and hands back the consumer's effects and the records whose processing completed
//! (for the sink); `next_wake_ms` says when more is due. It lives as long as the consumer's
//! process: a restart starts a fresh one (new processor, empty worker queue), and a record
//! whose processing a crash cut short is never written.

use crate::processing::{ProcessingMode, RecordProcessor};
use crate::sink::Sink;
use std::collections::{BTreeMap, VecDeque};
use watermark_broker_core::actor::Effect;
use watermark_broker_core::consumer::{CommitKind, Consumer, ConsumerRecord, PollOutcome};
use watermark_broker_core::event::CommitId;
use watermark_broker_core::ids::{GenerationId, GroupId, Offset};
use watermark_broker_core::topic::TopicPartition;

/// What the application calls on its consumer (`Consumer`'s application API); a trait so the
/// loop can be tested against a scripted consumer.
pub trait GroupClient {
    fn poll(&mut self, now_ms: u64) -> PollOutcome;
    fn has_records_for_poll(&self) -> bool;
    fn commit(
        &mut self,
        now_ms: u64,
        offsets: Option<Vec<(TopicPartition, Offset)>>,
        kind: CommitKind,
    ) -> (CommitId, Vec<Effect>);
}

impl GroupClient for Consumer {
    fn poll(&mut self, now_ms: u64) -> PollOutcome {
        Consumer::poll(self, now_ms)
    }

    fn has_records_for_poll(&self) -> bool {
        Consumer::has_records_for_poll(self)
    }

    fn commit(
        &mut self,
        now_ms: u64,
        offsets: Option<Vec<(TopicPartition, Offset)>>,
        kind: CommitKind,
    ) -> (CommitId, Vec<Effect>) {
        Consumer::commit(self, now_ms, offsets, kind)
    }
}

/// What one piece of work produced.
#[derive(Debug, Default)]
pub struct AppWork {
    /// The consumer's effects, for the world to execute.
    pub effects: Vec<Effect>,
    /// Records whose processing completed and whose result goes to the sink.
    pub written: Vec<ConsumerRecord>,
}

/// A record being processed, and when that ends.
#[derive(Clone, Copy, Debug)]
struct InProgress {
    record: ConsumerRecord,
    done_ms: u64,
    writes: bool,
}

/// What the loop does after a synchronous commit succeeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterCommit {
    /// Process the batch it committed (commit-then-process).
    ProcessBatch,
    /// Poll again (process-then-commit).
    Poll,
}

/// Where the poll loop is.
#[derive(Clone, Copy, Debug)]
enum LoopState {
    /// Waiting in `poll`: it returns at `at_ms`, or as soon as records are ready.
    Polling { at_ms: u64 },
    /// Processing the batch's records, one at a time (`None`: between two records).
    Processing(Option<InProgress>),
    /// Blocked in `commitSync` until the consumer reports the commit's outcome.
    Committing { commit: CommitId, then: AfterCommit },
}

/// The slow-processing fault: records started before `until_ms` take `processing_ms`.
#[derive(Clone, Copy, Debug)]
struct Slowdown {
    processing_ms: u64,
    until_ms: u64,
}

/// One group consumer's application.
pub struct ConsumerApplication {
    pub group: GroupId,
    mode: ProcessingMode,
    processing_ms: u64,
    poll_timeout_ms: u64,
    processor: Box<dyn RecordProcessor>,
    state: LoopState,
    /// The records of the last poll not yet processed (or, committing first, committed).
    batch: VecDeque<ConsumerRecord>,
    /// The positions to commit after the batch (process-then-commit).
    batch_positions: Vec<(TopicPartition, Offset)>,
    /// The worker's queue and the record it is on (auto-commit-worker).
    worker_queue: VecDeque<ConsumerRecord>,
    worker: Option<InProgress>,
    slowdown: Option<Slowdown>,
    /// When it last polled: records becoming ready wake a waiting poll, but never twice in
    /// one millisecond (a consumer that says records are ready and returns none would spin).
    polled_at_ms: Option<u64>,
    /// The generation and assignment the application was last told of (callbacks).
    pub generation: GenerationId,
    pub assignment: Vec<TopicPartition>,
}

impl ConsumerApplication {
    pub fn new(
        group: GroupId,
        mode: ProcessingMode,
        processing_ms: u64,
        poll_timeout_ms: u64,
        processor: Box<dyn RecordProcessor>,
        start_ms: u64,
    ) -> ConsumerApplication {
        ConsumerApplication {
            group,
            mode,
            processing_ms,
            poll_timeout_ms,
            processor,
            state: LoopState::Polling { at_ms: start_ms },
            batch: VecDeque::new(),
            batch_positions: Vec::new(),
            worker_queue: VecDeque::new(),
            worker: None,
            slowdown: None,
            polled_at_ms: None,
            generation: GenerationId::NONE,
            assignment: Vec::new(),
        }
    }

    /// The slow-processing fault: records started from now until `until_ms` take
    /// `processing_ms` each.
    pub fn slow_down(&mut self, processing_ms: u64, until_ms: u64) {
        self.slowdown = Some(Slowdown {
            processing_ms,
            until_ms,
        });
    }

    /// When the application next has work of its own (a poll timing out, a record
    /// finishing). Records arriving for a waiting poll are the world's to notice
    /// (`has_records_for_poll`).
    pub fn next_wake_ms(&self) -> Option<u64> {
        let looping = match self.state {
            LoopState::Polling { at_ms } => Some(at_ms),
            LoopState::Processing(Some(current)) => Some(current.done_ms),
            LoopState::Processing(None) => Some(0),
            LoopState::Committing { .. } => None,
        };
        let working = match (self.worker, self.worker_queue.is_empty()) {
            (Some(current), _) => Some(current.done_ms),
            (None, false) => Some(0),
            (None, true) => None,
        };
        [looping, working].into_iter().flatten().min()
    }

    /// Whether everything polled has been processed and no commit is awaited.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, LoopState::Polling { .. })
            && self.batch.is_empty()
            && self.worker.is_none()
            && self.worker_queue.is_empty()
    }

    /// The consumer reported how commit `commit` ended. A commit the loop is not blocked on
    /// (an auto-commit) changes nothing.
    pub fn commit_completed(&mut self, commit: CommitId, accepted: bool, now_ms: u64) {
        let LoopState::Committing {
            commit: awaited,
            then,
        } = self.state
        else {
            return;
        };
        if awaited != commit {
            return;
        }
        self.state = match (then, accepted) {
            (AfterCommit::ProcessBatch, true) => LoopState::Processing(None),
            // The batch was not committed: commit-then-process never processes what it did
            // not commit first, so it drops the batch and polls on (see DECISIONS.md).
            (AfterCommit::ProcessBatch, false) => {
                self.batch.clear();
                LoopState::Polling { at_ms: now_ms }
            }
            (AfterCommit::Poll, _) => LoopState::Polling { at_ms: now_ms },
        };
    }

    /// Does the next piece of work due at `now_ms`; `None` when nothing is due.
    pub fn run(
        &mut self,
        now_ms: u64,
        client: &mut dyn GroupClient,
        sink: &Sink,
    ) -> Option<AppWork> {
        if let Some(work) = self.run_worker(now_ms, sink) {
            return Some(work);
        }
        match self.state {
            LoopState::Polling { at_ms }
                if at_ms <= now_ms
                    || (self.polled_at_ms != Some(now_ms) && client.has_records_for_poll()) =>
            {
                Some(self.poll(now_ms, client))
            }
            LoopState::Processing(Some(current)) if current.done_ms <= now_ms => {
                self.state = LoopState::Processing(None);
                Some(AppWork {
                    effects: Vec::new(),
                    written: written(current),
                })
            }
            LoopState::Processing(None) => Some(self.next_in_batch(now_ms, client, sink)),
            _ => None,
        }
    }

    fn poll(&mut self, now_ms: u64, client: &mut dyn GroupClient) -> AppWork {
        self.polled_at_ms = Some(now_ms);
        let PollOutcome {
            records,
            mut effects,
        } = client.poll(now_ms);
        if records.is_empty() {
            self.state = LoopState::Polling {
                at_ms: now_ms + self.poll_timeout_ms,
            };
            return AppWork {
                effects,
                written: Vec::new(),
            };
        }
        let positions = positions_after(&records);
        match self.mode {
            ProcessingMode::CommitThenProcess => {
                self.batch.extend(records);
                let (commit, committed) = client.commit(now_ms, Some(positions), CommitKind::Sync);
                effects.extend(committed);
                self.state = LoopState::Committing {
                    commit,
                    then: AfterCommit::ProcessBatch,
                };
            }
            ProcessingMode::ProcessThenCommit | ProcessingMode::AutoCommit => {
                self.batch.extend(records);
                self.batch_positions = positions;
                self.state = LoopState::Processing(None);
            }
            // The world runs `PipelineApplication` for this mode, never this loop.
            ProcessingMode::ConsumeTransformProduce => {
                unreachable!("consume-transform-produce runs application_pipeline.rs")
            }
            ProcessingMode::AutoCommitWorker => {
                // Handed over; the loop polls on at once, as `executor.submit` returns.
                self.worker_queue.extend(records);
                self.state = LoopState::Polling { at_ms: now_ms };
            }
        }
        AppWork {
            effects,
            written: Vec::new(),
        }
    }

    /// Starts the batch's next record, or ends the batch (committing it in
    /// process-then-commit).
    fn next_in_batch(&mut self, now_ms: u64, client: &mut dyn GroupClient, sink: &Sink) -> AppWork {
        if let Some(record) = self.batch.pop_front() {
            let current = self.start(record, now_ms, sink);
            self.state = LoopState::Processing(Some(current));
            return AppWork::default();
        }
        if self.mode != ProcessingMode::ProcessThenCommit {
            self.state = LoopState::Polling { at_ms: now_ms };
            return AppWork::default();
        }
        let positions = std::mem::take(&mut self.batch_positions);
        let (commit, effects) = client.commit(now_ms, Some(positions), CommitKind::Sync);
        self.state = LoopState::Committing {
            commit,
            then: AfterCommit::Poll,
        };
        AppWork {
            effects,
            written: Vec::new(),
        }
    }

    /// The worker finishes its record or takes the next one from its queue.
    fn run_worker(&mut self, now_ms: u64, sink: &Sink) -> Option<AppWork> {
        match self.worker {
            Some(current) if current.done_ms <= now_ms => {
                self.worker = None;
                Some(AppWork {
                    effects: Vec::new(),
                    written: written(current),
                })
            }
            Some(_) => None,
            None => {
                let record = self.worker_queue.pop_front()?;
                self.worker = Some(self.start(record, now_ms, sink));
                Some(AppWork::default())
            }
        }
    }

    fn start(&mut self, record: ConsumerRecord, now_ms: u64, sink: &Sink) -> InProgress {
        let processing_ms = match self.slowdown {
            Some(slowdown) if now_ms < slowdown.until_ms => slowdown.processing_ms,
            _ => self.processing_ms,
        };
        let processed = self
            .processor
            .process(&self.group.0, &record, sink, processing_ms);
        InProgress {
            record,
            done_ms: now_ms + processed.duration_ms,
            writes: processed.writes,
        }
    }
}

fn written(current: InProgress) -> Vec<ConsumerRecord> {
    if current.writes {
        vec![current.record]
    } else {
        Vec::new()
    }
}

/// Per partition, the position after the batch's last record there (what a commit of the
/// batch commits), in partition order.
fn positions_after(records: &[ConsumerRecord]) -> Vec<(TopicPartition, Offset)> {
    let mut positions: BTreeMap<TopicPartition, Offset> = BTreeMap::new();
    for record in records {
        let next = record.offset.next();
        let position = positions.entry(record.partition).or_insert(next);
        *position = (*position).max(next);
    }
    positions.into_iter().collect()
}

#[cfg(test)]
#[path = "application_consumer_tests.rs"]
mod tests;
