//! The nemesis's vocabulary: faults, their targets, event triggers and the random swarm.

use crate::configuration::ConfigurationSpace;
use serde::{Deserialize, Serialize};
use std::fmt;
use watermark_broker_core::ids::{BrokerId, Offset, PartitionId};
use watermark_broker_core::topic::{TopicName, TopicPartition};
use watermark_broker_core::transaction::TransactionState;

/// A partition as a scenario names it: an index (`0`: partition 0 of the scenario's first
/// topic) or a topic and an index (`{ topic = "orders", partition = 0 }`). Read by hand
/// (`fault_shape`), so a mistake lists both forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum PartitionRef {
    Index(PartitionId),
    Named {
        topic: TopicName,
        partition: PartitionId,
    },
}

impl PartitionRef {
    /// The partition it names, with `default_topic` for a bare index.
    pub fn resolve(self, default_topic: TopicName) -> TopicPartition {
        match self {
            PartitionRef::Index(partition) => TopicPartition::new(default_topic, partition),
            PartitionRef::Named { topic, partition } => TopicPartition::new(topic, partition),
        }
    }
}

impl From<TopicPartition> for PartitionRef {
    fn from(partition: TopicPartition) -> PartitionRef {
        PartitionRef::Named {
            topic: partition.topic,
            partition: partition.partition,
        }
    }
}

impl From<PartitionId> for PartitionRef {
    fn from(partition: PartitionId) -> PartitionRef {
        PartitionRef::Index(partition)
    }
}

impl fmt::Display for PartitionRef {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartitionRef::Index(partition) => write!(formatter, "{partition}"),
            PartitionRef::Named { topic, partition } => {
                write!(formatter, "{topic}-{}", partition.0)
            }
        }
    }
}

/// Which node a fault hits. Roles (`leader`, `follower`) are resolved when the fault fires,
/// from the controller's metadata, so a script can say "crash the leader" without knowing
/// which broker that will be. Read by hand (`fault_shape`), so a mistake lists every form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(deny_unknown_fields)]
pub enum Target {
    Broker(BrokerId),
    Controller,
    /// The current leader of the partition.
    Leader(PartitionRef),
    /// Every replica of the partition except the current leader.
    Followers(PartitionRef),
    /// Every broker.
    AllBrokers,
    /// The node whose event fired the trigger (only meaningful inside a trigger).
    EventSource,
    /// The broker that most recently joined the partition's ISR (an ISR expansion), if any
    /// has since the run began.
    NewestIsrMember(PartitionRef),
    /// The live follower of the partition with the lowest log end offset (the lowest id on
    /// a tie): the replica furthest behind.
    LaggingFollower(PartitionRef),
    /// The nodes the fault or trigger with this `label` hit, resolved when it fired: a
    /// repair of "crash the leader" restarts the broker that was crashed, not whoever leads
    /// now.
    Struck(String),
    Producer(u32),
    Consumer(u32),
    /// The broker coordinating this consumer group: the leader of the group's
    /// `__consumer_offsets` partition, resolved when the fault fires (a coordinator failover
    /// crashes it; a cut between a consumer and it isolates the member from its group).
    Coordinator(String),
    /// The broker coordinating this transactional id: the leader of its
    /// `__transaction_state` partition, resolved when the fault fires (a crash there is a
    /// transaction coordinator failover).
    TransactionCoordinator(String),
}

