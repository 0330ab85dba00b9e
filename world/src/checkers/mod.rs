//! The checkers, one file per property. Client-history checkers read the [`History`] and the
//! final state of the replicas; replica-state checkers watch every broker and controller
//! event as it happens and look at the replicas' logs through a [`ClusterView`].

use crate::history::History;
use crate::violation::Violation;
pub use accepted_commits::{AcceptedCommit, CoordinatorLog};
pub use final_transactions::{
    data_records as final_data_records, read_committed_consumers, FinalTransactions,
};
pub use group_history::{group_reads, GroupReads};
pub use registry::{Checker, CheckerInfo, CheckerKind, GuaranteeEffect, REGISTRY};
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{BrokerId, GroupId, NodeId, Offset};
use watermark_broker_core::replica_view::ReplicaView;
use watermark_broker_core::topic::TopicPartition;

/// What the replicas hold at the end of the run, after the liveness phase.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FinalState {
    /// Per partition, the committed log of the final leader: every data record below its
    /// high watermark, in offset order, as (offset, value). Control records (transaction
    /// markers) are left out, as every consumer leaves them out; their offsets are in
    /// `transactions`. Records of aborted and open transactions are in.
    pub logs: BTreeMap<TopicPartition, Vec<(Offset, u64)>>,
    /// Per partition of `logs` that holds any transactional record: its control records and
    /// which data records a `read_committed` reader never sees (`final_transactions.rs`).
    /// A partition absent here has none.
    pub transactions: BTreeMap<TopicPartition, FinalTransactions>,
    /// The consumers configured with `isolation_level = read_committed`: their polls are
    /// read_committed reads. (Only polls name consumers, so a producer sharing the number
    /// is never taken for one.)
    pub read_committed_consumers: BTreeSet<ClientId>,
    /// Every partition some consumer is assigned (consumers never change assignment): the
    /// partitions whose acknowledged values the application should have read (`unseen`).
    pub assigned_partitions: BTreeSet<TopicPartition>,
    /// The simulated time the final state was read.
    pub time_ms: u64,
    /// Per consumer group of the scenario: what it reads and what its processing promises.
    pub groups: BTreeMap<GroupId, GroupReads>,
    /// Every offset commit a group coordinator accepted, in order.
    pub accepted_commits: Vec<AcceptedCommit>,
    /// Per partition whose records a `delete-records` fault deleted, the offset they were
    /// deleted below (the largest log start offset of any replica). A value acknowledged or
    /// polled below it is not lost, nor owed to a consumer (docs/DECISIONS.md).
    pub log_start_offsets: BTreeMap<TopicPartition, Offset>,
}

impl FinalState {
    /// Whether `offset` of `partition` is below the offset a DeleteRecords deleted to: its
    /// record was removed on purpose, and no checker may count it as lost or unread.
    pub fn was_deleted(&self, partition: TopicPartition, offset: Offset) -> bool {
        self.log_start_offsets
            .get(&partition)
            .is_some_and(|log_start_offset| offset < *log_start_offset)
    }

    /// Whether the data record at `offset` of `partition`'s final log is visible to a
    /// `read_committed` reader: not of an aborted transaction, nor of one still open.
    pub fn is_committed_visible(&self, partition: TopicPartition, offset: Offset) -> bool {
        self.transactions
            .get(&partition)
            .is_none_or(|transactions| transactions.is_committed_visible(offset))
    }

    /// The records of `partition`'s final log a `read_committed` reader sees, in offset
    /// order (empty for a partition absent from the final state).
    pub fn committed_visible(
        &self,
        partition: TopicPartition,
    ) -> impl Iterator<Item = &(Offset, u64)> + '_ {
        self.logs
            .get(&partition)
            .into_iter()
            .flatten()
            .filter(move |(offset, _)| self.is_committed_visible(partition, *offset))
    }

    /// Whether `consumer`'s polls are read_committed reads.
    pub fn reads_committed(&self, consumer: ClientId) -> bool {
        self.read_committed_consumers.contains(&consumer)
    }
}

/// Read access to every live replica and to the controller's metadata, for replica-state
/// checkers.
pub trait ClusterView {
    /// Brokers whose process is up, ascending.
    fn live_brokers(&self) -> Vec<BrokerId>;
    /// The state of `broker`'s replica of `partition`, if the broker is up and hosts it.
    fn replica(&self, broker: BrokerId, partition: TopicPartition) -> Option<ReplicaView<'_>>;
    /// The ISR in the controller's newest metadata image (the TLA+ specification's "true
    /// ISR", `quorumState.isr`), or `None` before the partition exists.
    fn controller_isr(&self, partition: TopicPartition) -> Option<&[BrokerId]>;
    /// The effective `min.insync.replicas` of the partition's topic: the setting capped by
    /// the replication factor, as the leader applies it (KAFKA-15583).
    fn min_insync_replicas(&self, partition: TopicPartition) -> Option<usize>;
    /// Whether `broker` takes part in replication as its current process: up, registered
    /// with the controller in this incarnation, and acting on a metadata image received
    /// since. A restarted broker (which may have lost unflushed records) is not judged as an
    /// ISR member before then.
    fn is_in_service(&self, broker: BrokerId) -> bool;
}

