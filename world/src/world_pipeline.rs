//! The world's side of consume-transform-produce processes (`processing =
//! "consume-transform-produce"`): their clients and loop are built when the process
//! starts, the loop is stepped like a group consumer's application, the producer's
//! callbacks and completed calls are handed to it, and what it reports goes into the
//! history. A child module of `world.rs`, of which it is a part.

use super::{NodeActor, World};
use crate::application::Application;
use crate::application_history::revocation_op;
use crate::application_pipeline::{
    OperationFailure, PipelineApplication, PipelineClients, PipelineHistory, PipelineWork,
};
use crate::history::{OpBody, OpType};
use crate::pipeline_client::PipelineClient;
use crate::step_record::StepInput;
use std::sync::Arc;
use watermark_broker_core::actor::Effect;
use watermark_broker_core::consumer::{Consumer, PollOutcome};
use watermark_broker_core::error::ErrorCode;
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{BrokerId, ClientId, NodeId, TransactionalId};
use watermark_broker_core::producer::{Producer, TransactionState};
use watermark_broker_core::protocol::{ConsumerGroupMetadata, OffsetAndMetadata};
use watermark_broker_core::topic::TopicPartition;

impl PipelineClients for PipelineClient {
    fn poll(&mut self, now_ms: u64) -> PollOutcome {
        self.consumer.poll(now_ms)
    }

    fn has_records_for_poll(&self) -> bool {
        self.consumer.has_records_for_poll()
    }

    fn group_metadata(&self) -> Option<ConsumerGroupMetadata> {
        self.consumer.group_metadata()
    }

    fn rewind_to_committed(&mut self) {
        self.consumer.rewind_to_committed();
    }

    fn replace_producer(&mut self, now_ms: u64) -> Vec<Effect> {
        PipelineClient::replace_producer(self, now_ms)
    }
    fn init_transactions(&mut self, now_ms: u64) -> Vec<Effect> {
        self.producer.init_transactions(now_ms)
    }

    fn begin_transaction(&mut self) -> Result<(), ErrorCode> {
        self.producer.begin_transaction()
    }

    fn send(&mut self, now_ms: u64, value: u64, key: Option<u64>) -> Vec<Effect> {
        self.producer.send(now_ms, value, key)
    }

    fn send_offsets_to_transaction(
        &mut self,
        now_ms: u64,
        offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
        group: ConsumerGroupMetadata,
    ) -> Vec<Effect> {
        self.producer
            .send_offsets_to_transaction(now_ms, offsets, group)
    }

    fn commit_transaction(&mut self, now_ms: u64) -> Vec<Effect> {
        self.producer.commit_transaction(now_ms)
    }

    fn abort_transaction(&mut self, now_ms: u64) -> Vec<Effect> {
        self.producer.abort_transaction(now_ms)
    }
}

impl World {
    /// The clients and loop of consume-transform-produce consumer `client`, for a new
    /// process.
    pub(super) fn start_pipeline(&mut self, client: ClientId, brokers: Vec<BrokerId>) -> NodeActor {
        let scenario = Arc::clone(&self.scenario);
        let index = client.0 as usize;
        let workload = &scenario.consumers[index];
        let group = workload.group().unwrap_or_default();
        let output = workload.output_topic.unwrap_or_default();
        let mut producer_config = workload.producer.clone().unwrap_or_default();
        let transactional_id = producer_config
            .transactional_id
            .get_or_insert_with(|| default_transactional_id(&group.0, index))
            .clone();
        let partition_count = scenario
            .topic_config(output)
            .map_or(1, |config| config.partitions);
        let consumer = Consumer::subscribed(
            client,
            workload.config.clone(),
            brokers.clone(),
            scenario.subscribed_topics(index),
        )
        .with_bug_switches(scenario.bugs);
        let producer = Producer::new(client, producer_config, brokers, output, partition_count);
        let begun = self
            .pipeline_transactions
            .get(&client)
            .copied()
            .unwrap_or(0);
        let application = PipelineApplication::new(
            group,
            TransactionalId(transactional_id),
            workload.processing_ms(),
            workload.poll_timeout_ms(),
            begun,
        );
        self.slot_mut(NodeId::Consumer(client)).application =
            Some(Application::Pipeline(Box::new(application)));
        NodeActor::Pipeline(Box::new(PipelineClient::new(consumer, producer)))
    }

    /// The loop's first call, once both clients started: `initTransactions`.
    pub(super) fn start_pipeline_loop(&mut self, node: NodeId, now_ms: u64) {
        let work = self.with_pipeline(node, |application, clients| {
            application.start(now_ms, clients)
        });
        if let Some(work) = work {
            self.apply_pipeline_work(node, now_ms, work);
        }
    }

    /// Does the loop's next piece of work due at `now_ms`. Returns whether it did.
    pub(super) fn maybe_run_pipeline(&mut self, node: NodeId, now_ms: u64) -> bool {
        let mut next_value = self.next_value;
        let work = self.with_pipeline(node, |application, clients| {
            application.run(now_ms, clients, &mut next_value)
        });
        self.next_value = next_value;
        match work.flatten() {
            Some(work) => {
                self.apply_pipeline_work(node, now_ms, work);
                true
            }
            None => false,
        }
    }

