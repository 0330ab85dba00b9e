//! The node shell's alarm clock: a moment registered for a node wakes its task then, not
//! before, whoever registered it; a moment already come wakes it at once; dropping the
//! world's waker marks the shell stopped.

use super::*;

fn alarm(start: madsim::time::Instant, task: std::task::Waker) -> Arc<Mutex<WakeTimers>> {
    Arc::new(Mutex::new(WakeTimers {
        start,
        clock: madsim::time::TimeHandle::current(),
        task,
        registered_ms: BTreeSet::new(),
        stopped: false,
    }))
}

async fn task_waker() -> std::task::Waker {
    std::future::poll_fn(|context| Poll::Ready(context.waker().clone())).await
}

#[test]
fn registered_moments_wake_the_node_in_order_and_not_before() {
    let runtime = madsim::runtime::Runtime::with_seed_and_config(7, madsim::Config::default());
    runtime.block_on(async {
        let start = madsim::time::Instant::now();
        let timers = alarm(start, task_waker().await);
        let waker = ShellWaker(Arc::clone(&timers));
        // A sender's delivery time and the node's own planned wake-up, out of order.
        waker.wake_at(120);
        waker.wake_at(50);
        waker.wake_at(50);
        UntilWoken { polled: false }.await;
        assert_eq!(now_ms(start), 50);
        timers.lock().unwrap().forget_until(50);
        UntilWoken { polled: false }.await;
        assert_eq!(now_ms(start), 120);
        // A moment already come (a peer's connection closed now) wakes the node at once.
        waker.wake_at(100);
        UntilWoken { polled: false }.await;
        assert_eq!(now_ms(start), 120);
        waker.wake_now();
        UntilWoken { polled: false }.await;
        assert_eq!(now_ms(start), 120);
    });
}

#[test]
fn a_moment_is_registered_once_until_it_has_passed() {
    let runtime = madsim::runtime::Runtime::with_seed_and_config(7, madsim::Config::default());
    runtime.block_on(async {
        let start = madsim::time::Instant::now();
        let timers = alarm(start, task_waker().await);
        let mut locked = timers.lock().unwrap();
        locked.register(30);
        locked.register(30);
        locked.register(40);
        assert_eq!(
            locked.registered_ms.iter().copied().collect::<Vec<_>>(),
            [30, 40]
        );
        locked.forget_until(30);
        assert_eq!(
            locked.registered_ms.iter().copied().collect::<Vec<_>>(),
            [40]
        );
    });
}

#[test]
fn dropping_the_worlds_waker_stops_the_shell() {
    let runtime = madsim::runtime::Runtime::with_seed_and_config(7, madsim::Config::default());
    runtime.block_on(async {
        let timers = alarm(madsim::time::Instant::now(), task_waker().await);
        let waker: crate::world::Waker = Box::new(ShellWaker(Arc::clone(&timers)));
        assert!(!timers.lock().unwrap().stopped);
        drop(waker);
        assert!(timers.lock().unwrap().stopped);
    });
}
