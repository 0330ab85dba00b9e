//! Everything one run shares: the actors of every node, the network, the disks, the history,
//! the trace, the checkers and the coverage marks. Node shells (`node.rs`) and the nemesis
//! (`nemesis.rs`) act on it one step at a time; madsim runs one task at a time, so a step is
//! never interleaved with another.
//!
//! A step feeds one node everything that is due — messages, then its own deadline, then its
//! application's next sends — and executes the effects: messages go on links, events go to
//! the trace, the checkers, the history and the triggers. No protocol decision is made here.

use crate::application::Application;
pub use crate::application::ProducerApplication;
use crate::application_consumer::ConsumerApplication;
use crate::application_history::{commit_op, commit_outcome, revocation_op};
use crate::application_transactional::TransactionalApplication;
use crate::checkers::{ClusterView, CoordinatorLog, ReplicaCheckers};
use crate::disk::Disk;
use crate::fault::{Fault, Trigger};
use crate::history::{History, OpBody, OpType};
use crate::network::{Delivery, Envelope, Network};
use crate::not_applied::{FaultSource, NotApplied};
use crate::pipeline_client::PipelineClient;
use crate::processing::{write_every_record, ProcessorFactory};
use crate::scenario::{Scenario, TRANSACTION_RECORDS_DEFAULT};
use crate::sink::{Sink, SinkEntry};
use crate::step_record::{NemesisAction, Record, SendOutcome, SentMessage, StepInput, StepRecord};
use crate::trace::{Trace, TraceMode};
use crate::trigger::{condition_matches, describe_condition};
use crate::violation::Violation;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use watermark_broker_core::actor::{Actor, Effect, Input, Timer};
use watermark_broker_core::broker::Broker;
use watermark_broker_core::consumer::Consumer;
use watermark_broker_core::controller::Controller;
use watermark_broker_core::event::{CommitId, Event};
use watermark_broker_core::ids::{BrokerId, ClientId, NodeId};
use watermark_broker_core::mark::Mark;
use watermark_broker_core::metadata::MetadataImage;
use watermark_broker_core::producer::Producer;
use watermark_broker_core::protocol::{DeleteRecordsRequest, DeleteRecordsResponse};
use watermark_broker_core::replica_view::ReplicaView;
use watermark_broker_core::topic::TopicPartition;

/// Tells whoever drives a node that there is work for it. The driver decides what waking means
/// (the madsim shell sets a madsim timer or wakes its task); dropping the waker tells it the
/// process stopped.
pub type Waker = Box<dyn NodeWaker>;

/// How the world wakes a node's process.
pub trait NodeWaker: Send {
    /// Step the node now: a resume, a heal, a fault's effect on it.
    fn wake_now(&self);
    /// Step the node at `at_ms`, when a message for it falls due before its planned wake-up,
    /// and not before: it has nothing to do until the message arrives.
    fn wake_at(&self, at_ms: u64);
}

/// A closure wakes the node at once for both (a driver that steps by hand, in tests).
impl<F: Fn() + Send> NodeWaker for F {
    fn wake_now(&self) {
        self()
    }

    fn wake_at(&self, _at_ms: u64) {
        self()
    }
}

/// How the world tells the nemesis a trigger fired.
pub type NemesisWaker = Box<dyn Fn() + Send>;

/// The logic running on a node.
pub enum NodeActor {
    Broker(Box<Broker>),
    Controller(Box<Controller>),
    Producer(Box<Producer>),
    Consumer(Box<Consumer>),
    /// A consume-transform-produce process: its consumer and producer (`pipeline_client.rs`).
    Pipeline(Box<PipelineClient>),
}

#[path = "world_transactional.rs"]
mod transactional;

#[path = "world_pipeline.rs"]
mod pipeline;
pub use pipeline::default_transactional_id;

impl NodeActor {
    fn as_actor(&mut self) -> &mut dyn Actor {
        match self {
            NodeActor::Broker(broker) => broker.as_mut(),
            NodeActor::Controller(controller) => controller.as_mut(),
            NodeActor::Producer(producer) => producer.as_mut(),
            NodeActor::Consumer(consumer) => consumer.as_mut(),
            NodeActor::Pipeline(pipeline) => pipeline.as_mut(),
        }
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        match self {
            NodeActor::Broker(broker) => broker.next_deadline_ms(),
            NodeActor::Controller(controller) => controller.next_deadline_ms(),
            NodeActor::Producer(producer) => producer.next_deadline_ms(),
            NodeActor::Consumer(consumer) => consumer.next_deadline_ms(),
            NodeActor::Pipeline(pipeline) => pipeline.next_deadline_ms(),
        }
    }

    fn due_timers(&self, now_ms: u64) -> Vec<Timer> {
        match self {
            NodeActor::Broker(broker) => broker.due_timers(now_ms),
            NodeActor::Controller(controller) => controller.due_timers(now_ms),
            NodeActor::Producer(producer) => producer.due_timers(now_ms),
            NodeActor::Consumer(consumer) => consumer.due_timers(now_ms),
            NodeActor::Pipeline(pipeline) => pipeline.due_timers(now_ms),
        }
    }

    /// The consumer of a consumer's or a consume-transform-produce process.
    pub fn consumer(&self) -> Option<&Consumer> {
        match self {
            NodeActor::Consumer(consumer) => Some(consumer),
            NodeActor::Pipeline(pipeline) => Some(&pipeline.consumer),
            _ => None,
        }
    }

    /// The producer of a producer's or a consume-transform-produce process.
    pub fn producer(&self) -> Option<&Producer> {
        match self {
            NodeActor::Producer(producer) => Some(producer),
            NodeActor::Pipeline(pipeline) => Some(&pipeline.producer),
            _ => None,
        }
    }
}

/// What the world knows about one node.
pub struct NodeSlot {
    /// `None` while the process is down.
    pub actor: Option<NodeActor>,
    /// Process starts so far; the next one gets this number.
    pub incarnation: u64,
    /// The node is in the middle of an fsync until then.
    pub busy_until_ms: u64,
    /// A trigger fired on this node's event: it does nothing more until the nemesis acts.
    pub frozen: bool,
    pub paused: bool,
    /// Wakes the node's shell when a message arrives for it.
    pub waker: Option<Waker>,
    /// When the shell will next step on its own (`None`: not until woken). A message due
    /// later than this needs no wake-up: the shell will look at it when it next steps.
    pub planned_wake_ms: Option<u64>,
    pub application: Option<Application>,
}

