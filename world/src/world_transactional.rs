//! Where the world meets a transactional producer's application
//! (`application_transactional.rs`): it runs the application's loop on the producer, numbers
//! the values it sends, hands it the producer's completions, and writes what it reports to
//! the history and the trace.

use super::{NodeActor, World};
use crate::application::Application;
use crate::application_transactional::{HistoryEntry, TransactionalWork};
use crate::step_record::StepInput;
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{ClientId, NodeId};

impl World {
    /// Whether producer `client` runs a transactional application.
    pub(super) fn is_transactional_producer(&self, client: ClientId) -> bool {
        self.nodes
            .get(&NodeId::Producer(client))
            .and_then(|slot| slot.application.as_ref())
            .and_then(Application::producer)
            .is_some_and(|application| application.transactional.is_some())
    }

    /// The transactional application does its next piece of work due. Returns whether it
    /// did something.
    pub(super) fn maybe_run_transactional_application(
        &mut self,
        client: ClientId,
        now_ms: u64,
    ) -> bool {
        let node = NodeId::Producer(client);
        let next_value = self.next_value;
        let Some(slot) = self.nodes.get_mut(&node) else {
            return false;
        };
        let (Some(Application::Producer(application)), Some(NodeActor::Producer(producer))) =
            (slot.application.as_mut(), slot.actor.as_mut())
        else {
            return false;
        };
        let Some(transactional) = application.transactional.as_mut() else {
            return false;
        };
        let Some(work) = transactional.run(
            now_ms,
            producer,
            next_value,
            &mut application.remaining,
            application.interval_ms,
            application.key_space,
        ) else {
            return false;
        };
        let TransactionalWork {
            effects,
            history,
            sent_value,
            note,
        } = work;
        self.record_transactional_history(client, now_ms, history, note);
        match sent_value {
            Some(value) => {
                self.next_value += 1;
                self.execute(
                    node,
                    now_ms,
                    || StepInput::ApplicationSend { value },
                    effects,
                );
            }
            None => self.execute(node, now_ms, || StepInput::ApplicationStep, effects),
        }
        true
    }

    /// A transactional producer's event: its sends' and operations' completions go to its
    /// application, which reports the history.
    pub(super) fn record_transactional_event(
        &mut self,
        client: ClientId,
        now_ms: u64,
        event: Event,
    ) {
        let node = NodeId::Producer(client);
        let Some(slot) = self.nodes.get_mut(&node) else {
            return;
        };
        let producer_state = match slot.actor.as_ref() {
            Some(NodeActor::Producer(producer)) => producer.transaction_state(),
            _ => return,
        };
        let Some(transactional) = slot
            .application
            .as_mut()
            .and_then(Application::producer_mut)
            .and_then(|application| application.transactional.as_mut())
        else {
            return;
        };
        let work = match event {
            Event::SendCompleted {
                value,
                partition,
                result,
            } => {
                transactional.on_send_completed(value, partition, result);
                return;
            }
            Event::TransactionOperationCompleted { operation, result } => {
                transactional.on_operation_completed(now_ms, producer_state, operation, result)
            }
            _ => return,
        };
        self.record_transactional_history(client, now_ms, work.history, work.note);
    }

    /// A transactional producer's process starts again: its application records the lost
    /// transaction and initialises the new instance.
    pub(super) fn restart_transactional_application(&mut self, client: ClientId, now_ms: u64) {
        let Some(transactional) = self
            .nodes
            .get_mut(&NodeId::Producer(client))
            .and_then(|slot| slot.application.as_mut())
            .and_then(Application::producer_mut)
            .and_then(|application| application.transactional.as_mut())
        else {
            return;
        };
        let work = transactional.on_restart(now_ms);
        self.record_transactional_history(client, now_ms, work.history, work.note);
    }

    fn record_transactional_history(
        &mut self,
        client: ClientId,
        now_ms: u64,
        history: Vec<HistoryEntry>,
        note: Option<String>,
    ) {
        if let Some(note) = note {
            self.trace
                .note(now_ms, &NodeId::Producer(client).to_string(), &note);
        }
        for (op_type, body) in history {
            self.history.push(now_ms, client, op_type, body);
        }
    }
}
