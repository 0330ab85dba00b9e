//! The simulated network. Links behave like TCP connections: per (source, target) FIFO, no
//! duplication, per-link latency (a slow follower is a slow link). A cut link drops what is in
//! flight on it and everything sent while it is cut, but resets nothing: the packets vanish
//! and requesters see timeouts. madsim's own datagrams reorder and its latency is global only,
//! so the simulator carries messages itself and uses madsim for time, scheduling and node
//! lifecycles.
//!
//! Connections. Two nodes *have a connection* once a message has gone on its way between
//! them (either direction) or one of them connected to the other ([`Network::connect`]),
//! since either last started; one connection per pair of nodes stands for all the TCP
//! connections between them. A connection ends when either process stops
//! ([`Network::node_down`]) or one side closes it ([`Network::close_connection`]): the other
//! side, if its process is up, is told with a [`Delivery::ConnectionClosed`] due at that very
//! moment, queued with the messages so that the order is fixed (delivery time, then id). A
//! cut closes nothing.

use crate::delivery_queue::DeliveryQueue;
use crate::held_requests::{HeldApi, HeldRequests};
use crate::step_record::{DropReason, MessageId, SendOutcome};
use rand::rngs::StdRng;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::ids::NodeId;
use watermark_broker_core::protocol::Message;

/// What arrives at a node: a message, or news about its connection with the sender.
#[derive(Clone, Debug)]
pub enum Delivery {
    Message(Message),
    /// The connection with `from` is gone (its process stopped, it closed the connection, or
    /// it refused a connection attempt).
    ConnectionClosed,
    /// The connection this node asked `from` for is established.
    ConnectionEstablished,
}

/// A message (or connection news) on its way.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub id: MessageId,
    pub from: NodeId,
    pub delivery: Delivery,
}

/// A message dropped after it was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DroppedMessage {
    pub id: MessageId,
    pub from: NodeId,
    pub to: NodeId,
    pub reason: DropReason,
}

/// Messages counted on one link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkCounters {
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
}

/// Every link between every pair of nodes.
#[derive(Debug, Default)]
pub struct Network {
    /// Per destination: messages ordered by (delivery time, send order).
    in_flight: BTreeMap<NodeId, DeliveryQueue<Envelope>>,
    /// Per link: the delivery time of the last message, so a link stays FIFO even when a
    /// later message draws a shorter latency.
    last_delivery_ms: BTreeMap<(NodeId, NodeId), u64>,
    /// Directed links that are cut.
    cut: BTreeSet<(NodeId, NodeId)>,
    /// Extra latency on every link touching a node.
    slow_node_latency_ms: BTreeMap<NodeId, u64>,
    /// Nodes that accept messages (process up).
    up: BTreeSet<NodeId>,
    /// Pairs of nodes that have a connection, the smaller id first (see the module header).
    connections: BTreeSet<(NodeId, NodeId)>,
    latency_ms_min: u64,
    latency_ms_max: u64,
    /// Requests their receiver has read but handles late (the `hold-requests` fault).
    held: HeldRequests,
    /// The id of the next message sent; ids also order messages due at the same time.
    next_message_id: u64,
    counters: BTreeMap<(NodeId, NodeId), LinkCounters>,
    /// Messages dropped in flight since the world last took them, for its record.
    dropped: Vec<DroppedMessage>,
}

impl Network {
    pub fn new(latency_ms_min: u64, latency_ms_max: u64) -> Network {
        Network {
            latency_ms_min,
            latency_ms_max: latency_ms_max.max(latency_ms_min),
            ..Network::default()
        }
    }

    /// The node's process is up and accepting connections.
    pub fn node_up(&mut self, node: NodeId) {
        self.up.insert(node);
    }