/// A fault waiting for the nemesis, from a trigger.
#[derive(Clone, Debug)]
pub struct PendingFault {
    pub due_ms: u64,
    pub fault: Fault,
    /// The node whose event fired the trigger.
    pub source: NodeId,
    /// The label to remember the nodes it hits under (see `Target::Struck`).
    pub label: Option<String>,
    /// The trigger's condition as the trace reads it.
    pub trigger: String,
    /// Where the trigger came from (a scenario's triggers, or the swarm).
    pub origin: FaultSource,
    /// The run does not fail if it cannot apply.
    pub optional: bool,
}

/// A trigger of the run and whether it fired yet.
#[derive(Clone, Debug)]
pub struct ArmedTrigger {
    pub trigger: Trigger,
    pub fired: bool,
    /// `Trigger` for the scenario's own, `Swarm` for one the swarm drew.
    pub origin: FaultSource,
}

/// The state of one run.
pub struct World {
    pub scenario: Arc<Scenario>,
    pub seed: u64,
    /// Draws for link latency and torn writes. The swarm has its own stream so that the
    /// fault schedule does not shift when traffic changes.
    pub random: StdRng,
    pub network: Network,
    pub disks: BTreeMap<NodeId, Disk>,
    pub nodes: BTreeMap<NodeId, NodeSlot>,
    pub trace: Trace,
    pub history: History,
    pub replica_checkers: ReplicaCheckers,
    /// The offset commits the group coordinators accepted, for the group-commit checkers.
    pub coordinator_log: CoordinatorLog,
    pub violations: Vec<Violation>,
    pub marks: BTreeMap<Mark, u64>,
    pub triggers: Vec<ArmedTrigger>,
    pub triggers_armed: bool,
    pub pending_faults: Vec<PendingFault>,
    /// Faults and triggers the nemesis could not apply, in the order it found out.
    pub faults_not_applied: Vec<NotApplied>,
    pub nemesis_waker: Option<NemesisWaker>,
    /// Per partition, the broker that most recently joined its ISR (for
    /// `Target::NewestIsrMember`).
    pub newest_isr_member: BTreeMap<TopicPartition, BrokerId>,
    /// The last metadata image the controller published, for resolving `leader` targets
    /// while the controller is down.
    pub last_metadata: MetadataImage,
    next_value: u64,
    pub events: u64,
    /// Every record of the run, when kept (teaching views and `--records`).
    pub records: Option<Vec<Record>>,
    /// Whether a `tracing` subscriber wants step records (asked once per run: subscribers
    /// are installed when the process starts).
    tracing_steps: bool,
    /// Where group consumers' applications write what they processed; outside every node,
    /// so it survives their crashes.
    pub sink: Sink,
    /// Makes each group consumer process's processing step (the built-in one unless the
    /// scenario's builder plugged in a user's).
    pub processor_factory: ProcessorFactory,
    /// Whether each commit a consumer started was an auto-commit, until it completes.
    commits_in_flight: BTreeMap<(ClientId, CommitId), bool>,
    /// Per consume-transform-produce consumer, how many transactions its earlier processes
    /// began (their numbering goes on across restarts).
    pipeline_transactions: BTreeMap<ClientId, u64>,
}

/// The world behind a lock, shared by the node shells and the nemesis.
#[derive(Clone)]
pub struct SharedWorld(Arc<Mutex<World>>);

impl SharedWorld {
    pub fn new(world: World) -> SharedWorld {
        SharedWorld(Arc::new(Mutex::new(world)))
    }

    pub fn lock(&self) -> MutexGuard<'_, World> {
        // Only one task runs at a time; a poisoned lock means a node panicked, which the
        // runner reports with the seed. Keep the state for the report.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Every node of a scenario, in a fixed order: controller, brokers, producers, consumers.
pub fn node_ids(scenario: &Scenario) -> Vec<NodeId> {
    let mut nodes = vec![NodeId::Controller];
    nodes.extend((1..=scenario.brokers).map(|broker| NodeId::Broker(BrokerId(broker))));
    nodes.extend(
        (0..scenario.producers.len()).map(|index| NodeId::Producer(ClientId(index as u32))),
    );
    nodes.extend(
        (0..scenario.consumers.len()).map(|index| NodeId::Consumer(ClientId(index as u32))),
    );
    nodes
}

/// The brokers of a scenario.
pub fn broker_ids(scenario: &Scenario) -> Vec<BrokerId> {
    (1..=scenario.brokers).map(BrokerId).collect()
}

/// `ClusterView` over the world's live brokers and the controller's metadata.
pub struct NodesView<'a> {
    pub nodes: &'a BTreeMap<NodeId, NodeSlot>,
    /// The last image the controller published, for when it is down (or has not yet
    /// caught up after a restart).
    pub last_metadata: &'a MetadataImage,
    pub scenario: &'a Scenario,
}

impl NodesView<'_> {
    fn broker(&self, broker: BrokerId) -> Option<&Broker> {
        match self.nodes.get(&NodeId::Broker(broker))?.actor.as_ref()? {
            NodeActor::Broker(actor) => Some(actor),
            _ => None,
        }
    }

    /// The controller's newest image: its own while it is up and at least as new as the
    /// last one it published, the last published one otherwise.
    fn controller_metadata(&self) -> &MetadataImage {
        let running =
            self.nodes
                .get(&NodeId::Controller)
                .and_then(|slot| match slot.actor.as_ref()? {
                    NodeActor::Controller(controller) => Some(controller.metadata()),
                    _ => None,
                });
        match running {
            Some(image) if image.version >= self.last_metadata.version => image,
            _ => self.last_metadata,
        }
    }
}

