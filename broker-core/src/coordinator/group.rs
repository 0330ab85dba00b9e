//! A classic group in the coordinator's memory (Kafka's `ClassicGroup` and
//! `ClassicGroupMember`): its state, generation, chosen protocol, leader, members, the
//! members that were handed an id but have not joined with it yet (KIP-394), and the static
//! members by instance id (KIP-345).
//!
//! Invariants: the leader, when set, is a member; every static member's instance id maps to
//! its member id and back; a group with no members is Empty, PreparingRebalance or Dead.

use super::records::{GroupMetadataValue, StoredMember};
use super::GroupState;
use crate::ids::{CorrelationId, GenerationId, GroupId, MemberId, NodeId};
use crate::protocol::{Assignment, JoinGroupProtocol, Subscription};
use std::collections::BTreeMap;

/// Where to send the answer to a request the coordinator holds (a JoinGroup waiting for the
/// join phase to end, a SyncGroup waiting for the leader's assignment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    pub to: NodeId,
    pub correlation: CorrelationId,
}

/// One member of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub member_id: MemberId,
    pub group_instance_id: Option<String>,
    /// The client it joined from, as the group metadata record names it.
    pub client: String,
    pub session_timeout_ms: u64,
    pub rebalance_timeout_ms: u64,
    pub protocols: Vec<JoinGroupProtocol>,
    pub assignment: Assignment,
    /// The member's JoinGroup waiting for the join phase to complete.
    pub awaiting_join: Option<Reply>,
    /// The member's SyncGroup waiting for the leader's assignment to be stored.
    pub awaiting_sync: Option<Reply>,
    /// Names the member's session timer.
    pub session_key: u64,
}

impl Member {
    /// The member's subscription for `protocol` (empty if it does not support it).
    pub fn subscription(&self, protocol: Option<&str>) -> Subscription {
        self.protocols
            .iter()
            .find(|candidate| Some(candidate.name.as_str()) == protocol)
            .map(|candidate| candidate.metadata.clone())
            .unwrap_or_default()
    }

    fn stored(&self, protocol: Option<&str>) -> StoredMember {
        StoredMember {
            member_id: self.member_id.clone(),
            group_instance_id: self.group_instance_id.clone(),
            client: self.client.clone(),
            session_timeout_ms: self.session_timeout_ms,
            rebalance_timeout_ms: self.rebalance_timeout_ms,
            subscription: self.subscription(protocol),
            protocols: self
                .protocols
                .iter()
                .map(|candidate| candidate.name.clone())
                .collect(),
            assignment: self.assignment.clone(),
        }
    }
}

/// A classic group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassicGroup {
    pub id: GroupId,
    pub state: GroupState,
    /// The state before the latest change (Kafka's `previousState`): an initial rebalance
    /// (from Empty) waits for its delay even when everyone has joined.
    pub previous_state: GroupState,
    pub generation: GenerationId,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: Option<MemberId>,
    pub members: BTreeMap<MemberId, Member>,
    /// Ids handed out with MEMBER_ID_REQUIRED, by the key of their session timer.
    pub pending_members: BTreeMap<MemberId, u64>,
    pub static_members: BTreeMap<String, MemberId>,
    /// Names the group's join timer (rebalance timeout or initial delay).
    pub join_key: u64,
    /// While the initial rebalance delay runs: the time left of the rebalance timeout after
    /// the current delay (Kafka's `InitialDelayedJoin.remainingMs`).
    pub initial_delay_remaining_ms: Option<u64>,
    /// A member joined during the current initial delay, so the delay is extended.
    pub new_member_added: bool,
}

impl ClassicGroup {
    pub fn new(id: GroupId, join_key: u64) -> ClassicGroup {
        ClassicGroup {
            id,
            state: GroupState::Empty,
            previous_state: GroupState::Empty,
            generation: GenerationId(0),
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: BTreeMap::new(),
            pending_members: BTreeMap::new(),
            static_members: BTreeMap::new(),
            join_key,
            initial_delay_remaining_ms: None,
            new_member_added: false,
        }
    }

