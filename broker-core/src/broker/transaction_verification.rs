//! Transaction verification on a broker (Kafka's `AddPartitionsToTxnManager` with
//! `ReplicaManager.maybeStartTransactionVerificationForPartitions`, KIP-890): before a
//! partition leader appends a producer's first transactional batch, the broker asks the
//! transaction coordinator of its transactional id — the leader of that id's
//! `__transaction_state` partition in this broker's metadata image — with AddPartitionsToTxn.
//! Under transactions version 1 it only asks whether the partition is in the ongoing
//! transaction (`verify_only`, part 1); under version 2 it adds the partition for the
//! producer (part 2). What happens once verified is an [`AfterVerification`]; one that fails
//! is answered with the error Kafka 4.x gives the producer ([`error_for_producer`]).
//!
//! Invariants: every pending verification has its request-timeout timer set, and leaves the
//! table exactly once: answered, timed out, or its coordinator's connection closed.

use super::{Broker, BrokerTimer};
use crate::actor::Effect;
use crate::coordinator::CoordinatorAppend;
use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{BrokerId, CorrelationId, NodeId, TransactionalId};
use crate::mark::Mark;
use crate::partition::{LocalCompletion, TransactionalProduce, VerificationGuard};
use crate::protocol::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, Message, ProduceRequest,
    ProducerIdAndEpoch, TransactionVersion,
};
use crate::topic::TopicPartition;
use crate::transaction_state_topic::transaction_partition;
use std::collections::BTreeMap;

/// What the broker does once the coordinator has verified a transaction. Kafka passes a
/// callback; here each kind of held request is a variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AfterVerification {
    /// Append a held transactional produce, if its guard still holds.
    Produce {
        from: NodeId,
        request: ProduceRequest,
        guard: VerificationGuard,
    },
    /// Make the group coordinator's transactional append (a TxnOffsetCommit's offsets);
    /// a failure completes its waiter with the error.
    CoordinatorAppend {
        append: CoordinatorAppend,
        timeout_ms: u64,
    },
}

impl AfterVerification {
    /// The partition whose transaction membership is asked about.
    fn partition(&self) -> TopicPartition {
        match self {
            AfterVerification::Produce { request, .. } => request.partition,
            AfterVerification::CoordinatorAppend { append, .. } => append.partition,
        }
    }
}

/// One transaction verification: who asks, for what, in which protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationRequest {
    pub transactional_id: TransactionalId,
    pub producer: ProducerIdAndEpoch,
    pub transaction_version: TransactionVersion,
}

/// A verification waiting for its coordinator's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PendingVerification {
    coordinator: BrokerId,
    request: VerificationRequest,
    then: AfterVerification,
}

/// The verifications a broker is waiting for, by the correlation id of their request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct TransactionVerifications {
    pending: BTreeMap<CorrelationId, PendingVerification>,
}

/// The error a producer gets for a verification that failed with `reason`, as Kafka 4.x's
/// `AddPartitionsToTxnManager` and `ReplicaManager.handleProduceAppend` translate it: a
/// fenced producer hears INVALID_PRODUCER_EPOCH; a coordinator that cannot be reached,
/// found or loaded becomes NOT_ENOUGH_REPLICAS, which every client retries without a
/// metadata refresh; so does CONCURRENT_TRANSACTIONS for a version-1 producer, while a
/// version-2 producer hears it as it is (common while the previous transaction completes).
/// TRANSACTION_ABORTABLE reaches both (produce version 11 and later understand it).
pub fn error_for_producer(reason: ErrorCode, version: TransactionVersion) -> ErrorCode {
    match reason {
        ErrorCode::ProducerFenced => ErrorCode::InvalidProducerEpoch,
        ErrorCode::NetworkException
        | ErrorCode::CoordinatorLoadInProgress
        | ErrorCode::CoordinatorNotAvailable
        | ErrorCode::NotCoordinator => ErrorCode::NotEnoughReplicas,
        ErrorCode::ConcurrentTransactions if version == TransactionVersion::V1 => {
            ErrorCode::NotEnoughReplicas
        }
        other => other,
    }
}