/// One fault, or its repair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "fault", deny_unknown_fields)]
pub enum Fault {
    /// Kill the process; the page cache survives (as on Linux).
    Crash {
        target: Target,
    },
    /// Cut the power: the process dies and every unsynced byte is lost (the last write may
    /// be torn).
    PowerLoss {
        target: Target,
    },
    /// Stop a broker gracefully (KIP-841): it asks the controller for a controlled shutdown,
    /// which moves its leaderships away and takes it out of every ISR, then flushes, writes
    /// its clean-shutdown marker and stops. Restart it later with `restart`.
    Shutdown {
        target: Target,
    },
    /// Start a crashed, powered-off or shut-down node again.
    Restart {
        target: Target,
    },
    /// Stop scheduling the process (a long GC pause); its traffic queues.
    Pause {
        target: Target,
    },
    Resume {
        target: Target,
    },
    /// Cut every link to and from the target (in-flight traffic is dropped).
    Isolate {
        target: Target,
    },
    /// Cut every link between `side` and every other node, both ways.
    PartitionAway {
        side: Vec<Target>,
    },
    /// Cut one direction only: `from` can no longer reach `to`.
    CutOneWay {
        from: Target,
        to: Target,
    },
    /// Add latency to every link into and out of the target (a slow follower).
    SlowLinks {
        target: Target,
        latency_ms: u64,
    },
    /// Make every fsync of the target take this long.
    SlowDisk {
        target: Target,
        fsync_latency_ms: u64,
    },
    /// Make a consumer's application take `processing_ms` per record for `duration_ms` (a
    /// slow downstream): slower than `max_poll_interval_ms`, the member leaves the group and
    /// its partitions are rebalanced away while it still processes.
    SlowProcessing {
        target: Target,
        processing_ms: u64,
        duration_ms: u64,
    },
    /// Repair every cut link, slow link and slow disk.
    HealAll,
    /// `to` reads the `api` requests `from` sends but handles them `delay_ms` late (a request
    /// stuck in the broker's queue): the client may time out and move on, the broker still
    /// handles them (`held_requests.rs`). `heal-all` ends the hold.
    HoldRequests {
        from: Target,
        to: Target,
        api: crate::held_requests::HeldApi,
        delay_ms: u64,
    },
    /// An administrator's DeleteRecords (KIP-107), sent to the partition's leader when the
    /// fault fires: its log start offset moves to `before_offset`, or to its high watermark
    /// when `before_offset` is left out, and every record below is gone for readers. The
    /// leader refuses an offset past its high watermark. Checkers do not count deleted
    /// records as lost (docs/DECISIONS.md).
    DeleteRecords {
        partition: PartitionRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before_offset: Option<Offset>,
    },
}

/// A fault at a fixed simulated time.
// No `deny_unknown_fields` here: serde cannot combine it with `flatten`; the flattened
// enum rejects unknown keys itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(extend("unevaluatedProperties" = false))]
pub struct ScriptedFault {
    pub at_ms: u64,
    #[serde(flatten)]
    pub fault: Fault,
    /// Remember the nodes this fault hits under this name, for a later `struck` target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The run may go on without it: when it cannot apply (its node is already down, its
    /// target names no node), it is listed under `faults_not_applied` but the run does not
    /// fail for it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
}

/// For `skip_serializing_if`: a `false` flag is the default and is left out.
fn is_false(flag: &bool) -> bool {
    !*flag
}

impl ScriptedFault {
    pub fn at(at_ms: u64, fault: Fault) -> ScriptedFault {
        ScriptedFault {
            at_ms,
            fault,
            label: None,
            optional: false,
        }
    }
}

/// A protocol moment a trigger waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "when", deny_unknown_fields)]
pub enum Condition {
    /// A leader answered a produce successfully for a batch reaching this offset.
    LeaderAcked {
        partition: PartitionRef,
        offset_at_least: Offset,
    },
    /// A leader's ISR became exactly this many replicas.
    IsrShrunkTo {
        partition: PartitionRef,
        size: usize,
    },
    /// A leader's high watermark reached this offset.
    HighWatermarkReached {
        partition: PartitionRef,
        offset: Offset,
    },
    /// The controller elected a new leader for the partition (not the first election).
    LeaderChanged { partition: PartitionRef },
    /// A leader's ISR grew: a follower caught up and joined it.
    IsrExpanded { partition: PartitionRef },
    /// A follower cut its log because a fetch (a diverging epoch, or an
    /// OffsetsForLeaderEpoch answer) told it where it diverges from the leader.
    FetchTruncated { partition: PartitionRef },
    /// Right after consumer `consumer` learned that a commit of its was accepted
    /// (`OffsetCommitCompleted` with success).
    MemberCommitted { consumer: u32 },
    /// When the group's coordinator starts a rebalance (the group moves to
    /// `PreparingRebalance`).
    RebalanceStarted { group: String },
    /// When the transaction coordinator of `transactional_id` has written (committed to its
    /// `__transaction_state` partition) a move of its transaction to `state` (`empty`,
    /// `ongoing`, `prepare-commit`, `prepare-abort`, `complete-commit` or
    /// `complete-abort`); the event's source is that coordinator.
    TransactionState {
        transactional_id: String,
        state: TransactionStep,
    },
}

