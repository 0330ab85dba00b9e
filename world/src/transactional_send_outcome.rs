//! How a send inside a transaction enters the history once the transaction ended, for every
//! application that sends in transactions (the transactional producer's workload and the
//! consume-transform-produce pipeline): one rule, so the checkers read both alike.

use crate::history::OpType;
use watermark_broker_core::error::ErrorCode;

/// What the send's own batch told the client, if it failed: its error and whether the
/// failure is definite (the batch is certainly not in the log).
pub type BatchFailure = (ErrorCode, bool);

/// The operation type and error of one send of a transaction that ended as `transaction`
/// (`Ok` committed, `Fail` aborted, `Info` unknown), with `transaction_error` the error that
/// ended it:
/// - a send whose batch certainly failed is `Fail` with the batch's error, whatever the
///   transaction did;
/// - a send whose batch may have failed takes the transaction's outcome with the batch's
///   error, but at best `Info`: a commit says nothing of a batch that may never have been
///   written (Kafka refuses to commit after a failed batch, so this is a guard, not a case
///   the clients reach);
/// - every other send takes the transaction's outcome, carrying the transaction's error
///   unless it committed.
pub fn transactional_send_outcome(
    transaction: OpType,
    batch_failure: Option<BatchFailure>,
    transaction_error: Option<ErrorCode>,
) -> (OpType, Option<ErrorCode>) {
    match batch_failure {
        Some((error, true)) => (OpType::Fail, Some(error)),
        Some((error, false)) if transaction == OpType::Ok => (OpType::Info, Some(error)),
        Some((error, false)) => (transaction, Some(error)),
        None if transaction == OpType::Ok => (OpType::Ok, None),
        None => (transaction, transaction_error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FENCED: Option<ErrorCode> = Some(ErrorCode::ProducerFenced);

    #[test]
    fn a_definitely_failed_batch_is_a_failed_send_even_in_a_committed_transaction() {
        let failure = Some((ErrorCode::InvalidRecord, true));
        assert_eq!(
            transactional_send_outcome(OpType::Ok, failure, None),
            (OpType::Fail, Some(ErrorCode::InvalidRecord))
        );
    }

    #[test]
    fn a_batch_that_may_have_failed_is_at_best_unknown() {
        let failure = Some((ErrorCode::RequestTimedOut, false));
        assert_eq!(
            transactional_send_outcome(OpType::Ok, failure, None),
            (OpType::Info, Some(ErrorCode::RequestTimedOut))
        );
        assert_eq!(
            transactional_send_outcome(OpType::Fail, failure, FENCED),
            (OpType::Fail, Some(ErrorCode::RequestTimedOut))
        );
    }

    #[test]
    fn other_sends_take_the_transactions_outcome_and_error() {
        assert_eq!(
            transactional_send_outcome(OpType::Ok, None, None),
            (OpType::Ok, None)
        );
        assert_eq!(
            transactional_send_outcome(OpType::Fail, None, FENCED),
            (OpType::Fail, FENCED)
        );
        assert_eq!(
            transactional_send_outcome(OpType::Info, None, FENCED),
            (OpType::Info, FENCED)
        );
    }
}
