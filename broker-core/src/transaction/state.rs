//! A transaction's states (Kafka's `TransactionState`), with the states each may follow.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a transactional id's current transaction is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub enum TransactionState {
    /// No transaction open (after InitProducerId).
    #[default]
    Empty,
    /// Partitions were added: a transaction is open.
    Ongoing,
    /// EndTxn(commit) is written; the COMMIT markers are being written.
    PrepareCommit,
    /// EndTxn(abort), a fencing or a timeout is written; the ABORT markers are being written.
    PrepareAbort,
    /// Every COMMIT marker is written.
    CompleteCommit,
    /// Every ABORT marker is written.
    CompleteAbort,
    /// Never written: a new instance's InitProducerId found a transaction open and bumped the
    /// epoch to abort it (the state in which the abort is prepared).
    PrepareEpochFence,
    /// The transactional id expired (never reached here: ids do not expire in a run).
    Dead,
}

impl TransactionState {
    /// The states this one may be entered from (Kafka's `validPreviousStates`).
    pub fn valid_previous_states(self) -> &'static [TransactionState] {
        use TransactionState::*;
        match self {
            Empty => &[Empty, CompleteCommit, CompleteAbort],
            Ongoing => &[Ongoing, Empty, CompleteCommit, CompleteAbort],
            PrepareCommit => &[Ongoing],
            // Version 2's empty abort starts from a state with no transaction (KAFKA-14563).
            PrepareAbort => &[
                Ongoing,
                PrepareEpochFence,
                Empty,
                CompleteCommit,
                CompleteAbort,
            ],
            CompleteCommit => &[PrepareCommit],
            CompleteAbort => &[PrepareAbort],
            PrepareEpochFence => &[Ongoing],
            Dead => &[Empty, CompleteCommit, CompleteAbort],
        }
    }

    /// Whether the transaction's end is written and its markers are going out.
    pub fn is_prepared(self) -> bool {
        matches!(
            self,
            TransactionState::PrepareCommit | TransactionState::PrepareAbort
        )
    }

    /// Whether the last transaction ended and its markers are all written.
    pub fn is_complete(self) -> bool {
        matches!(
            self,
            TransactionState::CompleteCommit | TransactionState::CompleteAbort
        )
    }
}

impl fmt::Display for TransactionState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            TransactionState::Empty => "Empty",
            TransactionState::Ongoing => "Ongoing",
            TransactionState::PrepareCommit => "PrepareCommit",
            TransactionState::PrepareAbort => "PrepareAbort",
            TransactionState::CompleteCommit => "CompleteCommit",
            TransactionState::CompleteAbort => "CompleteAbort",
            TransactionState::PrepareEpochFence => "PrepareEpochFence",
            TransactionState::Dead => "Dead",
        })
    }
}