impl Broker {
    /// Asks the transaction coordinator of `request.transactional_id` whether (version 1)
    /// or that (version 2) `then`'s partition is in the producer's ongoing transaction,
    /// and carries `then` out once it says so; any failure fails `then` with the error Kafka
    /// maps it to. With no live coordinator in the metadata image it fails at once
    /// (COORDINATOR_NOT_AVAILABLE).
    pub fn verify_transaction_then(
        &mut self,
        now_ms: u64,
        request: VerificationRequest,
        then: AfterVerification,
        effects: &mut Vec<Effect>,
    ) {
        let Some(coordinator) = self.transaction_coordinator_of(&request.transactional_id) else {
            self.fail_verification(
                now_ms,
                &request,
                then,
                ErrorCode::CoordinatorNotAvailable,
                effects,
            );
            return;
        };
        self.next_correlation += 1;
        let correlation = CorrelationId(self.next_correlation);
        let partition = then.partition();
        let verify_only = request.transaction_version == TransactionVersion::V1;
        effects.push(Effect::Send {
            to: NodeId::Broker(coordinator),
            message: Message::AddPartitionsToTxn(AddPartitionsToTxnRequest {
                correlation,
                transactional_id: request.transactional_id.clone(),
                producer: request.producer,
                partitions: vec![partition],
                verify_only,
            }),
        });
        effects.push(Effect::Event(Event::TransactionVerificationSent {
            partition,
            transactional_id: request.transactional_id.clone(),
            producer: request.producer.producer_id,
            producer_epoch: request.producer.epoch,
            coordinator,
            verify_only,
        }));
        effects.push(Effect::Mark(Mark::TransactionVerificationSent));
        // Kafka's inter-broker sender gives the request `request.timeout.ms`, then fails it
        // as a network exception.
        self.timers.set(
            BrokerTimer::TransactionVerificationTimeout(correlation.0),
            now_ms + self.config.request_timeout_ms.max(1),
        );
        self.transaction_verifications.pending.insert(
            correlation,
            PendingVerification {
                coordinator,
                request,
                then,
            },
        );
    }

    /// A transactional produce: held for verification when its partition asks for it,
    /// else already appended or refused by the partition.
    pub(super) fn on_transactional_produce(
        &mut self,
        now_ms: u64,
        from: NodeId,
        request: ProduceRequest,
        effects: &mut Vec<Effect>,
    ) {
        let (mut context, partitions) = self.split(now_ms, effects);
        let Some(replica) = partitions.get_mut(&request.partition) else {
            let partition = request.partition;
            super::routing::not_hosted(&mut context, from, partition, &Message::Produce(request));
            return;
        };
        let TransactionalProduce::Verify(guard) =
            replica.handle_transactional_produce(&mut context, from, &request)
        else {
            return;
        };
        let stamp = request
            .records
            .first()
            .and_then(|record| record.producer_stamp)
            .expect("a produce held for verification has a producer stamp");
        let verification = VerificationRequest {
            transactional_id: request.transactional_id.clone().unwrap_or_default(),
            producer: ProducerIdAndEpoch {
                producer_id: stamp.producer_id,
                epoch: crate::ids::ProducerEpoch(stamp.producer_epoch),
            },
            transaction_version: request.transaction_version,
        };
        let then = AfterVerification::Produce {
            from,
            request,
            guard,
        };
        self.verify_transaction_then(now_ms, verification, then, effects);
    }

    /// The coordinator's answer to one of this broker's verifications. Only an answer from
    /// the broker the request went to counts.
    pub(super) fn on_add_partitions_to_txn_response(
        &mut self,
        now_ms: u64,
        from: NodeId,
        response: &AddPartitionsToTxnResponse,
        effects: &mut Vec<Effect>,
    ) {
        let asked = self
            .transaction_verifications
            .pending
            .get(&response.correlation)
            .is_some_and(|pending| NodeId::Broker(pending.coordinator) == from);
        if !asked {
            return;
        }
        let pending = self.take_verification(response.correlation);
        let partition = pending.then.partition();
        let result = match response.error {
            Some(error) => Err(error),
            None => response
                .partitions
                .iter()
                .find(|(answered, _)| *answered == partition)
                .map_or(Err(ErrorCode::InvalidTxnState), |(_, result)| *result),
        };
        match result {
            Ok(()) => self.carry_out(now_ms, &pending.request, pending.then, effects),
            Err(reason) => {
                self.fail_verification(now_ms, &pending.request, pending.then, reason, effects)
            }
        }
    }

    /// The verification sent with `correlation` got no answer in time.
    pub(super) fn on_verification_timeout(
        &mut self,
        now_ms: u64,
        correlation: u64,
        effects: &mut Vec<Effect>,
    ) {
        if !self
            .transaction_verifications
            .pending
            .contains_key(&CorrelationId(correlation))
        {
            return;
        }
        let pending = self.take_verification(CorrelationId(correlation));
        self.fail_verification(
            now_ms,
            &pending.request,
            pending.then,
            ErrorCode::NetworkException,
            effects,
        );
    }

