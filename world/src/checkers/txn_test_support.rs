//! Builders for the transaction checkers' unit tests: transactions recorded as the history's
//! contract says (`OpBody::Transaction`, each send also a `Send` completed with the
//! transaction's type), and final logs with aborted, open and read_committed parts.

use super::test_support::{p, HistoryBuilder};
use super::{FinalState, FinalTransactions};
use crate::history::{OpBody, OpType, TransactionOffsets, TransactionalSend};
use watermark_broker_core::ids::{ClientId, GenerationId, GroupId, Offset, TransactionalId};

/// One transaction as a test writes it.
#[derive(Clone, Debug, Default)]
pub struct Txn {
    pub number: u64,
    pub sends: Vec<TransactionalSend>,
    pub polls: Vec<(u32, Vec<(u64, u64)>)>,
    pub offsets: Option<Vec<(u32, u64)>>,
    pub commit: bool,
}

/// Transaction `number`, asking to commit at its end.
pub fn txn(number: u64) -> Txn {
    Txn {
        number,
        commit: true,
        ..Txn::default()
    }
}

impl Txn {
    /// Sends `value` to `partition`, written at `offset` if the callback said.
    pub fn send(mut self, partition: u32, value: u64, offset: Option<u64>) -> Txn {
        self.sends.push(TransactionalSend {
            value,
            source: None,
            partition: Some(p(partition)),
            offset: offset.map(Offset),
        });
        self
    }

    /// Sends `value`, derived from input value `source`, to `partition` at `offset`.
    pub fn derive(mut self, partition: u32, value: u64, offset: u64, source: u64) -> Txn {
        self.sends.push(TransactionalSend {
            value,
            source: Some(source),
            partition: Some(p(partition)),
            offset: Some(Offset(offset)),
        });
        self
    }

    /// Polled `records` (offset, value) of `partition` inside the transaction.
    pub fn poll(mut self, partition: u32, records: &[(u64, u64)]) -> Txn {
        self.polls.push((partition, records.to_vec()));
        self
    }

    /// Commits the consumer positions `offsets` (partition, next offset) with it.
    pub fn offsets(mut self, offsets: &[(u32, u64)]) -> Txn {
        self.offsets = Some(offsets.to_vec());
        self
    }

    /// Asks to abort at its end.
    pub fn abort(mut self) -> Txn {
        self.commit = false;
        self
    }
}

impl HistoryBuilder {
    /// Records `transaction` of `client` as the contract does: its invocation, each send's
    /// invocation, then the transaction's completion (`op_type`) and each send's completion
    /// with that type, all at `time_ms`.
    pub fn transaction(&mut self, client: u32, transaction: &Txn, op_type: OpType, time_ms: u64) {
        let id = TransactionalId(format!("t{client}"));
        let body = |sends: Vec<TransactionalSend>, polls, offsets| OpBody::Transaction {
            transactional_id: id.clone(),
            number: transaction.number,
            sends,
            polls,
            offsets,
            commit: transaction.commit,
            error: None,
        };
        let client_id = ClientId(client);
        self.history.push(
            time_ms,
            client_id,
            OpType::Invoke,
            body(Vec::new(), Vec::new(), None),
        );
        for send in &transaction.sends {
            self.history.push(
                time_ms,
                client_id,
                OpType::Invoke,
                OpBody::Send {
                    value: send.value,
                    partition: send.partition,
                    offset: None,
                    error: None,
                },
            );
        }
        let polls = transaction
            .polls
            .iter()
            .map(|(partition, records)| {
                let records = records
                    .iter()
                    .map(|(offset, value)| (Offset(*offset), *value))
                    .collect();
                (p(*partition), records)
            })
            .collect();
        let offsets = transaction
            .offsets
            .as_ref()
            .map(|offsets| TransactionOffsets {
                group: GroupId("g".to_string()),
                generation: GenerationId(1),
                offsets: offsets
                    .iter()
                    .map(|(partition, offset)| (p(*partition), Offset(*offset)))
                    .collect(),
            });
        self.history.push(
            time_ms,
            client_id,
            op_type,
            body(transaction.sends.clone(), polls, offsets),
        );
        for send in &transaction.sends {
            self.history.push(
                time_ms,
                client_id,
                op_type,
                OpBody::Send {
                    value: send.value,
                    partition: send.partition,
                    offset: send.offset,
                    error: None,
                },
            );
        }
    }
}

/// Marks the records at `offsets` of `partition`'s final log as of aborted transactions.
pub fn aborted(final_state: &mut FinalState, partition: u32, offsets: &[u64]) {
    transactions(final_state, partition)
        .aborted_offsets
        .extend(offsets.iter().copied().map(Offset));
}

/// Marks the records at `offsets` of `partition`'s final log as of open transactions.
pub fn open(final_state: &mut FinalState, partition: u32, offsets: &[u64]) {
    transactions(final_state, partition)
        .open_offsets
        .extend(offsets.iter().copied().map(Offset));
}

/// Makes consumer `client` a read_committed reader.
pub fn read_committed(final_state: &mut FinalState, client: u32) {
    final_state
        .read_committed_consumers
        .insert(ClientId(client));
}

fn transactions(final_state: &mut FinalState, partition: u32) -> &mut FinalTransactions {
    final_state.transactions.entry(p(partition)).or_default()
}
