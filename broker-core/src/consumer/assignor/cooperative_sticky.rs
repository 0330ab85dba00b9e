//! Kafka's `CooperativeStickyAssignor` (KIP-54 stickiness, KIP-429 cooperative protocol):
//! a balanced assignment that keeps as many partitions as possible with their owners, from
//! which every partition that would move to another member is then withheld. Its owner
//! revokes it after this rebalance and the member's next rebalance hands it out, so no
//! partition is ever owned by two members at once.
//!
//! Ownership claims come from the members' subscriptions (`owned_partitions` and the
//! `generation` they were assigned in). As in Kafka's `AbstractStickyAssignor`, only claims
//! from the highest generation count; a partition claimed twice in that generation is
//! kept by neither; a claim on a topic the member no longer subscribes to, or on a
//! partition that no longer exists, is dropped.
//!
//! The balancing is not Kafka's algorithm line by line but reaches the same properties
//! Kafka's tests check: every partition assigned to at most one eligible member; balanced
//! (no partition could move to an eligible member with two fewer); and sticky (a member
//! loses an owned partition only to restore balance).

use super::{empty_assignment, subscribed_topics, subscribes, topic_partitions, MemberAssignment};
use crate::ids::MemberId;
use crate::protocol::JoinGroupMember;
use crate::topic::{TopicName, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn assign(
    members: &[&JoinGroupMember],
    partition_counts: &BTreeMap<TopicName, u32>,
) -> MemberAssignment {
    let owners = valid_owners(members, partition_counts);
    let sticky = sticky_assignment(members, partition_counts, &owners);
    withhold_moving_partitions(sticky, &owners)
}

/// The owner of each partition whose claim counts (see the module header).
fn valid_owners(
    members: &[&JoinGroupMember],
    partition_counts: &BTreeMap<TopicName, u32>,
) -> BTreeMap<TopicPartition, MemberId> {
    let newest = members
        .iter()
        .map(|member| member.metadata.generation)
        .max();
    let mut claims: BTreeMap<TopicPartition, Vec<&MemberId>> = BTreeMap::new();
    for member in members {
        if Some(member.metadata.generation) != newest {
            continue;
        }
        for partition in &member.metadata.owned_partitions {
            let exists = partition.partition.0
                < partition_counts.get(&partition.topic).copied().unwrap_or(0);
            if exists && subscribes(&member.metadata, partition.topic) {
                claims
                    .entry(*partition)
                    .or_default()
                    .push(&member.member_id);
            }
        }
    }
    claims
        .into_iter()
        .filter(|(_, claimants)| claimants.len() == 1)
        .map(|(partition, claimants)| (partition, claimants[0].clone()))
        .collect()
}

/// The balanced, sticky assignment before withholding moved partitions: every member keeps
/// its valid owned partitions, the rest go one by one to the eligible member with the
/// fewest, then partitions move from the fullest members to eligible members with at least
/// two fewer until none can.
fn sticky_assignment(
    members: &[&JoinGroupMember],
    partition_counts: &BTreeMap<TopicName, u32>,
    owners: &BTreeMap<TopicPartition, MemberId>,
) -> BTreeMap<MemberId, BTreeSet<TopicPartition>> {
    let mut assignment: BTreeMap<MemberId, BTreeSet<TopicPartition>> = empty_assignment(members)
        .into_keys()
        .map(|member| (member, BTreeSet::new()))
        .collect();
    for (partition, owner) in owners {
        if let Some(owned) = assignment.get_mut(owner) {
            owned.insert(*partition);
        }
    }
    for topic in subscribed_topics(members) {
        for partition in topic_partitions(topic, partition_counts) {
            if owners.contains_key(&partition) {
                continue;
            }
            if let Some(member) = least_loaded(members, &assignment, topic, None) {
                assignment.entry(member).or_default().insert(partition);
            }
        }
    }
    rebalance(members, &mut assignment);
    assignment
}

/// The eligible member (subscribed to `topic`) with the fewest partitions, first in member
/// order on ties; `below` keeps only members with at most `below - 2` partitions.
fn least_loaded(
    members: &[&JoinGroupMember],
    assignment: &BTreeMap<MemberId, BTreeSet<TopicPartition>>,
    topic: TopicName,
    below: Option<usize>,
) -> Option<MemberId> {
    members
        .iter()
        .filter(|member| subscribes(&member.metadata, topic))
        .map(|member| (assignment[&member.member_id].len(), &member.member_id))
        .filter(|(count, _)| below.is_none_or(|limit| count + 1 < limit))
        .min_by_key(|(count, _)| *count)
        .map(|(_, member)| member.clone())
}

/// Moves partitions from the fullest members to eligible members with at least two fewer
/// until no such move exists. Each move lowers the sum of squared counts, so it ends.
fn rebalance(
    members: &[&JoinGroupMember],
    assignment: &mut BTreeMap<MemberId, BTreeSet<TopicPartition>>,
) {
    loop {
        // Fullest first; among equals the last in member order gives up a partition, so
        // earlier members keep the larger share, as Kafka's constrained assignment does.
        let mut by_load: Vec<(usize, &JoinGroupMember)> =
            members.iter().copied().enumerate().collect();
        by_load.sort_by_key(|(index, member)| {
            std::cmp::Reverse((assignment[&member.member_id].len(), *index))
        });
        let by_load: Vec<&JoinGroupMember> =
            by_load.into_iter().map(|(_, member)| member).collect();
        let chosen = by_load.iter().find_map(|from| {
            let count = assignment[&from.member_id].len();
            assignment[&from.member_id]
                .iter()
                .rev()
                .find_map(|partition| {
                    least_loaded(members, assignment, partition.topic, Some(count))
                        .map(|to| (*partition, to))
                })
                .map(|(partition, to)| (from.member_id.clone(), partition, to))
        });
        let Some((from, partition, to)) = chosen else {
            return;
        };
        if let Some(partitions) = assignment.get_mut(&from) {
            partitions.remove(&partition);
        }
        assignment.entry(to).or_default().insert(partition);
    }
}

/// KIP-429: a partition assigned to a member other than its valid owner is left out of
/// this rebalance's assignment; the owner revokes it and rejoins.
fn withhold_moving_partitions(
    sticky: BTreeMap<MemberId, BTreeSet<TopicPartition>>,
    owners: &BTreeMap<TopicPartition, MemberId>,
) -> MemberAssignment {
    sticky
        .into_iter()
        .map(|(member, partitions)| {
            let kept = partitions
                .into_iter()
                .filter(|partition| owners.get(partition).is_none_or(|owner| *owner == member))
                .collect();
            (member, kept)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::assign as run;
    use super::super::test_support::*;
    use super::*;
    use crate::config::Assignor;
    use crate::ids::GenerationId;
    use proptest::prelude::*;

    const GEN: GenerationId = GenerationId(3);

    #[test]
    fn first_assignment_is_balanced() {
        let members = [member("a", &["t"]), member("b", &["t"])];
        let assignment = run(Assignor::CooperativeSticky, &members, &counts(&[("t", 4)]));
        assert_eq!(of(&assignment, "a").len(), 2);
        assert_eq!(of(&assignment, "b").len(), 2);
    }

    /// KIP-429's example: a and b own two partitions each; c joins. One partition moves,
    /// and in this rebalance it is withheld: its owner keeps one less, c gets nothing yet.
    #[test]
    fn a_new_member_gets_moved_partitions_one_rebalance_later() {
        let owned_a = [tp("t", 0), tp("t", 1)];
        let owned_b = [tp("t", 2), tp("t", 3)];
        let first = [
            owning("a", &["t"], &owned_a, GEN),
            owning("b", &["t"], &owned_b, GEN),
            member("c", &["t"]),
        ];
        let assignment = run(Assignor::CooperativeSticky, &first, &counts(&[("t", 4)]));
        assert_eq!(of(&assignment, "a"), vec![tp("t", 0), tp("t", 1)]);
        assert_eq!(of(&assignment, "b"), vec![tp("t", 2)]);
        assert!(of(&assignment, "c").is_empty());
        // b revoked t-3 and everyone rejoins: c gets it.
        let second = [
            owning("a", &["t"], &owned_a, GEN.next()),
            owning("b", &["t"], &[tp("t", 2)], GEN.next()),
            owning("c", &["t"], &[], GEN.next()),
        ];
        let assignment = run(Assignor::CooperativeSticky, &second, &counts(&[("t", 4)]));
        assert_eq!(of(&assignment, "a"), vec![tp("t", 0), tp("t", 1)]);
        assert_eq!(of(&assignment, "b"), vec![tp("t", 2)]);
        assert_eq!(of(&assignment, "c"), vec![tp("t", 3)]);
    }

    #[test]
    fn claims_from_an_older_generation_do_not_count() {
        let members = [
            owning("a", &["t"], &[tp("t", 0), tp("t", 1)], GenerationId(1)),
            owning("b", &["t"], &[tp("t", 1)], GEN),
        ];
        let owners = valid_owners(&members.iter().collect::<Vec<_>>(), &counts(&[("t", 2)]));
        assert_eq!(owners.len(), 1);
        assert_eq!(owners[&tp("t", 1)], MemberId("b".to_string()));
    }

    fn members_strategy() -> impl Strategy<Value = (Vec<JoinGroupMember>, u32)> {
        (1usize..6, 1u32..13)
            .prop_flat_map(|(member_count, partitions)| {
                let owner_of = proptest::collection::vec(0..member_count + 2, partitions as usize);
                (Just(member_count), Just(partitions), owner_of)
            })
            .prop_map(|(member_count, partitions, owner_of)| {
                let members = (0..member_count)
                    .map(|index| {
                        let owned: Vec<TopicPartition> = owner_of
                            .iter()
                            .enumerate()
                            .filter(|(_, owner)| **owner == index)
                            .map(|(partition, _)| tp("t", partition as u32))
                            .collect();
                        owning(&format!("m{index}"), &["t"], &owned, GEN)
                    })
                    .collect();
                (members, partitions)
            })
    }

    proptest! {
        /// Every partition goes to at most one member; together with the withheld (moving)
        /// ones, exactly once; the final assignment is balanced; a member loses an owned
        /// partition only when it holds more than its fair share; and what a member loses
        /// (revokes) is exactly what moved away from it.
        #[test]
        fn assignment_properties((members, partitions) in members_strategy()) {
            let counts = counts(&[("t", partitions)]);
            let refs: Vec<&JoinGroupMember> = members.iter().collect();
            let owners = valid_owners(&refs, &counts);
            let sticky = sticky_assignment(&refs, &counts, &owners);
            let assignment = run(Assignor::CooperativeSticky, &members, &counts);
            let mut seen = BTreeSet::new();
            for partitions in assignment.values() {
                for partition in partitions {
                    prop_assert!(seen.insert(*partition), "{partition} assigned twice");
                }
            }
            let all: BTreeSet<TopicPartition> = sticky.values().flatten().copied().collect();
            prop_assert_eq!(all.len(), partitions as usize);
            let loads: Vec<usize> = sticky.values().map(BTreeSet::len).collect();
            let (min, max) = (loads.iter().min().copied(), loads.iter().max().copied());
            prop_assert!(max.unwrap_or(0) - min.unwrap_or(0) <= 1);
            let fair_share = (partitions as usize).div_ceil(members.len());
            for member in &members {
                let owned: BTreeSet<TopicPartition> =
                    member.metadata.owned_partitions.iter().copied().collect();
                let kept: BTreeSet<TopicPartition> =
                    assignment[&member.member_id].iter().copied().collect();
                let lost = owned.difference(&kept).count();
                if owned.len() < fair_share {
                    prop_assert_eq!(lost, 0, "{} lost a partition below its share", member.member_id);
                }
                for partition in owned.difference(&kept) {
                    prop_assert!(!sticky[&member.member_id].contains(partition));
                }
            }
        }
    }
}
