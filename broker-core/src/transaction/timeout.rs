//! Aborting transactions open past their timeout (Kafka's
//! `TransactionCoordinator.abortTimedOutTransactions`, run every
//! `transaction.abort.timed.out.transaction.cleanup.interval.ms`): an Ongoing transaction
//! with no transition pending, started more than `transaction.timeout.ms` ago, has its epoch
//! bumped (fencing the producer that left it open) and is aborted. The timer runs only
//! while a transaction log partition is loaded, so a cluster without transactions never
//! sees it.

use super::TransactionTimer;
use super::{EndReply, TransactionContext, TransactionCoordinator, TransactionState};
use crate::ids::TransactionalId;
use crate::mark::Mark;
use crate::protocol::ProducerIdAndEpoch;

impl TransactionCoordinator {
    /// A transaction coordinator timer fired.
    pub fn on_timer(&mut self, context: &mut TransactionContext<'_>, timer: TransactionTimer) {
        match timer {
            TransactionTimer::AbortTimedOutTransactions => {
                self.abort_timed_out_transactions(context);
                if !self.partitions.is_empty() {
                    context.set_timer(
                        TransactionTimer::AbortTimedOutTransactions,
                        context.now_ms
                            + context
                                .config
                                .transaction_abort_timed_out_transaction_cleanup_interval_ms
                                .max(1),
                    );
                }
            }
            TransactionTimer::MarkerRetry => self.on_marker_retry(context),
            TransactionTimer::MarkerRequestTimeout(correlation) => {
                self.on_marker_request_timeout(context, correlation)
            }
        }
    }

    fn abort_timed_out_transactions(&mut self, context: &mut TransactionContext<'_>) {
        let now_ms = context.now_ms;
        let timed_out: Vec<TransactionalId> = self
            .partitions
            .values()
            .flat_map(|loaded| loaded.transactions.values())
            .filter(|metadata| {
                metadata.state == TransactionState::Ongoing
                    && metadata.pending.is_none()
                    && metadata
                        .transaction_start_ms
                        .is_some_and(|start_ms| start_ms + metadata.transaction_timeout_ms < now_ms)
            })
            .map(|metadata| metadata.transactional_id.clone())
            .collect();
        for transactional_id in timed_out {
            let Ok((_, loaded)) = self.serving(context, &transactional_id) else {
                continue;
            };
            let metadata = loaded
                .transactions
                .get_mut(&transactional_id)
                .expect("listed above");
            let producer_id = metadata.producer_id;
            let fenced_epoch = metadata.prepare_fence_producer_epoch();
            context.mark(Mark::TransactionTimedOutAborted);
            self.end_transaction(
                context,
                &transactional_id,
                ProducerIdAndEpoch {
                    producer_id,
                    epoch: fenced_epoch,
                },
                false,
                false,
                EndReply::Timeout,
            );
        }
    }
}