pub mod aborted_read;
pub mod accepted_commits;
pub mod acks_all_on_min_insync;
pub mod commit_past_processed;
pub mod committed_offset_backwards;
pub mod duplicate;
pub mod duplicate_consume;
pub mod duplicate_process;
pub mod fenced_commit_accepted;
pub mod final_log_loss;
mod final_transactions;
mod group_history;
pub mod high_watermark_committed;
pub mod inconsistent_offsets;
pub mod int_nonmonotonic_poll;
pub mod int_nonmonotonic_send;
pub mod int_poll_skip;
pub mod int_send_skip;
pub mod leader_in_isr;
pub mod log_matching;
pub mod lost_write;
pub mod monotonic_high_watermark;
pub mod no_committed_record_lost;
pub mod nonmonotonic_poll;
pub mod nonmonotonic_send;
pub mod pipeline_exactly_once;
pub mod poll_skip;
mod poll_steps;
pub mod precommitted_read;
pub mod registry;
mod replica_compare;
pub mod replica_divergence;
mod send_steps;
pub mod single_leader_per_epoch;
pub mod strong_isr;
pub mod transaction_atomicity;
mod transaction_history;
pub mod unprocessed;
pub mod unseen;
mod version_order;
pub mod weak_isr;

#[cfg(test)]
mod deleted_records_tests;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
pub(crate) mod txn_test_support;

use crate::history::{OpBody, OpType};
use watermark_broker_core::ids::ClientId;
use watermark_broker_core::record::Record;

/// The client-history checkers, in the fixed order they run and report.
pub const CLIENT_CHECKERS: [Checker; 21] = [
    Checker::LostWrite,
    Checker::Duplicate,
    Checker::InconsistentOffsets,
    Checker::Unseen,
    Checker::NonmonotonicSend,
    Checker::PollSkip,
    Checker::NonmonotonicPoll,
    Checker::DuplicateConsume,
    Checker::FinalLogLoss,
    Checker::G1a,
    Checker::IntPollSkip,
    Checker::IntNonmonotonicPoll,
    Checker::Unprocessed,
    Checker::DuplicateProcess,
    Checker::PrecommittedRead,
    Checker::IntSendSkip,
    Checker::IntNonmonotonicSend,
    Checker::TransactionAtomicity,
    Checker::PipelineMissingOutput,
    Checker::PipelineDuplicateOutput,
    Checker::PipelineOutputWithoutOffsets,
];
/// The group-commit checkers, in the fixed order they run and report (after the client ones).
pub const GROUP_COMMIT_CHECKERS: [Checker; 3] = [
    Checker::CommittedOffsetBackwards,
    Checker::CommitPastProcessed,
    Checker::FencedCommitAccepted,
];
/// The replica-state checkers, in the fixed order they report.
pub const REPLICA_CHECKERS: [Checker; 10] = [
    Checker::LeaderInIsr,
    Checker::SingleLeaderPerEpoch,
    Checker::MonotonicHighWatermark,
    Checker::LogMatching,
    Checker::StrongIsr,
    Checker::NoCommittedRecordLost,
    Checker::WeakIsr,
    Checker::ReplicaDivergence,
    Checker::AcksAllOnMinInsync,
    Checker::HighWatermarkCommitted,
];

/// Runs every client-history checker, in [`CLIENT_CHECKERS`] order, over one digest of the
/// history and one version order per partition (`version_order.rs`), both built once, then
/// the [`GROUP_COMMIT_CHECKERS`] over the commits the coordinators accepted. Within a
/// checker the violations are sorted by (partition, offset, value), exact repeats dropped.
/// Every violation is kept: the text report groups them into offset ranges, and `--json`
/// lists each.
pub fn check_history(history: &History, final_state: &FinalState) -> Vec<Violation> {
    check_history_selected(history, final_state, |_| true)
}