    /// The node's process stopped (crash, power loss, or any other stop): its connections
    /// close, so nothing in flight to or from it arrives, and every live peer it had a
    /// connection with learns at `now_ms`. Returns those peers, in id order, for waking.
    pub fn node_down(&mut self, node: NodeId, now_ms: u64) -> Vec<NodeId> {
        self.up.remove(&node);
        self.drop_in_flight(|from, to| {
            if to == node {
                Some(DropReason::ReceiverDown)
            } else if from == node {
                Some(DropReason::SenderDown)
            } else {
                None
            }
        });
        let peers: Vec<NodeId> = self
            .connections
            .iter()
            .filter_map(|&(a, b)| match (a == node, b == node) {
                (true, _) => Some(b),
                (_, true) => Some(a),
                _ => None,
            })
            .collect();
        self.connections.retain(|&(a, b)| a != node && b != node);
        self.forget_news(node, node);
        let live: Vec<NodeId> = peers
            .into_iter()
            .filter(|peer| self.up.contains(peer))
            .collect();
        for &peer in &live {
            self.notify(peer, node, now_ms, Delivery::ConnectionClosed);
        }
        live
    }

    /// `closer` closes its connection with `peer` at `now_ms` (Kafka's broker closing a
    /// client's channel): what is in flight between them is dropped, both ways, and `peer`
    /// learns at once. Returns whether `peer` was told (it had a connection and is up).
    pub fn close_connection(&mut self, closer: NodeId, peer: NodeId, now_ms: u64) -> bool {
        self.drop_in_flight(|from, to| {
            ((from, to) == (closer, peer) || (from, to) == (peer, closer))
                .then_some(DropReason::ConnectionClosed)
        });
        self.forget_news(closer, peer);
        let had = self.connections.remove(&connection(closer, peer));
        let told = had && self.up.contains(&peer);
        if told {
            self.notify(peer, closer, now_ms, Delivery::ConnectionClosed);
        }
        told
    }

    /// `from` connects to `to`, leaving at `departure_ms`. The answer comes back one link
    /// latency later: established if `to`'s process is up, refused (closed) if it is down.
    /// Across a cut, in either direction, nothing comes back. Returns when the answer is due.
    pub fn connect(
        &mut self,
        random: &mut StdRng,
        departure_ms: u64,
        from: NodeId,
        to: NodeId,
    ) -> Option<u64> {
        if self.cut.contains(&(from, to)) || self.cut.contains(&(to, from)) {
            return None;
        }
        let answer_ms = departure_ms + self.latency_ms(random, from, to);
        let answer = if self.up.contains(&to) {
            self.connections.insert(connection(from, to));
            Delivery::ConnectionEstablished
        } else {
            Delivery::ConnectionClosed
        };
        self.notify(from, to, answer_ms, answer);
        Some(answer_ms)
    }

    /// Forgets connection news that a close between `a` and `b` makes void: news between
    /// the two, either way. When `a == b` (its process stopped), all news for it (its next
    /// incarnation starts with no connection) and every establishment it announced (it would
    /// arrive after the close).
    fn forget_news(&mut self, a: NodeId, b: NodeId) {
        let stopped = a == b;
        for (&to, queue) in self.in_flight.iter_mut() {
            queue.retain(|_, envelope| {
                let from = envelope.from;
                let void = match envelope.delivery {
                    Delivery::Message(_) => false,
                    _ if stopped => to == a || from == a,
                    _ => (to, from) == (a, b) || (to, from) == (b, a),
                };
                !void
            });
        }
    }

    /// Whether `a` and `b` have a connection.
    pub fn is_connected(&self, a: NodeId, b: NodeId) -> bool {
        self.connections.contains(&connection(a, b))
    }

    /// Queues connection news for `to` about `about`, due at `at_ms`. News is not a message:
    /// the links' counters and FIFO clocks do not see it.
    fn notify(&mut self, to: NodeId, about: NodeId, at_ms: u64, delivery: Delivery) {
        let id = MessageId(self.next_message_id);
        self.next_message_id += 1;
        self.in_flight.entry(to).or_default().insert(
            (at_ms, id.0),
            Envelope {
                id,
                from: about,
                delivery,
            },
        );
    }