    /// The connection to `broker` closed: the verifications it was asked lose their answer.
    pub(super) fn on_verification_connection_closed(
        &mut self,
        now_ms: u64,
        broker: BrokerId,
        effects: &mut Vec<Effect>,
    ) {
        let lost: Vec<CorrelationId> = self
            .transaction_verifications
            .pending
            .iter()
            .filter(|(_, pending)| pending.coordinator == broker)
            .map(|(correlation, _)| *correlation)
            .collect();
        for correlation in lost {
            let pending = self.take_verification(correlation);
            self.fail_verification(
                now_ms,
                &pending.request,
                pending.then,
                ErrorCode::NetworkException,
                effects,
            );
        }
    }

    fn take_verification(&mut self, correlation: CorrelationId) -> PendingVerification {
        self.timers
            .cancel(BrokerTimer::TransactionVerificationTimeout(correlation.0));
        self.transaction_verifications
            .pending
            .remove(&correlation)
            .expect("a verification taken is pending")
    }

    /// The live broker leading `transactional_id`'s `__transaction_state` partition in this
    /// broker's metadata image (Kafka's `getTransactionCoordinator`).
    fn transaction_coordinator_of(&self, transactional_id: &TransactionalId) -> Option<BrokerId> {
        let partition = transaction_partition(
            transactional_id,
            self.config.transaction_state_log_num_partitions,
        );
        self.metadata
            .partition(partition)
            .and_then(|state| state.leader)
            .filter(|leader| {
                self.metadata.live_brokers.is_empty() || self.metadata.live_brokers.contains(leader)
            })
    }

    /// Verified: what waited goes on.
    fn carry_out(
        &mut self,
        now_ms: u64,
        verification: &VerificationRequest,
        then: AfterVerification,
        effects: &mut Vec<Effect>,
    ) {
        match then {
            AfterVerification::Produce {
                from,
                request,
                guard,
            } => {
                let (mut context, partitions) = self.split(now_ms, effects);
                let appended = match partitions.get_mut(&request.partition) {
                    Some(replica) => {
                        replica.append_verified_produce(&mut context, from, &request, guard)
                    }
                    None => {
                        let message = Message::Produce(request.clone());
                        super::routing::not_hosted(&mut context, from, request.partition, &message);
                        true
                    }
                };
                if !appended {
                    effects.push(Effect::Event(Event::TransactionVerificationRefused {
                        partition: request.partition,
                        transactional_id: verification.transactional_id.clone(),
                        producer: verification.producer.producer_id,
                        producer_epoch: verification.producer.epoch,
                        reason: ErrorCode::InvalidTxnState,
                        answered: ErrorCode::InvalidTxnState,
                    }));
                }
            }
            AfterVerification::CoordinatorAppend { append, timeout_ms } => {
                if self.revalidate_coordinator_append(now_ms, &append, effects) {
                    self.append_local_transactional(now_ms, &append, timeout_ms, effects);
                }
            }
        }
    }

    /// Not verified because of `reason`: what waited fails with the error Kafka gives.
    fn fail_verification(
        &mut self,
        now_ms: u64,
        request: &VerificationRequest,
        then: AfterVerification,
        reason: ErrorCode,
        effects: &mut Vec<Effect>,
    ) {
        let answered = error_for_producer(reason, request.transaction_version);
        effects.push(Effect::Event(Event::TransactionVerificationRefused {
            partition: then.partition(),
            transactional_id: request.transactional_id.clone(),
            producer: request.producer.producer_id,
            producer_epoch: request.producer.epoch,
            reason,
            answered,
        }));
        effects.push(Effect::Mark(Mark::TransactionVerificationRefused));
        match then {
            AfterVerification::Produce { from, request, .. } => {
                let (mut context, partitions) = self.split(now_ms, effects);
                match partitions.get_mut(&request.partition) {
                    Some(replica) => {
                        replica.refuse_held_produce(&mut context, from, &request, answered)
                    }
                    None => {
                        let message = Message::Produce(request.clone());
                        super::routing::not_hosted(&mut context, from, request.partition, &message);
                    }
                }
            }
            AfterVerification::CoordinatorAppend { append, .. } => {
                let (context, _) = self.split(now_ms, effects);
                context.local_completions.push(LocalCompletion {
                    partition: append.partition,
                    waiter: append.waiter,
                    result: Err(answered),
                });
            }
        }
    }
}