/// Runs [`check_history`]'s checkers for which `selected` says yes, the same way and in the
/// same order, and no other: `watermark check-history` leaves out the checkers an imported
/// history lacks the evidence for (`history_file.rs`).
pub fn check_history_selected(
    history: &History,
    final_state: &FinalState,
    selected: impl Fn(Checker) -> bool,
) -> Vec<Violation> {
    let observations = Observations::from_history(history);
    let orders = version_order::VersionOrders::build(&observations, final_state);
    let groups = group_history::GroupHistory::from_history(history, final_state);
    let accepted = &final_state.accepted_commits;
    // The three pipeline checkers judge one reading of the pipeline together.
    let pipeline = pipeline_exactly_once::check(&observations, final_state);
    let of_pipeline = |checker: Checker| {
        pipeline
            .iter()
            .filter(|violation| violation.checker == checker)
            .cloned()
            .collect()
    };
    let mut violations = Vec::new();
    for checker in CLIENT_CHECKERS.into_iter().chain(GROUP_COMMIT_CHECKERS) {
        if !selected(checker) {
            continue;
        }
        let found = match checker {
            lost_write::NAME => lost_write::check(&observations, &orders, final_state),
            duplicate::NAME => duplicate::check(&orders),
            inconsistent_offsets::NAME => inconsistent_offsets::check(&orders),
            unseen::NAME => unseen::check(&observations, final_state),
            nonmonotonic_send::NAME => nonmonotonic_send::check(&observations, &orders),
            poll_skip::NAME => poll_skip::check(&observations, &orders, final_state),
            nonmonotonic_poll::NAME => nonmonotonic_poll::check(&observations, &orders),
            duplicate_consume::NAME => duplicate_consume::check(&observations),
            final_log_loss::NAME => final_log_loss::check(&observations, final_state),
            aborted_read::NAME => aborted_read::check(&observations, final_state),
            int_poll_skip::NAME => int_poll_skip::check(&observations, &orders),
            int_nonmonotonic_poll::NAME => int_nonmonotonic_poll::check(&observations, &orders),
            unprocessed::NAME => unprocessed::check(&observations, &groups, final_state),
            duplicate_process::NAME => duplicate_process::check(&groups),
            precommitted_read::NAME => precommitted_read::check(&observations),
            int_send_skip::NAME => int_send_skip::check(&observations, &orders),
            int_nonmonotonic_send::NAME => int_nonmonotonic_send::check(&observations, &orders),
            transaction_atomicity::NAME => transaction_atomicity::check(&observations, final_state),
            pipeline_exactly_once::MISSING
            | pipeline_exactly_once::DUPLICATE
            | pipeline_exactly_once::WITHOUT_OFFSETS => of_pipeline(checker),
            committed_offset_backwards::NAME => committed_offset_backwards::check(accepted),
            commit_past_processed::NAME => {
                commit_past_processed::check(accepted, &groups, final_state)
            }
            fenced_commit_accepted::NAME => fenced_commit_accepted::check(accepted),
            other => unreachable!("`{other}` is not judged on the history"),
        };
        violations.extend(sort_and_dedup(checker, found));
    }
    violations
}

/// Sorts violations into the deterministic report order: (checker order, partition, offset,
/// value), then the remaining fields so that ties are broken the same way on every run.
pub fn sort_violations(violations: &mut [Violation]) {
    violations.sort_by(|left, right| {
        let key = |violation: &Violation| {
            (
                violation.checker,
                violation.partition,
                violation.offsets.first().copied(),
                violation.values.first().copied(),
            )
        };
        key(left)
            .cmp(&key(right))
            .then_with(|| left.offsets.cmp(&right.offsets))
            .then_with(|| left.values.cmp(&right.values))
            .then_with(|| left.time_ms.cmp(&right.time_ms))
            .then_with(|| left.description.cmp(&right.description))
    });
}

/// Sorts one checker's violations and drops exact repeats.
fn sort_and_dedup(checker: Checker, mut violations: Vec<Violation>) -> Vec<Violation> {
    debug_assert!(violations
        .iter()
        .all(|violation| violation.checker == checker));
    sort_violations(&mut violations);
    violations.dedup();
    violations
}

// ---------------------------------------------------------------------------------------------
// What the client-history checkers read: the history, digested once.
// ---------------------------------------------------------------------------------------------

/// A send that completed: `Ok` (written), `Fail` (definitely not written) or `Info` (may or
/// may not have been written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CompletedSend {
    pub value: u64,
    /// The producer.
    pub client: ClientId,
    /// `Ok`, `Fail` or `Info`.
    pub op_type: OpType,
    /// From the completion, or from the invocation when the completion does not say.
    pub partition: Option<TopicPartition>,
    /// The offset the producer was told, if any (`None` for acks=0 and for failures).
    pub offset: Option<Offset>,
    /// The history index of the send's invocation (of the completion when no invocation was
    /// recorded), which orders sends by when they were invoked.
    pub invoke_index: usize,
    /// When the completion arrived.
    pub time_ms: u64,
}

/// One `Ok` poll operation: the records of one partition handed to the application at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PollOperation {
    /// The consumer.
    pub client: ClientId,
    pub partition: TopicPartition,
    /// (offset, value), in the order the application received them.
    pub records: Vec<(Offset, u64)>,
    pub time_ms: u64,
}