    /// One message's latency on the link from `from` to `to`.
    fn latency_ms(&self, random: &mut StdRng, from: NodeId, to: NodeId) -> u64 {
        let base_latency_ms = random.gen_range(self.latency_ms_min..=self.latency_ms_max);
        base_latency_ms
            + self.slow_node_latency_ms.get(&from).copied().unwrap_or(0)
            + self.slow_node_latency_ms.get(&to).copied().unwrap_or(0)
    }

    pub fn is_up(&self, node: NodeId) -> bool {
        self.up.contains(&node)
    }

    /// Sends a message leaving `from` at `departure_ms`: its id and when it is due, or why
    /// it was dropped.
    pub fn send(
        &mut self,
        random: &mut StdRng,
        departure_ms: u64,
        from: NodeId,
        to: NodeId,
        message: Message,
    ) -> (MessageId, SendOutcome) {
        let id = MessageId(self.next_message_id);
        self.next_message_id += 1;
        let counters = self.counters.entry((from, to)).or_default();
        counters.sent += 1;
        let dropped = if self.cut.contains(&(from, to)) {
            Some(DropReason::LinkCut)
        } else if !self.up.contains(&to) {
            Some(DropReason::ReceiverDown)
        } else if !self.up.contains(&from) {
            Some(DropReason::SenderDown)
        } else {
            None
        };
        if let Some(reason) = dropped {
            counters.dropped += 1;
            return (id, SendOutcome::Dropped { reason });
        }
        self.connections.insert(connection(from, to));
        let earliest_ms = departure_ms + self.latency_ms(random, from, to);
        let delivery_ms = match self.held.delivery_ms(id, from, to, &message, earliest_ms) {
            Some(held_ms) => held_ms,
            None => {
                let last = self.last_delivery_ms.entry((from, to)).or_insert(0);
                *last = earliest_ms.max(*last);
                *last
            }
        };
        self.in_flight.entry(to).or_default().insert(
            (delivery_ms, id.0),
            Envelope {
                id,
                from,
                delivery: Delivery::Message(message),
            },
        );
        (id, SendOutcome::InFlight { delivery_ms })
    }

    /// When the next message for `node` arrives, if any is in flight.
    pub fn next_delivery_ms(&self, node: NodeId) -> Option<u64> {
        self.in_flight
            .get(&node)
            .and_then(DeliveryQueue::first_key)
            .map(|(delivery_ms, _)| delivery_ms)
    }

    /// Takes the next message for `node` due at or before `now_ms`.
    pub fn take_due(&mut self, node: NodeId, now_ms: u64) -> Option<Envelope> {
        let queue = self.in_flight.get_mut(&node)?;
        if queue.first_key()?.0 > now_ms {
            return None;
        }
        let (_, envelope) = queue.pop_first()?;
        self.held.forget(envelope.id);
        if let Delivery::Message(_) = envelope.delivery {
            self.counters
                .entry((envelope.from, node))
                .or_default()
                .delivered += 1;
        }
        Some(envelope)
    }

