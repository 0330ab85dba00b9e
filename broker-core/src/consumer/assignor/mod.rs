//! The partition assignors the group leader runs (Kafka's `ConsumerPartitionAssignor`
//! implementations), as pure functions of the members' subscriptions and the subscribed
//! topics' partition counts. One file per assignor.
//!
//! Members are ordered as Kafka's `MemberInfo` orders them: static members first, by
//! `group.instance.id`, then dynamic members by member id. Every assignor returns an entry
//! for every member, possibly empty, with its partitions sorted.

mod cooperative_sticky;
mod range;
mod round_robin;

use crate::config::Assignor;
use crate::ids::{MemberId, PartitionId};
use crate::protocol::{JoinGroupMember, Subscription};
use crate::topic::{TopicName, TopicPartition};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The result of an assignment: each member's partitions.
pub type MemberAssignment = BTreeMap<MemberId, Vec<TopicPartition>>;

/// Runs `assignor` over `members` and the topics' partition counts (a topic missing from
/// `partition_counts` has no partitions, as in Kafka when metadata does not know it).
pub fn assign(
    assignor: Assignor,
    members: &[JoinGroupMember],
    partition_counts: &BTreeMap<TopicName, u32>,
) -> MemberAssignment {
    let mut ordered: Vec<&JoinGroupMember> = members.iter().collect();
    ordered.sort_by(|a, b| member_order(a, b));
    match assignor {
        Assignor::Range => range::assign(&ordered, partition_counts),
        Assignor::RoundRobin => round_robin::assign(&ordered, partition_counts),
        Assignor::CooperativeSticky => cooperative_sticky::assign(&ordered, partition_counts),
    }
}

/// Kafka's `MemberInfo.compareTo`: static members first, by instance id; then member id.
fn member_order(a: &JoinGroupMember, b: &JoinGroupMember) -> Ordering {
    match (&a.group_instance_id, &b.group_instance_id) {
        (Some(a_instance), Some(b_instance)) => a_instance.cmp(b_instance),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.member_id.cmp(&b.member_id),
    }
}

/// Every partition of `topic`, in order.
fn topic_partitions(
    topic: TopicName,
    partition_counts: &BTreeMap<TopicName, u32>,
) -> impl Iterator<Item = TopicPartition> {
    let count = partition_counts.get(&topic).copied().unwrap_or(0);
    (0..count).map(move |index| TopicPartition::new(topic, PartitionId(index)))
}

/// Whether the subscription names `topic`.
fn subscribes(subscription: &Subscription, topic: TopicName) -> bool {
    subscription.topics.contains(&topic)
}

/// An empty assignment for every member, to be filled.
fn empty_assignment(members: &[&JoinGroupMember]) -> MemberAssignment {
    members
        .iter()
        .map(|member| (member.member_id.clone(), Vec::new()))
        .collect()
}

/// Every topic some member subscribes to, sorted.
fn subscribed_topics(members: &[&JoinGroupMember]) -> Vec<TopicName> {
    let mut topics: Vec<TopicName> = members
        .iter()
        .flat_map(|member| member.metadata.topics.iter().copied())
        .collect();
    topics.sort();
    topics.dedup();
    topics
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::ids::GenerationId;

    pub(crate) fn topic(name: &str) -> TopicName {
        TopicName::new(name)
    }

    pub(crate) fn tp(name: &str, index: u32) -> TopicPartition {
        TopicPartition::new(topic(name), PartitionId(index))
    }

    pub(crate) fn member(id: &str, topics: &[&str]) -> JoinGroupMember {
        owning(id, topics, &[], GenerationId::NONE)
    }

    pub(crate) fn owning(
        id: &str,
        topics: &[&str],
        owned: &[TopicPartition],
        generation: GenerationId,
    ) -> JoinGroupMember {
        JoinGroupMember {
            member_id: MemberId(id.to_string()),
            group_instance_id: None,
            metadata: Subscription {
                topics: topics.iter().map(|name| topic(name)).collect(),
                owned_partitions: owned.to_vec(),
                generation,
            },
        }
    }

    pub(crate) fn counts(topics: &[(&str, u32)]) -> BTreeMap<TopicName, u32> {
        topics
            .iter()
            .map(|&(name, count)| (topic(name), count))
            .collect()
    }

    pub(crate) fn of(assignment: &MemberAssignment, id: &str) -> Vec<TopicPartition> {
        assignment[&MemberId(id.to_string())].clone()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn static_members_order_first_by_instance_id() {
        let mut dynamic = member("a", &["t"]);
        let mut late_static = member("b", &["t"]);
        late_static.group_instance_id = Some("z".to_string());
        let mut early_static = member("c", &["t"]);
        early_static.group_instance_id = Some("y".to_string());
        dynamic.group_instance_id = None;
        let assignment = assign(
            Assignor::Range,
            &[dynamic, late_static, early_static],
            &counts(&[("t", 3)]),
        );
        assert_eq!(of(&assignment, "c"), vec![tp("t", 0)]);
        assert_eq!(of(&assignment, "b"), vec![tp("t", 1)]);
        assert_eq!(of(&assignment, "a"), vec![tp("t", 2)]);
    }
}
