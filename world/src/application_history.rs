//! How a group consumer's events become history operations: commits (`Invoke` when sent,
//! then `Ok`, `Fail` or `Info`) and assignments (`Assign` on every assignment and
//! revocation).

use crate::history::{OpBody, OpType};
use watermark_broker_core::error::ErrorCode;
use watermark_broker_core::ids::{GenerationId, GroupId, Offset};
use watermark_broker_core::topic::TopicPartition;

/// The operation type of a commit's outcome: `Fail` only when the coordinator certainly
/// did not write it (it refused the request before appending), `Info` when it may have (a
/// timeout, a coordinator that lost its partition while the record replicated).
pub fn commit_outcome(result: &Result<(), ErrorCode>) -> (OpType, Option<ErrorCode>) {
    match result {
        Ok(()) => (OpType::Ok, None),
        Err(error) if refused_before_write(*error) => (OpType::Fail, Some(*error)),
        Err(error) => (OpType::Info, Some(*error)),
    }
}

/// Errors a coordinator answers only after validating a commit and before appending it, or
/// that the consumer gives without sending one.
fn refused_before_write(error: ErrorCode) -> bool {
    matches!(
        error,
        ErrorCode::IllegalGeneration
            | ErrorCode::UnknownMemberId
            | ErrorCode::RebalanceInProgress
            | ErrorCode::FencedInstanceId
            | ErrorCode::CoordinatorLoadInProgress
            | ErrorCode::CommitFailed
    )
}

/// A commit operation.
pub fn commit_op(
    group: GroupId,
    offsets: Vec<(TopicPartition, Offset)>,
    automatic: bool,
    error: Option<ErrorCode>,
) -> OpBody {
    OpBody::Commit {
        group,
        offsets,
        automatic,
        error,
    }
}

/// The `Assign` operation of a revocation: what remains of `assignment` without `revoked`.
pub fn revocation_op(
    group: GroupId,
    generation: GenerationId,
    assignment: &[TopicPartition],
    revoked: Vec<TopicPartition>,
    lost: bool,
) -> OpBody {
    OpBody::Assign {
        group,
        generation,
        assignment: assignment
            .iter()
            .copied()
            .filter(|partition| !revoked.contains(partition))
            .collect(),
        revoked,
        lost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refusals_before_the_write_are_definite() {
        assert_eq!(commit_outcome(&Ok(())), (OpType::Ok, None));
        assert_eq!(
            commit_outcome(&Err(ErrorCode::IllegalGeneration)),
            (OpType::Fail, Some(ErrorCode::IllegalGeneration))
        );
        assert_eq!(
            commit_outcome(&Err(ErrorCode::CommitFailed)).0,
            OpType::Fail
        );
        for unknown in [
            ErrorCode::ClientTimeout,
            ErrorCode::RequestTimedOut,
            ErrorCode::NotCoordinator,
        ] {
            assert_eq!(commit_outcome(&Err(unknown)).0, OpType::Info, "{unknown:?}");
        }
    }
}
