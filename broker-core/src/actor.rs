//! The shape every node's logic takes: a synchronous state machine. The caller feeds it
//! inputs with the current simulated time and executes the effects it returns; the machine
//! itself does no I/O, reads no clock and draws no random numbers (docs/STYLE.md, rule 1).

use crate::broker::BrokerTimer;
use crate::consumer::ConsumerTimer;
use crate::controller::ControllerTimer;
use crate::event::Event;
use crate::ids::NodeId;
use crate::mark::Mark;
use crate::producer::ProducerTimer;
use crate::protocol::Message;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a node reacts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The node process has just started (first boot or restart). Recovery from storage and
    /// the first requests happen here.
    Start,
    /// A message arrived from `from`.
    Message { from: NodeId, message: Message },
    /// The time returned by [`Actor::next_deadline_ms`] has come (or passed): these timers,
    /// read from the actor's table by the caller ([`Actor::due_timers`]), are due.
    Timers(Vec<Timer>),
    /// The TCP connection with `peer` is gone: `peer`'s process stopped (crash, power loss,
    /// restart), `peer` closed it ([`Effect::CloseConnection`]), or a connection this node
    /// asked for ([`Effect::Connect`]) was refused because nothing listens there. Every
    /// request in flight on it is lost, and so is every answer to one. A cut link closes
    /// nothing: its packets vanish and only timeouts tell. Kafka's `NetworkClient` learns this
    /// from the socket (`Selector.disconnected()`) and fails those requests at once.
    ConnectionClosed { peer: NodeId },
    /// A connection this node asked for with [`Effect::Connect`] is established: requests to
    /// `peer` can go (Kafka's `NetworkClient.ready` becomes true).
    ConnectionEstablished { peer: NodeId },
}

/// The name of a deadline, per actor (docs/STYLE.md, rule 14). Step records name the ones that fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timer {
    Broker(BrokerTimer),
    Controller(ControllerTimer),
    Producer(ProducerTimer),
    Consumer(ConsumerTimer),
}

impl fmt::Display for Timer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timer::Broker(timer) => write!(formatter, "{timer}"),
            Timer::Controller(timer) => write!(formatter, "{timer}"),
            Timer::Producer(timer) => write!(formatter, "{timer}"),
            Timer::Consumer(timer) => write!(formatter, "{timer}"),
        }
    }
}

/// What a node asks its shell to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Put a message on the link to `to`. The link may drop it; nothing is returned.
    Send { to: NodeId, message: Message },
    /// Something happened that the trace, the checkers or a trigger may care about.
    Event(Event),
    /// A coverage mark: an interesting moment was reached (docs/STYLE.md, rule 9). Scenarios assert
    /// the marks they rely on, so a scenario that stops reaching its path fails loudly.
    Mark(Mark),
    /// Close the connection with `peer`: what is in flight between the two is lost, both
    /// ways, and `peer` gets [`Input::ConnectionClosed`]. Kafka's broker does this when it
    /// cannot answer a request that expects no answer (an acks=0 produce to a broker that is
    /// not the leader, `KafkaApis.handleProduceRequest`), so the client notices.
    CloseConnection { peer: NodeId },
    /// Open a connection to `peer`. The answer comes back as [`Input::ConnectionEstablished`]
    /// or, when no process listens there, [`Input::ConnectionClosed`] (refused); across a cut
    /// link nothing comes back, and the asker times out (`socket.connection.setup.timeout.ms`).
    /// Only clients that wait for a ready connection before sending ask (the producer); a
    /// plain [`Effect::Send`] uses the connection implicitly.
    Connect { peer: NodeId },
}

/// A node's logic.
pub trait Actor {
    /// Reacts to one input at simulated time `now_ms`.
    fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Effect>;

    /// The next time this node wants an [`Input::Timers`], if any. Called after every
    /// `handle`.
    fn next_deadline_ms(&self) -> Option<u64>;

    /// The timers due at `now_ms`, in the order the actor's table keeps them.
    fn due_timers(&self, now_ms: u64) -> Vec<Timer>;
}

/// Hands `actor` the timers due at `now_ms`, as the simulator does when a deadline comes;
/// for tests and tools that drive an actor by hand.
pub fn fire_due_timers(actor: &mut dyn Actor, now_ms: u64) -> Vec<Effect> {
    let due = actor.due_timers(now_ms);
    actor.handle(now_ms, Input::Timers(due))
}