/// One record a consumer handed to the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PolledRecord {
    /// The consumer.
    pub client: ClientId,
    pub partition: TopicPartition,
    pub offset: Offset,
    pub value: u64,
    pub time_ms: u64,
}

/// The history, digested once for all client checkers.
#[derive(Clone, Debug, Default)]
pub(crate) struct Observations {
    /// Every completed send (`Ok`, `Fail`, `Info`), in completion order.
    pub sends: Vec<CompletedSend>,
    /// Every `Ok` poll operation, in history order.
    pub polls: Vec<PollOperation>,
    /// Every polled record, in the order the application received them.
    pub polled: Vec<PolledRecord>,
    /// Jepsen's `reads-by-type` for `:ok`: per partition, every value an `Ok` poll read, with
    /// the time it was first read.
    pub read: BTreeMap<TopicPartition, BTreeMap<u64, u64>>,
    /// Jepsen's `writer-of`: each value's completed send, as an index into `sends` (values are
    /// unique within a run, so one value has one send).
    writer_index: BTreeMap<u64, usize>,
    /// Every group consumer's assignment change (`OpBody::Assign`), in history order.
    pub assignment_changes: Vec<AssignmentChange>,
    /// The consumers in subscribe mode: every client with an assignment change. (A group
    /// consumer polls only after its first assignment.)
    pub group_clients: BTreeSet<ClientId>,
    /// Every completed transaction (`Ok`, `Fail`, `Info`), in completion order.
    pub transactions: Vec<transaction_history::CompletedTransaction>,
}

/// A group consumer's assignment changed: Jepsen's `:subscribe` completion, with its
/// rebalance log. See `poll_steps.rs` for what it resets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AssignmentChange {
    pub client: ClientId,
    /// How many `Ok` poll operations came before it in the history.
    pub polls_before: usize,
    /// The partitions it kept through the change: in its new assignment and not revoked.
    pub kept: BTreeSet<TopicPartition>,
}

impl Observations {
    pub fn from_history(history: &History) -> Observations {
        // Values are unique within a run, so a value identifies its send's invocation even
        // when a producer has several sends in flight.
        let mut invocations: BTreeMap<u64, (usize, Option<TopicPartition>)> = BTreeMap::new();
        let mut observations = Observations::default();
        for operation in &history.operations {
            match (&operation.body, operation.op_type) {
                (
                    OpBody::Send {
                        value, partition, ..
                    },
                    OpType::Invoke,
                ) => {
                    invocations
                        .entry(*value)
                        .or_insert((operation.index, *partition));
                }
                (
                    OpBody::Send {
                        value,
                        partition,
                        offset,
                        ..
                    },
                    op_type,
                ) => {
                    let invocation = invocations.get(value).copied();
                    observations
                        .writer_index
                        .insert(*value, observations.sends.len());
                    observations.sends.push(CompletedSend {
                        value: *value,
                        client: operation.client,
                        op_type,
                        partition: partition.or(invocation.and_then(|(_, partition)| partition)),
                        offset: *offset,
                        invoke_index: invocation.map_or(operation.index, |(index, _)| index),
                        time_ms: operation.time_ms,
                    });
                }
                (OpBody::Poll { partition, records }, OpType::Ok) => {
                    observations.add_poll(PollOperation {
                        client: operation.client,
                        partition: *partition,
                        records: records.clone(),
                        time_ms: operation.time_ms,
                    });
                }
                // Polls are recorded as `Ok` only; anything else carries no records to judge.
                (OpBody::Poll { .. }, _) => {}
                (
                    OpBody::Assign {
                        assignment,
                        revoked,
                        ..
                    },
                    OpType::Ok,
                ) => {
                    observations.group_clients.insert(operation.client);
                    observations.assignment_changes.push(AssignmentChange {
                        client: operation.client,
                        polls_before: observations.polls.len(),
                        kept: assignment
                            .iter()
                            .filter(|partition| !revoked.contains(partition))
                            .copied()
                            .collect(),
                    });
                }
                // Processing and commits are the group checkers' to judge (`group_history.rs`,
                // `accepted_commits.rs`); assignments are recorded as `Ok` only.
                (OpBody::Process { .. } | OpBody::Commit { .. } | OpBody::Assign { .. }, _) => {}
                // Transactions are judged by the transaction checkers; their sends are also
                // recorded as `Send` operations, judged above.
                (OpBody::Transaction { .. }, OpType::Invoke) => {}
                (
                    OpBody::Transaction {
                        transactional_id,
                        number,
                        sends,
                        polls,
                        offsets,
                        ..
                    },
                    op_type,
                ) => {
                    observations
                        .transactions
                        .push(transaction_history::CompletedTransaction {
                            client: operation.client,
                            op_type,
                            transactional_id: transactional_id.clone(),
                            number: *number,
                            sends: sends.clone(),
                            polls: polls.clone(),
                            offsets: offsets.clone(),
                            time_ms: operation.time_ms,
                        });
                }
            }
        }
        observations
    }

