//! The records a group coordinator writes to `__consumer_offsets` (Kafka's
//! `OffsetCommitKey`/`OffsetCommitValue` and `GroupMetadataKey`/`GroupMetadataValue`). A key
//! starts with a version, as Kafka's do (1 for an offset commit, 2 for group metadata), so
//! replay knows which value follows. A record without a value is a tombstone: it deletes
//! what its key names (Kafka writes them when a group or an offset is deleted or expires).
//!
//! Invariant: `decode(encode(record)) == record` for every record.

use crate::ids::{GenerationId, GroupId, LeaderEpoch, MemberId, Offset};
use crate::protocol::{Assignment, OffsetAndMetadata, Subscription};
use crate::record::{ProducerRecord, Record, RecordBytes};
use crate::topic::TopicPartition;
use serde::{Deserialize, Serialize};

/// Kafka's key version of an offset commit record.
const OFFSET_COMMIT_KEY_VERSION: u8 = 1;
/// Kafka's key version of a group metadata record.
const GROUP_METADATA_KEY_VERSION: u8 = 2;

/// A member as the group metadata record stores it (Kafka's `MemberMetadata` in
/// `GroupMetadataValue`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMember {
    pub member_id: MemberId,
    pub group_instance_id: Option<String>,
    /// The client the member joined from (Kafka stores the client id and host).
    pub client: String,
    pub session_timeout_ms: u64,
    pub rebalance_timeout_ms: u64,
    /// The member's subscription for the chosen protocol.
    pub subscription: Subscription,
    /// The assignors it supports, in its order of preference.
    pub protocols: Vec<String>,
    pub assignment: Assignment,
}

/// A group's membership as of its latest stored generation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMetadataValue {
    pub protocol_type: String,
    pub generation: GenerationId,
    pub protocol_name: Option<String>,
    pub leader: Option<MemberId>,
    pub members: Vec<StoredMember>,
}

/// One record of the offsets topic, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoordinatorRecord {
    /// `None`: the offset is deleted (tombstone).
    OffsetCommit {
        group: GroupId,
        partition: TopicPartition,
        value: Option<OffsetAndMetadata>,
    },
    /// `None`: the group is deleted (tombstone).
    GroupMetadata {
        group: GroupId,
        value: Option<GroupMetadataValue>,
    },
}

#[derive(Serialize, Deserialize)]
struct OffsetCommitKey {
    group: GroupId,
    partition: TopicPartition,
}

#[derive(Serialize, Deserialize)]
struct OffsetCommitValue {
    offset: Offset,
    leader_epoch: Option<LeaderEpoch>,
}

impl CoordinatorRecord {
    /// The record as the coordinator appends it.
    pub fn encode(&self) -> ProducerRecord {
        let (key, value) = match self {
            CoordinatorRecord::OffsetCommit {
                group,
                partition,
                value,
            } => (
                versioned(
                    OFFSET_COMMIT_KEY_VERSION,
                    &OffsetCommitKey {
                        group: group.clone(),
                        partition: *partition,
                    },
                ),
                value.map(|value| {
                    json(&OffsetCommitValue {
                        offset: value.offset,
                        leader_epoch: value.leader_epoch,
                    })
                }),
            ),
            CoordinatorRecord::GroupMetadata { group, value } => (
                versioned(GROUP_METADATA_KEY_VERSION, group),
                value.as_ref().map(json),
            ),
        };
        ProducerRecord {
            key: Some(key),
            value,
            headers: Vec::new(),
            producer_stamp: None,
        }
    }

    /// The record a log holds, or `None` for one the coordinator did not write (an unknown
    /// key version or undecodable bytes, which Kafka's loader also skips).
    pub fn decode(record: &Record) -> Option<CoordinatorRecord> {
        let (&version, key) = record.key.as_deref()?.split_first()?;
        let value = record.value.as_deref();
        match version {
            OFFSET_COMMIT_KEY_VERSION => {
                let key: OffsetCommitKey = serde_json::from_slice(key).ok()?;
                let value = match value {
                    None => None,
                    Some(bytes) => {
                        let value: OffsetCommitValue = serde_json::from_slice(bytes).ok()?;
                        Some(OffsetAndMetadata {
                            offset: value.offset,
                            leader_epoch: value.leader_epoch,
                        })
                    }
                };
                Some(CoordinatorRecord::OffsetCommit {
                    group: key.group,
                    partition: key.partition,
                    value,
                })
            }
            GROUP_METADATA_KEY_VERSION => {
                let group: GroupId = serde_json::from_slice(key).ok()?;
                let value = match value {
                    None => None,
                    Some(bytes) => Some(serde_json::from_slice(bytes).ok()?),
                };
                Some(CoordinatorRecord::GroupMetadata { group, value })
            }
            _ => None,
        }
    }
}

fn versioned<T: Serialize>(version: u8, key: &T) -> RecordBytes {
    let mut bytes = RecordBytes::new();
    bytes.push(version);
    bytes.extend_from_slice(&json(key));
    bytes
}

fn json<T: Serialize>(value: &T) -> RecordBytes {
    // Serialising these plain structs cannot fail: no maps with non-string keys, no floats.
    RecordBytes::from_vec(serde_json::to_vec(value).expect("coordinator records serialise"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::PartitionId;
    use crate::topic::TopicName;

    fn round_trip(record: CoordinatorRecord) {
        let stored = Record::stamped(&record.encode(), Offset(3), LeaderEpoch(1));
        assert_eq!(CoordinatorRecord::decode(&stored), Some(record));
    }

    #[test]
    fn offset_commits_group_metadata_and_tombstones_read_back() {
        let group = GroupId("g".into());
        let partition = TopicPartition::new(TopicName::from_static("t"), PartitionId(2));
        round_trip(CoordinatorRecord::OffsetCommit {
            group: group.clone(),
            partition,
            value: Some(OffsetAndMetadata {
                offset: Offset(7),
                leader_epoch: Some(LeaderEpoch(2)),
            }),
        });
        round_trip(CoordinatorRecord::OffsetCommit {
            group: group.clone(),
            partition,
            value: None,
        });
        round_trip(CoordinatorRecord::GroupMetadata {
            group: group.clone(),
            value: Some(GroupMetadataValue {
                protocol_type: "consumer".into(),
                generation: GenerationId(4),
                protocol_name: Some("range".into()),
                leader: Some(MemberId("m".into())),
                members: vec![StoredMember {
                    member_id: MemberId("m".into()),
                    group_instance_id: Some("i".into()),
                    client: "client1".into(),
                    session_timeout_ms: 45_000,
                    rebalance_timeout_ms: 300_000,
                    subscription: Subscription::default(),
                    protocols: vec!["range".into()],
                    assignment: Assignment {
                        partitions: vec![partition],
                    },
                }],
            }),
        });
        round_trip(CoordinatorRecord::GroupMetadata { group, value: None });
    }

    #[test]
    fn a_workload_record_or_an_unknown_key_version_is_skipped() {
        assert_eq!(
            CoordinatorRecord::decode(&Record::application(Offset(0), LeaderEpoch(0), 5)),
            None
        );
        let mut record = Record::application(Offset(0), LeaderEpoch(0), 5);
        record.key = Some(RecordBytes::from_slice(&[9, b'{', b'}']));
        assert_eq!(CoordinatorRecord::decode(&record), None);
    }
}