/// A state a trigger can wait for a transaction to reach: the states the transaction
/// coordinator writes (Kafka's `TransactionState`, less the never-written PrepareEpochFence
/// and Dead).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TransactionStep {
    /// After InitProducerId: no transaction open.
    Empty,
    /// The first partition was added: the transaction is open.
    Ongoing,
    /// EndTxn(commit) is written; the COMMIT markers are about to go out.
    PrepareCommit,
    /// EndTxn(abort), a fencing or a timeout is written; the ABORT markers are about to go
    /// out.
    PrepareAbort,
    /// Every COMMIT marker is written.
    CompleteCommit,
    /// Every ABORT marker is written.
    CompleteAbort,
}

impl TransactionStep {
    /// The coordinator state this step is.
    pub fn state(self) -> TransactionState {
        match self {
            TransactionStep::Empty => TransactionState::Empty,
            TransactionStep::Ongoing => TransactionState::Ongoing,
            TransactionStep::PrepareCommit => TransactionState::PrepareCommit,
            TransactionStep::PrepareAbort => TransactionState::PrepareAbort,
            TransactionStep::CompleteCommit => TransactionState::CompleteCommit,
            TransactionStep::CompleteAbort => TransactionState::CompleteAbort,
        }
    }

    /// The name scenario files use.
    pub fn name(self) -> &'static str {
        match self {
            TransactionStep::Empty => "empty",
            TransactionStep::Ongoing => "ongoing",
            TransactionStep::PrepareCommit => "prepare-commit",
            TransactionStep::PrepareAbort => "prepare-abort",
            TransactionStep::CompleteCommit => "complete-commit",
            TransactionStep::CompleteAbort => "complete-abort",
        }
    }
}

/// "When this happens, do that": faults fired by protocol events, so a demonstration is exact
/// on every seed.
// No `deny_unknown_fields` here either, for the same reason as `ScriptedFault`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(extend("unevaluatedProperties" = false))]
pub struct Trigger {
    #[serde(flatten)]
    pub condition: Condition,
    /// Faults to apply, in order, `delay_ms` after the event (0: before anything else runs).
    pub then: Vec<Fault>,
    #[serde(default)]
    pub delay_ms: u64,
    /// The trigger is armed only from this time on: an event before it fires nothing.
    #[serde(default)]
    pub after_ms: u64,
    /// Remember the nodes the `then` faults hit under this name, for a `struck` target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Faults applied this long after the event (`at_ms` counts from the event), such as
    /// the repair of what `then` did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub later: Vec<ScriptedFault>,
    /// The demonstration does not depend on it: if it never fires, or its faults cannot
    /// apply, they are listed under `faults_not_applied` but the run does not fail.
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
}

/// Which kinds of fault the random swarm may draw. They take the names of the scripted faults
/// they draw (`partition-away`, `cut-one-way`, `slow-links`); the swarm's older names
/// (`partition`, `one-way-cut`, `slow-follower`) are read as aliases (`fault_shape`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(transform = crate::json_schema::add_fault_kind_spellings)]
pub enum FaultKind {
    Crash,
    PowerLoss,
    Pause,
    #[serde(rename = "partition-away")]
    Partition,
    #[serde(rename = "cut-one-way")]
    OneWayCut,
    /// Slow the links of a follower of some partition.
    #[serde(rename = "slow-links")]
    SlowFollower,
    SlowDisk,
    /// A controlled shutdown of a broker, restarted at the end of the fault.
    Shutdown,
    /// A crash or power loss of a partition's current leader, restarted well within
    /// `broker.session.timeout.ms`: it comes back before the controller fences it.
    QuickLeaderRestart,
    /// A power loss of one broker the drawn configuration lets go without fsync after every
    /// message (any single broker when none is drawn so).
    UnsyncedPowerLoss,
    /// A group member's processing slows (the scripted `slow-processing`), each record up
    /// to half its `max_poll_interval_ms`: a batch outlasts the poll interval and the member
    /// is rebalanced away. Drawn only when a consumer is in a group.
    SlowProcessing,
}

