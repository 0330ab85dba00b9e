//! The node shell: a thin loop that waits for the next thing due on this node (a message, the
//! actor's deadline, the application's next send), lets the world run it, and waits again.
//! No protocol decision is made here (docs/STYLE.md, rule 2). One madsim node runs one shell; a
//! kill ends it, a restart runs it again with a fresh actor over the same disk.

use crate::world::{SharedWorld, Waker};
use futures::channel::mpsc;
use futures::future::{select, Either};
use futures::StreamExt;
use std::pin::Pin;
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
    let (waker, mut wakeups) = mpsc::unbounded::<()>();
    let waker: Waker = Box::new(move || {
        let _ = waker.unbounded_send(());
    });
    world.lock().start_node(node, now_ms(start), waker);
    // The pending sleep and the time it ends. Most steps (a message handled) leave the next
    // wake-up where it was; reusing the sleep then spares a new boxed `Sleep`. (It does not
    // spare a timer entry: madsim adds one each time a pending sleep is polled, see
    // docs/SIMULATOR-NOTES.md, "Time".)
    let mut sleep: Option<(u64, Pin<Box<madsim::time::Sleep>>)> = None;
    // The runtime's clock, read directly: `Instant::now()` under madsim goes through its
    // `clock_gettime` shim and a context look-up on every step for the same value (about 3%
    // of a run in issue 13's profile).
    let clock = madsim::time::TimeHandle::current();
    loop {
        let now = ms_since(start, clock.now_instant());
        // `step` already puts the wake-up at least a millisecond after now: everything due
        // now has run, so anything still "due" would only spin.
        let wake_ms = world.lock().step(node, now);
        match wake_ms {
            Some(wake_ms) if sleep.as_ref().is_some_and(|(at_ms, _)| *at_ms == wake_ms) => {}
            Some(wake_ms) => {
                let deadline = start + Duration::from_millis(wake_ms);
                sleep = Some((wake_ms, Box::pin(madsim::time::sleep_until(deadline))));
            }
            None => sleep = None,
        }
        let woken = match sleep.as_mut() {
            Some((_, pending)) => match select(pending.as_mut(), wakeups.next()).await {
                Either::Left(((), _)) => {
                    sleep = None;
                    continue;
                }
                Either::Right((woken, _)) => woken,
            },
            None => wakeups.next().await,
        };
        match woken {
            // Drain the other wake-ups queued meanwhile; one step handles them all.
            Some(()) => while wakeups.try_recv().is_ok() {},
            // The world dropped our waker: this process was stopped.
            None => futures::future::pending::<()>().await,
        }
    }
}