    fn add_poll(&mut self, poll: PollOperation) {
        let read = self.read.entry(poll.partition).or_default();
        for (offset, value) in &poll.records {
            read.entry(*value).or_insert(poll.time_ms);
            self.polled.push(PolledRecord {
                client: poll.client,
                partition: poll.partition,
                offset: *offset,
                value: *value,
                time_ms: poll.time_ms,
            });
        }
        self.polls.push(poll);
    }

    /// The sends that completed `Ok`, in completion order.
    pub fn acked_sends(&self) -> impl Iterator<Item = &CompletedSend> {
        self.sends.iter().filter(|send| send.op_type == OpType::Ok)
    }

    /// Whether an `Ok` poll of `partition` read `value`.
    pub fn was_read(&self, partition: TopicPartition, value: u64) -> bool {
        self.read
            .get(&partition)
            .is_some_and(|values| values.contains_key(&value))
    }

    /// Jepsen's `must-have-committed?`: the send completed `Ok`, or completed `Info` and an
    /// `Ok` poll of its partition read its value (else that poll would be an aborted read).
    pub fn must_have_committed(&self, send: &CompletedSend) -> bool {
        match send.op_type {
            OpType::Ok => true,
            OpType::Info => send
                .partition
                .is_some_and(|partition| self.was_read(partition, send.value)),
            OpType::Fail | OpType::Invoke => false,
        }
    }

    /// The completed send of `value`, if one was recorded.
    pub fn writer_of(&self, value: u64) -> Option<&CompletedSend> {
        self.writer_index
            .get(&value)
            .map(|index| &self.sends[*index])
    }
}

/// The record at `offset` in a replica's records (which are in offset order), if it holds one.
pub(crate) fn record_at(records: &[Record], offset: Offset) -> Option<&Record> {
    records
        .binary_search_by_key(&offset, |record| record.offset)
        .ok()
        .map(|index| &records[index])
}

/// The records with offsets in `[from, to)`.
pub(crate) fn records_in(records: &[Record], from: Offset, to: Offset) -> &[Record] {
    let start = records.partition_point(|record| record.offset < from);
    let end = records.partition_point(|record| record.offset < to);
    &records[start..end.max(start)]
}

/// Formats a list of broker ids the way the trace does: `{1,2,3}`.
pub(crate) fn broker_set(brokers: &[BrokerId]) -> String {
    let ids: Vec<String> = brokers.iter().map(|broker| broker.0.to_string()).collect();
    format!("{{{}}}", ids.join(","))
}

// ---------------------------------------------------------------------------------------------
// The replica-state checkers, watching every event as it happens.
// ---------------------------------------------------------------------------------------------

/// Every replica-state checker, fed each broker and controller event in order. Each checker
/// keeps only what it needs to judge the next event, so observing an event costs time in
/// proportion to the event (a high-watermark advance compares just the newly committed
/// records, an append its first record's predecessor), except on leadership and ISR
/// membership changes (`BecameLeader`, `BecameFollower`, `LeaderElected`, `IsrAltered`, a
/// grown `IsrUpdated`) and in [`ReplicaCheckers::finish`], which compare whole logs.
#[derive(Debug, Default)]
pub struct ReplicaCheckers {
    leader_in_isr: leader_in_isr::LeaderInIsr,
    single_leader_per_epoch: single_leader_per_epoch::SingleLeaderPerEpoch,
    monotonic_high_watermark: monotonic_high_watermark::MonotonicHighWatermark,
    log_matching: log_matching::LogMatching,
    strong_isr: strong_isr::StrongIsr,
    no_committed_record_lost: no_committed_record_lost::NoCommittedRecordLost,
    weak_isr: weak_isr::WeakIsr,
    replica_divergence: replica_divergence::ReplicaDivergence,
    acks_all_on_min_insync: acks_all_on_min_insync::AcksAllOnMinInsync,
    high_watermark_committed: high_watermark_committed::HighWatermarkCommitted,
    /// Every partition any event named, so `finish` knows which replicas to compare.
    partitions: BTreeSet<TopicPartition>,
}

