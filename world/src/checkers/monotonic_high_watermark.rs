//! `MonotonicHighWatermark`, after Kafka's `RaftEventSimulationTest` (the
//! `MonotonicHighWatermark` invariant: the leader's high watermark never goes backwards),
//! applied to every leader of every partition: the committed offset a leader publishes.
//!
//! Followers are not held to it: a follower copies the leader's high watermark, bounded by its
//! own log end offset, and Kafka lets that copy go down (`UnifiedLog.maybeUpdateHighWatermark`
//! on the follower path), for instance when a new leader has not yet learned the high
//! watermark its predecessor had sent. A follower's updates still move the mark a broker
//! starts from when it becomes leader.
//!
//! Per broker incarnation and partition, while the broker leads it (from its `BecameLeader` to
//! its `BecameFollower` or stop):
//! - a `HighWatermarkUpdated` with `from > to` is a violation;
//! - so is one whose `to` is below the last high watermark this incarnation reported (a
//!   silent decrease between two updates, or across becoming leader), except that a
//!   `LogTruncated` below the last high watermark lowers the mark first: a truncation is
//!   allowed to pull the high watermark down with the log end, and whether that lost
//!   committed data is `NoCommittedRecordLost`'s call.
//!
//! A new incarnation starts on `LogRecovered` (at the recovered high watermark) and when the
//! broker stops ([`super::ReplicaCheckers::broker_stopped`]). One violation per distinct
//! (broker, partition, from, to); offsets are `[from, to]`.

use crate::checkers::registry::Checker;
use crate::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use watermark_broker_core::event::Event;
use watermark_broker_core::ids::{BrokerId, NodeId, Offset};
use watermark_broker_core::topic::TopicPartition;

pub const NAME: Checker = Checker::MonotonicHighWatermark;

#[derive(Debug, Default)]
pub(crate) struct MonotonicHighWatermark {
    /// The high watermark each live broker incarnation last reported, per partition.
    last_high_watermark: BTreeMap<(BrokerId, TopicPartition), Offset>,
    /// The (broker, partition) pairs where the broker leads now.
    leading: BTreeSet<(BrokerId, TopicPartition)>,
    reported: BTreeSet<(BrokerId, TopicPartition, Offset, Offset)>,
}

impl MonotonicHighWatermark {
    pub fn observe(&mut self, time_ms: u64, node: NodeId, event: &Event, out: &mut Vec<Violation>) {
        let NodeId::Broker(broker) = node else { return };
        match event {
            Event::BecameLeader { partition, .. } => {
                self.leading.insert((broker, *partition));
            }
            Event::BecameFollower { partition, .. } => {
                self.leading.remove(&(broker, *partition));
            }
            Event::LogRecovered {
                partition,
                high_watermark,
                ..
            } => {
                self.last_high_watermark
                    .insert((broker, *partition), *high_watermark);
            }
            Event::LogTruncated {
                partition,
                to_offset,
                ..
            } => {
                if let Some(last) = self.last_high_watermark.get_mut(&(broker, *partition)) {
                    *last = (*last).min(*to_offset);
                }
            }
            // A follower's log started again at its leader's log start offset: its high
            // watermark is that offset (it does not lead, so nothing to judge).
            Event::LogTruncatedFully {
                partition,
                start_offset,
                ..
            } => {
                self.last_high_watermark
                    .insert((broker, *partition), *start_offset);
            }
            Event::HighWatermarkUpdated {
                partition,
                from,
                to,
            } => {
                let last = self.last_high_watermark.insert((broker, *partition), *to);
                if !self.leading.contains(&(broker, *partition)) {
                    return;
                }
                let (from, how) = if to < from {
                    (*from, "moved its high watermark")
                } else {
                    match last {
                        Some(last) if *to < last => (last, "silently lowered its high watermark"),
                        _ => return,
                    }
                };
                if !self.reported.insert((broker, *partition, from, *to)) {
                    return;
                }
                out.push(Violation {
                    checker: NAME,
                    partition: Some(*partition),
                    offsets: vec![from, *to],
                    values: Vec::new(),
                    time_ms,
                    description: format!(
                        "{broker} {how} for {partition} backwards from {from} to {to}"
                    ),
                });
            }
            _ => {}
        }
    }

    /// The broker's process died: its next incarnation starts from whatever it recovers.
    pub fn broker_stopped(&mut self, broker: BrokerId) {
        self.last_high_watermark
            .retain(|(holder, _), _| *holder != broker);
        self.leading.retain(|(holder, _)| *holder != broker);
    }
}

#[cfg(test)]
mod tests {
    use crate::checkers::test_support::*;
    use crate::checkers::Checker;
    use crate::checkers::ReplicaCheckers;
    use watermark_broker_core::event::{Event, TruncationReason};
    use watermark_broker_core::ids::{LeaderEpoch, NodeId};

    /// This checker's findings on one event (the fake cluster holds no replicas, which other
    /// checkers would have opinions about).
    fn monotonic(
        checkers: &mut ReplicaCheckers,
        time_ms: u64,
        node: NodeId,
        event: &Event,
        cluster: &FakeCluster,
    ) -> Vec<crate::violation::Violation> {
        only(
            &checkers.observe(time_ms, node, event, cluster),
            "MonotonicHighWatermark",
        )
    }

