//! The bare madsim message pump: the floor the benchmark measures the simulator against.
//! `nodes` madsim nodes stand in a ring and each sends its share of `messages` datagrams to
//! the next through `madsim::net::Endpoint`, with no protocol, no checker and no trace. A
//! simulated run that delivers the same number of messages between the same number of nodes
//! cannot be faster than this, so the ratio of the two wall times is the cost of everything
//! Watermark adds on top of madsim.
//!
//! Like the runner, each pump gets a fresh OS thread and a fresh runtime seeded with its
//! seed (docs/SIMULATOR-NOTES.md, "Running seeds"), so the thread start is in both measurements.

use madsim::net::Endpoint;
use madsim::runtime::{Handle, Runtime};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The port every pump node listens on; each node has its own address.
const PORT: u16 = 9_092;
/// The datagram tag of pump messages.
const TAG: u64 = 1;
/// A small request's worth of bytes.
const PAYLOAD_BYTES: usize = 64;
/// Every node binds before any node sends: bind takes about a millisecond of simulated time,
/// and a datagram to an address nobody has bound yet is dropped.
const BIND_GRACE_MS: u64 = 10;
/// A receiver that hears nothing for this long gives up instead of blocking forever, so a
/// lost datagram ends the pump with a short count rather than a "no events" panic.
const RECEIVE_TIMEOUT_MS: u64 = 10_000;

/// What one pump run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PumpReport {
    pub nodes: usize,
    pub messages_delivered: u64,
    pub sim_time_ms: u64,
    pub wall: Duration,
}

/// Runs one pump of `messages` datagrams around a ring of `nodes` (at least 2) on a fresh
/// thread. Errors are the reasons it could not run, as one line.
pub fn pump(nodes: usize, messages: u64, seed: u64) -> Result<PumpReport, String> {
    let nodes = nodes.clamp(2, 250 * 250);
    let wall_start = Instant::now();
    let outcome = std::thread::Builder::new()
        .name(format!("pump-{seed}"))
        .spawn(move || {
            std::panic::catch_unwind(move || run_on_this_thread(nodes, messages, seed))
                .map_err(|_| "the pump panicked".to_string())
        })
        .map_err(|error| format!("could not start a thread: {error}"))?
        .join()
        .map_err(|_| "the pump thread died".to_string())?;
    let (messages_delivered, sim_time_ms) = outcome??;
    Ok(PumpReport {
        nodes,
        messages_delivered,
        sim_time_ms,
        wall: wall_start.elapsed(),
    })
}

/// Node `index`'s share of `messages`: an even split, the remainder to the first nodes.
fn share(messages: u64, nodes: usize, index: usize) -> u64 {
    let nodes = nodes as u64;
    messages / nodes + u64::from((index as u64) < messages % nodes)
}

fn address(index: usize) -> SocketAddr {
    let high = u8::try_from(index / 250).unwrap_or(u8::MAX);
    let low = u8::try_from(index % 250 + 1).unwrap_or(u8::MAX);
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, high, low)), PORT)
}

fn run_on_this_thread(nodes: usize, messages: u64, seed: u64) -> Result<(u64, u64), String> {
    let mut runtime = Runtime::with_seed_and_config(seed, madsim::Config::default());
    // Sends cost at least a millisecond each, so a node's share bounds the simulated time;
    // the limit only catches a pump that hangs.
    let per_node_ms = messages / nodes as u64 + 1;
    runtime.set_time_limit(Duration::from_millis(per_node_ms * 10 + 60_000));
    runtime.block_on(async move {
        let start = madsim::time::Instant::now();
        let handle = Handle::current();
        let mut running = Vec::with_capacity(nodes);
        for index in 0..nodes {
            let own = address(index);
            let next = address((index + 1) % nodes);
            let to_send = share(messages, nodes, index);
            let to_receive = share(messages, nodes, (index + nodes - 1) % nodes);
            let node = handle
                .create_node()
                .name(format!("pump-{index}"))
                .ip(own.ip())
                .build();
            running.push(node.spawn(pump_node(own, next, to_send, to_receive)));
        }
        let mut delivered = 0;
        for node in running {
            delivered += node
                .await
                .map_err(|error| format!("a pump node failed: {error}"))??;
        }
        let sim_time_ms = u64::try_from(
            madsim::time::Instant::now()
                .duration_since(start)
                .as_millis(),
        )
        .unwrap_or(u64::MAX);
        Ok((delivered, sim_time_ms))
    })
}

/// One ring member: sends its share to the next node while receiving from the previous one.
/// Returns how many datagrams it received.
async fn pump_node(
    own: SocketAddr,
    next: SocketAddr,
    to_send: u64,
    to_receive: u64,
) -> Result<u64, String> {
    let endpoint = Arc::new(
        Endpoint::bind(own)
            .await
            .map_err(|error| format!("bind {own}: {error}"))?,
    );
    madsim::time::sleep(Duration::from_millis(BIND_GRACE_MS)).await;
    let sending = Arc::clone(&endpoint);
    let sender = madsim::task::spawn(async move {
        let payload = [0u8; PAYLOAD_BYTES];
        for _ in 0..to_send {
            sending
                .send_to(next, TAG, &payload)
                .await
                .map_err(|error| format!("send to {next}: {error}"))?;
        }
        Ok::<(), String>(())
    });
    let mut buffer = [0u8; PAYLOAD_BYTES];
    let mut received = 0;
    while received < to_receive {
        let next_datagram = madsim::time::timeout(
            Duration::from_millis(RECEIVE_TIMEOUT_MS),
            endpoint.recv_from(TAG, &mut buffer),
        );
        match next_datagram.await {
            Ok(Ok(_)) => received += 1,
            Ok(Err(error)) => return Err(format!("receive on {own}: {error}")),
            Err(_elapsed) => break,
        }
    }
    sender
        .await
        .map_err(|error| format!("the sender of {own} failed: {error}"))??;
    Ok(received)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_the_message_count() {
        let total: u64 = (0..7).map(|index| share(100, 7, index)).sum();
        assert_eq!(total, 100);
    }

    #[test]
    fn a_pump_delivers_every_message_around_the_ring() {
        let report = pump(3, 300, 1).expect("the pump runs");
        assert_eq!(report.messages_delivered, 300);
        assert!(report.sim_time_ms >= 100, "{report:?}");
    }
}