impl FaultKind {
    pub const ALL: [FaultKind; 11] = [
        FaultKind::Crash,
        FaultKind::PowerLoss,
        FaultKind::Pause,
        FaultKind::Partition,
        FaultKind::OneWayCut,
        FaultKind::SlowFollower,
        FaultKind::SlowDisk,
        FaultKind::Shutdown,
        FaultKind::QuickLeaderRestart,
        FaultKind::UnsyncedPowerLoss,
        FaultKind::SlowProcessing,
    ];

    /// Whether the kind only hits group members, so a swarm without consumer groups has
    /// nothing to aim it at.
    pub fn needs_groups(self) -> bool {
        self == FaultKind::SlowProcessing
    }
}

/// A seeded random fault schedule for the safety phase. The seed picks which enabled kinds
/// occur, how often and for how long. When consumers are in groups, faults also hit them:
/// a crash, pause, `partition-away`, `cut-one-way` or `slow-links` may aim at a group member
/// (cut one way from or to its coordinator), and a broker fault at the group's coordinator;
/// `slow-processing` always aims at a member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Swarm {
    pub kinds: Vec<FaultKind>,
    /// Time between fault starts is drawn uniformly from this range.
    pub interval_ms_min: u64,
    pub interval_ms_max: u64,
    /// How long a fault lasts before its repair, drawn uniformly from this range.
    pub duration_ms_min: u64,
    pub duration_ms_max: u64,
    /// What configuration each seed may draw (`[faults.swarm.configuration]`); absent,
    /// nothing varies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration: Option<ConfigurationSpace>,
}

impl Default for Swarm {
    fn default() -> Self {
        Swarm {
            kinds: FaultKind::ALL.to_vec(),
            interval_ms_min: 1_000,
            interval_ms_max: 8_000,
            duration_ms_min: 500,
            duration_ms_max: 15_000,
            configuration: None,
        }
    }
}

impl Fault {
    /// Every target of the fault, to change in place (the shrinker renumbers clients);
    /// the same list as [`Fault::named_targets`], which reads them.
    pub fn targets_mut(&mut self) -> Vec<&mut Target> {
        match self {
            Fault::Crash { target }
            | Fault::PowerLoss { target }
            | Fault::Shutdown { target }
            | Fault::Restart { target }
            | Fault::Pause { target }
            | Fault::Resume { target }
            | Fault::Isolate { target }
            | Fault::SlowLinks { target, .. }
            | Fault::SlowDisk { target, .. }
            | Fault::SlowProcessing { target, .. } => vec![target],
            Fault::PartitionAway { side } => side.iter_mut().collect(),
            Fault::CutOneWay { from, to } | Fault::HoldRequests { from, to, .. } => {
                vec![from, to]
            }
            Fault::HealAll | Fault::DeleteRecords { .. } => Vec::new(),
        }
    }

    /// Every target the fault names, with its key in the fault's table: `target`, `from`,
    /// `to`, `side[1]`.
    pub fn named_targets(&self) -> Vec<(String, &Target)> {
        match self {
            Fault::Crash { target }
            | Fault::PowerLoss { target }
            | Fault::Shutdown { target }
            | Fault::Restart { target }
            | Fault::Pause { target }
            | Fault::Resume { target }
            | Fault::Isolate { target }
            | Fault::SlowLinks { target, .. }
            | Fault::SlowDisk { target, .. }
            | Fault::SlowProcessing { target, .. } => vec![("target".to_string(), target)],
            Fault::PartitionAway { side } => side
                .iter()
                .enumerate()
                .map(|(position, target)| (format!("side[{position}]"), target))
                .collect(),
            Fault::CutOneWay { from, to } | Fault::HoldRequests { from, to, .. } => {
                vec![("from".to_string(), from), ("to".to_string(), to)]
            }
            Fault::HealAll | Fault::DeleteRecords { .. } => Vec::new(),
        }
    }

    /// Every target the fault names.
    pub fn targets(&self) -> Vec<&Target> {
        self.named_targets()
            .into_iter()
            .map(|(_, target)| target)
            .collect()
    }
}
