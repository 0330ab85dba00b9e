//! The transaction coordinator (Kafka's `TransactionCoordinator`, `TransactionStateManager`
//! and `TransactionMarkerChannelManager`), hosted by the broker that leads a transactional
//! id's `__transaction_state` partition. It keeps, per transaction log partition this broker
//! leads, the transactions replayed from that partition (`load.rs`); answers InitProducerId
//! for transactional ids, fencing the previous instance (`init_producer_id.rs`);
//! AddPartitionsToTxn, its verification by partition leaders (KIP-890) and AddOffsetsToTxn
//! (`add_partitions.rs`); EndTxn (`end_txn.rs`); writes the markers to every partition of an
//! ended transaction (`markers.rs`); aborts transactions open past their timeout
//! (`timeout.rs`). Every state change is a record (`records.rs`) appended with acks=all
//! through the broker and applied only once committed (`metadata.rs`).
//!
//! Invariants: a transactional id is served only while its partition is loaded here, under
//! the coordinator epoch (the partition's leader epoch) it was loaded with; every pending
//! write's token has bit 62 set (and not the group coordinator's bit 63), and every pending
//! write is answered exactly once (on completion, or NOT_COORDINATOR on unload).

mod add_partitions;
mod end_txn;
mod init_producer_id;
mod load;
mod markers;
mod metadata;
pub mod records;
mod state;
#[cfg(test)]
mod tests;
mod timeout;

pub use metadata::TransactionMetadata;
pub use state::TransactionState;

