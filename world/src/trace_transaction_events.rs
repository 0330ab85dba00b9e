//! The one-line text form of the transaction coordinator's events (state changes, markers
//! sent, transaction log partitions loaded and unloaded) and of the transactional
//! producer's (operations completed, coordinators found, producer epochs taken).

use std::fmt::Write;
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::TransactionalId;
use watermark_broker_core::log::record_batch::ControlRecordType;
use watermark_broker_core::protocol::CoordinatorKey;

/// Writes `event` after the time and node; returns false for an event that is not the
/// transaction coordinator's.
pub(crate) fn describe_transaction_event(out: &mut String, event: &Event) -> bool {
    let _ = match event {
        Event::TransactionStateChanged {
            transactional_id,
            producer_id,
            producer_epoch,
            from,
            to,
        } => write!(
            out,
            "txn {transactional_id} {from}->{to} {producer_id} {producer_epoch}"
        ),
        Event::TransactionMarkersSent { broker, markers } => {
            let _ = write!(out, "txn markers to {broker} [");
            for (index, (transactional_id, result, partitions)) in markers.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{transactional_id} {}", marker_name(*result));
                for partition in partitions {
                    let _ = write!(out, " {partition}");
                }
            }
            out.push(']');
            Ok(())
        }
        Event::TransactionsLoaded {
            partition,
            coordinator_epoch,
            transactions,
        } => {
            let _ = write!(out, "{partition} transactions loaded {coordinator_epoch} [");
            for (index, (transactional_id, state)) in transactions.iter().enumerate() {
                if index > 0 {
                    out.push(' ');
                }
                let _ = write!(out, "{transactional_id}:{state}");
            }
            out.push(']');
            Ok(())
        }
        Event::TransactionsUnloaded {
            partition,
            transactions,
        } => write!(
            out,
            "{partition} transactions unloaded [{}]",
            joined(transactions)
        ),
        Event::TransactionVerificationSent {
            partition,
            transactional_id,
            producer,
            producer_epoch,
            coordinator,
            verify_only,
        } => write!(
            out,
            "{partition} txn {} {transactional_id} {producer} {producer_epoch} to {coordinator}",
            if *verify_only { "verify" } else { "add" }
        ),
        Event::TransactionVerificationRefused {
            partition,
            transactional_id,
            producer,
            producer_epoch,
            reason,
            answered,
        } => write!(
            out,
            "{partition} txn verification refused {transactional_id} {producer} {producer_epoch}: {reason}, answered {answered}"
        ),
        Event::TransactionOpenedWithoutVerification {
            partition,
            transactional_id,
            producer,
            producer_epoch,
            offset,
        } => write!(
            out,
            "{partition} txn {transactional_id} {producer} {producer_epoch} opened unverified at {offset}"
        ),
        Event::TransactionOperationCompleted { operation, result } => write!(
            out,
            "txn {operation} {}",
            match result {
                Ok(()) => "ok".to_string(),
                Err(error) => error.to_string(),
            }
        ),
        Event::TransactionCoordinatorFound {
            transactional_id,
            key,
            broker,
        } => match key {
            CoordinatorKey::Transaction(_) => {
                write!(out, "txn {transactional_id} coordinator {broker}")
            }
            CoordinatorKey::Group(group) => write!(
                out,
                "txn {transactional_id} group {group} coordinator {broker}"
            ),
        },
        Event::TransactionalProducerEpoch {
            transactional_id,
            producer_id,
            producer_epoch,
        } => write!(
            out,
            "txn {transactional_id} producer {producer_id} {producer_epoch}"
        ),
        _ => return false,
    };
    true
}

fn marker_name(result: ControlRecordType) -> &'static str {
    match result {
        ControlRecordType::Commit => "COMMIT",
        ControlRecordType::Abort => "ABORT",
    }
}

