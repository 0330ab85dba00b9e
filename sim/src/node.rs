//! The node shell: a thin loop that waits for the next thing due on this node (a message, the
//! actor's deadline, the application's next send), lets the world run it, and waits again.
//! No protocol decision is made here (docs/STYLE.md, rule 2). One madsim node runs one shell; a
//! kill ends it, a restart runs it again with a fresh actor over the same disk.

use crate::world::{NodeWaker, SharedWorld};
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use watermark_broker_core::ids::NodeId;

/// Milliseconds of simulated time since the run started.
pub fn now_ms(start: madsim::time::Instant) -> u64 {
    ms_since(start, madsim::time::TimeHandle::current().now_instant())
}

fn ms_since(start: madsim::time::Instant, now: madsim::time::Instant) -> u64 {
    u64::try_from(now.duration_since(start).as_millis()).unwrap_or(u64::MAX)
}

/// Sleeps until `at_ms` after `start`.
pub async fn sleep_until_ms(start: madsim::time::Instant, at_ms: u64) {
    madsim::time::sleep_until(start + Duration::from_millis(at_ms)).await;
}

/// The moments at which a madsim timer will wake this node's task, each registered once: the
/// node's own planned wake-up after every step, and a sender's delivery time when its message
/// falls due before that (`World::wake_for_delivery`). A sender setting the timer itself,
/// rather than waking the node so that it re-plans its sleep, spares a task run per such
/// message: about a third of all task runs (BENCHMARKS.md, "The schedule epoch").
struct WakeTimers {
    start: madsim::time::Instant,
    clock: madsim::time::TimeHandle,
    /// The waker of the node's task.
    task: std::task::Waker,
    registered_ms: BTreeSet<u64>,
    /// The world dropped this process's waker: it was stopped, and must not step again.
    stopped: bool,
}

impl WakeTimers {
    fn register(&mut self, at_ms: u64) {
        if at_ms <= ms_since(self.start, self.clock.now_instant()) {
            // A moment already come (a peer's connection closed now): madsim's sleep has a
            // 1 ms floor, so a timer would wake the node a millisecond late.
            self.task.wake_by_ref();
            return;
        }
        if !self.registered_ms.insert(at_ms) {
            return;
        }
        // A pending madsim `Sleep` adds a timer entry that wakes the task polling it, and the
        // entry outlives the `Sleep` (docs/SIMULATOR-NOTES.md, "Time"): one poll with the
        // node's task waker is a timer for the node.
        let mut sleep = madsim::time::sleep_until(self.start + Duration::from_millis(at_ms));
        let mut context = Context::from_waker(&self.task);
        let pending = Pin::new(&mut sleep).poll(&mut context).is_pending();
        debug_assert!(pending, "a moment still to come is pending");
    }

    /// Forgets the moments that have passed: a later registration for one of them is new.
    fn forget_until(&mut self, now_ms: u64) {
        while self
            .registered_ms
            .first()
            .is_some_and(|first_ms| *first_ms <= now_ms)
        {
            self.registered_ms.pop_first();
        }
    }
}

/// What the world holds to wake the node's process.
struct ShellWaker(Arc<Mutex<WakeTimers>>);

impl NodeWaker for ShellWaker {
    fn wake_now(&self) {
        self.0.lock().expect("wake timers").task.wake_by_ref();
    }

    fn wake_at(&self, at_ms: u64) {
        self.0.lock().expect("wake timers").register(at_ms);
    }
}

impl Drop for ShellWaker {
    fn drop(&mut self) {
        self.0.lock().expect("wake timers").stopped = true;
    }
}

/// Pending on its first poll, ready on the next: madsim polls a task only once woken, by a
/// registered timer or by `wake_now`.
struct UntilWoken {
    polled: bool,
}

impl Future for UntilWoken {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.polled {
            Poll::Ready(())
        } else {
            self.polled = true;
            Poll::Pending
        }
    }
}

/// The body of a node process. Never returns while the node should live.
pub async fn run_node(
    world: SharedWorld,
    start: madsim::time::Instant,
    node: NodeId,
    start_at_ms: u64,
) {
    if now_ms(start) < start_at_ms {
        sleep_until_ms(start, start_at_ms).await;
    }
    let task = std::future::poll_fn(|context| Poll::Ready(context.waker().clone())).await;
    let timers = Arc::new(Mutex::new(WakeTimers {
        start,
        clock: madsim::time::TimeHandle::current(),
        task,
        registered_ms: BTreeSet::new(),
        stopped: false,
    }));
    let waker = Box::new(ShellWaker(Arc::clone(&timers)));
    world.lock().start_node(node, now_ms(start), waker);
    // The runtime's clock, read directly: `Instant::now()` under madsim goes through its
    // `clock_gettime` shim and a context look-up on every step for the same value (about 3%
    // of a run in issue 13's profile).
    let clock = madsim::time::TimeHandle::current();
    loop {
        let now = ms_since(start, clock.now_instant());
        // `step` already puts the wake-up at least a millisecond after now: everything due
        // now has run, so anything still "due" would only spin.
        let wake_ms = world.lock().step(node, now);
        {
            let mut timers = timers.lock().expect("wake timers");
            timers.forget_until(now);
            if let Some(wake_ms) = wake_ms {
                timers.register(wake_ms);
            }
        }
        UntilWoken { polled: false }.await;
        if timers.lock().expect("wake timers").stopped {
            // The world dropped our waker: this process was stopped. Its timers may still
            // fire; they must not step the node's next process.
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
#[path = "node_tests.rs"]
mod tests;