use crate::actor::Effect;
use crate::broker::producer_id_manager::{ProducerIdContext, ProducerIdManager};
use crate::broker::BrokerTimer;
use crate::bugs::BugSwitches;
use crate::config::BrokerConfig;
use crate::coordinator::CoordinatorAppend;
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::TransactionalId;
use crate::ids::{BrokerEpoch, BrokerId, CorrelationId, LeaderEpoch, NodeId, ProducerId};
use crate::mark::Mark;
use crate::metadata::MetadataImage;
use crate::partition::LocalWaiter;
use crate::protocol::Message;
use crate::timer::TimerTable;
use crate::topic::TopicPartition;
use crate::transaction_state_topic::transaction_partition;
use markers::MarkerChannel;
use records::{TransactionLogRecord, TransactionLogValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The transaction coordinator's named deadlines, inside the broker's timer table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TransactionTimer {
    /// Kafka's `transaction-abort` task: every
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`, while a transaction log
    /// partition is loaded.
    AbortTimedOutTransactions,
    /// Markers without a known leader, refused or lost, and completions that could not be
    /// written, go again.
    MarkerRetry,
    /// The WriteTxnMarkers with this correlation id is given up on (`request.timeout.ms`).
    MarkerRequestTimeout(u64),
}

impl fmt::Display for TransactionTimer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransactionTimer::AbortTimedOutTransactions => {
                formatter.write_str("transaction-abort-timed-out")
            }
            TransactionTimer::MarkerRetry => formatter.write_str("transaction-marker-retry"),
            TransactionTimer::MarkerRequestTimeout(correlation) => {
                write!(formatter, "transaction-markers-timeout-{correlation}")
            }
        }
    }
}

/// What the transaction coordinator may use of its broker while it acts.
pub struct TransactionContext<'a> {
    pub now_ms: u64,
    pub broker: BrokerId,
    pub broker_epoch: Option<BrokerEpoch>,
    pub config: &'a BrokerConfig,
    pub bugs: BugSwitches,
    /// The broker's metadata image: where the partitions' leaders are.
    pub metadata: &'a MetadataImage,
    /// The broker's producer ids, for a new transactional id.
    pub producer_ids: &'a mut ProducerIdManager,
    /// The broker's correlation counter (shared with its replica fetchers).
    pub next_correlation: &'a mut u64,
    pub timers: &'a mut TimerTable<BrokerTimer>,
    pub effects: &'a mut Vec<Effect>,
}

impl TransactionContext<'_> {
    fn send(&mut self, to: NodeId, message: Message) {
        self.effects.push(Effect::Send { to, message });
    }

    fn event(&mut self, event: Event) {
        self.effects.push(Effect::Event(event));
    }

    fn mark(&mut self, mark: Mark) {
        self.effects.push(Effect::Mark(mark));
    }

    fn set_timer(&mut self, timer: TransactionTimer, at_ms: u64) {
        self.timers.set(BrokerTimer::Transaction(timer), at_ms);
    }

    fn cancel_timer(&mut self, timer: TransactionTimer) {
        self.timers.cancel(BrokerTimer::Transaction(timer));
    }

    fn correlation(&mut self) -> CorrelationId {
        *self.next_correlation += 1;
        CorrelationId(*self.next_correlation)
    }

    /// The transaction log partition of `transactional_id`.
    fn partition_of(&self, transactional_id: &TransactionalId) -> TopicPartition {
        transaction_partition(
            transactional_id,
            self.config.transaction_state_log_num_partitions,
        )
    }

    /// Whether transactions end under transactions version 2 (KIP-890 part 2, the default
    /// of Kafka 4.x): the epoch is bumped at every end. The `no-epoch-bump-per-transaction`
    /// switch restores version 1.
    fn transaction_version_2(&self) -> bool {
        !self.bugs.no_epoch_bump_per_transaction
    }

    /// A fresh producer id from the broker's producer-id manager.
    fn generate_producer_id(&mut self) -> Result<ProducerId, ErrorCode> {
        let mut context = ProducerIdContext {
            now_ms: self.now_ms,
            broker: self.broker,
            broker_epoch: self.broker_epoch,
            reconnect_backoff_ms: self.config.reconnect_backoff_ms,
            next_correlation: self.next_correlation,
            timers: self.timers,
            effects: self.effects,
        };
        self.producer_ids.generate_producer_id(&mut context)
    }
}

/// Where an answer goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reply {
    to: NodeId,
    correlation: CorrelationId,
}

/// Who waits for a transaction's end to be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EndReply {
    /// A client's EndTxn.
    Client(Reply),
    /// A new instance's InitProducerId that found the transaction open: it is answered
    /// CONCURRENT_TRANSACTIONS once the abort is written, and retries.
    Fencing(Reply),
    /// The transaction timed out: nobody.
    Timeout,
}

/// What happens once a write is committed (or failed).
#[derive(Clone, Debug, PartialEq, Eq)]
enum AfterWrite {
    InitProducerId(Reply),
    AddPartitions {
        reply: Reply,
        partitions: Vec<TopicPartition>,
    },
    AddOffsets(Reply),
    /// PrepareCommit or PrepareAbort: answer, then write the markers.
    EndTransaction {
        reply: EndReply,
        epoch_fence: bool,
    },
    /// CompleteCommit or CompleteAbort: the transaction is over.
    Complete,
}

/// A state write waiting for its append.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PendingWrite {
    partition: TopicPartition,
    coordinator_epoch: LeaderEpoch,
    transactional_id: TransactionalId,
    value: TransactionLogValue,
    then: AfterWrite,
}

/// One loaded transaction log partition.
#[derive(Clone, Debug, Default)]
pub struct LoadedTransactions {
    /// The partition's leader epoch when it was loaded (Kafka's coordinator epoch).
    pub coordinator_epoch: LeaderEpoch,
    pub transactions: BTreeMap<TransactionalId, TransactionMetadata>,
}

/// The tokens of the transaction coordinator's local appends have this bit set (the group
/// coordinator's have bit 63, the marker appends of WriteTxnMarkers bit 62).
const TRANSACTION_TOKEN_BIT: u64 = 1 << 61;

/// The transaction coordinator of one broker.
#[derive(Debug, Default)]
pub struct TransactionCoordinator {
    partitions: BTreeMap<TopicPartition, LoadedTransactions>,
    next_token: u64,
    appends: Vec<CoordinatorAppend>,
    /// The timeout of each append, the transaction's own (Kafka appends a transaction's
    /// state with its `transaction.timeout.ms`).
    append_timeouts_ms: BTreeMap<u64, u64>,
    pending_writes: BTreeMap<u64, PendingWrite>,
    markers: MarkerChannel,
}

impl TransactionCoordinator {
    /// Whether a local append's waiter is the transaction coordinator's.
    pub fn owns(waiter: LocalWaiter) -> bool {
        waiter.token & TRANSACTION_TOKEN_BIT != 0 && waiter.token & (0b11 << 62) == 0
    }

    /// The appends asked for since the last call, each with its timeout, for the broker to
    /// make.
    pub fn take_appends(&mut self) -> Vec<(CoordinatorAppend, u64)> {
        let timeouts = std::mem::take(&mut self.append_timeouts_ms);
        std::mem::take(&mut self.appends)
            .into_iter()
            .map(|append| {
                let timeout_ms = timeouts[&append.waiter.token];
                (append, timeout_ms)
            })
            .collect()
    }

    /// The transaction log partitions loaded here, with their coordinator epochs.
    pub fn loaded_partitions(&self) -> Vec<(TopicPartition, LeaderEpoch)> {
        self.partitions
            .iter()
            .map(|(partition, loaded)| (*partition, loaded.coordinator_epoch))
            .collect()
    }

    /// A transactional id's metadata, for tests and tools.
    pub fn transaction(&self, transactional_id: &TransactionalId) -> Option<&TransactionMetadata> {
        self.partitions
            .values()
            .find_map(|loaded| loaded.transactions.get(transactional_id))
    }

    /// A request for the transaction coordinator.
    pub fn handle_request(
        &mut self,
        context: &mut TransactionContext<'_>,
        from: NodeId,
        message: Message,
    ) {
        match message {
            Message::InitProducerId(request) => {
                self.handle_init_producer_id(context, from, &request)
            }
            Message::AddPartitionsToTxn(request) => {
                self.handle_add_partitions_to_txn(context, from, &request)
            }
            Message::AddOffsetsToTxn(request) => {
                self.handle_add_offsets_to_txn(context, from, &request)
            }
            Message::EndTxn(request) => self.handle_end_txn(context, from, &request),
            Message::WriteTxnMarkersResponse(response) => {
                self.on_write_txn_markers_response(context, from, &response)
            }
            _ => {}
        }
    }

    /// The loaded transactions of `transactional_id`'s partition, or NOT_COORDINATOR.
    fn serving(
        &mut self,
        context: &TransactionContext<'_>,
        transactional_id: &TransactionalId,
    ) -> Result<(TopicPartition, &mut LoadedTransactions), ErrorCode> {
        let partition = context.partition_of(transactional_id);
        self.partitions
            .get_mut(&partition)
            .map(|loaded| (partition, loaded))
            .ok_or(ErrorCode::NotCoordinator)
    }

    /// The transaction of `transactional_id`, on the partition it lives in, as a request
    /// about an existing transaction finds it: INVALID_REQUEST for an empty id,
    /// NOT_COORDINATOR off its coordinator, INVALID_PRODUCER_ID_MAPPING when there is none.
    fn served_transaction(
        &mut self,
        context: &TransactionContext<'_>,
        transactional_id: &TransactionalId,
    ) -> Result<(TopicPartition, &mut TransactionMetadata), ErrorCode> {
        if transactional_id.0.is_empty() {
            return Err(ErrorCode::InvalidRequest);
        }
        let (partition, loaded) = self.serving(context, transactional_id)?;
        let metadata = loaded
            .transactions
            .get_mut(transactional_id)
            .ok_or(ErrorCode::InvalidProducerIdMapping)?;
        Ok((partition, metadata))
    }

    /// Asks the broker to append `value` as `transactional_id`'s state; `then` runs when
    /// the append ends.
    fn write(
        &mut self,
        partition: TopicPartition,
        transactional_id: &TransactionalId,
        value: TransactionLogValue,
        then: AfterWrite,
    ) {
        let coordinator_epoch = self.partitions[&partition].coordinator_epoch;
        self.next_token += 1;
        let token = TRANSACTION_TOKEN_BIT | self.next_token;
        let record = TransactionLogRecord {
            transactional_id: transactional_id.clone(),
            value: Some(value.clone()),
        };
        self.appends.push(CoordinatorAppend {
            partition,
            waiter: LocalWaiter { token },
            records: vec![record.encode()],
            transaction: None,
        });
        self.append_timeouts_ms
            .insert(token, value.transaction_timeout_ms.max(1));
        self.pending_writes.insert(
            token,
            PendingWrite {
                partition,
                coordinator_epoch,
                transactional_id: transactional_id.clone(),
                value,
                then,
            },
        );
    }
}

/// The state change a committed write made, as the trace reports it.
fn state_changed(
    transactional_id: &TransactionalId,
    from: TransactionState,
    value: &TransactionLogValue,
) -> Event {
    Event::TransactionStateChanged {
        transactional_id: transactional_id.clone(),
        producer_id: value.producer_id,
        producer_epoch: value.producer_epoch,
        from,
        to: value.state,
    }
}
