//! Kafka's `RangeAssignor` (eager): topic by topic, the members subscribed to it (in member
//! order) get consecutive ranges of its partitions; the first `partitions % members` members
//! get one more. Rack awareness is not modelled.

use super::{empty_assignment, subscribed_topics, subscribes, topic_partitions, MemberAssignment};
use crate::protocol::JoinGroupMember;
use crate::topic::{TopicName, TopicPartition};
use std::collections::BTreeMap;

pub(super) fn assign(
    members: &[&JoinGroupMember],
    partition_counts: &BTreeMap<TopicName, u32>,
) -> MemberAssignment {
    let mut assignment = empty_assignment(members);
    for topic in subscribed_topics(members) {
        let consumers: Vec<&JoinGroupMember> = members
            .iter()
            .copied()
            .filter(|member| subscribes(&member.metadata, topic))
            .collect();
        let partitions: Vec<TopicPartition> = topic_partitions(topic, partition_counts).collect();
        let per_consumer = partitions.len() / consumers.len();
        let extra = partitions.len() % consumers.len();
        for (index, consumer) in consumers.iter().enumerate() {
            let start = index * per_consumer + index.min(extra);
            let length = per_consumer + usize::from(index < extra);
            if let Some(owned) = assignment.get_mut(&consumer.member_id) {
                owned.extend_from_slice(&partitions[start..start + length]);
            }
        }
    }
    for partitions in assignment.values_mut() {
        partitions.sort();
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::super::assign as run;
    use super::super::test_support::*;
    use crate::config::Assignor;

    /// Kafka's documented example: two consumers, two topics of three partitions: C0 gets
    /// t0p0, t0p1, t1p0, t1p1 and C1 gets t0p2, t1p2.
    #[test]
    fn documented_example() {
        let members = [member("c0", &["t0", "t1"]), member("c1", &["t0", "t1"])];
        let assignment = run(Assignor::Range, &members, &counts(&[("t0", 3), ("t1", 3)]));
        assert_eq!(
            of(&assignment, "c0"),
            vec![tp("t0", 0), tp("t0", 1), tp("t1", 0), tp("t1", 1)]
        );
        assert_eq!(of(&assignment, "c1"), vec![tp("t0", 2), tp("t1", 2)]);
    }

    #[test]
    fn only_subscribers_of_a_topic_share_it() {
        let members = [member("a", &["t0"]), member("b", &["t0", "t1"])];
        let assignment = run(Assignor::Range, &members, &counts(&[("t0", 2), ("t1", 2)]));
        assert_eq!(of(&assignment, "a"), vec![tp("t0", 0)]);
        assert_eq!(
            of(&assignment, "b"),
            vec![tp("t0", 1), tp("t1", 0), tp("t1", 1)]
        );
    }

    #[test]
    fn more_members_than_partitions_leaves_some_empty() {
        let members = [
            member("a", &["t"]),
            member("b", &["t"]),
            member("c", &["t"]),
        ];
        let assignment = run(Assignor::Range, &members, &counts(&[("t", 2)]));
        assert_eq!(of(&assignment, "a"), vec![tp("t", 0)]);
        assert_eq!(of(&assignment, "b"), vec![tp("t", 1)]);
        assert!(of(&assignment, "c").is_empty());
    }
}