impl ReplicaCheckers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Called for every Event effect of every node (brokers and the controller), in order,
    /// right after that node's handle() returned; `cluster` shows every live replica as it is
    /// now.
    pub fn observe(
        &mut self,
        time_ms: u64,
        node: NodeId,
        event: &Event,
        cluster: &dyn ClusterView,
    ) -> Vec<Violation> {
        if let Some(partition) = event_partition(event) {
            self.partitions.insert(partition);
        }
        let mut found = Vec::new();
        self.leader_in_isr
            .observe(time_ms, node, event, cluster, &mut found);
        self.single_leader_per_epoch
            .observe(time_ms, node, event, &mut found);
        self.monotonic_high_watermark
            .observe(time_ms, node, event, &mut found);
        self.log_matching
            .observe(time_ms, node, event, cluster, &mut found);
        self.strong_isr
            .observe(time_ms, node, event, cluster, &mut found);
        self.no_committed_record_lost
            .observe(time_ms, node, event, cluster, &mut found);
        self.weak_isr
            .observe(time_ms, node, event, cluster, &mut found);
        self.acks_all_on_min_insync
            .observe(time_ms, node, event, cluster, &mut found);
        self.high_watermark_committed
            .observe(time_ms, node, event, cluster, &mut found);
        sort_and_dedup_batch(found)
    }

    /// Called when a broker process dies (crash or power loss): per-incarnation state for it
    /// resets.
    pub fn broker_stopped(&mut self, broker: BrokerId) {
        self.monotonic_high_watermark.broker_stopped(broker);
    }

    /// Called once at the end, after the liveness phase: compares the live replicas with each
    /// other and with what was committed.
    pub fn finish(&mut self, time_ms: u64, cluster: &dyn ClusterView) -> Vec<Violation> {
        let mut found = Vec::new();
        self.log_matching
            .finish(time_ms, &self.partitions, cluster, &mut found);
        self.no_committed_record_lost
            .finish(time_ms, &self.partitions, cluster, &mut found);
        self.replica_divergence
            .finish(time_ms, &self.partitions, cluster, &mut found);
        let found = sort_and_dedup_batch(found);
        // In the fixed checker order.
        REPLICA_CHECKERS
            .iter()
            .flat_map(|checker| {
                found
                    .iter()
                    .filter(move |violation| violation.checker == *checker)
                    .cloned()
            })
            .collect()
    }
}

/// Sorts a batch of findings and drops exact repeats.
fn sort_and_dedup_batch(mut found: Vec<Violation>) -> Vec<Violation> {
    sort_violations(&mut found);
    found.dedup();
    found
}

/// The partition an event is about, if any.
fn event_partition(event: &Event) -> Option<TopicPartition> {
    match event {
        Event::LogRecovered { partition, .. }
        | Event::BecameLeader { partition, .. }
        | Event::BecameFollower { partition, .. }
        | Event::RecordsAppended { partition, .. }
        | Event::LogTruncated { partition, .. }
        | Event::HighWatermarkUpdated { partition, .. }
        | Event::IsrUpdated { partition, .. }
        | Event::ProduceAnswered { partition, .. }
        | Event::LeaderElected { partition, .. }
        | Event::IsrAltered { partition, .. }
        | Event::SendCompleted { partition, .. }
        | Event::Polled { partition, .. }
        | Event::PositionReset { partition, .. }
        | Event::PositionFromCommitted { partition, .. }
        | Event::GroupsLoaded { partition, .. }
        | Event::GroupsUnloaded { partition, .. }
        | Event::TxnMarkerAppended { partition, .. }
        | Event::LastStableOffsetAdvanced { partition, .. }
        | Event::AbortedRecordsSkipped { partition, .. } => Some(*partition),
        Event::TransactionsLoaded { partition, .. }
        | Event::TransactionsUnloaded { partition, .. } => Some(*partition),
        Event::TxnOffsetsCommittedByMarker { partition, .. }
        | Event::TxnOffsetsAbortedByMarker { partition, .. } => Some(*partition),
        Event::TransactionVerificationSent { partition, .. }
        | Event::TransactionVerificationRefused { partition, .. }
        | Event::TransactionOpenedWithoutVerification { partition, .. } => Some(*partition),
        Event::LogStartOffsetIncremented { partition, .. } => Some(*partition),
        Event::IsrShrinkProposed { partition, .. }
        | Event::IsrExpandProposed { partition, .. }
        | Event::HighWatermarkComputed { partition, .. }
        | Event::PartitionChangeStarted { partition, .. }
        | Event::DivergenceFound { partition, .. }
        | Event::HighWatermarkHeld { partition, .. } => Some(*partition),
        Event::BrokerFenceReasoned { .. } => None,
        Event::LogTruncatedFully { partition, .. }
        | Event::DeleteRecordsAnswered { partition, .. } => Some(*partition),
        Event::BrokerRegistered { .. }
        | Event::BrokerFenced { .. }
        | Event::GroupStateChanged { .. }
        | Event::GroupMemberRemoved { .. }
        | Event::OffsetCommitAnswered { .. }
        | Event::PartitionsRevoked { .. }
        | Event::PartitionsAssigned { .. }
        | Event::OffsetCommitStarted { .. }
        | Event::OffsetCommitCompleted { .. }
        | Event::GroupLoaded { .. }
        | Event::ProducerIdBlockReceived { .. }
        | Event::TransactionStateChanged { .. }
        | Event::TransactionMarkersSent { .. }
        | Event::TxnOffsetCommitAnswered { .. } => None,
        Event::TransactionOperationCompleted { .. }
        | Event::TransactionCoordinatorFound { .. }
        | Event::TransactionalProducerEpoch { .. } => None,
    }
}