    /// Cuts the directed link and drops what is in flight on it.
    pub fn cut(&mut self, from: NodeId, to: NodeId) {
        if from == to {
            return;
        }
        self.cut.insert((from, to));
        self.drop_in_flight(|source, target| {
            (source == from && target == to).then_some(DropReason::LinkCut)
        });
    }

    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cut.contains(&(from, to))
    }

    /// Adds latency to every link into and out of `node`.
    pub fn set_slow(&mut self, node: NodeId, latency_ms: u64) {
        if latency_ms == 0 {
            self.slow_node_latency_ms.remove(&node);
        } else {
            self.slow_node_latency_ms.insert(node, latency_ms);
        }
    }

    /// From now on `to` handles the `api` requests `from` sends `delay_ms` late, even if
    /// `from` closes the connection meanwhile (`held_requests.rs`).
    pub fn hold_requests(&mut self, from: NodeId, to: NodeId, api: HeldApi, delay_ms: u64) {
        self.held.hold(from, to, api, delay_ms);
    }

    /// Repairs every cut and slow link and ends every hold (requests already held stay late).
    pub fn heal_all(&mut self) {
        self.cut.clear();
        self.slow_node_latency_ms.clear();
        self.held.release_all();
    }

    /// Whether anything is cut, slowed or held.
    pub fn is_degraded(&self) -> bool {
        !self.cut.is_empty() || !self.slow_node_latency_ms.is_empty() || self.held.is_holding()
    }

    pub fn counters(&self) -> &BTreeMap<(NodeId, NodeId), LinkCounters> {
        &self.counters
    }

    pub fn total(&self) -> LinkCounters {
        self.counters
            .values()
            .fold(LinkCounters::default(), |total, link| LinkCounters {
                sent: total.sent + link.sent,
                delivered: total.delivered + link.delivered,
                dropped: total.dropped + link.dropped,
            })
    }

    /// Messages dropped in flight since the last call, in the order they were dropped.
    pub fn take_dropped(&mut self) -> Vec<DroppedMessage> {
        std::mem::take(&mut self.dropped)
    }

    /// Drops every message in flight on a link `doomed` gives a reason for.
    fn drop_in_flight(&mut self, doomed: impl Fn(NodeId, NodeId) -> Option<DropReason>) {
        let held = &mut self.held;
        for (&to, queue) in self.in_flight.iter_mut() {
            let before = queue.len();
            let mut dropped: Vec<DroppedMessage> = Vec::new();
            queue.retain(|_, envelope| match doomed(envelope.from, to) {
                // Connection news is not traffic on the link: a cut or a close leaves it.
                _ if !matches!(envelope.delivery, Delivery::Message(_)) => true,
                Some(reason) if held.spares(envelope.id, reason) => true,
                Some(reason) => {
                    held.forget(envelope.id);
                    dropped.push(DroppedMessage {
                        id: envelope.id,
                        from: envelope.from,
                        to,
                        reason,
                    });
                    false
                }
                None => true,
            });
            debug_assert_eq!(before - queue.len(), dropped.len());
            for message in &dropped {
                self.counters.entry((message.from, to)).or_default().dropped += 1;
            }
            self.dropped.extend(dropped);
        }
    }
}

/// A pair of nodes as [`Network::connections`] keys it.
fn connection(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    (a.min(b), a.max(b))
}

#[cfg(test)]
mod tests {
    /// The delivery time of a send, or `None` if it was dropped.
    fn delivery((_, outcome): (MessageId, SendOutcome)) -> Option<u64> {
        match outcome {
            SendOutcome::InFlight { delivery_ms } => Some(delivery_ms),
            SendOutcome::Dropped { .. } => None,
        }
    }

    use super::*;
    use rand::SeedableRng;
    use watermark_broker_core::ids::{BrokerId, CorrelationId};
    use watermark_broker_core::protocol::MetadataRequest;

    fn request(number: u64) -> Message {
        Message::Metadata(MetadataRequest {
            correlation: CorrelationId(number),
        })
    }

