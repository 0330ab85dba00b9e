//! Small runs written by hand for the teaching views' unit tests.

use crate::checkers::Checker;
use crate::step_record::{
    DropReason, MessageId, NemesisAction, Record, SendOutcome, SentMessage, StepInput, StepRecord,
};
use crate::violation::Violation;
use watermark_broker_core::event::{Event, RecordSummary};
use watermark_broker_core::ids::{BrokerId, ClientId, LeaderEpoch, NodeId, Offset, PartitionId};
use watermark_broker_core::topic::{TopicName, TopicPartition, DEFAULT_TOPIC};

pub const B1: NodeId = NodeId::Broker(BrokerId(1));
pub const B2: NodeId = NodeId::Broker(BrokerId(2));
pub const PRODUCER: NodeId = NodeId::Producer(ClientId(0));

pub fn partition() -> TopicPartition {
    TopicPartition::new(TopicName::new(DEFAULT_TOPIC), PartitionId(0))
}

/// A step of `node` at `time_ms` fed `input`, sending `sent` (id, to, due at).
pub fn step(time_ms: u64, node: NodeId, input: StepInput, sent: &[(u64, NodeId, u64)]) -> Record {
    Record::Step(StepRecord {
        time_ms,
        node,
        input,
        sent: sent
            .iter()
            .map(|&(id, to, delivery_ms)| SentMessage {
                id: MessageId(id),
                to,
                kind: "Produce",
                outcome: SendOutcome::InFlight { delivery_ms },
            })
            .collect(),
        closed: Vec::new(),
        connects: Vec::new(),
        events: Vec::new(),
        marks: Vec::new(),
    })
}

/// `record` with `events` added (it must be a step).
pub fn with_events(mut record: Record, events: Vec<Event>) -> Record {
    if let Record::Step(step) = &mut record {
        step.events = events;
    }
    record
}

pub fn receive(id: u64, from: NodeId) -> StepInput {
    StepInput::Message {
        id: MessageId(id),
        from,
        kind: "Produce",
    }
}

pub fn dropped(time_ms: u64, id: u64, from: NodeId, to: NodeId) -> Record {
    Record::Dropped {
        time_ms,
        id: MessageId(id),
        from,
        to,
        reason: DropReason::LinkCut,
    }
}

pub fn nemesis(time_ms: u64, action: NemesisAction) -> Record {
    Record::Nemesis { time_ms, action }
}

pub fn appended(offset: u64, value: u64) -> Event {
    Event::RecordsAppended {
        partition: partition(),
        as_leader: true,
        records: vec![RecordSummary {
            offset: Offset(offset),
            leader_epoch: LeaderEpoch(1),
            value,
        }],
    }
}

pub fn acknowledged(value: u64, offset: u64) -> Event {
    Event::SendCompleted {
        value,
        partition: partition(),
        result: Ok(Some(Offset(offset))),
    }
}

pub fn lost_write(value: u64, offset: u64, time_ms: u64) -> Violation {
    Violation {
        checker: Checker::LostWrite,
        partition: Some(partition()),
        offsets: vec![Offset(offset)],
        values: vec![value],
        time_ms,
        description: format!("value {value} was acknowledged at offset {offset}, then lost"),
    }
}
