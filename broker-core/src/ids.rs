//! Identifiers and log positions as newtypes, so that an epoch can never be passed where an
//! offset is expected. Every type is `Ord` and prints the way the trace spells it.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! newtype {
    ($(#[$meta:meta])* $name:ident($inner:ty), $prefix:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default, schemars::JsonSchema)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

newtype!(
    /// A broker's id, `broker.id` in Kafka. Brokers are numbered from 1.
    BrokerId(u32), "b"
);
newtype!(
    /// A partition of the single simulated topic.
    PartitionId(u32), "p"
);
newtype!(
    /// A position in a partition's log. The first record has offset 0.
    Offset(u64), ""
);
newtype!(
    /// The leader epoch: bumped by the controller on every leader change (KIP-101).
    LeaderEpoch(u32), "e"
);
newtype!(
    /// The partition epoch: bumped by the controller on every ISR or leader change (KIP-497,
    /// KRaft's AlterPartition). A stale AlterPartition is rejected by it.
    PartitionEpoch(u32), "pe"
);
newtype!(
    /// The broker epoch: handed out by the controller at each registration, so requests from
    /// an earlier incarnation of the same broker can be told apart and fenced.
    BrokerEpoch(u64), "be"
);
newtype!(
    /// The producer id of an idempotent or transactional producer.
    ProducerId(u64), "pid"
);
newtype!(
    /// The epoch of a producer id, bumped when a transactional producer with the same
    /// `transactional.id` starts again, fencing the earlier instance. Kafka stores it as an
    /// `int16` in a record batch, -1 meaning none.
    ProducerEpoch(u16), "pepoch"
);
newtype!(
    /// The per-partition sequence number of a record from an idempotent producer (Kafka's
    /// `baseSequence + i` in a record batch), by which the leader drops duplicates and
    /// detects gaps. Kafka stores it as an `int32`, -1 meaning none.
    Sequence(u32), "seq"
);
newtype!(
    /// Matches a response to its request on one connection.
    CorrelationId(u64), "c"
);
newtype!(
    /// A client (producer or consumer) number, unique within a run.
    ClientId(u32), "client"
);

newtype!(
    /// A consumer group's generation (Kafka's `generationId`, an `int32`): bumped by the
    /// coordinator each time a rebalance completes its join phase. Requests carrying an older
    /// one are fenced (ILLEGAL_GENERATION). Kafka's "no generation" is -1.
    GenerationId(i32), "gen"
);

impl GenerationId {
    /// Kafka's `NO_GENERATION` (-1): a consumer outside any group generation, or a commit
    /// from a consumer that manages its own assignment.
    pub const NONE: GenerationId = GenerationId(-1);

    /// The generation after this one.
    pub fn next(self) -> GenerationId {
        GenerationId(self.0.max(0) + 1)
    }
}

/// A transactional producer's `transactional.id`: the name that survives its restarts, by
/// which the transaction coordinator fences an earlier instance.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct TransactionalId(pub String);

impl fmt::Display for TransactionalId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A consumer group's name (`group.id`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct GroupId(pub String);

impl fmt::Display for GroupId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A member's id within a group, handed out by the coordinator (Kafka: the client id, a
/// dash and a UUID; here the client, the coordinator broker, its process incarnation and a
/// counter, so ids are unique and deterministic). Empty means "not yet a member" (Kafka's
/// `UNKNOWN_MEMBER_ID`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct MemberId(pub String);

impl MemberId {
    /// Kafka's `UNKNOWN_MEMBER_ID`: the empty string.
    pub fn unknown() -> MemberId {
        MemberId(String::new())
    }

    pub fn is_unknown(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            formatter.write_str("<unknown>")
        } else {
            formatter.write_str(&self.0)
        }
    }
}

impl Offset {
    /// The offset right after this one.
    pub fn next(self) -> Offset {
        Offset(self.0 + 1)
    }
}

impl LeaderEpoch {
    /// The epoch after this one.
    pub fn next(self) -> LeaderEpoch {
        LeaderEpoch(self.0 + 1)
    }
}

/// The network address of a simulated node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NodeId {
    /// The (single) controller, KRaft's active controller.
    Controller,
    /// A broker.
    Broker(BrokerId),
    /// A producer.
    Producer(ClientId),
    /// A consumer.
    Consumer(ClientId),
}

impl fmt::Display for NodeId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeId::Controller => write!(formatter, "ctl"),
            NodeId::Broker(broker) => write!(formatter, "{broker}"),
            NodeId::Producer(client) => write!(formatter, "prod{}", client.0),
            NodeId::Consumer(client) => write!(formatter, "cons{}", client.0),
        }
    }
}