    fn hw(from: u64, to: u64) -> Event {
        Event::HighWatermarkUpdated {
            partition: p(0),
            from: o(from),
            to: o(to),
        }
    }

    fn became_leader(epoch: u32) -> Event {
        Event::BecameLeader {
            partition: p(0),
            leader_epoch: LeaderEpoch(epoch),
            isr: vec![b(1)],
            log_end_offset: o(5),
        }
    }

    fn became_follower(epoch: u32) -> Event {
        Event::BecameFollower {
            partition: p(0),
            leader_epoch: LeaderEpoch(epoch),
            leader: Some(b(2)),
        }
    }

    /// Broker 1's checkers, with broker 1 leading p0.
    fn leading() -> (FakeCluster, ReplicaCheckers) {
        let cluster = FakeCluster::new(&[1, 2]);
        let mut checkers = ReplicaCheckers::new();
        let broker = NodeId::Broker(b(1));
        assert!(monotonic(&mut checkers, 1, broker, &became_leader(1), &cluster).is_empty());
        (cluster, checkers)
    }

    #[test]
    fn a_follower_high_watermark_going_down_passes() {
        let cluster = FakeCluster::new(&[1, 2]);
        let mut checkers = ReplicaCheckers::new();
        let broker = NodeId::Broker(b(1));
        assert!(monotonic(&mut checkers, 1, broker, &became_follower(1), &cluster).is_empty());
        assert!(monotonic(&mut checkers, 10, broker, &hw(0, 5), &cluster).is_empty());
        assert!(monotonic(&mut checkers, 20, broker, &hw(5, 3), &cluster).is_empty());
        assert!(monotonic(&mut checkers, 30, broker, &hw(2, 4), &cluster).is_empty());
    }

    #[test]
    fn a_leader_high_watermark_going_down_fails_even_across_becoming_leader() {
        let cluster = FakeCluster::new(&[1, 2]);
        let mut checkers = ReplicaCheckers::new();
        let broker = NodeId::Broker(b(1));
        // As follower it learned 5; as leader it may not publish less.
        assert!(monotonic(&mut checkers, 10, broker, &hw(0, 5), &cluster).is_empty());
        assert!(monotonic(&mut checkers, 11, broker, &became_leader(2), &cluster).is_empty());
        let violations = monotonic(&mut checkers, 20, broker, &hw(3, 4), &cluster);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].offsets, vec![o(5), o(4)]);
        // After it leads no more, its copy may go down.
        assert!(monotonic(&mut checkers, 30, broker, &became_follower(3), &cluster).is_empty());
        assert!(monotonic(&mut checkers, 40, broker, &hw(4, 2), &cluster).is_empty());
    }

    #[test]
    fn high_watermark_moving_backwards_is_caught() {
        let (cluster, mut checkers) = leading();
        let broker = NodeId::Broker(b(1));
        assert!(monotonic(&mut checkers, 10, broker, &hw(0, 5), &cluster).is_empty());
        let violations = monotonic(&mut checkers, 20, broker, &hw(5, 3), &cluster);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].checker, Checker::MonotonicHighWatermark);
        assert_eq!(violations[0].partition, Some(p(0)));
        assert_eq!(violations[0].offsets, vec![o(5), o(3)]);
        assert_eq!(violations[0].time_ms, 20);
    }

    #[test]
    fn silent_decrease_between_updates_is_caught() {
        let (cluster, mut checkers) = leading();
        let broker = NodeId::Broker(b(1));
        assert!(monotonic(&mut checkers, 10, broker, &hw(0, 5), &cluster).is_empty());
        let violations = monotonic(&mut checkers, 20, broker, &hw(2, 4), &cluster);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].offsets, vec![o(5), o(4)]);
    }

    #[test]
    fn a_restart_or_a_truncation_starts_the_high_watermark_afresh() {
        let (cluster, mut checkers) = leading();
        let broker = NodeId::Broker(b(1));
        assert!(monotonic(&mut checkers, 10, broker, &hw(0, 5), &cluster).is_empty());
        checkers.broker_stopped(b(1));
        assert!(monotonic(&mut checkers, 20, broker, &hw(0, 2), &cluster).is_empty());
        let recovered = Event::LogRecovered {
            partition: p(0),
            log_end_offset: o(2),
            high_watermark: o(1),
            latest_epoch: None,
            records: Vec::new(),
        };
        assert!(monotonic(&mut checkers, 30, broker, &recovered, &cluster).is_empty());
        assert!(monotonic(&mut checkers, 30, broker, &became_leader(2), &cluster).is_empty());
        assert!(monotonic(&mut checkers, 31, broker, &hw(1, 2), &cluster).is_empty());
        let truncated = Event::LogTruncated {
            partition: p(0),
            from_log_end_offset: o(2),
            to_offset: o(1),
            reason: TruncationReason::LeaderEpochDivergence,
        };
        assert!(monotonic(&mut checkers, 40, broker, &truncated, &cluster).is_empty());
        assert!(monotonic(&mut checkers, 41, broker, &hw(1, 1), &cluster).is_empty());
        assert!(monotonic(&mut checkers, 42, broker, &hw(1, 3), &cluster).is_empty());
        // Another broker's high watermark is its own.
        assert!(monotonic(&mut checkers, 43, NodeId::Broker(b(2)), &hw(0, 1), &cluster).is_empty());
    }
}