    /// A producer event of a pipeline process: a send's callback, or a completed call the
    /// loop waits for. Returns whether it was one.
    pub(super) fn pipeline_event(&mut self, node: NodeId, now_ms: u64, event: &Event) -> bool {
        match event {
            Event::SendCompleted {
                value,
                partition,
                result,
            } => {
                let result = match result {
                    Ok(offset) => Ok(*offset),
                    Err(failure) => Err((failure.error, failure.definite)),
                };
                self.with_pipeline(node, |application, _| {
                    application.send_completed(*value, *partition, result)
                });
                true
            }
            Event::TransactionOperationCompleted { operation, result } => {
                let work = self.with_pipeline(node, |application, clients| {
                    let result = result.map_err(|error| {
                        if clients.producer.transaction_state() == TransactionState::FatalError {
                            OperationFailure::Fatal(error)
                        } else {
                            OperationFailure::Abortable(error)
                        }
                    });
                    application.operation_completed(now_ms, *operation, result, clients)
                });
                if let Some(work) = work {
                    self.apply_pipeline_work(node, now_ms, work);
                }
                true
            }
            _ => false,
        }
    }

    /// The process stopped: its open transaction ends with an unknown or failed outcome,
    /// and the loop's count of transactions carries over to the next process.
    pub(super) fn stop_pipeline(
        &mut self,
        client: ClientId,
        now_ms: u64,
        mut application: Box<PipelineApplication>,
    ) {
        self.pipeline_transactions
            .insert(client, application.transactions_begun());
        let work = application.end_unknown(now_ms);
        self.record_pipeline_history(client, now_ms, &application, work.history);
        let body = revocation_op(
            application.group.clone(),
            application.generation,
            &application.assignment,
            application.assignment.clone(),
            true,
        );
        self.history.push(now_ms, client, OpType::Ok, body);
    }

    /// Runs `f` on a pipeline process's loop and clients, if `node` is one and is up.
    fn with_pipeline<T>(
        &mut self,
        node: NodeId,
        f: impl FnOnce(&mut PipelineApplication, &mut PipelineClient) -> T,
    ) -> Option<T> {
        let slot = self.nodes.get_mut(&node)?;
        match (slot.application.as_mut(), slot.actor.as_mut()) {
            (Some(Application::Pipeline(application)), Some(NodeActor::Pipeline(clients))) => {
                Some(f(application, clients))
            }
            _ => None,
        }
    }

    fn apply_pipeline_work(&mut self, node: NodeId, now_ms: u64, work: PipelineWork) {
        self.execute(node, now_ms, || StepInput::ApplicationStep, work.effects);
        let NodeId::Consumer(client) = node else {
            return;
        };
        let Some(Application::Pipeline(application)) = self
            .nodes
            .get_mut(&node)
            .and_then(|slot| slot.application.take())
        else {
            return;
        };
        self.record_pipeline_history(client, now_ms, &application, work.history);
        if let Some(slot) = self.nodes.get_mut(&node) {
            slot.application = Some(Application::Pipeline(application));
        }
    }

    fn record_pipeline_history(
        &mut self,
        client: ClientId,
        now_ms: u64,
        application: &PipelineApplication,
        entries: Vec<PipelineHistory>,
    ) {
        for entry in entries {
            match entry {
                PipelineHistory::Began { number } => self.history.push(
                    now_ms,
                    client,
                    OpType::Invoke,
                    OpBody::Transaction {
                        transactional_id: application.transactional_id.clone(),
                        number,
                        sends: Vec::new(),
                        polls: Vec::new(),
                        offsets: None,
                        commit: false,
                        error: None,
                    },
                ),
                PipelineHistory::SendInvoked { value } => self.history.push(
                    now_ms,
                    client,
                    OpType::Invoke,
                    OpBody::Send {
                        value,
                        partition: None,
                        offset: None,
                        error: None,
                    },
                ),
                PipelineHistory::Ended(ended) => {
                    if ended.op_type == OpType::Ok {
                        // The committed transaction is the processing's result reaching its
                        // sink: the output and the input positions, together.
                        for (partition, records) in &ended.polls {
                            for (offset, value) in records {
                                self.history.push(
                                    now_ms,
                                    client,
                                    OpType::Ok,
                                    OpBody::Process {
                                        group: application.group.clone(),
                                        partition: *partition,
                                        offset: *offset,
                                        value: *value,
                                    },
                                );
                            }
                        }
                    }
                    for (send, (op_type, error)) in ended.sends.iter().zip(&ended.send_outcomes) {
                        self.history.push(
                            now_ms,
                            client,
                            *op_type,
                            OpBody::Send {
                                value: send.value,
                                partition: send.partition,
                                offset: send.offset.filter(|_| *op_type == OpType::Ok),
                                error: *error,
                            },
                        );
                    }
                    self.trace.note(
                        now_ms,
                        &NodeId::Consumer(client).to_string(),
                        &format!(
                            "transaction {} of {} ended {:?} ({} sends)",
                            ended.number,
                            application.transactional_id,
                            ended.op_type,
                            ended.sends.len()
                        ),
                    );
                    self.history.push(
                        now_ms,
                        client,
                        ended.op_type,
                        OpBody::Transaction {
                            transactional_id: application.transactional_id.clone(),
                            number: ended.number,
                            sends: ended.sends,
                            polls: ended.polls,
                            offsets: ended.offsets,
                            commit: ended.commit,
                            error: ended.error,
                        },
                    );
                }
                PipelineHistory::Rewound => {
                    // Every partition restarts from its committed offset: for the poll
                    // checkers, as after a reassignment (see DECISIONS.md).
                    self.history.push(
                        now_ms,
                        client,
                        OpType::Ok,
                        OpBody::Assign {
                            group: application.group.clone(),
                            generation: application.generation,
                            assignment: application.assignment.clone(),
                            revoked: application.assignment.clone(),
                            lost: false,
                        },
                    );
                }
            }
        }
    }
}

/// The transactional id of consume-transform-produce consumer `index` whose producer
/// names none: one per consumer of the scenario, stable across its restarts (KIP-447
/// lets each instance keep its own id; fencing of zombies is by group generation).
pub fn default_transactional_id(group: &str, index: usize) -> String {
    format!("{group}-transformer-{index}")
}