    pub fn member_ids(&self) -> Vec<MemberId> {
        self.members.keys().cloned().collect()
    }

    /// Whether every member rejoined and no handed-out id is still to join (Kafka's
    /// `hasAllMembersJoined`).
    pub fn has_all_members_joined(&self) -> bool {
        self.pending_members.is_empty()
            && self
                .members
                .values()
                .all(|member| member.awaiting_join.is_some())
    }

    /// The longest rebalance timeout of the members: how long a join phase may last.
    pub fn rebalance_timeout_ms(&self) -> u64 {
        self.members
            .values()
            .map(|member| member.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// Whether a member with these protocols may join (Kafka's `supportsProtocols`): an
    /// empty group takes any non-empty set; otherwise the type must match and some assignor
    /// must be supported by every member and the joiner.
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[JoinGroupProtocol]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|candidate| {
                self.members.values().all(|member| {
                    member
                        .protocols
                        .iter()
                        .any(|own| own.name == candidate.name)
                })
            })
    }

    /// The assignor for the next generation (Kafka's `selectProtocol`): among the assignors
    /// every member supports, each member votes for its most preferred one and the most
    /// votes win; a tie goes to the name first in alphabetical order, so the choice is
    /// deterministic (Kafka's tie depends on hash-map order).
    pub fn select_protocol(&self) -> Option<String> {
        let candidates: Vec<&str> = self
            .members
            .values()
            .next()?
            .protocols
            .iter()
            .map(|candidate| candidate.name.as_str())
            .filter(|name| {
                self.members
                    .values()
                    .all(|member| member.protocols.iter().any(|own| own.name == *name))
            })
            .collect();
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for member in self.members.values() {
            if let Some(choice) = member
                .protocols
                .iter()
                .map(|candidate| candidate.name.as_str())
                .find(|name| candidates.contains(name))
            {
                *votes.entry(choice).or_default() += 1;
            }
        }
        let most = votes.values().copied().max()?;
        votes
            .into_iter()
            .find(|(_, count)| *count == most)
            .map(|(name, _)| name.to_string())
    }

    /// The group as its metadata record stores it.
    pub fn metadata_value(&self) -> GroupMetadataValue {
        let protocol = self.protocol_name.as_deref();
        GroupMetadataValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone(),
            members: self
                .members
                .values()
                .map(|member| member.stored(protocol))
                .collect(),
        }
    }

    /// Rebuilds a group from its latest metadata record (Kafka's `ClassicGroup.fromRecord`):
    /// Empty without members, Stable with them. `next_key` names each new timer.
    pub fn from_metadata(
        id: GroupId,
        value: &GroupMetadataValue,
        mut next_key: impl FnMut() -> u64,
    ) -> ClassicGroup {
        let mut group = ClassicGroup::new(id, next_key());
        group.generation = value.generation;
        group.protocol_type = Some(value.protocol_type.clone()).filter(|kind| !kind.is_empty());
        group.protocol_name = value.protocol_name.clone();
        group.leader = value.leader.clone();
        for stored in &value.members {
            let protocols = stored
                .protocols
                .iter()
                .map(|name| JoinGroupProtocol {
                    name: name.clone(),
                    metadata: stored.subscription.clone(),
                })
                .collect();
            if let Some(instance) = &stored.group_instance_id {
                group
                    .static_members
                    .insert(instance.clone(), stored.member_id.clone());
            }
            group.members.insert(
                stored.member_id.clone(),
                Member {
                    member_id: stored.member_id.clone(),
                    group_instance_id: stored.group_instance_id.clone(),
                    client: stored.client.clone(),
                    session_timeout_ms: stored.session_timeout_ms,
                    rebalance_timeout_ms: stored.rebalance_timeout_ms,
                    protocols,
                    assignment: stored.assignment.clone(),
                    awaiting_join: None,
                    awaiting_sync: None,
                    session_key: next_key(),
                },
            );
        }
        group.state = if group.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
        group
    }
}
