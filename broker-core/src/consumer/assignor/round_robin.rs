//! Kafka's `RoundRobinAssignor` (eager): every subscribed partition, sorted by topic then
//! partition, is dealt to the members in turn (in member order), skipping a member not
//! subscribed to the partition's topic.

use super::{empty_assignment, subscribed_topics, subscribes, topic_partitions, MemberAssignment};
use crate::protocol::JoinGroupMember;
use crate::topic::TopicName;
use std::collections::BTreeMap;

pub(super) fn assign(
    members: &[&JoinGroupMember],
    partition_counts: &BTreeMap<TopicName, u32>,
) -> MemberAssignment {
    let mut assignment = empty_assignment(members);
    let mut next_member = 0;
    for topic in subscribed_topics(members) {
        for partition in topic_partitions(topic, partition_counts) {
            // Some member subscribes to `topic`, so this finds one within a full turn.
            for _ in 0..members.len() {
                let member = members[next_member % members.len()];
                next_member += 1;
                if subscribes(&member.metadata, topic) {
                    if let Some(owned) = assignment.get_mut(&member.member_id) {
                        owned.push(partition);
                    }
                    break;
                }
            }
        }
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::super::assign as run;
    use super::super::test_support::*;
    use crate::config::Assignor;

    /// Kafka's documented example: C0 and C1 on t0 and t1 of three partitions each: C0 gets
    /// t0p0, t0p2, t1p1 and C1 gets t0p1, t1p0, t1p2.
    #[test]
    fn documented_example() {
        let members = [member("c0", &["t0", "t1"]), member("c1", &["t0", "t1"])];
        let assignment = run(
            Assignor::RoundRobin,
            &members,
            &counts(&[("t0", 3), ("t1", 3)]),
        );
        assert_eq!(
            of(&assignment, "c0"),
            vec![tp("t0", 0), tp("t0", 2), tp("t1", 1)]
        );
        assert_eq!(
            of(&assignment, "c1"),
            vec![tp("t0", 1), tp("t1", 0), tp("t1", 2)]
        );
    }

    /// Kafka's documented example with differing subscriptions: C0 on t0; C1 on t0, t1;
    /// C2 on t0, t1, t2 (one, two and three partitions): C0 gets t0p0, C1 t1p0, C2 t1p1,
    /// t2p0, t2p1, t2p2.
    #[test]
    fn documented_example_with_differing_subscriptions() {
        let members = [
            member("c0", &["t0"]),
            member("c1", &["t0", "t1"]),
            member("c2", &["t0", "t1", "t2"]),
        ];
        let assignment = run(
            Assignor::RoundRobin,
            &members,
            &counts(&[("t0", 1), ("t1", 2), ("t2", 3)]),
        );
        assert_eq!(of(&assignment, "c0"), vec![tp("t0", 0)]);
        assert_eq!(of(&assignment, "c1"), vec![tp("t1", 0)]);
        assert_eq!(
            of(&assignment, "c2"),
            vec![tp("t1", 1), tp("t2", 0), tp("t2", 1), tp("t2", 2)]
        );
    }
}