/// Whether `broker` is up and leads `partition` right now.
pub(crate) fn is_leader(
    cluster: &dyn ClusterView,
    broker: BrokerId,
    partition: TopicPartition,
) -> bool {
    cluster.replica(broker, partition).is_some_and(|replica| {
        replica.role == watermark_broker_core::replica_view::ReplicaRole::Leader
    })
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use watermark_broker_core::event::Event;

    #[test]
    fn client_violations_come_in_checker_order_then_partition_offset_value() {
        let mut history = HistoryBuilder::new();
        // Missing from the final logs of partitions 1 and 0 and never read (no poll reached
        // them, so Jepsen's lost-write cannot say), and one record handed over twice at the
        // same offset inside one poll: a duplicate consume and an internal nonmonotonic poll,
        // but not a stored duplicate.
        history.send_ok(1, 1, 21, Some(0), 10);
        history.send_ok(1, 0, 11, Some(3), 11);
        history.send_ok(1, 0, 10, Some(2), 12);
        history.poll(2, 0, &[(0, 1), (0, 1)], 20);
        let final_state = final_logs(&[(0, &[(0, 1)]), (1, &[])]);

        let violations = check_history(&history.build(), &final_state);
        let summary: Vec<_> = violations
            .iter()
            .map(|violation| {
                (
                    violation.checker.name(),
                    violation.partition,
                    violation.values.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("unseen", Some(p(0)), vec![10]),
                ("unseen", Some(p(0)), vec![11]),
                ("unseen", Some(p(1)), vec![21]),
                ("nonmonotonic-send", Some(p(0)), vec![11, 10]),
                ("duplicate-consume", Some(p(0)), vec![1]),
                ("final-log-loss", Some(p(0)), vec![10]),
                ("final-log-loss", Some(p(0)), vec![11]),
                ("final-log-loss", Some(p(1)), vec![21]),
                ("int-nonmonotonic-poll", Some(p(0)), vec![1, 1]),
            ]
        );
        // Checking twice gives the same report.
        assert_eq!(check_history(&history.build(), &final_state), violations);
    }

    #[test]
    fn every_replica_violation_is_reported_and_none_is_a_summary() {
        let cluster = FakeCluster::new(&[1]);
        let mut checkers = ReplicaCheckers::new();
        let mut reported = Vec::new();
        let became_leader = Event::BecameLeader {
            partition: p(0),
            leader_epoch: watermark_broker_core::ids::LeaderEpoch(1),
            isr: vec![b(1)],
            log_end_offset: o(0),
        };
        reported.extend(checkers.observe(0, NodeId::Broker(b(1)), &became_leader, &cluster));
        for step in 0..30u64 {
            let backwards = Event::HighWatermarkUpdated {
                partition: p(0),
                from: o(100 + step),
                to: o(step),
            };
            let found = checkers.observe(step, NodeId::Broker(b(1)), &backwards, &cluster);
            reported.extend(only(&found, "MonotonicHighWatermark"));
        }
        assert_eq!(reported.len(), 30);
        assert!(reported
            .iter()
            .all(|violation| violation.partition == Some(p(0))));
        let finished = only(&checkers.finish(1_000, &cluster), "MonotonicHighWatermark");
        assert!(finished.is_empty(), "{finished:?}");
    }

    #[test]
    fn a_fifty_thousand_operation_clean_history_raises_no_alarm() {
        let mut history = HistoryBuilder::new();
        let mut log = Vec::new();
        for value in 0..25_000u64 {
            let partition = (value % 4) as u32;
            let offset = value / 4;
            history.send_ok(1 + partition, partition, value, Some(offset), value);
            log.push((partition, offset, value));
        }
        for partition in 0..4u32 {
            let records: Vec<(u64, u64)> = log
                .iter()
                .filter(|(holder, _, _)| *holder == partition)
                .map(|(_, offset, value)| (*offset, *value))
                .collect();
            for chunk in records.chunks(100) {
                history.poll(10, partition, chunk, 30_000);
            }
        }
        let mut final_state = FinalState::default();
        for (partition, offset, value) in log {
            final_state
                .logs
                .entry(p(partition))
                .or_default()
                .push((o(offset), value));
        }
        // A large clean history raises no false alarm. (How fast the checkers are is a
        // benchmark's business, not a test's: `watermark bench` covers them inside every run.)
        let violations = check_history(&history.build(), &final_state);
        assert!(
            violations.is_empty(),
            "{:?}",
            &violations[..violations.len().min(3)]
        );
    }

    #[test]
    fn client_and_replica_checkers_cover_their_kinds_in_registry_order() {
        assert!(CLIENT_CHECKERS
            .iter()
            .copied()
            .eq(Checker::of_kind(CheckerKind::ClientHistory)));
        assert!(REPLICA_CHECKERS
            .iter()
            .copied()
            .eq(Checker::of_kind(CheckerKind::ReplicaState)));
        assert!(GROUP_COMMIT_CHECKERS
            .iter()
            .copied()
            .eq(Checker::of_kind(CheckerKind::GroupCommits)));
        assert!(CLIENT_CHECKERS.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(
            CLIENT_CHECKERS.last() < GROUP_COMMIT_CHECKERS.first()
                && GROUP_COMMIT_CHECKERS.last() < REPLICA_CHECKERS.first(),
            "client findings first, then group commits"
        );
        // A replica checker may only break the guarantee through integrity (diverged
        // replicas); loss, duplication and ordering are judged on what the clients saw.
        for info in REGISTRY {
            let client_only = info.informational
                || !matches!(
                    info.effect,
                    GuaranteeEffect::None | GuaranteeEffect::Integrity
                );
            if client_only {
                assert_eq!(info.kind, CheckerKind::ClientHistory, "{}", info.name);
            }
        }
    }
}

#[cfg(test)]
mod properties {
    use super::test_support::*;
    use super::*;
    use proptest::prelude::*;

    /// A correct run: each producer owns a partition and its sends land in order; each
    /// consumer reads a prefix of every partition, in order, in chunks.
    fn correct_run(
        sends_per_partition: &[usize],
        consumers: &[(usize, usize)],
    ) -> (HistoryBuilder, FinalState) {
        let mut history = HistoryBuilder::new();
        let mut final_state = FinalState::default();
        let mut value = 0u64;
        for (partition, sends) in sends_per_partition.iter().enumerate() {
            let log = final_state.logs.entry(p(partition as u32)).or_default();
            for offset in 0..*sends as u64 {
                history.send_ok(
                    partition as u32 + 1,
                    partition as u32,
                    value,
                    Some(offset),
                    value,
                );
                log.push((o(offset), value));
                value += 1;
            }
        }
        for (consumer, (prefix_percent, chunk)) in consumers.iter().enumerate() {
            for (partition, log) in &final_state.logs {
                let read = log.len() * prefix_percent / 100;
                let records: Vec<(u64, u64)> = log[..read]
                    .iter()
                    .map(|(offset, value)| (offset.0, *value))
                    .collect();
                for records in records.chunks((*chunk).max(1)) {
                    history.poll(100 + consumer as u32, partition.partition.0, records, 1_000);
                }
            }
        }
        (history, final_state)
    }

    proptest! {
        #[test]
        fn a_correct_run_trips_no_checker_but_unseen(
            sends_per_partition in prop::collection::vec(0usize..40, 1..4),
            consumers in prop::collection::vec((0usize..=100, 1usize..10), 0..3),
        ) {
            let (history, final_state) = correct_run(&sends_per_partition, &consumers);
            let violations = check_history(&history.build(), &final_state);
            prop_assert!(
                violations.iter().all(|violation| violation.checker == Checker::Unseen),
                "{:?}", violations
            );
            prop_assert_eq!(observed_guarantee_of(&violations), crate::verdict::Guarantee::ExactlyOnce);
        }

        #[test]
        fn a_record_dropped_from_the_final_log_is_a_final_log_loss(
            sends_per_partition in prop::collection::vec(1usize..40, 1..4),
            pick in any::<prop::sample::Index>(),
        ) {
            let (history, mut final_state) = correct_run(&sends_per_partition, &[]);
            let all: Vec<(TopicPartition, usize)> = final_state
                .logs
                .iter()
                .flat_map(|(partition, log)| (0..log.len()).map(move |index| (*partition, index)))
                .collect();
            let (partition, index) = all[pick.index(all.len())];
            let (offset, value) = final_state.logs.get_mut(&partition).unwrap().remove(index);
            let violations = check_history(&history.build(), &final_state);
            let lost = test_support::only(&violations, "final-log-loss");
            prop_assert_eq!(lost.len(), 1);
            prop_assert_eq!(lost[0].partition, Some(partition));
            prop_assert_eq!(&lost[0].offsets, &vec![offset]);
            prop_assert_eq!(&lost[0].values, &vec![value]);
        }
    }

    fn observed_guarantee_of(violations: &[Violation]) -> crate::verdict::Guarantee {
        crate::verdict::observed_guarantee(violations)
    }
}