impl ClusterView for NodesView<'_> {
    fn live_brokers(&self) -> Vec<BrokerId> {
        self.nodes
            .iter()
            .filter_map(|(node, slot)| match (node, &slot.actor) {
                (NodeId::Broker(broker), Some(NodeActor::Broker(_))) => Some(*broker),
                _ => None,
            })
            .collect()
    }

    fn replica(&self, broker: BrokerId, partition: TopicPartition) -> Option<ReplicaView<'_>> {
        self.broker(broker)?.replica_view(partition)
    }

    fn controller_isr(&self, partition: TopicPartition) -> Option<&[BrokerId]> {
        self.controller_metadata()
            .partition(partition)
            .map(|state| state.isr.as_slice())
    }

    fn min_insync_replicas(&self, partition: TopicPartition) -> Option<usize> {
        let topic = self.scenario.topic_config(partition.topic)?;
        Some(topic.min_insync_replicas.min(topic.replication_factor) as usize)
    }

    fn is_in_service(&self, broker: BrokerId) -> bool {
        // A broker's image starts empty with every process and only a registered process
        // applies images, so a non-empty image is one this incarnation received.
        self.broker(broker)
            .is_some_and(|broker| broker.broker_epoch().is_some() && broker.metadata().version > 0)
    }
}