    fn correlation(delivery: &Delivery) -> u64 {
        match delivery {
            Delivery::Message(Message::Metadata(MetadataRequest { correlation })) => correlation.0,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn two_nodes(latency_ms_max: u64) -> (Network, NodeId, NodeId) {
        let mut network = Network::new(1, latency_ms_max);
        let a = NodeId::Broker(BrokerId(1));
        let b = NodeId::Broker(BrokerId(2));
        network.node_up(a);
        network.node_up(b);
        (network, a, b)
    }

    #[test]
    fn a_link_delivers_in_send_order_despite_random_latency() {
        let (mut network, a, b) = two_nodes(50);
        let mut random = StdRng::seed_from_u64(3);
        for number in 0..200 {
            network.send(&mut random, number, a, b, request(number));
        }
        let mut received = Vec::new();
        while let Some(envelope) = network.take_due(b, u64::MAX) {
            received.push(correlation(&envelope.delivery));
        }
        assert_eq!(received, (0..200).collect::<Vec<_>>());
    }

    #[test]
    fn cutting_a_link_drops_in_flight_and_later_messages_one_way_only() {
        let (mut network, a, b) = two_nodes(5);
        let mut random = StdRng::seed_from_u64(3);
        delivery(network.send(&mut random, 0, a, b, request(1)));
        delivery(network.send(&mut random, 0, b, a, request(2)));
        network.cut(a, b);
        assert_eq!(
            delivery(network.send(&mut random, 1, a, b, request(3))),
            None
        );
        assert!(network.take_due(b, u64::MAX).is_none());
        assert_eq!(
            correlation(&network.take_due(a, u64::MAX).unwrap().delivery),
            2
        );
        assert_eq!(network.counters()[&(a, b)].dropped, 2);
        network.heal_all();
        assert!(delivery(network.send(&mut random, 2, a, b, request(4))).is_some());
    }

    #[test]
    fn a_slow_node_delays_its_links_and_a_down_node_receives_nothing() {
        let (mut network, a, b) = two_nodes(1);
        let mut random = StdRng::seed_from_u64(3);
        network.set_slow(b, 300);
        assert_eq!(
            delivery(network.send(&mut random, 0, a, b, request(1))),
            Some(301)
        );
        network.node_down(b, 0);
        assert!(network.next_delivery_ms(b).is_none());
        assert_eq!(
            delivery(network.send(&mut random, 0, a, b, request(2))),
            None
        );
    }

    fn news(network: &mut Network, node: NodeId) -> Vec<(NodeId, &'static str)> {
        let mut news = Vec::new();
        while let Some(envelope) = network.take_due(node, u64::MAX) {
            let kind = match envelope.delivery {
                Delivery::Message(_) => "message",
                Delivery::ConnectionClosed => "closed",
                Delivery::ConnectionEstablished => "established",
            };
            news.push((envelope.from, kind));
        }
        news
    }

    #[test]
    fn a_stopped_process_closes_its_connections_and_its_live_peers_learn_at_once() {
        let (mut network, a, b) = two_nodes(5);
        let c = NodeId::Broker(BrokerId(3));
        let d = NodeId::Broker(BrokerId(4));
        network.node_up(c);
        network.node_up(d);
        let mut random = StdRng::seed_from_u64(3);
        // a talked with b and c; d never talked with a.
        network.send(&mut random, 0, a, b, request(1));
        network.send(&mut random, 0, c, a, request(2));
        network.send(&mut random, 0, d, b, request(3));
        assert!(network.is_connected(a, b) && network.is_connected(c, a));
        assert_eq!(network.node_down(a, 2), vec![b, c]);
        assert!(!network.is_connected(a, b));
        // At the very moment of the stop, after what was already due for it.
        assert_eq!(network.next_delivery_ms(c), Some(2));
        assert_eq!(news(&mut network, c), vec![(a, "closed")]);
        assert_eq!(news(&mut network, b), vec![(d, "message"), (a, "closed")]);
        assert_eq!(news(&mut network, d), vec![]);
        // The message a sent is gone; closing news is not counted as traffic.
        assert_eq!(network.counters()[&(a, b)].dropped, 1);
        assert_eq!(network.counters()[&(a, b)].delivered, 0);
    }

    #[test]
    fn a_cut_link_closes_nothing_and_no_one_is_told() {
        let (mut network, a, b) = two_nodes(5);
        let mut random = StdRng::seed_from_u64(3);
        network.send(&mut random, 0, a, b, request(1));
        network.cut(a, b);
        network.cut(b, a);
        assert!(network.is_connected(a, b));
        assert_eq!(news(&mut network, a), vec![]);
        assert_eq!(news(&mut network, b), vec![]);
        // Nor does a connection attempt across the cut get any answer.
        assert_eq!(network.connect(&mut random, 1, a, b), None);
        assert_eq!(news(&mut network, a), vec![]);
    }

    #[test]
    fn closing_a_connection_drops_what_is_in_flight_both_ways_and_tells_the_peer() {
        let (mut network, a, b) = two_nodes(5);
        let mut random = StdRng::seed_from_u64(3);
        network.send(&mut random, 0, a, b, request(1));
        network.send(&mut random, 0, b, a, request(2));
        assert!(network.close_connection(b, a, 1));
        assert_eq!(news(&mut network, a), vec![(b, "closed")]);
        assert_eq!(news(&mut network, b), vec![]);
        let dropped: Vec<DropReason> = network.take_dropped().iter().map(|d| d.reason).collect();
        assert_eq!(dropped, vec![DropReason::ConnectionClosed; 2]);
        // Closed already: closing again tells no one.
        assert!(!network.close_connection(b, a, 2));
    }

    #[test]
    fn a_connection_attempt_is_established_by_a_live_process_and_refused_by_a_stopped_one() {
        let (mut network, a, b) = two_nodes(1);
        let mut random = StdRng::seed_from_u64(3);
        assert_eq!(network.connect(&mut random, 0, a, b), Some(1));
        assert_eq!(news(&mut network, a), vec![(b, "established")]);
        network.node_down(b, 2);
        assert_eq!(news(&mut network, a), vec![(b, "closed")]);
        assert_eq!(network.connect(&mut random, 3, a, b), Some(4));
        assert_eq!(news(&mut network, a), vec![(b, "closed")]);
        assert!(!network.is_connected(a, b));
    }

    fn end_txn(number: u64) -> Message {
        use watermark_broker_core::ids::{ProducerEpoch, ProducerId, TransactionalId};
        use watermark_broker_core::protocol::{EndTxnRequest, ProducerIdAndEpoch};
        Message::EndTxn(EndTxnRequest {
            correlation: CorrelationId(number),
            transactional_id: TransactionalId("payments".to_string()),
            producer: ProducerIdAndEpoch {
                producer_id: ProducerId(1),
                epoch: ProducerEpoch(0),
            },
            committed: true,
        })
    }

    /// A held EndTxn is due `delay_ms` late, lets the link's other traffic pass it, and
    /// survives its sender closing the connection (the broker had read it); a stopped
    /// receiver still loses it.
    #[test]
    fn a_held_request_arrives_late_past_a_closed_connection_and_blocks_nothing() {
        let (mut network, a, b) = two_nodes(1);
        let mut random = StdRng::seed_from_u64(3);
        network.hold_requests(a, b, HeldApi::EndTxn, 1_000);
        assert!(network.is_degraded());
        assert_eq!(
            delivery(network.send(&mut random, 0, a, b, end_txn(1))),
            Some(1_001)
        );
        assert_eq!(
            delivery(network.send(&mut random, 0, a, b, request(2))),
            Some(1)
        );
        assert!(network.close_connection(a, b, 5));
        assert_eq!(
            network.take_dropped().len(),
            1,
            "the metadata request is lost"
        );
        assert!(matches!(
            network.take_due(b, 5).unwrap().delivery,
            Delivery::ConnectionClosed
        ));
        network.heal_all();
        assert!(!network.is_degraded());
        assert_eq!(
            delivery(network.send(&mut random, 6, a, b, end_txn(3))),
            Some(7)
        );
        let envelope = network.take_due(b, 7).unwrap();
        assert!(
            matches!(envelope.delivery, Delivery::Message(Message::EndTxn(ref request)) if request.correlation == CorrelationId(3))
        );
        assert!(network.take_due(b, 1_000).is_none());
        let late = network.take_due(b, 1_001).unwrap();
        assert!(
            matches!(late.delivery, Delivery::Message(Message::EndTxn(ref request)) if request.correlation == CorrelationId(1))
        );

        network.hold_requests(a, b, HeldApi::EndTxn, 1_000);
        network.send(&mut random, 2_000, a, b, end_txn(4));
        network.node_down(b, 2_001);
        assert_eq!(network.take_dropped()[0].reason, DropReason::ReceiverDown);
    }

    #[test]
    fn a_hold_names_one_api_and_one_direction() {
        let (mut network, a, b) = two_nodes(1);
        let mut random = StdRng::seed_from_u64(3);
        network.hold_requests(a, b, HeldApi::Produce, 500);
        assert_eq!(
            delivery(network.send(&mut random, 0, a, b, end_txn(1))),
            Some(1)
        );
        assert_eq!(
            delivery(network.send(&mut random, 0, b, a, end_txn(2))),
            Some(1)
        );
    }
}
