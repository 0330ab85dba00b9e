//! The shape every node's logic takes: a synchronous state machine. The caller feeds it
//! inputs with the current simulated time and executes the effects it returns; the machine
//! itself does no I/O, reads no clock and draws no random numbers (STYLE.md, rule 1).

use crate::event::Event;
use crate::ids::NodeId;
use crate::protocol::Message;

/// What a node reacts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The node process has just started (first boot or restart). Recovery from storage and
    /// the first requests happen here.
    Start,
    /// A message arrived from `from`.
    Message { from: NodeId, message: Message },
    /// The time returned by [`Actor::next_deadline_ms`] has come (or passed).
    Tick,
}

/// What a node asks its shell to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Put a message on the link to `to`. The link may drop it; nothing is returned.
    Send { to: NodeId, message: Message },
    /// Something happened that the trace, the checkers or a trigger may care about.
    Event(Event),
    /// A coverage mark: an interesting moment was reached (STYLE.md, rule 9). Scenarios assert
    /// the marks they rely on, so a scenario that stops reaching its path fails loudly.
    Mark(&'static str),
}

/// A node's logic.
pub trait Actor {
    /// Reacts to one input at simulated time `now_ms`.
    fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Effect>;

    /// The next time this node wants a [`Input::Tick`], if any. Called after every `handle`.
    fn next_deadline_ms(&self) -> Option<u64>;
}