impl World {
    /// The cluster as the replica-state checkers see it.
    pub fn cluster_view(&self) -> NodesView<'_> {
        NodesView {
            nodes: &self.nodes,
            last_metadata: &self.last_metadata,
            scenario: &self.scenario,
        }
    }

    /// The replica checkers' end-of-run comparison of the live replicas (see
    /// [`ReplicaCheckers::finish`]).
    pub fn finish_replica_checkers(&mut self, end_ms: u64) -> Vec<Violation> {
        let view = NodesView {
            nodes: &self.nodes,
            last_metadata: &self.last_metadata,
            scenario: &self.scenario,
        };
        self.replica_checkers.finish(end_ms, &view)
    }

    pub fn new(scenario: Arc<Scenario>, seed: u64, trace_mode: TraceMode) -> World {
        let mut nodes = BTreeMap::new();
        let mut disks = BTreeMap::new();
        for node in node_ids(&scenario) {
            nodes.insert(
                node,
                NodeSlot {
                    actor: None,
                    incarnation: 0,
                    busy_until_ms: 0,
                    frozen: false,
                    paused: false,
                    waker: None,
                    planned_wake_ms: None,
                    application: None,
                },
            );
            if matches!(node, NodeId::Broker(_) | NodeId::Controller) {
                disks.insert(node, Disk::new(scenario.disk.fsync_latency_ms));
            }
        }
        let triggers = scenario
            .faults
            .triggers
            .iter()
            .cloned()
            .map(|trigger| ArmedTrigger {
                trigger,
                fired: false,
                origin: FaultSource::Trigger,
            })
            .collect();
        let mut network = Network::new(
            scenario.network.latency_ms_min,
            scenario.network.latency_ms_max,
        );
        // Every machine boots at t=0 with its port open: a message sent before the
        // receiving process has run its first step waits for it instead of being refused,
        // so the start-up order madsim draws does not delay the cluster.
        for node in nodes.keys() {
            network.node_up(*node);
        }
        World {
            network,
            random: StdRng::seed_from_u64(seed ^ 0x6e65_7477_6f72_6b00),
            scenario,
            seed,
            disks,
            nodes,
            trace: Trace::new(trace_mode),
            history: History::default(),
            replica_checkers: ReplicaCheckers::new(),
            coordinator_log: CoordinatorLog::new(),
            violations: Vec::new(),
            marks: BTreeMap::new(),
            triggers,
            triggers_armed: true,
            pending_faults: Vec::new(),
            faults_not_applied: Vec::new(),
            nemesis_waker: None,
            newest_isr_member: BTreeMap::new(),
            last_metadata: MetadataImage::default(),
            next_value: 1,
            events: 0,
            records: None,
            tracing_steps: tracing::enabled!(target: "watermark::step", tracing::Level::DEBUG),
            sink: Sink::default(),
            processor_factory: write_every_record(),
            commits_in_flight: BTreeMap::new(),
            pipeline_transactions: BTreeMap::new(),
        }
    }

    /// Builds the node's actor for a new process and feeds it `Start`.
    pub fn start_node(&mut self, node: NodeId, now_ms: u64, waker: Waker) {
        let scenario = Arc::clone(&self.scenario);
        let incarnation = {
            let slot = self.slot_mut(node);
            slot.incarnation += 1;
            slot.incarnation
        };
        let brokers = broker_ids(&scenario);
        let actor = match node {
            NodeId::Controller => NodeActor::Controller(Box::new(
                Controller::new(
                    scenario.controller_config(),
                    scenario.cluster_topics(),
                    brokers,
                    self.disks[&node].storage(),
                )
                .with_bug_switches(scenario.bugs),
            )),
            NodeId::Broker(broker) => NodeActor::Broker(Box::new(Broker::new(
                broker,
                incarnation,
                scenario.broker_config(broker),
                scenario.cluster_topics(),
                scenario.bugs,
                self.disks[&node].storage(),
            ))),
            NodeId::Producer(client) => {
                let workload = &scenario.producers[client.0 as usize];
                if incarnation == 1 {
                    let start_ms = workload.start_ms.max(now_ms);
                    let transactional = workload.config.transactional_id.clone().map(|id| {
                        TransactionalApplication::new(
                            id,
                            workload
                                .transaction_records
                                .unwrap_or(TRANSACTION_RECORDS_DEFAULT),
                            workload.abort_every.unwrap_or(0),
                            start_ms,
                        )
                    });
                    self.slot_mut(node).application =
                        Some(Application::Producer(ProducerApplication {
                            remaining: workload.records,
                            next_send_ms: start_ms,
                            interval_ms: workload.interval_ms.max(1),
                            key_space: workload.key_space,
                            transactional,
                        }));
                } else {
                    self.restart_transactional_application(client, now_ms);
                }
                let topic = scenario.producer_topic(client.0 as usize);
                let partition_count = scenario
                    .topic_config(topic)
                    .map_or(1, |config| config.partitions);
                NodeActor::Producer(Box::new(
                    Producer::new(
                        client,
                        workload.config.clone(),
                        brokers,
                        topic,
                        partition_count,
                    )
                    .with_bug_switches(scenario.bugs),
                ))
            }
            NodeId::Consumer(client) => self.start_consumer(client, brokers, now_ms),
        };
        {
            let slot = self.slot_mut(node);
            slot.actor = Some(actor);
            slot.waker = Some(waker);
            slot.planned_wake_ms = None;
            slot.frozen = false;
            slot.busy_until_ms = now_ms;
        }
        self.network.node_up(node);
        if incarnation > 1 {
            self.trace.note(
                now_ms,
                &node.to_string(),
                &format!("process start #{incarnation}"),
            );
        }
        self.feed(
            node,
            now_ms,
            || StepInput::Start { incarnation },
            Input::Start,
        );
        // A consume-transform-produce loop starts with `initTransactions`.
        self.start_pipeline_loop(node, now_ms);
    }

    /// A consumer's actor for a new process; a group consumer also gets a fresh
    /// application (a new processor, an empty worker queue).
    fn start_consumer(
        &mut self,
        client: ClientId,
        brokers: Vec<BrokerId>,
        now_ms: u64,
    ) -> NodeActor {
        let scenario = Arc::clone(&self.scenario);
        let index = client.0 as usize;
        let workload = &scenario.consumers[index];
        if workload.is_pipeline() {
            return self.start_pipeline(client, brokers);
        }
        let Some(group) = workload.group() else {
            let partitions = scenario.consumer_assignment(index);
            return NodeActor::Consumer(Box::new(
                Consumer::new(client, workload.config.clone(), brokers, partitions)
                    .with_bug_switches(scenario.bugs),
            ));
        };
        let application = ConsumerApplication::new(
            group,
            workload.processing_mode(),
            workload.processing_ms(),
            workload.poll_timeout_ms(),
            (self.processor_factory)(client),
            now_ms,
        );
        self.slot_mut(NodeId::Consumer(client)).application =
            Some(Application::Consumer(Box::new(application)));
        NodeActor::Consumer(Box::new(
            Consumer::subscribed(
                client,
                workload.config.clone(),
                brokers,
                scenario.subscribed_topics(index),
            )
            .with_bug_switches(scenario.bugs),
        ))
    }

    /// The process stopped at `now_ms`, however it stopped (crash, power loss, and any
    /// graceful stop): forget its actor and close its connections. Every live peer it had a
    /// connection with gets `Input::ConnectionClosed` at `now_ms`, after whatever else is due
    /// for it by then (see `network::Network::node_down`). The caller records the messages
    /// the network dropped ([`World::record_network_drops`]).
    pub fn stop_node(&mut self, node: NodeId, now_ms: u64) {
        let slot = self.slot_mut(node);
        slot.actor = None;
        slot.waker = None;
        slot.planned_wake_ms = None;
        slot.frozen = false;
        slot.paused = false;
        // A consumer's application dies with its process: what it was processing is never
        // written. A producer's workload goes on after a restart. The history records that
        // the dead process lost its partitions, as Jepsen ends a crashed process: what a new
        // process of this client reads is not compared with what the dead one read.
        let consumer_application = match slot.application.take() {
            Some(Application::Consumer(application)) => Some(application),
            Some(Application::Pipeline(pipeline)) => {
                if let NodeId::Consumer(client) = node {
                    self.stop_pipeline(client, now_ms, pipeline);
                }
                None
            }
            producer => {
                slot.application = producer;
                None
            }
        };
        if let Some(application) = consumer_application {
            if let NodeId::Consumer(client) = node {
                let body = revocation_op(
                    application.group.clone(),
                    application.generation,
                    &application.assignment,
                    application.assignment.clone(),
                    true,
                );
                self.history.push(now_ms, client, OpType::Ok, body);
            }
        }
        for peer in self.network.node_down(node, now_ms) {
            self.wake_for_delivery(peer, now_ms);
        }
        if let NodeId::Broker(broker) = node {
            self.replica_checkers.broker_stopped(broker);
        }
    }

    pub fn is_up(&self, node: NodeId) -> bool {
        self.nodes
            .get(&node)
            .is_some_and(|slot| slot.actor.is_some())
    }

    fn slot_mut(&mut self, node: NodeId) -> &mut NodeSlot {
        self.nodes
            .get_mut(&node)
            .unwrap_or_else(|| panic!("node {node} is not part of this scenario"))
    }

    /// Runs everything due for `node` at `now_ms` and returns when it next needs to run.
    pub fn step(&mut self, node: NodeId, now_ms: u64) -> Option<u64> {
        loop {
            let slot = self.nodes.get(&node)?;
            if slot.actor.is_none() || slot.frozen {
                return None;
            }
            if slot.busy_until_ms > now_ms {
                let busy_until_ms = slot.busy_until_ms;
                if let Some(slot) = self.nodes.get_mut(&node) {
                    slot.planned_wake_ms = Some(busy_until_ms);
                }
                return Some(busy_until_ms);
            }
            if let Some(envelope) = self.network.take_due(node, now_ms) {
                self.deliver(node, now_ms, envelope);
                continue;
            }
            let deadline = slot.actor.as_ref().and_then(NodeActor::next_deadline_ms);
            if deadline.is_some_and(|deadline_ms| deadline_ms <= now_ms) {
                let due = slot
                    .actor
                    .as_ref()
                    .map(|actor| actor.due_timers(now_ms))
                    .unwrap_or_default();
                // The fired timers are named in the step record only when one is made.
                let fired = if self.is_recording() {
                    due.clone()
                } else {
                    Vec::new()
                };
                self.feed(
                    node,
                    now_ms,
                    move || StepInput::Timers { fired },
                    Input::Timers(due),
                );
                // A deadline that does not move after its tick would spin; the shell always
                // waits at least a millisecond between steps, so progress is guaranteed.
                let still_due = self.nodes[&node]
                    .actor
                    .as_ref()
                    .and_then(NodeActor::next_deadline_ms)
                    .is_some_and(|deadline_ms| deadline_ms <= now_ms);
                if still_due {
                    break;
                }
                continue;
            }
            if self.maybe_send_from_application(node, now_ms) {
                continue;
            }
            if self.maybe_run_consumer_application(node, now_ms) {
                continue;
            }
            if self.maybe_run_pipeline(node, now_ms) {
                continue;
            }
            break;
        }
        // The shell never steps twice in the same millisecond (see `node::run_node`).
        let wake_ms = self
            .next_wake_ms(node)
            .map(|wake_ms| wake_ms.max(now_ms + 1));
        if let Some(slot) = self.nodes.get_mut(&node) {
            slot.planned_wake_ms = wake_ms;
        }
        wake_ms
    }

    fn next_wake_ms(&self, node: NodeId) -> Option<u64> {
        let slot = self.nodes.get(&node)?;
        let actor = slot.actor.as_ref()?;
        if slot.frozen {
            return None;
        }
        let application = slot
            .application
            .as_ref()
            .and_then(Application::next_wake_ms);
        [
            self.network.next_delivery_ms(node),
            actor.next_deadline_ms(),
            application,
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|wake_ms| wake_ms.max(slot.busy_until_ms))
    }

    /// Hands `node` what the network brought it: a message or news about a connection.
    fn deliver(&mut self, node: NodeId, now_ms: u64, envelope: Envelope) {
        let (id, peer) = (envelope.id, envelope.from);
        match envelope.delivery {
            Delivery::Message(message) => {
                let kind = message.kind();
                self.feed(
                    node,
                    now_ms,
                    || StepInput::Message {
                        id,
                        from: peer,
                        kind,
                    },
                    Input::Message {
                        from: peer,
                        message,
                    },
                );
            }
            Delivery::ConnectionClosed => {
                self.trace.note(
                    now_ms,
                    &node.to_string(),
                    &format!("connection {peer} closed"),
                );
                self.feed(
                    node,
                    now_ms,
                    || StepInput::ConnectionClosed { id, peer },
                    Input::ConnectionClosed { peer },
                );
            }
            Delivery::ConnectionEstablished => self.feed(
                node,
                now_ms,
                || StepInput::ConnectionEstablished { id, peer },
                Input::ConnectionEstablished { peer },
            ),
        }
    }

    /// The producer application sends its next value if one is due. Returns whether it did.
    fn maybe_send_from_application(&mut self, node: NodeId, now_ms: u64) -> bool {
        let NodeId::Producer(client) = node else {
            return false;
        };
        let value = self.next_value;
        let slot = self.slot_mut(node);
        let Some(application) = slot
            .application
            .as_mut()
            .and_then(Application::producer_mut)
        else {
            return false;
        };
        if application.transactional.is_some() {
            return self.maybe_run_transactional_application(client, now_ms);
        }
        if application.remaining == 0 || application.next_send_ms > now_ms {
            return false;
        }
        application.remaining -= 1;
        application.next_send_ms += application.interval_ms;
        let key = application.key_space.map(|key_space| value % key_space);
        let Some(NodeActor::Producer(producer)) = slot.actor.as_mut() else {
            return false;
        };
        let effects = producer.send(now_ms, value, key);
        self.next_value += 1;
        let input = || StepInput::ApplicationSend { value };
        self.history.push(
            now_ms,
            client,
            OpType::Invoke,
            OpBody::Send {
                value,
                partition: None,
                offset: None,
                error: None,
            },
        );
        self.execute(node, now_ms, input, effects);
        true
    }

    /// A group consumer's application does the next piece of work due: its effects are
    /// executed, and what it finished processing is written to the sink and the history.
    /// Returns whether it did something.
    fn maybe_run_consumer_application(&mut self, node: NodeId, now_ms: u64) -> bool {
        let NodeId::Consumer(client) = node else {
            return false;
        };
        let Some(slot) = self.nodes.get_mut(&node) else {
            return false;
        };
        let (Some(Application::Consumer(application)), Some(NodeActor::Consumer(consumer))) =
            (slot.application.as_mut(), slot.actor.as_mut())
        else {
            return false;
        };
        let Some(work) = application.run(now_ms, consumer.as_mut(), &self.sink) else {
            return false;
        };
        let group = application.group.clone();
        self.execute(node, now_ms, || StepInput::ApplicationStep, work.effects);
        for record in work.written {
            self.trace.note(
                now_ms,
                &node.to_string(),
                &format!(
                    "group {group} processed {}@{} value {}",
                    record.partition, record.offset, record.value
                ),
            );
            self.sink.write(SinkEntry {
                time_ms: now_ms,
                group: group.clone(),
                partition: record.partition,
                offset: record.offset,
                value: record.value,
            });
            self.history.push(
                now_ms,
                client,
                OpType::Ok,
                OpBody::Process {
                    group: group.clone(),
                    partition: record.partition,
                    offset: record.offset,
                    value: record.value,
                },
            );
        }
        true
    }

    /// Hands one input to the node's actor and executes what it asks for; `step_input` is
    /// how the step record names the input.
    fn feed(
        &mut self,
        node: NodeId,
        now_ms: u64,
        step_input: impl FnOnce() -> StepInput,
        input: Input,
    ) {
        let Some(actor) = self.slot_mut(node).actor.as_mut() else {
            return;
        };
        let effects = actor.as_actor().handle(now_ms, input);
        self.execute(node, now_ms, step_input, effects);
        self.maybe_stop_after_shutdown(node, now_ms);
    }

    /// A broker that finished its controlled shutdown has stopped: its process exits.
    fn maybe_stop_after_shutdown(&mut self, node: NodeId, now_ms: u64) {
        let stopped = matches!(
            self.nodes.get(&node).and_then(|slot| slot.actor.as_ref()),
            Some(NodeActor::Broker(broker)) if broker.has_shut_down()
        );
        if stopped {
            self.trace.note(
                now_ms,
                &node.to_string(),
                "stopped after controlled shutdown",
            );
            self.stop_node(node, now_ms);
            self.record_network_drops(now_ms);
        }
    }

    /// Begins a controlled shutdown of `node` if it is a running broker (the `shutdown`
    /// fault). Returns whether one began.
    pub fn begin_controlled_shutdown(&mut self, node: NodeId, now_ms: u64) -> bool {
        let Some(NodeActor::Broker(broker)) = self
            .nodes
            .get_mut(&node)
            .and_then(|slot| slot.actor.as_mut())
        else {
            return false;
        };
        let effects = broker.begin_controlled_shutdown(now_ms);
        self.execute(node, now_ms, || StepInput::ControlledShutdown, effects);
        self.maybe_stop_after_shutdown(node, now_ms);
        self.wake(node);
        true
    }

    /// Hands broker `node` the nemesis's DeleteRecords (the `delete-records` fault, the
    /// administrator the model has no node for) and returns its answer; `None` if the node
    /// runs no broker now.
    pub fn delete_records(
        &mut self,
        node: NodeId,
        request: &DeleteRecordsRequest,
        now_ms: u64,
    ) -> Option<DeleteRecordsResponse> {
        let Some(NodeActor::Broker(broker)) = self
            .nodes
            .get_mut(&node)
            .and_then(|slot| slot.actor.as_mut())
        else {
            return None;
        };
        let (response, effects) = broker.handle_delete_records(now_ms, request);
        self.execute(node, now_ms, || StepInput::DeleteRecords, effects);
        self.wake(node);
        Some(response)
    }

    /// A consumer's application processes each record it starts before `until_ms` in
    /// `processing_ms` (the slow-processing fault). Returns whether the consumer has an
    /// application to slow (a running group consumer).
    pub fn slow_processing(
        &mut self,
        consumer: ClientId,
        processing_ms: u64,
        until_ms: u64,
    ) -> bool {
        let node = NodeId::Consumer(consumer);
        let Some(application) = self
            .nodes
            .get_mut(&node)
            .and_then(|slot| slot.application.as_mut())
            .and_then(Application::consumer_mut)
        else {
            return false;
        };
        application.slow_down(processing_ms, until_ms);
        true
    }

    /// Stops a broker whose controlled shutdown still waits, its logs closed cleanly.
    pub fn cut_shutdown_short(&mut self, node: NodeId, now_ms: u64) {
        let Some(NodeActor::Broker(broker)) = self
            .nodes
            .get_mut(&node)
            .and_then(|slot| slot.actor.as_mut())
        else {
            return;
        };
        let effects = broker.cut_shutdown_short();
        self.execute(node, now_ms, || StepInput::ControlledShutdown, effects);
        self.maybe_stop_after_shutdown(node, now_ms);
    }

    /// Whether `node` is a broker waiting for the controller to let it shut down.
    pub fn is_shutting_down(&self, node: NodeId) -> bool {
        matches!(
            self.nodes.get(&node).and_then(|slot| slot.actor.as_ref()),
            Some(NodeActor::Broker(broker)) if broker.is_shutting_down()
        )
    }

    /// Executes a step's effects in order — messages onto links, marks counted, events to
    /// the observers (trace, checkers, history, triggers) — and records the step when
    /// someone keeps or reads the records (building one costs on every step of a sweep).
    fn execute(
        &mut self,
        node: NodeId,
        now_ms: u64,
        input: impl FnOnce() -> StepInput,
        effects: Vec<Effect>,
    ) {
        let recording = self.is_recording();
        let mut record = recording.then(|| StepRecord {
            time_ms: now_ms,
            node,
            input: input(),
            sent: Vec::new(),
            closed: Vec::new(),
            connects: Vec::new(),
            events: Vec::new(),
            marks: Vec::new(),
        });
        // fsyncs done while handling this input delay everything the node sends until they
        // complete, as Kafka's synchronous flush in the append path does.
        let sync_cost_ms = self
            .disks
            .get(&node)
            .map_or(0, |disk| disk.take_sync_cost_ms());
        let departure_ms = now_ms + sync_cost_ms;
        if sync_cost_ms > 0 {
            self.slot_mut(node).busy_until_ms = departure_ms;
        }
        for effect in effects {
            match effect {
                Effect::Send { to, message } => {
                    let kind = message.kind();
                    let (id, outcome) =
                        self.network
                            .send(&mut self.random, departure_ms, node, to, message);
                    if let SendOutcome::InFlight { delivery_ms } = outcome {
                        self.wake_for_delivery(to, delivery_ms);
                    }
                    if let Some(record) = record.as_mut() {
                        record.sent.push(SentMessage {
                            id,
                            to,
                            kind,
                            outcome,
                        });
                    }
                }
                Effect::CloseConnection { peer } => {
                    if self.network.close_connection(node, peer, departure_ms) {
                        self.wake_for_delivery(peer, departure_ms);
                    }
                    if let Some(record) = record.as_mut() {
                        record.closed.push(peer);
                    }
                    self.record_network_drops(now_ms);
                }
                Effect::Connect { peer } => {
                    // The answer is news for this very node, whose next wake-up the end of
                    // its step computes from what is in flight for it.
                    self.network
                        .connect(&mut self.random, departure_ms, node, peer);
                    if let Some(record) = record.as_mut() {
                        record.connects.push(peer);
                    }
                }
                Effect::Mark(mark) => {
                    *self.marks.entry(mark).or_default() += 1;
                    if let Some(record) = record.as_mut() {
                        record.marks.push(mark);
                    }
                }
                Effect::Event(event) => {
                    if self.opens_hanging_transaction(&event) {
                        *self
                            .marks
                            .entry(Mark::HangingTransactionOpened)
                            .or_default() += 1;
                        if let Some(record) = record.as_mut() {
                            record.marks.push(Mark::HangingTransactionOpened);
                        }
                    }
                    // Cloned only for a step record: the observers take the event itself.
                    if let Some(record) = record.as_mut() {
                        record.events.push(event.clone());
                    }
                    self.record_event(node, now_ms, event);
                }
            }
        }
        if let Some(record) = record {
            self.emit(Record::Step(record));
        }
        if let NodeId::Controller = node {
            if let Some(NodeActor::Controller(controller)) = &self.nodes[&node].actor {
                // Copy only a newer image: the controller steps on every heartbeat.
                if controller.metadata().version > self.last_metadata.version {
                    self.last_metadata = controller.metadata().clone();
                }
            }
        }
    }

    /// Whether `event` opened a transaction its coordinator does not know
    /// (`hanging_transaction.rs`).
    fn opens_hanging_transaction(&self, event: &Event) -> bool {
        let brokers = self
            .nodes
            .values()
            .filter_map(|slot| match slot.actor.as_ref()? {
                NodeActor::Broker(broker) => Some(broker.as_ref()),
                _ => None,
            });
        crate::hanging_transaction::opens_hanging_transaction(brokers, event)
    }

    /// Has `node` woken at `delivery_ms` if a message due then comes before its planned wake-up.
    fn wake_for_delivery(&mut self, node: NodeId, delivery_ms: u64) {
        let Some(slot) = self.nodes.get_mut(&node) else {
            return;
        };
        if slot
            .planned_wake_ms
            .is_some_and(|planned_ms| planned_ms <= delivery_ms)
        {
            return;
        }
        slot.planned_wake_ms = Some(delivery_ms);
        if let Some(waker) = slot.waker.as_ref() {
            waker.wake_at(delivery_ms);
        }
    }

    fn wake(&self, node: NodeId) {
        if let Some(waker) = self.nodes.get(&node).and_then(|slot| slot.waker.as_ref()) {
            waker.wake_now();
        }
    }

    /// Hands one event of a step to the observers, in a fixed order: the trace, then the
    /// replica checkers (whose findings are recorded at once) and the triggers for broker and
    /// controller events, the history for client events.
    fn record_event(&mut self, node: NodeId, now_ms: u64, event: Event) {
        self.events += 1;
        self.trace.event(now_ms, node, &event);
        match node {
            NodeId::Broker(_) | NodeId::Controller => {
                let view = NodesView {
                    nodes: &self.nodes,
                    last_metadata: &self.last_metadata,
                    scenario: &self.scenario,
                };
                let found = self.replica_checkers.observe(now_ms, node, &event, &view);
                self.coordinator_log.observe(now_ms, &event);
                for mut violation in found {
                    violation.time_ms = violation.time_ms.max(now_ms);
                    self.record_finding(now_ms, violation);
                }
                self.note_isr_joiner(&event);
                self.maybe_fire_triggers(node, now_ms, &event);
            }
            NodeId::Producer(client) if self.is_transactional_producer(client) => {
                self.record_transactional_event(client, now_ms, event);
            }
            NodeId::Producer(client) => {
                if let Event::SendCompleted {
                    value,
                    partition,
                    result,
                } = event
                {
                    let (op_type, offset, error) = match result {
                        Ok(offset) => (OpType::Ok, offset, None),
                        Err(failure) if failure.definite => {
                            (OpType::Fail, None, Some(failure.error))
                        }
                        Err(failure) => (OpType::Info, None, Some(failure.error)),
                    };
                    self.history.push(
                        now_ms,
                        client,
                        op_type,
                        OpBody::Send {
                            value,
                            partition: Some(partition),
                            offset,
                            error,
                        },
                    );
                }
            }
            NodeId::Consumer(client) => self.record_consumer_event(client, now_ms, event),
        }
    }

    /// A consumer's event into the history: its polls, and a group consumer's commits and
    /// assignments (which its application also learns of).
    fn record_consumer_event(&mut self, client: ClientId, now_ms: u64, event: Event) {
        let node = NodeId::Consumer(client);
        // A consume-transform-produce process's producer events go to its loop.
        if self.pipeline_event(node, now_ms, &event) {
            return;
        }
        // The group triggers (`member-committed`) watch consumer events.
        self.maybe_fire_triggers(node, now_ms, &event);
        match event {
            Event::Polled { partition, records } if !records.is_empty() => {
                self.history.push(
                    now_ms,
                    client,
                    OpType::Ok,
                    OpBody::Poll { partition, records },
                );
            }
            Event::OffsetCommitStarted {
                group,
                commit,
                offsets,
                automatic,
                ..
            } => {
                self.commits_in_flight.insert((client, commit), automatic);
                let body = commit_op(group, offsets, automatic, None);
                self.history.push(now_ms, client, OpType::Invoke, body);
            }
            Event::OffsetCommitCompleted {
                group,
                commit,
                offsets,
                result,
            } => {
                let automatic = self
                    .commits_in_flight
                    .remove(&(client, commit))
                    .unwrap_or(false);
                let (op_type, error) = commit_outcome(&result);
                let body = commit_op(group, offsets, automatic, error);
                self.history.push(now_ms, client, op_type, body);
                if let Some(application) = self.consumer_application(node) {
                    application.commit_completed(commit, result.is_ok(), now_ms);
                }
            }
            Event::PartitionsAssigned {
                group,
                generation,
                assignment,
                ..
            } => {
                if let Some((known_generation, known_assignment)) = self.group_view(node) {
                    *known_generation = generation;
                    *known_assignment = assignment.clone();
                }
                let body = OpBody::Assign {
                    group,
                    generation,
                    assignment,
                    revoked: Vec::new(),
                    lost: false,
                };
                self.history.push(now_ms, client, OpType::Ok, body);
            }
            Event::PartitionsRevoked {
                group,
                partitions,
                lost,
            } => {
                let (generation, held) = self
                    .group_view(node)
                    .map(|(generation, assignment)| {
                        let held = assignment.clone();
                        assignment.retain(|partition| !partitions.contains(partition));
                        (*generation, held)
                    })
                    .unwrap_or((watermark_broker_core::ids::GenerationId::NONE, Vec::new()));
                let body = revocation_op(group, generation, &held, partitions, lost);
                self.history.push(now_ms, client, OpType::Ok, body);
            }
            _ => {}
        }
    }

    /// The generation and assignment a group member's application was told of.
    fn group_view(
        &mut self,
        node: NodeId,
    ) -> Option<(
        &mut watermark_broker_core::ids::GenerationId,
        &mut Vec<TopicPartition>,
    )> {
        self.nodes
            .get_mut(&node)
            .and_then(|slot| slot.application.as_mut())
            .and_then(Application::group_view_mut)
    }

    fn consumer_application(&mut self, node: NodeId) -> Option<&mut ConsumerApplication> {
        self.nodes
            .get_mut(&node)
            .and_then(|slot| slot.application.as_mut())
            .and_then(Application::consumer_mut)
    }

    /// A checker's finding: into the trace and the run's violations, and recorded.
    pub fn record_finding(&mut self, now_ms: u64, violation: Violation) {
        self.trace.finding(now_ms, &violation);
        self.emit(Record::Finding {
            time_ms: now_ms,
            violation: violation.clone(),
        });
        self.violations.push(violation);
    }

    /// Records a nemesis action: its trace line, its record, and the messages it dropped.
    pub fn record_nemesis(&mut self, now_ms: u64, action: NemesisAction) {
        self.trace.nemesis(now_ms, &action);
        self.emit(Record::Nemesis {
            time_ms: now_ms,
            action,
        });
        self.record_network_drops(now_ms);
    }

    /// Records a fault or trigger the nemesis could not apply: kept for the report, a trace
    /// line and a record. Nothing was dropped, so no drop records follow.
    pub fn record_not_applied(&mut self, not_applied: NotApplied) {
        let time_ms = not_applied.time_ms;
        let action = NemesisAction::FaultNotApplied {
            not_applied: not_applied.clone(),
        };
        self.trace.nemesis(time_ms, &action);
        self.emit(Record::Nemesis { time_ms, action });
        self.faults_not_applied.push(not_applied);
    }

    /// Records the messages the network dropped in flight since the last call (a link cut
    /// or a process died under them).
    pub fn record_network_drops(&mut self, now_ms: u64) {
        for dropped in self.network.take_dropped() {
            self.emit(Record::Dropped {
                time_ms: now_ms,
                id: dropped.id,
                from: dropped.from,
                to: dropped.to,
                reason: dropped.reason,
            });
        }
    }

    /// Whether step records are wanted: kept for the run, or read by a `tracing` subscriber.
    fn is_recording(&self) -> bool {
        self.records.is_some() || self.tracing_steps
    }

    /// Hands a finished record to the record keepers: the run's kept records (when asked
    /// for) and `tracing` (one span per node, simulated time as a field).
    pub fn emit(&mut self, record: Record) {
        emit_tracing(&record);
        if let Some(records) = self.records.as_mut() {
            records.push(record);
        }
    }

    /// Remembers who joined an ISR last, before triggers fire, so a fault timed on the
    /// expansion can aim at the joiner.
    fn note_isr_joiner(&mut self, event: &Event) {
        if let Event::IsrUpdated {
            partition,
            from,
            to,
            ..
        } = event
        {
            if let Some(joiner) = to.iter().rev().find(|member| !from.contains(member)) {
                self.newest_isr_member.insert(*partition, *joiner);
            }
        }
    }

    fn maybe_fire_triggers(&mut self, node: NodeId, now_ms: u64, event: &Event) {
        if !self.triggers_armed {
            return;
        }
        let default_topic = self.scenario.default_topic();
        let mut fired = Vec::new();
        for armed_trigger in self.triggers.iter_mut() {
            let trigger = &armed_trigger.trigger;
            let armed = now_ms >= trigger.after_ms;
            if !armed_trigger.fired
                && armed
                && condition_matches(&trigger.condition, default_topic, node, event)
            {
                armed_trigger.fired = true;
                fired.push((trigger.clone(), armed_trigger.origin));
            }
        }
        for (trigger, origin) in fired {
            let condition = describe_condition(&trigger.condition, default_topic);
            self.record_nemesis(
                now_ms,
                NemesisAction::TriggerFired {
                    condition: condition.clone(),
                    source: node,
                },
            );
            if trigger.delay_ms == 0 {
                // Nothing more may happen on the source before the nemesis acts: "crash the
                // leader right after it acks" must not let it answer one more fetch.
                if let Some(slot) = self.nodes.get_mut(&node) {
                    slot.frozen = true;
                }
            }
            for fault in trigger.then {
                self.pending_faults.push(PendingFault {
                    due_ms: now_ms + trigger.delay_ms,
                    fault,
                    source: node,
                    label: trigger.label.clone(),
                    trigger: condition.clone(),
                    origin,
                    optional: trigger.optional,
                });
            }
            for later in trigger.later {
                self.pending_faults.push(PendingFault {
                    due_ms: now_ms + later.at_ms,
                    fault: later.fault,
                    source: node,
                    label: later.label,
                    trigger: condition.clone(),
                    origin,
                    optional: trigger.optional || later.optional,
                });
            }
            if let Some(waker) = &self.nemesis_waker {
                waker();
            }
        }
    }

    /// Lets a frozen node run again (after the nemesis applied its trigger's faults).
    pub fn unfreeze(&mut self, node: NodeId) {
        if let Some(slot) = self.nodes.get_mut(&node) {
            if slot.frozen {
                slot.frozen = false;
                self.wake(node);
            }
        }
    }

    /// Wakes every node (after a resume or a heal).
    pub fn wake_all(&self) {
        for node in self.nodes.keys() {
            self.wake(*node);
        }
    }

    /// The newest metadata: the controller's image if it is up, else the last one it
    /// published (so `leader` targets resolve while the controller is down).
    fn metadata_image(&self) -> &MetadataImage {
        match self
            .nodes
            .get(&NodeId::Controller)
            .and_then(|slot| slot.actor.as_ref())
        {
            Some(NodeActor::Controller(controller)) => controller.metadata(),
            _ => &self.last_metadata,
        }
    }

    /// The current leader of a partition, from the newest metadata.
    pub fn leader_of(&self, partition: TopicPartition) -> Option<BrokerId> {
        self.metadata_image()
            .partition(partition)
            .and_then(|state| state.leader)
    }

    /// The live follower of a partition with the lowest log end offset (the lowest id on a
    /// tie), by what each follower holds now.
    pub fn lagging_follower(&self, partition: TopicPartition) -> Option<BrokerId> {
        let leader = self.leader_of(partition);
        let view = self.cluster_view();
        self.replicas_of(partition)
            .into_iter()
            .filter(|replica| Some(*replica) != leader)
            .filter_map(|replica| {
                let held = view.replica(replica, partition)?;
                Some((held.log_end_offset, replica))
            })
            .min()
            .map(|(_, replica)| replica)
    }

    /// The replicas of a partition, from the latest metadata.
    pub fn replicas_of(&self, partition: TopicPartition) -> Vec<BrokerId> {
        self.metadata_image()
            .partition(partition)
            .map(|state| state.replicas.clone())
            .unwrap_or_default()
    }
}

/// Emits a record as a `tracing` event in a span named after its node, with the simulated
/// time as a field, so `RUST_LOG` and any `tracing-subscriber` layer see the run. The fields
/// are only formatted when a subscriber wants them.
fn emit_tracing(record: &Record) {
    match record {
        Record::Step(step) => {
            let span = tracing::debug_span!(target: "watermark::step", "node", node = %step.node, t_ms = step.time_ms);
            let _entered = span.enter();
            tracing::debug!(target: "watermark::step", input = ?step.input, sent = ?step.sent, events = ?step.events, marks = ?step.marks);
        }
        Record::Dropped {
            time_ms,
            id,
            from,
            to,
            reason,
        } => {
            tracing::debug!(target: "watermark::network", t_ms = time_ms, %id, %from, %to, ?reason, "dropped")
        }
        Record::Nemesis { time_ms, action } => {
            tracing::info!(target: "watermark::nemesis", t_ms = time_ms, ?action)
        }
        Record::Finding { time_ms, violation } => {
            tracing::warn!(target: "watermark::checker", t_ms = time_ms, %violation)
        }
    }
}