fn joined(ids: &[TransactionalId]) -> String {
    ids.iter()
        .map(|id| id.0.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use watermark_broker_core::ids::{PartitionId, ProducerEpoch, ProducerId};
    use watermark_broker_core::topic::{TopicName, TopicPartition};
    use watermark_broker_core::transaction::TransactionState;

    #[test]
    fn the_transactional_producers_events_read_as_one_line_each() {
        use watermark_broker_core::error::ErrorCode;
        use watermark_broker_core::producer::TransactionOperation;
        let id = || TransactionalId("t".into());
        let lines: Vec<String> = [
            Event::TransactionOperationCompleted {
                operation: TransactionOperation::CommitTransaction,
                result: Err(ErrorCode::ProducerFenced),
            },
            Event::TransactionCoordinatorFound {
                transactional_id: id(),
                key: CoordinatorKey::Transaction(id()),
                broker: watermark_broker_core::ids::BrokerId(2),
            },
            Event::TransactionalProducerEpoch {
                transactional_id: id(),
                producer_id: ProducerId(1000),
                producer_epoch: ProducerEpoch(3),
            },
        ]
        .iter()
        .map(|event| {
            let mut line = String::new();
            assert!(describe_transaction_event(&mut line, event));
            line
        })
        .collect();
        assert_eq!(
            lines,
            vec![
                "txn commit-transaction PRODUCER_FENCED",
                "txn t coordinator b2",
                "txn t producer pid1000 pepoch3",
            ]
        );
    }

    #[test]
    fn a_state_change_and_markers_read_as_one_line_each() {
        let mut line = String::new();
        assert!(describe_transaction_event(
            &mut line,
            &Event::TransactionStateChanged {
                transactional_id: TransactionalId("t".into()),
                producer_id: ProducerId(1000),
                producer_epoch: ProducerEpoch(2),
                from: TransactionState::Ongoing,
                to: TransactionState::PrepareCommit,
            }
        ));
        assert_eq!(line, "txn t Ongoing->PrepareCommit pid1000 pepoch2");
        let mut line = String::new();
        let partition = TopicPartition::new(TopicName::from_static("events"), PartitionId(0));
        describe_transaction_event(
            &mut line,
            &Event::TransactionMarkersSent {
                broker: watermark_broker_core::ids::BrokerId(2),
                markers: vec![(
                    TransactionalId("t".into()),
                    ControlRecordType::Commit,
                    vec![partition],
                )],
            },
        );
        assert_eq!(line, "txn markers to b2 [t COMMIT events-0]");
    }

    #[test]
    fn a_verification_and_its_refusal_read_as_one_line_each() {
        let partition = TopicPartition::new(TopicName::from_static("events"), PartitionId(0));
        let mut line = String::new();
        assert!(describe_transaction_event(
            &mut line,
            &Event::TransactionVerificationSent {
                partition,
                transactional_id: TransactionalId("t".into()),
                producer: ProducerId(1000),
                producer_epoch: ProducerEpoch(2),
                coordinator: watermark_broker_core::ids::BrokerId(3),
                verify_only: true,
            }
        ));
        assert_eq!(line, "events-0 txn verify t pid1000 pepoch2 to b3");
        let mut line = String::new();
        assert!(describe_transaction_event(
            &mut line,
            &Event::TransactionVerificationRefused {
                partition,
                transactional_id: TransactionalId("t".into()),
                producer: ProducerId(1000),
                producer_epoch: ProducerEpoch(2),
                reason: watermark_broker_core::error::ErrorCode::NotCoordinator,
                answered: watermark_broker_core::error::ErrorCode::NotEnoughReplicas,
            }
        ));
        assert_eq!(
            line,
            "events-0 txn verification refused t pid1000 pepoch2: NOT_COORDINATOR, answered NOT_ENOUGH_REPLICAS"
        );
        let mut line = String::new();
        assert!(describe_transaction_event(
            &mut line,
            &Event::TransactionOpenedWithoutVerification {
                partition,
                transactional_id: TransactionalId("t".into()),
                producer: ProducerId(1000),
                producer_epoch: ProducerEpoch(2),
                offset: watermark_broker_core::ids::Offset(7),
            }
        ));
        assert_eq!(
            line,
            "events-0 txn t pid1000 pepoch2 opened unverified at 7"
        );
    }
}
